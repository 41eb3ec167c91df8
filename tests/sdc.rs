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
    // The invented zeros (hidden totals among them) pin the last value at 0, which the audit
    // lists apart as an empty cell when a release publishes empty cells anyway; a release
    // that protects zeros must not pin it.
    let flagged = ws.run(&["audit", dir.to_str().unwrap()]);
    flagged.expect_code(0);
    assert!(
        flagged.stdout.contains("1 more is pinned at 0") && flagged.stdout.contains("0911101010/25-34/2025Q1 persons")
    );
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["sdc"]["zero_full"] = serde_json::json!([["age_band"], true]);
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec(&manifest).unwrap()).unwrap();
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

/// A bundled policy with `edit` applied, a noisy threshold of 0 (with ZeroNoise the published
/// values are then the exact ones, all of them) and a baseline that allows it.
fn zero_threshold_policy(ws: &Workspace, bundled: &str, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let text = std::fs::read_to_string(ws.path(&format!("policies/{bundled}"))).unwrap();
    let edited =
        text.replace("min = 10", "min = 0").replace("ledgers/payment-defaults.jsonl", &format!("ledgers/{name}.jsonl"));
    assert_ne!(edited, text);
    let path = ws.write(&format!("policies/{name}.toml"), edited.as_bytes());
    let baseline = std::fs::read_to_string(ws.path("policies/baseline.toml")).unwrap();
    let baseline = ws.write(
        "policies/zero-threshold-baseline.toml",
        baseline.replace("min_noisy_threshold = 5", "min_noisy_threshold = 0").as_bytes(),
    );
    (path, baseline)
}

/// Releases `input` under `policy` through the library with `noise`; returns the cells by
/// (area, age band, quarter, measure) → (value, status), and the manifest.
fn release_with(
    ws: &Workspace,
    policy: &(std::path::PathBuf, std::path::PathBuf),
    input: &std::path::Path,
    out: &str,
    noise: &mut dyn cellguard_privacy::NoiseSource,
) -> (std::collections::HashMap<[String; 4], (String, String)>, serde_json::Value) {
    let key = cellguard_ingest::PseudonymKey::from_bytes(common::TEST_KEY.as_bytes().to_vec()).unwrap();
    let request = cellguard::pipeline::ReleaseRequest {
        policy: policy.0.clone(),
        baseline: Some(policy.1.clone()),
        input: input.to_path_buf(),
        out: ws.path(out),
        scan: cellguard_ingest::ScanOptions::default(),
        force: false,
    };
    cellguard::pipeline::release(&request, Some(&key), noise, |_| {}).unwrap();
    let (_, rows) = read_csv(&ws.path(&format!("{out}/cells.csv")));
    let cells = rows
        .into_iter()
        .map(|r| ([r[1].clone(), r[3].clone(), r[4].clone(), r[7].clone()], (r[8].clone(), r[9].clone())))
        .collect();
    let m = serde_json::from_slice(&std::fs::read(ws.path(&format!("{out}/manifest.json"))).unwrap()).unwrap();
    (cells, m)
}

