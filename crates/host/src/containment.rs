//! Keeping a guest inside its limits: a wall-clock budget per invocation (epoch interruption
//! driven by a ticker thread, plus capped waits inside the host), and memory and table limits
//! that fail the step with a clear error.
//!
//! Each limit ends only the invocation that hit it: every invocation has its own store, so
//! the next one starts clean.

use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Linker, Resource};
use wasmtime::{Engine, ResourceLimiter, StoreContextMut, UpdateDeadline};
use wasmtime_wasi::clocks::WasiClocksView;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock::Host as MonotonicClock;

/// How often the ticker advances the engine's epoch: the granularity of the call deadline.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The monotonic-clock interface as wasmtime-wasi defines it in the linker (guests importing
/// older 0.2 versions are matched to it). Its two `subscribe-*` functions are replaced by
/// [`cap_clock_waits`].
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// A thread that increments an engine's epoch every [`EPOCH_TICK`], so that guest code
/// compiled with epoch interruption notices its deadline. One per engine.
///
/// The thread holds only a weak reference to the engine and ends at the first tick after
/// the engine is gone, that is after the connector and every store of it (a store keeps
/// its engine alive). Dropping the ticker does not stop it: a guest still running as an
/// aborted task when its connector is dropped needs the ticks to reach its next yield or
/// its deadline, and end.
pub(crate) struct EpochTicker {
    /// Gone once the thread has finished: lets tests see that it stopped.
    #[cfg(test)]
    alive: std::sync::Weak<()>,
}

impl EpochTicker {
    /// Starts ticking `engine`.
    pub(crate) fn start(engine: &Engine) -> std::io::Result<Self> {
        let engine = engine.weak();
        let token = Arc::new(());
        #[cfg(test)]
        let alive = Arc::downgrade(&token);
        std::thread::Builder::new()
            .name("pbi-epoch-ticker".into())
            .spawn(move || {
                let _token = token;
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        Ok(Self {
            #[cfg(test)]
            alive,
        })
    }

    /// Whether the thread is still running (for tests).
    #[cfg(test)]
    pub(crate) fn alive(&self) -> std::sync::Weak<()> {
        self.alive.clone()
    }
}

/// The longest call budget honoured: a longer `call_timeout` (say `Duration::MAX`, meaning
/// "no limit") counts as this, which keeps the deadline and tick arithmetic from overflowing.
pub(crate) const MAX_CALL_BUDGET: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// When an invocation that starts at `start` with `budget` must have ended.
pub(crate) fn deadline_for(start: Instant, budget: Duration) -> Instant {
    let budget = budget.min(MAX_CALL_BUDGET);
    start.checked_add(budget).unwrap_or(start)
}

/// One invocation's wall-clock budget, kept in its store.
#[derive(Debug, Clone)]
pub(crate) struct CallBudget {
    /// When the invocation must have ended.
    pub(crate) deadline: Instant,
    /// `HostConfig::call_timeout`, for the message.
    pub(crate) limit: Duration,
    /// Set when a clock wait was cut short to end at the deadline: from then on the deadline
    /// is checked at every tick, so the guest stops as soon as it runs again.
    pub(crate) wait_cut: bool,
}

impl CallBudget {
    /// A budget of `limit` from now.
    pub(crate) fn starting_now(limit: Duration) -> Self {
        Self {
            deadline: deadline_for(Instant::now(), limit),
            limit,
            wait_cut: false,
        }
    }
}

/// Store state that carries its invocation's [`CallBudget`].
pub(crate) trait HasBudget: WasiClocksView {
    /// The budget.
    fn budget(&mut self) -> &mut CallBudget;
}

/// How many ticks to let pass before the deadline callback next looks at the clock, with
/// `left` of the budget remaining: half of it. A tick never comes early, so this never
/// checks after the deadline, and a late ticker (a loaded machine) only makes the checks
/// more frequent towards the end. (The callback comes sooner anyway, every
/// [`YIELD_TICKS`], to yield.)
pub(crate) fn ticks_until_check(left: Duration) -> u64 {
    let ticks = left.min(MAX_CALL_BUDGET).as_nanos() / EPOCH_TICK.as_nanos() / 2;
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

/// The epoch-deadline callback of a store: until the wall clock passes the budget's
/// deadline it lets the guest run on (see [`ticks_until_check`]), yielding to other tasks
/// every [`YIELD_TICKS`], then it fails the call with [`Limit::CallTimeout`]. Wall time, not
/// a tick count, decides.
pub(crate) fn deadline_callback<T: HasBudget>(
    mut store: StoreContextMut<'_, T>,
) -> wasmtime::Result<UpdateDeadline> {
    let budget = store.data_mut().budget();
    let left = budget.deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(wasmtime::Error::new(Limit::CallTimeout(budget.limit)))
    } else if budget.wait_cut {
        Ok(UpdateDeadline::Continue(1))
    } else {
        // tokio's `yield_now` (as wasmtime's docs advise): the worker polls its sockets,
        // timers and queue of new tasks before the guest runs on. A plain `Yield` re-queues
        // the guest at once, and those get their turn only every 61 polls, seconds apart.
        Ok(UpdateDeadline::YieldCustom(
            ticks_until_check(left).min(YIELD_TICKS),
            Box::pin(tokio::task::yield_now()),
        ))
    }
}

/// How many ticks (50 ms) a guest computes before it yields its thread to the runtime's
/// other tasks: calls from [`crate::Connector::invoke_async`] share the connector's worker
/// threads, and a guest parsing a million rows must not hold one for its whole parse.
pub(crate) const YIELD_TICKS: u64 = 5;

/// A limit a guest ran into. Returned as the error of the trap it causes, so that the host
/// can name the limit instead of showing a raw trap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Limit {
    /// The invocation ran past `HostConfig::call_timeout`.
    #[error("the component ran longer than the {} call limit", show_duration(*.0))]
    CallTimeout(Duration),
    /// A linear memory would have grown past `HostConfig::memory_limit_bytes`.
    #[error(
        "the component exceeded its memory limit of {} (it asked for {})",
        show_bytes(*limit),
        show_bytes(*desired)
    )]
    Memory {
        /// The limit, in bytes.
        limit: usize,
        /// The size the memory would have grown to, in bytes.
        desired: usize,
    },
    /// A table would have grown past `HostConfig::max_table_elements`.
    #[error("the component exceeded its table limit of {limit} elements (it asked for {desired})")]
    TableElements {
        /// The limit.
        limit: usize,
        /// The size the table would have grown to.
        desired: usize,
    },
}

