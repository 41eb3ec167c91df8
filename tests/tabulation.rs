//! Exact tabulation and bounding on a hand-made fixture, through the library API with fake

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! noise, checked cell by cell.

mod common;

use std::collections::BTreeMap;

use cellguard::pipeline::{release, ReleaseRequest};
use cellguard_ingest::{scan_file, PseudonymKey, Pseudonymiser, ScanOptions};
use cellguard_privacy::bounding::cell_priority;
use cellguard_privacy::{
    load_policy, protect, BoundedTable, BoundingAccumulator, CellStatus, PrivacyError, ScriptedNoise, ZeroNoise,
};

use common::{fixture, read_csv, Workspace, TEST_KEY};

/// Cell index in the bundled key set: sub-area (file order) × 7 age bands × 4 quarters.
fn cell(subarea_idx: usize, age_band: usize, quarter: usize) -> usize {
    (subarea_idx * 7 + age_band) * 4 + quarter
}

const KRUUNUNHAKA: usize = 0;
const KLUUVI: usize = 1;
const KATAJANOKKA: usize = 2;

fn tabulate(ws: &Workspace, options: ScanOptions) -> BoundedTable {
    let plan = load_policy(&ws.policy(), None).unwrap();
    let key = PseudonymKey::from_bytes(TEST_KEY.as_bytes().to_vec()).unwrap();
    let mut acc = BoundingAccumulator::new(&plan);
    scan_file::<PrivacyError>(
        &fixture("payment-defaults-small.csv"),
        &plan.schema,
        &plan.mapper,
        &Pseudonymiser::new(&key),
        options,
        |b| {
            acc.absorb(&b);
            Ok(())
        },
    )
    .unwrap();
    acc.finish()
}

/// The expected (units, records, cents) of every non-empty cell, worked out by hand from the
/// fixture's comments and the documented bounding rule.
fn expected() -> BTreeMap<usize, (u64, u64, i64)> {
    let mut e = BTreeMap::new();
    // A (25-34): three entries in Kruununhaka Q1; 6000.00 is clamped to 2000.00.
    e.insert(cell(KRUUNUNHAKA, 1, 0), (1, 3, 10_000 + 20_050 + 200_000));
    // C (65-74): twelve entries of 3000.00 in Katajanokka Q2: 10 counted, each clamped to
    // 2000.00, sum capped at 10 × 2000.00.
    e.insert(cell(KATAJANOKKA, 5, 1), (1, 10, 2_000_000));
    // The canary (55-64): Kluuvi Q3, 13371337.13 clamped to 2000.00.
    e.insert(cell(KLUUVI, 4, 2), (1, 1, 200_000));
    // B (45-54): six cells, one 10.00 entry each; keeps the four of lowest priority.
    let key = PseudonymKey::from_bytes(TEST_KEY.as_bytes().to_vec()).unwrap();
    let b = Pseudonymiser::new(&key).pseudonym(b"PERSON-B");
    let mut b_cells = [
        cell(KRUUNUNHAKA, 3, 0),
        cell(KRUUNUNHAKA, 3, 1),
        cell(KRUUNUNHAKA, 3, 2),
        cell(KRUUNUNHAKA, 3, 3),
        cell(KLUUVI, 3, 0),
        cell(KLUUVI, 3, 1),
    ];
    b_cells.sort_by_key(|c| cell_priority(b, *c as u32));
    for c in &b_cells[..4] {
        e.insert(*c, (1, 1, 1_000));
    }
    e
}

#[test]
fn bounded_tabulation_matches_hand_computation_cell_by_cell() {
    let ws = Workspace::new();
    let table = tabulate(&ws, ScanOptions::default());
    let expected = expected();
    assert_eq!(table.n_cells(), 147 * 7 * 4);
    for c in 0..table.n_cells() {
        let want = expected.get(&c).copied().unwrap_or((0, 0, 0));
        let got = (table.units()[c], table.records()[c], table.sums(0)[c]);
        assert_eq!(got, want, "cell {c}");
    }
    let stats = table.stats();
    assert_eq!(stats.units, 4, "A, B, C and the canary contribute; D and E are out of scope");
    assert_eq!(stats.records_dropped_cells, 2, "B's two surplus cells");
    assert_eq!(stats.records_capped, 2, "C's entries 11 and 12");
    assert_eq!(stats.values_clamped, 1 + 12 + 1, "A's 6000.00, C's twelve, the canary's");
    assert_eq!(stats.sums_capped, 1, "C's cell sum");
}

