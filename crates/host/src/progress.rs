//! Progress an action reports while it runs, handed to the engine's callback of the
//! invocation ([`crate::Connector::invoke_with_progress`]).
//!
//! The contract's way (documented in the `workflow:connector` package): the component writes
//! a line `RS progress <done> <total> <status>` to stderr, where RS is the ASCII record
//! separator (0x1E), `total` is 0 when unknown. A plain stream keeps every host able to run
//! the component (the official wasmtime CLI among them: a custom import would stop it), and
//! a host that does not look for these lines only sees them in the log. This host takes them
//! out of the log as they are written and calls the sink at once; without a sink it leaves
//! them in the log. Either way it keeps the last one, which a call stopped by the host (its
//! time limit, a trap) reports in [`crate::HostError::Call`]: what the action had done.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use crate::egress::scrub;

/// The first byte of a progress line: the ASCII record separator.
pub const PROGRESS_MARK: u8 = 0x1e;

/// What an action reported: `done` of `total` units and a status for a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// Units done (rows sent, percent complete, seconds waited).
    pub done: u64,
    /// Units in all, when known.
    pub total: Option<u64>,
    /// A short status, such as "rows sent" or "refresh Unknown, 20 s".
    pub status: String,
}

impl Progress {
    /// Reads a progress line without its mark and newline: `progress <done> <total> <status>`.
    pub fn parse(line: &str) -> Option<Progress> {
        let rest = line.strip_prefix("progress ")?;
        let mut parts = rest.splitn(3, ' ');
        let done = parts.next()?.parse().ok()?;
        let total: u64 = parts.next()?.parse().ok()?;
        let status = parts.next().unwrap_or("").trim_end().to_string();
        Some(Progress {
            done,
            total: (total > 0).then_some(total),
            status,
        })
    }
}

/// The engine's callback for one invocation's progress.
pub type ProgressSink = Arc<dyn Fn(&Progress) + Send + Sync>;

/// The last progress a call reported, shared by its stderr and the host that reads it when
/// the call is over.
pub(crate) type LastProgress = Arc<Mutex<Option<Progress>>>;

/// The guest's stderr: progress lines go to the sink when the engine gave one (their status
/// scrubbed of the connection's secrets) and stay in the log otherwise; everything else goes
/// to the log pipe. The last progress line is kept in `last`.
#[derive(Clone)]
pub(crate) struct ProgressPipe {
    log: MemoryOutputPipe,
    sink: Option<ProgressSink>,
    secrets: Arc<Vec<String>>,
    state: Arc<Mutex<LineState>>,
    last: LastProgress,
}

/// Where the stream is within its lines.
#[derive(Default)]
struct LineState {
    /// At the start of a line (nothing written yet counts as one).
    at_start: bool,
    /// Inside a progress line: its bytes so far, without the mark.
    progress: Option<Vec<u8>>,
}

impl ProgressPipe {
    pub(crate) fn new(
        log: MemoryOutputPipe,
        sink: Option<ProgressSink>,
        secrets: Vec<String>,
    ) -> Self {
        ProgressPipe {
            log,
            sink,
            secrets: Arc::new(secrets),
            state: Arc::new(Mutex::new(LineState {
                at_start: true,
                progress: None,
            })),
            last: LastProgress::default(),
        }
    }

    /// Where the last progress line is kept.
    pub(crate) fn last(&self) -> LastProgress {
        self.last.clone()
    }

