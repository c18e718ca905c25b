//! The references a flow file's values may hold: `${steps.create.output.id}` (or
//! `${{ steps.create.output.id }}`), resolved against the outputs of earlier steps, the
//! flow's variables, the connection and a few row generators.
//!
//! A string that is exactly one reference becomes the referenced value with its JSON type
//! (a number stays a number, an array an array); a reference inside other text becomes
//! text (strings as they are, anything else as its JSON). `$${` writes a literal `${`.
//!
//! What a reference names:
//! - `steps.NAME.output` followed by a path: the output data of the step NAME;
//!   `steps.NAME.http` the HTTP details of actions that report them (status, headers,
//!   content-type).
//! - `vars.NAME` followed by a path: a variable of the flow (`vars:` or `--var`).
//! - `connection.KEY`: a connection value; secrets (password inputs, the access token) are
//!   refused, so a flow cannot copy them into a request.
//! - `generate.sales_rows(N)`: N generated rows for a Sales table (the whole value only).
//!
//! A path is either a JSON pointer (`/rows/0/[Rows]`) or dotted: `.key`, `.0` or `[0]` for
//! an array index, and `[field=text]` for the first array element whose `field` is `text`
//! (`value[name=Sales].id`).

use anyhow::{Result, anyhow, bail};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The most rows a generator makes (a typo should not exhaust memory).
pub const MAX_GENERATED_ROWS: usize = 10_000_000;

/// One step of a path into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object's member, or an array's index when the text is a number.
    Key(String),
    /// The first element of an array whose member `field` equals `value` (as text).
    Find {
        /// The member to compare.
        field: String,
        /// The text it must have.
        value: String,
    },
}

/// What a row generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    /// Rows `{Id, Region, Amount, When}` for a Sales table (the demo's).
    SalesRows,
}

/// What one `${...}` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A step's output (`http` false) or HTTP details (`http` true), then a path.
    Step {
        /// The step's name.
        step: String,
        /// Whether it is the HTTP details rather than the output data.
        http: bool,
        /// The path into it.
        path: Vec<Segment>,
    },
    /// A flow variable, then a path.
    Var {
        /// Its name.
        name: String,
        /// The path into it.
        path: Vec<Segment>,
    },
    /// A connection value.
    Connection(String),
    /// Generated rows.
    Generate(Generator, usize),
}

/// A piece of a string value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Ref(Reference, String),
}

/// Splits `text` into literal text and references; errors say which reference is wrong.
fn parse(text: &str) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        literal.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(tail) = after.strip_prefix("$${") {
            literal.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${{") {
            let end = tail
                .find("}}")
                .ok_or_else(|| anyhow!("`${{{{` without its closing `}}}}` in {text:?}"))?;
            let expression = tail[..end].trim();
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Ref(
                parse_reference(expression)?,
                after[..end + 5].to_string(),
            ));
            rest = &tail[end + 2..];
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = tail
                .find('}')
                .ok_or_else(|| anyhow!("`${{` without its closing `}}` in {text:?}"))?;
            let expression = tail[..end].trim();
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Ref(
                parse_reference(expression)?,
                after[..end + 3].to_string(),
            ));
            rest = &tail[end + 1..];
        } else {
            literal.push('$');
            rest = &after[1..];
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Text(literal));
    }
    Ok(parts)
}

/// A name of a step or variable: letters, digits, `_` and `-`.
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Splits `name` off the front of `text` (up to `.`, `[` or `/`).
fn split_name(text: &str) -> (&str, &str) {
    let end = text.find(['.', '[', '/']).unwrap_or(text.len());
    text.split_at(end)
}

