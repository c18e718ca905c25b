//! The connection values an action runs with, kept out of every Debug output.

use crate::egress::REDACTED;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The values of an OAuth 2.0 connection, as the `connection` record of the contract.
///
/// Its `Debug` output shows `[redacted]` for the client secret and the access token, so a
/// connection can be logged or put in an error without leaking them.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct Connection {
    /// The OAuth 2.0 Authorization URL; none means the component's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    /// The OAuth 2.0 Token URL; none means the component's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// Space-separated OAuth scopes; none means the component's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    /// The Application (client) ID.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// The current access token.
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

    /// The connection as the JSON object [`crate::Connector::invoke`] takes.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl From<Connection> for crate::bindings::types_iface::Connection {
    fn from(c: Connection) -> Self {
        Self {
            authorize_url: c.authorize_url,
            token_url: c.token_url,
            scopes: c.scopes,
            client_id: c.client_id,
            client_secret: c.client_secret,
            access_token: c.access_token,
        }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |value: &str| if value.is_empty() { "" } else { REDACTED };
        f.debug_struct("Connection")
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("scopes", &self.scopes)
            .field("client_id", &self.client_id)
            .field("client_secret", &hidden(&self.client_secret))
            .field("access_token", &hidden(&self.access_token))
            .finish()
    }
}

/// The connection keys whose values are secrets: never logged, scrubbed from the guest's
/// logs and from errors.
pub const SECRET_KEYS: [&str; 2] = ["client-secret", "access-token"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let connection = Connection {
            client_id: "app".into(),
            client_secret: "very-secret-value".into(),
            access_token: "eyJ0eXAiOiJKV1Qi".into(),
            ..Connection::default()
        };
        let debug = format!("{connection:?}");
        assert!(!debug.contains("very-secret-value"), "{debug}");
        assert!(!debug.contains("eyJ0eXAiOiJKV1Qi"), "{debug}");
        assert!(debug.contains("app"), "{debug}");
        assert!(debug.contains(REDACTED), "{debug}");
    }

    #[test]
    fn json_uses_wit_field_names() {
        let json = Connection::with_access_token("t0k3n").to_json();
        assert_eq!(json["access-token"], "t0k3n");
        assert_eq!(json["client-id"], "");
        assert!(json.get("token-url").is_none());
    }
}
