//! Get Refresh History: `GET /datasets/{id}/refreshes?$top=N`, newest first.

use super::inputs::{ANY_DATASET_ID, WORKSPACE};
use super::{Context, Single, dataset_id, json_body, scoped_url, workspace};
use crate::definition::{Action, Input, InputType};
use crate::error::ActionError;
use crate::http::{Method, Request};

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "get-refresh-history",
    label: "Get Refresh History",
    description: "Returns the refresh history for the specified dataset from 'My Workspace'",
    inputs: &[
        WORKSPACE,
        ANY_DATASET_ID,
        // The API's own `$top`: its bound is the service's (it keeps at most 60 entries).
        Input::new(
            "top",
            "Top",
            InputType::Integer,
            "The requested number of entries in the refresh history. If not provided, the default is the last available 60 entries.",
        )
        .bounds(Some(1), Some(60)),
    ],
};

action_input! {
    /// The inputs (WIT `get-refresh-history-input`).
    #[derive(Debug, Clone, Default)]
    pub struct GetRefreshHistoryInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Dataset ID.
        pub dataset_id: String,
        /// Top: at most this many entries.
        pub top: Option<i64>,
    }
}

/// Checks the inputs and builds the exchange: the output is the API's answer, the entries
/// in `value` (each with `status` `Unknown` while in progress, `Completed`, `Failed` with
/// `serviceExceptionJson`, or `Disabled`).
pub fn exchange(input: &GetRefreshHistoryInput, _context: &Context) -> Result<Single, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    let id = dataset_id(&input.dataset_id)?;
    let query = match input.top {
        Some(top) => vec![(
            "$top",
            crate::paging::bounded(&DEFINITION, "top", top)?.to_string(),
        )],
        None => Vec::new(),
    };
    let url = scoped_url(workspace, &["datasets", id, "refreshes"], &query);
    let request = Request::new(Method::Get, url);
    Ok(Single::new(request, |r| json_body(&r)).in_workspace(workspace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{drive, scripted::Scripted};

    #[test]
    fn request_answer_and_bounds() {
        let input = GetRefreshHistoryInput {
            workspace: Some("f089354e-8366-4e18-aea3-4cb4a3a50b48".into()),
            dataset_id: "cfafbeb1-8037-4d0c-896e-a46fb27ff229".into(),
            top: Some(5),
        };
        let mut ex = exchange(&input, &Context::default()).unwrap();
        insta::assert_json_snapshot!(super::super::snapshot(ex.request().unwrap()));
        let body = r#"{"value":[{"requestId":"r","status":"Completed"}]}"#;
        let mut t = Scripted::new([Scripted::answer(200, body)]);
        assert_eq!(drive(&mut ex, &mut t).unwrap().data, body);
        for top in [0, 61] {
            let bad = GetRefreshHistoryInput {
                top: Some(top),
                ..input.clone()
            };
            let e = exchange(&bad, &Context::default()).unwrap_err();
            assert_eq!(e.input.as_deref(), Some("top"), "{top}");
        }
        let none = GetRefreshHistoryInput { top: None, ..input };
        let ex = exchange(&none, &Context::default()).unwrap();
        assert!(!ex.request().unwrap().url.contains('?'));
    }
}
