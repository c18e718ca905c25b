//! Outgoing HTTP from the guest: an allow-list of hosts, optional redirects of whole hosts to
//! other base URLs (a local emulator), and a log of every request the guest tried to send.
//! Within an invocation every exchange also ends by the call's deadline and every answer
//! body is capped.

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, HOST, HeaderValue};
use http::uri::{PathAndQuery, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use serde::Serialize;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use url::Url;

use crate::pool::HttpPool;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// What stands in for secret header values in the request log.
pub const REDACTED: &str = "[redacted]";

/// One request the guest tried to send, as the host saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeenRequest {
    /// The HTTP method.
    pub method: String,
    /// The URL the guest asked for.
    pub url: String,
    /// Where the host actually sent it, when the host was redirected.
    pub redirected_to: Option<String>,
    /// Header names and values, with `authorization` replaced by [`REDACTED`].
    pub headers: Vec<(String, String)>,
    /// Whether the host refused to send it (host not allowed).
    pub denied: bool,
}

/// Which hosts the guest may reach, which are redirected, and what it tried.
///
/// Implements [`WasiHttpHooks`]: a request to a host that is neither allowed nor redirected
/// fails with `HttpRequestDenied` (the guest sees `error-code.HTTP-request-denied`) and is
/// logged as denied.
#[derive(Clone, Default)]
pub struct EgressPolicy {
    /// Host names the guest may reach as they are (compared without case or port).
    pub allow_hosts: Vec<String>,
    /// Host names sent elsewhere: the request's scheme and authority are replaced by the
    /// URL's (and its path, if any, is put before the request's path). A redirected host is
    /// allowed even when it is not in `allow_hosts`.
    pub redirects: Vec<(String, Url)>,
    /// Every request the guest tried to send, in order.
    pub log: Arc<Mutex<Vec<SeenRequest>>>,
    /// Strings scrubbed from logged URLs and header values (the connection's secrets).
    pub(crate) secrets: Vec<String>,
    /// When the invocation must have ended: no exchange outlives it (none by default).
    pub(crate) deadline: Option<Instant>,
    /// The largest answer body the guest may read (no cap by default).
    pub(crate) max_response_bytes: Option<u64>,
    /// Kept-alive connections to send through; without one, every request opens its own
    /// connection (wasmtime-wasi-http's default sender).
    pub(crate) pool: Option<HttpPool>,
    /// Where the invocation's progress reports go (the engine's callback), if anywhere.
    pub(crate) progress: Option<crate::progress::ProgressSink>,
}

impl EgressPolicy {
    /// A policy with an empty log.
    pub fn new(allow_hosts: Vec<String>, redirects: Vec<(String, Url)>) -> Self {
        Self {
            allow_hosts,
            redirects,
            log: Arc::default(),
            secrets: Vec::new(),
            deadline: None,
            max_response_bytes: None,
            pool: None,
            progress: None,
        }
    }

    /// This policy sending through `pool`'s kept-alive connections.
    pub fn with_pool(mut self, pool: HttpPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// A copy of the requests logged so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        lock(&self.log).clone()
    }

    /// Whether `host` may be reached as it is.
    pub fn allows(&self, host: &str) -> bool {
        self.allow_hosts
            .iter()
            .any(|allowed| strip_port(allowed).eq_ignore_ascii_case(host))
    }

    /// Where requests to `host` go instead, if they are redirected.
    pub fn redirect_for(&self, host: &str) -> Option<&Url> {
        self.redirects
            .iter()
            .find(|(from, _)| strip_port(from).eq_ignore_ascii_case(host))
            .map(|(_, to)| to)
    }

    fn scrub(&self, text: &str) -> String {
        scrub(text, &self.secrets)
    }

    fn record(&self, seen: SeenRequest) {
        lock(&self.log).push(seen);
    }
}

// By hand: the secrets it scrubs must not show in Debug output.
impl std::fmt::Debug for EgressPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressPolicy")
            .field("allow_hosts", &self.allow_hosts)
            .field("redirects", &self.redirects)
            .field("log", &lock(&self.log).len())
            .field("secrets", &format_args!("{REDACTED}"))
            .field("deadline", &self.deadline)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// Replaces every occurrence of a (non-trivial) secret in `text` with [`REDACTED`].
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        // Very short values would redact ordinary text and give nothing away anyway.
        if secret.len() >= 4 && out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    out
}

