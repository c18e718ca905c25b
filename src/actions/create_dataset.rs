//! Create Dataset: `POST /datasets` with a push dataset of one table.

use serde_json::json;

use super::inputs::{COLUMNS, TABLE_NAME, WORKSPACE};
use super::{Context, Single, json_body, required, scoped_url, workspace};
use crate::columns;
use crate::definition::{Action, Input, InputType};
use crate::error::ActionError;
use crate::http::{Method, Request};

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "create-dataset",
    label: "Create Dataset",
    description: "Creates a new dataset on 'My Workspace'",
    inputs: &[
        WORKSPACE,
        Input::new(
            "dataset-name",
            "Dataset Name",
            InputType::String,
            "The name for the new dataset to create.",
        )
        .required()
        .example("Sales Dataset"),
        COLUMNS,
        TABLE_NAME,
    ],
};

action_input! {
    /// The inputs (WIT `create-dataset-input`).
    #[derive(Debug, Clone, Default)]
    pub struct CreateDatasetInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Dataset Name.
        pub dataset_name: String,
        /// Columns: JSON array of column definitions.
        pub columns: String,
        /// Table Name.
        pub table_name: String,
    }
}

/// Checks the inputs and builds the request.
pub fn request(input: &CreateDatasetInput) -> Result<Request, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    let name = required("dataset-name", &input.dataset_name)?;
    if name.chars().any(char::is_control) {
        return Err(ActionError::invalid(
            "dataset-name",
            "must not contain control characters",
        ));
    }
    let columns = columns::parse("columns", &input.columns)?;
    let table = columns::table_name("table-name", &input.table_name)?;
    // `defaultMode: Push` is what makes the dataset reachable by the rows API; property names
    // are spelled exactly as the API wants them (it rejects other cases).
    let body = json!({
        "name": name,
        "defaultMode": "Push",
        "tables": [columns::Table { name: table, columns }],
    });
    Ok(
        Request::new(Method::Post, scoped_url(workspace, &["datasets"], &[]))
            .json_body(body.to_string().into_bytes()),
    )
}

/// The exchange: the output is the created dataset as the API returns it.
pub fn exchange(input: &CreateDatasetInput, _context: &Context) -> Result<Single, ActionError> {
    let request = request(input)?;
    let workspace = workspace(input.workspace.as_deref())?;
    Ok(Single::new(request, |r| json_body(&r)).in_workspace(workspace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CreateDatasetInput {
        CreateDatasetInput {
            workspace: None,
            dataset_name: "Sales".into(),
            columns: r#"[{"name":"Id","dataType":"int64"},{"name":"Region","dataType":"STRING"}]"#
                .into(),
            table_name: "Sales #1".into(),
        }
    }

    #[test]
    fn request_shape() {
        insta::assert_json_snapshot!(super::super::snapshot(&request(&input()).unwrap()));
    }

    #[test]
    fn bad_inputs_name_the_input() {
        let mut i = input();
        i.dataset_name = "  ".into();
        assert_eq!(
            request(&i).unwrap_err().input.as_deref(),
            Some("dataset-name")
        );
        let mut i = input();
        i.table_name = "a/b".into();
        assert_eq!(
            request(&i).unwrap_err().input.as_deref(),
            Some("table-name")
        );
        let mut i = input();
        i.columns = "[".into();
        assert_eq!(request(&i).unwrap_err().input.as_deref(), Some("columns"));
    }
}
