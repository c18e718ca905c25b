//! The thin shell around the core, compiled only for wasm32: the wit-bindgen glue that maps
//! WIT values to the core's types and back, and a [`Transport`] over wasi:http.
//!
//! The transport uses the wasi:http bindings that `waki` generates rather than waki's
//! `RequestBuilder`, because the builder offers neither first-byte nor between-bytes
//! timeouts (the Timeout input needs both) and writes the body in one piece.

use std::time::Duration;

use waki::bindings::wasi::clocks::monotonic_clock;
use waki::bindings::wasi::http::outgoing_handler;
use waki::bindings::wasi::http::types as wasi;
use waki::bindings::wasi::io::streams::StreamError;

use crate::actions::{self, Context};
use crate::connection::ConnectionValues;
use crate::definition::{self as def, Input};
use crate::error::ActionError;
use crate::exchange::{Exchange, Output, Transport, drive};
use crate::http::{Method, Request, Response};
use crate::oauth::{self, OAuthConfig, OAuthError, TokenSet};
use crate::pickers;

use crate::bindings::{wa, wc, wd, wo, wt};

struct Component;

crate::bindings::export!(Component with_types_in crate::bindings);

/// The largest answer body read; anything larger is refused rather than exhausting memory.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A transport over wasi:http that adds the connection's token to every request.
struct Wasi<'a> {
    /// The bearer token; none for the token endpoint.
    token: Option<&'a str>,
    seed: u64,
}

fn transport_error(code: &wasi::ErrorCode) -> ActionError {
    use wasi::ErrorCode as E;
    // Words, not the binding's Debug text: a user reads these, and the Debug impl of every
    // variant costs the component two kilobytes.
    // Failures before the request could leave (no connection was made, the engine refused
    // the host) are marked never sent: nothing was applied, so a push knows its batch was
    // not stored and even a POST may be sent again. The rest may come after the request
    // reached the service.
    let (cause, not_sent) = match code {
        E::ConnectionTimeout => {
            return ActionError::timeout("the connection timed out").never_sent();
        }
        E::ConnectionReadTimeout | E::ConnectionWriteTimeout | E::HttpResponseTimeout => {
            return ActionError::timeout("the request timed out");
        }
        E::HttpRequestDenied => (
            "the engine's egress policy refused the request's host",
            true,
        ),
        E::DnsTimeout | E::DnsError(_) => ("the host name could not be resolved", true),
        E::DestinationNotFound => ("the host was not found", true),
        E::DestinationUnavailable | E::DestinationIpUnroutable => {
            ("the host cannot be reached", true)
        }
        E::DestinationIpProhibited => ("the host's address is not allowed", true),
        E::ConnectionRefused => ("the host refused the connection", true),
        E::ConnectionTerminated => ("the connection was closed before the answer", false),
        E::ConnectionLimitReached => ("too many connections are open", true),
        E::TlsProtocolError | E::TlsAlertReceived(_) => ("the TLS handshake failed", false),
        E::TlsCertificateError => ("the host's TLS certificate was refused", true),
        E::HttpResponseIncomplete => ("the answer was cut off", false),
        E::HttpResponseBodySize(_) => ("the answer was larger than the engine allows", false),
        _ => ("the request failed in the engine", false),
    };
    let error = ActionError::transport(cause);
    if not_sent { error.never_sent() } else { error }
}

fn wasi_method(method: Method) -> wasi::Method {
    match method {
        Method::Get => wasi::Method::Get,
        Method::Post => wasi::Method::Post,
        Method::Put => wasi::Method::Put,
        Method::Patch => wasi::Method::Patch,
        Method::Delete => wasi::Method::Delete,
        Method::Head => wasi::Method::Head,
        Method::Options => wasi::Method::Options,
    }
}

