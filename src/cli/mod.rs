//! Command-line definitions (clap derive), one module per subcommand.

mod audit;
mod budget;
mod demo;
mod policy;
mod run;
mod synth;
mod verify;

use std::io::Write;

use clap::{Parser, Subcommand};

use cellguard::pipeline::{PipelineError, EXIT_BAD_INPUT};

/// cellguard turns sensitive person-level extracts into sub-area statistics that are safe to
/// publish: it bounds each person's contribution, adds calibrated differential-privacy noise
/// (opendp) and charges it to a persistent budget ledger, or applies statistical disclosure
/// control with an attacker audit, and writes a release folder (cells.csv, manifest.json,
/// report.md) that a dashboard can load directly.
///
/// Exit status: 0 released (or success), 1 refused by policy or budget, 2 bad input or usage.
#[derive(Debug, Parser)]
#[command(name = "cellguard", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make one release from a source extract under a policy.
    ///
    /// Reads the policy (and the schema and classification it names), streams the extract,
    /// pseudonymises the unit of privacy with a keyed hash (HMAC-SHA-256), bounds each unit's
    /// contributions, adds noise from opendp's secure sampler, suppresses cells below the noisy
    /// threshold, and writes the release folder atomically: either the whole folder appears or
    /// nothing does. Exit 0 released, 1 refused by policy, 2 bad input or usage.
    Run(run::RunArgs),
    /// Check, explain and compare policies (for compliance reviewers).
    Policy(policy::PolicyArgs),
    /// Show or verify a privacy-budget ledger.
    Budget(budget::BudgetArgs),
    /// Audit a published `sdc` release as an attacker would.
    ///
    /// Rebuilds the table's totals from the release folder alone and computes, by linear
    /// programming, the tightest interval an attacker can derive for every suppressed cell.
    /// Exit 0 when none can be narrowed to less than two units, 1 otherwise (naming the cells),
    /// 2 when the folder cannot be read (or is not an `sdc` release). Values pinned at exactly
    /// 0 belong to empty cells and are listed apart, unless the release protects zeros (the
    /// 0 % rule with `zero = true`), where they fail the audit too.
    Audit(audit::AuditArgs),
    /// Generate synthetic data for every bundled source, release it, and say where.
    ///
    /// Writes the bundled policies under DIR/policies, synthetic extracts of the payment-default,
    /// youth-chat, sports-licence and food-card sources under DIR/input (seeded: the same data
    /// every time), and one release folder per source under DIR/releases/<time>. The noise is
    /// real and differs between runs; the pseudonymisation key is random and forgotten after the
    /// run; the demo's budget ledgers start empty each time.
    Demo(demo::DemoArgs),
    /// Write a synthetic source extract (for trying and benchmarking).
    ///
    /// The output is a deterministic function of the source, --rows, --seed and --year, with
    /// the columns and dialect of the source's schema under policies/schemas/.
    Synth(synth::SynthArgs),
    /// Check a release folder: checksums, row counts, statuses.
    ///
    /// Every file must match its checksum in manifest.json, no file may be missing or extra,
    /// and cells.csv must have one row per cell and measure with statuses that agree with the
    /// values. Exit 0 when intact, 2 otherwise.
    Verify(verify::VerifyArgs),
}

/// A failed command: the exit status and a message for stderr.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError { code: EXIT_BAD_INPUT, message: message.into() }
    }
}

impl From<PipelineError> for CliError {
    fn from(e: PipelineError) -> Self {
        CliError { code: e.exit_code(), message: e.to_string() }
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Demo(args) => demo::execute(args),
        Command::Policy(args) => policy::execute(args),
        Command::Budget(args) => budget::execute(args),
        Command::Audit(args) => audit::execute(args),
        Command::Synth(args) => synth::execute(args),
        Command::Verify(args) => verify::execute(args),
    }
}

/// Writes lines to stdout. A closed pipe (`cellguard … | head`) is not an error: output stops.
pub fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}") {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("cellguard: cannot write to standard output: {}", e.kind());
        }
    }
}

/// Sets the number of worker threads (0: one per core).
pub fn set_threads(threads: usize) -> Result<(), CliError> {
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|e| CliError::usage(format!("cannot start {threads} worker threads: {e}")))?;
    }
    Ok(())
}

/// A human summary of a finished release.
pub fn describe(outcome: &cellguard::pipeline::ReleaseOutcome) -> String {
    let m = &outcome.written.manifest;
    let mut lines = vec![format!("released `{}` to {}", m.release, outcome.written.path.display())];
    let statuses: Vec<String> =
        m.status_counts.iter().filter(|(_, n)| **n > 0).map(|(s, n)| format!("{n} {s}")).collect();
    lines.push(format!(
        "  {} cells x {} measures = {} values: {}",
        m.n_cells,
        m.measures.len(),
        m.n_rows,
        statuses.join(", ")
    ));
    if m.privacy_loss.is_empty() {
        lines.push(format!("  exact values under statistical disclosure control (unit: {})", m.unit_of_privacy));
    } else {
        let (name, total) = match m.total_epsilon {
            Some(e) => ("epsilon", e),
            None => ("rho", m.total_rho.unwrap_or(0.0)),
        };
        let each: Vec<String> = m
            .privacy_loss
            .iter()
            .map(|l| format!("{} {:.4}", l.measure, if name == "rho" { l.rho } else { l.epsilon.unwrap_or(0.0) }))
            .collect();
        lines.push(format!(
            "  {name} spent: {} (total {total:.4}, unit of privacy: {})",
            each.join(", "),
            m.unit_of_privacy
        ));
    }
    if let Some(i) = m.inputs.first() {
        lines.push(format!(
            "  input: {} rows read, {} used, {} rejected, {} outside the key set",
            i.rows_read, i.rows_used, i.rows_rejected, i.rows_out_of_scope
        ));
    }
    lines.push(
        "  files: cells.csv (load in Power BI), report.md (for reviewers), manifest.json (checksums and privacy loss)"
            .to_string(),
    );
    lines.join("\n")
}
