//! A short soak with a high fault rate: no row lost or duplicated, every failed push's
//! report of what landed matches the service, and every kind of fault was injected, met by
//! a request and survived.

use std::time::Duration;

use pbi_soak::{Options, run};

#[test]
fn a_short_soak_loses_and_duplicates_nothing_under_every_kind_of_fault() {
    let report = run(Options {
        duration: Duration::from_secs(12),
        workers: 4,
        // About one fault for every two requests.
        fault_rate: 12.0,
        // Short, so that the slow reads made to go beyond it cost little of the test, and
        // long enough for a push that meets several faults (each 429 waits a second) in a
        // debug build on a busy machine.
        call_timeout: Duration::from_secs(8),
        max_rows_per_push: 25_000,
        sample_every: Duration::from_millis(250),
        // Resources are compared by the long run (docs/reliability.md): fifteen seconds of
        // a debug build are mostly warm-up, so here they are only sampled.
        rss_tolerance_kib: u64::MAX / 2,
        fd_tolerance: u64::MAX / 2,
        ..Options::default()
    })
    .expect("the soak starts");
    let text = report.text();
    assert!(report.passed, "{text}");
    assert!(report.problems.is_empty(), "{text}");

    let rows = &report.rows;
    assert_eq!(
        (rows.lost, rows.duplicated, rows.unexpected),
        (0, 0, 0),
        "{text}"
    );
    assert!(rows.pushed > 0, "{text}");
    assert_eq!(
        rows.pushed,
        rows.verified + rows.deleted_by_delete_rows,
        "{text}"
    );
    assert!(report.datasets.created > 0, "{text}");
    assert_eq!(report.datasets.created, report.datasets.deleted, "{text}");
    assert_eq!(report.datasets.left, 0, "{text}");

    // Pushes failed halfway, and each report of what landed was checked.
    let landed = &report.landed_reports;
    assert!(landed.checked > 0, "{text}");
    assert_eq!((landed.wrong, landed.missing), (0, 0), "{text}");
    assert!(report.resumed_pushes > 0, "{text}");
    // Batches whose answer was lost were reported as maybe stored, looked for in the table
    // and found (the rows totals above show none was pushed twice).
    assert!(landed.uncertain_stored > 0, "{text}");
    assert!(landed.uncertain >= landed.uncertain_stored, "{text}");
    // Pushes the host stopped at its call limit were checked by the progress its error
    // carried.
    assert!(landed.stopped > 0, "{text}");
    assert!(report.token_renewals > 0, "{text}");
    assert!(report.component_retries > 0, "{text}");

    // Every kind was injected and met by a request (9 kinds).
    assert_eq!(report.faults.len(), 9, "{text}");
    for (kind, figures) in &report.faults {
        assert!(figures.injected > 0, "{kind} never injected\n{text}");
        assert!(figures.hit > 0, "{kind} never met\n{text}");
        assert!(figures.hit <= figures.injected, "{kind}\n{text}");
    }
    // The flows saw them: failed pushes (5xx, resets, expired tokens) and reads stopped at
    // the call limit.
    for kind in [
        "service (500)",
        "service (503)",
        "transport",
        "token-expired (403)",
        "host: call limit",
    ] {
        assert!(
            report.failures.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} failure\n{text}"
        );
    }
    for action in [
        "create-dataset",
        "create-rows",
        "delete-rows",
        "delete-dataset",
        "get-dataset",
        "list-datasets",
    ] {
        assert!(
            report.calls.get(action).copied().unwrap_or(0) > 0,
            "{action} never called\n{text}"
        );
    }

    // The figures are in the text and the JSON.
    let res = &report.resources;
    assert!(
        res.samples > 10 && res.rss_first_kib > 0 && res.fds_first > 0,
        "{text}"
    );
    for figure in [
        "lost 0, duplicated 0",
        "batches maybe stored",
        "resident memory",
        "open fds",
        "token expiry",
    ] {
        assert!(text.contains(figure), "{figure} missing\n{text}");
    }
    let json = serde_json::to_value(&report).expect("JSON");
    assert_eq!(json["rows"]["lost"], 0);
    assert!(
        json["resources"]["series"]
            .as_array()
            .is_some_and(|s| s.len() == res.samples)
    );
    // On glibc the heap in use is counted beside the resident set, well below it (the
    // resident set also holds the compiled component, the code and the threads' stacks).
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert!(res.trimmed, "trimming is the default");
        assert!(
            res.heap_first_kib > 0 && res.heap_first_kib < res.rss_first_max_kib,
            "heap {} KiB, resident {} KiB",
            res.heap_first_kib,
            res.rss_first_max_kib
        );
        assert!(text.contains("heap in use"), "{text}");
        let sample = &json["resources"]["series"][0];
        assert!(sample[3].as_u64().is_some_and(|h| h > 0), "{sample}");
    }
}