/// What a guest may use in one store. Growing a memory or a table past its limit traps with
/// a [`Limit`] rather than failing the `grow` quietly: a guest that cannot get memory cannot
/// do its work anyway (Rust aborts), and the trap says which limit it was.
#[derive(Debug, Clone)]
pub(crate) struct GuestLimits {
    /// The most bytes one linear memory may have.
    pub(crate) memory_bytes: usize,
    /// The most elements one table may have.
    pub(crate) table_elements: usize,
    /// The most core instances, tables and memories a store may create (a component
    /// instantiates a fixed number of each, so these only refuse unusually large components).
    pub(crate) instances: usize,
    pub(crate) tables: usize,
    pub(crate) memories: usize,
    /// The largest size a linear memory was created with or grew to (for
    /// [`crate::observe::CallObserver`]s).
    pub(crate) peak_memory: usize,
    /// The size of each linear memory when it was created.
    pub(crate) initial_memory: Vec<usize>,
}

impl ResourceLimiter for GuestLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if current == 0 {
            self.initial_memory.push(desired);
        }
        self.peak_memory = self.peak_memory.max(desired);
        if desired > self.memory_bytes {
            return Err(wasmtime::Error::new(Limit::Memory {
                limit: self.memory_bytes,
                desired,
            }));
        }
        // The memory's own declared maximum is ordinary wasm behaviour: grow returns -1.
        Ok(maximum.is_none_or(|max| desired <= max))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            return Err(wasmtime::Error::new(Limit::TableElements {
                limit: self.table_elements,
                desired,
            }));
        }
        Ok(maximum.is_none_or(|max| desired <= max))
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}

/// What the host makes of a failed instantiation or call: the limit it hit, in words; a
/// trap, named first, then its wasm backtrace; or wasmtime's own report (a host error).
pub(crate) fn failure_message(error: &wasmtime::Error, call_timeout: Duration) -> String {
    if let Some(limit) = error.downcast_ref::<Limit>() {
        return limit.to_string();
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        // Not expected (the deadline callback reports the limit itself), but an interrupt
        // can only come from the epoch deadline.
        Some(wasmtime::Trap::Interrupt) => Limit::CallTimeout(call_timeout).to_string(),
        Some(trap) => {
            // Traps display as "wasm trap: <what happened>".
            let shown = trap.to_string();
            let what = shown.strip_prefix("wasm trap: ").unwrap_or(&shown);
            match error.downcast_ref::<wasmtime::WasmBacktrace>() {
                // It reads "error while executing at wasm backtrace:" then the frames.
                Some(backtrace) => format!("the component trapped: {what}; {backtrace}"),
                None => format!("the component trapped: {what}"),
            }
        }
        None => format!("{error:#}"),
    }
}

