//! The driver loop between an action's [`Exchange`] and a [`Transport`].
//!
//! An exchange is a small state machine: given the answer to its last request it says what
//! to send next, or that it is done. The driver sends, applies the retry policy and the
//! Timeout budget, and feeds the final outcome of each request back. Tests drive exchanges
//! with a scripted transport; the component drives them over wasi:http.

use std::time::Duration;

use crate::error::ActionError;
use crate::http::{Request, Response};
use crate::retry::RetryPolicy;

/// HTTP details of the last exchange, for Raw Request (the WIT `http-response`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpDetails {
    /// The status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// The Content-Type.
    pub content_type: Option<String>,
    /// The body bytes, for binary responses.
    pub body: Option<Vec<u8>>,
}

/// What an action hands the next step (the WIT `output`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The result as JSON text.
    pub data: String,
    /// HTTP details (Raw Request only).
    pub http: Option<HttpDetails>,
}

impl Output {
    /// An output of JSON only.
    pub fn json(value: &impl serde::Serialize) -> Output {
        Output {
            data: serde_json::to_string(value).expect("serializable output"),
            http: None,
        }
    }
}

/// What an exchange wants next.
#[derive(Debug)]
pub enum Step {
    /// Send this request and report its outcome.
    Send(Request),
    /// Wait this long, then ask again (with no outcome): how an action polls a long-running
    /// operation of the service (a refresh, an export) without sleeping on its own.
    Wait(Duration),
    /// The action is over.
    Done(Result<Output, ActionError>),
}

/// An action in progress.
pub trait Exchange {
    /// The next step, given the outcome of the previous request (`None` at the start). The
    /// outcome is an answer of any status, or a transport failure / timeout.
    fn step(&mut self, outcome: Option<Result<Response, ActionError>>) -> Step;

    /// How this exchange's requests are retried.
    fn policy(&self) -> RetryPolicy {
        RetryPolicy::DEFAULT
    }

    /// Whether request and answer should be written to the log (Raw Request's Debug Request).
    fn debug(&self) -> bool {
        false
    }

    /// The monotonic clock in milliseconds, given before every [`Exchange::step`]: an action
    /// that polls measures its own wait budget with it.
    fn clock(&mut self, _now_ms: u64) {}

    /// Progress to report since the last step, if any (the driver asks after every step and
    /// hands it to [`Transport::progress`]).
    fn progress(&mut self) -> Option<Progress> {
        None
    }
}

/// How far an action has come: `done` of `total` (none when unknown), and a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Units done (rows sent, percent).
    pub done: u64,
    /// Units in all, when known.
    pub total: Option<u64>,
    /// A short status for a person.
    pub status: String,
}

/// The outside world, as the driver needs it.
pub trait Transport {
    /// Sends one request (adding the Authorization header) and reads the whole answer.
    /// `timeout` is what is left of the budget. Fails with a transport or timeout error.
    fn send(
        &mut self,
        request: &Request,
        timeout: Option<Duration>,
    ) -> Result<Response, ActionError>;
    /// Milliseconds on a monotonic clock.
    fn now_ms(&mut self) -> u64;
    /// Waits.
    fn sleep(&mut self, duration: Duration);
    /// A random number in [0, 1), for jitter.
    fn random(&mut self) -> f64;
    /// Writes a line to the step's log.
    fn log(&mut self, line: &str);
    /// Reports progress to the engine.
    fn progress(&mut self, _progress: &Progress) {}
}

/// Runs an exchange to its end.
pub fn drive(
    exchange: &mut dyn Exchange,
    transport: &mut dyn Transport,
) -> Result<Output, ActionError> {
    let policy = exchange.policy();
    let deadline = policy
        .timeout
        .map(|t| transport.now_ms().saturating_add(t.as_millis() as u64));
    let mut outcome = None;
    loop {
        exchange.clock(transport.now_ms());
        let step = exchange.step(outcome.take());
        if let Some(progress) = exchange.progress() {
            transport.progress(&progress);
        }
        match step {
            Step::Done(result) => return result,
            Step::Wait(delay) => transport.sleep(delay),
            Step::Send(request) => {
                outcome = Some(send_with_retries(
                    &request,
                    &policy,
                    deadline,
                    exchange.debug(),
                    transport,
                ));
            }
        }
    }
}

