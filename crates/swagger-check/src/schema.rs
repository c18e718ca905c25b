//! Validation of a JSON value against a Swagger 2.0 schema object (a JSON Schema draft 4
//! subset): `$ref`, `type`, `enum`, `required`, `properties`, `additionalProperties`,
//! `items`, `allOf`, string lengths and `pattern`, numeric bounds and integer formats.

use serde_json::Value;

use crate::pattern::Pattern;

/// Deeper `$ref`/`allOf` nesting than this is treated as a cycle in the description.
const MAX_DEPTH: usize = 64;

/// Resolves a local reference such as `#/definitions/Table` inside `doc`.
pub(crate) fn resolve_ref<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    // References are URI fragments, so they may be percent-encoded as well as ~-escaped;
    // Value::pointer handles the ~ escapes.
    let pointer = percent_encoding::percent_decode_str(pointer)
        .decode_utf8()
        .ok()?;
    doc.pointer(&pointer)
}

/// Escapes one JSON-pointer reference token (RFC 6901).
pub(crate) fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Validates values against schemas of one description, collecting readable errors.
pub(crate) struct Validator<'a> {
    doc: &'a Value,
    /// What is being validated, e.g. `body` or `query parameter "$top"`: every error
    /// starts with it, followed by the JSON pointer of the faulty value when not the root.
    label: &'a str,
    errors: Vec<String>,
}

/// How an object schema treats properties it does not declare.
#[derive(Clone, Copy)]
enum Extra<'a> {
    /// No `additionalProperties`: allowed only when no properties are declared at all.
    Unspecified,
    /// `additionalProperties: true` or a schema the extra values must match.
    Allowed(Option<&'a Value>),
    /// `additionalProperties: false`.
    Forbidden,
}

/// The object-level keywords of a schema merged over its `allOf` members: a property
/// declared by any member is known, which is what `allOf` composition means.
struct ObjectView<'a> {
    properties: Vec<(&'a str, Vec<&'a Value>)>,
    required: Vec<&'a str>,
    extra: Extra<'a>,
}

impl<'a> Validator<'a> {
    pub(crate) fn new(doc: &'a Value, label: &'a str) -> Self {
        Validator {
            doc,
            label,
            errors: Vec::new(),
        }
    }

    /// The errors found so far, without duplicates (allOf members may repeat a finding).
    pub(crate) fn into_errors(self) -> Vec<String> {
        let mut unique: Vec<String> = Vec::with_capacity(self.errors.len());
        for e in self.errors {
            if !unique.contains(&e) {
                unique.push(e);
            }
        }
        unique
    }

    /// Validates `value` (found at JSON pointer `pointer`) against `schema`.
    pub(crate) fn validate(&mut self, value: &Value, schema: &'a Value, pointer: &str) {
        self.node(value, schema, pointer, false, 0);
    }

    fn error(&mut self, pointer: &str, message: impl std::fmt::Display) {
        let at = if pointer.is_empty() {
            self.label.to_string()
        } else {
            format!("{} at {pointer}", self.label)
        };
        self.errors.push(format!("{at}: {message}"));
    }

