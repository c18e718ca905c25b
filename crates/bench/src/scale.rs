//! Sections (6) and (7): the component against what users run today (Node.js's `fetch`), and
//! many calls at once through `Connector::invoke_async` against a native client doing the
//! same concurrently.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as PooledClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use pbi_host::{Connector, HostConfig};
use serde_json::{Value, json};

use crate::node::NodeFetch;
use crate::{
    BATCH, Bench, LISTED_DATASETS, Rows, TABLE, Verdict, median, percentile, ratio, rows, show,
    table,
};

/// How many List Datasets run at once in (7).
pub const CONCURRENT_LISTS: usize = 64;
/// How many pushes run at once in (7).
pub const CONCURRENT_PUSHES: usize = 8;
/// The rows of each push in (6) and (7).
pub const PUSH_ROWS: usize = 100_000;

impl Bench {
    /// (6) List Datasets and a 100,000-row push, the component against Node's `fetch`,
    /// interleaved in one run. Skipped, saying so, without `node`.
    pub(crate) fn against_node(&mut self) -> Result<()> {
        let token = self.connection["access-token"]
            .as_str()
            .context("the bench's token")?
            .to_string();
        let Some(mut node) = NodeFetch::start(&self.service.base_url(), &token)? else {
            eprintln!("(6) skipped: no `node` on PATH (or PBI_NODE)");
            let _ = writeln!(
                self.details,
                "\n(6) against Node.js fetch: SKIPPED, no `node` on PATH (set PBI_NODE to one)"
            );
            return Ok(());
        };
        let runs = self.options.list_runs;
        let push_runs = self.options.rows_runs.max(3);
        eprintln!(
            "(6) against Node.js {} fetch: {runs} List Datasets, {push_runs} pushes of {PUSH_ROWS} rows each",
            node.version
        );
        let inputs = json!({});
        let expected = LISTED_DATASETS + 1;
        let mut component = Vec::with_capacity(runs);
        let mut from_node = Vec::with_capacity(runs);
        let warmup = (runs / 10).max(5);
        for i in 0..warmup + runs {
            let start = Instant::now();
            let invocation = self
                .connector
                .invoke("list-datasets", &self.connection, &inputs)?;
            let elapsed = start.elapsed();
            let listed = self.check_ok(&invocation)?["value"]
                .as_array()
                .map_or(0, Vec::len);
            ensure!(listed == expected, "the component listed {listed} datasets");
            let (node_time, node_listed) = node.list()?;
            ensure!(
                node_listed == expected,
                "node listed {node_listed} datasets"
            );
            if i >= warmup {
                component.push(elapsed);
                from_node.push(node_time);
            }
        }

        let text = serde_json::to_string(&rows(PUSH_ROWS))?;
        let push_inputs = json!({"dataset-id": self.dataset, "table-name": TABLE, "rows": text});
        let path = format!("/v1.0/myorg/datasets/{}/tables/{TABLE}/rows", self.dataset);
        let mut component_push = Vec::new();
        let mut node_push = Vec::new();
        // One push of each first: both warm up (Node's JIT, the guest's pool slot).
        for run in 0..=push_runs {
            self.delete_rows(&path)?;
            let given = push_inputs.clone();
            let start = Instant::now();
            let invocation = self
                .connector
                .invoke_owned("create-rows", &self.connection, given)?;
            let elapsed = start.elapsed();
            self.check_sent(&invocation, PUSH_ROWS)?;
            self.check_stored(PUSH_ROWS)?;
            self.delete_rows(&path)?;
            let node_time = node.push(&self.dataset, TABLE, PUSH_ROWS)?;
            self.check_stored(PUSH_ROWS)?;
            if run > 0 {
                component_push.push(elapsed);
                node_push.push(node_time);
            }
        }
        self.delete_rows(&path)?;

        let (list_c, list_n) = (median(&component), median(&from_node));
        let (push_c, push_n) = (median(&component_push), median(&node_push));
        for (metric, c, n) in [
            (
                "(6a) List Datasets, component / Node.js fetch",
                list_c,
                list_n,
            ),
            (
                "(6b) Create Rows 100,000 rows, component / Node.js fetch",
                push_c,
                push_n,
            ),
        ] {
            let r = ratio(c, n);
            self.verdicts.push(Verdict {
                metric: metric.into(),
                measured: format!("{r:.2}x ({} / {})", show(c), show(n)),
                target: "<= 0.70x".into(),
                pass: r <= 0.70,
            });
        }
        let d = &mut self.details;
        let _ = writeln!(
            d,
            "\n(6) against Node.js {} fetch (undici, keep-alive), the same service, interleaved; medians",
            node.version
        );
        table(
            d,
            &[
                ("List Datasets: Connector::invoke", show(list_c)),
                ("List Datasets: Node fetch + response.json()", show(list_n)),
                (
                    "  Node p99 / component p99",
                    format!(
                        "{} / {}",
                        show(percentile(&from_node, 99)),
                        show(percentile(&component, 99))
                    ),
                ),
                (
                    "100,000-row push: Connector::invoke_owned (JSON text in)",
                    show(push_c),
                ),
                (
                    "100,000-row push: Node (objects in, JSON.stringify per 10,000)",
                    show(push_n),
                ),
            ],
        );
        Ok(())
    }