    /// Splits `bytes` into what goes to the log (returned) and progress lines (reported).
    fn sort(&self, bytes: &[u8]) -> Vec<u8> {
        let mut to_log = Vec::with_capacity(bytes.len());
        let Ok(mut state) = self.state.lock() else {
            return bytes.to_vec();
        };
        for &byte in bytes {
            if let Some(line) = state.progress.as_mut() {
                if byte == b'\n' {
                    let line = state.progress.take().unwrap_or_default();
                    let text = String::from_utf8_lossy(&line);
                    if let Some(mut progress) = Progress::parse(&text) {
                        progress.status = scrub(&progress.status, &self.secrets);
                        if let Some(sink) = &self.sink {
                            sink(&progress);
                        }
                        if let Ok(mut last) = self.last.lock() {
                            *last = Some(progress);
                        }
                    }
                    if self.sink.is_none() {
                        // No engine callback: the line stays in the log, as it was written.
                        to_log.push(PROGRESS_MARK);
                        to_log.extend_from_slice(&line);
                        to_log.push(b'\n');
                    }
                    state.at_start = true;
                } else {
                    line.push(byte);
                }
                continue;
            }
            if state.at_start && byte == PROGRESS_MARK {
                state.progress = Some(Vec::new());
                continue;
            }
            state.at_start = byte == b'\n';
            to_log.push(byte);
        }
        to_log
    }
}

impl IsTerminal for ProgressPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for ProgressPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl OutputStream for ProgressPipe {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        let to_log = self.sort(&bytes);
        if to_log.is_empty() {
            return Ok(());
        }
        self.log.write(Bytes::from(to_log))
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        self.log.flush()
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        // With a sink, progress lines take no room in the log, so the log's room is a safe
        // bound; without one a progress line reaches the log when it ends, and is short.
        self.log.check_write()
    }
}

#[async_trait::async_trait]
impl Pollable for ProgressPipe {
    async fn ready(&mut self) {}
}

impl AsyncWrite for ProgressPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let to_log = self.sort(buf);
        let mut log = self.log.clone();
        match Pin::new(&mut log).poll_write(cx, &to_log) {
            // Every byte given was taken (progress lines by the sink).
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(buf.len())),
            other => other,
        }
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_go_to_the_sink_and_the_rest_to_the_log() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink_seen = seen.clone();
        let log = MemoryOutputPipe::new(1 << 16);
        let mut pipe = ProgressPipe::new(
            log.clone(),
            Some(Arc::new(move |p: &Progress| {
                sink_seen.lock().unwrap().push(p.clone())
            })),
            vec!["s3cret-token".into()],
        );
        // A progress line split across writes, between two log lines.
        pipe.write(Bytes::from_static(b"retrying GET /x\n\x1eprogress 10 2"))
            .unwrap();
        pipe.write(Bytes::from_static(
            b"5 rows sent s3cret-token\nnot \x1e a mark\n",
        ))
        .unwrap();
        pipe.write(Bytes::from_static(b"\x1eprogress 3 0 waiting\n"))
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&log.contents()),
            "retrying GET /x\nnot \u{1e} a mark\n"
        );
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            [
                Progress {
                    done: 10,
                    total: Some(25),
                    status: "rows sent [redacted]".into()
                },
                Progress {
                    done: 3,
                    total: None,
                    status: "waiting".into()
                },
            ]
        );
        assert_eq!(Progress::parse("nonsense"), None);
        assert_eq!(
            pipe.last().lock().unwrap().clone(),
            Some(seen[1].clone()),
            "the last line is kept"
        );
    }

    #[test]
    fn without_a_sink_progress_lines_stay_in_the_log_and_the_last_is_kept() {
        let log = MemoryOutputPipe::new(1 << 16);
        let mut pipe = ProgressPipe::new(log.clone(), None, vec!["s3cret-token".into()]);
        pipe.write(Bytes::from_static(b"a\n\x1eprogress 10 2"))
            .unwrap();
        pipe.write(Bytes::from_static(b"5 rows sent s3cret-token\nb\n"))
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&log.contents()),
            "a\n\u{1e}progress 10 25 rows sent s3cret-token\nb\n",
            "the log is as written (the host scrubs it when the call is over)"
        );
        assert_eq!(
            pipe.last().lock().unwrap().clone(),
            Some(Progress {
                done: 10,
                total: Some(25),
                status: "rows sent [redacted]".into()
            })
        );
    }
}
