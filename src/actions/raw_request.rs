//! Raw Request: any request under the API base, with the connection's token.
//!
//! The URL input is a path joined to the API base. Anything that could send the token to
//! another host or climb out of the base is refused before a request exists: absolute and
//! protocol-relative URLs, `user@host`, backslashes, fragments, and `..` segments (also
//! percent-encoded) that leave `/v1.0/myorg`.

use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde_json::json;

use super::{Context, Single};
use crate::definition::{Action, Input, InputType, MAX_RETRIES, MAX_TIMEOUT_MS};
use crate::error::ActionError;
use crate::exchange::{HttpDetails, Output};
use crate::http::{Method, Request, Response, append_query};
use crate::multipart::{self, Part};
use crate::retry::RetryPolicy;

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "raw-request",
    label: "Raw Request",
    description: "Send raw HTTP request to Microsoft Power BI",
    inputs: &[
        Input::new(
            "url",
            "URL",
            InputType::String,
            "Input the path only (/profiles), The base URL is already included (https://api.powerbi.com/v1.0/myorg). For example, to connect to https://api.powerbi.com/v1.0/myorg/profiles, only /profiles is entered in this field.",
        )
        .required()
        .default("/imports")
        .example("/datasets"),
        Input::new("method", "Method", InputType::Picklist, "The HTTP method to use.")
            .required()
            .choices(&[
                ("GET", "GET"),
                ("POST", "POST"),
                ("PUT", "PUT"),
                ("PATCH", "PATCH"),
                ("DELETE", "DELETE"),
                ("HEAD", "HEAD"),
                ("OPTIONS", "OPTIONS"),
            ]),
        Input::new("data", "Data", InputType::Code, "The HTTP body payload to send to the URL."),
        Input::new(
            "form-data",
            "Form Data",
            InputType::KeyValueList,
            "The Form Data to be sent as a multipart form upload.",
        ),
        Input::new(
            "file-data",
            "File Data",
            InputType::FileList,
            "File Data to be sent as a multipart form upload.",
        ),
        Input::new(
            "file-data-file-names",
            "File Data File Names",
            InputType::KeyValueList,
            "File names to apply to the file data inputs. Keys must match the file data keys above.",
        ),
        Input::new(
            "query-params",
            "Query Parameter",
            InputType::KeyValueList,
            "A list of query parameters to send with the request. This is the portion at the end of the URL similar to ?key1=value1&key2=value2.",
        ),
        Input::new(
            "headers",
            "Header",
            InputType::KeyValueList,
            "A list of headers to send with the request.",
        ),
        Input::new(
            "response-type",
            "Response Type",
            InputType::Picklist,
            "The type of data you expect in the response. You can request json, text, or binary data.",
        )
        .required()
        .default("json")
        .choices(&[("JSON", "json"), ("Text", "text"), ("Binary", "binary")]),
        Input::new(
            "timeout",
            "Timeout",
            InputType::Integer,
            "The maximum time that a client will await a response to its request",
        )
        .bounds(Some(1), Some(MAX_TIMEOUT_MS))
        .example("30000"),
        Input::new(
            "debug-request",
            "Debug Request",
            InputType::Boolean,
            "Enabling this flag will log out the current request.",
        )
        .default("false"),
        Input::new(
            "retry-delay-ms",
            "Retry Delay (ms)",
            InputType::Integer,
            "The delay in milliseconds between retries. This is used when 'Use Exponential Backoff' is disabled.",
        )
        .default("0")
        .bounds(Some(0), Some(MAX_TIMEOUT_MS)),
        Input::new(
            "retry-all-errors",
            "Retry On All Errors",
            InputType::Boolean,
            "If true, retries on all erroneous responses regardless of type. This is helpful when retrying after HTTP 429 or other 3xx or 4xx errors. Otherwise, only retries on HTTP 5xx and network errors.",
        )
        .default("false"),
        Input::new(
            "max-retries",
            "Max Retry Count",
            InputType::Integer,
            "The maximum number of retries to attempt. Specify 0 for no retries.",
        )
        .default("0")
        .bounds(Some(0), Some(MAX_RETRIES)),
        Input::new(
            "use-exponential-backoff",
            "Use Exponential Backoff",
            InputType::Boolean,
            "Specifies whether to use a pre-defined exponential backoff strategy for retries. When enabled, 'Retry Delay (ms)' is ignored.",
        )
        .default("false"),
    ],
};

