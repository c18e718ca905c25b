//! Host-level tests against the bundled component. They rely only on the contract (the WIT
//! world and the component's own definition), never on what the API behind it answers: the
//! API's host is redirected to a tiny loopback server that answers `200 {"value": []}`.

mod support;

use anyhow::{Context, Result, anyhow, ensure};
use pbi_host::{Connection, Connector, HostConfig, HostError, REDACTED};
use serde_json::{Value, json};
use support::Recorder;
use wasmtime::component::Val;

const TOKEN: &str = "test-access-token-0123456789";
const SECRET: &str = "test-client-secret-abcdefgh";

fn connection() -> Value {
    Connection::with_access_token(TOKEN)
        .with("client-id", "test-app")
        .with("client-secret", SECRET)
        .to_json()
}

/// The bundled component, with every default host sent to `recorder` and nothing else
/// allowed.
fn redirected(recorder: &Recorder) -> Result<Connector> {
    let mut connector = Connector::load(pbi_component::connector_wasm(), HostConfig::default())?;
    let mut config = HostConfig {
        allow_hosts: Some(Vec::new()),
        ..HostConfig::default()
    };
    for host in connector.default_allow_hosts(&connection()) {
        config = config.redirect(host, recorder.url());
    }
    connector.set_config(config);
    Ok(connector)
}

/// An action of the bundled component that takes no required input (a listing).
fn action_without_required_inputs(connector: &Connector) -> Result<String> {
    connector
        .definition()
        .actions
        .iter()
        .find(|action| action.inputs.iter().all(|i| !i.required) && action.key.starts_with("list-"))
        .map(|action| action.key.clone())
        .ok_or_else(|| anyhow!("no action without required inputs"))
}

fn field<'a>(record: &'a Val, name: &str) -> Result<&'a Val> {
    let Val::Record(fields) = record else {
        return Err(anyhow!("not a record: {record:?}"));
    };
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| anyhow!("no field `{name}`"))
}

fn some(val: Val) -> Val {
    Val::Option(Some(Box::new(val)))
}

fn text(s: &str) -> Val {
    Val::String(s.to_string())
}

fn pair(key: &str, value: Val) -> Val {
    Val::Tuple(vec![text(key), value])
}

fn bytes(b: &[u8]) -> Val {
    Val::List(b.iter().copied().map(Val::U8).collect())
}

/// Asserts that nothing the host hands back shows the connection's secrets.
fn assert_no_secrets(what: &str) {
    assert!(!what.contains(TOKEN), "the access token leaked: {what}");
    assert!(!what.contains(SECRET), "the client secret leaked: {what}");
}

#[test]
fn describe_returns_exported_actions() -> Result<()> {
    let connector = Connector::load(pbi_component::connector_wasm(), HostConfig::default())?;
    let definition = connector.definition();
    ensure!(!definition.actions.is_empty(), "no actions");
    let exported: Vec<&str> = connector.exported_actions().collect();
    for action in &definition.actions {
        ensure!(
            exported.contains(&action.key.as_str()),
            "`{}` is defined but not exported",
            action.key
        );
        ensure!(!action.label.is_empty(), "`{}` has no label", action.key);
    }
    let base = url::Url::parse(&definition.info.api_base_url)?;
    ensure!(base.host_str().is_some(), "api-base-url has no host");
    // The raw JSON keeps the WIT field names.
    ensure!(connector.definition_json()["info"]["api-base-url"].is_string());
    Ok(())
}

