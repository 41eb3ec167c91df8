//! End-to-end tests of `cellguard run` through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture, read_csv, sha256_hex, Workspace, SENTINELS};

const CELLS: usize = 147 * 7 * 4;

fn run_fixture(ws: &Workspace, out: &str) -> common::Output {
    let policy = ws.policy();
    let input = fixture("payment-defaults-small.csv");
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", out])
}

fn manifest(ws: &Workspace, out: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(ws.path(out).join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn release_has_every_cell_consistent_statuses_and_matching_hashes() {
    let ws = Workspace::new();
    run_fixture(&ws, "out").expect_code(0).expect_no_sentinels();
    let dir = ws.path("out");
    let (header, rows) = read_csv(&dir.join("cells.csv"));
    assert_eq!(
        header,
        [
            "area_level",
            "area_code",
            "area_name",
            "age_band",
            "quarter",
            "quarter_start",
            "quarter_end",
            "measure",
            "value",
            "status",
            "noise_scale",
            "noise_sd",
            "ci95_low",
            "ci95_high"
        ]
    );
    assert_eq!(rows.len(), CELLS * 3);
    for measure in ["persons", "entries", "amount_eur"] {
        assert_eq!(rows.iter().filter(|r| r[7] == measure).count(), CELLS, "{measure}");
    }
    // Every (area, age band, quarter) appears exactly once per measure.
    let keys: std::collections::HashSet<(String, String, String, String)> =
        rows.iter().map(|r| (r[1].clone(), r[3].clone(), r[4].clone(), r[7].clone())).collect();
    assert_eq!(keys.len(), CELLS * 3);
    for r in &rows {
        match r[9].as_str() {
            "published" => {
                let v: f64 = r[8].parse().unwrap();
                let (lo, hi): (f64, f64) = (r[12].parse().unwrap(), r[13].parse().unwrap());
                assert!(lo <= v.max(0.0) && v <= hi, "interval {lo}..{hi} does not hold {v}");
                assert!(!r[10].is_empty() && !r[11].is_empty());
            }
            "suppressed_noisy_threshold" => {
                assert!(r[8..].iter().skip(2).all(String::is_empty) && r[8].is_empty(), "{r:?}")
            }
            other => panic!("unknown status {other}"),
        }
    }
    // All three measures of a cell share its status.
    for cell in rows.chunks(3) {
        assert!(cell.iter().all(|r| r[9] == cell[0][9]));
    }
    let m = manifest(&ws, "out");
    for f in m["files"].as_array().unwrap() {
        let path = dir.join(f["name"].as_str().unwrap());
        assert_eq!(sha256_hex(&path), f["sha256"].as_str().unwrap(), "{}", path.display());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), f["bytes"].as_u64().unwrap());
    }
    assert_eq!(m["inputs"][0]["file"]["sha256"].as_str().unwrap(), sha256_hex(&fixture("payment-defaults-small.csv")));
    assert_eq!(m["policy"]["sha256"].as_str().unwrap(), sha256_hex(&ws.policy()));
    assert_eq!(m["inputs"][0]["rows_read"], 24);
    assert_eq!(m["inputs"][0]["rows_used"], 22);
    assert_eq!(m["inputs"][0]["rows_out_of_scope"], 2);
    let published = rows.iter().filter(|r| r[9] == "published").count() as u64;
    assert_eq!(m["status_counts"]["published"].as_u64().unwrap(), published);
    assert_eq!(m["n_rows"].as_u64().unwrap(), (CELLS * 3) as u64);
    ws.run(&["verify", dir.to_str().unwrap()]).expect_code(0);
}

#[test]
fn verify_detects_a_changed_byte() {
    let ws = Workspace::new();
    run_fixture(&ws, "out").expect_code(0);
    let cells = ws.path("out/cells.csv");
    let mut bytes = std::fs::read(&cells).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&cells, bytes).unwrap();
    ws.run(&["verify", ws.path("out").to_str().unwrap()]).expect_code(2).expect_stderr(&["cells.csv", "checksum"]);
}

#[test]
fn manifest_epsilon_is_what_opendp_reports_for_the_policy_bounds() {
    use opendp::domains::{AtomDomain, VectorDomain};
    use opendp::measurements::make_laplace;
    use opendp::metrics::L1Distance;
    let ws = Workspace::new();
    run_fixture(&ws, "out").expect_code(0);
    let m = manifest(&ws, "out");
    // From the bundled policy: 4 cells per person, 10 entries per cell, amounts clamped to
    // 0..2000 euros (200000 cents); epsilon 0.5, 0.25, 0.25.
    let expected = [("persons", 4i64, 0.5), ("entries", 40, 0.25), ("amount_eur", 4 * 10 * 200_000, 0.25)];
    let losses = m["privacy_loss"].as_array().unwrap();
    assert_eq!(losses.len(), 3);
    let mut total = 0.0;
    for ((name, sensitivity, allowed), loss) in expected.iter().zip(losses) {
        assert_eq!(loss["measure"], *name);
        assert_eq!(loss["mechanism_sensitivity"].as_f64().unwrap(), *sensitivity as f64);
        let scale = loss["mechanism_scale"].as_f64().unwrap();
        let mechanism =
            make_laplace(VectorDomain::new(AtomDomain::<i64>::default()), L1Distance::<i64>::default(), scale, None)
                .unwrap();
        let epsilon = mechanism.map(sensitivity).unwrap();
        assert_eq!(loss["epsilon"].as_f64().unwrap(), epsilon, "{name}");
        assert!(epsilon <= *allowed && epsilon > allowed * (1.0 - 1e-12), "{name}: {epsilon} vs {allowed}");
        total += epsilon;
    }
    assert_eq!(m["total_epsilon"].as_f64().unwrap(), total);
}