action_input! {
    /// The inputs (WIT `raw-request-input`).
    #[derive(Debug, Clone, Default)]
    pub struct RawRequestInput {
        /// URL: a path under the API base.
        pub url: Option<String>,
        /// Method.
        pub method: String,
        /// Data.
        pub data: Option<String>,
        /// Form Data.
        pub form_data: Vec<(String, String)>,
        /// File Data.
        pub file_data: Vec<(String, Vec<u8>)>,
        /// File Data File Names.
        pub file_data_file_names: Vec<(String, String)>,
        /// Query Parameter.
        pub query_params: Vec<(String, String)>,
        /// Header.
        pub headers: Vec<(String, String)>,
        /// Response Type.
        pub response_type: Option<String>,
        /// Timeout in milliseconds.
        pub timeout: Option<i64>,
        /// Debug Request.
        pub debug_request: Option<bool>,
        /// Retry Delay (ms).
        pub retry_delay_ms: Option<i64>,
        /// Retry On All Errors.
        pub retry_all_errors: Option<bool>,
        /// Max Retry Count.
        pub max_retries: Option<i64>,
        /// Use Exponential Backoff.
        pub use_exponential_backoff: Option<bool>,
    }
}

/// How the answer's body is handed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// Parsed as JSON (text that is not JSON is handed on as a string).
    Json,
    /// As a string.
    Text,
    /// As bytes, in `http.body`.
    Binary,
}

/// Characters encoded when a path or query is typed raw: spaces and the like. `%` is left
/// alone, so an already encoded path stays as it is.
const LOOSE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'^');

/// Headers the transport owns; setting them would break framing or the token.
const RESERVED_HEADERS: [&str; 6] = [
    "authorization",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
];

/// Resolves the URL input into an absolute URL under the API base.
pub fn resolve_url(raw: &str) -> Result<String, ActionError> {
    const KEY: &str = "url";
    let mut url = raw.trim();
    if url.is_empty() {
        url = DEFINITION.input(KEY).default.unwrap_or("/");
    }
    if url.chars().any(|c| c.is_control()) {
        return Err(ActionError::invalid(
            KEY,
            "must not contain control characters or line breaks",
        ));
    }
    if url.contains('\\') {
        return Err(ActionError::invalid(KEY, "must not contain backslashes"));
    }
    if url.starts_with("//") {
        return Err(ActionError::invalid(
            KEY,
            "protocol-relative URLs are refused: enter a path such as /datasets (the base URL is added for you)",
        ));
    }
    if !url.starts_with('/') {
        let first = url.split(['/', '?']).next().unwrap_or("");
        if first.contains(':') {
            return Err(ActionError::invalid(
                KEY,
                format!(
                    "absolute URLs are refused: enter only the path after {}, such as /datasets",
                    crate::http::api_base()
                ),
            ));
        }
        if first.contains('@') {
            return Err(ActionError::invalid(
                KEY,
                "must not name a user or host (user@host): enter a path",
            ));
        }
    }
    if url.contains('#') {
        return Err(ActionError::invalid(
            KEY,
            "must not contain '#' (a fragment); write a '#' in a table name as %23",
        ));
    }
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (url, None),
    };
    // Resolve dot-segments the way a server would, after decoding, so that `%2e%2e` cannot
    // climb out of the base either.
    let mut kept: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip_while(|s| s.is_empty()).collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        let decoded = percent_decode_str(segment).decode_utf8_lossy();
        if decoded.contains('/') || decoded.contains('\\') {
            return Err(ActionError::invalid(
                KEY,
                "must not contain encoded slashes (%2F, %5C)",
            ));
        }
        match decoded.as_ref() {
            "." => {}
            ".." => {
                if kept.pop().is_none() {
                    return Err(ActionError::invalid(
                        KEY,
                        format!(
                            "must stay under {}: '..' climbs out of it",
                            crate::http::api_base()
                        ),
                    ));
                }
            }
            "" if i != last => {}
            _ => kept.push(segment),
        }
    }
    let mut out = crate::http::api_base();
    for segment in kept {
        out.push('/');
        out.extend(utf8_percent_encode(segment, LOOSE));
    }
    if path.ends_with('/') && !out.ends_with('/') {
        out.push('/');
    }
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        out.push('?');
        out.extend(utf8_percent_encode(query, LOOSE));
    }
    Ok(out)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn check_headers(headers: &[(String, String)]) -> Result<Vec<(String, String)>, ActionError> {
    const KEY: &str = "headers";
    let mut out = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let name = name.trim();
        if name.is_empty() || !name.chars().all(is_token_char) {
            return Err(ActionError::invalid(
                KEY,
                format!("{name:?} is not a valid header name"),
            ));
        }
        if value.chars().any(|c| matches!(c, '\r' | '\n' | '\0')) {
            return Err(ActionError::invalid(
                KEY,
                format!("the value of {name} must not contain line breaks"),
            ));
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            let why = if lower == "authorization" {
                "is set from the connection's token and cannot be replaced"
            } else {
                "is set by the transport"
            };
            return Err(ActionError::invalid(KEY, format!("{name} {why}")));
        }
        out.push((lower, value.trim().to_string()));
    }
    Ok(out)
}

