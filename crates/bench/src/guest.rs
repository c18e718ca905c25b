//! The component in a store the bench builds itself, set up as `pbi-host` set up its own
//! before it kept connections alive and ran guests async (same engine configuration, WASI and
//! wasi:http linked synchronously, the same store state, `pbi_host::EgressPolicy` as the
//! egress), so that the phases `Connector::invoke` does not expose can be timed one by one:
//! instantiation alone, the call alone, the guest's peak linear memory, and when the guest
//! hands each request to the host. The phases' shares hold for the host as it is now; their
//! sum is above `Connector::invoke`'s (sync waits, a new connection per request).

use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http::header::{HOST, HeaderName, HeaderValue};
use http::uri::Scheme;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use pbi_host::EgressPolicy;
use serde_json::Value;
use wasmtime::component::{
    Component, ComponentExportIndex, InstancePre, Linker, ResourceTable, Type, Val,
};
use wasmtime::{
    CallHook, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter,
    Store,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    Error as HttpError, ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpCtx,
    WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

/// The limiter of the bench's stores: allows everything, remembers the largest linear
/// memory the guest asked for.
#[derive(Debug, Default, Clone)]
pub struct PeakMemory {
    /// The largest size any linear memory was created with or grown to, in bytes.
    pub peak: usize,
    /// The size of each linear memory when it was created, in bytes.
    pub initial: Vec<usize>,
}

impl ResourceLimiter for PeakMemory {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if current == 0 {
            self.initial.push(desired);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// The guest's calls into the host (WASI and wasi:http functions, libcalls such as
/// `memory.grow`), counted and timed with wasmtime's call hook.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostCalls {
    /// How many calls.
    pub calls: u64,
    /// The time spent in them (including blocking waits for HTTP).
    pub in_host: Duration,
    depth: u32,
    entered: Option<Instant>,
}

/// What happened on the egress, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The guest handed a request to the host (`outgoing-handler.handle`).
    Send,
    /// The host read the last byte of the request body the guest streamed.
    BodyDone,
    /// The answer's headers reached the host.
    Headers,
}

/// The events of one call, with their times.
pub type Events = Arc<Mutex<Vec<(Instant, Event)>>>;

/// The store state: what `pbi-host` keeps per invocation, with a replaceable egress.
pub struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: Box<dyn WasiHttpHooks>,
    limits: PeakMemory,
    host_calls: HostCalls,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut *self.hooks,
        }
    }
}

/// The egress of a store.
pub enum Egress {
    /// `pbi_host::EgressPolicy` redirecting `api.powerbi.com` to the service: a new TCP
    /// connection per request, as `Connector` does.
    Host,
    /// The same policy's redirect, but over a connection kept alive across requests and
    /// invocations, with `TCP_NODELAY` (the "pooled egress" fix, measured).
    Pooled(Pool),
}

/// One kept-alive HTTP/1 connection to the service, shared by every store that uses it.
#[derive(Clone)]
pub struct Pool {
    addr: SocketAddr,
    sender: Arc<Mutex<Option<SendRequest<WasiBody>>>>,
}

impl Pool {
    /// A pool for the service at `addr`, without a connection yet.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            sender: Arc::default(),
        }
    }
}

/// The component, compiled once, linked, ready to instantiate.
pub struct Guest {
    engine: Engine,
    pre: InstancePre<State>,
    component: Component,
    redirect: url::Url,
    /// How long compiling, serializing and deserializing the component took.
    pub compile: Duration,
    /// The size of the serialized (precompiled) component.
    pub serialized_bytes: usize,
    /// How long `Component::deserialize` of the precompiled component took.
    pub deserialize: Duration,
}

/// One call in a fresh instance.
pub struct Call {
    /// The function's result, as JSON.
    pub result: Value,
    /// `Store::new` and `InstancePre::instantiate`.
    pub instantiate: Duration,
    /// The call itself (lowering the arguments, the guest, its HTTP, lifting the result).
    pub call: Duration,
    /// When the call started.
    pub call_start: Instant,
    /// The egress events of the call.
    pub events: Vec<(Instant, Event)>,
    /// The guest's memory.
    pub memory: PeakMemory,
    /// The guest's calls into the host during the call.
    pub host_calls: HostCalls,
}

