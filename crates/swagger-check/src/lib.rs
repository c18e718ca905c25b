//! Validates captured HTTP requests against a Swagger 2.0 description, such as Microsoft's
//! Power BI REST API description (`swagger.json`).
//!
//! ```no_run
//! use std::path::Path;
//! let path = swagger_check::locate(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("swagger");
//! let swagger = swagger_check::Swagger::load(&path).unwrap();
//! let matched = swagger
//!     .validate("GET", "/v1.0/myorg/groups?%24top=10", None, b"")
//!     .unwrap();
//! assert_eq!(matched.operation_id, "Groups_GetGroups");
//! ```
//!
//! What is checked: the path against the path templates (percent-decoded segment by
//! segment), the method, the query parameters (declared, required, typed) and the body
//! (content type against `consumes`, JSON against the body parameter's schema, with unknown
//! or wrongly cased properties reported; multipart bodies for operations that take them).
//! Headers are not checked: the Power BI description declares none.

#![deny(missing_docs)]

mod pattern;
mod schema;

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;
use serde_json::Value;

use schema::{Validator, case_hint, resolve_ref};

/// The HTTP methods a Swagger 2.0 path item can hold (its other keys are `parameters`,
/// `$ref` and `x-` extensions).
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// A loaded Swagger 2.0 description, ready to validate requests.
pub struct Swagger {
    doc: Value,
    templates: Vec<Template>,
}

/// The operation a valid request was matched to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The operation's `operationId`, e.g. `Datasets_PostRows` (or `METHOD template` when
    /// the description gives none).
    pub operation_id: String,
    /// The path template as written in the description (with `basePath` in front, if any),
    /// e.g. `/v1.0/myorg/datasets/{datasetId}/tables/{tableName}/rows`.
    pub path_template: String,
}

/// One path template, split into segments for matching.
struct Template {
    /// The key under `paths` (used to find the path item again).
    key: String,
    /// `basePath` + key: what a request path is matched against.
    full: String,
    segments: Vec<Vec<Part>>,
}

/// A piece of a template segment: OData-style segments such as `scorecards({scorecardId})`
/// mix literal text and parameters, so a segment is a sequence of parts.
#[derive(Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Param(String),
}

impl Template {
    fn parse(key: &str, base: &str) -> Result<Template, String> {
        let full = format!("{base}{key}");
        let rest = full
            .strip_prefix('/')
            .ok_or_else(|| format!("path template {key:?} does not start with '/'"))?;
        let segments = rest
            .split('/')
            .map(|segment| {
                parse_segment(segment)
                    .ok_or_else(|| format!("path template {key:?} has unbalanced braces"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Template {
            key: key.to_string(),
            full,
            segments,
        })
    }

    /// Whether the decoded request segments fit this template.
    fn matches(&self, segments: &[String]) -> bool {
        self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(parts, s)| match_parts(parts, s))
    }

    /// How specific the template is: templates with more fully literal segments win, then
    /// those whose literal segments come first (`/a/b/{x}` over `/a/{x}/c`), then those with
    /// more literal text inside mixed segments.
    fn specificity(&self) -> (usize, Vec<bool>, usize) {
        let literal: Vec<bool> = self
            .segments
            .iter()
            .map(|parts| parts.iter().all(|p| matches!(p, Part::Literal(_))))
            .collect();
        let literal_chars = self
            .segments
            .iter()
            .flatten()
            .map(|p| match p {
                Part::Literal(l) => l.len(),
                Part::Param(_) => 0,
            })
            .sum();
        (
            literal.iter().filter(|&&l| l).count(),
            literal,
            literal_chars,
        )
    }
}

fn parse_segment(segment: &str) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut rest = segment;
    while !rest.is_empty() {
        match rest.find('{') {
            Some(0) => {
                let close = rest.find('}')?;
                parts.push(Part::Param(rest[1..close].to_string()));
                rest = &rest[close + 1..];
            }
            Some(open) => {
                parts.push(Part::Literal(rest[..open].to_string()));
                rest = &rest[open..];
            }
            None => {
                if rest.contains('}') {
                    return None;
                }
                parts.push(Part::Literal(rest.to_string()));
                rest = "";
            }
        }
    }
    Some(parts)
}

/// Matches one decoded segment against template parts; a parameter takes at least one
/// character (Power BI ids and names are never empty).
fn match_parts(parts: &[Part], s: &str) -> bool {
    match parts.split_first() {
        None => s.is_empty(),
        Some((Part::Literal(l), rest)) => s
            .strip_prefix(l.as_str())
            .is_some_and(|r| match_parts(rest, r)),
        Some((Part::Param(_), rest)) => s
            .char_indices()
            .skip(1)
            .map(|(i, _)| i)
            .chain([s.len()])
            .filter(|&end| end > 0)
            .any(|end| match_parts(rest, &s[end..])),
    }
}

impl std::fmt::Debug for Swagger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The whole document would flood test output; its size is what matters.
        f.debug_struct("Swagger")
            .field("title", &self.doc.pointer("/info/title"))
            .field("paths", &self.templates.len())
            .finish()
    }
}