fn bounded(key: &str, value: Option<i64>, default: i64) -> Result<i64, ActionError> {
    let input = DEFINITION.input(key);
    let value = value.unwrap_or(default);
    let (low, high) = (
        input.minimum.unwrap_or(i64::MIN),
        input.maximum.unwrap_or(i64::MAX),
    );
    if value < low || value > high {
        return Err(ActionError::invalid(
            key,
            format!("must be between {low} and {high}, got {value}"),
        ));
    }
    Ok(value)
}

/// Reads Response Type: json, text, binary (or `arraybuffer`), in any case.
pub fn response_type(value: Option<&str>) -> Result<ResponseType, ActionError> {
    match value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or("json")
        .to_ascii_lowercase()
        .as_str()
    {
        "json" => Ok(ResponseType::Json),
        "text" => Ok(ResponseType::Text),
        "binary" | "arraybuffer" => Ok(ResponseType::Binary),
        other => Err(ActionError::invalid(
            "response-type",
            format!("must be json, text or binary, got {other:?}"),
        )),
    }
}

/// Checks every input and builds the exchange: one request with the retry policy and debug
/// flag the inputs ask for. The context's seed varies the multipart boundary.
pub fn exchange(input: &RawRequestInput, context: &Context) -> Result<Single, ActionError> {
    let mut url = resolve_url(input.url.as_deref().unwrap_or(""))?;
    let method = Method::parse(&input.method).ok_or_else(|| {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
        ActionError::invalid(
            "method",
            format!(
                "must be one of {}, got {:?}",
                names.join(", "),
                input.method
            ),
        )
    })?;
    let data = input.data.as_deref().filter(|d| !d.is_empty());
    let multipart = !input.form_data.is_empty() || !input.file_data.is_empty();
    if data.is_some() && multipart {
        return Err(ActionError::invalid(
            "data",
            "cannot be combined with Form Data or File Data: send either a body or a multipart form",
        ));
    }
    for (key, _) in &input.file_data_file_names {
        if !input.file_data.iter().any(|(k, _)| k == key) {
            return Err(ActionError::invalid(
                "file-data-file-names",
                format!("{key:?} matches no File Data key"),
            ));
        }
    }
    for (key, _) in input
        .form_data
        .iter()
        .chain(input.file_data_file_names.iter())
    {
        if key.trim().is_empty() {
            return Err(ActionError::invalid(
                "form-data",
                "every field needs a name",
            ));
        }
    }
    if input.file_data.iter().any(|(k, _)| k.trim().is_empty()) {
        return Err(ActionError::invalid(
            "file-data",
            "every file needs a field name",
        ));
    }
    for (name, _) in &input.query_params {
        if name.is_empty() {
            return Err(ActionError::invalid(
                "query-params",
                "every parameter needs a name",
            ));
        }
    }
    let mut headers = check_headers(&input.headers)?;
    let response_type = response_type(input.response_type.as_deref())?;
    let timeout = match input.timeout {
        None => None,
        Some(ms) => Some(Duration::from_millis(
            bounded("timeout", Some(ms), 0)? as u64
        )),
    };
    let delay = bounded("retry-delay-ms", input.retry_delay_ms, 0)?;
    let max_retries = bounded("max-retries", input.max_retries, 0)?;
    debug_assert!(MAX_RETRIES <= u32::MAX as i64 && MAX_TIMEOUT_MS > 0);

    append_query(
        &mut url,
        input
            .query_params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let user_type = headers.iter().position(|(k, _)| k == "content-type");
    let body = if multipart {
        let parts: Vec<Part<'_>> = input
            .form_data
            .iter()
            .map(|(name, value)| Part::Text { name, value })
            .chain(input.file_data.iter().map(|(name, content)| {
                Part::File {
                    name,
                    file_name: input
                        .file_data_file_names
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str())
                        .unwrap_or(name),
                    content,
                }
            }))
            .collect();
        let form = multipart::build(&parts, context.seed);
        match user_type {
            // A user's multipart type without a boundary could never be parsed: complete it.
            Some(i) if headers[i].1.to_ascii_lowercase().starts_with("multipart/") => {
                if !headers[i].1.to_ascii_lowercase().contains("boundary=") {
                    headers[i].1 = format!("{}; boundary={}", headers[i].1, form.boundary);
                }
            }
            Some(_) => {}
            None => headers.push(("content-type".into(), form.content_type())),
        }
        form.body
    } else if let Some(data) = data {
        if user_type.is_none() {
            let kind = if serde_json::from_slice::<serde::de::IgnoredAny>(data.as_bytes()).is_ok() {
                "application/json; charset=utf-8"
            } else {
                "text/plain; charset=utf-8"
            };
            headers.push(("content-type".into(), kind.into()));
        }
        data.as_bytes().to_vec()
    } else {
        Vec::new()
    };
    if !headers.iter().any(|(k, _)| k == "accept") {
        headers.insert(
            0,
            (
                "accept".into(),
                match response_type {
                    ResponseType::Json => "application/json",
                    _ => "*/*",
                }
                .into(),
            ),
        );
    }
    let request = Request {
        method,
        url,
        headers,
        body,
    };
    let policy = RetryPolicy {
        max_retries: max_retries as u32,
        delay: Duration::from_millis(delay as u64),
        exponential: input.use_exponential_backoff.unwrap_or(false),
        retry_all_errors: input.retry_all_errors.unwrap_or(false),
        post_refused_on_429: false,
        timeout,
    };
    Ok(Single::new(request, move |r| Ok(output(response_type, r)))
        .with_policy(policy)
        .with_debug(input.debug_request.unwrap_or(false)))
}

