//! A generic host for connector components.
//!
//! It loads any WebAssembly component that exports a definition interface (`describe`) and
//! an actions interface (one function per action, each taking the connection and its own
//! input record and returning `result<output, action-error>`), and runs those actions with
//! JSON inputs. It knows nothing about the service a component talks to: inputs are checked
//! against the component's own definition and converted to component values by reading the
//! functions' types through wasmtime's dynamic component API.
//!
//! Every invocation gets a fresh instance with no environment, arguments, files or sockets;
//! the guest's stdout and stderr are captured, its outgoing HTTP goes through an
//! [`EgressPolicy`] that allows, redirects or denies each host and logs every request with
//! secrets redacted, and it is contained by the limits of [`HostConfig`]: a wall-clock budget
//! per invocation (epoch interruption, with the guest's HTTP timeouts and sleeps cut to what
//! is left of it), memory and table limits, and a cap on HTTP answer bodies. A limit, like a
//! trap, fails only that invocation ([`HostError::Call`]).
//!
//! For OAuth 2.0 connections the host also calls the component's optional `oauth` interface
//! ([`Connector::oauth_authorize`], [`Connector::oauth_exchange_code`],
//! [`Connector::oauth_refresh`]), keeps tokens in an owner-only [`TokenFile`], waits for a
//! browser's sign-in redirect with a [`RedirectListener`], and runs actions through a
//! [`Session`] that refreshes the access token before it expires and when the service says
//! it has.

#![deny(missing_docs)]

pub mod cache;
mod connection;
mod connector;
mod containment;
mod definition;
mod egress;
mod invoke;
mod loopback;
pub mod manifest;
mod oauth;
mod pool;
mod session;
mod tokens;
mod validate;
pub mod value;

pub use connection::{Connection, SECRET_KEYS};
pub use connector::{
    ACTIONS_INTERFACE, CONNECTION_PARAM, Connector, DEFINITION_INTERFACE, DESCRIBE_FUNCTION,
    HostConfig, HostError, OAUTH_INTERFACE,
};
pub use definition::{
    ActionDefinition, Choice, ComponentDefinition, ComponentInfo, ConnectionDefinition,
    InputDefinition, InputType,
};
pub use egress::{EgressPolicy, REDACTED, SeenRequest};
pub use invoke::{ActionError, ActionOutput, HttpResponse, INVALID_INPUT, Invocation};
pub use loopback::{CALLBACK_PATH, Callback, RedirectError, RedirectListener};
pub use oauth::{Authorization, OAuthError, OAuthErrorKind, TokenSet};
pub use pool::HttpPool;
pub use session::{DEFAULT_REFRESH_MARGIN, REFRESH_ON_KINDS, Session, SessionError};
pub use tokens::{TOKEN_FILE_ENV, TokenFile, TokenFileError, unix_now};

use std::path::Path;

/// The component built from this workspace by the build script (the `.wasm` file under
/// `target/component-build`), or the file `PBI_HOST_PREBUILT_COMPONENT` named at build time.
pub fn component_path() -> &'static Path {
    Path::new(env!("PBI_COMPONENT_WASM"))
}
