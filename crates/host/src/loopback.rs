//! The loopback redirect listener of an authorization-code sign-in: a tiny HTTP server on
//! `127.0.0.1` (and `::1` on the same port when it can) that waits for the browser to come
//! back to `http://localhost:PORT/callback` with a code.

use crate::egress::REDACTED;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use url::Url;

/// The path the redirect comes back to.
pub const CALLBACK_PATH: &str = "/callback";
/// How long a connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head read; the redirect's is far smaller.
const MAX_HEAD_BYTES: u64 = 64 * 1024;
/// How often the accept loop looks for new connections.
const POLL: Duration = Duration::from_millis(20);

/// Why waiting for the redirect ended without a code.
#[derive(Debug, thiserror::Error)]
pub enum RedirectError {
    /// No redirect came in time.
    #[error("no sign-in redirect arrived within {} s", .0.as_secs())]
    Timeout(Duration),
    /// The identity platform sent the browser back with an error.
    #[error("the sign-in was refused: {error}{}", description_suffix(.description))]
    Denied {
        /// The OAuth error code, such as `access_denied`.
        error: String,
        /// The first line of `error_description`, if any.
        description: Option<String>,
    },
    /// The redirect carried the right state but no code.
    #[error("the sign-in redirect carried no code")]
    MissingCode,
}

fn description_suffix(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

/// One request's start line, with the connection to answer it on.
struct Incoming {
    method: String,
    target: String,
    stream: TcpStream,
}

/// A listener for the sign-in redirect. Dropping it stops listening.
pub struct RedirectListener {
    port: u16,
    incoming: Receiver<Incoming>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for RedirectListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedirectListener")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl RedirectListener {
    /// Listens on `127.0.0.1:port` (0: a free port), and on `[::1]` at the same port when
    /// possible, since a browser may resolve `localhost` to either.
    pub fn bind(port: u16) -> io::Result<Self> {
        let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let port = v4.local_addr()?.port();
        let mut listeners = vec![v4];
        if let Ok(v6) = TcpListener::bind((Ipv6Addr::LOCALHOST, port)) {
            listeners.push(v6);
        }
        for listener in &listeners {
            // Polled, so that dropping the listener can end the thread.
            listener.set_nonblocking(true)?;
        }
        let (sender, incoming) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("pbi-redirect".to_string())
            .spawn(move || accept_loop(&listeners, &sender, &stopping))?;
        Ok(Self {
            port,
            incoming,
            stop,
            thread: Some(thread),
        })
    }

    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:PORT/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}{CALLBACK_PATH}", self.port)
    }

    /// Waits up to `timeout` for the redirect whose `state` is `expected_state`.
    ///
    /// Requests for other paths get 404 and requests with another state 400 (a stale tab
    /// or another page poking at the port); both are ignored and the wait goes on. A
    /// redirect with the right state and an `error` is answered with an error page and
    /// returned as [`RedirectError::Denied`]. The one with a code is returned unanswered:
    /// answer it with [`Callback::respond`] once the code has been exchanged.
    pub fn wait(&self, expected_state: &str, timeout: Duration) -> Result<Callback, RedirectError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let incoming = match self.incoming.recv_timeout(left) {
                Ok(incoming) => incoming,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    return Err(RedirectError::Timeout(timeout));
                }
            };
            let Incoming {
                method,
                target,
                mut stream,
            } = incoming;
            let Ok(url) = Url::parse("http://localhost").and_then(|base| base.join(&target)) else {
                respond(
                    &mut stream,
                    400,
                    "Bad request",
                    "The request could not be read.",
                );
                continue;
            };
            if url.path() != CALLBACK_PATH {
                respond(&mut stream, 404, "Not found", "Nothing here.");
                continue;
            }
            if method != "GET" {
                respond(&mut stream, 405, "Method not allowed", "Use GET.");
                continue;
            }
            let param = |name: &str| {
                url.query_pairs()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.into_owned())
            };
            if param("state").as_deref() != Some(expected_state) {
                respond(
                    &mut stream,
                    400,
                    "Unexpected sign-in response",
                    "This response does not belong to the sign-in in progress. Start the \
                     sign-in again if this keeps happening.",
                );
                continue;
            }
            if let Some(error) = param("error") {
                let description = param("error_description")
                    .and_then(|d| d.lines().next().map(|line| line.trim().to_string()))
                    .filter(|d| !d.is_empty());
                let shown = format!("{error}{}", description_suffix(&description));
                respond(&mut stream, 400, "Sign-in failed", &shown);
                return Err(RedirectError::Denied { error, description });
            }
            let Some(code) = param("code").filter(|code| !code.is_empty()) else {
                respond(
                    &mut stream,
                    400,
                    "Sign-in failed",
                    "The response carried no code.",
                );
                return Err(RedirectError::MissingCode);
            };
            return Ok(Callback { code, stream });
        }
    }
}

impl Drop for RedirectListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The redirect that brought the code, waiting for its answer.
///
/// `Debug` hides the code.
pub struct Callback {
    code: String,
    stream: TcpStream,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("code", &REDACTED)
            .finish_non_exhaustive()
    }
}

