//! Every action end to end: the component under wasmtime, through the generic host, against
//! the local Power BI service. Each test asserts the service's state afterwards, and that
//! every request sent validates against Microsoft's swagger.
//!
//! Each action's test is named as the action (`create_rows` for `create-rows`), and
//! `foreach_action!(assert_test_exists)` makes a missing one a compile error.

mod common;

use anyhow::{Context, Result, ensure};
use common::{Harness, sales_columns, sales_rows};
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
        let mut inputs = h.sample(action, id)?;
        inputs["workspace"] = json!(group);
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
            "list-tables" | "list-reports" => {
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
    ensure!(ran.len() == 11, "ran {ran:?}");
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
