//! Showing an action's progress: a bar drawn with indicatif on a terminal, plain lines on
//! stderr otherwise (a log, a CI job).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use pbi_host::{Progress, ProgressSink};

/// Shows the progress of one action run.
pub struct Shown {
    bar: Option<ProgressBar>,
    sink: ProgressSink,
}

impl Shown {
    /// Progress of the action `label`: drawn when stderr is a terminal, else a line each.
    pub fn new(label: &str) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_prefix(label.to_string());
            let drawn = bar.clone();
            let sink: ProgressSink = Arc::new(move |p: &Progress| draw(&drawn, p));
            Shown {
                bar: Some(bar),
                sink,
            }
        } else {
            let label = label.to_string();
            let sink: ProgressSink = Arc::new(move |p: &Progress| eprintln!("{}", line(&label, p)));
            Shown { bar: None, sink }
        }
    }

    /// The callback to hand the connector.
    pub fn sink(&self) -> ProgressSink {
        self.sink.clone()
    }

    /// Clears the bar once the action has ended.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Updates the bar: a bar with a length when the total is known, a spinner otherwise.
fn draw(bar: &ProgressBar, p: &Progress) {
    match p.total {
        Some(total) => {
            if bar.length() != Some(total) {
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_length(total);
            }
            bar.set_position(p.done);
        }
        None => bar.set_style(
            ProgressStyle::with_template("{prefix} {spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
    bar.set_message(p.status.clone());
}

/// The plain line of a report.
pub fn line(label: &str, p: &Progress) -> String {
    match p.total {
        Some(total) => format!("{label}: {}/{total} {}", p.done, p.status),
        None => format!("{label}: {}", p.status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines() {
        let rows = Progress {
            done: 10_000,
            total: Some(25_000),
            status: "rows sent".into(),
        };
        assert_eq!(
            line("create-rows", &rows),
            "create-rows: 10000/25000 rows sent"
        );
        let waiting = Progress {
            done: 20,
            total: None,
            status: "refresh Unknown, 20 s".into(),
        };
        assert_eq!(
            line("refresh-dataset", &waiting),
            "refresh-dataset: refresh Unknown, 20 s"
        );
    }
}
