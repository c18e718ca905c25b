//! `pbi-bench`: the Power BI component in `pbi-host` against a native Rust client, on one
//! local Power BI service, in one run. Prints a table of the issue's five figures (metric,
//! measured, target, pass/fail), the phases each one breaks down into, and the machine.
//!
//! ```text
//! cargo run --release -p pbi-bench [-- --list-runs 200 --instantiate-runs 1000 --rows-runs 3 --rows 1000000]
//! ```

mod guest;
mod native;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use http::Method;
use pbi_host::{Connector, HostConfig};
use pbi_service::{ServiceConfig, ServiceHandle};
use serde::Serialize;
use serde_json::{Value, json};

use guest::{Egress, Event, Guest, Pool};
use native::{Client, Strategy};

/// Rows per Create Rows request (Power BI's limit, and the component's batch).
const BATCH: usize = 10_000;
/// The datasets List Datasets returns (besides the one the rows go to).
const LISTED_DATASETS: usize = 10;
/// The table the rows go to.
const TABLE: &str = "Sales";

/// How many times each thing runs.
struct Options {
    list_runs: usize,
    instantiate_runs: usize,
    rows_runs: usize,
    rows: usize,
    /// Run only these sections (1 to 5); all when empty.
    only: Vec<u8>,
    /// Only invoke List Datasets this many times, for a profiler (`perf record`).
    invoke_loop: Option<usize>,
    /// Another build of the component instead of `pbi_host::component_path()`.
    component: Option<std::path::PathBuf>,
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
                "--only" => options.only.push(number()?.clamp(1, 5) as u8),
                "--quick" => {
                    options.list_runs = 50;
                    options.instantiate_runs = 200;
                    options.rows_runs = 1;
                    options.rows = 100_000;
                }
                "-h" | "--help" => {
                    println!(
                        "usage: pbi-bench [--list-runs N] [--instantiate-runs N] [--rows-runs N] [--rows N] [--only SECTION]... [--quick] [--invoke-loop N] [--component FILE.wasm]"
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other} (try --help)"),
            }
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

/// Everything the sections share.
struct Bench {
    options: Options,
    service: ServiceHandle,
    connector: Connector,
    connection: Value,
    client: Client,
    guest: Guest,
    /// The same, on wasmtime's pooling allocator.
    pooling: Guest,
    pool: Pool,
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
        .unwrap_or_else(|| pbi_host::component_path().to_path_buf());
    eprintln!("loading the component ({})", component.display());
    let connector = Connector::load(
        &component,
        HostConfig::default().redirect("api.powerbi.com", base.clone()),
    )
    .context("loading the component in pbi-host")?;
    let guest = Guest::load(&component, base.clone(), false).context("loading the component")?;
    let pooling = Guest::load(&component, base, true)
        .context("loading the component with the pooling allocator")?;
    let client = Client::new(service.addr(), &token)?;
    let pool = Pool::new(service.addr());
    let mut bench = Bench {
        options,
        connection: json!({
            "client-id": "pbi-bench",
            "client-secret": "pbi-bench-secret",
            "access-token": token,
        }),
        service,
        connector,
        client,
        guest,
        pooling,
        pool,
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
    bench.report(started.elapsed());
    Ok(())
}

impl Bench {
    /// (1) One List Datasets through the component against the native client.
    fn list_datasets(&mut self) -> Result<()> {
        let runs = self.options.list_runs;
        eprintln!("(1) List Datasets: {runs} runs of each variant");
        let path = "/v1.0/myorg/datasets";
        let inputs = json!({});
        let expected = LISTED_DATASETS + 1;
        let index = self.guest.action("list-datasets")?;
        let pooling_index = self.pooling.action("list-datasets")?;
        let params = self.guest.params(&index)?;
        let args = Guest::args(&params, &self.connection, &inputs)?;
        // Refused by the component before any request: the call's fixed cost without I/O.
        let no_io_args = Guest::args(&params, &self.connection, &json!({"top": 1001}))?;

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

        let mut component = Vec::with_capacity(runs);
        let mut new_connection = Vec::with_capacity(runs);
        let mut keep_alive = Vec::with_capacity(runs);
        let mut nodelay = Vec::with_capacity(runs);
        let mut native_phases = Vec::with_capacity(runs);
        let mut own = Vec::with_capacity(runs);
        let mut pooled = Vec::with_capacity(runs);
        let mut own_total = Vec::with_capacity(runs);
        let mut both = Vec::with_capacity(runs);
        let mut no_io = Vec::with_capacity(runs);
        let mut no_io_pooled = Vec::with_capacity(runs);
        let mut checks = Vec::with_capacity(runs);
        let mut schema_compile = Vec::with_capacity(runs);
        let mut schema_validate = Vec::with_capacity(runs);
        let definition = self
            .connector
            .definition()
            .action("list-datasets")
            .context("no list-datasets definition")?;
        // The schema pbi-host checks the inputs with (it compiles it on every invocation).
        let schema = pbi_host::manifest::action_schema(definition);
        let warmup = (runs / 10).max(5);
        for i in 0..warmup + runs {
            let measured = i >= warmup;

            let start = Instant::now();
            let invocation = self
                .connector
                .invoke("list-datasets", &self.connection, &inputs)?;
            let elapsed = start.elapsed();
            let count = self.check_ok(&invocation)?["value"]
                .as_array()
                .map_or(0, Vec::len);
            ensure!(count == expected, "the component listed {count} datasets");
            if measured {
                component.push(elapsed);
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
                let count = data["value"].as_array().map_or(0, Vec::len);
                ensure!(
                    count == expected,
                    "the native client listed {count} datasets"
                );
                if measured {
                    into.push(elapsed);
                    if strategy == Strategy::NEW_CONNECTION {
                        native_phases.push(timing);
                    }
                }
            }

            // input_value compiles the action's schema on every call. Whichever of the two
            // runs first finds the caches cold, as inside an invocation: take turns, and keep
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

            let own_start = Instant::now();
            let call = self.guest.call(&index, &args, &Egress::Host)?;
            // Like the pooled variants below: instantiate, call and drop the store.
            let own_elapsed = own_start.elapsed();
            ensure!(
                call.result.get("ok").is_some(),
                "own store: {}",
                call.result
            );
            let pooled_start = Instant::now();
            let pooled_call = self
                .guest
                .call(&index, &args, &Egress::Pooled(self.pool.clone()))?;
            let pooled_elapsed = pooled_start.elapsed();
            ensure!(
                pooled_call.result.get("ok").is_some(),
                "pooled: {}",
                pooled_call.result
            );
            let both_start = Instant::now();
            let both_call =
                self.pooling
                    .call(&pooling_index, &args, &Egress::Pooled(self.pool.clone()))?;
            let both_elapsed = both_start.elapsed();
            ensure!(
                both_call.result.get("ok").is_some(),
                "pooling: {}",
                both_call.result
            );
            let refused = self.guest.call(&index, &no_io_args, &Egress::Host)?;
            ensure!(
                refused.result.get("err").is_some() && refused.events.is_empty(),
                "top 1001 should be refused without a request: {}",
                refused.result
            );
            let refused_pooled = self
                .pooling
                .call(&pooling_index, &no_io_args, &Egress::Host)?;
            ensure!(
                refused_pooled.result.get("err").is_some() && refused_pooled.events.is_empty(),
                "top 1001 should be refused without a request: {}",
                refused_pooled.result
            );
            if measured {
                no_io_pooled.push(refused_pooled.instantiate + refused_pooled.call);
                own.push(Phases::of(&call));
                own_total.push(own_elapsed);
                pooled.push(pooled_elapsed);
                both.push((
                    both_elapsed,
                    both_call.instantiate,
                    Phases::of(&both_call).in_guest,
                ));
                no_io.push(refused.instantiate + refused.call);
                checks.extend(convert);
                schema_compile.extend(compile);
                schema_validate.push(validate);
            }
        }

        let component = median(&component);
        let native = median(&new_connection);
        let keep = median(&keep_alive);
        // The host keeps its connections alive (pbi_host::HttpPool), so the like-for-like
        // native client does too.
        let ratio = ratio(component, keep);
        self.verdicts.push(Verdict {
            metric: "(1) List Datasets, component / native (both keep connections alive)".into(),
            measured: format!("{ratio:.2}x ({} / {})", show(component), show(keep)),
            target: "<= 1.10x".into(),
            pass: ratio <= 1.10,
        });
        let pooled = median(&pooled);
        let both_instantiate = median(&both.iter().map(|b| b.1).collect::<Vec<_>>());
        let both_in_guest = median(&both.iter().map(|b| b.2).collect::<Vec<_>>());
        let both = median(&both.iter().map(|b| b.0).collect::<Vec<_>>());

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
            "  pbi-host keeps connections alive across invocations (pbi_host::HttpPool, TCP_NODELAY);"
        );
        let _ = writeln!(
            d,
            "  the bench store's \"host egress\" is the policy without the pool (a new connection each)."
        );
        table(
            d,
            &[
                ("Connector::invoke (component)", show(component)),
                ("native hyper, new connection each", show(native)),
                ("  the same with TCP_NODELAY", show(median(&nodelay))),
                ("native hyper, keep-alive", show(keep)),
                (
                    "  component / native new connection each",
                    format!("{:.2}x", self::ratio(component, native)),
                ),
                (
                    "bench store, host egress (instantiate, call, drop)",
                    show(median(&own_total)),
                ),
                (
                    "bench store, pooled egress (fix, measured)",
                    format!(
                        "{} ({:.2}x of native keep-alive)",
                        show(pooled),
                        self::ratio(pooled, keep)
                    ),
                ),
                (
                    "  + pooling allocator (fixes, measured)",
                    format!(
                        "{} ({:.2}x of native keep-alive; instantiate {}, outside host calls {})",
                        show(both),
                        self::ratio(both, keep),
                        show(both_instantiate),
                        show(both_in_guest)
                    ),
                ),
            ],
        );
        let _ = writeln!(
            d,
            "  where the component's time goes (bench store: sync bindings, a new connection each):"
        );
        let phases = Phases::medians(&own);
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
                    "  of which compiling the action's JSON Schema",
                    show(median(&schema_compile)),
                ),
                (
                    "  validating with an already compiled one",
                    show(median(&schema_validate)),
                ),
                ("new Store + instantiate", show(phases.instantiate)),
                (
                    "guest: call start -> request handed to host",
                    show(phases.before_first_send),
                ),
                (
                    "host egress: request -> answer headers",
                    show(phases.send_to_headers),
                ),
                (
                    "guest: answer headers -> call returns",
                    show(phases.after_last_headers),
                ),
                ("bench store total (instantiate + call)", show(phases.total)),
                (
                    "  the call outside host calls (guest code, lower/lift)",
                    show(phases.in_guest),
                ),
                (
                    "  the call inside host calls (WASI, wasi:http, waits)",
                    format!("{} in {} calls", show(phases.in_host), phases.host_calls),
                ),
                (
                    "instantiate + a call refused without I/O",
                    show(median(&no_io)),
                ),
                (
                    "  the same on the pooling allocator (any call's floor)",
                    show(median(&no_io_pooled)),
                ),
                (
                    "  what 1.10x leaves over native keep-alive for all",
                    show(keep / 10),
                ),
                ("native: connect + handshake", show(native_connect)),
                ("native: request -> answer headers", show(native_request)),
                ("native: read body + parse JSON", show(native_body)),
            ],
        );
        Ok(())
    }

    /// (2) New store + instantiate from a precompiled component, no call.
    fn instantiation(&mut self) -> Result<()> {
        let runs = self.options.instantiate_runs;
        eprintln!("(2) instantiation: {runs} runs");
        for _ in 0..(runs / 10).max(10) {
            self.guest.instantiate_only()?;
        }
        for _ in 0..(runs / 10).max(10) {
            self.pooling.instantiate_only()?;
        }
        let mut times = Vec::with_capacity(runs);
        let mut pooling = Vec::with_capacity(runs);
        for _ in 0..runs {
            times.push(self.guest.instantiate_only()?);
            pooling.push(self.pooling.instantiate_only()?);
        }
        let m = median(&times);
        self.verdicts.push(Verdict {
            metric: "(2) new Store + instantiate (InstancePre, precompiled)".into(),
            measured: show(m),
            target: "<= 50 us".into(),
            pass: m <= Duration::from_micros(50),
        });
        let d = &mut self.details;
        let _ = writeln!(d, "\n(2) Instantiation ({runs} runs)");
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
                (
                    "with the pooling allocator (median)",
                    show(median(&pooling)),
                ),
                (
                    "compile the component (Component::from_file, once)",
                    show(self.guest.compile),
                ),
                (
                    "deserialize the precompiled component (once)",
                    format!(
                        "{} ({} KiB serialized)",
                        show(self.guest.deserialize),
                        self.guest.serialized_bytes / 1024
                    ),
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
        let rows: Vec<Row> = (0..total as u64)
            .map(|i| Row {
                id: i,
                region: "West",
                amount: 1.5,
            })
            .collect();
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
            let data = self.check_ok(&invocation)?;
            ensure!(
                data["rowsSent"].as_u64() == Some(total as u64),
                "the component sent {}",
                data
            );
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

        // The phases, once each.
        let index = self.guest.action("create-rows")?;
        let params = self.guest.params(&index)?;
        let start = Instant::now();
        let checked = self.connector.input_value("create-rows", &inputs)?;
        let check_convert = start.elapsed();
        ensure!(checked.is_ok(), "the rows were refused");
        drop(checked);
        let start = Instant::now();
        let args = Guest::args(&params, &self.connection, &inputs)?;
        let convert = start.elapsed();

        self.delete_rows(&path)?;
        let call = self.guest.call(&index, &args, &Egress::Host)?;
        ensure!(
            call.result.get("ok").is_some(),
            "own store: {}",
            call.result
        );
        let phases = Phases::of(&call);
        self.delete_rows(&path)?;
        let pooled = self
            .guest
            .call(&index, &args, &Egress::Pooled(self.pool.clone()))?;
        ensure!(
            pooled.result.get("ok").is_some(),
            "pooled: {}",
            pooled.result
        );
        self.delete_rows(&path)?;
        drop(args);
        let mut skip_all = inputs.clone();
        skip_all["start-row"] = json!(total);
        let args = Guest::args(&params, &self.connection, &skip_all)?;
        let parse_only = self.guest.call(&index, &args, &Egress::Host)?;
        ensure!(
            parse_only.result.get("ok").is_some() && parse_only.events.is_empty(),
            "start-row {total} should send nothing: {}",
            parse_only.result
        );
        drop(args);
        drop(skip_all);
        let mut bad_id = inputs.clone();
        bad_id["dataset-id"] = json!("not-a-dataset-id");
        let args = Guest::args(&params, &self.connection, &bad_id)?;
        let lower_only = self.guest.call(&index, &args, &Egress::Host)?;
        ensure!(
            lower_only.result.get("err").is_some() && lower_only.events.is_empty(),
            "a bad dataset id should be refused before parsing: {}",
            lower_only.result
        );
        drop(args);
        drop(bad_id);

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
            target: "<= 1.50x".into(),
            pass: ratio <= 1.5,
        });
        let pooled_total = pooled.instantiate + pooled.call;
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
                    "Connector::invoke (component)",
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
                (
                    "bench store, pooled egress (fix, measured, one run)",
                    format!("{} = {:.0} rows/s", show(pooled_total), rate(pooled_total)),
                ),
            ],
        );
        let _ = writeln!(d, "  where the component's time goes (one run each):");
        table(
            d,
            &[
                (
                    "host: check inputs + JSON->Val, by reference (input_value)",
                    show(check_convert),
                ),
                (
                    "  of which JSON->Val alone, copying (json_to_val)",
                    show(convert),
                ),
                (
                    "  (invoke_owned, as timed above, copies nothing)",
                    String::new(),
                ),
                ("bench store: instantiate", show(phases.instantiate)),
                ("bench store: call (total)", show(phases.call)),
                (
                    "  lower + parse rows + build body 1 (start -> request 1)",
                    show(phases.before_first_send),
                ),
                (
                    "  guest between requests (answer -> next request) x99",
                    show(phases.between),
                ),
                (
                    "  body streamed to the host (request -> last body byte)",
                    show(phases.streaming),
                ),
                (
                    "  service answers (last body byte -> answer headers)",
                    show(phases.serving),
                ),
                (
                    "  last answer -> call returns",
                    show(phases.after_last_headers),
                ),
                (
                    "  the call outside host calls (guest code, lower/lift)",
                    show(phases.in_guest),
                ),
                (
                    "  the call inside host calls (WASI, wasi:http, waits)",
                    format!("{} in {} calls", show(phases.in_host), phases.host_calls),
                ),
                (
                    "bench store: lower + parse only (start-row = all, no request)",
                    show(parse_only.call),
                ),
                (
                    "bench store: lower only (bad dataset id, refused before parsing)",
                    show(lower_only.call),
                ),
            ],
        );
        Ok(())
    }

    /// (4) The size of the release component.
    fn size(&mut self) -> Result<()> {
        let path = self
            .options
            .component
            .clone()
            .unwrap_or_else(|| pbi_host::component_path().to_path_buf());
        let path = path.as_path();
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
        let rows: Vec<Row> = (0..BATCH as u64)
            .map(|i| Row {
                id: i,
                region: "West",
                amount: 1.5,
            })
            .collect();
        let body = serde_json::to_vec(&Rows { rows: &rows })?.len();
        let text = serde_json::to_string(&rows)?;
        let inputs = json!({"dataset-id": self.dataset, "table-name": TABLE, "rows": text});
        let path = format!("/v1.0/myorg/datasets/{}/tables/{TABLE}/rows", self.dataset);
        let index = self.guest.action("create-rows")?;
        let params = self.guest.params(&index)?;
        let args = Guest::args(&params, &self.connection, &inputs)?;
        self.delete_rows(&path)?;
        let push = self.guest.call(&index, &args, &Egress::Host)?;
        ensure!(push.result.get("ok").is_some(), "push: {}", push.result);
        ensure!(
            push.events
                .iter()
                .filter(|(_, e)| *e == Event::Send)
                .count()
                == 1,
            "one request expected"
        );
        self.check_stored(BATCH)?;
        self.delete_rows(&path)?;
        let mut skip_all = inputs.clone();
        skip_all["start-row"] = json!(BATCH);
        let parse_only = self.guest.call(
            &index,
            &Guest::args(&params, &self.connection, &skip_all)?,
            &Egress::Host,
        )?;
        let mut bad_id = inputs.clone();
        bad_id["dataset-id"] = json!("not-a-dataset-id");
        let lower_only = self.guest.call(
            &index,
            &Guest::args(&params, &self.connection, &bad_id)?,
            &Egress::Host,
        )?;
        let list = self.guest.action("list-datasets")?;
        let list_params = self.guest.params(&list)?;
        let idle = self.guest.call(
            &list,
            &Guest::args(&list_params, &self.connection, &json!({"top": 1001}))?,
            &Egress::Host,
        )?;

        let peak = push.memory.peak;
        let initial: usize = push.memory.initial.iter().sum();
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
            "\n(5) Guest linear memory (largest size created or grown to; wasm pages are 64 KiB)"
        );
        table(
            d,
            &[
                ("request body of the push", kib(body)),
                ("rows input lowered into the guest", kib(text.len())),
                (
                    "memories at instantiation",
                    format!(
                        "{} ({})",
                        push.memory.initial.len(),
                        push.memory
                            .initial
                            .iter()
                            .map(|b| kib(*b))
                            .collect::<Vec<_>>()
                            .join(" + ")
                    ),
                ),
                (
                    "peak: a call refused without I/O (List Datasets)",
                    kib(idle.memory.peak),
                ),
                (
                    "peak: lower the rows only (bad dataset id)",
                    kib(lower_only.memory.peak),
                ),
                (
                    "peak: lower + parse the rows only (start-row = all)",
                    kib(parse_only.memory.peak),
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

/// The phases of one call, from its egress events.
#[derive(Default, Clone, Copy)]
struct Phases {
    instantiate: Duration,
    call: Duration,
    total: Duration,
    /// Call start to the first request.
    before_first_send: Duration,
    /// Each request to its answer's headers, summed.
    send_to_headers: Duration,
    /// Each request to the last byte of its body, summed.
    streaming: Duration,
    /// Each body's last byte to the answer's headers, summed.
    serving: Duration,
    /// Each answer's headers to the next request, summed.
    between: Duration,
    /// The last answer's headers to the end of the call.
    after_last_headers: Duration,
    /// The guest's calls into the host: how many, and the time in them.
    host_calls: u64,
    in_host: Duration,
    /// The call's time outside host calls: guest code, lowering and lifting.
    in_guest: Duration,
}

impl Phases {
    fn of(call: &guest::Call) -> Self {
        let end = call.call_start + call.call;
        let mut phases = Phases {
            instantiate: call.instantiate,
            call: call.call,
            total: call.instantiate + call.call,
            host_calls: call.host_calls.calls,
            in_host: call.host_calls.in_host,
            in_guest: call.call.saturating_sub(call.host_calls.in_host),
            ..Default::default()
        };
        let mut last_send = None;
        let mut last_body = None;
        let mut last_headers = None;
        for &(at, event) in &call.events {
            match event {
                Event::Send => {
                    match last_headers {
                        None => phases.before_first_send = at - call.call_start,
                        Some(h) => phases.between += at.saturating_duration_since(h),
                    }
                    last_send = Some(at);
                    last_body = None;
                }
                Event::BodyDone => last_body = Some(at),
                Event::Headers => {
                    if let Some(sent) = last_send {
                        phases.send_to_headers += at.saturating_duration_since(sent);
                        let body_done = last_body.unwrap_or(sent);
                        phases.streaming += body_done.saturating_duration_since(sent);
                        phases.serving += at.saturating_duration_since(body_done);
                    }
                    last_headers = Some(at);
                }
            }
        }
        phases.after_last_headers =
            last_headers.map_or(Duration::ZERO, |h| end.saturating_duration_since(h));
        phases
    }

    fn medians(all: &[Phases]) -> Self {
        let m = |f: fn(&Phases) -> Duration| median(&all.iter().map(f).collect::<Vec<_>>());
        Phases {
            instantiate: m(|p| p.instantiate),
            call: m(|p| p.call),
            total: m(|p| p.total),
            before_first_send: m(|p| p.before_first_send),
            send_to_headers: m(|p| p.send_to_headers),
            streaming: m(|p| p.streaming),
            serving: m(|p| p.serving),
            between: m(|p| p.between),
            after_last_headers: m(|p| p.after_last_headers),
            host_calls: {
                let mut calls: Vec<u64> = all.iter().map(|p| p.host_calls).collect();
                calls.sort_unstable();
                calls.get(calls.len() / 2).copied().unwrap_or_default()
            },
            in_host: m(|p| p.in_host),
            in_guest: m(|p| p.in_guest),
        }
    }
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