/// Locks the request log (or anything else), poisoned or not.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the log was held leaves usable data; keep logging.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn strip_port(host: &str) -> &str {
    host.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// The URI a redirected request goes to: `to`'s scheme and authority, `to`'s path (without
/// a trailing `/`) then the original path and query.
fn redirected_uri(original: &Uri, to: &Url) -> Option<Uri> {
    let prefix = to.path().trim_end_matches('/');
    let rest = original.path_and_query().map_or("/", PathAndQuery::as_str);
    let authority = match to.port() {
        Some(port) => format!("{}:{port}", to.host_str()?),
        None => to.host_str()?.to_string(),
    };
    Uri::builder()
        .scheme(to.scheme())
        .authority(authority)
        .path_and_query(format!("{prefix}{rest}"))
        .build()
        .ok()
}

/// The guest's timeouts, each cut to `left` (what remains of the call's budget); a timeout
/// the guest did not set becomes `left`. Without a budget they are left as the guest set them.
fn bounded_options(
    requested: Option<RequestOptions>,
    left: Option<Duration>,
) -> Option<RequestOptions> {
    let Some(left) = left else {
        return requested;
    };
    let requested = requested.unwrap_or_default();
    let cap = |timeout: Option<Duration>| Some(timeout.map_or(left, |t| t.min(left)));
    Some(RequestOptions {
        connect_timeout: cap(requested.connect_timeout),
        first_byte_timeout: cap(requested.first_byte_timeout),
        between_bytes_timeout: cap(requested.between_bytes_timeout),
    })
}

