//! Delete Dataset: `DELETE /datasets/{id}` removes the dataset, its tables and rows.

use serde_json::json;

use super::inputs::{ANY_DATASET_ID, WORKSPACE};
use super::{Context, Single, dataset_id, scoped_url, workspace};
use crate::definition::Action;
use crate::error::ActionError;
use crate::exchange::Output;
use crate::http::{Method, Request};

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "delete-dataset",
    label: "Delete Dataset",
    description: "Deletes the specified dataset from 'My Workspace'",
    inputs: &[WORKSPACE, ANY_DATASET_ID],
};

action_input! {
    /// The inputs (WIT `delete-dataset-input`).
    #[derive(Debug, Clone, Default)]
    pub struct DeleteDatasetInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Dataset ID.
        pub dataset_id: String,
    }
}

/// Checks the inputs and builds the exchange. The API answers 200 with no body; the output
/// names what was deleted.
pub fn exchange(input: &DeleteDatasetInput, _context: &Context) -> Result<Single, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    let id = dataset_id(&input.dataset_id)?;
    let request = Request::new(
        Method::Delete,
        scoped_url(workspace, &["datasets", id], &[]),
    );
    let data = json!({"datasetId": id, "deleted": true});
    Ok(Single::new(request, move |_| Ok(Output::json(&data))).in_workspace(workspace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{drive, scripted::Scripted};

    fn input() -> DeleteDatasetInput {
        DeleteDatasetInput {
            workspace: Some("f089354e-8366-4e18-aea3-4cb4a3a50b48".into()),
            dataset_id: "cfafbeb1-8037-4d0c-896e-a46fb27ff229".into(),
        }
    }

    #[test]
    fn request_output_and_not_found() {
        let mut ex = exchange(&input(), &Context::default()).unwrap();
        insta::assert_json_snapshot!(super::super::snapshot(ex.request().unwrap()));
        let mut t = Scripted::new([Scripted::answer(200, "")]);
        assert_eq!(
            drive(&mut ex, &mut t).unwrap().data,
            r#"{"datasetId":"cfafbeb1-8037-4d0c-896e-a46fb27ff229","deleted":true}"#
        );
        let mut t = Scripted::new([Scripted::answer(
            404,
            r#"{"error":{"code":"ItemNotFound"}}"#,
        )]);
        let e = drive(
            &mut exchange(&input(), &Context::default()).unwrap(),
            &mut t,
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::NotFound);
        assert!(e.message.contains("f089354e"), "{}", e.message);
    }
}
