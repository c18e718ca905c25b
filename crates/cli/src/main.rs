//! `pbi`: runs a connector component's actions from the command line, signs in through the
//! component's OAuth flow, starts the local Power BI emulator, and demonstrates a whole flow
//! against it.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use pbi_host::{
    ActionDefinition, CALLBACK_PATH, Connection, Connector, HostConfig, HostError, Invocation,
    RedirectListener, Session, TokenFile, unix_now,
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
    Wasm,
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
    /// file-list inputs. Repeatable; given after (and over) `--inputs`.
    #[arg(long = "input", value_name = "KEY=VALUE")]
    input: Vec<String>,
    /// A JSON file with an object of inputs keyed by input key.
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
    /// The access token to send.
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
    /// instead (such as `pbi emulator`'s).
    #[arg(long, value_name = "URL")]
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
    /// instead (such as `pbi emulator`'s).
    #[arg(long, value_name = "URL")]
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
        Command::Wasm => {
            let path = component.unwrap_or_else(|| pbi_component::connector_wasm());
            out!("{}", path.display());
            Ok(ExitCode::SUCCESS)
        }
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
        Command::Emulator { port, token } => emulator(port, token),
        Command::Demo { verbose } => demo(component, verbose),
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
    let (connection, token_file) = connect(&mut connector, &args.connection)?;
    let action = find_action(&connector, &args.action)?;
    let inputs = read_inputs(&action, &args.inputs)?;

    let invocation = match &token_file {
        Some(path) => {
            let mut session = Session::new(&connector, connection, path)?;
            let invocation = session.invoke(&args.action, &inputs)?;
            if args.verbose && session.refreshes() > 0 {
                eprintln!(
                    "--- refreshed the access token; tokens saved to {}",
                    path.display()
                );
            }
            invocation
        }
        None => connector.invoke_owned(&args.action, &connection, inputs)?,
    };
    if args.verbose {
        report_details(&invocation);
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
            let shown = if output.http.is_some() {
                serde_json::to_value(&output)?
            } else {
                output.data
            };
            out!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => action_failed(&error),
    }
}

/// Prints an action error as `run` does: a line on stderr, `{"error": …}` on stdout, and
/// exit code 1.
fn action_failed(error: &pbi_host::ActionError) -> Result<ExitCode> {
    eprintln!("error: {error}");
    out!(
        "{}",
        serde_json::to_string_pretty(&json!({ "error": error }))?
    );
    Ok(ExitCode::FAILURE)
}

fn list_choices(component: Option<&Path>, args: ChoicesArgs) -> Result<ExitCode> {
    let mut connector = load(component, HostConfig::default())?;
    let (connection, token_file) = connect(&mut connector, &args.connection)?;
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
        Err(error) => action_failed(&error),
    }
}

/// The connection (from its file, the environment and the access token) and the token file
/// to use, if any; sets the connector's host configuration for them (`--service`,
/// `--allow-host`).
fn connect(connector: &mut Connector, args: &ConnectionArgs) -> Result<(Value, Option<PathBuf>)> {
    let mut connection = read_connection(args.connection.as_deref())?;
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
            .is_some_and(|input| input.type_.takes_json());
        let value = if takes_json {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
        } else {
            Value::String(text.to_string())
        };
        inputs.insert(key.to_string(), value);
    }
    Ok(Value::Object(inputs))
}

/// The connection object from `path` (if any), with PBI_CLIENT_ID and PBI_CLIENT_SECRET
/// over its values.
fn read_connection(path: Option<&Path>) -> Result<Map<String, Value>> {
    let mut connection = match path {
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
    Ok(connection)
}

/// Whether the connection's definition (its `connection` key, else the first) is one whose
/// component requests its own tokens (a service principal).
fn client_credentials(connector: &Connector, connection: &Map<String, Value>) -> bool {
    let chosen = connection
        .get("connection")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let connections = &connector.definition().connections;
    connections
        .iter()
        .find(|c| c.key == chosen)
        .or(connections.first())
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
    out!("Open this URL in a browser to sign in (the browser comes back to {redirect_uri}):");
    out!("{}", authorization.url);
    if !args.no_browser {
        open_browser(&authorization.url);
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

fn emulator(port: u16, token: Option<String>) -> Result<ExitCode> {
    // Seeded, so a new user's emulator has workspaces, datasets and reports to list.
    let mut config = ServiceConfig {
        fixed_tokens: token.iter().cloned().collect(),
        ..ServiceConfig::seeded()
    };
    // So that `pbi login --service` works against it: its redirect URI without the port
    // (loopback URIs match any port).
    let login_redirect = format!("http://localhost{CALLBACK_PATH}");
    for client in &mut config.oauth_clients {
        if !client.redirect_uris.contains(&login_redirect) {
            client.redirect_uris.push(login_redirect.clone());
        }
    }
    let clients: Vec<String> = config
        .oauth_clients
        .iter()
        .map(|client| client.client_id.clone())
        .collect();
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
    out!(
        "or sign in: pbi login --service {} --connection FILE (client-id one of: {}; see \
         ServiceConfig::oauth_clients for the secret)",
        service.base_url(),
        clients.join(", ")
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
    // The flow works in a workspace (group) of the emulator, as a team would.
    let workspace = service.add_group("Demo Team");
    out!("Workspace \"Demo Team\": {workspace}");
    // Each step starts from the action's sample inputs (crates/component/fixtures).
    let created = demo.step(
        "Create Dataset",
        "create-dataset",
        sample(
            "create-dataset",
            "",
            json!({"workspace": workspace, "dataset-name": "Demo Sales", "columns": columns}),
        ),
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
        sample(
            "create-rows",
            &dataset_id,
            json!({"workspace": workspace, "rows": demo_rows(DEMO_ROWS)}),
        ),
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
        sample("list-tables", &dataset_id, json!({"workspace": workspace})),
    );
    demo.step(
        "List Datasets",
        "list-datasets",
        sample(
            "list-datasets",
            &dataset_id,
            json!({"workspace": workspace, "top": 10}),
        ),
    );
    // A push dataset cannot be refreshed; its rows are checked with a DAX query instead.
    let counted = demo.step(
        "Execute DAX Query",
        "execute-dax-query",
        sample(
            "execute-dax-query",
            &dataset_id,
            json!({
                "workspace": workspace,
                "query": "EVALUATE ROW(\"Rows\", COUNTROWS('Sales'))",
            }),
        ),
    );
    let count = counted
        .as_ref()
        .and_then(|data| data.pointer("/rows/0/[Rows]"))
        .and_then(Value::as_u64);
    demo.check(
        &format!("DAX counts {DEMO_ROWS} rows"),
        count == Some(DEMO_ROWS as u64),
        &format!("{count:?}"),
    );
    demo.step(
        "Delete Rows",
        "delete-rows",
        sample("delete-rows", &dataset_id, json!({"workspace": workspace})),
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
        sample(
            "raw-request",
            &dataset_id,
            json!({"url": format!("/groups/{workspace}/datasets")}),
        ),
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

/// The sample inputs of `action` for `dataset_id`, with the members of `overrides` replacing
/// theirs.
fn sample(action: &str, dataset_id: &str, overrides: Value) -> Value {
    let mut inputs = pbi_component::sample_inputs(action, dataset_id).unwrap_or_else(|| json!({}));
    if let (Some(inputs), Value::Object(overrides)) = (inputs.as_object_mut(), overrides) {
        inputs.extend(overrides);
    }
    inputs
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
