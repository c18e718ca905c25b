//! `pbi-bench`: the Power BI component in `pbi-host` against a native Rust client, on one
//! local Power BI service, in one run. Prints a table of the issue's five figures (metric,
//! measured, target, pass/fail), the phases each one breaks down into, and the machine.
//!
//! ```text
//! cargo run --release -p pbi-bench [-- --list-runs 200 --instantiate-runs 1000 --rows-runs 3 --rows 1000000]
//! ```
//!
//! The component is timed only through the real host: from outside through
//! `Connector::invoke`, `invoke_owned` and `invoke_async`, as an engine calls them, and
//! inside its calls through the host's own [`pbi_host::CallObserver`]
//! (`HostConfig::observer`; this crate turns on pbi-host's `observe` feature, so the guest's
//! calls into the host are counted and timed): instantiation, the call, the guest's peak
//! linear memory and its calls into the host. The headline figures run without the observer
//! (with it, every host call goes through wasmtime's call hook); the phase figures come from
//! runs with it, interleaved with the others. (1) also gives the process's CPU time and
//! context switches per call (`getrusage`, every thread, the service's included) for the
//! component and the native keep-alive client: steadier than wall time on a busy machine,
//! and what bounds how many calls run at once (7a).
//!
//! Until the host exposed those phases the bench timed them in its own copy of an older host
//! (`src/guest.rs`: its own engine, linker, store and egress). Its figures that the real host
//! does not expose are gone:
//! - when the guest hands each request to the host, when a request body's last byte leaves
//!   it and when the answer's head comes back: (1)'s "call start -> request handed to host",
//!   "request -> answer headers" and "answer headers -> call returns", and (3)'s "lower +
//!   parse rows + build body 1", "between requests", "body streamed" and "service answers".
//!   The observer's split of the call into time inside and outside host calls stays, and
//!   (3)'s "lower + parse only" and "lower only" variants still isolate the guest's work
//!   before its first request;
//! - the host's egress without its connection pool, and the pooled egress and pooling
//!   allocator "fixes, measured" beside it: the host now always keeps connections alive and
//!   takes instances from the pooling allocator, so `Connector::invoke` is that figure;
//! - instantiation and the no-I/O floor on wasmtime's on-demand allocator: `HostConfig` has
//!   no switch to it (`max_concurrent_calls` only sizes the pool);
//! - compiling and deserializing the component as such: (2) times `Connector::load` without
//!   a cache, into an empty `cache_dir` and from it (`Connector::from_cache`) instead, each a
//!   whole load (link, two `describe` calls, the schemas, the runtime);
//! - (3)'s "JSON->Val alone, copying" (`value::json_to_val`): it needs the action's WIT input
//!   type, which `Connector` does not expose.
//!
//! The host counts host calls from instantiation on (the copy counted the call's alone);
//! instantiation is timed without `Store::new` (the copy timed both).

mod native;
mod node;
mod observed;
mod scale;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use http::Method;
use pbi_host::{Connector, HostConfig, Invocation};
use pbi_service::{ServiceConfig, ServiceHandle};
use serde::Serialize;
use serde_json::{Value, json};

use native::{Client, Strategy};
use observed::{Observed, Recorder};

/// Rows per Create Rows request (Power BI's limit, and the component's batch).
const BATCH: usize = 10_000;
/// The datasets List Datasets returns (besides the one the rows go to).
const LISTED_DATASETS: usize = 10;
/// The table the rows go to.
const TABLE: &str = "Sales";

/// The call that reaches the guest and ends there without I/O: List Tables of a dataset ID
/// that is not a GUID. The host's checks let it through (the definition's schema only says
/// the ID is a string); the guest refuses it before building a request. (`{"top": 1001}`,
/// which the bench used before, is out of the schema's bounds: the host refuses it without
/// instantiating anything, which the bench checks and times as well.)
const NO_IO_ACTION: &str = "list-tables";
/// The input of [`NO_IO_ACTION`] the guest refuses.
const NO_IO_INPUT: &str = "dataset-id";

/// The host the component's requests go to, which the bench redirects to the local service.
const API_HOST: &str = "api.powerbi.com";
/// List Datasets' path, as the component and the native clients send it.
const LIST_PATH: &str = "/v1.0/myorg/datasets";

/// What the floor of (1) and (7a) fetches through `misbehave`'s `fetch`: List Datasets' URL,
/// which the host redirects to the local service as it does the component's.
fn floor_url() -> String {
    format!("https://{API_HOST}{LIST_PATH}")
}

/// That `misbehave`'s `fetch` answered a 200 of `bytes` bytes.
fn check_fetched(invocation: pbi_host::Invocation, bytes: usize) -> Result<()> {
    let data = match invocation.result {
        Ok(output) => output.data,
        Err(e) => bail!("misbehave's fetch failed: {e}"),
    };
    ensure!(
        data == json!({"status": 200, "bytes": bytes}),
        "misbehave's fetch answered {data}, a 200 of {bytes} bytes expected"
    );
    Ok(())
}

fn no_io_inputs() -> Value {
    json!({NO_IO_INPUT: "not-a-dataset-id"})
}

/// How many times each thing runs.
struct Options {
    list_runs: usize,
    instantiate_runs: usize,
    rows_runs: usize,
    rows: usize,
    /// Run only these sections (1 to 7); all when empty.
    only: Vec<u8>,
    /// Only invoke List Datasets this many times, for a profiler (`perf record`).
    invoke_loop: Option<usize>,
    /// Only run (7a)'s component side this many rounds, for a profiler.
    concurrent_loop: Option<usize>,
    /// With `concurrent_loop`: run (7a)'s floor (misbehave's fetch) instead.
    floor: bool,
    /// Another build of the component instead of `pbi_component::connector_wasm()`.
    component: Option<PathBuf>,
}

