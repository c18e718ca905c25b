//! `pbi`: runs a connector component's actions from the command line, starts the local
//! Power BI emulator, and demonstrates a whole flow against it.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use pbi_host::{Connection, Connector, HostConfig, HostError, Invocation};
use pbi_service::{ServiceConfig, ServiceHandle};
use serde_json::{Map, Value, json};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use url::Url;

/// Prints a line to stdout, ignoring a closed pipe (`pbi definition | head` is fine).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Runs a connector component's actions, and a local Power BI emulator to run them against.
#[derive(Debug, Parser)]
#[command(name = "pbi", version)]
struct Cli {
    /// The component to load (default: the one built from this workspace).
    #[arg(long, global = true, env = "PBI_COMPONENT", value_name = "FILE")]
    component: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Prints the component's definition as JSON.
    Definition,
    /// Prints the component's manifest (for now: its definition) as JSON.
    Manifest,
    /// Runs one action and prints its output as JSON (exit code 1 on an error).
    Run(Box<RunArgs>),
    /// Starts the local Power BI emulator and serves until interrupted.
    Emulator {
        /// The port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// A bearer token the emulator always accepts (default: a new one-hour token).
        #[arg(long)]
        token: Option<String>,
    },
    /// Runs a whole flow (create a dataset, push 25,000 rows, list, delete, raw request)
    /// against a local emulator and checks the emulator's state.
    Demo {
        /// Also print each step's requests and the component's logs.
        #[arg(long, short)]
        verbose: bool,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The action's key, such as `list-datasets`.
    action: String,
    /// An input, as KEY=VALUE; JSON values are parsed for code, key-value-list and
    /// file-list inputs. Repeatable; given after (and over) `--inputs`.
    #[arg(long = "input", value_name = "KEY=VALUE")]
    input: Vec<String>,
    /// A JSON file with an object of inputs keyed by input key.
    #[arg(long = "inputs", value_name = "FILE")]
    inputs_file: Option<PathBuf>,
    /// A JSON file with the connection: authorize-url, token-url, scopes, client-id,
    /// client-secret, access-token. PBI_CLIENT_ID and PBI_CLIENT_SECRET override it.
    #[arg(long, value_name = "FILE")]
    connection: Option<PathBuf>,
    /// The access token to send.
    #[arg(long, env = "PBI_ACCESS_TOKEN", hide_env_values = true)]
    access_token: Option<String>,
    /// Send the API's and the login's requests to this Power BI-compatible base URL
    /// instead (such as `pbi emulator`'s).
    #[arg(long, value_name = "URL")]
    service: Option<Url>,
    /// Also allow requests to this host. Repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_host: Vec<String>,
    /// Print the component's logs and the requests it sent to stderr.
    #[arg(long, short)]
    verbose: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            if let Some(HostError::Call { logs, .. }) = error.downcast_ref::<HostError>()
                && !logs.is_empty()
            {
                eprintln!("component output:\n{logs}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let component = cli.component.as_deref();
    match cli.command {
        Command::Definition | Command::Manifest => {
            let connector = load(component, HostConfig::default())?;
            out!(
                "{}",
                serde_json::to_string_pretty(connector.definition_json())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run_action(component, *args),
        Command::Emulator { port, token } => emulator(port, token),
        Command::Demo { verbose } => demo(component, verbose),
    }
}

fn load(component: Option<&Path>, config: HostConfig) -> Result<Connector> {
    let path = component.unwrap_or_else(|| pbi_host::component_path());
    Ok(Connector::load(path, config)?)
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {} as JSON", path.display()))
}

fn run_action(component: Option<&Path>, args: RunArgs) -> Result<ExitCode> {
    let mut connector = load(component, HostConfig::default())?;

    let mut connection = match &args.connection {
        Some(path) => match read_json(path)? {
            Value::Object(object) => object,
            _ => bail!("the connection file must hold a JSON object"),
        },
        None => Map::new(),
    };
    for (key, var) in [
        ("client-id", "PBI_CLIENT_ID"),
        ("client-secret", "PBI_CLIENT_SECRET"),
    ] {
        if let Ok(value) = std::env::var(var) {
            connection.insert(key.to_string(), Value::String(value));
        }
    }
    if let Some(token) = &args.access_token {
        connection.insert("access-token".to_string(), Value::String(token.clone()));
    }
    let connection = Value::Object(connection);

    let action = connector
        .action(&args.action)
        .ok_or_else(|| {
            let known: Vec<&str> = connector
                .definition()
                .actions
                .iter()
                .map(|a| a.key.as_str())
                .collect();
            anyhow!(
                "the component has no action `{}` (it has: {})",
                args.action,
                known.join(", ")
            )
        })?
        .clone();
    let mut inputs = match &args.inputs_file {
        Some(path) => match read_json(path)? {
            Value::Object(object) => object,
            _ => bail!("the inputs file must hold a JSON object"),
        },
        None => Map::new(),
    };
    for pair in &args.input {
        let (key, text) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--input takes KEY=VALUE, not `{pair}`"))?;
        let takes_json = action
            .input(key)
            .is_some_and(|input| input.input_type.takes_json());
        let value = if takes_json {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
        } else {
            Value::String(text.to_string())
        };
        inputs.insert(key.to_string(), value);
    }

    let mut config = HostConfig::default();
    let mut allow = connector.default_allow_hosts(&connection);
    if let Some(service) = &args.service {
        // The API host and the login hosts all go to the one emulating service.
        for host in &allow {
            config.redirects.push((host.clone(), service.clone()));
        }
    }
    allow.extend(args.allow_host.iter().cloned());
    config.allow_hosts = Some(allow);
    connector.set_config(config);

    let invocation = connector.invoke(&args.action, &connection, &Value::Object(inputs))?;
    if args.verbose {
        report_details(&invocation);
    }
    match invocation.result {
        Ok(output) => {
            let shown = if output.http.is_some() {
                serde_json::to_value(&output)?
            } else {
                output.data
            };
            out!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {error}");
            out!(
                "{}",
                serde_json::to_string_pretty(&json!({ "error": error }))?
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

fn report_details(invocation: &Invocation) {
    if !invocation.logs.is_empty() {
        eprintln!("--- component output ---\n{}", invocation.logs.trim_end());
    }
    for request in &invocation.requests {
        let target = request
            .redirected_to
            .as_deref()
            .map(|to| format!(" -> {to}"))
            .unwrap_or_default();
        let denied = if request.denied { " [denied]" } else { "" };
        eprintln!("--- {} {}{target}{denied}", request.method, request.url);
    }
}

fn emulator(port: u16, token: Option<String>) -> Result<ExitCode> {
    let config = ServiceConfig {
        fixed_tokens: token.iter().cloned().collect(),
        ..ServiceConfig::default()
    };
    let service = ServiceHandle::spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), config)?;
    let (token, lifetime) = match token {
        Some(token) => (token, "always valid"),
        None => (service.issue_token(), "valid for one hour"),
    };
    out!(
        "Power BI emulator at {} (API under /v1.0/myorg)",
        service.base_url()
    );
    out!("token ({lifetime}): {token}");
    out!(
        "try: PBI_ACCESS_TOKEN={token} pbi run list-datasets --service {}",
        service.base_url()
    );
    service.join();
    Ok(ExitCode::SUCCESS)
}

/// The hosts the demo sends to the emulator.
const DEMO_HOSTS: [&str; 2] = ["api.powerbi.com", "login.microsoftonline.com"];
/// How many rows the demo pushes.
const DEMO_ROWS: usize = 25_000;

fn demo(component: Option<&Path>, verbose: bool) -> Result<ExitCode> {
    let service = ServiceHandle::spawn(ServiceConfig::default())?;
    let base = Url::parse(&service.base_url())?;
    let mut config = HostConfig::default();
    for host in DEMO_HOSTS {
        config = config.redirect(host, base.clone());
    }
    let started = Instant::now();
    let connector = load(component, config)?;
    out!(
        "Loaded {} ({} actions) in {} ms; emulator at {}",
        connector.definition().info.label,
        connector.definition().actions.len(),
        started.elapsed().as_millis(),
        base
    );
    let connection = Connection::with_access_token(service.issue_token()).to_json();
    let mut demo = Demo {
        connector: &connector,
        connection: &connection,
        verbose,
        step: 0,
        failed: false,
    };

    let columns = json!([
        {"name": "Id", "dataType": "Int64"},
        {"name": "Region", "dataType": "string"},
        {"name": "Amount", "dataType": "Double"},
        {"name": "When", "dataType": "DateTime"}
    ]);
    let created = demo.step(
        "Create Dataset",
        "create-dataset",
        json!({"dataset-name": "Demo Sales", "table-name": "Sales", "columns": columns}),
    );
    let Some(dataset_id) = created
        .as_ref()
        .and_then(|data| data.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        out!("cannot go on without the new dataset's id");
        return Ok(ExitCode::FAILURE);
    };

    demo.step(
        "Create Rows",
        "create-rows",
        json!({"dataset-id": dataset_id, "table-name": "Sales", "rows": demo_rows(DEMO_ROWS)}),
    );
    let stored = service
        .table_rows(&dataset_id, "Sales")
        .map(|rows| rows.len());
    demo.check(
        &format!("the service holds {DEMO_ROWS} rows"),
        stored == Some(DEMO_ROWS),
        &format!("{stored:?} rows"),
    );

    demo.step(
        "List Tables",
        "list-tables",
        json!({"dataset-id": dataset_id}),
    );
    demo.step("List Datasets", "list-datasets", json!({"top": 10}));
    demo.step(
        "Delete Rows",
        "delete-rows",
        json!({"dataset-id": dataset_id, "table-name": "Sales"}),
    );
    let left = service
        .table_rows(&dataset_id, "Sales")
        .map(|rows| rows.len());
    demo.check(
        "the service holds 0 rows",
        left == Some(0),
        &format!("{left:?} rows"),
    );
    demo.step(
        "Raw Request",
        "raw-request",
        json!({"url": "/datasets", "method": "GET"}),
    );

    out!(
        "{} in {:.1} s",
        if demo.failed {
            "Demo FAILED"
        } else {
            "Demo passed"
        },
        started.elapsed().as_secs_f64()
    );
    Ok(if demo.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

struct Demo<'a> {
    connector: &'a Connector,
    connection: &'a Value,
    verbose: bool,
    step: usize,
    failed: bool,
}

impl Demo<'_> {
    /// Runs one action, prints a line about it, and returns its output data on success.
    fn step(&mut self, label: &str, action: &str, inputs: Value) -> Option<Value> {
        self.step += 1;
        let started = Instant::now();
        let outcome = self.connector.invoke(action, self.connection, &inputs);
        let elapsed = started.elapsed().as_millis();
        match outcome {
            Ok(invocation) => {
                if self.verbose {
                    report_details(&invocation);
                }
                let requests = invocation.requests.len();
                match invocation.result {
                    Ok(output) => {
                        out!(
                            "[{}] {label}: ok ({elapsed} ms, {requests} request{}) {}",
                            self.step,
                            if requests == 1 { "" } else { "s" },
                            summarize(&output.data)
                        );
                        Some(output.data)
                    }
                    Err(error) => {
                        out!("[{}] {label}: FAILED ({elapsed} ms): {error}", self.step);
                        self.failed = true;
                        None
                    }
                }
            }
            Err(error) => {
                out!("[{}] {label}: FAILED in the host: {error}", self.step);
                self.failed = true;
                None
            }
        }
    }

    fn check(&mut self, what: &str, ok: bool, found: &str) {
        if ok {
            out!("    check: {what}: yes");
        } else {
            out!("    check: {what}: NO (found {found})");
            self.failed = true;
        }
    }
}

/// `count` rows for the demo's Sales table.
fn demo_rows(count: usize) -> Value {
    const REGIONS: [&str; 5] = ["North", "South", "East", "West", "Central"];
    Value::Array(
        (0..count)
            .map(|i| {
                json!({
                    "Id": i + 1,
                    "Region": REGIONS[i % REGIONS.len()],
                    "Amount": ((i * 7919) % 100_000) as f64 / 100.0,
                    "When": format!("2024-{:02}-{:02}T{:02}:00:00Z", 1 + i % 12, 1 + i % 28, i % 24),
                })
            })
            .collect(),
    )
}

/// A one-line view of an output: the JSON itself when short, else its outline.
fn summarize(data: &Value) -> String {
    const SHORT: usize = 160;
    let text = data.to_string();
    if text.len() <= SHORT {
        return text;
    }
    let list = data
        .get("value")
        .and_then(Value::as_array)
        .or(data.as_array());
    if let Some(items) = list {
        let names: Vec<&str> = items
            .iter()
            .filter_map(|item| item.get("name").and_then(Value::as_str))
            .take(5)
            .collect();
        let more = if items.len() > names.len() {
            ", ..."
        } else {
            ""
        };
        return if names.is_empty() {
            format!("{} entries ({} bytes)", items.len(), text.len())
        } else {
            format!("{} entries: {}{more}", items.len(), names.join(", "))
        };
    }
    let cut: String = text.chars().take(SHORT).collect();
    format!("{cut}... ({} bytes)", text.len())
}
