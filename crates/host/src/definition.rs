//! The component's self-description: the records of the contract's `definition` interface,
//! as [`crate::bindings`] generates them from the WIT, with the lookups the host needs.

pub use crate::bindings::definition_iface::{
    ActionDefinition, Choice, ComponentDefinition, ComponentInfo, ConnectionDefinition,
    InputDefinition, InputType, PickerRef,
};

impl ComponentDefinition {
    /// The action whose key is `key`, if the component has one.
    pub fn action(&self, key: &str) -> Option<&ActionDefinition> {
        self.actions.iter().find(|action| action.key == key)
    }

    /// The connection definition a connection object chooses: its `connection` key, else
    /// the first (`None` only when the component has no connection).
    pub fn chosen_connection(
        &self,
        connection: &serde_json::Value,
    ) -> Option<&ConnectionDefinition> {
        let chosen = connection
            .get(crate::connection::CONNECTION_KEY)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        self.connections
            .iter()
            .find(|c| c.key == chosen)
            .or(self.connections.first())
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

impl ActionDefinition {
    /// The input whose key is `key`, if the action has one.
    pub fn input(&self, key: &str) -> Option<&InputDefinition> {
        self.inputs.iter().find(|input| input.key == key)
    }
}

impl InputType {
    /// Whether a textual value for this input is meant to be JSON (a CLI parses it first).
    pub fn takes_json(self) -> bool {
        matches!(self, Self::Code | Self::KeyValueList | Self::FileList)
    }
}
