//! Action errors, and how Power BI's error answers map into them.

use std::fmt;

use serde_json::Value;

use crate::http::Response;

contract_enum! {
    /// Which kind of failure an [`ActionError`] is (the WIT `error-kind`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ErrorKind => crate::bindings::wt::ErrorKind {
        /// An input is missing or wrong. No request was sent.
        InvalidInput = "invalid-input",
        /// HTTP 401.
        Unauthorized = "unauthorized",
        /// HTTP 401 or 403 with code `TokenExpired`.
        TokenExpired = "token-expired",
        /// HTTP 403.
        Forbidden = "forbidden",
        /// HTTP 404.
        NotFound = "not-found",
        /// HTTP 429.
        Throttled = "throttled",
        /// Any other error answer.
        Service = "service",
        /// The Timeout ran out.
        Timeout = "timeout",
        /// The request could not be sent or its answer not read.
        Transport = "transport",
    }
}

/// Why an action failed (the WIT `action-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// A sentence for a person.
    pub message: String,
    /// The input key at fault.
    pub input: Option<String>,
    /// The HTTP status, when the service answered.
    pub status: Option<u16>,
    /// The Power BI error code.
    pub code: Option<String>,
    /// From `Retry-After`.
    pub retry_after_seconds: Option<u32>,
    /// JSON text: what was done before the failure.
    pub progress: Option<String>,
    /// The request never left: the engine refused its host, the name did not resolve, the
    /// connection was refused or timed out, the server's certificate was refused. Nothing
    /// was applied, so even a POST can be sent again. Not part of the contract's record.
    pub not_sent: bool,
}

impl ActionError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ActionError {
            kind,
            message: message.into(),
            input: None,
            status: None,
            code: None,
            retry_after_seconds: None,
            progress: None,
            not_sent: false,
        }
    }

    /// This error, marked as one whose request never left (see [`ActionError::not_sent`]).
    pub fn never_sent(mut self) -> Self {
        self.not_sent = true;
        self
    }

    /// An invalid input, named by its key. The message says what was wrong.
    pub fn invalid(input: &str, message: impl fmt::Display) -> Self {
        let mut e = ActionError::new(ErrorKind::InvalidInput, format!("{input}: {message}"));
        e.input = Some(input.to_string());
        e
    }

    /// A failure the service reported (other than as an error answer), in words.
    pub fn service(message: impl Into<String>) -> Self {
        ActionError::new(ErrorKind::Service, message)
    }

    /// A request that did not finish within the Timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        ActionError::new(ErrorKind::Timeout, message)
    }

    /// A request that could not be sent or whose answer could not be read.
    pub fn transport(message: impl Into<String>) -> Self {
        ActionError::new(ErrorKind::Transport, message)
    }

    /// A successful answer whose body does not say what the API documents.
    pub fn unexpected_body(response: &Response, what: impl fmt::Display) -> Self {
        let mut e = ActionError::new(
            ErrorKind::Service,
            format!("Power BI answered {} with {what}", response.status),
        );
        e.status = Some(response.status);
        e
    }

    /// Maps an error answer of the service, in either of Power BI's JSON shapes or plain text.
    pub fn from_response(response: &Response) -> Self {
        let status = response.status;
        let (code, detail) = parse_error_body(&response.body);
        let kind = match (status, code.as_deref()) {
            (401 | 403, Some("TokenExpired")) => ErrorKind::TokenExpired,
            (401, _) => ErrorKind::Unauthorized,
            (403, _) => ErrorKind::Forbidden,
            (404, _) => ErrorKind::NotFound,
            (429, _) => ErrorKind::Throttled,
            _ => ErrorKind::Service,
        };
        let mut message = format!("Power BI answered {status}");
        if let Some(code) = &code {
            message.push(' ');
            message.push_str(code);
        }
        if let Some(detail) = detail.filter(|d| Some(d) != code.as_ref()) {
            message.push_str(": ");
            message.push_str(&detail);
        }
        let mut e = ActionError::new(kind, message);
        e.status = Some(status);
        e.code = code;
        e.retry_after_seconds = response.retry_after_seconds();
        e
    }

    /// Replaces every occurrence of each secret in the message and progress. The core never
    /// puts a secret into an error; this guards against a service that echoes one back.
    pub fn redact(mut self, secrets: &[&str]) -> Self {
        for secret in secrets.iter().filter(|s| s.len() >= 4) {
            self.message = self.message.replace(secret, "[redacted]");
            if let Some(p) = &mut self.progress {
                *p = p.replace(secret, "[redacted]");
            }
        }
        self
    }
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.as_str())
    }
}

