//! Builds the workspace's components for wasm32-wasip2, so that tests, the `pbi` CLI and the
//! bench always load components built from the current sources:
//!
//! - the Power BI connector (the workspace's root package), exported as the compile-time
//!   variable `PBI_COMPONENT_WASM`; `PBI_HOST_PREBUILT_COMPONENT=/path/to/component.wasm`
//!   skips the build and uses that file instead (useful while the component does not compile);
//! - `crates/misbehave`, a component that misbehaves on purpose for the host's containment
//!   tests, exported as `PBI_MISBEHAVE_WASM` (`PBI_HOST_PREBUILT_MISBEHAVE` skips it the same
//!   way). It shares the connector's target directory and profile, so the wasm dependencies
//!   both use are compiled once.
//!
//! It also reads the contract (`wit/`) and writes `foreach_action.rs` into `OUT_DIR`: the
//! `foreach_action!` macro, which calls a macro once per function of the connector's exported
//! `actions` interface (see the crate docs).
//!
//! The connector's `.wasm` is finished after linking: the `component-name` section (names for
//! debuggers only) is dropped, as `strip = true` drops the core module's names.

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
        .expect("crates/component lives two levels below the workspace root")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));

    let wit = workspace.join("wit");
    println!("cargo:rerun-if-changed={}", wit.display());
    let actions = action_functions(&wit).unwrap_or_else(|error| {
        fail(&format!(
            "could not read the contract in {}: {error:#}",
            wit.display()
        ))
    });
    write_foreach_action(&out_dir.join("foreach_action.rs"), &actions);
    write_fixtures(
        &manifest_dir.join("fixtures"),
        &out_dir.join("fixtures.rs"),
        &actions,
    );

    let component = prebuilt("PBI_HOST_PREBUILT_COMPONENT").unwrap_or_else(|| {
        // The connector's sources, its path dependencies (crates/scan) and its locked
        // versions: a change to any of them changes the component.
        for watched in [
            "src",
            "crates/scan",
            "wit",
            "Cargo.toml",
            "Cargo.lock",
            ".cargo/config.toml",
        ] {
            println!(
                "cargo:rerun-if-changed={}",
                workspace.join(watched).display()
            );
        }
        let linked = build(&workspace, COMPONENT_PACKAGE, COMPONENT_FILE);
        let finished = out_dir.join(COMPONENT_FILE);
        if let Err(error) = finish(&linked, &finished) {
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
            "Cargo.lock",
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

/// The connector's world in `wit/`.
const WORLD: &str = "connector";
/// The interface of the world's exports that holds one function per action.
const ACTIONS_INTERFACE: &str = "actions";

/// The function names of the `actions` interface the connector's world exports, in the
/// order the WIT declares them.
fn action_functions(wit: &Path) -> anyhow::Result<Vec<String>> {
    use anyhow::Context as _;
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve.push_dir(wit)?;
    let world = resolve
        .select_world(&[package], Some(WORLD))
        .with_context(|| format!("no world `{WORLD}`"))?;
    for item in resolve.worlds[world].exports.values() {
        if let wit_parser::WorldItem::Interface { id, .. } = item
            && resolve.interfaces[*id].name.as_deref() == Some(ACTIONS_INTERFACE)
        {
            return Ok(resolve.interfaces[*id].functions.keys().cloned().collect());
        }
    }
    anyhow::bail!("the world `{WORLD}` exports no `{ACTIONS_INTERFACE}` interface")
}

/// Writes the `foreach_action!` macro: `foreach_action!(m)` expands to `m!(create_dataset);`
/// and so on, one line per exported action (its key with `_` for `-`).
fn write_foreach_action(out: &Path, actions: &[String]) {
    let mut text = String::from(
        "/// Calls `$mac!(action)` once per function of the connector's `actions` interface,\n\
         /// named as the WIT names it with `_` for `-`. Generated from `wit/` by the build script.\n\
         #[macro_export]\nmacro_rules! foreach_action {\n    ($mac:ident) => {\n",
    );
    for action in actions {
        text.push_str(&format!("        $mac!({});\n", action.replace('-', "_")));
    }
    text.push_str(
        "    };\n}\n\n/// The keys of the connector's exported actions, as the WIT names them.\n",
    );
    text.push_str(&format!(
        "pub const EXPORTED_ACTIONS: &[&str] = &{actions:?};\n"
    ));
    if let Err(error) = std::fs::write(out, text) {
        fail(&format!("could not write {}: {error}", out.display()));
    }
}

/// Writes `fixtures.rs`: the sample inputs of every action (`fixtures/<action>.json`),
/// included in the crate. An action without its fixture fails the build.
fn write_fixtures(dir: &Path, out: &Path, actions: &[String]) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut text = String::from(
        "/// Every action's sample inputs, as JSON text, from `fixtures/<action>.json`.\n\
         pub const FIXTURES: &[(&str, &str)] = &[\n",
    );
    for action in actions {
        let file = dir.join(format!("{action}.json"));
        if !file.is_file() {
            fail(&format!(
                "the action `{action}` has no sample inputs: add {} (see docs/architecture.md, \
                 \"Adding an action\")",
                file.display()
            ));
        }
        text.push_str(&format!(
            "    ({action:?}, include_str!({:?})),\n",
            file.display().to_string()
        ));
    }
    text.push_str("];\n");
    if let Err(error) = std::fs::write(out, text) {
        fail(&format!("could not write {}: {error}", out.display()));
    }
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

/// The custom section that carries names for the component's items; only debuggers read it.
const COMPONENT_NAME_SECTION: &str = "component-name";

/// Writes the linked component `linked` to `out` without its `component-name` section.
fn finish(linked: &Path, out: &Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use wasmparser::{Parser, Payload};

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