impl Swagger {
    /// Builds a validator from a parsed Swagger 2.0 document. Fails when the document is not
    /// Swagger 2.0, has no `paths` object, has a malformed path template, or holds a local
    /// `$ref` that does not resolve (so validation never meets a dangling reference).
    pub fn from_value(doc: Value) -> Result<Self, String> {
        match doc.get("swagger").and_then(Value::as_str) {
            Some("2.0") => {}
            Some(other) => {
                return Err(format!(
                    "unsupported swagger version {other:?} (expected \"2.0\")"
                ));
            }
            None => {
                return Err("not a Swagger 2.0 document: no \"swagger\": \"2.0\" field".to_string());
            }
        }
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("the document has no \"paths\" object")?;
        let base = doc
            .get("basePath")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim_end_matches('/');
        let templates = paths
            .keys()
            .map(|key| Template::parse(key, base))
            .collect::<Result<Vec<_>, _>>()?;
        let mut dangling = Vec::new();
        find_dangling_refs(&doc, &doc, "", &mut dangling);
        if !dangling.is_empty() {
            let shown: Vec<&str> = dangling.iter().take(5).map(String::as_str).collect();
            return Err(format!(
                "{} $ref(s) do not resolve, e.g. {}",
                dangling.len(),
                shown.join("; ")
            ));
        }
        Ok(Swagger { doc, templates })
    }

    /// Reads and parses a Swagger 2.0 JSON file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let doc: Value = serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        Self::from_value(doc).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Validate one request. `path_and_query` is as sent on the wire, e.g.
    /// "/v1.0/myorg/datasets/abc/tables/My%20Table/rows?%24top=5" (percent-encoded).
    ///
    /// `content_type` is the request's `Content-Type` header, if any; `body` the raw body
    /// (empty for none). Returns the matched operation, or every problem found, each naming
    /// the operation and the parameter or JSON pointer at fault.
    pub fn validate(
        &self,
        method: &str,
        path_and_query: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Matched, Vec<String>> {
        // A fragment is never sent on the wire, but drop one rather than misreport it.
        let without_fragment = path_and_query.split('#').next().unwrap_or_default();
        let (path, query) = match without_fragment.split_once('?') {
            Some((p, q)) => (p, q),
            None => (without_fragment, ""),
        };
        let (template, op_method, item, op) =
            self.find_operation(method, path).map_err(|e| vec![e])?;

        let operation_id = op
            .get("operationId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} {}", op_method.to_uppercase(), template.full));
        let params = self.parameters(item, op);
        let mut errors = Vec::new();
        self.check_query(query, &params, &mut errors);
        self.check_body(op, &params, content_type, body, &mut errors);

        if errors.is_empty() {
            Ok(Matched {
                operation_id,
                path_template: template.full.clone(),
            })
        } else {
            Err(errors
                .into_iter()
                .map(|e| {
                    format!(
                        "{operation_id} ({} {}): {e}",
                        op_method.to_uppercase(),
                        template.full
                    )
                })
                .collect())
        }
    }

