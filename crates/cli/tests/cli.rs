//! The `pbi` binary, run as a user would.

use anyhow::{Context, Result, ensure};
use pbi_service::{ServiceConfig, ServiceHandle};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn pbi(args: &[&str]) -> Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_pbi"))
        .args(args)
        // The user's own settings must not change what the tests see.
        .env_remove("PBI_ACCESS_TOKEN")
        .env_remove("PBI_CLIENT_ID")
        .env_remove("PBI_CLIENT_SECRET")
        .env_remove("PBI_COMPONENT")
        // No token file: `run` would otherwise use the user's default one.
        .env_remove("PBI_TOKEN_FILE")
        .env("XDG_CONFIG_HOME", "/nonexistent/pbi-host-tests")
        .output()
        .context("running pbi")
}

#[test]
fn definition_prints_the_definition_as_json() -> Result<()> {
    let output = pbi(&["definition"])?;
    ensure!(output.status.success(), "{output:?}");
    let definition: Value = serde_json::from_slice(&output.stdout)?;
    let actions = definition["actions"].as_array().context("actions")?;
    ensure!(!actions.is_empty());
    ensure!(
        actions
            .iter()
            .all(|a| a["key"].is_string() && a["inputs"].is_array())
    );
    ensure!(definition["info"]["api-base-url"].is_string());
    Ok(())
}

#[test]
fn wasm_prints_the_path_of_the_component_it_loads() -> Result<()> {
    let output = pbi(&["wasm"])?;
    ensure!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout)?;
    let path = std::path::Path::new(printed.trim_end());
    assert_eq!(path, pbi_component::connector_wasm());
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(
        bytes.starts_with(b"\0asm"),
        "{} is not wasm",
        path.display()
    );

    let other = pbi(&["--component", "/tmp/other.wasm", "wasm"])?;
    assert_eq!(
        String::from_utf8(other.stdout)?.trim_end(),
        "/tmp/other.wasm"
    );
    Ok(())
}

