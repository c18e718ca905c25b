//! Outgoing HTTP from the guest: an allow-list of hosts, optional redirects of whole hosts to
//! other base URLs (a local emulator), and a log of every request the guest tried to send.

use http::header::{AUTHORIZATION, HOST, HeaderValue};
use http::uri::{PathAndQuery, Uri};
use http_body_util::BodyExt;
use serde::Serialize;
use std::sync::{Arc, Mutex, MutexGuard};
use url::Url;
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
}

impl EgressPolicy {
    /// A policy with an empty log.
    pub fn new(allow_hosts: Vec<String>, redirects: Vec<(String, Url)>) -> Self {
        Self {
            allow_hosts,
            redirects,
            log: Arc::default(),
            secrets: Vec::new(),
        }
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
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

        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn scrub_hides_secrets() {
        let secrets = vec!["s3cr3t-value".to_string(), "ab".to_string()];
        assert_eq!(
            scrub("token=s3cr3t-value&x=ab", &secrets),
            "token=[redacted]&x=ab"
        );
    }
}