/// An answer body that fails once more than `cap` bytes have come (or at once when its
/// `Content-Length` says it will), or once the call's deadline has passed: a server that
/// trickles bytes cannot hold the guest past it, however short its pauses.
struct CappedBody {
    inner: WasiBody,
    read: u64,
    cap: Option<u64>,
    /// Whether the answer's `Content-Length` is over the cap.
    declared_over: bool,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The longest pause between two parts of the body, and the timer for the current one
    /// (wasmtime-wasi-http's own sender has one too; the pool's answers need this one).
    between_bytes: Option<(Duration, Pin<Box<tokio::time::Sleep>>)>,
    /// Set after the first error: nothing more is read.
    failed: bool,
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        let over = |this: &mut Self| {
            this.failed = true;
            Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(this.cap))))
        };
        if this.declared_over {
            return over(this);
        }
        if let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            this.failed = true;
            return Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)));
        }
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                if let Some((_, pause)) = this.between_bytes.as_mut()
                    && pause.as_mut().poll(cx).is_ready()
                {
                    this.failed = true;
                    return Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)));
                }
                return Poll::Pending;
            }
        };
        if let Some((gap, pause)) = this.between_bytes.as_mut() {
            pause.as_mut().reset(tokio::time::Instant::now() + *gap);
        }
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            this.read = this.read.saturating_add(data.len() as u64);
            if this.cap.is_some_and(|cap| this.read > cap) {
                return over(this);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        !self.failed && !self.declared_over && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for EgressPolicy {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        let original = request.uri().clone();
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| {
                let shown = if *name == AUTHORIZATION {
                    REDACTED.to_string()
                } else {
                    self.scrub(&String::from_utf8_lossy(value.as_bytes()))
                };
                (name.as_str().to_string(), shown)
            })
            .collect();
        let mut seen = SeenRequest {
            method: request.method().as_str().to_string(),
            url: self.scrub(&original.to_string()),
            redirected_to: None,
            headers,
            denied: false,
        };
        let host = original.host().unwrap_or_default().to_string();

        if let Some(to) = self.redirect_for(&host) {
            let Some(uri) = redirected_uri(&original, to) else {
                seen.denied = true;
                self.record(seen);
                return Box::new(async { Err(HttpError::HttpRequestUriInvalid) });
            };
            seen.redirected_to = Some(self.scrub(&uri.to_string()));
            // The Host header must name the server actually reached.
            if let Some(authority) = uri.authority()
                && let Ok(value) = HeaderValue::from_str(authority.as_str())
            {
                request.headers_mut().insert(HOST, value);
            }
            // default_send_request picks TLS from the scheme, so an http:// target is plain.
            *request.uri_mut() = uri;
        } else if !self.allows(&host) {
            seen.denied = true;
            self.record(seen);
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        self.record(seen);

        let deadline = self.deadline;
        let cap = self.max_response_bytes;
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let requested = options;
        let options = bounded_options(options, left);
        let pool = self.pool.clone();
        Box::new(async move {
            // Timers are made here, inside the runtime that drives the exchange.
            let deadline = deadline.map(tokio::time::Instant::from_std);
            let between_bytes = options.and_then(|o| o.between_bytes_timeout);
            let (response, io): (_, Box<dyn Future<Output = Result<(), HttpError>> + Send>) =
                match pool {
                    // The pool drives its connections itself; nothing is left for the caller.
                    Some(pool) => (
                        pool.send(request, requested, deadline).await?,
                        Box::new(async { Ok(()) }),
                    ),
                    None => {
                        let send = wasmtime_wasi_http::default_send_request(request, options);
                        // Connecting and the first byte each have the remaining budget as a
                        // timeout; the deadline bounds them together.
                        let (response, io) = match deadline {
                            Some(deadline) => tokio::time::timeout_at(deadline, send)
                                .await
                                .map_err(|_| HttpError::ConnectionReadTimeout)??,
                            None => send.await?,
                        };
                        // The connection's own driver (it also streams the request body):
                        // past the deadline it is dropped, which fails a guest still writing
                        // a body nobody reads.
                        let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                            match deadline {
                                Some(deadline) => Box::new(async move {
                                    tokio::time::timeout_at(deadline, io)
                                        .await
                                        .unwrap_or(Err(HttpError::ConnectionWriteTimeout))
                                }),
                                None => Box::new(io),
                            };
                        (response.map(|body| body.boxed_unsync()), io)
                    }
                };
            let declared = response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|length| length.to_str().ok())
                .and_then(|length| length.trim().parse::<u64>().ok());
            // A declared length over the cap fails at the first read, before any byte.
            let declared_over =
                matches!((cap, declared), (Some(cap), Some(length)) if length > cap);
            let response = response.map(|body| {
                CappedBody {
                    inner: body,
                    read: 0,
                    cap,
                    declared_over,
                    deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
                    between_bytes: between_bytes
                        .map(|gap| (gap, Box::pin(tokio::time::sleep(gap)))),
                    failed: false,
                }
                .boxed_unsync()
            });
            // A small answer is read whole here, on the runtime thread that drives its
            // connection, before the guest hears that it arrived. Otherwise the guest's first
            // read asks the connection for the body and waits for it: two more hand-overs
            // between threads per request (docs/performance.md, session 8). The body read is
            // the capped one, so the cap, the deadline and the between-bytes timeout apply
            // as they would to the guest's reads, and a failure reaches the guest after the
            // bytes that came before it.
            let response = match declared {
                Some(length) if length <= PREFETCH_BYTES && !declared_over => {
                    prefetch(response).await
                }
                _ => response,
            };
            Ok((response, io))
        })
    }
}

/// The largest declared answer body the host reads before handing the answer to the guest
/// (see [`prefetch`]).
const PREFETCH_BYTES: u64 = 64 * 1024;

/// `response` with its body read to the end (or to its first error) into memory.
async fn prefetch(response: http::Response<WasiBody>) -> http::Response<WasiBody> {
    let (parts, mut body) = response.into_parts();
    let mut frames = std::collections::VecDeque::new();
    let mut error = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => frames.push_back(frame),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    http::Response::from_parts(parts, Prefetched { frames, error }.boxed_unsync())
}

/// A body already read: its frames, then the error that ended it, if one did.
struct Prefetched {
    frames: std::collections::VecDeque<Frame<Bytes>>,
    error: Option<HttpError>,
}

