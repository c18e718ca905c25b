//! What an engine publishes about a component, made from its definition alone: the
//! component manifest (the component JSON that Prismatic-style engines read), a JSON Schema
//! (draft 2020-12) of each action's inputs, and the reference pages under `docs/reference/`.
//!
//! Nothing here knows Power BI: every word comes from the component's `describe` answer, and
//! the example payloads from answers captured by a test.
//!
//! An input with a picker (`input-definition.picker`) is marked in all three, so that a form
//! generator can offer a drop-down that lists its values ([`crate::Connector::list_choices`])
//! while anything else still takes the value as typed:
//!
//! - its JSON Schema keeps its plain type (`"type": "string"`) and gains the annotation
//!   `"x-picker": {"key": "<picker>", "dependsOn": ["<input key>", …]}` (validators ignore
//!   it);
//! - its manifest entry gains `"dataSource": {"picker": "<picker>", "dependsOn": [...]}`;
//! - its row in the reference docs says which picker lists it and which inputs it needs.

use serde_json::{Map, Value, json};

use crate::definition::{ActionDefinition, ComponentDefinition, InputDefinition, InputType};

/// The JSON Schema dialect of the input schemas.
pub const SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// An input's documented default as a typed JSON value (`"false"` → `false`, `"0"` → `0`).
pub fn typed_default(input: &InputDefinition) -> Option<Value> {
    let text = input.default.as_deref()?;
    Some(match input.type_ {
        InputType::Boolean => Value::Bool(text.eq_ignore_ascii_case("true")),
        InputType::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| text.into()),
        _ => Value::String(text.to_string()),
    })
}

/// Whether a value must be given: required and without a default to fall back on.
pub fn must_be_given(input: &InputDefinition) -> bool {
    input.required && input.default.is_none()
}

/// The JSON Schema annotation of an input with a picker: `{"key": …, "dependsOn": […]}`.
pub const PICKER_ANNOTATION: &str = "x-picker";

/// An input's picker as the manifest and the schema show it: the picker's key under
/// `key_field`, and the keys of the inputs it needs under `dependsOn`.
fn picker_json(input: &InputDefinition, key_field: &str) -> Option<Value> {
    let picker = input.picker.as_ref()?;
    let mut out = Map::new();
    out.insert(key_field.into(), picker.key.clone().into());
    out.insert("dependsOn".into(), json!(picker.depends_on));
    Some(Value::Object(out))
}

/// The JSON Schema of one input's value.
pub fn input_schema(input: &InputDefinition) -> Value {
    let mut schema = Map::new();
    schema.insert("title".into(), input.label.clone().into());
    if let Some(comments) = &input.comments {
        schema.insert("description".into(), comments.clone().into());
    }
    match input.type_ {
        InputType::String | InputType::Password => {
            schema.insert("type".into(), "string".into());
            if must_be_given(input) {
                schema.insert("minLength".into(), 1.into());
            }
            if input.type_ == InputType::Password {
                // A secret: forms render a password field and never show it back.
                schema.insert("writeOnly".into(), true.into());
                schema.insert("format".into(), "password".into());
            }
        }
        InputType::Boolean => {
            schema.insert("type".into(), "boolean".into());
        }
        InputType::Integer => {
            schema.insert("type".into(), "integer".into());
            if let Some(min) = input.minimum {
                schema.insert("minimum".into(), min.into());
            }
            if let Some(max) = input.maximum {
                schema.insert("maximum".into(), max.into());
            }
        }
        InputType::Code => {
            // JSON given as text (a form's code editor) or as a JSON value (an engine).
            schema.insert("type".into(), json!(["string", "array", "object"]));
            schema.insert("contentMediaType".into(), "application/json".into());
        }
        InputType::Picklist => {
            schema.insert("type".into(), "string".into());
            let values: Vec<Value> = input
                .choices
                .iter()
                .map(|c| c.value.clone().into())
                .collect();
            schema.insert("enum".into(), values.into());
        }
        InputType::KeyValueList | InputType::FileList => {
            // An object `{key: value}`, or a list of `[key, value]` pairs or
            // `{"key", "value"}` objects (keys may repeat there, as in query strings).
            schema.insert(
                "anyOf".into(),
                json!([
                    {"type": "object", "additionalProperties": {"type": ["string", "array"]}},
                    {"type": "array"},
                ]),
            );
        }
    }
    if let Some(default) = typed_default(input) {
        schema.insert("default".into(), default);
    }
    if let Some(example) = &input.example {
        let value = match input.type_ {
            InputType::Code => {
                serde_json::from_str(example).unwrap_or_else(|_| example.clone().into())
            }
            InputType::Integer => example
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| example.clone().into()),
            _ => example.clone().into(),
        };
        schema.insert("examples".into(), json!([value]));
    }
    if let Some(picker) = picker_json(input, "key") {
        schema.insert(PICKER_ANNOTATION.into(), picker);
    }
    Value::Object(schema)
}

