//! Loading a connector component and invoking its actions through wasmtime's dynamic
//! component API: any component exporting the definition and actions interfaces works.

use crate::connection::SECRET_KEYS;
use crate::containment::{
    CallBudget, EpochTicker, GuestLimits, HasBudget, Limit, YIELD_TICKS, cap_clock_waits,
    deadline_callback, failure_message, ticks_until_check,
};
use crate::definition::{ActionDefinition, ComponentDefinition};
use crate::egress::{EgressPolicy, SeenRequest, lock, scrub};
use crate::invoke::{ActionError, ActionOutput, HttpResponse, Invocation, parse_json_text};
use crate::oauth::{Authorization, OAuthError, OAuthErrorKind, TokenSet};
use crate::pool::HttpPool;
use crate::validate::{check_owned_inputs, schema_validator};
use crate::value::{json_into_val, json_to_val, val_to_json};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;
use wasmtime::component::{
    Component, ComponentExportIndex, InstancePre, Linker, ResourceTable, Type, Val,
    types::ComponentItem,
};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The exported interface holding `describe: func() -> component-definition`.
pub const DEFINITION_INTERFACE: &str = "root:component/definition";
/// The exported interface holding one function per action.
pub const ACTIONS_INTERFACE: &str = "root:component/actions";
/// The exported interface holding `authorize`, `exchange-code` and `refresh` (optional: a
/// component without it simply has no OAuth calls).
pub const OAUTH_INTERFACE: &str = "root:component/oauth";
/// The name of the describe function.
pub const DESCRIBE_FUNCTION: &str = "describe";
/// The name of the parameter that receives the connection.
pub const CONNECTION_PARAM: &str = "connection";

/// How the host runs a component.
///
/// Every limit ends only the invocation that reached it, with [`HostError::Call`] saying
/// which limit it was; the next invocation runs in a fresh instance as usual.
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
    /// Five minutes because the Power BI component may itself wait up to 60 s for one
    /// `Retry-After` and up to 30 s per backoff, and a debug build pushes 25,000 rows well
    /// within it; an engine with shorter steps should lower it.
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
    /// Where compiled components are cached on disk (see [`crate::cache`]); `None` (the
    /// default) compiles on every load. The CLI uses [`crate::cache::default_dir`].
    pub cache_dir: Option<PathBuf>,
    /// How many invocations may run at the same time on one [`Connector`] (default 32). Each
    /// gets a ready slot from wasmtime's pooling allocator (instance, linear memories,
    /// tables), so instantiating is cheap and dropping an instance resets its slot instead
    /// of unmapping its memory. The pool holds two linear memories per concurrent call on
    /// average; a call that finds no free slot fails with a `Call` error naming the limit.
    /// Each memory slot reserves about 4 GiB of address space (not of RAM): 256 GiB for the
    /// default 32, which a process limited by `RLIMIT_AS` must allow for.
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
    pub worker_threads: usize,
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
            cache_dir: None,
            max_concurrent_calls: 32,
            worker_threads: 1,
            extra_root_certificates: Vec::new(),
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

/// What can go wrong in the host itself (as opposed to an action's own [`ActionError`]).
///
/// Messages never contain the connection's secrets.
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

/// The state of one invocation's store.
struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    egress: EgressPolicy,
    limits: GuestLimits,
    budget: CallBudget,
}

impl HasBudget for HostState {
    fn budget(&mut self) -> &mut CallBudget {
        &mut self.budget
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.egress,
        }
    }
}

/// An invocation before its call (see [`Connector::prepare`]).
enum Prepared {
    /// The inputs were refused: this is the whole invocation.
    Refused(Invocation),
    /// The call to make.
    Call(PreparedCall),
}

/// A call ready to make.
struct PreparedCall {
    index: ComponentExportIndex,
    params: Vec<Val>,
    egress: EgressPolicy,
    secrets: Vec<String>,
}

/// One action function: where it is and what it takes.
#[derive(Clone)]
struct ActionFunc {
    index: ComponentExportIndex,
    params: Vec<(String, Type)>,
}

/// A loaded connector component: compiled once, instantiated afresh for every call.
///
/// The guest runs on the connector's own Tokio runtime with wasmtime's async WASI and
/// wasi:http bindings (so its waits for HTTP are awaits, not a `block_on` per wait); the
/// runtime's worker threads ([`HostConfig::worker_threads`]) drive the kept-alive
/// connections.
///
/// - [`Connector::invoke`] and [`Connector::invoke_owned`] block the calling thread on that
///   runtime: call them (and [`Connector::load`] and the OAuth calls) from plain threads,
///   never from inside a Tokio runtime, where they panic.
/// - [`Connector::invoke_async`] is for async engines: await it from any runtime; the call
///   runs as a task on the connector's runtime, and dropping the future stops it.
///
/// Dropping a connector is fine anywhere.
pub struct Connector {
    runner: Runner,
    definition: ComponentDefinition,
    definition_value: Value,
    actions: BTreeMap<String, ActionFunc>,
    /// The functions of the oauth interface; empty when the component does not export it.
    oauth: BTreeMap<String, ActionFunc>,
    /// Whether the compiled component was read from the disk cache.
    from_cache: bool,
    /// Each action's compiled input schema, made once at load.
    validators: BTreeMap<String, jsonschema::Validator>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("component", &self.definition.info.key)
            .field("actions", &self.actions.keys().collect::<Vec<_>>())
            .field("oauth", &self.oauth.keys().collect::<Vec<_>>())
            .field("config", &self.runner.config)
            .finish()
    }
}