impl Wasi<'_> {
    fn write_body(body: &wasi::OutgoingBody, bytes: &[u8]) -> Result<(), ActionError> {
        // A bodiless request may already be on its way without its body stream: writing or
        // flushing nothing would fail with `closed` for no reason.
        if bytes.is_empty() {
            return Ok(());
        }
        let stream = body
            .write()
            .map_err(|()| ActionError::transport("the request body could not be opened"))?;
        let failed = |e: StreamError| {
            ActionError::transport(match e {
                StreamError::Closed => {
                    "the connection closed while the request body was being sent".to_string()
                }
                StreamError::LastOperationFailed(e) => match wasi::http_error_code(&e) {
                    Some(code) => return transport_error(&code),
                    None => "the request body could not be sent".to_string(),
                },
            })
        };
        let mut rest = bytes;
        while !rest.is_empty() {
            let permitted = stream.check_write().map_err(failed)? as usize;
            if permitted == 0 {
                stream.subscribe().block();
                continue;
            }
            let (now, later) = rest.split_at(permitted.min(rest.len()));
            stream.write(now).map_err(failed)?;
            rest = later;
        }
        stream.blocking_flush().map_err(failed)?;
        Ok(())
    }

    fn read_body(response: wasi::IncomingResponse) -> Result<Vec<u8>, ActionError> {
        let body = response
            .consume()
            .map_err(|()| ActionError::transport("the answer's body could not be opened"))?;
        let stream = body
            .stream()
            .map_err(|()| ActionError::transport("the answer's body could not be read"))?;
        let mut bytes = Vec::new();
        loop {
            match stream.blocking_read(256 * 1024) {
                Ok(chunk) => {
                    if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        return Err(ActionError::transport(format!(
                            "the answer is larger than {} MiB",
                            MAX_RESPONSE_BYTES >> 20
                        )));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    let detail = wasi::http_error_code(&e).map(|c| transport_error(&c));
                    return Err(detail.unwrap_or_else(|| {
                        ActionError::transport(format!(
                            "the answer was cut off: {}",
                            e.to_debug_string()
                        ))
                    }));
                }
            }
        }
        drop(stream);
        // Trailers are not used; finishing the body releases the connection.
        let _ = wasi::IncomingBody::finish(body);
        Ok(bytes)
    }
}

impl Transport for Wasi<'_> {
    fn send(
        &mut self,
        request: &Request,
        timeout: Option<Duration>,
    ) -> Result<Response, ActionError> {
        self.send_once(request, timeout).map_err(|mut e| {
            // A network failure names the host it happened with (never the path or query,
            // which may hold IDs a log should not repeat).
            let host = request
                .url
                .split_once("://")
                .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(rest))
                .unwrap_or_default();
            if !host.is_empty() && !e.message.contains(host) {
                e.message = format!("{} (host {host})", e.message);
            }
            e
        })
    }

    fn now_ms(&mut self) -> u64 {
        monotonic_clock::now() / 1_000_000
    }

    fn sleep(&mut self, duration: Duration) {
        monotonic_clock::subscribe_duration(duration.as_nanos().min(u64::MAX as u128) as u64)
            .block();
    }

    fn random(&mut self) -> f64 {
        // xorshift64*, seeded from the clock: jitter needs spread, not secrecy.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (self.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn log(&mut self, line: &str) {
        eprintln!("{line}");
    }

    fn progress(&mut self, progress: &crate::exchange::Progress) {
        // The contract's progress line (see the `base` world): the record separator marks it.
        eprintln!(
            "\u{1e}progress {} {} {}",
            progress.done,
            progress.total.unwrap_or(0),
            progress.status
        );
    }
}

