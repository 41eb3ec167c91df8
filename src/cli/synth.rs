//! `cellguard synth`: synthetic source extracts.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use cellguard_synth::{write_payment_defaults, PaymentDefaultsOptions};

use super::{say, CliError};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Source {
    /// Payment-default entries (unit of privacy: person).
    PaymentDefaults,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Which source.
    #[arg(value_enum)]
    source: Source,
    /// Rows to write.
    #[arg(long, value_name = "N")]
    rows: u64,
    /// Seed.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
    /// The year most records fall in.
    #[arg(long, default_value_t = 2025, value_name = "YEAR")]
    year: i32,
    /// The file to write; it must not exist.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn execute(args: SynthArgs) -> Result<(), CliError> {
    let fail = |e: std::io::Error| {
        CliError::usage(format!(
            "{}: cannot write: {}",
            args.out.display(),
            e.kind()
        ))
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&args.out)
        .map_err(fail)?;
    match args.source {
        Source::PaymentDefaults => {
            let options = PaymentDefaultsOptions {
                rows: args.rows,
                seed: args.seed,
                year: args.year,
                subareas: cellguard::bundled::subarea_codes(),
            };
            let persons = write_payment_defaults(&options, file).map_err(fail)?;
            say(&format!(
                "wrote {} rows ({persons} persons) to {}",
                args.rows,
                args.out.display()
            ));
        }
    }
    Ok(())
}
