//! Generated files stay generated: `component-manifest.json`, `docs/reference/*.md` and
//! `docs/example-payloads.json` must equal what the built component and the local service
//! produce now. To regenerate after a change of the definition:
//! `UPDATE_GENERATED=1 cargo test --test generated` (never under CI).

mod common;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use common::{Harness, sales_columns};
use serde_json::{Map, Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares a generated file with the checked-in one; writes it when asked to (or when it is
/// missing outside CI).
fn check_file(path: &Path, generated: &str) -> Result<()> {
    let update = std::env::var_os("UPDATE_GENERATED").is_some() && std::env::var_os("CI").is_none();
    let current = std::fs::read_to_string(path).ok();
    if current.as_deref() == Some(generated) {
        return Ok(());
    }
    if update || (current.is_none() && std::env::var_os("CI").is_none()) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, generated).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
        return Ok(());
    }
    bail!(
        "{} is out of date with the component; run `UPDATE_GENERATED=1 cargo test --test generated` and commit the result",
        path.display()
    )
}

/// Replaces what differs from run to run (ids, times, the service's address) with stable
/// stand-ins, so a captured answer can be checked in.
fn stabilize(value: &mut Value, base_url: &str, ids: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if s.contains(base_url) {
                *s = s.replace(base_url, "https://api.powerbi.com");
            }
            if let Some(stable) = replace_guids(s, ids) {
                *s = stable;
            }
            let looks_like_time = s.len() >= 20
                && s.as_bytes().get(4) == Some(&b'-')
                && s.as_bytes().get(10) == Some(&b'T');
            if looks_like_time {
                *s = "2026-01-01T00:00:00Z".into();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| stabilize(v, base_url, ids)),
        Value::Object(map) => {
            // Export job IDs are opaque and new each run.
            if let Some(id) = map.get_mut("exportId").filter(|id| id.is_string()) {
                *id = "export-job-id".into();
            }
            map.values_mut().for_each(|v| stabilize(v, base_url, ids))
        }
        _ => {}
    }
}

fn is_guid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Replaces every GUID inside `s` by a stable one numbered in order of first appearance.
fn replace_guids(s: &str, ids: &mut Vec<String>) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = String::new();
    let (mut i, mut last, mut changed) = (0, 0, false);
    while i + 36 <= bytes.len() {
        if is_guid(&bytes[i..i + 36]) {
            let guid = &s[i..i + 36];
            let n = ids.iter().position(|id| id == guid).unwrap_or_else(|| {
                ids.push(guid.to_string());
                ids.len() - 1
            });
            out.push_str(&s[last..i]);
            out.push_str(&format!("00000000-0000-4000-8000-{:012}", n + 1));
            i += 36;
            last = i;
            changed = true;
        } else {
            i += 1;
        }
    }
    changed.then(|| out + &s[last..])
}

/// Runs every action once against the local service and keeps what each answered.
fn capture_examples() -> Result<Map<String, Value>> {
    let h = Harness::new()?;
    let group = h.service.add_group("Sales Team");
    let _ = group;
    let id = h.create_dataset("Sales", sales_columns())?;
    h.service.add_report(None, "Sales Report", Some(&id));
    h.service.add_dashboard(None, "Sales Dashboard");
    // Each action runs its fixture. This order (the dataset first, rows before the listings)
    // keeps the examples' placeholder IDs stable; an action not named here runs after these.
    const FIRST: [&str; 17] = [
        "create-dataset",
        "create-rows",
        "list-tables",
        "list-datasets",
        "list-groups",
        "list-reports",
        "update-table",
        "execute-dax-query",
        "delete-rows",
        "raw-request",
        "get-dataset",
        "list-dashboards",
        "list-imports",
        "refresh-dataset",
        "get-refresh-history",
        "export-report-to-file",
        // Last: it deletes the dataset the others use.
        "delete-dataset",
    ];
    let mut plan: Vec<&str> = FIRST.to_vec();
    plan.extend(
        pbi_component::EXPORTED_ACTIONS
            .iter()
            .filter(|a| !FIRST.contains(a)),
    );
    let mut outputs: Vec<(&str, Value)> = Vec::new();
    for action in plan {
        let mut inputs = h.sample(action, &id)?;
        // The history of the dataset Refresh Dataset refreshed, so the example has an entry.
        if action == "get-refresh-history"
            && let Some((_, refreshed)) = outputs.iter().find(|(a, _)| *a == "refresh-dataset")
        {
            inputs["dataset-id"] = refreshed["datasetId"].clone();
        }
        outputs.push((action, h.ok(action, inputs)?));
    }
    let mut ids = Vec::new();
    let base = h.service.base_url();
    let mut examples = Map::new();
    for (action, mut data) in outputs {
        stabilize(&mut data, &base, &mut ids);
        examples.insert(action.to_string(), json!({ "data": data }));
    }
    let missing: Vec<String> = h
        .connector
        .definition()
        .actions
        .iter()
        .filter(|a| !examples.contains_key(&a.key))
        .map(|a| a.key.clone())
        .collect();
    if !missing.is_empty() {
        bail!("no example captured for {missing:?}");
    }
    // Sorted by key, so the file does not depend on the order above.
    Ok(examples
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect())
}

fn pretty(value: &Value) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

fn load_examples() -> Result<Map<String, Value>> {
    let text = std::fs::read_to_string(root().join("docs/example-payloads.json"))
        .context("docs/example-payloads.json (run the example capture test first)")?;
    Ok(serde_json::from_str(&text)?)
}

#[test]
fn example_payloads_come_from_the_service() -> Result<()> {
    let examples = capture_examples()?;
    check_file(
        &root().join("docs/example-payloads.json"),
        &pretty(&Value::Object(examples))?,
    )
}

#[test]
fn component_manifest_is_generated() -> Result<()> {
    let h = Harness::new()?;
    let manifest = pbi_host::manifest::manifest(h.connector.definition(), &load_examples()?);
    // Every action in the manifest has its schema and an example.
    for (key, action) in manifest["actions"].as_object().context("actions")? {
        if action.get("examplePayload").is_none() {
            bail!("{key} has no examplePayload");
        }
        if action["inputSchema"]["$schema"] != pbi_host::manifest::SCHEMA_DIALECT {
            bail!("{key} has no input schema");
        }
    }
    check_file(&root().join("component-manifest.json"), &pretty(&manifest)?)
}

#[test]
fn reference_docs_are_generated() -> Result<()> {
    let h = Harness::new()?;
    for (name, text) in pbi_host::manifest::reference_docs(
        h.connector.definition(),
        &load_examples()?,
        "the local Power BI service",
    ) {
        check_file(&root().join("docs/reference").join(name), &text)?;
    }
    Ok(())
}