impl Guest {
    /// Compiles the component at `path` with the host's engine configuration, then
    /// precompiles it (`serialize`) and loads that (`deserialize`), as an engine that caches
    /// compiled components would.
    ///
    /// With `pooling`, instances come from wasmtime's pooling allocator instead of the
    /// default on-demand one (pbi-host uses the default): the "pooling allocator" fix, measured.
    pub fn load(path: &Path, redirect: url::Url, pooling: bool) -> Result<Self> {
        let mut config = Config::new();
        // As pbi-host: epoch interruption is how it enforces the call's deadline.
        config.epoch_interruption(true);
        if pooling {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(8)
                .total_core_instances(64)
                .total_memories(16)
                .total_tables(64)
                .max_memory_size(256 << 20);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config).map_err(|e| anyhow!("{e:#}"))?;
        let start = Instant::now();
        let compiled = Component::from_file(&engine, path).map_err(|e| anyhow!("{e:#}"))?;
        let compile = start.elapsed();
        let bytes = compiled.serialize().map_err(|e| anyhow!("{e:#}"))?;
        let start = Instant::now();
        // SAFETY: the bytes were produced just above by `serialize` with this very engine.
        let component =
            unsafe { Component::deserialize(&engine, &bytes) }.map_err(|e| anyhow!("{e:#}"))?;
        let deserialize = start.elapsed();

        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| anyhow!("{e:#}"))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)
            .map_err(|e| anyhow!("{e:#}"))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow!("{e:#}"))?;
        Ok(Self {
            engine,
            pre,
            component,
            redirect,
            compile,
            serialized_bytes: bytes.len(),
            deserialize,
        })
    }

    /// A fresh store with the host's per-invocation state.
    fn store(&self, egress: &Egress, events: &Events) -> Store<State> {
        let output = MemoryOutputPipe::new(1024 * 1024);
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let policy = EgressPolicy::new(
            Vec::new(),
            vec![("api.powerbi.com".to_string(), self.redirect.clone())],
        );
        let hooks: Box<dyn WasiHttpHooks> = match egress {
            Egress::Host => Box::new(Timed {
                inner: policy,
                events: events.clone(),
            }),
            Egress::Pooled(pool) => Box::new(Timed {
                inner: Pooled {
                    pool: pool.clone(),
                    policy,
                },
                events: events.clone(),
            }),
        };
        let state = State {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks,
            limits: PeakMemory::default(),
            host_calls: HostCalls::default(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.call_hook(|mut store, hook| {
            let calls = &mut store.data_mut().host_calls;
            match hook {
                CallHook::CallingHost => {
                    // Host calls nest (a host function calling the guest's realloc, which
                    // grows memory): only the outermost counts.
                    if calls.depth == 0 {
                        calls.calls += 1;
                        calls.entered = Some(Instant::now());
                    }
                    calls.depth += 1;
                }
                CallHook::ReturningFromHost => {
                    calls.depth = calls.depth.saturating_sub(1);
                    if calls.depth == 0
                        && let Some(entered) = calls.entered.take()
                    {
                        calls.in_host += entered.elapsed();
                    }
                }
                CallHook::CallingWasm | CallHook::ReturningFromWasm => {}
            }
            Ok(())
        });
        // No epoch ticker here: a deadline this far away is never reached.
        store.set_epoch_deadline(1 << 40);
        store
    }

    /// Times `Store::new` plus `InstancePre::instantiate`, without a call.
    pub fn instantiate_only(&self) -> Result<Duration> {
        let events = Events::default();
        let start = Instant::now();
        let mut store = self.store(&Egress::Host, &events);
        self.pre
            .instantiate(&mut store)
            .map_err(|e| anyhow!("{e:#}"))?;
        let elapsed = start.elapsed();
        drop(store);
        Ok(elapsed)
    }

    /// The export index of `function` in the actions interface.
    pub fn action(&self, function: &str) -> Result<ComponentExportIndex> {
        let interface = self
            .component
            .get_export_index(None, pbi_host::ACTIONS_INTERFACE)
            .with_context(|| format!("no export {}", pbi_host::ACTIONS_INTERFACE))?;
        self.component
            .get_export_index(Some(&interface), function)
            .with_context(|| format!("no action {function}"))
    }

    /// The parameters of an action, with their types (read from a scratch instance).
    pub fn params(&self, index: &ComponentExportIndex) -> Result<Vec<(String, Type)>> {
        let events = Events::default();
        let mut store = self.store(&Egress::Host, &events);
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| anyhow!("{e:#}"))?;
        let func = instance
            .get_func(&mut store, index)
            .context("the export is not a function")?;
        Ok(func
            .ty(&store)
            .params()
            .map(|(name, ty)| (name.to_string(), ty))
            .collect())
    }

    /// Converts `connection` and `input` to an action's arguments, as the host does.
    pub fn args(params: &[(String, Type)], connection: &Value, input: &Value) -> Result<Vec<Val>> {
        params
            .iter()
            .map(|(name, ty)| {
                let value = if name == pbi_host::CONNECTION_PARAM {
                    connection
                } else {
                    input
                };
                pbi_host::value::json_to_val(Some(value), ty).map_err(|e| anyhow!("{name}: {e}"))
            })
            .collect()
    }

    /// Calls an action with ready-made arguments in a fresh instance.
    pub fn call(
        &self,
        index: &ComponentExportIndex,
        args: &[Val],
        egress: &Egress,
    ) -> Result<Call> {
        let events = Events::default();
        let start = Instant::now();
        let mut store = self.store(egress, &events);
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| anyhow!("{e:#}"))?;
        let instantiate = start.elapsed();
        let func = instance
            .get_func(&mut store, index)
            .context("the export is not a function")?;
        let mut results = vec![Val::Bool(false); func.ty(&store).results().len()];
        // Only the call's own host calls count, not instantiation's.
        store.data_mut().host_calls = HostCalls::default();
        let call_start = Instant::now();
        func.call(&mut store, args, &mut results)
            .map_err(|e| anyhow!("{e:#}"))?;
        let call = call_start.elapsed();
        let result = results
            .first()
            .map(pbi_host::value::val_to_json)
            .unwrap_or(Value::Null);
        let memory = store.data().limits.clone();
        let host_calls = store.data().host_calls;
        let events = events.lock().map(|e| e.clone()).unwrap_or_default();
        Ok(Call {
            result,
            instantiate,
            call,
            call_start,
            events,
            memory,
            host_calls,
        })
    }
}

