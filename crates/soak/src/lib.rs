//! `pbi-soak`: flows run continuously through the Power BI component against the local
//! Power BI service while faults are injected at random; at the end, the service's tables
//! are compared with what each flow believes landed.
//!
//! One [`pbi_service::ServiceHandle`] on loopback, one [`pbi_host::Connector`] shared by
//! [`Options::workers`] threads (as an engine runs steps side by side), a fault injector
//! thread and a sampler of the process's resident memory (after glibc returns the free
//! pages it keeps, see [`Options::trim_before_sample`]), heap in use and open file
//! descriptors. Each
//! worker loops over one flow: Create Dataset, a few Create Rows pushes of rows with unique
//! ids (resumed from the `resumeFromRow` a failed push reports, as a user's flow resumes
//! with Start Row, after looking for a `maybeStored` batch in the table), now and then
//! List Datasets, Get Dataset or Delete Rows, then checks the table against its ledger and
//! deletes the dataset, so the service's data stays bounded.
//!
//! Faults injected: 429 with `Retry-After`, 500, 503, a dropped connection, a token
//! expired, slow answers (below the host's call limit, or beyond it on reads and pushes),
//! and on pushes only a lost answer (the rows stored, the connection then dropped). A push
//! API without idempotency cannot tell the caller whether such a batch landed: the
//! component reports it as `maybeStored`, and the worker looks for it in the table before
//! resuming, as a careful user does (docs/reliability.md). A push answered beyond the limit
//! is stopped by the host, whose error carries the push's last progress; the worker checks
//! it against the table and looks for the batch in flight the same way.
//!
//! [`run`] returns a [`Report`]; [`Report::passed`] is false when a row was lost or
//! duplicated, a failure's report of what landed was wrong or missing, or memory or file
//! descriptors grew.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use pbi_host::{Connector, HostConfig, HostError, Invocation};
use pbi_service::{Fault, FaultKind, ServiceConfig, ServiceHandle};
use serde::Serialize;
use serde_json::{Value, json};

/// The table every soak dataset has.
const TABLE: &str = "Soak";
/// Rows per Create Rows request (the component's batch, Power BI's limit).
const BATCH: usize = 10_000;
/// The `Retry-After` of injected 429s, in seconds: short, so a run spends its time on
/// requests rather than waiting.
const RETRY_AFTER: u32 = 1;
/// Attempts at one step (a push, a dataset's creation or deletion) before the worker gives
/// up on it and reports it. Faults are single-use and few are pending at a time, so a step
/// that fails this often means something is wrong.
const MAX_ATTEMPTS: u32 = 40;
/// Slow answers within the call limit are shorter than this (a fifth of a second at most),
/// so that several on one push stay far below the limit.
const SLOW_ANSWER_MAX: Duration = Duration::from_millis(250);

/// How a soak runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long the workers start new flows; the flows under way then finish (bounded).
    pub duration: Duration,
    /// Flows run side by side on one connector.
    pub workers: usize,
    /// Faults injected per second, on average (token expiries included).
    pub fault_rate: f64,
    /// The host's limit on one invocation ([`HostConfig::call_timeout`]); injected slow
    /// answers on reads go beyond it.
    pub call_timeout: Duration,
    /// Where the service listens: a loopback address (port 0: any free port).
    pub listen: SocketAddr,
    /// The most rows in one push (each push takes 1 to this many, in batches of 10,000).
    pub max_rows_per_push: usize,
    /// How often memory and file descriptors are sampled.
    pub sample_every: Duration,
    /// Another build of the component instead of `pbi_component::connector_wasm()`.
    pub component: Option<PathBuf>,
    /// Seeds the random choices (faults, row counts, operations); random when `None`.
    pub seed: Option<u64>,
    /// Allowed growth of resident memory from the first window to the last, in KiB.
    pub rss_tolerance_kib: u64,
    /// Allowed growth of open file descriptors from the first window to the last.
    pub fd_tolerance: u64,
    /// Before each sample, has glibc's allocator hand the free pages it keeps back to the
    /// kernel (`malloc_trim(0)`), so that the resident set measures what the process holds
    /// rather than the high-water marks of the allocator's arenas (docs/reliability.md,
    /// "Resident memory and the allocator"). No effect with another C library.
    pub trim_before_sample: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(600),
            workers: 4,
            fault_rate: 5.0,
            call_timeout: Duration::from_secs(15),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            max_rows_per_push: 25_000,
            sample_every: Duration::from_secs(2),
            component: None,
            seed: None,
            rss_tolerance_kib: 32 * 1024,
            fd_tolerance: 8,
            trim_before_sample: true,
        }
    }
}

/// The kinds of fault the injector uses, with the name the report gives each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// 429 with `Retry-After: 1`.
    Throttled,
    /// 500.
    Status500,
    /// 503.
    Status503,
    /// The connection dropped without an answer.
    Reset,
    /// An answer slower than usual but within the host's call limit.
    SlowAnswer,
    /// An answer slower than the host's call limit (reads only).
    TimedOutRead,
    /// A push's answer slower than the host's call limit: the host stops the call, and its
    /// error carries the last progress the push reported.
    TimedOutPush,
    /// The worker's access token expired.
    TokenExpiry,
    /// A push stored, then its connection dropped without the answer (pushes only).
    AnswerLost,
}

impl Kind {
    const ALL: [Kind; 9] = [
        Kind::Throttled,
        Kind::Status500,
        Kind::Status503,
        Kind::Reset,
        Kind::SlowAnswer,
        Kind::TimedOutRead,
        Kind::TimedOutPush,
        Kind::TokenExpiry,
        Kind::AnswerLost,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Throttled => "429 Retry-After",
            Kind::Status500 => "500",
            Kind::Status503 => "503",
            Kind::Reset => "connection reset",
            Kind::SlowAnswer => "slow answer",
            Kind::TimedOutRead => "answer beyond the call limit (reads)",
            Kind::TimedOutPush => "answer beyond the call limit (pushes)",
            Kind::TokenExpiry => "token expiry",
            Kind::AnswerLost => "answer lost after storing (pushes)",
        }
    }

    /// The kind of an injected fault, to count the pending ones.
    fn of(fault: &Fault, slow_limit: Duration) -> Option<Kind> {
        Some(match &fault.kind {
            FaultKind::Status { status: 429, .. } => Kind::Throttled,
            FaultKind::Status { status: 500, .. } => Kind::Status500,
            FaultKind::Status { status: 503, .. } => Kind::Status503,
            FaultKind::ResetConnection => Kind::Reset,
            FaultKind::AnswerLost => Kind::AnswerLost,
            FaultKind::Delay(d) if *d < slow_limit => Kind::SlowAnswer,
            FaultKind::Delay(_) if fault.path_contains.as_deref() == Some("/rows") => {
                Kind::TimedOutPush
            }
            FaultKind::Delay(_) => Kind::TimedOutRead,
            _ => return None,
        })
    }
}

