//! The log of requests the service received.

use axum::http::request::Parts;

/// One request as the service received it, and the status it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The raw path, still percent-encoded.
    pub path: String,
    /// The raw query string without `?`, if any.
    pub query: Option<String>,
    /// The headers in arrival order, names in lower case; the `Authorization` value is
    /// redacted to its scheme and `[redacted]`, e.g. `Bearer [redacted]`.
    pub headers: Vec<(String, String)>,
    /// The whole body.
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
        Self {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body: body.to_vec(),
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

/// Keeps the scheme (so a test can see what was sent) and drops the credential.
fn redact(value: &str) -> String {
    match value.trim_start().split_once(char::is_whitespace) {
        Some((scheme, _)) => format!("{scheme} [redacted]"),
        None => "[redacted]".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        assert_eq!(redact("Bearer abc.def"), "Bearer [redacted]");
        assert_eq!(redact("abc"), "[redacted]");
        assert_eq!(redact("Basic  dXNlcjpwdw=="), "Basic [redacted]");
    }
}