impl Options {
    fn parse() -> Result<Self> {
        let mut options = Options {
            list_runs: 200,
            instantiate_runs: 1000,
            rows_runs: 3,
            rows: 1_000_000,
            only: Vec::new(),
            invoke_loop: None,
            concurrent_loop: None,
            floor: false,
            component: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = || -> Result<usize> {
                args.next()
                    .with_context(|| format!("{arg} needs a number"))?
                    .parse()
                    .with_context(|| format!("{arg} needs a number"))
            };
            match arg.as_str() {
                "--list-runs" => options.list_runs = number()?.max(1),
                "--instantiate-runs" => options.instantiate_runs = number()?.max(1),
                "--rows-runs" => options.rows_runs = number()?.max(1),
                "--rows" => options.rows = number()?.max(BATCH),
                "--component" => {
                    options.component =
                        Some(args.next().context("--component needs a path")?.into());
                }
                "--invoke-loop" => options.invoke_loop = Some(number()?),
                "--concurrent-loop" => options.concurrent_loop = Some(number()?),
                "--floor" => options.floor = true,
                "--only" => options.only.push(number()?.clamp(1, 7) as u8),
                "--quick" => {
                    options.list_runs = 50;
                    options.instantiate_runs = 200;
                    options.rows_runs = 1;
                    options.rows = 100_000;
                }
                "-h" | "--help" => {
                    println!(
                        "usage: pbi-bench [--list-runs N] [--instantiate-runs N] [--rows-runs N] [--rows N] [--only SECTION]... [--quick] [--invoke-loop N] [--concurrent-loop N [--floor]] [--component FILE.wasm]"
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other} (try --help)"),
            }
        }
        if options.floor && options.concurrent_loop.is_none() {
            bail!("--floor only goes with --concurrent-loop N (try --help)");
        }
        Ok(options)
    }
}

/// One row of the result table.
struct Verdict {
    metric: String,
    measured: String,
    target: String,
    pass: bool,
}

/// A row as Power BI gets it.
#[derive(Serialize)]
struct Row {
    #[serde(rename = "Id")]
    id: u64,
    #[serde(rename = "Region")]
    region: &'static str,
    #[serde(rename = "Amount")]
    amount: f64,
}

/// A Post Rows body.
#[derive(Serialize)]
struct Rows<'a> {
    rows: &'a [Row],
}

/// `count` rows as the bench pushes them.
fn rows(count: usize) -> Vec<Row> {
    (0..count as u64)
        .map(|id| Row {
            id,
            region: "West",
            amount: 1.5,
        })
        .collect()
}

/// What the whole process used per call over a run of calls.
struct Usage {
    /// User and system CPU time, every thread.
    cpu: Duration,
    /// Voluntary and involuntary context switches, every thread.
    switches: f64,
}

impl Usage {
    /// Makes `calls` calls of `call` and divides the process's usage over them.
    fn per_call(calls: usize, mut call: impl FnMut() -> Result<()>) -> Result<Self> {
        let before = rusage()?;
        for _ in 0..calls {
            call()?;
        }
        let after = rusage()?;
        let calls_f = calls.max(1) as f64;
        Ok(Self {
            cpu: after.0.saturating_sub(before.0) / u32::try_from(calls.max(1))?,
            switches: after.1.saturating_sub(before.1) as f64 / calls_f,
        })
    }
}

/// The process's CPU time so far and its context switches (`getrusage(RUSAGE_SELF)`, which
/// sums every thread).
fn rusage() -> Result<(Duration, u64)> {
    // SAFETY: `getrusage` writes a `rusage` it is handed; all-zero is a valid one.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a `rusage` this function owns.
    let failed = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0;
    ensure!(
        !failed,
        "getrusage failed: {}",
        std::io::Error::last_os_error()
    );
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    let switches = (usage.ru_nvcsw + usage.ru_nivcsw) as u64;
    Ok((time(usage.ru_utime) + time(usage.ru_stime), switches))
}

/// Everything the sections share.
struct Bench {
    options: Options,
    /// The component's file.
    component: PathBuf,
    service: ServiceHandle,
    connector: Connector,
    /// The connector's configuration as an engine would have it (no observer)...
    plain: HostConfig,
    /// ...and the same with [`Bench::recorder`] as its observer.
    observed: HostConfig,
    recorder: Arc<Recorder>,
    /// An async engine's runtime (one thread), awaiting `Connector::invoke_async`.
    engine: tokio::runtime::Runtime,
    connection: Value,
    client: Client,
    dataset: String,
    verdicts: Vec<Verdict>,
    /// The phase tables, printed after the verdicts.
    details: String,
}

fn main() -> Result<()> {
    let options = Options::parse()?;
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: a debug build; run `cargo run --release -p pbi-bench` for real figures"
        );
    }
    let started = Instant::now();
    // Power BI's push limits would throttle a benchmark that pushes millions of rows into
    // one dataset; the bench measures the connector, so they are off.
    let service = ServiceHandle::spawn(ServiceConfig {
        rows_requests_per_minute: 0,
        rows_per_hour: 0,
        large_table_requests_per_hour: 0,
        // Every request is logged with its body: keep only a few.
        max_recorded_requests: 8,
        ..Default::default()
    })
    .context("starting the local service")?;
    let base: url::Url = service.base_url().parse().context("the service's URL")?;
    let token = service.issue_token();
    let tables = json!([{"name": TABLE, "columns": [
        {"name": "Id", "dataType": "Int64"},
        {"name": "Region", "dataType": "string"},
        {"name": "Amount", "dataType": "Double"},
    ]}]);
    for i in 0..LISTED_DATASETS {
        service.add_dataset(None, &format!("Bench {i}"), true, tables.clone());
    }
    let dataset = service.add_dataset(None, "Bench rows", true, tables);

    let component = options
        .component
        .clone()
        .unwrap_or_else(|| pbi_component::connector_wasm().to_path_buf());
    eprintln!("loading the component ({})", component.display());
    let plain = HostConfig::default().redirect(API_HOST, base);
    let recorder = Arc::new(Recorder::default());
    let observed = HostConfig {
        observer: Some(recorder.clone()),
        ..plain.clone()
    };
    let connector =
        Connector::load(&component, plain.clone()).context("loading the component in pbi-host")?;
    let engine = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the engine's runtime")?;
    let client = Client::new(service.addr(), &token)?;
    let mut bench = Bench {
        options,
        component,
        connection: json!({
            "client-id": "pbi-bench",
            "client-secret": "pbi-bench-secret",
            "access-token": token,
        }),
        service,
        connector,
        plain,
        observed,
        recorder,
        engine,
        client,
        dataset,
        verdicts: Vec::new(),
        details: String::new(),
    };

    if let Some(n) = bench.options.invoke_loop {
        // For a profiler: nothing but Connector::invoke.
        for _ in 0..n {
            let invocation =
                bench
                    .connector
                    .invoke("list-datasets", &bench.connection, &json!({}))?;
            bench.check_ok(&invocation)?;
        }
        return Ok(());
    }
    if let Some(rounds) = bench.options.concurrent_loop {
        // For a profiler: nothing but (7a)'s calls at once through Connector::invoke_async.
        return bench.concurrent_loop(rounds, bench.options.floor);
    }
    let only = bench.options.only.clone();
    let run = |section: u8| only.is_empty() || only.contains(&section);
    if run(1) {
        bench.list_datasets()?;
    }
    if run(2) {
        bench.instantiation()?;
    }
    if run(3) {
        bench.create_rows()?;
    }
    if run(4) {
        bench.size()?;
    }
    if run(5) {
        bench.memory()?;
    }
    if run(6) {
        bench.against_node()?;
    }
    if run(7) {
        bench.concurrent()?;
    }
    bench.report(started.elapsed());
    Ok(())
}

