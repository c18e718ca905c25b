//! The log of requests the service received.

use axum::http::request::Parts;
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// Parameters whose values are credentials: outside the API (the login endpoints) their
/// values are replaced by `[redacted]` in the log, because tests scan logs for secrets.
const SECRET_PARAMS: &[&str] = &[
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "access_token",
    "id_token",
    "client_assertion",
    "assertion",
    "password",
];

/// What replaces a credential in the log.
const REDACTED: &str = "[redacted]";

/// One request as the service received it, and the status it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The raw path, still percent-encoded.
    pub path: String,
    /// The raw query string without `?`, if any. Outside the API (the login endpoints) the
    /// values of credential parameters (`client_secret`, `code`, `code_verifier`,
    /// `refresh_token`, `access_token`, ...) read `[redacted]`.
    pub query: Option<String>,
    /// The headers in arrival order, names in lower case; the `Authorization` value is
    /// redacted to its scheme and `[redacted]`, e.g. `Bearer [redacted]` or
    /// `Basic [redacted]`.
    pub headers: Vec<(String, String)>,
    /// The whole body. Outside the API, credential parameters of a form or JSON body are
    /// redacted as in [`query`](Self::query); API bodies are kept exactly as sent.
    pub body: Vec<u8>,
    /// The status the service answered; 0 while the request is in progress or when the
    /// connection was dropped without an answer (an injected `ResetConnection`).
    pub status: u16,
}

impl RecordedRequest {
    pub(crate) fn from_parts(parts: &Parts, body: &[u8]) -> Self {
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                let value = if *name == axum::http::header::AUTHORIZATION {
                    redact(&value)
                } else {
                    value
                };
                // `http` already stores header names in lower case.
                (name.as_str().to_owned(), value)
            })
            .collect();
        let mut query = parts.uri.query().map(str::to_owned);
        let mut body = body.to_vec();
        // Only the API's paths carry data a test compares byte for byte; everything else is
        // the login endpoints (or unknown paths), where bodies hold credentials.
        if !parts.uri.path().starts_with("/v1.0/") {
            query = query.map(|q| redact_form(&q));
            body = redact_body(&body);
        }
        Self {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query,
            headers,
            body,
            status: 0,
        }
    }

    /// The first value of a header (name matched ignoring case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Which token endpoint a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEndpoint {
    /// `/{tenant}/oauth2/token`.
    V1,
    /// `/{tenant}/oauth2/v2.0/token`.
    V2,
}

/// How a token request presented a client secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthentication {
    /// No secret: neither a non-empty `client_secret` field nor an `Authorization` header.
    None,
    /// A non-empty `client_secret` form field (`client_secret_post`).
    Body,
    /// An `Authorization: Basic` header (`client_secret_basic`).
    Basic,
    /// Both at once (refused: AADSTS9002313).
    Both,
}

/// A request to a token endpoint, as the endpoint read it: the form fields decoded, with
/// credentials redacted. See [`ServiceHandle::token_requests`](crate::ServiceHandle::token_requests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The `{tenant}` path segment, decoded.
    pub tenant: String,
    /// The endpoint reached.
    pub endpoint: TokenEndpoint,
    /// The `Content-Type` header, as sent.
    pub content_type: Option<String>,
    /// The form fields in order, names and values `x-www-form-urlencoded`-decoded. The values
    /// of credential fields (`client_secret`, `code`, `code_verifier`, `refresh_token`,
    /// `client_assertion`, `assertion`, `password`, ...) read `[redacted]` unless empty.
    /// Empty when the body is not declared `application/x-www-form-urlencoded` (or is not
    /// UTF-8): such a body is refused, and is not read.
    pub fields: Vec<(String, String)>,
    /// How the client secret was presented.
    pub client_authentication: ClientAuthentication,
    /// The client id of an `Authorization: Basic` header, form-decoded; `None` without one
    /// or when it cannot be decoded. The secret of the header is never kept.
    pub basic_client_id: Option<String>,
    /// The status answered.
    pub status: u16,
    /// The `error` of an error answer (`invalid_client`, ...).
    pub error: Option<String>,
    /// The AADSTS code of an error answer (`7000215`, ...).
    pub error_code: Option<u32>,
}