fn parse_reference(expression: &str) -> Result<Reference> {
    let wrong = |what: &str| anyhow!("`${{{expression}}}`: {what}");
    if let Some(rest) = expression.strip_prefix("steps.") {
        let (step, rest) = split_name(rest);
        if !is_name(step) {
            return Err(wrong("`steps.` must be followed by a step's name"));
        }
        let (http, rest) = if let Some(rest) = rest.strip_prefix(".output") {
            (false, rest)
        } else if let Some(rest) = rest.strip_prefix(".http") {
            (true, rest)
        } else {
            return Err(wrong(&format!(
                "say `steps.{step}.output` (its data) or `steps.{step}.http` (its HTTP details)"
            )));
        };
        let path = parse_path(rest).map_err(|e| wrong(&e.to_string()))?;
        return Ok(Reference::Step {
            step: step.to_string(),
            http,
            path,
        });
    }
    if let Some(rest) = expression.strip_prefix("vars.") {
        let (name, rest) = split_name(rest);
        if !is_name(name) {
            return Err(wrong("`vars.` must be followed by a variable's name"));
        }
        let path = parse_path(rest).map_err(|e| wrong(&e.to_string()))?;
        return Ok(Reference::Var {
            name: name.to_string(),
            path,
        });
    }
    if let Some(key) = expression.strip_prefix("connection.") {
        if !is_name(key) {
            return Err(wrong(
                "`connection.` must be followed by a connection input's key",
            ));
        }
        return Ok(Reference::Connection(key.to_string()));
    }
    if let Some(call) = expression.strip_prefix("generate.") {
        let (name, args) = call
            .strip_suffix(')')
            .and_then(|call| call.split_once('('))
            .ok_or_else(|| wrong("a generator is called as `generate.sales_rows(N)`"))?;
        let generator = match name.trim() {
            "sales_rows" => Generator::SalesRows,
            other => {
                return Err(wrong(&format!(
                    "no generator `{other}` (there is: sales_rows)"
                )));
            }
        };
        let count: usize = args
            .trim()
            .replace('_', "")
            .parse()
            .map_err(|_| wrong("the row count must be a whole number"))?;
        if count > MAX_GENERATED_ROWS {
            return Err(wrong(&format!(
                "at most {MAX_GENERATED_ROWS} rows can be generated"
            )));
        }
        return Ok(Reference::Generate(generator, count));
    }
    Err(wrong(
        "a reference starts with `steps.`, `vars.`, `connection.` or `generate.`",
    ))
}

/// A path: empty, a JSON pointer (`/a/0`), or dotted (`.a[0].b`, `.a.0`, `[name=x]`).
pub fn parse_path(text: &str) -> Result<Vec<Segment>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(pointer) = text.strip_prefix('/') {
        return Ok(pointer
            .split('/')
            .map(|token| Segment::Key(token.replace("~1", "/").replace("~0", "~")))
            .collect());
    }
    let mut segments = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix('.') {
            let end = tail.find(['.', '[']).unwrap_or(tail.len());
            if end == 0 {
                bail!("an empty name in the path `{text}`");
            }
            segments.push(Segment::Key(tail[..end].to_string()));
            rest = &tail[end..];
        } else if let Some(tail) = rest.strip_prefix('[') {
            let end = tail
                .find(']')
                .ok_or_else(|| anyhow!("`[` without `]` in the path `{text}`"))?;
            let inside = tail[..end].trim();
            let segment = match inside.split_once('=') {
                Some((field, value)) => Segment::Find {
                    field: field.trim().to_string(),
                    value: value.trim().trim_matches(['\'', '"']).to_string(),
                },
                None if inside.chars().all(|c| c.is_ascii_digit()) && !inside.is_empty() => {
                    Segment::Key(inside.to_string())
                }
                None => Segment::Key(inside.trim_matches(['\'', '"']).to_string()),
            };
            segments.push(segment);
            rest = &tail[end + 1..];
        } else {
            bail!("the path `{text}` must go on with `.name`, `[index]` or `[field=value]`");
        }
    }
    Ok(segments)
}

/// Shows a path as dotted text, for messages.
fn show_path(path: &[Segment]) -> String {
    path.iter()
        .map(|segment| match segment {
            Segment::Key(key) => format!(".{key}"),
            Segment::Find { field, value } => format!("[{field}={value}]"),
        })
        .collect()
}

/// The value at `path` in `value`; the error names the first segment that is missing.
pub fn lookup<'v>(value: &'v Value, path: &[Segment]) -> Result<&'v Value, String> {
    let mut here = value;
    for (at, segment) in path.iter().enumerate() {
        let found = match (segment, here) {
            (Segment::Key(key), Value::Object(object)) => object.get(key),
            (Segment::Key(key), Value::Array(items)) => {
                key.parse::<usize>().ok().and_then(|index| items.get(index))
            }
            (Segment::Find { field, value }, Value::Array(items)) => items.iter().find(|item| {
                item.get(field)
                    .is_some_and(|found| text_of(found) == *value)
            }),
            _ => None,
        };
        here = found.ok_or_else(|| {
            let within = show_path(&path[..at]);
            let what = match here {
                Value::Array(items) => format!("an array of {} elements", items.len()),
                Value::Object(_) => "an object".to_string(),
                other => format!("{other}"),
            };
            format!(
                "nothing at `{}` (`{}` is {what})",
                show_path(&path[..=at]),
                if within.is_empty() { "." } else { &within }
            )
        })?;
    }
    Ok(here)
}

