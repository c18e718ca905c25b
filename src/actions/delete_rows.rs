//! Delete Rows: `DELETE /datasets/{id}/tables/{table}/rows` clears the whole table.

use serde_json::json;

use super::inputs::{DATASET_ID, EXISTING_TABLE_NAME, WORKSPACE};
use super::{Context, Single, dataset_id, scoped_url, workspace};
use crate::columns;
use crate::definition::Action;
use crate::error::ActionError;
use crate::exchange::Output;
use crate::http::{Method, Request};

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "delete-rows",
    label: "Delete Rows",
    description: "Deletes all rows from the specified table within the specified dataset from 'My Workspace'",
    inputs: &[WORKSPACE, DATASET_ID, EXISTING_TABLE_NAME],
};

action_input! {
    /// The inputs (WIT `delete-rows-input`).
    #[derive(Debug, Clone, Default)]
    pub struct DeleteRowsInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Dataset ID.
        pub dataset_id: String,
        /// Table Name.
        pub table_name: String,
    }
}

/// Checks the inputs and builds the request.
pub fn request(input: &DeleteRowsInput) -> Result<Request, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    let id = dataset_id(&input.dataset_id)?;
    let table = columns::table_name("table-name", &input.table_name)?;
    Ok(Request::new(
        Method::Delete,
        scoped_url(workspace, &["datasets", id, "tables", &table, "rows"], &[]),
    ))
}

/// The exchange: the API answers 200 with no body; the output names what was cleared.
pub fn exchange(input: &DeleteRowsInput, _context: &Context) -> Result<Single, ActionError> {
    let request = request(input)?;
    let data = json!({
        "datasetId": input.dataset_id.trim(),
        "tableName": input.table_name,
        "deleted": true,
    });
    let workspace = workspace(input.workspace.as_deref())?;
    Ok(Single::new(request, move |_| Ok(Output::json(&data))).in_workspace(workspace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{drive, scripted::Scripted};

    fn input() -> DeleteRowsInput {
        DeleteRowsInput {
            workspace: None,
            dataset_id: "cfafbeb1-8037-4d0c-896e-a46fb27ff229".into(),
            table_name: "My Table#2".into(),
        }
    }

    #[test]
    fn request_shape() {
        insta::assert_json_snapshot!(super::super::snapshot(&request(&input()).unwrap()));
    }

    #[test]
    fn output_and_not_found() {
        let mut t = Scripted::new([Scripted::answer(200, "")]);
        let out = drive(
            &mut exchange(&input(), &Context::default()).unwrap(),
            &mut t,
        )
        .unwrap();
        assert_eq!(
            out.data,
            r#"{"datasetId":"cfafbeb1-8037-4d0c-896e-a46fb27ff229","tableName":"My Table#2","deleted":true}"#
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
        assert_eq!(t.sent.len(), 1, "404 is not retried");
    }
}
