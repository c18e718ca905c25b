//! The native baseline: a plain Rust client (hyper 1 on a multi-threaded tokio runtime)
//! sending the same requests the component sends, with the same headers and bearer token.
//!
//! Like the host's egress (`wasmtime_wasi_http::default_send_request`) it can open a new TCP
//! connection and HTTP/1.1 handshake for every request ([`Strategy::NEW_CONNECTION`]); it can
//! also keep one connection alive across requests ([`Strategy::KEEP_ALIVE`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

/// How the client gets a connection for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strategy {
    /// Reuse one connection while it stays open (otherwise a new one per request).
    pub keep_alive: bool,
    /// Set `TCP_NODELAY` on new connections (reqwest's default; `default_send_request`
    /// does not set it).
    pub nodelay: bool,
}

impl Strategy {
    /// A new TCP connection and handshake per request, set up exactly as
    /// `default_send_request` sets up the host's (no `TCP_NODELAY`): the baseline.
    pub const NEW_CONNECTION: Strategy = Strategy {
        keep_alive: false,
        nodelay: false,
    };
    /// A new connection per request with `TCP_NODELAY`, as reqwest sets by default.
    pub const NEW_CONNECTION_NODELAY: Strategy = Strategy {
        keep_alive: false,
        nodelay: true,
    };
    /// One connection reused across requests, with `TCP_NODELAY` (reqwest's pool).
    pub const KEEP_ALIVE: Strategy = Strategy {
        keep_alive: true,
        nodelay: true,
    };
}

/// Where one request's time went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// Opening the TCP connection and the HTTP/1 handshake (zero on a reused connection).
    pub connect: Duration,
    /// From handing the request over to the answer's headers.
    pub request: Duration,
    /// Reading the answer's body.
    pub body: Duration,
}

/// A client for the local service.
pub struct Client {
    runtime: Runtime,
    addr: SocketAddr,
    host: String,
    bearer: String,
    kept: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    /// A client for the service at `addr` that sends `token` as its bearer token.
    pub fn new(addr: SocketAddr, token: &str) -> Result<Self> {
        // The same kind of runtime wasmtime-wasi drives the guest's HTTP on: multi-threaded,
        // one worker per core, blocked on from the calling thread.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("building the client's tokio runtime")?;
        Ok(Self {
            runtime,
            addr,
            host: addr.to_string(),
            bearer: format!("Bearer {token}"),
            kept: None,
        })
    }

    /// Sends `method path` (a JSON body when `body` is given) and returns the status, the
    /// body and the timing.
    pub fn send(
        &mut self,
        strategy: Strategy,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes, Timing)> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.host.as_str())
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, self.bearer.as_str());
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json; charset=utf-8");
        }
        let request = builder.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        let addr = self.addr;
        let kept = if strategy.keep_alive {
            self.kept.take()
        } else {
            None
        };
        let nodelay = strategy.nodelay;
        let (status, bytes, timing, sender) = self.runtime.block_on(async move {
            let start = Instant::now();
            let reusable = match kept {
                Some(mut sender) => sender.ready().await.is_ok().then_some(sender),
                None => None,
            };
            let mut sender = match reusable {
                Some(sender) => sender,
                None => connect(addr, nodelay).await?,
            };
            let connected = Instant::now();
            let response = sender.send_request(request).await?;
            let headers = Instant::now();
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await?.to_bytes();
            let done = Instant::now();
            let timing = Timing {
                connect: connected - start,
                request: headers - connected,
                body: done - headers,
            };
            Ok::<_, anyhow::Error>((status, bytes, timing, sender))
        })?;
        if strategy.keep_alive {
            self.kept = Some(sender);
        }
        Ok((status, bytes, timing))
    }

    /// Like [`Client::send`], failing on an answer that is not 2xx.
    pub fn send_ok(
        &mut self,
        strategy: Strategy,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(Bytes, Timing)> {
        let (status, bytes, timing) = self.send(strategy, method.clone(), path, body)?;
        if !(200..300).contains(&status) {
            bail!(
                "{method} {path} answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok((bytes, timing))
    }
}

/// A new connection, its driver spawned on the runtime.
async fn connect(addr: SocketAddr, nodelay: bool) -> Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(nodelay)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}
