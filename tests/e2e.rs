//! Every action end to end: the component under wasmtime, through the generic host, against
//! the local Power BI service. Each test asserts the service's state afterwards, and that
//! every request sent validates against Microsoft's swagger.
//!
//! Each action's test is named as the action (`create_rows` for `create-rows`), and
//! `foreach_action!(assert_test_exists)` makes a missing one a compile error.

mod common;

use anyhow::{Context, Result, ensure};
use common::{Harness, fast_service, sales_columns, sales_rows};
use serde_json::{Value, json};

// An action of the WIT without its end-to-end test below is a compile error: the build of
// `pbi-component` lists the exported actions (the way wasmtime's test-programs do it).
macro_rules! assert_test_exists {
    ($action:ident) => {
        #[expect(unused_imports, reason = "only checks that the test exists")]
        use self::$action as _;
    };
}
pbi_component::foreach_action!(assert_test_exists);

/// Every action's sample inputs (its fixture) run as they are, each on a service holding a
/// fresh push dataset with the fixtures' table; each request validates against the swagger.
#[test]
fn every_fixture_runs() -> Result<()> {
    let h = Harness::new()?;
    for action in pbi_component::EXPORTED_ACTIONS {
        let id = h.create_dataset("Sales", sales_columns())?;
        let inputs = h.sample(action, &id)?;
        h.ok(action, inputs)
            .with_context(|| format!("the fixture of {action}"))?;
    }
    h.check_swagger()
}

/// Every action that takes a workspace, run from its fixture inside a workspace: each request
/// goes under `/groups/{id}` (and validates against the swagger as the group operation), and
/// what it creates or changes is in that workspace, not in My Workspace.
#[test]
fn every_workspace_action_works_in_a_group() -> Result<()> {
    let h = Harness::new()?;
    let group = h.service.add_group("Sales Team");
    h.service.add_report(Some(&group), "Team Report", None);
    let in_group = |action: &str, id: &str| -> Result<Value> {
        let inputs = h.sample_in(action, id, Some(&group))?;
        h.ok(action, inputs)
            .with_context(|| format!("{action} in the workspace"))
    };
    let created = in_group("create-dataset", "")?;
    ensure!(created["id"].is_string(), "{created}");
    ensure!(
        h.service.datasets(None).is_empty(),
        "created in My Workspace"
    );
    ensure!(h.service.datasets(Some(&group)).len() == 1);
    let mut ran = vec!["create-dataset"];
    for action in pbi_component::EXPORTED_ACTIONS {
        let takes_workspace = h
            .connector
            .action(action)
            .is_some_and(|a| a.input("workspace").is_some());
        if !takes_workspace || *action == "create-dataset" {
            continue;
        }
        // Each action on a dataset of its own in the workspace (one deletes its dataset).
        let fresh = in_group("create-dataset", "")?;
        let id = fresh["id"].as_str().context("the new dataset's id")?;
        let out = in_group(action, id)?;
        match *action {
            "create-rows" => ensure!(
                h.service.table_rows(id, "Sales").map(|r| r.len()) == Some(2),
                "{out}"
            ),
            // The export fixture added a report of its own.
            "list-reports" => ensure!(
                out["value"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|r| r["name"] == "Team Report")),
                "{out}"
            ),
            "list-tables" => {
                ensure!(
                    out["value"].as_array().is_some_and(|v| v.len() == 1),
                    "{action}: {out}"
                )
            }
            "list-datasets" => ensure!(
                out["value"].as_array().is_some_and(|v| !v.is_empty()),
                "{action}: {out}"
            ),
            "delete-dataset" => ensure!(
                h.service
                    .datasets(Some(&group))
                    .iter()
                    .all(|d| d["id"] != id),
                "{out}"
            ),
            "get-dataset" => ensure!(out["id"] == id, "{out}"),
            _ => {}
        }
        ran.push(action);
    }
    ensure!(ran.len() == 15, "ran {ran:?}");
    let requests = h.service.requests();
    ensure!(
        requests
            .iter()
            .all(|r| r.path.starts_with(&format!("/v1.0/myorg/groups/{group}/"))),
        "{:?}",
        requests.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    h.check_swagger()
}

