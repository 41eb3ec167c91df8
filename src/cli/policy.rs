//! `cellguard policy`: tools for compliance reviewers — check, explain, diff, reference.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use cellguard::pipeline::{EXIT_BAD_INPUT, EXIT_REFUSED};
use cellguard_privacy::policy::diff::{diff, to_text, Class};
use cellguard_privacy::policy::explain::{explain, to_markdown};
use cellguard_privacy::policy::reference::policy_reference;
use cellguard_privacy::policy::{check_policy, load_baseline, Baseline, FindingKind};

use super::{say, CliError};

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// Human-readable (Markdown or text).
    Markdown,
    /// JSON, for tools.
    Json,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate policies: syntax, semantics and every baseline floor.
    ///
    /// Checks that each file parses (unknown fields are errors), that its parameters are
    /// consistent (bounds ordered, epsilon positive and finite, classification files present and
    /// well-formed, age bands that cover without overlap, fields that exist in the schema), and
    /// that it respects every floor of the baseline. Prints each problem with its file, line and
    /// field path. A baseline file given in FILE is checked as a baseline.
    ///
    /// Exit 0 when every policy is clean, 1 when any has a violation, 2 when a file cannot be read.
    Check {
        /// Policy files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The baseline [default: baseline.toml beside each policy, if there is one].
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
    },
    /// Explain a policy in plain language, for reviewers.
    ///
    /// What is released, at which geography and ages, whom it protects and what the guarantee
    /// means, the expected error of each measure, the suppression rules, and what the policy
    /// does not protect against. Markdown on stdout (or JSON with --format json).
    Explain {
        /// The policy file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
    },
    /// Show the privacy-relevant differences between two versions of a policy.
    ///
    /// Each difference is classed as loosening, tightening or neutral (raising epsilon, lowering
    /// a threshold, making a dimension finer and widening bounds loosen). Exit 1 when anything
    /// loosens, so a review pipeline can require a sign-off; 0 otherwise; 2 when a file cannot
    /// be read.
    Diff {
        /// The old policy.
        #[arg(value_name = "OLD")]
        old: PathBuf,
        /// The new policy.
        #[arg(value_name = "NEW")]
        new: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
    },
    /// Print the policy language reference (docs/policy-reference.md), generated from the code.
    Reference,
}

fn unreadable(e: impl std::fmt::Display) -> CliError {
    CliError { code: EXIT_BAD_INPUT, message: e.to_string() }
}

fn is_baseline(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .is_some_and(|t| t.contains_key("floors"))
}

fn baseline_for(policy: &Path, given: Option<&Path>) -> Result<Option<Baseline>, CliError> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => {
            let beside = policy.parent().unwrap_or(Path::new(".")).join("baseline.toml");
            if !beside.is_file() {
                return Ok(None);
            }
            beside
        }
    };
    load_baseline(&path).map(Some).map_err(unreadable)
}

fn check(files: &[PathBuf], baseline: Option<&Path>) -> Result<(), CliError> {
    let (mut violations, mut unreadable_files) = (0usize, 0usize);
    for file in files {
        if is_baseline(file) {
            match load_baseline(file) {
                Ok(_) => say(&format!("{}: ok (baseline)", file.display())),
                Err(e) => {
                    say(&e.to_string());
                    violations += 1;
                }
            }
            continue;
        }
        let base = match baseline_for(file, baseline) {
            Ok(b) => b,
            Err(e) => {
                say(&e.message);
                unreadable_files += 1;
                continue;
            }
        };
        match check_policy(file, base.as_ref()) {
            Err(e) => {
                say(&e.to_string());
                unreadable_files += 1;
            }
            Ok(c) if c.findings.is_empty() => {
                let against = base
                    .map(|b| format!(" (baseline {})", b.path.display()))
                    .unwrap_or_else(|| " (no baseline found: floors not checked)".into());
                say(&format!("{}: ok{against}", file.display()));
            }
            Ok(c) => {
                violations += c.findings.len();
                for f in &c.findings {
                    say(&format!("{} [{}]", f.render(file), f.kind.label()));
                }
            }
        }
    }
    if unreadable_files > 0 {
        return Err(CliError {
            code: EXIT_BAD_INPUT,
            message: format!("{unreadable_files} file(s) could not be read"),
        });
    }
    if violations > 0 {
        return Err(CliError { code: EXIT_REFUSED, message: format!("{violations} violation(s)") });
    }
    Ok(())
}

pub fn execute(args: PolicyArgs) -> Result<(), CliError> {
    match args.command {
        PolicyCommand::Check { files, baseline } => check(&files, baseline.as_deref()),
        PolicyCommand::Explain { file, format } => {
            let c = check_policy(&file, None).map_err(unreadable)?;
            let invalid: Vec<String> =
                c.findings.iter().filter(|f| f.kind == FindingKind::Invalid).map(|f| f.render(&file)).collect();
            if !invalid.is_empty() {
                return Err(CliError {
                    code: EXIT_BAD_INPUT,
                    message: format!(
                        "cannot explain an invalid policy; run `cellguard policy check`:\n  {}",
                        invalid.join("\n  ")
                    ),
                });
            }
            let e = explain(&c).ok_or_else(|| unreadable(format!("{}: the policy does not parse", file.display())))?;
            match format {
                Format::Markdown => say(to_markdown(&e).trim_end()),
                Format::Json => say(&serde_json::to_string_pretty(&e).map_err(unreadable)?),
            }
            Ok(())
        }
        PolicyCommand::Diff { old, new, format } => {
            let parse = |p: &Path| {
                let c = check_policy(p, None).map_err(unreadable)?;
                c.file.ok_or_else(|| {
                    let first = c.findings.first().map(|f| f.render(p)).unwrap_or_default();
                    unreadable(format!("{}: does not parse: {first}", p.display()))
                })
            };
            let changes = diff(&parse(&old)?, &parse(&new)?);
            match format {
                Format::Markdown => say(to_text(&changes).trim_end()),
                Format::Json => say(&serde_json::to_string_pretty(&changes).map_err(unreadable)?),
            }
            if changes.iter().any(|c| c.class == Class::Loosening) {
                return Err(CliError { code: EXIT_REFUSED, message: String::new() });
            }
            Ok(())
        }
        PolicyCommand::Reference => {
            say(policy_reference().trim_end());
            Ok(())
        }
    }
}
