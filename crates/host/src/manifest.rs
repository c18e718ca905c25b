//! What an engine publishes about a component, made from its definition alone: the
//! component manifest (the component JSON that Prismatic-style engines read), JSON Schemas
//! (draft-07) of each action's inputs and output, form layouts for react-jsonschema-form and
//! JSON Forms, and the reference pages under `docs/reference/`. `docs/forms.md` shows how an
//! engine renders the forms.
//!
//! Nothing here knows Power BI: every word (and every rule an input's value follows: its
//! `pattern` and `max-length`) comes from the component's `describe` answer, and the
//! examples (inputs, outputs) from a document captured by a test against the component
//! ([`Examples`]).
//!
//! Two schemas of an action's inputs come from the same definition:
//!
//! - [`form_schema`], published as the manifest's `inputSchema`: what a form offers and
//!   submits. Every input has its `title`, `description`, `default` and the type a form
//!   generator renders well (code as JSON text, key/value lists as arrays of `{key, value}`
//!   rows, picklists as `oneOf` of `{const, title}`); inputs the definition marks `required`
//!   are `required` (a form pre-fills their defaults), and an input's `pattern` and
//!   `max-length` (a GUID, a table name's characters and length) refuse what the component
//!   refuses;
//! - [`action_schema`], what the host checks before a call (`crate::validate`): the same
//!   inputs, but also in the shapes an engine gives directly (code as a JSON value, key/value
//!   lists as objects or `[key, value]` pairs), and `required` only for inputs without a
//!   default. Whatever the form schema accepts, the host accepts too.
//!
//! An input with a picker (`input-definition.picker`) is marked in both schemas, the manifest
//! and the docs, so that a form generator can offer a drop-down that lists its values
//! ([`crate::Connector::list_choices`]) while anything else still takes the value as typed:
//!
//! - its JSON Schema keeps its plain type (`"type": "string"`) and gains the annotation
//!   `"x-picker": {"key": "<picker>", "dependsOn": ["<input key>", …]}` (validators ignore
//!   it);
//! - its manifest entry gains `"dataSource": {"picker": "<picker>", "dependsOn": [...]}`;
//! - its row in the reference docs says which picker lists it and which inputs it needs.

use serde_json::{Map, Value, json};

use crate::definition::{ActionDefinition, ComponentDefinition, InputDefinition, InputType};

/// The JSON Schema dialect of every schema here: draft-07, the default of
/// react-jsonschema-form's ajv8 validator and of JSON Forms.
pub const SCHEMA_DIALECT: &str = "http://json-schema.org/draft-07/schema#";

/// The JSON Schema annotation of an input with a picker: `{"key": …, "dependsOn": […]}`.
pub const PICKER_ANNOTATION: &str = "x-picker";

/// The media type of a `code` input's text.
pub const CODE_MEDIA_TYPE: &str = "application/json";

/// An input type's name, as the WIT (`input-type`) spells it and the manifest's `type` says.
pub fn type_name(input_type: InputType) -> &'static str {
    match input_type {
        InputType::String => "string",
        InputType::Password => "password",
        InputType::Boolean => "boolean",
        InputType::Integer => "integer",
        InputType::Code => "code",
        InputType::Picklist => "picklist",
        InputType::KeyValueList => "key-value-list",
        InputType::FileList => "file-list",
    }
}

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

/// An input's picker as the manifest and the schema show it: the picker's key under
/// `key_field`, and the keys of the inputs it needs under `dependsOn`.
fn picker_json(input: &InputDefinition, key_field: &str) -> Option<Value> {
    let picker = input.picker.as_ref()?;
    let mut out = Map::new();
    out.insert(key_field.into(), picker.key.clone().into());
    out.insert("dependsOn".into(), json!(picker.depends_on));
    Some(Value::Object(out))
}

/// Which of the two input schemas is being made (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    /// What a form offers and submits: the published `inputSchema`.
    Form,
    /// What the host takes: also JSON values for code and objects for key/value lists.
    Host,
}

impl Flavour {
    /// Whether a value must be there: a form pre-fills defaults, so every required input
    /// is; the host lets the component apply a documented default.
    fn needs(self, input: &InputDefinition) -> bool {
        match self {
            Flavour::Form => input.required,
            Flavour::Host => must_be_given(input),
        }
    }
}