/// A workspace that is not an ID is refused before anything is sent; one that does not
/// exist (or that the user cannot see) is a not-found error that names it.
#[test]
fn bad_and_unknown_workspaces() -> Result<()> {
    let h = Harness::new()?;
    let e = h.err("list-datasets", json!({"workspace": "Sales Team"}))?;
    ensure!(
        e.kind == pbi_host::ErrorKind::InvalidInput && e.input.as_deref() == Some("workspace"),
        "{e:?}"
    );
    ensure!(h.service.requests().is_empty());
    let unknown = "f089354e-8366-4e18-aea3-4cb4a3a50b48";
    let e = h.err("list-datasets", json!({"workspace": unknown}))?;
    ensure!(e.kind == pbi_host::ErrorKind::NotFound, "{e:?}");
    ensure!(e.message.contains(unknown), "{e:?}");
    // Empty means My Workspace.
    h.ok("list-datasets", json!({"workspace": ""}))?;
    ensure!(
        h.service
            .requests()
            .last()
            .is_some_and(|r| r.path == "/v1.0/myorg/datasets")
    );
    Ok(())
}

#[test]
fn get_dataset() -> Result<()> {
    let h = Harness::new()?;
    let id = h.create_dataset("Sales", sales_columns())?;
    let model = h.service.add_dataset(None, "Model", false, json!([]));
    let out = h.ok("get-dataset", json!({"dataset-id": id}))?;
    ensure!(out["id"] == id.as_str() && out["name"] == "E2E", "{out}");
    // Any dataset, not only push ones.
    let out = h.ok("get-dataset", json!({"dataset-id": model}))?;
    ensure!(out["addRowsAPIEnabled"] == false, "{out}");
    let e = h.err(
        "get-dataset",
        json!({"dataset-id": "cfafbeb1-8037-4d0c-896e-a46fb27ff229"}),
    )?;
    ensure!(e.kind == pbi_host::ErrorKind::NotFound, "{e:?}");
    h.check_swagger()
}

#[test]
fn delete_dataset() -> Result<()> {
    let h = Harness::new()?;
    let keep = h.create_dataset("Keep", sales_columns())?;
    let id = h.create_dataset("Sales", sales_columns())?;
    let out = h.ok("delete-dataset", json!({"dataset-id": id}))?;
    ensure!(out == json!({"datasetId": id, "deleted": true}), "{out}");
    let left: Vec<Value> = h.service.datasets(None);
    ensure!(
        left.len() == 1 && left[0]["id"] == keep.as_str(),
        "{left:?}"
    );
    // Deleting it again: it is gone.
    let e = h.err("delete-dataset", json!({"dataset-id": id}))?;
    ensure!(e.kind == pbi_host::ErrorKind::NotFound, "{e:?}");
    h.check_swagger()
}

/// A model (non-push) dataset in `group` that the emulator can refresh and query.
fn model_dataset(h: &Harness, group: Option<&str>) -> String {
    h.service.add_dataset(
        group,
        "Sales Model",
        false,
        json!([{"name": "Sales", "columns": [{"name": "Id", "dataType": "Int64"}]}]),
    )
}

