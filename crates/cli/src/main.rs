//! `pbi`: runs a connector component's actions from the command line, runs flow files of
//! several actions, signs in through the component's OAuth flow, starts the local Power BI
//! emulator, and demonstrates a whole flow against it.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use pbi_host::{
    ActionDefinition, CALLBACK_PATH, Connection, Connector, HostConfig, HostError, InputType,
    Invocation, RedirectListener, Session, TokenFile, unix_now,
};
use pbi_service::{ServiceConfig, ServiceHandle};
use serde_json::{Map, Value, json};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};
use url::Url;

/// Where the example outputs in `docs/example-payloads.json` come from.
const EXAMPLES_SOURCE: &str = "the local Power BI service";

/// Prints a line to stdout, ignoring a closed pipe (`pbi definition | head` is fine).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod flow;
mod progress;
mod studio;
mod table;
mod template;

/// The demo's flow: `examples/demo.flow.yaml`, built in so `pbi demo` runs anywhere.
const DEMO_FLOW: &str = include_str!("../../../examples/demo.flow.yaml");
/// Where the demo's flow lives in the repository, for messages.
const DEMO_FLOW_PATH: &str = "examples/demo.flow.yaml";

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
    /// Prints the path of the component `.wasm` that `pbi` loads, for standard tools:
    /// `wasm-tools component wit "$(pbi wasm)"` prints its WIT with the doc comments.
    Wasm {
        /// Copy the component into DIR (created if missing) and print the copy's path, so
        /// an engine finds it at a stable place.
        #[arg(long, value_name = "DIR")]
        copy: Option<PathBuf>,
    },
    /// Lists the component's actions (key and label), or with ACTION its inputs: key,
    /// label, type, whether required, default, bounds, choices and picker.
    Actions {
        /// The action whose inputs to show, such as `create-rows`.
        action: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Runs flow files: named steps of actions whose inputs may use earlier steps' outputs.
    #[command(subcommand)]
    Flow(FlowCommand),
    /// Prints the component's definition as JSON.
    Definition,
    /// Prints the component manifest (`component-manifest.json`): display info, connection,
    /// every action's inputs, a JSON Schema of each action's inputs, and example payloads.
    Manifest {
        /// A JSON file of example outputs keyed by action key (`docs/example-payloads.json`).
        #[arg(long, value_name = "FILE")]
        examples: Option<PathBuf>,
    },
    /// Writes the reference pages (connection.md, actions.md) generated from the definition.
    Docs {
        /// A JSON file of example outputs keyed by action key.
        #[arg(long, value_name = "FILE")]
        examples: Option<PathBuf>,
        /// The folder to write them into.
        #[arg(long, value_name = "DIR", default_value = "docs/reference")]
        out: PathBuf,
    },
    /// Runs one action and prints its output as JSON (exit code 1 on an error).
    Run(Box<RunArgs>),
    /// Lists the values an input can take, through the component's picker for it, and
    /// prints one page of them as JSON: `{"choices": [{"label", "value"}, ...], "more"}`
    /// (exit code 1 on an error). Give the inputs the picker depends on (`pbi definition`
    /// shows each input's `picker` and its `depends-on`) with --input.
    Choices(Box<ChoicesArgs>),
    /// Signs in through the browser (OAuth 2.0 authorization code with PKCE) and saves the
    /// tokens for `pbi run`.
    Login(Box<LoginArgs>),
    /// Forgets the saved tokens: deletes the token file `login` wrote (and its lock file).
    /// Microsoft's identity platform has no endpoint to revoke a refresh token itself; to
    /// cut every session off, revoke the user's sessions in Entra ID.
    Logout {
        /// The token file (default: $PBI_TOKEN_FILE, $XDG_CONFIG_HOME/pbi/tokens.json or
        /// ~/.config/pbi/tokens.json).
        #[arg(long, env = "PBI_TOKEN_FILE", value_name = "FILE")]
        token_file: Option<PathBuf>,
    },
    /// Starts the local Power BI emulator and serves until interrupted. It prints its URL, a
    /// token, its OAuth client and its service principal.
    Emulator {
        /// The port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// A bearer token the emulator always accepts (default: a new one-hour token).
        #[arg(long)]
        token: Option<String>,
        /// Start with demo content: three workspaces (Sales, Finance, Operations), each with
        /// a push dataset, a model dataset, a report and a dashboard, and a little in My
        /// workspace. On by default.
        #[arg(long, overrides_with = "no_seed")]
        seed: bool,
        /// Start with an empty tenant instead.
        #[arg(long, overrides_with = "seed")]
        no_seed: bool,
    },
    /// Runs the demo flow (examples/demo.flow.yaml: a workspace, create a dataset, push
    /// 25,000 rows, list, count them with DAX, delete them, raw request) against a fresh
    /// seeded emulator, with the flow's checks.
    Demo {
        /// Also print each step's requests and the component's logs.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Serves a local web page (on 127.0.0.1, nothing loaded from the internet) with the
    /// connection's and every action's form, pickers filled by the component: runs actions
    /// and shows their output, errors and requests. Against a seeded local emulator it
    /// starts itself, unless --service names another service. See docs/studio.md.
    Studio(Box<studio::StudioArgs>),
}

#[derive(Debug, Subcommand)]
enum FlowCommand {
    /// Runs a flow file (YAML, or JSON by its `.json` extension or its content), one line
    /// per step; exit code 1 when a step fails or a check does not hold.
    ///
    /// A flow is `{connection?, vars?, steps: [{name, action, inputs?, checks?}]}`. Input
    /// values may refer to earlier steps' outputs, the flow's variables and the connection:
    /// `${steps.NAME.output.value[0].id}` or `${{ steps.NAME.output/rows/0/[Rows] }}`
    /// (dotted paths with [index] and [field=value], or JSON pointers), `${vars.NAME}`,
    /// `${connection.KEY}`, and `${generate.sales_rows(N)}` for N generated rows. A whole
    /// value keeps the JSON type; inside text it becomes text. Checks:
    /// `{name?, path, equals | not-equals | exists | length | min-length | min | max |
    /// contains}`. See examples/ for flows.
    Run(Box<FlowRunArgs>),
    /// Checks a flow file against the component (actions, input keys, references, checks)
    /// without running it.
    Check {
        /// The flow file.
        file: PathBuf,
        /// Set a variable over the flow's `vars:`. Repeatable.
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
    },
}

#[derive(Debug, Args)]
struct FlowRunArgs {
    /// The flow file.
    file: PathBuf,
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Set a variable (a string) over the flow's `vars:`. Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Skip the steps before STEP (their outputs come from --state, if given).
    #[arg(long, value_name = "STEP")]
    resume_from: Option<String>,
    /// The resumed step's `start-row` input (Create Rows): the `resumeFromRow` its failure
    /// reported, so rows already stored are not sent again.
    #[arg(long, value_name = "N", requires = "resume_from")]
    start_row: Option<i64>,
    /// A state file: the JSON result, written after every step; with --resume-from, the
    /// skipped steps' outputs are read from it.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// `text`: a line per step; `json`: the result of every step as JSON on stdout (the
    /// lines go to stderr).
    #[arg(long, value_enum, default_value_t = FlowOutput::Text)]
    output: FlowOutput,
    /// Print each step's logs, requests and output to stderr.
    #[arg(long, short)]
    verbose: bool,
}

/// How `pbi flow run` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FlowOutput {
    /// A line per step.
    Text,
    /// The whole result as JSON.
    Json,
}

