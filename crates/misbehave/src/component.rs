//! The wit-bindgen glue and the misbehaving actions.
//!
//! The bindings come from two WIT directories: the workspace's generic contract
//! (`wit/deps/workflow-connector`, package `workflow:connector`) and this crate's own
//! `wit/misbehave.wit`, which includes it. They are pushed in that order, so the second
//! finds the first without a copy of it in a `deps` folder of its own.

use std::hint::black_box;

use waki::bindings::wasi::clocks::monotonic_clock;
use waki::bindings::wasi::http::outgoing_handler;
use waki::bindings::wasi::http::types as wasi;
use waki::bindings::wasi::io::streams::StreamError;

wit_bindgen::generate!({
    path: ["../../wit/deps/workflow-connector", "wit"],
    world: "misbehave:component/misbehave",
});

use exports::misbehave::component::actions as wa;
use exports::workflow::connector::choices as wc;
use exports::workflow::connector::definition as wd;
use exports::workflow::connector::oauth as wo;
use exports::workflow::connector::types as wt;

struct Component;

export!(Component);

fn input(key: &str, ty: wd::InputType, required: bool) -> wd::InputDefinition {
    wd::InputDefinition {
        key: key.to_string(),
        label: key.to_string(),
        type_: ty,
        required,
        default: None,
        comments: None,
        choices: Vec::new(),
        minimum: None,
        maximum: None,
        example: None,
        picker: None,
        pattern: None,
        max_length: None,
    }
}

/// An optional string input whose values the picker `key` lists.
fn picked(input_key: &str, picker: &str, depends_on: &[&str]) -> wd::InputDefinition {
    wd::InputDefinition {
        picker: Some(wd::PickerRef {
            key: picker.to_string(),
            depends_on: depends_on.iter().map(|k| k.to_string()).collect(),
        }),
        ..input(input_key, wd::InputType::String, false)
    }
}

fn action(key: &str, description: &str, inputs: Vec<wd::InputDefinition>) -> wd::ActionDefinition {
    wd::ActionDefinition {
        key: key.to_string(),
        label: key.to_string(),
        description: description.to_string(),
        inputs,
    }
}

/// The input of the actions that take none: the one optional field their record needs.
fn note() -> Vec<wd::InputDefinition> {
    vec![input("note", wd::InputType::String, false)]
}

fn output(data: String) -> wt::Output {
    wt::Output { data, http: None }
}

fn transport(message: String) -> wt::ActionError {
    wt::ActionError {
        kind: wt::ErrorKind::Transport,
        message,
        input: None,
        status: None,
        code: None,
        retry_after_seconds: None,
        progress: None,
    }
}

impl wd::Guest for Component {
    fn describe() -> wd::ComponentDefinition {
        let integer = |key: &str| input(key, wd::InputType::Integer, false);
        wd::ComponentDefinition {
            info: wd::ComponentInfo {
                key: "misbehave".to_string(),
                label: "Misbehave".to_string(),
                description: "A component that misbehaves on purpose".to_string(),
                category: "Testing".to_string(),
                // A reserved name: nothing is reachable unless the host allows it.
                api_base_url: "http://misbehave.invalid".to_string(),
            },
            connections: Vec::new(),
            // The functions of `actions` in misbehave.wit, each with its record's fields.
            actions: vec![
                action("panic", "Panics.", note()),
                action(
                    "spin-forever",
                    "Loops forever without calling the host.",
                    vec![integer("start")],
                ),
                action(
                    "allocate-forever",
                    "Allocates 1 MiB blocks until memory runs out.",
                    note(),
                ),
                action(
                    "fetch",
                    "Sends a request to `url` and reads the whole body, answering its size; \
                     `timeout-ms` is its first-byte and between-bytes timeout; with \
                     `upload-mib`, it is a POST with a body of that many MiB.",
                    vec![
                        input("url", wd::InputType::String, true),
                        integer("timeout-ms"),
                        integer("upload-mib"),
                    ],
                ),
                action("sleep-an-hour", "Sleeps for an hour.", note()),
                action(
                    "return-at-once",
                    "Answers {\"ok\":true} at once. Its inputs are ignored; all but `note` \
                     have pickers.",
                    vec![
                        input("note", wd::InputType::String, false),
                        picked("item", NUMBERS, &[]),
                        picked("many", TOO_MANY, &[]),
                        picked("echo", ECHO, &["note", "item"]),
                        picked("lost", "no-such-picker", &[]),
                    ],
                ),
            ],
        }
    }
}