fn send_with_retries(
    request: &Request,
    policy: &RetryPolicy,
    deadline: Option<u64>,
    debug: bool,
    transport: &mut dyn Transport,
) -> Result<Response, ActionError> {
    let mut attempt = 0;
    loop {
        let remaining = match deadline {
            None => None,
            Some(deadline) => {
                let now = transport.now_ms();
                if now >= deadline {
                    return Err(timed_out(policy));
                }
                Some(Duration::from_millis(deadline - now))
            }
        };
        if debug {
            for line in describe_request(request, attempt).lines() {
                transport.log(line);
            }
        }
        let outcome = transport.send(request, remaining);
        if debug {
            match &outcome {
                Ok(response) => {
                    for line in describe_response(response).lines() {
                        transport.log(line);
                    }
                }
                Err(e) => transport.log(&format!("[debug] failed: {e}")),
            }
        }
        let jitter = transport.random();
        let Some(delay) = policy.next_delay(request.method, &outcome, attempt, jitter) else {
            return outcome;
        };
        if let Some(deadline) = deadline {
            // A wait that would end past the budget cannot lead to a useful attempt.
            if transport.now_ms().saturating_add(delay.as_millis() as u64) >= deadline {
                return outcome;
            }
        }
        transport.log(&format!(
            "retrying {} {} in {} ms (retry {} of {})",
            request.method,
            path_of(&request.url),
            delay.as_millis() as u64,
            attempt + 1,
            policy.max_retries
        ));
        transport.sleep(delay);
        attempt += 1;
    }
}

fn timed_out(policy: &RetryPolicy) -> ActionError {
    // As u64: formatting a u128 would pull its own code into the component.
    let ms = policy
        .timeout
        .map(|t| t.as_millis() as u64)
        .unwrap_or_default();
    ActionError::timeout(format!("no answer within the Timeout of {ms} ms"))
}

fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
        .unwrap_or(url)
}

/// The most body text a debug line shows.
const DEBUG_BODY: usize = 2000;

fn describe_body(headers: &[(String, String)], body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty)".into();
    }
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let textual = content_type.is_empty()
        || content_type.contains("json")
        || content_type.starts_with("text/")
        || content_type.contains("xml")
        || content_type.contains("form-urlencoded");
    match std::str::from_utf8(body) {
        Ok(text) if textual => {
            let cut: String = text.chars().take(DEBUG_BODY).collect();
            if cut.len() < text.len() {
                format!("{cut}… ({} bytes)", body.len())
            } else {
                cut
            }
        }
        _ => format!("<{} bytes of {content_type}>", body.len()),
    }
}

/// The debug text of a request. The Authorization header is shown redacted: the request
/// value never holds it, and the transport adds it after this is written.
pub fn describe_request(request: &Request, attempt: u32) -> String {
    let mut out = format!("[debug] request: {} {}", request.method, request.url);
    if attempt > 0 {
        out.push_str(&format!(" (attempt {})", attempt + 1));
    }
    out.push_str("\n[debug]   authorization: Bearer [redacted]");
    for (name, value) in &request.headers {
        out.push_str(&format!("\n[debug]   {name}: {value}"));
    }
    out.push_str("\n[debug]   body: ");
    out.push_str(&describe_body(&request.headers, &request.body));
    out
}

/// The debug text of a response.
pub fn describe_response(response: &Response) -> String {
    let mut out = format!("[debug] response: {}", response.status);
    for (name, value) in &response.headers {
        out.push_str(&format!("\n[debug]   {name}: {value}"));
    }
    out.push_str("\n[debug]   body: ");
    out.push_str(&describe_body(&response.headers, &response.body));
    out
}

/// A scripted transport for native tests: answers from a list, records what was sent.
#[doc(hidden)]
pub mod scripted {
    use super::*;
    use std::collections::VecDeque;