/// How `pbi run` prints an action's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RunOutput {
    /// The output data as JSON.
    Json,
    /// A list's `value` array as a table of its scalar fields.
    Table,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The action's key, such as `list-datasets`.
    action: String,
    #[command(flatten)]
    inputs: InputArgs,
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Print the component's logs and the requests it sent to stderr.
    #[arg(long, short)]
    verbose: bool,
    /// Write the body the action returns (Export Report to File's file, Raw Request's
    /// binary answer) to FILE; the printed output then says where instead of holding it.
    #[arg(long, value_name = "FILE")]
    save_body: Option<PathBuf>,
    /// `json`, or `table` for list actions (the `value` array's scalar fields).
    #[arg(long, value_enum, default_value_t = RunOutput::Json)]
    output: RunOutput,
}

#[derive(Debug, Args)]
struct ChoicesArgs {
    /// The action's key, such as `create-rows`.
    action: String,
    /// The key of the input whose values to list, such as `dataset-id`.
    #[arg(value_name = "INPUT")]
    input_key: String,
    #[command(flatten)]
    inputs: InputArgs,
    /// Only the choices whose label contains this text (ignoring case).
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    /// Skip this many choices first (the next page: the previous --skip plus --top).
    #[arg(long, default_value_t = 0, value_name = "N")]
    skip: u32,
    /// At most this many choices.
    #[arg(long, default_value_t = 25, value_name = "N")]
    top: u32,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// The inputs of `run` and `choices`.
#[derive(Debug, Args)]
struct InputArgs {
    /// An input, as KEY=VALUE; JSON values are parsed for code, key-value-list and
    /// file-list inputs. KEY=@FILE reads the value from FILE (JSON for those inputs; `@@`
    /// starts a value with a literal `@`). Repeatable; given after (and over) `--inputs`.
    #[arg(long = "input", value_name = "KEY=VALUE")]
    input: Vec<String>,
    /// A JSON file with an object of inputs keyed by input key, or a bare JSON array for
    /// the action's one code input (such as Create Rows' rows).
    #[arg(long = "inputs", value_name = "FILE")]
    inputs_file: Option<PathBuf>,
}

/// The connection, its token and where requests go, for `run` and `choices`.
#[derive(Debug, Args)]
struct ConnectionArgs {
    /// A JSON file with the connection: its inputs by key (client-id, client-secret, cloud,
    /// ...), and `"connection": "service-principal"` for a service principal (tenant-id,
    /// client-id, client-secret), whose tokens the host requests itself. PBI_CLIENT_ID and
    /// PBI_CLIENT_SECRET override it.
    #[arg(long, value_name = "FILE")]
    connection: Option<PathBuf>,
    /// The access token to send (`pbi emulator` prints one; `pbi login` saves tokens
    /// instead).
    #[arg(long, env = "PBI_ACCESS_TOKEN", hide_env_values = true)]
    access_token: Option<String>,
    /// The token file `pbi login` wrote: its access token is sent, refreshed when it is
    /// about to expire or the service says it has, and rotated tokens are saved back. It
    /// takes precedence over --access-token. Without either, the default token file is used
    /// if it exists ($PBI_TOKEN_FILE, $XDG_CONFIG_HOME/pbi/tokens.json or
    /// ~/.config/pbi/tokens.json).
    #[arg(long, env = "PBI_TOKEN_FILE", value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Send the API's and the login's requests to this Power BI-compatible base URL
    /// instead (such as `pbi emulator`'s): a URL, or HOST:PORT for http.
    #[arg(long, value_name = "URL", value_parser = parse_service)]
    service: Option<Url>,
    /// Also allow requests to this host. Repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_host: Vec<String>,
}

#[derive(Debug, Args)]
struct LoginArgs {
    /// A JSON file with the connection: its inputs by key (authorize-url, token-url, scopes,
    /// client-id, client-secret, cloud), or a service principal's (`"connection":
    /// "service-principal"`, tenant-id, client-id, client-secret), whose credentials are
    /// checked by requesting a token. PBI_CLIENT_ID and PBI_CLIENT_SECRET override it.
    #[arg(long, value_name = "FILE")]
    connection: Option<PathBuf>,
    /// Send the API's and the login's requests to this Power BI-compatible base URL
    /// instead (such as `pbi emulator`'s): a URL, or HOST:PORT for http.
    #[arg(long, value_name = "URL", value_parser = parse_service)]
    service: Option<Url>,
    /// The port of the redirect listener on 127.0.0.1 (0: any free port). The redirect URI
    /// is http://localhost:PORT/callback.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Only print the sign-in URL; do not try to open a browser.
    #[arg(long)]
    no_browser: bool,
    /// Where to save the tokens (default: $PBI_TOKEN_FILE, $XDG_CONFIG_HOME/pbi/tokens.json
    /// or ~/.config/pbi/tokens.json). Written with mode 0600.
    #[arg(long, env = "PBI_TOKEN_FILE", value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// How long to wait for the browser to come back, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    timeout: u64,
    /// Also allow requests to this host. Repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_host: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            let host_error = error.downcast_ref::<HostError>().or_else(|| {
                match error.downcast_ref::<pbi_host::SessionError>() {
                    Some(pbi_host::SessionError::Host(host_error)) => Some(host_error),
                    _ => None,
                }
            });
            if let Some(HostError::Call { logs, .. }) = host_error
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
        Command::Wasm { copy } => wasm(component, copy.as_deref()),
        Command::Actions { action, json } => list_actions(component, action.as_deref(), json),
        Command::Flow(FlowCommand::Run(args)) => flow_run(component, *args),
        Command::Flow(FlowCommand::Check { file, vars }) => flow_check(component, &file, &vars),
        Command::Definition => {
            let connector = load(component, HostConfig::default())?;
            out!(
                "{}",
                serde_json::to_string_pretty(connector.definition_json())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Manifest { examples } => {
            let connector = load(component, HostConfig::default())?;
            let examples = read_examples(examples.as_deref())?;
            let manifest = pbi_host::manifest::manifest(connector.definition(), &examples);
            out!("{}", serde_json::to_string_pretty(&manifest)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Docs { examples, out } => {
            let connector = load(component, HostConfig::default())?;
            let examples = read_examples(examples.as_deref())?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            for (name, text) in pbi_host::manifest::reference_docs(
                connector.definition(),
                &examples,
                EXAMPLES_SOURCE,
            ) {
                let path = out.join(name);
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run_action(component, *args),
        Command::Choices(args) => list_choices(component, *args),
        Command::Login(args) => login(component, *args),
        Command::Logout { token_file } => logout(token_file),
        Command::Emulator {
            port,
            token,
            no_seed,
            ..
        } => emulator(port, token, !no_seed),
        Command::Demo { verbose } => demo(component, verbose),
        Command::Studio(args) => studio::studio(component, *args),
    }
}

/// Deletes the token file and its lock file; says so when there was nothing to delete.
fn logout(token_file: Option<PathBuf>) -> Result<ExitCode> {
    let path = match token_file {
        Some(path) => path,
        None => TokenFile::default_path()?,
    };
    let removed = match std::fs::remove_file(&path) {
        Ok(()) => true,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => return Err(error).with_context(|| format!("deleting {}", path.display())),
    };
    // The lock file holds nothing secret; it goes too, so nothing of the sign-in is left.
    let _ = std::fs::remove_file(TokenFile::lock_path(&path));
    if removed {
        out!("signed out: deleted {}", path.display());
    } else {
        out!("no saved tokens at {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Example payloads keyed by action key; none without a file.
fn read_examples(path: Option<&Path>) -> Result<serde_json::Map<String, Value>> {
    match path {
        None => Ok(serde_json::Map::new()),
        Some(path) => match read_json(path)? {
            Value::Object(map) => Ok(map),
            _ => anyhow::bail!(
                "{} must hold a JSON object keyed by action key",
                path.display()
            ),
        },
    }
}

fn load(component: Option<&Path>, mut config: HostConfig) -> Result<Connector> {
    let path = component.unwrap_or_else(|| pbi_component::connector_wasm());
    // A CLI start reuses the compiled component from the disk cache when it is unchanged.
    if config.cache_dir.is_none() && std::env::var_os("PBI_NO_CACHE").is_none() {
        config.cache_dir = pbi_host::cache::default_dir();
    }
    Ok(Connector::load(path, config)?)
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {} as JSON", path.display()))
}

fn run_action(component: Option<&Path>, args: RunArgs) -> Result<ExitCode> {
    let mut connector = load(component, HostConfig::default())?;
    let (connection, token_file) = connect(&mut connector, &args.connection, None)?;
    let action = find_action(&connector, &args.action)?;
    let inputs = read_inputs(&action, &args.inputs)?;
    let debug_log = flow::wants_debug_log(&action, &inputs);

    let shown = progress::Shown::new(&args.action);
    let invocation = match &token_file {
        Some(path) => {
            let mut session = Session::new(&connector, connection, path)?;
            let invocation = session.invoke_with_progress(&args.action, &inputs, shown.sink())?;
            if args.verbose && session.refreshes() > 0 {
                eprintln!(
                    "--- refreshed the access token; tokens saved to {}",
                    path.display()
                );
            }
            invocation
        }
        None => {
            let sink = shown.sink();
            connector.invoke_with_progress(&args.action, &connection, inputs, move |p| sink(p))?
        }
    };
    shown.finish();
    if args.verbose {
        report_details(&invocation);
    } else if debug_log && !invocation.logs.is_empty() {
        // Debug Request asks for the request log: it is the point of the input.
        eprintln!("--- debug log ---\n{}", invocation.logs.trim_end());
    }
    match invocation.result {
        Ok(mut output) => {
            if let Some(path) = &args.save_body {
                let body = output.http.as_mut().and_then(|http| http.body.take());
                let Some(body) = body else {
                    bail!(
                        "{} returned no body to save to {}",
                        args.action,
                        path.display()
                    );
                };
                std::fs::write(path, &body)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("--- saved {} bytes to {}", body.len(), path.display());
            }
            if args.output == RunOutput::Table {
                match table::render(&output.data) {
                    Some(text) => {
                        out!("{}", text.trim_end());
                        return Ok(ExitCode::SUCCESS);
                    }
                    None => eprintln!(
                        "--- {} gave no list (a `value` array) to show as a table; its JSON:",
                        args.action
                    ),
                }
            }
            let shown = if output.http.is_some() {
                serde_json::to_value(&output)?
            } else {
                output.data
            };
            out!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => action_failed(&args.action, &error),
    }
}

/// Prints an action error as `run` does: a line on stderr (with a hint for a wrong input or
/// a refused token), `{"error": …}` on stdout, and exit code 1.
fn action_failed(action: &str, error: &pbi_host::ActionError) -> Result<ExitCode> {
    eprintln!("error: {error}");
    if error.is_invalid_input() {
        eprintln!(
            "hint: `pbi actions {action}` lists its inputs (key, type, required, default, bounds, choices)"
        );
    }
    flow::sign_in_hint(error);
    out!(
        "{}",
        serde_json::to_string_pretty(&json!({ "error": error }))?
    );
    Ok(ExitCode::FAILURE)
}

fn list_choices(component: Option<&Path>, args: ChoicesArgs) -> Result<ExitCode> {
    let mut connector = load(component, HostConfig::default())?;
    let (connection, token_file) = connect(&mut connector, &args.connection, None)?;
    let action = find_action(&connector, &args.action)?;
    let input = action.input(&args.input_key);
    if input.is_none_or(|input| input.picker.is_none()) {
        let pickable: Vec<&str> = action
            .inputs
            .iter()
            .filter(|input| input.picker.is_some())
            .map(|input| input.key.as_str())
            .collect();
        let what = if input.is_none() {
            "has no input"
        } else {
            "has no picker for its input"
        };
        bail!(
            "`{}` {what} `{}` (its inputs with a picker: {})",
            args.action,
            args.input_key,
            if pickable.is_empty() {
                "none".to_string()
            } else {
                pickable.join(", ")
            }
        );
    }
    let inputs = read_inputs(&action, &args.inputs)?;
    let search = args.search.as_deref();
    let page = match &token_file {
        Some(path) => Session::new(&connector, connection, path)?.list_choices(
            &args.action,
            &args.input_key,
            &inputs,
            search,
            args.skip,
            args.top,
        )?,
        None => connector.list_choices(
            &args.action,
            &args.input_key,
            &connection,
            &inputs,
            search,
            args.skip,
            args.top,
        )?,
    };
    match page {
        Ok(page) => {
            out!("{}", serde_json::to_string_pretty(&page)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => action_failed(&args.action, &error),
    }
}

/// The connection (from its file, else `base` (a flow's), the environment and the access
/// token) and the token file to use, if any; sets the connector's host configuration for
/// them (`--service`, `--allow-host`).
fn connect(
    connector: &mut Connector,
    args: &ConnectionArgs,
    base: Option<Map<String, Value>>,
) -> Result<(Value, Option<PathBuf>)> {
    if args
        .access_token
        .as_deref()
        .is_some_and(|t| t.trim().is_empty())
    {
        bail!(
            "--access-token (or PBI_ACCESS_TOKEN) is empty: give the token itself, sign in \
             with `pbi login` (then leave --access-token out), or against `pbi emulator` pass \
             the token it printed"
        );
    }
    let mut connection = match (&args.connection, base) {
        (None, Some(base)) => with_environment(base),
        _ => read_connection(args.connection.as_deref())?,
    };
    let signs_in_by_itself = client_credentials(connector, &connection);
    let token_file = match (&args.token_file, &args.access_token) {
        // A service principal's token comes from the host, which asks the component.
        _ if signs_in_by_itself => None,
        (Some(path), _) => Some(path.clone()),
        (None, Some(_)) => None,
        // After `pbi login`, `pbi run` just works.
        (None, None) => TokenFile::default_path().ok().filter(|path| path.is_file()),
    };
    if let (None, Some(token)) = (&token_file, &args.access_token) {
        connection.insert("access-token".to_string(), Value::String(token.clone()));
    }
    let connection = Value::Object(connection);
    let config = host_config(
        connector,
        &connection,
        args.service.as_ref(),
        &args.allow_host,
    );
    connector.set_config(config);
    Ok((connection, token_file))
}

/// The action `key` of the component, or an error that lists the ones it has.
fn find_action(connector: &Connector, key: &str) -> Result<ActionDefinition> {
    connector.action(key).cloned().ok_or_else(|| {
        let known: Vec<&str> = connector
            .definition()
            .actions
            .iter()
            .map(|a| a.key.as_str())
            .collect();
        anyhow!(
            "the component has no action `{key}` (it has: {})",
            known.join(", ")
        )
    })
}

/// The inputs object from `--inputs` and the `--input` pairs over it.
fn read_inputs(action: &ActionDefinition, args: &InputArgs) -> Result<Value> {
    let mut inputs = match &args.inputs_file {
        Some(path) => match read_json(path)? {
            Value::Object(object) => object,
            // A bare array is the rows (or list) of the action's one code input.
            Value::Array(items) => {
                let code: Vec<&str> = action
                    .inputs
                    .iter()
                    .filter(|input| input.type_ == InputType::Code)
                    .map(|input| input.key.as_str())
                    .collect();
                match code.as_slice() {
                    [key] => Map::from_iter([(key.to_string(), Value::Array(items))]),
                    [] => bail!(
                        "{} holds a JSON array, but {} has no code input to take it: give an object of inputs keyed by input key",
                        path.display(),
                        action.key
                    ),
                    keys => bail!(
                        "{} holds a JSON array, but {} has several code inputs ({}): give an object of inputs keyed by input key",
                        path.display(),
                        action.key,
                        keys.join(", ")
                    ),
                }
            }
            _ => bail!(
                "the inputs file {} must hold a JSON object of inputs (or an array for the action's one code input)",
                path.display()
            ),
        },
        None => Map::new(),
    };
    for pair in &args.input {
        let (key, text) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--input takes KEY=VALUE, not `{pair}`"))?;
        let takes_json = action
            .input(key)
            .is_some_and(|input| input.type_.takes_json());
        let value = if let Some(literal) = text.strip_prefix("@@") {
            Value::String(format!("@{literal}"))
        } else if let Some(file) = text.strip_prefix('@') {
            input_from_file(key, Path::new(file), takes_json)?
        } else if takes_json {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
        } else {
            Value::String(text.to_string())
        };
        inputs.insert(key.to_string(), value);
    }
    Ok(Value::Object(inputs))
}

/// The value of input `key` read from `path`: JSON for code and list inputs, else the text
/// (without its final newline, which editors add).
fn input_from_file(key: &str, path: &Path, takes_json: bool) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--input {key}=@{}: reading the file", path.display()))?;
    if takes_json {
        serde_json::from_str(&text).with_context(|| {
            format!(
                "--input {key}=@{}: the input takes JSON, and the file is not JSON",
                path.display()
            )
        })
    } else {
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        Ok(Value::String(text.to_string()))
    }
}

/// The connection object from `path` (if any), with PBI_CLIENT_ID and PBI_CLIENT_SECRET
/// over its values.
fn read_connection(path: Option<&Path>) -> Result<Map<String, Value>> {
    let connection = match path {
        Some(path) => match read_json(path)? {
            Value::Object(object) => object,
            _ => bail!("the connection file must hold a JSON object"),
        },
        None => Map::new(),
    };
    Ok(with_environment(connection))
}

/// `connection` with PBI_CLIENT_ID and PBI_CLIENT_SECRET over its values.
fn with_environment(mut connection: Map<String, Value>) -> Map<String, Value> {
    for (key, var) in [
        ("client-id", "PBI_CLIENT_ID"),
        ("client-secret", "PBI_CLIENT_SECRET"),
    ] {
        if let Ok(value) = std::env::var(var) {
            connection.insert(key.to_string(), Value::String(value));
        }
    }
    connection
}

/// Whether the connection's definition (its `connection` key, else the first) is one whose
/// component requests its own tokens (a service principal).
fn client_credentials(connector: &Connector, connection: &Map<String, Value>) -> bool {
    connector
        .definition()
        .chosen_connection(&Value::Object(connection.clone()))
        .is_some_and(|c| c.oauth2_type == "client_credentials")
}

/// The hosts the connection needs (plus `extra`), all sent to `service` when one is given.
fn host_config(
    connector: &Connector,
    connection: &Value,
    service: Option<&Url>,
    extra: &[String],
) -> HostConfig {
    let mut config = HostConfig::default();
    let mut allow = connector.default_allow_hosts(connection);
    if let Some(service) = service {
        // The API host and the login hosts all go to the one emulating service.
        for host in &allow {
            config.redirects.push((host.clone(), service.clone()));
        }
    }
    allow.extend(extra.iter().cloned());
    config.allow_hosts = Some(allow);
    config
}

fn login(component: Option<&Path>, args: LoginArgs) -> Result<ExitCode> {
    let mut connector = load(component, HostConfig::default())?;
    if !connector.has_oauth() {
        bail!("the component does not export the oauth interface, so it cannot sign in");
    }
    let mut connection = read_connection(args.connection.as_deref())?;
    connection.remove("access-token");
    let by_itself = client_credentials(&connector, &connection);
    let connection = Value::Object(connection);
    let config = host_config(
        &connector,
        &connection,
        args.service.as_ref(),
        &args.allow_host,
    );
    connector.set_config(config);
    if by_itself {
        // Nobody signs in: check the credentials by asking for a token, and keep nothing
        // (`pbi run` asks again with the same connection file).
        let tokens = connector
            .oauth_request_token(&connection)?
            .map_err(|error| anyhow!("the service principal cannot sign in: {error}"))?;
        out!(
            "Signed in as the service principal: a token valid for {} s was issued (not saved; `pbi run --connection FILE` asks for its own).",
            tokens.expires_in_seconds.unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let path = match args.token_file {
        Some(path) => path,
        None => TokenFile::default_path()?,
    };

    let listener = RedirectListener::bind(args.port)
        .with_context(|| format!("listening on 127.0.0.1:{}", args.port))?;
    let redirect_uri = listener.redirect_uri();
    let authorization = connector
        .oauth_authorize(&connection, &redirect_uri)?
        .map_err(|error| anyhow!("cannot start the sign-in: {error}"))?;
    // With --service the sign-in page is the service's: the URL names the login host, which
    // only the component's requests are redirected from, so the browser gets the service's.
    let url = browser_url(&authorization.url, &connector.config().redirects);
    out!("Open this URL in a browser to sign in (the browser comes back to {redirect_uri}):");
    out!("{url}");
    if !args.no_browser {
        open_browser(&url);
    }

    let timeout = Duration::from_secs(args.timeout);
    let callback = listener.wait(&authorization.state, timeout)?;
    let received_at = unix_now();
    let exchanged = connector.oauth_exchange_code(
        &connection,
        &redirect_uri,
        callback.code(),
        &authorization.code_verifier,
    );
    let tokens = match exchanged {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(error)) => {
            callback.respond(false, &format!("The code exchange failed: {error}"));
            bail!("the code exchange failed: {error}");
        }
        Err(error) => {
            callback.respond(false, "The code exchange failed in pbi; see its output.");
            return Err(error.into());
        }
    };
    let file = TokenFile::from_tokens(&tokens, received_at);
    if let Err(error) = file.save(&path) {
        callback.respond(false, "The tokens could not be saved; see pbi's output.");
        return Err(error.into());
    }
    callback.respond(true, "pbi saved the tokens.");
    let expiry = match tokens.expires_in_seconds {
        Some(seconds) => format!("expires in {seconds} s"),
        None => "no expiry given".to_string(),
    };
    out!("Signed in; tokens saved to {} ({expiry})", path.display());
    if tokens.refresh_token.is_none() {
        eprintln!(
            "warning: no refresh token was issued (the scopes may lack offline_access); \
             run `pbi login` again when the access token expires"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Tries to open `url` in the user's browser; failing is fine (the URL is printed).
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            // Reaped in the background; its exit status does not matter.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
        Err(_) => eprintln!("(could not run {opener}: open the URL above yourself)"),
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

/// `--service`'s value: a URL, or `HOST:PORT` (http assumed, as `pbi emulator` serves).
fn parse_service(text: &str) -> Result<Url, String> {
    let text = text.trim();
    let full = if text.contains("://") {
        text.to_string()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&full).map_err(|e| {
        format!("`{text}` is not a URL or HOST:PORT ({e}); for example http://127.0.0.1:8300")
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "`{text}` names no host; for example http://127.0.0.1:8300"
        ));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{text}`: the service must be http or https"));
    }
    Ok(url)
}

/// `url` as a browser must open it: on the service a redirect sends its host to (so
/// `pbi login --service` prints the emulator's own sign-in page), else unchanged.
fn browser_url(url: &str, redirects: &[(String, Url)]) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        return url.to_string();
    };
    let Some(host) = parsed.host_str().map(str::to_string) else {
        return url.to_string();
    };
    let Some((_, to)) = redirects.iter().find(|(from, _)| {
        from.split(':')
            .next()
            .unwrap_or(from)
            .eq_ignore_ascii_case(&host)
    }) else {
        return url.to_string();
    };
    // As the host's egress policy rewrites: the target's scheme, host and port, its path
    // before the original one.
    let path = format!("{}{}", to.path().trim_end_matches('/'), parsed.path());
    if parsed.set_scheme(to.scheme()).is_err()
        || parsed.set_host(to.host_str()).is_err()
        || parsed.set_port(to.port()).is_err()
    {
        return url.to_string();
    }
    parsed.set_path(&path);
    parsed.to_string()
}

/// Prints the component's path, or copies it into `copy` and prints the copy's.
fn wasm(component: Option<&Path>, copy: Option<&Path>) -> Result<ExitCode> {
    let path = component.unwrap_or_else(|| pbi_component::connector_wasm());
    let Some(dir) = copy else {
        out!("{}", path.display());
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} names no file", path.display()))?;
    let target = dir.join(name);
    // Through a temporary name, so an engine watching DIR never loads a half-written file.
    let partial = dir.join(format!(".{}.partial", name.to_string_lossy()));
    std::fs::copy(path, &partial)
        .with_context(|| format!("copying {} to {}", path.display(), partial.display()))?;
    std::fs::rename(&partial, &target)
        .with_context(|| format!("moving the copy to {}", target.display()))?;
    let target = target.canonicalize().unwrap_or(target);
    out!("{}", target.display());
    Ok(ExitCode::SUCCESS)
}

/// `pbi actions`: the actions, or one action's inputs.
fn list_actions(component: Option<&Path>, action: Option<&str>, as_json: bool) -> Result<ExitCode> {
    let connector = load(component, HostConfig::default())?;
    let Some(key) = action else {
        let actions = &connector.definition().actions;
        if as_json {
            let list: Vec<Value> = actions
                .iter()
                .map(|a| json!({"key": a.key, "label": a.label, "description": a.description}))
                .collect();
            out!("{}", serde_json::to_string_pretty(&list)?);
        } else {
            let rows: Vec<Vec<String>> = actions
                .iter()
                .map(|a| vec![a.key.clone(), a.label.clone(), a.description.clone()])
                .collect();
            let header = ["action", "label", "description"].map(String::from);
            out!("{}", table::grid(&header, &rows).trim_end());
            out!("`pbi actions ACTION` lists an action's inputs.");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let action = find_action(&connector, key)?;
    if as_json {
        let json = connector
            .definition_json()
            .get("actions")
            .and_then(Value::as_array)
            .and_then(|all| all.iter().find(|a| a["key"] == key))
            .cloned()
            .unwrap_or(Value::Null);
        out!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    out!("{} ({}): {}", action.key, action.label, action.description);
    let rows: Vec<Vec<String>> = action
        .inputs
        .iter()
        .map(|input| {
            let bounds = match (input.minimum, input.maximum) {
                (None, None) => String::new(),
                (Some(min), None) => format!(">= {min}"),
                (None, Some(max)) => format!("<= {max}"),
                (Some(min), Some(max)) => format!("{min}..{max}"),
            };
            let choices: Vec<&str> = input.choices.iter().map(|c| c.value.as_str()).collect();
            let picker = input.picker.as_ref().map_or(String::new(), |p| {
                if p.depends_on.is_empty() {
                    p.key.clone()
                } else {
                    format!("{} (needs {})", p.key, p.depends_on.join(", "))
                }
            });
            vec![
                input.key.clone(),
                input.label.clone(),
                input.type_.to_string(),
                if input.required { "yes" } else { "" }.to_string(),
                input.default.clone().unwrap_or_default(),
                bounds,
                choices.join(" | "),
                picker,
            ]
        })
        .collect();
    let header = [
        "input", "label", "type", "required", "default", "bounds", "choices", "picker",
    ]
    .map(String::from);
    out!("{}", table::grid(&header, &rows).trim_end());
    out!(
        "Give inputs with --input KEY=VALUE (KEY=@FILE reads a file); `pbi choices {} INPUT` lists a picker's values; `--json` shows comments and examples.",
        action.key
    );
    Ok(ExitCode::SUCCESS)
}

/// The `--var NAME=VALUE` pairs.
fn parse_vars(pairs: &[String]) -> Result<Vec<(String, Value)>> {
    pairs
        .iter()
        .map(|pair| {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| anyhow!("--var takes NAME=VALUE, not `{pair}`"))?;
            if !template::is_name(name) {
                bail!("--var {pair}: a name has letters, digits, `_` and `-` only");
            }
            Ok((name.to_string(), Value::String(value.to_string())))
        })
        .collect()
}

/// The connection values a flow's `${connection.KEY}` may read: everything but secrets
/// (the access token, the client secret and every password input of the component's
/// connections).
fn visible_connection(connector: &Connector, connection: &Value) -> Map<String, Value> {
    let secret = |key: &str| {
        pbi_host::SECRET_KEYS.contains(&key)
            || connector.definition().connections.iter().any(|c| {
                c.inputs
                    .iter()
                    .any(|i| i.key == key && i.type_ == InputType::Password)
            })
    };
    connection
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter(|(key, _)| !secret(key))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// `pbi flow run`.
fn flow_run(component: Option<&Path>, args: FlowRunArgs) -> Result<ExitCode> {
    let flow = flow::Flow::load(&args.file)?;
    let vars = parse_vars(&args.vars)?;
    let mut connector = load(component, HostConfig::default())?;
    let folder = args.file.parent().unwrap_or(Path::new("."));
    let base = flow.connection_object(folder)?;
    let (connection, token_file) = connect(&mut connector, &args.connection, base)?;
    let visible = visible_connection(&connector, &connection);
    let mut caller = match &token_file {
        Some(path) => flow::Caller::Session(Box::new(Session::new(&connector, connection, path)?)),
        None => flow::Caller::Direct(&connector, connection),
    };
    let json_output = args.output == FlowOutput::Json;
    let options = flow::Options {
        verbose: args.verbose,
        lines_to_stderr: json_output,
        resume_from: args.resume_from,
        start_row: args.start_row,
        state: args.state,
        vars,
        file: Some(args.file.clone()),
    };
    let outcome = flow::run(
        &flow,
        connector.definition(),
        &mut caller,
        &visible,
        &options,
    )?;
    let seconds = outcome.report["ms"].as_u64().unwrap_or_default() as f64 / 1000.0;
    if json_output {
        out!("{}", serde_json::to_string_pretty(&outcome.report)?);
    } else if outcome.ok {
        out!("Flow passed in {seconds:.1} s");
    } else {
        out!(
            "Flow FAILED at step `{}` after {seconds:.1} s",
            outcome.report["failed-step"].as_str().unwrap_or_default()
        );
    }
    Ok(if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `pbi flow check`: the flow against the component, without running it.
fn flow_check(component: Option<&Path>, file: &Path, vars: &[String]) -> Result<ExitCode> {
    let mut flow = flow::Flow::load(file)?;
    for (name, value) in parse_vars(vars)? {
        flow.vars.insert(name, value);
    }
    let connector = load(component, HostConfig::default())?;
    let checks = flow.validate(connector.definition())?;
    out!(
        "{}: {} steps, {} checks, every action, input and reference known",
        file.display(),
        flow.steps.len(),
        checks.iter().map(Vec::len).sum::<usize>()
    );
    Ok(ExitCode::SUCCESS)
}

fn emulator(port: u16, token: Option<String>, seed: bool) -> Result<ExitCode> {
    // Seeded unless told otherwise, so a new user's emulator has workspaces, datasets and
    // reports to list.
    let mut config = ServiceConfig {
        fixed_tokens: token.iter().cloned().collect(),
        seed,
        ..ServiceConfig::default()
    };
    // So that `pbi login --service` works against it: its redirect URI without the port
    // (loopback URIs match any port).
    let login_redirect = format!("http://localhost{CALLBACK_PATH}");
    for client in &mut config.oauth_clients {
        if !client.redirect_uris.contains(&login_redirect) {
            client.redirect_uris.push(login_redirect.clone());
        }
    }
    let clients = config.oauth_clients.clone();
    let principals = config.service_principals.clone();
    let service = ServiceHandle::spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), config)?;
    let (token, lifetime) = match token {
        Some(token) => (token, "always valid"),
        None => (service.issue_token(), "valid for one hour"),
    };
    let url = service.base_url();
    let content = if seed {
        let names: Vec<String> = service
            .groups()
            .iter()
            .filter_map(|g| g["name"].as_str().map(str::to_string))
            .collect();
        format!("seeded: workspaces {}", names.join(", "))
    } else {
        "empty (--no-seed)".to_string()
    };
    out!("Power BI emulator at {url} (API under /v1.0/myorg; {content})");
    out!("token ({lifetime}): {token}");
    out!("try: PBI_ACCESS_TOKEN={token} pbi run list-datasets --service {url}");
    // The emulator's own, well-known test credentials: printing them is how a user learns
    // them (they open nothing but this local emulator).
    for client in &clients {
        out!(
            "OAuth client: client-id {} client-secret {}",
            client.client_id,
            client.client_secret
        );
        out!(
            "  sign in: pbi login --service {url} --connection FILE, FILE holding {}",
            json!({"client-id": client.client_id, "client-secret": client.client_secret})
        );
    }
    for principal in &principals {
        out!(
            "service principal: tenant-id {} client-id {} client-secret {}",
            service.tenant_id(),
            principal.client_id,
            principal.client_secret
        );
        out!(
            "  run as it: pbi run list-groups --service {url} --connection FILE, FILE holding {}",
            json!({
                "connection": "service-principal",
                "tenant-id": service.tenant_id(),
                "client-id": principal.client_id,
                "client-secret": principal.client_secret,
            })
        );
    }
    service.join();
    Ok(ExitCode::SUCCESS)
}

/// The hosts the demo sends to the emulator.
const DEMO_HOSTS: [&str; 2] = ["api.powerbi.com", "login.microsoftonline.com"];

/// `pbi demo`: the demo flow against a fresh seeded emulator.
fn demo(component: Option<&Path>, verbose: bool) -> Result<ExitCode> {
    let flow = flow::Flow::parse(DEMO_FLOW, Path::new(DEMO_FLOW_PATH))?;
    let service = ServiceHandle::spawn(ServiceConfig::seeded())?;
    let base = Url::parse(&service.base_url())?;
    let mut config = HostConfig::default();
    for host in DEMO_HOSTS {
        config = config.redirect(host, base.clone());
    }
    let started = Instant::now();
    let connector = load(component, config)?;
    out!(
        "Loaded {} ({} actions) in {} ms; emulator at {}; flow {DEMO_FLOW_PATH} ({} steps)",
        connector.definition().info.label,
        connector.definition().actions.len(),
        started.elapsed().as_millis(),
        base,
        flow.steps.len()
    );
    let connection = Connection::with_access_token(service.issue_token()).to_json();
    let mut caller = flow::Caller::Direct(&connector, connection);
    let options = flow::Options {
        verbose,
        file: Some(PathBuf::from(DEMO_FLOW_PATH)),
        ..flow::Options::default()
    };
    let outcome = flow::run(
        &flow,
        connector.definition(),
        &mut caller,
        &Map::new(),
        &options,
    )?;
    out!(
        "{} in {:.1} s",
        if outcome.ok {
            "Demo passed"
        } else {
            "Demo FAILED"
        },
        started.elapsed().as_secs_f64()
    );
    Ok(if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_is_a_url_or_host_and_port() {
        let parsed = |text: &str| parse_service(text).map(|url| url.to_string());
        assert_eq!(
            parsed("127.0.0.1:8300").as_deref(),
            Ok("http://127.0.0.1:8300/")
        );
        assert_eq!(
            parsed("https://pbi.example.com/base").as_deref(),
            Ok("https://pbi.example.com/base")
        );
        assert!(parsed("ftp://x").is_err_and(|e| e.contains("http or https")));
        assert!(parsed("http://").is_err());
    }

    #[test]
    fn the_browser_opens_the_sign_in_page_on_the_service() -> Result<()> {
        let redirects = vec![(
            "login.microsoftonline.com".to_string(),
            Url::parse("http://127.0.0.1:8300")?,
        )];
        let url = "https://login.microsoftonline.com/common/oauth2/authorize?client_id=a&state=b";
        assert_eq!(
            browser_url(url, &redirects),
            "http://127.0.0.1:8300/common/oauth2/authorize?client_id=a&state=b"
        );
        // Another host, or no redirect: as it is.
        let other = "https://login.example.com/authorize?x=1";
        assert_eq!(browser_url(other, &redirects), other);
        assert_eq!(browser_url(url, &[]), url);
        // A service under a path keeps it in front.
        let under = vec![(
            "login.microsoftonline.com".to_string(),
            Url::parse("https://gateway.example.com/pbi/")?,
        )];
        assert_eq!(
            browser_url(url, &under),
            "https://gateway.example.com/pbi/common/oauth2/authorize?client_id=a&state=b"
        );
        Ok(())
    }
}
