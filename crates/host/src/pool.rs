//! Kept-alive connections for the guest's outgoing HTTP, shared by every invocation of one
//! [`crate::Connector`].
//!
//! wasmtime-wasi-http's own sender opens a new TCP connection (and for `https`, builds a new
//! TLS configuration and does a full handshake) for every request, without `TCP_NODELAY`. A
//! connector step usually talks to one host, often several times in a row, so the host keeps
//! connections open between requests and between invocations instead: hyper-util's pooled
//! client over a `TCP_NODELAY` connector, with rustls (ring, webpki roots) for `https`.
//!
//! What the guest asked for is kept: its connect and first-byte timeouts bound the wait for
//! the answer's head together (their sum: hyper-util connects inside the request), its
//! between-bytes timeout and the call's deadline bound the body ([`crate::egress`] wraps
//! it), and a request body still being sent fails at the deadline when hyper next polls it.
//! A guest blocked writing into a connection the server stopped reading is ended with its
//! call at the deadline (`Runner::call`); that connection is left to the server to close.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

/// How long an unused connection stays open. A server that closes one sooner (many do after
/// 5 s) is noticed as soon as its close arrives, because the runtime's worker keeps driving
/// idle connections; only a close that crosses a new request on the wire fails that request
/// (hyper-util retries it only when nothing of it was sent, so a POST is never sent twice).
const IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// A pool of kept-alive HTTP/1.1 connections (cheap to clone: clones share the pool).
#[derive(Clone)]
pub struct HttpPool {
    client: Client<HttpsConnector<HttpConnector>, DeadlineBody>,
}

impl std::fmt::Debug for HttpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPool").finish_non_exhaustive()
    }
}

impl Default for HttpPool {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpPool {
    /// An empty pool. Connections are made on first use and kept for 50 s idle;
    /// `https` servers must present a certificate from the webpki roots (Mozilla's list).
    pub fn new() -> Self {
        Self::trusting(&[]).expect("no extra certificate to refuse")
    }

    /// An empty pool that also trusts `extra_roots` (DER-encoded certificates): a private CA,
    /// or a test server's own certificate. Fails on a certificate rustls cannot use.
    pub fn trusting(extra_roots: &[Vec<u8>]) -> Result<Self, String> {
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        // The TLS layer below decides by scheme; the TCP connector must accept https URIs.
        tcp.enforce_http(false);
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        for (index, der) in extra_roots.iter().enumerate() {
            roots
                .add(rustls::pki_types::CertificateDer::from(der.clone()))
                .map_err(|e| format!("extra root certificate {index} cannot be used: {e}"))?;
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build(connector);
        Ok(Self { client })
    }

    /// Sends `request` (absolute URI) on a pooled connection and waits for the answer's head,
    /// at most until `deadline` and, when the guest set them, its connect plus first-byte
    /// timeouts (`options` as the guest asked, not cut to the deadline).
    pub(crate) async fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let request = request.map(|body| DeadlineBody {
            inner: body,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
        });
        // hyper-util connects inside the request, so the two phases cannot be timed apart:
        // together they get what the guest allowed for each (one it did not set adds nothing).
        let head_timeout = options.and_then(|o| match (o.connect_timeout, o.first_byte_timeout) {
            (None, None) => None,
            (connect, first_byte) => Some(
                connect
                    .unwrap_or_default()
                    .saturating_add(first_byte.unwrap_or_default()),
            ),
        });
        let by_options = head_timeout.and_then(|t| tokio::time::Instant::now().checked_add(t));
        let until = match (deadline, by_options) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sent = self.client.request(request);
        let response = match until {
            Some(until) => tokio::time::timeout_at(until, sent)
                .await
                .map_err(|_| HttpError::ConnectionReadTimeout)?,
            None => sent.await,
        }
        .map_err(client_error)?;
        Ok(response.map(|body| body.map_err(HttpError::from).boxed_unsync()))
    }
}

/// The wasi:http error for a failure of the pooled client: the request body's own error
/// (the deadline below, a body size mismatch) as it is; TLS failures as TLS errors;
/// connection failures with their I/O error (so DNS and refused connections read as such);
/// hyper's own errors by what they say.
fn client_error(error: hyper_util::client::legacy::Error) -> HttpError {
    if let Some(wasi) = cause::<HttpError>(&error) {
        return copy_of(wasi);
    }
    if let Some(io) = cause::<std::io::Error>(&error) {
        let copy = std::io::Error::new(io.kind(), io.to_string());
        return if is_tls(io) {
            HttpError::Tls(copy)
        } else if error.is_connect() {
            HttpError::Connect(copy)
        } else {
            HttpError::ConnectionTerminated
        };
    }
    if let Some(hyper) = cause::<hyper::Error>(&error) {
        return if hyper.is_timeout() {
            HttpError::HttpResponseTimeout
        } else if hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled() {
            HttpError::ConnectionTerminated
        } else {
            HttpError::HttpProtocolError
        };
    }
    if error.is_connect() {
        HttpError::ConnectionRefused
    } else {
        HttpError::HttpProtocolError
    }
}

/// Whether `io` is a TLS failure: hyper-rustls hands handshake failures (an unknown issuer,
/// a wrong name) back as I/O errors around rustls's own, which `source()` skips.
fn is_tls(io: &std::io::Error) -> bool {
    io.get_ref().is_some_and(|inner| {
        inner.is::<rustls::Error>() || inner.downcast_ref::<std::io::Error>().is_some_and(is_tls)
    })
}

/// The first error of type `T` among `error`'s causes.
fn cause<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(found) = cause.downcast_ref::<T>() {
            return Some(found);
        }
        source = cause.source();
    }
    None
}

/// The request body's own errors that are worth keeping as they are (the error itself is
/// only borrowed from the chain).
fn copy_of(error: &HttpError) -> HttpError {
    match error {
        HttpError::ConnectionWriteTimeout => HttpError::ConnectionWriteTimeout,
        HttpError::HttpRequestBodySize(size) => HttpError::HttpRequestBodySize(*size),
        _ => HttpError::HttpProtocolError,
    }
}

/// A request body that fails once the call's deadline has passed: a server that stops reading
/// cannot hold a guest that is still writing past it (hyper then drops the connection, and the
/// guest's next write fails).
struct DeadlineBody {
    inner: WasiBody,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        if let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Some(Err(HttpError::ConnectionWriteTimeout)));
        }
        Pin::new(&mut this.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
