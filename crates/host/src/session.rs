//! A signed-in connection that keeps working: it refreshes the access token before it
//! expires and when the service says it has, and saves rotated tokens.

use crate::choices::ChoicesPage;
use crate::connector::Connector;
use crate::egress::REDACTED;
use crate::error::HostError;
use crate::invoke::{ActionError, ErrorKind, Invocation};
use crate::oauth::OAuthError;
use crate::tokens::{TokenFile, TokenFileError, unix_now};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long before its expiry an access token is refreshed by default.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The action error kinds that mean the access token is not (or no longer) accepted.
pub const REFRESH_ON_KINDS: [ErrorKind; 2] = [ErrorKind::Unauthorized, ErrorKind::TokenExpired];

/// Whether an answer is the component's refusal of the access token.
fn refused<T>(result: &Result<T, ActionError>) -> bool {
    matches!(result, Err(error) if REFRESH_ON_KINDS.contains(&error.kind))
}

/// Why a [`Session`] could not do what was asked. Messages never contain a token or secret.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The refresh token is no longer good (expired, revoked, consent withdrawn): the user
    /// must sign in again.
    #[error(
        "the sign-in saved in {} is no longer valid ({message}); run `pbi login` again",
        path.display()
    )]
    AuthorizeAgain {
        /// The token file.
        path: PathBuf,
        /// What the identity platform said.
        message: String,
    },
    /// A refresh was needed but the token file holds no refresh token.
    #[error(
        "the access token cannot be renewed: {} holds no refresh token; run `pbi login` again",
        path.display()
    )]
    NoRefreshToken {
        /// The token file.
        path: PathBuf,
    },
    /// Refreshing failed for another reason (the client was refused, the token endpoint
    /// could not be reached).
    #[error("refreshing the access token failed: {0}")]
    Refresh(OAuthError),
    /// The token file could not be read or written.
    #[error(transparent)]
    TokenFile(#[from] TokenFileError),
    /// The host failed.
    #[error(transparent)]
    Host(#[from] HostError),
}

/// A connection signed in through the token file at a path: [`Session::invoke`] runs actions
/// (and [`Session::list_choices`] lists an input's choices) with its access token,
/// refreshing it first when it expires within the refresh margin, and refreshing then
/// retrying once when the component answers `unauthorized` or `token-expired`. Every refresh is saved to the token file at once (a new refresh token
/// replaces the old one; without one the old one is kept).
///
/// Refreshes of one token file take turns (an advisory lock on `<file>.lock`, see
/// [`TokenFile::lock_for_refresh`]), and before refreshing, the token file is read again:
/// if another process refreshed meanwhile, its tokens are used instead of refreshing twice.
pub struct Session<'c> {
    connector: &'c Connector,
    /// The connection object without its access token.
    connection: serde_json::Map<String, Value>,
    path: PathBuf,
    tokens: TokenFile,
    margin: Duration,
    refreshes: usize,
}

impl fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("connector", self.connector)
            .field("connection", &REDACTED)
            .field("token_file", &self.path)
            .field("tokens", &self.tokens)
            .field("refresh_margin", &self.margin)
            .field("refreshes", &self.refreshes)
            .finish()
    }
}

impl<'c> Session<'c> {
    /// A session for `connection` (the object [`Connector::invoke`] takes; its
    /// `access-token`, if any, is replaced by the token file's) with the tokens saved at
    /// `token_file`, which must exist (`pbi login` writes it).
    pub fn new(
        connector: &'c Connector,
        connection: Value,
        token_file: impl Into<PathBuf>,
    ) -> Result<Self, SessionError> {
        let path = token_file.into();
        let mut connection = match connection {
            Value::Object(object) => object,
            Value::Null => serde_json::Map::new(),
            _ => {
                return Err(HostError::Connection(
                    "the connection must be a JSON object".to_string(),
                )
                .into());
            }
        };
        connection.remove("access-token");
        let tokens = TokenFile::load(&path)?;
        Ok(Self {
            connector,
            connection,
            path,
            tokens,
            margin: DEFAULT_REFRESH_MARGIN,
            refreshes: 0,
        })
    }

    /// This session, refreshing tokens that expire within `margin` (default 5 minutes).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The token file.
    pub fn token_file(&self) -> &Path {
        &self.path
    }

    /// The tokens in use (as last saved).
    pub fn tokens(&self) -> &TokenFile {
        &self.tokens
    }

    /// How many times this session has refreshed the access token.
    pub fn refreshes(&self) -> usize {
        self.refreshes
    }

