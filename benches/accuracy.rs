//! `cargo bench --bench accuracy`: the accuracy of consistent totals. On the demo's synthetic
//! payment-default extract (300 000 entries, seed 2025), the bundled policy
//! `payment-defaults-quarterly-consistent.toml` (discrete Gaussian, margins at every level) is
//! released once without noise (the exact cube) and `RUNS` times with opendp's secure noise,
//! with `consistent_totals` on and off — the same noise distribution on every cell, so the
//! only difference is the least-squares post-processing. It prints the mean absolute error of
//! each level, independent vs consistent. Figures and their reading: docs/privacy.md.
//! Optional arguments after `--`: the number of runs (default 10) and of rows.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use cellguard::pipeline::{release, ReleaseRequest};
use cellguard_ingest::{PseudonymKey, ScanOptions};
use cellguard_privacy::{NoiseSource, SecureNoise, ZeroNoise};

/// A level of the cube: the area level, and whether the age band and the quarter are totals.
type Level = (String, bool, bool);
type Key = (String, String, String, String);
/// Per measure and level: Σ|error| independent, Σ|error| consistent, cells, Σ stated sd
/// independent, Σ stated sd consistent.
type Tally = (f64, f64, usize, f64, f64);

/// Each cell's level, value and the noise standard deviation `cells.csv` states for it.
fn cells(path: &Path) -> HashMap<Key, (Level, f64, f64)> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> =
        r.headers().unwrap().iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (lvl, code, age, q, m, v, sd) = (
        col("area_level"),
        col("area_code"),
        col("age_band"),
        col("quarter"),
        col("measure"),
        col("value"),
        col("noise_sd"),
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let key = (rec[code].to_string(), rec[age].to_string(), rec[q].to_string(), rec[m].to_string());
            let level = (rec[lvl].to_string(), &rec[age] == "total", &rec[q] == "total");
            (key, (level, rec[v].parse::<f64>().unwrap_or(f64::NAN), rec[sd].parse::<f64>().unwrap_or(f64::NAN)))
        })
        .collect()
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let runs = args.first().copied().unwrap_or(10);
    let rows = args.get(1).copied().unwrap_or(300_000);
    let work = tempfile::tempdir().unwrap();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(repo.join("policies/payment-defaults-quarterly-consistent.toml")).unwrap();
    // No suppression (every cell is compared) and room for all runs in a throwaway ledger.
    let base = text.replace("min = 10", "min = 0").replace("total_rho = 1.0", "total_rho = 1000.0");
    let policies = work.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    for entry in ["schemas", "classifications"] {
        let from = repo.join("policies").join(entry);
        std::fs::create_dir_all(policies.join(entry)).unwrap();
        for f in std::fs::read_dir(&from).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), policies.join(entry).join(f.file_name())).unwrap();
        }
    }
    let baseline = std::fs::read_to_string(repo.join("policies/baseline.toml")).unwrap();
    std::fs::write(
        policies.join("baseline.toml"),
        baseline
            .replace("min_noisy_threshold = 5", "min_noisy_threshold = 0")
            .replace("max_rho_per_dataset_period = 1.0", "max_rho_per_dataset_period = 1000.0"),
    )
    .unwrap();
    let consistent = policies.join("consistent.toml");
    std::fs::write(&consistent, &base).unwrap();
    let independent = policies.join("independent.toml");
    std::fs::write(&independent, base.replace("consistent_totals = true", "consistent_totals = false")).unwrap();
    let input = work.path().join("pd.csv");
    let options = cellguard_synth::PaymentDefaultsOptions {
        rows: rows as u64,
        seed: 2025,
        year: 2025,
        subareas: cellguard::bundled::subarea_codes(),
    };
    let file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    cellguard_synth::write_payment_defaults(&options, file).unwrap();
    let key = PseudonymKey::from_bytes(b"benchmark-key-not-secret-0123456789abcdef".to_vec()).unwrap();
    let mut n = 0;
    let mut run = |policy: &Path, noise: &mut dyn NoiseSource| {
        n += 1;
        let out = work.path().join(format!("r{n}"));
        let request = ReleaseRequest {
            policy: policy.to_path_buf(),
            baseline: None,
            input: input.clone(),
            out: out.clone(),
            scan: ScanOptions::default(),
            force: false,
        };
        release(&request, Some(&key), noise, |_| {}).unwrap();
        cells(&out.join("cells.csv"))
    };
    let exact = run(&consistent, &mut ZeroNoise);
    let mut err: BTreeMap<(String, Level), Tally> = BTreeMap::new();
    for _ in 0..runs {
        for (which, policy) in [(0, &independent), (1, &consistent)] {
            for (key, (level, v, sd)) in run(policy, &mut SecureNoise) {
                let e = err.entry((key.3.clone(), level)).or_default();
                let d = (v - exact[&key].1).abs();
                if which == 0 {
                    e.0 += d;
                    e.2 += 1;
                    e.3 += sd;
                } else {
                    e.1 += d;
                    e.4 += sd;
                }
            }
        }
    }
    println!("{rows} entries, {runs} runs per variant; mean absolute error per cell, and the ratio of the noise sd each release states");
    println!(
        "| measure | area level | age | quarter | cells × runs | independent | consistent | ratio | stated sd ratio |"
    );
    println!("|---|---|---|---|---:|---:|---:|---:|---:|");
    let order = ["subarea", "district", "major_district", "city"];
    let mut keys: Vec<&(String, Level)> = err.keys().collect();
    keys.sort_by_key(|(m, (l, a, q))| (m.clone(), order.iter().position(|o| o == l), *a, *q));
    for k in keys {
        let (i, c, count, sd_i, sd_c) = err[k];
        let (m, (l, a, q)) = k;
        let (i, c) = (i / count as f64, c / count as f64);
        println!(
            "| {m} | {l} | {} | {} | {count} | {i:.2} | {c:.2} | {:.2} | {:.2} |",
            if *a { "all" } else { "band" },
            if *q { "year" } else { "quarter" },
            c / i,
            sd_c / sd_i
        );
    }
}
