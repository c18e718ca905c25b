//! Execute DAX Query: one DAX query against a dataset (`POST /datasets/{id}/executeQueries`);
//! the output is the rows of its result table as plain objects, plus the service's answer.
//!
//! Microsoft's limits (100,000 rows or 1,000,000 values, 15 MB per query; one table per
//! query) come back as a 200 whose result is cut short with an error beside it: that is an
//! error here, never a silently truncated table.

use serde_json::{Value, json};

use super::inputs::{ANY_DATASET_ID, WORKSPACE};
use super::{Context, Single, dataset_id, in_workspace, required, scoped_url, workspace};
use crate::definition::{Action, Input, InputType};
use crate::error::ActionError;
use crate::exchange::Output;
use crate::http::{Method, Request, Response};

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "execute-dax-query",
    label: "Execute DAX Query",
    description: "Executes a DAX query against the specified dataset from 'My Workspace'",
    inputs: &[
        WORKSPACE,
        ANY_DATASET_ID,
        Input::new(
            "query",
            "Query",
            InputType::String,
            "The DAX query to execute, starting with EVALUATE. One query per call, returning one table.",
        )
        .required()
        .example("EVALUATE TOPN(10, 'Orders')"),
        Input::new(
            "include-nulls",
            "Include Nulls",
            InputType::Boolean,
            "Whether null (blank) values should be included in the result set. If unspecified, the default value is false.",
        )
        .default("false"),
        Input::new(
            "impersonated-user-name",
            "Impersonated User Name",
            InputType::String,
            "The UPN of a user to be impersonated. If the model is not RLS enabled, this will be ignored.",
        )
        .example("someone@contoso.com"),
    ],
};

action_input! {
    /// The inputs (WIT `execute-dax-query-input`).
    #[derive(Debug, Clone, Default)]
    pub struct ExecuteDaxQueryInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Dataset ID.
        pub dataset_id: String,
        /// Query: the DAX text.
        pub query: String,
        /// Include Nulls (default false).
        pub include_nulls: Option<bool>,
        /// Impersonated User Name: a UPN, for row-level security.
        pub impersonated_user_name: Option<String>,
    }
}

/// Checks the inputs and builds the exchange.
pub fn exchange(input: &ExecuteDaxQueryInput, _context: &Context) -> Result<Single, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    let id = dataset_id(&input.dataset_id)?;
    let query = required("query", &input.query)?;
    let mut body = json!({
        "queries": [{"query": query}],
        "serializerSettings": {"includeNulls": input.include_nulls.unwrap_or(false)},
    });
    if let Some(user) = input
        .impersonated_user_name
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        body["impersonatedUserName"] = user.into();
    }
    let url = scoped_url(workspace, &["datasets", id, "executeQueries"], &[]);
    let request = Request::new(Method::Post, url).json_body(body.to_string().into_bytes());
    let scope = workspace.map(str::to_string);
    // A 429 (120 queries a minute per user) refused the query whole: wait and send it again.
    let policy = crate::retry::RetryPolicy {
        post_refused_on_429: true,
        ..crate::retry::RetryPolicy::DEFAULT
    };
    Ok(Single::new(request, read_answer)
        .with_policy(policy)
        .in_workspace(workspace)
        .with_error(move |response| query_failed(response, scope.as_deref())))
}

/// The rows of the one result table, or the error the service put beside them.
fn read_answer(response: Response) -> Result<Output, ActionError> {
    let answer: Value = serde_json::from_slice(&response.body)
        .map_err(|_| ActionError::unexpected_body(&response, "an answer that is not JSON"))?;
    let result = answer.pointer("/results/0");
    let table = result.and_then(|r| r.pointer("/tables/0"));
    // Errors may sit at any of the three levels Swagger gives an `error`.
    let error = [Some(&answer), result, table]
        .into_iter()
        .flatten()
        .find_map(|level| level.get("error").filter(|e| !e.is_null()));
    if let Some(error) = error {
        return Err(incomplete(error));
    }
    let Some(rows) = table.and_then(|t| t.get("rows")).filter(|r| r.is_array()) else {
        return Err(ActionError::unexpected_body(
            &response,
            "an answer without a result table",
        ));
    };
    Ok(Output::json(&json!({"rows": rows, "raw": answer})))
}

/// A result cut short by the service.
fn incomplete(error: &Value) -> ActionError {
    let text = |key: &str| error.get(key).and_then(Value::as_str);
    let said = text("message").or(text("code")).unwrap_or("an error");
    let mut message =
        format!("Power BI could not return the whole result, so none is returned: {said}");
    if said.contains("More than") && !said.contains("result table") {
        message.push_str(
            ". A query may return at most 100,000 rows, 1,000,000 values or 15 MB: narrow it \
             (TOPN, FILTER, fewer columns) or split it",
        );
    }
    let mut e = ActionError::service(message);
    e.status = Some(200);
    e.code = text("code").map(str::to_string);
    e
}

