//! Pickers: what the contract's `choices` interface is asked and hands back. An input whose
//! definition has a `picker` can have its values listed by the component
//! ([`crate::Connector::list_choices`]); this module builds the `choices-request` from JSON
//! inputs and reads the answer into a [`ChoicesPage`] of no more than the choices asked for.

use crate::bindings::choices_iface as wit;
use crate::definition::{ActionDefinition, Choice};
use crate::invoke::ActionError;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// One page of a picker's choices (the contract's `choices-page` record): never more than
/// the `top` asked for, whatever the component answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoicesPage {
    /// The choices, in the component's order: `label` to show, `value` to put in the input.
    pub choices: Vec<Choice>,
    /// Whether more choices follow: ask again with `skip` past these.
    pub more: bool,
}

impl ChoicesPage {
    /// The component's page cut to `top` choices. A component that answered more than it was
    /// asked for has the rest dropped, and `more` set: they exist, past this page.
    pub(crate) fn at_most(page: wit::ChoicesPage, top: u32) -> Self {
        let wit::ChoicesPage { mut choices, more } = page;
        let top = usize::try_from(top).unwrap_or(usize::MAX);
        let cut = choices.len() > top;
        choices.truncate(top);
        Self {
            choices,
            more: more || cut,
        }
    }
}

/// As JSON: `{"choices": [{"label": …, "value": …}, …], "more": …}`.
impl Serialize for ChoicesPage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Item<'a>(&'a Choice);
        impl Serialize for Item<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("label", &self.0.label)?;
                map.serialize_entry("value", &self.0.value)?;
                map.end()
            }
        }
        let choices: Vec<Item<'_>> = self.choices.iter().map(Item).collect();
        let mut page = serializer.serialize_struct("ChoicesPage", 2)?;
        page.serialize_field("choices", &choices)?;
        page.serialize_field("more", &self.more)?;
        page.end()
    }
}

/// The `choices-request` for the picker `picker` of an input of `action`: `inputs` (a JSON
/// object keyed by the action's input keys, or null) become text (strings as they are,
/// other values as their JSON text; nulls are left out). An input the action does not have,
/// inputs that are not an object, or a `top` of 0 is an `invalid-input` error, and nothing is
/// asked of the component.
pub(crate) fn request(
    action: &ActionDefinition,
    picker: &str,
    inputs: &Value,
    search: Option<&str>,
    skip: u32,
    top: u32,
) -> Result<wit::ChoicesRequest, Box<ActionError>> {
    if top == 0 {
        return Err(Box::new(ActionError::invalid_input(
            Some("top"),
            "a page of choices holds 1 or more: `top` must not be 0",
        )));
    }
    let object = match inputs {
        Value::Null => None,
        Value::Object(object) => Some(object),
        _ => {
            return Err(Box::new(ActionError::invalid_input(
                None,
                format!(
                    "the inputs of `{}` must be a JSON object keyed by input key",
                    action.key
                ),
            )));
        }
    };
    let mut pairs = Vec::new();
    for (key, value) in object.into_iter().flatten() {
        if action.input(key).is_none() {
            let known: Vec<&str> = action.inputs.iter().map(|i| i.key.as_str()).collect();
            return Err(Box::new(ActionError::invalid_input(
                Some(key),
                format!(
                    "`{key}` is not an input of `{}` (its inputs are: {})",
                    action.key,
                    known.join(", ")
                ),
            )));
        }
        let text = match value {
            Value::Null => continue,
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        pairs.push((key.clone(), text));
    }
    Ok(wit::ChoicesRequest {
        picker: picker.to_string(),
        inputs: pairs,
        search: search.map(str::to_string),
        skip,
        top,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::{InputDefinition, InputType};
    use serde_json::json;

    fn choice(n: u32) -> Choice {
        Choice {
            label: format!("Item {n}"),
            value: n.to_string(),
        }
    }

    fn action() -> ActionDefinition {
        let input = |key: &str, type_| InputDefinition {
            key: key.into(),
            label: key.into(),
            type_,
            required: false,
            default: None,
            comments: None,
            choices: Vec::new(),
            minimum: None,
            maximum: None,
            pattern: None,
            max_length: None,
            example: None,
            picker: None,
        };
        ActionDefinition {
            key: "act".into(),
            label: "Act".into(),
            description: String::new(),
            inputs: vec![
                input("workspace", InputType::String),
                input("top", InputType::Integer),
                input("flag", InputType::Boolean),
                input("body", InputType::Code),
                input("note", InputType::String),
            ],
        }
    }

    #[test]
    fn a_page_never_holds_more_than_top() {
        let page = |n: u32, more| wit::ChoicesPage {
            choices: (1..=n).map(choice).collect(),
            more,
        };
        let cut = ChoicesPage::at_most(page(50, false), 10);
        assert_eq!(cut.choices.len(), 10);
        assert_eq!(cut.choices[9], choice(10));
        assert!(cut.more, "the dropped choices follow");
        let kept = ChoicesPage::at_most(page(10, false), 10);
        assert_eq!((kept.choices.len(), kept.more), (10, false));
        assert!(ChoicesPage::at_most(page(3, true), 10).more);
    }

    #[test]
    fn serializes_choices_as_label_and_value() {
        let page = ChoicesPage {
            choices: vec![choice(1)],
            more: true,
        };
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            json!({"choices": [{"label": "Item 1", "value": "1"}], "more": true})
        );
    }

    #[test]
    fn inputs_become_text_and_nulls_are_left_out() {
        let inputs = json!({
            "workspace": "ws-1",
            "top": 5,
            "flag": true,
            "body": {"a": [1]},
            "note": null,
        });
        let request = request(&action(), "numbers", &inputs, Some("it"), 3, 7).unwrap();
        assert_eq!(request.picker, "numbers");
        let mut pairs = request.inputs.clone();
        pairs.sort();
        assert_eq!(
            pairs,
            [
                ("body".to_string(), r#"{"a":[1]}"#.to_string()),
                ("flag".into(), "true".into()),
                ("top".into(), "5".into()),
                ("workspace".into(), "ws-1".into()),
            ]
        );
        assert_eq!(
            (request.search.as_deref(), request.skip, request.top),
            (Some("it"), 3, 7)
        );
        assert!(request_of(&Value::Null).unwrap().inputs.is_empty());
    }

    fn request_of(inputs: &Value) -> Result<wit::ChoicesRequest, Box<ActionError>> {
        request(&action(), "numbers", inputs, None, 0, 10)
    }

    #[test]
    fn refuses_unknown_inputs_other_shapes_and_a_top_of_zero() {
        let unknown = request_of(&json!({"workspce": "x"})).unwrap_err();
        assert_eq!(unknown.input.as_deref(), Some("workspce"));
        assert!(unknown.message.contains("workspace"), "{}", unknown.message);
        assert!(
            request_of(&json!(["workspace"]))
                .unwrap_err()
                .is_invalid_input()
        );
        let zero = request(&action(), "numbers", &Value::Null, None, 0, 0).unwrap_err();
        assert_eq!(zero.input.as_deref(), Some("top"));
    }
}