/// A value as text: strings as they are, anything else as its JSON.
pub fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// What references resolve against.
pub struct Scope<'a> {
    /// The data of each step run so far (or read from a state file): `{"output", "http"}`.
    pub steps: &'a HashMap<String, Value>,
    /// The flow's variables.
    pub vars: &'a Map<String, Value>,
    /// The connection's values, secrets left out.
    pub connection: &'a Map<String, Value>,
    /// Steps skipped by `--resume-from` whose outputs are unknown, to say so.
    pub skipped: &'a [String],
}

impl Scope<'_> {
    fn resolve_reference(&self, reference: &Reference, source: &str) -> Result<Value> {
        match reference {
            Reference::Step { step, http, path } => {
                let Some(result) = self.steps.get(step) else {
                    if self.skipped.iter().any(|s| s == step) {
                        bail!(
                            "`{source}`: step `{step}` was skipped by --resume-from and no \
                             --state file gave its output (pass the --state FILE of the run \
                             that ran it)"
                        );
                    }
                    bail!("`{source}`: no step `{step}` has run before this one");
                };
                let part = if *http { "http" } else { "output" };
                let root = result.get(part).unwrap_or(&Value::Null);
                lookup(root, path)
                    .cloned()
                    .map_err(|e| anyhow!("`{source}`: step `{step}`'s {part} has {e}"))
            }
            Reference::Var { name, path } => {
                let root = self.vars.get(name).ok_or_else(|| {
                    anyhow!("`{source}`: no variable `{name}` (set it under `vars:` or with --var {name}=VALUE)")
                })?;
                lookup(root, path)
                    .cloned()
                    .map_err(|e| anyhow!("`{source}`: variable `{name}` has {e}"))
            }
            Reference::Connection(key) => self
                .connection
                .get(key)
                .cloned()
                .ok_or_else(|| anyhow!("`{source}`: the connection has no value `{key}` (or it is a secret, which a flow cannot copy)")),
            Reference::Generate(Generator::SalesRows, count) => Ok(sales_rows(*count)),
        }
    }

    /// `value` with every reference in its strings resolved (object keys are left as they
    /// are).
    pub fn resolve(&self, value: &Value) -> Result<Value> {
        Ok(match value {
            Value::String(text) => self.resolve_text(text)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.resolve(item))
                    .collect::<Result<_>>()?,
            ),
            Value::Object(object) => Value::Object(
                object
                    .iter()
                    .map(|(key, item)| Ok((key.clone(), self.resolve(item)?)))
                    .collect::<Result<_>>()?,
            ),
            other => other.clone(),
        })
    }

    fn resolve_text(&self, text: &str) -> Result<Value> {
        // Most strings (and every row of a big literal) hold no reference.
        if !text.contains('$') {
            return Ok(Value::String(text.to_string()));
        }
        let parts = parse(text)?;
        if let [Part::Ref(reference, source)] = parts.as_slice() {
            return self.resolve_reference(reference, source);
        }
        let mut out = String::new();
        for part in &parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Ref(Reference::Generate(..), source) => {
                    bail!("`{source}` makes rows: it must be the whole value, not part of a text")
                }
                Part::Ref(reference, source) => {
                    out.push_str(&text_of(&self.resolve_reference(reference, source)?));
                }
            }
        }
        Ok(Value::String(out))
    }
}

/// Every reference in the strings of `value`, for checking a flow before it runs.
pub fn references(value: &Value) -> Result<Vec<Reference>> {
    let mut found = Vec::new();
    collect(value, &mut found)?;
    Ok(found)
}