    fn resolve(&self, mut schema: &'a Value) -> Result<&'a Value, String> {
        for _ in 0..MAX_DEPTH {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    schema = resolve_ref(self.doc, r)
                        .ok_or_else(|| format!("the description's $ref {r:?} does not resolve"))?
                }
                None => return Ok(schema),
            }
        }
        Err("the description's $ref chain is too long (a cycle?)".to_string())
    }

    /// `members_only` is set while checking an `allOf` member: its object keywords were
    /// already applied through the merged view of the schema that holds the `allOf`.
    fn node(
        &mut self,
        value: &Value,
        schema: &'a Value,
        pointer: &str,
        members_only: bool,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            self.error(
                pointer,
                "schema nesting too deep (a cycle in the description?)",
            );
            return;
        }
        let schema = match self.resolve(schema) {
            Ok(s) => s,
            Err(e) => return self.error(pointer, e),
        };
        if value.is_null() && schema.get("x-nullable") == Some(&Value::Bool(true)) {
            return;
        }
        if let Some(types) = effective_types(schema)
            && !types.iter().any(|t| type_matches(value, t))
        {
            // Swagger 2.0 has no null type, so `null` fails any typed schema; omit the
            // property instead.
            return self.error(
                pointer,
                format!("expected {}, got {}", types.join(" or "), describe(value)),
            );
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            self.error(
                pointer,
                format!(
                    "{value} is not one of the allowed values [{}]",
                    list.join(", ")
                ),
            );
        }
        match value {
            Value::String(s) => self.string(s, schema, pointer),
            Value::Number(_) => self.number(value, schema, pointer),
            Value::Array(items) => self.array(items, schema, pointer, depth),
            Value::Object(map) if !members_only => self.object(map, schema, pointer, depth),
            _ => {}
        }
        if let Some(members) = schema.get("allOf").and_then(Value::as_array) {
            for member in members {
                self.node(value, member, pointer, true, depth + 1);
            }
        }
    }

    fn string(&mut self, s: &str, schema: &Value, pointer: &str) {
        let len = s.chars().count();
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len as u64 > max
        {
            self.error(
                pointer,
                format!("string of {len} characters is longer than maxLength {max}"),
            );
        }
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && (len as u64) < min
        {
            self.error(
                pointer,
                format!("string of {len} characters is shorter than minLength {min}"),
            );
        }
        if let Some(src) = schema.get("pattern").and_then(Value::as_str)
            // Patterns outside the supported subset are skipped rather than guessed at.
            && let Some(p) = Pattern::parse(src)
            && !p.is_match(s)
        {
            self.error(pointer, format!("{s:?} does not match the pattern {src}"));
        }
    }

    fn number(&mut self, value: &Value, schema: &Value, pointer: &str) {
        let Some(x) = value.as_f64() else { return };
        let exclusive = |key| schema.get(key) == Some(&Value::Bool(true));
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            let below = if exclusive("exclusiveMinimum") {
                x <= min
            } else {
                x < min
            };
            if below {
                self.error(pointer, format!("{value} is below the minimum {min}"));
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            let above = if exclusive("exclusiveMaximum") {
                x >= max
            } else {
                x > max
            };
            if above {
                self.error(pointer, format!("{value} is above the maximum {max}"));
            }
        }
        if value.is_i64() || value.is_u64() {
            let fits = match schema.get("format").and_then(Value::as_str) {
                Some("int32") => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                Some("int64") => value.is_i64(),
                _ => true,
            };
            if !fits {
                self.error(
                    pointer,
                    format!("{value} does not fit the format {}", schema["format"]),
                );
            }
        }
    }

    fn array(&mut self, items: &[Value], schema: &'a Value, pointer: &str, depth: usize) {
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && items.len() as u64 > max
        {
            self.error(
                pointer,
                format!("{} items, more than maxItems {max}", items.len()),
            );
        }
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            self.error(
                pointer,
                format!("{} items, fewer than minItems {min}", items.len()),
            );
        }
        if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
            for (i, item) in items.iter().enumerate() {
                self.node(
                    item,
                    item_schema,
                    &format!("{pointer}/{i}"),
                    false,
                    depth + 1,
                );
            }
        }
    }

    fn object(
        &mut self,
        map: &serde_json::Map<String, Value>,
        schema: &'a Value,
        pointer: &str,
        depth: usize,
    ) {
        let mut view = ObjectView {
            properties: Vec::new(),
            required: Vec::new(),
            extra: Extra::Unspecified,
        };
        if let Err(e) = self.collect(schema, &mut view, 0) {
            return self.error(pointer, e);
        }
        for name in &view.required {
            // OpenAPI 2.0: a readOnly property "MAY be sent as part of a response but MUST
            // NOT be sent as part of the request", so its `required` binds responses only.
            let read_only = view.properties.iter().any(|(n, schemas)| {
                n == name
                    && schemas.iter().any(|s| {
                        self.resolve(s)
                            .is_ok_and(|s| s.get("readOnly") == Some(&Value::Bool(true)))
                    })
            });
            if !read_only && !map.contains_key(*name) {
                // A wrongly cased key is the usual cause: say so.
                let found = map.keys().find(|k| k.eq_ignore_ascii_case(name));
                let hint = found
                    .map(|k| format!(" (found {k:?}; names are case-sensitive)"))
                    .unwrap_or_default();
                self.error(pointer, format!("missing required property {name:?}{hint}"));
            }
        }
        for (key, value) in map {
            let child = format!("{pointer}/{}", escape_token(key));
            if let Some((_, schemas)) = view.properties.iter().find(|(n, _)| n == key) {
                for s in schemas.clone() {
                    self.node(value, s, &child, false, depth + 1);
                }
                continue;
            }
            match view.extra {
                Extra::Allowed(Some(s)) => self.node(value, s, &child, false, depth + 1),
                Extra::Allowed(None) => {}
                Extra::Unspecified if view.properties.is_empty() => {}
                Extra::Forbidden | Extra::Unspecified => {
                    let declared: Vec<&str> = view.properties.iter().map(|(n, _)| *n).collect();
                    let hint = case_hint(key, declared.iter().copied());
                    let detail = if hint.is_empty() {
                        format!(" (declared: {})", declared.join(", "))
                    } else {
                        hint
                    };
                    self.error(&child, format!("unknown property {key:?}{detail}"));
                }
            }
        }
    }

    /// Merges the object keywords of `schema` and, recursively, of its `allOf` members.
    fn collect(
        &self,
        schema: &'a Value,
        view: &mut ObjectView<'a>,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("allOf nesting too deep (a cycle in the description?)".to_string());
        }
        let schema = self.resolve(schema)?;
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                match view.properties.iter_mut().find(|(n, _)| n == name) {
                    Some((_, schemas)) => schemas.push(prop),
                    None => view.properties.push((name, vec![prop])),
                }
            }
        }
        // In a schema `required` is a list of names (in a parameter it is a boolean).
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            view.required.extend(
                required
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|n| !view.required.contains(n))
                    .collect::<Vec<_>>(),
            );
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(true)) => view.extra = Extra::Allowed(None),
            Some(s @ Value::Object(_)) => view.extra = Extra::Allowed(Some(s)),
            // An explicit allowance anywhere in the composition wins over a `false`.
            Some(Value::Bool(false)) if matches!(view.extra, Extra::Unspecified) => {
                view.extra = Extra::Forbidden
            }
            _ => {}
        }
        if let Some(members) = schema.get("allOf").and_then(Value::as_array) {
            for member in members {
                self.collect(member, view, depth + 1)?;
            }
        }
        Ok(())
    }
}