impl Bench {
    /// `Connector::invoke_owned` with the observer on: the invocation, the host's figures for
    /// its call, and the whole invocation's time. Fails when the component was not called.
    fn observe(&mut self, action: &str, inputs: Value) -> Result<Observed> {
        let (invocation, total) = self.invoke_observed(action, inputs)?;
        Observed::new(action, invocation, total, &self.recorder)
    }

    /// `Connector::invoke_owned` with the observer on, the observer's record left in it.
    fn invoke_observed(&mut self, action: &str, inputs: Value) -> Result<(Invocation, Duration)> {
        // The configuration is read per invocation: only this one is observed.
        self.connector.set_config(self.observed.clone());
        self.recorder.take();
        let start = Instant::now();
        let invocation = self
            .connector
            .invoke_owned(action, &self.connection, inputs);
        let total = start.elapsed();
        self.connector.set_config(self.plain.clone());
        Ok((invocation?, total))
    }

    /// Checks that the host itself refuses `inputs` as invalid input `input`, without calling
    /// the component.
    fn check_host_refuses(&mut self, action: &str, inputs: Value, input: &str) -> Result<()> {
        let (invocation, _) = self.invoke_observed(action, inputs)?;
        let calls = self.recorder.take();
        ensure!(
            calls.is_empty(),
            "{action}: the host let invalid `{input}` through to the component"
        );
        match &invocation.result {
            Err(e) if e.is_invalid_input() && e.input.as_deref() == Some(input) => Ok(()),
            other => bail!("{action}: expected the host to refuse `{input}`, got {other:?}"),
        }
    }