#[test]
fn tabulation_does_not_depend_on_chunking_or_threads() {
    let ws = Workspace::new();
    let reference = tabulate(&ws, ScanOptions::default());
    for (chunk_bytes, threads) in [(1, 1), (64, 2), (200, 3), (1 << 16, 2)] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let table = pool.install(|| tabulate(&ws, ScanOptions { chunk_bytes, chunks_per_batch: 3 }));
        assert_eq!(table, reference, "chunk_bytes {chunk_bytes}, threads {threads}");
    }
}

#[test]
fn zero_noise_release_publishes_exact_values_and_thresholds_on_the_count() {
    let ws = Workspace::new();
    // Threshold 1: with zero noise, exactly the non-empty cells are published.
    let policy = ws.policy_variant("min1", |t| t.replace("min = 10", "min = 1"));
    let plan = load_policy(&policy, None).unwrap();
    let table = tabulate(&ws, ScanOptions::default());
    let release = protect(&plan, table, &mut ZeroNoise).unwrap();
    assert!(!release.noise_is_secure());
    let expected = expected();
    for c in 0..release.n_cells() {
        match expected.get(&c) {
            Some((units, records, cents)) => {
                assert_eq!(release.status(0, c), CellStatus::Published);
                assert_eq!(release.value(0, c), Some(*units as i64));
                assert_eq!(release.value(1, c), Some(*records as i64));
                assert_eq!(release.value(2, c), Some(*cents));
            }
            None => {
                for m in 0..3 {
                    assert_eq!(release.status(m, c), CellStatus::SuppressedNoisyThreshold, "cell {c}");
                    assert_eq!(release.value(m, c), None);
                }
            }
        }
    }
}

#[test]
fn negative_noisy_values_can_be_published_as_zero() {
    let ws = Workspace::new();
    // Threshold 1 on the count; noise that pushes every entries and amount value 5 units (or
    // 5 cents) below its true value, so small cells go negative.
    let policy = ws.policy_variant("nonneg", |t| {
        t.replace("min = 10", "min = 1")
            .replace("mechanism = \"discrete-laplace\"", "mechanism = \"discrete-laplace\"\nnegative_as_zero = true")
    });
    let plan = load_policy(&policy, None).unwrap();
    assert!(plan.negative_as_zero);
    let shift = |name: &str, _: usize, _: i64| if name == "persons" { 0 } else { -5 };
    let release = protect(&plan, tabulate(&ws, ScanOptions::default()), &mut ScriptedNoise(shift)).unwrap();
    let expected = expected();
    for (c, (_, records, cents)) in &expected {
        assert_eq!(release.value(1, *c), Some((*records as i64 - 5).max(0)), "cell {c}");
        assert_eq!(release.value(2, *c), Some((*cents - 5).max(0)), "cell {c}");
    }
    assert!(expected.values().any(|(_, records, _)| *records < 5), "the fixture must have a cell that goes negative");
    assert!(release.measures().iter().skip(1).all(|m| m.negative_as_zero));
    // Without the option the same noise publishes negative values.
    let plain = load_policy(&ws.policy_variant("plain", |t| t.replace("min = 10", "min = 1")), None).unwrap();
    let release = protect(&plain, tabulate(&ws, ScanOptions::default()), &mut ScriptedNoise(shift)).unwrap();
    assert!(expected.keys().any(|c| release.value(1, *c).is_some_and(|v| v < 0)));
}

