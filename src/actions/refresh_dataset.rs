//! Refresh Dataset: starts a refresh (`POST /datasets/{id}/refreshes`) and, with Wait For
//! Completion, follows it through the refresh history (`GET .../refreshes?$top=5`) until it
//! completes, fails or the Wait Timeout runs out.
//!
//! The dataset is read first (`GET /datasets/{id}`): a push dataset cannot be refreshed, and
//! saying so from the dataset itself does not depend on the wording of the service's 400.
//! The other refusals Microsoft documents without an error shape (a refresh already in
//! progress, the daily limit of shared capacity) are recognised from the service's message
//! and explained; anything else is the service's own error.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::inputs::{ANY_DATASET_ID, WAIT_TIMEOUT, WORKSPACE};
use super::{Context, choice, dataset_id, in_workspace, scoped_url, wait_timeout, workspace};
use crate::definition::{Action, Input, InputType};
use crate::error::{ActionError, ErrorKind};
use crate::exchange::Progress;
use crate::exchange::{Exchange, Output, Step};
use crate::http::{Method, Request, Response};
use crate::poll::{Outcome, Polling};

/// How often the history is read when the service does not say (no `Retry-After`).
pub const POLL_EVERY: Duration = Duration::from_secs(10);

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "refresh-dataset",
    label: "Refresh Dataset",
    description: "Triggers a refresh for the specified dataset from 'My Workspace'",
    inputs: &[
        WORKSPACE,
        ANY_DATASET_ID,
        Input::new(
            "notify-option",
            "Notify Option",
            InputType::Picklist,
            "Mail notification options: whether Power BI mails you when the refresh fails or completes. A service principal can only use No Notification.",
        )
        .default("NoNotification")
        .choices(&[
            ("No Notification", "NoNotification"),
            ("Mail On Failure", "MailOnFailure"),
            ("Mail On Completion", "MailOnCompletion"),
        ]),
        Input::new(
            "wait-for-completion",
            "Wait For Completion",
            InputType::Boolean,
            "If true, the step follows the refresh until it completes or fails and returns its final status, start and end times. Otherwise it returns as soon as Power BI has accepted the refresh.",
        )
        .default("false"),
        WAIT_TIMEOUT,
    ],
};

action_input! {
    /// The inputs (WIT `refresh-dataset-input`).
    #[derive(Debug, Clone, Default)]
    pub struct RefreshDatasetInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Dataset ID.
        pub dataset_id: String,
        /// Notify Option: `NoNotification` (default), `MailOnFailure`, `MailOnCompletion`.
        pub notify_option: Option<String>,
        /// Wait For Completion (default false).
        pub wait_for_completion: Option<bool>,
        /// Wait Timeout (s) (default 240).
        pub wait_timeout: Option<i64>,
    }
}

/// Where the refresh is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Reading the dataset (push or not).
    Dataset,
    /// Asking for the refresh.
    Start,
    /// Reading the history.
    History,
}

/// A refresh in progress.
#[derive(Debug)]
pub struct RefreshDataset {
    workspace: Option<String>,
    dataset_id: String,
    notify: &'static str,
    wait: bool,
    polling: Polling,
    stage: Stage,
    /// The refresh's request id, from the 202's `RequestId` header.
    request_id: Option<String>,
}

/// Checks the inputs and builds the exchange.
pub fn exchange(
    input: &RefreshDatasetInput,
    _context: &Context,
) -> Result<RefreshDataset, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    let id = dataset_id(&input.dataset_id)?;
    let notify = choice(&DEFINITION, "notify-option", input.notify_option.as_deref())?;
    let limit = wait_timeout(&DEFINITION, input.wait_timeout)?;
    Ok(RefreshDataset {
        workspace: workspace.map(str::to_string),
        dataset_id: id.to_string(),
        notify,
        wait: input.wait_for_completion.unwrap_or(false),
        polling: Polling::new(limit, POLL_EVERY),
        stage: Stage::Dataset,
        request_id: None,
    })
}

impl RefreshDataset {
    fn url(&self, tail: &[&str], query: &[(&str, String)]) -> String {
        let mut segments = vec!["datasets", self.dataset_id.as_str()];
        segments.extend_from_slice(tail);
        scoped_url(self.workspace.as_deref(), &segments, query)
    }

    fn request(&self) -> Request {
        match self.stage {
            Stage::Dataset => Request::new(Method::Get, self.url(&[], &[])),
            Stage::Start => Request::new(Method::Post, self.url(&["refreshes"], &[])).json_body(
                json!({"notifyOption": self.notify})
                    .to_string()
                    .into_bytes(),
            ),
            // Newest first: the refresh just started is among the first few.
            Stage::History => Request::new(
                Method::Get,
                self.url(&["refreshes"], &[("$top", "5".into())]),
            ),
        }
    }

