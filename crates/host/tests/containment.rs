//! The guest is contained: a trap, an endless loop, a memory blow-up, a huge answer, a
//! silent or trickling server and a long sleep each end that invocation only, within its
//! budget, with an error that names the limit; the next invocation on the same `Connector`
//! works.
//!
//! The guest is `crates/misbehave`, which misbehaves on purpose (see its crate docs for which
//! action does what). The servers are tiny loopback ones written here.

use anyhow::{Context, Result, anyhow, ensure};
use pbi_host::{Connection, Connector, HostConfig, HostError, Invocation};
use serde_json::{Value, json};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The misbehaving component, built by `pbi-component`.
fn misbehave() -> &'static std::path::Path {
    pbi_component::misbehave_wasm()
}

/// Slack on top of a call budget for the host's own work in a debug build on a busy
/// two-core machine (instantiation, tearing the store down, the test's threads).
const SLACK: Duration = Duration::from_secs(3);

fn load(config: HostConfig) -> Result<Connector> {
    Connector::load(misbehave(), config).context("loading the misbehaving component")
}

/// The component with only the loopback address reachable.
fn loopback(config: HostConfig) -> Result<Connector> {
    load(HostConfig {
        allow_hosts: Some(vec!["127.0.0.1".into()]),
        ..config
    })
}

fn invoke(connector: &Connector, action: &str, inputs: Value) -> Result<Invocation, HostError> {
    connector.invoke(action, &Connection::default().to_json(), &inputs)
}

/// The message of the `HostError::Call` that `outcome` must be, and the guest's logs.
fn call_error(outcome: Result<Invocation, HostError>) -> Result<(String, String)> {
    match outcome {
        Err(HostError::Call {
            function,
            message,
            logs,
            ..
        }) => {
            ensure!(!function.is_empty());
            Ok((message, logs))
        }
        Err(other) => Err(anyhow!(
            "expected a failed call, got the host error {other}"
        )),
        Ok(invocation) => Err(anyhow!(
            "expected a failed call, got {:?}",
            invocation.result
        )),
    }
}

/// The next call on the same connector runs normally.
fn next_call_works(connector: &Connector) -> Result<()> {
    let next =
        invoke(connector, "return-at-once", json!({})).context("the call after the failure")?;
    let output = next
        .result
        .map_err(|e| anyhow!("the call after the failure failed: {e:?}"))?;
    ensure!(output.data == json!({"ok": true}), "{:?}", output.data);
    Ok(())
}

#[test]
fn a_trap_fails_that_call_only() -> Result<()> {
    let connector = load(HostConfig::default())?;
    let (message, logs) = call_error(invoke(&connector, "panic", json!({})))?;
    ensure!(
        message.starts_with("the component trapped: wasm `unreachable` instruction executed"),
        "{message}"
    );
    ensure!(logs.contains("panics on purpose"), "{logs}");
    next_call_works(&connector)
}

#[test]
fn an_endless_loop_ends_at_the_call_limit() -> Result<()> {
    let budget = Duration::from_millis(500);
    let connector = load(HostConfig {
        call_timeout: budget,
        ..HostConfig::default()
    })?;
    let start = Instant::now();
    let (message, _) = call_error(invoke(&connector, "spin-forever", json!({})))?;
    let took = start.elapsed();
    ensure!(
        message == "the component ran longer than the 500 ms call limit",
        "{message}"
    );
    ensure!(took >= budget, "stopped early, after {took:?}");
    ensure!(took < budget + SLACK, "stopped only after {took:?}");
    next_call_works(&connector)
}

#[test]
fn a_memory_blow_up_fails_that_call_only() -> Result<()> {
    let connector = load(HostConfig {
        memory_limit_bytes: 16 * 1024 * 1024,
        ..HostConfig::default()
    })?;
    let (message, _) = call_error(invoke(&connector, "allocate-forever", json!({})))?;
    ensure!(
        message.starts_with("the component exceeded its memory limit of 16 MiB"),
        "{message}"
    );
    next_call_works(&connector)
}