/// What a soak found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Whether every check passed.
    pub passed: bool,
    /// What failed, one sentence each (empty when `passed`).
    pub problems: Vec<String>,
    /// Seconds the workers started flows, and the whole run's.
    pub duration_seconds: f64,
    /// The run's, including the flows finishing and the checks.
    pub wall_seconds: f64,
    /// Workers (flows side by side).
    pub workers: usize,
    /// The seed of the random choices (`--seed` repeats the run's choices).
    pub seed: u64,
    /// Invocations, by action.
    pub calls: BTreeMap<String, u64>,
    /// Invocations that failed, by error kind (with the HTTP status when there was one).
    pub failures: BTreeMap<String, u64>,
    /// Attempts the component repeated within an invocation (its own retries).
    pub component_retries: u64,
    /// Steps the worker ran again after a failure (a resumed push, a repeated call).
    pub flow_retries: u64,
    /// Pushes resumed from the `resumeFromRow` of a failed one (or its
    /// `resumeFromRowIfStored`, when the batch it may have stored was found in the table).
    pub resumed_pushes: u64,
    /// Times a worker got a new token after `token-expired`.
    pub token_renewals: u64,
    /// Rows.
    pub rows: RowFigures,
    /// Datasets the flows created, checked and deleted.
    pub datasets: DatasetFigures,
    /// Failed pushes whose report of what landed was compared with the service's table.
    pub landed_reports: LandedFigures,
    /// Faults, by kind.
    pub faults: BTreeMap<String, FaultFigures>,
    /// Resident memory and open file descriptors, first window against last.
    pub resources: Resources,
}

/// Rows pushed and what the service holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RowFigures {
    /// Rows the flows pushed (each counted once, however many attempts it took).
    pub pushed: u64,
    /// Rows the flows' ledgers hold as landed, checked against the service.
    pub verified: u64,
    /// Rows in a ledger missing from the service.
    pub lost: u64,
    /// Extra copies of rows in the service.
    pub duplicated: u64,
    /// Rows in the service that no ledger holds (landed although reported as not).
    pub unexpected: u64,
    /// Rows removed by Delete Rows, after the table was checked.
    pub deleted_by_delete_rows: u64,
}

/// Datasets.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DatasetFigures {
    /// Created by the flows.
    pub created: u64,
    /// Whose table was compared with the ledger before deletion.
    pub verified: u64,
    /// Deleted after verification.
    pub deleted: u64,
    /// Left in the service at the end (0 unless a flow gave up).
    pub left: u64,
}

/// Failed pushes' reports of what landed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LandedFigures {
    /// Reports compared with the service's table.
    pub checked: u64,
    /// Reports that did not match it.
    pub wrong: u64,
    /// Failed pushes with no report of what landed.
    pub missing: u64,
    /// Batches that may or may not have been stored (a report's `maybeStored`, or the batch
    /// in flight of a push the host stopped), which the worker looked for in the table
    /// before resuming.
    pub uncertain: u64,
    /// Of those, the batches found stored (resumed after them, not from them).
    pub uncertain_stored: u64,
    /// Pushes the host stopped at its call limit, whose last progress (carried by the
    /// host's error) was checked against the table like a report, the batch in flight
    /// looked for like a `maybeStored` one.
    pub stopped: u64,
}

/// One kind of fault.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FaultFigures {
    /// Injected.
    pub injected: u64,
    /// Injected and met by a request (for token expiry: the expired token was used).
    pub hit: u64,
}

/// Resource samples, first window against last.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Resources {
    /// Samples taken.
    pub samples: usize,
    /// Seconds each window spans (the first and last minute, or tenth of a shorter run).
    pub window_seconds: f64,
    /// The median resident set in the first window, KiB: the level the process sits at,
    /// which a single transient buffer does not move.
    pub rss_first_kib: u64,
    /// The median resident set in the last window, KiB.
    pub rss_last_kib: u64,
    /// The largest resident set in the first window, KiB.
    pub rss_first_max_kib: u64,
    /// The largest resident set in the last window, KiB.
    pub rss_last_max_kib: u64,
    /// The largest resident set of the run, KiB.
    pub rss_peak_kib: u64,
    /// Allowed growth, KiB.
    pub rss_tolerance_kib: u64,
    /// Whether the allocator returned its free pages before each sample
    /// ([`Options::trim_before_sample`]).
    pub trimmed: bool,
    /// The most open file descriptors in the first window.
    pub fds_first: u64,
    /// The most open file descriptors in the last window.
    pub fds_last: u64,
    /// Allowed growth.
    pub fd_tolerance: u64,
    /// The median of what the program's allocations held in the first window, KiB (glibc's
    /// `mallinfo2`: bytes in use, not what the allocator keeps for reuse); 0 where unknown.
    /// Against the resident set it tells a leak (both grow) from memory the allocator
    /// retains (only the resident set grows).
    pub heap_first_kib: u64,
    /// The same in the last window, KiB.
    pub heap_last_kib: u64,
    /// Every sample: `[seconds since the start, resident KiB, open fds, heap in use KiB]`
    /// (JSON only).
    pub series: Vec<(f64, u64, u64, u64)>,
}

/// Locks ignoring poison: a panicking worker is reported by its join, and every update is
/// a counter.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the threads share.
struct Shared {
    service: ServiceHandle,
    connector: Connector,
    tally: Mutex<Report>,
    /// Each worker's access token, for the injector to expire.
    tokens: Vec<Mutex<String>>,
    /// Tokens the injector expired and no request has used since.
    expired_unused: Mutex<Vec<String>>,
    /// Set when the workers should finish their flows.
    stop: AtomicBool,
    options: Options,
}

impl Shared {
    fn tally(&self) -> MutexGuard<'_, Report> {
        lock(&self.tally)
    }

    fn problem(&self, text: String) {
        self.tally().problems.push(text);
    }
}

