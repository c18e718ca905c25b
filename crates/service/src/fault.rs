//! Injected faults: answers the real service or the network may give, on demand.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Response, StatusCode, header};
use http_body::{Frame, SizeHint};

/// A fault to inject into the next matching requests.
///
/// A request matches when its method equals `method` (ignoring case) and its path contains
/// `path_contains` (compared with both the raw, percent-encoded path and the decoded one);
/// `None` matches anything. Faults are tried in the order they were injected; the first
/// matching one with `times > 0` applies and loses one use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The HTTP method to match (`None`: any).
    pub method: Option<String>,
    /// A substring of the request path to match (`None`: any).
    pub path_contains: Option<String>,
    /// How many matching requests it hits before it is used up.
    pub times: u32,
    /// What happens to a matching request.
    pub kind: FaultKind,
}

/// What an injected fault does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer this instead of handling the request (the request is NOT applied).
    Status {
        /// The HTTP status.
        status: u16,
        /// The body, sent as is.
        body: String,
        /// The `Content-Type` header; an empty string sends none.
        content_type: String,
        /// A `Retry-After` header in seconds.
        retry_after: Option<u32>,
    },
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Drop the connection without an answer (the request is NOT applied).
    ResetConnection,
    /// Handle the request (it IS applied), then drop the connection without the answer:
    /// the ambiguous case of an answer lost on the way back, which a client cannot tell
    /// from [`FaultKind::ResetConnection`].
    AnswerLost,
    /// 200 with a `Content-Length` larger than the body sent, then close (NOT applied).
    TruncatedBody,
    /// 200 `application/json` with a body that is not JSON (NOT applied).
    MalformedJson,
    /// 200 `application/json`, valid JSON of that many bytes (NOT applied).
    LargeBody(usize),
}

impl Fault {
    /// A fault of `kind` for the next request, whatever its method and path.
    #[must_use]
    pub fn new(kind: FaultKind) -> Self {
        Self {
            method: None,
            path_contains: None,
            times: 1,
            kind,
        }
    }

    /// Answer `status` with `body` as `application/json`.
    #[must_use]
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Self::new(FaultKind::Status {
            status,
            body: body.into(),
            content_type: "application/json; charset=utf-8".to_owned(),
            retry_after: None,
        })
    }

    /// Answer 429 with `Retry-After: secs` and a JSON error body, as Power BI throttles.
    #[must_use]
    pub fn throttled(secs: u32) -> Self {
        Self::status(
            429,
            serde_json::json!({"error": {
                "code": "TooManyRequests",
                "message": format!("Too many requests. Retry after {secs} seconds."),
            }})
            .to_string(),
        )
        .with_retry_after(secs)
    }

    /// Wait `delay`, then handle the request normally.
    #[must_use]
    pub fn delay(delay: Duration) -> Self {
        Self::new(FaultKind::Delay(delay))
    }

    /// Drop the connection without an answer.
    #[must_use]
    pub fn reset_connection() -> Self {
        Self::new(FaultKind::ResetConnection)
    }

    /// Apply the request, then drop the connection without the answer.
    #[must_use]
    pub fn answer_lost() -> Self {
        Self::new(FaultKind::AnswerLost)
    }

    /// Send a 200 whose body is shorter than its `Content-Length`, then close.
    #[must_use]
    pub fn truncated_body() -> Self {
        Self::new(FaultKind::TruncatedBody)
    }

    /// Send a 200 `application/json` whose body is not JSON.
    #[must_use]
    pub fn malformed_json() -> Self {
        Self::new(FaultKind::MalformedJson)
    }

    /// Send a 200 with valid JSON of `bytes` bytes (at least the smallest envelope).
    #[must_use]
    pub fn large_body(bytes: usize) -> Self {
        Self::new(FaultKind::LargeBody(bytes))
    }

    /// Only requests with this method (ignoring case).
    #[must_use]
    pub fn on_method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Only requests whose path contains `fragment`.
    #[must_use]
    pub fn on_path(mut self, fragment: impl Into<String>) -> Self {
        self.path_contains = Some(fragment.into());
        self
    }

    /// Hit `times` matching requests instead of one.
    #[must_use]
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    /// Add `Retry-After: secs` (only meaningful for [`FaultKind::Status`]).
    #[must_use]
    pub fn with_retry_after(mut self, secs: u32) -> Self {
        if let FaultKind::Status { retry_after, .. } = &mut self.kind {
            *retry_after = Some(secs);
        }
        self
    }

    /// Replace the `Content-Type` (only meaningful for [`FaultKind::Status`]).
    #[must_use]
    pub fn with_content_type(mut self, value: impl Into<String>) -> Self {
        if let FaultKind::Status { content_type, .. } = &mut self.kind {
            *content_type = value.into();
        }
        self
    }

    pub(crate) fn matches(&self, method: &str, raw_path: &str, decoded_path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let path_ok = self
            .path_contains
            .as_deref()
            .is_none_or(|p| raw_path.contains(p) || decoded_path.contains(p));
        method_ok && path_ok
    }
}