impl Connector {
    /// Loads the component built from this workspace (see [`crate::component_path`]).
    pub fn bundled(config: HostConfig) -> Result<Self, HostError> {
        Self::load(crate::component_path(), config)
    }

    /// Compiles the component at `path`, links WASI and wasi:http, and reads its definition.
    ///
    /// With [`HostConfig::cache_dir`] set, the compiled form is kept there and reused by
    /// later loads of the same component on the same engine configuration.
    pub fn load(path: impl AsRef<Path>, config: HostConfig) -> Result<Self, HostError> {
        let path = path.as_ref();
        let engine = engine(&config)?;
        let load_error = |e: wasmtime::Error| HostError::Load {
            path: path.to_path_buf(),
            message: format!("{e:#}"),
        };
        let (component, cached) = match &config.cache_dir {
            Some(dir) => {
                let bytes = std::fs::read(path).map_err(|e| load_error(e.into()))?;
                crate::cache::load_or_compile(&engine, &bytes, dir).map_err(load_error)?
            }
            None => (
                Component::from_file(&engine, path).map_err(load_error)?,
                false,
            ),
        };
        let mut connector = Self::from_component(engine, component, config)?;
        connector.from_cache = cached;
        Ok(connector)
    }

    /// Whether the compiled component came from the disk cache.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// Like [`Connector::load`], from the component's bytes.
    pub fn from_bytes(bytes: &[u8], config: HostConfig) -> Result<Self, HostError> {
        let engine = engine(&config)?;
        let component = Component::new(&engine, bytes).map_err(|e| HostError::Load {
            path: PathBuf::from("<bytes>"),
            message: format!("{e:#}"),
        })?;
        Self::from_component(engine, component, config)
    }

