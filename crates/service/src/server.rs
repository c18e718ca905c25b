//! The connection loop: every request is read whole, logged, matched against injected
//! faults, authenticated, then routed.
//!
//! Connections are served with hyper directly rather than `axum::serve`, because some
//! faults act below HTTP: dropping a connection without an answer, or closing it before the
//! announced `Content-Length` was sent.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceExt;

use crate::errors::ApiError;
use crate::fault::{FaultKind, fault_response};
use crate::record::RecordedRequest;
use crate::state::Shared;
use crate::tokens::TokenStatus;
use crate::util::new_id;

/// Accepts connections until `stop` fires (or its sender is dropped).
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let router = crate::api::router(shared.clone());
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(shared.clone(), router.clone(), req));
            // A failed connection (client gone, injected fault) concerns that client only.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Returned to hyper to make it drop the connection without answering.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped")
    }
}

impl std::error::Error for DropConnection {}

async fn handle(
    shared: Arc<Shared>,
    router: Router,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, body) = req.into_parts();
    let limit = shared.config.max_request_body_bytes;
    let log_max = shared.config.max_recorded_requests;
    // The whole body is read first: the log keeps it, and faults replay nothing.
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            let seq = shared
                .lock()
                .record(RecordedRequest::from_parts(&parts, &[]), log_max);
            let response = ApiError::too_large(limit).into_response();
            shared.lock().set_status(seq, response.status().as_u16());
            return Ok(response);
        }
        // The client went away mid-body: nobody to answer.
        Err(_) => return Err(DropConnection),
    };
    let raw_path = parts.uri.path().to_owned();
    let decoded_path = percent_decode_str(&raw_path)
        .decode_utf8_lossy()
        .into_owned();
    let (seq, fault) = {
        let mut st = shared.lock();
        let seq = st.record(RecordedRequest::from_parts(&parts, &bytes), log_max);
        let fault = st.take_fault(parts.method.as_str(), &raw_path, &decoded_path);
        (seq, fault)
    };
    let response = match fault {
        Some(FaultKind::ResetConnection) => return Err(DropConnection),
        Some(FaultKind::AnswerLost) => {
            // Applied, logged with the status it would have had; the client never sees it.
            let response = respond(&shared, router, parts, bytes).await;
            shared.lock().set_status(seq, response.status().as_u16());
            return Err(DropConnection);
        }
        Some(FaultKind::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            respond(&shared, router, parts, bytes).await
        }
        Some(kind) => match fault_response(&kind) {
            Some(response) => response,
            None => respond(&shared, router, parts, bytes).await,
        },
        None => respond(&shared, router, parts, bytes).await,
    };
    shared.lock().set_status(seq, response.status().as_u16());
    Ok(response)
}

/// Authenticates API calls, then routes.
async fn respond(shared: &Shared, router: Router, parts: Parts, body: Bytes) -> Response<Body> {
    // Only the API needs a token; other paths (the login endpoints) are public.
    let is_api = parts.uri.path().starts_with("/v1.0/");
    let mut parts = parts;
    let caller = match is_api.then(|| authenticate(shared, &parts)) {
        // A service principal has no My workspace.
        Some(Ok(c)) if c.service_principal.is_some() && is_my_workspace(parts.uri.path()) => {
            Err(ApiError::not_authorized())
        }
        Some(result) => result,
        None => Ok(Caller::default()),
    };
    let mut response = match caller {
        Err(e) => e.into_response(),
        Ok(caller) => {
            parts.extensions.insert(caller);
            let request = Request::from_parts(parts, Body::from(body));
            let routed: Result<_, Infallible> = router.oneshot(request).await;
            routed.unwrap_or_else(|e| match e {})
        }
    };
    if is_api
        && !response.headers().contains_key("requestid")
        && let Ok(id) = HeaderValue::from_str(&new_id())
    {
        // Power BI tags every answer with a RequestId, which clients log for support (a
        // handler may have set it already: a refresh's is its history entry's).
        response.headers_mut().insert("requestid", id);
    }
    response
}

/// Who makes an API call, handed to the handlers as a request extension.
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    /// The client id of the service principal whose token authenticated the call; `None`
    /// for a user.
    pub service_principal: Option<String>,
}

/// The My workspace operations: `/v1.0/myorg/{datasets|reports|dashboards|imports}...`
/// (the same operations in a workspace go under `/groups/{groupId}`).
fn is_my_workspace(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/v1.0/myorg/") else {
        return false;
    };
    let first = rest.split('/').next().unwrap_or_default();
    matches!(first, "datasets" | "reports" | "dashboards" | "imports")
}

fn authenticate(shared: &Shared, parts: &Parts) -> Result<Caller, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::not_authorized)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(ApiError::not_authorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::not_authorized());
    }
    let token = token.trim();
    match shared.tokens.validate(token) {
        TokenStatus::Valid => Ok(Caller {
            service_principal: shared.tokens.service_principal(token),
        }),
        // Power BI answers an expired token with 403, not 401.
        TokenStatus::Expired => Err(ApiError::token_expired()),
        TokenStatus::Unknown => Err(ApiError::not_authorized()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn my_workspace_paths() {
        for yes in [
            "/v1.0/myorg/datasets",
            "/v1.0/myorg/datasets/x/refreshes",
            "/v1.0/myorg/reports",
            "/v1.0/myorg/dashboards",
            "/v1.0/myorg/imports/x",
        ] {
            assert!(is_my_workspace(yes), "{yes}");
        }
        for no in [
            "/v1.0/myorg/groups",
            "/v1.0/myorg/groups/g/datasets",
            "/v1.0/myorg/unknown",
            "/v1.0/myorg",
            "/v1.0/other/datasets",
        ] {
            assert!(!is_my_workspace(no), "{no}");
        }
    }
}