    /// Answers requests from a script.
    #[derive(Debug, Default)]
    pub struct Scripted {
        /// The outcomes to give, in order.
        pub answers: VecDeque<Result<Response, ActionError>>,
        /// The requests sent, with the timeout each was given.
        pub sent: Vec<(Request, Option<Duration>)>,
        /// The waits asked for.
        pub sleeps: Vec<Duration>,
        /// The log lines written.
        pub logs: Vec<String>,
        /// The fake clock.
        pub clock_ms: u64,
        /// Milliseconds each send takes on the fake clock.
        pub send_ms: u64,
        /// The progress reported.
        pub progress: Vec<Progress>,
    }

    impl Scripted {
        /// A transport that gives these outcomes in order.
        pub fn new(answers: impl IntoIterator<Item = Result<Response, ActionError>>) -> Self {
            Scripted {
                answers: answers.into_iter().collect(),
                ..Default::default()
            }
        }

        /// An answer with this status and JSON body.
        pub fn answer(status: u16, body: &str) -> Result<Response, ActionError> {
            Ok(Response {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.as_bytes().to_vec(),
            })
        }
    }

    impl Transport for Scripted {
        fn send(
            &mut self,
            request: &Request,
            timeout: Option<Duration>,
        ) -> Result<Response, ActionError> {
            self.sent.push((request.clone(), timeout));
            self.clock_ms += self.send_ms;
            self.answers
                .pop_front()
                .unwrap_or_else(|| Err(ActionError::transport("script ran out")))
        }
        fn now_ms(&mut self) -> u64 {
            self.clock_ms
        }
        fn sleep(&mut self, duration: Duration) {
            self.sleeps.push(duration);
            self.clock_ms += duration.as_millis() as u64;
        }
        fn random(&mut self) -> f64 {
            0.5
        }
        fn log(&mut self, line: &str) {
            self.logs.push(line.to_string());
        }
        fn progress(&mut self, progress: &Progress) {
            self.progress.push(progress.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::scripted::Scripted;
    use super::*;
    use crate::http::Method;

    struct One(RetryPolicy);
    impl Exchange for One {
        fn step(&mut self, outcome: Option<Result<Response, ActionError>>) -> Step {
            match outcome {
                None => Step::Send(Request::new(Method::Get, "https://x/y".into())),
                Some(Ok(r)) if r.is_success() => Step::Done(Ok(Output::json(&r.status))),
                Some(Ok(r)) => Step::Done(Err(ActionError::from_response(&r))),
                Some(Err(e)) => Step::Done(Err(e)),
            }
        }
        fn policy(&self) -> RetryPolicy {
            self.0.clone()
        }
        fn debug(&self) -> bool {
            true
        }
    }

    #[test]
    fn retries_until_success() {
        let mut t = Scripted::new([
            Scripted::answer(503, ""),
            Err(ActionError::transport("reset")),
            Scripted::answer(200, "{}"),
        ]);
        let policy = RetryPolicy {
            max_retries: 3,
            delay: Duration::from_millis(5),
            ..RetryPolicy::NONE
        };
        let out = drive(&mut One(policy), &mut t).unwrap();
        assert_eq!(out.data, "200");
        assert_eq!(t.sent.len(), 3);
        assert_eq!(t.sleeps, vec![Duration::from_millis(5); 2]);
        assert!(
            t.logs
                .iter()
                .any(|l| l.contains("authorization: Bearer [redacted]"))
        );
    }

    #[test]
    fn timeout_is_one_budget() {
        let mut t = Scripted::new([
            Scripted::answer(503, ""),
            Scripted::answer(503, ""),
            Scripted::answer(503, ""),
        ]);
        t.send_ms = 400;
        let policy = RetryPolicy {
            max_retries: 5,
            delay: Duration::from_millis(100),
            timeout: Some(Duration::from_millis(1000)),
            ..RetryPolicy::NONE
        };
        let err = drive(&mut One(policy), &mut t).unwrap_err();
        // 400 + 100 + 400 = 900 ms used: the next wait would end at 1000, so it stops there
        // with the last answer rather than start a third attempt it cannot finish.
        assert_eq!(t.sent.len(), 2);
        assert_eq!(t.sent[0].1, Some(Duration::from_millis(1000)));
        assert_eq!(t.sent[1].1, Some(Duration::from_millis(500)));
        assert_eq!(err.status, Some(503));
    }
}