/// Runs a soak and reports. Errors are setup failures (the service, the component); what
/// the soak finds is in the [`Report`].
pub fn run(options: Options) -> Result<Report> {
    ensure!(
        options.listen.ip().is_loopback(),
        "the soak runs against a local service only: {} is not a loopback address",
        options.listen
    );
    ensure!(options.workers > 0, "at least one worker");
    ensure!(options.max_rows_per_push > 0, "at least one row per push");
    let seed = options.seed.unwrap_or_else(|| fastrand::u64(..));
    // Power BI's own push limits are off: they would answer 429s with Retry-After of up to
    // an hour on their own, and the soak injects its throttling itself. The request log
    // keeps one entry: every push's body would be kept otherwise.
    let service = ServiceHandle::spawn_on(
        options.listen,
        ServiceConfig {
            rows_requests_per_minute: 0,
            rows_per_hour: 0,
            large_table_requests_per_hour: 0,
            max_recorded_requests: 1,
            ..Default::default()
        },
    )
    .context("starting the local service")?;
    let base: url::Url = service.base_url().parse().context("the service's URL")?;
    ensure!(
        service.addr().ip().is_loopback(),
        "the service is not on loopback"
    );
    let component = options
        .component
        .clone()
        .unwrap_or_else(|| pbi_component::connector_wasm().to_path_buf());
    // Nothing but the local service: the API host is redirected to it, and no other host
    // is allowed.
    let config = HostConfig {
        call_timeout: options.call_timeout,
        allow_hosts: Some(Vec::new()),
        ..HostConfig::default()
    }
    .redirect("api.powerbi.com", base);
    let connector = Connector::load(&component, config)
        .with_context(|| format!("loading {}", component.display()))?;
    let tokens = (0..options.workers)
        .map(|_| Mutex::new(service.issue_token()))
        .collect();
    let shared = Arc::new(Shared {
        service,
        connector,
        tally: Mutex::new(Report::default()),
        tokens,
        expired_unused: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
        options: options.clone(),
    });
    {
        let mut t = shared.tally();
        t.seed = seed;
        t.workers = options.workers;
        for kind in Kind::ALL {
            t.faults
                .insert(kind.name().to_owned(), FaultFigures::default());
        }
    }

    let started = Instant::now();
    let samples = Mutex::new(Vec::<Sample>::new());
    let sampling_done = AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<()> {
        let sampler = scope.spawn(|| {
            while !sampling_done.load(Ordering::Relaxed) {
                if let Some(sample) = Sample::now(started, options.trim_before_sample) {
                    lock(&samples).push(sample);
                }
                sleep_unless(&sampling_done, options.sample_every);
            }
        });
        let injector = {
            let shared = shared.clone();
            scope.spawn(move || inject(&shared, fastrand::Rng::with_seed(seed)))
        };
        let workers: Vec<_> = (0..options.workers)
            .map(|w| {
                let shared = shared.clone();
                let rng = fastrand::Rng::with_seed(seed.wrapping_add(1 + w as u64));
                scope.spawn(move || Worker::new(&shared, w, rng).run())
            })
            .collect();
        sleep_unless(&shared.stop, options.duration);
        shared.stop.store(true, Ordering::Relaxed);
        let injected = injector.join();
        for (w, worker) in workers.into_iter().enumerate() {
            if worker.join().is_err() {
                shared.problem(format!("worker {w} panicked"));
            }
        }
        // The last window ends with the flows: sample once more, then stop the sampler.
        if let Some(sample) = Sample::now(started, options.trim_before_sample) {
            lock(&samples).push(sample);
        }
        sampling_done.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        if injected.is_err() {
            bail!("the fault injector panicked");
        }
        Ok(())
    })?;

    let mut report = std::mem::take(&mut *shared.tally());
    report.duration_seconds = options.duration.as_secs_f64();
    report.wall_seconds = started.elapsed().as_secs_f64();
    let left = shared
        .service
        .datasets(None)
        .iter()
        .filter(|d| d["name"].as_str().is_some_and(|n| n.starts_with("Soak ")))
        .count() as u64;
    report.datasets.left = left;
    if left > 0 {
        report
            .problems
            .push(format!("{left} soak datasets left in the service"));
    }
    report.resources = resources(&lock(&samples), &options, options.duration);
    check(&mut report);
    Ok(report)
}

/// Adds the problems the figures show and sets [`Report::passed`].
fn check(report: &mut Report) {
    let r = &report.rows;
    for (count, what) in [
        (r.lost, "rows lost"),
        (r.duplicated, "rows duplicated"),
        (r.unexpected, "rows stored although reported as not stored"),
        (report.landed_reports.wrong, "wrong reports of what landed"),
        (
            report.landed_reports.missing,
            "failed pushes without a report of what landed",
        ),
    ] {
        if count > 0 {
            report.problems.push(format!("{count} {what}"));
        }
    }
    if r.pushed != r.verified + r.deleted_by_delete_rows {
        report.problems.push(format!(
            "{} rows pushed but {} verified and {} removed by Delete Rows",
            r.pushed, r.verified, r.deleted_by_delete_rows
        ));
    }
    let res = &report.resources;
    if res.samples < 2 {
        report
            .problems
            .push("too few resource samples to compare".to_owned());
    }
    if res.rss_last_kib > res.rss_first_kib + res.rss_tolerance_kib {
        report.problems.push(format!(
            "resident memory grew from {} KiB to {} KiB (tolerance {} KiB)",
            res.rss_first_kib, res.rss_last_kib, res.rss_tolerance_kib
        ));
    }
    if res.fds_last > res.fds_first + res.fd_tolerance {
        report.problems.push(format!(
            "open file descriptors grew from {} to {} (tolerance {})",
            res.fds_first, res.fds_last, res.fd_tolerance
        ));
    }
    report.passed = report.problems.is_empty();
}

/// Sleeps `total`, waking early when `flag` is set.
fn sleep_unless(flag: &AtomicBool, total: Duration) {
    let end = Instant::now() + total;
    while !flag.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= end {
            break;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(100)));
    }
}