    fn error(&self, response: &Response) -> ActionError {
        in_workspace(
            ActionError::from_response(response),
            self.workspace.as_deref(),
        )
    }

    /// The dataset was read: refresh it unless it is a push dataset.
    fn dataset_read(&mut self, response: Response) -> Step {
        let dataset: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        if dataset.get("addRowsAPIEnabled").and_then(Value::as_bool) == Some(true) {
            let name = dataset.get("name").and_then(Value::as_str).unwrap_or("");
            return Step::Done(Err(push_dataset(&self.dataset_id, name)));
        }
        self.stage = Stage::Start;
        Step::Send(self.request())
    }

    /// The refresh was accepted (202).
    fn started(&mut self, response: Response) -> Step {
        self.request_id = response.header("requestid").map(str::to_string);
        if !self.wait {
            return Step::Done(Ok(Output::json(&json!({
                "datasetId": self.dataset_id,
                "requestId": self.request_id,
                "status": "Accepted",
            }))));
        }
        self.stage = Stage::History;
        Step::Send(self.request())
    }

    /// The history was read: done when the refresh has ended, else wait and read again.
    fn history_read(&mut self, response: Response) -> Step {
        let history: Value = match serde_json::from_slice(&response.body) {
            Ok(v) => v,
            Err(_) => {
                return Step::Done(Err(ActionError::unexpected_body(
                    &response,
                    "a refresh history that is not JSON",
                )));
            }
        };
        let entries = history.get("value").and_then(Value::as_array);
        // The entry whose `requestId` is the 202's RequestId; failing that the newest, which
        // is this refresh: Power BI runs one refresh of a dataset at a time.
        let entry = entries.and_then(|list| {
            let id = self.request_id.as_deref().unwrap_or_default();
            list.iter()
                .find(|e| {
                    e.get("requestId")
                        .and_then(Value::as_str)
                        .is_some_and(|r| r.eq_ignore_ascii_case(id))
                })
                .or(list.first())
        });
        let status = entry
            .and_then(|e| e.get("status"))
            .and_then(Value::as_str)
            .unwrap_or("Unknown");
        let elapsed = self.polling.elapsed_s();
        self.polling.report(Progress {
            done: elapsed,
            total: None,
            status: format!("refresh {status}, {elapsed} s"),
        });
        match (status, entry) {
            ("Completed", Some(entry)) => Step::Done(Ok(Output::json(&self.with_dataset(entry)))),
            ("Failed" | "Cancelled" | "Disabled", Some(entry)) => {
                Step::Done(Err(failed(status, &self.with_dataset(entry))))
            }
            // `Unknown` is Microsoft's "in progress"; a refresh not yet listed is as good as.
            _ => self
                .polling
                .wait(&response)
                .unwrap_or_else(|| Step::Done(Err(self.timed_out(entry)))),
        }
    }

    /// The history entry with the dataset's ID first.
    fn with_dataset(&self, entry: &Value) -> Value {
        let mut out = Map::new();
        out.insert("datasetId".into(), self.dataset_id.clone().into());
        if let Some(fields) = entry.as_object() {
            out.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Value::Object(out)
    }

    fn timed_out(&self, entry: Option<&Value>) -> ActionError {
        let mut e = ActionError::timeout(format!(
            "the refresh was still in progress after the Wait Timeout of {} s; it goes on in \
             Power BI, and Get Refresh History shows how it ends",
            self.polling.elapsed_s()
        ));
        let progress = match entry {
            Some(entry) => self.with_dataset(entry),
            None => {
                json!({"datasetId": self.dataset_id, "requestId": self.request_id, "status": "Unknown"})
            }
        };
        e.progress = Some(progress.to_string());
        e
    }
}

/// The error for a push dataset.
fn push_dataset(id: &str, name: &str) -> ActionError {
    let mut e = ActionError::invalid(
        "dataset-id",
        format!(
            "the dataset {name:?} ({id}) is a push dataset, and push datasets cannot be \
             refreshed: their data comes from Create Rows. Query it with Execute DAX Query"
        ),
    );
    // A request was sent (the dataset was read), so this is the service's answer, not a
    // refused input; the input is still named.
    e.kind = ErrorKind::Service;
    e
}

/// The refresh's failure, with the service's error code and description.
fn failed(status: &str, entry: &Value) -> ActionError {
    // `serviceExceptionJson` is JSON inside a string.
    let exception: Value = entry
        .get("serviceExceptionJson")
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null);
    let text = |key: &str| exception.get(key).and_then(Value::as_str);
    let mut message = format!("the refresh ended {status}");
    if let Some(code) = text("errorCode") {
        message.push_str(": ");
        message.push_str(code);
    }
    if let Some(description) = text("errorDescription") {
        message.push_str(": ");
        message.push_str(description);
    }
    let mut e = ActionError::service(message);
    e.code = text("errorCode").map(str::to_string);
    e.progress = Some(entry.to_string());
    e
}

