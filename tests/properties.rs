//! Property-based tests of the CSV ingest and the policy parser: arbitrary bytes never panic
//! and never echo input bytes; arbitrary valid tables tabulate to the same totals as a simple
//! reference implementation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use common::{tabulate_file, Workspace};

const HEADER: &str = "person_id,birth_year,sex,subarea,entry_type,registration_date,creditor_type,amount_eur\n";
const SENTINEL: &str = "ZQXJSENTINEL";

fn scan_bytes(ws: &Workspace, bytes: &[u8]) -> Result<(), String> {
    let policy = cellguard_privacy::load_policy(&ws.policy(), None).unwrap();
    let key = cellguard_ingest::PseudonymKey::from_bytes(common::TEST_KEY.as_bytes().to_vec()).unwrap();
    let path = ws.write("input/p.csv", bytes);
    let mut acc = cellguard_privacy::BoundingAccumulator::new(&policy);
    cellguard_ingest::scan_file::<cellguard_privacy::PrivacyError>(
        &path,
        &policy.schema,
        &policy.mapper,
        &cellguard_ingest::Pseudonymiser::new(&key),
        cellguard_ingest::ScanOptions { chunk_bytes: 64, chunks_per_batch: 2 },
        |b| {
            acc.absorb(&b);
            Ok(())
        },
    )
    .map(|summary| {
        // Reject descriptions are fixed strings; check them too.
        for (reason, _) in summary.tally.reasons {
            assert!(!format!("{reason:?}").contains(SENTINEL));
        }
    })
    .map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_or_echo(noise in proptest::collection::vec(any::<u8>(), 0..400), at in 0usize..400, with_header in any::<bool>()) {
        let ws = Workspace::new();
        let mut bytes = if with_header { HEADER.as_bytes().to_vec() } else { Vec::new() };
        let mut noise = noise;
        let at = at.min(noise.len());
        noise.splice(at..at, SENTINEL.bytes());
        bytes.extend(noise);
        if let Err(message) = scan_bytes(&ws, &bytes) {
            prop_assert!(!message.contains(SENTINEL), "the message echoes input: {message}");
        }
    }

    #[test]
    fn arbitrary_policy_text_never_panics(text in "[ -~\n]{0,300}") {
        let ws = Workspace::new();
        let path = ws.write("policies/arbitrary.toml", text.as_bytes());
        let _ = cellguard_privacy::check_policy(&path, None);
    }

    #[test]
    fn valid_tables_tabulate_like_a_reference(rows in proptest::collection::vec((0u8..6, 0usize..3, 18i32..90, 1u8..13, 0u32..300_000), 1..60)) {
        let ws = Workspace::new();
        // Bounds wide enough that nothing is bounded away, so the reference is a plain group-by
        // with the per-entry clamp.
        let policy = ws.policy_variant("wide", |t| t.replace("max_cells_per_unit = 4", "max_cells_per_unit = 100").replace("max_records_per_cell = 10", "max_records_per_cell = 1000"));
        let areas = ["0911101010", "0911101020", "0911101080"];
        let mut csv = HEADER.to_string();
        let mut units: BTreeMap<usize, BTreeSet<u8>> = BTreeMap::new();
        let mut records: BTreeMap<usize, u64> = BTreeMap::new();
        let mut cents: BTreeMap<usize, i64> = BTreeMap::new();
        let bands = [(18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 74), (75, 200)];
        for (person, area, age, month, amount) in &rows {
            csv.push_str(&format!("P{person},{},F,{},court_judgment,2025-{month:02}-15,bank,{}.{:02}\n", 2025 - age, areas[*area], amount / 100, amount % 100));
            let band = bands.iter().position(|(lo, hi)| age >= lo && age <= hi).unwrap();
            let cell = (area * 7 + band) * 4 + usize::from((month - 1) / 3);
            units.entry(cell).or_default().insert(*person);
            *records.entry(cell).or_default() += 1;
            *cents.entry(cell).or_default() += i64::from(*amount).min(200_000);
        }
        let input = ws.write("input/valid.csv", csv.as_bytes());
        let (_, table) = tabulate_file(&policy, &input);
        for cell in 0..table.n_cells() {
            prop_assert_eq!(table.units()[cell], units.get(&cell).map_or(0, |s| s.len() as u64));
            prop_assert_eq!(table.records()[cell], records.get(&cell).copied().unwrap_or(0));
            prop_assert_eq!(table.sums(0)[cell], cents.get(&cell).copied().unwrap_or(0));
        }
    }
}
