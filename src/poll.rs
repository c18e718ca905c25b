//! Following a long-running operation of the service (a dataset refresh, a report export):
//! how long to wait before asking again, within the action's own wait budget.
//!
//! The wait comes from the service when it says (`Retry-After`, as Microsoft's export
//! answers do), else from the action's default; it is never longer than what is left of
//! the budget, so the last look at the operation happens just before the budget runs out
//! rather than not at all. The action never sleeps itself: it asks the driver to
//! ([`crate::exchange::Step::Wait`]), so tests run on a scripted clock and the emulator's
//! short `Retry-After` keeps end-to-end tests quick.
//!
//! [`Polling`] is the part of such an exchange that does not depend on the operation: the
//! budget, the request sent once per stage and again after each wait, and the progress to
//! report.

use std::time::Duration;

use crate::error::ActionError;
use crate::exchange::{Progress, Step};
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

/// What [`Polling::outcome`] makes of the outcome the driver hands an exchange's `step`.
#[derive(Debug)]
pub enum Outcome {
    /// Send the current stage's request (at the start, or after a wait).
    Ask,
    /// The answer to that request, of any status.
    Answer(Response),
    /// The action is over: the request failed, or the driver asked twice without an answer.
    Over(ActionError),
}

/// The skeleton of an exchange that follows a long-running operation: its wait budget, whether
/// the current stage's request has been sent, and the progress not yet reported. The exchange
/// keeps its stages and reads the answers; it forwards its `clock` and `progress` here.
#[derive(Debug)]
pub struct Polling {
    poll: Poll,
    /// Set once the current stage's request has been sent; a wait clears it, since the driver
    /// then asks again with no outcome.
    sent: bool,
    /// Progress to report.
    pending: Option<Progress>,
}

impl Polling {
    /// A budget of `limit`, asking again every `every` unless the service says otherwise.
    pub fn new(limit: Duration, every: Duration) -> Self {
        Polling {
            poll: Poll::new(limit, every),
            sent: false,
            pending: None,
        }
    }

    /// Reads the outcome `step` was given: `None` asks for the stage's request (once per
    /// stage or wait), an error ends the action, an answer is the stage's to read.
    pub fn outcome(&mut self, outcome: Option<Result<Response, ActionError>>) -> Outcome {
        match outcome {
            None if self.sent => Outcome::Over(ActionError::transport("request already sent")),
            None => {
                self.sent = true;
                Outcome::Ask
            }
            Some(Err(e)) => Outcome::Over(e),
            Some(Ok(response)) => Outcome::Answer(response),
        }
    }

    /// The operation goes on after `response`: wait before asking again (the stage's request
    /// is then sent anew), or `None` once the budget is spent and the action times out.
    pub fn wait(&mut self, response: &Response) -> Option<Step> {
        let wait = self.poll.next_wait(response)?;
        self.sent = false;
        Some(Step::Wait(wait))
    }

    /// Whole seconds since the budget started.
    pub fn elapsed_s(&self) -> u64 {
        self.poll.elapsed_ms() / 1000
    }

    /// Keeps `progress` until the driver asks for it.
    pub fn report(&mut self, progress: Progress) {
        self.pending = Some(progress);
    }

    /// The exchange's `clock`: the driver's clock before every step.
    pub fn clock(&mut self, now_ms: u64) {
        self.poll.clock(now_ms);
    }

    /// The exchange's `progress`: what was reported since the driver last asked.
    pub fn progress(&mut self) -> Option<Progress> {
        self.pending.take()
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

    #[test]
    fn polling_sends_once_per_stage_and_after_each_wait() {
        let mut polling = Polling::new(Duration::from_secs(10), Duration::from_secs(3));
        polling.clock(1_000);
        assert!(matches!(polling.outcome(None), Outcome::Ask));
        // Asked again without an answer: the request is not sent twice.
        match polling.outcome(None) {
            Outcome::Over(e) => assert_eq!(e.message, "request already sent"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            polling.outcome(Some(Ok(answer(None)))),
            Outcome::Answer(r) if r.status == 202
        ));
        assert!(matches!(
            polling.wait(&answer(Some("2"))),
            Some(Step::Wait(d)) if d == Duration::from_secs(2)
        ));
        // After a wait the stage's request goes out again.
        assert!(matches!(polling.outcome(None), Outcome::Ask));
        match polling.outcome(Some(Err(ActionError::transport("reset")))) {
            Outcome::Over(e) => assert_eq!(e.message, "reset"),
            other => panic!("{other:?}"),
        }

        polling.clock(7_500);
        assert_eq!(polling.elapsed_s(), 6);
        assert_eq!(polling.progress(), None);
        let progress = Progress {
            done: 6,
            total: None,
            status: "refresh Unknown, 6 s".into(),
        };
        polling.report(progress.clone());
        assert_eq!(polling.progress(), Some(progress));
        assert_eq!(polling.progress(), None, "reported once");

        // The budget spent: no more waits, and no new request.
        polling.clock(11_000);
        assert!(polling.wait(&answer(None)).is_none());
        assert!(matches!(polling.outcome(None), Outcome::Over(_)));
    }
}
