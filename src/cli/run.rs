//! `cellguard run`: one release.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use cellguard::pipeline::{release, ReleaseRequest};
use cellguard_ingest::{PseudonymKey, ScanOptions, KEY_ENV_VAR};
use cellguard_privacy::SecureNoise;

use super::{describe, say, set_threads, CliError};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The release policy (TOML).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The baseline policy the release policy is checked against [default: baseline.toml
    /// beside the policy].
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// The source extract (CSV, laid out as the policy's schema says).
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// The release folder to create; it must not exist.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// File holding the pseudonymisation key (at least 32 bytes). Without it, the key is read
    /// from the environment variable CELLGUARD_PSEUDONYM_KEY.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Worker threads (0: one per core). The result does not depend on it.
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
    /// Print nothing on success, and no progress.
    #[arg(long, short)]
    quiet: bool,
    /// Print the wall time of each stage on stderr.
    #[arg(long)]
    timings: bool,
    /// Replace the release folder at --out if one exists (atomically: the old release stays
    /// whole until the new one is complete). Folders that are not releases are never replaced.
    #[arg(long)]
    force: bool,
}

/// Loads the key from `--key-file` or the environment; a missing key is an error, never a
/// fallback.
pub fn load_key(key_file: Option<&std::path::Path>) -> Result<PseudonymKey, CliError> {
    match key_file {
        Some(path) => PseudonymKey::from_file(path).map_err(|e| CliError::usage(e.to_string())),
        None => match PseudonymKey::from_env() {
            Some(key) => key.map_err(|e| CliError::usage(e.to_string())),
            None => Err(CliError::usage(format!(
                "no pseudonymisation key: pass --key-file FILE or set {KEY_ENV_VAR} (at least 32 bytes)"
            ))),
        },
    }
}

pub fn execute(args: RunArgs) -> Result<(), CliError> {
    set_threads(args.threads)?;
    let key = load_key(args.key_file.as_deref())?;
    let request = ReleaseRequest {
        policy: args.policy,
        baseline: args.baseline,
        input: args.input,
        out: args.out,
        scan: ScanOptions::default(),
        force: args.force,
    };
    // Progress on stderr when it is a terminal: rows read and rows per second.
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let outcome = release(&request, &key, &mut SecureNoise, |rows| {
        if show_progress {
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            eprint!("\r  {rows} rows read, {:.2} M rows/s   ", rows as f64 / secs / 1e6);
        }
    })?;
    if show_progress {
        eprint!("\r{}\r", " ".repeat(48));
    }
    if args.timings {
        let t = outcome.timings;
        eprintln!(
            "timings: plan {:.3} s, read+pseudonymise+bound {:.3} s, tabulate+protect {:.3} s, write {:.3} s",
            t.plan.as_secs_f64(),
            t.scan_and_bound.as_secs_f64(),
            t.tabulate_and_protect.as_secs_f64(),
            t.write.as_secs_f64()
        );
    }
    if !args.quiet {
        say(&describe(&outcome));
    }
    Ok(())
}
