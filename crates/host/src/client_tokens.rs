//! Tokens a component requests for itself (the client credentials grant of a connection
//! whose `oauth2-type` is `client_credentials`), kept per connection until shortly before
//! they expire, so that a flow's steps do not each ask the identity platform again.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::connection::Connection;

/// A token is asked for again once less than this is left of it.
pub const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// The lifetime assumed when the token endpoint gives none.
const ASSUMED_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The tokens, by connection.
#[derive(Default)]
pub(crate) struct ClientTokens {
    entries: Mutex<HashMap<u64, (String, Instant)>>,
}

impl std::fmt::Debug for ClientTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.entries.lock().map(|e| e.len()).unwrap_or_default();
        f.debug_struct("ClientTokens")
            .field("connections", &count)
            .finish()
    }
}

impl ClientTokens {
    /// The cache key of a connection: its definition's key and values (not its token). Only a
    /// hash is kept, never the values.
    pub(crate) fn key(connection: &Connection) -> u64 {
        let mut hasher = DefaultHasher::new();
        connection.key.hash(&mut hasher);
        connection.values.hash(&mut hasher);
        hasher.finish()
    }

    /// The connection's token, if one is kept and not about to expire.
    pub(crate) fn get(&self, key: u64) -> Option<String> {
        let entries = self.entries.lock().ok()?;
        let (token, expires) = entries.get(&key)?;
        (Instant::now() + RENEW_BEFORE < *expires).then(|| token.clone())
    }

    /// Keeps `token`, valid for `expires_in_seconds` from now.
    pub(crate) fn put(&self, key: u64, token: String, expires_in_seconds: Option<u64>) {
        let lifetime = expires_in_seconds
            .map(Duration::from_secs)
            .unwrap_or(ASSUMED_LIFETIME);
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key, (token, Instant::now() + lifetime));
        }
    }

    /// Drops the connection's token (the service refused it).
    pub(crate) fn forget(&self, key: u64) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_until_shortly_before_expiry_and_per_connection() {
        let tokens = ClientTokens::default();
        let a = Connection::default().with("client-id", "a");
        let b = Connection::default().with("client-id", "b");
        let (ka, kb) = (ClientTokens::key(&a), ClientTokens::key(&b));
        assert_ne!(ka, kb);
        // The access token is not part of the key.
        assert_eq!(
            ka,
            ClientTokens::key(&Connection {
                access_token: "x".into(),
                ..a
            })
        );
        tokens.put(ka, "token-a".into(), Some(3599));
        assert_eq!(tokens.get(ka).as_deref(), Some("token-a"));
        assert_eq!(tokens.get(kb), None);
        // Less than RENEW_BEFORE left: asked again.
        tokens.put(kb, "token-b".into(), Some(60));
        assert_eq!(tokens.get(kb), None);
        tokens.forget(ka);
        assert_eq!(tokens.get(ka), None);
        assert!(!format!("{tokens:?}").contains("token-"));
    }
}