const JSON: &str = "application/json; charset=utf-8";

/// The answer of a fault that replaces handling. `Delay`, `ResetConnection` and
/// `AnswerLost` are handled by the caller; they give `None`.
pub(crate) fn fault_response(kind: &FaultKind) -> Option<Response<Body>> {
    let response = match kind {
        FaultKind::Delay(_) | FaultKind::ResetConnection | FaultKind::AnswerLost => return None,
        FaultKind::Status {
            status,
            body,
            content_type,
            retry_after,
        } => {
            let mut r = Response::new(Body::from(body.clone()));
            // An out-of-range status cannot be sent at all; 500 is the closest honest answer.
            *r.status_mut() =
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if !content_type.is_empty()
                && let Ok(v) = HeaderValue::from_str(content_type)
            {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            if let Some(secs) = retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            r
        }
        FaultKind::TruncatedBody => {
            let full = sample_list(8);
            let declared = full.len();
            let sent = Bytes::from(full).slice(..declared / 2);
            let mut r = Response::new(Body::new(Truncated {
                chunk: Some(sent),
                pause: None,
            }));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
            // The body reports no size, so hyper trusts this header and, when the body fails
            // halfway, closes the connection: the client sees fewer bytes than announced.
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(declared));
            r
        }
        FaultKind::MalformedJson => {
            let mut r = Response::new(Body::from(
                "{\"value\":[{\"id\":\"malformed\",\"name\":<html>Service Unavailable</html>",
            ));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
            r
        }
        FaultKind::LargeBody(size) => {
            let mut r = Response::new(Body::from(large_json(*size)));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
            r
        }
    };
    Some(response)
}

/// A list envelope with `n` dataset-like items.
fn sample_list(n: usize) -> String {
    let items: Vec<String> = (0..n).map(item).collect();
    format!("{{\"value\":[{}]}}", items.join(","))
}

fn item(i: usize) -> String {
    format!("{{\"id\":\"00000000-0000-0000-0000-{i:012}\",\"name\":\"Item {i}\"}}")
}

/// Valid JSON of exactly `size` bytes when `size` is at least the empty envelope: list items
/// (so a client really parses many values), then whitespace padding, which JSON allows.
pub(crate) fn large_json(size: usize) -> String {
    const HEAD: &str = "{\"value\":[";
    const TAIL: &str = "]}";
    let mut out = String::with_capacity(size.max(HEAD.len() + TAIL.len()));
    out.push_str(HEAD);
    let mut i = 0;
    loop {
        let next = item(i);
        let sep = usize::from(i > 0);
        if out.len() + sep + next.len() + TAIL.len() > size {
            break;
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(&next);
        i += 1;
    }
    while out.len() + TAIL.len() < size {
        out.push(' ');
    }
    out.push_str(TAIL);
    out
}

/// A body that yields one chunk, pauses so hyper flushes it, then fails.
struct Truncated {
    chunk: Option<Bytes>,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for Truncated {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(chunk) = self.chunk.take() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        // Returning Pending once lets hyper flush the partial body before the failure
        // closes the connection; failing at once could drop the buffered bytes.
        let pause = self
            .pause
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(50))));
        ready!(pause.as_mut().poll(cx));
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "body truncated by an injected fault",
        ))))
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown on purpose: a known size would override the declared Content-Length.
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_json_is_exact_and_valid() {
        for size in [0, 5, 12, 13, 100, 4096, 100_003] {
            let s = large_json(size);
            let v: serde_json::Value = serde_json::from_str(&s).expect("valid JSON");
            assert!(v["value"].is_array());
            assert_eq!(s.len(), size.max(12), "size {size}");
        }
    }

    #[test]
    fn matching() {
        let f = Fault::status(500, "x")
            .on_method("post")
            .on_path("My Table");
        assert!(f.matches("POST", "/a/My%20Table/rows", "/a/My Table/rows"));
        assert!(!f.matches("GET", "/a/My%20Table/rows", "/a/My Table/rows"));
        assert!(Fault::reset_connection().matches("GET", "/", "/"));
    }
}