#[test]
fn refresh_dataset() -> Result<()> {
    let h = Harness::new()?;
    // Started without waiting: accepted, and the service's history has it in progress.
    let model = model_dataset(&h, None);
    let out = h.ok("refresh-dataset", json!({"dataset-id": model}))?;
    let history = h.service.refreshes(&model);
    ensure!(out["status"] == "Accepted" && history.len() == 1, "{out}");
    ensure!(
        out["requestId"] == history[0]["requestId"],
        "{out} {history:?}"
    );
    // A second one while it runs is explained.
    let e = h.err("refresh-dataset", json!({"dataset-id": model}))?;
    ensure!(
        e.message
            .starts_with("a refresh of this dataset is already in progress"),
        "{e:?}"
    );

    // Waiting: followed through the history to its end, with its times.
    let model = model_dataset(&h, None);
    let out = h.ok(
        "refresh-dataset",
        json!({"dataset-id": model, "wait-for-completion": true, "notify-option": "MailOnFailure"}),
    )?;
    ensure!(
        out["status"] == "Completed" && out["datasetId"] == model.as_str(),
        "{out}"
    );
    ensure!(
        out["startTime"].is_string() && out["endTime"].is_string(),
        "{out}"
    );

    // A failed refresh quotes the service's error code.
    let failing = model_dataset(&h, None);
    h.service
        .fail_refreshes(&failing, "ModelRefreshFailed_CredentialsNotSpecified");
    let e = h.err(
        "refresh-dataset",
        json!({"dataset-id": failing, "wait-for-completion": true}),
    )?;
    ensure!(
        e.code.as_deref() == Some("ModelRefreshFailed_CredentialsNotSpecified"),
        "{e:?}"
    );
    ensure!(
        e.progress
            .as_ref()
            .is_some_and(|p| p.to_string().contains("Failed")),
        "{e:?}"
    );

    // A push dataset is refused from the dataset itself: no refresh is asked for.
    let push = h.create_dataset("Sales", sales_columns())?;
    h.service.clear_requests();
    let e = h.err("refresh-dataset", json!({"dataset-id": push}))?;
    ensure!(
        e.input.as_deref() == Some("dataset-id") && e.message.contains("push dataset"),
        "{e:?}"
    );
    ensure!(h.service.requests().iter().all(|r| r.method == "GET"));
    h.check_swagger()
}

#[test]
fn refresh_dataset_limits_and_timeout() -> Result<()> {
    // Shared capacity's daily limit, made small.
    let h = Harness::with_config(pbi_service::ServiceConfig {
        refreshes_per_day: 2,
        ..fast_service()
    })?;
    let model = model_dataset(&h, None);
    let wait = json!({"dataset-id": model, "wait-for-completion": true});
    for _ in 0..2 {
        h.ok("refresh-dataset", wait.clone())?;
    }
    let e = h.err("refresh-dataset", wait)?;
    ensure!(e.kind == pbi_host::ErrorKind::Throttled, "{e:?}");
    ensure!(e.message.contains("today's refreshes"), "{e:?}");

    // A refresh that outlasts the Wait Timeout: a timeout that says it goes on.
    let h = Harness::with_config(pbi_service::ServiceConfig {
        refresh_duration: std::time::Duration::from_secs(600),
        poll_retry_after: Some(1),
        ..fast_service()
    })?;
    let model = model_dataset(&h, None);
    let e = h.err(
        "refresh-dataset",
        json!({"dataset-id": model, "wait-for-completion": true, "wait-timeout": 1}),
    )?;
    ensure!(e.kind == pbi_host::ErrorKind::Timeout, "{e:?}");
    ensure!(e.message.contains("Get Refresh History"), "{e:?}");
    ensure!(
        e.progress
            .as_ref()
            .is_some_and(|p| p.to_string().contains("Unknown")),
        "{e:?}"
    );
    Ok(())
}

#[test]
fn get_refresh_history() -> Result<()> {
    let h = Harness::new()?;
    let group = h.service.add_group("Team");
    let model = model_dataset(&h, Some(&group));
    for _ in 0..2 {
        h.ok(
            "refresh-dataset",
            json!({"workspace": group, "dataset-id": model, "wait-for-completion": true}),
        )?;
    }
    let all = h.ok(
        "get-refresh-history",
        json!({"workspace": group, "dataset-id": model}),
    )?;
    let entries = all["value"].as_array().context("value")?;
    ensure!(entries.len() == 2, "{all}");
    ensure!(entries.iter().all(|e| e["status"] == "Completed"), "{all}");
    let one = h.ok(
        "get-refresh-history",
        json!({"workspace": group, "dataset-id": model, "top": 1}),
    )?;
    ensure!(one["value"].as_array().map(Vec::len) == Some(1), "{one}");
    ensure!(one["value"][0] == entries[0], "newest first: {one} {all}");
    let e = h.err(
        "get-refresh-history",
        json!({"dataset-id": model, "top": 61}),
    )?;
    ensure!(e.input.as_deref() == Some("top"), "{e:?}");
    h.check_swagger()
}

