//! What can go wrong in the host itself.

use crate::egress::SeenRequest;
use std::path::PathBuf;

/// What can go wrong in the host itself (as opposed to an action's own [`ActionError`]).
///
/// Messages never contain the connection's secrets.
///
/// [`ActionError`]: crate::ActionError
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The component file could not be read or compiled.
    #[error("cannot load the component {path}: {message}")]
    Load {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The host's own setup (engine, linker) failed.
    #[error("cannot set up the host: {0}")]
    Setup(String),
    /// The component lacks an export the contract requires.
    #[error("the component does not export `{0}`")]
    MissingExport(String),
    /// The component's definition could not be read.
    #[error("the component's definition is not valid: {0}")]
    Definition(String),
    /// No action has this key.
    #[error("the component has no action `{0}`")]
    UnknownAction(String),
    /// The action has no input with this key.
    #[error("the action `{action}` has no input `{input}`")]
    UnknownInput {
        /// The action's key.
        action: String,
        /// The input key asked for.
        input: String,
    },
    /// The input's definition names no picker, so its values cannot be listed.
    #[error("the input `{input}` of `{action}` has no picker: its values cannot be listed")]
    NoPicker {
        /// The action's key.
        action: String,
        /// The input's key.
        input: String,
    },
    /// The connection could not be turned into the component's connection record.
    #[error("the connection is not valid: {0}")]
    Connection(String),
    /// Instantiating or calling the component failed: a trap, a panic in the guest, a limit.
    #[error("`{function}` failed: {message}")]
    Call {
        /// The function called.
        function: String,
        /// The limit reached ("the component ran longer than the 2 s call limit", "the
        /// component exceeded its memory limit of 16 MiB (…)"), or what wasmtime reported
        /// (a trap with its wasm backtrace).
        message: String,
        /// What the guest wrote to stdout and stderr before it failed.
        logs: String,
        /// The requests the guest sent before it failed.
        requests: Vec<SeenRequest>,
        /// The last progress the action reported before it failed (also named at the end
        /// of `message`): for Create Rows, `done` rows from its Start Row on had been
        /// acknowledged by the service, and the batch in flight may or may not have been
        /// stored. Boxed: it is rare, and keeps every `Result` of the host small.
        progress: Option<Box<crate::Progress>>,
    },
    /// The function returned something other than `result<output, action-error>`.
    #[error("`{function}` returned an unexpected value: {message}")]
    UnexpectedResult {
        /// The function called.
        function: String,
        /// What was wrong.
        message: String,
    },
}