    /// Finds the template and operation for a request path and method.
    fn find_operation(
        &self,
        method: &str,
        path: &str,
    ) -> Result<(&Template, &'static str, &Value, &Value), String> {
        let rest = path
            .strip_prefix('/')
            .ok_or_else(|| format!("path {path:?} does not start with '/'"))?;
        let segments = rest
            .split('/')
            .enumerate()
            .map(|(i, s)| {
                percent_decode_str(s)
                    .decode_utf8()
                    .map(|d| d.into_owned())
                    .map_err(|_| {
                        format!(
                            "path {path:?}: segment {} is not UTF-8 once percent-decoded",
                            i + 1
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut candidates: Vec<&Template> = self
            .templates
            .iter()
            .filter(|t| t.matches(&segments))
            .collect();
        if candidates.is_empty() {
            return Err(format!(
                "path {path:?} (decoded: /{}) matches no path template of the description",
                segments.join("/")
            ));
        }
        // Most specific first; the sort is stable, so ties keep document order.
        candidates.sort_by_key(|t| std::cmp::Reverse(t.specificity()));
        let method_key = METHODS
            .iter()
            .copied()
            .find(|m| m.eq_ignore_ascii_case(method));
        // A literal route that lacks the method does not hide a parameterised route that
        // has it (ASP.NET routing, which Power BI runs on, selects on the method too).
        for template in &candidates {
            let item = self.path_item(template);
            if let Some(m) = method_key
                && let Some(op) = item.get(m).filter(|op| op.is_object())
            {
                return Ok((template, m, item, op));
            }
        }
        let best = candidates[0];
        let item = self.path_item(best);
        let defined: Vec<String> = METHODS
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_uppercase())
            .collect();
        Err(format!(
            "method {method} is not defined for path {path:?} (template {}; defined: {})",
            best.full,
            defined.join(", ")
        ))
    }

    /// The path item of a template, following a path-item `$ref` if there is one.
    fn path_item(&self, template: &Template) -> &Value {
        let item = &self.doc["paths"][template.key.as_str()];
        match item.get("$ref").and_then(Value::as_str) {
            Some(r) => resolve_ref(&self.doc, r).unwrap_or(item),
            None => item,
        }
    }

    /// The operation's parameters: path-level ones overridden by operation-level ones with
    /// the same name and location, with `$ref`s resolved.
    fn parameters<'a>(&'a self, item: &'a Value, op: &'a Value) -> Vec<&'a Value> {
        let resolve = |p: &'a Value| match p.get("$ref").and_then(Value::as_str) {
            Some(r) => resolve_ref(&self.doc, r).unwrap_or(p),
            None => p,
        };
        let list = |v: &'a Value| -> Vec<&'a Value> {
            v.get("parameters")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(resolve).collect())
                .unwrap_or_default()
        };
        let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
        let op_params = list(op);
        let mut params: Vec<&Value> = list(item)
            .into_iter()
            .filter(|p| !op_params.iter().any(|o| key(o) == key(p)))
            .collect();
        params.extend(op_params);
        params
    }

