//! `pbi studio`: the server is checked over HTTP, then headless Chromium (driven by
//! `crates/cli/studio/test/studio.test.mjs` through playwright-core) renders every form,
//! fills it, runs it against the emulator the studio started and checks the results.
//!
//! The browser part says plainly that it SKIPPED (and passes) when `node`, Chromium
//! (`/usr/bin/chromium` or `PBI_CHROMIUM`) or the studio's node_modules (`npm ci --prefix
//! crates/cli/studio`) are missing. Screenshots are always taken into a temporary folder and
//! checked; with `PBI_STUDIO_SCREENSHOTS=1` they also replace the ones in `docs/studio/`.

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The PNG file signature.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A running `pbi studio`, stopped (by its own handle) when dropped.
struct Studio {
    child: Child,
    url: String,
    port: u16,
}

impl Drop for Studio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `pbi studio --port 0` (it starts its own seeded emulator) and reads its URL.
fn start_studio() -> Result<Studio> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pbi"))
        .args(["studio", "--port", "0"])
        // The user's own settings must not change what the test sees.
        .env_remove("PBI_ACCESS_TOKEN")
        .env_remove("PBI_CLIENT_ID")
        .env_remove("PBI_CLIENT_SECRET")
        .env_remove("PBI_COMPONENT")
        .env_remove("PBI_TOKEN_FILE")
        .env("XDG_CONFIG_HOME", "/nonexistent/pbi-studio-tests")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting pbi studio")?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = match lines.next() {
        Some(line) => line?,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("pbi studio printed nothing");
        }
    };
    // Keep reading its output so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let url = first
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:"))
        .map(str::to_string);
    let Some(url) = url else {
        let _ = child.kill();
        let _ = child.wait();
        bail!("no URL in pbi studio's first line: {first}");
    };
    let port = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .with_context(|| format!("the port in {url}"))?;
    Ok(Studio { child, url, port })
}

/// A plain HTTP/1.1 request to the studio: (status, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    host: &str,
    body: Option<&str>,
) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, rest) = answer
        .split_once("\r\n\r\n")
        .with_context(|| format!("no HTTP answer: {answer}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status in {head}"))?;
    // A chunked body: join its chunks.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 || after.len() < size {
                break;
            }
            out.push_str(&after[..size]);
            rest = after[size..].trim_start_matches("\r\n");
        }
        out
    } else {
        rest.to_string()
    };
    Ok((status, body))
}

/// Why the browser part cannot run here, if it cannot.
fn browser_missing(studio_dir: &Path) -> Option<String> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|status| status.success()) {
        return Some("`node` is not installed".to_string());
    }
    let chromium = chromium();
    if !chromium.is_file() {
        return Some(format!(
            "no Chromium at {} (apt-get install chromium, or set PBI_CHROMIUM)",
            chromium.display()
        ));
    }
    if !studio_dir.join("node_modules/playwright-core").is_dir() {
        return Some(format!(
            "the studio's node_modules are missing (npm ci --prefix {})",
            studio_dir.display()
        ));
    }
    None
}

