//! Other hosts than pbi-host: the examples under `examples/` (docs/hosts.md) run the real
//! component against the local Power BI service as subprocesses. Node with jco
//! (`examples/node`, including its egress handler), Python with wasmtime-py
//! (`examples/python`). Each test says plainly that it skipped when its tools are missing:
//! nothing is downloaded at test time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, ensure};
use pbi_service::{ServiceConfig, ServiceHandle};
use serde_json::Value;

const SEEDED: [&str; 3] = ["Sales", "Finance", "Operations"];

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// The seeded service and the connection's API Base URL on it.
fn service() -> Result<(ServiceHandle, String)> {
    let service = ServiceHandle::spawn(ServiceConfig::seeded())?;
    let base = format!("{}/v1.0/myorg", service.base_url().trim_end_matches('/'));
    Ok((service, base))
}

/// Whether `program` runs (`args` succeed).
fn runs(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The example's one JSON line on stdout, and its stderr.
fn parse(out: &Output) -> Result<(Value, String)> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = stdout.lines().last().unwrap_or_default();
    let value = serde_json::from_str(line)
        .with_context(|| format!("not one JSON line: {stdout}\nstderr: {stderr}"))?;
    Ok((value, stderr))
}

/// `{"ok": {"data": "<JSON>"}}` of list-groups: the seeded workspaces are all there.
fn check_groups(value: &Value, stderr: &str, service: &ServiceHandle) -> Result<()> {
    let data = value["ok"]["data"]
        .as_str()
        .with_context(|| format!("not ok: {value}\nstderr: {stderr}"))?;
    let data: Value = serde_json::from_str(data).context("data is not JSON")?;
    let text = data.to_string();
    for name in SEEDED {
        ensure!(text.contains(name), "{name} missing: {text}");
    }
    ensure!(
        service
            .requests()
            .iter()
            .any(|r| r.path == "/v1.0/myorg/groups"),
        "the service saw no request"
    );
    Ok(())
}

// --- Node (jco) ---------------------------------------------------------------------------

/// `node`, when it runs and the example's packages are installed; otherwise why not.
fn node() -> Result<PathBuf, String> {
    let node = PathBuf::from(std::env::var("PBI_NODE").unwrap_or_else(|_| "node".into()));
    if !runs(&node, &["--version"]) {
        return Err("no Node.js (put `node` on the PATH or set PBI_NODE)".into());
    }
    let modules = examples().join("node/node_modules/@bytecodealliance");
    for package in ["jco", "preview2-shim"] {
        if !modules.join(package).join("package.json").is_file() {
            return Err(format!(
                "examples/node/node_modules has no @bytecodealliance/{package} (install with `npm ci --prefix examples/node`)"
            ));
        }
    }
    Ok(node)
}

fn run_node(node: &Path, args: &[&str]) -> Result<Output> {
    Command::new(node)
        .current_dir(examples().join("node"))
        .arg("run.mjs")
        .arg("--wasm")
        .arg(pbi_component::connector_wasm())
        .args(args)
        .output()
        .context("running node")
}

/// jco transpiles the component; Node runs list-groups through the example's egress handler,
/// which allows the API Base URL's host.
#[test]
fn node_with_jco_lists_the_workspaces() -> Result<()> {
    let node = match node() {
        Ok(node) => node,
        Err(why) => {
            eprintln!("skipped: {why}");
            return Ok(());
        }
    };
    let (service, base) = service()?;
    let token = service.issue_token();
    let out = run_node(&node, &["--api-base-url", &base, "--token", &token])?;
    let (value, stderr) = parse(&out)?;
    ensure!(out.status.success(), "{value}\nstderr: {stderr}");
    check_groups(&value, &stderr, &service)?;
    ensure!(
        stderr.contains("egress: allowed GET http://127.0.0.1:"),
        "{stderr}"
    );
    // The allow-list is the connection's: the API Base URL's host and every cloud's hosts.
    ensure!(
        stderr.contains("127.0.0.1") && stderr.contains("api.powerbi.com"),
        "{stderr}"
    );
    ensure!(!stderr.contains(&token), "the token leaked: {stderr}");
    Ok(())
}