#[test]
fn a_memory_limit_below_the_initial_memory_fails_instantiation_only() -> Result<()> {
    let mut connector = load(HostConfig::default())?;
    connector.set_config(HostConfig {
        memory_limit_bytes: 64 * 1024,
        ..HostConfig::default()
    });
    let (message, _) = call_error(invoke(&connector, "allocate-forever", json!({})))?;
    ensure!(
        message.starts_with("the component exceeded its memory limit of 64 KiB"),
        "{message}"
    );
    connector.set_config(HostConfig::default());
    next_call_works(&connector)
}

#[test]
fn a_table_limit_below_the_component_fails_instantiation_only() -> Result<()> {
    let mut connector = load(HostConfig::default())?;
    connector.set_config(HostConfig {
        max_table_elements: 1,
        ..HostConfig::default()
    });
    let inputs = json!({});
    let (message, _) = call_error(invoke(&connector, "return-at-once", inputs))?;
    ensure!(
        message.starts_with("the component exceeded its table limit of 1 elements"),
        "{message}"
    );
    connector.set_config(HostConfig::default());
    next_call_works(&connector)
}

#[test]
fn a_long_sleep_ends_at_the_call_limit() -> Result<()> {
    let budget = Duration::from_secs(1);
    let connector = load(HostConfig {
        call_timeout: budget,
        ..HostConfig::default()
    })?;
    let start = Instant::now();
    let inputs = json!({});
    let (message, _) = call_error(invoke(&connector, "sleep-an-hour", inputs))?;
    let took = start.elapsed();
    ensure!(
        message == "the component ran longer than the 1 s call limit",
        "{message}"
    );
    ensure!(
        took < budget + SLACK,
        "the sleep held the call for {took:?}"
    );
    next_call_works(&connector)
}

#[test]
fn the_instance_pool_bounds_concurrent_calls_and_reuses_its_slots() -> Result<()> {
    let connector = load(HostConfig {
        call_timeout: Duration::from_secs(2),
        max_concurrent_calls: 1,
        ..HostConfig::default()
    })?;
    // A freed slot is reset and reused: more calls than slots, one after the other.
    for _ in 0..5 {
        next_call_works(&connector)?;
    }
    std::thread::scope(|scope| -> Result<()> {
        // This call sleeps, holding the only slot until its budget ends.
        let sleeper = scope.spawn(|| {
            let inputs = json!({});
            invoke(&connector, "sleep-an-hour", inputs)
        });
        std::thread::sleep(Duration::from_millis(500));
        let (message, _) = call_error(invoke(&connector, "return-at-once", json!({})))?;
        ensure!(message.contains("concurrent"), "{message}");
        let (slept, _) = call_error(
            sleeper
                .join()
                .map_err(|_| anyhow!("the sleeper panicked"))?,
        )?;
        ensure!(slept.contains("call limit"), "{slept}");
        Ok(())
    })?;
    next_call_works(&connector)
}

#[test]
fn a_server_that_stops_reading_a_request_body_does_not_hold_the_call() -> Result<()> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    // Reads the request's head, answers 401 at once on a connection it keeps open, and then
    // reads nothing more: the guest's body writes fill the socket and stop.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/upload", listener.local_addr()?);
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut stream, _) = listener.accept()?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte)? == 0 {
                return Ok(());
            }
            head.push(byte[0]);
        }
        stream.write_all(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n")?;
        let start = Instant::now();
        while !stopped.load(Ordering::SeqCst) && start.elapsed() < GIVE_UP {
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    });
    let budget = Duration::from_secs(1);
    let connector = loopback(HostConfig {
        call_timeout: budget,
        ..HostConfig::default()
    })?;
    let start = Instant::now();
    // A 64 MiB body: far more than the socket buffers hold.
    let outcome = invoke(&connector, "fetch", json!({"url": url, "upload-mib": 64}));
    let took = start.elapsed();
    stop.store(true, Ordering::SeqCst);
    let _ = server.join();
    let ended = match outcome {
        Ok(Invocation {
            result: Err(error), ..
        }) => error.message,
        Err(HostError::Call { message, .. }) => message,
        other => return Err(anyhow!("expected the call to fail, got {other:?}")),
    };
    ensure!(ends_by_the_deadline(&ended), "{ended}");
    ensure!(took < budget + SLACK, "the call took {took:?}: {ended}");
    next_call_works(&connector)
}