/// Reads the whole body at `url` (`http://host:port/path` or `https://…`), counting its bytes
/// without keeping them: the host's cap, not the guest's memory, must be what stops a huge
/// body. With `upload_mib`, the request is a POST whose body of that many MiB is written
/// after the request was handed to the host, as the connector writes its bodies. A
/// non-empty `token` goes as a bearer `authorization` header. Answers the status and the
/// body's size.
fn fetch_url(
    url: &str,
    token: &str,
    timeout_ms: Option<i64>,
    upload_mib: Option<i64>,
) -> Result<(u16, u64), String> {
    let (scheme, rest) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
        (Some(rest), _) => (wasi::Scheme::Http, rest),
        (None, Some(rest)) => (wasi::Scheme::Https, rest),
        (None, None) => return Err(format!("not an http:// or https:// URL: {url}")),
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    if !token.is_empty() {
        fields.push((
            "authorization".into(),
            format!("Bearer {token}").into_bytes(),
        ));
    }
    let headers = wasi::Fields::from_list(&fields)
        .map_err(|_| "the authorization header was refused".to_string())?;
    let request = wasi::OutgoingRequest::new(headers);
    if upload_mib.is_some() {
        request
            .set_method(&wasi::Method::Post)
            .map_err(|()| "method refused".to_string())?;
    }
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| "scheme refused".to_string())?;
    request
        .set_authority(Some(authority))
        .map_err(|()| "authority refused".to_string())?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| "path refused".to_string())?;
    let options = wasi::RequestOptions::new();
    if let Some(ms) = timeout_ms {
        let ns = Some(u64::try_from(ms).unwrap_or(0).saturating_mul(1_000_000));
        let _ = options.set_first_byte_timeout(ns);
        let _ = options.set_between_bytes_timeout(ns);
    }
    let body = request.body().map_err(|()| "no request body".to_string())?;
    let future = outgoing_handler::handle(request, Some(options))
        .map_err(|e| format!("the request failed: {e:?}"))?;
    if let Some(mib) = upload_mib {
        let out = body
            .write()
            .map_err(|()| "no request body stream".to_string())?;
        let chunk = vec![b'x'; 4096];
        for _ in 0..u64::try_from(mib).unwrap_or(0).saturating_mul(256) {
            out.blocking_write_and_flush(&chunk)
                .map_err(|e| format!("writing the body failed: {e:?}"))?;
        }
        drop(out);
    }
    wasi::OutgoingBody::finish(body, None).map_err(|e| format!("the body failed: {e:?}"))?;
    let answer = loop {
        match future.get() {
            Some(answer) => break answer,
            None => future.subscribe().block(),
        }
    };
    let response = answer
        .map_err(|()| "the answer was already taken".to_string())?
        .map_err(|e| format!("the request failed: {e:?}"))?;
    let status = response.status();
    let body = response.consume().map_err(|()| "no body".to_string())?;
    let stream = body.stream().map_err(|()| "no body stream".to_string())?;
    let mut total = 0u64;
    loop {
        match stream.blocking_read(1024 * 1024) {
            Ok(chunk) => total += chunk.len() as u64,
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                let shown = match wasi::http_error_code(&e) {
                    Some(code) => format!("{code:?}"),
                    None => e.to_debug_string(),
                };
                return Err(format!("the body failed after {total} bytes: {shown}"));
            }
        }
    }
    Ok((status, total))
}

impl wa::Guest for Component {
    fn panic(_: wt::Connection, _: wa::PanicInput) -> Result<wt::Output, wt::ActionError> {
        panic!("misbehave: panic panics on purpose");
    }

    fn spin_forever(
        _: wt::Connection,
        i: wa::SpinForeverInput,
    ) -> Result<wt::Output, wt::ActionError> {
        // black_box keeps the loop's work observable, so it is not optimised into nothing.
        let mut n = i.start.unwrap_or(0);
        loop {
            n = black_box(n.wrapping_add(1));
        }
    }