#[test]
fn json_converts_to_every_input_shape() -> Result<()> {
    let connector = Connector::load(pbi_component::connector_wasm(), HostConfig::default())?;
    let raw = connector
        .action("raw-request")
        .context("the contract's raw-request action")?;
    let get = raw
        .input("method")
        .and_then(|m| {
            m.choices
                .iter()
                .find(|c| c.value.eq_ignore_ascii_case("get"))
        })
        .map(|c| c.value.clone())
        .context("a GET choice")?;
    let inputs = json!({
        "method": "get",
        "url": "/datasets",
        "data": {"x": [1, 2]},
        "headers": {"X-One": "1", "X-Two": "2"},
        "query-params": [["a", "1"], ["b", "2"]],
        "form-data": [{"key": "k", "value": "v"}],
        "file-data": {"f1": "hi", "f2": [1, 2, 3]},
        "file-data-file-names": [{"key": "f1", "value": "a.txt"}],
        "timeout": "5000",
        "debug-request": "true",
        "max-retries": 2,
    });
    let val = connector
        .input_value("raw-request", &inputs)?
        .map_err(|e| anyhow!("{e}"))?;

    assert_eq!(field(&val, "method")?, &text(&get));
    assert_eq!(field(&val, "url")?, &some(text("/datasets")));
    // A real JSON value for a text input arrives as its JSON text.
    assert_eq!(field(&val, "data")?, &some(text(r#"{"x":[1,2]}"#)));
    assert_eq!(
        field(&val, "headers")?,
        &Val::List(vec![pair("X-One", text("1")), pair("X-Two", text("2"))])
    );
    assert_eq!(
        field(&val, "query-params")?,
        &Val::List(vec![pair("a", text("1")), pair("b", text("2"))])
    );
    assert_eq!(
        field(&val, "form-data")?,
        &Val::List(vec![pair("k", text("v"))])
    );
    assert_eq!(
        field(&val, "file-data")?,
        &Val::List(vec![
            pair("f1", bytes(b"hi")),
            pair("f2", bytes(&[1, 2, 3]))
        ])
    );
    assert_eq!(
        field(&val, "file-data-file-names")?,
        &Val::List(vec![pair("f1", text("a.txt"))])
    );
    assert_eq!(field(&val, "timeout")?, &some(Val::S64(5000)));
    assert_eq!(field(&val, "debug-request")?, &some(Val::Bool(true)));
    assert_eq!(field(&val, "max-retries")?, &some(Val::S64(2)));
    // Absent optional inputs are none, absent lists empty.
    assert_eq!(field(&val, "retry-delay-ms")?, &Val::Option(None));
    assert_eq!(field(&val, "response-type")?, &Val::Option(None));

    // Numeric strings for integers; "" for an optional one is none.
    let listing = action_without_required_inputs(&connector)?;
    let val = connector
        .input_value(&listing, &json!({"top": "10", "page-offset": ""}))?
        .map_err(|e| anyhow!("{e}"))?;
    assert_eq!(field(&val, "top")?, &some(Val::S64(10)));
    assert_eq!(field(&val, "page-offset")?, &Val::Option(None));
    Ok(())
}

#[test]
fn a_value_of_the_wrong_shape_is_invalid_input_naming_the_key() -> Result<()> {
    let connector = Connector::load(pbi_component::connector_wasm(), HostConfig::default())?;
    let error = connector
        .input_value("raw-request", &json!({"method": "GET", "headers": 5}))?
        .err()
        .context("a number is no key/value list")?;
    assert!(error.is_invalid_input());
    assert_eq!(error.input.as_deref(), Some("headers"));
    let error = connector
        .input_value(
            "raw-request",
            &json!({"method": "GET", "file-data": [["f", [1, 300]]]}),
        )?
        .err()
        .context("300 is no byte")?;
    assert_eq!(error.input.as_deref(), Some("file-data"));
    assert!(error.message.contains("file-data[0]"), "{}", error.message);
    Ok(())
}

#[test]
fn definition_checks_fail_before_any_request() -> Result<()> {
    let recorder = Recorder::start()?;
    let connector = redirected(&recorder)?;
    let listing = action_without_required_inputs(&connector)?;
    let with_required = connector
        .definition()
        .actions
        .iter()
        .find_map(|action| {
            action
                .inputs
                .iter()
                .find(|i| i.required && i.default.is_none())
                .map(|i| (action.key.clone(), i.key.clone()))
        })
        .context("an action with a required input")?;
    let bounded = connector
        .action(&listing)
        .and_then(|a| a.inputs.iter().find(|i| i.maximum.is_some()))
        .context("a bounded integer input")?;
    let (key, maximum) = (bounded.key.clone(), bounded.maximum.unwrap_or_default());

    let cases: Vec<(&str, Value, &str)> = vec![
        (&listing, json!({"no-such-input": 1}), "no-such-input"),
        (&with_required.0, json!({}), &with_required.1),
        (
            &with_required.0,
            json!({with_required.1.clone(): "  "}),
            &with_required.1,
        ),
        (&listing, json!({key.clone(): "ten"}), &key),
        (&listing, json!({key.clone(): 2.5}), &key),
        (&listing, json!({key.clone(): maximum + 1}), &key),
        ("raw-request", json!({"method": "FETCH"}), "method"),
        (
            "raw-request",
            json!({"method": "GET", "debug-request": "maybe"}),
            "debug-request",
        ),
    ];
    for (action, inputs, expected_key) in cases {
        let invocation = connector.invoke(action, &connection(), &inputs)?;
        let error = invocation
            .result
            .err()
            .with_context(|| format!("{action} {inputs} should fail"))?;
        assert!(error.is_invalid_input(), "{action} {inputs}: {error}");
        assert_eq!(
            error.input.as_deref(),
            Some(expected_key),
            "{action} {inputs}"
        );
        assert!(
            invocation.requests.is_empty(),
            "{action}: requests were sent"
        );
    }
    assert_eq!(recorder.received().len(), 0, "the server saw requests");
    Ok(())
}

#[test]
fn an_unknown_action_is_a_host_error() -> Result<()> {
    let connector = Connector::load(pbi_component::connector_wasm(), HostConfig::default())?;
    match connector.invoke("no-such-action", &connection(), &json!({})) {
        Err(HostError::UnknownAction(key)) => assert_eq!(key, "no-such-action"),
        other => return Err(anyhow!("expected UnknownAction, got {other:?}")),
    }
    Ok(())
}

#[test]
fn a_bad_connection_is_a_host_error_without_secrets() -> Result<()> {
    let connector = Connector::load(pbi_component::connector_wasm(), HostConfig::default())?;
    let listing = action_without_required_inputs(&connector)?;
    let mut bad = connection();
    bad["refresh-token"] = json!(TOKEN);
    let error = connector
        .invoke(&listing, &bad, &json!({}))
        .err()
        .context("an unknown connection field is an error")?;
    assert!(matches!(error, HostError::Connection(_)), "{error:?}");
    assert!(error.to_string().contains("refresh-token"), "{error}");
    assert_no_secrets(&format!("{error} {error:?}"));
    Ok(())
}

#[test]
fn a_denied_host_is_a_transport_error() -> Result<()> {
    let mut connector = Connector::load(pbi_component::connector_wasm(), HostConfig::default())?;
    connector.set_config(HostConfig {
        allow_hosts: Some(Vec::new()),
        ..HostConfig::default()
    });
    let listing = action_without_required_inputs(&connector)?;
    let invocation = connector.invoke(&listing, &connection(), &json!({}))?;
    let error = invocation
        .result
        .as_ref()
        .err()
        .context("the request must fail")?;
    assert_eq!(error.kind, pbi_host::ErrorKind::Transport, "{error}");
    ensure!(
        !invocation.requests.is_empty(),
        "the attempt was not logged"
    );
    for request in &invocation.requests {
        assert!(request.denied, "{request:?}");
        assert_eq!(request.redirected_to, None);
        for (name, value) in &request.headers {
            if name == "authorization" {
                assert_eq!(value, REDACTED);
            }
        }
    }
    assert_no_secrets(&format!("{invocation:?}"));
    Ok(())
}

#[test]
fn redirected_requests_arrive_and_invocations_repeat() -> Result<()> {
    let recorder = Recorder::start()?;
    let connector = redirected(&recorder)?;
    let listing = action_without_required_inputs(&connector)?;
    let api_path = url::Url::parse(&connector.definition().info.api_base_url)?
        .path()
        .to_string();

    let first = connector.invoke(&listing, &connection(), &json!({}))?;
    let second = connector.invoke(&listing, &connection(), &json!({"top": 5}))?;
    // By value: checked and normalized the same way ("5" is the whole number 5).
    let third = connector.invoke_owned(&listing, &connection(), json!({"top": "5"}))?;
    ensure!(
        third.requests.len() == second.requests.len()
            && third
                .requests
                .iter()
                .zip(&second.requests)
                .all(|(a, b)| a.url == b.url),
        "invoke_owned sent {:?}, invoke {:?}",
        third.requests,
        second.requests
    );
    let refused = connector.invoke_owned(&listing, &connection(), json!({"top": "five"}))?;
    let error = refused.result.expect_err("`five` is not a whole number");
    assert_eq!(
        (error.kind.as_str(), error.input.as_deref()),
        ("invalid-input", Some("top")),
        "{error}"
    );
    assert!(refused.requests.is_empty(), "{:?}", refused.requests);
    for invocation in [&first, &second, &third] {
        let output = invocation
            .result
            .as_ref()
            .map_err(|e| anyhow!("{e}; logs: {}", invocation.logs))?;
        assert_eq!(output.data["value"], json!([]), "{output:?}");
        ensure!(!invocation.requests.is_empty(), "no request logged");
        let request = &invocation.requests[0];
        assert!(!request.denied);
        let to = request.redirected_to.as_deref().unwrap_or_default();
        assert!(to.starts_with(recorder.url().as_str()), "{to}");
        assert!(
            request
                .headers
                .iter()
                .any(|(name, value)| name == "authorization" && value == REDACTED),
            "{request:?}"
        );
        assert_no_secrets(&format!("{invocation:?}"));
    }

    let received = recorder.received();
    assert_eq!(
        received.len(),
        first.requests.len() + second.requests.len() + third.requests.len()
    );
    let host = format!("127.0.0.1:{}", recorder.url().port().unwrap_or_default());
    for request in &received {
        assert!(request.target.starts_with(&api_path), "{}", request.target);
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        // The Host header names the server reached; the token does reach the server.
        assert_eq!(header("host"), Some(host.clone()));
        assert_eq!(header("authorization"), Some(format!("Bearer {TOKEN}")));
    }
    Ok(())
}

#[test]
fn a_trap_is_a_host_error_and_the_next_call_works() -> Result<()> {
    let recorder = Recorder::start()?;
    let mut connector = redirected(&recorder)?;
    let mut config = connector.config().clone();
    config.memory_limit_bytes = 16 * 1024 * 1024;
    connector.set_config(config);

    // A JSON-text input larger than the guest may allocate: lowering it must fail.
    let action = connector
        .definition()
        .actions
        .iter()
        .find(|a| {
            a.inputs
                .iter()
                .any(|i| i.type_ == pbi_host::InputType::Code && i.required)
        })
        .context("an action with a required code input")?
        .clone();
    let mut inputs = serde_json::Map::new();
    for input in &action.inputs {
        let value = if input.type_ == pbi_host::InputType::Code {
            json!("x".repeat(32 * 1024 * 1024))
        } else {
            json!("value")
        };
        inputs.insert(input.key.clone(), value);
    }
    match connector.invoke(&action.key, &connection(), &Value::Object(inputs)) {
        Err(error @ HostError::Call { .. }) => {
            assert!(error.to_string().contains(&action.key), "{error}");
            assert_no_secrets(&format!("{error} {error:?}"));
        }
        other => {
            let shown = match other {
                Ok(invocation) => format!("{:?}", invocation.result),
                Err(error) => error.to_string(),
            };
            return Err(anyhow!("expected a failed call, got {shown}"));
        }
    }

    let listing = action_without_required_inputs(&connector)?;
    let next = connector.invoke(&listing, &connection(), &json!({}))?;
    ensure!(next.result.is_ok(), "{:?}", next.result);
    Ok(())
}

#[test]
fn async_invocations_run_inside_an_engines_runtime() -> Result<()> {
    let recorder = Recorder::start()?;
    let connector = redirected(&recorder)?;
    let listing = action_without_required_inputs(&connector)?;
    let connection = connection();
    // A single-threaded engine runtime: the blocking `invoke` would panic in it.
    let engine = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (first, second, refused) = engine.block_on(async {
        // Engines spawn steps onto multi-threaded runtimes too: the future must be `Send`.
        fn send<F: std::future::Future + Send>(future: F) -> F {
            future
        }
        tokio::join!(
            send(connector.invoke_async(&listing, &connection, json!({}))),
            send(connector.invoke_async(&listing, &connection, json!({"top": "5"}))),
            send(connector.invoke_async(&listing, &connection, json!({"top": "five"}))),
        )
    });
    for invocation in [first?, second?] {
        let output = invocation
            .result
            .as_ref()
            .map_err(|e| anyhow!("{e}; logs: {}", invocation.logs))?;
        assert_eq!(output.data["value"], json!([]), "{output:?}");
        ensure!(invocation.requests.len() == 1, "{:?}", invocation.requests);
        assert_no_secrets(&format!("{invocation:?}"));
    }
    let refused = refused?;
    let error = refused.result.expect_err("`five` is not a whole number");
    assert_eq!(error.input.as_deref(), Some("top"), "{error}");
    assert!(refused.requests.is_empty());
    // Both calls reached the server, with the token.
    let received = recorder.received();
    assert_eq!(received.len(), 2, "{received:?}");
    for request in &received {
        ensure!(
            request
                .headers
                .iter()
                .any(|(name, value)| name == "authorization" && value == &format!("Bearer {TOKEN}")),
            "{request:?}"
        );
    }
    Ok(())
}