#[test]
fn logout_deletes_the_token_file_and_its_lock() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("pbi-logout-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("tokens.json");
    std::fs::write(&path, "{}")?;
    std::fs::write(dir.join("tokens.json.lock"), "")?;
    let token_file = path.to_string_lossy().into_owned();

    let output = pbi(&["logout", "--token-file", &token_file])?;
    ensure!(output.status.success(), "{output:?}");
    ensure!(!path.exists(), "the token file is still there");
    ensure!(
        !dir.join("tokens.json.lock").exists(),
        "the lock file is still there"
    );
    ensure!(String::from_utf8_lossy(&output.stdout).contains("signed out"));

    // Nothing left to delete is not an error.
    let again = pbi(&["logout", "--token-file", &token_file])?;
    ensure!(again.status.success(), "{again:?}");
    ensure!(String::from_utf8_lossy(&again.stdout).contains("no saved tokens"));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn run_reports_an_invalid_input_with_exit_code_1() -> Result<()> {
    let output = pbi(&["run", "list-datasets", "--input", "top=ten"])?;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(printed["error"]["kind"], "invalid-input");
    assert_eq!(printed["error"]["input"], "top");
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(stderr.contains("top"), "{stderr}");
    Ok(())
}

#[test]
fn run_rejects_a_malformed_input_flag() -> Result<()> {
    let output = pbi(&["run", "list-datasets", "--input", "top"])?;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    ensure!(String::from_utf8_lossy(&output.stderr).contains("KEY=VALUE"));
    Ok(())
}

#[test]
fn demo_runs_the_whole_flow_against_the_emulator() -> Result<()> {
    let output = pbi(&["demo"])?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    ensure!(stdout.contains("Demo passed"), "{stdout}");
    ensure!(
        !stdout.contains("FAILED") && !stdout.contains(": NO"),
        "{stdout}"
    );
    // The nine steps of examples/demo.flow.yaml.
    ensure!(stdout.matches(": ok").count() == 9, "{stdout}");
    ensure!(
        stdout.contains("check: DAX counts 25000 rows: yes"),
        "{stdout}"
    );
    Ok(())
}

/// The labels and values of a page `pbi choices` printed.
fn choices(output: &Output) -> Result<(Vec<(String, String)>, bool)> {
    ensure!(
        output.status.success(),
        "pbi choices failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page: Value = serde_json::from_slice(&output.stdout)?;
    let choices = page["choices"]
        .as_array()
        .context("choices")?
        .iter()
        .map(|c| {
            Some((
                c["label"].as_str()?.to_string(),
                c["value"].as_str()?.to_string(),
            ))
        })
        .collect::<Option<Vec<_>>>()
        .context("label and value strings")?;
    Ok((choices, page["more"].as_bool().context("more")?))
}

#[test]
fn choices_lists_workspaces_then_push_datasets_then_tables() -> Result<()> {
    let service = ServiceHandle::spawn(ServiceConfig::seeded())?;
    let url = service.base_url();
    let token = service.issue_token();
    let choices_of = |args: &[&str]| {
        let mut all = vec!["choices", "create-rows"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--service", &url, "--access-token", &token]);
        pbi(&all)
    };

    let (workspaces, more) = choices(&choices_of(&["workspace"])?)?;
    let names: Vec<&str> = workspaces.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(names, ["Sales", "Finance", "Operations"]);
    assert!(!more);
    let sales = &workspaces[0].1;
    let seeded: Vec<String> = service
        .groups()
        .iter()
        .filter_map(|g| g["id"].as_str().map(str::to_string))
        .collect();
    ensure!(seeded.contains(sales), "{sales} is not a workspace id");

    // A page, and a search.
    let (page, more) = choices(&choices_of(&["workspace", "--top", "2"])?)?;
    assert_eq!(page, workspaces[..2]);
    assert!(more, "Operations follows");
    let (found, _) = choices(&choices_of(&["workspace", "--search", "fin"])?)?;
    assert_eq!(found, workspaces[1..2]);

    // Only the workspace's push dataset: Sales Model has no rows API.
    let in_sales = format!("workspace={sales}");
    let (datasets, more) = choices(&choices_of(&["dataset-id", "--input", &in_sales])?)?;
    let push: Vec<(String, String)> = service
        .datasets(Some(sales))
        .iter()
        .filter(|d| d["addRowsAPIEnabled"] == true)
        .map(|d| {
            (
                d["name"].as_str().unwrap_or_default().to_string(),
                d["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(datasets, push);
    assert_eq!(datasets.len(), 1);
    assert_eq!(datasets[0].0, "Sales Live");
    assert!(!more);

    let dataset = format!("dataset-id={}", datasets[0].1);
    let (tables, _) = choices(&choices_of(&[
        "table-name",
        "--input",
        &in_sales,
        "--input",
        &dataset,
    ])?)?;
    assert_eq!(tables, [("Orders".to_string(), "Orders".to_string())]);
    Ok(())
}

#[test]
fn choices_reports_an_input_without_a_picker_and_a_picker_error() -> Result<()> {
    let output = pbi(&["choices", "create-rows", "rows", "--access-token", "x"])?;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        stderr.contains("no picker") && stderr.contains("dataset-id"),
        "{stderr}"
    );

    // The table picker needs a dataset: the component says so, nothing is sent.
    let output = pbi(&[
        "choices",
        "create-rows",
        "table-name",
        "--access-token",
        "x",
    ])?;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(printed["error"]["kind"], "invalid-input");
    assert_eq!(printed["error"]["input"], "dataset-id");
    Ok(())
}

#[test]
fn run_saves_an_exported_report_with_save_body() -> Result<()> {
    let service = ServiceHandle::spawn(ServiceConfig {
        export_step: std::time::Duration::ZERO,
        poll_retry_after: Some(0),
        ..ServiceConfig::seeded()
    })?;
    // The seeded Sales workspace is on dedicated capacity, with the report Sales Overview.
    let sales = service
        .groups()
        .into_iter()
        .find(|g| g["name"] == "Sales")
        .context("the Sales workspace")?;
    let workspace = sales["id"].as_str().context("id")?.to_string();
    let report = service.reports(Some(&workspace))[0]["id"]
        .as_str()
        .context("a report")?
        .to_string();
    let file = std::env::temp_dir().join(format!("pbi-export-{}.pdf", std::process::id()));
    let output = pbi(&[
        "run",
        "export-report-to-file",
        "--input",
        &format!("workspace={workspace}"),
        "--input",
        &format!("report-id={report}"),
        "--save-body",
        &file.to_string_lossy(),
        "--service",
        &service.base_url(),
        "--access-token",
        &service.issue_token(),
    ])?;
    ensure!(output.status.success(), "{output:?}");
    let bytes = std::fs::read(&file)?;
    std::fs::remove_file(&file)?;
    ensure!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let printed: Value = serde_json::from_slice(&output.stdout)?;
    ensure!(printed["data"]["size"] == bytes.len(), "{printed}");
    ensure!(
        printed["data"]["fileName"] == "Sales Overview.pdf",
        "{printed}"
    );
    ensure!(
        printed["http"]["body"].is_null(),
        "the body is in the file only"
    );
    Ok(())
}

#[test]
fn a_service_principal_connection_file_runs_and_signs_in() -> Result<()> {
    let service = ServiceHandle::spawn(ServiceConfig::seeded())?;
    let file = std::env::temp_dir().join(format!("pbi-sp-{}.json", std::process::id()));
    let connection = serde_json::json!({
        "connection": "service-principal",
        "tenant-id": service.tenant_id(),
        "client-id": "pbi-local-sp",
        "client-secret": "pbi-local-sp-secret",
    });
    std::fs::write(&file, connection.to_string())?;
    let path = file.to_string_lossy().into_owned();
    let url = service.base_url();
    let login = pbi(&["login", "--connection", &path, "--service", &url])?;
    let run = pbi(&[
        "run",
        "list-groups",
        "--connection",
        &path,
        "--service",
        &url,
    ])?;
    std::fs::remove_file(&file)?;
    ensure!(login.status.success(), "{login:?}");
    let said = String::from_utf8_lossy(&login.stdout);
    ensure!(
        said.contains("Signed in as the service principal"),
        "{said}"
    );
    ensure!(run.status.success(), "{run:?}");
    let groups: Value = serde_json::from_slice(&run.stdout)?;
    ensure!(
        groups["value"].as_array().is_some_and(|g| g.len() == 3),
        "{groups}"
    );
    for output in [&login, &run] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        ensure!(
            !all.contains("pbi-local-sp-secret"),
            "the secret was printed: {all}"
        );
    }
    Ok(())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A file of this test's own in the temporary folder.
fn temp_file(name: &str, text: &str) -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("pbi-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The id of the seeded workspace `name` and of its push dataset.
fn seeded(service: &ServiceHandle, name: &str) -> Result<(String, String)> {
    let workspace = service
        .groups()
        .iter()
        .find(|g| g["name"] == name)
        .and_then(|g| g["id"].as_str())
        .map(str::to_string)
        .with_context(|| format!("the {name} workspace"))?;
    let push = service
        .datasets(Some(&workspace))
        .iter()
        .find(|d| d["addRowsAPIEnabled"] == true)
        .and_then(|d| d["id"].as_str())
        .map(str::to_string)
        .context("its push dataset")?;
    Ok((workspace, push))
}

#[test]
fn actions_lists_the_actions_and_an_actions_inputs() -> Result<()> {
    let all = pbi(&["actions"])?;
    ensure!(all.status.success(), "{all:?}");
    let listed = text(&all.stdout);
    let definition: Value = serde_json::from_slice(&pbi(&["definition"])?.stdout)?;
    for action in definition["actions"].as_array().context("actions")? {
        let (key, label) = (
            action["key"].as_str().context("key")?,
            action["label"].as_str().context("label")?,
        );
        ensure!(
            listed
                .lines()
                .any(|l| l.starts_with(&format!("{key} ")) && l.contains(label)),
            "{key} ({label}) is not listed:\n{listed}"
        );
    }

    let one = pbi(&["actions", "create-rows"])?;
    ensure!(one.status.success(), "{one:?}");
    let shown = text(&one.stdout);
    let start_row = shown
        .lines()
        .find(|l| l.starts_with("start-row "))
        .context("the start-row input")?;
    ensure!(
        start_row.contains("Start Row")
            && start_row.contains("integer")
            && start_row.contains(">= 0"),
        "{start_row}"
    );
    let rows = shown
        .lines()
        .find(|l| l.starts_with("rows "))
        .context("the rows input")?;
    ensure!(rows.contains("code") && rows.contains("yes"), "{rows}");
    let dataset = shown
        .lines()
        .find(|l| l.starts_with("dataset-id "))
        .context("the dataset-id input")?;
    ensure!(dataset.contains("(needs workspace)"), "{dataset}");
    let raw = text(&pbi(&["actions", "raw-request"])?.stdout);
    ensure!(raw.contains("GET | POST | PUT"), "{raw}");

    let json = pbi(&["actions", "create-rows", "--json"])?;
    let action: Value = serde_json::from_slice(&json.stdout)?;
    assert_eq!(action["key"], "create-rows");

    let unknown = pbi(&["actions", "create-everything"])?;
    assert_eq!(unknown.status.code(), Some(1));
    ensure!(text(&unknown.stderr).contains("it has: "), "{unknown:?}");
    Ok(())
}

#[test]
fn run_with_a_missing_required_input_points_to_pbi_actions() -> Result<()> {
    let output = pbi(&["run", "create-rows", "--access-token", "x"])?;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(printed["error"]["kind"], "invalid-input");
    let stderr = text(&output.stderr);
    ensure!(stderr.contains("`pbi actions create-rows`"), "{stderr}");
    Ok(())
}

#[test]
fn inputs_come_from_files_and_a_bare_array_is_the_rows() -> Result<()> {
    let service = ServiceHandle::spawn(ServiceConfig::seeded())?;
    let (workspace, dataset) = seeded(&service, "Sales")?;
    let before = service.table_rows(&dataset, "Orders").map(|r| r.len());
    let rows = temp_file(
        "rows.json",
        r#"[{"OrderId": 1, "Region": "West"}, {"OrderId": 2, "Region": "East"}]"#,
    )?;
    let url = service.base_url();
    let token = service.issue_token();
    let in_sales = [
        "--input".to_string(),
        format!("workspace={workspace}"),
        "--input".to_string(),
        format!("dataset-id={dataset}"),
    ];
    let mut args = vec!["run", "create-rows", "--inputs"];
    let rows_path = rows.to_string_lossy().into_owned();
    args.push(&rows_path);
    args.extend(in_sales.iter().map(String::as_str));
    // `--service HOST:PORT`: http assumed.
    let host_port = url.trim_start_matches("http://").to_string();
    args.extend([
        "--input",
        "table-name=Orders",
        "--service",
        &host_port,
        "--access-token",
        &token,
    ]);
    let output = pbi(&args)?;
    ensure!(output.status.success(), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(printed["rowsSent"], 2);
    assert_eq!(
        service.table_rows(&dataset, "Orders").map(|r| r.len()),
        before.map(|n| n + 2)
    );

    // KEY=@FILE: a code input's JSON, and a string input's text.
    let query = temp_file("count.dax", "EVALUATE ROW(\"N\", COUNTROWS('Orders'))\n")?;
    let query_arg = format!("query=@{}", query.display());
    let rows_arg = format!("rows=@{rows_path}");
    let mut args = vec!["run", "execute-dax-query", "--input", &query_arg];
    args.extend(in_sales.iter().map(String::as_str));
    args.extend(["--service", &url, "--access-token", &token]);
    let counted = pbi(&args)?;
    ensure!(counted.status.success(), "{counted:?}");
    let printed: Value = serde_json::from_slice(&counted.stdout)?;
    assert_eq!(
        printed["rows"][0]["[N]"].as_u64(),
        before.map(|n| n as u64 + 2)
    );
    let mut args = vec![
        "run",
        "create-rows",
        "--input",
        &rows_arg,
        "--input",
        "table-name=Orders",
    ];
    args.extend(in_sales.iter().map(String::as_str));
    args.extend(["--service", &url, "--access-token", &token]);
    let again = pbi(&args)?;
    ensure!(again.status.success(), "{again:?}");

    // A file that is not JSON for a code input names the input and the file.
    let broken = temp_file("broken.json", "[{")?;
    let broken_arg = format!("rows=@{}", broken.display());
    let refused = pbi(&[
        "run",
        "create-rows",
        "--input",
        &broken_arg,
        "--access-token",
        "x",
    ])?;
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    ensure!(
        stderr.contains("--input rows=@") && stderr.contains("not JSON"),
        "{stderr}"
    );

    // A bare array for an action with no code input is refused.
    let refused = pbi(&[
        "run",
        "list-groups",
        "--inputs",
        &rows_path,
        "--access-token",
        "x",
    ])?;
    assert_eq!(refused.status.code(), Some(1));
    ensure!(
        text(&refused.stderr).contains("no code input"),
        "{refused:?}"
    );
    Ok(())
}

#[test]
fn service_takes_a_url_or_host_and_port_and_refuses_others() -> Result<()> {
    let refused = pbi(&[
        "run",
        "list-groups",
        "--service",
        "ftp://x",
        "--access-token",
        "x",
    ])?;
    assert_eq!(refused.status.code(), Some(2));
    ensure!(
        text(&refused.stderr).contains("http or https"),
        "{refused:?}"
    );
    Ok(())
}

#[test]
fn output_table_shows_a_list_as_columns() -> Result<()> {
    let service = ServiceHandle::spawn(ServiceConfig::seeded())?;
    let output = pbi(&[
        "run",
        "list-groups",
        "--output",
        "table",
        "--service",
        &service.base_url(),
        "--access-token",
        &service.issue_token(),
    ])?;
    ensure!(output.status.success(), "{output:?}");
    let shown = text(&output.stdout);
    let lines: Vec<&str> = shown.lines().collect();
    ensure!(
        lines[0].starts_with("id ") && lines[0].contains("name"),
        "{shown}"
    );
    ensure!(lines[1].starts_with("--"), "{shown}");
    for name in ["Sales", "Finance", "Operations"] {
        ensure!(lines.iter().any(|l| l.contains(name)), "{name}: {shown}");
    }
    ensure!(shown.trim_end().ends_with("(3 rows)"), "{shown}");
    Ok(())
}

#[test]
fn debug_request_prints_the_request_log_without_the_token() -> Result<()> {
    let service = ServiceHandle::spawn(ServiceConfig::seeded())?;
    let token = service.issue_token();
    let run = |debug: &str| {
        pbi(&[
            "run",
            "raw-request",
            "--input",
            "url=/groups",
            "--input",
            "method=GET",
            "--input",
            &format!("debug-request={debug}"),
            "--service",
            &service.base_url(),
            "--access-token",
            &token,
        ])
    };
    let output = run("true")?;
    ensure!(output.status.success(), "{output:?}");
    let stderr = text(&output.stderr);
    ensure!(stderr.contains("[debug] request: GET"), "{stderr}");
    ensure!(stderr.contains("[debug] response: 200"), "{stderr}");
    ensure!(!stderr.contains(&token), "the token was printed");
    let quiet = run("false")?;
    ensure!(!text(&quiet.stderr).contains("[debug]"), "{quiet:?}");
    Ok(())
}

#[test]
fn a_refused_or_empty_token_says_how_to_get_one() -> Result<()> {
    let service = ServiceHandle::spawn(ServiceConfig::seeded())?;
    let url = service.base_url();
    let refused = pbi(&[
        "run",
        "list-groups",
        "--service",
        &url,
        "--access-token",
        "made-up",
    ])?;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let printed: Value = serde_json::from_slice(&refused.stdout)?;
    let kind = printed["error"]["kind"].as_str().unwrap_or_default();
    ensure!(
        kind == "unauthorized" || kind == "token-expired",
        "{printed}"
    );
    let stderr = text(&refused.stderr);
    ensure!(
        stderr.contains("hint:")
            && stderr.contains("pbi login")
            && stderr.contains("PBI_ACCESS_TOKEN"),
        "{stderr}"
    );

    let before = service.requests().len();
    let empty = pbi(&[
        "run",
        "list-groups",
        "--service",
        &url,
        "--access-token",
        "",
    ])?;
    assert_eq!(empty.status.code(), Some(1), "{empty:?}");
    let stderr = text(&empty.stderr);
    ensure!(
        stderr.contains("--access-token")
            && stderr.contains("empty")
            && stderr.contains("pbi login"),
        "{stderr}"
    );
    assert_eq!(service.requests().len(), before, "a request was sent");
    Ok(())
}

/// Starts `pbi emulator` with `extra` and reads its banner up to the service principal's
/// connection line; stops it.
fn emulator_banner(extra: &[&str]) -> Result<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pbi"))
        .args(["emulator", "--port", "0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut banner = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("run as it:") {
            break;
        }
    }
    // Only this test's own child, by its handle.
    child.kill()?;
    child.wait()?;
    Ok(banner)
}

#[test]
fn emulator_prints_its_credentials_and_seeds_unless_told_not_to() -> Result<()> {
    let banner = emulator_banner(&[])?;
    let tenant = ServiceConfig::default().tenant_id;
    for expected in [
        "seeded: workspaces Sales, Finance, Operations",
        "client-id pbi-local-client client-secret pbi-local-secret",
        &format!("tenant-id {tenant} client-id pbi-local-sp client-secret pbi-local-sp-secret"),
        "\"connection\":\"service-principal\"",
    ] {
        ensure!(banner.contains(expected), "{expected}: {banner}");
    }
    let seeded = emulator_banner(&["--seed"])?;
    ensure!(seeded.contains("seeded: workspaces"), "{seeded}");
    let empty = emulator_banner(&["--no-seed"])?;
    ensure!(empty.contains("empty (--no-seed)"), "{empty}");

    let help = text(&pbi(&["emulator", "--help"])?.stdout);
    ensure!(
        help.contains("--no-seed") && help.contains("On by default"),
        "{help}"
    );
    Ok(())
}

#[test]
fn wasm_copy_puts_the_component_in_a_folder() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("pbi-wasm-copy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = pbi(&["wasm", "--copy", &dir.join("nested").to_string_lossy()])?;
    ensure!(output.status.success(), "{output:?}");
    let printed = std::path::PathBuf::from(text(&output.stdout).trim_end());
    ensure!(
        printed.starts_with(dir.canonicalize()?),
        "{}",
        printed.display()
    );
    assert_eq!(
        std::fs::read(&printed)?,
        std::fs::read(pbi_component::connector_wasm())?
    );
    // Only the component is left in the folder: no partial copy.
    assert_eq!(std::fs::read_dir(dir.join("nested"))?.count(), 1);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn run_shows_progress_as_plain_lines_off_a_terminal() -> Result<()> {
    let service = ServiceHandle::spawn(ServiceConfig::default())?;
    let dataset = service.add_dataset(
        None,
        "Progress",
        true,
        serde_json::json!([{"name": "T", "columns": [{"name": "Id", "dataType": "Int64"}]}]),
    );
    let rows: Vec<Value> = (0..25_000).map(|i| serde_json::json!({"Id": i})).collect();
    let file = std::env::temp_dir().join(format!("pbi-progress-{}.json", std::process::id()));
    std::fs::write(&file, Value::Array(rows).to_string())?;
    let output = pbi(&[
        "run",
        "create-rows",
        "--inputs",
        &file.to_string_lossy(),
        "--input",
        &format!("dataset-id={dataset}"),
        "--input",
        "table-name=T",
        "--service",
        &service.base_url(),
        "--access-token",
        &service.issue_token(),
    ])?;
    std::fs::remove_file(&file)?;
    ensure!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for line in [
        "create-rows: 10000/25000 rows sent",
        "create-rows: 20000/25000 rows sent",
        "create-rows: 25000/25000 rows sent",
    ] {
        ensure!(stderr.contains(line), "missing {line:?} in {stderr}");
    }
    // The contract's progress lines are taken out of the log, not printed raw.
    ensure!(!stderr.contains('\u{1e}'), "{stderr}");
    Ok(())
}
