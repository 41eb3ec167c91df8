//! `cellguard run`: one release.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use cellguard::pipeline::{release, ReleaseRequest};
use cellguard_ingest::{PseudonymKey, ScanOptions, KEY_ENV_VAR};
use cellguard_privacy::SecureNoise;

use cellguard::pipeline::EXIT_REFUSED;

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
    #[arg(long, value_name = "FILE", required_unless_present = "dry_run")]
    input: Option<PathBuf>,
    /// The release folder to create; it must not exist.
    #[arg(long, value_name = "DIR", required_unless_present = "dry_run")]
    out: Option<PathBuf>,
    /// Print the release's privacy cost, the dataset's remaining budget and the expected
    /// accuracy of each measure, from the policy alone: no data is read, nothing is written.
    /// Exit 1 when the release would be refused.
    #[arg(long)]
    dry_run: bool,
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

/// `--dry-run`: the cost and the expected accuracy, from the policy and the ledger alone.
fn dry_run(args: &RunArgs) -> Result<(), CliError> {
    use cellguard_privacy::ledger::{spent, verify_chain};
    let baseline_path = cellguard::pipeline::resolve_baseline(&args.policy, args.baseline.as_deref())?;
    let baseline = cellguard_privacy::load_baseline(&baseline_path)
        .map_err(|e| CliError::from(cellguard::pipeline::PipelineError::Privacy(e)))?;
    let plan = cellguard_privacy::load_policy(&args.policy, Some(&baseline))
        .map_err(|e| CliError::from(cellguard::pipeline::PipelineError::Privacy(e)))?;
    say(&format!(
        "release `{}`: {} cells, unit of privacy {}",
        plan.name,
        plan.n_output_cells(),
        plan.unit_of_privacy.name()
    ));
    say("| measure | epsilon | rho | sensitivity | noise sd | 95% of values within ± |");
    say("|---|---:|---:|---:|---:|---:|");
    for m in &plan.measures {
        let unit = match m.kind {
            cellguard_privacy::MeasureKind::Sum { scale, .. } => 10f64.powi(scale as i32),
            _ => 1.0,
        };
        say(&format!(
            "| {} | {} | {:.6} | {} | {:.2} | {} |",
            m.name,
            m.epsilon.map_or("–".to_string(), |e| e.to_string()),
            m.rho,
            {
                let s = m.sensitivity / unit;
                if s.fract() == 0.0 {
                    format!("{s:.0}")
                } else {
                    format!("{s:.4}")
                }
            },
            m.noise_sd() / unit,
            m.ci95_half_width() as f64 / unit
        ));
    }
    let Some(b) = &plan.budget else {
        say("no budget ledger (exact sdc release)");
        return Ok(());
    };
    let cost = plan.cost().unwrap_or(f64::INFINITY);
    let unit = b.accounting.unit();
    let before = match std::fs::read_to_string(&b.ledger) {
        Ok(text) => {
            let entries = verify_chain(&text).map_err(|e| CliError {
                code: EXIT_REFUSED,
                message: format!("{}:{}: the ledger fails verification: {}", b.ledger.display(), e.line, e.reason),
            })?;
            spent(&entries, &b.dataset, &b.period, b.accounting)
        }
        Err(_) => 0.0,
    };
    say(&format!(
        "total {unit} {cost}; dataset `{}` period {}: spent {before}, would be {} of {}",
        b.dataset,
        b.period,
        before + cost,
        b.total
    ));
    if let Some(delta) = b.delta {
        let eps = |rho: f64| {
            cellguard_privacy::plan::epsilon_at_delta(rho, delta)
                .map_err(|e| CliError::from(cellguard::pipeline::PipelineError::Privacy(e)))
        };
        say(&format!(
            "as (epsilon, delta) at delta = {delta:e}: this release epsilon = {:.4}; the period after it epsilon = {:.4}",
            eps(plan.total_rho())?,
            eps(before + cost)?
        ));
    }
    if before + cost > b.total * (1.0 + 1e-12) {
        return Err(CliError { code: EXIT_REFUSED, message: "the release would exceed the dataset's budget".into() });
    }
    Ok(())
}

pub fn execute(args: RunArgs) -> Result<(), CliError> {
    if args.dry_run {
        return dry_run(&args);
    }
    let (Some(input), Some(out)) = (args.input.clone(), args.out.clone()) else {
        return Err(CliError::usage("--input and --out are required (or use --dry-run)"));
    };
    set_threads(args.threads)?;
    // A key is needed unless the policy has no unit field; `release` says so when it is missing.
    let key = match (&args.key_file, std::env::var_os(KEY_ENV_VAR)) {
        (None, None) => None,
        _ => Some(load_key(args.key_file.as_deref())?),
    };
    let request = ReleaseRequest {
        policy: args.policy,
        baseline: args.baseline,
        input,
        out,
        scan: ScanOptions::default(),
        force: args.force,
    };
    // Progress on stderr when it is a terminal: rows read and rows per second.
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let outcome = release(&request, key.as_ref(), &mut SecureNoise, |rows| {
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