impl Callback {
    /// The authorization code. Secret (though single-use).
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Answers the browser with a small page: `message` under a heading saying whether the
    /// sign-in succeeded. `message` is shown as text (HTML-escaped); it must hold no secret.
    pub fn respond(mut self, success: bool, message: &str) {
        if success {
            respond(&mut self.stream, 200, "Signed in", message);
        } else {
            respond(&mut self.stream, 400, "Sign-in failed", message);
        }
    }
}

fn accept_loop(listeners: &[TcpListener], sender: &Sender<Incoming>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let mut accepted = false;
        for listener in listeners {
            if let Ok((stream, _)) = listener.accept() {
                accepted = true;
                let sender = sender.clone();
                // One thread per connection: a browser's idle pre-connection must not hold
                // up the real request behind it.
                let _ = std::thread::Builder::new()
                    .name("pbi-redirect-conn".to_string())
                    .spawn(move || {
                        if let Ok(incoming) = read_head(stream) {
                            let _ = sender.send(incoming);
                        }
                    });
            }
        }
        if !accepted {
            std::thread::sleep(POLL);
        }
    }
}

/// Reads a request's start line and headers (the body, if any, is ignored).
fn read_head(stream: TcpStream) -> io::Result<Incoming> {
    // Accepted sockets may inherit the listener's non-blocking mode on some systems.
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?.take(MAX_HEAD_BYTES));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an HTTP request",
        ));
    };
    let (method, target) = (method.to_string(), target.to_string());
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
    }
    Ok(Incoming {
        method,
        target,
        stream,
    })
}

/// Writes a small HTML page and closes the connection.
fn respond(stream: &mut TcpStream, status: u16, title: &str, message: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Bad Request",
    };
    let body = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family: sans-serif; margin: 3em\"><h1>{title}</h1>\n<p>{message}</p>\n\
         <p>You can close this window.</p></body></html>\n",
        title = html_escape::encode_quoted_attribute(title),
        message = html_escape::encode_quoted_attribute(message),
    );
    // The page's URL holds the code: no referrer leaves it, no cache keeps it.
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .and_then(|()| stream.flush());
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends a GET for `target` to the listener and returns the status line and body.
    fn get(port: u16, target: &str) -> std::thread::JoinHandle<io::Result<String>> {
        let target = target.to_string();
        std::thread::spawn(move || {
            let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
            write!(
                stream,
                "GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
            )?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        })
    }

    fn answer(handle: std::thread::JoinHandle<io::Result<String>>) -> anyhow::Result<String> {
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("the client panicked"))?
            .map_err(Into::into)
    }

    #[test]
    fn ignores_strays_and_returns_the_code() -> anyhow::Result<()> {
        let listener = RedirectListener::bind(0)?;
        let port = listener.port();
        assert_eq!(
            listener.redirect_uri(),
            format!("http://localhost:{port}/callback")
        );
        let stray = get(port, "/favicon.ico");
        let wrong = get(port, "/callback?code=c0de-wrong&state=other");
        // Let both reach the queue before the real redirect.
        std::thread::sleep(Duration::from_millis(300));
        let good = get(port, "/callback?code=c0de-1234&state=st%2Bate");
        let callback = listener.wait("st+ate", Duration::from_secs(10))?;
        assert_eq!(callback.code(), "c0de-1234");
        assert!(!format!("{callback:?}").contains("c0de-1234"));
        callback.respond(true, "Tokens saved <here>.");
        let page = answer(good)?;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("Tokens saved &lt;here&gt;."), "{page}");
        assert!(answer(stray)?.starts_with("HTTP/1.1 404"));
        assert!(answer(wrong)?.starts_with("HTTP/1.1 400"));
        Ok(())
    }

    #[test]
    fn strays_get_404_and_400() -> anyhow::Result<()> {
        let listener = RedirectListener::bind(0)?;
        let port = listener.port();
        let stray = get(port, "/favicon.ico");
        let wrong = get(port, "/callback?code=x&state=other");
        // Nothing valid arrives: the wait times out after answering both.
        let waited = listener.wait("right", Duration::from_millis(1500));
        assert!(
            matches!(waited, Err(RedirectError::Timeout(_))),
            "{waited:?}"
        );
        assert!(answer(stray)?.starts_with("HTTP/1.1 404"));
        assert!(answer(wrong)?.starts_with("HTTP/1.1 400"));
        Ok(())
    }

    #[test]
    fn an_error_redirect_is_denied() -> anyhow::Result<()> {
        let listener = RedirectListener::bind(0)?;
        let page = get(
            listener.port(),
            "/callback?error=access_denied&error_description=AADSTS65004%3A+User+declined%0D%0ATrace+ID%3A+1&state=s1",
        );
        let waited = listener.wait("s1", Duration::from_secs(10));
        match waited {
            Err(RedirectError::Denied { error, description }) => {
                assert_eq!(error, "access_denied");
                assert_eq!(description.as_deref(), Some("AADSTS65004: User declined"));
            }
            other => anyhow::bail!("expected Denied, got {other:?}"),
        }
        let page = answer(page)?;
        assert!(page.starts_with("HTTP/1.1 400"), "{page}");
        assert!(page.contains("access_denied"), "{page}");
        Ok(())
    }
}
