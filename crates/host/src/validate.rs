//! Checks an action's inputs against the action's definition before the component runs.

use crate::definition::{ActionDefinition, InputDefinition, InputType};
use crate::invoke::ActionError;
use crate::value::{to_bool, to_whole};
use serde_json::{Map, Value};

/// The checks of [`check_owned_inputs`] on a copy of `inputs`, compiling the schema (tests).
#[cfg(test)]
pub(crate) fn check_inputs(
    action: &ActionDefinition,
    inputs: &Value,
) -> Result<Map<String, Value>, Box<ActionError>> {
    check_owned_inputs(action, inputs.clone(), None)
}

/// The compiled JSON Schema of an action's inputs (see [`crate::manifest::action_schema`]).
/// Compiling takes tens of microseconds: a [`crate::Connector`] does it once per action.
pub(crate) fn schema_validator(action: &ActionDefinition) -> Result<jsonschema::Validator, String> {
    jsonschema::validator_for(&crate::manifest::action_schema(action)).map_err(|e| {
        format!(
            "the schema of `{}` is not valid: {}",
            action.key,
            e.masked()
        )
    })
}

/// Checks `inputs` (a JSON object keyed by input key; `null` means none) against `action`
/// and returns them normalized: integers as JSON numbers, booleans as JSON booleans and
/// picklist values spelled as the choice spells them. `validator` is the action's compiled
/// schema (`None`: compile it now). The inputs are taken by value: checked and normalized
/// in place, never copied.
///
/// Fails with an `invalid-input` [`ActionError`] naming the input at fault: an unknown key, a
/// required input that is missing or empty (and has no default), an integer that is not
/// whole or is out of the input's bounds, a boolean that is not true or false, or a picklist
/// value that is not one of the choices. Messages never repeat the value given.
pub(crate) fn check_owned_inputs(
    action: &ActionDefinition,
    inputs: Value,
    validator: Option<&jsonschema::Validator>,
) -> Result<Map<String, Value>, Box<ActionError>> {
    let mut inputs = match inputs {
        Value::Null => Map::new(),
        Value::Object(object) => object,
        _ => {
            return Err(invalid(
                None,
                format!(
                    "the inputs of `{}` must be a JSON object keyed by input key",
                    action.key
                ),
            ));
        }
    };

    if let Some(unknown) = inputs.keys().find(|key| action.input(key).is_none()) {
        let known: Vec<&str> = action.inputs.iter().map(|i| i.key.as_str()).collect();
        return Err(invalid(
            Some(unknown),
            format!(
                "`{unknown}` is not an input of `{}` (its inputs are: {})",
                action.key,
                known.join(", ")
            ),
        ));
    }

    for input in &action.inputs {
        let Some(value) = inputs.get(&input.key) else {
            require(input, None)?;
            continue;
        };
        if is_empty(input, value) {
            require(input, Some(value))?;
            continue;
        }
        if let Some(normalized) = check_value(input, value)? {
            inputs.insert(input.key.clone(), normalized);
        }
    }
    check_schema(action, &mut inputs, validator)?;
    Ok(inputs)
}

/// Validates the normalized inputs against the action's JSON Schema
/// (`crate::manifest::action_schema`): the manifest's published form schema widened to the
/// other shapes this host also takes (code as a JSON value, lists as objects or pairs), so
/// whatever a form built from the manifest accepts, this host accepts too. Empty values count
/// as not given.
fn check_schema(
    action: &ActionDefinition,
    inputs: &mut Map<String, Value>,
    validator: Option<&jsonschema::Validator>,
) -> Result<(), Box<ActionError>> {
    let compiled;
    let validator = match validator {
        Some(validator) => validator,
        None => {
            compiled = schema_validator(action).map_err(|message| invalid(None, message))?;
            &compiled
        }
    };
    // The given values move into the instance and back: a large input (a million rows of
    // JSON text) is validated without being copied.
    let given: Vec<String> = inputs
        .iter()
        .filter(|(key, value)| {
            action
                .input(key)
                .is_some_and(|input| !is_empty(input, value))
        })
        .map(|(key, _)| key.clone())
        .collect();
    let mut instance = Map::new();
    for key in given {
        if let Some(value) = inputs.get_mut(&key) {
            let value = std::mem::take(value);
            instance.insert(key, value);
        }
    }
    let instance = Value::Object(instance);
    let outcome = schema_error(validator, &instance);
    if let Value::Object(given) = instance {
        for (key, value) in given {
            inputs.insert(key, value);
        }
    }
    outcome.map_or(Ok(()), Err)
}