/// An error answer: a DAX error quotes the service's own message from its details.
fn query_failed(response: &Response, workspace: Option<&str>) -> ActionError {
    let mut e = in_workspace(ActionError::from_response(response), workspace);
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    let details = body
        .pointer("/error/pbi.error/details")
        .or_else(|| body.pointer("/error/details"))
        .and_then(Value::as_array);
    let said = details.and_then(|list| {
        list.iter().find_map(|d| {
            (d.get("code").and_then(Value::as_str) == Some("DetailsMessage"))
                .then(|| d.pointer("/detail/value").and_then(Value::as_str))
                .flatten()
        })
    });
    if let Some(said) = said {
        e.message = format!("the DAX query failed: {said}");
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{drive, scripted::Scripted};

    fn input() -> ExecuteDaxQueryInput {
        ExecuteDaxQueryInput {
            workspace: None,
            dataset_id: "cfafbeb1-8037-4d0c-896e-a46fb27ff229".into(),
            query: " EVALUATE ROW(\"Rows\", COUNTROWS('Orders')) ".into(),
            include_nulls: Some(true),
            impersonated_user_name: Some("ann@contoso.com".into()),
        }
    }

    fn run(answer: Result<Response, ActionError>) -> Result<Output, ActionError> {
        let mut ex = exchange(&input(), &Context::default()).unwrap();
        drive(&mut ex, &mut Scripted::new([answer]))
    }

    #[test]
    fn request_and_rows() {
        let ex = exchange(&input(), &Context::default()).unwrap();
        insta::assert_json_snapshot!(super::super::snapshot(ex.request().unwrap()));
        let raw = r#"{"results":[{"tables":[{"rows":[{"[Rows]":4}]}]}]}"#;
        let out: Value =
            serde_json::from_str(&run(Scripted::answer(200, raw)).unwrap().data).unwrap();
        assert_eq!(out["rows"], json!([{"[Rows]": 4}]));
        assert_eq!(out["raw"], serde_json::from_str::<Value>(raw).unwrap());
        let plain = ExecuteDaxQueryInput {
            include_nulls: None,
            impersonated_user_name: Some(" ".into()),
            ..input()
        };
        let ex = exchange(&plain, &Context::default()).unwrap();
        let body: Value = serde_json::from_slice(&ex.request().unwrap().body).unwrap();
        assert_eq!(body["serializerSettings"]["includeNulls"], false);
        assert!(body.get("impersonatedUserName").is_none());
        let e = exchange(
            &ExecuteDaxQueryInput {
                query: "  ".into(),
                ..input()
            },
            &Context::default(),
        )
        .unwrap_err();
        assert_eq!(e.input.as_deref(), Some("query"));
    }

    #[test]
    fn a_dax_error_quotes_the_service() {
        let body = r#"{"error":{"code":"DatasetExecuteQueriesError","pbi.error":{"code":"DatasetExecuteQueriesError","parameters":{},"details":[{"code":"DetailsMessage","detail":{"type":1,"value":"Query (1, 10) Failed to resolve name 'Nope'. It is not a valid table, variable, or function name."}},{"code":"AnalysisServicesErrorCode","detail":{"type":1,"value":"3241803789"}}],"exceptionCulprit":1}}}"#;
        let e = run(Scripted::answer(400, body)).unwrap_err();
        assert_eq!(
            e.message,
            "the DAX query failed: Query (1, 10) Failed to resolve name 'Nope'. It is not a valid table, variable, or function name."
        );
        assert_eq!(e.status, Some(400));
        assert_eq!(e.code.as_deref(), Some("DatasetExecuteQueriesError"));
    }

    #[test]
    fn limits_are_errors_not_truncations() {
        let cut = r#"{"results":[{"tables":[{"rows":[{"T[a]":1}],"error":{"code":"DatasetExecuteQueriesError","message":"More than 100000 rows in a query result"}}]}]}"#;
        let e = run(Scripted::answer(200, cut)).unwrap_err();
        assert!(e.message.contains("More than 100000 rows"), "{}", e.message);
        assert!(e.message.contains("narrow it"), "{}", e.message);
        let two = r#"{"results":[{"tables":[{"rows":[]}],"error":{"code":"X","message":"More than one result table in a query"}}]}"#;
        let e = run(Scripted::answer(200, two)).unwrap_err();
        assert!(
            e.message.ends_with("More than one result table in a query"),
            "{}",
            e.message
        );
        let e = run(Scripted::answer(200, r#"{"results":[]}"#)).unwrap_err();
        assert!(
            e.message.contains("without a result table"),
            "{}",
            e.message
        );
    }
}
