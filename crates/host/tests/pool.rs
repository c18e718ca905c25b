//! The host keeps connections alive between the guest's requests and between invocations,
//! gets past a connection the server has closed (saying so or not), and speaks https with
//! the certificate checked.
//!
//! The guest is `crates/misbehave`: its `fetch` GETs the URL given as `url` and answers with
//! the number of body bytes it read.

use anyhow::{Context, Result, anyhow, ensure};
use pbi_host::{Connection, Connector, HostConfig};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The misbehaving component, built by `pbi-component`.
fn misbehave() -> &'static std::path::Path {
    pbi_component::misbehave_wasm()
}

/// How a [`Server`] treats a connection after its first answer.
#[derive(Clone, Copy, PartialEq)]
enum After {
    /// Keeps it open for more requests.
    KeepAlive,
    /// Says `connection: close` in the answer, and closes it.
    SayClose,
    /// Says nothing (keep-alive, as far as the client knows), and closes it 50 ms later.
    CloseSilently,
}

/// A loopback HTTP/1.1 server answering every request with a 5-byte body; it counts the
/// connections it accepted and treats each as `after` says.
struct Server {
    url: String,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    fn start(after: After) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}/body", listener.local_addr()?);
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        // Detached: the listener lives until the test process ends.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    // The client going away ends the connection: expected.
                    let _ = serve(stream, after);
                });
            }
        });
        Ok(Self { url, accepted })
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, after: After) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        // One request head (the guest's GETs have no body).
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" {
                break;
            }
        }
        let connection = if after == After::SayClose {
            "close"
        } else {
            "keep-alive"
        };
        write!(
            writer,
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: {connection}\r\n\r\nhello"
        )?;
        writer.flush()?;
        match after {
            After::KeepAlive => {}
            After::SayClose => return Ok(()),
            After::CloseSilently => {
                std::thread::sleep(Duration::from_millis(50));
                return Ok(());
            }
        }
    }
}

fn load() -> Result<Connector> {
    load_with(HostConfig::default())
}

/// The misbehaving component with the loopback hosts reachable and `config` otherwise.
fn load_with(config: HostConfig) -> Result<Connector> {
    Connector::load(
        misbehave(),
        HostConfig {
            allow_hosts: Some(vec!["127.0.0.1".into(), "localhost".into()]),
            ..config
        },
    )
    .context("loading the misbehaving component")
}

/// Runs `fetch` against `url` and checks that the guest read the whole 5-byte body.
fn fetch(connector: &Connector, url: &str) -> Result<()> {
    let invocation = connector
        .invoke(
            "fetch",
            &Connection::default().to_json(),
            &json!({"url": url}),
        )
        .map_err(|e| anyhow!("the call failed: {e}"))?;
    let output = invocation
        .result
        .map_err(|e| anyhow!("the guest failed: {e:?}"))?;
    ensure!(
        output.data == json!({"status": 200, "bytes": 5}),
        "{:?}",
        output.data
    );
    Ok(())
}

#[test]
fn invocations_share_one_kept_alive_connection() -> Result<()> {
    let server = Server::start(After::KeepAlive)?;
    let connector = load()?;
    for _ in 0..5 {
        fetch(&connector, &server.url)?;
    }
    assert_eq!(
        server.accepted(),
        1,
        "five requests should reuse one connection"
    );
    Ok(())
}

#[test]
fn a_connection_the_server_closed_is_not_reused() -> Result<()> {
    let server = Server::start(After::SayClose)?;
    let connector = load()?;
    for _ in 0..3 {
        fetch(&connector, &server.url)?;
    }
    assert_eq!(server.accepted(), 3);
    Ok(())
}

/// An https server on loopback for `localhost`, with a certificate made here; answers like
/// [`Server`] on kept-alive connections. Returns its URL, its certificate (DER) and the count
/// of TLS connections it accepted.
fn start_tls_server() -> Result<(String, Vec<u8>, Arc<AtomicUsize>)> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let cert_der = certified.cert.der().to_vec();
    let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(
        certified.signing_key.serialize_der(),
    )
    .map_err(|e| anyhow!("the test key: {e}"))?;
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![cert_der.clone().into()], key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("https://localhost:{}/body", listener.local_addr()?.port());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    // Detached, with its runtime: the server lives until the test process ends.
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        counter.fetch_add(1, Ordering::SeqCst);
                        // The client going away ends the connection: expected.
                        let _ = serve_async(tls).await;
                    }
                });
            }
        });
    });
    Ok((url, cert_der, accepted))
}

async fn serve_async(
    stream: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut stream = BufReader::new(stream);
    loop {
        let mut line = String::new();
        loop {
            line.clear();
            if stream.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            if line == "\r\n" {
                break;
            }
        }
        stream
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
            .await?;
        stream.get_mut().flush().await?;
    }
}

#[test]
fn https_goes_through_the_pool_and_checks_the_certificate() -> Result<()> {
    let (url, cert_der, accepted) = start_tls_server()?;

    // Not trusted: the handshake fails, and the guest says so.
    let untrusting = load()?;
    let outcome = untrusting
        .invoke(
            "fetch",
            &Connection::default().to_json(),
            &json!({"url": url}),
        )
        .map_err(|e| anyhow!("the call failed: {e}"))?;
    let error = outcome
        .result
        .err()
        .context("a certificate nobody trusts was accepted")?;
    ensure!(
        error.message.to_lowercase().contains("tls"),
        "a refused certificate should read as a TLS failure: {}",
        error.message
    );
    ensure!(accepted.load(Ordering::SeqCst) == 0);

    // Trusted through the host's configuration: three calls, one TLS connection.
    let trusting = load_with(HostConfig {
        extra_root_certificates: vec![cert_der],
        ..HostConfig::default()
    })?;
    for _ in 0..3 {
        fetch(&trusting, &url)?;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    Ok(())
}

#[test]
fn a_certificate_rustls_cannot_use_is_a_setup_error() {
    let outcome = load_with(HostConfig {
        extra_root_certificates: vec![b"not a certificate".to_vec()],
        ..HostConfig::default()
    });
    let error = outcome.err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(
        error.contains("extra root certificate 0"),
        "expected a set-up error naming the certificate, got {error:?}"
    );
}

#[test]
fn a_connection_the_server_dropped_without_a_word_is_not_reused() -> Result<()> {
    let server = Server::start(After::CloseSilently)?;
    let connector = load()?;
    for _ in 0..3 {
        fetch(&connector, &server.url)?;
        // The server closes its side 50 ms after answering; the next call comes later, on an
        // idle connection whose close the pool must have noticed.
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(server.accepted(), 3);
    Ok(())
}

#[test]
fn connectors_do_not_share_connections() -> Result<()> {
    let server = Server::start(After::KeepAlive)?;
    fetch(&load()?, &server.url)?;
    fetch(&load()?, &server.url)?;
    assert_eq!(server.accepted(), 2);
    Ok(())
}