/// Records the egress events around another egress.
struct Timed<H> {
    inner: H,
    events: Events,
}

fn push(events: &Events, event: Event) {
    if let Ok(mut events) = events.lock() {
        events.push((Instant::now(), event));
    }
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl<H: WasiHttpHooks> WasiHttpHooks for Timed<H> {
    fn is_forbidden_header(&mut self, name: &HeaderName) -> bool {
        self.inner.is_forbidden_header(name)
    }

    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        self.inner.forbidden_header_filter()
    }

    fn is_supported_scheme(&mut self, scheme: &Scheme) -> bool {
        self.inner.is_supported_scheme(scheme)
    }

    fn set_host_header(&mut self) -> bool {
        self.inner.set_host_header()
    }

    fn default_scheme(&mut self) -> Option<Scheme> {
        self.inner.default_scheme()
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        push(&self.events, Event::Send);
        let events = self.events.clone();
        let request = request.map(|body| {
            TimedBody {
                inner: body,
                events: events.clone(),
                done: false,
            }
            .boxed_unsync()
        });
        let future = Box::into_pin(self.inner.send_request(request, options, fut));
        Box::new(async move {
            let answer = future.await;
            push(&events, Event::Headers);
            answer
        })
    }
}

/// A request body that records when its last byte was taken.
struct TimedBody {
    inner: WasiBody,
    events: Events,
    done: bool,
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        let frame = std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if frame.is_none() && !this.done {
            this.done = true;
            push(&this.events, Event::BodyDone);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The pooled egress: redirects like the host's policy, then sends on a kept-alive
/// connection instead of a new one.
struct Pooled {
    pool: Pool,
    policy: EgressPolicy,
}

impl WasiHttpHooks for Pooled {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        let host = request.uri().host().unwrap_or_default().to_string();
        if self.policy.redirect_for(&host).is_none() {
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        *request.uri_mut() = match path.parse() {
            Ok(uri) => uri,
            Err(_) => return Box::new(async { Err(HttpError::HttpRequestUriInvalid) }),
        };
        let pool = self.pool.clone();
        if let Ok(value) = HeaderValue::from_str(&pool.addr.to_string()) {
            request.headers_mut().insert(HOST, value);
        }
        Box::new(async move {
            let kept = pool.sender.lock().ok().and_then(|mut s| s.take());
            let reusable = match kept {
                Some(mut sender) => sender.ready().await.is_ok().then_some(sender),
                None => None,
            };
            let mut sender = match reusable {
                Some(sender) => sender,
                None => {
                    let stream = tokio::net::TcpStream::connect(pool.addr)
                        .await
                        .map_err(HttpError::Connect)?;
                    stream.set_nodelay(true).map_err(HttpError::Connect)?;
                    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    sender
                }
            };
            let response = sender.send_request(request).await?;
            if let Ok(mut slot) = pool.sender.lock() {
                *slot = Some(sender);
            }
            let response = response.map(|body| body.map_err(HttpError::from).boxed_unsync());
            let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}
