//! `pbi flow run` and `pbi demo` against the local service: every example flow, a failing
//! step, a failed check, a partial push resumed, and a flow refused before it sends anything.

use anyhow::{Context, Result, ensure};
use pbi_service::{Fault, FaultKind, ServiceConfig, ServiceHandle};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn pbi(args: &[&str]) -> Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_pbi"))
        .args(args)
        // The user's own settings must not change what the tests see.
        .env_remove("PBI_ACCESS_TOKEN")
        .env_remove("PBI_CLIENT_ID")
        .env_remove("PBI_CLIENT_SECRET")
        .env_remove("PBI_COMPONENT")
        .env_remove("PBI_TOKEN_FILE")
        .env("XDG_CONFIG_HOME", "/nonexistent/pbi-flow-tests")
        .output()
        .context("running pbi")
}

/// A seeded service on which nothing waits (refreshes, exports, polls).
fn service() -> Result<ServiceHandle> {
    ServiceHandle::spawn(ServiceConfig {
        refresh_duration: Duration::ZERO,
        export_step: Duration::ZERO,
        poll_retry_after: Some(0),
        ..ServiceConfig::seeded()
    })
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

/// A file of this test's own in the temporary folder.
fn temp_file(name: &str, text: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("pbi-flow-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Runs `flow` against `service` with `extra` arguments.
fn run_flow(service: &ServiceHandle, flow: &Path, extra: &[&str]) -> Result<Output> {
    let flow = flow.to_string_lossy();
    let url = service.base_url();
    let token = service.issue_token();
    let mut args = vec![
        "flow",
        "run",
        &flow,
        "--service",
        &url,
        "--access-token",
        &token,
    ];
    args.extend_from_slice(extra);
    pbi(&args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs an example with `--output json` and checks that every step passed; its result.
fn run_example(service: &ServiceHandle, name: &str) -> Result<Value> {
    let output = run_flow(service, &example(name), &["--output", "json"])?;
    ensure!(
        output.status.success(),
        "{name} failed:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{name}'s JSON result: {}", text(&output.stdout)))?;
    ensure!(result["ok"] == true, "{result}");
    let steps = result["steps"].as_array().context("steps")?;
    for step in steps {
        ensure!(step["status"] == "ok", "{name}: {step}");
        for check in step["checks"].as_array().context("checks")? {
            ensure!(check["ok"] == true, "{name}: {check}");
        }
    }
    // The lines went to stderr, one per step.
    let lines = text(&output.stderr);
    ensure!(lines.matches(": ok (").count() == steps.len(), "{lines}");
    Ok(result)
}

fn workspace_id(service: &ServiceHandle, name: &str) -> Result<String> {
    service
        .groups()
        .iter()
        .find(|g| g["name"] == name)
        .and_then(|g| g["id"].as_str())
        .map(str::to_string)
        .with_context(|| format!("the {name} workspace"))
}

#[test]
fn the_demo_example_flow_pushes_counts_and_deletes() -> Result<()> {
    let service = service()?;
    let result = run_example(&service, "demo.flow.yaml")?;
    let sales = workspace_id(&service, "Sales")?;
    let created = result["steps"][1]["output"]["id"]
        .as_str()
        .context("the new dataset's id")?;
    ensure!(
        service
            .datasets(Some(&sales))
            .iter()
            .any(|d| d["id"] == created && d["name"] == "Demo Sales"),
        "Demo Sales is not in the Sales workspace"
    );
    // 25,000 rows went in three requests, and Delete Rows emptied the table.
    let posts = service
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/rows"))
        .count();
    assert_eq!(posts, 3);
    assert_eq!(
        service.table_rows(created, "Sales").map(|r| r.len()),
        Some(0)
    );
    assert_eq!(result["steps"][5]["output"]["rows"][0]["[Rows]"], 25000);
    Ok(())
}

#[test]
fn the_workspace_example_flow_leaves_the_workspace_as_it_was() -> Result<()> {
    let service = service()?;
    let finance = workspace_id(&service, "Finance")?;
    let before = service.datasets(Some(&finance)).len();
    let result = run_example(&service, "workspace.flow.yaml")?;
    ensure!(
        result["steps"][3]["output"]["rows"]
            .as_array()
            .map(Vec::len)
            == Some(2)
    );
    assert_eq!(service.datasets(Some(&finance)).len(), before);
    ensure!(
        service
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" && r.path.contains(&finance)),
        "no dataset was deleted in Finance"
    );
    Ok(())
}

#[test]
fn the_refresh_example_flow_waits_for_the_refresh() -> Result<()> {
    let service = service()?;
    let result = run_example(&service, "refresh.flow.yaml")?;
    let model = result["steps"][2]["output"]["datasetId"]
        .as_str()
        .context("the refreshed dataset")?;
    let refreshes = service.refreshes(model);
    ensure!(
        refreshes.iter().any(|r| r["status"] == "Completed"),
        "{refreshes:?}"
    );
    // The flow waited: the history was read until the refresh had ended.
    let reads = service
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/refreshes"))
        .count();
    ensure!(reads >= 2, "the history was read {reads} times");
    Ok(())
}

#[test]
fn the_dax_check_example_flow_checks_the_totals() -> Result<()> {
    let service = service()?;
    let result = run_example(&service, "dax-check.flow.yaml")?;
    let checks: usize = result["steps"]
        .as_array()
        .context("steps")?
        .iter()
        .map(|s| s["checks"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(checks, 4);
    Ok(())
}

#[test]
fn the_demo_command_runs_the_demo_flow() -> Result<()> {
    let output = pbi(&["demo"])?;
    let stdout = text(&output.stdout);
    ensure!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    ensure!(
        stdout.contains("flow examples/demo.flow.yaml (9 steps)"),
        "{stdout}"
    );
    // The same steps as the file, in its order.
    let flow = std::fs::read_to_string(example("demo.flow.yaml"))?;
    let names: Vec<&str> = flow
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- name: "))
        .filter(|n| !n.contains(' '))
        .collect();
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(lines.len(), names.len(), "{stdout}");
    for (line, name) in lines.iter().zip(&names) {
        ensure!(
            line.contains(&format!("] {name} (")),
            "{line} is not {name}"
        );
    }
    Ok(())
}

#[test]
fn a_failing_step_stops_the_flow_with_its_name_and_error() -> Result<()> {
    let service = service()?;
    let flow = temp_file(
        "failing.flow.json",
        &json!({"steps": [
            {"name": "groups", "action": "list-groups"},
            {"name": "missing", "action": "get-dataset",
             "inputs": {"dataset-id": "00000000-0000-0000-0000-000000000000"}},
            {"name": "never", "action": "list-groups"}
        ]})
        .to_string(),
    )?;
    let output = run_flow(&service, &flow, &[])?;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    ensure!(
        stdout.contains("[2] missing (Get Dataset): FAILED") && stdout.contains("not-found"),
        "{stdout}"
    );
    ensure!(stdout.contains("Flow FAILED at step `missing`"), "{stdout}");
    ensure!(
        !stdout.contains("[3]"),
        "a step ran after the failure: {stdout}"
    );

    let json_output = run_flow(&service, &flow, &["--output", "json"])?;
    assert_eq!(json_output.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&json_output.stdout)?;
    assert_eq!(result["failed-step"], "missing");
    assert_eq!(result["steps"][1]["error"]["kind"], "not-found");
    assert_eq!(result["steps"][2]["status"], "not-run");
    Ok(())
}

#[test]
fn a_check_that_does_not_hold_fails_the_flow_showing_what_was_found() -> Result<()> {
    let service = service()?;
    let flow = temp_file(
        "check.flow.yaml",
        "steps:\n  - name: groups\n    action: list-groups\n    checks:\n      - name: five workspaces\n        path: value\n        length: 5\n      - path: value[name=Finance].name\n        equals: Finance\n",
    )?;
    let output = run_flow(&service, &flow, &[])?;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    ensure!(
        stdout.contains("check: five workspaces: NO (found ["),
        "{stdout}"
    );
    ensure!(
        stdout.contains("check: value[name=Finance].name equals \"Finance\": yes"),
        "{stdout}"
    );
    Ok(())
}

#[test]
fn a_partial_push_reports_its_progress_and_the_flow_resumes_from_the_row() -> Result<()> {
    let service = service()?;
    // The first batch lands, the second is refused: 10,000 rows stored, 15,000 not.
    let rows_post = |kind| Fault {
        method: Some("POST".into()),
        path_contains: Some("/rows".into()),
        times: 1,
        kind,
    };
    service.inject(rows_post(FaultKind::Delay(Duration::ZERO)));
    service.inject(Fault {
        kind: FaultKind::Status {
            status: 400,
            body: json!({"error": {"code": "InvalidRequest", "message": "refused"}}).to_string(),
            content_type: "application/json".into(),
            retry_after: None,
        },
        ..rows_post(FaultKind::ResetConnection)
    });
    let flow = temp_file(
        "push.flow.yaml",
        "steps:
  - name: groups
    action: list-groups
  - name: dataset
    action: create-dataset
    inputs:
      workspace: ${steps.groups.output.value[name=Sales].id}
      dataset-name: Resumed
      table-name: Sales
      columns: [{name: Id, dataType: Int64}, {name: Region, dataType: string}, {name: Amount, dataType: Double}, {name: When, dataType: DateTime}]
  - name: rows
    action: create-rows
    inputs:
      workspace: ${steps.groups.output.value[name=Sales].id}
      dataset-id: ${steps.dataset.output.id}
      table-name: Sales
      rows: ${generate.sales_rows(25000)}
    checks:
      - {path: rowsSent, min: 1}
",
    )?;
    let state = flow.with_file_name("push.state.json");
    let _ = std::fs::remove_file(&state);
    let state_arg = state.to_string_lossy().into_owned();

    let first = run_flow(&service, &flow, &["--state", &state_arg])?;
    let stdout = text(&first.stdout);
    assert_eq!(first.status.code(), Some(1), "{stdout}");
    ensure!(
        stdout.contains("[3] rows (Create Rows): FAILED"),
        "{stdout}"
    );
    ensure!(
        stdout.contains("progress: 10000 of 25000 rows stored; rows 0-9999 stored; rows 10000-19999 failed; rows 20000-24999 not sent"),
        "{stdout}"
    );
    ensure!(
        stdout.contains(&format!(
            "resume with: pbi flow run {} --resume-from rows --start-row 10000 --state {state_arg}",
            flow.display()
        )),
        "{stdout}"
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&state)?)?;
    assert_eq!(saved["resume"], json!({"from": "rows", "start-row": 10000}));
    let dataset = saved["steps"][1]["output"]["id"]
        .as_str()
        .context("the dataset's id in the state file")?
        .to_string();
    assert_eq!(
        service.table_rows(&dataset, "Sales").map(|r| r.len()),
        Some(10_000)
    );

    // Resumed: the earlier steps' outputs come from the state file; no row is sent twice.
    let resumed = run_flow(
        &service,
        &flow,
        &[
            "--state",
            &state_arg,
            "--resume-from",
            "rows",
            "--start-row",
            "10000",
        ],
    )?;
    let stdout = text(&resumed.stdout);
    ensure!(
        resumed.status.success(),
        "{stdout}\n{}",
        text(&resumed.stderr)
    );
    ensure!(
        !stdout.contains("[1]") && !stdout.contains("[2]"),
        "{stdout}"
    );
    ensure!(stdout.contains("\"rowsSent\":15000"), "{stdout}");
    let stored = service.table_rows(&dataset, "Sales").context("the table")?;
    assert_eq!(stored.len(), 25_000);
    let mut ids: Vec<i64> = stored.iter().filter_map(|r| r["Id"].as_i64()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 25_000, "a row was stored twice");

    // Without the state file, the skipped steps' outputs are unknown, and it says so.
    let blind = run_flow(
        &service,
        &flow,
        &["--resume-from", "rows", "--start-row", "0"],
    )?;
    assert_eq!(blind.status.code(), Some(1));
    let said = text(&blind.stdout);
    ensure!(
        said.contains("skipped by --resume-from") && said.contains("--state"),
        "{said}"
    );
    std::fs::remove_file(&state)?;
    Ok(())
}

#[test]
fn a_flow_is_checked_whole_before_anything_is_sent() -> Result<()> {
    let service = service()?;
    for (name, flow, says) in [
        (
            "typo.flow.json",
            json!({"steps": [
                {"name": "groups", "action": "list-groups"},
                {"name": "tables", "action": "list-tables", "inputs": {"datset-id": "x"}}
            ]}),
            "step `tables`: list-tables has no input `datset-id`",
        ),
        (
            "order.flow.json",
            json!({"steps": [
                {"name": "tables", "action": "list-tables",
                 "inputs": {"dataset-id": "${steps.later.output.id}"}},
                {"name": "later", "action": "list-datasets"}
            ]}),
            "step `tables` refers to step `later`, which does not run before it",
        ),
        (
            "action.flow.json",
            json!({"steps": [{"name": "a", "action": "list-everything"}]}),
            "step `a`: the component has no action `list-everything`",
        ),
        (
            "var.flow.json",
            json!({"steps": [{"name": "a", "action": "list-groups", "inputs": {"top": "${vars.top}"}}]}),
            "pass --var top=VALUE",
        ),
    ] {
        let path = temp_file(name, &flow.to_string())?;
        let output = run_flow(&service, &path, &[])?;
        assert_eq!(output.status.code(), Some(1), "{name}");
        let stderr = text(&output.stderr);
        ensure!(stderr.contains(says), "{name}: {stderr}");
        let checked = pbi(&["flow", "check", &path.to_string_lossy()])?;
        assert_eq!(checked.status.code(), Some(1), "{name}");
    }
    ensure!(service.requests().is_empty(), "a request was sent");

    // A variable given on the command line, and `flow check` of the examples.
    let path = temp_file(
        "var.flow.json",
        &json!({"steps": [{"name": "a", "action": "list-groups", "inputs": {"top": "${vars.top}"}}]}).to_string(),
    )?;
    let output = run_flow(&service, &path, &["--var", "top=2"])?;
    ensure!(output.status.success(), "{}", text(&output.stderr));
    for name in ["demo", "workspace", "refresh", "dax-check"] {
        let file = example(&format!("{name}.flow.yaml"));
        let checked = pbi(&["flow", "check", &file.to_string_lossy()])?;
        ensure!(
            checked.status.success(),
            "{name}: {}",
            text(&checked.stderr)
        );
    }
    Ok(())
}

#[test]
fn a_refused_token_in_a_flow_says_how_to_sign_in() -> Result<()> {
    let service = service()?;
    let flow = temp_file(
        "token.flow.json",
        &json!({"steps": [{"name": "groups", "action": "list-groups"}]}).to_string(),
    )?;
    let output = pbi(&[
        "flow",
        "run",
        &flow.to_string_lossy(),
        "--service",
        &service.base_url(),
        "--access-token",
        "not-a-token-the-service-issued",
    ])?;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    ensure!(
        stderr.contains("pbi login") && stderr.contains("PBI_ACCESS_TOKEN"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn a_flow_brings_its_connection_and_reads_values_but_not_secrets() -> Result<()> {
    let service = service()?;
    // A service principal: the host requests its token, no token flag is needed.
    let connection = json!({
        "connection": "service-principal",
        "tenant-id": service.tenant_id(),
        "client-id": "pbi-local-sp",
        "client-secret": "pbi-local-sp-secret",
    });
    let flow = |check: Value| {
        json!({
            "connection": connection,
            "steps": [{"name": "groups", "action": "list-groups", "checks": [check]}]
        })
        .to_string()
    };
    let run = |name: &str, text: String| -> Result<Output> {
        let path = temp_file(name, &text)?;
        pbi(&[
            "flow",
            "run",
            &path.to_string_lossy(),
            "--service",
            &service.base_url(),
        ])
    };
    let ok = run(
        "sp.flow.json",
        flow(
            json!({"name": "not the client id", "path": "value[0].name", "not-equals": "${connection.client-id}"}),
        ),
    )?;
    let stdout = text(&ok.stdout);
    ensure!(ok.status.success(), "{stdout}\n{}", text(&ok.stderr));
    ensure!(stdout.contains("check: not the client id: yes"), "{stdout}");

    let secret = run(
        "secret.flow.json",
        flow(json!({"path": "value[0].name", "not-equals": "${connection.client-secret}"})),
    )?;
    assert_eq!(secret.status.code(), Some(1));
    let all = format!("{}{}", text(&secret.stdout), text(&secret.stderr));
    ensure!(all.contains("is a secret"), "{all}");
    ensure!(
        !all.contains("pbi-local-sp-secret"),
        "the secret was printed: {all}"
    );
    Ok(())
}
