//! Create Rows: `POST /datasets/{id}/tables/{table}/rows` with `{"rows": [...]}`, in
//! consecutive requests of at most 10,000 rows, in order.
//!
//! The rows are never turned into `serde_json::Value`s: each row is kept as the slice of the
//! input text it came from (`RawValue`), and each request body is those slices joined. If a
//! request fails for good, the error's `progress` says exactly which rows landed.

use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::dataset_id;
use crate::columns;
use crate::error::ActionError;
use crate::exchange::{Exchange, Output, Step};
use crate::http::{Method, Request, Response, api_url};
use crate::retry::RetryPolicy;

/// The most rows Power BI takes in one request.
pub const MAX_ROWS_PER_REQUEST: usize = 10_000;

/// The inputs (WIT `create-rows-input`).
#[derive(Debug, Clone, Default)]
pub struct CreateRowsInput {
    /// Dataset ID.
    pub dataset_id: String,
    /// Table Name.
    pub table_name: String,
    /// Rows: a JSON array of objects, or `{"rows": [...]}`.
    pub rows: String,
    /// Start Row: skip this many rows first.
    pub start_row: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapped<'a> {
    #[serde(borrow)]
    rows: Vec<&'a RawValue>,
}

/// Reads the Rows input: an array of objects, or an object with just `rows`.
pub fn parse_rows(text: &str) -> Result<Vec<&RawValue>, ActionError> {
    let trimmed = text.trim_start();
    let rows: Vec<&RawValue> = if trimmed.starts_with('{') {
        serde_json::from_str::<Wrapped>(text)
            .map_err(|e| {
                ActionError::invalid(
                    "rows",
                    format!("must be an array of rows or {{\"rows\": [...]}} ({e})"),
                )
            })?
            .rows
    } else if trimmed.starts_with('[') {
        serde_json::from_str(text).map_err(|e| {
            ActionError::invalid("rows", format!("is not a valid JSON array of rows ({e})"))
        })?
    } else if trimmed.is_empty() {
        return Err(ActionError::invalid(
            "rows",
            "is required and must not be empty",
        ));
    } else {
        return Err(ActionError::invalid(
            "rows",
            "must be a JSON array of row objects, or {\"rows\": [...]}",
        ));
    };
    if let Some(i) = rows.iter().position(|r| !r.get().starts_with('{')) {
        return Err(ActionError::invalid(
            "rows",
            format!("row {i} is not an object of column names and values"),
        ));
    }
    Ok(rows)
}

/// Create Rows in progress.
pub struct CreateRows<'a> {
    url: String,
    dataset_id: &'a str,
    table_name: String,
    rows: Vec<&'a RawValue>,
    /// The first row to send (Start Row).
    start: usize,
    /// The index after the last row accepted so far.
    accepted: usize,
    /// Rows of the request in flight.
    in_flight: usize,
    requests: usize,
}

/// Checks the inputs and builds the exchange. Nothing is sent if any row is malformed.
pub fn exchange(input: &CreateRowsInput) -> Result<CreateRows<'_>, ActionError> {
    let id = dataset_id(&input.dataset_id)?;
    let table_name = columns::table_name("table-name", &input.table_name)?;
    let rows = parse_rows(&input.rows)?;
    let start = input.start_row.unwrap_or(0);
    if start < 0 || start as u64 > rows.len() as u64 {
        return Err(ActionError::invalid(
            "start-row",
            format!(
                "must be between 0 and the number of rows ({}), got {start}",
                rows.len()
            ),
        ));
    }
    let start = start as usize;
    Ok(CreateRows {
        url: api_url(&["datasets", id, "tables", &table_name, "rows"], &[]),
        dataset_id: id,
        table_name,
        rows,
        start,
        accepted: start,
        in_flight: 0,
        requests: 0,
    })
}

impl CreateRows<'_> {
    /// The request for the next batch, if rows are left.
    fn next_request(&mut self) -> Option<Request> {
        let rest = &self.rows[self.accepted..];
        if rest.is_empty() {
            return None;
        }
        let batch = &rest[..rest.len().min(MAX_ROWS_PER_REQUEST)];
        let size = batch.iter().map(|r| r.get().len() + 1).sum::<usize>() + 12;
        let mut body = String::with_capacity(size);
        body.push_str("{\"rows\":[");
        for (i, row) in batch.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(row.get());
        }
        body.push_str("]}");
        self.in_flight = batch.len();
        Some(Request::new(Method::Post, self.url.clone()).json_body(body.into_bytes()))
    }

    /// What landed and what did not, as JSON text: ranges are 0-based and inclusive.
    fn progress(&self) -> String {
        let total = self.rows.len();
        let range =
            |from: usize, to: usize| (from < to).then(|| json!({"from": from, "to": to - 1}));
        let failed_end = self.accepted + self.in_flight;
        json!({
            "rowsTotal": total,
            "rowsAccepted": self.accepted - self.start,
            "requestsSucceeded": self.requests,
            "skipped": range(0, self.start),
            "accepted": range(self.start, self.accepted),
            "failed": range(self.accepted, failed_end),
            "notSent": range(failed_end, total),
            "resumeFromRow": self.accepted,
        })
        .to_string()
    }

    fn fail(&self, mut error: ActionError) -> Step {
        let stored = if self.accepted > self.start {
            format!(
                "rows {} to {} of {} were stored",
                self.start,
                self.accepted - 1,
                self.rows.len()
            )
        } else {
            format!("no rows of {} were stored", self.rows.len())
        };
        error.message.push_str(&format!(
            " ({stored}; rows from {} on were not: resume with Start Row {})",
            self.accepted, self.accepted
        ));
        error.progress = Some(self.progress());
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
            }
            Some(Ok(response)) => return self.fail(ActionError::from_response(&response)),
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
        let mut ex = exchange(&i).unwrap();
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
        let out = drive(&mut exchange(&i).unwrap(), &mut t).unwrap();
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
        let e = drive(&mut exchange(&i).unwrap(), &mut t).unwrap_err();
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
    }

    #[test]
    fn throttled_post_is_retried() {
        let i = input(rows(3));
        let mut throttled = Scripted::answer(429, "").unwrap();
        throttled.headers.push(("retry-after".into(), "1".into()));
        let mut t = Scripted::new([Ok(throttled), Scripted::answer(200, "")]);
        drive(&mut exchange(&i).unwrap(), &mut t).unwrap();
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
            let e = exchange(&input(text.into())).err().unwrap();
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
        let e = drive(&mut exchange(&i).unwrap(), &mut t).unwrap_err();
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
        assert!(
            e.message.contains("resume with Start Row 20000"),
            "{}",
            e.message
        );
        i.start_row = Some(25_001);
        assert_eq!(
            exchange(&i).err().unwrap().input.as_deref(),
            Some("start-row")
        );
        i.start_row = Some(25_000);
        let mut t = Scripted::new([]);
        let out = drive(&mut exchange(&i).unwrap(), &mut t).unwrap();
        assert!(out.data.contains(r#""rowsSent":0"#) && t.sent.is_empty());
    }

    #[test]
    fn no_rows_no_request() {
        let mut t = Scripted::new([]);
        let out = drive(&mut exchange(&input("[]".into())).unwrap(), &mut t).unwrap();
        assert!(t.sent.is_empty());
        assert!(out.data.contains(r#""rowsSent":0,"requests":0"#));
    }
}
