//! Builds the workspace's connector component for wasm32-wasip2, so that the tests and the
//! `pbi` CLI always load a component built from the current sources.
//!
//! The path of the built `.wasm` is exported as the compile-time variable
//! `PBI_COMPONENT_WASM`. Set `PBI_HOST_PREBUILT_COMPONENT=/path/to/component.wasm` to skip the
//! build and bundle that file instead (useful while the component does not compile).
//!
//! The connector's `.wasm` is finished after linking (see [`finish`]): the WIT's doc comments go
//! into a `package-docs` custom section, so `wasm-tools component wit` prints them, and the
//! `component-name` section is dropped, as `strip = true` drops the core module's names.
//!
//! It also builds `crates/misbehave`, a small component that misbehaves on purpose for the
//! containment tests, and exports its path as `PBI_MISBEHAVE_WASM`
//! (`PBI_HOST_PREBUILT_MISBEHAVE` skips that build the same way). It shares the component's
//! target directory and profile, so the wasm dependencies both use are compiled once.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The component's package in the workspace.
const COMPONENT_PACKAGE: &str = "powerbi-connector";
/// The file cargo writes for that package (its name with `_`).
const COMPONENT_FILE: &str = "powerbi_connector.wasm";
/// The misbehaving test component's package and file.
const MISBEHAVE_PACKAGE: &str = "misbehave";
const MISBEHAVE_FILE: &str = "misbehave.wasm";
/// The size-optimised profile defined in the workspace's Cargo.toml.
const PROFILE: &str = "component";
const TARGET: &str = "wasm32-wasip2";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");

    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let workspace = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("crates/host lives two levels below the workspace root")
        .to_path_buf();

    let component = prebuilt("PBI_HOST_PREBUILT_COMPONENT").unwrap_or_else(|| {
        for watched in ["src", "wit", "Cargo.toml", ".cargo/config.toml"] {
            println!(
                "cargo:rerun-if-changed={}",
                workspace.join(watched).display()
            );
        }
        let linked = build(&workspace, COMPONENT_PACKAGE, COMPONENT_FILE);
        let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));
        let finished = out_dir.join(COMPONENT_FILE);
        if let Err(error) = finish(&workspace.join("wit"), &linked, &finished) {
            fail(&format!(
                "could not finish the component {}: {error:#}",
                linked.display()
            ));
        }
        finished
    });
    export("PBI_COMPONENT_WASM", &component);

    // Built after the connector, one at a time: a single `cargo build -p a -p b` would unify
    // their dependencies' features and could change (and rebuild) the connector itself.
    let misbehave = prebuilt("PBI_HOST_PREBUILT_MISBEHAVE").unwrap_or_else(|| {
        for watched in [
            "crates/misbehave",
            "wit",
            "Cargo.toml",
            ".cargo/config.toml",
        ] {
            println!(
                "cargo:rerun-if-changed={}",
                workspace.join(watched).display()
            );
        }
        build(&workspace, MISBEHAVE_PACKAGE, MISBEHAVE_FILE)
    });
    export("PBI_MISBEHAVE_WASM", &misbehave);
}

/// The file the environment variable `var` names, if it is set: bundled instead of a build.
fn prebuilt(var: &str) -> Option<PathBuf> {
    println!("cargo:rerun-if-env-changed={var}");
    let path = PathBuf::from(env::var_os(var).filter(|p| !p.is_empty())?);
    println!("cargo:rerun-if-changed={}", path.display());
    Some(path)
}

