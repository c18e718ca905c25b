//! How the host runs a component: limits, egress, caching and threads.

use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// How the host runs a component.
///
/// Every limit ends only the invocation that reached it, with [`HostError::Call`] saying
/// which limit it was; the next invocation runs in a fresh instance as usual.
///
/// [`HostError::Call`]: crate::HostError::Call
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The most linear memory one invocation may use, in bytes (default 256 MiB), per
    /// memory. Growing past it (or instantiating a larger one) traps: "the component
    /// exceeded its memory limit of …".
    pub memory_limit_bytes: usize,
    /// The longest one invocation (instantiation and call, including the guest's waits for
    /// HTTP answers and its sleeps) may take, wall-clock (default 5 minutes). Past it the
    /// guest is stopped: "the component ran longer than the … call limit". HTTP timeouts the
    /// guest asks for are cut to what is left of it. Budgets over a year count as a year.
    ///
    /// Five minutes because a component may itself wait a minute for one `Retry-After` and
    /// longer over its retries (the Power BI connector waits up to 60 s and up to 30 s per
    /// backoff); an engine with shorter steps should lower it.
    pub call_timeout: Duration,
    /// The largest HTTP answer body the guest may read, in bytes (default 64 MiB). Reading
    /// past it, or reading an answer whose `Content-Length` is larger, fails in the guest's
    /// body stream with "HTTP response body size exceeds limit: N bytes" (wasmtime 48 hands
    /// body-stream errors to the guest as text: `http-error-code` gives none for them).
    pub max_response_bytes: u64,
    /// The most elements one table may grow to (default 100,000). Growing past it traps.
    pub max_table_elements: usize,
    /// The most core instances one invocation may create (default 100). A component
    /// creates a fixed number of them, so this refuses only unusually large components.
    pub max_instances: usize,
    /// The most tables one invocation may create (default 100).
    pub max_tables: usize,
    /// The most linear memories one invocation may create (default 10): each may use up to
    /// `memory_limit_bytes`.
    pub max_memories: usize,
    /// The most the guest may write to stdout and stderr together, in bytes (default 1 MiB);
    /// a write past it fails in the guest.
    pub log_capacity_bytes: usize,
    /// The hosts the guest may reach. `None` (the default) allows the host of the
    /// definition's `api-base-url` and the hosts of the connection's `authorize-url` and
    /// `token-url` (or their defaults in the connection definition).
    pub allow_hosts: Option<Vec<String>>,
    /// Hosts whose requests go to another base URL instead (for example a local emulator
    /// at `http://127.0.0.1:PORT`). Redirected hosts are always allowed.
    pub redirects: Vec<(String, Url)>,
    /// Where compiled components are cached on disk (see [`crate::cache`]); `None` compiles
    /// on every load. The default is the folder `$PBI_CACHE_DIR` names when it is set (the
    /// workspace's `.cargo/config.toml` sets it to `target/pbi-cache` for everything cargo
    /// runs, so that tests compile the component once), else `None`. The CLI falls back to
    /// [`crate::cache::default_dir`].
    pub cache_dir: Option<PathBuf>,
    /// How many invocations may run at the same time on one [`Connector`] (default 32). Each
    /// gets a ready slot from wasmtime's pooling allocator (instance, linear memories,
    /// tables), so instantiating is cheap and dropping an instance resets its slot instead
    /// of unmapping its memory. The pool holds two linear memories per concurrent call on
    /// average; a call that finds no free slot fails with a `Call` error naming the limit.
    /// Each memory slot reserves about 4 GiB of address space (not of RAM): 256 GiB for the
    /// default 32, which a process limited by `RLIMIT_AS` must allow for.
    ///
    /// [`Connector`]: crate::Connector
    pub max_concurrent_calls: u32,
    /// Certificates (DER) trusted for `https` besides the webpki roots: a private CA in
    /// front of the API, or a test server's own certificate (none by default).
    pub extra_root_certificates: Vec<Vec<u8>>,
    /// The threads of the connector's own Tokio runtime (default 1, at least 1). They drive
    /// the kept-alive connections, and [`Connector::invoke_async`] runs its guests on them:
    /// with more, async invocations compute in parallel. Either way a computing guest
    /// yields its thread every five epoch ticks (about 50 ms), and the thread then polls its
    /// sockets, timers and new tasks. Blocking invocations compute on their calling threads
    /// whatever this is; on a two-core machine a second thread made them about 20 % slower
    /// (docs/performance.md). Read when the connector is loaded.
    ///
    /// [`Connector::invoke_async`]: crate::Connector::invoke_async
    pub worker_threads: usize,
    /// Receives every call's phases (instantiation, call, peak memory, host calls), for an
    /// engine's metrics or a benchmark; none by default.
    pub observer: Option<std::sync::Arc<dyn crate::observe::CallObserver>>,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            memory_limit_bytes: 256 * 1024 * 1024,
            call_timeout: Duration::from_secs(5 * 60),
            max_response_bytes: 64 * 1024 * 1024,
            max_table_elements: 100_000,
            max_instances: 100,
            max_tables: 100,
            max_memories: 10,
            log_capacity_bytes: 1024 * 1024,
            allow_hosts: None,
            redirects: Vec::new(),
            cache_dir: std::env::var_os("PBI_CACHE_DIR")
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from),
            max_concurrent_calls: 32,
            worker_threads: 1,
            extra_root_certificates: Vec::new(),
            observer: None,
        }
    }
}

impl HostConfig {
    /// This configuration with requests to `host` sent to `to` instead.
    pub fn redirect(mut self, host: impl Into<String>, to: Url) -> Self {
        self.redirects.push((host.into(), to));
        self
    }
}