/// The types a schema admits, or `None` when it admits any value. Microsoft's description
/// leaves `type` out of most definitions, so an object is inferred from the object keywords
/// (a bare array sent where `{"rows": [...]}` is expected must fail).
fn effective_types(schema: &Value) -> Option<Vec<&str>> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(vec![t.as_str()]),
        Some(Value::Array(ts)) => Some(ts.iter().filter_map(Value::as_str).collect()),
        _ if schema.get("properties").is_some()
            || schema.get("additionalProperties").is_some()
            || schema.get("required").is_some_and(Value::is_array) =>
        {
            Some(vec!["object"])
        }
        _ if schema.get("items").is_some() => Some(vec!["array"]),
        _ => None,
    }
}

fn type_matches(value: &Value, t: &str) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        // Draft 4 semantics: 1.0 is a number but not an integer.
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "null" => value.is_null(),
        // `file` and unknown types cannot be checked against JSON.
        _ => true,
    }
}

/// A short description of a value for error messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            format!("string {:?}...", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("string {s:?}"),
        Value::Array(a) => format!("array of {} items", a.len()),
        Value::Object(_) => "object".to_string(),
    }
}

/// ` (did you mean "x"? names are case-sensitive)` when `name` differs from a candidate
/// only in case, else an empty string.
pub(crate) fn case_hint<'s>(name: &str, candidates: impl IntoIterator<Item = &'s str>) -> String {
    candidates
        .into_iter()
        .find(|c| *c != name && c.eq_ignore_ascii_case(name))
        .map(|c| format!(" (did you mean {c:?}? names are case-sensitive)"))
        .unwrap_or_default()
}
