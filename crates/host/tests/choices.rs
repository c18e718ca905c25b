//! Pickers: `Connector::list_choices` against `crates/misbehave`, whose `return-at-once`
//! inputs have deterministic pickers (`numbers`, `too-many`, `echo`, and one it lacks), the
//! manifest's marks on those inputs, and the connector's pickers through the egress policy.

mod support;

use anyhow::{Context, Result, ensure};
use pbi_host::{
    ChoicesPage, Connection, Connector, ErrorKind, HostConfig, HostError, REDACTED, manifest,
};
use serde_json::{Map, Value, json};
use support::Recorder;

/// The misbehave action whose inputs have pickers.
const ACTION: &str = "return-at-once";
const TOKEN: &str = "choices-access-token-0123456789";

fn misbehave() -> Result<Connector> {
    Ok(Connector::load(
        pbi_component::misbehave_wasm(),
        HostConfig::default(),
    )?)
}

fn connection() -> Value {
    Connection::with_access_token(TOKEN).to_json()
}

/// One page of the `numbers` picker (the input `item`).
fn numbers(
    connector: &Connector,
    search: Option<&str>,
    skip: u32,
    top: u32,
) -> Result<ChoicesPage> {
    Ok(connector.list_choices(
        ACTION,
        "item",
        &connection(),
        &Value::Null,
        search,
        skip,
        top,
    )??)
}

fn labels(page: &ChoicesPage) -> Vec<&str> {
    page.choices.iter().map(|c| c.label.as_str()).collect()
}

fn items(numbers: impl IntoIterator<Item = u32>) -> Vec<String> {
    numbers.into_iter().map(|n| format!("Item {n}")).collect()
}

#[test]
fn pages_follow_skip_and_top_and_say_whether_more_follow() -> Result<()> {
    let connector = misbehave()?;
    ensure!(connector.has_choices());

    let first = numbers(&connector, None, 0, 10)?;
    assert_eq!(labels(&first), items(1..=10));
    assert_eq!(first.choices[0].value, "1");
    assert!(first.more);

    let second = numbers(&connector, None, 10, 10)?;
    assert_eq!(labels(&second), items(11..=20));
    assert!(second.more);

    let last = numbers(&connector, None, 20, 10)?;
    assert_eq!(labels(&last), items(21..=25));
    assert!(!last.more, "25 is the last");

    let exact = numbers(&connector, None, 0, 25)?;
    assert_eq!(exact.choices.len(), 25);
    assert!(!exact.more);

    let past = numbers(&connector, None, 25, 10)?;
    assert!(past.choices.is_empty() && !past.more);
    Ok(())
}

#[test]
fn the_search_narrows_the_choices_before_the_page() -> Result<()> {
    let connector = misbehave()?;
    let found = numbers(&connector, Some("iTeM 2"), 0, 25)?;
    assert_eq!(labels(&found), items([2, 20, 21, 22, 23, 24, 25]));
    assert!(!found.more);

    let paged = numbers(&connector, Some("item 1"), 5, 3)?;
    // Item 1, 10, …, 19 match; the page skips five of them.
    assert_eq!(labels(&paged), items([14, 15, 16]));
    assert!(paged.more);

    assert!(
        numbers(&connector, Some("nothing"), 0, 10)?
            .choices
            .is_empty()
    );
    Ok(())
}

#[test]
fn the_host_cuts_a_page_that_holds_more_than_top() -> Result<()> {
    let connector = misbehave()?;
    // `too-many` answers 50 choices whatever it is asked for.
    let many =
        |top| connector.list_choices(ACTION, "many", &Value::Null, &Value::Null, None, 0, top);
    let cut = many(7)??;
    assert_eq!(cut.choices.len(), 7);
    assert_eq!(cut.choices[6].label, "Many 7");
    assert!(cut.more, "the dropped choices follow");

    let whole = many(100)??;
    assert_eq!(whole.choices.len(), 50);
    assert!(!whole.more);

    let one = many(1)??;
    assert_eq!(labels(&one), ["Many 1"]);
    Ok(())
}

