//! Reliability tables: bad inputs (each a clear error naming the input, nothing sent) and
//! faults injected by the local service (each with the expected attempts and outcome).
//! Every invocation is also scanned for the token and the client secret by the harness.

mod common;

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use common::{Harness, sales_columns, sales_rows};
use pbi_service::{Fault, ServiceConfig};
use serde_json::{Value, json};

const ID: &str = "cfafbeb1-8037-4d0c-896e-a46fb27ff229";

fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut v = base.clone();
    v[key] = value;
    v
}

fn without(base: &Value, key: &str) -> Value {
    let mut v = base.clone();
    v.as_object_mut().expect("object").remove(key);
    v
}

/// `(action, inputs, the input the error must name)`.
fn bad_inputs() -> Vec<(&'static str, Value, &'static str)> {
    let dataset = json!({"dataset-name": "D", "table-name": "T", "columns": sales_columns()});
    let rows = json!({"dataset-id": ID, "table-name": "T", "rows": [{"a": 1}]});
    let delete = json!({"dataset-id": ID, "table-name": "T"});
    let tables = json!({"dataset-id": ID});
    let raw = json!({"url": "/x", "method": "GET"});
    let update = json!({"dataset-id": ID, "table-name": "T", "columns": sales_columns()});
    let many: Vec<Value> = (0..76)
        .map(|i| json!({"name": format!("c{i}"), "dataType": "String"}))
        .collect();
    vec![
        (
            "create-dataset",
            without(&dataset, "dataset-name"),
            "dataset-name",
        ),
        (
            "create-dataset",
            with(&dataset, "dataset-name", json!("")),
            "dataset-name",
        ),
        (
            "create-dataset",
            with(&dataset, "dataset-name", json!("   ")),
            "dataset-name",
        ),
        (
            "create-dataset",
            with(&dataset, "dataset-name", json!("a\u{1}b")),
            "dataset-name",
        ),
        ("create-dataset", without(&dataset, "columns"), "columns"),
        (
            "create-dataset",
            with(&dataset, "columns", json!("")),
            "columns",
        ),
        (
            "create-dataset",
            with(&dataset, "columns", json!("not json")),
            "columns",
        ),
        (
            "create-dataset",
            with(&dataset, "columns", json!({})),
            "columns",
        ),
        (
            "create-dataset",
            with(&dataset, "columns", json!([])),
            "columns",
        ),
        (
            "create-dataset",
            with(&dataset, "columns", json!([1])),
            "columns",
        ),
        (
            "create-dataset",
            with(&dataset, "columns", json!([{"dataType": "String"}])),
            "columns",
        ),
        (
            "create-dataset",
            with(
                &dataset,
                "columns",
                json!([{"name": "a", "dataType": "Text"}]),
            ),
            "columns",
        ),
        (
            "create-dataset",
            with(&dataset, "columns", json!([{"name": "a"}])),
            "columns",
        ),
        (
            "create-dataset",
            with(
                &dataset,
                "columns",
                json!([{"name": "a", "dataType": "String"}, {"name": "A", "dataType": "Int64"}]),
            ),
            "columns",
        ),
        (
            "create-dataset",
            with(&dataset, "columns", Value::Array(many)),
            "columns",
        ),
        (
            "create-dataset",
            with(
                &dataset,
                "columns",
                json!([{"name": "a", "dataType": "String", "colour": "red"}]),
            ),
            "columns",
        ),
        (
            "create-dataset",
            with(
                &dataset,
                "columns",
                json!([{"name": "", "dataType": "String"}]),
            ),
            "columns",
        ),
        (
            "create-dataset",
            without(&dataset, "table-name"),
            "table-name",
        ),
        (
            "create-dataset",
            with(&dataset, "table-name", json!("a.b")),
            "table-name",
        ),
        (
            "create-dataset",
            with(&dataset, "table-name", json!("x".repeat(101))),
            "table-name",
        ),
        (
            "create-dataset",
            with(&dataset, "table-name", json!("a/b")),
            "table-name",
        ),
        (
            "create-dataset",
            with(&dataset, "colour", json!("red")),
            "colour",
        ),
        ("create-rows", without(&rows, "dataset-id"), "dataset-id"),
        (
            "create-rows",
            with(&rows, "dataset-id", json!("nope")),
            "dataset-id",
        ),
        (
            "create-rows",
            with(&rows, "dataset-id", json!("")),
            "dataset-id",
        ),
        (
            "create-rows",
            with(
                &rows,
                "dataset-id",
                json!("cfafbeb1-8037-4d0c-896e-a46fb27ff22"),
            ),
            "dataset-id",
        ),
        (
            "create-rows",
            with(&rows, "table-name", json!("")),
            "table-name",
        ),
        (
            "create-rows",
            with(&rows, "table-name", json!("x:y")),
            "table-name",
        ),
        ("create-rows", without(&rows, "rows"), "rows"),
        ("create-rows", with(&rows, "rows", json!("")), "rows"),
        ("create-rows", with(&rows, "rows", json!("42")), "rows"),
        ("create-rows", with(&rows, "rows", json!([1, 2])), "rows"),
        ("create-rows", with(&rows, "rows", json!("[{]")), "rows"),
        (
            "create-rows",
            with(&rows, "rows", json!({"values": []})),
            "rows",
        ),
        (
            "create-rows",
            with(&rows, "rows", json!([{"a": 1}, "x"])),
            "rows",
        ),
        (
            "create-rows",
            with(&rows, "start-row", json!(-1)),
            "start-row",
        ),
        (
            "create-rows",
            with(&rows, "start-row", json!(5)),
            "start-row",
        ),
        (
            "create-rows",
            with(&rows, "start-row", json!("abc")),
            "start-row",
        ),
        (
            "create-rows",
            with(&rows, "start-row", json!(1.5)),
            "start-row",
        ),
        ("delete-rows", without(&delete, "dataset-id"), "dataset-id"),
        ("delete-rows", without(&delete, "table-name"), "table-name"),
        (
            "delete-rows",
            with(&delete, "dataset-id", json!("../../x")),
            "dataset-id",
        ),
        (
            "delete-rows",
            with(&delete, "table-name", json!("a?b")),
            "table-name",
        ),
        ("list-datasets", json!({"top": 0}), "top"),
        ("list-datasets", json!({"top": 1001}), "top"),
        ("list-datasets", json!({"top": -5}), "top"),
        ("list-datasets", json!({"top": "ten"}), "top"),
        ("list-datasets", json!({"page-offset": -1}), "page-offset"),
        ("list-datasets", json!({"top": 2.5}), "top"),
        ("list-groups", json!({"top": 0}), "top"),
        ("list-groups", json!({"page-offset": -3}), "page-offset"),
        ("list-groups", json!({"page-offset": "x"}), "page-offset"),
        ("list-reports", json!({"top": 100000}), "top"),
        ("list-reports", json!({"top": true}), "top"),
        ("list-tables", json!({}), "dataset-id"),
        ("list-tables", json!({"dataset-id": "abc"}), "dataset-id"),
        ("list-tables", with(&tables, "top", json!(0)), "top"),
        ("raw-request", without(&raw, "method"), "method"),
        (
            "raw-request",
            with(&raw, "method", json!("TRACE")),
            "method",
        ),
        (
            "raw-request",
            with(&raw, "url", json!("https://evil.example/x")),
            "url",
        ),
        (
            "raw-request",
            with(&raw, "url", json!("//evil.example")),
            "url",
        ),
        (
            "raw-request",
            with(&raw, "url", json!("user@evil.example/x")),
            "url",
        ),
        ("raw-request", with(&raw, "url", json!("/../x")), "url"),
        ("raw-request", with(&raw, "url", json!("/%2e%2e/x")), "url"),
        ("raw-request", with(&raw, "url", json!("/a\\b")), "url"),
        (
            "raw-request",
            with(&raw, "url", json!("/a\r\nHost: evil")),
            "url",
        ),
        (
            "raw-request",
            with(
                &with(&raw, "data", json!("{}")),
                "form-data",
                json!({"a": "b"}),
            ),
            "data",
        ),
        (
            "raw-request",
            with(&raw, "file-data-file-names", json!({"f": "x.txt"})),
            "file-data-file-names",
        ),
        (
            "raw-request",
            with(&raw, "headers", json!({"Authorization": "Bearer stolen"})),
            "headers",
        ),
        (
            "raw-request",
            with(&raw, "headers", json!({"X-A": "1\r\nHost: evil"})),
            "headers",
        ),
        (
            "raw-request",
            with(&raw, "headers", json!({"X A": "1"})),
            "headers",
        ),
        (
            "raw-request",
            with(&raw, "response-type", json!("xml")),
            "response-type",
        ),
        ("raw-request", with(&raw, "timeout", json!(0)), "timeout"),
        ("raw-request", with(&raw, "timeout", json!(-1)), "timeout"),
        (
            "raw-request",
            with(&raw, "max-retries", json!(11)),
            "max-retries",
        ),
        (
            "raw-request",
            with(&raw, "max-retries", json!(-1)),
            "max-retries",
        ),
        (
            "raw-request",
            with(&raw, "retry-delay-ms", json!(-1)),
            "retry-delay-ms",
        ),
        (
            "raw-request",
            with(&raw, "debug-request", json!("maybe")),
            "debug-request",
        ),
        (
            "raw-request",
            with(&raw, "retry-all-errors", json!("yes")),
            "retry-all-errors",
        ),
        (
            "update-table",
            with(
                &update,
                "columns",
                json!([{"name": "a", "dataType": "Money"}]),
            ),
            "columns",
        ),
        ("update-table", without(&update, "dataset-id"), "dataset-id"),
        (
            "update-table",
            with(&update, "table-name", json!("a?b")),
            "table-name",
        ),
    ]
}

