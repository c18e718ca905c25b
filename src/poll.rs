//! Following a long-running operation of the service (a dataset refresh, a report export):
//! how long to wait before asking again, within the action's own wait budget.
//!
//! The wait comes from the service when it says (`Retry-After`, as Microsoft's export
//! answers do), else from the action's default; it is never longer than what is left of
//! the budget, so the last look at the operation happens just before the budget runs out
//! rather than not at all. The action never sleeps itself: it asks the driver to
//! ([`crate::exchange::Step::Wait`]), so tests run on a scripted clock and the emulator's
//! short `Retry-After` keeps end-to-end tests quick.

use std::time::Duration;

use crate::http::Response;
use crate::retry::MAX_RETRY_AFTER;

/// A wait budget, measured on the driver's clock from the first time it is read.
#[derive(Debug, Clone)]
pub struct Poll {
    limit_ms: u64,
    default: Duration,
    started_ms: Option<u64>,
    now_ms: u64,
}

impl Poll {
    /// A budget of `limit`, asking again every `default` unless the service says otherwise.
    pub fn new(limit: Duration, default: Duration) -> Self {
        Poll {
            limit_ms: limit.as_millis() as u64,
            default,
            started_ms: None,
            now_ms: 0,
        }
    }

    /// The clock, as the driver gives it before every step; the first reading starts the
    /// budget.
    pub fn clock(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.started_ms.get_or_insert(now_ms);
    }

    /// Milliseconds since the budget started.
    pub fn elapsed_ms(&self) -> u64 {
        self.now_ms
            .saturating_sub(self.started_ms.unwrap_or(self.now_ms))
    }

    /// How long to wait after `response` before asking again: its `Retry-After` (at most a
    /// minute) or the default, cut to what is left of the budget; `None` once nothing is
    /// left.
    pub fn next_wait(&self, response: &Response) -> Option<Duration> {
        let left = self
            .limit_ms
            .checked_sub(self.elapsed_ms())
            .filter(|l| *l > 0)?;
        let wait = response
            .retry_after_seconds()
            .map(|s| Duration::from_secs(s.into()).min(MAX_RETRY_AFTER))
            .unwrap_or(self.default);
        Some(wait.min(Duration::from_millis(left)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(retry_after: Option<&str>) -> Response {
        Response {
            status: 202,
            headers: retry_after
                .map(|v| vec![("retry-after".to_string(), v.to_string())])
                .unwrap_or_default(),
            body: Vec::new(),
        }
    }

    #[test]
    fn waits_as_told_within_the_budget() {
        let mut poll = Poll::new(Duration::from_secs(10), Duration::from_secs(3));
        poll.clock(1_000);
        assert_eq!(poll.next_wait(&answer(None)), Some(Duration::from_secs(3)));
        assert_eq!(poll.next_wait(&answer(Some("0"))), Some(Duration::ZERO));
        assert_eq!(
            poll.next_wait(&answer(Some("2"))),
            Some(Duration::from_secs(2))
        );
        // A Retry-After past the budget is cut to what is left, so there is a last look.
        poll.clock(9_000);
        assert_eq!(poll.elapsed_ms(), 8_000);
        assert_eq!(
            poll.next_wait(&answer(Some("30"))),
            Some(Duration::from_secs(2))
        );
        poll.clock(11_000);
        assert_eq!(poll.next_wait(&answer(None)), None);
    }
}
