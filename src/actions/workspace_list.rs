//! The lists of a workspace's items that the API gives whole (`GET [/groups/{id}]/{items}`):
//! List Dashboards, List Datasets, List Imports and List Reports. They take the same inputs
//! and differ only in their definition's text and the path segment, so their modules hold
//! those and this one the rest. Page Offset and Top are applied here (see `crate::paging`).

use super::inputs::{PAGE_OFFSET, TOP, WORKSPACE};
use super::{Single, paged_list, workspace};
use crate::definition::{Action, Input};
use crate::error::ActionError;

/// The inputs of every workspace list, in form order.
const INPUTS: &[Input] = &[WORKSPACE, TOP, PAGE_OFFSET];

/// The definition of a workspace list: its own key, label and description, and the inputs
/// every workspace list takes.
pub const fn definition(
    key: &'static str,
    label: &'static str,
    description: &'static str,
) -> Action {
    Action {
        key,
        label,
        description,
        inputs: INPUTS,
    }
}

/// The inputs of a workspace list: the WIT records `list-dashboards-input`,
/// `list-datasets-input`, `list-imports-input` and `list-reports-input` have these fields.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceListInput {
    /// Workspace: the workspace (group) ID; none or empty is My Workspace.
    pub workspace: Option<String>,
    /// Top.
    pub top: Option<i64>,
    /// Page Offset.
    pub page_offset: Option<i64>,
}

/// Converts each workspace list's wit-bindgen record into [`WorkspaceListInput`], taking it
/// apart exhaustively as `action_input!` does: a field added to one record does not compile.
#[cfg(target_arch = "wasm32")]
macro_rules! from_records {
    ($($record:ident),+) => {$(
        impl From<crate::bindings::wa::$record> for WorkspaceListInput {
            fn from(record: crate::bindings::wa::$record) -> Self {
                let crate::bindings::wa::$record {
                    workspace,
                    top,
                    page_offset,
                } = record;
                WorkspaceListInput {
                    workspace,
                    top,
                    page_offset,
                }
            }
        }
    )+};
}

#[cfg(target_arch = "wasm32")]
from_records!(
    ListDashboardsInput,
    ListDatasetsInput,
    ListImportsInput,
    ListReportsInput
);

/// Checks the inputs of the workspace list `action` and builds its exchange: `GET
/// /{segment}` in the chosen workspace, paged locally.
pub fn exchange(
    action: &Action,
    segment: &str,
    input: &WorkspaceListInput,
) -> Result<Single, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    paged_list(action, workspace, &[segment], input.top, input.page_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: Action = definition("list-things", "List Things", "Returns things");

    #[test]
    fn checks_inputs_before_any_request() {
        assert_eq!(TEST.inputs.len(), 3);
        assert_eq!(TEST.input("workspace").label, "Workspace");
        let e = exchange(
            &TEST,
            "things",
            &WorkspaceListInput {
                workspace: Some("Sales".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.input.as_deref(), Some("workspace"));
        let e = exchange(
            &TEST,
            "things",
            &WorkspaceListInput {
                page_offset: Some(-1),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.input.as_deref(), Some("page-offset"));
    }

    #[test]
    fn lists_the_segment_in_the_workspace() {
        let ex = exchange(
            &TEST,
            "things",
            &WorkspaceListInput {
                workspace: Some("f089354e-8366-4e18-aea3-4cb4a3a50b48".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let url = &ex.request().expect("a request").url;
        assert!(
            url.ends_with("/groups/f089354e-8366-4e18-aea3-4cb4a3a50b48/things"),
            "{url}"
        );
    }
}
