//! The privacy-budget ledger across releases: refusal before any data is read, tamper
//! detection, and a crash between the ledger write and the rename.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture, Workspace};

fn run(ws: &Workspace, policy: &std::path::Path, input: &std::path::Path, out: &str) -> common::Output {
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", out])
}

#[test]
fn a_release_over_budget_is_refused_before_any_data_is_read() {
    let ws = Workspace::new();
    let policy = ws.policy_variant("tight", |t| t.replace("total_epsilon = 4.0", "total_epsilon = 2.5"));
    let input = fixture("payment-defaults-small.csv");
    run(&ws, &policy, &input, "r1").expect_code(0);
    run(&ws, &policy, &input, "r2").expect_code(0);
    // A third release (ε = 1) would reach 3 > 2.5: refused, even with an input that does not
    // exist — the data is never opened.
    run(&ws, &policy, &ws.path("no-such-input.csv"), "r3").expect_code(1).expect_stderr(&[
        "spent ε = 2",
        "2.5",
        "Nothing was read",
    ]);
    assert!(!ws.path("r3").exists());
    let ledger = ws.path("policies/ledgers/payment-defaults.jsonl");
    let show = ws.run(&["budget", "show", ledger.to_str().unwrap()]);
    show.expect_code(0);
    // ρ of two releases: each measure's ε²/2, added: 2 · (0.125 + 0.03125 + 0.03125).
    assert!(
        show.stdout.contains(
            "| payment-defaults | 2025 | 2 | epsilon | 2.000000 | 2.500000 | 0.500000 | 2.000000 | 0.375000 |"
        ),
        "{}",
        show.stdout
    );
    // The manifest records the entry it was charged to.
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("r2/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["budget"]["entry_seq"], 2);
    assert_eq!(m["budget"]["spent_after"], 2.0);
}

#[test]
fn tampering_is_detected() {
    let ws = Workspace::new();
    let input = fixture("payment-defaults-small.csv");
    for out in ["r1", "r2", "r3"] {
        run(&ws, &ws.policy(), &input, out).expect_code(0);
    }
    let ledger = ws.path("policies/ledgers/payment-defaults.jsonl");
    let text = std::fs::read_to_string(&ledger).unwrap();
    ws.run(&["budget", "verify", ledger.to_str().unwrap()]).expect_code(0);
    let lines: Vec<&str> = text.lines().collect();
    let cases = [
        // The total alone: it is no longer its measures' sum.
        ("edited", text.replacen("\"epsilon\":1.0", "\"epsilon\":0.1", 1), ":1:"),
        // A measure and the total together: the next entry's link breaks.
        (
            "edited-consistently",
            text.replacen("[\"persons\",0.5]", "[\"persons\",0.05]", 1).replacen(
                "\"epsilon\":1.0",
                "\"epsilon\":0.55",
                1,
            ),
            ":2:",
        ),
        ("deleted", format!("{}\n{}\n", lines[0], lines[2]), ":2:"),
        ("swapped", format!("{}\n{}\n{}\n", lines[1], lines[0], lines[2]), ":1:"),
    ];
    for (name, bad, at) in cases {
        assert_ne!(bad, text, "{name}");
        std::fs::write(&ledger, bad).unwrap();
        ws.run(&["budget", "verify", ledger.to_str().unwrap()])
            .expect_code(1)
            .expect_stderr(&[at, "fails verification"]);
        // No release may spend from a tampered ledger.
        run(&ws, &ws.policy(), &input, &format!("after-{name}")).expect_code(1).expect_stderr(&["fails verification"]);
    }
}

#[test]
fn a_crash_after_the_ledger_write_keeps_the_spend_and_publishes_nothing() {
    let ws = Workspace::new();
    let input = fixture("payment-defaults-small.csv");
    let policy = ws.policy();
    let args = ["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"];
    let common::Output { code, .. } = ws.run_env(
        &args,
        &[("CELLGUARD_PSEUDONYM_KEY", Some(common::TEST_KEY)), ("CELLGUARD_FAILPOINT", Some("after-ledger"))],
    );
    assert_eq!(code, 2);
    assert!(!ws.path("out").exists());
    let leftovers: Vec<String> = std::fs::read_dir(ws.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(leftovers.iter().all(|n| !n.contains("tmp")), "{leftovers:?}");
    let ledger = ws.path("policies/ledgers/payment-defaults.jsonl");
    ws.run(&["budget", "verify", ledger.to_str().unwrap()]).expect_code(0).expect_stdout_or_stderr(&["1 entries"]);
}

#[test]
fn two_concurrent_runs_cannot_both_spend_the_last_budget() {
    let ws = Workspace::new();
    let policy = ws.policy_variant("last", |t| t.replace("total_epsilon = 4.0", "total_epsilon = 1.5"));
    let input = fixture("payment-defaults-small.csv");
    let spawn = |out: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cellguard"))
            .args(["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", out])
            .current_dir(ws.dir.path())
            .env("CELLGUARD_PSEUDONYM_KEY", common::TEST_KEY)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("a"), spawn("b"));
    let codes = [a.wait_with_output().unwrap().status.code(), b.wait_with_output().unwrap().status.code()];
    let mut sorted = codes.to_vec();
    sorted.sort();
    assert_eq!(sorted, vec![Some(0), Some(1)], "exactly one run may spend the last ε");
    assert_eq!(usize::from(ws.path("a").exists()) + usize::from(ws.path("b").exists()), 1);
    let ledger = ws.path("policies/ledgers/payment-defaults.jsonl");
    assert_eq!(std::fs::read_to_string(ledger).unwrap().lines().count(), 1);
}

#[test]
fn dry_run_reports_cost_and_accuracy_without_reading_data() {
    let ws = Workspace::new();
    let policy = ws.policy_variant("tight", |t| t.replace("total_epsilon = 4.0", "total_epsilon = 1.5"));
    let out = ws.run(&["run", "--dry-run", "--policy", policy.to_str().unwrap()]);
    out.expect_code(0);
    assert!(out.stdout.contains("| persons | 0.5 | 0.125000 | 4 | 11.31 | 24 |"), "{}", out.stdout);
    assert!(out.stdout.contains("spent 0, would be 1 of 1.5"), "{}", out.stdout);
    assert!(!ws.path("policies/ledgers").exists(), "a dry run writes nothing");
    run(&ws, &policy, &fixture("payment-defaults-small.csv"), "r1").expect_code(0);
    ws.run(&["run", "--dry-run", "--policy", policy.to_str().unwrap()]).expect_code(1).expect_stderr(&["exceed"]);
}

/// The bundled policy with discrete Gaussian noise and a zCDP budget.
fn zcdp_policy(ws: &Workspace, name: &str, total_rho: &str) -> std::path::PathBuf {
    ws.policy_variant(name, |t| {
        t.replace("mechanism = \"discrete-laplace\"", "mechanism = \"discrete-gaussian\"")
            .replace("epsilon = 0.5", "rho = 0.08")
            .replace("epsilon = 0.25", "rho = 0.01")
            .replace("total_epsilon = 4.0", &format!("total_rho = {total_rho}\ndelta = 1e-9"))
    })
}

#[test]
fn zcdp_releases_spend_rho_and_report_epsilon_at_delta() {
    use cellguard_privacy::plan::epsilon_at_delta;
    let ws = Workspace::new();
    let input = fixture("payment-defaults-small.csv");
    let gaussian = zcdp_policy(&ws, "gauss", "0.3");
    run(&ws, &gaussian, &input, "g1").expect_code(0);
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("g1/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["mechanism"], "discrete-gaussian");
    assert!(m["total_epsilon"].is_null(), "a zCDP release has no pure ε");
    let rho = m["total_rho"].as_f64().unwrap();
    assert!(rho <= 0.1 && rho > 0.1 - 1e-9, "{rho}");
    // persons: a person in up to 4 cells, L2 sensitivity √4 = 2, σ = 2/√(2·0.08) = 5.
    let persons = &m["privacy_loss"][0];
    assert_eq!(persons["sensitivity"], 2.0);
    assert!((persons["noise_scale"].as_f64().unwrap() - 5.0).abs() < 1e-9);
    assert_eq!(m["budget"]["unit"], "rho");
    let approx = &m["budget"]["approx_dp"];
    assert_eq!(approx["delta"], 1e-9);
    assert_eq!(approx["release_epsilon"].as_f64().unwrap(), epsilon_at_delta(rho, 1e-9).unwrap());
    // The cells carry the discrete Gaussian's interval.
    let cells = std::fs::read_to_string(ws.path("g1/cells.csv")).unwrap();
    assert!(
        cells.lines().skip(1).any(|l| l.contains(",persons,") && l.contains(",published,5.0000,")),
        "sigma 5 in cells"
    );
    // A pure-DP release spends from the same ρ budget: each measure's ε²/2 (0.125 + 2·0.03125).
    let laplace = ws.policy_variant("lap", |t| t.replace("total_epsilon = 4.0", "total_rho = 0.3"));
    run(&ws, &laplace, &input, "l1").expect_code(0);
    let l: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("l1/manifest.json")).unwrap()).unwrap();
    assert!((l["budget"]["spent_after"].as_f64().unwrap() - (rho + 0.1875)).abs() < 1e-12);
    // A second Gaussian release (0.1) would reach 0.3875 > 0.3: refused before reading.
    run(&ws, &gaussian, &ws.path("no-such-input.csv"), "g2")
        .expect_code(1)
        .expect_stderr(&["spent ρ =", "Nothing was read"]);
    let ledger = ws.path("policies/ledgers/payment-defaults.jsonl");
    let show = ws.run(&["budget", "show", ledger.to_str().unwrap()]);
    assert!(
        show.stdout.contains("| payment-defaults | 2025 | 2 | rho | 0.287500 | 0.300000 | 0.012500 | – | 0.287500 |"),
        "{}",
        show.stdout
    );
    let dry = ws.run(&["run", "--dry-run", "--policy", gaussian.to_str().unwrap()]);
    dry.expect_code(1).expect_stdout_or_stderr(&["as (epsilon, delta) at delta = 1e-9"]);
    // A zCDP mechanism cannot spend from a pure ε budget.
    let mixed = ws.policy_variant("mixed", |t| {
        t.replace("mechanism = \"discrete-laplace\"", "mechanism = \"discrete-gaussian\"")
            .replace("epsilon = 0.5", "rho = 0.08")
            .replace("epsilon = 0.25", "rho = 0.01")
    });
    run(&ws, &mixed, &input, "x").expect_code(2).expect_stderr(&["budget.total_epsilon", "total_rho"]);
}

