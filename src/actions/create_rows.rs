//! Create Rows: `POST /datasets/{id}/tables/{table}/rows` with `{"rows": [...]}`, in
//! consecutive requests of at most 10,000 rows, in order.
//!
//! The rows are never turned into `serde_json::Value`s: the input is checked once (every row
//! an object), the byte range of each batch of 10,000 rows is noted, and each request body is
//! that slice of the input, separators and all, inside `{"rows":[` … `]}`. If a
//! request fails for good, the error's `progress` says exactly which rows landed, except
//! the batch in flight when its request may have been applied before it failed (a cut
//! connection, a timeout, a 5xx): Post Rows has no idempotency key, so that batch is
//! reported as `maybeStored` and the message asks the user to check the table.

use serde_json::json;

use super::inputs::{DATASET_ID, EXISTING_TABLE_NAME, WORKSPACE};
use super::{Context, dataset_id, in_workspace, scoped_url, workspace};
use crate::columns;
use crate::definition::{Action, Input, InputType};
use crate::error::{ActionError, ErrorKind};
use crate::exchange::{Exchange, Output, Step};
use crate::http::{Method, Request, Response};
use crate::retry::RetryPolicy;

/// The most rows Power BI takes in one request.
pub const MAX_ROWS_PER_REQUEST: usize = 10_000;

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "create-rows",
    label: "Create Rows",
    description: "Adds new data rows to the specified table within the specified dataset from 'My Workspace'",
    inputs: &[
        WORKSPACE,
        DATASET_ID,
        EXISTING_TABLE_NAME,
        Input::new(
            "rows",
            "Rows",
            InputType::Code,
            "An array of row objects to insert into the table. Each object should contain key-value pairs matching the table's column names.",
        )
        .required()
        .example(r#"[{"Id":1,"Region":"West"},{"Id":2,"Region":"East"}]"#),
        // Not in the connector documentation: added so a flow can resume a push that failed
        // halfway without sending the stored rows again (see docs/decisions.md).
        Input::new(
            "start-row",
            "Start Row",
            InputType::Integer,
            "Skip this many rows of Rows first. To resume after a partial failure, use the resumeFromRow the failed step reported.",
        )
        .default("0")
        .bounds(Some(0), None),
    ],
};

action_input! {
    /// The inputs (WIT `create-rows-input`).
    #[derive(Debug, Clone, Default)]
    pub struct CreateRowsInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Dataset ID.
        pub dataset_id: String,
        /// Table Name.
        pub table_name: String,
        /// Rows: a JSON array of objects, or `{"rows": [...]}`.
        pub rows: String,
        /// Start Row: skip this many rows first.
        pub start_row: Option<i64>,
    }
}

/// The Rows input, checked: how many rows it holds, and from Start Row on the byte range of
/// each batch of at most 10,000 rows within the input text (separators included, so a
/// batch's body is one slice of the input). Memory stays a few words per batch, not per row.
#[derive(Debug)]
pub struct Rows<'a> {
    text: &'a str,
    /// How many rows the input holds.
    pub count: usize,
    /// `(first row, byte range)` of each batch from Start Row on.
    batches: Vec<(usize, std::ops::Range<usize>)>,
}

/// Reads the Rows input (an array of objects, or an object with just `rows`), recording the
/// batches from row `start` on.
pub fn parse_rows(text: &str, start: usize) -> Result<Rows<'_>, ActionError> {
    let trimmed = text.trim_start();
    let found = |scanned: pbi_scan::Scanned| Rows {
        text,
        count: scanned.count,
        batches: scanned.batches,
    };
    if trimmed.starts_with('{') {
        pbi_scan::wrapped(text, start, MAX_ROWS_PER_REQUEST)
            .map(found)
            .map_err(|e| {
                ActionError::invalid(
                    "rows",
                    format!("must be an array of rows or {{\"rows\": [...]}} ({e})"),
                )
            })
    } else if trimmed.starts_with('[') {
        pbi_scan::array(text, start, MAX_ROWS_PER_REQUEST)
            .map(found)
            .map_err(|e| {
                ActionError::invalid("rows", format!("is not a valid JSON array of rows ({e})"))
            })
    } else if trimmed.is_empty() {
        Err(ActionError::invalid(
            "rows",
            "is required and must not be empty",
        ))
    } else {
        Err(ActionError::invalid(
            "rows",
            "must be a JSON array of row objects, or {\"rows\": [...]}",
        ))
    }
}