/// The first schema violation of `instance` as an input error naming the input at fault.
fn schema_error(validator: &jsonschema::Validator, instance: &Value) -> Option<Box<ActionError>> {
    let error = validator.iter_errors(instance).next()?;
    // The input at fault: the first segment of the instance path, or the missing property.
    let key = match error.kind() {
        jsonschema::error::ValidationErrorKind::Required { property } => {
            property.as_str().map(str::to_string)
        }
        _ => error
            .instance_path()
            .as_str()
            .trim_start_matches('/')
            .split('/')
            .next()
            .filter(|k| !k.is_empty())
            .map(str::to_string),
    };
    // `masked` leaves the value out of the message: it may be a secret.
    let message = match &key {
        Some(key) => format!(
            "`{key}` does not match the action's schema: {}",
            error.masked()
        ),
        None => format!(
            "the inputs do not match the action's schema: {}",
            error.masked()
        ),
    };
    Some(invalid(key.as_deref(), message))
}

// Boxed: the error is large and these checks return it from several places.
fn invalid(input: Option<&str>, message: impl Into<String>) -> Box<ActionError> {
    Box::new(ActionError::invalid_input(input, message))
}

fn is_empty(input: &InputDefinition, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => {
            items.is_empty() && matches!(input.type_, InputType::KeyValueList | InputType::FileList)
        }
        Value::Object(object) => {
            object.is_empty()
                && matches!(input.type_, InputType::KeyValueList | InputType::FileList)
        }
        _ => false,
    }
}

/// An absent or empty value is fine unless the input is required and has no default.
fn require(input: &InputDefinition, given: Option<&Value>) -> Result<(), Box<ActionError>> {
    if input.required && input.default.is_none() {
        let how = if given.is_some() {
            "is empty"
        } else {
            "is missing"
        };
        return Err(invalid(
            Some(&input.key),
            format!("`{}` ({}) is required but {how}", input.key, input.label),
        ));
    }
    Ok(())
}

