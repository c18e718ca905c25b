//! The Microsoft Power BI connector: a WebAssembly component for workflow engines.
//!
//! The crate is split the sans-IO way. Everything that decides what to send and what an
//! answer means is plain Rust that builds and unit-tests natively:
//!
//! - [`definition`]: the labels, comments, defaults, types and bounds of every input (the
//!   connection's in it, each action's in the action's module), from which the WIT
//!   `describe` answer, `component-manifest.json` and `docs/` come;
//! - [`actions`]: one module per action, named once in the actions' registry; each defines
//!   its inputs and validates them into an [`exchange::Exchange`] (no request exists until
//!   the inputs are valid) and interprets the answers;
//! - [`exchange`]: the driver loop and its [`exchange::Transport`] seam, with the retry policy
//!   in [`retry`];
//! - [`http`], [`error`], [`columns`], [`paging`], [`multipart`]: the shared pieces.
//!
//! Only `component` (compiled for wasm32) touches the outside world: it is the wit-bindgen
//! glue plus a transport over wasi:http.
#![deny(missing_docs)]

#[macro_use]
mod contract;

pub mod actions;
pub mod columns;
pub mod connection;
pub mod definition;
pub mod error;
pub mod exchange;
pub mod http;
pub mod multipart;
pub mod oauth;
pub mod paging;
pub mod pickers;
pub mod poll;
pub mod retry;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod component;

pub use error::{ActionError, ErrorKind};
pub use exchange::{Output, drive};
