//! A loaded connector component and its calls: loading and reading the definition, checking
//! and converting inputs, invoking actions (blocking or async), the OAuth calls, and listing
//! the choices of an input's picker.
//!
//! Any component that includes the contract's `workflow:connector/base` world and exports an
//! interface named `actions` works. The fixed interfaces are called through the typed
//! bindings of [`crate::bindings`]; the actions, whose input records are each component's
//! own, through wasmtime's dynamic component API.

use crate::bindings::{choices_iface, definition_iface, oauth_iface};
use crate::choices::{ChoicesPage, request as choices_request};
use crate::config::HostConfig;
use crate::connection::{Connection, SECRET_KEYS};
use crate::containment::{EpochTicker, cap_clock_waits};
use crate::definition::{ActionDefinition, ComponentDefinition};
use crate::egress::{EgressPolicy, scrub};
use crate::error::HostError;
use crate::exports::{ActionFunc, actions_interface, describe_index, exported_functions};
use crate::invoke::{ActionError, Invocation};
use crate::oauth::{Authorization, OAuthError, TokenSet};
use crate::pool::HttpPool;
use crate::results::action_result;
use crate::runner::{Dynamic, HostState, Runner, engine};
use crate::typed::{Describe, ListChoices, OAuthAnswer, OAuthCall, OAuthInvocation};
use crate::validate::{check_owned_inputs, schema_validator};
use crate::value::{json_into_val, val_to_json};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker, Val};

/// The name of the parameter that receives the connection.
pub const CONNECTION_PARAM: &str = "connection";

/// An invocation before its call (see [`Connector::prepare`]).
enum Prepared {
    /// The inputs were refused: this is the whole invocation.
    Refused(Invocation),
    /// The call to make.
    Call(PreparedCall),
}

/// A call ready to make.
struct PreparedCall {
    dynamic: Dynamic,
    egress: EgressPolicy,
    secrets: Vec<String>,
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
    /// The name of the exported actions interface, such as `powerbi:connector/actions@0.3.0`.
    actions_interface: String,
    actions: BTreeMap<String, ActionFunc>,
    /// The oauth interface's functions; `None` when the component does not export it.
    oauth: Option<oauth_iface::GuestIndices>,
    /// The choices interface's `list-choices`; `None` when the component does not export it.
    choices: Option<choices_iface::GuestIndices>,
    /// Whether the compiled component was read from the disk cache.
    from_cache: bool,
    /// Each action's compiled input schema, made once at load.
    validators: BTreeMap<String, jsonschema::Validator>,
    /// Tokens of client-credentials connections, by connection.
    client_tokens: crate::client_tokens::ClientTokens,
    /// The host of each URL [`Connector::default_allow_hosts`] has read, so that a
    /// connection's URLs are parsed once rather than at every invocation (see
    /// [`UrlHosts`]).
    url_hosts: UrlHosts,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("component", &self.definition.info.key)
            .field("actions", &self.actions.keys().collect::<Vec<_>>())
            .field("oauth", &self.oauth.is_some())
            .field("choices", &self.choices.is_some())
            .field("config", &self.runner.config)
            .finish()
    }
}

impl Connector {
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

        let missing = |e: wasmtime::Error| HostError::MissingExport(format!("{e:#}"));
        let definition_indices = definition_iface::GuestIndices::new(&pre).map_err(missing)?;
        let describe = describe_index(&engine, &component)?;
        let actions_interface = actions_interface(&engine, &component)?;
        let actions = exported_functions(&engine, &component, &actions_interface)?;
        // The oauth interface is optional: the actions work without it.
        let oauth = oauth_iface::GuestIndices::new(&pre).ok();
        // So are the pickers: without them a form takes each value as typed.
        let choices = choices_iface::GuestIndices::new(&pre).ok();

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
        // describe needs no network: the default policy allows no host. The host reads the
        // typed record; the JSON shown to people (`pbi definition`) keeps the WIT's field
        // names, so it comes from a second, dynamic call of the same function.
        let definition = runner
            .call(
                "describe",
                Describe(definition_indices),
                EgressPolicy::default(),
            )?
            .value;
        let definition_value = val_to_json(
            &runner
                .call(
                    "describe",
                    Dynamic {
                        index: describe,
                        params: Vec::new(),
                    },
                    EgressPolicy::default(),
                )?
                .value,
        );
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
            actions_interface,
            actions,
            oauth,
            choices,
            from_cache: false,
            validators,
            client_tokens: Default::default(),
            url_hosts: UrlHosts::default(),
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
    /// `api-base-url`, the `hosts` its connection definition declares (for example every
    /// national cloud's), and the hosts of the URLs among the connection's values and its
    /// inputs' defaults (the sign-in URLs, an API Base URL).
    pub fn default_allow_hosts(&self, connection: &Value) -> Vec<String> {
        default_hosts(&self.definition, connection, |url| {
            self.url_hosts.host_of(url)
        })
    }