    fn from_component(
        engine: Engine,
        component: Component,
        config: HostConfig,
    ) -> Result<Self, HostError> {
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| HostError::Setup(format!("{e:#}")))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| HostError::Setup(format!("{e:#}")))?;
        cap_clock_waits(&mut linker).map_err(|e| HostError::Setup(format!("{e:#}")))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| HostError::Setup(format!("{e:#}")))?;

        let definition_name = interface_name(&engine, &component, DEFINITION_INTERFACE)?;
        let definition_iface = component
            .get_export_index(None, definition_name.as_str())
            .ok_or_else(|| HostError::MissingExport(definition_name.clone()))?;
        let describe = component
            .get_export_index(Some(&definition_iface), DESCRIBE_FUNCTION)
            .ok_or_else(|| HostError::MissingExport(format!("{definition_name}#describe")))?;

        let actions_name = interface_name(&engine, &component, ACTIONS_INTERFACE)?;
        let actions = exported_functions(&engine, &component, &actions_name)?;
        // The oauth interface is optional: the actions work without it.
        let oauth = match interface_name(&engine, &component, OAUTH_INTERFACE) {
            Ok(name) => exported_functions(&engine, &component, &name)?,
            Err(_) => BTreeMap::new(),
        };

        let ticker = EpochTicker::start(&engine)
            .map_err(|e| HostError::Setup(format!("cannot start the epoch ticker: {e}")))?;
        let pool = HttpPool::trusting(&config.extra_root_certificates).map_err(HostError::Setup)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .enable_all()
            .build()
            .map_err(|e| HostError::Setup(format!("cannot start a runtime: {e}")))?;
        let runner = Runner {
            engine,
            pre,
            config,
            pool,
            runtime: Some(runtime),
            _ticker: ticker,
        };
        // describe needs no network: the default policy allows no host.
        let (result, _logs, _requests) =
            runner.call(&describe, DESCRIBE_FUNCTION, &[], EgressPolicy::default())?;
        let definition_value = val_to_json(&result);
        let definition: ComponentDefinition = serde_json::from_value(definition_value.clone())
            .map_err(|e| HostError::Definition(e.to_string()))?;
        let validators = definition
            .actions
            .iter()
            .map(|a| schema_validator(a).map(|v| (a.key.clone(), v)))
            .collect::<Result<_, _>>()
            .map_err(HostError::Definition)?;
        Ok(Self {
            runner,
            definition,
            definition_value,
            actions,
            oauth,
            from_cache: false,
            validators,
        })
    }

    /// The component's definition.
    pub fn definition(&self) -> &ComponentDefinition {
        &self.definition
    }

    /// The definition exactly as `describe` returned it, as JSON (WIT field names).
    pub fn definition_json(&self) -> &Value {
        &self.definition_value
    }

    /// The host configuration in use.
    pub fn config(&self) -> &HostConfig {
        &self.runner.config
    }

    /// Replaces the host configuration for the invocations that follow (the compiled
    /// component and its definition are kept). What was built at load stays as loaded: the
    /// instance pool (`max_concurrent_calls`, `max_instances`, `max_tables`, `max_memories`,
    /// `max_table_elements`, and slots no larger than the `memory_limit_bytes` given then),
    /// the compiled-component cache (`cache_dir`), the trusted certificates and the
    /// runtime's `worker_threads`.
    pub fn set_config(&mut self, config: HostConfig) {
        self.runner.config = config;
    }

    /// The action whose key is `key`.
    pub fn action(&self, key: &str) -> Option<&ActionDefinition> {
        self.definition.action(key)
    }

    /// The keys of the functions the actions interface exports.
    pub fn exported_actions(&self) -> impl Iterator<Item = &str> {
        self.actions.keys().map(String::as_str)
    }

    /// The egress policy of one invocation with `connection`: the configured (or default)
    /// hosts and redirects, the secrets to scrub, and the connector's kept-alive connections.
    fn egress(&self, connection: &Value, secrets: Vec<String>) -> EgressPolicy {
        let mut egress = EgressPolicy::new(
            self.runner
                .config
                .allow_hosts
                .clone()
                .unwrap_or_else(|| self.default_allow_hosts(connection)),
            self.runner.config.redirects.clone(),
        )
        .with_pool(self.runner.pool.clone());
        egress.secrets = secrets;
        egress
    }

    /// The hosts allowed by default for `connection`: the host of the definition's
    /// `api-base-url` and of the connection's `authorize-url` and `token-url` (their
    /// definition defaults when the connection leaves them empty).
    pub fn default_allow_hosts(&self, connection: &Value) -> Vec<String> {
        let mut urls = vec![self.definition.info.api_base_url.clone()];
        for key in ["authorize-url", "token-url"] {
            let given = connection
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty());
            if let Some(url) = given.or_else(|| self.definition.connection_default(key)) {
                urls.push(url.to_string());
            }
        }
        let mut hosts: Vec<String> = Vec::new();
        for url in urls {
            if let Some(host) = Url::parse(&url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                && !hosts.contains(&host)
            {
                hosts.push(host);
            }
        }
        hosts
    }

    /// Checks `inputs` against the action's definition and converts them to the action's
    /// input record, without running anything. The outer error is a host problem (unknown
    /// action); the inner one the `invalid-input` error an invocation would return.
    pub fn input_value(
        &self,
        action_key: &str,
        inputs: &Value,
    ) -> Result<Result<Val, ActionError>, HostError> {
        self.owned_input_value(action_key, inputs.clone())
    }

    /// [`Connector::input_value`] taking the inputs by value: their strings move into the
    /// record instead of being copied.
    fn owned_input_value(
        &self,
        action_key: &str,
        inputs: Value,
    ) -> Result<Result<Val, ActionError>, HostError> {
        let (definition, func) = self.lookup(action_key)?;
        let checked = match check_owned_inputs(definition, inputs, self.validators.get(action_key))
        {
            Ok(checked) => Value::Object(checked),
            Err(error) => return Ok(Err(*error)),
        };
        let Some((_, input_ty)) = func
            .params
            .iter()
            .find(|(name, _)| name != CONNECTION_PARAM)
        else {
            return Err(HostError::MissingExport(format!(
                "{ACTIONS_INTERFACE}#{action_key} input parameter"
            )));
        };
        Ok(json_into_val(Some(checked), input_ty)
            .map_err(|error| ActionError::invalid_input(error.top_key(), error.to_string())))
    }

    /// Runs the action `action_key` with `connection` (an object with the connection
    /// record's fields: `authorize-url`, `token-url`, `scopes`, `client-id`,
    /// `client-secret`, `access-token`) and `inputs` (an object keyed by input key).
    ///
    /// The inputs are checked against the action's definition first; if they fail, the
    /// result is an `invalid-input` [`ActionError`] and the component is not run (so no
    /// request is sent). Otherwise a fresh instance runs the action's function with the
    /// host's egress policy; a trap or a limit gives [`HostError::Call`], and the next
    /// invocation is unaffected.
    ///
    /// The inputs are copied once; [`Connector::invoke_owned`] takes them by value instead.
    /// Must not be called from inside a Tokio runtime (see [`Connector`]).
    pub fn invoke(
        &self,
        action_key: &str,
        connection: &Value,
        inputs: &Value,
    ) -> Result<Invocation, HostError> {
        self.invoke_owned(action_key, connection, inputs.clone())
    }

    /// [`Connector::invoke`] taking the inputs by value: they are checked, normalized and
    /// handed to the component without a copy on the host's side (a large input, such as the
    /// rows of a push, is then in memory once until the guest has it).
    pub fn invoke_owned(
        &self,
        action_key: &str,
        connection: &Value,
        inputs: Value,
    ) -> Result<Invocation, HostError> {
        let call = match self.prepare(action_key, connection, inputs)? {
            Prepared::Refused(invocation) => return Ok(invocation),
            Prepared::Call(call) => call,
        };
        let called = self
            .runner
            .call(&call.index, action_key, &call.params, call.egress)?;
        invocation(action_key, called, &call.secrets)
    }

    /// [`Connector::invoke_owned`] for async engines: the same checks, instance, limits and
    /// result, awaited instead of blocking the thread. Call it from any Tokio runtime (or
    /// any executor): the guest runs as a task on the connector's own runtime, which also
    /// drives its kept-alive connections. Dropping the future aborts the task: the guest
    /// stops at its next wait or yield (within about 50 ms), and its instance is freed then.
    ///
    /// The awaiting task itself checks and converts the inputs (they move, a million rows
    /// included, so this is quick) and reads the result's JSON.
    pub async fn invoke_async(
        &self,
        action_key: &str,
        connection: &Value,
        inputs: Value,
    ) -> Result<Invocation, HostError> {
        let call = match self.prepare(action_key, connection, inputs)? {
            Prepared::Refused(invocation) => return Ok(invocation),
            Prepared::Call(call) => call,
        };
        let called = self
            .runner
            .call_async(&call.index, action_key, call.params, call.egress)
            .await?;
        invocation(action_key, called, &call.secrets)
    }

    /// Everything an invocation needs before its call: the inputs checked and converted (or
    /// refused), the connection converted, the egress policy.
    fn prepare(
        &self,
        action_key: &str,
        connection: &Value,
        inputs: Value,
    ) -> Result<Prepared, HostError> {
        let (_, func) = self.lookup(action_key)?;
        let mut input_val = match self.owned_input_value(action_key, inputs)? {
            Ok(val) => Some(val),
            Err(error) => {
                return Ok(Prepared::Refused(Invocation {
                    result: Err(error),
                    logs: String::new(),
                    requests: Vec::new(),
                }));
            }
        };

        let secrets = secrets_of(connection);
        let none = Value::Object(Default::default());
        let connection_json = if connection.is_null() {
            &none
        } else {
            connection
        };
        let mut params = Vec::with_capacity(func.params.len());
        for (name, ty) in &func.params {
            if name == CONNECTION_PARAM {
                let val = json_to_val(Some(connection_json), ty)
                    .map_err(|e| HostError::Connection(scrub(&e.to_string(), &secrets)))?;
                params.push(val);
            } else if let Some(input) = input_val.take() {
                params.push(input);
            } else {
                return Err(HostError::MissingExport(format!(
                    "{ACTIONS_INTERFACE}#{action_key} with one input parameter"
                )));
            }
        }
        Ok(Prepared::Call(PreparedCall {
            index: func.index,
            params,
            egress: self.egress(connection, secrets.clone()),
            secrets,
        }))
    }

    /// Whether the component exports the oauth interface.
    pub fn has_oauth(&self) -> bool {
        !self.oauth.is_empty()
    }

    /// Starts an authorization-code flow: the component builds the authorization URL for
    /// `connection` (the same object [`Connector::invoke`] takes; its `access-token` is not
    /// needed) and `redirect_uri`, with a fresh state and PKCE code verifier.
    ///
    /// The outer error is a host problem (no oauth export, a trap); the inner one the
    /// component's own [`OAuthError`].
    pub fn oauth_authorize(
        &self,
        connection: &Value,
        redirect_uri: &str,
    ) -> Result<Result<Authorization, OAuthError>, HostError> {
        let result = self.call_oauth(
            "authorize",
            connection,
            &[OAuthArg::plain("redirect-uri", redirect_uri)],
        )?;
        oauth_result("authorize", &result, &[])
    }

    /// Exchanges the `code` the redirect brought (and the flow's `code_verifier`) for tokens,
    /// through the component and the host's egress policy: the token endpoint's host must be
    /// allowed or redirected.
    pub fn oauth_exchange_code(
        &self,
        connection: &Value,
        redirect_uri: &str,
        code: &str,
        code_verifier: &str,
    ) -> Result<Result<TokenSet, OAuthError>, HostError> {
        let args = [
            OAuthArg::plain("redirect-uri", redirect_uri),
            OAuthArg::secret("code", code),
            OAuthArg::secret("code-verifier", code_verifier),
        ];
        let result = self.call_oauth("exchange-code", connection, &args)?;
        oauth_result(
            "exchange-code",
            &result,
            &secrets_of_args(connection, &args),
        )
    }

    /// Trades `refresh_token` for new tokens, through the component and the host's egress
    /// policy. A new refresh token in the answer replaces the old one.
    pub fn oauth_refresh(
        &self,
        connection: &Value,
        refresh_token: &str,
    ) -> Result<Result<TokenSet, OAuthError>, HostError> {
        let args = [OAuthArg::secret("refresh-token", refresh_token)];
        let result = self.call_oauth("refresh", connection, &args)?;
        oauth_result("refresh", &result, &secrets_of_args(connection, &args))
    }

    /// Calls a function of the oauth interface in a fresh instance, with the connection and
    /// the string arguments matched to its parameters by name.
    fn call_oauth(
        &self,
        function: &str,
        connection: &Value,
        args: &[OAuthArg<'_>],
    ) -> Result<Val, HostError> {
        let func = self
            .oauth
            .get(function)
            .ok_or_else(|| HostError::MissingExport(format!("{OAUTH_INTERFACE}#{function}")))?;
        let secrets = secrets_of_args(connection, args);
        let mut params = Vec::with_capacity(func.params.len());
        for (name, ty) in &func.params {
            let value = if name == CONNECTION_PARAM {
                match connection {
                    Value::Null => Value::Object(Default::default()),
                    other => other.clone(),
                }
            } else {
                let arg = args.iter().find(|arg| arg.name == name).ok_or_else(|| {
                    HostError::MissingExport(format!(
                        "{OAUTH_INTERFACE}#{function} with a parameter `{name}` the host knows"
                    ))
                })?;
                Value::String(arg.value.to_string())
            };
            // Conversion errors name the path, never the value.
            let val = json_into_val(Some(value), ty).map_err(|e| {
                let message = scrub(&e.to_string(), &secrets);
                if name == CONNECTION_PARAM {
                    HostError::Connection(message)
                } else {
                    HostError::UnexpectedResult {
                        function: function.to_string(),
                        message: format!("parameter `{name}`: {message}"),
                    }
                }
            })?;
            params.push(val);
        }

        let egress = self.egress(connection, secrets);
        // The guest's logs are dropped on success: they may hold what the token endpoint
        // answered. A failure's logs are scrubbed of every secret the host knows.
        let (result, _logs, _requests) =
            self.runner.call(&func.index, function, &params, egress)?;
        Ok(result)
    }

    fn lookup(&self, action_key: &str) -> Result<(&ActionDefinition, &ActionFunc), HostError> {
        let definition = self
            .definition
            .action(action_key)
            .ok_or_else(|| HostError::UnknownAction(action_key.to_string()))?;
        let func = self
            .actions
            .get(action_key)
            .ok_or_else(|| HostError::MissingExport(format!("{ACTIONS_INTERFACE}#{action_key}")))?;
        Ok((definition, func))
    }
}