    /// (7) 64 List Datasets and 8 pushes of 100,000 rows at once through
    /// `Connector::invoke_async`, against a native pooled client doing the same: throughput,
    /// latency and the memory each call in flight holds.
    pub(crate) fn concurrent(&mut self) -> Result<()> {
        let rounds = (self.options.list_runs / 10).max(4);
        eprintln!(
            "(7) at once: {CONCURRENT_LISTS} List Datasets x {rounds} each, {CONCURRENT_PUSHES} pushes of {PUSH_ROWS} rows"
        );
        let (connector, engine, workers) = self.concurrent_setup()?;
        let native = NativePool::new(&self.service.base_url(), &self.connection)?;
        let connection = Arc::new(self.connection.clone());
        let expected = LISTED_DATASETS + 1;

        // Warm both up: the host's slots and connections, the native pool.
        let baseline_rss = rss_bytes();
        let warm = lists_at_once(&engine, &connector, &connection, 1, expected)?;
        let native_warm = native.lists_at_once(&engine, 1, expected)?;
        drop((warm, native_warm));

        let mut component = Lists::default();
        let mut from_native = Lists::default();
        let peak = Arc::new(AtomicU64::new(0));
        for _ in 0..3 {
            let sampler = RssSampler::start(peak.clone());
            component.add(lists_at_once(
                &engine,
                &connector,
                &connection,
                rounds,
                expected,
            )?);
            drop(sampler);
            from_native.add(native.lists_at_once(&engine, rounds, expected)?);
        }
        let held = peak.load(Ordering::Relaxed).saturating_sub(baseline_rss);

        // The floor, after the memory figure (its instance slots and connections are not the
        // component's), interleaved with native rounds of its own.
        let (floor, answer_bytes) = self.floor(&engine, &native)?;
        let floor_url = crate::floor_url();
        fetches_at_once(&engine, &floor, &connection, 1, &floor_url, answer_bytes)?;
        let mut from_floor = Lists::default();
        let mut native_beside_floor = Lists::default();
        for _ in 0..3 {
            from_floor.add(fetches_at_once(
                &engine,
                &floor,
                &connection,
                rounds,
                &floor_url,
                answer_bytes,
            )?);
            native_beside_floor.add(native.lists_at_once(&engine, rounds, expected)?);
        }
        drop(floor);

        // Pushes: each task its own dataset, the same for both.
        let text = serde_json::to_string(&rows(PUSH_ROWS))?;
        let tables = json!([{"name": TABLE, "columns": [
            {"name": "Id", "dataType": "Int64"},
            {"name": "Region", "dataType": "string"},
            {"name": "Amount", "dataType": "Double"},
        ]}]);
        let datasets: Vec<String> = (0..CONCURRENT_PUSHES)
            .map(|i| {
                self.service
                    .add_dataset(None, &format!("Concurrent {i}"), true, tables.clone())
            })
            .collect();
        let mut component_push = Vec::new();
        let mut native_push = Vec::new();
        let push_peak = Arc::new(AtomicU64::new(0));
        let before_pushes = rss_bytes();
        for run in 0..=2 {
            for id in &datasets {
                native.delete_rows(&engine, id)?;
            }
            let inputs: Vec<Value> = datasets
                .iter()
                .map(|id| json!({"dataset-id": id, "table-name": TABLE, "rows": text.clone()}))
                .collect();
            let sampler = RssSampler::start(push_peak.clone());
            let elapsed = pushes_at_once(&engine, &connector, &connection, inputs)?;
            drop(sampler);
            self.check_datasets(&datasets, PUSH_ROWS)?;
            for id in &datasets {
                native.delete_rows(&engine, id)?;
            }
            let native_elapsed = native.pushes_at_once(&engine, &datasets, PUSH_ROWS)?;
            self.check_datasets(&datasets, PUSH_ROWS)?;
            // The first round warms both up.
            if run > 0 {
                component_push.push(elapsed);
                native_push.push(native_elapsed);
            }
        }
        for id in &datasets {
            native.delete_rows(&engine, id)?;
        }
        let push_held = push_peak
            .load(Ordering::Relaxed)
            .saturating_sub(before_pushes);

        let lists_ratio = component.throughput() / from_native.throughput();
        self.verdicts.push(Verdict {
            metric: format!(
                "(7a) {CONCURRENT_LISTS} List Datasets at once, throughput component / native"
            ),
            measured: format!(
                "{lists_ratio:.2} ({:.0} / {:.0} calls/s)",
                component.throughput(),
                from_native.throughput()
            ),
            target: ">= 0.67".into(),
            pass: lists_ratio >= 2.0 / 3.0,
        });
        let rows_total = (CONCURRENT_PUSHES * PUSH_ROWS) as f64;
        let (push_c, push_n) = (median(&component_push), median(&native_push));
        let push_ratio = push_n.as_secs_f64() / push_c.as_secs_f64();
        self.verdicts.push(Verdict {
            metric: format!(
                "(7b) {CONCURRENT_PUSHES} pushes of 100,000 rows at once, throughput component / native"
            ),
            measured: format!(
                "{push_ratio:.2} ({:.0} / {:.0} rows/s)",
                rows_total / push_c.as_secs_f64(),
                rows_total / push_n.as_secs_f64()
            ),
            target: ">= 0.67".into(),
            pass: push_ratio >= 2.0 / 3.0,
        });
        let d = &mut self.details;
        let _ = writeln!(
            d,
            "\n(7) at once, through Connector::invoke_async on a multi-threaded engine runtime, the host with {workers} worker thread(s); native: hyper-util's pooled client on the same kind of runtime"
        );
        table(
            d,
            &[
                (
                    "List Datasets x 64 at once: component p50 / p99",
                    format!(
                        "{} / {}",
                        show(percentile(&component.latencies, 50)),
                        show(percentile(&component.latencies, 99))
                    ),
                ),
                (
                    "  native p50 / p99",
                    format!(
                        "{} / {}",
                        show(percentile(&from_native.latencies, 50)),
                        show(percentile(&from_native.latencies, 99))
                    ),
                ),
                (
                    "  the floor, misbehave's fetch x 64 at once (same URL and token, body not parsed)",
                    format!(
                        "{:.0} calls/s, {:.2} of native ({:.0}, beside it); p50 / p99 {} / {}",
                        from_floor.throughput(),
                        from_floor.throughput() / native_beside_floor.throughput(),
                        native_beside_floor.throughput(),
                        show(percentile(&from_floor.latencies, 50)),
                        show(percentile(&from_floor.latencies, 99))
                    ),
                ),
                (
                    "  resident memory per call in flight (peak RSS growth / 64)",
                    crate::kib((held / CONCURRENT_LISTS as u64) as usize),
                ),
                (
                    "8 pushes of 100,000 rows at once: component / native (whole)",
                    format!("{} / {}", show(push_c), show(push_n)),
                ),
                (
                    "  resident memory per push in flight (peak RSS growth / 8)",
                    format!(
                        "{} (each push's JSON text: {})",
                        crate::kib((push_held / CONCURRENT_PUSHES as u64) as usize),
                        crate::kib(text.len())
                    ),
                ),
            ],
        );
        Ok(())
    }

