//! The host keeps connections alive between the guest's requests and between invocations,
//! and gets past a connection the server has closed.
//!
//! The guest is `crates/misbehave`: its `list-tables` GETs the URL given as `dataset-id` and
//! answers with the number of body bytes it read.

use anyhow::{Context, Result, anyhow, ensure};
use pbi_host::{Connection, Connector, HostConfig};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const MISBEHAVE: &str = env!("PBI_MISBEHAVE_WASM");

/// A loopback HTTP/1.1 server answering every request with a 5-byte body; it counts the
/// connections it accepted and, when `close` is set, closes each after one answer.
struct Server {
    url: String,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    fn start(close: bool) -> Result<Self> {
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
                    let _ = serve(stream, close);
                });
            }
        });
        Ok(Self { url, accepted })
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, close: bool) -> std::io::Result<()> {
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
        let connection = if close { "close" } else { "keep-alive" };
        write!(
            writer,
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: {connection}\r\n\r\nhello"
        )?;
        writer.flush()?;
        if close {
            return Ok(());
        }
    }
}

fn load() -> Result<Connector> {
    Connector::load(
        MISBEHAVE,
        HostConfig {
            allow_hosts: Some(vec!["127.0.0.1".into()]),
            ..HostConfig::default()
        },
    )
    .context("loading the misbehaving component")
}

/// Runs `list-tables` against `url` and checks that the guest read the whole 5-byte body.
fn fetch(connector: &Connector, url: &str) -> Result<()> {
    let invocation = connector
        .invoke(
            "list-tables",
            &Connection::default().to_json(),
            &json!({"dataset-id": url}),
        )
        .map_err(|e| anyhow!("the call failed: {e}"))?;
    let output = invocation
        .result
        .map_err(|e| anyhow!("the guest failed: {e:?}"))?;
    ensure!(output.data == json!({"bytes": 5}), "{:?}", output.data);
    Ok(())
}

#[test]
fn invocations_share_one_kept_alive_connection() -> Result<()> {
    let server = Server::start(false)?;
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
    let server = Server::start(true)?;
    let connector = load()?;
    for _ in 0..3 {
        fetch(&connector, &server.url)?;
    }
    assert_eq!(server.accepted(), 3);
    Ok(())
}

#[test]
fn connectors_do_not_share_connections() -> Result<()> {
    let server = Server::start(false)?;
    fetch(&load()?, &server.url)?;
    fetch(&load()?, &server.url)?;
    assert_eq!(server.accepted(), 2);
    Ok(())
}
