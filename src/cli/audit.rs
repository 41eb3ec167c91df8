//! `cellguard audit`: an attacker's audit of a published `sdc` release folder.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use cellguard::pipeline::{EXIT_BAD_INPUT, EXIT_REFUSED};
use cellguard_publish::audit_release;

use super::{say, CliError};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The release folder.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Write every suppressed cell's interval to this CSV file.
    #[arg(long, value_name = "FILE")]
    intervals: Option<PathBuf>,
}

pub fn execute(args: AuditArgs) -> Result<(), CliError> {
    let report = audit_release(&args.dir, args.intervals.is_some())
        .map_err(|e| CliError { code: EXIT_BAD_INPUT, message: e.to_string() })?;
    if let Some(path) = &args.intervals {
        let write = || -> std::io::Result<()> {
            let mut f = std::io::BufWriter::new(std::fs::File::create_new(path)?);
            writeln!(f, "cell,measure,lower,upper")?;
            for c in &report.intervals {
                // Every measure is non-negative: a solver's -0.0000001 is written as 0.00.
                let hi =
                    if c.interval.hi.is_finite() { format!("{:.2}", c.interval.hi.max(0.0)) } else { String::new() };
                writeln!(f, "{},{},{:.2},{hi}", c.codes.join("/"), c.measure, c.interval.lo.max(0.0))?;
            }
            f.flush()
        };
        write().map_err(|e| CliError {
            code: EXIT_BAD_INPUT,
            message: format!("{}: cannot write: {}", path.display(), e.kind()),
        })?;
    }
    say(&format!(
        "{}: {} suppressed values audited; {} can be narrowed to less than two units",
        args.dir.display(),
        report.audited,
        report.too_narrow.len()
    ));
    if !report.empty.is_empty() {
        let cells: Vec<String> =
            report.empty.iter().take(5).map(|c| format!("{} {}", c.codes.join("/"), c.measure)).collect();
        say(&format!(
            "{} more {} pinned at 0 — empty cells, which reveal no contributor; this release publishes empty cells as 0 (no `zero = true` rule), so they are not a disclosure (first: {})",
            report.empty.len(),
            if report.empty.len() == 1 { "is" } else { "are" },
            cells.join("; ")
        ));
    }
    if report.too_narrow.is_empty() {
        return Ok(());
    }
    let first: Vec<String> = report
        .too_narrow
        .iter()
        .take(10)
        .map(|c| {
            format!(
                "{} {} in [{:.2}, {:.2}]",
                c.codes.join("/"),
                c.measure,
                c.interval.lo.max(0.0),
                c.interval.hi.max(0.0)
            )
        })
        .collect();
    Err(CliError { code: EXIT_REFUSED, message: format!("cells an attacker can recover: {}", first.join("; ")) })
}