    fn check_query(&self, query: &str, params: &[&Value], errors: &mut Vec<String>) {
        let declared: Vec<&Value> = params
            .iter()
            .copied()
            .filter(|p| p["in"] == "query")
            .collect();
        let declared_names: Vec<&str> =
            declared.iter().filter_map(|p| p["name"].as_str()).collect();
        let mut seen: Vec<String> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let (Some(name), Some(value)) = (decode_query(raw_name), decode_query(raw_value))
            else {
                errors.push(format!(
                    "query pair {pair:?} is not UTF-8 once percent-decoded"
                ));
                continue;
            };
            if seen.contains(&name) {
                // Swagger 2.0 only allows repeats with collectionFormat multi.
                let multi = declared
                    .iter()
                    .any(|p| p["name"] == name.as_str() && p["collectionFormat"] == "multi");
                if !multi {
                    errors.push(format!("query parameter {name:?} is given more than once"));
                }
                continue;
            }
            seen.push(name.clone());
            let Some(param) = declared.iter().find(|p| p["name"] == name.as_str()) else {
                let hint = case_hint(&name, declared_names.iter().copied());
                let detail = if !hint.is_empty() {
                    hint
                } else if declared_names.is_empty() {
                    " (the operation declares no query parameters)".to_string()
                } else {
                    format!(" (declared: {})", declared_names.join(", "))
                };
                errors.push(format!("unknown query parameter {name:?}{detail}"));
                continue;
            };
            let label = format!("query parameter {name:?}");
            match query_value(&value, param) {
                Ok(v) => {
                    let mut validator = Validator::new(&self.doc, &label);
                    validator.validate(&v, param, "");
                    errors.extend(validator.into_errors());
                }
                Err(e) => errors.push(format!("{label}: {e}")),
            }
        }
        for param in &declared {
            let name = param["name"].as_str().unwrap_or_default();
            if param["required"] == true && !seen.iter().any(|s| s == name) {
                errors.push(format!("missing required query parameter {name:?}"));
            }
        }
    }

    fn check_body(
        &self,
        op: &Value,
        params: &[&Value],
        content_type: Option<&str>,
        body: &[u8],
        errors: &mut Vec<String>,
    ) {
        let body_param = params.iter().copied().find(|p| p["in"] == "body");
        let form_params: Vec<&Value> = params
            .iter()
            .copied()
            .filter(|p| p["in"] == "formData")
            .collect();
        // An operation's `consumes` replaces the document's, even when empty.
        let consumes: Vec<String> = op
            .get("consumes")
            .or_else(|| self.doc.get("consumes"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|c| media_type(c).0)
                    .collect()
            })
            .unwrap_or_default();
        let shown_consumes = if consumes.is_empty() {
            "nothing declared".to_string()
        } else {
            consumes.join(", ")
        };

        if body.is_empty() {
            if let Some(p) = body_param.filter(|p| p["required"] == true) {
                errors.push(format!(
                    "missing request body (required body parameter {})",
                    p["name"]
                ));
            }
            for p in form_params.iter().filter(|p| p["required"] == true) {
                errors.push(format!(
                    "missing request body (required form parameter {})",
                    p["name"]
                ));
            }
            return;
        }

        let (media, ct_params) = content_type.map(media_type).unwrap_or_default();
        if media == "multipart/form-data" {
            if !consumes.iter().any(|c| c == "multipart/form-data") && form_params.is_empty() {
                errors.push(format!(
                    "content type multipart/form-data is not accepted by this operation (consumes: {shown_consumes})"
                ));
                return;
            }
            match ct_params
                .iter()
                .find(|(k, _)| k == "boundary")
                .map(|(_, v)| v.as_str())
            {
                None | Some("") => errors
                    .push("content type multipart/form-data has no boundary parameter".to_string()),
                Some(boundary) => {
                    let open = format!("--{boundary}");
                    let close = format!("--{boundary}--");
                    if !contains(body, open.as_bytes()) {
                        errors.push(format!(
                            "multipart body does not contain the boundary delimiter {open:?}"
                        ));
                    } else if !contains(body, close.as_bytes()) {
                        errors.push(format!("multipart body has no closing delimiter {close:?}"));
                    }
                }
            }
            return;
        }

        // A body without a content type is taken to be JSON, the only thing Power BI's
        // JSON operations would parse it as.
        if !media.is_empty() && !is_json(&media) {
            if !consumes.contains(&media) {
                errors.push(format!(
                    "content type {media} is not accepted by this operation (consumes: {shown_consumes})"
                ));
            }
            // A declared non-JSON, non-multipart type cannot be looked into further.
            return;
        }
        if !consumes.is_empty() && !consumes.iter().any(|c| is_json(c)) {
            errors.push(format!(
                "a JSON body is not accepted by this operation (consumes: {shown_consumes})"
            ));
            return;
        }
        let Some(param) = body_param else {
            errors.push(format!(
                "the operation declares no body parameter, but a {}-byte body was sent",
                body.len()
            ));
            return;
        };
        let value: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                errors.push(format!("body is not valid JSON: {e}"));
                return;
            }
        };
        let Some(schema) = param.get("schema") else {
            return;
        };
        let mut validator = Validator::new(&self.doc, "body");
        validator.validate(&value, schema, "");
        errors.extend(validator.into_errors());
    }
}

/// Decodes a query name or value: `+` is a space in query strings, then percent escapes.
fn decode_query(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Turns a query string value into the JSON value its parameter's `type` implies, so the
/// schema validator can check `enum`, bounds and formats.
fn query_value(raw: &str, param: &Value) -> Result<Value, String> {
    typed_value(raw, param.get("type").and_then(Value::as_str), param)
}

fn typed_value(raw: &str, ty: Option<&str>, param: &Value) -> Result<Value, String> {
    match ty {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("expected an integer, got {raw:?}")),
        Some("number") => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("expected a number, got {raw:?}")),
        // Lower case only: the JSON spelling, which every generated client sends.
        Some("boolean") => match raw {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, got {raw:?}")),
        },
        Some("array") => {
            let separator = match param.get("collectionFormat").and_then(Value::as_str) {
                Some("ssv") => ' ',
                Some("tsv") => '\t',
                Some("pipes") => '|',
                _ => ',',
            };
            let items = param.get("items").cloned().unwrap_or(Value::Null);
            let item_type = items.get("type").and_then(Value::as_str);
            raw.split(separator)
                .map(|part| typed_value(part, item_type, &items))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        _ => Ok(Value::String(raw.to_string())),
    }
}

