//! `pbi studio`: a local web page that renders every form of the component's manifest
//! (react-jsonschema-form, bundled in `crates/cli/studio/dist`, built into the binary),
//! fills pickers through the component, runs actions through pbi-host against the local
//! emulator (started here) or a service given with `--service`, and shows the output, the
//! error and the requests sent.
//!
//! The page is served on 127.0.0.1 only and loads nothing from elsewhere. Secrets stay on
//! this side: the access token (the emulator's too) is added to the connection here, and every
//! answer is scrubbed of the token and of the connection's password values before it leaves.

use crate::{ConnectionArgs, client_credentials, connect, host_config, load, visible_connection};
use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Json, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Args;
use pbi_host::{Connector, HostConfig, Invocation, Session};
use pbi_service::{ServiceConfig, ServiceHandle};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::hash::{BuildHasher, RandomState};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use url::Url;

/// The page's script: `npm run build` in `crates/cli/studio` writes it (committed, so a
/// build of `pbi` needs no Node).
const STUDIO_JS: &str = include_str!("../studio/dist/studio.js");
/// The page's style sheet (hand-written; rjsf's own markup needs little).
const STUDIO_CSS: &str = include_str!("../studio/src/studio.css");
/// The example payloads the manifest's `exampleInputs` and `exampleOutput` come from.
const EXAMPLES: &str = include_str!("../../../docs/example-payloads.json");
/// What the page shows instead of a secret.
const REDACTED: &str = "[redacted]";

/// The page itself: the script and the style sheet, both served from here.
const INDEX_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pbi studio</title>
<link rel="stylesheet" href="/studio.css">
</head>
<body>
<div id="root"><p class="loading">Loading the manifest…</p></div>
<script src="/studio.js"></script>
</body>
</html>
"#;

/// `pbi studio`'s options.
#[derive(Debug, Args)]
pub struct StudioArgs {
    /// The port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8320)]
    port: u16,
    /// The connection, token and service to use. Without --service, `pbi studio` starts a
    /// seeded local emulator and uses a token of its own for it.
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// What the handlers share.
struct Studio {
    /// The loaded component; its host configuration is set per call (it follows the
    /// connection the page chose), hence the lock.
    connector: Mutex<Connector>,
    /// The connection from the command line (and the emulator's token): the page's values go
    /// over it.
    base: Value,
    /// The token file `pbi login` wrote, when runs go through a session.
    token_file: Option<PathBuf>,
    /// Where requests go.
    service: Url,
    /// `--allow-host`.
    allow_host: Vec<String>,
    /// The manifest, as `pbi manifest` prints it.
    manifest: Value,
    /// Whether the service is the emulator this command started.
    emulator: bool,
    /// Keeps the emulator running.
    _service: Option<ServiceHandle>,
}

/// Runs `pbi studio` until interrupted.
pub fn studio(component: Option<&Path>, mut args: StudioArgs) -> Result<ExitCode> {
    let mut connector = load(component, HostConfig::default())?;
    let (handle, service) = match args.connection.service.clone() {
        Some(service) => (None, service),
        None => {
            // A token only this process knows, valid as long as the emulator runs (a studio
            // session may last longer than an issued token's hour).
            let token = format!(
                "studio-{:016x}",
                RandomState::new().hash_one(Instant::now())
            );
            let config = ServiceConfig {
                fixed_tokens: vec![token.clone()],
                ..ServiceConfig::seeded()
            };
            let handle = ServiceHandle::spawn(config)?;
            let url = Url::parse(&handle.base_url())?;
            args.connection.access_token = Some(token);
            // The user's saved sign-in is for a real service, not for this emulator.
            args.connection.token_file = None;
            args.connection.service = Some(url.clone());
            (Some(handle), url)
        }
    };
    let (base, token_file) = connect(&mut connector, &args.connection, None)?;
    let examples = match serde_json::from_str(EXAMPLES)? {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let manifest = pbi_host::manifest::manifest(connector.definition(), &examples);
    let emulator = handle.is_some();
    let state = Arc::new(Studio {
        connector: Mutex::new(connector),
        base,
        token_file,
        service,
        allow_host: args.connection.allow_host.clone(),
        manifest,
        emulator,
        _service: handle,
    });
    let runtime = tokio::runtime::Runtime::new().context("starting the server's runtime")?;
    runtime.block_on(serve(state, args.port))?;
    Ok(ExitCode::SUCCESS)
}

/// Serves the page and its API on 127.0.0.1:`port` until interrupted.
async fn serve(state: Arc<Studio>, port: u16) -> Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address} (--port 0 takes any free port)"))?;
    let bound = listener.local_addr()?;
    let target = if state.emulator {
        format!("the local Power BI emulator at {} (seeded)", state.service)
    } else {
        format!("the service at {}", state.service)
    };
    out!("pbi studio at http://{bound}/ running actions against {target}");
    out!("(Ctrl-C stops it)");
    let app = router(state, bound.port());
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The page and its API.
fn router(state: Arc<Studio>, port: u16) -> Router {
    Router::new()
        .route("/", get(|| async { html(INDEX_HTML) }))
        .route(
            "/studio.js",
            get(|| async { asset("text/javascript; charset=utf-8", STUDIO_JS) }),
        )
        .route(
            "/studio.css",
            get(|| async { asset("text/css; charset=utf-8", STUDIO_CSS) }),
        )
        .route("/api/manifest", get(manifest))
        .route("/api/choices", post(choices))
        .route("/api/run", post(run))
        // Create Rows takes its rows in one request.
        .layer(DefaultBodyLimit::max(256 << 20))
        .layer(middleware::from_fn(move |request, next| {
            local_only(port, request, next)
        }))
        .with_state(state)
}

/// Refuses requests whose Host is not this server's loopback address: another site the
/// browser has open cannot reach the API through a DNS name pointed at 127.0.0.1.
async fn local_only(port: u16, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let allowed = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    if !allowed.iter().any(|a| a.eq_ignore_ascii_case(host)) {
        return (
            StatusCode::FORBIDDEN,
            format!("pbi studio answers on 127.0.0.1:{port} only, not `{host}`"),
        )
            .into_response();
    }
    next.run(request).await
}

fn html(text: &'static str) -> Response {
    asset("text/html; charset=utf-8", text)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            // The page may load nothing from anywhere but here. rjsf's validator (ajv)
            // compiles each schema into a function, hence 'unsafe-eval'.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self' 'unsafe-eval'; \
                 style-src 'self' 'unsafe-inline'; img-src 'self' data:",
            ),
        ],
        body,
    )
        .into_response()
}