/// The JSON Schema (draft 2020-12) of an action's inputs: one property per input key.
pub fn action_schema(action: &ActionDefinition) -> Value {
    let properties: Map<String, Value> = action
        .inputs
        .iter()
        .map(|input| (input.key.clone(), input_schema(input)))
        .collect();
    let required: Vec<&str> = action
        .inputs
        .iter()
        .filter(|i| must_be_given(i))
        .map(|i| i.key.as_str())
        .collect();
    json!({
        "$schema": SCHEMA_DIALECT,
        "title": action.label,
        "description": action.description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// An input as the manifest lists it.
fn manifest_input(input: &InputDefinition) -> Value {
    let (kind, collection) = match input.type_ {
        InputType::String | InputType::Picklist => ("string", None),
        InputType::Password => ("password", None),
        InputType::Boolean => ("boolean", None),
        InputType::Integer => ("integer", None),
        InputType::Code => ("code", None),
        InputType::KeyValueList => ("string", Some("keyvaluelist")),
        InputType::FileList => ("data", Some("keyvaluelist")),
    };
    let mut out = Map::new();
    out.insert("key".into(), input.key.clone().into());
    out.insert("label".into(), input.label.clone().into());
    out.insert("type".into(), kind.into());
    out.insert("required".into(), input.required.into());
    if let Some(default) = &input.default {
        out.insert("default".into(), default.clone().into());
    }
    if let Some(comments) = &input.comments {
        out.insert("comments".into(), comments.clone().into());
    }
    if input.type_ == InputType::Code {
        out.insert("language".into(), "json".into());
    }
    if !input.choices.is_empty() {
        let model: Vec<Value> = input
            .choices
            .iter()
            .map(|c| json!({"label": c.label, "value": c.value}))
            .collect();
        out.insert("model".into(), model.into());
    }
    if let Some(collection) = collection {
        out.insert("collection".into(), collection.into());
    }
    if let Some(min) = input.minimum {
        out.insert("minimum".into(), min.into());
    }
    if let Some(max) = input.maximum {
        out.insert("maximum".into(), max.into());
    }
    if let Some(example) = &input.example {
        out.insert("example".into(), example.clone().into());
    }
    if let Some(source) = picker_json(input, "picker") {
        out.insert("dataSource".into(), source);
    }
    Value::Object(out)
}

/// The JSON Schema of a connection's values: its inputs, secrets `writeOnly` with
/// `format: password`, and `connection`, the connection's key, as a constant.
pub fn connection_schema(connection: &crate::ConnectionDefinition) -> Value {
    let mut properties: Map<String, Value> = connection
        .inputs
        .iter()
        .map(|input| (input.key.clone(), input_schema(input)))
        .collect();
    properties.insert(
        crate::CONNECTION_KEY.into(),
        json!({"title": "Connection", "const": connection.key}),
    );
    let required: Vec<&str> = connection
        .inputs
        .iter()
        .filter(|i| must_be_given(i))
        .map(|i| i.key.as_str())
        .collect();
    json!({
        "$schema": SCHEMA_DIALECT,
        "title": connection.label,
        "description": connection.comments,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The component manifest. `examples` maps action keys to an example of their output
/// (captured from the local service by a test); actions without one get none.
pub fn manifest(definition: &ComponentDefinition, examples: &Map<String, Value>) -> Value {
    let connections: Vec<Value> = definition
        .connections
        .iter()
        .map(|c| {
            json!({
                "key": c.key,
                "label": c.label,
                "comments": c.comments,
                "oauth2Type": c.oauth2_type,
                "inputs": c.inputs.iter().map(manifest_input).collect::<Vec<_>>(),
                "hosts": c.hosts,
                "schema": connection_schema(c),
            })
        })
        .collect();
    let actions: Map<String, Value> = definition
        .actions
        .iter()
        .map(|a| {
            let mut action = json!({
                "key": a.key,
                "display": {"label": a.label, "description": a.description},
                "inputs": a.inputs.iter().map(manifest_input).collect::<Vec<_>>(),
                "inputSchema": action_schema(a),
            });
            if let Some(example) = examples.get(&a.key) {
                action["examplePayload"] = example.clone();
            }
            (a.key.clone(), action)
        })
        .collect();
    json!({
        "key": definition.info.key,
        "display": {
            "label": definition.info.label,
            "description": definition.info.description,
            "category": definition.info.category,
        },
        "connections": connections,
        "actions": actions,
    })
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// What the reference docs say of an input's picker: which one lists its values, and which
/// inputs (by label) it needs.
fn picker_note(input: &InputDefinition, inputs: &[InputDefinition]) -> Option<String> {
    let picker = input.picker.as_ref()?;
    let mut note = format!("Choices: picker `{}`", picker.key);
    let needs: Vec<&str> = picker
        .depends_on
        .iter()
        .map(|key| {
            inputs
                .iter()
                .find(|i| &i.key == key)
                .map_or(key.as_str(), |i| i.label.as_str())
        })
        .collect();
    if !needs.is_empty() {
        note.push_str(&format!(" (needs {})", needs.join(" and ")));
    }
    note.push('.');
    Some(note)
}

fn input_table(inputs: &[InputDefinition]) -> String {
    let mut out = String::from("| Input | Comments | Default |\n|---|---|---|\n");
    for input in inputs {
        let mut label = input.label.clone();
        if must_be_given(input) {
            label.push_str(" (required)");
        }
        let comments = match (input.comments.as_deref(), picker_note(input, inputs)) {
            (Some(comments), Some(note)) => format!("{comments} {note}"),
            (Some(comments), None) => comments.to_string(),
            (None, note) => note.unwrap_or_default(),
        };
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(&label),
            cell(&comments),
            input
                .default
                .as_deref()
                .map(|d| format!("`{}`", cell(d)))
                .unwrap_or_default(),
        ));
    }
    out
}

/// The generated reference pages: `(file name, Markdown)`. `examples_source` says where the
/// example outputs were captured (such as "the local Power BI service").
pub fn reference_docs(
    definition: &ComponentDefinition,
    examples: &Map<String, Value>,
    examples_source: &str,
) -> Vec<(String, String)> {
    const GENERATED: &str =
        "<!-- Generated from the component's definition by `pbi docs`; do not edit. -->\n\n";
    let mut pages = Vec::new();
    let mut connection = String::from(GENERATED);
    for c in &definition.connections {
        connection.push_str(&format!("# Connection: {}\n\n{}\n\n", c.label, c.comments));
        connection.push_str(&format!(
            "Key `{}`, OAuth 2.0 grant `{}`.\n\n",
            c.key, c.oauth2_type
        ));
        if let Some(setup) = &c.setup {
            connection.push_str(&format!("## Setup\n\n{setup}\n\n"));
        }
        connection.push_str("## Inputs\n\n");
        connection.push_str(&input_table(&c.inputs));
        if let Some(notes) = &c.notes {
            connection.push_str(&format!("\n{notes}\n"));
        }
    }
    pages.push(("connection.md".to_string(), connection));
    let mut actions = String::from(GENERATED);
    actions.push_str(&format!("# Actions of {}\n\n", definition.info.label));
    for a in &definition.actions {
        actions.push_str(&format!("- [{}](#{})\n", a.label, a.key));
    }
    for a in &definition.actions {
        actions.push_str(&format!(
            "\n<a id=\"{}\"></a>\n## {}\n\n{}\n\nKey `{}`.\n\n",
            a.key, a.label, a.description, a.key
        ));
        actions.push_str(&input_table(&a.inputs));
        if let Some(example) = examples.get(&a.key) {
            actions.push_str(&format!(
                "\nExample output (captured from {examples_source}):\n\n```json\n"
            ));
            actions.push_str(&serde_json::to_string_pretty(example).unwrap_or_default());
            actions.push_str("\n```\n");
        }
    }
    pages.push(("actions.md".to_string(), actions));
    pages
}
