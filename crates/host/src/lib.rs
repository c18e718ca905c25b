//! A generic host for connector components.
//!
//! It loads any WebAssembly component that implements the generic contract
//! `workflow:connector` (`wit/deps/workflow-connector`: the `definition` interface's
//! `describe`, the optional `oauth` and `choices` interfaces) and exports an interface named
//! `actions` (one function per action, each taking the connection and its own input record
//! and returning `result<output, action-error>`), and runs those actions with JSON inputs. It knows nothing
//! about the service a component talks to: inputs are checked against the component's own
//! definition and converted to component values by reading the functions' types through
//! wasmtime's dynamic component API; the fixed interfaces are called through typed bindings
//! ([`bindings`]).
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
//!
//! For forms, the host lists the values an input can take through the component's optional
//! `choices` interface: an input whose definition names a `picker` (with the inputs it
//! `depends-on`) has its choices listed page by page by [`Connector::list_choices`], with the
//! same egress policy and limits as an action and never more than the page asked for
//! ([`ChoicesPage`]). The [`manifest`] marks such inputs for form generators.

#![deny(missing_docs)]

pub mod bindings;
pub mod cache;
mod choices;
mod client_tokens;
mod config;
mod connection;
mod connector;
mod containment;
mod definition;
mod egress;
mod error;
mod exports;
mod invoke;
mod loopback;
pub mod manifest;
mod oauth;
mod observe;
mod pool;
mod progress;
mod results;
mod runner;
mod session;
mod tokens;
mod typed;
mod validate;
pub mod value;

pub use choices::ChoicesPage;
pub use client_tokens::RENEW_BEFORE;
pub use config::HostConfig;
pub use connection::{ACCESS_TOKEN, CONNECTION_KEY, Connection, SECRET_KEYS};
pub use connector::{CONNECTION_PARAM, Connector};
pub use definition::{
    ActionDefinition, Choice, ComponentDefinition, ComponentInfo, ConnectionDefinition,
    InputDefinition, InputType, PickerRef,
};
pub use egress::{EgressPolicy, REDACTED, SeenRequest};
pub use error::HostError;
pub use exports::ACTIONS_INTERFACE;
pub use invoke::{ActionError, ActionOutput, ErrorKind, HttpResponse, Invocation};
pub use loopback::{CALLBACK_PATH, Callback, RedirectError, RedirectListener};
pub use oauth::{Authorization, OAuthError, OAuthErrorKind, TokenSet};
pub use observe::{CallObserver, CallStats};
pub use pool::HttpPool;
pub use progress::{PROGRESS_MARK, Progress, ProgressSink};
pub use session::{DEFAULT_REFRESH_MARGIN, REFRESH_ON_KINDS, Session, SessionError};
pub use tokens::{TOKEN_FILE_ENV, TokenFile, TokenFileError, unix_now};