#[test]
fn bad_inputs_are_named_and_nothing_is_sent() -> Result<()> {
    let h = Harness::new()?;
    let cases = bad_inputs();
    ensure!(cases.len() >= 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (action, inputs, key) in &cases {
        let invocation = h.run(action, inputs.clone())?;
        match &invocation.result {
            Err(e)
                if e.kind == pbi_host::ErrorKind::InvalidInput
                    && e.input.as_deref() == Some(key) =>
            {
                if !e.message.contains(key) {
                    failures.push(format!(
                        "{action} {inputs}: the message does not name {key}: {}",
                        e.message
                    ));
                }
            }
            other => failures.push(format!(
                "{action} {inputs}: expected invalid-input on {key}, got {other:?}"
            )),
        }
        if !invocation.requests.is_empty() {
            failures.push(format!(
                "{action} {inputs}: the component tried to send {:?}",
                invocation.requests
            ));
        }
    }
    ensure!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    ensure!(
        h.service.requests().is_empty(),
        "requests reached the service"
    );
    Ok(())
}

/// What a fault case expects.
struct Case {
    name: &'static str,
    fault: Fault,
    action: &'static str,
    inputs: Value,
    /// `None`: success; `Some(kind)`: an error of that kind.
    outcome: Option<&'static str>,
    /// Requests the service saw on the faulted path.
    attempts: usize,
}

#[test]
fn injected_faults_give_the_expected_retries_and_results() -> Result<()> {
    let h = Harness::new()?;
    h.service.add_dataset(
        None,
        "Existing",
        true,
        json!([{"name": "T", "columns": [{"name": "a", "dataType": "String"}]}]),
    );
    let list = json!({});
    let raw = |extra: Value| {
        let mut v = json!({"url": "/datasets", "method": "GET"});
        for (k, x) in extra.as_object().expect("object") {
            v[k] = x.clone();
        }
        v
    };
    let cases = vec![
        Case {
            name: "429 with Retry-After, then success",
            fault: Fault::throttled(1).on_path("/datasets").times(1),
            action: "list-datasets",
            inputs: list.clone(),
            outcome: None,
            attempts: 2,
        },
        Case {
            name: "500 once",
            fault: Fault::status(500, r#"{"error":{"code":"InternalError","message":"x"}}"#)
                .on_path("/datasets")
                .times(1),
            action: "list-datasets",
            inputs: list.clone(),
            outcome: None,
            attempts: 2,
        },
        Case {
            name: "502 once",
            fault: Fault::status(502, "Bad Gateway")
                .on_path("/datasets")
                .times(1),
            action: "list-datasets",
            inputs: list.clone(),
            outcome: None,
            attempts: 2,
        },
        Case {
            name: "503 for good",
            fault: Fault::status(503, "Service Unavailable")
                .on_path("/datasets")
                .times(100),
            action: "list-datasets",
            inputs: list.clone(),
            outcome: Some("service"),
            attempts: 4,
        },
        Case {
            name: "connection reset once on a GET",
            fault: Fault::reset_connection().on_path("/datasets").times(1),
            action: "list-datasets",
            inputs: list.clone(),
            outcome: None,
            attempts: 2,
        },
        Case {
            name: "connection reset on a POST is not repeated",
            fault: Fault::reset_connection()
                .on_method("POST")
                .on_path("/datasets")
                .times(1),
            action: "create-dataset",
            inputs: json!({"dataset-name": "D", "table-name": "T", "columns": sales_columns()}),
            outcome: Some("transport"),
            attempts: 1,
        },
        Case {
            name: "truncated body",
            fault: Fault::truncated_body().on_path("/datasets").times(100),
            action: "list-datasets",
            inputs: list.clone(),
            outcome: Some("transport"),
            attempts: 4,
        },
        Case {
            name: "slower than Timeout",
            fault: Fault::delay(Duration::from_secs(3))
                .on_path("/datasets")
                .times(1),
            action: "raw-request",
            inputs: raw(json!({"timeout": 300})),
            outcome: Some("timeout"),
            attempts: 1,
        },
        Case {
            name: "malformed JSON",
            fault: Fault::malformed_json().on_path("/datasets").times(1),
            action: "list-datasets",
            inputs: list.clone(),
            outcome: Some("service"),
            attempts: 1,
        },
        Case {
            name: "plain-text 500 on DELETE, retried then reported",
            fault: Fault::status(500, "Something broke")
                .with_content_type("text/plain")
                .on_path("/rows")
                .times(100),
            action: "delete-rows",
            inputs: json!({"dataset-id": ID, "table-name": "T"}),
            outcome: Some("service"),
            attempts: 4,
        },
        Case {
            name: "a 10 MB answer",
            fault: Fault::large_body(10 * 1024 * 1024)
                .on_path("/datasets")
                .times(1),
            action: "raw-request",
            inputs: raw(json!({})),
            outcome: None,
            attempts: 1,
        },
        Case {
            name: "403 TokenExpired",
            fault: Fault::status(
                403,
                r#"{"error":{"code":"TokenExpired","message":"Access token has expired"}}"#,
            )
            .on_path("/reports")
            .times(1),
            action: "list-reports",
            inputs: list.clone(),
            outcome: Some("token-expired"),
            attempts: 1,
        },
        Case {
            name: "Raw Request follows Max Retry Count and Retry Delay",
            fault: Fault::status(500, "x").on_path("/datasets").times(2),
            action: "raw-request",
            inputs: raw(json!({"max-retries": 2, "retry-delay-ms": 10})),
            outcome: None,
            attempts: 3,
        },
        Case {
            name: "Raw Request POST 500 is not retried without Retry On All Errors",
            fault: Fault::status(500, "x").on_path("/imports").times(5),
            action: "raw-request",
            inputs: json!({"method": "POST", "max-retries": 3, "form-data": {"a": "b"}, "query-params": {"datasetDisplayName": "x"}}),
            outcome: Some("service"),
            attempts: 1,
        },
        Case {
            name: "Raw Request POST 500 is retried with Retry On All Errors",
            fault: Fault::status(500, "x").on_path("/imports").times(1),
            action: "raw-request",
            inputs: json!({"method": "POST", "max-retries": 3, "retry-all-errors": true, "form-data": {"a": "b"}, "query-params": {"datasetDisplayName": "x"}}),
            outcome: None,
            attempts: 2,
        },
    ];
    let mut failures = Vec::new();
    for case in cases {
        h.service.clear_faults();
        h.service.clear_requests();
        let path = case.fault.path_contains.clone().unwrap_or_default();
        h.service.inject(case.fault);
        let invocation = h.run(case.action, case.inputs)?;
        let got = invocation.result.as_ref().err().map(|e| e.kind.as_str());
        if got != case.outcome {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                case.name,
                case.outcome,
                invocation.result.as_ref().err()
            ));
        }
        let attempts = h
            .service
            .requests()
            .iter()
            .filter(|r| r.path.contains(&path))
            .count();
        if attempts != case.attempts {
            failures.push(format!(
                "{}: {attempts} attempts, expected {}",
                case.name, case.attempts
            ));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn a_failed_push_says_which_rows_landed_and_resumes_without_duplicates() -> Result<()> {
    let h = Harness::with_config(ServiceConfig {
        rows_requests_per_minute: 0,
        ..Default::default()
    })?;
    let id = h.create_dataset("T", sales_columns())?;
    let rows = sales_rows(35_000);
    // Faults are used in the order injected: the first rows request passes untouched (a
    // zero delay), the second fails for good with a 500, which a POST does not repeat.
    h.service
        .inject(Fault::delay(Duration::ZERO).on_path("/rows").times(1));
    h.service
        .inject(Fault::status(500, "broken").on_path("/rows").times(1));
    let e = h.err(
        "create-rows",
        json!({"dataset-id": id, "table-name": "T", "rows": rows.clone()}),
    )?;
    let progress = e.progress.clone().context("progress")?;
    ensure!(progress["rowsAccepted"] == 10_000, "{progress}");
    ensure!(
        progress["accepted"] == json!({"from": 0, "to": 9_999}),
        "{progress}"
    );
    ensure!(
        progress["failed"] == json!({"from": 10_000, "to": 19_999}),
        "{progress}"
    );
    ensure!(
        progress["notSent"] == json!({"from": 20_000, "to": 34_999}),
        "{progress}"
    );
    ensure!(e.message.contains("Start Row 10000"), "{}", e.message);
    ensure!(h.service.table_rows(&id, "T").context("rows")?.len() == 10_000);
    let resume = progress["resumeFromRow"]
        .as_u64()
        .context("resumeFromRow")?;
    let out = h.ok(
        "create-rows",
        json!({"dataset-id": id, "table-name": "T", "rows": rows, "start-row": resume}),
    )?;
    ensure!(out["rowsSent"] == 25_000, "{out}");
    let stored = h.service.table_rows(&id, "T").context("rows")?;
    let ids: Vec<u64> = stored.iter().filter_map(|r| r["Id"].as_u64()).collect();
    ensure!(
        ids == (0..35_000).collect::<Vec<u64>>(),
        "every row exactly once, in order"
    );
    Ok(())
}

#[test]
fn the_hourly_row_limit_ends_a_push_at_once_with_what_landed() -> Result<()> {
    // Microsoft's 1,000,000 rows an hour, scaled down: the second batch of 10,000 would
    // pass 15,000, and Power BI answers 429 with an hour-long Retry-After.
    let h = Harness::with_config(ServiceConfig {
        rows_per_hour: 15_000,
        ..Default::default()
    })?;
    let id = h.create_dataset("T", sales_columns())?;
    let started = std::time::Instant::now();
    let e = h.err(
        "create-rows",
        json!({"dataset-id": id, "table-name": "T", "rows": sales_rows(25_000)}),
    )?;
    // Far longer than the component waits in a step: the error goes back to the engine.
    ensure!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    ensure!(e.kind == pbi_host::ErrorKind::Throttled, "{e:?}");
    let retry = e.retry_after_seconds.context("retry-after-seconds")?;
    ensure!(
        (3500..=3600).contains(&retry),
        "retry-after-seconds {retry}"
    );
    let progress = e.progress.clone().context("progress")?;
    ensure!(progress["rowsAccepted"] == 10_000, "{progress}");
    ensure!(progress["resumeFromRow"] == 10_000, "{progress}");
    ensure!(h.service.table_rows(&id, "T").context("rows")?.len() == 10_000);
    // The refused batch was sent once: a throttled POST is not repeated within the step.
    let posts = h
        .service
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/rows"))
        .count();
    ensure!(posts == 2, "{posts} rows requests");
    Ok(())
}

#[test]
fn deeply_nested_json_is_an_input_error_not_a_stack_overflow() -> Result<()> {
    // serde_json stops at 128 levels; the component's 128 KiB stack must hold that much
    // nesting (the guest would trap otherwise).
    let h = Harness::new()?;
    for depth in [100, 127, 128, 129, 5000] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let row = format!(r#"[{{"a":{nested}}}]"#);
        let invocation = h.run(
            "create-rows",
            json!({"dataset-id": ID, "table-name": "T", "rows": row}),
        )?;
        let columns = h.run(
            "create-dataset",
            json!({"dataset-name": "D", "table-name": "T", "columns": nested}),
        )?;
        ensure!(
            columns.result.as_ref().err().map(|e| e.input.as_deref()) == Some(Some("columns")),
            "depth {depth}: {:?}",
            columns.result
        );
        // A row nested within the limit is sent (and refused by the service, which does
        // not know the dataset); beyond it, the input is refused. Neither traps.
        match &invocation.result {
            Ok(_) => {}
            Err(e) => ensure!(
                e.kind == pbi_host::ErrorKind::NotFound || e.input.as_deref() == Some("rows"),
                "depth {depth}: {e:?}"
            ),
        }
    }
    Ok(())
}

/// A push the host stops at its call limit (the service holds a batch's answer past it) still
/// says what landed: the host's error carries the last progress the action reported, which
/// names the rows the service had acknowledged, and those are the rows in the table.
#[test]
fn a_push_stopped_at_the_call_limit_says_which_rows_were_acknowledged() -> Result<()> {
    let mut h = Harness::with_config(ServiceConfig {
        rows_requests_per_minute: 0,
        ..Default::default()
    })?;
    let mut config = h.connector.config().clone();
    config.call_timeout = Duration::from_secs(2);
    h.connector.set_config(config);
    let id = h.create_dataset("T", sales_columns())?;
    // Two batches pass; the third one's answer comes long after the call limit.
    h.service
        .inject(Fault::delay(Duration::ZERO).on_path("/rows").times(2));
    h.service.inject(
        Fault::delay(Duration::from_secs(20))
            .on_path("/rows")
            .times(1),
    );
    let outcome = h.connector.invoke(
        "create-rows",
        &h.connection(),
        &json!({"dataset-id": id, "table-name": "T", "rows": sales_rows(25_000)}),
    );
    let Err(pbi_host::HostError::Call {
        message, progress, ..
    }) = outcome
    else {
        bail!("expected the call limit to stop the push, got {outcome:?}");
    };
    ensure!(message.contains("call limit"), "{message}");
    let progress = progress.context("the error carries the last progress")?;
    ensure!(
        progress.done == 20_000 && progress.total == Some(25_000),
        "{progress:?}"
    );
    ensure!(
        message.contains("20000 of 25000 rows sent"),
        "the message names it: {message}"
    );
    let stored = h.service.table_rows(&id, "T").context("rows")?.len();
    ensure!(
        stored == 20_000,
        "the acknowledged rows are the table's ({stored})"
    );
    Ok(())
}

/// A push whose connection is refused (nothing listens there) is sent again, as a request
/// that never left may be whatever its method, and then reported as certainly not stored.
#[test]
fn a_refused_connection_is_sent_again_and_reported_as_not_stored() -> Result<()> {
    let h = Harness::new()?;
    // A port that was just free: nothing listens on it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let base: url::Url = format!("http://{closed}").parse()?;
    let connector = pbi_host::Connector::load(
        pbi_component::connector_wasm(),
        pbi_host::HostConfig::default().redirect("api.powerbi.com", base),
    )?;
    let invocation = connector.invoke(
        "create-rows",
        &h.connection(),
        &json!({
            "dataset-id": "cfafbeb1-8037-4d0c-896e-a46fb27ff229",
            "table-name": "T",
            "rows": sales_rows(3),
        }),
    )?;
    let e = invocation
        .result
        .err()
        .context("nothing listens: the push fails")?;
    ensure!(e.kind == pbi_host::ErrorKind::Transport, "{e}");
    ensure!(
        e.message.contains("refused the connection"),
        "{}",
        e.message
    );
    ensure!(
        invocation.requests.len() == 4,
        "the POST was sent again three times: {:?}",
        invocation.requests
    );
    let progress = e.progress.context("progress")?;
    ensure!(
        progress["failed"] == json!({"from": 0, "to": 2}),
        "{progress}"
    );
    ensure!(progress["maybeStored"].is_null(), "{progress}");
    ensure!(
        e.message
            .contains("no rows of 3 were stored; rows from 0 on were not: resume with Start Row 0"),
        "{}",
        e.message
    );
    Ok(())
}