#[test]
fn execute_dax_query() -> Result<()> {
    let h = Harness::new()?;
    let id = h.create_dataset("Sales", sales_columns())?;
    h.ok(
        "create-rows",
        json!({"dataset-id": id, "table-name": "Sales", "rows": [
            {"Id": 1, "Region": "West", "Amount": 10.5},
            {"Id": 2, "Region": "East", "Amount": 20.0},
            {"Id": 3, "Region": "West"},
        ]}),
    )?;
    let count = h.ok(
        "execute-dax-query",
        json!({"dataset-id": id, "query": "EVALUATE ROW(\"Rows\", COUNTROWS('Sales'))"}),
    )?;
    ensure!(count["rows"] == json!([{"[Rows]": 3}]), "{count}");
    ensure!(
        count["raw"]["results"][0]["tables"][0]["rows"] == count["rows"],
        "{count}"
    );
    // Columns come back qualified, as the service names them; blanks only when asked.
    let query = "EVALUATE FILTER('Sales', 'Sales'[Region] = \"West\")";
    let west = h.ok(
        "execute-dax-query",
        json!({"dataset-id": id, "query": query}),
    )?;
    let rows = west["rows"].as_array().context("rows")?;
    ensure!(rows.len() == 2 && rows[0]["Sales[Id]"] == 1, "{west}");
    ensure!(rows[1].get("Sales[Amount]").is_none(), "{west}");
    let nulls = h.ok(
        "execute-dax-query",
        json!({"dataset-id": id, "query": query, "include-nulls": true}),
    )?;
    ensure!(nulls["rows"][1]["Sales[Amount]"].is_null(), "{nulls}");
    ensure!(nulls["rows"][1].get("Sales[Amount]").is_some(), "{nulls}");
    // A DAX error quotes the service.
    let e = h.err(
        "execute-dax-query",
        json!({"dataset-id": id, "query": "EVALUATE 'Nope'"}),
    )?;
    ensure!(
        e.message.starts_with("the DAX query failed: Query ("),
        "{e:?}"
    );
    ensure!(e.message.contains("Nope"), "{e:?}");
    ensure!(e.status == Some(400), "{e:?}");
    h.check_swagger()
}

#[test]
fn execute_dax_query_limits_are_errors() -> Result<()> {
    let h = Harness::with_config(pbi_service::ServiceConfig {
        max_query_rows: 2,
        ..fast_service()
    })?;
    let id = h.create_dataset("Sales", sales_columns())?;
    h.ok(
        "create-rows",
        json!({"dataset-id": id, "table-name": "Sales", "rows": sales_rows(3)}),
    )?;
    let e = h.err(
        "execute-dax-query",
        json!({"dataset-id": id, "query": "EVALUATE 'Sales'"}),
    )?;
    ensure!(e.message.contains("More than 2 rows"), "{e:?}");
    ensure!(e.message.contains("none is returned"), "{e:?}");
    let two = h.err(
        "execute-dax-query",
        json!({"dataset-id": id, "query": "EVALUATE TOPN(1, 'Sales') EVALUATE TOPN(1, 'Sales')"}),
    )?;
    ensure!(
        two.message.contains("More than one result table"),
        "{two:?}"
    );
    Ok(())
}

#[test]
fn export_report_to_file() -> Result<()> {
    let h = Harness::new()?;
    let group = h.service.add_group("Premium Team");
    h.service.set_dedicated_capacity(&group, true);
    let report = h.service.add_report(Some(&group), "Quarterly Sales", None);
    for (format, content_type, magic, extension) in [
        ("PDF", "application/pdf", &b"%PDF-"[..], ".pdf"),
        (
            "PPTX",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            &b"PK\x03\x04"[..],
            ".pptx",
        ),
        ("PNG", "image/png", &b"\x89PNG\r\n\x1a\n"[..], ".png"),
    ] {
        let invocation = h.run(
            "export-report-to-file",
            json!({"workspace": group, "report-id": report, "format": format}),
        )?;
        let output = invocation
            .result
            .map_err(|e| anyhow::anyhow!("{format}: {e:?}"))?;
        let http = output.http.context("the file")?;
        ensure!(
            http.content_type.as_deref() == Some(content_type),
            "{:?}",
            http.content_type
        );
        let body = http.body.context("the file's bytes")?;
        ensure!(body.starts_with(magic), "{format}: not a {format} file");
        let data = output.data;
        ensure!(
            data["fileName"] == format!("Quarterly Sales{extension}"),
            "{data}"
        );
        ensure!(data["size"] == body.len(), "{data}");
    }
    // My Workspace is shared capacity: export is refused, and said why.
    let mine = h.service.add_report(None, "Mine", None);
    let e = h.err("export-report-to-file", json!({"report-id": mine}))?;
    ensure!(e.kind == pbi_host::ErrorKind::Forbidden, "{e:?}");
    ensure!(
        e.message.contains("Premium, Embedded or Fabric capacity"),
        "{e:?}"
    );
    // A failed export.
    h.service.fail_exports(&report);
    let e = h.err(
        "export-report-to-file",
        json!({"workspace": group, "report-id": report}),
    )?;
    ensure!(e.message.contains("could not export"), "{e:?}");
    h.check_swagger()
}

