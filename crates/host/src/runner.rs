//! Running one call of a component: the engine and its instance pool, a fresh store per
//! call with its budget, limits and egress policy, the connector's own Tokio runtime, and
//! what the host reads from a call once it is over ([`Called`]).
//!
//! A call is either dynamic (an action: its input record is the component's own, so it goes
//! in as [`Val`]s) or typed (the contract's fixed functions, through [`crate::bindings`]);
//! both are a [`GuestCall`].

use crate::config::HostConfig;
use crate::containment::{
    CallBudget, EpochTicker, GuestLimits, HasBudget, Limit, YIELD_TICKS, deadline_callback,
    failure_message, ticks_until_check,
};
use crate::egress::{EgressPolicy, SeenRequest, lock, scrub};
use crate::error::HostError;
use crate::observe::{CallObserver, CallStats};
use crate::pool::HttpPool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{ComponentExportIndex, Instance, InstancePre, ResourceTable, Val};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The state of one invocation's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    egress: EgressPolicy,
    limits: GuestLimits,
    budget: CallBudget,
    /// The call's phases, kept only when the configuration has an observer.
    stats: Option<Box<CallStats>>,
    /// When the guest's outermost current call into the host began, and how deep the calls
    /// nest (a host function may call back into the guest, which calls the host again).
    #[cfg(feature = "observe")]
    host_call: (Option<Instant>, u32),
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

/// The engine every component is compiled with: epoch interruption on, so that the call
/// deadline can stop guest code (a few percent slower than without), and the pooling
/// allocator sized by `host` (see [`HostConfig::max_concurrent_calls`]).
pub(crate) fn engine(host: &HostConfig) -> Result<Engine, HostError> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.allocation_strategy(pooling(host));
    // For profiling: `PBI_PERFMAP=1` makes wasmtime write `/tmp/perf-<pid>.map`, so that
    // `perf report` names the guest's functions (docs/performance.md, "Reproducing the
    // profiles"). Only with the `profiling` feature: without it the engine would refuse.
    #[cfg(feature = "profiling")]
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
        // A freed slot keeps up to this much of its memory mapped and resets it in place
        // instead of handing it back to the kernel: the next instance does not fault it in
        // again. Where Linux has the PAGEMAP_SCAN ioctl (6.7+), only the pages the call
        // dirtied are found and reset; elsewhere the first ones are (docs/performance.md,
        // session 7).
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES)
        .pagemap_scan(wasmtime::Enabled::Auto);
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
pub(crate) struct Runner {
    pub(crate) engine: Engine,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) config: HostConfig,
    /// Kept-alive connections, shared by every invocation (see [`crate::pool`]).
    pub(crate) pool: HttpPool,
    /// Runs blocking invocations on the calling thread (`block_on`) and async ones as tasks
    /// on its worker threads (`HostConfig::worker_threads`), which also drive the pool's
    /// connections, so that they are driven (and closed) between invocations. Always
    /// `Some` until dropped (see the `Drop` impl).
    pub(crate) runtime: Option<tokio::runtime::Runtime>,
    /// Advances the engine's epoch until the engine is gone (after the runner and its last
    /// store, see [`EpochTicker`]).
    pub(crate) _ticker: EpochTicker,
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

/// What one call gave back: its value, what the guest wrote to stdout and stderr (secrets
/// scrubbed), and the requests it tried to send.
#[derive(Debug)]
pub(crate) struct Called<T> {
    /// The function's result.
    pub value: T,
    /// The guest's output, interleaved.
    pub logs: String,
    /// Every request the guest tried to send, in order.
    pub requests: Vec<SeenRequest>,
}

/// One call into a fresh instance: what to do with the store and the instance once it is
/// instantiated.
pub(crate) trait GuestCall {
    /// What the call gives back.
    type Output;
    /// Makes the call.
    async fn call(
        self,
        store: &mut Store<HostState>,
        instance: Instance,
    ) -> wasmtime::Result<Self::Output>;
}