    fn allocate_forever(
        _: wt::Connection,
        _: wa::AllocateForeverInput,
    ) -> Result<wt::Output, wt::ActionError> {
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        loop {
            // Written, not only reserved, so the pages are really used.
            blocks.push(black_box(vec![1u8; 1024 * 1024]));
            black_box(&blocks);
        }
    }

    fn fetch(c: wt::Connection, i: wa::FetchInput) -> Result<wt::Output, wt::ActionError> {
        match fetch_url(&i.url, &c.access_token, i.timeout_ms, i.upload_mib) {
            Ok((status, bytes)) => Ok(output(format!("{{\"status\":{status},\"bytes\":{bytes}}}"))),
            Err(message) => Err(transport(message)),
        }
    }

    fn sleep_an_hour(
        _: wt::Connection,
        _: wa::SleepAnHourInput,
    ) -> Result<wt::Output, wt::ActionError> {
        monotonic_clock::subscribe_duration(3_600 * 1_000_000_000).block();
        Ok(output("{\"slept\":true}".to_string()))
    }

    fn return_at_once(
        _: wt::Connection,
        _: wa::ReturnAtOnceInput,
    ) -> Result<wt::Output, wt::ActionError> {
        Ok(output("{\"ok\":true}".to_string()))
    }
}

fn unsupported() -> wo::OauthError {
    wo::OauthError {
        kind: wo::OauthErrorKind::Service,
        message: "misbehave has no OAuth".to_string(),
        code: None,
        input: None,
    }
}

impl wo::Guest for Component {
    fn authorize(_: wt::Connection, _: String) -> Result<wo::Authorization, wo::OauthError> {
        Err(unsupported())
    }

    fn exchange_code(
        _: wt::Connection,
        _: String,
        _: String,
        _: String,
    ) -> Result<wo::TokenSet, wo::OauthError> {
        Err(unsupported())
    }

    fn refresh(_: wt::Connection, _: String) -> Result<wo::TokenSet, wo::OauthError> {
        Err(unsupported())
    }

    fn request_token(_: wt::Connection) -> Result<wo::TokenSet, wo::OauthError> {
        Err(unsupported())
    }
}

/// The picker that lists `Item 1` to `Item 25`.
const NUMBERS: &str = "numbers";
/// The picker that answers 50 choices whatever `top` asks for.
const TOO_MANY: &str = "too-many";
/// The picker that lists the inputs it was given.
const ECHO: &str = "echo";

fn choice(label: String, value: String) -> wd::Choice {
    wd::Choice { label, value }
}

impl wc::Guest for Component {
    fn list_choices(
        connection: wt::Connection,
        request: wc::ChoicesRequest,
    ) -> Result<wc::ChoicesPage, wt::ActionError> {
        let skip = usize::try_from(request.skip).unwrap_or(usize::MAX);
        let top = usize::try_from(request.top).unwrap_or(usize::MAX);
        match request.picker.as_str() {
            NUMBERS => {
                let search = request.search.as_deref().map(str::to_lowercase);
                let mut matching = (1..=25)
                    .map(|n| choice(format!("Item {n}"), n.to_string()))
                    .filter(|c| {
                        search
                            .as_ref()
                            .is_none_or(|s| c.label.to_lowercase().contains(s))
                    })
                    .skip(skip);
                let choices = matching.by_ref().take(top).collect();
                Ok(wc::ChoicesPage {
                    choices,
                    more: matching.next().is_some(),
                })
            }
            // Misbehaves: ignores `top` (and everything else).
            TOO_MANY => Ok(wc::ChoicesPage {
                choices: (1..=50)
                    .map(|n| choice(format!("Many {n}"), n.to_string()))
                    .collect(),
                more: false,
            }),
            ECHO => Ok(wc::ChoicesPage {
                choices: request
                    .inputs
                    .into_iter()
                    .map(|(key, value)| choice(key, value))
                    .collect(),
                more: false,
            }),
            // Misbehaves too: the message carries the access token, as a careless
            // component's might; the host must scrub it.
            other => Err(wt::ActionError {
                kind: wt::ErrorKind::InvalidInput,
                message: format!(
                    "misbehave has no picker {other:?} (it has {NUMBERS}, {TOO_MANY}, {ECHO}; \
                     token {})",
                    connection.access_token
                ),
                input: Some("picker".to_string()),
                status: None,
                code: None,
                retry_after_seconds: None,
                progress: None,
            }),
        }
    }
}
