//! A disk cache of compiled components, so a CLI start does not recompile an unchanged
//! component (compiling takes a few hundred milliseconds; loading the compiled form, well
//! under one).
//!
//! The key is the SHA-256 of the component's bytes plus wasmtime's precompile
//! compatibility hash of the engine configuration, so a new component, a new wasmtime or a
//! changed engine setting never loads a stale artifact. Files are written atomically (a
//! temporary file renamed into place) in a directory only the user can use, because
//! deserializing a compiled artifact trusts its contents.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The default cache folder: `$PBI_CACHE_DIR`, else `$XDG_CACHE_HOME/pbi`, else
/// `~/.cache/pbi`; `None` when none of these can be found.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PBI_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from)
        && dir.is_absolute()
    {
        return Some(dir.join("pbi"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("pbi"))
}

/// The cache file of these component bytes on this engine.
pub fn key(engine: &Engine, bytes: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:x}-{:016x}.cwasm", Sha256::digest(bytes), hasher.finish())
}

/// Loads the compiled component from `dir` if it is there and usable, else compiles it and
/// stores it. Returns the component and whether it came from the cache. Cache failures are
/// not errors: the component is compiled as if there were no cache.
pub fn load_or_compile(
    engine: &Engine,
    bytes: &[u8],
    dir: &Path,
) -> wasmtime::Result<(Component, bool)> {
    let path = dir.join(key(engine, bytes));
    if path.is_file() {
        // SAFETY: the file was written by `store` below from `Component::serialize` of these
        // very bytes on a compatible engine (the name says so), in a folder created for this
        // user only; a damaged file fails to deserialize and is replaced.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok((component, true));
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Ok(compiled) = component.serialize() {
        let _ = store(dir, &path, &compiled);
    }
    Ok((component, false))
}

fn store(dir: &Path, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let temp = dir.join(format!(".{}.{}.tmp", std::process::id(), rand_suffix()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(compiled)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ (std::thread::current().id().as_u64_compat())
}

/// `ThreadId::as_u64` is unstable; a hash of the id does as well for a file name.
trait ThreadIdCompat {
    fn as_u64_compat(&self) -> u64;
}

impl ThreadIdCompat for std::thread::ThreadId {
    fn as_u64_compat(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut hasher);
        hasher.finish()
    }
}