/// Create Rows in progress.
#[derive(Debug)]
pub struct CreateRows<'a> {
    url: String,
    /// The workspace, named by a 404's error.
    workspace: Option<&'a str>,
    dataset_id: &'a str,
    table_name: String,
    rows: Rows<'a>,
    /// The next batch to send.
    next_batch: usize,
    /// The first row to send (Start Row).
    start: usize,
    /// The index after the last row accepted so far.
    accepted: usize,
    /// Rows of the request in flight.
    in_flight: usize,
    requests: usize,
    /// A batch landed since progress was last reported.
    report: bool,
}

/// Whether a failed request may still have been applied by Power BI. An answer that refuses
/// the request (a 4xx) shows it was not, and so does a failure before the request left
/// ([`ActionError::not_sent`]: a refused connection, a name that did not resolve); other
/// transport failures and timeouts may come after the request reached the service, and a
/// 5xx may come after the rows were written.
fn may_have_been_applied(error: &ActionError) -> bool {
    if error.not_sent {
        return false;
    }
    // Exhaustive on purpose: a new kind must decide which side it is on.
    match error.kind {
        ErrorKind::InvalidInput
        | ErrorKind::Unauthorized
        | ErrorKind::TokenExpired
        | ErrorKind::Forbidden
        | ErrorKind::NotFound
        | ErrorKind::Throttled => false,
        ErrorKind::Service => !error.status.is_some_and(|s| (400..500).contains(&s)),
        ErrorKind::Timeout | ErrorKind::Transport => true,
    }
}

/// Checks the inputs and builds the exchange. Nothing is sent if any row is malformed.
pub fn exchange<'a>(
    input: &'a CreateRowsInput,
    _context: &Context,
) -> Result<CreateRows<'a>, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    let id = dataset_id(&input.dataset_id)?;
    let table_name = columns::table_name("table-name", &input.table_name)?;
    let start = input.start_row.unwrap_or(0);
    let rows = parse_rows(&input.rows, usize::try_from(start).unwrap_or(usize::MAX))?;
    if start < 0 || start as u64 > rows.count as u64 {
        return Err(ActionError::invalid(
            "start-row",
            format!(
                "must be between 0 and the number of rows ({}), got {start}",
                rows.count
            ),
        ));
    }
    let start = start as usize;
    Ok(CreateRows {
        url: scoped_url(
            workspace,
            &["datasets", id, "tables", &table_name, "rows"],
            &[],
        ),
        workspace,
        dataset_id: id,
        table_name,
        rows,
        next_batch: 0,
        start,
        accepted: start,
        in_flight: 0,
        requests: 0,
        report: false,
    })
}

