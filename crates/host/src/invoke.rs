//! What an invocation gives back: the action's output or typed error, the guest's logs and
//! the requests it tried to send.

use crate::bindings::types_iface;
pub use crate::bindings::types_iface::ErrorKind;
use crate::egress::{SeenRequest, scrub};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The outcome of one [`crate::Connector::invoke`].
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    /// The action's output, or the error it (or the host's input checks) reported.
    pub result: Result<ActionOutput, ActionError>,
    /// What the guest wrote to stdout and stderr, interleaved, secrets scrubbed.
    pub logs: String,
    /// Every HTTP request the guest tried to send, in order.
    pub requests: Vec<SeenRequest>,
}

/// What an action hands the next step (the contract's `output` record).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionOutput {
    /// `output.data` parsed as JSON; if that text is not JSON, the text as a JSON string.
    pub data: Value,
    /// HTTP details of the last exchange, for actions that report them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpResponse>,
}

/// An HTTP answer as an action reports it (the contract's `http-response` record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// Response headers, in the order received.
    pub headers: Vec<(String, String)>,
    /// The response's Content-Type, if any.
    pub content_type: Option<String>,
    /// The body's bytes, when the action returns them.
    pub body: Option<Vec<u8>>,
}

/// Why an action failed (the contract's `action-error` record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ActionError {
    /// The kind of failure (serialized as its WIT case name, such as `invalid-input`).
    pub kind: ErrorKind,
    /// A sentence for a person.
    pub message: String,
    /// The input key at fault, for `invalid-input`.
    pub input: Option<String>,
    /// The HTTP status, when the service answered.
    pub status: Option<u16>,
    /// The service's error code, when there is one.
    pub code: Option<String>,
    /// Seconds to wait before trying again.
    pub retry_after_seconds: Option<u32>,
    /// What was done before the failure, parsed from the JSON text the component gave (the
    /// text itself as a JSON string if it is not JSON).
    pub progress: Option<Value>,
}

impl ActionError {
    /// An `invalid-input` error about `input` (if one input is at fault).
    pub fn invalid_input(input: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::InvalidInput,
            message: message.into(),
            input: input.map(str::to_string),
            status: None,
            code: None,
            retry_after_seconds: None,
            progress: None,
        }
    }

    /// The component's error as the typed bindings read it (the fixed interfaces' calls,
    /// such as `list-choices`), its message scrubbed of `secrets` (the component promises
    /// never to echo one; the host makes sure).
    pub(crate) fn scrubbed(error: types_iface::ActionError, secrets: &[String]) -> Self {
        Self {
            kind: error.kind,
            message: scrub(&error.message, secrets),
            input: error.input,
            status: error.status,
            code: error.code,
            retry_after_seconds: error.retry_after_seconds,
            progress: error.progress.map(parse_json_text),
        }
    }

    /// Whether this is an `invalid-input` error.
    pub fn is_invalid_input(&self) -> bool {
        self.kind == ErrorKind::InvalidInput
    }
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        let mut details = Vec::new();
        if let Some(input) = &self.input {
            details.push(format!("input `{input}`"));
        }
        if let Some(status) = self.status {
            details.push(format!("HTTP {status}"));
        }
        if let Some(code) = &self.code {
            details.push(format!("code {code}"));
        }
        if let Some(seconds) = self.retry_after_seconds {
            details.push(format!("retry after {seconds} s"));
        }
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ActionError {}

/// Parses JSON text, keeping text that is not JSON as a JSON string.
pub(crate) fn parse_json_text(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_the_details() {
        let mut error = ActionError::invalid_input(Some("top"), "`top` must be a whole number");
        assert_eq!(
            error.to_string(),
            "invalid-input: `top` must be a whole number (input `top`)"
        );
        error.kind = ErrorKind::Throttled;
        error.input = None;
        error.status = Some(429);
        error.retry_after_seconds = Some(3);
        assert!(error.to_string().ends_with("(HTTP 429, retry after 3 s)"));
    }

    #[test]
    fn json_text_falls_back_to_a_string() {
        assert_eq!(parse_json_text("[1,2]".into()), serde_json::json!([1, 2]));
        assert_eq!(
            parse_json_text("not json".into()),
            serde_json::json!("not json")
        );
    }
}
