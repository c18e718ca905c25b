//! List Imports: `GET /imports`. The API returns the whole list; Page Offset and Top are applied
//! here (see `crate::paging`); the code is every workspace list's ([`super::workspace_list`]).

use super::workspace_list::{self, WorkspaceListInput};
use super::{Context, Single};
use crate::definition::Action;
use crate::error::ActionError;

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = workspace_list::definition(
    "list-imports",
    "List Imports",
    "Returns a list of imports from 'My Workspace'",
);

/// The inputs (WIT `list-imports-input`): those of every workspace list.
pub type ListImportsInput = WorkspaceListInput;

/// Checks the inputs and builds the exchange.
pub fn exchange(input: &ListImportsInput, _context: &Context) -> Result<Single, ActionError> {
    workspace_list::exchange(&DEFINITION, "imports", input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_locally() {
        let request = super::super::check_paged_list(|top, page_offset| {
            let input = ListImportsInput {
                workspace: None,
                top,
                page_offset,
            };
            exchange(&input, &Context::default())
        });
        insta::assert_json_snapshot!(request);
    }
}