impl CreateRows<'_> {
    /// The request for the next batch, if rows are left: its body is `{"rows":[` + the
    /// batch's slice of the input + `]}`.
    fn next_request(&mut self) -> Option<Request> {
        let (first, range) = self.rows.batches.get(self.next_batch)?.clone();
        let next_first = self
            .rows
            .batches
            .get(self.next_batch + 1)
            .map_or(self.rows.count, |(f, _)| *f);
        let slice = &self.rows.text[range];
        let mut body = Vec::with_capacity(slice.len() + 11);
        body.extend_from_slice(b"{\"rows\":[");
        body.extend_from_slice(slice.as_bytes());
        body.extend_from_slice(b"]}");
        self.in_flight = next_first - first;
        self.next_batch += 1;
        Some(Request::new(Method::Post, self.url.clone()).json_body(body))
    }

    /// What landed and what did not, as JSON text: ranges are 0-based and inclusive.
    /// `maybe_stored`: the request in flight failed in a way that does not show it was not
    /// applied.
    fn progress_json(&self, maybe_stored: bool) -> String {
        let total = self.rows.count;
        let range =
            |from: usize, to: usize| (from < to).then(|| json!({"from": from, "to": to - 1}));
        let failed_end = self.accepted + self.in_flight;
        // `failed` keeps its meaning (the batch whose request failed) and `resumeFromRow`
        // stays the row that loses nothing; `maybeStored` says that batch may be in the
        // table anyway, and `resumeFromRowIfStored` where to go on if it is.
        let maybe = maybe_stored && self.in_flight > 0;
        json!({
            "rowsTotal": total,
            "rowsAccepted": self.accepted - self.start,
            "requestsSucceeded": self.requests,
            "skipped": range(0, self.start),
            "accepted": range(self.start, self.accepted),
            "failed": range(self.accepted, failed_end),
            "maybeStored": if maybe { range(self.accepted, failed_end) } else { None },
            "notSent": range(failed_end, total),
            "resumeFromRow": self.accepted,
            "resumeFromRowIfStored": maybe.then_some(failed_end),
        })
        .to_string()
    }

    fn fail(&self, mut error: ActionError) -> Step {
        let maybe_stored = may_have_been_applied(&error);
        let stored = if self.accepted > self.start {
            format!(
                "rows {} to {} of {} were stored",
                self.start,
                self.accepted - 1,
                self.rows.count
            )
        } else {
            format!("no rows of {} were stored", self.rows.count)
        };
        let (from, end) = (self.accepted, self.accepted + self.in_flight);
        if maybe_stored && self.in_flight > 0 {
            let rest = if end < self.rows.count {
                format!("; rows from {end} on were not sent")
            } else {
                String::new()
            };
            let if_stored = if end < self.rows.count {
                format!("resume with Start Row {end}")
            } else {
                "the push is complete".to_string()
            };
            error.message.push_str(&format!(
                " ({stored}; rows {from} to {last} may or may not have been stored: the request \
                 failed in a way that does not show whether Power BI applied it{rest}. Check \
                 the table before resuming (count its rows, or look for row {from} or row \
                 {last}): if those rows are missing, resume with Start Row {from}; if they are \
                 there, {if_stored})",
                last = end - 1,
            ));
        } else {
            error.message.push_str(&format!(
                " ({stored}; rows from {from} on were not: resume with Start Row {from})"
            ));
        }
        error.progress = Some(self.progress_json(maybe_stored));
        Step::Done(Err(error))
    }
}