#[test]
fn list_dashboards() -> Result<()> {
    let h = Harness::new()?;
    let group = h.service.add_group("Team");
    for i in 0..3 {
        h.service.add_dashboard(None, &format!("Mine {i}"));
    }
    h.service.add_dashboard(Some(&group), "Team Board");
    let out = h.ok("list-dashboards", json!({"top": 1, "page-offset": 1}))?;
    let names: Vec<&str> = out["value"]
        .as_array()
        .context("value")?
        .iter()
        .filter_map(|d| d["displayName"].as_str())
        .collect();
    ensure!(names == ["Mine 1"], "{out}");
    let out = h.ok("list-dashboards", json!({"workspace": group}))?;
    ensure!(out["value"][0]["displayName"] == "Team Board", "{out}");
    h.check_swagger()
}

#[test]
fn list_imports() -> Result<()> {
    let h = Harness::new()?;
    let out = h.ok("list-imports", json!({}))?;
    ensure!(out["value"].as_array().is_some_and(Vec::is_empty), "{out}");
    // An import made through Raw Request's multipart upload is listed.
    h.ok(
        "raw-request",
        json!({
            "method": "POST",
            "query-params": {"datasetDisplayName": "Upload"},
            "file-data": {"file": "PBIX-BYTES"},
            "file-data-file-names": {"file": "upload.pbix"},
        }),
    )?;
    let out = h.ok("list-imports", json!({"top": 5}))?;
    ensure!(
        out["value"].as_array().is_some_and(|v| v.len() == 1),
        "{out}"
    );
    h.check_swagger()
}

#[test]
fn create_dataset() -> Result<()> {
    let h = Harness::new()?;
    let columns = json!([
        {"name": "Id", "dataType": "int64"},
        {"name": "Flag", "dataType": "bool"},
        {"name": "Price", "dataType": "DECIMAL", "formatString": "0.00"},
    ]);
    let out = h.ok(
        "create-dataset",
        json!({"dataset-name": "Sales", "table-name": "Orders #1", "columns": columns}),
    )?;
    let id = out["id"].as_str().context("id")?;
    ensure!(out["name"] == "Sales", "{out}");
    let stored = h
        .service
        .table_columns(id, "Orders #1")
        .context("the table exists on the service")?;
    let types: Vec<&str> = stored
        .iter()
        .filter_map(|c| c["dataType"].as_str())
        .collect();
    ensure!(types == ["Int64", "Boolean", "Decimal"], "{stored:?}");
    ensure!(h.service.datasets(None).len() == 1);
    h.check_swagger()
}

#[test]
fn create_rows() -> Result<()> {
    let h = Harness::new()?;
    let id = h.create_dataset("Sales West", sales_columns())?;
    let out = h.ok(
        "create-rows",
        json!({"dataset-id": id, "table-name": "Sales West", "rows": sales_rows(25_000)}),
    )?;
    ensure!(out["rowsSent"] == 25_000 && out["requests"] == 3, "{out}");
    let rows = h.service.table_rows(&id, "Sales West").context("rows")?;
    ensure!(rows.len() == 25_000, "{} rows stored", rows.len());
    ensure!(
        rows[0]["Id"] == 0 && rows[24_999]["Id"] == 24_999,
        "rows kept in order"
    );
    // The `{"rows": [...]}` form of the input works too, given as JSON text.
    let wrapped = json!({"rows": sales_rows(2)}).to_string();
    h.ok(
        "create-rows",
        json!({"dataset-id": id, "table-name": "Sales West", "rows": wrapped}),
    )?;
    ensure!(
        h.service
            .table_rows(&id, "Sales West")
            .context("rows")?
            .len()
            == 25_002
    );
    let posts = h
        .service
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/rows"))
        .count();
    ensure!(posts == 4, "{posts} row requests");
    h.check_swagger()
}

