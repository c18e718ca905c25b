//! Injected faults.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use common::{Env, rows, status_json};
use pbi_service::{Fault, FaultKind};
use serde_json::{Value, json};

#[test]
fn status_fault_replaces_the_answer_and_is_not_applied() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("T")?;
    let path = format!("/datasets/{id}/tables/T/rows");
    env.svc.inject(
        Fault::status(503, r#"{"error":{"code":"ServiceUnavailable"}}"#)
            .on_method("POST")
            .on_path("/rows")
            .with_retry_after(7),
    );
    // Another method or path is not hit.
    assert_eq!(env.get("/datasets")?.status().as_u16(), 200);
    let r = env.post_json(&path, &json!({"rows": rows(0, 1)}))?;
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(
        r.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"7"[..])
    );
    assert!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"))
    );
    assert_eq!(r.text()?, r#"{"error":{"code":"ServiceUnavailable"}}"#);
    assert_eq!(
        env.svc.table_rows(&id, "T"),
        Some(vec![]),
        "a faulted request was applied"
    );
    // Used up: the next request is handled.
    assert_eq!(
        env.post_json(&path, &json!({"rows": rows(0, 1)}))?
            .status()
            .as_u16(),
        200
    );
    assert_eq!(env.svc.table_rows(&id, "T").map(|r| r.len()), Some(1));
    // The log shows what was answered.
    let statuses: Vec<u16> = env.svc.requests().iter().map(|r| r.status).collect();
    assert_eq!(&statuses[statuses.len() - 3..], [200, 503, 200]);
    Ok(())
}

#[test]
fn faults_hit_times_then_stop_and_come_in_order() -> Result<()> {
    let env = Env::new()?;
    env.svc.inject(Fault::throttled(2).times(2));
    env.svc
        .inject(Fault::status(500, "plain text").with_content_type("text/plain"));
    for _ in 0..2 {
        let r = env.get("/groups")?;
        assert_eq!(r.status().as_u16(), 429);
        assert_eq!(
            r.headers().get("retry-after").map(|v| v.as_bytes()),
            Some(&b"2"[..])
        );
    }
    let r = env.get("/groups")?;
    assert_eq!(r.status().as_u16(), 500);
    assert_eq!(
        r.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/plain"[..])
    );
    assert_eq!(env.get("/groups")?.status().as_u16(), 200);

    env.svc.inject(Fault::status(500, "x").times(5));
    assert_eq!(env.get("/groups")?.status().as_u16(), 500);
    let pending = env.svc.pending_faults();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].times, 4, "one use spent");
    env.svc.clear_faults();
    assert!(env.svc.pending_faults().is_empty());
    assert_eq!(env.get("/groups")?.status().as_u16(), 200);
    Ok(())
}

#[test]
fn faults_apply_before_authentication() -> Result<()> {
    let env = Env::new()?;
    env.svc.inject(Fault::status(502, "bad gateway"));
    let r = env.http.get(env.url("/groups")).send()?;
    assert_eq!(r.status().as_u16(), 502);
    Ok(())
}

#[test]
fn delay_waits_then_handles() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("T")?;
    env.svc
        .inject(Fault::delay(Duration::from_millis(300)).on_path("/rows"));
    let start = Instant::now();
    let r = env.post_json(
        &format!("/datasets/{id}/tables/T/rows"),
        &json!({"rows": rows(0, 2)}),
    )?;
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(env.svc.table_rows(&id, "T").map(|r| r.len()), Some(2));
    Ok(())
}

