//! The phases of the component's calls, as the real host times them: a
//! [`pbi_host::CallObserver`] set in [`pbi_host::HostConfig::observer`] (with pbi-host's
//! `observe` feature, so that the guest's calls into the host are counted and timed too).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{Result, bail, ensure};
use pbi_host::{CallObserver, CallStats, ErrorKind, Invocation};

/// Keeps the [`CallStats`] of every call until they are taken.
#[derive(Debug, Default)]
pub struct Recorder {
    calls: Mutex<Vec<CallStats>>,
}

impl CallObserver for Recorder {
    fn finished(&self, stats: &CallStats) {
        self.lock().push(stats.clone());
    }
}

impl Recorder {
    /// The stats recorded since the last take, oldest first.
    pub fn take(&self) -> Vec<CallStats> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<CallStats>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One invocation made with the observer on.
pub struct Observed {
    /// What `Connector::invoke_owned` returned.
    pub invocation: Invocation,
    /// The host's figures for its one call of the component.
    pub stats: CallStats,
    /// The whole invocation, as its caller waited for it.
    pub total: Duration,
}

impl Observed {
    /// Takes the one call `recorder` saw for `action` during `invocation`; fails when the
    /// component was not called (the host refused the inputs) or was called more than once.
    pub fn new(
        action: &str,
        invocation: Invocation,
        total: Duration,
        recorder: &Recorder,
    ) -> Result<Self> {
        let mut calls = recorder.take();
        let stats = match (calls.pop(), calls.is_empty()) {
            (Some(stats), true) => stats,
            (None, _) => bail!(
                "{action}: the component was not called (the host answered {:?})",
                invocation.result
            ),
            (Some(_), false) => bail!("{action}: {} calls, one expected", calls.len() + 1),
        };
        ensure!(
            stats.function == action,
            "the observer saw {}, not {action}",
            stats.function
        );
        ensure!(stats.completed, "{action}: the call did not complete");
        Ok(Self {
            invocation,
            stats,
            total,
        })
    }

    /// The call's time outside its calls into the host: guest code, lowering the arguments
    /// and lifting the result.
    pub fn in_guest(&self) -> Duration {
        self.stats.call.saturating_sub(self.stats.host_time)
    }

    /// Instantiation and the call.
    pub fn in_store(&self) -> Duration {
        self.stats.instantiate + self.stats.call
    }

    /// What the invocation spent besides instantiating and calling: checking and converting
    /// the inputs, setting up and dropping the store, reading the result.
    pub fn around(&self) -> Duration {
        self.total.saturating_sub(self.in_store())
    }

    /// Checks that the guest refused the invocation as invalid input `input`, without a
    /// request.
    pub fn refused_in_guest(&self, input: &str) -> Result<()> {
        match &self.invocation.result {
            Err(e)
                if e.kind == ErrorKind::InvalidInput
                    && e.input.as_deref() == Some(input)
                    && self.invocation.requests.is_empty() =>
            {
                Ok(())
            }
            Err(e) => bail!(
                "{}: expected {} on `{input}` without a request; got {} ({e}) after {} requests",
                self.stats.function,
                ErrorKind::InvalidInput.as_str(),
                e.kind.as_str(),
                self.invocation.requests.len()
            ),
            Ok(output) => bail!(
                "{}: expected a refusal of `{input}`, got {}",
                self.stats.function,
                output.data
            ),
        }
    }
}