/// Replaces the monotonic clock's `subscribe-duration` and `subscribe-instant` so that no
/// wait ends after the invocation's deadline (plus two ticks). A wait that was cut also
/// makes the deadline be checked at every tick from then on, so the guest is stopped as
/// soon as it runs again.
///
/// Epoch interruption only stops running wasm code: a guest blocked in the host, for
/// example sleeping for an hour, would otherwise hold the call far past its budget. HTTP
/// waits are bounded in the egress hook the same way.
pub(crate) fn cap_clock_waits<T: HasBudget + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: StoreContextMut<'_, T>, (nanos,): (u64,)| {
            let pollable = subscribe_within_budget(store.data_mut(), nanos)?;
            Ok((pollable,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |mut store: StoreContextMut<'_, T>, (when,): (u64,)| {
            let state = store.data_mut();
            let now = MonotonicClock::now(&mut state.clocks())?;
            let pollable = subscribe_within_budget(state, when.saturating_sub(now))?;
            Ok((pollable,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// wasmtime-wasi's own `subscribe-duration` for `nanos`, or for less when that would end
/// after the deadline.
fn subscribe_within_budget<T: HasBudget>(
    state: &mut T,
    nanos: u64,
) -> wasmtime::Result<Resource<DynPollable>> {
    let budget = state.budget();
    let capped = capped_wait(nanos, budget.deadline);
    if capped < nanos {
        budget.wait_cut = true;
    }
    MonotonicClock::subscribe_duration(&mut state.clocks(), capped)
}

/// `nanos`, or less if waiting that long would end after `deadline` (plus two ticks).
fn capped_wait(nanos: u64, deadline: Instant) -> u64 {
    let left = deadline.saturating_duration_since(Instant::now()) + 2 * EPOCH_TICK;
    nanos.min(u64::try_from(left.as_nanos()).unwrap_or(u64::MAX))
}

/// `1.5 s`, `500 ms`, `5 min`: a duration as a person writes it.
pub(crate) fn show_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1_000 {
        format!("{millis} ms")
    } else if millis.is_multiple_of(60_000) {
        format!("{} min", millis / 60_000)
    } else if millis.is_multiple_of(1_000) {
        format!("{} s", millis / 1_000)
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// `16 MiB`, `1536 KiB`, `100 bytes`.
pub(crate) fn show_bytes(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticker_runs_on_after_its_handle_while_the_engine_lives() -> anyhow::Result<()> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let ticker = EpochTicker::start(&engine)?;
        let alive = ticker.alive();
        assert!(alive.upgrade().is_some());
        drop(ticker);
        // A guest of this engine may still be running: the ticks go on.
        std::thread::sleep(5 * EPOCH_TICK);
        assert!(
            alive.upgrade().is_some(),
            "the ticker stopped with its handle"
        );
        drop(engine);
        let start = Instant::now();
        while alive.upgrade().is_some() && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(EPOCH_TICK);
        }
        assert!(alive.upgrade().is_none(), "the ticker outlived its engine");
        Ok(())
    }

    #[test]
    fn the_ticker_stops_when_the_engine_is_gone() -> anyhow::Result<()> {
        let engine = Engine::default();
        let ticker = EpochTicker::start(&engine)?;
        let alive = ticker.alive();
        drop(engine);
        let start = Instant::now();
        while alive.upgrade().is_some() && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(EPOCH_TICK);
        }
        assert!(alive.upgrade().is_none());
        drop(ticker);
        Ok(())
    }

    #[test]
    fn waits_end_by_the_deadline() {
        let deadline = Instant::now() + Duration::from_millis(100);
        let hour = 3_600_000_000_000;
        let capped = capped_wait(hour, deadline);
        assert!(capped <= (Duration::from_millis(100) + 2 * EPOCH_TICK).as_nanos() as u64);
        assert_eq!(capped_wait(1_000, deadline), 1_000);
        let past = Instant::now() - Duration::from_secs(1);
        assert_eq!(capped_wait(hour, past), (2 * EPOCH_TICK).as_nanos() as u64);
    }

    #[test]
    fn limits_read_well() {
        assert_eq!(
            Limit::CallTimeout(Duration::from_secs(2)).to_string(),
            "the component ran longer than the 2 s call limit"
        );
        assert_eq!(
            Limit::CallTimeout(Duration::from_millis(500)).to_string(),
            "the component ran longer than the 500 ms call limit"
        );
        assert_eq!(show_duration(Duration::from_secs(300)), "5 min");
        assert_eq!(show_duration(Duration::from_millis(1_500)), "1.5 s");
        assert_eq!(
            Limit::Memory {
                limit: 16 << 20,
                desired: (16 << 20) + 65_536
            }
            .to_string(),
            "the component exceeded its memory limit of 16 MiB (it asked for 16448 KiB)"
        );
        assert_eq!(show_bytes(100), "100 bytes");
    }

    #[test]
    fn checks_come_at_half_of_what_is_left() {
        assert_eq!(ticks_until_check(Duration::from_millis(3)), 1);
        assert_eq!(ticks_until_check(Duration::from_millis(500)), 25);
        assert_eq!(
            ticks_until_check(Duration::MAX),
            MAX_CALL_BUDGET.as_millis() as u64 / 20
        );
        let now = Instant::now();
        assert_eq!(deadline_for(now, Duration::MAX), now + MAX_CALL_BUDGET);
    }
}
