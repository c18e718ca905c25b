//! What the contract's `oauth` interface hands back: the start of an authorization-code flow,
//! tokens, and OAuth failures. Every secret is kept out of `Debug` output.

use crate::egress::REDACTED;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OAuthErrorKind {
    /// A connection value or argument is wrong; `input` names it. Nothing was sent.
    InvalidInput,
    /// The grant is no longer good: the user must authorize again.
    AuthorizeAgain,
    /// The client ID or client secret was refused.
    InvalidClient,
    /// Any other refusal by the identity platform.
    Service,
    /// The token endpoint could not be reached.
    Transport,
}

impl OAuthErrorKind {
    /// The WIT case name, such as `authorize-again`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid-input",
            Self::AuthorizeAgain => "authorize-again",
            Self::InvalidClient => "invalid-client",
            Self::Service => "service",
            Self::Transport => "transport",
        }
    }
}

impl fmt::Display for OAuthErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
