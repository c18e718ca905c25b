//! Authentication, routing errors, and the request log.

mod common;

use std::time::Duration;

use anyhow::{Context, Result};
use common::{Env, status_json};
use pbi_service::{ServiceConfig, ServiceHandle};
use serde_json::json;

#[test]
fn missing_or_unknown_token_is_401() -> Result<()> {
    let env = Env::new()?;
    let url = env.url("/datasets");
    let cases = [
        None,
        Some("Bearer not-a-token".to_owned()),
        Some(format!("Basic {}", env.token)),
        Some("Bearer".to_owned()),
    ];
    for auth in cases {
        let mut rb = env.http.get(&url);
        if let Some(a) = &auth {
            rb = rb.header("Authorization", a);
        }
        let (status, body) = status_json(rb.send()?)?;
        assert_eq!(status, 401, "{auth:?}");
        assert_eq!(
            body["error"]["code"], "PowerBINotAuthorizedException",
            "{auth:?}"
        );
    }
    Ok(())
}

#[test]
fn expired_token_is_403_token_expired() -> Result<()> {
    let env = Env::new()?;
    let expected = json!({"error": {
        "code": "TokenExpired",
        "message": "Access token has expired, resubmit with a new access token"
    }});

    // Expired by hand.
    assert_eq!(env.get("/datasets")?.status().as_u16(), 200);
    env.svc.expire_token(&env.token);
    let (status, body) = status_json(env.get("/datasets")?)?;
    assert_eq!((status, &body), (403, &expected));

    // Expired by its lifetime.
    let short = env
        .svc
        .issue_token_with_lifetime(Duration::from_millis(100));
    let call = || {
        env.http
            .get(env.url("/datasets"))
            .bearer_auth(&short)
            .send()
    };
    assert_eq!(call()?.status().as_u16(), 200);
    std::thread::sleep(Duration::from_millis(200));
    let (status, body) = status_json(call()?)?;
    assert_eq!((status, &body), (403, &expected));

    // A new token works again.
    let fresh = env.svc.issue_token();
    let r = env
        .http
        .get(env.url("/datasets"))
        .bearer_auth(&fresh)
        .send()?;
    assert_eq!(r.status().as_u16(), 200);
    Ok(())
}

#[test]
fn fixed_tokens_are_always_valid() -> Result<()> {
    let config = ServiceConfig {
        fixed_tokens: vec!["demo-token".to_owned()],
        ..ServiceConfig::default()
    };
    let svc = ServiceHandle::spawn(config)?;
    let http = reqwest::blocking::Client::builder().no_proxy().build()?;
    let url = format!("{}/v1.0/myorg/groups", svc.base_url());
    assert_eq!(
        http.get(&url)
            .bearer_auth("demo-token")
            .send()?
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        http.get(&url)
            .bearer_auth("other")
            .send()?
            .status()
            .as_u16(),
        401
    );
    Ok(())
}

#[test]
fn unknown_routes_and_methods() -> Result<()> {
    let env = Env::new()?;
    // Authenticated unknown API route: 404 with the usual error shape.
    let (status, body) = status_json(env.get("/nothing/here")?)?;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "NotFound");
    // Authentication comes before routing under /v1.0.
    let r = env.http.get(env.url("/nothing/here")).send()?;
    assert_eq!(r.status().as_u16(), 401);
    // Outside the API no token is needed, and it is still 404.
    let r = env
        .http
        .get(format!("{}/favicon.ico", env.svc.base_url()))
        .send()?;
    assert_eq!(r.status().as_u16(), 404);
    // A known path with a method it does not serve.
    let r = env
        .http
        .patch(env.url("/datasets"))
        .bearer_auth(&env.token)
        .send()?;
    let (status, body) = status_json(r)?;
    assert_eq!(status, 405);
    assert_eq!(body["error"]["code"], "MethodNotAllowed");
    // Groups are listed only at the top level.
    let gid = env.svc.add_group("g");
    assert_eq!(
        env.get(&format!("/groups/{gid}/groups"))?.status().as_u16(),
        404
    );
    Ok(())
}

#[test]
fn api_answers_carry_a_request_id() -> Result<()> {
    let env = Env::new()?;
    let r = env.get("/datasets")?;
    let id = r.headers().get("requestid").context("RequestId header")?;
    assert_eq!(id.to_str()?.len(), 36);
    Ok(())
}

#[test]
fn recorded_requests_redact_authorization() -> Result<()> {
    let env = Env::new()?;
    env.svc.clear_requests();
    let body = json!({"name": "Logged", "tables": [{"name": "T", "columns": [
        {"name": "A", "dataType": "String"}]}]});
    env.http
        .post(env.url("/datasets?defaultRetentionPolicy=basicFIFO"))
        .bearer_auth(&env.token)
        .header("X-Custom-Header", "Visible")
        .json(&body)
        .send()?;
    env.http.get(env.url("/reports")).send()?;

    let log = env.svc.requests();
    assert_eq!(log.len(), 2);
    let first = &log[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/v1.0/myorg/datasets");
    assert_eq!(
        first.query.as_deref(),
        Some("defaultRetentionPolicy=basicFIFO")
    );
    assert_eq!(first.status, 201);
    assert_eq!(first.header("authorization"), Some("Bearer [redacted]"));
    assert_eq!(first.header("x-custom-header"), Some("Visible"));
    assert!(first.headers.iter().all(|(k, _)| *k == k.to_lowercase()));
    assert!(
        first.headers.iter().all(|(_, v)| !v.contains(&env.token)),
        "the token leaked into the log"
    );
    assert_eq!(first.body_json(), Some(body));
    assert_eq!(
        (log[1].path.as_str(), log[1].status),
        ("/v1.0/myorg/reports", 401)
    );
    assert_eq!(log[1].header("authorization"), None);

    env.svc.clear_requests();
    assert!(env.svc.requests().is_empty());
    Ok(())
}

#[test]
fn dropping_the_handle_stops_the_server() -> Result<()> {
    let svc = ServiceHandle::spawn(ServiceConfig::default())?;
    let addr = svc.addr();
    assert!(std::net::TcpStream::connect(addr).is_ok());
    drop(svc);
    let refused = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1));
    assert!(refused.is_err(), "still accepting after drop");
    Ok(())
}

#[test]
fn base_url_and_port_in_use() -> Result<()> {
    let svc = ServiceHandle::spawn(ServiceConfig::default())?;
    assert_eq!(
        svc.base_url(),
        format!("http://127.0.0.1:{}", svc.addr().port())
    );
    // A second server on the same port cannot start: spawn_on reports it.
    assert!(ServiceHandle::spawn_on(svc.addr(), ServiceConfig::default()).is_err());
    Ok(())
}

#[test]
fn oversized_bodies_are_413_and_the_log_is_capped() -> Result<()> {
    let env = Env::with_config(ServiceConfig {
        max_request_body_bytes: 1024,
        max_recorded_requests: 3,
        ..ServiceConfig::default()
    })?;
    let big = json!({"rows": [{"Name": "x".repeat(4096)}]});
    let r = env.post_json("/datasets", &big)?;
    assert_eq!(r.status().as_u16(), 413);
    let log = env.svc.requests();
    let last = log.last().context("logged")?;
    assert_eq!((last.status, last.body.len()), (413, 0));

    for i in 0..5 {
        env.get(&format!("/reports?i={i}"))?;
    }
    let queries: Vec<Option<String>> = env.svc.requests().into_iter().map(|r| r.query).collect();
    assert_eq!(
        queries,
        ["i=2", "i=3", "i=4"].map(|q| Some(q.to_owned())).to_vec()
    );
    Ok(())
}
