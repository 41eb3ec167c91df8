//! `cellguard demo`: the embedded default run — every bundled source, synthetic, released.

use std::path::PathBuf;

use clap::Args;

use cellguard::pipeline::{release, ReleaseRequest};
use cellguard_ingest::{PseudonymKey, ScanOptions};
use cellguard_privacy::{secure_random_bytes, SecureNoise};

use super::synth::{write_source, Source};
use super::{say, CliError};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Working folder for the demo.
    #[arg(long, default_value = "cellguard-demo", value_name = "DIR")]
    dir: PathBuf,
    /// Rows of synthetic payment-default entries (the other sources scale with it).
    #[arg(long, default_value_t = 300_000, value_name = "N")]
    rows: u64,
    /// Seed of the synthetic data (not of the noise, which is always secure).
    #[arg(long, default_value_t = 2025, value_name = "S")]
    seed: u64,
}

/// The bundled releases: source, extract file, policy, rows per 300 000 payment-default rows.
const RELEASES: &[(Source, &str, &str, u64)] = &[
    (Source::PaymentDefaults, "payment-defaults.csv", "payment-defaults-quarterly.toml", 300_000),
    (Source::YouthChat, "youth-chat.csv", "youth-chat-quarterly.toml", 40_000),
    (Source::SportsLicences, "sports-licences.csv", "sports-licences-yearly.toml", 30_000),
    (Source::FoodCards, "food-cards.csv", "food-cards-quarterly.toml", 300_000),
    (Source::FoodAggregates, "food-aggregates.csv", "food-aggregates-quarterly-sdc.toml", 100_000),
    (Source::AreaIndicators, "area-indicators.csv", "area-indicators-sdc.toml", 1_000),
    // The same dataset again, with totals that add up under zCDP: its ρ budget also counts
    // the first release (ε²/2 per measure).
    (Source::PaymentDefaults, "payment-defaults.csv", "payment-defaults-quarterly-consistent.toml", 300_000),
    // And once more with the SDC rules as an extra gate on the exact values (`dp+sdc`).
    (Source::PaymentDefaults, "payment-defaults.csv", "payment-defaults-quarterly-dp-sdc.toml", 300_000),
];

pub fn execute(args: DemoArgs) -> Result<(), CliError> {
    let io =
        |what: &str, e: std::io::Error| CliError::usage(format!("{}: cannot {what}: {}", args.dir.display(), e.kind()));
    let policies = args.dir.join("policies");
    cellguard::bundled::write_all(&policies).map_err(|e| io("write the bundled policies", e))?;
    // Synthetic data: every demo starts with an empty budget ledger.
    let ledgers = policies.join("ledgers");
    if ledgers.exists() {
        std::fs::remove_dir_all(&ledgers).map_err(|e| io("reset the demo's budget ledgers", e))?;
    }
    let input_dir = args.dir.join("input");
    std::fs::create_dir_all(&input_dir).map_err(|e| io("create the input folder", e))?;
    let stamp = cellguard::timefmt::rfc3339(cellguard::timefmt::now_secs()).replace([':', '-'], "");
    let releases = args.dir.join("releases").join(&stamp);
    std::fs::create_dir_all(&releases).map_err(|e| io("create the releases folder", e))?;
    // One random key for the whole demo, forgotten afterwards.
    let key_bytes = secure_random_bytes(32).map_err(|e| CliError::usage(e.to_string()))?;
    let key = PseudonymKey::from_bytes(key_bytes).map_err(|e| CliError::usage(e.to_string()))?;
    say(&format!("cellguard demo: synthetic extracts in {}, releases in {}", input_dir.display(), releases.display()));
    for (i, (source, file_name, policy, rows)) in RELEASES.iter().enumerate() {
        let input = input_dir.join(file_name);
        let rows = (rows * args.rows / 300_000).max(1);
        // A source released twice is one extract, written once.
        if RELEASES.iter().position(|r| r.1 == *file_name) == Some(i) {
            let file = std::fs::File::create(&input).map_err(|e| io("write a synthetic extract", e))?;
            write_source(*source, rows, args.seed + i as u64, 2025, file)
                .map_err(|e| io("write a synthetic extract", e))?;
        }
        let name = policy.trim_end_matches(".toml");
        let request = ReleaseRequest {
            policy: policies.join(policy),
            baseline: None,
            input,
            out: releases.join(name),
            scan: ScanOptions::default(),
            force: false,
        };
        let outcome = release(&request, Some(&key), &mut SecureNoise, |_| {})?;
        let m = &outcome.written.manifest;
        let published = m.status_counts.get("published").copied().unwrap_or(0);
        let loss = match m.total_epsilon {
            Some(eps) => format!("epsilon {eps:.2} per {}", m.unit_of_privacy),
            None => format!("rho {:.4} per {}", m.total_rho.unwrap_or(0.0), m.unit_of_privacy),
        };
        let protection = match (&m.sdc, m.mode.as_str()) {
            (Some(s), "sdc") => format!(
                "exact under SDC, {} primary and {} secondary suppressions (unit: {})",
                s.primary_cells, s.secondary_cells, m.unit_of_privacy
            ),
            (Some(s), _) => {
                format!(
                    "{loss}, SDC gate: {} primary and {} secondary suppressions",
                    s.primary_cells, s.secondary_cells
                )
            }
            (None, _) => loss,
        };
        say(&format!(
            "  {name}: {rows} rows -> {} cells x {} measures, {published} of {} values published, {protection} -> {}",
            m.n_cells,
            m.measures.len(),
            m.n_rows,
            outcome.written.path.display()
        ));
    }
    say(&format!("each release folder has cells.csv (load in Power BI), report.md (for reviewers) and manifest.json; start with {}", releases.join("payment-defaults-quarterly/report.md").display()));
    Ok(())
}
