//! Arbitrary JSON inputs to every action: whatever an engine hands over, the component answers
//! with an output or a typed error, and never traps.

mod common;

use anyhow::Result;
use common::Harness;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

/// Any JSON value, a few levels deep, with strings that like to look like our inputs.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        "[ -~]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("[{\"a\":1}]"),
            Just("cfafbeb1-8037-4d0c-896e-a46fb27ff229"),
            Just("/datasets"),
            Just("GET"),
            Just("{\"rows\":[]}"),
            Just("../.."),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z-]{1,8}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A value of the input's declared type with arbitrary content, so the host's shape checks
/// pass and the component itself has to cope.
fn typed_value(input: &pbi_host::InputDefinition) -> BoxedStrategy<Value> {
    use pbi_host::InputType::*;
    match input.type_ {
        Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
        Integer => {
            // At most 100 above the minimum: a Retry Delay or Timeout of hours is valid, but
            // would make a case wait that long (up to the host's call budget) and say nothing
            // about traps.
            let low = input.minimum.unwrap_or(-1_000_000);
            let high = input
                .maximum
                .unwrap_or(1_000_000)
                .min(low.saturating_add(100));
            (low..=high).prop_map(Value::from).boxed()
        }
        Picklist => prop::sample::select(
            input
                .choices
                .iter()
                .map(|c| c.value.clone())
                .collect::<Vec<_>>(),
        )
        .prop_map(Value::String)
        .boxed(),
        KeyValueList | FileList => prop::collection::vec(("[ -~]{1,8}", "[ -~]{0,12}"), 0..3)
            .prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
            })
            .boxed(),
        String | Password | Code => prop_oneof![
            json_value().prop_map(|v| Value::String(v.to_string())),
            "\\PC{1,40}".prop_map(Value::String),
            // What a picker fills in: an ID, so the ID inputs get past their checks too.
            Just(Value::String("cfafbeb1-8037-4d0c-896e-a46fb27ff229".into())),
        ]
        .boxed(),
    }
}

#[test]
fn typed_but_arbitrary_inputs_reach_the_component_and_never_trap() -> Result<()> {
    let h = Harness::new()?;
    let mut reached = 0usize;
    let mut total = 0usize;
    for action in h.connector.definition().actions.clone() {
        // An optional input is left out in half of the cases, as a form leaves most of them
        // empty (an arbitrary Workspace, say, would refuse nearly every case by itself).
        let fields: Vec<BoxedStrategy<Option<(std::string::String, Value)>>> = action
            .inputs
            .iter()
            .map(|i| {
                let key = i.key.clone();
                let given = typed_value(i).prop_map(move |v| Some((key.clone(), v)));
                if i.required {
                    given.boxed()
                } else {
                    prop_oneof![Just(None), given].boxed()
                }
            })
            .collect();
        let mut runner = TestRunner::new(Config {
            cases: 40,
            failure_persistence: None,
            ..Config::default()
        });
        let counts = std::cell::Cell::new((0usize, 0usize));
        runner
            .run(&fields, |kv| {
                let inputs = Value::Object(kv.into_iter().flatten().collect());
                let invocation = h
                    .connector
                    .invoke(&action.key, &h.connection(), &inputs)
                    .map_err(|e| {
                        TestCaseError::fail(format!("{} with {inputs}: {e}", action.key))
                    })?;
                h.assert_no_secret(&invocation)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                // The host's own checks answer without the guest and without logs of it; an
                // answer with requests, or one that is not invalid-input, came from the guest.
                let from_guest = !invocation.requests.is_empty()
                    || invocation
                        .result
                        .as_ref()
                        .map(|_| true)
                        .unwrap_or_else(|e| e.kind != pbi_host::ErrorKind::InvalidInput);
                let (r, t) = counts.get();
                counts.set((r + usize::from(from_guest), t + 1));
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let (r, t) = counts.get();
        reached += r;
        total += t;
    }
    anyhow::ensure!(
        reached * 5 >= total,
        "only {reached} of {total} cases reached the component"
    );
    Ok(())
}

#[test]
fn arbitrary_inputs_never_trap() -> Result<()> {
    let h = Harness::new()?;
    for action in h.connector.definition().actions.clone() {
        let keys: Vec<String> = action.inputs.iter().map(|i| i.key.clone()).collect();
        // Objects keyed mostly by the action's own input keys, so most cases get past the
        // host's shape checks and reach the component.
        let inputs = prop::collection::vec((prop::sample::select(keys), json_value()), 0..6)
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()));
        let mut runner = TestRunner::new(Config {
            cases: 48,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&inputs, |inputs| {
                match h.connector.invoke(&action.key, &h.connection(), &inputs) {
                    Ok(invocation) => {
                        h.assert_no_secret(&invocation)
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                        Ok(())
                    }
                    Err(e) => Err(TestCaseError::fail(format!(
                        "{} with {inputs}: {e}",
                        action.key
                    ))),
                }
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}