/// A call of an exported function through wasmtime's dynamic API, whose single result is
/// the call's output.
pub(crate) struct Dynamic {
    /// The function.
    pub index: ComponentExportIndex,
    /// Its arguments.
    pub params: Vec<Val>,
}

impl GuestCall for Dynamic {
    type Output = Val;

    async fn call(self, store: &mut Store<HostState>, instance: Instance) -> wasmtime::Result<Val> {
        let func = instance
            .get_func(&mut *store, self.index)
            .ok_or_else(|| wasmtime::format_err!("the export is not a function"))?;
        let mut results = vec![Val::Bool(false); func.ty(&*store).results().len()];
        func.call_async(&mut *store, &self.params, &mut results)
            .await?;
        match <[Val; 1]>::try_from(results) {
            Ok([result]) => Ok(result),
            Err(results) => Err(wasmtime::format_err!(
                "{} results instead of one",
                results.len()
            )),
        }
    }
}

impl Runner {
    /// Makes `call` in a fresh store and instance, blocking the calling thread on the
    /// runner's runtime.
    pub(crate) fn call<C: GuestCall>(
        &self,
        function: &str,
        call: C,
        egress: EgressPolicy,
    ) -> Result<Called<C::Output>, HostError> {
        let (mut store, watch) = self.store(egress);
        let outcome = self
            .runtime()
            .block_on(run(&self.pre, &mut store, call, watch.deadline));
        let stats = take_stats(&mut store);
        drop(store);
        watch.finish(outcome, function, stats)
    }

    /// [`Runner::call`] of a dynamic call as a task on the runner's runtime, awaited from any
    /// other runtime (or none). Dropping the returned future stops the call at its next wait.
    pub(crate) async fn call_async(
        &self,
        function: &str,
        call: Dynamic,
        egress: EgressPolicy,
    ) -> Result<Called<Val>, HostError> {
        let (mut store, watch) = self.store(egress);
        let (pre, deadline) = (self.pre.clone(), watch.deadline);
        let mut task = AbortOnDrop(self.runtime().spawn(async move {
            let outcome = run(&pre, &mut store, call, deadline).await;
            (outcome, take_stats(&mut store))
        }));
        let (outcome, stats) = match (&mut task.0).await {
            Ok(done) => done,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => (Err(wasmtime::format_err!("the call was cancelled")), None),
        };
        watch.finish(outcome, function, stats)
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
        let mut wasi = WasiCtx::builder();
        wasi.stdout(output.clone());
        // With an engine callback, progress lines leave the log for it as they are written;
        // either way the last one is kept for the error of a call the host stops.
        let stderr = crate::progress::ProgressPipe::new(
            output.clone(),
            egress.progress.clone(),
            egress.secrets.clone(),
        );
        let last_progress = stderr.last();
        wasi.stderr(stderr);
        let wasi = wasi
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let watch = CallWatch {
            observer: self.config.observer.clone(),
            output,
            secrets: egress.secrets.clone(),
            log: egress.log.clone(),
            last_progress,
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
                peak_memory: 0,
                initial_memory: Vec::new(),
            },
            budget,
            stats: self.config.observer.as_ref().map(|_| Box::default()),
            #[cfg(feature = "observe")]
            host_call: (None, 0),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        #[cfg(feature = "observe")]
        if self.config.observer.is_some() {
            store.call_hook(count_host_calls);
        }
        store.set_epoch_deadline(ticks_until_check(self.config.call_timeout).min(YIELD_TICKS));
        store.epoch_deadline_callback(deadline_callback);
        (store, watch)
    }
}