impl std::error::Error for ActionError {}

/// The longest piece of a plain-text error body kept in a message.
const MAX_TEXT: usize = 300;

/// Reads `(code, message)` from an error body. Shapes seen from Power BI:
/// `{"error":{"code","message","details":[{"message","target"}]}}`,
/// `{"error":{"code","pbi.error":{"code","details":[...]}}}`, and plain text.
fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            return (None, None);
        }
        let mut cut: String = text.chars().take(MAX_TEXT).collect();
        if cut.len() < text.len() {
            cut.push('…');
        }
        return (None, Some(cut));
    };
    let error = json.get("error").unwrap_or(&json);
    let str_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let pbi = error.get("pbi.error");
    let code = str_of(error, "code").or_else(|| pbi.and_then(|p| str_of(p, "code")));
    let details = |v: Option<&Value>| -> Option<String> {
        let list = v?.get("details")?.as_array()?;
        let parts: Vec<String> = list
            .iter()
            .filter_map(|d| {
                let msg = str_of(d, "message")
                    .or_else(|| d.get("detail").and_then(|x| str_of(x, "value")))?;
                Some(match str_of(d, "target").or_else(|| str_of(d, "code")) {
                    Some(t) => format!("{msg} ({t})"),
                    None => msg,
                })
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    };
    let message = str_of(error, "message")
        .or_else(|| str_of(error, "error_description"))
        .map(|m| match details(Some(error)) {
            Some(d) => format!("{m} ({d})"),
            None => m,
        })
        .or_else(|| details(Some(error)))
        .or_else(|| details(pbi));
    (code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("retry-after".into(), "7".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn usual_shape() {
        let e = ActionError::from_response(&answer(
            400,
            r#"{"error":{"code":"BadRequest","message":"Bad request","details":[{"message":"Unknown property Name","target":"dataset"}]}}"#,
        ));
        assert_eq!(e.kind, ErrorKind::Service);
        assert_eq!(e.code.as_deref(), Some("BadRequest"));
        assert_eq!(
            e.message,
            "Power BI answered 400 BadRequest: Bad request (Unknown property Name (dataset))"
        );
    }

    #[test]
    fn message_less_shape() {
        let e = ActionError::from_response(&answer(
            404,
            r#"{"error":{"code":"PowerBIEntityNotFound","pbi.error":{"code":"PowerBIEntityNotFound","parameters":{},"details":[],"exceptionCulprit":1}}}"#,
        ));
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.code.as_deref(), Some("PowerBIEntityNotFound"));
        assert_eq!(e.message, "Power BI answered 404 PowerBIEntityNotFound");
    }

    #[test]
    fn token_expired_is_403() {
        let e = ActionError::from_response(&answer(
            403,
            r#"{"error":{"code":"TokenExpired","message":"Access token has expired"}}"#,
        ));
        assert_eq!(e.kind, ErrorKind::TokenExpired);
        let e = ActionError::from_response(&answer(403, r#"{"error":{"code":"Forbidden"}}"#));
        assert_eq!(e.kind, ErrorKind::Forbidden);
        let e = ActionError::from_response(&answer(401, ""));
        assert_eq!(e.kind, ErrorKind::Unauthorized);
        assert_eq!(e.message, "Power BI answered 401");
    }

    #[test]
    fn plain_text_and_throttling() {
        let long = "x".repeat(1000);
        let e = ActionError::from_response(&answer(500, &long));
        assert_eq!(e.kind, ErrorKind::Service);
        assert!(e.message.ends_with('…'));
        assert!(e.message.len() < 400);
        let e = ActionError::from_response(&answer(429, "slow down"));
        assert_eq!(e.kind, ErrorKind::Throttled);
        assert_eq!(e.retry_after_seconds, Some(7));
        assert_eq!(e.message, "Power BI answered 429: slow down");
    }

    #[test]
    fn redaction() {
        let e = ActionError::transport("echo secret-token-123").redact(&["secret-token-123"]);
        assert_eq!(e.message, "echo [redacted]");
    }
}
