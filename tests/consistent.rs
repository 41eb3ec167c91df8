//! Totals that add up (`consistent_totals`), and intervals that cover the true value at their
//! nominal rate, with the secure noise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use cellguard::pipeline::{release, ReleaseRequest};
use cellguard_ingest::{PseudonymKey, ScanOptions};
use cellguard_privacy::{NoiseSource, SecureNoise, ZeroNoise};
use common::{fixture, Workspace, TEST_KEY};

/// The bundled consistent policy, with `edit` applied, a baseline without a threshold floor
/// and room in the budget for many runs.
fn policy(ws: &Workspace, name: &str, edit: impl Fn(&str) -> String) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(ws.path("policies/payment-defaults-quarterly-consistent.toml")).unwrap();
    let text = edit(
        &text
            .replace("min = 10", "min = 0")
            .replace("total_rho = 1.0", "total_rho = 1000.0")
            .replace("ledgers/payment-defaults.jsonl", &format!("ledgers/{name}.jsonl")),
    );
    let path = ws.write(&format!("policies/{name}.toml"), text.as_bytes());
    let baseline = std::fs::read_to_string(ws.path("policies/baseline.toml")).unwrap();
    let baseline = ws.write(
        "policies/permissive-baseline.toml",
        baseline
            .replace("min_noisy_threshold = 5", "min_noisy_threshold = 0")
            .replace("max_rho_per_dataset_period = 1.0", "max_rho_per_dataset_period = 1000.0")
            .replace("max_epsilon_per_dataset_period = 4.0", "max_epsilon_per_dataset_period = 1000.0")
            .as_bytes(),
    );
    (path, baseline)
}

/// One row of `cells.csv`: the key columns joined, the measure, the value and its interval,
/// all in hundredths.
struct Row {
    key: Vec<String>,
    measure: String,
    value: i64,
    low: Option<i64>,
    high: Option<i64>,
}

fn hundredths(s: &str) -> i64 {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let neg = whole.starts_with('-');
    let w: i64 = whole.trim_start_matches('-').parse().unwrap();
    let f: i64 = format!("{frac:0<2}")[..2].parse().unwrap();
    let v = w * 100 + f;
    if neg {
        -v
    } else {
        v
    }
}

fn rows(path: &std::path::Path) -> Vec<Row> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> =
        r.headers().unwrap().iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (m, v, lo, hi) = (col("measure"), col("value"), col("ci95_low"), col("ci95_high"));
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            Row {
                key: vec![
                    rec[col("area_code")].to_string(),
                    rec[col("age_band")].to_string(),
                    rec[col("quarter")].to_string(),
                ],
                measure: rec[m].to_string(),
                value: hundredths(&rec[v]),
                low: (!rec[lo].is_empty()).then(|| hundredths(&rec[lo])),
                high: (!rec[hi].is_empty()).then(|| hundredths(&rec[hi])),
            }
        })
        .collect()
}

fn run(ws: &Workspace, policy: &(PathBuf, PathBuf), out: &str, noise: &mut dyn NoiseSource) -> Vec<Row> {
    let key = PseudonymKey::from_bytes(TEST_KEY.as_bytes().to_vec()).unwrap();
    let request = ReleaseRequest {
        policy: policy.0.clone(),
        baseline: Some(policy.1.clone()),
        input: fixture("payment-defaults-small.csv"),
        out: ws.path(out),
        scan: ScanOptions::default(),
        force: false,
    };
    release(&request, Some(&key), noise, |_| {}).unwrap();
    rows(&ws.path(&format!("{out}/cells.csv")))
}

