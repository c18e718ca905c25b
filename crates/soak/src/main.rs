//! `pbi-soak`: runs flows continuously through the Power BI component against a local
//! Power BI service with faults injected at random, then checks that no row was lost or
//! duplicated and that memory and file descriptors stayed flat (see the library's docs and
//! docs/reliability.md).
//!
//! ```text
//! cargo run --release -p pbi-soak [-- --duration 10m --workers 4 --fault-rate 5 --json]
//! ```
//!
//! Exits 0 when every check passed, 1 when one failed, 2 when the soak could not start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use pbi_soak::Options;

/// Runs Power BI flows against a local emulator with faults injected, then checks that no
/// row was lost or duplicated. Loopback only; it stops by itself.
#[derive(Debug, Parser)]
#[command(name = "pbi-soak", version)]
struct Args {
    /// How long to start new flows (e.g. 30s, 2m, 1h); the flows under way then finish.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Flows side by side on one connector.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    workers: u16,
    /// Faults injected per second, on average.
    #[arg(long, default_value_t = 5.0)]
    fault_rate: f64,
    /// The host's limit on one invocation; some slow reads are made to go beyond it.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    call_timeout: Duration,
    /// Where the local service listens (a loopback address; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The most rows in one push.
    #[arg(long, default_value_t = 25_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_rows_per_push: u32,
    /// How often to sample resident memory and open file descriptors.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    sample_every: Duration,
    /// Allowed growth of resident memory from the first window to the last, in MiB.
    #[arg(long, default_value_t = 32)]
    rss_tolerance_mib: u64,
    /// Allowed growth of open file descriptors from the first window to the last.
    #[arg(long, default_value_t = 8)]
    fd_tolerance: u64,
    /// Sample the resident set as it is, without having glibc's allocator return the free
    /// pages it keeps first (see docs/reliability.md, "Resident memory and the allocator").
    #[arg(long)]
    no_trim: bool,
    /// Repeats a run's random choices.
    #[arg(long)]
    seed: Option<u64>,
    /// Another build of the component.
    #[arg(long)]
    component: Option<PathBuf>,
    /// Print the report as JSON (with every resource sample) on stdout, the text on stderr.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; `cargo run --release -p pbi-soak` for real figures");
    }
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "pbi-soak: {} is not a loopback address: the soak runs against a local service only",
            args.listen
        );
        return ExitCode::from(2);
    }
    let options = Options {
        duration: args.duration,
        workers: usize::from(args.workers),
        fault_rate: args.fault_rate,
        call_timeout: args.call_timeout,
        listen: args.listen,
        max_rows_per_push: args.max_rows_per_push as usize,
        sample_every: args.sample_every.max(Duration::from_millis(100)),
        component: args.component,
        seed: args.seed,
        rss_tolerance_kib: args.rss_tolerance_mib * 1024,
        fd_tolerance: args.fd_tolerance,
        trim_before_sample: !args.no_trim,
    };
    eprintln!(
        "pbi-soak: {} of flows, {} workers, {} faults/s",
        humantime::format_duration(options.duration),
        options.workers,
        options.fault_rate
    );
    let report = match pbi_soak::run(options) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("pbi-soak: {e:#}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        // The text for whoever watches the terminal, the JSON for the machine.
        eprint!("{}", report.text());
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("pbi-soak: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{}", report.text());
    }
    if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