#[test]
fn delete_rows() -> Result<()> {
    let h = Harness::new()?;
    let id = h.create_dataset("T", sales_columns())?;
    h.ok(
        "create-rows",
        json!({"dataset-id": id, "table-name": "T", "rows": sales_rows(10)}),
    )?;
    ensure!(h.service.table_rows(&id, "T").context("rows")?.len() == 10);
    let out = h.ok("delete-rows", json!({"dataset-id": id, "table-name": "T"}))?;
    ensure!(out["deleted"] == true, "{out}");
    ensure!(h.service.table_rows(&id, "T").context("rows")?.is_empty());
    h.check_swagger()
}

#[test]
fn list_datasets() -> Result<()> {
    let h = Harness::new()?;
    for i in 0..5 {
        h.service
            .add_dataset(None, &format!("D{i}"), true, json!([]));
    }
    let out = h.ok("list-datasets", json!({"top": 2, "page-offset": 1}))?;
    let names: Vec<&str> = out["value"]
        .as_array()
        .context("value")?
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    ensure!(names == ["D1", "D2"], "{names:?}");
    ensure!(
        out.get("@odata.context").is_some(),
        "the envelope is kept: {out}"
    );
    let all = h.ok("list-datasets", json!({}))?;
    ensure!(all["value"].as_array().map(Vec::len) == Some(5));
    h.check_swagger()
}

#[test]
fn list_groups() -> Result<()> {
    let h = Harness::new()?;
    for i in 0..5 {
        h.service.add_group(&format!("G{i}"));
    }
    let out = h.ok("list-groups", json!({"top": 2, "page-offset": 3}))?;
    let names: Vec<&str> = out["value"]
        .as_array()
        .context("value")?
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    ensure!(names == ["G3", "G4"], "{names:?}");
    let sent = h.service.requests();
    let query = sent
        .last()
        .and_then(|r| r.query.clone())
        .unwrap_or_default();
    ensure!(
        query.contains("top=2") && query.contains("skip=3"),
        "paged on the server: {query}"
    );
    h.check_swagger()
}

#[test]
fn list_reports() -> Result<()> {
    let h = Harness::new()?;
    for i in 0..3 {
        h.service.add_report(None, &format!("R{i}"), None);
    }
    let out = h.ok("list-reports", json!({"top": 1000, "page-offset": 2}))?;
    let names: Vec<&str> = out["value"]
        .as_array()
        .context("value")?
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    ensure!(names == ["R2"], "{names:?}");
    h.check_swagger()
}

#[test]
fn list_tables() -> Result<()> {
    let h = Harness::new()?;
    let id = h.service.add_dataset(
        None,
        "Multi",
        true,
        json!([
            {"name": "A", "columns": [{"name": "x", "dataType": "String"}]},
            {"name": "B", "columns": [{"name": "x", "dataType": "String"}]},
            {"name": "C", "columns": [{"name": "x", "dataType": "String"}]},
        ]),
    );
    let out = h.ok(
        "list-tables",
        json!({"dataset-id": id, "top": 1, "page-offset": 1}),
    )?;
    let names: Vec<&str> = out["value"]
        .as_array()
        .context("value")?
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    ensure!(names == ["B"], "{names:?}");
    let e = h.err(
        "list-tables",
        json!({"dataset-id": "cfafbeb1-8037-4d0c-896e-a46fb27ff229"}),
    )?;
    ensure!(
        e.kind == pbi_host::ErrorKind::NotFound
            && e.code.as_deref() == Some("PowerBIEntityNotFound"),
        "{e:?}"
    );
    h.check_swagger()
}

