//! The disk cache of compiled components: a second load of an unchanged component comes from
//! the cache and works; a damaged cache file is replaced; a changed component is a new key.

mod support;

use anyhow::{Context, Result, ensure};
use pbi_host::{Connector, HostConfig};
use support::TempDir;

fn config(dir: &std::path::Path) -> HostConfig {
    HostConfig {
        cache_dir: Some(dir.to_path_buf()),
        ..HostConfig::default()
    }
}

#[test]
fn second_load_comes_from_the_cache() -> Result<()> {
    let dir = TempDir::new()?;
    let first = Connector::load(pbi_component::connector_wasm(), config(dir.path()))
        .context("first load")?;
    ensure!(!first.from_cache(), "nothing cached yet");
    let files: Vec<_> = std::fs::read_dir(dir.path())?.collect::<Result<_, _>>()?;
    ensure!(files.len() == 1, "one compiled artifact: {files:?}");
    let file = files[0].path();
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file)?.permissions());
    ensure!(
        mode & 0o077 == 0,
        "only the user may read the artifact: {mode:o}"
    );
    let second = Connector::load(pbi_component::connector_wasm(), config(dir.path()))
        .context("second load")?;
    ensure!(
        second.from_cache(),
        "the second load reuses the compiled form"
    );
    ensure!(second.definition() == first.definition(), "same component");
    // The cached component runs: an input error is answered by the definition checks, a
    // real call by the guest (its egress is closed, so it fails as transport, not as a trap).
    let closed = HostConfig {
        allow_hosts: Some(Vec::new()),
        ..config(dir.path())
    };
    let third = Connector::load(pbi_component::connector_wasm(), closed)?;
    let call = third.invoke(
        "list-groups",
        &serde_json::json!({"client-id": "c", "client-secret": "s", "access-token": "t"}),
        &serde_json::json!({}),
    )?;
    ensure!(
        call.result.as_ref().err().map(|e| e.kind) == Some(pbi_host::ErrorKind::Transport),
        "{:?}",
        call.result
    );
    Ok(())
}

#[test]
fn a_damaged_artifact_is_replaced() -> Result<()> {
    let dir = TempDir::new()?;
    Connector::load(pbi_component::connector_wasm(), config(dir.path()))?;
    let file = std::fs::read_dir(dir.path())?
        .next()
        .context("artifact")??
        .path();
    std::fs::write(&file, b"not a compiled component")?;
    let again = Connector::load(pbi_component::connector_wasm(), config(dir.path()))
        .context("load past a damaged file")?;
    ensure!(!again.from_cache(), "the damaged file was not used");
    ensure!(
        Connector::load(pbi_component::connector_wasm(), config(dir.path()))?.from_cache(),
        "and it was replaced"
    );
    Ok(())
}

#[test]
fn the_key_follows_the_bytes() -> Result<()> {
    let engine = wasmtime::Engine::default();
    let a = pbi_host::cache::key(&engine, b"one");
    ensure!(a == pbi_host::cache::key(&engine, b"one"), "stable");
    ensure!(
        a != pbi_host::cache::key(&engine, b"two"),
        "content-addressed"
    );
    Ok(())
}

/// Under cargo, `.cargo/config.toml` sets `PBI_CACHE_DIR` and the default configuration caches
/// there, so the tests compile the component once (the dev profile's Cranelift is not
/// optimised: a compile takes seconds there).
#[test]
fn the_default_configuration_caches_where_pbi_cache_dir_says() -> Result<()> {
    let dir = std::env::var_os("PBI_CACHE_DIR")
        .context("cargo sets PBI_CACHE_DIR for tests (.cargo/config.toml, [env])")?;
    let default = HostConfig::default().cache_dir;
    ensure!(
        default.as_deref() == Some(std::path::Path::new(&dir)),
        "HostConfig::default().cache_dir is {default:?}, not {dir:?}"
    );
    let connector = Connector::load(pbi_component::connector_wasm(), HostConfig::default())?;
    let again = Connector::load(pbi_component::connector_wasm(), HostConfig::default())?;
    ensure!(
        again.from_cache(),
        "the second default load compiled again (first from cache: {})",
        connector.from_cache()
    );
    Ok(())
}
