//! The component's self-description, mirroring the `definition` interface's records.
//!
//! The host reads it generically: `describe` returns a component value, which is turned into
//! JSON by field name and then deserialized into these structs.

use serde::{Deserialize, Serialize};

/// The whole description a component returns from `describe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ComponentDefinition {
    /// Who the component is.
    pub info: ComponentInfo,
    /// Its connections.
    pub connections: Vec<ConnectionDefinition>,
    /// Its actions.
    pub actions: Vec<ActionDefinition>,
}

impl ComponentDefinition {
    /// The action whose key is `key`, if the component has one.
    pub fn action(&self, key: &str) -> Option<&ActionDefinition> {
        self.actions.iter().find(|action| action.key == key)
    }

    /// The documented default of the connection input `key`, from the first connection that
    /// declares it.
    pub fn connection_default(&self, key: &str) -> Option<&str> {
        self.connections
            .iter()
            .flat_map(|connection| connection.inputs.iter())
            .find(|input| input.key == key)
            .and_then(|input| input.default.as_deref())
    }
}

/// Who the component is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ComponentInfo {
    /// A stable key.
    pub key: String,
    /// The name a flow designer shows.
    pub label: String,
    /// What it is for.
    pub description: String,
    /// The category it is filed under.
    pub category: String,
    /// The base URL of the API it calls.
    pub api_base_url: String,
}

/// A connection the component can run with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConnectionDefinition {
    /// The connection's key.
    pub key: String,
    /// Its label.
    pub label: String,
    /// Its description.
    pub comments: String,
    /// The OAuth 2.0 grant.
    pub oauth2_type: String,
    /// The inputs a user fills in.
    pub inputs: Vec<InputDefinition>,
}

/// One action: a function of the component's actions interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ActionDefinition {
    /// The action's key: the name of its function.
    pub key: String,
    /// The label a flow designer shows.
    pub label: String,
    /// What it does.
    pub description: String,
    /// Its inputs, in form order; keys equal the fields of its input record.
    pub inputs: Vec<InputDefinition>,
}

impl ActionDefinition {
    /// The input whose key is `key`, if the action has one.
    pub fn input(&self, key: &str) -> Option<&InputDefinition> {
        self.inputs.iter().find(|input| input.key == key)
    }
}

/// One input of a connection or an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct InputDefinition {
    /// The field name in the input record.
    pub key: String,
    /// The label a form shows.
    pub label: String,
    /// The kind of value.
    #[serde(rename = "type")]
    pub input_type: InputType,
    /// Whether a value must be given (after the default is applied).
    pub required: bool,
    /// The documented default, as text.
    pub default: Option<String>,
    /// The help text a form shows beside the input.
    pub comments: Option<String>,
    /// The values a picklist offers.
    pub choices: Vec<Choice>,
    /// The smallest allowed integer.
    pub minimum: Option<i64>,
    /// The largest allowed integer.
    pub maximum: Option<i64>,
    /// An example value, as text.
    pub example: Option<String>,
}

/// The kind of value an input takes; serialized as the WIT case name (`"key-value-list"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputType {
    /// A single line of text.
    String,
    /// A secret.
    Password,
    /// true or false.
    Boolean,
    /// A whole number.
    Integer,
    /// JSON text.
    Code,
    /// One of the input's choices.
    Picklist,
    /// A list of key/value pairs.
    KeyValueList,
    /// A list of key/value pairs whose values are file contents.
    FileList,
}

impl InputType {
    /// Whether a textual value for this input is meant to be JSON (a CLI parses it first).
    pub fn takes_json(self) -> bool {
        matches!(self, Self::Code | Self::KeyValueList | Self::FileList)
    }
}

/// One of the values a picklist offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Choice {
    /// What the form shows.
    pub label: String,
    /// What the action receives.
    pub value: String,
}