#[test]
fn manifest_rho_is_what_opendp_reports_for_the_discrete_gaussian() {
    use opendp::domains::{AtomDomain, VectorDomain};
    use opendp::measurements::make_gaussian;
    use opendp::measures::ZeroConcentratedDivergence;
    use opendp::metrics::L2Distance;
    let ws = Workspace::new();
    let policy = ws.policy_variant("gauss", |t| {
        t.replace("mechanism = \"discrete-laplace\"", "mechanism = \"discrete-gaussian\"")
            .replace("epsilon = 0.5", "rho = 0.125")
            .replace("epsilon = 0.25", "rho = 0.03")
            .replace("total_epsilon = 4.0", "total_rho = 1.0")
    });
    let input = fixture("payment-defaults-small.csv");
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"])
        .expect_code(0);
    let m = manifest(&ws, "out");
    // L2 sensitivities: a person in up to 4 cells contributes at most 1, 10 entries or
    // 10 · 200000 cents to each: √4 times that.
    let expected = [("persons", 2.0, 0.125), ("entries", 20.0, 0.03), ("amount_eur", 2.0 * 10.0 * 200_000.0, 0.03)];
    let mut total = 0.0;
    for ((name, sensitivity, allowed), loss) in expected.iter().zip(m["privacy_loss"].as_array().unwrap()) {
        assert_eq!(loss["measure"], *name);
        assert_eq!(loss["mechanism_sensitivity"].as_f64().unwrap(), *sensitivity);
        assert!(loss["epsilon"].is_null());
        let mechanism = make_gaussian::<_, _, ZeroConcentratedDivergence>(
            VectorDomain::new(AtomDomain::<i64>::default()),
            L2Distance::<f64>::default(),
            loss["mechanism_scale"].as_f64().unwrap(),
            None,
        )
        .unwrap();
        let rho = mechanism.map(sensitivity).unwrap();
        assert_eq!(loss["rho"].as_f64().unwrap(), rho, "{name}");
        assert!(rho <= *allowed && rho > allowed * (1.0 - 1e-12), "{name}: {rho} vs {allowed}");
        total += rho;
    }
    assert_eq!(m["total_rho"].as_f64().unwrap(), total);
    assert!(m["noise_source"].as_str().unwrap().contains("discrete Gaussian"));
}

fn assert_bad_policy(name: &str, edit: impl Fn(&str) -> String, fragments: &[&str]) {
    let ws = Workspace::new();
    let policy = ws.policy_variant(name, edit);
    let input = fixture("payment-defaults-small.csv");
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"])
        .expect_code(2)
        .expect_stderr(fragments)
        .expect_no_sentinels();
    assert!(!ws.path("out").exists(), "{name}: a release folder was left behind");
    let leftovers: Vec<_> = std::fs::read_dir(ws.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "{name}: left {leftovers:?}");
}

#[test]
fn missing_epsilon_is_named() {
    assert_bad_policy(
        "missing-epsilon",
        |t| t.replacen("epsilon = 0.25\n", "", 1),
        &["missing-epsilon.toml", "measures[1].epsilon", "no default"],
    );
}

#[test]
fn unknown_field_is_named() {
    assert_bad_policy(
        "unknown-field",
        |t| t.replace("max_records_per_cell = 10", "max_records_per_cell = 10\nmax_cells_per_person = 3"),
        &["unknown-field.toml:", "max_cells_per_person", "unknown field"],
    );
}

#[test]
fn negative_bound_is_named() {
    assert_bad_policy(
        "negative-bound",
        |t| t.replace("max_cells_per_unit = 4", "max_cells_per_unit = -4"),
        &["negative-bound.toml:", "max_cells_per_unit"],
    );
    assert_bad_policy(
        "negative-sum-bound",
        |t| t.replace("lower = 0", "lower = -10"),
        &["measures[2].lower", "negative"],
    );
}

#[test]
fn nan_or_infinite_epsilon_is_refused_as_bad_input() {
    assert_bad_policy(
        "nan-epsilon",
        |t| t.replacen("epsilon = 0.5", "epsilon = nan", 1),
        &["measures[0].epsilon", "positive, finite"],
    );
    assert_bad_policy("inf-epsilon", |t| t.replacen("epsilon = 0.5", "epsilon = inf", 1), &["measures[0].epsilon"]);
}