impl TokenRequest {
    /// The first value of a form field (names are case-sensitive, as Microsoft reads them).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The client id, from the Basic header or else the `client_id` field.
    pub fn client_id(&self) -> Option<&str> {
        self.basic_client_id
            .as_deref()
            .or_else(|| self.field("client_id"))
    }
}

/// Decoded form fields with credential values redacted (empty values kept empty).
pub(crate) fn redact_fields(fields: &[(String, String)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| {
            let v = if is_secret(k) && !v.is_empty() {
                REDACTED.to_owned()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

/// Keeps the scheme (so a test can see what was sent) and drops the credential.
fn redact(value: &str) -> String {
    match value.trim_start().split_once(char::is_whitespace) {
        Some((scheme, _)) => format!("{scheme} [redacted]"),
        None => "[redacted]".to_owned(),
    }
}

fn is_secret(name: &str) -> bool {
    SECRET_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// A form (or query string) with the values of secret parameters redacted; everything else
/// is kept byte for byte.
fn redact_form(form: &str) -> String {
    form.split('&')
        .map(|pair| {
            let (key, _) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_decode_str(&key.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned();
            if is_secret(&name) {
                format!("{key}={REDACTED}")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A body with secret values redacted: as JSON when it is JSON, else as a form. A body that
/// is not UTF-8 is dropped whole, since it cannot be checked.
fn redact_body(body: &[u8]) -> Vec<u8> {
    if body.is_empty() {
        return Vec::new();
    }
    if let Ok(mut json) = serde_json::from_slice::<Value>(body) {
        redact_json(&mut json);
        return json.to_string().into_bytes();
    }
    match std::str::from_utf8(body) {
        Ok(text) => redact_form(text).into_bytes(),
        Err(_) => REDACTED.as_bytes().to_vec(),
    }
}

fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret(k) {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_and_json_redaction() {
        assert_eq!(
            redact_form(
                "grant_type=authorization_code&code=abc&Client_Secret=s%3D&x=1&code_verifier"
            ),
            "grant_type=authorization_code&code=[redacted]&Client_Secret=[redacted]&x=1&code_verifier=[redacted]"
        );
        assert_eq!(
            redact_form("refresh%5Ftoken=rt"),
            "refresh%5Ftoken=[redacted]"
        );
        assert_eq!(
            redact_body(br#"{"client_secret":"s","n":{"refresh_token":"r"},"k":[{"code":1}]}"#),
            br#"{"client_secret":"[redacted]","n":{"refresh_token":"[redacted]"},"k":[{"code":"[redacted]"}]}"#.to_vec()
        );
        assert_eq!(redact_body(&[0xff, 0xfe]), b"[redacted]".to_vec());
        assert_eq!(redact_body(b""), Vec::<u8>::new());
    }

    #[test]
    fn token_request_fields() {
        let fields = redact_fields(&[
            ("grant_type".into(), "client_credentials".into()),
            ("client_secret".into(), "s".into()),
            ("code".into(), String::new()),
        ]);
        let r = TokenRequest {
            tenant: "t".into(),
            endpoint: TokenEndpoint::V2,
            content_type: None,
            fields,
            client_authentication: ClientAuthentication::Body,
            basic_client_id: None,
            status: 200,
            error: None,
            error_code: None,
        };
        assert_eq!(r.field("client_secret"), Some("[redacted]"));
        assert_eq!(r.field("code"), Some(""));
        assert_eq!(r.field("Grant_Type"), None);
        assert_eq!(r.client_id(), None);
    }

    #[test]
    fn redaction() {
        assert_eq!(redact("Bearer abc.def"), "Bearer [redacted]");
        assert_eq!(redact("abc"), "[redacted]");
        assert_eq!(redact("Basic  dXNlcjpwdw=="), "Basic [redacted]");
    }
}