/// The schema of one row of a key/value or file list, as a form gives it.
fn pair_schema(input_type: InputType) -> Value {
    let value = if input_type == InputType::FileList {
        json!({
            "type": "string",
            "title": "Content",
            "description": "The file's content as text; it is sent as its UTF-8 bytes.",
        })
    } else {
        json!({"type": "string", "title": "Value"})
    };
    json!({
        "type": "object",
        "properties": {
            "key": {"type": "string", "title": "Key", "minLength": 1},
            "value": value,
        },
        "required": ["key", "value"],
        "additionalProperties": false,
    })
}

/// The JSON Schema of one input's value in a flavour, with `rules` (extra keywords from the
/// caller, which win) merged in.
fn property_schema(
    input: &InputDefinition,
    flavour: Flavour,
    rules: Option<&Map<String, Value>>,
) -> Value {
    let mut schema = Map::new();
    schema.insert("title".into(), input.label.clone().into());
    if let Some(comments) = &input.comments {
        schema.insert("description".into(), comments.clone().into());
    }
    let needed = flavour.needs(input);
    // A required text must hold more than white space: the host and the component trim it.
    let non_blank = |schema: &mut Map<String, Value>| {
        if needed {
            schema.insert("minLength".into(), 1.into());
            schema.insert("pattern".into(), "\\S".into());
        }
    };
    match input.type_ {
        InputType::String | InputType::Password => {
            schema.insert("type".into(), "string".into());
            non_blank(&mut schema);
            if input.type_ == InputType::Password {
                // A secret: forms render a password field and never show it back.
                schema.insert("format".into(), "password".into());
                schema.insert("writeOnly".into(), true.into());
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
            match flavour {
                // JSON text, which a form edits in a text area. (A draft-07 validator that
                // checks content, such as the `jsonschema` crate, refuses text that is not
                // JSON; form libraries take the media type as a hint.)
                Flavour::Form => {
                    schema.insert("type".into(), "string".into());
                    non_blank(&mut schema);
                    schema.insert("contentMediaType".into(), CODE_MEDIA_TYPE.into());
                }
                // JSON given as text (a form's code editor) or as a JSON value (an engine);
                // text that is not JSON is for the component to refuse, with its own words.
                Flavour::Host => {
                    schema.insert("type".into(), json!(["string", "array", "object"]));
                }
            }
        }
        InputType::Picklist => {
            schema.insert("type".into(), "string".into());
            if !input.choices.is_empty() {
                match flavour {
                    // `oneOf` of constants: form generators show each choice's label.
                    Flavour::Form => {
                        let choices: Vec<Value> = input
                            .choices
                            .iter()
                            .map(|c| json!({"const": c.value, "title": c.label}))
                            .collect();
                        schema.insert("oneOf".into(), choices.into());
                    }
                    // The host has already spelled the value as its choice does.
                    Flavour::Host => {
                        let values: Vec<Value> = input
                            .choices
                            .iter()
                            .map(|c| c.value.clone().into())
                            .collect();
                        schema.insert("enum".into(), values.into());
                    }
                }
            }
        }
        InputType::KeyValueList | InputType::FileList => match flavour {
            // Rows of `{"key", "value"}`, in order; keys may repeat (as in query strings).
            Flavour::Form => {
                schema.insert("type".into(), "array".into());
                schema.insert("items".into(), pair_schema(input.type_));
                if needed {
                    schema.insert("minItems".into(), 1.into());
                }
            }
            // Also an object `{key: value}` or a list of `[key, value]` pairs.
            Flavour::Host => {
                schema.insert(
                    "anyOf".into(),
                    json!([
                        {"type": "object", "additionalProperties": {"type": ["string", "array"]}},
                        {"type": "array"},
                    ]),
                );
            }
        },
    }
    if let Some(default) = typed_default(input) {
        schema.insert("default".into(), default);
    }
    if let Some(example) = &input.example {
        let value = match input.type_ {
            InputType::Code if flavour == Flavour::Host => {
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
    // What the component refuses beyond the type, for a form to refuse first. The host's
    // own check leaves it to the component, whose error names the input in its own words.
    if flavour == Flavour::Form {
        if let Some(pattern) = &input.pattern {
            // It also says "not blank" for a required input where it has to (it replaces
            // the `\S` above).
            schema.insert("pattern".into(), pattern.clone().into());
        }
        if let Some(max) = input.max_length {
            schema.insert("maxLength".into(), max.into());
        }
    }
    for (keyword, value) in rules.into_iter().flatten() {
        schema.insert(keyword.clone(), value.clone());
    }
    Value::Object(schema)
}

/// The JSON Schema of one input's value as a form gives it (see [`form_schema`]).
pub fn input_schema(input: &InputDefinition) -> Value {
    property_schema(input, Flavour::Form, None)
}

/// The object schema of `inputs` in a flavour; `rules` holds extra keywords by input key.
fn object_schema(
    title: &str,
    description: &str,
    inputs: &[InputDefinition],
    flavour: Flavour,
    rules: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let properties: Map<String, Value> = inputs
        .iter()
        .map(|input| {
            let rules = rules
                .and_then(|r| r.get(&input.key))
                .and_then(Value::as_object);
            (input.key.clone(), property_schema(input, flavour, rules))
        })
        .collect();
    let required: Vec<&str> = inputs
        .iter()
        .filter(|i| flavour.needs(i))
        .map(|i| i.key.as_str())
        .collect();
    let schema = json!({
        "$schema": SCHEMA_DIALECT,
        "title": title,
        "description": description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    match schema {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The JSON Schema (draft-07) of an action's inputs as the host takes them: the host
/// checks every call's inputs against it (`crate::validate`). Besides what a form gives
/// ([`form_schema`]) it takes code as a JSON value and key/value lists as objects or pairs,
/// and requires only the inputs without a default (the component applies it).
pub fn action_schema(action: &ActionDefinition) -> Value {
    Value::Object(object_schema(
        &action.label,
        &action.description,
        &action.inputs,
        Flavour::Host,
        None,
    ))
}

/// The JSON Schema (draft-07) of an action's inputs as a form offers and submits them, the
/// manifest's `inputSchema`. Each input's `pattern` and `max-length` come from the
/// definition; `rules` maps input keys to extra keywords (`{"id": {"maxLength": 4}}`) that
/// win over them, for a component that cannot declare a rule itself.
pub fn form_schema(action: &ActionDefinition, rules: Option<&Map<String, Value>>) -> Value {
    Value::Object(object_schema(
        &action.label,
        &action.description,
        &action.inputs,
        Flavour::Form,
        rules,
    ))
}

/// The JSON Schema of a connection's values: its inputs as a form gives them, secrets
/// `writeOnly` with `format: password`, and `connection`, the connection's key, as a
/// constant.
pub fn connection_schema(connection: &crate::ConnectionDefinition) -> Value {
    let mut schema = object_schema(
        &connection.label,
        &connection.comments,
        &connection.inputs,
        Flavour::Form,
        None,
    );
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        properties.insert(
            crate::CONNECTION_KEY.into(),
            json!({"title": "Connection", "const": connection.key, "default": connection.key}),
        );
    }
    Value::Object(schema)
}

/// The react-jsonschema-form `uiSchema` of a form of `inputs`: the inputs' order
/// (`ui:order`), text areas for code, password fields for secrets, examples as
/// placeholders, and key/value rows that keep their order.
pub fn ui_schema(inputs: &[InputDefinition]) -> Value {
    let mut ui = Map::new();
    let order: Vec<&str> = inputs.iter().map(|i| i.key.as_str()).collect();
    ui.insert("ui:order".into(), json!(order));
    for input in inputs {
        let mut field = Map::new();
        match input.type_ {
            InputType::Code => {
                field.insert("ui:widget".into(), "textarea".into());
                field.insert("ui:options".into(), json!({"rows": 8}));
            }
            InputType::Password => {
                field.insert("ui:widget".into(), "password".into());
            }
            InputType::KeyValueList | InputType::FileList => {
                field.insert("ui:options".into(), json!({"orderable": false}));
                let mut items = json!({"ui:order": ["key", "value"]});
                if input.type_ == InputType::FileList {
                    items["value"] = json!({"ui:widget": "textarea"});
                }
                field.insert("items".into(), items);
            }
            _ => {}
        }
        let takes_text = matches!(
            input.type_,
            InputType::String | InputType::Code | InputType::Integer
        );
        if let Some(example) = input.example.as_ref().filter(|_| takes_text) {
            field.insert("ui:placeholder".into(), example.clone().into());
        }
        if !field.is_empty() {
            ui.insert(input.key.clone(), Value::Object(field));
        }
    }
    Value::Object(ui)
}

/// The react-jsonschema-form `uiSchema` of a connection's form: its inputs', and the
/// connection's key, a constant the form keeps hidden (`ui:order` names every property).
pub fn connection_ui_schema(connection: &crate::ConnectionDefinition) -> Value {
    let mut ui = ui_schema(&connection.inputs);
    if let Some(Value::Array(order)) = ui.get_mut("ui:order") {
        order.push(crate::CONNECTION_KEY.into());
    }
    ui[crate::CONNECTION_KEY] = json!({"ui:widget": "hidden"});
    ui
}

/// The JSON Forms `uischema` of a form of `inputs`: a vertical layout of one control per
/// input in the inputs' order, code as multi-line text and secrets as password fields.
pub fn json_forms_uischema(inputs: &[InputDefinition]) -> Value {
    let elements: Vec<Value> = inputs
        .iter()
        .map(|input| {
            let mut control = json!({
                "type": "Control",
                "scope": format!("#/properties/{}", pointer_escape(&input.key)),
            });
            match input.type_ {
                InputType::Code => control["options"] = json!({"multi": true}),
                InputType::Password => control["options"] = json!({"format": "password"}),
                InputType::FileList => {
                    control["options"] = json!({"detail": {
                        "type": "VerticalLayout",
                        "elements": [
                            {"type": "Control", "scope": "#/properties/key"},
                            {"type": "Control", "scope": "#/properties/value", "options": {"multi": true}},
                        ],
                    }})
                }
                _ => {}
            }
            control
        })
        .collect();
    json!({"type": "VerticalLayout", "elements": elements})
}

/// `key` as a JSON Pointer segment.
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Inputs as a form of [`form_schema`] gives them, from the shapes the host also takes:
/// code given as a JSON value becomes its JSON text, a key/value list given as an object or
/// as `[key, value]` pairs becomes `{"key", "value"}` rows, and every input left out that
/// has a default gets it (a form pre-fills defaults). Keys that are not inputs stay as
/// they are.
pub fn form_values(inputs: &[InputDefinition], values: &Value) -> Value {
    let mut out = values.as_object().cloned().unwrap_or_default();
    for input in inputs {
        match out.get_mut(&input.key) {
            Some(value) => match input.type_ {
                InputType::Code if !value.is_string() && !value.is_null() => {
                    *value = Value::String(value.to_string());
                }
                InputType::KeyValueList | InputType::FileList => {
                    if let Some(rows) = pair_rows(value) {
                        *value = rows;
                    }
                }
                _ => {}
            },
            None => {
                if let Some(default) = typed_default(input) {
                    out.insert(input.key.clone(), default);
                }
            }
        }
    }
    Value::Object(out)
}

/// A key/value list as `{"key", "value"}` rows, or `None` when it is not a list's shape.
fn pair_rows(value: &Value) -> Option<Value> {
    let row = |key: &Value, value: &Value| {
        let text = |v: &Value| match v {
            Value::String(s) => Value::String(s.clone()),
            other => Value::String(other.to_string()),
        };
        json!({"key": text(key), "value": text(value)})
    };
    match value {
        Value::Object(object) => Some(Value::Array(
            object
                .iter()
                .map(|(k, v)| row(&Value::String(k.clone()), v))
                .collect(),
        )),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Array(pair) if pair.len() == 2 => Some(row(&pair[0], &pair[1])),
                Value::Object(o) if o.contains_key("key") => Some(item.clone()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        _ => None,
    }
}

/// A JSON Schema (draft-07) of the outputs `samples` show: the types seen, objects with the
/// keys seen in every sample `required` and other keys allowed (`additionalProperties`),
/// arrays with the schema of all their items. A value seen only as `null` says nothing
/// of its type and gets the empty schema.
pub fn infer_schema(samples: &[&Value]) -> Value {
    let mut merged: Option<Value> = None;
    for sample in samples {
        let shape = shape_of(sample);
        merged = Some(match merged {
            None => shape,
            Some(so_far) => merge_shapes(&so_far, &shape),
        });
    }
    let mut schema = match merged {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut out = Map::new();
    out.insert("$schema".into(), SCHEMA_DIALECT.into());
    out.append(&mut schema);
    Value::Object(out)
}

/// The schema of one value.
fn shape_of(value: &Value) -> Value {
    match value {
        Value::Null => json!({"type": "null"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(items) => {
            let mut schema = json!({"type": "array"});
            let mut merged: Option<Value> = None;
            for item in items {
                let shape = shape_of(item);
                merged = Some(match merged {
                    None => shape,
                    Some(so_far) => merge_shapes(&so_far, &shape),
                });
            }
            if let Some(items) = merged {
                schema["items"] = items;
            }
            schema
        }
        Value::Object(object) => {
            let properties: Map<String, Value> = object
                .iter()
                .map(|(k, v)| (k.clone(), shape_of(v)))
                .collect();
            let required: Vec<&String> = object.keys().collect();
            json!({
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": true,
            })
        }
    }
}

/// The types a shape allows (`None`: any).
fn shape_types(shape: &Value) -> Option<Vec<String>> {
    match shape.get("type")? {
        Value::String(t) => Some(vec![t.clone()]),
        Value::Array(types) => Some(
            types
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
        ),
        _ => None,
    }
}

/// One schema that allows what either shape allows.
fn merge_shapes(a: &Value, b: &Value) -> Value {
    let (Some(ta), Some(tb)) = (shape_types(a), shape_types(b)) else {
        return json!({});
    };
    let mut types: Vec<String> = ta.clone();
    for t in tb {
        if !types.contains(&t) {
            types.push(t);
        }
    }
    if types.iter().any(|t| t == "number") {
        types.retain(|t| t != "integer");
    }
    let mut out = Map::new();
    out.insert(
        "type".into(),
        match types.as_slice() {
            [one] => Value::String(one.clone()),
            _ => json!(types),
        },
    );
    // Objects: properties of either, required where both require.
    if let (Some(pa), Some(pb)) = (a.get("properties"), b.get("properties")) {
        let (pa, pb) = (
            pa.as_object().cloned().unwrap_or_default(),
            pb.as_object().cloned().unwrap_or_default(),
        );
        let mut properties = pa.clone();
        for (key, shape) in &pb {
            let merged = match pa.get(key) {
                Some(existing) => merge_shapes(existing, shape),
                None => shape.clone(),
            };
            properties.insert(key.clone(), merged);
        }
        let required_of = |s: &Value| -> Vec<String> {
            s.get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let rb = required_of(b);
        let required: Vec<String> = required_of(a)
            .into_iter()
            .filter(|k| rb.contains(k))
            .collect();
        out.insert("properties".into(), Value::Object(properties));
        out.insert("required".into(), json!(required));
        out.insert("additionalProperties".into(), true.into());
    } else if let Some(p) = a.get("properties").or_else(|| b.get("properties")) {
        out.insert("properties".into(), p.clone());
        let required = a.get("required").or_else(|| b.get("required"));
        out.insert("required".into(), required.cloned().unwrap_or(json!([])));
        out.insert("additionalProperties".into(), true.into());
    }
    // Arrays: items of either.
    match (a.get("items"), b.get("items")) {
        (Some(ia), Some(ib)) => {
            out.insert("items".into(), merge_shapes(ia, ib));
        }
        (Some(items), None) | (None, Some(items)) => {
            out.insert("items".into(), items.clone());
        }
        (None, None) => {}
    }
    Value::Object(out)
}

/// What the examples document (`docs/example-payloads.json`) holds of one action, keyed by
/// the action's key:
///
/// ```json
/// {"input": {…}, "output": …, "outputSchema": {…}, "inputRules": {"<input key>": {…}}}
/// ```
///
/// `input` is an example of the inputs as a form submits them, `output` what the action
/// answered to them (its `data`), `outputSchema` the schema of its outputs (else inferred
/// from `output` by [`infer_schema`]), and the optional `inputRules` extra JSON Schema
/// keywords by input key for [`form_schema`] (the definition's own `pattern` and
/// `max-length` need none). An older entry `{"data": …}` is an output alone.
#[derive(Debug, Default, Clone, Copy)]
pub struct Examples<'a> {
    /// Example inputs, as a form submits them.
    pub input: Option<&'a Value>,
    /// The output the action answered (its `data`).
    pub output: Option<&'a Value>,
    /// The schema of the action's outputs.
    pub output_schema: Option<&'a Value>,
    /// Extra schema keywords by input key.
    pub input_rules: Option<&'a Map<String, Value>>,
}

impl<'a> Examples<'a> {
    /// The examples of `action` in the examples document.
    pub fn of(document: &'a Map<String, Value>, action: &str) -> Self {
        let Some(entry) = document.get(action).and_then(Value::as_object) else {
            return Self::default();
        };
        Self {
            input: entry.get("input"),
            output: entry.get("output").or_else(|| entry.get("data")),
            output_schema: entry.get("outputSchema"),
            input_rules: entry.get("inputRules").and_then(Value::as_object),
        }
    }
}

/// An input as the manifest lists it: its `type` is the WIT's name of its input type.
fn manifest_input(input: &InputDefinition) -> Value {
    let mut out = Map::new();
    out.insert("key".into(), input.key.clone().into());
    out.insert("label".into(), input.label.clone().into());
    out.insert("type".into(), type_name(input.type_).into());
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
        let choices: Vec<Value> = input
            .choices
            .iter()
            .map(|c| json!({"label": c.label, "value": c.value}))
            .collect();
        out.insert("choices".into(), choices.into());
    }
    if let Some(min) = input.minimum {
        out.insert("minimum".into(), min.into());
    }
    if let Some(max) = input.maximum {
        out.insert("maximum".into(), max.into());
    }
    if let Some(pattern) = &input.pattern {
        out.insert("pattern".into(), pattern.clone().into());
    }
    if let Some(max) = input.max_length {
        out.insert("maxLength".into(), max.into());
    }
    if let Some(example) = &input.example {
        out.insert("example".into(), example.clone().into());
    }
    if let Some(source) = picker_json(input, "picker") {
        out.insert("dataSource".into(), source);
    }
    Value::Object(out)
}

/// How the manifest says a form's values become a call's inputs.
const FORM_VALUES_NOTE: &str = "A form's values are the action's inputs, keyed by input key. \
Code inputs are JSON text. Key-value and file lists are arrays of {\"key\", \"value\"} rows, in \
order (keys may repeat); the host turns each row into one (key, value) pair of the input's \
list, and a file's value (text) into its UTF-8 bytes.";

/// The component manifest. `examples` is the examples document (see [`Examples`]): each
/// action's example inputs, output and output schema, and the rules of its inputs; actions
/// without an entry get none.
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
                "uiSchema": connection_ui_schema(c),
                "uischema": json_forms_uischema(&c.inputs),
            })
        })
        .collect();
    let actions: Map<String, Value> = definition
        .actions
        .iter()
        .map(|a| {
            let found = Examples::of(examples, &a.key);
            let mut action = json!({
                "key": a.key,
                "display": {"label": a.label, "description": a.description},
                "inputs": a.inputs.iter().map(manifest_input).collect::<Vec<_>>(),
                "inputSchema": form_schema(a, found.input_rules),
                "uiSchema": ui_schema(&a.inputs),
                "uischema": json_forms_uischema(&a.inputs),
            });
            let output_schema = found
                .output_schema
                .cloned()
                .or_else(|| found.output.map(|o| infer_schema(&[o])));
            if let Some(schema) = output_schema {
                action["outputSchema"] = schema;
            }
            if let Some(input) = found.input {
                action["exampleInputs"] = json!([input]);
            }
            if let Some(output) = found.output {
                action["exampleOutput"] = output.clone();
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
        "schemaDialect": SCHEMA_DIALECT,
        "formValues": FORM_VALUES_NOTE,
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
    let mut out = String::from("| Input | Comments | Default | Type |\n|---|---|---|---|\n");
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
            "| {} | {} | {} | `{}` |\n",
            cell(&label),
            cell(&comments),
            input
                .default
                .as_deref()
                .map(|d| format!("`{}`", cell(d)))
                .unwrap_or_default(),
            type_name(input.type_),
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
        let found = Examples::of(examples, &a.key);
        if let Some(input) = found.input {
            actions.push_str("\nExample inputs (as a form submits them):\n\n```json\n");
            actions.push_str(&serde_json::to_string_pretty(input).unwrap_or_default());
            actions.push_str("\n```\n");
        }
        if let Some(output) = found.output {
            actions.push_str(&format!(
                "\nExample output (captured from {examples_source}):\n\n```json\n"
            ));
            actions.push_str(&serde_json::to_string_pretty(output).unwrap_or_default());
            actions.push_str("\n```\n");
        }
    }
    pages.push(("actions.md".to_string(), actions));
    pages
}
