//! `cellguard run`: one release.

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
    /// Print nothing on success.
    #[arg(long, short)]
    quiet: bool,
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
    };
    let outcome = release(&request, &key, &mut SecureNoise, |_| {})?;
    if !args.quiet {
        say(&describe(&outcome));
    }
    Ok(())
}
