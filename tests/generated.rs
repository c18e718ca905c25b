//! Generated files stay generated: `component-manifest.json`, `docs/reference/*.md` and
//! `docs/example-payloads.json` must equal what the built component and the local service
//! produce now. To regenerate after a change of the definition:
//! `UPDATE_GENERATED=1 cargo test --test generated` (never under CI; run it twice when the
//! examples change, since the manifest and the docs are made from the examples file).
//!
//! `docs/example-payloads.json` holds, per action, the example inputs (the fixture as a form
//! submits it), the output they gave and the schema of the action's outputs. The rules of
//! the inputs that the component checks beyond their type (a `pattern`, a `max-length`) come
//! from its definition; the tests here check that the manifest's schemas take the examples
//! and refuse what the component refuses.

mod common;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
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

/// The schema of `action`'s outputs: inferred from what it answered, and open where the
/// answer depends on the request rather than on the action.
fn output_schema(action: &str, samples: &[&Value]) -> Value {
    let mut schema = pbi_host::manifest::infer_schema(samples);
    match action {
        "raw-request" => {
            schema = json!({
                "$schema": pbi_host::manifest::SCHEMA_DIALECT,
                "description": "The answer's body: with Response Type json the JSON the API \
                    answered (or its text when it is not JSON), with text the body as a string, \
                    with binary {contentType, size} (the bytes are in the output's http record).",
            });
        }
        "execute-dax-query" => {
            schema["properties"]["rows"]["items"] = json!({
                "type": "object",
                "description": "One row of the result table: each column's name and value.",
                "additionalProperties": true,
            });
            schema["properties"]["raw"] = json!({
                "type": "object",
                "description": "The service's answer to the query, as it came.",
                "additionalProperties": true,
            });
        }
        _ => {}
    }
    schema
}

/// What one action was given and answered, captured for the examples file.
struct Captured {
    action: String,
    input: Value,
    output: Value,
    /// More outputs, of other inputs, that the output schema must take too.
    more: Vec<Value>,
}

/// Runs every action once against the local service, with its fixture as a form submits it,
/// and keeps what each was given and answered.
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
    let definition = h.connector.definition().clone();
    let mut captured: Vec<Captured> = Vec::new();
    for action in plan {
        let inputs_of = definition
            .action(action)
            .with_context(|| format!("{action} is not defined"))?
            .inputs
            .clone();
        let mut sample = h.sample(action, &id)?;
        // The history of the dataset Refresh Dataset refreshed, so the example has an entry.
        if action == "get-refresh-history"
            && let Some(refreshed) = captured.iter().find(|c| c.action == "refresh-dataset")
        {
            sample["dataset-id"] = refreshed.output["datasetId"].clone();
        }
        let input = pbi_host::manifest::form_values(&inputs_of, &sample);
        let output = h.ok(action, input.clone())?;
        let mut more = Vec::new();
        // Without waiting, a refresh answers as soon as it is accepted.
        if action == "refresh-dataset" {
            let mut at_once = input.clone();
            at_once["wait-for-completion"] = json!(false);
            more.push(h.ok(action, at_once)?);
        }
        captured.push(Captured {
            action: action.to_string(),
            input,
            output,
            more,
        });
    }
    let mut ids = Vec::new();
    let base = h.service.base_url();
    let mut examples = Map::new();
    for mut c in captured {
        stabilize(&mut c.input, &base, &mut ids);
        stabilize(&mut c.output, &base, &mut ids);
        c.more
            .iter_mut()
            .for_each(|m| stabilize(m, &base, &mut ids));
        ensure!(
            definition.action(&c.action).is_some(),
            "no action {}",
            c.action
        );
        let samples: Vec<&Value> = std::iter::once(&c.output).chain(&c.more).collect();
        let entry = json!({
            "input": c.input,
            "output": c.output,
            "outputSchema": output_schema(&c.action, &samples),
        });
        examples.insert(c.action, entry);
    }
    let missing: Vec<String> = definition
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

/// The manifest made from the built component and the examples file.
fn current_manifest() -> Result<(Harness, Value)> {
    let h = Harness::new()?;
    let manifest = pbi_host::manifest::manifest(h.connector.definition(), &load_examples()?);
    Ok((h, manifest))
}