/// A host outside the allow-list is refused by the handler before anything is sent: the
/// component reports the transport error of wasi:http's `HTTP-request-denied`.
#[test]
fn node_egress_handler_refuses_other_hosts() -> Result<()> {
    let node = match node() {
        Ok(node) => node,
        Err(why) => {
            eprintln!("skipped: {why}");
            return Ok(());
        }
    };
    let (service, base) = service()?;
    let token = service.issue_token();
    // The engine's allow-list names only the commercial cloud; the connection's API Base URL
    // names the local service, so the component's request leaves the list.
    let out = run_node(
        &node,
        &[
            "--api-base-url",
            &base,
            "--token",
            &token,
            "--allow",
            "api.powerbi.com",
            "--allow",
            "login.microsoftonline.com",
        ],
    )?;
    let (value, stderr) = parse(&out)?;
    ensure!(
        out.status.code() == Some(1),
        "{:?}: {value}\nstderr: {stderr}",
        out.status
    );
    let err = &value["err"];
    ensure!(err["kind"] == "transport", "{value}");
    ensure!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("egress")),
        "{value}"
    );
    ensure!(
        stderr.contains("egress: denied GET http://127.0.0.1:"),
        "{stderr}"
    );
    ensure!(
        service.requests().is_empty(),
        "a request reached the service: {:?}",
        service.requests()
    );
    Ok(())
}

// --- Python (wasmtime-py) -------------------------------------------------------------------

/// A Python whose `wasmtime` links wasi:http into components (wasmtime-py 50 or later).
fn python() -> Result<PathBuf, String> {
    let python = PathBuf::from(std::env::var("PBI_PYTHON").unwrap_or_else(|_| "python3".into()));
    if !runs(&python, &["--version"]) {
        return Err("no Python (put `python3` on the PATH or set PBI_PYTHON)".into());
    }
    if !runs(
        &python,
        &[
            "-c",
            "import wasmtime.component as c; c.Linker.add_wasi_http",
        ],
    ) {
        return Err(format!(
            "{} has no wasmtime-py with wasi:http for components (install with `pip install 'wasmtime>=50'`)",
            python.display()
        ));
    }
    Ok(python)
}

/// wasmtime-py runs list-groups (its wasi:http is wasmtime's own sender).
#[test]
fn python_with_wasmtime_py_lists_the_workspaces() -> Result<()> {
    let python = match python() {
        Ok(python) => python,
        Err(why) => {
            eprintln!("skipped: {why}");
            return Ok(());
        }
    };
    let (service, base) = service()?;
    let token = service.issue_token();
    let out = Command::new(&python)
        .arg(examples().join("python/run.py"))
        .arg("--wasm")
        .arg(pbi_component::connector_wasm())
        .args(["--api-base-url", &base, "--token", &token])
        .output()
        .context("running python")?;
    let (value, stderr) = parse(&out)?;
    ensure!(out.status.success(), "{value}\nstderr: {stderr}");
    check_groups(&value, &stderr, &service)?;
    // Its preflight check refuses a connection naming a host off the allow-list.
    let out = Command::new(&python)
        .arg(examples().join("python/run.py"))
        .arg("--wasm")
        .arg(pbi_component::connector_wasm())
        .args(["--api-base-url", &base, "--token", &token])
        .args(["--allow", "api.powerbi.com"])
        .output()
        .context("running python")?;
    let (value, stderr) = parse(&out)?;
    ensure!(out.status.code() == Some(1), "{value}\nstderr: {stderr}");
    ensure!(
        value["err"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("127.0.0.1")),
        "{value}"
    );
    Ok(())
}