/// A refused start, explained where Microsoft's documented limits are the cause.
fn start_refused(mut e: ActionError) -> ActionError {
    let said = e.message.to_ascii_lowercase();
    let hint = if said.contains("already") || said.contains("in progress") {
        "a refresh of this dataset is already in progress: wait for it to end (Get Refresh \
         History shows it) and try again"
    } else if said.contains("push") {
        "push datasets cannot be refreshed: their data comes from Create Rows"
    } else if said.contains("limit") || said.contains("exceed") || said.contains("maximum") {
        // Shared capacity: eight refreshes a day, scheduled ones included (Microsoft's
        // Refresh Dataset limitations).
        e.kind = ErrorKind::Throttled;
        "the dataset has used up today's refreshes: on shared capacity Power BI allows 8 a \
         day per dataset, scheduled refreshes included; try again later or move the \
         workspace to a Premium or Fabric capacity"
    } else {
        return e;
    };
    e.message = format!("{hint} ({})", e.message);
    e
}

impl Exchange for RefreshDataset {
    fn step(&mut self, outcome: Option<Result<Response, ActionError>>) -> Step {
        let response = match self.polling.outcome(outcome) {
            Outcome::Ask => return Step::Send(self.request()),
            Outcome::Answer(response) => response,
            Outcome::Over(e) => return Step::Done(Err(e)),
        };
        if !response.is_success() {
            let e = self.error(&response);
            return Step::Done(Err(match self.stage {
                Stage::Start => start_refused(e),
                _ => e,
            }));
        }
        match self.stage {
            Stage::Dataset => self.dataset_read(response),
            Stage::Start => self.started(response),
            Stage::History => self.history_read(response),
        }
    }

    fn clock(&mut self, now_ms: u64) {
        self.polling.clock(now_ms);
    }

