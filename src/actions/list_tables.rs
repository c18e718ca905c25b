//! List Tables: `GET /datasets/{id}/tables`. The API returns the whole list; Page Offset and
//! Top are applied here (see `crate::paging`).

use super::inputs::{DATASET_ID, PAGE_OFFSET, TOP, WORKSPACE};
use super::{Context, Single, dataset_id, paged_list, workspace};
use crate::definition::Action;
use crate::error::ActionError;

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "list-tables",
    label: "List Tables",
    description: "Returns a list of tables tables within the specified dataset from 'My Workspace'",
    inputs: &[WORKSPACE, DATASET_ID, TOP, PAGE_OFFSET],
};

action_input! {
    /// The inputs (WIT `list-tables-input`).
    #[derive(Debug, Clone, Default)]
    pub struct ListTablesInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Dataset ID.
        pub dataset_id: String,
        /// Top.
        pub top: Option<i64>,
        /// Page Offset.
        pub page_offset: Option<i64>,
    }
}

/// Checks the inputs and builds the exchange.
pub fn exchange(input: &ListTablesInput, _context: &Context) -> Result<Single, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    let id = dataset_id(&input.dataset_id)?;
    paged_list(
        &DEFINITION,
        workspace,
        &["datasets", id, "tables"],
        input.top,
        input.page_offset,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_shape() {
        let ex = exchange(
            &ListTablesInput {
                workspace: None,
                dataset_id: "cfafbeb1-8037-4d0c-896e-a46fb27ff229".into(),
                top: None,
                page_offset: None,
            },
            &Context::default(),
        )
        .unwrap();
        insta::assert_json_snapshot!(super::super::snapshot(ex.request().unwrap()));
    }

    #[test]
    fn bad_id_first() {
        let e = exchange(
            &ListTablesInput {
                workspace: None,
                dataset_id: "x".into(),
                top: Some(0),
                page_offset: None,
            },
            &Context::default(),
        )
        .err()
        .unwrap();
        assert_eq!(e.input.as_deref(), Some("dataset-id"));
    }
}