#[test]
fn update_table() -> Result<()> {
    let h = Harness::new()?;
    let id = h.create_dataset("Sales", sales_columns())?;
    let columns = json!([
        {"name": "Id", "dataType": "Int64"},
        {"name": "Region", "dataType": "String"},
        {"name": "Amount", "dataType": "Double"},
        {"name": "When", "dataType": "datetime"},
    ]);
    h.ok(
        "update-table",
        json!({"dataset-id": id, "table-name": "Sales", "columns": columns}),
    )?;
    let stored = h.service.table_columns(&id, "Sales").context("columns")?;
    let names: Vec<&str> = stored.iter().filter_map(|c| c["name"].as_str()).collect();
    ensure!(names == ["Id", "Region", "Amount", "When"], "{names:?}");
    ensure!(stored[3]["dataType"] == "DateTime");
    h.check_swagger()
}

#[test]
fn raw_request() -> Result<()> {
    let h = Harness::new()?;
    h.service.add_dataset(None, "Raw", true, json!([]));
    let invocation = h.run(
        "raw-request",
        json!({"url": "/datasets", "method": "GET", "debug-request": true}),
    )?;
    let output = invocation
        .result
        .clone()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    ensure!(
        output.data["value"][0]["name"] == "Raw",
        "{:?}",
        output.data
    );
    let http = output.http.context("raw request reports HTTP details")?;
    ensure!(http.status == 200);
    ensure!(
        invocation
            .logs
            .contains("[debug] request: GET https://api.powerbi.com/v1.0/myorg/datasets"),
        "{}",
        invocation.logs
    );
    ensure!(invocation.logs.contains("authorization: Bearer [redacted]"));
    // A multipart upload to the default URL (/imports) keeps its multipart Content-Type.
    let out = h.ok(
        "raw-request",
        json!({
            "method": "POST",
            "query-params": {"datasetDisplayName": "Upload"},
            "file-data": {"file": "PBIX-BYTES"},
            "file-data-file-names": {"file": "upload.pbix"},
        }),
    )?;
    ensure!(out.get("id").is_some(), "an import was created: {out}");
    let upload = h
        .service
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/imports"))
        .context("upload")?;
    let ct = upload
        .headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    ensure!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
    ensure!(String::from_utf8_lossy(&upload.body).contains("filename=\"upload.pbix\""));
    // An absolute URL is refused before anything is sent.
    let before = h.service.requests().len();
    let e = h.err(
        "raw-request",
        json!({"url": "https://evil.example/x", "method": "GET"}),
    )?;
    ensure!(
        e.kind == pbi_host::ErrorKind::InvalidInput && e.input.as_deref() == Some("url"),
        "{e:?}"
    );
    ensure!(h.service.requests().len() == before, "no request was sent");
    h.check_swagger()
}

#[test]
fn expired_token_is_reported_as_token_expired() -> Result<()> {
    let h = Harness::new()?;
    h.service.expire_token(&h.token);
    let e = h.err("list-datasets", json!({}))?;
    ensure!(
        e.kind == pbi_host::ErrorKind::TokenExpired && e.status == Some(403),
        "{e:?}"
    );
    Ok(())
}

#[test]
fn service_errors_keep_status_and_code() -> Result<()> {
    let h = Harness::new()?;
    h.service.inject(
        pbi_service::Fault::status(500, "plain text failure")
            .on_path("/reports")
            .times(10),
    );
    let e = h.err("list-reports", json!({}))?;
    ensure!(
        e.kind == pbi_host::ErrorKind::Service && e.status == Some(500),
        "{e:?}"
    );
    ensure!(e.message.contains("plain text failure"), "{}", e.message);
    // The default policy retried the idempotent GET before giving up.
    let attempts = h
        .service
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/reports"))
        .count();
    ensure!(attempts == 4, "{attempts} attempts");
    Ok(())
}

#[test]
fn throttled_rows_are_retried_and_none_are_lost() -> Result<()> {
    let h = Harness::new()?;
    let id = h.create_dataset("T", sales_columns())?;
    h.service
        .inject(pbi_service::Fault::throttled(1).on_path("/rows").times(1));
    let out = h.ok(
        "create-rows",
        json!({"dataset-id": id, "table-name": "T", "rows": sales_rows(15_000)}),
    )?;
    ensure!(out["rowsSent"] == 15_000, "{out}");
    ensure!(h.service.table_rows(&id, "T").context("rows")?.len() == 15_000);
    Ok(())
}