    /// (1) One List Datasets through the component against the native client.
    fn list_datasets(&mut self) -> Result<()> {
        let runs = self.options.list_runs;
        eprintln!("(1) List Datasets: {runs} runs of each variant");
        let path = LIST_PATH;
        let inputs = json!({});
        let expected = LISTED_DATASETS + 1;
        let count = |data: &Value| data["value"].as_array().map_or(0, Vec::len);

        // The floor's call reaches the guest, which refuses it without a request; the host's
        // own refusal never instantiates anything.
        self.observe(NO_IO_ACTION, no_io_inputs())?
            .refused_in_guest(NO_IO_INPUT)?;
        self.check_host_refuses("list-datasets", json!({"top": 1001}), "top")?;

        // The same request? Compare what the service received from each.
        self.check_ok(
            &self
                .connector
                .invoke("list-datasets", &self.connection, &inputs)?,
        )?;
        self.service.clear_requests();
        self.connector
            .invoke("list-datasets", &self.connection, &inputs)?;
        self.client
            .send_ok(Strategy::NEW_CONNECTION, Method::GET, path, None)?;
        let seen = self.service.requests();
        ensure!(seen.len() == 2, "expected 2 requests, saw {}", seen.len());
        let describe = |r: &pbi_service::RecordedRequest| {
            let mut headers: Vec<String> = r
                .headers
                .iter()
                .map(|(k, v)| {
                    if k == "host" || k == "authorization" || k == "accept" {
                        format!("{k}: {v}")
                    } else {
                        k.clone()
                    }
                })
                .collect();
            headers.sort();
            format!(
                "{} {}{} [{}]",
                r.method,
                r.path,
                r.query
                    .as_deref()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default(),
                headers.join(", ")
            )
        };
        let (component_request, native_request) = (describe(&seen[0]), describe(&seen[1]));

        // The floor of any component: `misbehave`'s `fetch`, loaded in the same host
        // configuration, sends a GET of the same URL with the token (without the connector's
        // `accept` header) and reads the answer without parsing it.
        let floor_connector = Connector::load(pbi_component::misbehave_wasm(), self.plain.clone())
            .context("loading misbehave")?;
        let (answer, _) = self
            .client
            .send_ok(Strategy::KEEP_ALIVE, Method::GET, path, None)?;
        let connection = self.connection.clone();
        let floor_inputs = json!({"url": floor_url()});
        let fetch = |floor: &Connector| -> Result<()> {
            check_fetched(
                floor.invoke("fetch", &connection, &floor_inputs)?,
                answer.len(),
            )
        };

        let mut component = Vec::with_capacity(runs);
        let mut component_async = Vec::with_capacity(runs);
        let mut new_connection = Vec::with_capacity(runs);
        let mut keep_alive = Vec::with_capacity(runs);
        let mut nodelay = Vec::with_capacity(runs);
        let mut native_phases = Vec::with_capacity(runs);
        let mut observed = Vec::with_capacity(runs);
        let mut floor = Vec::with_capacity(runs);
        let mut fetch_floor = Vec::with_capacity(runs);
        let mut floor_invoke = Vec::with_capacity(runs);
        let mut host_refused = Vec::with_capacity(runs);
        let mut checks = Vec::with_capacity(runs);
        let mut schema_compile = Vec::with_capacity(runs);
        let mut schema_validate = Vec::with_capacity(runs);
        let definition = self
            .connector
            .definition()
            .action("list-datasets")
            .context("no list-datasets definition")?;
        // The schema pbi-host checks the inputs with (compiled once, when it loads).
        let schema = pbi_host::manifest::action_schema(definition);
        let warmup = (runs / 10).max(5);
        for i in 0..warmup + runs {
            let measured = i >= warmup;

            let start = Instant::now();
            let invocation = self
                .connector
                .invoke("list-datasets", &self.connection, &inputs)?;
            let elapsed = start.elapsed();
            let listed = count(&self.check_ok(&invocation)?);
            ensure!(listed == expected, "the component listed {listed} datasets");
            if measured {
                component.push(elapsed);
            }

            // An async engine awaits the call (it runs on the connector's runtime).
            let start = Instant::now();
            let invocation = self.engine.block_on(self.connector.invoke_async(
                "list-datasets",
                &self.connection,
                inputs.clone(),
            ))?;
            let elapsed = start.elapsed();
            let listed = count(&self.check_ok(&invocation)?);
            ensure!(listed == expected, "invoke_async listed {listed} datasets");
            if measured {
                component_async.push(elapsed);
            }

            let start = Instant::now();
            fetch(&floor_connector)?;
            if measured {
                fetch_floor.push(start.elapsed());
            }

            for (strategy, into) in [
                (Strategy::NEW_CONNECTION, &mut new_connection),
                (Strategy::NEW_CONNECTION_NODELAY, &mut nodelay),
                (Strategy::KEEP_ALIVE, &mut keep_alive),
            ] {
                let start = Instant::now();
                let (body, timing) = self.client.send_ok(strategy, Method::GET, path, None)?;
                let data: Value = serde_json::from_slice(&body)?;
                let elapsed = start.elapsed();
                let listed = count(&data);
                ensure!(
                    listed == expected,
                    "the native client listed {listed} datasets"
                );
                if measured {
                    into.push(elapsed);
                    if strategy == Strategy::NEW_CONNECTION {
                        native_phases.push(timing);
                    }
                }
            }

            // What compiling the schema costs (the host does it once, at load) against
            // checking with a compiled one. Whichever of compiling and `input_value` runs
            // first finds the caches cold, as inside an invocation: take turns, and keep
            // only the cold measurements.
            let schema_first = i % 2 == 1;
            let time_compile = || -> Result<_> {
                let start = Instant::now();
                let validator = jsonschema::validator_for(&schema)?;
                Ok((validator, start.elapsed()))
            };
            let (mut validator, mut compile) = (None, None);
            if schema_first {
                let (v, t) = time_compile()?;
                (validator, compile) = (Some(v), Some(t));
            }
            let start = Instant::now();
            let checked = self.connector.input_value("list-datasets", &inputs)?;
            let convert = (!schema_first).then(|| start.elapsed());
            ensure!(checked.is_ok(), "the inputs were refused");
            let validator = match validator {
                Some(v) => v,
                None => time_compile()?.0,
            };
            let start = Instant::now();
            ensure!(validator.is_valid(&json!({})), "the schema refused {{}}");
            let validate = start.elapsed();

            let call = self.observe("list-datasets", inputs.clone())?;
            let listed = count(&self.check_ok(&call.invocation)?);
            ensure!(listed == expected, "the observed call listed {listed}");

            let refused = self.observe(NO_IO_ACTION, no_io_inputs())?;
            refused.refused_in_guest(NO_IO_INPUT)?;

            let start = Instant::now();
            let invocation =
                self.connector
                    .invoke(NO_IO_ACTION, &self.connection, &no_io_inputs())?;
            let refused_invoke = start.elapsed();
            ensure!(
                invocation.result.is_err(),
                "the bad dataset ID was accepted"
            );

            let start = Instant::now();
            let invocation =
                self.connector
                    .invoke("list-datasets", &self.connection, &json!({"top": 1001}))?;
            let refused_by_host = start.elapsed();
            ensure!(invocation.result.is_err(), "top 1001 was accepted");

            if measured {
                observed.push(call);
                floor.push(refused.in_store());
                floor_invoke.push(refused_invoke);
                host_refused.push(refused_by_host);
                checks.extend(convert);
                schema_compile.extend(compile);
                schema_validate.push(validate);
            }
        }

        // CPU rather than wall time: what every thread of the process (the service's
        // included, the same for both) spends per call, steadier than latency on a busy
        // machine and what bounds calls at once (7a).
        let cpu_runs = runs * 5;
        let component_cpu = Usage::per_call(cpu_runs, || {
            let invocation = self
                .connector
                .invoke("list-datasets", &self.connection, &inputs)?;
            self.check_ok(&invocation).map(drop)
        })?;
        let floor_cpu = Usage::per_call(cpu_runs, || fetch(&floor_connector))?;
        let native_cpu = Usage::per_call(cpu_runs, || {
            let (body, _) = self
                .client
                .send_ok(Strategy::KEEP_ALIVE, Method::GET, path, None)?;
            let data: Value = serde_json::from_slice(&body)?;
            ensure!(count(&data) == expected, "the native client listed too few");
            Ok(())
        })?;

        let component = median(&component);
        let native = median(&new_connection);
        let keep = median(&keep_alive);
        // The host keeps its connections alive (pbi_host::HttpPool), so the like-for-like
        // native client does too.
        let ratio = ratio(component, keep);
        self.verdicts.push(Verdict {
            metric: "(1) List Datasets, component / native (both keep connections alive)".into(),
            measured: format!("{ratio:.2}x ({} / {})", show(component), show(keep)),
            target: "<= 1.50x".into(),
            pass: ratio <= 1.5,
        });
        let component_async = median(&component_async);
        let fetch_floor = median(&fetch_floor);
        let phases = ObservedMedians::of(&observed);

        let d = &mut self.details;
        let _ = writeln!(
            d,
            "\n(1) List Datasets ({runs} runs each, medians, {expected} datasets listed)"
        );
        let _ = writeln!(
            d,
            "  requests as the service received them (other header names only):"
        );
        let _ = writeln!(d, "    component: {component_request}");
        let _ = writeln!(d, "    native:    {native_request}");
        let _ = writeln!(
            d,
            "  pbi-host keeps connections alive across invocations (pbi_host::HttpPool, TCP_NODELAY)"
        );
        let _ = writeln!(
            d,
            "  and takes each call's instance from wasmtime's pooling allocator."
        );
        table(
            d,
            &[
                ("Connector::invoke (component)", show(component)),
                (
                    "Connector::invoke_async, awaited on a current-thread runtime",
                    format!(
                        "{} ({:.2}x of native keep-alive)",
                        show(component_async),
                        self::ratio(component_async, keep)
                    ),
                ),
                ("native hyper, new connection each", show(native)),
                ("  the same with TCP_NODELAY", show(median(&nodelay))),
                ("native hyper, keep-alive", show(keep)),
                (
                    "  component / native new connection each",
                    format!("{:.2}x", self::ratio(component, native)),
                ),
                (
                    "CPU per call, all threads (getrusage): component / native keep-alive",
                    format!(
                        "{} / {} ({:.2}x; {cpu_runs} calls each)",
                        show(component_cpu.cpu),
                        show(native_cpu.cpu),
                        self::ratio(component_cpu.cpu, native_cpu.cpu)
                    ),
                ),
                (
                    "  context switches per call: component / native keep-alive",
                    format!("{:.1} / {:.1}", component_cpu.switches, native_cpu.switches),
                ),
                (
                    "the floor: misbehave's fetch (same URL and token, body not parsed)",
                    format!(
                        "{} ({:.2}x of native keep-alive)",
                        show(fetch_floor),
                        self::ratio(fetch_floor, keep)
                    ),
                ),
                (
                    "  its CPU per call, all threads",
                    format!(
                        "{} ({:.2}x of native keep-alive)",
                        show(floor_cpu.cpu),
                        self::ratio(floor_cpu.cpu, native_cpu.cpu)
                    ),
                ),
            ],
        );
        let _ = writeln!(
            d,
            "  where the component's time goes (pbi-host's CallObserver, on in runs of their own):"
        );
        let native_connect = median(&native_phases.iter().map(|t| t.connect).collect::<Vec<_>>());
        let native_request = median(&native_phases.iter().map(|t| t.request).collect::<Vec<_>>());
        let native_body = median(&native_phases.iter().map(|t| t.body).collect::<Vec<_>>());
        table(
            d,
            &[
                (
                    "host: check inputs + JSON->Val (input_value)",
                    show(median(&checks)),
                ),
                (
                    "  compiling the action's JSON Schema (the host does it at load)",
                    show(median(&schema_compile)),
                ),
                (
                    "  validating with the compiled one",
                    show(median(&schema_validate)),
                ),
                (
                    "Connector::invoke with the observer on",
                    format!(
                        "{} ({} over without it: call hook, observer)",
                        show(phases.total),
                        show_signed(phases.total, component)
                    ),
                ),
                (
                    "  instantiate (pooling allocator)",
                    show(phases.instantiate),
                ),
                ("  the call", show(phases.call)),
                (
                    "    outside host calls (guest code, lower/lift)",
                    show(phases.in_guest),
                ),
                (
                    "    inside host calls (WASI, wasi:http, waits)",
                    format!("{} in {} calls", show(phases.host_time), phases.host_calls),
                ),
                (
                    "  the host around them (checks, store, drop, result)",
                    show(phases.around),
                ),
                (
                    "instantiate + a call refused without I/O (any call's floor)",
                    show(median(&floor)),
                ),
                (
                    "  the whole Connector::invoke of that call (list-tables, bad ID)",
                    show(median(&floor_invoke)),
                ),
                (
                    "  Connector::invoke refused by the host's checks (top 1001)",
                    show(median(&host_refused)),
                ),
                (
                    "  what 1.5x leaves over native keep-alive for all",
                    show(keep / 2),
                ),
                ("native: connect + handshake", show(native_connect)),
                ("native: request -> answer headers", show(native_request)),
                ("native: read body + parse JSON", show(native_body)),
            ],
        );
        Ok(())
    }