impl Body for Prefetched {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        Poll::Ready(match this.frames.pop_front() {
            Some(frame) => Some(Ok(frame)),
            None => this.error.take().map(Err),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && self.error.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let left: u64 = self
            .frames
            .iter()
            .filter_map(|f| f.data_ref().map(|d| d.len() as u64))
            .sum();
        if self.error.is_some() {
            let mut hint = SizeHint::new();
            hint.set_lower(left);
            hint
        } else {
            SizeHint::with_exact(left)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefetched_body_gives_its_frames_then_the_error_that_ended_it() -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let parts: Vec<Result<Frame<Bytes>, HttpError>> = vec![
                Ok(Frame::data(Bytes::from_static(b"hello "))),
                Ok(Frame::data(Bytes::from_static(b"world"))),
                Err(HttpError::HttpResponseIncomplete),
                // Never read: the first error ends the body.
                Ok(Frame::data(Bytes::from_static(b"!"))),
            ];
            let body = http_body_util::StreamBody::new(futures_util::stream::iter(parts));
            let response = http::Response::new(BodyExt::boxed_unsync(body));
            let mut body = prefetch(response).await.into_body();
            assert_eq!(body.size_hint().lower(), 11);
            assert_eq!(body.size_hint().upper(), None);
            let mut data = Vec::new();
            let ended = loop {
                match body.frame().await {
                    Some(Ok(frame)) => data.extend_from_slice(frame.data_ref().unwrap()),
                    Some(Err(e)) => break Some(e),
                    None => break None,
                }
            };
            assert_eq!(data, b"hello world");
            assert!(
                matches!(ended, Some(HttpError::HttpResponseIncomplete)),
                "{ended:?}"
            );
            assert!(body.frame().await.is_none());
            assert!(body.is_end_stream());
            Ok(())
        })
    }

    #[test]
    fn hosts_match_without_case_or_port() {
        let policy = EgressPolicy::new(vec!["API.example.com".into()], Vec::new());
        assert!(policy.allows("api.example.com"));
        assert!(!policy.allows("evil.example.com"));
        let policy = EgressPolicy::new(vec!["localhost:8080".into()], Vec::new());
        assert!(policy.allows("localhost"));
    }

    #[test]
    fn redirect_keeps_path_and_query() -> anyhow::Result<()> {
        let original: Uri = "https://api.example.com/v1.0/myorg/datasets?$top=5".parse()?;
        let to = Url::parse("http://127.0.0.1:9999")?;
        let uri = redirected_uri(&original, &to).ok_or_else(|| anyhow::anyhow!("no uri"))?;
        assert_eq!(
            uri.to_string(),
            "http://127.0.0.1:9999/v1.0/myorg/datasets?$top=5"
        );
        let to = Url::parse("http://localhost:1/prefix/")?;
        let uri = redirected_uri(&original, &to).ok_or_else(|| anyhow::anyhow!("no uri"))?;
        assert_eq!(
            uri.to_string(),
            "http://localhost:1/prefix/v1.0/myorg/datasets?$top=5"
        );
        Ok(())
    }

    #[test]
    fn timeouts_are_cut_to_the_budget() {
        let left = Duration::from_secs(2);
        let none = bounded_options(None, Some(left)).expect("options");
        assert_eq!(none.connect_timeout, Some(left));
        assert_eq!(none.first_byte_timeout, Some(left));
        assert_eq!(none.between_bytes_timeout, Some(left));
        let asked = RequestOptions {
            connect_timeout: Some(Duration::from_millis(100)),
            first_byte_timeout: Some(Duration::from_secs(3_600)),
            between_bytes_timeout: None,
        };
        let cut = bounded_options(Some(asked), Some(left)).expect("options");
        assert_eq!(cut.connect_timeout, Some(Duration::from_millis(100)));
        assert_eq!(cut.first_byte_timeout, Some(left));
        assert_eq!(cut.between_bytes_timeout, Some(left));
        // Without a budget (a policy used on its own) the guest's choice stands.
        assert_eq!(bounded_options(Some(asked), None), Some(asked));
        assert_eq!(bounded_options(None, None), None);
    }

    #[test]
    fn scrub_hides_secrets() {
        let secrets = vec!["s3cr3t-value".to_string(), "ab".to_string()];
        assert_eq!(
            scrub("token=s3cr3t-value&x=ab", &secrets),
            "token=[redacted]&x=ab"
        );
    }
}