/// GET /api/manifest: the manifest, and what the page needs to know about this server.
async fn manifest(State(state): State<Arc<Studio>>) -> Json<Value> {
    let (has_choices, visible) = {
        let connector = lock(&state.connector);
        (
            connector.has_choices(),
            visible_connection(&connector, &state.base),
        )
    };
    Json(json!({
        "manifest": state.manifest,
        "studio": {
            "service": state.service.as_str(),
            "emulator": state.emulator,
            "hasChoices": has_choices,
            "tokenFile": state.token_file.is_some(),
            // The connection from the command line, without its secrets: the page's
            // connection form starts from it.
            "connection": visible,
        },
    }))
}

/// The body of POST /api/choices.
#[derive(Debug, Deserialize)]
struct ChoicesRequest {
    action: String,
    input: String,
    #[serde(default)]
    inputs: Value,
    #[serde(default)]
    connection: Map<String, Value>,
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    skip: u32,
    #[serde(default = "default_top")]
    top: u32,
}

fn default_top() -> u32 {
    25
}

/// POST /api/choices: one page of a picker's choices, `{choices, more}`, or `{error}`.
async fn choices(
    State(state): State<Arc<Studio>>,
    Json(request): Json<ChoicesRequest>,
) -> Response {
    blocking(state, move |studio| {
        let mut connector = lock(&studio.connector);
        let connection = studio.prepare(&mut connector, &request.connection);
        let secrets = secrets(&connector, &connection);
        let search = request.search.as_deref().filter(|s| !s.is_empty());
        let page = match &studio.token_file {
            Some(path) => Session::new(&connector, connection, path)
                .map_err(anyhow::Error::from)
                .and_then(|mut session| {
                    session
                        .list_choices(
                            &request.action,
                            &request.input,
                            &request.inputs,
                            search,
                            request.skip,
                            request.top,
                        )
                        .map_err(anyhow::Error::from)
                }),
            None => connector
                .list_choices(
                    &request.action,
                    &request.input,
                    &connection,
                    &request.inputs,
                    search,
                    request.skip,
                    request.top,
                )
                .map_err(anyhow::Error::from),
        };
        let answer = match page {
            Ok(Ok(page)) => json!({
                "choices": page.choices.iter()
                    .map(|c| json!({"label": c.label, "value": c.value}))
                    .collect::<Vec<_>>(),
                "more": page.more,
            }),
            Ok(Err(error)) => json!({ "error": error }),
            Err(error) => json!({ "error": {"kind": "host", "message": format!("{error:#}")} }),
        };
        scrub(answer, &secrets)
    })
    .await
}

/// The body of POST /api/run.
#[derive(Debug, Deserialize)]
struct RunRequest {
    action: String,
    #[serde(default)]
    inputs: Value,
    #[serde(default)]
    connection: Map<String, Value>,
}