    /// The connection's secret values, to scrub from logs, errors and anything an engine
    /// shows: those of [`SECRET_KEYS`] and of every connection definition's `password`
    /// inputs (sorted, without duplicates or empty values).
    pub fn secrets_of(&self, connection: &Value) -> Vec<String> {
        let mut secrets: Vec<String> = secret_keys(&self.definition)
            .filter_map(|key| connection.get(key).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        secrets.sort();
        secrets.dedup();
        secrets
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
                "{}#{action_key} input parameter",
                self.actions_interface
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
        self.invoke_reporting(action_key, connection, inputs, None)
    }

    /// [`Connector::invoke_owned`], handing what the action reports while it runs (rows sent
    /// of total, a refresh's or an export's status) to `progress`, on the connector's
    /// runtime thread: keep it quick (draw a bar, send to a channel).
    pub fn invoke_with_progress(
        &self,
        action_key: &str,
        connection: &Value,
        inputs: Value,
        progress: impl Fn(&crate::Progress) + Send + Sync + 'static,
    ) -> Result<Invocation, HostError> {
        self.invoke_reporting(action_key, connection, inputs, Some(Arc::new(progress)))
    }

    fn invoke_reporting(
        &self,
        action_key: &str,
        connection: &Value,
        inputs: Value,
        progress: Option<crate::ProgressSink>,
    ) -> Result<Invocation, HostError> {
        let (call, kept) = match self.begin(action_key, connection, inputs, progress)? {
            Ok(ready) => ready,
            Err(invocation) => return Ok(invocation),
        };
        let called = self.runner.call(action_key, call.dynamic, call.egress)?;
        self.end(action_key, called, &call.secrets, kept)
    }

    /// What both kinds of invocation do before their call: the connection with its token,
    /// the inputs checked and converted, the egress policy with `progress`; or the whole
    /// invocation when it ends there (a refused token request or refused inputs).
    fn begin(
        &self,
        action_key: &str,
        connection: &Value,
        inputs: Value,
        progress: Option<crate::ProgressSink>,
    ) -> Result<Result<(PreparedCall, Option<u64>), Invocation>, HostError> {
        let (connection, kept) = match self.with_client_token(connection)? {
            Ok(ready) => ready,
            Err(error) => return Ok(Err(refused(error))),
        };
        let mut call = match self.prepare(action_key, &connection, inputs)? {
            Prepared::Refused(invocation) => return Ok(Err(invocation)),
            Prepared::Call(call) => call,
        };
        call.egress.progress = progress;
        Ok(Ok((call, kept)))
    }

    /// What both kinds of invocation do after their call: the result read, a kept token
    /// the service refused forgotten.
    fn end(
        &self,
        action_key: &str,
        called: crate::runner::Called<Val>,
        secrets: &[String],
        kept: Option<u64>,
    ) -> Result<Invocation, HostError> {
        let invocation = invocation(action_key, called, secrets)?;
        self.forget_refused_token(&invocation, kept);
        Ok(invocation)
    }

    /// `connection`, with a token when it is a client-credentials connection without one:
    /// the one kept for it, else a new one the component requests (`request-token`), kept
    /// until [`crate::RENEW_BEFORE`] before it expires; and the cache key of a kept token. A
    /// refused token request is the invocation's error.
    fn with_client_token<'a>(
        &self,
        connection: &'a Value,
    ) -> Result<Result<WithToken<'a>, ActionError>, HostError> {
        let given = connection
            .get(crate::connection::ACCESS_TOKEN)
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty());
        let definition = self.definition.chosen_connection(connection);
        let client_credentials = definition.is_some_and(|d| d.oauth2_type == "client_credentials");
        if given || !client_credentials {
            return Ok(Ok((Cow::Borrowed(connection), None)));
        }
        let secrets = self.secrets_of(connection);
        let typed = typed_connection(connection, &secrets)?;
        let key = crate::client_tokens::ClientTokens::key(&typed);
        let with = |token: String| {
            let mut filled = connection.clone();
            if let Some(object) = filled.as_object_mut() {
                object.insert(crate::connection::ACCESS_TOKEN.into(), token.into());
            }
            filled
        };
        if let Some(token) = self.client_tokens.get(key) {
            return Ok(Ok((Cow::Owned(with(token)), Some(key))));
        }
        match self.oauth_request_token(connection)? {
            Ok(tokens) => {
                self.client_tokens
                    .put(key, tokens.access_token.clone(), tokens.expires_in_seconds);
                Ok(Ok((Cow::Owned(with(tokens.access_token)), Some(key))))
            }
            Err(e) => Ok(Err(e.into())),
        }
    }

    /// Drops the kept token the service refused (401, or 403 `TokenExpired`): the next
    /// invocation asks for a new one.
    fn forget_refused_token(&self, invocation: &Invocation, kept: Option<u64>) {
        if let (Some(key), Err(e)) = (kept, &invocation.result)
            && matches!(
                e.kind,
                crate::ErrorKind::Unauthorized | crate::ErrorKind::TokenExpired
            )
        {
            self.client_tokens.forget(key);
        }
    }

    /// Requests a token with the connection's own credentials (`request-token`, for a
    /// client-credentials connection such as a service principal). [`Connector::invoke`]
    /// does this by itself, and keeps the token, for such a connection without an
    /// `access-token`.
    pub fn oauth_request_token(
        &self,
        connection: &Value,
    ) -> Result<Result<TokenSet, OAuthError>, HostError> {
        self.call_oauth::<TokenSet>(OAuthCall::RequestToken, connection, Vec::new())
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
        self.invoke_async_reporting(action_key, connection, inputs, None)
            .await
    }

    /// [`Connector::invoke_async`], handing the action's progress to `progress` (see
    /// [`Connector::invoke_with_progress`]).
    pub async fn invoke_async_with_progress(
        &self,
        action_key: &str,
        connection: &Value,
        inputs: Value,
        progress: impl Fn(&crate::Progress) + Send + Sync + 'static,
    ) -> Result<Invocation, HostError> {
        self.invoke_async_reporting(action_key, connection, inputs, Some(Arc::new(progress)))
            .await
    }

    async fn invoke_async_reporting(
        &self,
        action_key: &str,
        connection: &Value,
        inputs: Value,
        progress: Option<crate::ProgressSink>,
    ) -> Result<Invocation, HostError> {
        let (call, kept) = match self.begin(action_key, connection, inputs, progress)? {
            Ok(ready) => ready,
            Err(invocation) => return Ok(invocation),
        };
        let called = self
            .runner
            .call_async(action_key, call.dynamic, call.egress)
            .await?;
        self.end(action_key, called, &call.secrets, kept)
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

        let secrets = self.secrets_of(connection);
        let typed = typed_connection(connection, &secrets)?;
        check_connection(&self.definition, &typed)?;
        let mut params = Vec::with_capacity(func.params.len());
        for (name, _) in &func.params {
            if name == CONNECTION_PARAM {
                params.push(connection_val(&typed));
            } else if let Some(input) = input_val.take() {
                params.push(input);
            } else {
                return Err(HostError::MissingExport(format!(
                    "{}#{action_key} with one input parameter",
                    self.actions_interface
                )));
            }
        }
        Ok(Prepared::Call(PreparedCall {
            dynamic: Dynamic {
                index: func.index,
                params,
            },
            egress: self.egress(connection, secrets.clone()),
            secrets,
        }))
    }

    /// Whether the component exports the oauth interface.
    pub fn has_oauth(&self) -> bool {
        self.oauth.is_some()
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
        self.call_oauth::<Authorization>(
            OAuthCall::Authorize {
                redirect_uri: redirect_uri.to_string(),
            },
            connection,
            Vec::new(),
        )
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
        self.call_oauth::<TokenSet>(
            OAuthCall::ExchangeCode {
                redirect_uri: redirect_uri.to_string(),
                code: code.to_string(),
                code_verifier: code_verifier.to_string(),
            },
            connection,
            vec![code.to_string(), code_verifier.to_string()],
        )
    }

    /// Trades `refresh_token` for new tokens, through the component and the host's egress
    /// policy. A new refresh token in the answer replaces the old one.
    pub fn oauth_refresh(
        &self,
        connection: &Value,
        refresh_token: &str,
    ) -> Result<Result<TokenSet, OAuthError>, HostError> {
        self.call_oauth::<TokenSet>(
            OAuthCall::Refresh {
                refresh_token: refresh_token.to_string(),
            },
            connection,
            vec![refresh_token.to_string()],
        )
    }

    /// Calls a function of the oauth interface in a fresh instance; `secret_args` are the
    /// call's own secrets, scrubbed from logs and errors with the connection's.
    fn call_oauth<T>(
        &self,
        call: OAuthCall,
        connection: &Value,
        secret_args: Vec<String>,
    ) -> Result<Result<T, OAuthError>, HostError>
    where
        T: TryFrom<OAuthAnswer>,
    {
        let function = call.function();
        let indices = self
            .oauth
            .clone()
            .ok_or_else(|| HostError::MissingExport(format!("oauth#{function}")))?;
        let mut secrets = self.secrets_of(connection);
        secrets.extend(secret_args.into_iter().filter(|s| !s.is_empty()));
        let typed = typed_connection(connection, &secrets)?;
        check_connection(&self.definition, &typed)?;
        let egress = self.egress(connection, secrets.clone());
        // The guest's logs are dropped on success: they may hold what the token endpoint
        // answered. A failure's logs are scrubbed of every secret the host knows.
        let answer = self
            .runner
            .call(
                function,
                OAuthInvocation {
                    indices,
                    connection: typed.into(),
                    call,
                },
                egress,
            )?
            .value;
        match answer {
            Ok(answer) => T::try_from(answer)
                .map(Ok)
                .map_err(|_| HostError::UnexpectedResult {
                    function: function.to_string(),
                    message: "an answer of another function".into(),
                }),
            Err(error) => Ok(Err(OAuthError::scrubbed(error, &secrets))),
        }
    }

    /// Whether the component exports the choices interface (pickers).
    pub fn has_choices(&self) -> bool {
        self.choices.is_some()
    }

    /// Lists the values the input `input_key` of the action `action_key` can take, through
    /// the picker its definition names (`input-definition.picker`): one page of at most
    /// `top` choices, after skipping `skip`, narrowed to labels containing `search` (the
    /// component's matching: ignoring case).
    ///
    /// `connection` is the object [`Connector::invoke`] takes; `inputs` the values of the
    /// action's inputs chosen so far (an object keyed by input key, or null), which the
    /// picker may need (see its `depends-on`): strings are passed as they are, numbers,
    /// booleans and JSON values as their JSON text, and nulls are left out.
    ///
    /// The call runs in a fresh instance with the same egress policy and limits as an
    /// action. The page never holds more than `top` choices, even from a component that
    /// answers more (the rest are dropped and `more` is set).
    ///
    /// The outer error is a host problem: an unknown action or input, an input without a
    /// picker ([`HostError::NoPicker`]), a component without the choices interface, a trap
    /// or a limit. The inner one is the component's own [`ActionError`] (an unknown picker,
    /// a missing input it depends on, a refusal by the service), its message scrubbed of the
    /// connection's secrets; inputs that are not an object, an input the action does not
    /// have and a `top` of 0 are `invalid-input` errors too, and the component is not
    /// called.
    ///
    /// Must not be called from inside a Tokio runtime (see [`Connector`]).
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per field of the request a form makes"
    )]
    pub fn list_choices(
        &self,
        action_key: &str,
        input_key: &str,
        connection: &Value,
        inputs: &Value,
        search: Option<&str>,
        skip: u32,
        top: u32,
    ) -> Result<Result<ChoicesPage, ActionError>, HostError> {
        const FUNCTION: &str = "list-choices";
        let action = self
            .definition
            .action(action_key)
            .ok_or_else(|| HostError::UnknownAction(action_key.to_string()))?;
        let input = action
            .input(input_key)
            .ok_or_else(|| HostError::UnknownInput {
                action: action_key.to_string(),
                input: input_key.to_string(),
            })?;
        let picker = input.picker.as_ref().ok_or_else(|| HostError::NoPicker {
            action: action_key.to_string(),
            input: input_key.to_string(),
        })?;
        let indices = self
            .choices
            .clone()
            .ok_or_else(|| HostError::MissingExport(format!("choices#{FUNCTION}")))?;
        let request = match choices_request(action, &picker.key, inputs, search, skip, top) {
            Ok(request) => request,
            Err(error) => return Ok(Err(*error)),
        };
        let secrets = self.secrets_of(connection);
        let typed = typed_connection(connection, &secrets)?;
        check_connection(&self.definition, &typed)?;
        let egress = self.egress(connection, secrets.clone());
        let answer = self
            .runner
            .call(
                FUNCTION,
                ListChoices {
                    indices,
                    connection: typed.into(),
                    request,
                },
                egress,
            )?
            .value;
        Ok(match answer {
            Ok(page) => Ok(ChoicesPage::at_most(page, top)),
            Err(error) => Err(ActionError::scrubbed(error, &secrets)),
        })
    }

    fn lookup(&self, action_key: &str) -> Result<(&ActionDefinition, &ActionFunc), HostError> {
        let definition = self
            .definition
            .action(action_key)
            .ok_or_else(|| HostError::UnknownAction(action_key.to_string()))?;
        let func = self.actions.get(action_key).ok_or_else(|| {
            HostError::MissingExport(format!("{}#{action_key}", self.actions_interface))
        })?;
        Ok((definition, func))
    }
}

