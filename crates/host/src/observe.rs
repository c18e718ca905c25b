//! Watching calls from outside: an engine's metrics or a benchmark sees each call's phases
//! through a [`CallObserver`] set in [`crate::HostConfig::observer`], timed by the real host
//! (the bench uses it instead of a copy of the host).

use std::time::Duration;

/// What one call of a component did, phase by phase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallStats {
    /// The function called (an action's key, `describe`, or an oauth function).
    pub function: String,
    /// Instantiating the component in its fresh store.
    pub instantiate: Duration,
    /// The call itself, from the instance being ready to the result being read.
    pub call: Duration,
    /// The largest size any of the guest's linear memories was created with or grew to, in
    /// bytes.
    pub peak_memory_bytes: usize,
    /// The size of each linear memory when it was created, in bytes.
    pub initial_memory_bytes: Vec<usize>,
    /// How many times the guest called into the host (WASI and wasi:http functions), when
    /// the crate's `observe` feature is on (zero otherwise).
    pub host_calls: u64,
    /// The time the guest spent in those host calls (its waits for HTTP included).
    pub host_time: Duration,
    /// Whether the call returned (a trap or a limit is `false`).
    pub completed: bool,
}

/// Receives the [`CallStats`] of every call a connector makes, after the call and before
/// its result is handed back. It runs on the calling thread (or the runtime's, for
/// [`crate::Connector::invoke_async`]): it should be quick.
pub trait CallObserver: Send + Sync + std::fmt::Debug {
    /// A call is over.
    fn finished(&self, stats: &CallStats);
}