/// Checks one non-empty value; returns its normalized form when that differs.
fn check_value(input: &InputDefinition, value: &Value) -> Result<Option<Value>, Box<ActionError>> {
    let key = input.key.as_str();
    match input.type_ {
        InputType::Integer => {
            let Some(whole) = to_whole(value) else {
                return Err(invalid(
                    Some(key),
                    format!("`{key}` must be a whole number"),
                ));
            };
            if let Some(minimum) = input.minimum
                && whole < i128::from(minimum)
            {
                return Err(invalid(
                    Some(key),
                    format!("`{key}` must be at least {minimum}"),
                ));
            }
            if let Some(maximum) = input.maximum
                && whole > i128::from(maximum)
            {
                return Err(invalid(
                    Some(key),
                    format!("`{key}` must be at most {maximum}"),
                ));
            }
            match i64::try_from(whole) {
                Ok(n) => Ok(Some(Value::from(n))),
                Err(_) => Err(invalid(Some(key), format!("`{key}` is too large"))),
            }
        }
        InputType::Boolean => to_bool(value)
            .map(|b| Some(Value::Bool(b)))
            .ok_or_else(|| invalid(Some(key), format!("`{key}` must be true or false"))),
        InputType::Picklist if !input.choices.is_empty() => {
            let text = match value {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => String::new(),
            };
            input
                .choices
                .iter()
                .find(|choice| choice.value.eq_ignore_ascii_case(&text))
                .map(|choice| Some(Value::String(choice.value.clone())))
                .ok_or_else(|| {
                    let values: Vec<&str> =
                        input.choices.iter().map(|c| c.value.as_str()).collect();
                    invalid(
                        Some(key),
                        format!("`{key}` must be one of: {}", values.join(", ")),
                    )
                })
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::definition::Choice;
    use serde_json::json;

    /// An input with only its key, label (the key in capitals), type and `required` set.
    pub(crate) fn input(key: &str, input_type: InputType, required: bool) -> InputDefinition {
        InputDefinition {
            key: key.into(),
            label: key.to_uppercase(),
            type_: input_type,
            required,
            default: None,
            comments: None,
            choices: Vec::new(),
            minimum: None,
            maximum: None,
            pattern: None,
            max_length: None,
            example: None,
            picker: None,
        }
    }

    fn action() -> ActionDefinition {
        let mut top = input("top", InputType::Integer, false);
        top.minimum = Some(1);
        top.maximum = Some(1000);
        let mut method = input("method", InputType::Picklist, true);
        method.choices = ["GET", "POST"]
            .map(|v| Choice {
                label: v.into(),
                value: v.into(),
            })
            .to_vec();
        let mut url = input("url", InputType::String, true);
        url.default = Some("/imports".into());
        ActionDefinition {
            key: "act".into(),
            label: "Act".into(),
            description: String::new(),
            inputs: vec![
                input("name", InputType::String, true),
                top,
                method,
                url,
                input("debug", InputType::Boolean, false),
                input("headers", InputType::KeyValueList, false),
            ],
        }
    }

    fn fails_on(inputs: Value) -> Option<String> {
        check_inputs(&action(), &inputs).err().and_then(|e| {
            assert_eq!(e.kind, crate::ErrorKind::InvalidInput);
            e.input
        })
    }

    #[test]
    fn the_published_schema_is_applied() {
        // A code input given as a number passes the definition's own checks but not the
        // schema (a code input is JSON text, an array or an object).
        let mut a = action();
        a.inputs.push(input("rows", InputType::Code, false));
        let e = check_inputs(&a, &json!({"name": "n", "method": "GET", "rows": 5})).unwrap_err();
        assert_eq!(e.input.as_deref(), Some("rows"));
        assert!(e.message.contains("schema"), "{}", e.message);
        assert!(check_inputs(&a, &json!({"name": "n", "method": "GET", "rows": "[]"})).is_ok());
        assert!(check_inputs(&a, &json!({"name": "n", "method": "GET", "rows": []})).is_ok());
    }

    #[test]
    fn valid_inputs_are_normalized() -> anyhow::Result<()> {
        let checked = check_inputs(
            &action(),
            &json!({"name": "n", "top": "10", "method": "post", "debug": "TRUE", "headers": {}}),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        assert_eq!(checked["top"], json!(10));
        assert_eq!(checked["method"], json!("POST"));
        assert_eq!(checked["debug"], json!(true));
        Ok(())
    }

    #[test]
    fn each_check_names_the_key() {
        let ok = json!({"name": "n", "method": "GET"});
        assert_eq!(check_inputs(&action(), &ok).err(), None);
        assert_eq!(fails_on(json!({"method": "GET"})), Some("name".into()));
        assert_eq!(
            fails_on(json!({"name": "  ", "method": "GET"})),
            Some("name".into())
        );
        assert_eq!(
            fails_on(json!({"name": "n", "method": "GET", "bogus": 1})),
            Some("bogus".into())
        );
        assert_eq!(
            fails_on(json!({"name": "n", "method": "GET", "top": 2.5})),
            Some("top".into())
        );
        assert_eq!(
            fails_on(json!({"name": "n", "method": "GET", "top": "ten"})),
            Some("top".into())
        );
        assert_eq!(
            fails_on(json!({"name": "n", "method": "GET", "top": 0})),
            Some("top".into())
        );
        assert_eq!(
            fails_on(json!({"name": "n", "method": "GET", "top": 1001})),
            Some("top".into())
        );
        assert_eq!(
            fails_on(json!({"name": "n", "method": "PUT"})),
            Some("method".into())
        );
        assert_eq!(
            fails_on(json!({"name": "n", "method": "GET", "debug": "maybe"})),
            Some("debug".into())
        );
        // A required input with a default may be left out.
        assert_eq!(
            check_inputs(&action(), &json!({"name": "n", "method": "GET", "url": ""})).err(),
            None
        );
    }

    #[test]
    fn messages_do_not_repeat_values() {
        let error = check_inputs(&action(), &json!({"name": "n", "method": "hunter2-secret"}))
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(error.contains("must be one of"), "{error}");
        assert!(!error.contains("hunter2-secret"), "{error}");
    }
}