#[test]
fn dp_sdc_gate_hides_unsafe_cells_and_leaves_no_total_that_gives_one_away() {
    let ws = Workspace::new();
    let input = ws.path("synthetic.csv");
    ws.run(&["synth", "payment-defaults", "--rows", "20000", "--seed", "3", "--out", input.to_str().unwrap()])
        .expect_code(0);
    // With zero noise and no threshold, the consistent dp release publishes every exact value
    // (totals count unit-cells: the sums of their parts), the reference for the gate.
    let dp = zero_threshold_policy(&ws, "payment-defaults-quarterly-consistent.toml", "reference");
    let (exact, _) = release_with(&ws, &dp, &input, "dp", &mut cellguard_privacy::ZeroNoise);
    let gated = zero_threshold_policy(&ws, "payment-defaults-quarterly-dp-sdc.toml", "gated");
    let (cells, m) = release_with(&ws, &gated, &input, "gated", &mut cellguard_privacy::ZeroNoise);
    assert_eq!(m["mode"], "dp+sdc");
    assert_eq!(cells.len(), exact.len());
    let guarantee = m["guarantee"].as_str().unwrap();
    assert!(guarantee.contains("NOT covered by the differential-privacy guarantee"), "{guarantee}");
    let sdc = &m["sdc"];
    assert!(sdc["primary_cells"].as_u64().unwrap() > 100 && sdc["secondary_cells"].as_u64().unwrap() > 20, "{sdc}");
    let suppressed = |k: &[String; 4]| cells[k].1 != "published";
    let dims: Vec<Vec<(String, Option<usize>)>> = sdc["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| (n["code"].as_str().unwrap().to_string(), n["parent"].as_u64().map(|p| p as usize)))
                .collect()
        })
        .collect();
    assert_eq!(dims.len(), 3);
    // The leaves of a dimension: the nodes no other node names as its parent.
    let leaves: Vec<std::collections::HashSet<&str>> = dims
        .iter()
        .map(|d| (0..d.len()).filter(|i| d.iter().all(|(_, p)| *p != Some(*i))).map(|i| d[i].0.as_str()).collect())
        .collect();
    let mut small_inner = 0;
    for (k, (value, status)) in &cells {
        // Reasons are never published in dp+sdc, and the threshold of 0 suppresses nothing.
        assert!(status == "published" || status == "suppressed", "{k:?}: {status}");
        // The gate hides values; it never changes one.
        if status == "published" {
            assert_eq!(value, &exact[k].0, "{k:?}");
        }
        // Inner cells count distinct persons: 1 to 4 is a primary cell, always hidden.
        let inner = (0..3).all(|d| leaves[d].contains(k[d].as_str()));
        if inner && k[3] == "persons" {
            let persons: f64 = exact[k].0.parse().unwrap();
            if (1.0..5.0).contains(&persons) {
                small_inner += 1;
                assert!(suppressed(k), "{k:?} has {persons} persons and is published");
            }
        }
    }
    assert!(small_inner > 100, "{small_inner}");
    // No total (along any dimension of the manifest's hierarchy) has exactly one hidden cell
    // among itself and its parts: that cell would be its total minus the published parts.
    let mut checked = 0;
    for d in 0..3 {
        let (o1, o2) = ((d + 1) % 3, (d + 2) % 3);
        for parent in 0..dims[d].len() {
            let children: Vec<usize> = (0..dims[d].len()).filter(|c| dims[d][*c].1 == Some(parent)).collect();
            if children.is_empty() {
                continue;
            }
            for a in &dims[o1] {
                for b in &dims[o2] {
                    let key = |node: usize| {
                        let mut k: [String; 4] = Default::default();
                        k[d] = dims[d][node].0.clone();
                        k[o1] = a.0.clone();
                        k[o2] = b.0.clone();
                        k[3] = "persons".to_string();
                        k
                    };
                    let hidden = std::iter::once(parent)
                        .chain(children.iter().copied())
                        .filter(|n| suppressed(&key(*n)))
                        .count();
                    assert_ne!(hidden, 1, "the total {:?} gives its one hidden cell away", key(parent));
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");

    // The gate is decided on the exact data alone: released again with secure noise and the
    // bundled threshold (10 persons), the cells the gate hides are the same — each shows
    // `suppressed` unless the threshold hid it too — and the threshold adds no gate cell.
    let bundled = (ws.path("policies/payment-defaults-quarterly-dp-sdc.toml"), ws.path("policies/baseline.toml"));
    let (noisy, m) = release_with(&ws, &bundled, &input, "noisy", &mut cellguard_privacy::SecureNoise);
    let mut by_threshold = 0;
    for (k, (_, status)) in &noisy {
        let gated = cells[k].1 == "suppressed";
        match status.as_str() {
            "suppressed" => assert!(gated, "{k:?} hidden by the gate only with noise"),
            "published" => assert!(!gated, "{k:?} published with noise but gated without"),
            "suppressed_noisy_threshold" => by_threshold += 1,
            other => panic!("{k:?}: {other}"),
        }
    }
    assert!(by_threshold > 1000, "{by_threshold}");
    assert!(m["sdc"]["primary_cells"].as_u64().unwrap() < sdc["primary_cells"].as_u64().unwrap());
}

#[test]
fn dp_sdc_release_with_secure_noise_spends_budget_and_refuses_published_reasons() {
    let ws = Workspace::new();
    let policy = ws.path("policies/payment-defaults-quarterly-dp-sdc.toml");
    let input = ws.path("synthetic.csv");
    ws.run(&["synth", "payment-defaults", "--rows", "6000", "--seed", "4", "--out", input.to_str().unwrap()])
        .expect_code(0);
    let run = |policy: &std::path::Path, out: &str| {
        ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", out])
    };
    run(&policy, "out").expect_code(0).expect_no_sentinels();
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("out/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["mode"], "dp+sdc");
    assert_eq!(m["budget"]["spent_after"].as_f64().unwrap(), m["total_rho"].as_f64().unwrap());
    assert!(m["noise_source"].as_str().unwrap().contains("opendp"));
    let report = std::fs::read_to_string(ws.path("out/report.md")).unwrap();
    assert!(report.contains("not covered by the differential-privacy guarantee"));
    ws.run(&["verify", ws.path("out").to_str().unwrap()]).expect_code(0);
    // The outsider's audit needs exact relations, which noisy values do not have.
    ws.run(&["audit", ws.path("out").to_str().unwrap()]).expect_code(2).expect_stderr(&["mode `dp+sdc`"]);
    // Published reasons would state facts about exact values: refused before any data is read.
    let text = std::fs::read_to_string(&policy).unwrap();
    let reasons = ws.write(
        "policies/reasons.toml",
        text.replace("publish_suppression_reasons = false", "publish_suppression_reasons = true").as_bytes(),
    );
    run(&reasons, "reasons").expect_code(2).expect_stderr(&["protection.publish_suppression_reasons", "dp+sdc"]);
    assert!(!ws.path("reasons").exists());
    // Without secondary suppression the totals give primary cells away: the gate's audit
    // refuses the release (exit 1) before any noise is drawn, and nothing is spent or written.
    let ledger = ws.path("policies/ledgers/payment-defaults.jsonl");
    let before = std::fs::read(&ledger).unwrap();
    let primary_only = ws.write(
        "policies/primary-only.toml",
        text.replace("secondary_suppression = true", "secondary_suppression = false").as_bytes(),
    );
    let baseline = std::fs::read_to_string(ws.path("policies/baseline.toml")).unwrap();
    let lenient = ws.write(
        "policies/no-secondary-baseline.toml",
        baseline.replace("secondary_suppression_required = true", "secondary_suppression_required = false").as_bytes(),
    );
    ws.run(&[
        "run",
        "--policy",
        primary_only.to_str().unwrap(),
        "--baseline",
        lenient.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--out",
        "primary-only",
    ])
    .expect_code(1)
    .expect_stderr(&["attacker audit", "nothing was released"]);
    assert!(!ws.path("primary-only").exists());
    assert_eq!(std::fs::read(&ledger).unwrap(), before, "a refused release spent budget");
}

#[test]
fn outsider_audit_lists_empty_cells_apart_unless_zeros_are_protected() {
    let ws = Workspace::new();
    let policy = ws.path("policies/payment-defaults-quarterly-sdc.toml");
    let input = ws.path("synthetic.csv");
    ws.run(&["synth", "payment-defaults", "--rows", "20000", "--seed", "5", "--out", input.to_str().unwrap()])
        .expect_code(0);
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"])
        .expect_code(0);
    let dir = ws.path("out");
    let (header, mut rows) = read_csv(&dir.join("cells.csv"));
    let at = |rows: &Vec<Vec<String>>, area: &str, age: &str, quarter: &str, measure: &str| {
        rows.iter().position(|r| r[1] == area && r[3] == age && r[4] == quarter && r[7] == measure).unwrap()
    };
    // A published empty sub-area cell whose other age bands and all-ages total are published:
    // hidden, its entries and amount are pinned at 0 by the total.
    let ages: Vec<String> = {
        let mut a: Vec<String> = rows.iter().map(|r| r[3].clone()).filter(|a| a != "total").collect();
        a.sort();
        a.dedup();
        a
    };
    let empty = rows
        .iter()
        .filter(|r| r[0] == "subarea" && r[3] != "total" && r[4] != "total" && r[7] == "entries" && r[8] == "0")
        .find(|r| {
            ages.iter().chain(std::iter::once(&"total".to_string())).all(|a| {
                let i = at(&rows, &r[1], a, &r[4], "entries");
                rows[i][9] == "published"
            })
        })
        .map(|r| (r[1].clone(), r[3].clone(), r[4].clone()))
        .expect("an empty cell whose age row is otherwise published");
    for measure in ["persons", "entries", "amount_eur"] {
        let i = at(&rows, &empty.0, &empty.1, &empty.2, measure);
        rows[i][8] = String::new();
        rows[i][9] = "suppressed".to_string();
    }
    let mut w = csv::Writer::from_path(dir.join("cells.csv")).unwrap();
    w.write_record(&header).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    let code = format!("{}/{}/{}", empty.0, empty.1, empty.2);
    let ok = ws.run(&["audit", dir.to_str().unwrap()]);
    ok.expect_code(0);
    assert!(ok.stdout.contains("0 can be narrowed") && ok.stdout.contains("more are pinned at 0"), "{}", ok.stdout);
    assert!(ok.stdout.contains(&format!("{code} entries")), "{}", ok.stdout);
    // A release that protects zeros (the 0 % rule with `zero = true`) must not pin one.
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["sdc"]["zero_full"] = serde_json::json!([["age_band"], true]);
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec(&manifest).unwrap()).unwrap();
    ws.run(&["audit", dir.to_str().unwrap()])
        .expect_code(1)
        .expect_stderr(&[&format!("{code} entries in [0.00, 0.00]")]);
}