/// What a loopback server does once it has read a request.
#[derive(Clone, Copy)]
enum Answer {
    /// `200` without a length, then bytes until the client goes away.
    Endless,
    /// `200` declaring a 10 GB body, then bytes until the client goes away.
    DeclaredHuge,
    /// `200` with a small body.
    Small,
    /// Nothing at all: the connection stays open until the client goes away.
    Silent,
    /// `200` without a length, then one byte every 100 ms until the client goes away.
    Trickle,
    /// `200` declaring a 50-byte body, then one byte every 100 ms until the client goes
    /// away: a small answer, which the host reads whole before the guest sees it.
    TrickleDeclared,
    /// `200` declaring 1,000 bytes, 10 of them, then the connection closes.
    CutShort,
}

/// A loopback server that answers one connection as `answer` says.
struct Server {
    url: String,
    thread: Option<JoinHandle<()>>,
    /// The head of the request it answered (empty until one came).
    received: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    fn start(answer: Answer) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}/body", listener.local_addr()?);
        let received = Arc::new(Mutex::new(Vec::new()));
        let head = received.clone();
        let thread = std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                // The client going away ends the answer with an error: expected.
                let _ = answer_one(stream, answer, &head);
            }
        });
        Ok(Self {
            url,
            thread: Some(thread),
            received,
        })
    }

    /// The head of the request it answered, as text.
    fn request_head(&self) -> String {
        let head = self.received.lock().map(|h| h.clone()).unwrap_or_default();
        String::from_utf8_lossy(&head).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Unblock an accept that never got its connection, then wait for the thread.
        if let Some(address) = self
            .url
            .strip_prefix("http://")
            .and_then(|r| r.split('/').next())
        {
            let _ = TcpStream::connect(address);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// However the host behaves, a server thread gives up after this long, so that a host that
/// never lets go of a connection fails its test instead of hanging it.
const GIVE_UP: Duration = Duration::from_secs(30);

fn answer_one(
    mut stream: TcpStream,
    answer: Answer,
    received: &Mutex<Vec<u8>>,
) -> std::io::Result<()> {
    let start = Instant::now();
    let give_up = || std::io::Error::new(ErrorKind::TimedOut, "the client never went away");
    stream.set_read_timeout(Some(GIVE_UP))?;
    stream.set_write_timeout(Some(GIVE_UP))?;
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..n]);
    }
    if let Ok(mut head) = received.lock() {
        *head = request;
    }
    let chunk = vec![b'x'; 64 * 1024];
    match answer {
        Answer::Endless => {
            stream.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")?;
            while start.elapsed() < GIVE_UP {
                stream.write_all(&chunk)?;
            }
            Err(give_up())
        }
        Answer::DeclaredHuge => {
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10000000000\r\n\r\n")?;
            while start.elapsed() < GIVE_UP {
                stream.write_all(&chunk)?;
            }
            Err(give_up())
        }
        Answer::Small => {
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")?;
            Ok(())
        }
        Answer::Silent => {
            // Reading returns 0 (or fails) once the host drops the connection.
            while stream.read(&mut buffer)? > 0 {}
            Ok(())
        }
        Answer::Trickle => {
            stream.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")?;
            while start.elapsed() < GIVE_UP {
                stream.write_all(b"x")?;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(give_up())
        }
        Answer::TrickleDeclared => {
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n")?;
            for _ in 0..50 {
                stream.write_all(b"x")?;
                std::thread::sleep(Duration::from_millis(100));
            }
            Ok(())
        }
        Answer::CutShort => {
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n0123456789")?;
            Ok(())
        }
    }
}

