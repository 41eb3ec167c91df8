//! Fuzz target: arbitrary bytes as a source extract. The first byte picks one of the bundled
//! policies (and so a dialect: UTF-8 `,` or Windows-1252 `;` with decimal commas, multi-label
//! topics, optional fields); the rest is the file. Reading, parsing, validating and bounding
//! must never panic, and no error may quote the input: every message is checked for a marker
//! that the input can only contain if it was echoed.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;

use cellguard_ingest::{scan_file, PseudonymKey, Pseudonymiser, ScanOptions};
use cellguard_privacy::{load_policy, BoundingAccumulator, PrivacyError, ReleasePlan};

const POLICIES: [&str; 4] = [
    "payment-defaults-quarterly.toml",
    "youth-chat-quarterly.toml",
    "food-aggregates-quarterly-sdc.toml",
    "area-indicators-sdc.toml",
];
const MARKER: &[u8] = b"QZXFUZZMARK";

thread_local! {
    // Plans hold opendp measurements, which are not `Sync`: one set per fuzzing thread.
    static PLANS: Vec<ReleasePlan> = {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies");
        POLICIES.iter().map(|p| load_policy(&dir.join(p), None).expect("bundled policy")).collect()
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    PLANS.with(|plans| run(&plans[usize::from(pick) % POLICIES.len()], body));
});

fn run(plan: &ReleasePlan, body: &[u8]) {
    let path = std::env::temp_dir().join(format!("cellguard-fuzz-ingest-{}.csv", std::process::id()));
    if std::fs::write(&path, body).is_err() {
        return;
    }
    let key = PseudonymKey::from_bytes(b"fuzzing-key-not-secret-0123456789abcdef".to_vec()).expect("key");
    let mut acc = BoundingAccumulator::new(plan);
    let result = scan_file::<PrivacyError>(
        &path,
        &plan.schema,
        &plan.mapper,
        &Pseudonymiser::new(&key),
        ScanOptions { chunk_bytes: 64, chunks_per_batch: 2 },
        |b| {
            acc.absorb(&b);
            Ok(())
        },
    );
    if let Err(e) = result {
        let message = e.to_string();
        let echoed = body.windows(MARKER.len()).any(|w| w == MARKER) && message.contains("QZXFUZZMARK");
        assert!(!echoed, "an error message quotes the input");
    }
    let _ = acc.stats();
}