fn draft7(schema: &Value) -> Result<jsonschema::Validator> {
    jsonschema::draft7::new(schema).map_err(|e| anyhow::anyhow!("{e}: {schema}"))
}

fn actions(manifest: &Value) -> Result<&Map<String, Value>> {
    manifest["actions"].as_object().context("actions")
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
    let (_h, manifest) = current_manifest()?;
    // Every action in the manifest has its schemas, form layouts and examples.
    for (key, action) in actions(&manifest)? {
        for field in [
            "inputSchema",
            "uiSchema",
            "uischema",
            "outputSchema",
            "exampleInputs",
            "exampleOutput",
        ] {
            ensure!(action.get(field).is_some(), "{key} has no {field}");
        }
        ensure!(
            action["inputSchema"]["$schema"] == pbi_host::manifest::SCHEMA_DIALECT
                && action["outputSchema"]["$schema"] == pbi_host::manifest::SCHEMA_DIALECT,
            "{key}: schemas of another dialect"
        );
        ensure!(action.get("examplePayload").is_none(), "{key}");
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

/// Every action's example inputs are valid against its input schema and its example output
/// against its output schema (draft-07, as a form library validates); the connections'
/// schemas are draft-07 too.
#[test]
fn examples_are_valid_against_the_schemas() -> Result<()> {
    let (_h, manifest) = current_manifest()?;
    for (key, action) in actions(&manifest)? {
        let inputs = draft7(&action["inputSchema"])?;
        for example in action["exampleInputs"]
            .as_array()
            .context("exampleInputs")?
        {
            if let Some(error) = inputs.iter_errors(example).next() {
                bail!("{key}: the example inputs do not match the input schema: {error}");
            }
        }
        let outputs = draft7(&action["outputSchema"])?;
        if let Some(error) = outputs.iter_errors(&action["exampleOutput"]).next() {
            bail!("{key}: the example output does not match the output schema: {error}");
        }
        ensure!(
            action["exampleOutput"].get("data").is_none() || key == "raw-request",
            "{key}: the example output is wrapped"
        );
    }
    for connection in manifest["connections"].as_array().context("connections")? {
        ensure!(connection["schema"]["$schema"] == pbi_host::manifest::SCHEMA_DIALECT);
        draft7(&connection["schema"])?;
    }
    Ok(())
}

/// The manifest's input types are the WIT's names, the same as the definition's.
#[test]
fn the_manifest_says_the_wit_input_types() -> Result<()> {
    const WIT: [&str; 8] = [
        "string",
        "password",
        "boolean",
        "integer",
        "code",
        "picklist",
        "key-value-list",
        "file-list",
    ];
    let (h, manifest) = current_manifest()?;
    let definition = h.connector.definition_json();
    let mut seen = std::collections::BTreeSet::new();
    for action in definition["actions"].as_array().context("actions")? {
        let key = action["key"].as_str().context("key")?;
        let listed = manifest["actions"][key]["inputs"]
            .as_array()
            .context("inputs")?;
        let defined = action["inputs"].as_array().context("inputs")?;
        ensure!(listed.len() == defined.len(), "{key}");
        for (listed, defined) in listed.iter().zip(defined) {
            let ty = listed["type"].as_str().context("type")?;
            ensure!(WIT.contains(&ty), "{key}: {listed}");
            ensure!(
                listed["type"] == defined["type"],
                "{key}: {listed} vs {defined}"
            );
            ensure!(listed.get("collection").is_none(), "{key}: {listed}");
            seen.insert(ty.to_string());
        }
    }
    ensure!(
        seen.contains("key-value-list") && seen.contains("file-list"),
        "{seen:?}"
    );
    Ok(())
}

/// Every picklist, of every action and connection, is a `oneOf` of `{const, title}` with the
/// choices' values and labels, so forms show the labels.
#[test]
fn every_picklist_is_a_one_of_with_titles() -> Result<()> {
    let (_h, manifest) = current_manifest()?;
    let mut forms: Vec<(String, &Value, &Value)> = Vec::new();
    for (key, action) in actions(&manifest)? {
        forms.push((key.clone(), &action["inputs"], &action["inputSchema"]));
    }
    for c in manifest["connections"].as_array().context("connections")? {
        forms.push((c["key"].to_string(), &c["inputs"], &c["schema"]));
    }
    let mut picklists = 0;
    for (form, inputs, schema) in forms {
        for input in inputs.as_array().context("inputs")? {
            if input["type"] != "picklist" {
                continue;
            }
            picklists += 1;
            let property = &schema["properties"][input["key"].as_str().context("key")?];
            ensure!(property.get("enum").is_none(), "{form}: {property}");
            let expected: Vec<Value> = input["choices"]
                .as_array()
                .context("choices")?
                .iter()
                .map(|c| json!({"const": c["value"], "title": c["label"]}))
                .collect();
            ensure!(property["oneOf"] == json!(expected), "{form}: {property}");
        }
    }
    ensure!(picklists >= 3, "only {picklists} picklists");
    // Response Type shows its label.
    let response_type =
        &manifest["actions"]["raw-request"]["inputSchema"]["properties"]["response-type"];
    ensure!(
        response_type["oneOf"][0] == json!({"const": "json", "title": "JSON"}),
        "{response_type}"
    );
    Ok(())
}

/// The schemas require every input the definition marks required (Raw Request's URL and
/// Response Type among them, though they have defaults), and refuse inputs without one.
#[test]
fn the_schemas_refuse_a_missing_required_input() -> Result<()> {
    let (h, manifest) = current_manifest()?;
    let raw = &manifest["actions"]["raw-request"]["inputSchema"]["required"];
    for key in ["url", "method", "response-type"] {
        ensure!(
            raw.as_array().is_some_and(|r| r.contains(&json!(key))),
            "{raw}"
        );
    }
    let columns = &manifest["actions"]["create-dataset"]["inputSchema"]["properties"]["columns"];
    ensure!(
        columns["type"] == "string"
            && columns["contentMediaType"] == "application/json"
            && columns["minLength"] == 1,
        "{columns}"
    );
    let mut refused = 0;
    for action in &h.connector.definition().actions {
        let entry = &manifest["actions"][&action.key];
        let schema = draft7(&entry["inputSchema"])?;
        let example = &entry["exampleInputs"][0];
        for input in action.inputs.iter().filter(|i| i.required) {
            let mut missing = example.clone();
            missing
                .as_object_mut()
                .context("object")?
                .remove(&input.key);
            ensure!(
                !schema.is_valid(&missing),
                "{}: the schema takes inputs without {}",
                action.key,
                input.key
            );
            if input.type_ != pbi_host::InputType::Boolean
                && input.type_ != pbi_host::InputType::Integer
                && input.type_ != pbi_host::InputType::Picklist
            {
                let mut blank = example.clone();
                blank[&input.key] = json!("  ");
                ensure!(
                    !schema.is_valid(&blank),
                    "{}: the schema takes a blank {}",
                    action.key,
                    input.key
                );
            }
            refused += 1;
        }
    }
    ensure!(refused > 10, "only {refused} required inputs");
    Ok(())
}

/// The connection schemas refuse what the component refuses too: the service principal's
/// Tenant ID (its definition's `pattern`) is refused by the schema and by the component
/// (naming the input, before any token request) for a multi-tenant name or a character no
/// tenant has, and taken by both for a tenant ID or a domain name (which the component asks a
/// token for).
#[test]
fn connection_schemas_refuse_what_the_component_refuses() -> Result<()> {
    let (h, manifest) = current_manifest()?;
    let connections = manifest["connections"].as_array().context("connections")?;
    let sp = connections
        .iter()
        .find(|c| c["key"] == "service-principal")
        .context("the service principal connection")?;
    ensure!(
        sp["inputs"]
            .as_array()
            .context("inputs")?
            .iter()
            .any(|i| i["key"] == "tenant-id" && i["pattern"].is_string()),
        "no pattern on tenant-id: {}",
        sp["inputs"]
    );
    let schema = draft7(&sp["schema"])?;
    let tenant = h.service.tenant_id();
    let connection = |tenant: &str| {
        json!({
            "connection": "service-principal",
            "tenant-id": tenant,
            "client-id": "pbi-local-sp",
            "client-secret": "pbi-local-sp-secret",
        })
    };
    let padded = format!(" {tenant} ");
    let good = [tenant.as_str(), padded.as_str(), "contoso.onmicrosoft.com"];
    let bad = [
        "common",
        " Organizations ",
        "CONSUMERS",
        "contoso/oauth2",
        "contoso onmicrosoft.com",
        "été.example",
    ];
    for (value, takes) in good
        .iter()
        .map(|v| (v, true))
        .chain(bad.iter().map(|v| (v, false)))
    {
        let connection = connection(value);
        ensure!(
            schema.is_valid(&connection) == takes,
            "the schema {} tenant-id {value:?}",
            if takes { "refuses" } else { "takes" }
        );
        let before = h.service.token_requests().len();
        let invocation = h.connector.invoke("list-groups", &connection, &json!({}))?;
        let asked = h.service.token_requests().len() > before;
        let error = invocation.result.err();
        if takes {
            // A token the host kept for an equal connection serves as well as a new one.
            ensure!(
                asked || error.is_none(),
                "the component refuses tenant-id {value:?}: {error:?}"
            );
        } else {
            ensure!(
                !asked
                    && error.as_ref().is_some_and(|e| {
                        e.kind == pbi_host::ErrorKind::InvalidInput
                            && e.input.as_deref() == Some("tenant-id")
                    }),
                "the component takes tenant-id {value:?}: {error:?}"
            );
        }
    }
    Ok(())
}

/// Values each rule refuses and values it takes, by input key.
fn probes(key: &str) -> (Vec<String>, Vec<String>) {
    let guid = "cfafbeb1-8037-4d0c-896e-a46fb27ff229";
    let bad_ids = [
        "nope",
        "cfafbeb1-8037-4d0c-896e-a46fb27ff22",
        "cfafbeb1-8037-4d0c-896e-a46fb27ff22g",
        "cfafbeb18037-4d0c-896e-a46fb27ff2299",
        "../datasets",
        "cfafbeb1-8037-4d0c-896e-a46fb27ff229/rows",
    ];
    let strings = |values: &[&str]| values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
    match key {
        "dataset-id" | "report-id" => (
            strings(&bad_ids),
            strings(&[guid, " CFAFBEB1-8037-4D0C-896E-A46FB27FF229 "]),
        ),
        "workspace" => (
            strings(&[&bad_ids[..], &["My Workspace", "me"]].concat()),
            strings(&["", guid]),
        ),
        "table-name" => (
            vec![
                "a/b".into(),
                "a.b".into(),
                "a?b".into(),
                "Sales (2026)".into(),
                "x".repeat(101),
            ],
            vec![
                "Sales #1".into(),
                "Ventes été".into(),
                "a-b@c^d_e~f".into(),
                "x".repeat(100),
            ],
        ),
        _ => (Vec::new(), Vec::new()),
    }
}

/// The schemas refuse what the component refuses: for every action and every input whose
/// definition has a rule (`pattern`, `max-length`), values the component refuses before it
/// sends anything are refused by the schema (a dataset ID `nope`, a table name `a/b`), and
/// values the component sends on are taken.
#[test]
fn schemas_refuse_what_the_component_refuses() -> Result<()> {
    let (h, manifest) = current_manifest()?;
    let id = h.create_dataset("Sales", sales_columns())?;
    let mut checked = 0;
    let mut ruled = std::collections::BTreeSet::new();
    for action in &h.connector.definition().actions {
        let schema = draft7(&manifest["actions"][&action.key]["inputSchema"])?;
        let sample = h.sample(&action.key, &id)?;
        let base = pbi_host::manifest::form_values(&action.inputs, &sample);
        ensure!(schema.is_valid(&base), "{}: {base}", action.key);
        let keys = action
            .inputs
            .iter()
            .filter(|i| i.pattern.is_some() || i.max_length.is_some())
            .map(|i| &i.key);
        for key in keys {
            ruled.insert(key.clone());
            let (bad, good) = probes(key);
            ensure!(!bad.is_empty(), "no probes for {key}");
            for value in bad {
                let mut inputs = base.clone();
                inputs[key] = json!(value);
                ensure!(
                    !schema.is_valid(&inputs),
                    "{}: the schema takes {key} {value:?}",
                    action.key
                );
                let invocation = h.run(&action.key, inputs)?;
                let error = invocation.result.err();
                ensure!(
                    error.as_ref().is_some_and(|e| {
                        e.kind == pbi_host::ErrorKind::InvalidInput
                            && e.input.as_deref() == Some(key.as_str())
                    }) && invocation.requests.is_empty(),
                    "{}: the component takes {key} {value:?}: {error:?}",
                    action.key
                );
                checked += 1;
            }
            for value in good {
                let mut inputs = base.clone();
                inputs[key] = json!(value);
                ensure!(
                    schema.is_valid(&inputs),
                    "{}: the schema refuses {key} {value:?}",
                    action.key
                );
                let invocation = h.run(&action.key, inputs)?;
                ensure!(
                    !invocation.requests.is_empty(),
                    "{}: the component refuses {key} {value:?}: {:?}",
                    action.key,
                    invocation.result.err()
                );
                checked += 1;
            }
        }
    }
    ensure!(checked > 50, "only {checked} probes");
    // The rules the definition declares are the ones the component has always checked.
    ensure!(
        ruled
            .iter()
            .map(String::as_str)
            .eq(["dataset-id", "report-id", "table-name", "workspace"]),
        "rules on {ruled:?}"
    );
    Ok(())
}

/// Key/value lists in the rows a form gives (`[{"key", "value"}]`) are what the schema
/// describes, and the host and the component take them.
#[test]
fn key_value_rows_from_a_form_reach_the_component() -> Result<()> {
    let (h, manifest) = current_manifest()?;
    let raw = &manifest["actions"]["raw-request"];
    let headers = &raw["inputSchema"]["properties"]["headers"];
    ensure!(
        headers["type"] == "array" && headers["items"]["required"] == json!(["key", "value"]),
        "{headers}"
    );
    let mut inputs = raw["exampleInputs"][0].clone();
    inputs["query-params"] = json!([{"key": "$top", "value": "1"}]);
    inputs["headers"] = json!([{"key": "X-Form-Row", "value": "yes"}]);
    ensure!(draft7(&raw["inputSchema"])?.is_valid(&inputs), "{inputs}");
    let invocation = h.run("raw-request", inputs)?;
    ensure!(invocation.result.is_ok(), "{:?}", invocation.result);
    let request = invocation.requests.last().context("a request")?;
    ensure!(
        request.url.contains("top=1")
            && request
                .headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("x-form-row") && v == "yes"),
        "{request:?}"
    );
    Ok(())
}

/// One action's forms, structurally: Create Dataset's inputs in order, Columns a text area
/// in both form libraries, the workspace a plain string with its picker.
#[test]
fn create_dataset_forms_render_its_inputs_in_order() -> Result<()> {
    let (h, manifest) = current_manifest()?;
    let action = &manifest["actions"]["create-dataset"];
    let keys: Vec<Value> = h
        .connector
        .definition()
        .action("create-dataset")
        .context("create-dataset")?
        .inputs
        .iter()
        .map(|i| json!(i.key))
        .collect();
    let ui = &action["uiSchema"];
    ensure!(ui["ui:order"] == json!(keys), "{ui}");
    ensure!(ui["columns"]["ui:widget"] == "textarea", "{ui}");
    let uischema = &action["uischema"];
    ensure!(uischema["type"] == "VerticalLayout", "{uischema}");
    let elements = uischema["elements"].as_array().context("elements")?;
    let scopes: Vec<Value> = elements.iter().map(|e| e["scope"].clone()).collect();
    let expected: Vec<Value> = keys
        .iter()
        .map(|k| json!(format!("#/properties/{}", k.as_str().unwrap_or_default())))
        .collect();
    ensure!(scopes == expected, "{uischema}");
    let columns = elements
        .iter()
        .find(|e| e["scope"] == "#/properties/columns")
        .context("columns")?;
    ensure!(columns["options"]["multi"] == true, "{columns}");
    let workspace = &action["inputSchema"]["properties"]["workspace"];
    ensure!(
        workspace["type"] == "string" && workspace["x-picker"]["key"] == "workspace",
        "{workspace}"
    );
    ensure!(draft7(&action["inputSchema"])?.is_valid(&json!({
        "dataset-name": "Sales",
        "table-name": "Sales",
        "columns": "[{\"name\":\"Id\",\"dataType\":\"Int64\"}]",
    })));
    Ok(())
}
