//! What users run today: the other Power BI connectors are Node.js packages that call the
//! REST API with Node's built-in `fetch`. [`NodeFetch`] runs `scripts/node-fetch.mjs` once
//! and asks it for one List Datasets or one push at a time, so that Node's figures come from
//! the same run, interleaved with the component's.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The script, built in so the bench runs from any directory.
const SCRIPT: &str = include_str!("../scripts/node-fetch.mjs");

/// A Node.js process running `node-fetch.mjs` against the local service.
pub struct NodeFetch {
    child: Child,
    /// `None` once closed (Node then ends).
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// `node --version`, for the report.
    pub version: String,
    /// The script's copy on disk (Node needs a file for an ES module with top-level await).
    _dir: TempDir,
}

impl NodeFetch {
    /// Starts the script against `base` with `token`; `Ok(None)` when there is no `node`
    /// (or `PBI_NODE` names none), so the bench says it skipped.
    pub fn start(base: &str, token: &str) -> Result<Option<Self>> {
        let node = std::env::var("PBI_NODE").unwrap_or_else(|_| "node".into());
        let Ok(version) = Command::new(&node).arg("--version").output() else {
            return Ok(None);
        };
        if !version.status.success() {
            return Ok(None);
        }
        let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
        let dir = TempDir::new()?;
        let script = dir.0.join("node-fetch.mjs");
        std::fs::write(&script, SCRIPT).context("writing node-fetch.mjs")?;
        let mut child = Command::new(&node)
            .arg(&script)
            .arg(base)
            // The token goes in the environment, never on a command line others can read.
            .env("PBI_BENCH_TOKEN", token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {node}"))?;
        let stdin = child.stdin.take().context("node's stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("node's stdout")?);
        Ok(Some(Self {
            child,
            stdin: Some(stdin),
            stdout,
            version,
            _dir: dir,
        }))
    }

    /// One List Datasets; Node's time for it and how many datasets it listed.
    pub fn list(&mut self) -> Result<(Duration, usize)> {
        let answer = self.ask("list")?;
        Ok((
            nanos(&answer)?,
            answer["count"].as_u64().unwrap_or(0) as usize,
        ))
    }

    /// `rows` rows pushed into `table` of `dataset`, 10,000 per request; Node's time.
    pub fn push(&mut self, dataset: &str, table: &str, rows: usize) -> Result<Duration> {
        let answer = self.ask(&format!("push {dataset} {table} {rows}"))?;
        nanos(&answer)
    }

    fn ask(&mut self, command: &str) -> Result<Value> {
        let stdin = self.stdin.as_mut().context("node's stdin is closed")?;
        writeln!(stdin, "{command}").context("writing to node")?;
        stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!("node ended without answering {command:?}");
        }
        let answer: Value = serde_json::from_str(&line).context("node's answer")?;
        if let Some(error) = answer.get("error") {
            bail!("node: {error}");
        }
        Ok(answer)
    }
}

impl Drop for NodeFetch {
    fn drop(&mut self) {
        // Closing its stdin ends the script's loop; a script stuck in a request is killed.
        drop(self.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nanos(answer: &Value) -> Result<Duration> {
    let ns = answer["ns"].as_u64().context("node's answer has no time")?;
    Ok(Duration::from_nanos(ns))
}

/// A directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("pbi-bench-node-{}", std::process::id()));
        std::fs::create_dir_all(&dir).context("making a temporary directory")?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