#[test]
fn reset_connection_drops_without_an_answer() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("T")?;
    env.svc.inject(Fault::reset_connection().on_method("POST"));
    let result = env.post_json(
        &format!("/datasets/{id}/tables/T/rows"),
        &json!({"rows": rows(0, 1)}),
    );
    assert!(
        result.is_err(),
        "got an answer: {:?}",
        result.map(|r| r.status())
    );
    assert_eq!(env.svc.table_rows(&id, "T"), Some(vec![]));
    let last = env.svc.requests().pop().context("logged")?;
    assert_eq!((last.method.as_str(), last.status), ("POST", 0));

    // Raw: the server closes the connection and sends no byte.
    env.svc.inject(Fault::new(FaultKind::ResetConnection));
    let mut stream = TcpStream::connect(env.svc.addr())?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /v1.0/myorg/groups HTTP/1.1\r\nHost: x\r\n\r\n")?;
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    assert!(
        buf.is_empty(),
        "answered: {}",
        String::from_utf8_lossy(&buf)
    );
    // The server is still fine.
    assert_eq!(env.get("/groups")?.status().as_u16(), 200);
    Ok(())
}

#[test]
fn answer_lost_applies_the_request_and_drops_the_answer() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("T")?;
    env.svc
        .inject(Fault::answer_lost().on_method("POST").on_path("/rows"));
    let result = env.post_json(
        &format!("/datasets/{id}/tables/T/rows"),
        &json!({"rows": rows(0, 2)}),
    );
    assert!(
        result.is_err(),
        "got an answer: {:?}",
        result.map(|r| r.status())
    );
    // Unlike a reset, the rows are stored.
    assert_eq!(env.svc.table_rows(&id, "T"), Some(rows(0, 2)));
    let last = env.svc.requests().pop().context("logged")?;
    assert_eq!((last.method.as_str(), last.status), ("POST", 200));
    assert_eq!(env.get("/groups")?.status().as_u16(), 200);
    Ok(())
}

/// Sends a raw request and reads until the server closes.
fn raw_get(env: &Env, path: &str) -> Result<(String, Vec<u8>)> {
    let mut stream = TcpStream::connect(env.svc.addr())?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        env.token
    );
    stream.write_all(request.as_bytes())?;
    let mut buf = Vec::new();
    // A reset while reading still leaves what arrived in `buf`.
    let _ = stream.read_to_end(&mut buf);
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no header end")?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    Ok((head, buf[split + 4..].to_vec()))
}

#[test]
fn truncated_body_sends_less_than_content_length() -> Result<()> {
    let env = Env::new()?;
    env.svc.inject(Fault::truncated_body());
    let (head, body) = raw_get(&env, "/v1.0/myorg/datasets")?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let declared: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .context("content-length")?
        .parse()?;
    assert!(!body.is_empty(), "nothing of the body was sent");
    assert!(body.len() < declared, "{} of {declared} bytes", body.len());
    assert!(serde_json::from_slice::<Value>(&body).is_err());

    // An HTTP client sees an error while reading the body.
    env.svc.inject(Fault::truncated_body());
    let r = env.get("/datasets")?;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.bytes().is_err());
    Ok(())
}

#[test]
fn malformed_json_is_200_but_not_json() -> Result<()> {
    let env = Env::new()?;
    env.svc.inject(Fault::malformed_json());
    let r = env.get("/datasets")?;
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let text = r.text()?;
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    Ok(())
}

#[test]
fn large_body_is_valid_json_of_that_size() -> Result<()> {
    let env = Env::new()?;
    let size = 3 * 1024 * 1024;
    env.svc.inject(Fault::large_body(size).on_path("/reports"));
    let r = env.get("/reports")?;
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes()?;
    assert_eq!(bytes.len(), size);
    let v: Value = serde_json::from_slice(&bytes).context("valid JSON")?;
    assert!(v["value"].as_array().is_some_and(|a| a.len() > 1000));
    Ok(())
}

#[test]
fn faults_match_decoded_paths() -> Result<()> {
    let env = Env::new()?;
    let id = env.simple_dataset("My Table")?;
    env.svc
        .inject(Fault::status(500, "").on_path("My Table/rows"));
    let r = env.post_json(
        &format!("/datasets/{id}/tables/My%20Table/rows"),
        &json!({"rows": []}),
    )?;
    assert_eq!(r.status().as_u16(), 500);
    let (status, _) = status_json(env.get("/datasets")?)?;
    assert_eq!(status, 200);
    Ok(())
}
