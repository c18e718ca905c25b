//! Get Dataset: `GET /datasets/{id}`, any dataset (push or not).

use super::inputs::{ANY_DATASET_ID, WORKSPACE};
use super::{Context, Single, dataset_id, json_body, scoped_url, workspace};
use crate::definition::Action;
use crate::error::ActionError;
use crate::http::{Method, Request};

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "get-dataset",
    label: "Get Dataset",
    description: "Returns the specified dataset from 'My Workspace'",
    inputs: &[WORKSPACE, ANY_DATASET_ID],
};

action_input! {
    /// The inputs (WIT `get-dataset-input`).
    #[derive(Debug, Clone, Default)]
    pub struct GetDatasetInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Dataset ID.
        pub dataset_id: String,
    }
}

/// Checks the inputs and builds the exchange: the output is the dataset as the API returns it.
pub fn exchange(input: &GetDatasetInput, _context: &Context) -> Result<Single, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    let id = dataset_id(&input.dataset_id)?;
    let request = Request::new(Method::Get, scoped_url(workspace, &["datasets", id], &[]));
    Ok(Single::new(request, |r| json_body(&r)).in_workspace(workspace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{drive, scripted::Scripted};

    #[test]
    fn request_and_answer() {
        let input = GetDatasetInput {
            workspace: None,
            dataset_id: " cfafbeb1-8037-4d0c-896e-a46fb27ff229 ".into(),
        };
        let mut ex = exchange(&input, &Context::default()).unwrap();
        insta::assert_json_snapshot!(super::super::snapshot(ex.request().unwrap()));
        let mut t = Scripted::new([Scripted::answer(200, r#"{"id":"x","name":"Sales"}"#)]);
        assert_eq!(
            drive(&mut ex, &mut t).unwrap().data,
            r#"{"id":"x","name":"Sales"}"#
        );
        let bad = GetDatasetInput {
            dataset_id: "Sales".into(),
            ..GetDatasetInput::default()
        };
        let e = exchange(&bad, &Context::default()).unwrap_err();
        assert_eq!(e.input.as_deref(), Some("dataset-id"));
    }
}