/// The engine every component is compiled with: epoch interruption on, so that the call
/// deadline can stop guest code (a few percent slower than without), and the pooling
/// allocator sized by `host` (see [`HostConfig::max_concurrent_calls`]).
fn engine(host: &HostConfig) -> Result<Engine, HostError> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.allocation_strategy(pooling(host));
    // For profiling: `PBI_PERFMAP=1` makes wasmtime write `/tmp/perf-<pid>.map`, so that
    // `perf report` names the guest's functions (docs/performance.md, "Reproducing the profiles").
    if std::env::var_os("PBI_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Engine::new(&config).map_err(|e| HostError::Setup(format!("{e:#}")))
}

/// The pool of instance slots: per component, the same limits the store's limiter applies;
/// in total, enough for `max_concurrent_calls` components of the usual shape.
///
/// Every linear memory slot reserves its full address range (wasmtime's default
/// reservation, a few GiB of address space, not of RAM), so the totals stay small.
fn pooling(host: &HostConfig) -> wasmtime::PoolingAllocationConfig {
    let calls = host.max_concurrent_calls.max(1);
    let mut pool = wasmtime::PoolingAllocationConfig::new();
    pool.total_component_instances(calls)
        .total_core_instances(calls.saturating_mul(8))
        .total_memories(calls.saturating_mul(2))
        .total_tables(calls.saturating_mul(8))
        // A slot cannot be larger than wasmtime's memory reservation (4 GiB, which is also
        // all a 32-bit memory can address); the store's limiter applies the configured limit.
        .max_memory_size(host.memory_limit_bytes.min(MAX_SLOT_MEMORY_BYTES))
        .table_elements(host.max_table_elements)
        .max_core_instances_per_component(clamp_u32(host.max_instances))
        .max_memories_per_component(clamp_u32(host.max_memories))
        .max_tables_per_component(clamp_u32(host.max_tables))
        // A freed slot keeps its first pages mapped and zeroes them instead of handing them
        // back to the kernel: the next instance does not fault them in again.
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES);
    pool
}