/// The connection object as the contract's typed record (null: all empty). Conversion errors
/// name the field, never the value, and are scrubbed of `secrets` anyway.
fn typed_connection(connection: &Value, secrets: &[String]) -> Result<Connection, HostError> {
    Connection::from_json(connection).map_err(|e| HostError::Connection(scrub(&e, secrets)))
}

/// Checks a connection against the component's connection definitions: a known connection,
/// and only its inputs' keys (a misspelt key would otherwise be silently ignored).
fn check_connection(definition: &ComponentDefinition, c: &Connection) -> Result<(), HostError> {
    if definition.connections.is_empty() {
        return Ok(());
    }
    let chosen = if c.key.is_empty() {
        definition.connections.first()
    } else {
        definition.connections.iter().find(|d| d.key == c.key)
    };
    let Some(chosen) = chosen else {
        let keys: Vec<&str> = definition
            .connections
            .iter()
            .map(|d| d.key.as_str())
            .collect();
        return Err(HostError::Connection(format!(
            "unknown connection {:?}; the component has {}",
            c.key,
            keys.join(", ")
        )));
    };
    for key in c.values.keys() {
        if !chosen.inputs.iter().any(|i| &i.key == key) {
            let known: Vec<&str> = chosen.inputs.iter().map(|i| i.key.as_str()).collect();
            return Err(HostError::Connection(format!(
                "unknown connection value {key:?}; the {} connection takes {}",
                chosen.key,
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// The connection record as a dynamic value, for an action's call.
fn connection_val(c: &Connection) -> Val {
    let text = |s: &str| Val::String(s.to_string());
    Val::Record(vec![
        ("key".into(), text(&c.key)),
        (
            "values".into(),
            Val::List(
                c.values
                    .iter()
                    .map(|(k, v)| Val::Tuple(vec![text(k), text(v)]))
                    .collect(),
            ),
        ),
        ("access-token".into(), text(&c.access_token)),
    ])
}

/// A connection ready for a call, and the cache key of the kept token it carries.
type WithToken<'a> = (Cow<'a, Value>, Option<u64>);

/// An invocation that failed before the call.
fn refused(error: ActionError) -> Invocation {
    Invocation {
        result: Err(error),
        logs: String::new(),
        requests: Vec::new(),
    }
}

/// The keys of a connection's secret values: [`SECRET_KEYS`] and every connection
/// definition's `password` inputs.
fn secret_keys(definition: &ComponentDefinition) -> impl Iterator<Item = &str> {
    let password_keys = definition
        .connections
        .iter()
        .flat_map(|c| c.inputs.iter())
        .filter(|i| i.type_ == crate::InputType::Password)
        .map(|i| i.key.as_str());
    SECRET_KEYS.iter().copied().chain(password_keys)
}

/// [`Connector::default_allow_hosts`] of `definition`, reading each URL's host with
/// `host_of`.
fn default_hosts(
    definition: &ComponentDefinition,
    connection: &Value,
    host_of: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut urls = vec![definition.info.api_base_url.clone()];
    let mut hosts: Vec<String> = Vec::new();
    if let Some(chosen) = definition.chosen_connection(connection) {
        hosts.extend(chosen.hosts.iter().cloned());
        urls.extend(chosen.inputs.iter().filter_map(|i| i.default.clone()));
    }
    if let Some(values) = connection.as_object() {
        // Never a secret's value, even one that looks like a URL: it would become an
        // allowed host (and be kept in the connector's URL cache).
        let secret: Vec<&str> = secret_keys(definition).collect();
        urls.extend(
            values
                .iter()
                .filter(|(k, _)| !secret.contains(&k.as_str()))
                .filter_map(|(_, v)| v.as_str().map(str::to_string)),
        );
    }
    for url in urls {
        let url = url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            continue;
        }
        if let Some(host) = host_of(url)
            && !hosts.contains(&host)
        {
            hosts.push(host);
        }
    }
    hosts
}

/// The host of each URL read so far. A connection's URLs (its sign-in and API addresses) are
/// the same at every invocation, and parsing them was a few microseconds of each call.
/// Bounded: an engine with very many connections only parses again.
#[derive(Debug, Default)]
struct UrlHosts(std::sync::Mutex<std::collections::HashMap<String, Option<String>>>);

impl UrlHosts {
    /// Kept at most; past this the cache starts over.
    const MAX: usize = 256;

    /// The host of `url`, if it is a URL with one.
    fn host_of(&self, url: &str) -> Option<String> {
        let mut known = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(host) = known.get(url) {
            return host.clone();
        }
        let host = Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        if known.len() >= Self::MAX {
            known.clear();
        }
        known.insert(url.to_string(), host.clone());
        host
    }
}

/// An action's invocation from what its call returned.
fn invocation(
    action_key: &str,
    called: crate::runner::Called<Val>,
    secrets: &[String],
) -> Result<Invocation, HostError> {
    Ok(Invocation {
        result: action_result(action_key, called.value, secrets)?,
        logs: called.logs,
        requests: called.requests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    /// The misbehaving test component (`crates/misbehave`).
    fn misbehave() -> &'static Path {
        pbi_component::misbehave_wasm()
    }

    #[test]
    fn no_secret_becomes_an_allowed_host() {
        use crate::definition::{ComponentInfo, ConnectionDefinition, InputType};
        let mut login_url = crate::validate::tests::input("login-url", InputType::String, false);
        login_url.default = Some("https://login.example/x".into());
        let definition = ComponentDefinition {
            info: ComponentInfo {
                key: "test".into(),
                label: "Test".into(),
                description: String::new(),
                category: String::new(),
                api_base_url: "https://api.example".into(),
            },
            connections: vec![ConnectionDefinition {
                key: "keyed".into(),
                label: "Keyed".into(),
                comments: String::new(),
                oauth2_type: String::new(),
                inputs: vec![
                    login_url,
                    crate::validate::tests::input("api-key", InputType::Password, false),
                ],
                hosts: vec!["cloud.example".into()],
                setup: None,
                notes: None,
            }],
            actions: Vec::new(),
        };
        let connection = serde_json::json!({
            "base": "https://other.example/v1",
            "api-key": "https://key-that-looks-like-a-url.example",
            "client-secret": "https://secret.example",
            "access-token": "http://token.example",
        });
        let hosts = default_hosts(&definition, &connection, |url| {
            Url::parse(url).ok()?.host_str().map(str::to_string)
        });
        assert_eq!(
            hosts,
            [
                "cloud.example",
                "api.example",
                "login.example",
                "other.example"
            ]
        );
        let keys: Vec<_> = secret_keys(&definition).collect();
        assert_eq!(keys, ["client-secret", "access-token", "api-key"]);
    }

    #[test]
    fn url_hosts_are_read_once_and_the_cache_stays_bounded() {
        let hosts = UrlHosts::default();
        assert_eq!(
            hosts.host_of("https://login.example.com:8443/tenant/oauth2/token"),
            Some("login.example.com".to_string())
        );
        assert_eq!(
            hosts.host_of("https://[::1]:9/x"),
            Some("[::1]".to_string())
        );
        assert_eq!(hosts.host_of("http://"), None);
        assert_eq!(hosts.0.lock().unwrap().len(), 3);
        // A second read comes from the cache (the same answer, no new entry).
        assert_eq!(
            hosts.host_of("https://login.example.com:8443/tenant/oauth2/token"),
            Some("login.example.com".to_string())
        );
        assert_eq!(hosts.0.lock().unwrap().len(), 3);
        for i in 0..UrlHosts::MAX + 10 {
            assert_eq!(
                hosts.host_of(&format!("https://h{i}.example.com/")),
                Some(format!("h{i}.example.com"))
            );
        }
        assert!(hosts.0.lock().unwrap().len() <= UrlHosts::MAX);
    }

    #[test]
    fn the_epoch_ticker_stops_when_the_connector_is_dropped() -> anyhow::Result<()> {
        let connector = Connector::load(misbehave(), HostConfig::default())?;
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
            misbehave(),
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
            // `spin-forever` loops without ever calling the host; the engine gives up on it
            // and unloads the connector while the aborted guest still computes.
            let spinning =
                connector.invoke_async("spin-forever", &Value::Null, serde_json::json!({}));
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