impl Exchange for CreateRows<'_> {
    fn step(&mut self, outcome: Option<Result<Response, ActionError>>) -> Step {
        match outcome {
            None => {}
            Some(Ok(response)) if response.is_success() => {
                self.accepted += self.in_flight;
                self.in_flight = 0;
                self.requests += 1;
                self.report = true;
            }
            Some(Ok(response)) => {
                return self.fail(in_workspace(
                    ActionError::from_response(&response),
                    self.workspace,
                ));
            }
            Some(Err(error)) => return self.fail(error),
        }
        match self.next_request() {
            Some(request) => Step::Send(request),
            None => Step::Done(Ok(Output::json(&json!({
                "datasetId": self.dataset_id,
                "tableName": self.table_name,
                "rowsSent": self.accepted - self.start,
                "requests": self.requests,
            })))),
        }
    }

    fn progress(&mut self) -> Option<crate::exchange::Progress> {
        std::mem::take(&mut self.report).then(|| crate::exchange::Progress {
            done: (self.accepted - self.start) as u64,
            total: Some((self.rows.count - self.start) as u64),
            status: "rows sent".into(),
        })
    }

    fn policy(&self) -> RetryPolicy {
        // A 429 on the rows API refuses the whole request: nothing was stored, so sending it
        // again cannot duplicate rows. Other failures of a POST might have been applied.
        RetryPolicy {
            post_refused_on_429: true,
            ..RetryPolicy::DEFAULT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{drive, scripted::Scripted};

    const ID: &str = "cfafbeb1-8037-4d0c-896e-a46fb27ff229";

    fn input(rows: String) -> CreateRowsInput {
        CreateRowsInput {
            workspace: None,
            dataset_id: ID.into(),
            table_name: "Sales West".into(),
            rows,
            start_row: None,
        }
    }

    fn rows(n: usize) -> String {
        let rows: Vec<String> = (0..n).map(|i| format!(r#"{{"Id":{i}}}"#)).collect();
        format!("[{}]", rows.join(","))
    }

    #[test]
    fn body_is_always_an_object() {
        let i = input(r#"{"rows": [ {"Id": 1, "Name": "a"} ]}"#.into());
        let mut ex = exchange(&i, &Context::default()).unwrap();
        let Step::Send(request) = ex.step(None) else {
            panic!("expected a request")
        };
        insta::assert_json_snapshot!(super::super::snapshot(&request));
        assert_eq!(
            String::from_utf8(request.body).unwrap(),
            r#"{"rows":[{"Id": 1, "Name": "a"}]}"#
        );
    }

    #[test]
    fn batches_of_ten_thousand_in_order() {
        let i = input(rows(25_000));
        let mut t = Scripted::new((0..3).map(|_| Scripted::answer(200, "")));
        let out = drive(&mut exchange(&i, &Context::default()).unwrap(), &mut t).unwrap();
        assert_eq!(t.sent.len(), 3);
        let counts: Vec<usize> = t
            .sent
            .iter()
            .map(|(r, _)| {
                let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                v["rows"].as_array().unwrap().len()
            })
            .collect();
        assert_eq!(counts, [10_000, 10_000, 5_000]);
        let third: serde_json::Value = serde_json::from_slice(&t.sent[2].0.body).unwrap();
        assert_eq!(third["rows"][0]["Id"], 20_000);
        assert_eq!(
            out.data,
            format!(
                r#"{{"datasetId":"{ID}","tableName":"Sales West","rowsSent":25000,"requests":3}}"#
            )
        );
    }

    #[test]
    fn partial_failure_says_which_rows_landed() {
        let i = input(rows(25_000));
        let mut t = Scripted::new([
            Scripted::answer(200, ""),
            Scripted::answer(
                400,
                r#"{"error":{"code":"BadRequest","message":"bad value"}}"#,
            ),
        ]);
        let e = drive(&mut exchange(&i, &Context::default()).unwrap(), &mut t).unwrap_err();
        assert_eq!(t.sent.len(), 2);
        let p: serde_json::Value = serde_json::from_str(e.progress.as_deref().unwrap()).unwrap();
        assert_eq!(p["rowsAccepted"], 10_000);
        assert_eq!(p["accepted"], json!({"from": 0, "to": 9_999}));
        assert_eq!(p["failed"], json!({"from": 10_000, "to": 19_999}));
        assert_eq!(p["notSent"], json!({"from": 20_000, "to": 24_999}));
        assert_eq!(p["resumeFromRow"], 10_000);
        assert!(
            e.message.contains("rows 0 to 9999 of 25000 were stored"),
            "{}",
            e.message
        );
        // A 400 refuses the request whole: certainly not stored.
        assert_eq!(p["maybeStored"], json!(null));
        assert_eq!(p["resumeFromRowIfStored"], json!(null));
        assert!(
            e.message
                .contains("rows from 10000 on were not: resume with Start Row 10000"),
            "{}",
            e.message
        );
    }

    /// The second of three batches fails with `outcome`; returns the error.
    fn second_batch_fails(outcome: Result<Response, ActionError>) -> ActionError {
        let i = input(rows(25_000));
        let mut t = Scripted::new([Scripted::answer(200, ""), outcome]);
        let e = drive(&mut exchange(&i, &Context::default()).unwrap(), &mut t).unwrap_err();
        assert_eq!(t.sent.len(), 2, "a failed POST is not sent again");
        e
    }

    #[test]
    fn a_failure_after_sending_reports_the_batch_as_maybe_stored() {
        for outcome in [
            Err(ActionError::transport(
                "the connection was closed before the answer",
            )),
            Err(ActionError::timeout("the request timed out")),
            Scripted::answer(500, r#"{"error":{"code":"InternalError"}}"#),
            Scripted::answer(504, ""),
        ] {
            let e = second_batch_fails(outcome);
            let p: serde_json::Value =
                serde_json::from_str(e.progress.as_deref().unwrap()).unwrap();
            // The existing fields keep their meaning; the uncertainty is added beside them.
            assert_eq!(p["accepted"], json!({"from": 0, "to": 9_999}), "{e}");
            assert_eq!(p["failed"], json!({"from": 10_000, "to": 19_999}), "{e}");
            assert_eq!(p["notSent"], json!({"from": 20_000, "to": 24_999}), "{e}");
            assert_eq!(p["resumeFromRow"], 10_000, "{e}");
            assert_eq!(
                p["maybeStored"],
                json!({"from": 10_000, "to": 19_999}),
                "{e}"
            );
            assert_eq!(p["resumeFromRowIfStored"], 20_000, "{e}");
            for words in [
                "rows 0 to 9999 of 25000 were stored",
                "rows 10000 to 19999 may or may not have been stored",
                "rows from 20000 on were not sent",
                "Check the table before resuming",
                "missing, resume with Start Row 10000",
                "there, resume with Start Row 20000",
            ] {
                assert!(e.message.contains(words), "{words}: {}", e.message);
            }
            assert!(!e.message.contains("were not:"), "{}", e.message);
        }
    }

    #[test]
    fn a_refusal_reports_the_batch_as_not_stored() {
        for status in [400, 401, 403, 404, 429] {
            let mut answer = Scripted::answer(status, "").unwrap();
            // Beyond what a step waits for: the 429 comes back instead of being retried.
            answer.headers.push(("retry-after".into(), "3600".into()));
            let e = second_batch_fails(Ok(answer));
            let p: serde_json::Value =
                serde_json::from_str(e.progress.as_deref().unwrap()).unwrap();
            assert_eq!(
                p["failed"],
                json!({"from": 10_000, "to": 19_999}),
                "{status}"
            );
            assert_eq!(p["maybeStored"], json!(null), "{status}");
            assert_eq!(p["resumeFromRowIfStored"], json!(null), "{status}");
            assert_eq!(p["resumeFromRow"], 10_000, "{status}");
            assert!(
                e.message
                    .contains("rows from 10000 on were not: resume with Start Row 10000")
                    && !e.message.contains("may or may not"),
                "{status}: {}",
                e.message
            );
        }
    }

    #[test]
    fn a_batch_that_never_left_is_sent_again_and_reported_as_not_stored() {
        let refused =
            || Err(ActionError::transport("the host refused the connection").never_sent());
        // Sent again after a refused connection, and the push goes on.
        let i = input(rows(25_000));
        let mut t = Scripted::new([
            Scripted::answer(200, ""),
            refused(),
            Scripted::answer(200, ""),
            Scripted::answer(200, ""),
        ]);
        let out = drive(&mut exchange(&i, &Context::default()).unwrap(), &mut t).unwrap();
        assert_eq!(t.sent.len(), 4, "the refused batch was sent again");
        assert!(out.data.contains("\"rowsSent\":25000"), "{}", out.data);
        // Refused every time: the batch is certainly not stored.
        let mut t = Scripted::new([
            Scripted::answer(200, ""),
            refused(),
            refused(),
            refused(),
            refused(),
        ]);
        let e = drive(&mut exchange(&i, &Context::default()).unwrap(), &mut t).unwrap_err();
        assert_eq!(t.sent.len(), 5, "one batch, then the second four times");
        let p: serde_json::Value = serde_json::from_str(e.progress.as_deref().unwrap()).unwrap();
        assert_eq!(p["failed"], json!({"from": 10_000, "to": 19_999}));
        assert_eq!(p["maybeStored"], json!(null));
        assert_eq!(p["resumeFromRow"], 10_000);
        assert!(
            e.message
                .contains("rows from 10000 on were not: resume with Start Row 10000"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_maybe_stored_last_batch_leaves_nothing_to_resume_if_stored() {
        let i = input(rows(3));
        let mut t = Scripted::new([Err(ActionError::transport("the answer was cut off"))]);
        let e = drive(&mut exchange(&i, &Context::default()).unwrap(), &mut t).unwrap_err();
        let p: serde_json::Value = serde_json::from_str(e.progress.as_deref().unwrap()).unwrap();
        assert_eq!(p["maybeStored"], json!({"from": 0, "to": 2}));
        assert_eq!(p["resumeFromRowIfStored"], 3);
        assert_eq!(p["notSent"], json!(null));
        assert!(
            e.message
                .contains("no rows of 3 were stored; rows 0 to 2 may or may not")
                && e.message.contains("there, the push is complete")
                && !e.message.contains("were not sent"),
            "{}",
            e.message
        );
    }

    #[test]
    fn throttled_post_is_retried() {
        let i = input(rows(3));
        let mut throttled = Scripted::answer(429, "").unwrap();
        throttled.headers.push(("retry-after".into(), "1".into()));
        let mut t = Scripted::new([Ok(throttled), Scripted::answer(200, "")]);
        drive(&mut exchange(&i, &Context::default()).unwrap(), &mut t).unwrap();
        assert_eq!(t.sent.len(), 2);
        assert_eq!(t.sleeps, [std::time::Duration::from_secs(1)]);
    }

    #[test]
    fn bad_rows() {
        for (text, expected) in [
            ("", "required"),
            ("42", "JSON array"),
            ("[1]", "row 0 is not an object"),
            (r#"[{"a":1},"x"]"#, "row 1 is not an object"),
            (r#"{"values":[]}"#, "rows"),
            ("[{]", "not a valid JSON array"),
        ] {
            let e = exchange(&input(text.into()), &Context::default())
                .err()
                .unwrap();
            assert_eq!(e.input.as_deref(), Some("rows"), "{text}");
            assert!(e.message.contains(expected), "{text}: {}", e.message);
        }
    }

    #[test]
    fn resume_from_a_start_row() {
        let mut i = input(rows(25_000));
        i.start_row = Some(10_000);
        let mut t = Scripted::new([
            Scripted::answer(200, ""),
            Scripted::answer(503, ""),
            Scripted::answer(503, ""),
            Scripted::answer(503, ""),
            Scripted::answer(503, ""),
        ]);
        let e = drive(&mut exchange(&i, &Context::default()).unwrap(), &mut t).unwrap_err();
        let first: serde_json::Value = serde_json::from_slice(&t.sent[0].0.body).unwrap();
        assert_eq!(
            first["rows"][0]["Id"], 10_000,
            "the first request starts at Start Row"
        );
        let p: serde_json::Value = serde_json::from_str(e.progress.as_deref().unwrap()).unwrap();
        assert_eq!(p["skipped"], json!({"from": 0, "to": 9_999}));
        assert_eq!(p["accepted"], json!({"from": 10_000, "to": 19_999}));
        assert_eq!(p["rowsAccepted"], 10_000);
        assert_eq!(p["resumeFromRow"], 20_000);
        assert_eq!(p["maybeStored"], json!({"from": 20_000, "to": 24_999}));
        assert!(
            e.message.contains("resume with Start Row 20000"),
            "{}",
            e.message
        );
        i.start_row = Some(25_001);
        assert_eq!(
            exchange(&i, &Context::default())
                .err()
                .unwrap()
                .input
                .as_deref(),
            Some("start-row")
        );
        i.start_row = Some(25_000);
        let mut t = Scripted::new([]);
        let out = drive(&mut exchange(&i, &Context::default()).unwrap(), &mut t).unwrap();
        assert!(out.data.contains(r#""rowsSent":0"#) && t.sent.is_empty());
    }

    #[test]
    fn no_rows_no_request() {
        let mut t = Scripted::new([]);
        let out = drive(
            &mut exchange(&input("[]".into()), &Context::default()).unwrap(),
            &mut t,
        )
        .unwrap();
        assert!(t.sent.is_empty());
        assert!(out.data.contains(r#""rowsSent":0,"requests":0"#));
    }
}