/// The largest linear memory a pool slot holds (see [`pooling`]).
const MAX_SLOT_MEMORY_BYTES: usize = 4 << 30;

/// How much of a freed memory or table slot stays mapped (see [`pooling`]): about what one
/// List Datasets call touches.
const KEEP_RESIDENT_BYTES: usize = 2 * 1024 * 1024;

fn clamp_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// The compiled component, linked, ready to instantiate.
struct Runner {
    engine: Engine,
    pre: InstancePre<HostState>,
    config: HostConfig,
    /// Kept-alive connections, shared by every invocation (see [`crate::pool`]).
    pool: HttpPool,
    /// Runs blocking invocations on the calling thread (`block_on`) and async ones as tasks
    /// on its worker threads (`HostConfig::worker_threads`), which also drive the pool's
    /// connections, so that they are driven (and closed) between invocations. Always
    /// `Some` until dropped (see the `Drop` impl).
    runtime: Option<tokio::runtime::Runtime>,
    /// Advances the engine's epoch until the engine is gone (after the runner and its last
    /// store, see [`EpochTicker`]).
    _ticker: EpochTicker,
}

impl Drop for Runner {
    fn drop(&mut self) {
        // Dropping a runtime inside an async context panics; shutting it down in the
        // background does not, so a connector may be dropped anywhere.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// How long past the call's deadline the host waits for the guest to end on its own (the
/// epoch ticker and the cut waits stop it within a few ticks) before dropping the call.
const DEADLINE_GRACE: Duration = Duration::from_millis(500);

impl Runner {
    /// Calls one exported function in a fresh store, blocking the calling thread on the
    /// runner's runtime; returns its single result, the guest's output and the requests it
    /// sent.
    fn call(
        &self,
        index: &ComponentExportIndex,
        function: &str,
        params: &[Val],
        egress: EgressPolicy,
    ) -> Result<(Val, String, Vec<SeenRequest>), HostError> {
        let (mut store, watch) = self.store(egress);
        let outcome =
            self.runtime()
                .block_on(run(&self.pre, &mut store, *index, params, watch.deadline));
        drop(store);
        watch.finish(outcome, function)
    }

    /// [`Runner::call`] as a task on the runner's runtime, awaited from any other runtime
    /// (or none). Dropping the returned future stops the call at its next wait.
    async fn call_async(
        &self,
        index: &ComponentExportIndex,
        function: &str,
        params: Vec<Val>,
        egress: EgressPolicy,
    ) -> Result<(Val, String, Vec<SeenRequest>), HostError> {
        let (mut store, watch) = self.store(egress);
        let (pre, index, deadline) = (self.pre.clone(), *index, watch.deadline);
        let mut task = AbortOnDrop(
            self.runtime()
                .spawn(async move { run(&pre, &mut store, index, &params, deadline).await }),
        );
        let outcome = match (&mut task.0).await {
            Ok(outcome) => outcome,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => Err(wasmtime::format_err!("the call was cancelled")),
        };
        watch.finish(outcome, function)
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the runner")
    }

    /// A fresh store for one call, with its budget, egress policy and limits, and what the
    /// host reads from the call afterwards.
    fn store(&self, mut egress: EgressPolicy) -> (Store<HostState>, CallWatch) {
        // The budget covers everything from here: instantiation, the call, its host waits.
        let budget = CallBudget::starting_now(self.config.call_timeout);
        let call_deadline = budget.deadline;
        egress.deadline = Some(budget.deadline);
        egress.max_response_bytes = Some(self.config.max_response_bytes);
        let output = MemoryOutputPipe::new(self.config.log_capacity_bytes);
        // No env, args, preopens or sockets: the guest's only way out is wasi:http, through
        // the egress policy.
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let watch = CallWatch {
            output,
            secrets: egress.secrets.clone(),
            log: egress.log.clone(),
            deadline: tokio::time::Instant::from_std(call_deadline) + DEADLINE_GRACE,
            limit: self.config.call_timeout,
        };
        let state = HostState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            egress,
            limits: GuestLimits {
                memory_bytes: self.config.memory_limit_bytes,
                table_elements: self.config.max_table_elements,
                instances: self.config.max_instances,
                tables: self.config.max_tables,
                memories: self.config.max_memories,
            },
            budget,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(ticks_until_check(self.config.call_timeout).min(YIELD_TICKS));
        store.epoch_deadline_callback(deadline_callback);
        (store, watch)
    }
}

/// Instantiates and calls `index` in `store`. The guest runs on a fiber inside this future:
/// its waits for HTTP are awaits on the runtime that also drives the connections.
async fn run(
    pre: &InstancePre<HostState>,
    store: &mut Store<HostState>,
    index: ComponentExportIndex,
    params: &[Val],
    deadline: tokio::time::Instant,
) -> wasmtime::Result<Vec<Val>> {
    let limit = store.data().budget.limit;
    let call = async {
        let instance = pre.instantiate_async(&mut *store).await?;
        let func = instance
            .get_func(&mut *store, index)
            .ok_or_else(|| wasmtime::format_err!("the export is not a function"))?;
        let mut results = vec![Val::Bool(false); func.ty(&*store).results().len()];
        func.call_async(&mut *store, params, &mut results).await?;
        Ok::<_, wasmtime::Error>(results)
    };
    // Epoch interruption stops running guest code, and the egress and clock waits end by the
    // deadline; this ends a guest stuck in any other host await (a body write into a
    // connection the server stopped reading). The store is dropped after it.
    tokio::time::timeout_at(deadline, call)
        .await
        .unwrap_or_else(|_| Err(wasmtime::Error::new(Limit::CallTimeout(limit))))
}

/// What the host keeps of a call's store to read once the call is over.
struct CallWatch {
    output: MemoryOutputPipe,
    secrets: Vec<String>,
    log: std::sync::Arc<std::sync::Mutex<Vec<SeenRequest>>>,
    /// The call's deadline plus [`DEADLINE_GRACE`].
    deadline: tokio::time::Instant,
    limit: Duration,
}

impl CallWatch {
    /// The call's single result, the guest's output and the requests it sent; or the
    /// error, scrubbed of the connection's secrets.
    fn finish(
        self,
        outcome: wasmtime::Result<Vec<Val>>,
        function: &str,
    ) -> Result<(Val, String, Vec<SeenRequest>), HostError> {
        let logs = scrub(
            &String::from_utf8_lossy(&self.output.contents()),
            &self.secrets,
        );
        let requests = lock(&self.log).clone();
        match outcome {
            Ok(mut results) if results.len() == 1 => Ok((results.remove(0), logs, requests)),
            Ok(results) => Err(HostError::UnexpectedResult {
                function: function.to_string(),
                message: format!("{} results instead of one", results.len()),
            }),
            Err(error) => Err(HostError::Call {
                function: function.to_string(),
                message: scrub(&failure_message(&error, self.limit), &self.secrets),
                logs,
                requests,
            }),
        }
    }
}

/// A spawned call that is aborted when the future awaiting it is dropped (an engine that
/// cancels a step stops its guest).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The functions an exported interface holds, by name, with their parameters.
fn exported_functions(
    engine: &Engine,
    component: &Component,
    interface: &str,
) -> Result<BTreeMap<String, ActionFunc>, HostError> {
    let interface_index = component
        .get_export_index(None, interface)
        .ok_or_else(|| HostError::MissingExport(interface.to_string()))?;
    let mut functions = BTreeMap::new();
    let component_type = component.component_type();
    if let Some(ComponentItem::ComponentInstance(instance)) = component_type
        .get_export(engine, interface)
        .map(|export| export.ty)
    {
        for (name, export) in instance.exports(engine) {
            let ComponentItem::ComponentFunc(func) = export.ty else {
                continue;
            };
            let Some(index) = component.get_export_index(Some(&interface_index), name) else {
                continue;
            };
            let params = func
                .params()
                .map(|(param, ty)| (param.to_string(), ty))
                .collect();
            functions.insert(name.to_string(), ActionFunc { index, params });
        }
    }
    Ok(functions)
}

/// The export name matching `wanted`: exactly, or the same interface at another version.
fn interface_name(
    engine: &Engine,
    component: &Component,
    wanted: &str,
) -> Result<String, HostError> {
    let component_type = component.component_type();
    if component_type.get_export(engine, wanted).is_some() {
        return Ok(wanted.to_string());
    }
    let unversioned = wanted.split('@').next().unwrap_or(wanted);
    component_type
        .exports(engine)
        .map(|(name, _)| name)
        .find(|name| name.split('@').next() == Some(unversioned))
        .map(str::to_string)
        .ok_or_else(|| HostError::MissingExport(wanted.to_string()))
}

/// The connection's secret values, to scrub from logs and errors.
fn secrets_of(connection: &Value) -> Vec<String> {
    SECRET_KEYS
        .iter()
        .filter_map(|key| connection.get(*key).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// One string argument of an oauth function, by its WIT parameter name.
struct OAuthArg<'a> {
    name: &'a str,
    value: &'a str,
    /// Whether the value is scrubbed from logs and errors.
    secret: bool,
}

impl<'a> OAuthArg<'a> {
    fn plain(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            value,
            secret: false,
        }
    }

    fn secret(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            value,
            secret: true,
        }
    }
}

/// The connection's secrets and the secret arguments of an oauth call.
fn secrets_of_args(connection: &Value, args: &[OAuthArg<'_>]) -> Vec<String> {
    let mut secrets = secrets_of(connection);
    secrets.extend(
        args.iter()
            .filter(|arg| arg.secret && !arg.value.is_empty())
            .map(|arg| arg.value.to_string()),
    );
    secrets
}

/// The `oauth-error` record as JSON.
#[derive(Deserialize)]
struct RawOAuthError {
    kind: OAuthErrorKind,
    message: String,
    code: Option<String>,
    input: Option<String>,
}

/// Reads `result<T, oauth-error>`, scrubbing `secrets` from the error's message.
fn oauth_result<T: serde::de::DeserializeOwned>(
    function: &str,
    result: &Val,
    secrets: &[String],
) -> Result<Result<T, OAuthError>, HostError> {
    // serde's messages may quote the value they could not read, which may be a token: only
    // the kind of problem is kept.
    let unexpected = |what: &str| HostError::UnexpectedResult {
        function: function.to_string(),
        message: what.to_string(),
    };
    let Val::Result(result) = result else {
        return Err(unexpected("not a result"));
    };
    match result {
        Ok(Some(value)) => serde_json::from_value(val_to_json(value))
            .map(Ok)
            .map_err(|_| unexpected("the ok payload does not have the contract's shape")),
        Err(Some(error)) => {
            let raw: RawOAuthError = serde_json::from_value(val_to_json(error))
                .map_err(|_| unexpected("not an oauth-error record"))?;
            Ok(Err(OAuthError {
                kind: raw.kind,
                // The component promises never to echo secrets; the host makes sure.
                message: scrub(&raw.message, secrets),
                code: raw.code,
                input: raw.input,
            }))
        }
        _ => Err(unexpected("a result without a payload")),
    }
}

/// The `output` record as JSON, but for `data` (see [`action_result`]).
#[derive(Deserialize)]
struct RawOutput {
    http: Option<HttpResponse>,
}

/// The `action-error` record as JSON: `progress` is JSON text.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawError {
    kind: String,
    message: String,
    input: Option<String>,
    status: Option<u16>,
    code: Option<String>,
    retry_after_seconds: Option<u32>,
    progress: Option<String>,
}

/// An action's invocation from what its call returned.
fn invocation(
    action_key: &str,
    (result, logs, requests): (Val, String, Vec<SeenRequest>),
    secrets: &[String],
) -> Result<Invocation, HostError> {
    Ok(Invocation {
        result: action_result(action_key, result, secrets)?,
        logs,
        requests,
    })
}

/// Reads `result<output, action-error>`.
fn action_result(
    function: &str,
    result: Val,
    secrets: &[String],
) -> Result<Result<ActionOutput, ActionError>, HostError> {
    let unexpected = |message: String| HostError::UnexpectedResult {
        function: function.to_string(),
        message,
    };
    let Val::Result(result) = result else {
        return Err(unexpected("not a result".to_string()));
    };
    match result {
        Ok(Some(output)) => {
            // `data` (all of an answer's JSON) moves out of the record; only the small rest
            // goes through JSON.
            let Val::Record(mut fields) = *output else {
                return Err(unexpected("not an output record".to_string()));
            };
            let data = match fields.iter().position(|(name, _)| name == "data") {
                Some(at) => match fields.remove(at).1 {
                    Val::String(data) => data,
                    _ => return Err(unexpected("the output's data is not a string".to_string())),
                },
                None => return Err(unexpected("an output record without data".to_string())),
            };
            let raw: RawOutput = serde_json::from_value(val_to_json(&Val::Record(fields)))
                .map_err(|e| unexpected(scrub(&format!("not an output record: {e}"), secrets)))?;
            Ok(Ok(ActionOutput {
                data: parse_json_text(data),
                http: raw.http,
            }))
        }
        Err(Some(error)) => {
            // serde's messages may quote a value: scrubbed like everything the guest says.
            let raw: RawError = serde_json::from_value(val_to_json(&error)).map_err(|e| {
                unexpected(scrub(&format!("not an action-error record: {e}"), secrets))
            })?;
            Ok(Err(ActionError {
                kind: raw.kind,
                // The component promises never to echo secrets; the host makes sure.
                message: scrub(&raw.message, secrets),
                input: raw.input,
                status: raw.status,
                code: raw.code,
                retry_after_seconds: raw.retry_after_seconds,
                progress: raw.progress.map(parse_json_text),
            }))
        }
        _ => Err(unexpected("a result without a payload".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The misbehaving test component (`crates/misbehave`), built by the build script.
    const MISBEHAVE: &str = env!("PBI_MISBEHAVE_WASM");

    #[test]
    fn the_epoch_ticker_stops_when_the_connector_is_dropped() -> anyhow::Result<()> {
        let connector = Connector::load(MISBEHAVE, HostConfig::default())?;
        let alive = connector.runner._ticker.alive();
        assert!(
            alive.upgrade().is_some(),
            "the ticker runs while the connector lives"
        );
        drop(connector);
        // The thread ends at its first tick without the engine.
        let dropped = std::time::Instant::now();
        while alive.upgrade().is_some() {
            assert!(
                dropped.elapsed() < Duration::from_secs(5),
                "the ticker thread outlived its connector"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    #[test]
    fn a_guest_left_running_by_a_dropped_connector_still_ends() -> anyhow::Result<()> {
        let connector = Connector::load(
            MISBEHAVE,
            HostConfig {
                call_timeout: Duration::from_secs(120),
                ..HostConfig::default()
            },
        )?;
        let component_engine = connector.runner.engine.weak();
        let engine = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        engine.block_on(async {
            // `list-groups` loops without ever calling the host; the engine gives up on it
            // and unloads the connector while the aborted guest still computes.
            let spinning =
                connector.invoke_async("list-groups", &Value::Null, serde_json::json!({}));
            let gave_up = tokio::time::timeout(Duration::from_millis(300), spinning).await;
            assert!(gave_up.is_err(), "the loop ended on its own");
        });
        drop(connector);
        // The guest reaches its next yield, its task is dropped, and with its store the
        // engine. Had the ticker stopped with the connector, the guest would spin on for good
        // and its store keep the engine alive.
        let dropped = std::time::Instant::now();
        while component_engine.upgrade().is_some() {
            anyhow::ensure!(
                dropped.elapsed() < Duration::from_secs(10),
                "the aborted guest still runs {:?} after its connector was dropped",
                dropped.elapsed()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}