/// The output of an answer below 400: the body as the Response Type asks, and the HTTP
/// details.
fn output(response_type: ResponseType, response: Response) -> Output {
    {
        let content_type = response.header("content-type").map(str::to_string);
        let (data, body) = match response_type {
            // JSON handed on as it came; an answer that is not JSON, as a string.
            ResponseType::Json => match super::json_text(&response.body) {
                Some(text) => (text, None),
                None => (
                    json!(String::from_utf8_lossy(&response.body)).to_string(),
                    None,
                ),
            },
            ResponseType::Text => (
                json!(String::from_utf8_lossy(&response.body)).to_string(),
                None,
            ),
            ResponseType::Binary => (
                json!({"contentType": content_type, "size": response.body.len()}).to_string(),
                Some(response.body),
            ),
        };
        Output {
            data,
            http: Some(HttpDetails {
                status: response.status,
                headers: response.headers,
                content_type,
                body,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{Exchange, drive, scripted::Scripted};
    use crate::http::API_BASE;

    fn get(url: &str) -> RawRequestInput {
        RawRequestInput {
            url: Some(url.into()),
            method: "GET".into(),
            ..Default::default()
        }
    }

    #[test]
    fn has_fifteen_inputs() {
        assert_eq!(DEFINITION.inputs.len(), 15);
        assert_eq!(DEFINITION.input("url").default, Some("/imports"));
    }

    #[test]
    fn default_url_is_imports() {
        let r = exchange(
            &RawRequestInput {
                method: "get".into(),
                ..Default::default()
            },
            &Context { seed: 1 },
        )
        .unwrap();
        assert_eq!(r.request().unwrap().url, format!("{API_BASE}/imports"));
        assert_eq!(r.policy().max_retries, 0);
        assert!(!r.debug());
    }

    #[test]
    fn urls_stay_under_the_base() {
        for (url, expected) in [
            ("/datasets", "/datasets"),
            ("datasets", "/datasets"),
            (
                "/datasets/a b/tables?x=1 2",
                "/datasets/a%20b/tables?x=1%202",
            ),
            ("/datasets/../reports", "/reports"),
            ("/a/./b/", "/a/b/"),
            (
                "/datasets/x/tables/T%23/rows",
                "/datasets/x/tables/T%23/rows",
            ),
        ] {
            assert_eq!(
                resolve_url(url).unwrap(),
                format!("{API_BASE}{expected}"),
                "{url}"
            );
        }
        for (url, expected) in [
            ("https://evil.example/x", "absolute URLs are refused"),
            ("http:/x", "absolute"),
            ("//evil.example/x", "protocol-relative"),
            ("user@evil.example/x", "user@host"),
            ("/..", "climbs out"),
            ("/a/../../x", "climbs out"),
            ("/%2e%2e/x", "climbs out"),
            ("/%2E%2e/%2e%2E", "climbs out"),
            ("/a%2f..%2f..", "encoded slashes"),
            ("/a\\b", "backslashes"),
            ("/a\r\nHost: x", "control"),
            ("/a#frag", "fragment"),
        ] {
            let e = resolve_url(url).unwrap_err();
            assert_eq!(e.input.as_deref(), Some("url"), "{url}");
            assert!(e.message.contains(expected), "{url}: {}", e.message);
        }
    }

    #[test]
    fn json_data_and_query() {
        let mut i = get("/datasets");
        i.method = "post".into();
        i.data = Some(r#"{"name":"x"}"#.into());
        i.query_params = vec![("$top".into(), "5".into()), ("a b".into(), "c&d".into())];
        i.headers = vec![("X-Custom".into(), "1".into())];
        let r = exchange(&i, &Context { seed: 1 }).unwrap();
        insta::assert_json_snapshot!(super::super::snapshot(r.request().unwrap()));
    }

    #[test]
    fn text_data_and_user_content_type() {
        let mut i = get("/x");
        i.data = Some("hello".into());
        let r = exchange(&i, &Context { seed: 1 }).unwrap();
        assert_eq!(
            r.request().unwrap().header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        i.headers = vec![("Content-Type".into(), "application/xml".into())];
        let r = exchange(&i, &Context { seed: 1 }).unwrap();
        assert_eq!(
            r.request().unwrap().header("content-type"),
            Some("application/xml")
        );
    }

    #[test]
    fn multipart_upload_keeps_its_content_type() {
        let i = RawRequestInput {
            url: Some("/imports?datasetDisplayName=Sales".into()),
            method: "POST".into(),
            form_data: vec![("note".into(), "hi".into())],
            file_data: vec![("file".into(), b"PK\x03\x04".to_vec())],
            file_data_file_names: vec![("file".into(), "sales.pbix".into())],
            headers: vec![("Content-Type".into(), "multipart/form-data".into())],
            ..Default::default()
        };
        let r = exchange(&i, &Context { seed: 42 }).unwrap();
        let req = r.request().unwrap();
        let ct = req.header("content-type").unwrap();
        assert!(
            ct.starts_with("multipart/form-data; boundary=----PowerBIConnectorBoundary"),
            "{ct}"
        );
        let body = String::from_utf8_lossy(&req.body);
        assert!(
            body.contains("name=\"file\"; filename=\"sales.pbix\""),
            "{body}"
        );
        assert!(body.contains("name=\"note\"\r\n\r\nhi\r\n"));
        assert_eq!(
            req.headers
                .iter()
                .filter(|(k, _)| k == "content-type")
                .count(),
            1
        );
    }

    #[test]
    fn bad_inputs() {
        let cases: Vec<(RawRequestInput, &str)> = vec![
            (
                RawRequestInput {
                    method: "TRACE".into(),
                    ..get("/x")
                },
                "method",
            ),
            (
                RawRequestInput {
                    method: "".into(),
                    ..get("/x")
                },
                "method",
            ),
            (
                RawRequestInput {
                    data: Some("{}".into()),
                    form_data: vec![("a".into(), "b".into())],
                    ..get("/x")
                },
                "data",
            ),
            (
                RawRequestInput {
                    file_data_file_names: vec![("f".into(), "x".into())],
                    ..get("/x")
                },
                "file-data-file-names",
            ),
            (
                RawRequestInput {
                    headers: vec![("Authorization".into(), "Bearer x".into())],
                    ..get("/x")
                },
                "headers",
            ),
            (
                RawRequestInput {
                    headers: vec![("X-A".into(), "1\r\nHost: evil".into())],
                    ..get("/x")
                },
                "headers",
            ),
            (
                RawRequestInput {
                    headers: vec![("X A".into(), "1".into())],
                    ..get("/x")
                },
                "headers",
            ),
            (
                RawRequestInput {
                    response_type: Some("xml".into()),
                    ..get("/x")
                },
                "response-type",
            ),
            (
                RawRequestInput {
                    timeout: Some(0),
                    ..get("/x")
                },
                "timeout",
            ),
            (
                RawRequestInput {
                    timeout: Some(-5),
                    ..get("/x")
                },
                "timeout",
            ),
            (
                RawRequestInput {
                    max_retries: Some(11),
                    ..get("/x")
                },
                "max-retries",
            ),
            (
                RawRequestInput {
                    max_retries: Some(-1),
                    ..get("/x")
                },
                "max-retries",
            ),
            (
                RawRequestInput {
                    retry_delay_ms: Some(-1),
                    ..get("/x")
                },
                "retry-delay-ms",
            ),
            (
                RawRequestInput {
                    query_params: vec![("".into(), "1".into())],
                    ..get("/x")
                },
                "query-params",
            ),
        ];
        for (input, key) in cases {
            let e = exchange(&input, &Context { seed: 1 }).unwrap_err();
            assert_eq!(e.input.as_deref(), Some(key), "{}", e.message);
        }
        assert_eq!(
            response_type(Some("ArrayBuffer")).unwrap(),
            ResponseType::Binary
        );
    }

    #[test]
    fn retries_follow_the_inputs() {
        let i = RawRequestInput {
            max_retries: Some(2),
            retry_delay_ms: Some(250),
            ..get("/datasets")
        };
        let mut r = exchange(&i, &Context { seed: 1 }).unwrap();
        let mut t = Scripted::new([
            Scripted::answer(500, "oops"),
            Scripted::answer(502, ""),
            Scripted::answer(200, r#"{"value":[]}"#),
        ]);
        let out = drive(&mut r, &mut t).unwrap();
        assert_eq!(t.sleeps, [Duration::from_millis(250); 2]);
        assert_eq!(out.data, r#"{"value":[]}"#);
        assert_eq!(out.http.unwrap().status, 200);
    }

    #[test]
    fn response_types() {
        let answer = |ct: &str, body: &[u8]| {
            Ok(Response {
                status: 200,
                headers: vec![("content-type".into(), ct.into())],
                body: body.to_vec(),
            })
        };
        let mut t = Scripted::new([answer("text/plain", b"hi")]);
        let mut r = exchange(
            &RawRequestInput {
                response_type: Some("text".into()),
                ..get("/x")
            },
            &Context { seed: 1 },
        )
        .unwrap();
        assert_eq!(drive(&mut r, &mut t).unwrap().data, r#""hi""#);
        let mut t = Scripted::new([answer("application/octet-stream", b"\x00\xff")]);
        let mut r = exchange(
            &RawRequestInput {
                response_type: Some("binary".into()),
                ..get("/x")
            },
            &Context { seed: 1 },
        )
        .unwrap();
        let out = drive(&mut r, &mut t).unwrap();
        assert_eq!(
            out.data,
            r#"{"contentType":"application/octet-stream","size":2}"#
        );
        assert_eq!(out.http.unwrap().body, Some(vec![0, 255]));
    }

    #[test]
    fn debug_log_redacts() {
        let mut r = exchange(
            &RawRequestInput {
                debug_request: Some(true),
                ..get("/x")
            },
            &Context { seed: 1 },
        )
        .unwrap();
        let mut t = Scripted::new([Scripted::answer(200, "{}")]);
        drive(&mut r, &mut t).unwrap();
        let log = t.logs.join("\n");
        assert!(
            log.contains("[debug] request: GET https://api.powerbi.com/v1.0/myorg/x"),
            "{log}"
        );
        assert!(log.contains("authorization: Bearer [redacted]"));
        assert!(log.contains("[debug] response: 200"));
    }
}
