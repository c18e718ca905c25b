//! A [`CallObserver`] sees every call's phases, timed by the host itself (the bench relies on
//! it). The guest is `crates/misbehave`.

use anyhow::{Context, Result, ensure};
use pbi_host::{CallObserver, CallStats, Connector, HostConfig};
use serde_json::json;
use std::sync::{Arc, Mutex};

/// Keeps every call's stats.
#[derive(Debug, Default)]
struct Collect(Mutex<Vec<CallStats>>);

impl CallObserver for Collect {
    fn finished(&self, stats: &CallStats) {
        self.0.lock().expect("not poisoned").push(stats.clone());
    }
}

#[test]
fn the_observer_sees_each_call_with_its_phases() -> Result<()> {
    let observer = Arc::new(Collect::default());
    let connector = Connector::load(
        pbi_component::misbehave_wasm(),
        HostConfig {
            observer: Some(observer.clone()),
            ..HostConfig::default()
        },
    )?;
    // Loading calls `describe` twice (typed, and once more for its JSON).
    let seen = |observer: &Collect| observer.0.lock().expect("not poisoned").clone();
    let loaded = seen(&observer);
    ensure!(
        loaded
            .iter()
            .all(|s| s.function == "describe" && s.completed),
        "{loaded:?}"
    );

    let done = connector.invoke("return-at-once", &json!({}), &json!({}))?;
    ensure!(done.result.is_ok(), "{:?}", done.result);
    let stats = seen(&observer).last().cloned().context("no stats")?;
    ensure!(
        stats.function == "return-at-once" && stats.completed,
        "{stats:?}"
    );
    ensure!(stats.instantiate > std::time::Duration::ZERO, "{stats:?}");
    ensure!(
        stats.peak_memory_bytes >= 64 * 1024 && !stats.initial_memory_bytes.is_empty(),
        "{stats:?}"
    );
    // Host calls are counted with the `observe` feature (the bench turns it on) and cost
    // nothing without it. `fetch` calls wasi:http (its host is refused by the egress policy).
    let fetched = connector.invoke(
        "fetch",
        &json!({}),
        &json!({"url": "http://fetch.invalid/"}),
    )?;
    ensure!(fetched.result.is_err(), "{:?}", fetched.result);
    let stats = seen(&observer).last().cloned().context("no stats")?;
    ensure!(stats.function == "fetch", "{stats:?}");
    if cfg!(feature = "observe") {
        ensure!(stats.host_calls > 0, "{stats:?}");
    } else {
        ensure!(stats.host_calls == 0, "{stats:?}");
    }
    let trapped = connector.invoke("panic", &json!({}), &json!({}));
    ensure!(trapped.is_err(), "the panic is a host error");
    let stats = seen(&observer).last().cloned().context("no stats")?;
    ensure!(stats.function == "panic" && !stats.completed, "{stats:?}");

    // Without an observer nothing is kept (and nothing is called).
    let quiet = Connector::load(pbi_component::misbehave_wasm(), HostConfig::default())?;
    let before = seen(&observer).len();
    quiet.invoke("return-at-once", &json!({}), &json!({}))?;
    ensure!(seen(&observer).len() == before);
    Ok(())
}