    /// The connection object with the current access token, for [`Connector::invoke`].
    pub fn connection(&self) -> Value {
        let mut connection = self.connection.clone();
        connection.insert(
            "access-token".to_string(),
            Value::String(self.tokens.access_token.clone()),
        );
        Value::Object(connection)
    }

    /// Runs the action `action_key` with the session's access token (see [`Session`] for
    /// when it refreshes). The result is the last attempt's invocation: an action error
    /// other than an expired token is returned as the action gave it.
    pub fn invoke(&mut self, action_key: &str, inputs: &Value) -> Result<Invocation, SessionError> {
        let connector = self.connector;
        self.with_token(
            |connection| connector.invoke(action_key, connection, inputs),
            |invocation| refused(&invocation.result),
        )
    }

    /// [`Session::invoke`], handing the action's progress to `progress` (see
    /// [`Connector::invoke_with_progress`]).
    pub fn invoke_with_progress(
        &mut self,
        action_key: &str,
        inputs: &Value,
        progress: crate::ProgressSink,
    ) -> Result<Invocation, SessionError> {
        let connector = self.connector;
        self.with_token(
            |connection| {
                let progress = progress.clone();
                connector.invoke_with_progress(action_key, connection, inputs.clone(), move |p| {
                    progress(p)
                })
            },
            |invocation| refused(&invocation.result),
        )
    }

    /// [`Connector::list_choices`] with the session's access token, refreshing it as
    /// [`Session::invoke`] does.
    pub fn list_choices(
        &mut self,
        action_key: &str,
        input_key: &str,
        inputs: &Value,
        search: Option<&str>,
        skip: u32,
        top: u32,
    ) -> Result<Result<ChoicesPage, ActionError>, SessionError> {
        let connector = self.connector;
        self.with_token(
            |connection| {
                connector.list_choices(action_key, input_key, connection, inputs, search, skip, top)
            },
            refused,
        )
    }

    /// Makes `call` with the connection and its current access token, refreshing it first
    /// when it is about to expire, and once more, then calling again, when `refused` says the
    /// answer refused the token.
    fn with_token<T>(
        &mut self,
        call: impl Fn(&Value) -> Result<T, HostError>,
        refused: impl Fn(&T) -> bool,
    ) -> Result<T, SessionError> {
        let mut refreshed = false;
        if self.tokens.refresh_token.is_some()
            && self.tokens.expires_within(self.margin, unix_now())
        {
            match self.refresh() {
                Ok(()) => refreshed = true,
                // The token still works for a while: a failed early refresh (the token
                // endpoint unreachable, say) need not fail this call; the next one tries
                // again.
                Err(SessionError::Refresh(_))
                    if !self.tokens.expires_within(Duration::ZERO, unix_now()) => {}
                Err(error) => return Err(error),
            }
        }

        let answer = call(&self.connection())?;
        // A token refreshed a moment ago that is refused will not fare better refreshed
        // again; without a refresh token there is nothing to try.
        if !refused(&answer) || refreshed || self.tokens.refresh_token.is_none() {
            return Ok(answer);
        }
        self.refresh()?;
        Ok(call(&self.connection())?)
    }

    /// Gets a new access token with the refresh token now, and saves it.
    pub fn refresh(&mut self) -> Result<(), SessionError> {
        // One refresh at a time per token file, across processes (see
        // `TokenFile::lock_for_refresh`); released when this returns.
        let _lock = TokenFile::lock_for_refresh(&self.path)?;
        // Another process using the same file may have refreshed already: its token is as
        // good, and with servers that revoke rotated refresh tokens, ours may be dead.
        if let Ok(on_disk) = TokenFile::load(&self.path)
            && on_disk.access_token != self.tokens.access_token
        {
            let fresh = !on_disk.expires_within(self.margin, unix_now());
            self.tokens = on_disk;
            if fresh {
                return Ok(());
            }
        }
        let Some(refresh_token) = self.tokens.refresh_token.clone() else {
            return Err(SessionError::NoRefreshToken {
                path: self.path.clone(),
            });
        };
        let connection = Value::Object(self.connection.clone());
        let received_at = unix_now();
        match self.connector.oauth_refresh(&connection, &refresh_token)? {
            Ok(tokens) => {
                self.tokens.update(&tokens, received_at);
                self.refreshes += 1;
                self.tokens.save(&self.path)?;
                Ok(())
            }
            Err(error) if error.is_authorize_again() => Err(SessionError::AuthorizeAgain {
                path: self.path.clone(),
                message: error.message,
            }),
            Err(error) => Err(SessionError::Refresh(error)),
        }
    }
}
