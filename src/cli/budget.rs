//! `cellguard budget`: the privacy-budget ledger.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use cellguard::pipeline::{EXIT_BAD_INPUT, EXIT_REFUSED};
use cellguard_privacy::ledger::verify_chain;

use super::{say, CliError};

#[derive(Debug, Args)]
pub struct BudgetArgs {
    #[command(subcommand)]
    command: BudgetCommand,
}

#[derive(Debug, Subcommand)]
enum BudgetCommand {
    /// Show spent and remaining budget per dataset and period, as a table.
    Show {
        /// The ledger file.
        #[arg(value_name = "LEDGER")]
        ledger: PathBuf,
    },
    /// Check the ledger's hash chain: exit 0 when intact, 1 and the first bad entry when it was
    /// edited, or entries were deleted or reordered.
    Verify {
        /// The ledger file.
        #[arg(value_name = "LEDGER")]
        ledger: PathBuf,
    },
}

pub fn execute(args: BudgetArgs) -> Result<(), CliError> {
    let (BudgetCommand::Show { ledger } | BudgetCommand::Verify { ledger }) = &args.command;
    let text = std::fs::read_to_string(ledger).map_err(|e| CliError {
        code: EXIT_BAD_INPUT,
        message: format!("{}: cannot read: {}", ledger.display(), e.kind()),
    })?;
    let entries = verify_chain(&text).map_err(|b| CliError {
        code: EXIT_REFUSED,
        message: format!("{}:{}: the ledger fails verification: {}", ledger.display(), b.line, b.reason),
    })?;
    match args.command {
        BudgetCommand::Verify { .. } => say(&format!("{}: intact ({} entries)", ledger.display(), entries.len())),
        BudgetCommand::Show { .. } => {
            let mut rows: BTreeMap<(String, String), (usize, f64, f64)> = BTreeMap::new();
            for e in &entries {
                let row = rows.entry((e.dataset.clone(), e.period.clone())).or_default();
                row.0 += 1;
                row.1 += e.epsilon;
                row.2 = e.budget_total;
            }
            say("| dataset | period | releases | epsilon spent | epsilon total | remaining |");
            say("|---|---|---:|---:|---:|---:|");
            for ((dataset, period), (n, spent, total)) in rows {
                say(&format!(
                    "| {dataset} | {period} | {n} | {spent:.4} | {total:.4} | {:.4} |",
                    (total - spent).max(0.0)
                ));
            }
        }
    }
    Ok(())
}