impl Wasi<'_> {
    /// Sends one request over wasi:http and reads the whole answer.
    fn send_once(
        &mut self,
        request: &Request,
        timeout: Option<Duration>,
    ) -> Result<Response, ActionError> {
        let url = url::Url::parse(&request.url)
            .map_err(|e| ActionError::transport(format!("the URL could not be read: {e}")))?;
        let mut fields: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
            .collect();
        if let Some(token) = self.token {
            fields.push((
                "authorization".into(),
                format!("Bearer {token}").into_bytes(),
            ));
        }
        let headers = wasi::Fields::from_list(&fields).map_err(|e| {
            ActionError::transport(format!("a header was refused by the engine: {e:?}"))
        })?;
        let outgoing = wasi::OutgoingRequest::new(headers);
        let scheme = if url.scheme() == "http" {
            wasi::Scheme::Http
        } else {
            wasi::Scheme::Https
        };
        let authority = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let refused =
            |what: &str| ActionError::transport(format!("the engine refused the request's {what}"));
        outgoing
            .set_method(&wasi_method(request.method))
            .map_err(|()| refused("method"))?;
        outgoing
            .set_scheme(Some(&scheme))
            .map_err(|()| refused("scheme"))?;
        outgoing
            .set_authority(Some(&authority))
            .map_err(|()| refused("host"))?;
        outgoing
            .set_path_with_query(Some(&path))
            .map_err(|()| refused("path"))?;
        let options = wasi::RequestOptions::new();
        if let Some(timeout) = timeout {
            let ns = Some(timeout.as_nanos().min(u64::MAX as u128) as u64);
            // The engine may not support every timeout; the budget still holds at the driver.
            let _ = options.set_connect_timeout(ns);
            let _ = options.set_first_byte_timeout(ns);
            let _ = options.set_between_bytes_timeout(ns);
        }
        let body = outgoing
            .body()
            .map_err(|()| ActionError::transport("the request body could not be opened"))?;
        let future =
            outgoing_handler::handle(outgoing, Some(options)).map_err(|e| transport_error(&e))?;
        let sent = Self::write_body(&body, &request.body)
            .and_then(|()| wasi::OutgoingBody::finish(body, None).map_err(|e| transport_error(&e)));
        let answer = loop {
            match future.get() {
                Some(answer) => break answer,
                None => future.subscribe().block(),
            }
        };
        let response = answer
            .map_err(|()| ActionError::transport("the answer was already taken"))
            // The engine's reason comes first: a body that could not be written because the
            // connection was refused says only "closed", the answer says "refused".
            .and_then(|answer| answer.map_err(|e| transport_error(&e)))?;
        // An error answer to a request whose body did not all go out is the service's word
        // (it refused early); a success is not to be trusted then.
        if let Err(e) = sent
            && response.status() < 300
        {
            return Err(e);
        }
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect();
        let body = Self::read_body(response)?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

fn seed() -> u64 {
    monotonic_clock::now() | 1
}

/// The connection's values; none of them in an error.
fn values(connection: &wt::Connection) -> Result<ConnectionValues<'_>, ActionError> {
    ConnectionValues::new(
        &connection.key,
        &connection.values,
        &connection.access_token,
    )
}

/// Reads the connection and sets the API base its cloud or API Base URL chooses, before the
/// action builds any request. Errors come back scrubbed of the connection's secrets.
fn prepare(connection: &wt::Connection) -> Result<(), wt::ActionError> {
    let values = values(connection).map_err(action_error)?;
    let base = values
        .api_base()
        .map_err(|e| action_error(e.redact(&values.secrets())))?;
    crate::http::set_api_base(&base);
    Ok(())
}

/// Runs an exchange with the connection's token; no secret leaves in an error.
fn run(
    connection: &wt::Connection,
    exchange: Result<impl Exchange, ActionError>,
) -> Result<wt::Output, wt::ActionError> {
    let secrets = values(connection)
        .map(|v| v.secrets())
        .unwrap_or_else(|_| vec![connection.access_token.as_str()]);
    let result = exchange.and_then(|mut exchange| {
        let mut transport = Wasi {
            token: Some(&connection.access_token),
            seed: seed(),
        };
        drive(&mut exchange, &mut transport)
    });
    result
        .map(output)
        .map_err(|e| action_error(e.redact(&secrets)))
}

