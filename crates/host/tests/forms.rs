//! The manifest's forms, from a definition made here (no component): the published input
//! schema renders in react-jsonschema-form and JSON Forms as `docs/forms.md` says, refuses
//! what it should, and takes nothing the host would refuse; output schemas are inferred
//! honestly from examples.

use anyhow::{Context, Result, ensure};
use pbi_host::manifest::{self, Examples};
use pbi_host::{
    ActionDefinition, Choice, ComponentDefinition, ComponentInfo, ConnectionDefinition,
    InputDefinition, InputType, PickerRef,
};
use serde_json::{Map, Value, json};

fn input(key: &str, input_type: InputType, required: bool) -> InputDefinition {
    InputDefinition {
        key: key.into(),
        label: key.to_uppercase(),
        type_: input_type,
        required,
        default: None,
        comments: Some(format!("About {key}.")),
        choices: Vec::new(),
        minimum: None,
        maximum: None,
        pattern: None,
        max_length: None,
        example: None,
        picker: None,
    }
}

/// One input of every type, some required, some with defaults, one with a picker.
fn action() -> ActionDefinition {
    let mut id = input("id", InputType::String, true);
    id.example = Some("0000".into());
    id.picker = Some(PickerRef {
        key: "ids".into(),
        depends_on: vec!["top".into()],
    });
    let mut top = input("top", InputType::Integer, false);
    top.minimum = Some(1);
    top.maximum = Some(100);
    top.default = Some("10".into());
    let mut kind = input("kind", InputType::Picklist, true);
    kind.default = Some("json".into());
    kind.choices = [("JSON", "json"), ("Text", "text")]
        .map(|(label, value)| Choice {
            label: label.into(),
            value: value.into(),
        })
        .to_vec();
    let mut body = input("body", InputType::Code, true);
    body.example = Some(r#"[{"a":1}]"#.into());
    ActionDefinition {
        key: "act".into(),
        label: "Act".into(),
        description: "Does it.".into(),
        inputs: vec![
            id,
            top,
            kind,
            body,
            input("secret", InputType::Password, false),
            input("debug", InputType::Boolean, false),
            input("headers", InputType::KeyValueList, false),
            input("files", InputType::FileList, false),
        ],
    }
}

fn definition() -> ComponentDefinition {
    ComponentDefinition {
        info: ComponentInfo {
            key: "test".into(),
            label: "Test".into(),
            description: "A test.".into(),
            category: "Testing".into(),
            api_base_url: "https://api.example".into(),
        },
        connections: vec![ConnectionDefinition {
            key: "basic".into(),
            label: "Basic".into(),
            comments: "Signs in.".into(),
            oauth2_type: "client_credentials".into(),
            inputs: vec![
                input("client-id", InputType::String, true),
                input("client-secret", InputType::Password, true),
            ],
            hosts: vec!["api.example".into()],
            setup: None,
            notes: None,
        }],
        actions: vec![action()],
    }
}

fn draft7(schema: &Value) -> Result<jsonschema::Validator> {
    jsonschema::draft7::new(schema).map_err(|e| anyhow::anyhow!("{e}"))
}

fn valid() -> Value {
    json!({
        "id": "0001",
        "top": 5,
        "kind": "text",
        "body": "[]",
        "secret": "s",
        "debug": true,
        "headers": [{"key": "X-A", "value": "1"}, {"key": "X-A", "value": "2"}],
        "files": [{"key": "f.txt", "value": "hello"}],
    })
}

#[test]
fn every_input_type_gets_the_schema_forms_render() -> Result<()> {
    let schema = manifest::form_schema(&action(), None);
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    let p = &schema["properties"];
    assert_eq!(p["id"]["title"], "ID");
    assert_eq!(p["id"]["description"], "About id.");
    assert_eq!(p["id"]["type"], "string", "a picker keeps a plain string");
    assert_eq!(
        p["id"]["x-picker"],
        json!({"key": "ids", "dependsOn": ["top"]})
    );
    assert_eq!(
        (
            &p["top"]["minimum"],
            &p["top"]["maximum"],
            &p["top"]["default"]
        ),
        (&json!(1), &json!(100), &json!(10))
    );
    assert_eq!(
        p["kind"]["oneOf"],
        json!([{"const": "json", "title": "JSON"}, {"const": "text", "title": "Text"}])
    );
    ensure!(p["kind"].get("enum").is_none());
    assert_eq!(p["body"]["type"], "string");
    assert_eq!(p["body"]["contentMediaType"], "application/json");
    assert_eq!(p["body"]["examples"], json!([r#"[{"a":1}]"#]), "JSON text");
    assert_eq!(
        (&p["secret"]["format"], &p["secret"]["writeOnly"]),
        (&json!("password"), &json!(true))
    );
    assert_eq!(p["debug"]["type"], "boolean");
    for list in ["headers", "files"] {
        assert_eq!(p[list]["type"], "array");
        assert_eq!(p[list]["items"]["required"], json!(["key", "value"]));
    }
    // Required as the definition says, defaults or not.
    assert_eq!(schema["required"], json!(["id", "kind", "body"]));
    Ok(())
}

#[test]
fn the_form_schema_refuses_what_it_should() -> Result<()> {
    let schema = draft7(&manifest::form_schema(&action(), None))?;
    ensure!(schema.is_valid(&valid()));
    let broken = [
        ("id", json!("")),
        ("id", json!("   ")),
        ("top", json!(0)),
        ("top", json!(101)),
        ("top", json!(1.5)),
        ("kind", json!("JSON")),
        ("body", json!([])),
        ("body", json!(" ")),
        ("headers", json!({"X-A": "1"})),
        ("headers", json!([["X-A", "1"]])),
        ("headers", json!([{"key": "X-A"}])),
        ("unknown", json!(1)),
    ];
    for (key, value) in broken {
        let mut inputs = valid();
        inputs[key] = value.clone();
        ensure!(!schema.is_valid(&inputs), "{key} = {value}");
    }
    for key in ["id", "kind", "body"] {
        let mut inputs = valid();
        inputs.as_object_mut().context("object")?.remove(key);
        ensure!(!schema.is_valid(&inputs), "without {key}");
    }
    Ok(())
}

/// Input rules from the examples document add keywords to the published schema only.
#[test]
fn input_rules_refine_the_published_schema() -> Result<()> {
    let rules = json!({"id": {"pattern": "^[0-9]{4}$", "maxLength": 4}});
    let schema = manifest::form_schema(&action(), rules.as_object());
    assert_eq!(schema["properties"]["id"]["pattern"], "^[0-9]{4}$");
    let validator = draft7(&schema)?;
    let mut inputs = valid();
    inputs["id"] = json!("nope");
    ensure!(!validator.is_valid(&inputs));
    ensure!(
        manifest::action_schema(&action())["properties"]["id"]
            .get("maxLength")
            .is_none()
    );
    Ok(())
}

/// What a form submits, the host's own schema takes (with defaults left out, too).
#[test]
fn the_host_takes_what_the_form_gives() -> Result<()> {
    let host = draft7(&manifest::action_schema(&action()))?;
    ensure!(host.is_valid(&valid()));
    // And the shapes an engine gives directly.
    let mut direct = valid();
    direct["body"] = json!([{"a": 1}]);
    direct["headers"] = json!({"X-A": "1"});
    direct.as_object_mut().context("object")?.remove("kind");
    ensure!(host.is_valid(&direct));
    // Code that is not JSON: a content-checking validator refuses it in the form; the host
    // leaves it to the component, which says what is wrong with it.
    let mut not_json = valid();
    not_json["body"] = json!("[{");
    ensure!(host.is_valid(&not_json));
    ensure!(!draft7(&manifest::form_schema(&action(), None))?.is_valid(&not_json));
    Ok(())
}

#[test]
fn form_values_turn_engine_shapes_into_form_shapes() {
    let action = action();
    let given = json!({
        "id": "0001",
        "body": [{"a": 1}],
        "headers": {"X-A": "1"},
        "files": [["f.txt", "hello"]],
    });
    let form = manifest::form_values(&action.inputs, &given);
    assert_eq!(
        form,
        json!({
            "id": "0001",
            "body": "[{\"a\":1}]",
            "headers": [{"key": "X-A", "value": "1"}],
            "files": [{"key": "f.txt", "value": "hello"}],
            "top": 10,
            "kind": "json",
        })
    );
}

/// The uiSchema (react-jsonschema-form) and uischema (JSON Forms) of the action.
#[test]
fn ui_schemas_snapshot() {
    let inputs = action().inputs;
    assert_eq!(
        manifest::ui_schema(&inputs),
        json!({
            "ui:order": ["id", "top", "kind", "body", "secret", "debug", "headers", "files"],
            "id": {"ui:placeholder": "0000"},
            "body": {
                "ui:widget": "textarea",
                "ui:options": {"rows": 8},
                "ui:placeholder": "[{\"a\":1}]",
            },
            "secret": {"ui:widget": "password"},
            "headers": {"ui:options": {"orderable": false}, "items": {"ui:order": ["key", "value"]}},
            "files": {
                "ui:options": {"orderable": false},
                "items": {"ui:order": ["key", "value"], "value": {"ui:widget": "textarea"}},
            },
        })
    );
    let uischema = manifest::json_forms_uischema(&inputs);
    assert_eq!(uischema["type"], "VerticalLayout");
    let elements = uischema["elements"].as_array().cloned().unwrap_or_default();
    let scopes: Vec<&str> = elements
        .iter()
        .filter_map(|e| e["scope"].as_str())
        .collect();
    assert_eq!(
        scopes,
        [
            "#/properties/id",
            "#/properties/top",
            "#/properties/kind",
            "#/properties/body",
            "#/properties/secret",
            "#/properties/debug",
            "#/properties/headers",
            "#/properties/files",
        ]
    );
    assert_eq!(elements[3]["options"], json!({"multi": true}));
    assert_eq!(elements[4]["options"], json!({"format": "password"}));
    assert!(elements.iter().all(|e| e["type"] == "Control"));
}

#[test]
fn output_schemas_are_inferred_honestly() -> Result<()> {
    let done = json!({"id": 1, "status": "Completed", "endTime": "t", "attempts": [{"n": 1}]});
    let accepted = json!({"id": 2, "status": "Accepted", "requestId": null, "attempts": []});
    let schema = manifest::infer_schema(&[&done, &accepted]);
    assert_eq!(schema["$schema"], manifest::SCHEMA_DIALECT);
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], true);
    assert_eq!(schema["required"], json!(["id", "status", "attempts"]));
    assert_eq!(schema["properties"]["endTime"]["type"], "string");
    assert_eq!(schema["properties"]["attempts"]["items"]["type"], "object");
    let validator = draft7(&schema)?;
    ensure!(validator.is_valid(&done) && validator.is_valid(&accepted));
    ensure!(validator.is_valid(&json!({"id": 3, "status": "x", "attempts": [], "more": true})));
    ensure!(!validator.is_valid(&json!({"id": "3", "status": "x", "attempts": []})));
    // Integers and decimals merge to numbers.
    let numbers = manifest::infer_schema(&[&json!([1, 2.5])]);
    assert_eq!(numbers["items"]["type"], "number");
    Ok(())
}

#[test]
fn the_manifest_carries_forms_examples_and_wit_types() -> Result<()> {
    let mut document = Map::new();
    document.insert(
        "act".into(),
        json!({
            "input": valid(),
            "output": {"ok": true},
            "inputRules": {"id": {"pattern": "^[0-9]+$"}},
        }),
    );
    let found = Examples::of(&document, "act");
    ensure!(found.input.is_some() && found.output_schema.is_none());
    let m = manifest::manifest(&definition(), &document);
    let act = &m["actions"]["act"];
    let types: Vec<&str> = act["inputs"]
        .as_array()
        .context("inputs")?
        .iter()
        .filter_map(|i| i["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "string",
            "integer",
            "picklist",
            "code",
            "password",
            "boolean",
            "key-value-list",
            "file-list"
        ]
    );
    assert_eq!(act["exampleInputs"], json!([valid()]));
    assert_eq!(act["exampleOutput"], json!({"ok": true}));
    assert_eq!(
        act["inputSchema"]["properties"]["id"]["pattern"],
        "^[0-9]+$"
    );
    ensure!(draft7(&act["outputSchema"])?.is_valid(&act["exampleOutput"]));
    ensure!(draft7(&act["inputSchema"])?.is_valid(&act["exampleInputs"][0]));
    assert_eq!(act["uiSchema"], manifest::ui_schema(&action().inputs));
    let connection = &m["connections"][0];
    assert_eq!(
        connection["schema"]["required"],
        json!(["client-id", "client-secret"])
    );
    assert_eq!(
        connection["uiSchema"]["client-secret"]["ui:widget"],
        "password"
    );
    // rjsf wants every property in `ui:order`; the connection's key is a hidden constant.
    assert_eq!(
        connection["uiSchema"]["ui:order"],
        json!(["client-id", "client-secret", "connection"])
    );
    assert_eq!(connection["uiSchema"]["connection"]["ui:widget"], "hidden");
    assert_eq!(
        connection["schema"]["properties"]["connection"]["const"],
        "basic"
    );
    // An older examples entry is an output alone.
    let mut old = Map::new();
    old.insert("act".into(), json!({"data": {"ok": true}}));
    let m = manifest::manifest(&definition(), &old);
    assert_eq!(m["actions"]["act"]["exampleOutput"], json!({"ok": true}));
    ensure!(m["actions"]["act"].get("exampleInputs").is_none());
    Ok(())
}
