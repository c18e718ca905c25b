//! Secrets appear nowhere: every action and every failure path runs, and everything captured
//! (outputs, errors, logs, the host's request log, the service's request log, host errors) is
//! scanned for the access token and the client secret — including a service that echoes them
//! back in an error body.

mod common;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use common::{CLIENT_SECRET, Harness, sales_columns, sales_rows};
use pbi_host::{Connector, HostConfig};
use pbi_service::Fault;
use serde_json::{Value, json};

/// Everything one invocation left behind, as text.
fn captured(h: &Harness, connection: &Value, action: &str, inputs: Value) -> String {
    match h.connector.invoke(action, connection, &inputs) {
        Ok(invocation) => {
            let mut text = format!("{invocation:?}");
            if let Err(e) = &invocation.result {
                text.push_str(&e.to_string());
            }
            if let Ok(out) = &invocation.result {
                text.push_str(&out.data.to_string());
            }
            text
        }
        Err(e) => format!("{e} {e:?}"),
    }
}

#[test]
fn no_secret_in_anything_captured() -> Result<()> {
    let h = Harness::new()?;
    let token = h.token.clone();
    let connection = h.connection();
    let id = h.create_dataset("T", sales_columns())?;
    let mut texts = Vec::new();
    let mut run =
        |action: &str, inputs: Value| texts.push(captured(&h, &connection, action, inputs));

    // Every action's fixture, then Raw Request again with its debug log on.
    for action in pbi_component::EXPORTED_ACTIONS {
        // A dataset for each: one of them deletes its dataset.
        let fresh = h.create_dataset("Sales", sales_columns())?;
        run(action, h.sample(action, &fresh)?);
    }
    run(
        "raw-request",
        json!({"url": "/datasets", "method": "GET", "debug-request": true}),
    );
    // Bad input, not found, and an echo of both secrets in error bodies.
    run(
        "create-rows",
        json!({"dataset-id": id, "table-name": "T", "rows": "nope"}),
    );
    run(
        "list-tables",
        json!({"dataset-id": "cfafbeb1-8037-4d0c-896e-a46fb27ff229"}),
    );
    let echo = format!("Bearer {token} rejected; client_secret={CLIENT_SECRET}");
    h.service.inject(
        Fault::status(500, echo.clone())
            .with_content_type("text/plain")
            .on_path("/reports")
            .times(10),
    );
    run("list-reports", json!({}));
    h.service.inject(
        Fault::status(
            400,
            json!({"error": {"code": "BadRequest", "message": echo}}).to_string(),
        )
        .on_path("/rows")
        .times(1),
    );
    run(
        "create-rows",
        json!({"dataset-id": id, "table-name": "T", "rows": sales_rows(2)}),
    );
    h.service
        .inject(Fault::status(500, echo).on_path("/imports").times(1));
    run(
        "raw-request",
        json!({"url": "/imports", "method": "GET", "debug-request": true}),
    );
    // Throttled for long, slower than the Timeout, and an expired token.
    h.service
        .inject(Fault::throttled(3600).on_path("/groups").times(1));
    run("list-groups", json!({}));
    h.service.inject(
        Fault::delay(Duration::from_secs(2))
            .on_path("/datasets")
            .times(1),
    );
    run(
        "raw-request",
        json!({"url": "/datasets", "method": "GET", "timeout": 200, "debug-request": true}),
    );
    h.service.expire_token(&token);
    run("list-datasets", json!({}));
    // A token the service never issued.
    let mut bogus = connection.clone();
    bogus["access-token"] = json!("bogus-token-0123456789");
    texts.push(captured(&h, &bogus, "list-datasets", json!({})));
    // An unknown connection key and an unknown action: host errors.
    let mut odd = connection.clone();
    odd["colour"] = json!("red");
    texts.push(captured(&h, &odd, "list-datasets", json!({})));
    texts.push(captured(&h, &connection, "no-such-action", json!({})));
    // A host whose egress policy allows nothing: the request is denied, not sent.
    let closed = Connector::load(
        pbi_component::connector_wasm(),
        HostConfig {
            allow_hosts: Some(Vec::new()),
            ..HostConfig::default()
        },
    )
    .context("loading the component")?;
    let denied = closed
        .invoke("list-datasets", &connection, &json!({}))
        .context("denied call")?;
    ensure!(
        denied.result.as_ref().err().map(|e| e.kind) == Some(pbi_host::ErrorKind::Transport),
        "{denied:?}"
    );
    texts.push(format!("{denied:?}"));

    // What the service saw, too.
    for r in h.service.requests() {
        texts.push(format!(
            "{:?} {}",
            r.headers,
            String::from_utf8_lossy(&r.body)
        ));
    }
    let all = texts.join("\n");
    for secret in [token.as_str(), CLIENT_SECRET, "bogus-token-0123456789"] {
        ensure!(
            !all.contains(secret),
            "a secret leaked: {}",
            &all[all.find(secret).unwrap_or(0).saturating_sub(200)..]
        );
    }
    ensure!(
        all.contains("[redacted]"),
        "redaction markers are there, so the scan saw the right text"
    );
    Ok(())
}