/// The ambiguous case, shown once: a batch the service stores but whose answer is lost on
/// the way back. The component cannot tell it from a batch refused before it was applied,
/// and Post Rows has no idempotency key: it reports the batch as maybe stored, with where to
/// resume either way, and asks for the table to be checked (docs/reliability.md).
#[test]
fn a_push_whose_answer_is_lost_is_reported_as_maybe_stored() {
    use pbi_host::{Connector, ErrorKind, HostConfig};
    use pbi_service::{Fault, ServiceConfig, ServiceHandle};
    use serde_json::{Value, json};

    let service = ServiceHandle::spawn(ServiceConfig {
        rows_requests_per_minute: 0,
        ..Default::default()
    })
    .expect("service");
    let config = HostConfig {
        allow_hosts: Some(Vec::new()),
        ..HostConfig::default()
    }
    .redirect("api.powerbi.com", service.base_url().parse().expect("URL"));
    let connector = Connector::load(pbi_component::connector_wasm(), config).expect("load");
    let connection = json!({"access-token": service.issue_token()});
    let created = connector
        .invoke(
            "create-dataset",
            &connection,
            &json!({"dataset-name": "Ambiguous", "table-name": "T",
                    "columns": [{"name": "Id", "dataType": "Int64"}]}),
        )
        .expect("invoked")
        .result
        .expect("created");
    let id = created.data["id"].as_str().expect("id").to_owned();
    // The first batch is answered; the second is stored and its answer lost.
    service.inject(Fault::delay(Duration::ZERO).on_path("/rows"));
    service.inject(Fault::answer_lost().on_path("/rows"));
    let rows: Vec<Value> = (0..25_000).map(|i| json!({"Id": i})).collect();
    let push = |start: u64| {
        connector
            .invoke(
                "create-rows",
                &connection,
                &json!({"dataset-id": id, "table-name": "T", "rows": rows, "start-row": start}),
            )
            .expect("invoked")
    };
    let error = push(0).result.expect_err("the push fails");
    assert_eq!(error.kind, ErrorKind::Transport, "{error}");
    let progress = error.progress.clone().expect("progress");
    assert_eq!(progress["accepted"], json!({"from": 0, "to": 9_999}));
    assert_eq!(progress["failed"], json!({"from": 10_000, "to": 19_999}));
    assert_eq!(
        progress["maybeStored"],
        json!({"from": 10_000, "to": 19_999})
    );
    assert_eq!(progress["resumeFromRow"], 10_000);
    assert_eq!(progress["resumeFromRowIfStored"], 20_000);
    for words in [
        "rows 10000 to 19999 may or may not have been stored",
        "Check the table before resuming",
        "resume with Start Row 10000",
        "resume with Start Row 20000",
    ] {
        assert!(error.message.contains(words), "{words}: {}", error.message);
    }
    assert!(!error.message.contains("were not:"), "{}", error.message);
    // The batch is indeed stored: a careful user finds its last row in the table and goes
    // on from resumeFromRowIfStored; every row then lands exactly once.
    let stored = service.table_column(&id, "T", "Id").expect("table");
    assert_eq!(stored.len(), 20_000);
    assert_eq!(stored.last(), Some(&json!(19_999)));
    let out = push(20_000).result.expect("the rest lands");
    assert_eq!(out.data["rowsSent"], 5_000);
    let ids: Vec<u64> = service
        .table_column(&id, "T", "Id")
        .expect("table")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(ids, (0..25_000).collect::<Vec<u64>>());
}
