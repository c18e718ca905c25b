//! Update Table: `PUT /datasets/{id}/tables/{table}` with the table's full new schema.

use super::inputs::{COLUMNS, DATASET_ID, EXISTING_TABLE_NAME, WORKSPACE};
use super::{Context, Single, dataset_id, json_body, scoped_url, workspace};
use crate::columns::{self, Table};
use crate::definition::Action;
use crate::error::ActionError;
use crate::exchange::Output;
use crate::http::{Method, Request};

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "update-table",
    label: "Update Table",
    description: "Updates the metadata and schema for the specified table within the specified dataset from 'My Workspace'",
    inputs: &[WORKSPACE, DATASET_ID, EXISTING_TABLE_NAME, COLUMNS],
};

action_input! {
    /// The inputs (WIT `update-table-input`).
    #[derive(Debug, Clone, Default)]
    pub struct UpdateTableInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Dataset ID.
        pub dataset_id: String,
        /// Table Name.
        pub table_name: String,
        /// Columns: the full column list.
        pub columns: String,
    }
}

/// Checks the inputs and builds the request and the table it sends.
fn plan(input: &UpdateTableInput) -> Result<(Request, Table), ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    let id = dataset_id(&input.dataset_id)?;
    let name = columns::table_name("table-name", &input.table_name)?;
    let columns = columns::parse("columns", &input.columns)?;
    let table = Table { name, columns };
    let body = serde_json::to_vec(&table).expect("serializable table");
    let request = Request::new(
        Method::Put,
        scoped_url(workspace, &["datasets", id, "tables", &table.name], &[]),
    )
    .json_body(body);
    Ok((request, table))
}

/// Checks the inputs and builds the request.
pub fn request(input: &UpdateTableInput) -> Result<Request, ActionError> {
    plan(input).map(|(r, _)| r)
}

/// The exchange: the output is the table as the API returns it, or as sent when the answer
/// has no body.
pub fn exchange(input: &UpdateTableInput, _context: &Context) -> Result<Single, ActionError> {
    let (request, table) = plan(input)?;
    Ok(Single::new(request, move |r| {
        let out = json_body(&r)?;
        Ok(if out.data == "null" {
            Output::json(&table)
        } else {
            out
        })
    })
    .in_workspace(workspace(input.workspace.as_deref())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{drive, scripted::Scripted};

    fn input() -> UpdateTableInput {
        UpdateTableInput {
            workspace: None,
            dataset_id: "cfafbeb1-8037-4d0c-896e-a46fb27ff229".into(),
            table_name: "Sales".into(),
            columns: r#"[{"name":"Id","dataType":"Int64"},{"name":"Amount","dataType":"decimal","formatString":"0.00"}]"#.into(),
        }
    }

    #[test]
    fn request_shape() {
        insta::assert_json_snapshot!(super::super::snapshot(&request(&input()).unwrap()));
    }

    #[test]
    fn empty_answer_gives_the_table_sent() {
        let mut t = Scripted::new([Scripted::answer(200, "")]);
        let out = drive(
            &mut exchange(&input(), &Context::default()).unwrap(),
            &mut t,
        )
        .unwrap();
        assert_eq!(
            out.data,
            r#"{"name":"Sales","columns":[{"name":"Id","dataType":"Int64"},{"name":"Amount","dataType":"Decimal","formatString":"0.00"}]}"#
        );
    }
}