/// The guest's action error for a `fetch` call that must fail in the guest.
fn guest_error(outcome: Result<Invocation, HostError>) -> Result<String> {
    let invocation = outcome.map_err(|e| anyhow!("expected the guest's own error, got {e}"))?;
    match invocation.result {
        Err(error) => Ok(error.message),
        Ok(output) => Err(anyhow!(
            "expected the guest's own error, got {:?}",
            output.data
        )),
    }
}

/// How many body bytes the guest read before the failure it reports.
fn bytes_read(message: &str) -> Result<u64> {
    let after = message
        .split("after ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .context("no byte count in the message")?;
    Ok(after.parse()?)
}

#[test]
fn an_endless_answer_fails_at_the_cap() -> Result<()> {
    let server = Server::start(Answer::Endless)?;
    let cap = 1024 * 1024;
    let connector = loopback(HostConfig {
        max_response_bytes: cap,
        ..HostConfig::default()
    })?;
    let message = guest_error(invoke(&connector, "fetch", json!({"url": server.url})))?;
    ensure!(
        message.contains(&format!("size exceeds limit: {cap} bytes")),
        "{message}"
    );
    let read = bytes_read(&message)?;
    ensure!(
        read <= cap,
        "the guest read {read} bytes past a {cap}-byte cap"
    );
    drop(server);
    next_call_works(&connector)
}

#[test]
fn an_answer_declared_over_the_cap_fails_before_any_byte() -> Result<()> {
    let server = Server::start(Answer::DeclaredHuge)?;
    let cap = 1024 * 1024;
    let connector = loopback(HostConfig {
        max_response_bytes: cap,
        ..HostConfig::default()
    })?;
    let message = guest_error(invoke(&connector, "fetch", json!({"url": server.url})))?;
    ensure!(
        message.contains(&format!("size exceeds limit: {cap} bytes")),
        "{message}"
    );
    ensure!(bytes_read(&message)? == 0, "{message}");
    Ok(())
}

#[test]
fn an_answer_under_the_cap_is_read_whole() -> Result<()> {
    let server = Server::start(Answer::Small)?;
    let connector = loopback(HostConfig {
        max_response_bytes: 5,
        ..HostConfig::default()
    })?;
    let invocation = invoke(&connector, "fetch", json!({"url": server.url}))?;
    let output = invocation
        .result
        .map_err(|e| anyhow!("a 5-byte answer under a 5-byte cap failed: {e:?}"))?;
    ensure!(
        output.data == json!({"status": 200, "bytes": 5}),
        "{:?}",
        output.data
    );
    Ok(())
}

/// misbehave's `fetch` sends the connection's access token as a bearer header (pbi-bench's
/// floor relies on it), and only when there is one; the request the host reports shows it
/// redacted, never the token.
#[test]
fn fetch_sends_the_connections_token_and_the_host_reports_it_redacted() -> Result<()> {
    let token = "t0k3n-not-to-be-shown";
    let connector = loopback(HostConfig::default())?;
    for (connection, sent) in [
        (Connection::with_access_token(token), true),
        (Connection::default(), false),
    ] {
        let server = Server::start(Answer::Small)?;
        let invocation =
            connector.invoke("fetch", &connection.to_json(), &json!({"url": server.url}))?;
        let output = invocation
            .result
            .as_ref()
            .map_err(|e| anyhow!("the fetch failed: {e:?}"))?;
        ensure!(
            output.data == json!({"status": 200, "bytes": 5}),
            "{:?}",
            output.data
        );
        // What went over the wire: the token itself, or no authorization at all.
        let head = server.request_head().to_ascii_lowercase();
        let bearer = format!("authorization: bearer {token}\r\n");
        ensure!(head.contains(&bearer) == sent, "{head}");
        ensure!(head.contains("authorization") == sent, "{head}");
        // What the host reports: the header redacted.
        let [request] = invocation.requests.as_slice() else {
            return Err(anyhow!("{} requests seen", invocation.requests.len()));
        };
        let authorization: Vec<&str> = request
            .headers
            .iter()
            .filter(|(name, _)| name == "authorization")
            .map(|(_, value)| value.as_str())
            .collect();
        let expected: &[&str] = if sent { &[pbi_host::REDACTED] } else { &[] };
        ensure!(authorization == expected, "{:?}", request.headers);
        let shown = format!("{invocation:?}");
        ensure!(!shown.contains(token), "{shown}");
    }
    Ok(())
}

/// Calls `fetch` against `server` with `budget`; returns how long it took and what it
/// ended with. `guest_timeout_ms` is the timeout the guest asks for, if any.
fn timed(
    server: &Server,
    budget: Duration,
    guest_timeout_ms: Option<i64>,
) -> Result<(Duration, String)> {
    let connector = loopback(HostConfig {
        call_timeout: budget,
        ..HostConfig::default()
    })?;
    let mut inputs = json!({"url": server.url});
    if let Some(ms) = guest_timeout_ms {
        inputs["timeout-ms"] = json!(ms);
    }
    let start = Instant::now();
    let outcome = invoke(&connector, "fetch", inputs);
    let took = start.elapsed();
    // Either the guest saw its request time out and said so, or it was stopped at the
    // deadline when it ran on: both end the call within the budget.
    let ended = match outcome {
        Ok(Invocation {
            result: Err(error), ..
        }) => error.message,
        Err(HostError::Call { message, .. }) => message,
        Ok(Invocation {
            result: Ok(output), ..
        }) => {
            return Err(anyhow!("the call succeeded: {:?}", output.data));
        }
        Err(other) => return Err(anyhow!("unexpected host error: {other}")),
    };
    next_call_works(&connector)?;
    Ok((took, ended))
}

/// Whether the call ended with a timeout: the guest's request failing with one (its error
/// code, or the body stream's message, which wasmtime 48 passes as text only), or the host
/// stopping the guest at its deadline.
fn ends_by_the_deadline(ended: &str) -> bool {
    ended.to_lowercase().contains("timeout") || ended.contains("ran longer than")
}

/// Serves `answer`, calls with a 1 s budget and the guest's `guest_timeout_ms`, and checks
/// that the call ended by a timeout within the budget.
fn ends_within_a_one_second_budget(answer: Answer, guest_timeout_ms: Option<i64>) -> Result<()> {
    let server = Server::start(answer)?;
    let budget = Duration::from_secs(1);
    let (took, ended) = timed(&server, budget, guest_timeout_ms)?;
    ensure!(ends_by_the_deadline(&ended), "{ended}");
    ensure!(took < budget + SLACK, "the call took {took:?}: {ended}");
    Ok(())
}

#[test]
fn a_silent_server_ends_within_the_budget_when_the_guest_sets_no_timeout() -> Result<()> {
    ends_within_a_one_second_budget(Answer::Silent, None)
}

#[test]
fn a_silent_server_ends_within_the_budget_when_the_guest_asks_for_an_hour() -> Result<()> {
    ends_within_a_one_second_budget(Answer::Silent, Some(3_600_000))
}

#[test]
fn a_trickling_server_ends_within_the_budget() -> Result<()> {
    // Each byte comes well within the guest's between-bytes timeout: only the call's
    // deadline can stop it.
    ends_within_a_one_second_budget(Answer::Trickle, Some(3_600_000))
}

#[test]
fn a_trickling_small_answer_ends_within_the_budget() -> Result<()> {
    // 50 bytes declared, so the host reads it whole before the guest sees it: the call's
    // deadline must still stop that read.
    ends_within_a_one_second_budget(Answer::TrickleDeclared, Some(3_600_000))
}

#[test]
fn a_small_answer_cut_short_reaches_the_guest_with_the_bytes_before_the_cut() -> Result<()> {
    let server = Server::start(Answer::CutShort)?;
    let connector = loopback(HostConfig::default())?;
    let message = guest_error(invoke(&connector, "fetch", json!({"url": server.url})))?;
    ensure!(bytes_read(&message)? == 10, "{message}");
    drop(server);
    next_call_works(&connector)
}

#[test]
fn a_short_guest_timeout_still_wins() -> Result<()> {
    let server = Server::start(Answer::Silent)?;
    let (took, ended) = timed(&server, Duration::from_secs(30), Some(200))?;
    ensure!(ended.contains("Timeout"), "{ended}");
    ensure!(
        took < Duration::from_secs(10),
        "the call took {took:?}: {ended}"
    );
    Ok(())
}

/// An engine's own async runtime, single-threaded as many are.
fn engine_runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

#[test]
fn a_dropped_async_call_stops_its_guest_and_frees_its_instance() -> Result<()> {
    let connector = load(HostConfig {
        call_timeout: Duration::from_secs(60),
        max_concurrent_calls: 1,
        ..HostConfig::default()
    })?;
    let connection = Connection::default().to_json();
    let engine = engine_runtime()?;
    engine.block_on(async {
        // `sleep-an-hour` sleeps for its whole budget, holding the only instance slot; the
        // engine gives up on it after 300 ms.
        let inputs = json!({});
        let sleeping = connector.invoke_async("sleep-an-hour", &connection, inputs);
        let gave_up = tokio::time::timeout(Duration::from_millis(300), sleeping).await;
        ensure!(
            gave_up.is_err(),
            "the sleeper ended on its own: {gave_up:?}"
        );

        // Its slot comes free at once instead of after the 60 s budget.
        let started = Instant::now();
        loop {
            let next = connector
                .invoke_async("return-at-once", &connection, json!({}))
                .await;
            match next {
                Ok(invocation) => {
                    let output = invocation
                        .result
                        .map_err(|e| anyhow!("the next call failed: {e:?}"))?;
                    ensure!(output.data == json!({"ok": true}), "{:?}", output.data);
                    break;
                }
                Err(HostError::Call { message, .. })
                    if message.contains("concurrent") && started.elapsed() < SLACK =>
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(other) => return Err(anyhow!("the next call: {other}")),
            }
        }
        Ok(())
    })
}

#[test]
fn async_guests_that_never_wait_leave_room_for_other_calls() -> Result<()> {
    let budget = Duration::from_secs(4);
    let server = Server::start(Answer::Small)?;
    let connector = loopback(HostConfig {
        call_timeout: budget,
        worker_threads: 2,
        ..HostConfig::default()
    })?;
    let connection = Connection::default().to_json();
    let engine = engine_runtime()?;
    // Two endless loops on the connector's two worker threads, and after them a call that
    // fetches an answer: it gets a thread, its connection is driven and its answer read,
    // because the loops yield every few ticks and let the workers poll sockets and timers.
    let spin = || connector.invoke_async("spin-forever", &connection, json!({}));
    let (first, second, quick) = engine.block_on(async {
        let quick = async {
            // Let the loops start first.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let started = Instant::now();
            let outcome = connector
                .invoke_async("fetch", &connection, json!({"url": server.url}))
                .await;
            (outcome, started.elapsed())
        };
        tokio::join!(spin(), spin(), quick)
    });
    let (outcome, took) = quick;
    let output = outcome?
        .result
        .map_err(|e| anyhow!("the quick call failed: {e:?}"))?;
    ensure!(
        output.data == json!({"status": 200, "bytes": 5}),
        "{:?}",
        output.data
    );
    // Yielding with a plain re-queue instead lets the workers look at new tasks and
    // sockets only every 61 polls of 50 ms: about 3 s.
    ensure!(
        took < Duration::from_millis(1500),
        "the quick call waited {took:?} for the loops"
    );
    for outcome in [first, second] {
        let (message, _) = call_error(outcome)?;
        ensure!(message.contains("call limit"), "{message}");
    }
    Ok(())
}
