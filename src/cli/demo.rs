//! `cellguard demo`: the embedded default run.

use std::path::PathBuf;

use clap::Args;

use cellguard::pipeline::{release, ReleaseRequest};
use cellguard_ingest::{PseudonymKey, ScanOptions};
use cellguard_privacy::{secure_random_bytes, SecureNoise};
use cellguard_synth::{write_payment_defaults, PaymentDefaultsOptions};

use super::{describe, say, CliError};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Working folder for the demo.
    #[arg(long, default_value = "cellguard-demo", value_name = "DIR")]
    dir: PathBuf,
    /// Rows of synthetic payment-default entries.
    #[arg(long, default_value_t = 300_000, value_name = "N")]
    rows: u64,
    /// Seed of the synthetic data (not of the noise, which is always secure).
    #[arg(long, default_value_t = 2025, value_name = "S")]
    seed: u64,
}

pub fn execute(args: DemoArgs) -> Result<(), CliError> {
    let io =
        |what: &str, e: std::io::Error| CliError::usage(format!("{}: cannot {what}: {}", args.dir.display(), e.kind()));
    let policies = args.dir.join("policies");
    cellguard::bundled::write_all(&policies).map_err(|e| io("write the bundled policies", e))?;
    let input_dir = args.dir.join("input");
    std::fs::create_dir_all(&input_dir).map_err(|e| io("create the input folder", e))?;
    let input = input_dir.join("payment-defaults.csv");
    let options = PaymentDefaultsOptions {
        rows: args.rows,
        seed: args.seed,
        year: 2025,
        subareas: cellguard::bundled::subarea_codes(),
    };
    let file = std::fs::File::create(&input).map_err(|e| io("write the synthetic extract", e))?;
    let persons = write_payment_defaults(&options, file).map_err(|e| io("write the synthetic extract", e))?;
    say(&format!("wrote {} synthetic payment-default entries of {persons} persons to {}", args.rows, input.display()));

    let releases = args.dir.join("releases");
    std::fs::create_dir_all(&releases).map_err(|e| io("create the releases folder", e))?;
    let stamp = cellguard::timefmt::rfc3339(cellguard::timefmt::now_secs()).replace([':', '-'], "");
    let out = releases.join(format!("payment-defaults-quarterly-{stamp}"));
    let key_bytes = secure_random_bytes(32).map_err(|e| CliError::usage(e.to_string()))?;
    let key = PseudonymKey::from_bytes(key_bytes).map_err(|e| CliError::usage(e.to_string()))?;
    let request = ReleaseRequest {
        policy: policies.join("payment-defaults-quarterly.toml"),
        baseline: None,
        input,
        out,
        scan: ScanOptions::default(),
    };
    let outcome = release(&request, &key, &mut SecureNoise, |_| {})?;
    say(&describe(&outcome));
    say(&format!("read {} for what the numbers mean", outcome.written.path.join("report.md").display()));
    Ok(())
}