/// Injects faults at random until the workers stop, keeping few pending, then counts which
/// were met by a request and removes the rest.
fn inject(shared: &Shared, mut rng: fastrand::Rng) {
    let options = &shared.options;
    let service = &shared.service;
    // Slow answers beyond the call limit pass it by a second.
    let slow_limit = SLOW_ANSWER_MAX;
    let beyond = options.call_timeout + Duration::from_secs(1);
    let mut injected: BTreeMap<Kind, u64> = BTreeMap::new();
    // At most this many faults wait for a request: one per worker keeps every kind flowing
    // without stacking many on one push.
    let max_pending = options.workers;
    let mean_gap = 1.0 / options.fault_rate.max(0.001);
    // Kinds are drawn from a shuffled bag of each kind once, refilled when empty, so even a
    // short run meets every kind; the answers beyond the call limit, which hold a worker for
    // the whole limit, are in the first bag and then in about one bag every half minute.
    let mut bag: Vec<Kind> = Vec::new();
    let mut bags = 0u64;
    let slow_read_every = ((options.fault_rate * 30.0 / Kind::ALL.len() as f64) as u64).max(1);
    while !shared.stop.load(Ordering::Relaxed) {
        // Exponential gaps: faults arrive as a Poisson process of the given rate.
        let gap = -mean_gap * (1.0 - rng.f64()).ln();
        sleep_unless(&shared.stop, Duration::from_secs_f64(gap.min(60.0)));
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let pending = service.pending_faults();
        if pending.len() >= max_pending {
            continue;
        }
        if bag.is_empty() {
            bag = Kind::ALL
                .into_iter()
                .filter(|k| {
                    !matches!(k, Kind::TimedOutRead | Kind::TimedOutPush)
                        || bags.is_multiple_of(slow_read_every)
                })
                .collect();
            rng.shuffle(&mut bag);
            bags += 1;
        }
        let Some(kind) = bag.pop() else { continue };
        // One answer beyond the limit waiting at a time: each holds a worker for the whole
        // limit. The kind goes back to the bag for later.
        let beyond_limit =
            |k: Option<Kind>| matches!(k, Some(Kind::TimedOutRead | Kind::TimedOutPush));
        if beyond_limit(Some(kind))
            && pending
                .iter()
                .any(|f| beyond_limit(Kind::of(f, slow_limit)))
        {
            bag.insert(0, kind);
            continue;
        }
        let fault = match kind {
            Kind::TokenExpiry => {
                let w = rng.usize(..shared.tokens.len());
                let token = lock(&shared.tokens[w]).clone();
                // The worker may have just replaced it (and the service forgotten it).
                if service.token_store().expire(&token) {
                    lock(&shared.expired_unused).push(token);
                    *injected.entry(kind).or_default() += 1;
                }
                continue;
            }
            Kind::Throttled => Fault::throttled(RETRY_AFTER),
            Kind::Status500 => Fault::status(500, r#"{"error":{"code":"InternalError"}}"#),
            Kind::Status503 => Fault::status(503, r#"{"error":{"code":"ServiceUnavailable"}}"#),
            Kind::Reset => Fault::reset_connection(),
            Kind::SlowAnswer => Fault::delay(Duration::from_millis(rng.u64(20..200))),
            Kind::TimedOutRead => Fault::delay(beyond).on_method("GET"),
            // The host stops the push; the service drops the request with its connection
            // (a real one might apply it: the flow looks for the batch either way).
            Kind::TimedOutPush => Fault::delay(beyond).on_method("POST").on_path("/rows"),
            // Only pushes: their report says what may have landed. A lost answer to Create
            // Dataset or Delete Dataset would leave the flow nothing to check it with.
            Kind::AnswerLost => Fault::answer_lost().on_method("POST").on_path("/rows"),
        };
        let fault = match kind {
            Kind::TimedOutRead | Kind::TimedOutPush | Kind::AnswerLost => fault,
            // Mostly pushes, where a fault halfway tests the report of what landed; the
            // rest on reads, Delete Rows and Delete Dataset, and Create Dataset.
            _ => match rng.u8(..10) {
                0..=4 => fault.on_method("POST").on_path("/rows"),
                5..=6 => fault.on_method("GET"),
                7..=8 => fault.on_method("DELETE"),
                _ => fault.on_method("POST"),
            },
        };
        service.inject(fault);
        *injected.entry(kind).or_default() += 1;
    }
    // Faults no request met: counted apart, then removed so the flows finish without them.
    let mut pending: BTreeMap<Kind, u64> = BTreeMap::new();
    for fault in service.pending_faults() {
        if let Some(kind) = Kind::of(&fault, slow_limit) {
            *pending.entry(kind).or_default() += u64::from(fault.times);
        }
    }
    service.clear_faults();
    let unused_tokens = lock(&shared.expired_unused).len() as u64;
    pending.insert(Kind::TokenExpiry, unused_tokens);
    let mut t = shared.tally();
    for kind in Kind::ALL {
        let n = injected.get(&kind).copied().unwrap_or(0);
        let figures = t.faults.entry(kind.name().to_owned()).or_default();
        figures.injected = n;
        figures.hit = n.saturating_sub(pending.get(&kind).copied().unwrap_or(0));
    }
}

/// One flow runner: its own token, datasets and ledger.
struct Worker<'a> {
    shared: &'a Shared,
    index: usize,
    rng: fastrand::Rng,
    /// The next row id (unique across workers: the worker's index in the high digits).
    next_id: u64,
    /// The dataset of the flow under way.
    dataset: String,
    /// Row ids the flow believes are in the table, in the order they were stored.
    ledger: Vec<u64>,
    /// Flows started.
    flows: u64,
}

/// What a step's failure asks of the worker.
enum Next {
    /// Try again (after renewing the token or waiting, already done).
    Again,
    /// Give up on the step: the worker reported a problem.
    GiveUp,
}

impl<'a> Worker<'a> {
    fn new(shared: &'a Shared, index: usize, rng: fastrand::Rng) -> Self {
        Self {
            shared,
            index,
            rng,
            next_id: (index as u64 + 1) * 1_000_000_000_000,
            dataset: String::new(),
            ledger: Vec::new(),
            flows: 0,
        }
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    fn connection(&self) -> Value {
        // The connection as an engine hands it over; the token is the only credential the
        // local service checks.
        json!({
            "client-id": "pbi-soak",
            "client-secret": "pbi-soak-secret",
            "access-token": lock(&self.shared.tokens[self.index]).clone(),
        })
    }

    /// Flows until the run stops.
    fn run(mut self) {
        while !self.stopping() {
            if !self.flow() {
                // A flow that gave up has reported why; pause so a persistent failure does
                // not spin.
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }

    /// One flow: create, push (with reads and Delete Rows now and then), verify, delete.
    /// Returns false when a step gave up.
    fn flow(&mut self) -> bool {
        if !self.create_dataset() {
            return false;
        }
        let pushes = self.rng.usize(2..=5);
        // Every other flow (the first included) empties its table once, before a push
        // after the first.
        let delete_before = self
            .flows
            .is_multiple_of(2)
            .then(|| self.rng.usize(1..pushes));
        self.flows += 1;
        for push in 0..pushes {
            match self.rng.u8(..10) {
                0..=2 => self.read("list-datasets", json!({"top": 100})),
                3..=5 => self.read("get-dataset", json!({"dataset-id": self.dataset})),
                _ => {}
            }
            if delete_before == Some(push) && !self.delete_rows() {
                return false;
            }
            let n = self.rng.usize(1..=self.shared.options.max_rows_per_push);
            if !self.push(n) {
                return false;
            }
            if self.stopping() {
                break;
            }
        }
        self.verify();
        self.delete_dataset()
    }

    /// Invokes an action, counting the call, the component's retries and any failure.
    fn invoke(&self, action: &str, inputs: Value) -> Result<Invocation, HostError> {
        let connection = self.connection();
        let token = connection["access-token"].as_str().unwrap_or_default();
        let result = self
            .shared
            .connector
            .invoke_owned(action, &connection, inputs);
        {
            // A request went out with an expired token: that fault was met.
            let mut unused = lock(&self.shared.expired_unused);
            if let Some(i) = unused.iter().position(|t| t == token) {
                let sent = match &result {
                    Ok(inv) => !inv.requests.is_empty(),
                    Err(HostError::Call { requests, .. }) => !requests.is_empty(),
                    Err(_) => false,
                };
                if sent {
                    unused.swap_remove(i);
                }
            }
        }
        let mut t = self.shared.tally();
        *t.calls.entry(action.to_owned()).or_default() += 1;
        let failure = match &result {
            Ok(inv) => inv.result.as_ref().err().map(|e| match e.status {
                Some(status) => format!("{} ({status})", e.kind),
                None => e.kind.to_string(),
            }),
            Err(e) if is_call_limit(e) => Some("host: call limit".to_owned()),
            Err(_) => Some("host: other".to_owned()),
        };
        if let Some(kind) = failure {
            *t.failures.entry(kind).or_default() += 1;
        }
        result
    }

    /// After a failed step: renew an expired token, wait out throttling, count the retry;
    /// give up after [`MAX_ATTEMPTS`].
    fn after_failure(&mut self, error: &pbi_host::ActionError, attempt: u32, what: &str) -> Next {
        if attempt >= MAX_ATTEMPTS {
            self.shared.problem(format!(
                "worker {}: {what} still failing after {attempt} attempts: {error}",
                self.index
            ));
            return Next::GiveUp;
        }
        self.shared.tally().flow_retries += 1;
        match error.kind {
            pbi_host::ErrorKind::TokenExpired => self.renew_token(),
            pbi_host::ErrorKind::Throttled => {
                let secs = error.retry_after_seconds.unwrap_or(RETRY_AFTER).min(5);
                std::thread::sleep(Duration::from_secs(u64::from(secs)));
            }
            // Another fault may be pending for the next request; a short pause as an
            // engine's step retry would have.
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
        Next::Again
    }

    /// After an idempotent call stopped at the host's call limit: wait out any request of
    /// it the service is still answering slowly, and count the retry.
    fn after_call_limit(&self) {
        std::thread::sleep(SLOW_ANSWER_MAX * 2);
        self.shared.tally().flow_retries += 1;
    }

    /// A new token, as an engine refreshes one after `token-expired`; the old one is
    /// forgotten by the service so its token store stays bounded.
    fn renew_token(&self) {
        let service = &self.shared.service;
        let new = service.issue_token();
        let old = std::mem::replace(&mut *lock(&self.shared.tokens[self.index]), new);
        service.token_store().revoke(&old);
        lock(&self.shared.expired_unused).retain(|t| *t != old);
        self.shared.tally().token_renewals += 1;
    }

    fn create_dataset(&mut self) -> bool {
        let name = format!("Soak {} {}", self.index, self.next_id);
        let columns = json!([
            {"name": "Id", "dataType": "Int64"},
            {"name": "Worker", "dataType": "Int64"},
            {"name": "Note", "dataType": "string"},
        ]);
        for attempt in 1.. {
            let inputs = json!({"dataset-name": name, "table-name": TABLE, "columns": columns});
            match self.invoke("create-dataset", inputs) {
                Ok(inv) => match inv.result {
                    Ok(out) => {
                        let Some(id) = out.data["id"].as_str() else {
                            self.shared
                                .problem(format!("Create Dataset gave no id: {}", out.data));
                            return false;
                        };
                        self.dataset = id.to_owned();
                        self.ledger.clear();
                        self.shared.tally().datasets.created += 1;
                        // A failed Create Dataset is not applied (the faults are only those
                        // that are not): exactly one soak dataset of this name may exist.
                        let same = self
                            .shared
                            .service
                            .datasets(None)
                            .iter()
                            .filter(|d| d["name"] == name.as_str())
                            .count();
                        if same != 1 {
                            self.shared.problem(format!(
                                "worker {}: {same} datasets named {name} after its creation",
                                self.index
                            ));
                        }
                        return true;
                    }
                    Err(e) => {
                        if let Next::GiveUp = self.after_failure(&e, attempt, "Create Dataset") {
                            return false;
                        }
                    }
                },
                Err(e) => {
                    self.shared
                        .problem(format!("worker {}: Create Dataset: {e}", self.index));
                    return false;
                }
            }
        }
        false
    }

    /// A read (List Datasets, Get Dataset), retried like a flow's step; a read that ran
    /// past the call limit counts as a failure, not a problem.
    fn read(&mut self, action: &str, inputs: Value) {
        for attempt in 1..=MAX_ATTEMPTS {
            match self.invoke(action, inputs.clone()) {
                Ok(inv) => match inv.result {
                    Ok(_) => {
                        self.count_component_retries(&inv.requests, 1);
                        return;
                    }
                    Err(e) => {
                        self.count_component_retries(&inv.requests, 1);
                        if let Next::GiveUp = self.after_failure(&e, attempt, action) {
                            return;
                        }
                    }
                },
                // The injected slow read: the host stopped the call at its limit.
                Err(e) if is_call_limit(&e) => self.shared.tally().flow_retries += 1,
                Err(e) => {
                    self.shared
                        .problem(format!("worker {}: {action}: {e}", self.index));
                    return;
                }
            }
        }
    }

    fn count_component_retries(&self, requests: &[pbi_host::SeenRequest], expected: usize) {
        let extra = requests.len().saturating_sub(expected) as u64;
        self.shared.tally().component_retries += extra;
    }

    /// The table's row ids, in the order stored.
    fn table_ids(&self) -> Option<Vec<u64>> {
        let ids = self
            .shared
            .service
            .table_column(&self.dataset, TABLE, "Id")?;
        Some(ids.iter().map(|id| id.as_u64().unwrap_or(0)).collect())
    }

    /// Pushes `n` new rows, resuming after failures from the row the component reports.
    fn push(&mut self, n: usize) -> bool {
        let first = self.next_id;
        self.next_id += n as u64;
        let ids: Vec<u64> = (first..first + n as u64).collect();
        let rows: Vec<Value> = ids
            .iter()
            .map(|id| json!({"Id": id, "Worker": self.index, "Note": "soak"}))
            .collect();
        // Text once: each attempt clones a string, not a million values.
        let rows = Value::Array(rows).to_string();
        let mut start = 0usize;
        for attempt in 1.. {
            let inputs = json!({
                "dataset-id": self.dataset,
                "table-name": TABLE,
                "rows": rows,
                "start-row": start,
            });
            let inv = match self.invoke("create-rows", inputs) {
                Ok(inv) => inv,
                Err(e) if is_call_limit(&e) => {
                    let Some(resume) = self.check_stopped(&e, &ids, start) else {
                        return false;
                    };
                    if resume == n {
                        self.shared.tally().rows.pushed += n as u64;
                        return true;
                    }
                    start = resume;
                    if attempt >= MAX_ATTEMPTS {
                        self.shared.problem(format!(
                            "worker {}: Create Rows still stopped after {attempt} attempts",
                            self.index
                        ));
                        self.shared.tally().rows.pushed += start as u64;
                        return false;
                    }
                    self.shared.tally().flow_retries += 1;
                    continue;
                }
                Err(e) => {
                    // No report of what landed: the host stopped the call.
                    let mut t = self.shared.tally();
                    t.landed_reports.missing += 1;
                    t.problems
                        .push(format!("worker {}: Create Rows: {e}", self.index));
                    return false;
                }
            };
            match inv.result {
                Ok(out) => {
                    let batches = (n - start).div_ceil(BATCH);
                    self.count_component_retries(&inv.requests, batches);
                    if out.data["rowsSent"] != (n - start) as u64 {
                        self.shared.problem(format!(
                            "worker {}: Create Rows from row {start} of {n} reported {}",
                            self.index, out.data
                        ));
                    }
                    self.ledger.extend_from_slice(&ids[start..]);
                    let mut t = self.shared.tally();
                    t.rows.pushed += n as u64;
                    if start > 0 {
                        t.resumed_pushes += 1;
                    }
                    return true;
                }
                Err(e) => {
                    let Some(resume) = self.check_landed(&e, &ids, start, &inv.requests) else {
                        return false;
                    };
                    if resume == n {
                        // The last batch was reported as maybe stored and found in the
                        // table: nothing is left to push.
                        self.shared.tally().rows.pushed += n as u64;
                        return true;
                    }
                    start = resume;
                    if let Next::GiveUp = self.after_failure(&e, attempt, "Create Rows") {
                        // What landed is in the ledger; the rest of the push is abandoned
                        // and reported.
                        self.shared.tally().rows.pushed += start as u64;
                        return false;
                    }
                }
            }
        }
        false
    }

    /// Reads a failed push's report of what landed, adds the landed rows to the ledger and
    /// compares the ledger with the table. A batch reported as `maybeStored` is looked for
    /// in the table first, as a careful user does: found, it joins the ledger and the push
    /// resumes after it; missing, from it. Returns the row to resume from.
    fn check_landed(
        &mut self,
        error: &pbi_host::ActionError,
        ids: &[u64],
        start: usize,
        requests: &[pbi_host::SeenRequest],
    ) -> Option<usize> {
        let n = ids.len();
        let Some(progress) = &error.progress else {
            let mut t = self.shared.tally();
            t.landed_reports.missing += 1;
            t.problems.push(format!(
                "worker {}: a failed Create Rows without progress: {error}",
                self.index
            ));
            return None;
        };
        let resume = progress["resumeFromRow"].as_u64().map(|r| r as usize);
        let succeeded = progress["requestsSucceeded"].as_u64().unwrap_or(0) as usize;
        self.count_component_retries(requests, succeeded + 1);
        let range = |from: usize, to: usize| {
            if from < to {
                json!({"from": from, "to": to - 1})
            } else {
                Value::Null
            }
        };
        // The batch that may or may not have landed: its last row, when reported.
        let maybe = &progress["maybeStored"];
        let maybe_to = maybe["to"].as_u64().map(|to| to as usize);
        let consistent = resume.is_some_and(|r| {
            (start..=n).contains(&r)
                && progress["rowsTotal"] == n as u64
                && progress["rowsAccepted"] == (r - start) as u64
                && progress["accepted"] == range(start, r)
                && progress["skipped"] == range(0, start)
                && match maybe_to {
                    None => maybe.is_null() && progress["resumeFromRowIfStored"].is_null(),
                    // The uncertain batch is the failed one, starting where resuming would.
                    Some(to) => {
                        to < n
                            && *maybe == progress["failed"]
                            && maybe["from"] == r as u64
                            && progress["resumeFromRowIfStored"] == (to + 1) as u64
                    }
                }
        });
        let mut t = self.shared.tally();
        t.landed_reports.checked += 1;
        let Some(resume) = resume.filter(|_| consistent) else {
            t.landed_reports.wrong += 1;
            t.problems.push(format!(
                "worker {}: push of {n} rows from row {start}: inconsistent progress {progress}",
                self.index
            ));
            return None;
        };
        drop(t);
        let failure = format!("failed ({})", error.kind);
        Some(self.settle(ids, start, resume, maybe_to.map(|to| to + 1), &failure))
    }

    /// Adds what a failed push reported as landed (rows `start..resume`) to the ledger, and
    /// looks for the batch `resume..maybe_end` that may or may not have been stored in the
    /// table, as a careful user does before resuming (counts the rows, looks for the batch's
    /// last rows; a batch is stored whole or not at all): found, it joins the ledger and the
    /// push resumes after it. The dataset is this worker's alone, so the table must then hold
    /// exactly the ledger. Returns the row to resume from.
    fn settle(
        &mut self,
        ids: &[u64],
        start: usize,
        resume: usize,
        maybe_end: Option<usize>,
        failure: &str,
    ) -> usize {
        self.ledger.extend_from_slice(&ids[start..resume]);
        let table = self.table_ids().unwrap_or_default();
        let mut resume = resume;
        if let Some(end) = maybe_end.filter(|&end| end > resume) {
            let batch = &ids[resume..end];
            let stored = table.len() == self.ledger.len() + batch.len() && table.ends_with(batch);
            let mut t = self.shared.tally();
            t.landed_reports.uncertain += 1;
            if stored {
                t.landed_reports.uncertain_stored += 1;
                self.ledger.extend_from_slice(batch);
                resume = end;
            }
        }
        if table != self.ledger {
            let mut t = self.shared.tally();
            t.landed_reports.wrong += 1;
            t.problems.push(format!(
                "worker {}: push of {} rows from row {start} {failure}, to resume from row {resume}; the table holds {} rows, the ledger {}",
                self.index,
                ids.len(),
                table.len(),
                self.ledger.len()
            ));
            // Go on from what the service holds, so one wrong report is counted once.
            self.ledger = table;
        }
        resume
    }

    /// After the host stopped a push at its call limit: its error carries the last progress
    /// the push reported (the rows the service had acknowledged from Start Row on), and the
    /// batch in flight may or may not have been stored. As with a `maybeStored` report, the
    /// flow looks for that batch in the table. Returns the row to resume from.
    fn check_stopped(&mut self, error: &HostError, ids: &[u64], start: usize) -> Option<usize> {
        let n = ids.len();
        let HostError::Call { progress, .. } = error else {
            return None;
        };
        // No progress line yet: the first batch was the one in flight.
        let done = progress.as_ref().map_or(0, |p| p.done as usize);
        let consistent = start + done <= n
            && progress
                .as_ref()
                .is_none_or(|p| p.total == Some((n - start) as u64));
        let mut t = self.shared.tally();
        t.landed_reports.checked += 1;
        t.landed_reports.stopped += 1;
        if !consistent {
            t.landed_reports.wrong += 1;
            t.problems.push(format!(
                "worker {}: push of {n} rows from row {start} stopped at the call limit with inconsistent progress {progress:?}",
                self.index
            ));
            return None;
        }
        drop(t);
        // The service drops the request it was holding once the host has gone; a moment
        // for that before the table is read.
        std::thread::sleep(SLOW_ANSWER_MAX * 2);
        let resume = start + done;
        let failure = format!("stopped at the call limit having reported {done} rows sent");
        Some(self.settle(ids, start, resume, Some((resume + BATCH).min(n)), &failure))
    }

    /// Compares the table with the ledger: lost, duplicated and unexpected rows.
    fn verify(&mut self) {
        let table = self.table_ids().unwrap_or_default();
        let (lost, duplicated, unexpected) = compare(&self.ledger, &table);
        let mut t = self.shared.tally();
        t.datasets.verified += 1;
        t.rows.verified += self.ledger.len() as u64 - lost;
        t.rows.lost += lost;
        t.rows.duplicated += duplicated;
        t.rows.unexpected += unexpected;
        if lost + duplicated + unexpected > 0 {
            t.problems.push(format!(
                "worker {}: dataset {}: {lost} lost, {duplicated} duplicated, {unexpected} unexpected rows",
                self.index, self.dataset
            ));
        } else if table != self.ledger {
            t.problems.push(format!(
                "worker {}: dataset {}: rows stored out of order",
                self.index, self.dataset
            ));
        }
    }

    /// Delete Rows after checking the table; the table must then be empty.
    fn delete_rows(&mut self) -> bool {
        self.verify();
        let removed = self.ledger.len() as u64;
        for attempt in 1.. {
            let inputs = json!({"dataset-id": self.dataset, "table-name": TABLE});
            match self.invoke("delete-rows", inputs) {
                Ok(inv) => {
                    self.count_component_retries(&inv.requests, 1);
                    match inv.result {
                        Ok(_) => break,
                        Err(e) => {
                            if let Next::GiveUp = self.after_failure(&e, attempt, "Delete Rows") {
                                return false;
                            }
                        }
                    }
                }
                // Stacked retries (429s, backoffs) outlasted the call limit. A DELETE is
                // idempotent, but one still in the service (under a slow answer) must not
                // land after the next push: wait until any has been answered, then again.
                Err(e) if is_call_limit(&e) => self.after_call_limit(),
                Err(e) => {
                    self.shared
                        .problem(format!("worker {}: Delete Rows: {e}", self.index));
                    return false;
                }
            }
        }
        let left = self.table_ids().map_or(0, |t| t.len());
        if left != 0 {
            self.shared.problem(format!(
                "worker {}: {left} rows left after Delete Rows succeeded",
                self.index
            ));
        }
        // The verified rows are accounted as removed, not as verified twice.
        let mut t = self.shared.tally();
        t.rows.verified -= removed;
        t.rows.deleted_by_delete_rows += removed;
        t.datasets.verified -= 1;
        drop(t);
        self.ledger.clear();
        true
    }

    fn delete_dataset(&mut self) -> bool {
        for attempt in 1.. {
            match self.invoke("delete-dataset", json!({"dataset-id": self.dataset})) {
                Ok(inv) => {
                    self.count_component_retries(&inv.requests, 1);
                    match inv.result {
                        Ok(_) => break,
                        // A DELETE is retried by the component: an earlier attempt of the
                        // same call may have deleted it.
                        Err(e) if e.kind == pbi_host::ErrorKind::NotFound && attempt > 1 => break,
                        Err(e) => {
                            if let Next::GiveUp = self.after_failure(&e, attempt, "Delete Dataset")
                            {
                                return false;
                            }
                        }
                    }
                }
                // As for Delete Rows; a later attempt may find the dataset gone (404).
                Err(e) if is_call_limit(&e) => self.after_call_limit(),
                Err(e) => {
                    self.shared
                        .problem(format!("worker {}: Delete Dataset: {e}", self.index));
                    return false;
                }
            }
        }
        if self
            .shared
            .service
            .table_columns(&self.dataset, TABLE)
            .is_some()
        {
            self.shared.problem(format!(
                "worker {}: dataset {} still there after Delete Dataset",
                self.index, self.dataset
            ));
            return false;
        }
        self.shared.tally().datasets.deleted += 1;
        self.ledger.clear();
        true
    }
}

/// Whether the host stopped the call at [`HostConfig::call_timeout`].
fn is_call_limit(e: &HostError) -> bool {
    matches!(e, HostError::Call { message, .. } if message.contains("call limit"))
}

/// `(lost, duplicated, unexpected)`: ledger rows missing from the table, extra copies in the
/// table, table rows in no ledger.
pub fn compare(ledger: &[u64], table: &[u64]) -> (u64, u64, u64) {
    let mut counts: HashMap<u64, i64> = HashMap::with_capacity(ledger.len());
    for id in ledger {
        *counts.entry(*id).or_default() += 1;
    }
    let mut in_table: HashMap<u64, u64> = HashMap::with_capacity(table.len());
    for id in table {
        *in_table.entry(*id).or_default() += 1;
    }
    let (mut lost, mut duplicated, mut unexpected) = (0, 0, 0);
    for (id, expected) in &counts {
        let got = in_table.get(id).copied().unwrap_or(0) as i64;
        if got < *expected {
            lost += (*expected - got) as u64;
        } else {
            duplicated += (got - *expected) as u64;
        }
    }
    for (id, got) in &in_table {
        if !counts.contains_key(id) {
            unexpected += 1;
            duplicated += got - 1;
        }
    }
    (lost, duplicated, unexpected)
}

/// One sample of the process's resources.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: u64,
    heap_kib: u64,
}

impl Sample {
    /// Resident memory from `/proc/self/status` (after [`trim_allocator`] when `trim`), the
    /// entries of `/proc/self/fd` and the heap in use (Linux); `None` elsewhere.
    fn now(started: Instant, trim: bool) -> Option<Sample> {
        if trim {
            trim_allocator();
        }
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        let fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
        Some(Sample {
            at: started.elapsed(),
            rss_kib,
            fds,
            heap_kib: heap_in_use_bytes() / 1024,
        })
    }
}

/// What the program's allocations hold now, in bytes: glibc's count of bytes handed out
/// from its arenas plus its mmapped chunks (`mallinfo2`), without the free memory it keeps
/// for reuse; 0 with another allocator or C library.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_in_use_bytes() -> u64 {
    // SAFETY: mallinfo2 only reads the allocator's counters (it takes each arena's lock).
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks + info.hblkhd) as u64
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_in_use_bytes() -> u64 {
    0
}

/// Has glibc return the free memory of every arena to the kernel (`malloc_trim(0)`: the
/// top of each heap is cut and the free pages inside are `madvise`d away). glibc keeps
/// what a thread freed in that thread's arena for reuse and never shrinks an arena below a
/// chunk still in use, so without this the resident set follows the highest point each of
/// up to 8 x cores arenas ever reached, which creeps up as rare coincidences of large
/// pushes set new highs (measured: live heap flat at ~55 MiB, resident set +30 to +45 MiB
/// over ten minutes).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_allocator() {
    // SAFETY: malloc_trim takes each arena's lock and only releases free pages.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_allocator() {}

/// The first window against the last: the first and last minute of a run of five minutes
/// or more, the first and last tenth of a shorter one. Resident memory is compared by the
/// median of each window (a push's transient buffers lift single samples by 10 to 20 MiB);
/// the first window's median includes the warm-up (the pool's instance slots touched, the
/// allocator's arenas grown), which only makes the comparison stricter. File descriptors
/// are compared by the largest count of each window.
fn resources(samples: &[Sample], options: &Options, duration: Duration) -> Resources {
    let window = if duration >= Duration::from_secs(300) {
        Duration::from_secs(60)
    } else {
        duration / 10
    };
    let end = samples.last().map_or(Duration::ZERO, |s| s.at);
    let first: Vec<&Sample> = samples.iter().filter(|s| s.at <= window).collect();
    let last: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at + window >= end && s.at > window)
        .collect();
    let max = |set: &[&Sample], f: fn(&Sample) -> u64| set.iter().map(|s| f(s)).max();
    let median = |set: &[&Sample], f: fn(&Sample) -> u64| {
        let mut v: Vec<u64> = set.iter().map(|s| f(s)).collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied()
    };
    Resources {
        samples: samples.len(),
        window_seconds: window.as_secs_f64(),
        rss_first_kib: median(&first, |s| s.rss_kib).unwrap_or(0),
        rss_last_kib: median(&last, |s| s.rss_kib).unwrap_or(0),
        rss_first_max_kib: max(&first, |s| s.rss_kib).unwrap_or(0),
        rss_last_max_kib: max(&last, |s| s.rss_kib).unwrap_or(0),
        rss_peak_kib: samples.iter().map(|s| s.rss_kib).max().unwrap_or(0),
        rss_tolerance_kib: options.rss_tolerance_kib,
        trimmed: options.trim_before_sample,
        fds_first: max(&first, |s| s.fds).unwrap_or(0),
        fds_last: max(&last, |s| s.fds).unwrap_or(0),
        fd_tolerance: options.fd_tolerance,
        heap_first_kib: median(&first, |s| s.heap_kib).unwrap_or(0),
        heap_last_kib: median(&last, |s| s.heap_kib).unwrap_or(0),
        series: samples
            .iter()
            .map(|s| {
                let at = (s.at.as_secs_f64() * 10.0).round() / 10.0;
                (at, s.rss_kib, s.fds, s.heap_kib)
            })
            .collect(),
    }
}

impl Report {
    /// The report as text, for a person.
    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "pbi-soak: {} ({:.0} s of flows, {:.0} s in all, {} workers, seed {})",
            if self.passed { "PASSED" } else { "FAILED" },
            self.duration_seconds,
            self.wall_seconds,
            self.workers,
            self.seed
        );
        let r = &self.rows;
        let _ = writeln!(
            s,
            "rows: {} pushed, {} verified in the service, {} removed by Delete Rows after checking; lost {}, duplicated {}, unexpected {}",
            r.pushed, r.verified, r.deleted_by_delete_rows, r.lost, r.duplicated, r.unexpected
        );
        let d = &self.datasets;
        let _ = writeln!(
            s,
            "datasets: {} created, {} verified, {} deleted, {} left",
            d.created, d.verified, d.deleted, d.left
        );
        let l = &self.landed_reports;
        let _ = writeln!(
            s,
            "failed pushes' reports of what landed: {} checked against the service ({} of them pushes the host stopped at its call limit, by their last progress), {} wrong, {} missing; {} batches maybe stored, looked for in the table before resuming: {} found stored",
            l.checked, l.stopped, l.wrong, l.missing, l.uncertain, l.uncertain_stored
        );
        let calls: u64 = self.calls.values().sum();
        let _ = writeln!(s, "calls: {calls}");
        for (action, n) in &self.calls {
            let _ = writeln!(s, "  {action:<16} {n}");
        }
        let failed: u64 = self.failures.values().sum();
        let _ = writeln!(s, "failed calls: {failed}");
        for (kind, n) in &self.failures {
            let _ = writeln!(s, "  {kind:<24} {n}");
        }
        let _ = writeln!(
            s,
            "retries: {} by the component, {} by the flows ({} pushes resumed); token renewals {}",
            self.component_retries, self.flow_retries, self.resumed_pushes, self.token_renewals
        );
        let _ = writeln!(s, "faults (injected / met by a request):");
        for (kind, f) in &self.faults {
            let _ = writeln!(s, "  {kind:<38} {:>6} / {}", f.injected, f.hit);
        }
        let m = &self.resources;
        let _ = writeln!(
            s,
            "resources ({} samples, windows of {:.0} s): resident memory{} (median) {:.1} MiB -> {:.1} MiB (largest {:.1} -> {:.1}, peak {:.1}; tolerance +{:.1}); open fds {} -> {} (tolerance +{})",
            m.samples,
            m.window_seconds,
            if m.trimmed {
                ", the allocator's free pages returned before each sample,"
            } else {
                ""
            },
            m.rss_first_kib as f64 / 1024.0,
            m.rss_last_kib as f64 / 1024.0,
            m.rss_first_max_kib as f64 / 1024.0,
            m.rss_last_max_kib as f64 / 1024.0,
            m.rss_peak_kib as f64 / 1024.0,
            m.rss_tolerance_kib as f64 / 1024.0,
            m.fds_first,
            m.fds_last,
            m.fd_tolerance
        );
        if m.heap_first_kib > 0 {
            let _ = writeln!(
                s,
                "heap in use (median, the allocations themselves, not what the allocator keeps): {:.1} MiB -> {:.1} MiB",
                m.heap_first_kib as f64 / 1024.0,
                m.heap_last_kib as f64 / 1024.0,
            );
        }
        for p in &self.problems {
            let _ = writeln!(s, "problem: {p}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_counts_lost_duplicated_and_unexpected() {
        assert_eq!(compare(&[1, 2, 3], &[1, 2, 3]), (0, 0, 0));
        assert_eq!(compare(&[1, 2, 3], &[1, 3]), (1, 0, 0));
        assert_eq!(compare(&[1, 2, 3], &[1, 2, 2, 3, 3, 3]), (0, 3, 0));
        assert_eq!(compare(&[1], &[1, 9, 9]), (0, 1, 1));
    }

    #[test]
    fn windows_are_the_first_and_last_tenth() {
        let s = |secs: u64, rss_kib: u64, fds: u64| Sample {
            at: Duration::from_secs(secs),
            rss_kib,
            fds,
            heap_kib: rss_kib / 2,
        };
        let samples = [
            s(0, 10, 5),
            s(1, 50, 9),
            s(2, 40, 7),
            s(10, 95, 30),
            s(18, 60, 10),
            s(19, 90, 9),
            s(20, 55, 9),
        ];
        let r = resources(&samples, &Options::default(), Duration::from_secs(20));
        assert_eq!(r.window_seconds, 2.0);
        assert_eq!((r.rss_first_kib, r.rss_last_kib), (40, 60), "medians");
        assert_eq!((r.rss_first_max_kib, r.rss_last_max_kib), (50, 90));
        assert_eq!((r.fds_first, r.fds_last, r.rss_peak_kib), (9, 10, 95));
        assert_eq!(
            (r.heap_first_kib, r.heap_last_kib),
            (20, 30),
            "heap medians"
        );
    }

    #[test]
    fn a_lost_row_fails_the_report() {
        let mut report = Report::default();
        report.resources.samples = 2;
        check(&mut report);
        assert!(report.passed, "{:?}", report.problems);
        report.rows.lost = 1;
        report.rows.pushed = 1;
        check(&mut report);
        assert!(!report.passed);
        assert!(report.problems.iter().any(|p| p.contains("1 rows lost")));
    }

    #[test]
    fn a_remote_target_is_refused() {
        let options = Options {
            listen: "192.0.2.1:0".parse().expect("address"),
            ..Options::default()
        };
        let e = run(options).expect_err("refused");
        assert!(e.to_string().contains("loopback"), "{e}");
    }
}
