//! The retry policy: which outcomes are retried, and how long to wait first.
//!
//! One policy for every action (see `docs/reliability.md`):
//!
//! | outcome | idempotent method | POST / PATCH |
//! |---|---|---|
//! | network error, 5xx | retried | only with Retry On All Errors |
//! | 429 | retried | retried when the request was refused whole (Create Rows), else only with Retry On All Errors |
//! | other 3xx / 4xx | only with Retry On All Errors | only with Retry On All Errors |
//! | timeout | never: the budget is spent | never |
//!
//! `Retry-After` wins over the computed delay; a `Retry-After` longer than
//! [`MAX_RETRY_AFTER`] is not waited for in the step: the throttled error goes back to the
//! engine with the number, so the flow can be rescheduled.

use std::time::Duration;

use crate::error::{ActionError, ErrorKind};
use crate::http::{Method, Response};

/// The first delay of exponential backoff when no Retry Delay is given: a zero base would
/// retry at once and hammer a service that is already refusing.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// The longest single backoff delay.
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// The longest `Retry-After` a step waits for by itself.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How an action retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The fixed delay between attempts (when backoff is off).
    pub delay: Duration,
    /// Exponential backoff with jitter instead of the fixed delay.
    pub exponential: bool,
    /// Retry every error answer, whatever its method and status.
    pub retry_all_errors: bool,
    /// A POST whose 429 means nothing was applied (Create Rows) is retried on 429.
    pub post_refused_on_429: bool,
    /// One budget over all attempts and waits.
    pub timeout: Option<Duration>,
}

impl RetryPolicy {
    /// No retries at all.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        delay: Duration::ZERO,
        exponential: false,
        retry_all_errors: false,
        post_refused_on_429: false,
        timeout: None,
    };

    /// The policy of the typed actions: three retries with backoff.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        max_retries: 3,
        delay: Duration::ZERO,
        exponential: true,
        retry_all_errors: false,
        post_refused_on_429: false,
        timeout: None,
    };

    /// Whether this outcome of attempt number `attempt` (0 = the first) should be retried,
    /// and after how long. `jitter` is a random number in [0, 1).
    pub fn next_delay(
        &self,
        method: Method,
        outcome: &Result<Response, ActionError>,
        attempt: u32,
        jitter: f64,
    ) -> Option<Duration> {
        if attempt >= self.max_retries {
            return None;
        }
        let retry_after = match outcome {
            Ok(response) if response.status < 300 => return None,
            Ok(response) => {
                let status = response.status;
                let transient = status >= 500 || status == 429;
                let allowed = self.retry_all_errors
                    || (transient && method.is_idempotent())
                    || (status == 429 && self.post_refused_on_429);
                if !allowed {
                    return None;
                }
                response
                    .retry_after_seconds()
                    .map(|s| Duration::from_secs(s.into()))
            }
            // A request that never left can be sent again whatever its method.
            Err(e) if e.kind == ErrorKind::Transport || e.not_sent => {
                if !(method.is_idempotent() || self.retry_all_errors || e.not_sent) {
                    return None;
                }
                None
            }
            Err(_) => return None,
        };
        match retry_after {
            Some(wait) if wait > MAX_RETRY_AFTER => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(attempt, jitter)),
        }
    }

    /// The computed delay before retry number `attempt + 1`.
    fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        if !self.exponential {
            return self.delay;
        }
        let base = if self.delay.is_zero() {
            BACKOFF_BASE
        } else {
            self.delay
        };
        let full = base
            .saturating_mul(1u32 << attempt.min(16))
            .min(BACKOFF_CAP);
        // "Equal jitter": half fixed, half random, so delays spread without collapsing to 0.
        let half = full / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Result<Response, ActionError> {
        Ok(Response {
            status: code,
            ..Default::default()
        })
    }

    #[test]
    fn idempotent_methods_retry_5xx_and_429_only() {
        let p = RetryPolicy {
            max_retries: 2,
            delay: Duration::from_millis(10),
            ..RetryPolicy::NONE
        };
        assert_eq!(
            p.next_delay(Method::Get, &status(503), 0, 0.5),
            Some(Duration::from_millis(10))
        );
        assert_eq!(
            p.next_delay(Method::Get, &status(429), 1, 0.5),
            Some(Duration::from_millis(10))
        );
        assert_eq!(
            p.next_delay(Method::Get, &status(503), 2, 0.5),
            None,
            "out of retries"
        );
        assert_eq!(p.next_delay(Method::Get, &status(404), 0, 0.5), None);
        assert_eq!(p.next_delay(Method::Post, &status(503), 0, 0.5), None);
        assert_eq!(p.next_delay(Method::Get, &status(200), 0, 0.5), None);
        let e = Err(ActionError::transport("reset"));
        assert!(p.next_delay(Method::Delete, &e, 0, 0.5).is_some());
        assert!(p.next_delay(Method::Post, &e, 0, 0.5).is_none());
        let t = Err(ActionError::timeout("late"));
        assert!(p.next_delay(Method::Get, &t, 0, 0.5).is_none());
        // A request that never left is sent again, even a POST.
        let refused = Err(ActionError::transport("refused").never_sent());
        assert!(p.next_delay(Method::Post, &refused, 0, 0.5).is_some());
        let connect = Err(ActionError::timeout("connect").never_sent());
        assert!(p.next_delay(Method::Post, &connect, 0, 0.5).is_some());
    }

    #[test]
    fn retry_all_errors_and_refused_posts() {
        let all = RetryPolicy {
            max_retries: 1,
            retry_all_errors: true,
            ..RetryPolicy::NONE
        };
        assert!(all.next_delay(Method::Post, &status(400), 0, 0.0).is_some());
        let rows = RetryPolicy {
            max_retries: 1,
            post_refused_on_429: true,
            ..RetryPolicy::NONE
        };
        assert!(
            rows.next_delay(Method::Post, &status(429), 0, 0.0)
                .is_some()
        );
        assert!(
            rows.next_delay(Method::Post, &status(500), 0, 0.0)
                .is_none()
        );
    }

    #[test]
    fn retry_after_wins_and_long_ones_go_back() {
        let p = RetryPolicy {
            max_retries: 3,
            ..RetryPolicy::DEFAULT
        };
        let mut r = Response {
            status: 429,
            headers: vec![("Retry-After".into(), "2".into())],
            body: vec![],
        };
        assert_eq!(
            p.next_delay(Method::Get, &Ok(r.clone()), 0, 0.9),
            Some(Duration::from_secs(2))
        );
        r.headers[0].1 = "3600".into();
        assert_eq!(p.next_delay(Method::Get, &Ok(r), 0, 0.9), None);
    }

    #[test]
    fn backoff_grows_has_jitter_and_never_zero() {
        let p = RetryPolicy {
            max_retries: 10,
            ..RetryPolicy::DEFAULT
        };
        let d0 = p.next_delay(Method::Get, &status(500), 0, 0.0).unwrap();
        let d0j = p.next_delay(Method::Get, &status(500), 0, 0.99).unwrap();
        let d3 = p.next_delay(Method::Get, &status(500), 3, 0.0).unwrap();
        assert_eq!(d0, BACKOFF_BASE / 2);
        assert!(d0j > d0, "jitter adds to the delay");
        assert_eq!(d3, BACKOFF_BASE * 8 / 2);
        let d9 = p.next_delay(Method::Get, &status(500), 9, 1.0).unwrap();
        assert!(d9 <= BACKOFF_CAP);
    }
}
