//! What the contract's `oauth` interface hands back: the start of an authorization-code flow,
//! tokens, and OAuth failures. Every secret is kept out of `Debug` output.

use crate::bindings::oauth_iface as wit;
use crate::egress::{REDACTED, scrub};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The start of an authorization-code flow (the contract's `authorization` record).
///
/// `Debug` hides the PKCE code verifier.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Authorization {
    /// Where to send the user's browser.
    pub url: String,
    /// The state value the redirect must bring back unchanged.
    pub state: String,
    /// The PKCE code verifier to keep for the code exchange. Secret.
    pub code_verifier: String,
}

impl From<wit::Authorization> for Authorization {
    fn from(a: wit::Authorization) -> Self {
        Self {
            url: a.url,
            state: a.state,
            code_verifier: a.code_verifier,
        }
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("url", &self.url)
            .field("state", &self.state)
            .field("code_verifier", &REDACTED)
            .finish()
    }
}

/// Tokens from the token endpoint (the contract's `token-set` record).
///
/// `Debug` hides the access and refresh tokens. It is deliberately not `Serialize`: tokens
/// are written only where a caller chooses to (see [`crate::TokenFile`]).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TokenSet {
    /// The access token. Secret.
    pub access_token: String,
    /// The token type, `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in_seconds: Option<u64>,
    /// A refresh token, when one was issued; it replaces the previous one. Secret.
    pub refresh_token: Option<String>,
    /// The scopes granted, space-separated.
    pub scope: Option<String>,
}

impl From<wit::TokenSet> for TokenSet {
    fn from(t: wit::TokenSet) -> Self {
        Self {
            access_token: t.access_token,
            token_type: t.token_type,
            expires_in_seconds: t.expires_in_seconds,
            refresh_token: t.refresh_token,
            scope: t.scope,
        }
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &REDACTED)
            .field("token_type", &self.token_type)
            .field("expires_in_seconds", &self.expires_in_seconds)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| REDACTED),
            )
            .field("scope", &self.scope)
            .finish()
    }
}

/// Which kind of OAuth failure (the contract's `oauth-error-kind`).
pub use crate::bindings::oauth_iface::OauthErrorKind as OAuthErrorKind;

/// Why an OAuth call failed (the contract's `oauth-error` record).
///
/// The component promises never to put a secret in it, and the host scrubs the connection's
/// secrets and the call's own secret arguments from the message anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    /// The kind of failure.
    pub kind: OAuthErrorKind,
    /// A sentence for a person.
    pub message: String,
    /// The OAuth error code, such as `invalid_grant`.
    pub code: Option<String>,
    /// The input at fault, for `invalid-input`.
    pub input: Option<String>,
}

impl OAuthError {
    /// The component's error, its message scrubbed of `secrets` (the component promises
    /// never to echo one; the host makes sure).
    pub(crate) fn scrubbed(error: wit::OauthError, secrets: &[String]) -> Self {
        Self {
            kind: error.kind,
            message: scrub(&error.message, secrets),
            code: error.code,
            input: error.input,
        }
    }

    /// Whether the user must authorize again (the grant is no longer good).
    pub fn is_authorize_again(&self) -> bool {
        self.kind == OAuthErrorKind::AuthorizeAgain
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        let mut details = Vec::new();
        if let Some(input) = &self.input {
            details.push(format!("input `{input}`"));
        }
        if let Some(code) = &self.code {
            details.push(format!("code {code}"));
        }
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {}

/// A token request's failure as the error of the invocation that needed the token: a wrong
/// connection value is `invalid-input` naming it, refused credentials `unauthorized`, an
/// unreachable endpoint `transport`.
impl From<OAuthError> for crate::invoke::ActionError {
    fn from(e: OAuthError) -> Self {
        use crate::invoke::ErrorKind;
        let kind = match e.kind {
            OAuthErrorKind::InvalidInput => ErrorKind::InvalidInput,
            OAuthErrorKind::AuthorizeAgain | OAuthErrorKind::InvalidClient => {
                ErrorKind::Unauthorized
            }
            OAuthErrorKind::Service => ErrorKind::Service,
            OAuthErrorKind::Transport => ErrorKind::Transport,
        };
        crate::invoke::ActionError {
            kind,
            message: format!("signing in failed: {}", e.message),
            input: e.input,
            status: None,
            code: e.code,
            retry_after_seconds: None,
            progress: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_tokens_and_the_verifier() {
        let tokens = TokenSet {
            access_token: "access-abcdef".into(),
            token_type: "Bearer".into(),
            expires_in_seconds: Some(3600),
            refresh_token: Some("refresh-abcdef".into()),
            scope: Some("a b".into()),
        };
        let debug = format!("{tokens:?}");
        assert!(!debug.contains("access-abcdef"), "{debug}");
        assert!(!debug.contains("refresh-abcdef"), "{debug}");
        assert!(
            debug.contains("3600") && debug.contains(REDACTED),
            "{debug}"
        );

        let authorization = Authorization {
            url: "https://login.example/authorize?x=1".into(),
            state: "st4te".into(),
            code_verifier: "verifier-abcdef".into(),
        };
        let debug = format!("{authorization:?}");
        assert!(!debug.contains("verifier-abcdef"), "{debug}");
        assert!(debug.contains("st4te"), "{debug}");
    }

    #[test]
    fn kinds_read_the_wit_case_names() -> anyhow::Result<()> {
        let error: OAuthError = serde_json::from_value(serde_json::json!({
            "kind": "authorize-again",
            "message": "sign in again",
            "code": "invalid_grant",
            "input": null,
        }))?;
        assert!(error.is_authorize_again());
        assert_eq!(
            error.to_string(),
            "authorize-again: sign in again (code invalid_grant)"
        );
        Ok(())
    }
}