    /// (7)'s connector and engine: a connector with an instance slot for each call at once
    /// and a worker per core, and an async engine's multi-threaded runtime; with the
    /// connector's number of workers.
    fn concurrent_setup(&self) -> Result<(Arc<Connector>, tokio::runtime::Runtime, usize)> {
        let connector = self.concurrent_connector(&self.component)?;
        Ok((connector, concurrent_engine()?, concurrent_workers()))
    }

    /// The component at `wasm` in (7)'s host configuration.
    fn concurrent_connector(&self, wasm: &std::path::Path) -> Result<Arc<Connector>> {
        // An engine that runs 64 calls at once gives the host that many instance slots.
        let config = HostConfig {
            max_concurrent_calls: (CONCURRENT_LISTS as u32).max(32),
            worker_threads: concurrent_workers(),
            ..self.plain.clone()
        };
        let connector = Connector::load(wasm, config)
            .with_context(|| format!("loading {} for (7)", wasm.display()))?;
        Ok(Arc::new(connector))
    }

    /// (7a)'s floor: `misbehave` in (7)'s host configuration (its `fetch` sends a GET of the
    /// same URL with the token and reads the answer without parsing it), and the size of
    /// the answer it must read, as `native` gets it.
    fn floor(
        &self,
        engine: &tokio::runtime::Runtime,
        native: &NativePool,
    ) -> Result<(Arc<Connector>, usize)> {
        let misbehave = self.concurrent_connector(pbi_component::misbehave_wasm())?;
        let answer = engine.block_on(native.send(Method::GET, crate::LIST_PATH, None))?;
        Ok((misbehave, answer.len()))
    }