/// Instantiates and calls in `store`. The guest runs on a fiber inside this future: its
/// waits for HTTP are awaits on the runtime that also drives the connections.
async fn run<C: GuestCall>(
    pre: &InstancePre<HostState>,
    store: &mut Store<HostState>,
    call: C,
    deadline: tokio::time::Instant,
) -> wasmtime::Result<C::Output> {
    let limit = store.data().budget.limit;
    let calling = async {
        let started = Instant::now();
        let instance = pre.instantiate_async(&mut *store).await?;
        let instantiated = Instant::now();
        let result = call.call(&mut *store, instance).await;
        let state = store.data_mut();
        if let Some(stats) = &mut state.stats {
            stats.instantiate = instantiated - started;
            stats.call = instantiated.elapsed();
            stats.completed = result.is_ok();
        }
        result
    };
    // Epoch interruption stops running guest code, and the egress and clock waits end by the
    // deadline; this ends a guest stuck in any other host await (a body write into a
    // connection the server stopped reading). The store is dropped after it.
    tokio::time::timeout_at(deadline, calling)
        .await
        .unwrap_or_else(|_| Err(wasmtime::Error::new(Limit::CallTimeout(limit))))
}

/// Counts and times the guest's calls into the host, for the observer (wasmtime's call
/// hook; only with the `observe` feature, as the hook costs every host call a little).
#[cfg(feature = "observe")]
fn count_host_calls(
    mut store: wasmtime::StoreContextMut<'_, HostState>,
    hook: wasmtime::CallHook,
) -> wasmtime::Result<()> {
    let state = store.data_mut();
    let (started, depth) = &mut state.host_call;
    match hook {
        wasmtime::CallHook::CallingHost => {
            if *depth == 0 {
                *started = Some(Instant::now());
            }
            *depth += 1;
        }
        wasmtime::CallHook::ReturningFromHost => {
            *depth = depth.saturating_sub(1);
            if *depth == 0
                && let (Some(began), Some(stats)) = (started.take(), &mut state.stats)
            {
                stats.host_calls += 1;
                stats.host_time += began.elapsed();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Reads the memory figures of a finished call's store into its stats.
fn take_stats(store: &mut Store<HostState>) -> Option<Box<CallStats>> {
    let state = store.data_mut();
    let mut stats = state.stats.take()?;
    stats.peak_memory_bytes = state.limits.peak_memory;
    stats.initial_memory_bytes = std::mem::take(&mut state.limits.initial_memory);
    Some(stats)
}

/// What the host keeps of a call's store to read once the call is over.
struct CallWatch {
    observer: Option<Arc<dyn CallObserver>>,
    output: MemoryOutputPipe,
    secrets: Vec<String>,
    log: std::sync::Arc<std::sync::Mutex<Vec<SeenRequest>>>,
    /// The last progress the guest reported (see [`crate::progress`]).
    last_progress: crate::progress::LastProgress,
    /// The call's deadline plus [`DEADLINE_GRACE`].
    deadline: tokio::time::Instant,
    limit: Duration,
}

impl CallWatch {
    /// The call's result, the guest's output and the requests it sent; or the error,
    /// scrubbed of the connection's secrets.
    fn finish<T>(
        self,
        outcome: wasmtime::Result<T>,
        function: &str,
        stats: Option<Box<CallStats>>,
    ) -> Result<Called<T>, HostError> {
        if let (Some(observer), Some(mut stats)) = (&self.observer, stats) {
            stats.function = function.to_string();
            observer.finished(&stats);
        }
        let logs = scrub(
            &String::from_utf8_lossy(&self.output.contents()),
            &self.secrets,
        );
        let requests = lock(&self.log).clone();
        match outcome {
            Ok(value) => Ok(Called {
                value,
                logs,
                requests,
            }),
            Err(error) => {
                let progress = self.last_progress.lock().ok().and_then(|last| last.clone());
                let mut message = scrub(&failure_message(&error, self.limit), &self.secrets);
                // What the action had done when it was stopped (for a push: the rows the
                // service had acknowledged), so that nothing is lost from sight.
                if let Some(p) = &progress {
                    message.push_str(&format!(
                        " (before it stopped, the action reported: {}{} {})",
                        p.done,
                        p.total.map(|t| format!(" of {t}")).unwrap_or_default(),
                        p.status
                    ));
                }
                Err(HostError::Call {
                    function: function.to_string(),
                    message,
                    logs,
                    requests,
                    progress: progress.map(Box::new),
                })
            }
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