fn collect(value: &Value, found: &mut Vec<Reference>) -> Result<()> {
    match value {
        Value::String(text) if text.contains('$') => {
            for part in parse(text)? {
                if let Part::Ref(reference, _) = part {
                    found.push(reference);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, found)?;
            }
        }
        Value::Object(object) => {
            for item in object.values() {
                collect(item, found)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `count` rows for a Sales table with the columns Id (Int64), Region (string), Amount
/// (Double) and When (DateTime): Ids from 1, five regions in turn, amounts and dates
/// spread deterministically.
pub fn sales_rows(count: usize) -> Value {
    const REGIONS: [&str; 5] = ["North", "South", "East", "West", "Central"];
    Value::Array(
        (0..count)
            .map(|i| {
                json!({
                    "Id": i + 1,
                    "Region": REGIONS[i % REGIONS.len()],
                    "Amount": ((i * 7919) % 100_000) as f64 / 100.0,
                    "When": format!("2024-{:02}-{:02}T{:02}:00:00Z", 1 + i % 12, 1 + i % 28, i % 24),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_with<'a>(
        steps: &'a HashMap<String, Value>,
        vars: &'a Map<String, Value>,
        connection: &'a Map<String, Value>,
    ) -> Scope<'a> {
        Scope {
            steps,
            vars,
            connection,
            skipped: &[],
        }
    }

    fn fixture() -> (
        HashMap<String, Value>,
        Map<String, Value>,
        Map<String, Value>,
    ) {
        let mut steps = HashMap::new();
        steps.insert(
            "groups".to_string(),
            json!({"output": {"value": [
                {"id": "g-1", "name": "Sales"},
                {"id": "g-2", "name": "Finance"}
            ]}}),
        );
        steps.insert(
            "count".to_string(),
            json!({"output": {"rows": [{"[Rows]": 25000}]}, "http": {"status": 200}}),
        );
        let vars = json!({"top": 10, "name": "Demo"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let connection = json!({"cloud": "public"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        (steps, vars, connection)
    }

    #[test]
    fn a_whole_value_keeps_its_type_and_embedded_ones_become_text() -> Result<()> {
        let (steps, vars, connection) = fixture();
        let scope = scope_with(&steps, &vars, &connection);
        let resolved = scope.resolve(&json!({
            "count": "${steps.count.output/rows/0/[Rows]}",
            "top": "${{ vars.top }}",
            "text": "top ${vars.top} of ${vars.name} in ${connection.cloud}",
            "id": "${steps.groups.output.value[name=Finance].id}",
            "dotted": "${steps.groups.output.value.0.id}",
            "indexed": "${steps.groups.output.value[1].name}",
            "status": "${steps.count.http.status}",
            "literal": "cost: $5, $${not a reference}",
            "list": ["${vars.top}", 1],
        }))?;
        assert_eq!(
            resolved,
            json!({
                "count": 25000,
                "top": 10,
                "text": "top 10 of Demo in public",
                "id": "g-2",
                "dotted": "g-1",
                "indexed": "Finance",
                "status": 200,
                "literal": "cost: $5, ${not a reference}",
                "list": [10, 1],
            })
        );
        Ok(())
    }

    #[test]
    fn a_missing_path_names_the_step_and_where_it_stops() {
        let (steps, vars, connection) = fixture();
        let scope = scope_with(&steps, &vars, &connection);
        let error = scope
            .resolve(&json!("${steps.groups.output.value[5].id}"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("step `groups`"), "{error}");
        assert!(error.contains("nothing at `.value.5`"), "{error}");
        assert!(error.contains("an array of 2 elements"), "{error}");

        let error = scope
            .resolve(&json!("${steps.later.output.id}"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("no step `later`"), "{error}");
        let error = scope
            .resolve(&json!("${connection.client-secret}"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("secret"), "{error}");
    }

    #[test]
    fn malformed_references_are_refused_with_what_is_wrong() {
        for (text, says) in [
            ("${steps.a.data}", "steps.a.output"),
            ("${nothing.here}", "starts with"),
            ("${steps.a.output", "closing"),
            ("${generate.rows(3)}", "no generator"),
            ("${generate.sales_rows(x)}", "whole number"),
            ("${steps.a.output.b[0}", "without `]`"),
        ] {
            let error = references(&json!(text))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains(says), "{text}: {error}");
        }
        let found = references(&json!({"a": ["${steps.x.output}", "${vars.y}"]})).ok();
        assert_eq!(found.map(|f| f.len()), Some(2));
    }

    #[test]
    fn generated_rows_are_the_whole_value_only() -> Result<()> {
        let (steps, vars, connection) = fixture();
        let scope = scope_with(&steps, &vars, &connection);
        let rows = scope.resolve(&json!("${generate.sales_rows(3)}"))?;
        assert_eq!(rows.as_array().map(Vec::len), Some(3));
        assert_eq!(rows[2]["Id"], 3);
        assert_eq!(rows[2]["Region"], "East");
        assert!(
            scope
                .resolve(&json!("x ${generate.sales_rows(3)}"))
                .is_err()
        );
        Ok(())
    }
}
