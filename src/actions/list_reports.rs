//! List Reports: `GET /reports`. The API returns the whole list; Page Offset and Top are applied
//! here (see `crate::paging`).

use super::inputs::{PAGE_OFFSET, TOP, WORKSPACE};
use super::{Context, Single, paged_list, workspace};
use crate::definition::Action;
use crate::error::ActionError;

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "list-reports",
    label: "List Reports",
    description: "Returns a list of reports from 'My Workspace'",
    inputs: &[WORKSPACE, TOP, PAGE_OFFSET],
};

action_input! {
    /// The inputs (WIT `list-reports-input`).
    #[derive(Debug, Clone, Default)]
    pub struct ListReportsInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Top.
        pub top: Option<i64>,
        /// Page Offset.
        pub page_offset: Option<i64>,
    }
}

/// Checks the inputs and builds the exchange.
pub fn exchange(input: &ListReportsInput, _context: &Context) -> Result<Single, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    paged_list(
        &DEFINITION,
        workspace,
        &["reports"],
        input.top,
        input.page_offset,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_locally() {
        let request = super::super::check_paged_list(|top, page_offset| {
            let input = ListReportsInput {
                workspace: None,
                top,
                page_offset,
            };
            exchange(&input, &Context::default())
        });
        insta::assert_json_snapshot!(request);
    }
}