fn output(output: Output) -> wt::Output {
    wt::Output {
        data: output.data,
        http: output.http.map(|h| wt::HttpResponse {
            status: h.status,
            headers: h.headers,
            content_type: h.content_type,
            body: h.body,
        }),
    }
}

fn action_error(e: ActionError) -> wt::ActionError {
    wt::ActionError {
        kind: e.kind.into(),
        message: e.message,
        input: e.input,
        status: e.status,
        code: e.code,
        retry_after_seconds: e.retry_after_seconds,
        progress: e.progress,
    }
}

/// Writes the WIT `actions` interface's `Guest` impl from the registry's lines
/// (`crate::actions::with_actions!`): each action's method converts its wit-bindgen record
/// into the core's input struct (`From`, made by `action_input!`) and runs its exchange.
macro_rules! actions_guest {
    ($($module:ident : $input:ident),+) => {
        impl wa::Guest for Component {
            $(
                fn $module(
                    connection: wt::Connection,
                    input: wa::$input,
                ) -> Result<wt::Output, wt::ActionError> {
                    prepare(&connection)?;
                    let input = actions::$module::$input::from(input);
                    let context = Context { seed: seed() };
                    run(&connection, actions::$module::exchange(&input, &context))
                }
            )+
        }
    };
}

actions::with_actions!(actions_guest);

fn input_definition(input: &Input) -> wd::InputDefinition {
    wd::InputDefinition {
        key: input.key.into(),
        label: input.label.into(),
        type_: input.ty.into(),
        required: input.required,
        default: input.default.map(Into::into),
        comments: Some(input.comments.into()).filter(|c: &String| !c.is_empty()),
        choices: input
            .choices
            .iter()
            .map(|(label, value)| wd::Choice {
                label: (*label).into(),
                value: (*value).into(),
            })
            .collect(),
        minimum: input.minimum,
        maximum: input.maximum,
        pattern: input.rule.map(|r| r.pattern.into()),
        max_length: input.rule.and_then(|r| r.max_length),
        example: input.example.map(Into::into),
        picker: input.picker.map(|p| wd::PickerRef {
            key: p.key.into(),
            depends_on: p.depends_on.iter().map(|k| (*k).into()).collect(),
        }),
    }
}

impl wd::Guest for Component {
    fn describe() -> wd::ComponentDefinition {
        wd::ComponentDefinition {
            info: wd::ComponentInfo {
                key: def::INFO.key.into(),
                label: def::INFO.label.into(),
                description: def::INFO.description.into(),
                category: def::INFO.category.into(),
                api_base_url: def::INFO.api_base_url.into(),
            },
            connections: def::CONNECTIONS
                .iter()
                .map(|c| wd::ConnectionDefinition {
                    key: c.key.into(),
                    label: c.label.into(),
                    comments: c.comments.into(),
                    oauth2_type: c.oauth2_type.into(),
                    inputs: c.inputs.iter().map(input_definition).collect(),
                    hosts: c.hosts.iter().map(|h| (*h).into()).collect(),
                    setup: c.setup.map(Into::into),
                    notes: c.notes.map(Into::into),
                })
                .collect(),
            actions: actions::ACTIONS
                .iter()
                .map(|a| wd::ActionDefinition {
                    key: a.key.into(),
                    label: a.label.into(),
                    description: a.description.into(),
                    inputs: a.inputs.iter().map(input_definition).collect(),
                })
                .collect(),
        }
    }
}

fn oauth_values(c: &wt::Connection) -> Result<ConnectionValues<'_>, wo::OauthError> {
    values(c).map_err(|e| {
        oauth_error(OAuthError {
            kind: oauth::OAuthErrorKind::InvalidInput,
            message: e.message,
            code: None,
            input: e.input,
        })
    })
}