#[test]
fn consistent_totals_add_up_exactly_at_every_level() {
    let ws = Workspace::new();
    let p = policy(&ws, "consistent", |t| t.to_string());
    adds_up(&ws, &p, "out");
    // Counts have two decimals: some fitted value is not a whole number.
    let text = std::fs::read_to_string(ws.path("out/cells.csv")).unwrap();
    assert!(text
        .lines()
        .any(|l| l.contains(",persons,") && !l.contains(",persons,0.00,") && !l.contains(".00,published")));
    // With `integer_totals`, whole numbers that still add up.
    let p = policy(&ws, "integer", |t| {
        t.replace("consistent_totals = true", "consistent_totals = true\ninteger_totals = true")
    });
    adds_up(&ws, &p, "int");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("int/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["measures"][0]["decimals"], 0);
    let cells = rows(&ws.path("int/cells.csv"));
    assert!(cells.iter().filter(|r| r.measure != "amount_eur").all(|r| r.value % 100 == 0));
    // Without margins the option is refused.
    let bad = policy(&ws, "bad", |t| {
        t.replace("integer_totals", "x").replace("consistent_totals = true", "integer_totals = true")
    });
    let key = PseudonymKey::from_bytes(TEST_KEY.as_bytes().to_vec()).unwrap();
    let request = ReleaseRequest {
        policy: bad.0.clone(),
        baseline: Some(bad.1.clone()),
        input: fixture("payment-defaults-small.csv"),
        out: ws.path("bad-out"),
        scan: ScanOptions::default(),
        force: false,
    };
    let err = release(&request, Some(&key), &mut SecureNoise, |_| {}).unwrap_err().to_string();
    assert!(err.contains("protection.integer_totals"), "{err}");
}

/// Releases with `p` and checks that every total equals the sum of its parts.
fn adds_up(ws: &Workspace, p: &(PathBuf, PathBuf), out: &str) {
    let cells = run(ws, p, out, &mut SecureNoise);
    let value: HashMap<(Vec<String>, String), i64> =
        cells.iter().map(|r| ((r.key.clone(), r.measure.clone()), r.value)).collect();
    // The area hierarchy from the classification: sub-area code → district → major district
    // → city, read off the release's own rows (levels in `area_level`).
    let text = std::fs::read_to_string(ws.path(&format!("{out}/manifest.json"))).unwrap();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(m["consistent_totals"], true);
    let (codes, ages, quarters) = {
        let mut c: Vec<String> = cells.iter().map(|r| r.key[0].clone()).collect();
        let mut a: Vec<String> = cells.iter().map(|r| r.key[1].clone()).collect();
        let mut q: Vec<String> = cells.iter().map(|r| r.key[2].clone()).collect();
        for v in [&mut c, &mut a, &mut q] {
            v.sort();
            v.dedup();
        }
        (c, a, q)
    };
    assert!(ages.contains(&"total".to_string()) && quarters.contains(&"total".to_string()));
    let mut checked = 0;
    for measure in ["persons", "entries", "amount_eur"] {
        for code in &codes {
            // Ages add up to the total, quarters to the year, for every area.
            for q in &quarters {
                let parts: i64 = ages
                    .iter()
                    .filter(|a| *a != "total")
                    .map(|a| value[&(vec![code.clone(), a.clone(), q.clone()], measure.to_string())])
                    .sum();
                assert_eq!(parts, value[&(vec![code.clone(), "total".into(), q.clone()], measure.to_string())]);
                checked += 1;
            }
            for a in &ages {
                let parts: i64 = quarters
                    .iter()
                    .filter(|q| *q != "total")
                    .map(|q| value[&(vec![code.clone(), a.clone(), q.clone()], measure.to_string())])
                    .sum();
                assert_eq!(parts, value[&(vec![code.clone(), a.clone(), "total".into()], measure.to_string())]);
            }
        }
        // Areas: Helsinki's codes nest by prefix — city 091, major district 0911, district
        // 0911101, sub-area 0911101010 — so each area's children are the codes of the next
        // level that start with its code.
        let child_len = |len: usize| match len {
            3 => Some(4),
            4 => Some(7),
            7 => Some(10),
            _ => None,
        };
        for parent in &codes {
            let Some(len) = child_len(parent.len()) else { continue };
            let children: Vec<&String> =
                codes.iter().filter(|c| c.len() == len && c.starts_with(parent.as_str())).collect();
            assert!(!children.is_empty(), "{parent}");
            for a in &ages {
                for q in &quarters {
                    let at = |code: &str| value[&(vec![code.to_string(), a.clone(), q.clone()], measure.to_string())];
                    let parts: i64 = children.iter().map(|c| at(c)).sum();
                    assert_eq!(parts, at(parent), "{measure}: the parts of {parent} / {a} / {q}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000);
}

/// Coverage of the published 95 % intervals over `runs` releases with the secure noise: per
/// run the share of cells whose interval holds the exact value, and across runs a mean with a
/// 6-standard-error allowance (the runs are independent, so a correct implementation fails
/// about once in 10⁸).
/// Inner cells and totals separately, so that a wrong variance for one level cannot hide
/// among the other's many cells.
fn coverage(ws: &Workspace, p: &(PathBuf, PathBuf), runs: usize, tag: &str) -> [(f64, f64); 2] {
    let exact: HashMap<(Vec<String>, String), i64> = run(ws, p, &format!("{tag}-exact"), &mut ZeroNoise)
        .into_iter()
        .map(|r| ((r.key, r.measure), r.value))
        .collect();
    let is_total = |r: &Row| r.key[0].len() < 10 || r.key[1] == "total" || r.key[2] == "total";
    let shares: Vec<[f64; 2]> = (0..runs)
        .map(|i| {
            let cells = run(ws, p, &format!("{tag}-{i}"), &mut SecureNoise);
            let mut tally = [(0usize, 0usize); 2];
            for r in &cells {
                let truth = exact[&(r.key.clone(), r.measure.clone())];
                let t = &mut tally[usize::from(is_total(r))];
                t.0 += usize::from(r.low.unwrap() <= truth && truth <= r.high.unwrap());
                t.1 += 1;
            }
            // A release without totals has no second group: count it as covered.
            tally.map(|(inside, n)| if n == 0 { 1.0 } else { inside as f64 / n as f64 })
        })
        .collect();
    [0, 1].map(|g| {
        let mean = shares.iter().map(|s| s[g]).sum::<f64>() / runs as f64;
        let var = shares.iter().map(|s| (s[g] - mean).powi(2)).sum::<f64>() / (runs - 1) as f64;
        (mean, (var / runs as f64).sqrt())
    })
}

/// Coverage at least 95 % (within 6 standard errors across runs) and not far above it, for the
/// inner cells and for the totals.
fn assert_nominal(what: &str, groups: [(f64, f64); 2], at_most: f64) {
    for ((mean, se), level) in groups.into_iter().zip(["inner cells", "totals"]) {
        assert!(mean >= 0.95 - 6.0 * se, "{what}, {level}: {mean} (se {se})");
        assert!(mean <= at_most, "{what}, {level}: {mean} is far above 95 %");
    }
}

#[test]
fn intervals_cover_the_true_value_at_their_nominal_rate() {
    let ws = Workspace::new();
    // Independent discrete Laplace cells, inner and totals (exact intervals): at least 95 %, and not much more
    // (the discrete half-width overshoots 95 % by at most one point's mass).
    let laplace = policy(&ws, "laplace", |t| {
        t.replace("mechanism = \"discrete-gaussian\"\nconsistent_totals = true", "mechanism = \"discrete-laplace\"")
            .replace("rho = 0.125", "epsilon = 0.5")
            .replace("rho = 0.03125", "epsilon = 0.25")
            .replace("total_rho = 1000.0\ndelta = 1e-9", "total_epsilon = 1000.0")
    });
    assert_nominal("laplace", coverage(&ws, &laplace, 10, "lap"), 0.99);
    // Consistent discrete Gaussian cells: each its own interval from the least-squares variance.
    let gauss = policy(&ws, "gauss", |t| t.to_string());
    assert_nominal("consistent gaussian", coverage(&ws, &gauss, 10, "gauss"), 0.99);
    // Consistent discrete Laplace cells (the interval uses a single Laplace variable's ratio).
    let lap_consistent = policy(&ws, "lapc", |t| {
        t.replace("mechanism = \"discrete-gaussian\"", "mechanism = \"discrete-laplace\"")
            .replace("rho = 0.125", "epsilon = 0.5")
            .replace("rho = 0.03125", "epsilon = 0.25")
            .replace("total_rho = 1000.0\ndelta = 1e-9", "total_epsilon = 1000.0")
    });
    assert_nominal("consistent laplace", coverage(&ws, &lap_consistent, 10, "lapc"), 0.995);
}