#[test]
fn the_inputs_reach_the_picker_as_text() -> Result<()> {
    let connector = misbehave()?;
    // `echo` lists the inputs it was given: key as label, text as value.
    let inputs =
        json!({"note": "a note", "item": 7, "many": null, "echo": true, "lost": {"a": [1]}});
    let page = connector.list_choices(ACTION, "echo", &connection(), &inputs, None, 0, 10)??;
    let mut given: Vec<(&str, &str)> = page
        .choices
        .iter()
        .map(|c| (c.label.as_str(), c.value.as_str()))
        .collect();
    given.sort();
    assert_eq!(
        given,
        [
            ("echo", "true"),
            ("item", "7"),
            ("lost", r#"{"a":[1]}"#),
            ("note", "a note"),
        ]
    );

    let none =
        connector.list_choices(ACTION, "echo", &connection(), &Value::Null, None, 0, 10)??;
    assert!(none.choices.is_empty());
    Ok(())
}

#[test]
fn bad_requests_are_invalid_input_errors_and_the_component_is_not_called() -> Result<()> {
    let connector = misbehave()?;
    let ask = |inputs: Value, top| {
        connector.list_choices(ACTION, "echo", &connection(), &inputs, None, 0, top)
    };
    let unknown = ask(json!({"itme": "1"}), 10)?.unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::InvalidInput);
    assert_eq!(unknown.input.as_deref(), Some("itme"));
    ensure!(unknown.message.contains("item"), "{}", unknown.message);

    let not_an_object = ask(json!(["note"]), 10)?.unwrap_err();
    assert_eq!(not_an_object.kind, ErrorKind::InvalidInput);

    let zero = ask(Value::Null, 0)?.unwrap_err();
    assert_eq!(zero.input.as_deref(), Some("top"));
    Ok(())
}

#[test]
fn an_unknown_picker_is_the_components_error_scrubbed_of_the_token() -> Result<()> {
    let connector = misbehave()?;
    // `lost` names a picker misbehave does not have; its error echoes the access token.
    let error = connector
        .list_choices(ACTION, "lost", &connection(), &Value::Null, None, 0, 10)?
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert_eq!(error.input.as_deref(), Some("picker"));
    ensure!(
        error.message.contains("no-such-picker"),
        "{}",
        error.message
    );
    ensure!(!error.message.contains(TOKEN), "{}", error.message);
    ensure!(error.message.contains(REDACTED), "{}", error.message);
    Ok(())
}

#[test]
fn inputs_without_a_picker_and_unknown_names_are_host_errors() -> Result<()> {
    let connector = misbehave()?;
    let ask = |action: &str, input: &str| {
        connector
            .list_choices(action, input, &Value::Null, &Value::Null, None, 0, 10)
            .err()
            .with_context(|| format!("{action}/{input} listed choices"))
    };
    match ask(ACTION, "note")? {
        HostError::NoPicker { action, input } => {
            assert_eq!((action.as_str(), input.as_str()), (ACTION, "note"));
        }
        other => anyhow::bail!("{other:?}"),
    }
    let no_picker = ask(ACTION, "note")?.to_string();
    ensure!(no_picker.contains("no picker"), "{no_picker}");
    ensure!(
        matches!(ask(ACTION, "nope")?, HostError::UnknownInput { .. }),
        "an unknown input"
    );
    ensure!(
        matches!(ask("no-such-action", "item")?, HostError::UnknownAction(_)),
        "an unknown action"
    );
    // The other actions' inputs have no pickers.
    ensure!(
        matches!(ask("fetch", "url")?, HostError::NoPicker { .. }),
        "fetch's url"
    );
    Ok(())
}