    /// (2) Instantiating the precompiled component from the host's pool, and loading it.
    fn instantiation(&mut self) -> Result<()> {
        let runs = self.options.instantiate_runs;
        eprintln!("(2) instantiation: {runs} runs");
        // The calls refused without I/O: instantiation is most of what they do.
        for _ in 0..(runs / 10).max(10) {
            self.observe(NO_IO_ACTION, no_io_inputs())?;
        }
        let mut times = Vec::with_capacity(runs);
        let mut calls = Vec::with_capacity(runs);
        let mut totals = Vec::with_capacity(runs);
        for _ in 0..runs {
            let refused = self.observe(NO_IO_ACTION, no_io_inputs())?;
            refused.refused_in_guest(NO_IO_INPUT)?;
            times.push(refused.stats.instantiate);
            calls.push(refused.stats.call);
            totals.push(refused.total);
        }
        let m = median(&times);
        self.verdicts.push(Verdict {
            metric: "(2) instantiate (pbi-host: InstancePre, pooling allocator)".into(),
            measured: show(m),
            target: "<= 50 us".into(),
            pass: m <= Duration::from_micros(50),
        });

        // Loading: compiling (no cache), compiling and writing the compiled form (an empty
        // cache folder), reading it back (the same folder).
        eprintln!("(2) loading the component three ways");
        let cache = std::env::temp_dir().join(format!("pbi-bench-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        let cached = HostConfig {
            cache_dir: Some(cache.clone()),
            ..HostConfig::default()
        };
        let load = |config: HostConfig| -> Result<(Duration, bool)> {
            let start = Instant::now();
            let connector = Connector::load(&self.component, config)?;
            let elapsed = start.elapsed();
            Ok((elapsed, connector.from_cache()))
        };
        let loaded = (|| -> Result<_> {
            let (no_cache, _) = load(HostConfig {
                cache_dir: None,
                ..HostConfig::default()
            })?;
            let (cold, from_cache) = load(cached.clone())?;
            ensure!(!from_cache, "an empty cache folder had the component");
            let written = cache_bytes(&cache)?;
            let (warm, from_cache) = load(cached)?;
            ensure!(from_cache, "the second load did not use the cache");
            Ok((no_cache, cold, written, warm))
        })();
        let _ = std::fs::remove_dir_all(&cache);
        let (no_cache, cold, written, warm) = loaded?;

        let d = &mut self.details;
        let _ = writeln!(
            d,
            "\n(2) Instantiation ({runs} invocations refused by the guest without I/O; CallStats::instantiate,"
        );
        let _ = writeln!(
            d,
            "    without Store::new, one per whole invocation rather than in a tight loop)"
        );
        table(
            d,
            &[
                ("median", show(m)),
                (
                    "p10 / p90",
                    format!(
                        "{} / {}",
                        show(percentile(&times, 10)),
                        show(percentile(&times, 90))
                    ),
                ),
                ("the call itself (median)", show(median(&calls))),
                (
                    "the whole Connector::invoke (median)",
                    show(median(&totals)),
                ),
                (
                    "Connector::load, no cache (compile, link, describe x2)",
                    show(no_cache),
                ),
                (
                    "  into an empty cache_dir (+ serialize and write)",
                    format!("{} ({} KiB written)", show(cold), written / 1024),
                ),
                (
                    "  from the cache (deserialize instead of compiling)",
                    show(warm),
                ),
                (
                    "  compiling less deserializing (no cache - from the cache)",
                    show_signed(no_cache, warm),
                ),
            ],
        );
        Ok(())
    }

    /// (3) Create Rows with many rows through the component against native serde_json +
    /// the same client.
    fn create_rows(&mut self) -> Result<()> {
        let total = self.options.rows;
        let runs = self.options.rows_runs;
        eprintln!("(3) Create Rows: {total} rows, {runs} runs of each variant");
        let rows = rows(total);
        let text = serde_json::to_string(&rows)?;
        let text_bytes = text.len();
        let inputs = json!({"dataset-id": self.dataset, "table-name": TABLE, "rows": text});
        let path = format!("/v1.0/myorg/datasets/{}/tables/{TABLE}/rows", self.dataset);
        let requests = total.div_ceil(BATCH);

        let mut component = Vec::new();
        let mut native = Vec::new();
        let mut native_serialize = Vec::new();
        let mut native_send = Vec::new();
        let mut keep_alive = Vec::new();
        let mut nodelay = Vec::new();
        for run in 0..runs {
            self.delete_rows(&path)?;
            // An engine hands its inputs over: `invoke_owned` checks and passes them on
            // without copying the rows (the copy made here is not timed).
            let given = inputs.clone();
            let start = Instant::now();
            let invocation = self
                .connector
                .invoke_owned("create-rows", &self.connection, given)?;
            component.push(start.elapsed());
            self.check_sent(&invocation, total)?;
            if run == 0 {
                self.check_stored(total)?;
            }

            for strategy in [
                Strategy::NEW_CONNECTION,
                Strategy::NEW_CONNECTION_NODELAY,
                Strategy::KEEP_ALIVE,
            ] {
                self.delete_rows(&path)?;
                let mut serialize = Duration::ZERO;
                let mut send = Duration::ZERO;
                let start = Instant::now();
                for chunk in rows.chunks(BATCH) {
                    let t = Instant::now();
                    let body = serde_json::to_vec(&Rows { rows: chunk })?;
                    serialize += t.elapsed();
                    let t = Instant::now();
                    self.client
                        .send_ok(strategy, Method::POST, &path, Some(body))?;
                    send += t.elapsed();
                }
                let elapsed = start.elapsed();
                if strategy == Strategy::NEW_CONNECTION {
                    native.push(elapsed);
                    native_serialize.push(serialize);
                    native_send.push(send);
                } else if strategy == Strategy::KEEP_ALIVE {
                    keep_alive.push(elapsed);
                } else {
                    nodelay.push(elapsed);
                }
                if run == 0 {
                    self.check_stored(total)?;
                }
            }
        }

        // The phases, once each, through the observer.
        let start = Instant::now();
        let checked = self.connector.input_value("create-rows", &inputs)?;
        let check_convert = start.elapsed();
        ensure!(checked.is_ok(), "the rows were refused");
        drop(checked);

        self.delete_rows(&path)?;
        let push = self.observe("create-rows", inputs.clone())?;
        self.check_sent(&push.invocation, total)?;
        ensure!(
            push.invocation.requests.len() == requests,
            "{} requests, {requests} expected",
            push.invocation.requests.len()
        );
        self.delete_rows(&path)?;

        let mut skip_all = inputs.clone();
        skip_all["start-row"] = json!(total);
        let parse_only = self.observe("create-rows", skip_all)?;
        ensure!(
            parse_only.invocation.result.is_ok() && parse_only.invocation.requests.is_empty(),
            "start-row {total} should send nothing: {:?}",
            parse_only.invocation.result
        );

        let mut bad_id = inputs;
        bad_id["dataset-id"] = json!("not-a-dataset-id");
        let lower_only = self.observe("create-rows", bad_id)?;
        lower_only.refused_in_guest("dataset-id")?;

        let component = median(&component);
        let native = median(&native);
        let keep = median(&keep_alive);
        // Like (1): pbi-host keeps its connections alive, so the native client does too.
        let ratio = ratio(component, keep);
        let rate = |d: Duration| total as f64 / d.as_secs_f64();
        self.verdicts.push(Verdict {
            metric: format!("(3) Create Rows {total} rows, component / native (keep-alive)"),
            measured: format!(
                "{ratio:.2}x ({:.0} vs {:.0} rows/s)",
                rate(component),
                rate(keep)
            ),
            target: "<= 1.25x".into(),
            pass: ratio <= 1.25,
        });
        let d = &mut self.details;
        let _ = writeln!(
            d,
            "\n(3) Create Rows: {total} rows in {requests} requests of {BATCH}, rows input {:.1} MiB ({runs} runs each, medians)",
            text_bytes as f64 / 1048576.0
        );
        table(
            d,
            &[
                (
                    "Connector::invoke_owned (component)",
                    format!("{} = {:.0} rows/s", show(component), rate(component)),
                ),
                (
                    "native serde_json + hyper, new connection each",
                    format!("{} = {:.0} rows/s", show(native), rate(native)),
                ),
                (
                    "  of which serialize / send",
                    format!(
                        "{} / {}",
                        show(median(&native_serialize)),
                        show(median(&native_send))
                    ),
                ),
                (
                    "  the same with TCP_NODELAY",
                    format!(
                        "{} = {:.0} rows/s",
                        show(median(&nodelay)),
                        rate(median(&nodelay))
                    ),
                ),
                (
                    "native, keep-alive",
                    format!(
                        "{} = {:.0} rows/s ({:.2}x component)",
                        show(keep),
                        rate(keep),
                        self::ratio(component, keep)
                    ),
                ),
            ],
        );
        let _ = writeln!(
            d,
            "  where the component's time goes (one run each, pbi-host's CallObserver):"
        );
        table(
            d,
            &[
                (
                    "host: check inputs + JSON->Val, by reference (input_value)",
                    show(check_convert),
                ),
                (
                    "  (invoke_owned, as timed above, copies nothing)",
                    String::new(),
                ),
                (
                    "Connector::invoke_owned with the observer on",
                    format!("{} = {:.0} rows/s", show(push.total), rate(push.total)),
                ),
                ("  instantiate", show(push.stats.instantiate)),
                ("  the call (total)", show(push.stats.call)),
                (
                    "    outside host calls (lower, parse, build bodies, lift)",
                    show(push.in_guest()),
                ),
                (
                    "    inside host calls (stream bodies, wait for answers)",
                    format!(
                        "{} in {} calls",
                        show(push.stats.host_time),
                        push.stats.host_calls
                    ),
                ),
                (
                    "  the host around them (checks, store, drop, result)",
                    show(push.around()),
                ),
                (
                    "call: lower + parse only (start-row = all, no request)",
                    show(parse_only.stats.call),
                ),
                (
                    "call: lower only (bad dataset id, refused before parsing)",
                    show(lower_only.stats.call),
                ),
                (
                    "  ~ parsing the rows (lower + parse - lower only)",
                    show(parse_only.stats.call.saturating_sub(lower_only.stats.call)),
                ),
            ],
        );
        Ok(())
    }

    /// (4) The size of the release component.
    fn size(&mut self) -> Result<()> {
        let path = self.component.as_path();
        let bytes = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        self.verdicts.push(Verdict {
            metric: "(4) component .wasm size".into(),
            measured: format!("{:.1} KiB ({bytes} B)", bytes as f64 / 1024.0),
            target: "<= 512 KiB".into(),
            pass: bytes <= 512 * 1024,
        });
        let _ = writeln!(self.details, "\n(4) Component: {}", path.display());
        Ok(())
    }

    /// (5) Peak guest memory during one 10,000-row push against its request body.
    fn memory(&mut self) -> Result<()> {
        eprintln!("(5) peak guest memory of a {BATCH}-row push");
        let rows = rows(BATCH);
        let body = serde_json::to_vec(&Rows { rows: &rows })?.len();
        let text = serde_json::to_string(&rows)?;
        let text_bytes = text.len();
        let inputs = json!({"dataset-id": self.dataset, "table-name": TABLE, "rows": text});
        let path = format!("/v1.0/myorg/datasets/{}/tables/{TABLE}/rows", self.dataset);
        self.delete_rows(&path)?;
        let push = self.observe("create-rows", inputs.clone())?;
        self.check_sent(&push.invocation, BATCH)?;
        ensure!(
            push.invocation.requests.len() == 1,
            "one request expected, {} sent",
            push.invocation.requests.len()
        );
        self.check_stored(BATCH)?;
        self.delete_rows(&path)?;
        let mut skip_all = inputs.clone();
        skip_all["start-row"] = json!(BATCH);
        let parse_only = self.observe("create-rows", skip_all)?;
        ensure!(
            parse_only.invocation.requests.is_empty(),
            "start-row {BATCH} should send nothing"
        );
        let mut bad_id = inputs;
        bad_id["dataset-id"] = json!("not-a-dataset-id");
        let lower_only = self.observe("create-rows", bad_id)?;
        lower_only.refused_in_guest("dataset-id")?;
        let idle = self.observe(NO_IO_ACTION, no_io_inputs())?;
        idle.refused_in_guest(NO_IO_INPUT)?;

        let peak = push.stats.peak_memory_bytes;
        let initial_memory = &push.stats.initial_memory_bytes;
        let initial: usize = initial_memory.iter().sum();
        let ratio = peak as f64 / body as f64;
        self.verdicts.push(Verdict {
            metric: format!("(5) peak guest memory, {BATCH}-row push / body"),
            measured: format!("{ratio:.2}x ({} / {})", kib(peak), kib(body)),
            target: "<= 3x".into(),
            pass: ratio <= 3.0,
        });
        let d = &mut self.details;
        let _ = writeln!(
            d,
            "\n(5) Guest linear memory (largest size created or grown to, CallStats::peak_memory_bytes;"
        );
        let _ = writeln!(d, "    wasm pages are 64 KiB)");
        table(
            d,
            &[
                ("request body of the push", kib(body)),
                ("rows input lowered into the guest", kib(text_bytes)),
                (
                    "memories at instantiation",
                    format!(
                        "{} ({})",
                        initial_memory.len(),
                        initial_memory
                            .iter()
                            .map(|b| kib(*b))
                            .collect::<Vec<_>>()
                            .join(" + ")
                    ),
                ),
                (
                    "peak: a call refused without I/O (List Tables, bad ID)",
                    kib(idle.stats.peak_memory_bytes),
                ),
                (
                    "peak: lower the rows only (bad dataset id)",
                    kib(lower_only.stats.peak_memory_bytes),
                ),
                (
                    "peak: lower + parse the rows only (start-row = all)",
                    kib(parse_only.stats.peak_memory_bytes),
                ),
                ("peak: the push", kib(peak)),
                (
                    "  grown by the push beyond instantiation",
                    format!(
                        "{} ({:.2}x body)",
                        kib(peak.saturating_sub(initial)),
                        peak.saturating_sub(initial) as f64 / body as f64
                    ),
                ),
            ],
        );
        Ok(())
    }

    /// Checks that a Create Rows invocation reports `total` rows sent.
    fn check_sent(&self, invocation: &Invocation, total: usize) -> Result<()> {
        let data = self.check_ok(invocation)?;
        ensure!(
            data["rowsSent"].as_u64() == Some(total as u64),
            "the component sent {data}"
        );
        Ok(())
    }

    fn report(&self, elapsed: Duration) {
        let width = self
            .verdicts
            .iter()
            .map(|v| v.metric.len())
            .max()
            .unwrap_or(10);
        let measured_width = self
            .verdicts
            .iter()
            .map(|v| v.measured.len())
            .max()
            .unwrap_or(10);
        println!("pbi-bench: the Power BI component in pbi-host against a native Rust client");
        println!("machine: {}", machine());
        let args: Vec<String> = std::env::args().skip(1).collect();
        let args = if args.is_empty() {
            String::new()
        } else {
            format!(" -- {}", args.join(" "))
        };
        println!("command: cargo run --release -p pbi-bench{args}");
        // wasmtime makes (and drops) an error value when a store is dropped; with backtraces
        // on, each one captures a backtrace, which the component's figures then include.
        for var in ["RUST_BACKTRACE", "RUST_LIB_BACKTRACE"] {
            if let Ok(value) = std::env::var(var)
                && value != "0"
            {
                println!("note: {var}={value} is set: every dropped store captures a backtrace");
            }
        }
        println!();
        println!(
            "| {:width$} | {:measured_width$} | {:10} | {:4} |",
            "metric", "measured", "target", "pass"
        );
        println!(
            "|-{}-|-{}-|-{}-|-{}-|",
            "-".repeat(width),
            "-".repeat(measured_width),
            "-".repeat(10),
            "-".repeat(4)
        );
        for v in &self.verdicts {
            println!(
                "| {:width$} | {:measured_width$} | {:10} | {:4} |",
                v.metric,
                v.measured,
                v.target,
                if v.pass { "pass" } else { "FAIL" }
            );
        }
        print!("{}", self.details);
        println!("\nwhole run: {:.1} s", elapsed.as_secs_f64());
    }

    /// The output data of a successful invocation.
    fn check_ok(&self, invocation: &pbi_host::Invocation) -> Result<Value> {
        match &invocation.result {
            Ok(output) => Ok(output.data.clone()),
            Err(e) => bail!("the action failed: {e}\n{}", invocation.logs),
        }
    }

    fn delete_rows(&mut self, path: &str) -> Result<()> {
        self.client
            .send_ok(Strategy::NEW_CONNECTION, Method::DELETE, path, None)?;
        Ok(())
    }

    fn check_stored(&self, expected: usize) -> Result<()> {
        let stored = self
            .service
            .table_rows(&self.dataset, TABLE)
            .map_or(0, |rows| rows.len());
        ensure!(
            stored == expected,
            "{stored} rows stored, {expected} expected"
        );
        Ok(())
    }
}

/// The medians of observed List Datasets calls.
struct ObservedMedians {
    total: Duration,
    instantiate: Duration,
    call: Duration,
    in_guest: Duration,
    host_time: Duration,
    host_calls: u64,
    around: Duration,
}

impl ObservedMedians {
    fn of(all: &[Observed]) -> Self {
        let m = |f: fn(&Observed) -> Duration| median(&all.iter().map(f).collect::<Vec<_>>());
        let mut calls: Vec<u64> = all.iter().map(|o| o.stats.host_calls).collect();
        calls.sort_unstable();
        Self {
            total: m(|o| o.total),
            instantiate: m(|o| o.stats.instantiate),
            call: m(|o| o.stats.call),
            in_guest: m(Observed::in_guest),
            host_time: m(|o| o.stats.host_time),
            host_calls: calls.get(calls.len() / 2).copied().unwrap_or_default(),
            around: m(Observed::around),
        }
    }
}

/// The bytes of the compiled components in a cache folder.
fn cache_bytes(dir: &Path) -> Result<u64> {
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        if entry.path().extension().is_some_and(|e| e == "cwasm") {
            bytes += entry.metadata()?.len();
        }
    }
    Ok(bytes)
}

fn median(times: &[Duration]) -> Duration {
    percentile(times, 50)
}

fn percentile(times: &[Duration], p: usize) -> Duration {
    if times.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[(sorted.len() - 1) * p / 100]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

fn show(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.1} us")
    } else if us < 10_000_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

fn kib(bytes: usize) -> String {
    format!("{:.0} KiB", bytes as f64 / 1024.0)
}

fn table(out: &mut String, rows: &[(&str, String)]) {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:width$}  {v}");
    }
}

/// Cores, CPU model and memory, from the OS.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_string();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(String::new(), |kb| {
            format!(", {:.0} GiB RAM", kb as f64 / 1048576.0)
        });
    format!(
        "nproc {cores}, {model}{memory}, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// `a - b`, with its sign.
fn show_signed(a: Duration, b: Duration) -> String {
    if a >= b {
        format!("+{}", show(a - b))
    } else {
        format!("-{}", show(b - a))
    }
}