    /// For a profiler (`--concurrent-loop N`): nothing but (7a)'s component side, `rounds`
    /// List Datasets in each of its 64 tasks at once, then the throughput on stderr. With
    /// `floor` (`--floor`), (7a)'s floor instead: misbehave's fetch of the same GET.
    pub(crate) fn concurrent_loop(&self, rounds: usize, floor: bool) -> Result<()> {
        let engine = concurrent_engine()?;
        let connection = Arc::new(self.connection.clone());
        let rounds = rounds.max(1);
        let (what, calls) = if floor {
            let native = NativePool::new(&self.service.base_url(), &self.connection)?;
            let (misbehave, bytes) = self.floor(&engine, &native)?;
            let url = crate::floor_url();
            let fetches = fetches_at_once(&engine, &misbehave, &connection, rounds, &url, bytes)?;
            ("misbehave fetches (the floor)", fetches)
        } else {
            let connector = self.concurrent_connector(&self.component)?;
            let expected = LISTED_DATASETS + 1;
            let lists = lists_at_once(&engine, &connector, &connection, rounds, expected)?;
            ("List Datasets", lists)
        };
        let workers = concurrent_workers();
        eprintln!(
            "{} {what}, {CONCURRENT_LISTS} at once, {workers} host worker(s): {:.0} calls/s",
            calls.latencies.len(),
            calls.throughput()
        );
        Ok(())
    }

    fn check_datasets(&self, datasets: &[String], expected: usize) -> Result<()> {
        for id in datasets {
            let stored = self.service.table_rows(id, TABLE).map_or(0, |r| r.len());
            ensure!(
                stored == expected,
                "{stored} rows in {id}, {expected} expected"
            );
        }
        Ok(())
    }
}

/// (7)'s host worker threads: one per core, so that guests compute on every core
/// (`HostConfig::worker_threads`; its default of one suits blocking engines, see
/// docs/performance.md), or `PBI_BENCH_WORKERS`.
fn concurrent_workers() -> usize {
    std::env::var("PBI_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// (7)'s engine: a multi-threaded runtime, as async engines run (one worker per core).
fn concurrent_engine() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Latencies and the wall time of calls made at once.
#[derive(Default)]
struct Lists {
    latencies: Vec<Duration>,
    wall: Duration,
}

impl Lists {
    fn add(&mut self, other: Lists) {
        self.latencies.extend(other.latencies);
        self.wall += other.wall;
    }

    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }
}

/// [`CONCURRENT_LISTS`] tasks, each making `rounds` List Datasets one after another through
/// `Connector::invoke_async`.
fn lists_at_once(
    engine: &tokio::runtime::Runtime,
    connector: &Arc<Connector>,
    connection: &Arc<Value>,
    rounds: usize,
    expected: usize,
) -> Result<Lists> {
    let (connector, connection) = (connector.clone(), connection.clone());
    at_once(engine, rounds, move || {
        let (connector, connection) = (connector.clone(), connection.clone());
        async move {
            let invocation = connector
                .invoke_async("list-datasets", &connection, json!({}))
                .await?;
            match invocation.result {
                Ok(output) => check_listed(&output.data, expected),
                Err(e) => bail!("List Datasets failed: {e}"),
            }
        }
    })
}

/// (7a)'s floor: a GET of the same URL through `misbehave`'s `fetch` (the request with the
/// token, the answer's body read and counted, nothing parsed), `rounds` in each of
/// [`CONCURRENT_LISTS`] tasks at once; every answer must be a 200 of `body_bytes` bytes.
fn fetches_at_once(
    engine: &tokio::runtime::Runtime,
    floor: &Arc<Connector>,
    connection: &Arc<Value>,
    rounds: usize,
    url: &str,
    body_bytes: usize,
) -> Result<Lists> {
    let (floor, connection) = (floor.clone(), connection.clone());
    let inputs = json!({ "url": url });
    at_once(engine, rounds, move || {
        let (floor, connection, inputs) = (floor.clone(), connection.clone(), inputs.clone());
        async move {
            let invocation = floor.invoke_async("fetch", &connection, inputs).await?;
            crate::check_fetched(invocation, body_bytes)
        }
    })
}

/// That `data` is a list answer of `expected` datasets.
fn check_listed(data: &Value, expected: usize) -> Result<()> {
    let listed = data["value"].as_array().map_or(0, Vec::len);
    ensure!(
        listed == expected,
        "listed {listed} datasets, {expected} expected"
    );
    Ok(())
}

/// [`CONCURRENT_LISTS`] tasks, each calling `call` (which checks its answer) `rounds` times
/// one after another, timing each call: the same loop for the component and the native
/// client.
fn at_once<F, Fut>(engine: &tokio::runtime::Runtime, rounds: usize, call: F) -> Result<Lists>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    engine.block_on(async {
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..CONCURRENT_LISTS {
            let call = call.clone();
            tasks.spawn(async move {
                let mut latencies = Vec::with_capacity(rounds);
                for _ in 0..rounds {
                    let start = Instant::now();
                    call().await?;
                    latencies.push(start.elapsed());
                }
                Ok::<_, anyhow::Error>(latencies)
            });
        }
        let mut lists = Lists::default();
        while let Some(done) = tasks.join_next().await {
            lists.latencies.extend(done??);
        }
        lists.wall = start.elapsed();
        Ok(lists)
    })
}