#[test]
fn an_input_with_a_picker_still_takes_any_text() -> Result<()> {
    let connector = misbehave()?;
    let invocation = connector.invoke(
        ACTION,
        &Value::Null,
        &json!({"item": "not one of the choices", "echo": "x"}),
    )?;
    assert_eq!(invocation.result?.data, json!({"ok": true}));
    Ok(())
}

#[test]
fn the_manifest_schema_and_docs_mark_the_inputs_with_pickers() -> Result<()> {
    let connector = misbehave()?;
    let definition = connector.definition();
    let document = manifest::manifest(definition, &Map::new());
    let action = &document["actions"][ACTION];
    let input = |key: &str| {
        action["inputs"]
            .as_array()
            .and_then(|inputs| inputs.iter().find(|i| i["key"] == key))
            .cloned()
            .with_context(|| format!("no input {key}"))
    };
    assert_eq!(
        input("item")?["dataSource"],
        json!({"picker": "numbers", "dependsOn": []})
    );
    assert_eq!(
        input("echo")?["dataSource"],
        json!({"picker": "echo", "dependsOn": ["note", "item"]})
    );
    ensure!(input("note")?.get("dataSource").is_none());

    let properties = &action["inputSchema"]["properties"];
    assert_eq!(properties["item"]["type"], "string", "a plain string still");
    assert_eq!(
        properties["echo"][manifest::PICKER_ANNOTATION],
        json!({"key": "echo", "dependsOn": ["note", "item"]})
    );
    ensure!(
        properties["note"]
            .get(manifest::PICKER_ANNOTATION)
            .is_none()
    );
    // The schema of one action alone carries it too.
    let schema = manifest::action_schema(definition.action(ACTION).context("action")?);
    assert_eq!(schema["properties"], *properties);

    let docs = manifest::reference_docs(definition, &Map::new(), "nowhere");
    let (_, actions) = docs
        .iter()
        .find(|(name, _)| name == "actions.md")
        .context("actions.md")?;
    ensure!(
        actions.contains("| echo | Choices: picker `echo` (needs note and item). |"),
        "{actions}"
    );
    ensure!(
        actions.contains("| item | Choices: picker `numbers`. |"),
        "{actions}"
    );
    Ok(())
}

#[test]
fn the_connectors_pickers_go_through_the_egress_policy() -> Result<()> {
    let recorder = Recorder::start()?;
    let mut connector = Connector::load(pbi_component::connector_wasm(), HostConfig::default())?;
    // A workspace input's picker, found from the definition rather than named here.
    let (action, input) = connector
        .definition()
        .actions
        .iter()
        .flat_map(|a| a.inputs.iter().map(move |i| (a, i)))
        .find(|(_, i)| i.picker.as_ref().is_some_and(|p| p.depends_on.is_empty()))
        .map(|(a, i)| (a.key.clone(), i.key.clone()))
        .context("no input with a picker that needs nothing")?;
    let ask = |connector: &Connector| {
        connector.list_choices(&action, &input, &connection(), &Value::Null, None, 0, 5)
    };

    // Nothing allowed: the request is refused by the host.
    connector.set_config(HostConfig {
        allow_hosts: Some(Vec::new()),
        ..HostConfig::default()
    });
    let refused = ask(&connector)?.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Transport, "{refused}");
    ensure!(recorder.received().is_empty());

    // Redirected to the recorder, which answers an empty list.
    let mut config = HostConfig {
        allow_hosts: Some(Vec::new()),
        ..HostConfig::default()
    };
    for host in connector.default_allow_hosts(&connection()) {
        config = config.redirect(host, recorder.url());
    }
    connector.set_config(config);
    let page = ask(&connector)??;
    assert_eq!(
        page,
        ChoicesPage {
            choices: Vec::new(),
            more: false
        }
    );
    let received = recorder.received();
    ensure!(received.len() == 1, "{received:?}");
    assert_eq!(received[0].method, "GET");
    let authorization = received[0]
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.as_str());
    assert_eq!(authorization, Some(format!("Bearer {TOKEN}").as_str()));
    Ok(())
}