/// POST /api/run: runs the action; `{ok, output | error, requests, logs, ms}`.
async fn run(State(state): State<Arc<Studio>>, Json(request): Json<RunRequest>) -> Response {
    blocking(state, move |studio| {
        let started = Instant::now();
        let mut connector = lock(&studio.connector);
        let connection = studio.prepare(&mut connector, &request.connection);
        let secrets = secrets(&connector, &connection);
        let inputs = if request.inputs.is_null() {
            json!({})
        } else {
            request.inputs
        };
        let invocation: Result<Invocation> = match &studio.token_file {
            Some(path) => Session::new(&connector, connection, path)
                .map_err(anyhow::Error::from)
                .and_then(|mut session| {
                    session
                        .invoke(&request.action, &inputs)
                        .map_err(anyhow::Error::from)
                }),
            None => connector
                .invoke_owned(&request.action, &connection, inputs)
                .map_err(anyhow::Error::from),
        };
        let ms = started.elapsed().as_millis() as u64;
        let answer = match invocation {
            Ok(invocation) => {
                let requests: Vec<Value> = invocation
                    .requests
                    .iter()
                    .map(|r| {
                        json!({
                            "method": r.method,
                            "url": r.url,
                            "redirectedTo": r.redirected_to,
                            "denied": r.denied,
                            "headers": r.headers,
                        })
                    })
                    .collect();
                let (ok, result) = match invocation.result {
                    Ok(output) => (true, json!({ "output": shown_output(output) })),
                    Err(error) => (false, json!({ "error": error })),
                };
                let mut answer = json!({
                    "ok": ok,
                    "requests": requests,
                    "logs": invocation.logs,
                    "ms": ms,
                });
                if let (Value::Object(answer), Value::Object(result)) = (&mut answer, result) {
                    answer.extend(result);
                }
                answer
            }
            // The host could not run the component at all (not an action error).
            Err(error) => json!({
                "ok": false,
                "error": {"kind": "host", "message": format!("{error:#}")},
                "requests": [],
                "logs": "",
                "ms": ms,
            }),
        };
        scrub(answer, &secrets)
    })
    .await
}

/// An output as the page shows it: `data`, and Raw Request's or Export Report to File's
/// HTTP details with a returned file's bytes counted rather than listed.
fn shown_output(output: pbi_host::ActionOutput) -> Value {
    let mut shown = json!({ "data": output.data });
    if let Some(http) = output.http {
        shown["http"] = json!({
            "status": http.status,
            "headers": http.headers,
            "contentType": http.content_type,
            "body": http.body.map(|body| format!("({} bytes)", body.len())),
        });
    }
    shown
}

/// Runs `work` off the async threads (the host's calls block, and must not run on a Tokio
/// worker) and answers its JSON.
async fn blocking(
    state: Arc<Studio>,
    work: impl FnOnce(&Studio) -> Value + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(move || work(&state)).await {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"ok": false, "error": {"kind": "host", "message": format!("the call panicked: {error}")}})),
        )
            .into_response(),
    }
}

fn lock(connector: &Mutex<Connector>) -> std::sync::MutexGuard<'_, Connector> {
    // A panicked call leaves the connector as usable as before: take it back.
    connector
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Studio {
    /// The connection of a call: the command line's (with the token) under the page's
    /// values, and the connector configured for it (its hosts sent to the service).
    fn prepare(&self, connector: &mut Connector, page: &Map<String, Value>) -> Value {
        let mut connection = self.base.as_object().cloned().unwrap_or_default();
        for (key, value) in page {
            // The page never sets the token. An empty value keeps the command line's: the
            // page is never sent its secrets, so their fields come back empty.
            let empty = value.as_str().is_some_and(str::is_empty);
            if key == pbi_host::ACCESS_TOKEN || (empty && connection.contains_key(key)) {
                continue;
            }
            if !value.is_null() {
                connection.insert(key.clone(), value.clone());
            }
        }
        if client_credentials(connector, &connection) {
            // A service principal's token comes from the host, which asks the component.
            connection.remove(pbi_host::ACCESS_TOKEN);
        }
        let connection = Value::Object(connection);
        let config = host_config(
            connector,
            &connection,
            Some(&self.service),
            &self.allow_host,
        );
        connector.set_config(config);
        connection
    }
}

/// The secret values of `connection` (the host's list: the token and every password
/// input's value).
fn secrets(connector: &Connector, connection: &Value) -> Vec<String> {
    connector
        .secrets_of(connection)
        .into_iter()
        // A one-letter "secret" would blank out half the answer; the host scrubs those too.
        .filter(|value| value.len() >= 4)
        .collect()
}

/// `answer` with every secret replaced, wherever it appears (the host already redacts the
/// authorization header; this also covers logs, messages and anything else).
fn scrub(answer: Value, secrets: &[String]) -> Value {
    match answer {
        Value::String(text) => Value::String(
            secrets
                .iter()
                .fold(text, |text, secret| text.replace(secret.as_str(), REDACTED)),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| scrub(v, secrets)).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, scrub(v, secrets)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed_everywhere() {
        let answer = json!({
            "logs": "sent token abcd1234 to the service",
            "requests": [{"url": "http://x/?t=abcd1234", "headers": [["x", "abcd1234"]]}],
            "n": 5,
        });
        let scrubbed = scrub(answer, &["abcd1234".to_string()]);
        let text = scrubbed.to_string();
        assert!(!text.contains("abcd1234"), "{text}");
        assert_eq!(scrubbed["n"], 5);
        assert_eq!(scrubbed["logs"], "sent token [redacted] to the service");
    }
}