/// Builds `package` for wasm32-wasip2 with the component profile; returns the path of its
/// `.wasm` (`file`).
fn build(workspace: &Path, package: &str, file: &str) -> PathBuf {
    ensure_target_installed();

    // Its own target directory: the outer cargo holds the lock on `target/`, so sharing it
    // would deadlock.
    let target_dir = workspace.join("target").join("component-build");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "-p", package, "--target", TARGET])
        .args(["--profile", PROFILE])
        .env("CARGO_TARGET_DIR", &target_dir)
        // The outer build's flags and wrappers (clippy-driver, coverage, sanitizers) are for
        // the host, not for the wasm guest.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        // Piped, not inherited: a build script's stdout is read by cargo as directives.
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in env::vars_os() {
        if key.to_string_lossy().starts_with("CARGO_PROFILE_") {
            command.env_remove(key);
        }
    }

    let output = match command.output() {
        Ok(output) => output,
        Err(error) => fail(&format!(
            "could not run cargo to build the component {package}: {error}"
        )),
    };
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        fail(&format!(
            "building the component ({package} for {TARGET}) failed with {}",
            output.status
        ));
    }

    let wasm = target_dir.join(TARGET).join(PROFILE).join(file);
    if !wasm.is_file() {
        fail(&format!(
            "the component build succeeded but {} is missing",
            wasm.display()
        ));
    }
    wasm
}

/// The name wit-parser gives a decoded component's world; its `package-docs` must use it.
const DECODED_WORLD: &str = "root";
/// The custom section that carries names for the component's items; only debuggers read it.
const COMPONENT_NAME_SECTION: &str = "component-name";

/// Writes the linked component `linked` to `out` with the doc comments of the WIT package in
/// `wit` as a `package-docs` custom section, and without its `component-name` section.
///
/// wit-component does not carry doc comments into a component, and wit-parser applies a
/// component's `package-docs` to the package it names `root:component` and the world it names
/// `root` (which is why the WIT package has that name). The section is wit-parser's own
/// encoding of the package's docs, with the world renamed to match.
fn finish(wit: &Path, linked: &Path, out: &Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use wasmparser::{Parser, Payload};

    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(wit)
        .with_context(|| format!("reading the WIT in {}", wit.display()))?;
    let worlds = &mut resolve.packages[package].worlds;
    anyhow::ensure!(
        worlds.len() == 1,
        "the WIT package must define exactly one world, found {}",
        worlds.len()
    );
    let (_, world) = worlds.pop().expect("one world");
    worlds.insert(DECODED_WORLD.to_string(), world);
    resolve.worlds[world].name = DECODED_WORLD.to_string();
    let docs = wit_parser::PackageMetadata::extract(&resolve, package).encode()?;

    let bytes = std::fs::read(linked).with_context(|| format!("reading {}", linked.display()))?;
    let mut component = wasm_encoder::Component::new();
    // Only the outermost component's sections are copied (as they are); nested modules and
    // components are inside them. `depth` counts the headers seen minus the ends.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(&bytes) {
        let payload = payload.context("parsing the linked component")?;
        match &payload {
            Payload::Version { .. } => {
                depth += 1;
                continue;
            }
            Payload::End(_) => {
                depth -= 1;
                continue;
            }
            Payload::CustomSection(section) if section.name() == COMPONENT_NAME_SECTION => {
                continue;
            }
            _ => {}
        }
        if depth == 1
            && let Some((id, range)) = payload.as_section()
        {
            component.section(&wasm_encoder::RawSection {
                id,
                data: &bytes[range],
            });
        }
    }
    component.section(&wasm_encoder::CustomSection {
        name: wit_parser::PackageMetadata::SECTION_NAME.into(),
        data: docs.into(),
    });
    std::fs::write(out, component.finish()).with_context(|| format!("writing {}", out.display()))
}

/// Tells rustc where a component is, as the compile-time variable `var`.
fn export(var: &str, path: &Path) {
    println!("cargo:rustc-env={var}={}", path.display());
}

/// Adds the wasm32-wasip2 target when rustup lacks it: a `rust-toolchain.toml` listing it
/// does not make cargo install it, and `rustup target add` is idempotent.
fn ensure_target_installed() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let Ok(installed) = installed else {
        // No rustup: the toolchain is managed some other way; the build will say if the
        // target is missing.
        return;
    };
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == TARGET)
    {
        return;
    }
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .stdout(Stdio::null())
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!(
            "`rustup target add {TARGET}` failed with {status}"
        )),
        Err(error) => fail(&format!(
            "could not run `rustup target add {TARGET}`: {error}"
        )),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