/// Hidden folders a run left beside `out`.
fn leftovers(ws: &Workspace) -> Vec<String> {
    std::fs::read_dir(ws.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".out."))
        .collect()
}

#[test]
fn a_crash_at_any_step_leaves_a_whole_release_or_none_and_a_ledger_that_verifies() {
    let ws = Workspace::new();
    // Cheap measures, so that the dataset's budget (4) covers every run of the test.
    let policy = ws.policy_variant("cheap", |t| {
        t.replace("epsilon = 0.5", "epsilon = 0.05").replace("epsilon = 0.25", "epsilon = 0.05")
    });
    let input = fixture("payment-defaults-small.csv");
    let ledger = ws.path("policies/ledgers/payment-defaults.jsonl");
    let run = |failpoint: Option<&str>, force: bool| {
        let mut args =
            vec!["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"];
        if force {
            args.push("--force");
        }
        ws.run_env(&args, &[("CELLGUARD_PSEUDONYM_KEY", Some(common::TEST_KEY)), ("CELLGUARD_FAILPOINT", failpoint)])
    };
    let mut spends = 0;
    // A first release: crashes (killed, no clean-up) at each step before it is in place.
    for step in ["after-ledger", "after-cells", "before-rename"] {
        let point = format!("abort:{step}");
        let out = run(Some(&point), false);
        assert_ne!(out.code, 0, "{step}");
        assert!(out.stderr.is_empty() || out.code == -1, "{step}: {}", out.stderr);
        spends += 1;
        assert!(!ws.path("out").exists(), "{step}: a crashed run published a folder");
        ws.run(&["budget", "verify", ledger.to_str().unwrap()])
            .expect_code(0)
            .expect_stdout_or_stderr(&[&format!("{spends} entries")]);
        // The next run clears what the crash left and publishes.
        run(None, false).expect_code(0);
        spends += 1;
        assert!(leftovers(&ws).is_empty(), "{step}: {:?}", leftovers(&ws));
        ws.run(&["verify", "out"]).expect_code(0);
        std::fs::remove_dir_all(ws.path("out")).unwrap();
    }
    // Replacing a release (--force): a crash at any step leaves the old release, whole.
    run(None, false).expect_code(0);
    spends += 1;
    let before = std::fs::read(ws.path("out/manifest.json")).unwrap();
    for step in ["after-cells", "before-rename", "after-aside"] {
        let point = format!("abort:{step}");
        assert_ne!(run(Some(&point), true).code, 0, "{step}");
        spends += 1;
        if step == "after-aside" {
            // The old release was moved aside whole; the next run puts it back before anything
            // else (here it then refuses to replace it without --force, spending nothing).
            assert!(!ws.path("out").exists());
            run(None, false).expect_code(2).expect_stderr(&["exists"]);
        }
        assert_eq!(std::fs::read(ws.path("out/manifest.json")).unwrap(), before, "{step}");
        ws.run(&["verify", "out"]).expect_code(0);
        ws.run(&["budget", "verify", ledger.to_str().unwrap()])
            .expect_code(0)
            .expect_stdout_or_stderr(&[&format!("{spends} entries")]);
    }
    // An injected error (not a kill) at the same steps cleans up at once.
    for step in ["after-cells", "before-rename", "after-aside"] {
        run(Some(step), true).expect_code(2);
        spends += 1;
        assert!(leftovers(&ws).is_empty(), "{step}: {:?}", leftovers(&ws));
        assert_eq!(std::fs::read(ws.path("out/manifest.json")).unwrap(), before, "{step}");
    }
    run(None, true).expect_code(0);
    spends += 1;
    assert_ne!(std::fs::read(ws.path("out/manifest.json")).unwrap(), before);
    assert!(leftovers(&ws).is_empty());
    ws.run(&["budget", "verify", ledger.to_str().unwrap()])
        .expect_code(0)
        .expect_stdout_or_stderr(&[&format!("{spends} entries")]);
}
