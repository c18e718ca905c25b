//! The `pbi` binary, run as a user would.

use anyhow::{Context, Result, ensure};
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
    ensure!(stdout.matches(": ok").count() == 6, "{stdout}");
    Ok(())
}