#[test]
fn canary_never_leaks_on_success_or_failure() {
    let ws = Workspace::new();
    run_fixture(&ws, "out").expect_code(0).expect_no_sentinels();
    // A source whose sentinel rows are invalid: the run fails and names lines and columns only.
    let bad = ws.write(
        "input/bad.csv",
        b"person_id,birth_year,sex,subarea,entry_type,registration_date,creditor_type,amount_eur\n\
          CANARY-PERSON-5150,1970,X,0911101020,bankruptcy,CANARY-DATE,CANARY-CREDITOR,10.00\n\
          CANARY-PERSON-5150,1970,X,0911101020,bankruptcy,2025-01-01,CANARY-CREDITOR,CANARY-AMOUNT\n",
    );
    let policy = ws.policy();
    let r = ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", bad.to_str().unwrap(), "--out", "out2"]);
    r.expect_code(2).expect_no_sentinels().expect_stderr(&[
        "bad.csv",
        "line 2",
        "registration_date",
        "line 3",
        "amount_eur",
    ]);
    assert!(!ws.path("out2").exists());
    // A file whose first line is data, not a header: the error names a position, not the data.
    let headless = ws.write(
        "input/headless.csv",
        b"CANARY-PERSON-5150,1970,X,0911101020,bankruptcy,2025-01-01,CANARY-CREDITOR,13371337.13\n",
    );
    let r =
        ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", headless.to_str().unwrap(), "--out", "out3"]);
    r.expect_code(2).expect_no_sentinels().expect_stderr(&["headless.csv:1", "header column 1"]);
    // And nothing under any output folder contains a sentinel.
    let text = ws.all_output_text();
    for s in SENTINELS {
        assert!(!text.contains(s), "sentinel {s} reached an output file");
    }
}

#[test]
fn missing_key_is_an_error_not_a_fallback() {
    let ws = Workspace::new();
    let policy = ws.policy();
    let input = fixture("payment-defaults-small.csv");
    let args = ["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"];
    ws.run_env(&args, &[]).expect_code(2).expect_stderr(&["CELLGUARD_PSEUDONYM_KEY", "--key-file"]);
    ws.run_env(&args, &[("CELLGUARD_PSEUDONYM_KEY", Some("short"))]).expect_code(2).expect_stderr(&["at least 32"]);
    assert!(!ws.path("out").exists());
}

#[test]
fn an_existing_release_folder_is_never_overwritten() {
    let ws = Workspace::new();
    std::fs::create_dir(ws.path("out")).unwrap();
    std::fs::write(ws.path("out/keep.txt"), b"mine").unwrap();
    run_fixture(&ws, "out").expect_code(2).expect_stderr(&["already exists"]);
    assert_eq!(std::fs::read(ws.path("out/keep.txt")).unwrap(), b"mine");
}

#[cfg(unix)]
#[test]
fn release_files_are_no_more_readable_than_the_input() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new();
    let input = ws.write("input/private.csv", &std::fs::read(fixture("payment-defaults-small.csv")).unwrap());
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o600)).unwrap();
    let policy = ws.policy();
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"])
        .expect_code(0);
    for name in ["cells.csv", "report.md", "manifest.json"] {
        let mode = std::fs::metadata(ws.path("out").join(name)).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{name} has mode {mode:o}");
    }
    let dir_mode = std::fs::metadata(ws.path("out")).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o077, 0, "the folder has mode {dir_mode:o}");
}

#[test]
fn force_replaces_a_release_whole_and_nothing_else() {
    let ws = Workspace::new();
    run_fixture(&ws, "out").expect_code(0);
    let first = std::fs::read(ws.path("out/manifest.json")).unwrap();
    let policy = ws.policy();
    let input = fixture("payment-defaults-small.csv");
    let args =
        ["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out", "--force"];
    ws.run(&args).expect_code(0);
    assert_ne!(std::fs::read(ws.path("out/manifest.json")).unwrap(), first, "the release was replaced");
    ws.run(&["verify", ws.path("out").to_str().unwrap()]).expect_code(0);
    let hidden: Vec<String> = std::fs::read_dir(ws.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "left {hidden:?}");
    // A folder that is not a release is never replaced, even with --force.
    std::fs::create_dir(ws.path("mine")).unwrap();
    std::fs::write(ws.path("mine/notes.txt"), b"keep").unwrap();
    let args =
        ["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "mine", "--force"];
    ws.run(&args).expect_code(2).expect_stderr(&["not a release folder"]);
    assert_eq!(std::fs::read(ws.path("mine/notes.txt")).unwrap(), b"keep");
    // Two releases were charged; the refused one was not.
    let ledger = std::fs::read_to_string(ws.path("policies/ledgers/payment-defaults.jsonl")).unwrap();
    assert_eq!(ledger.lines().count(), 2);
}