/// Splits a `Content-Type` into its lower-cased media type and its parameters (names
/// lower-cased, values unquoted).
fn media_type(content_type: &str) -> (String, Vec<(String, String)>) {
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (k.trim().to_ascii_lowercase(), v.to_string())
        })
        .collect();
    (media, params)
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media == "text/json" || media.ends_with("+json")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Collects every local `$ref` in `value` that does not resolve in `doc`.
fn find_dangling_refs(doc: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                // Examples are free-form data, not schema.
                if k == "x-ms-examples" || k == "example" || k == "examples" {
                    continue;
                }
                if k == "$ref"
                    && let Some(r) = v.as_str()
                    && r.starts_with('#')
                    && resolve_ref(doc, r).is_none()
                {
                    out.push(format!("{r:?} at {at}"));
                }
                find_dangling_refs(doc, v, &format!("{at}/{}", schema::escape_token(k)), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                find_dangling_refs(doc, v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Where the swagger is: env var POWERBI_SWAGGER if set, else `../shared/powerbi-api/swagger.json` searched upward from a start directory (pass env!("CARGO_MANIFEST_DIR") from the caller: walk the ancestors and look for `shared/powerbi-api/swagger.json` beside each). None when neither exists.
///
/// A `POWERBI_SWAGGER` naming a file that does not exist is ignored (the search still
/// runs), so a stale setting cannot turn a found file into a skipped test.
pub fn locate(start: &Path) -> Option<PathBuf> {
    locate_with(
        std::env::var_os("POWERBI_SWAGGER").map(PathBuf::from),
        start,
    )
}

/// [`locate`] with the environment variable's value passed in, so tests need not mutate
/// the process environment (which is `unsafe` and races other tests).
fn locate_with(from_env: Option<PathBuf>, start: &Path) -> Option<PathBuf> {
    if let Some(path) = from_env.filter(|p| !p.as_os_str().is_empty() && p.is_file()) {
        return Some(path);
    }
    start
        .ancestors()
        .map(|dir| dir.join("shared").join("powerbi-api").join("swagger.json"))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_with_odata_keys_are_parsed() {
        assert_eq!(
            parse_segment("scorecards({scorecardId})").unwrap(),
            vec![
                Part::Literal("scorecards(".into()),
                Part::Param("scorecardId".into()),
                Part::Literal(")".into())
            ]
        );
        assert_eq!(parse_segment("a{b"), None);
        assert_eq!(parse_segment("a}b"), None);
    }

    #[test]
    fn parameters_need_at_least_one_character() {
        let parts = parse_segment("goals({goalId})").unwrap();
        assert!(match_parts(&parts, "goals(g1)"));
        assert!(match_parts(&parts, "goals(é)"));
        assert!(!match_parts(&parts, "goals()"));
        assert!(!match_parts(&parts, "goal(g1)"));
        let whole = parse_segment("{id}").unwrap();
        assert!(match_parts(&whole, "x"));
        assert!(!match_parts(&whole, ""));
    }

    #[test]
    fn content_type_parameters_are_parsed() {
        let (media, params) =
            media_type("Multipart/Form-Data; Boundary=\"abc def\"; charset=utf-8");
        assert_eq!(media, "multipart/form-data");
        assert_eq!(params[0], ("boundary".to_string(), "abc def".to_string()));
        assert!(is_json("application/vnd.x+json"));
        assert!(!is_json("text/plain"));
    }

    #[test]
    fn locate_prefers_an_existing_env_path_then_searches_upward() {
        let root =
            std::env::temp_dir().join(format!("swagger-check-locate-{}", std::process::id()));
        let nested = root.join("repo").join("crates").join("x");
        std::fs::create_dir_all(&nested).unwrap();
        let shared = root.join("shared").join("powerbi-api");
        std::fs::create_dir_all(&shared).unwrap();
        let file = shared.join("swagger.json");
        std::fs::write(&file, "{}").unwrap();
        let other = root.join("other.json");
        std::fs::write(&other, "{}").unwrap();

        assert_eq!(locate_with(None, &nested), Some(file.clone()));
        assert_eq!(locate_with(Some(other.clone()), &nested), Some(other));
        // A missing env path falls back to the search.
        assert_eq!(
            locate_with(Some(root.join("missing.json")), &nested),
            Some(file.clone())
        );
        std::fs::remove_file(&file).unwrap();
        // Gone here, it is not found here; the search may still find a `shared/` further up
        // (the temp folder itself can sit beside one, as on CI machines), never this one.
        assert_ne!(locate_with(None, &nested), Some(file));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
