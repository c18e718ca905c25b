//! The `pbi` binary, run as a user would.

use anyhow::{Context, Result, ensure};
use pbi_service::{ServiceConfig, ServiceHandle};
use serde_json::Value;
use std::process::{Command, Output};

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
    ensure!(stdout.matches(": ok").count() == 7, "{stdout}");
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