#[test]
fn bad_inputs_send_nothing() -> Result<()> {
    let h = Harness::new()?;
    let id = "cfafbeb1-8037-4d0c-896e-a46fb27ff229";
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "create-dataset",
            json!({"dataset-name": "x", "table-name": "t", "columns": "[{\"name\":\"a\",\"dataType\":\"Text\"}]"}),
            "columns",
        ),
        (
            "create-dataset",
            json!({"dataset-name": "x", "table-name": "a.b", "columns": sales_columns()}),
            "table-name",
        ),
        (
            "create-rows",
            json!({"dataset-id": "nope", "table-name": "t", "rows": []}),
            "dataset-id",
        ),
        (
            "create-rows",
            json!({"dataset-id": id, "table-name": "t", "rows": "[1,2]"}),
            "rows",
        ),
        ("list-datasets", json!({"top": 0}), "top"),
        ("list-groups", json!({"page-offset": -1}), "page-offset"),
        (
            "raw-request",
            json!({"url": "//evil.example", "method": "GET"}),
            "url",
        ),
        (
            "raw-request",
            json!({"url": "/x", "method": "GET", "data": "{}", "form-data": {"a": "b"}}),
            "data",
        ),
    ];
    for (action, inputs, key) in cases {
        let e = h.err(action, inputs.clone())?;
        ensure!(
            e.kind == pbi_host::ErrorKind::InvalidInput,
            "{action} {inputs}: {e:?}"
        );
        ensure!(e.input.as_deref() == Some(key), "{action} {inputs}: {e:?}");
    }
    ensure!(
        h.service.requests().is_empty(),
        "no request reached the service"
    );
    Ok(())
}

/// What an action reports while it runs reaches the engine's callback: rows sent of total,
/// a refresh's status while it waits, an export's percent complete.
#[test]
fn progress_is_reported() -> Result<()> {
    use std::sync::{Arc, Mutex};
    let h = Harness::new()?;
    let run = |action: &str, inputs: Value| -> Result<Vec<pbi_host::Progress>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let invocation = h.connector.invoke_with_progress(
            action,
            &h.connection(),
            inputs,
            move |p: &pbi_host::Progress| sink.lock().unwrap().push(p.clone()),
        )?;
        ensure!(
            invocation.result.is_ok(),
            "{action}: {:?}",
            invocation.result
        );
        let seen = seen.lock().unwrap().clone();
        Ok(seen)
    };
    let id = h.create_dataset("Sales", sales_columns())?;
    let rows = run(
        "create-rows",
        json!({"dataset-id": id, "table-name": "Sales", "rows": sales_rows(25_000)}),
    )?;
    let done: Vec<(u64, Option<u64>)> = rows.iter().map(|p| (p.done, p.total)).collect();
    ensure!(
        done == [
            (10_000, Some(25_000)),
            (20_000, Some(25_000)),
            (25_000, Some(25_000))
        ],
        "{rows:?}"
    );
    ensure!(rows.iter().all(|p| p.status == "rows sent"), "{rows:?}");

    let model = model_dataset(&h, None);
    let refresh = run(
        "refresh-dataset",
        json!({"dataset-id": model, "wait-for-completion": true}),
    )?;
    ensure!(
        refresh
            .iter()
            .any(|p| p.status.starts_with("refresh Unknown")),
        "{refresh:?}"
    );
    ensure!(
        refresh
            .last()
            .is_some_and(|p| p.status.starts_with("refresh Completed")),
        "{refresh:?}"
    );

    let group = h.service.add_group("Premium");
    h.service.set_dedicated_capacity(&group, true);
    let report = h.service.add_report(Some(&group), "Board", None);
    let export = run(
        "export-report-to-file",
        json!({"workspace": group, "report-id": report}),
    )?;
    ensure!(
        export
            .first()
            .is_some_and(|p| p.status == "export NotStarted" && p.done == 0),
        "{export:?}"
    );
    ensure!(
        export
            .last()
            .is_some_and(|p| p.status == "export Succeeded" && p.done == 100),
        "{export:?}"
    );
    Ok(())
}