/// One push per input, all at once; the wall time of them all.
fn pushes_at_once(
    engine: &tokio::runtime::Runtime,
    connector: &Arc<Connector>,
    connection: &Arc<Value>,
    inputs: Vec<Value>,
) -> Result<Duration> {
    engine.block_on(async {
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for input in inputs {
            let (connector, connection) = (connector.clone(), connection.clone());
            tasks.spawn(async move {
                let invocation = connector
                    .invoke_async("create-rows", &connection, input)
                    .await?;
                match invocation.result {
                    Ok(output) => Ok(output.data),
                    Err(e) => bail!("Create Rows failed: {e}"),
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            let data = done??;
            ensure!(
                data["rowsSent"].as_u64() == Some(PUSH_ROWS as u64),
                "a push reported {data}"
            );
        }
        Ok(start.elapsed())
    })
}

/// The native side of (7): hyper-util's pooled client, what a Rust service would use.
#[derive(Clone)]
struct NativePool {
    client: PooledClient<HttpConnector, Full<Bytes>>,
    base: String,
    bearer: String,
}

impl NativePool {
    fn new(base: &str, connection: &Value) -> Result<Self> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = PooledClient::builder(TokioExecutor::new()).build(connector);
        let token = connection["access-token"].as_str().context("token")?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_string(),
            bearer: format!("Bearer {token}"),
        })
    }

    async fn send(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<Bytes> {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base))
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, self.bearer.as_str());
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json; charset=utf-8");
        }
        let request = builder.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        let response = self.client.request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        ensure!(
            status.is_success(),
            "{method} {path} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        Ok(bytes)
    }

    fn lists_at_once(
        &self,
        engine: &tokio::runtime::Runtime,
        rounds: usize,
        expected: usize,
    ) -> Result<Lists> {
        let this = Arc::new(self.clone());
        at_once(engine, rounds, move || {
            let this = this.clone();
            async move {
                let body = this.send(Method::GET, crate::LIST_PATH, None).await?;
                check_listed(&serde_json::from_slice(&body)?, expected)
            }
        })
    }

    fn pushes_at_once(
        &self,
        engine: &tokio::runtime::Runtime,
        datasets: &[String],
        count: usize,
    ) -> Result<Duration> {
        let this = Arc::new(self.clone());
        engine.block_on(async {
            let start = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for id in datasets {
                let (this, path) = (
                    this.clone(),
                    format!("/v1.0/myorg/datasets/{id}/tables/{TABLE}/rows"),
                );
                tasks.spawn(async move {
                    // The rows are the engine's before the clock starts, as in (3).
                    let all = rows(count);
                    let start = Instant::now();
                    for chunk in all.chunks(BATCH) {
                        let body = serde_json::to_vec(&Rows { rows: chunk })?;
                        this.send(Method::POST, &path, Some(body)).await?;
                    }
                    Ok::<_, anyhow::Error>(start.elapsed())
                });
            }
            while let Some(done) = tasks.join_next().await {
                done??;
            }
            Ok(start.elapsed())
        })
    }

    fn delete_rows(&self, engine: &tokio::runtime::Runtime, dataset: &str) -> Result<()> {
        let path = format!("/v1.0/myorg/datasets/{dataset}/tables/{TABLE}/rows");
        engine.block_on(self.send(Method::DELETE, &path, None))?;
        Ok(())
    }
}

/// This process's resident memory, from `/proc/self/statm` (0 where there is none).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Samples [`rss_bytes`] every few milliseconds into `peak` until dropped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(peak: Arc<AtomicU64>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
