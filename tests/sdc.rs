//! `sdc` releases through the binary: exact values, margins at every level, suppression that
//! hides reasons, and a release folder that verifies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture, read_csv, Workspace};

#[test]
fn sdc_release_with_margins() {
    let ws = Workspace::new();
    let policy = ws.path("policies/payment-defaults-quarterly-sdc.toml");
    let input = fixture("payment-defaults-small.csv");
    let out =
        ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"]);
    out.expect_code(0).expect_no_sentinels();
    assert!(out.stdout.contains("statistical disclosure control"), "{}", out.stdout);
    let (header, rows) = read_csv(&ws.path("out/cells.csv"));
    assert_eq!(header[0], "area_level");
    // (147 sub-areas + 34 districts + 8 major districts + city) × (7 bands + total) × (4 quarters + total).
    assert_eq!(rows.len(), 190 * 8 * 5 * 3);
    let levels: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(levels.into_iter().collect::<Vec<_>>(), ["city", "district", "major_district", "subarea"]);
    assert!(rows.iter().any(|r| r[3] == "total" && r[4] == "total" && r[0] == "city"));
    for r in &rows {
        match r[9].as_str() {
            // Exact values: no noise columns.
            "published" => assert!(!r[8].is_empty() && r[10..].iter().all(String::is_empty), "{r:?}"),
            // Reasons are not published by this policy.
            "suppressed" => assert!(r[8].is_empty()),
            other => panic!("unexpected status {other}"),
        }
    }
    // Every non-empty cell of this tiny extract has fewer than 5 persons, so none is published;
    // empty cells are published as exact zeros.
    let persons: Vec<&Vec<String>> = rows.iter().filter(|r| r[7] == "persons").collect();
    assert!(persons.iter().filter(|r| r[9] == "published").all(|r| r[8] == "0"));
    let city_total = persons.iter().find(|r| r[0] == "city" && r[3] == "total" && r[4] == "total").unwrap();
    assert_eq!(city_total[9], "suppressed", "4 persons in all: the city total is a primary cell");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("out/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["mode"], "sdc");
    assert!(m["privacy_loss"].as_array().unwrap().is_empty());
    assert!(m["sdc"]["primary_cells"].as_u64().unwrap() > 0);
    assert_eq!(m["sdc"]["dimensions"].as_array().unwrap().len(), 3);
    ws.run(&["verify", ws.path("out").to_str().unwrap()]).expect_code(0);
}

#[test]
fn audit_of_a_release_folder() {
    let ws = Workspace::new();
    let policy = ws.path("policies/payment-defaults-quarterly-sdc.toml");
    let input = fixture("payment-defaults-small.csv");
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"])
        .expect_code(0);
    let dir = ws.path("out");
    let (_, rows) = read_csv(&dir.join("cells.csv"));
    let suppressed = rows.iter().filter(|r| r[9] != "published").count();
    let ok = ws.run(&["audit", dir.to_str().unwrap(), "--intervals", ws.path("intervals.csv").to_str().unwrap()]);
    ok.expect_code(0);
    assert!(ok.stdout.contains(&format!("{suppressed} suppressed values audited; 0 can be narrowed")), "{}", ok.stdout);
    assert_eq!(std::fs::read_to_string(ws.path("intervals.csv")).unwrap().lines().count(), suppressed + 1);
    // A naive pattern: publish every suppressed value but one. The last one follows from the
    // totals, and the audit must say so.
    let text = std::fs::read_to_string(dir.join("cells.csv")).unwrap();
    let mut kept = false;
    let naive: Vec<String> = text
        .lines()
        .map(|l| {
            let target = l.starts_with("subarea,0911101010,Kruununhaka,25-34,2025Q1") && l.contains(",persons,");
            if l.contains(",suppressed,") && (kept || !target) {
                l.replace(",,suppressed,", ",0,published,")
            } else {
                kept |= target;
                l.to_string()
            }
        })
        .collect();
    assert!(kept);
    std::fs::write(dir.join("cells.csv"), naive.join("\n") + "\n").unwrap();
    ws.run(&["audit", dir.to_str().unwrap()]).expect_code(1).expect_stderr(&["0911101010/25-34/2025Q1 persons"]);
}

#[test]
fn zero_full_rule_suppresses_cells_that_hold_a_whole_group() {
    let ws = Workspace::new();
    // Six persons in Kruununhaka, all aged 35-44, all in the first quarter: the cell has
    // enough persons for the frequency rule, but it holds the whole area's count, so it tells
    // that every defaulter of the area is in that age band.
    let mut csv =
        String::from("person_id,birth_year,sex,subarea,entry_type,registration_date,creditor_type,amount_eur\n");
    for i in 0..6 {
        csv.push_str(&format!("P{i},1985,F,0911101010,court_judgment,2025-02-0{},bank,100.00\n", i + 1));
    }
    let input = ws.write("input/pd.csv", csv.as_bytes());
    let base = ws.path("policies/payment-defaults-quarterly-sdc.toml");
    let text = std::fs::read_to_string(&base).unwrap();
    let rule = ws.write(
        "policies/zero-full.toml",
        format!("{text}\n[protection.zero_full]\ndimensions = [\"age_band\"]\nzero = false\n").as_bytes(),
    );
    let status = |policy: &std::path::Path, out: &str| {
        ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", out])
            .expect_code(0)
            .expect_no_sentinels();
        let (header, rows) = read_csv(&ws.path(&format!("{out}/cells.csv")));
        let col = |n: &str| header.iter().position(|h| h.trim_start_matches('\u{feff}') == n).unwrap();
        let row = rows
            .iter()
            .find(|r| {
                r[col("area_code")] == "0911101010"
                    && r[col("age_band")] == "35-44"
                    && r[col("quarter")] == "2025Q1"
                    && r[col("measure")] == "persons"
            })
            .unwrap();
        (row[col("value")].clone(), row[col("status")].clone())
    };
    assert_eq!(status(&base, "plain"), ("6".to_string(), "published".to_string()));
    assert_eq!(status(&rule, "rule"), (String::new(), "suppressed".to_string()));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("rule/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["sdc"]["zero_full"][0][0], "age_band");
    let report = std::fs::read_to_string(ws.path("rule/report.md")).unwrap();
    assert!(report.contains("0 % / 100 % rule"), "{report}");
    // The rule needs a total along its dimension.
    let no_total = ws.write(
        "policies/zero-full-bad.toml",
        format!(
            "{}\n[protection.zero_full]\ndimensions = [\"age_band\"]\nzero = false\n",
            text.replace("age_total = true", "age_total = false")
        )
        .as_bytes(),
    );
    ws.run(&["policy", "check", no_total.to_str().unwrap()])
        .expect_code(1)
        .expect_stdout_or_stderr(&["protection.zero_full.dimensions[0]", "no total"]);
}

#[test]
fn sdc_pattern_is_the_same_whatever_the_thread_count() {
    // A synthetic extract large enough for many linked components, so the audit's programs run
    // in parallel: the cells file (values and the suppression pattern) must be byte-identical.
    let ws = Workspace::new();
    let policy = ws.path("policies/payment-defaults-quarterly-sdc.toml");
    let input = ws.path("synthetic.csv");
    ws.run(&["synth", "payment-defaults", "--rows", "6000", "--seed", "11", "--out", input.to_str().unwrap()])
        .expect_code(0);
    let release = |out: &str, threads: &str| {
        ws.run_env(
            &["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", out],
            &[("CELLGUARD_PSEUDONYM_KEY", Some(common::TEST_KEY)), ("RAYON_NUM_THREADS", Some(threads))],
        )
        .expect_code(0);
        std::fs::read(ws.path(out).join("cells.csv")).unwrap()
    };
    let single = release("t1", "1");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("t1/manifest.json")).unwrap()).unwrap();
    assert!(m["sdc"]["secondary_cells"].as_u64().unwrap() > 20, "{}", m["sdc"]);
    for threads in ["2", "4"] {
        assert!(release(&format!("t{threads}"), threads) == single, "{threads} threads gave another pattern");
    }
}