#[test]
fn fake_noise_releases_say_so_in_every_output() {
    let ws = Workspace::new();
    let key = PseudonymKey::from_bytes(TEST_KEY.as_bytes().to_vec()).unwrap();
    let baseline = std::fs::read_to_string(ws.path("policies/baseline.toml")).unwrap();
    ws.write(
        "policies/permissive-baseline.toml",
        baseline.replace("min_noisy_threshold = 5", "min_noisy_threshold = 0").as_bytes(),
    );
    let request = ReleaseRequest {
        policy: ws.policy_variant("min1", |t| t.replace("min = 10", "min = 1")),
        baseline: Some(ws.path("policies/permissive-baseline.toml")),
        input: fixture("payment-defaults-small.csv"),
        out: ws.path("out"),
        scan: ScanOptions::default(),
        force: false,
    };
    let outcome = release(&request, Some(&key), &mut ZeroNoise, |_| {}).unwrap();
    assert!(outcome.written.manifest.noise_source.contains("FAKE"));
    assert!(std::fs::read_to_string(ws.path("out/report.md")).unwrap().contains("must not be published"));
    let (_, rows) = read_csv(&ws.path("out/cells.csv"));
    // Kruununhaka, 25-34, 2025Q1: A's exact values, formatted.
    let a: Vec<&Vec<String>> =
        rows.iter().filter(|r| r[1] == "0911101010" && r[3] == "25-34" && r[4] == "2025Q1").collect();
    assert_eq!(a.len(), 3);
    assert_eq!((a[0][7].as_str(), a[0][8].as_str()), ("persons", "1"));
    assert_eq!((a[1][7].as_str(), a[1][8].as_str()), ("entries", "3"));
    assert_eq!((a[2][7].as_str(), a[2][8].as_str()), ("amount_eur", "2300.50"));
}

#[test]
fn parallel_and_single_threaded_releases_are_byte_identical() {
    let ws = Workspace::new();
    // The fixture with a quoted creditor field holding a newline and a delimiter on every row,
    // so chunk boundaries must respect quotes.
    let text = std::fs::read_to_string(fixture("payment-defaults-small.csv")).unwrap();
    let quoted: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                format!(
                    "{}\n",
                    l.replacen(",bank,", ",\"bank,\nbranch\",", 1).replacen(",telecom,", ",\"tele\ncom\",", 1)
                )
            }
        })
        .collect();
    let input = ws.write("input/quoted.csv", quoted.as_bytes());
    let baseline = std::fs::read_to_string(ws.path("policies/baseline.toml")).unwrap();
    ws.write(
        "policies/permissive-baseline.toml",
        baseline
            .replace("min_noisy_threshold = 5", "min_noisy_threshold = 0")
            .replace("max_epsilon_per_dataset_period = 4.0", "max_epsilon_per_dataset_period = 100.0")
            .as_bytes(),
    );
    let policy = ws.policy_variant("min1", |t| {
        t.replace("min = 10", "min = 1").replace("total_epsilon = 4.0", "total_epsilon = 100.0")
    });
    let key = PseudonymKey::from_bytes(TEST_KEY.as_bytes().to_vec()).unwrap();
    let make = |out: &str, threads: usize, chunk_bytes: usize| {
        let request = ReleaseRequest {
            policy: policy.clone(),
            baseline: Some(ws.path("policies/permissive-baseline.toml")),
            input: input.clone(),
            out: ws.path(out),
            scan: ScanOptions { chunk_bytes, chunks_per_batch: 2 },
            force: false,
        };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| release(&request, Some(&key), &mut ZeroNoise, |_| {})).unwrap();
        std::fs::read(ws.path(out).join("cells.csv")).unwrap()
    };
    let single = make("single", 1, 1 << 20);
    for (threads, chunk) in [(2, 1), (2, 37), (3, 200)] {
        assert_eq!(
            make(&format!("par-{threads}-{chunk}"), threads, chunk),
            single,
            "threads {threads}, chunks of {chunk} bytes"
        );
    }
    // The quoted rows were read as rows, not split: A's cell holds its three entries.
    let (_, rows) = read_csv(&ws.path("single/cells.csv"));
    let a =
        rows.iter().find(|r| r[1] == "0911101010" && r[3] == "25-34" && r[4] == "2025Q1" && r[7] == "entries").unwrap();
    assert_eq!(a[8], "3");
}
