//! `cargo bench`: the end-to-end release benchmark. It runs `scripts/bench.sh`, which builds
//! the release binary, writes synthetic payment-default extracts with `cellguard synth`, times
//! `cellguard run` per stage and as a whole with its peak memory, and runs an exact DuckDB
//! group-by on the same file as the non-private baseline. Row counts may be given after `--`:
//! `cargo bench -- 1000000`. Figures and their reading: docs/performance.md.

#![allow(clippy::print_stderr)]

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    // cargo passes `--bench` (and filters); keep only row counts.
    let rows: Vec<String> = std::env::args().skip(1).filter(|a| a.chars().all(|c| c.is_ascii_digit())).collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench.sh");
    match Command::new("bash").arg(script).args(&rows).status() {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            eprintln!("benchmark failed: {s}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cannot run {script}: {e}");
            ExitCode::FAILURE
        }
    }
}
