//! The bearer tokens the service accepts.
//!
//! The store is shared (cheap to clone): the Microsoft login endpoints issue tokens into the
//! same store the API checks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// What the store knows of a presented token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// Issued and not expired: the request may proceed.
    Valid,
    /// Issued, but its lifetime is over or it was expired by hand: Power BI answers 403
    /// `TokenExpired`.
    Expired,
    /// Never issued (or revoked): Power BI answers 401.
    Unknown,
}

#[derive(Debug, Clone)]
struct Entry {
    /// `None` means the token never expires by itself.
    expires_at: Option<Instant>,
    /// Set by [`TokenStore::expire`]; kept apart from `expires_at` so that an expired token
    /// stays known (403) instead of becoming unknown (401).
    expired: bool,
    /// The client id of the service principal the token was issued to (client credentials);
    /// `None` for a user's token.
    service_principal: Option<String>,
}

/// Issued bearer tokens with their lifetimes.
#[derive(Debug, Clone, Default)]
pub struct TokenStore {
    inner: Arc<Mutex<HashMap<String, Entry>>>,
}

impl TokenStore {
    /// An empty store: every token is unknown.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic in another thread while holding the lock leaves the map consistent (every
        // update is a single insert), so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Issues a new random token (long, URL-safe) that is valid for `lifetime`.
    pub fn issue(&self, lifetime: Duration) -> String {
        let token = new_token();
        self.insert(token.clone(), Some(lifetime));
        token
    }

    /// Issues a new random token that never expires by itself.
    pub fn issue_permanent(&self) -> String {
        let token = new_token();
        self.insert(token.clone(), None);
        token
    }

    /// Issues a new random token for the service principal (application) `client_id`,
    /// valid for `lifetime`: the API then answers as it does a service principal (no My
    /// workspace, no refresh e-mail notifications).
    pub fn issue_service_principal(&self, client_id: &str, lifetime: Duration) -> String {
        let token = new_token();
        self.insert_entry(token.clone(), Some(lifetime), Some(client_id.to_owned()));
        token
    }

    /// Accepts a token chosen by the caller, valid for `lifetime` (`None`: forever), as a
    /// user's token. Re-inserting a token resets its state.
    pub fn insert(&self, token: impl Into<String>, lifetime: Option<Duration>) {
        self.insert_entry(token.into(), lifetime, None);
    }

    fn insert_entry(
        &self,
        token: String,
        lifetime: Option<Duration>,
        service_principal: Option<String>,
    ) {
        // A lifetime too large for `Instant` is as good as forever.
        let expires_at = lifetime.and_then(|l| Instant::now().checked_add(l));
        self.lock().insert(
            token,
            Entry {
                expires_at,
                expired: false,
                service_principal,
            },
        );
    }

    /// The client id of the service principal a known token was issued to; `None` for a
    /// user's token and for an unknown one. Says nothing of validity: see
    /// [`validate`](Self::validate).
    pub fn service_principal(&self, token: &str) -> Option<String> {
        self.lock().get(token)?.service_principal.clone()
    }

    /// Expires a token now: later requests with it get 403 `TokenExpired`. Returns whether
    /// the token was known.
    pub fn expire(&self, token: &str) -> bool {
        match self.lock().get_mut(token) {
            Some(entry) => {
                entry.expired = true;
                true
            }
            None => false,
        }
    }

    /// Forgets a token: later requests with it get 401. Returns whether it was known.
    pub fn revoke(&self, token: &str) -> bool {
        self.lock().remove(token).is_some()
    }

    /// Checks a presented token.
    pub fn validate(&self, token: &str) -> TokenStatus {
        match self.lock().get(token) {
            None => TokenStatus::Unknown,
            Some(entry) if entry.expired => TokenStatus::Expired,
            Some(Entry {
                expires_at: Some(at),
                ..
            }) if Instant::now() >= *at => TokenStatus::Expired,
            Some(_) => TokenStatus::Valid,
        }
    }

    /// How long a valid token has left; `None` for unknown, expired or permanent tokens.
    /// A login endpoint answers this as `expires_in`.
    pub fn remaining(&self, token: &str) -> Option<Duration> {
        let map = self.lock();
        let entry = map.get(token)?;
        if entry.expired {
            return None;
        }
        entry
            .expires_at?
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }
}

/// A random token: the prefix makes leaks easy to spot in logs; 244 random bits follow.
pub(crate) fn new_token() -> String {
    format!(
        "pbi-emu-{}{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        let store = TokenStore::new();
        let t = store.issue(Duration::from_secs(3600));
        assert!(t.len() > 64);
        assert_eq!(store.validate(&t), TokenStatus::Valid);
        assert!(store.remaining(&t).is_some());
        assert!(store.expire(&t));
        assert_eq!(store.validate(&t), TokenStatus::Expired);
        assert!(store.revoke(&t));
        assert_eq!(store.validate(&t), TokenStatus::Unknown);
        assert!(!store.expire("nope"));
    }

    #[test]
    fn zero_lifetime_is_expired_and_permanent_is_valid() {
        let store = TokenStore::new();
        let t = store.issue(Duration::ZERO);
        assert_eq!(store.validate(&t), TokenStatus::Expired);
        let p = store.issue_permanent();
        assert_eq!(store.validate(&p), TokenStatus::Valid);
        assert_eq!(store.remaining(&p), None);
        store.insert("fixed", Some(Duration::MAX));
        assert_eq!(store.validate("fixed"), TokenStatus::Valid);
    }

    #[test]
    fn service_principal_tokens_remember_their_client() {
        let store = TokenStore::new();
        let sp = store.issue_service_principal("app", Duration::from_secs(60));
        assert_eq!(store.validate(&sp), TokenStatus::Valid);
        assert_eq!(store.service_principal(&sp).as_deref(), Some("app"));
        let user = store.issue(Duration::from_secs(60));
        assert_eq!(store.service_principal(&user), None);
        assert_eq!(store.service_principal("nope"), None);
        // Expiry keeps the principal: the API still answers 403, not 401.
        store.expire(&sp);
        assert_eq!(store.service_principal(&sp).as_deref(), Some("app"));
    }
}
