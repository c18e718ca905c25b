//! The connection values an action runs with, kept out of every Debug output.
//!
//! An engine hands a connection over as one JSON object: the values of the connection's
//! inputs by key (`client-id`, `client-secret`, ...), the `access-token` it holds, and
//! `connection`, the key of the component's connection definition they fill (absent: the
//! first). The host knows nothing of what the values mean: it passes them to the component
//! as the contract's `connection` record (`key`, `values`, `access-token`).

use crate::egress::REDACTED;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The key of the JSON member that names the connection definition.
pub const CONNECTION_KEY: &str = "connection";
/// The key of the JSON member that holds the access token.
pub const ACCESS_TOKEN: &str = "access-token";

/// The values of one connection, as the contract's `connection` record.
///
/// Its `Debug` output shows the keys only (values may be secrets).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Connection {
    /// The connection definition's key; empty means the component's first.
    pub key: String,
    /// The connection's input values by key.
    pub values: BTreeMap<String, String>,
    /// The current access token (empty when none yet).
    pub access_token: String,
}

impl Connection {
    /// A connection with only an access token.
    pub fn with_access_token(token: impl Into<String>) -> Self {
        Self {
            access_token: token.into(),
            ..Self::default()
        }
    }

    /// The same, with the input `key` set to `value`.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.values.insert(key.to_string(), value.into());
        self
    }

    /// Reads the JSON object [`crate::Connector::invoke`] takes (`null`: an empty
    /// connection). Text values are kept as they are, numbers and booleans as their JSON
    /// text, `null` as absent; anything else is refused with the key (never the value).
    pub fn from_json(json: &Value) -> Result<Self, String> {
        let object = match json {
            Value::Null => return Ok(Self::default()),
            Value::Object(object) => object,
            _ => return Err("the connection must be a JSON object".into()),
        };
        let mut connection = Self::default();
        for (key, value) in object {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => value.to_string(),
                _ => return Err(format!("the connection value {key:?} must be text")),
            };
            match key.as_str() {
                CONNECTION_KEY => connection.key = text,
                ACCESS_TOKEN => connection.access_token = text,
                _ => {
                    connection.values.insert(key.clone(), text);
                }
            }
        }
        Ok(connection)
    }

    /// The connection as the JSON object [`crate::Connector::invoke`] takes.
    pub fn to_json(&self) -> Value {
        let mut object: serde_json::Map<String, Value> = self
            .values
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if !self.key.is_empty() {
            object.insert(CONNECTION_KEY.into(), self.key.clone().into());
        }
        object.insert(ACCESS_TOKEN.into(), self.access_token.clone().into());
        Value::Object(object)
    }

    /// The value of the input `key`, if given and not empty.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

impl From<Connection> for crate::bindings::types_iface::Connection {
    fn from(c: Connection) -> Self {
        Self {
            key: c.key,
            values: c.values.into_iter().collect(),
            access_token: c.access_token,
        }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |value: &str| if value.is_empty() { "" } else { REDACTED };
        let keys: Vec<&str> = self.values.keys().map(String::as_str).collect();
        f.debug_struct("Connection")
            .field("key", &self.key)
            .field("values", &keys)
            .field("access_token", &hidden(&self.access_token))
            .finish()
    }
}

/// Connection keys that are secrets whatever the component says: never logged, scrubbed
/// from the guest's logs and from errors. The values of a connection definition's `password`
/// inputs are scrubbed too.
pub const SECRET_KEYS: [&str; 2] = ["client-secret", ACCESS_TOKEN];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn debug_shows_keys_not_values() {
        let connection = Connection::with_access_token("eyJ0eXAiOiJKV1Qi")
            .with("client-id", "app")
            .with("client-secret", "very-secret-value");
        let debug = format!("{connection:?}");
        assert!(!debug.contains("very-secret-value"), "{debug}");
        assert!(!debug.contains("eyJ0eXAiOiJKV1Qi"), "{debug}");
        assert!(debug.contains("client-secret"), "{debug}");
        assert!(debug.contains(REDACTED), "{debug}");
    }

    #[test]
    fn json_round_trip() {
        let json = json!({
            "connection": "service-principal",
            "tenant-id": "contoso.onmicrosoft.com",
            "client-id": "app",
            "retries": 3,
            "gone": null,
            "access-token": "t0k3n",
        });
        let c = Connection::from_json(&json).unwrap();
        assert_eq!(c.key, "service-principal");
        assert_eq!(c.access_token, "t0k3n");
        assert_eq!(c.value("retries"), Some("3"));
        assert_eq!(c.value("gone"), None);
        assert!(!c.values.contains_key("access-token"));
        let back = c.to_json();
        assert_eq!(back["connection"], "service-principal");
        assert_eq!(back["retries"], "3");
        let e = Connection::from_json(&json!({"client-secret": ["x"]})).unwrap_err();
        assert!(e.contains("client-secret") && !e.contains("[\"x\"]"), "{e}");
        assert_eq!(
            Connection::from_json(&Value::Null).unwrap(),
            Connection::default()
        );
    }
}