fn oauth_config(c: &wt::Connection) -> Result<OAuthConfig, wo::OauthError> {
    let values = oauth_values(c)?;
    if values.definition.oauth2_type != "authorization_code" {
        return Err(oauth_error(OAuthError {
            kind: oauth::OAuthErrorKind::InvalidInput,
            message: format!(
                "connection: the {} connection does not sign a user in; use request-token",
                values.definition.key
            ),
            code: None,
            input: Some("connection".into()),
        }));
    }
    OAuthConfig::from_connection(&values).map_err(oauth_error)
}

fn oauth_error(e: OAuthError) -> wo::OauthError {
    wo::OauthError {
        kind: e.kind.into(),
        message: e.message,
        code: e.code,
        input: e.input,
    }
}

fn token_set(t: TokenSet) -> wo::TokenSet {
    wo::TokenSet {
        access_token: t.access_token,
        token_type: t.token_type,
        expires_in_seconds: t.expires_in_seconds,
        refresh_token: t.refresh_token,
        scope: t.scope,
    }
}

/// Runs a token request over wasi:http, without a bearer token.
fn with_token_endpoint(
    f: impl FnOnce(&mut dyn Transport) -> Result<TokenSet, OAuthError>,
) -> Result<wo::TokenSet, wo::OauthError> {
    let mut transport = Wasi {
        token: None,
        seed: seed(),
    };
    f(&mut transport).map(token_set).map_err(oauth_error)
}

impl wc::Guest for Component {
    fn list_choices(
        c: wt::Connection,
        request: wc::ChoicesRequest,
    ) -> Result<wc::ChoicesPage, wt::ActionError> {
        let request = pickers::Request {
            picker: request.picker,
            inputs: request.inputs,
            search: request.search,
            skip: request.skip,
            top: request.top,
        };
        prepare(&c)?;
        // A refused request never sent anything; its error is scrubbed like `run`'s.
        let secrets = values(&c).map(|v| v.secrets()).unwrap_or_default();
        let pickers::Listing { exchange, page } =
            pickers::exchange(&request).map_err(|e| action_error(e.redact(&secrets)))?;
        run(&c, Ok(exchange))?;
        let page = pickers::take(&page).map_err(action_error)?;
        Ok(wc::ChoicesPage {
            choices: page
                .choices
                .into_iter()
                .map(|(label, value)| wd::Choice { label, value })
                .collect(),
            more: page.more,
        })
    }
}

impl wo::Guest for Component {
    fn authorize(
        c: wt::Connection,
        redirect_uri: String,
    ) -> Result<wo::Authorization, wo::OauthError> {
        let config = oauth_config(&c)?;
        let a = oauth::authorize(&config, &redirect_uri).map_err(oauth_error)?;
        Ok(wo::Authorization {
            url: a.url,
            state: a.state,
            code_verifier: a.code_verifier,
        })
    }

    fn exchange_code(
        c: wt::Connection,
        redirect_uri: String,
        code: String,
        code_verifier: String,
    ) -> Result<wo::TokenSet, wo::OauthError> {
        let config = oauth_config(&c)?;
        with_token_endpoint(|transport| {
            oauth::exchange_code(&config, &redirect_uri, &code, &code_verifier, transport)
        })
    }

    fn refresh(c: wt::Connection, refresh_token: String) -> Result<wo::TokenSet, wo::OauthError> {
        let config = oauth_config(&c)?;
        with_token_endpoint(|transport| oauth::refresh(&config, &refresh_token, transport))
    }

    fn request_token(c: wt::Connection) -> Result<wo::TokenSet, wo::OauthError> {
        let values = oauth_values(&c)?;
        if values.definition.oauth2_type != "client_credentials" {
            return Err(oauth_error(OAuthError {
                kind: oauth::OAuthErrorKind::InvalidInput,
                message: format!(
                    "connection: the {} connection signs a user in (authorize, exchange-code, refresh); it cannot request a token by itself",
                    values.definition.key
                ),
                code: None,
                input: Some("connection".into()),
            }));
        }
        let config = OAuthConfig::client_credentials(&values).map_err(oauth_error)?;
        with_token_endpoint(|transport| oauth::request_client_token(&config, transport))
    }
}