fn chromium() -> PathBuf {
    std::env::var_os("PBI_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

#[test]
fn the_server_serves_the_page_and_runs_actions_without_showing_the_token() -> Result<()> {
    let studio = start_studio()?;
    let host = format!("127.0.0.1:{}", studio.port);

    let (status, page) = http(studio.port, "GET", "/", &host, None)?;
    ensure!(
        status == 200 && page.contains("/studio.js"),
        "{status}: {page}"
    );
    let (status, script) = http(studio.port, "GET", "/studio.js", &host, None)?;
    // The bundle is built in (no Node needed to build pbi), and loads nothing from elsewhere.
    ensure!(
        status == 200 && script.len() > 100_000,
        "{status}: {} bytes",
        script.len()
    );
    ensure!(!script.contains("https://unpkg.com") && !script.contains("cdn.jsdelivr"));

    let (status, manifest) = http(studio.port, "GET", "/api/manifest", &host, None)?;
    ensure!(status == 200, "{status}: {manifest}");
    let manifest: Value = serde_json::from_str(&manifest)?;
    ensure!(
        manifest["manifest"]["actions"]["list-groups"]["inputSchema"].is_object(),
        "{manifest}"
    );
    ensure!(manifest["studio"]["emulator"] == true && manifest["studio"]["hasChoices"] == true);

    // A run: the output, and the request with its authorization redacted.
    let (status, run) = http(
        studio.port,
        "POST",
        "/api/run",
        &host,
        Some(r#"{"action": "list-groups", "inputs": {"top": 2}}"#),
    )?;
    ensure!(status == 200, "{status}: {run}");
    let run: Value = serde_json::from_str(&run)?;
    ensure!(run["ok"] == true, "{run}");
    ensure!(
        run["output"]["data"]["value"][0]["name"] == "Sales",
        "{run}"
    );
    let headers = run["requests"][0]["headers"].to_string();
    ensure!(
        headers.contains("[redacted]") && !headers.contains("studio-"),
        "{headers}"
    );

    // The page's connection: a service principal (the emulator's), whose token the host
    // requests itself; its secret never comes back.
    let tenant = pbi_service::ServiceConfig::default().tenant_id;
    let sp_run = |secret: &str| -> Result<(String, Value)> {
        let body = serde_json::json!({
            "action": "list-groups",
            "inputs": {},
            "connection": {"connection": "service-principal", "tenant-id": tenant,
                           "client-id": "pbi-local-sp", "client-secret": secret},
        })
        .to_string();
        let (_, text) = http(studio.port, "POST", "/api/run", &host, Some(&body))?;
        let value = serde_json::from_str(&text)?;
        Ok((text, value))
    };
    let (text, run) = sp_run("pbi-local-sp-secret")?;
    ensure!(!text.contains("pbi-local-sp-secret"), "{text}");
    ensure!(run["ok"] == true, "{run}");
    // With a wrong secret it fails: the studio's own token was not used instead.
    let (text, run) = sp_run("a-wrong-secret-value")?;
    ensure!(!text.contains("a-wrong-secret-value"), "{text}");
    ensure!(run["ok"] == false, "{run}");

    // A picker.
    let (_, page) = http(
        studio.port,
        "POST",
        "/api/choices",
        &host,
        Some(r#"{"action": "create-rows", "input": "workspace"}"#),
    )?;
    let page: Value = serde_json::from_str(&page)?;
    ensure!(page["choices"][0]["label"] == "Sales", "{page}");

    // An error names its field.
    let (_, failed) = http(
        studio.port,
        "POST",
        "/api/run",
        &host,
        Some(r#"{"action": "get-dataset", "inputs": {"dataset-id": "nope"}}"#),
    )?;
    let failed: Value = serde_json::from_str(&failed)?;
    ensure!(
        failed["ok"] == false && failed["error"]["input"] == "dataset-id",
        "{failed}"
    );

    // A page on another site that points a name at 127.0.0.1 gets nothing.
    let (status, body) = http(studio.port, "GET", "/api/manifest", "evil.example:80", None)?;
    ensure!(status == 403, "{status}: {body}");
    Ok(())
}

#[test]
fn chromium_renders_fills_and_runs_every_form() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let studio_dir = root.join("studio");
    if let Some(why) = browser_missing(&studio_dir) {
        println!("SKIPPED chromium_renders_fills_and_runs_every_form: {why}");
        return Ok(());
    }
    let studio = start_studio()?;
    let shots = std::env::temp_dir().join(format!("pbi-studio-shots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&shots);

    let output = Command::new("node")
        .arg(studio_dir.join("test/studio.test.mjs"))
        .current_dir(&studio_dir)
        .env("STUDIO_URL", &studio.url)
        .env("SCREENSHOT_DIR", &shots)
        .env("PBI_CHROMIUM", chromium())
        .output()
        .context("running node")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    let summary: Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .with_context(|| format!("no summary line in {stdout}"))?;
    ensure!(summary["ok"] == true, "{summary}");

    // Every action ran, and every form was photographed.
    let (_, manifest) = http(
        studio.port,
        "GET",
        "/api/manifest",
        &format!("127.0.0.1:{}", studio.port),
        None,
    )?;
    let manifest: Value = serde_json::from_str(&manifest)?;
    let actions = manifest["manifest"]["actions"]
        .as_object()
        .context("actions")?;
    let connections = manifest["manifest"]["connections"]
        .as_array()
        .context("connections")?;
    ensure!(
        summary["actions"].as_u64() == Some(actions.len() as u64),
        "{summary}"
    );
    let names: Vec<String> = summary["screenshots"]
        .as_array()
        .context("screenshots")?
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    for key in actions.keys() {
        ensure!(
            names.contains(&format!("action-{key}.png")),
            "{key}: {names:?}"
        );
    }
    for connection in connections {
        let key = connection["key"].as_str().unwrap_or_default();
        ensure!(
            names.contains(&format!("connection-{key}.png")),
            "{key}: {names:?}"
        );
    }
    for name in &names {
        let bytes = std::fs::read(shots.join(name)).with_context(|| format!("reading {name}"))?;
        ensure!(
            bytes.len() > 1000 && bytes.starts_with(PNG),
            "{name} is not a PNG"
        );
    }

    if std::env::var("PBI_STUDIO_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs = root.join("../../docs/studio");
        std::fs::create_dir_all(&docs)?;
        for name in &names {
            std::fs::copy(shots.join(name), docs.join(name))
                .with_context(|| format!("copying {name} to {}", docs.display()))?;
        }
        println!("wrote {} screenshots to {}", names.len(), docs.display());
    }
    let _ = std::fs::remove_dir_all(&shots);
    Ok(())
}
