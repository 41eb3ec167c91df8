//! `cellguard budget`: the privacy-budget ledger.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use cellguard::pipeline::{EXIT_BAD_INPUT, EXIT_REFUSED};
use cellguard_privacy::ledger::{verify_chain, LedgerEntry};

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
            // Per dataset and period: the releases, and the budget as its newest entry states it.
            let mut rows: BTreeMap<(String, String), Vec<&LedgerEntry>> = BTreeMap::new();
            for e in &entries {
                rows.entry((e.dataset.clone(), e.period.clone())).or_default().push(e);
            }
            say(
                "| dataset | period | releases | budget in | spent | total | remaining | epsilon (pure) | rho (zCDP) |",
            );
            say("|---|---|---:|---|---:|---:|---:|---:|---:|");
            for ((dataset, period), list) in rows {
                let newest = list[list.len() - 1];
                let accounting = newest.accounting();
                let spent: f64 = list.iter().map(|e| e.spend(accounting)).sum();
                let total = newest.budget_total;
                let pure: Option<f64> = list.iter().map(|e| e.epsilon).sum();
                let rho: f64 = list.iter().map(|e| e.rho()).sum();
                say(&format!(
                    "| {dataset} | {period} | {} | {} | {spent:.6} | {total:.6} | {:.6} | {} | {rho:.6} |",
                    list.len(),
                    accounting.unit(),
                    (total - spent).max(0.0),
                    pure.map_or("–".to_string(), |e| format!("{e:.6}")),
                ));
            }
        }
    }
    Ok(())
}