    fn progress(&mut self) -> Option<Progress> {
        self.polling.progress()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{drive, scripted::Scripted};

    const ID: &str = "cfafbeb1-8037-4d0c-896e-a46fb27ff229";

    fn input(wait: bool) -> RefreshDatasetInput {
        RefreshDatasetInput {
            workspace: Some("f089354e-8366-4e18-aea3-4cb4a3a50b48".into()),
            dataset_id: ID.into(),
            notify_option: Some("mailonfailure".into()),
            wait_for_completion: Some(wait),
            wait_timeout: Some(60),
        }
    }

    fn with_headers(
        status: u16,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Result<Response, ActionError> {
        Ok(Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        })
    }

    const MODEL: &str = r#"{"id":"x","name":"Sales Model","addRowsAPIEnabled":false}"#;

    fn history(status: &str) -> String {
        let end = if status == "Unknown" {
            ""
        } else {
            r#","endTime":"2026-12-01T10:01:00Z""#
        };
        format!(
            r#"{{"value":[{{"requestId":"rq-1","id":7,"refreshType":"ViaApi","startTime":"2026-12-01T10:00:00Z","status":"{status}"{end}}},{{"requestId":"rq-0","status":"Completed"}}]}}"#
        )
    }

    #[test]
    fn starts_and_returns_at_once() {
        let mut ex = exchange(&input(false), &Context::default()).unwrap();
        let mut t = Scripted::new([
            Scripted::answer(200, MODEL),
            with_headers(202, "", &[("RequestId", "rq-1")]),
        ]);
        let out = drive(&mut ex, &mut t).unwrap();
        assert_eq!(
            out.data,
            format!(r#"{{"datasetId":"{ID}","requestId":"rq-1","status":"Accepted"}}"#)
        );
        let sent: Vec<_> = t
            .sent
            .iter()
            .map(|(r, _)| super::super::snapshot(r))
            .collect();
        insta::assert_json_snapshot!(sent);
    }

    #[test]
    fn waits_as_the_service_says_until_it_completes() {
        let mut ex = exchange(&input(true), &Context::default()).unwrap();
        let mut t = Scripted::new([
            Scripted::answer(200, MODEL),
            with_headers(202, "", &[("RequestId", "rq-1")]),
            with_headers(200, &history("Unknown"), &[("Retry-After", "2")]),
            Scripted::answer(200, &history("Unknown")),
            Scripted::answer(200, &history("Completed")),
        ]);
        let out: Value = serde_json::from_str(&drive(&mut ex, &mut t).unwrap().data).unwrap();
        assert_eq!(out["datasetId"], ID);
        assert_eq!(out["status"], "Completed");
        assert_eq!(out["endTime"], "2026-12-01T10:01:00Z");
        assert_eq!(out["startTime"], "2026-12-01T10:00:00Z");
        assert_eq!(t.sleeps, vec![Duration::from_secs(2), POLL_EVERY]);
        assert!(
            t.sent[2].0.url.ends_with("/refreshes?%24top=5")
                || t.sent[2].0.url.ends_with("/refreshes?$top=5"),
            "{}",
            t.sent[2].0.url
        );
    }

    #[test]
    fn a_failed_refresh_quotes_the_service() {
        let failed = r#"{"value":[{"requestId":"rq-1","status":"Failed","serviceExceptionJson":"{\"errorCode\":\"ModelRefreshFailed_CredentialsNotSpecified\",\"errorDescription\":\"The credentials are missing.\"}"}]}"#;
        let mut ex = exchange(&input(true), &Context::default()).unwrap();
        let mut t = Scripted::new([
            Scripted::answer(200, MODEL),
            with_headers(202, "", &[("RequestId", "rq-1")]),
            Scripted::answer(200, failed),
        ]);
        let e = drive(&mut ex, &mut t).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Service);
        assert_eq!(
            e.code.as_deref(),
            Some("ModelRefreshFailed_CredentialsNotSpecified")
        );
        assert!(
            e.message.contains("The credentials are missing."),
            "{}",
            e.message
        );
        assert!(e.progress.unwrap().contains("rq-1"));
    }

    #[test]
    fn times_out_with_what_it_saw() {
        let mut ex = exchange(&input(true), &Context::default()).unwrap();
        let mut answers = vec![
            Scripted::answer(200, MODEL),
            with_headers(202, "", &[("RequestId", "rq-1")]),
        ];
        answers.extend((0..10).map(|_| Scripted::answer(200, &history("Unknown"))));
        let mut t = Scripted::new(answers);
        let e = drive(&mut ex, &mut t).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(e.progress.unwrap().contains(r#""status":"Unknown""#));
        // 60 s of budget at 10 s a wait: six waits, then a last look at the history.
        assert_eq!(t.sleeps.len(), 6);
        assert_eq!(t.sent.len(), 2 + 7);
    }

    #[test]
    fn push_datasets_and_refusals_are_explained() {
        let mut ex = exchange(&input(true), &Context::default()).unwrap();
        let mut t = Scripted::new([Scripted::answer(
            200,
            r#"{"id":"x","name":"Sales Live","addRowsAPIEnabled":true}"#,
        )]);
        let e = drive(&mut ex, &mut t).unwrap_err();
        assert_eq!(e.input.as_deref(), Some("dataset-id"));
        assert!(e.message.contains("push dataset"), "{}", e.message);
        assert_eq!(t.sent.len(), 1, "no refresh was asked for");

        let refused = |message: &str| {
            let mut ex = exchange(&input(false), &Context::default()).unwrap();
            let body = format!(r#"{{"error":{{"code":"InvalidRequest","message":"{message}"}}}}"#);
            let mut t = Scripted::new([Scripted::answer(200, MODEL), Scripted::answer(400, &body)]);
            drive(&mut ex, &mut t).unwrap_err()
        };
        let busy = refused(
            "Invalid dataset refresh request. Another refresh request is already executing",
        );
        assert!(
            busy.message
                .starts_with("a refresh of this dataset is already in progress"),
            "{}",
            busy.message
        );
        assert_eq!(busy.code.as_deref(), Some("InvalidRequest"));
        let limit = refused("Number of refreshes exceeded the daily limit");
        assert_eq!(limit.kind, ErrorKind::Throttled);
        assert!(limit.message.contains("8 a day"), "{}", limit.message);
        let other = refused("Something else");
        assert_eq!(other.kind, ErrorKind::Service);
        assert!(
            other.message.starts_with("Power BI answered 400"),
            "{}",
            other.message
        );
    }

    #[test]
    fn bad_inputs_send_nothing() {
        for (key, change) in [
            (
                "notify-option",
                RefreshDatasetInput {
                    notify_option: Some("Always".into()),
                    ..input(false)
                },
            ),
            (
                "wait-timeout",
                RefreshDatasetInput {
                    wait_timeout: Some(0),
                    ..input(false)
                },
            ),
            (
                "dataset-id",
                RefreshDatasetInput {
                    dataset_id: "Sales".into(),
                    ..input(false)
                },
            ),
        ] {
            let e = exchange(&change, &Context::default()).unwrap_err();
            assert_eq!(e.input.as_deref(), Some(key));
        }
        let defaults = exchange(
            &RefreshDatasetInput {
                dataset_id: ID.into(),
                ..Default::default()
            },
            &Context::default(),
        )
        .unwrap();
        assert_eq!(defaults.notify, "NoNotification");
        assert!(!defaults.wait);
    }
}
