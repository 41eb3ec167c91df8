//! The reviewer tools: `policy check` (one failing example per rule), `policy explain` (dp and
//! sdc), `policy diff` (one case per loosening kind), and the generated reference.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture, Workspace};

fn check(ws: &Workspace, name: &str, edit: impl Fn(&str) -> String) -> common::Output {
    let policy = ws.policy_variant(name, edit);
    ws.run(&["policy", "check", policy.to_str().unwrap()])
}

/// The `[protection]` block of the bundled policy replaced by an `sdc` one.
fn to_sdc(t: &str) -> String {
    let start = t.find("[protection]").unwrap();
    let mut s = t[..start].to_string();
    s.push_str("[protection]\nmode = \"sdc\"\nmin_units_per_cell = 5\nsecondary_suppression = true\nprotection_percent = 30\npublish_suppression_reasons = false\n\n[protection.dominance]\nn = 2\nk = 85\n");
    // sdc adds no noise: no budget parameters.
    s.replace("epsilon = 0.5\n", "").replace("epsilon = 0.25\n", "")
}

#[test]
fn bundled_policies_pass_the_baseline() {
    let ws = Workspace::new();
    let mut files: Vec<String> = std::fs::read_dir(ws.path("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    let mut args = vec!["policy", "check"];
    args.extend(files.iter().map(String::as_str));
    let out = ws.run(&args);
    out.expect_code(0);
    assert_eq!(out.stdout.matches(": ok").count(), files.len(), "{}", out.stdout);
    // And every schema parses.
    for entry in std::fs::read_dir(ws.path("policies/schemas")).unwrap() {
        cellguard_ingest::SourceSchema::load(&entry.unwrap().path()).unwrap();
    }
}

#[test]
fn each_rule_has_a_failing_example() {
    // (name, edit, field path, fragment of the message)
    type Edit = fn(&str) -> String;
    let cases: Vec<(&str, Edit, &str, &str)> = vec![
        ("bounds-unordered", |t| t.replace("upper = 2000", "upper = -1"), "measures[2].lower", "larger than"),
        ("epsilon-zero", |t| t.replacen("epsilon = 0.5", "epsilon = 0", 1), "measures[0].epsilon", "positive"),
        ("epsilon-nan", |t| t.replacen("epsilon = 0.5", "epsilon = nan", 1), "measures[0].epsilon", "finite"),
        ("epsilon-missing", |t| t.replacen("epsilon = 0.25\n", "", 1), "measures[1].epsilon", "no default"),
        (
            "bands-overlap",
            |t| t.replace("\"25-34\", \"35-44\"", "\"25-35\", \"35-44\""),
            "dimensions[1].bands",
            "overlaps",
        ),
        (
            "two-geographies",
            |t| {
                t.replacen(
                    "[[dimensions]]",
                    "[[dimensions]]\nkind = \"code-list\"\nname = \"postal_area\"\nfield = \"subarea\"\nclassification = \"classifications/helsinki-postal-codes.csv\"\n\n[[dimensions]]",
                    1,
                )
            },
            "dimensions",
            "one geography per policy",
        ),
        ("bound-above-2-53", |t| t.replace("upper = 2000", "upper = 90071992547409930"), "measures[2].upper", "2^53"),
        ("epsilon-infinite", |t| t.replacen("epsilon = 0.5", "epsilon = inf", 1), "measures[0].epsilon", "finite"),
        ("bands-gap", |t| t.replace("\"25-34\", \"35-44\"", "\"25-33\", \"35-44\""), "dimensions[1].bands", "gap"),
        ("bands-open-middle", |t| t.replace("\"25-34\"", "\"25+\""), "dimensions[1].bands", "open"),
        (
            "unknown-schema-field",
            |t| t.replace("field = \"subarea\"", "field = \"postcode\""),
            "dimensions[0].field",
            "declares no field",
        ),
        (
            "wrong-field-type",
            |t| t.replace("birth_year_field = \"birth_year\"", "birth_year_field = \"sex\""),
            "dimensions[1].birth_year_field",
            "type",
        ),
        ("period-reversed", |t| t.replace("to = \"2025Q4\"", "to = \"2024Q4\""), "dimensions[2].from", "before"),
        (
            "threshold-not-count",
            |t| t.replace("measure = \"persons\"", "measure = \"amount_eur\""),
            "protection.noisy_threshold.measure",
            "count",
        ),
        (
            "duplicate-measure",
            |t| t.replace("name = \"entries\"", "name = \"persons\""),
            "measures[1].name",
            "two measures",
        ),
        (
            "zero-bound",
            |t| t.replace("max_cells_per_unit = 4", "max_cells_per_unit = 0"),
            "bounds.max_cells_per_unit",
            "between 1",
        ),
        (
            "threshold-missing",
            |t| t.replace("[protection.noisy_threshold]\nmeasure = \"persons\"\nmin = 10\n", ""),
            "protection.noisy_threshold",
            "missing",
        ),
        (
            "unknown-field",
            |t| t.replace("max_rejected_rows = 0", "max_rejected_rows = 0\nretention_days = 30"),
            "retention_days",
            "unknown field",
        ),
        ("rho-with-laplace", |t| t.replacen("epsilon = 0.5", "rho = 0.5", 1), "measures[0].rho", "not `rho`"),
        // Not supported yet.
        ("rounding", |t| format!("{t}\n[rounding]\nbase = 5\n"), "rounding", "not supported yet"),
        (
            "gaussian",
            |t| t.replace("mechanism = \"discrete-laplace\"", "mechanism = \"gaussian\"").replace("epsilon =", "rho ="),
            "protection.mechanism",
            "not supported yet",
        ),
        (
            "dp-sdc-without-noise",
            |t| to_sdc(t).replace("mode = \"sdc\"", "mode = \"dp+sdc\""),
            "protection.mechanism",
            "must name the noise mechanism",
        ),
        // Baseline floors.
        ("epsilon-over-floor", |t| t.replacen("epsilon = 0.5", "epsilon = 1.9", 1), "measures", "at most 2"),
        ("threshold-under-floor", |t| t.replace("min = 10", "min = 3"), "protection.noisy_threshold.min", "at least 5"),
        (
            "mechanism-not-allowed",
            |t| t.replace("mechanism = \"discrete-laplace\"", "mechanism = \"laplace\""),
            "protection.mechanism",
            "allowed mechanisms",
        ),
        (
            "sdc-min-units-floor",
            |t| to_sdc(t).replace("min_units_per_cell = 5", "min_units_per_cell = 3"),
            "protection.min_units_per_cell",
            "at least 5",
        ),
        ("sdc-dominance-floor", |t| to_sdc(t).replace("k = 85", "k = 90"), "protection.dominance.k", "at most 85"),
        (
            "sdc-secondary-floor",
            |t| to_sdc(t).replace("secondary_suppression = true", "secondary_suppression = false"),
            "protection.secondary_suppression",
            "requires",
        ),
        (
            "sdc-no-magnitude-rule",
            |t| to_sdc(t).replace("\n[protection.dominance]\nn = 2\nk = 85\n", ""),
            "protection.dominance",
            "dominance or p %",
        ),
    ];
    let ws = Workspace::new();
    for (name, edit, field, fragment) in cases {
        let out = check(&ws, name, edit);
        out.expect_code(1);
        let line = out
            .stdout
            .lines()
            .find(|l| l.contains(&format!("`{field}`")) && l.contains(fragment))
            .unwrap_or_else(|| panic!("{name}: no finding for `{field}` saying {fragment:?}:\n{}", out.stdout));
        assert!(line.contains(&format!("{name}.toml:")), "{name}: no file and line in {line:?}");
    }
}

#[test]
fn unreadable_inputs_exit_2() {
    let ws = Workspace::new();
    let missing_class =
        ws.policy_variant("missing-classification", |t| t.replace("helsinki-subareas.csv", "nowhere.csv"));
    ws.run(&["policy", "check", missing_class.to_str().unwrap()]).expect_code(2);
    let not_toml = ws.write("policies/broken.toml", b"this is [not toml");
    ws.run(&["policy", "check", not_toml.to_str().unwrap()]).expect_code(2);
    let bad_class = ws.write(
        "policies/classifications/dup.csv",
        "kokotunnus,suurpiiri_code,suurpiiri_name,peruspiiri_code,peruspiiri_name,osa_alue_code,osa_alue_name\n0911101010,1,A,101,B,010,C\n0911101010,1,A,101,B,010,C\n".as_bytes(),
    );
    assert!(bad_class.exists());
    let dup = ws.policy_variant("dup-classification", |t| t.replace("helsinki-subareas.csv", "dup.csv"));
    ws.run(&["policy", "check", dup.to_str().unwrap()])
        .expect_code(2)
        .expect_stdout_or_stderr(&["dup.csv:3", "duplicate"]);
}

#[test]
fn run_refuses_unsupported_features_and_floors() {
    let ws = Workspace::new();
    let input = fixture("payment-defaults-small.csv");
    let rounding = ws.policy_variant("rounding", |t| format!("{t}\n[rounding]\nbase = 5\n"));
    ws.run(&["run", "--policy", rounding.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "o1"])
        .expect_code(2)
        .expect_stderr(&["`rounding`", "not supported yet"]);
    let low = ws.policy_variant("low-threshold", |t| t.replace("min = 10", "min = 3"));
    ws.run(&["run", "--policy", low.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "o2"])
        .expect_code(1)
        .expect_stderr(&["noisy_threshold.min", "baseline"]);
    std::fs::remove_file(ws.path("policies/baseline.toml")).unwrap();
    ws.run(&["run", "--policy", ws.policy().to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "o3"])
        .expect_code(2)
        .expect_stderr(&["no baseline"]);
    for o in ["o1", "o2", "o3"] {
        assert!(!ws.path(o).exists());
    }
}

#[test]
fn explain_a_dp_policy() {
    let ws = Workspace::new();
    let out = ws.run(&["policy", "explain", ws.policy().to_str().unwrap()]);
    out.expect_code(0);
    for fragment in [
        "4116 cells",
        "Unit of privacy: **person**",
        "ε-differential privacy with total ε = 1 for every person",
        "factor of e^ε = 2.72",
        "at most 4 cells and with at most 10 records per cell",
        "| `persons` | ε = 0.5 | 4 | 11.31 | 24 |",
        "| `entries` | ε = 0.25 | 40 | 226.27 | 479 |",
        "noisy `persons` is below 10",
        "true count of 34 or more",
        "Other releases of the same data",
    ] {
        assert!(out.stdout.contains(fragment), "missing {fragment:?} in\n{}", out.stdout);
    }
    let json = ws.run(&["policy", "explain", "--format", "json", ws.policy().to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["measures"][0]["ci95_half_width"], 24.0);
    assert_eq!(v["measures"][2]["sensitivity"], 80000.0);
    assert_eq!(v["n_cells"], 4116);
}

#[test]
fn explain_an_sdc_policy() {
    let ws = Workspace::new();
    let sdc = ws.policy_variant("sdc", to_sdc);
    let out = ws.run(&["policy", "explain", sdc.to_str().unwrap()]);
    out.expect_code(0);
    for fragment in [
        "Mode: `sdc`",
        "no published cell has fewer than 5 contributing persons",
        "not a mathematical guarantee",
        "Primary suppression: cells with fewer than 5",
        "2 largest contributors make up more than 85 %",
        "Secondary suppression",
    ] {
        assert!(out.stdout.contains(fragment), "missing {fragment:?} in\n{}", out.stdout);
    }
    assert!(!out.stdout.contains("Expected error"), "an sdc policy adds no noise");
}

fn diff(ws: &Workspace, name: &str, edit: impl Fn(&str) -> String) -> common::Output {
    let new = ws.policy_variant(name, edit);
    ws.run(&["policy", "diff", ws.policy().to_str().unwrap(), new.to_str().unwrap()])
}

#[test]
fn diff_classes_every_loosening_kind() {
    type Edit = fn(&str) -> String;
    let loosening: Vec<(&str, Edit, &str)> = vec![
        ("eps-up", |t| t.replacen("epsilon = 0.5", "epsilon = 0.9", 1), "measures[persons].epsilon"),
        ("threshold-down", |t| t.replace("min = 10", "min = 6"), "protection.noisy_threshold.min"),
        (
            "finer-period",
            |t| {
                t.replace(
                    "granularity = \"quarter\"\nfrom = \"2025Q1\"\nto = \"2025Q4\"",
                    "granularity = \"month\"\nfrom = \"2025-01\"\nto = \"2025-12\"",
                )
            },
            "dimensions[quarter].granularity",
        ),
        ("finer-ages", |t| t.replace("\"25-34\"", "\"25-29\", \"30-34\""), "dimensions[age_band].bands"),
        (
            "new-dimension",
            |t| {
                format!("{t}\n[[dimensions]]\nkind = \"category\"\nname = \"sex\"\nfield = \"sex\"\nvalues = [\"F\", \"M\"]\n")
            },
            "dimensions[sex]",
        ),
        ("wider-cells", |t| t.replace("max_cells_per_unit = 4", "max_cells_per_unit = 6"), "bounds.max_cells_per_unit"),
        ("wider-clamp", |t| t.replace("upper = 2000", "upper = 5000"), "measures[amount_eur].upper"),
        (
            "new-measure",
            |t| {
                t.replace(
                    "[protection]",
                    "[[measures]]\nkind = \"count-records\"\nname = \"more\"\nepsilon = 0.1\n\n[protection]",
                )
            },
            "measures[more]",
        ),
        // A gate on exact values decides which noisy values are published: outside the DP guarantee.
        ("exact-gate", |t| t.replace("mode = \"dp\"", "mode = \"dp+sdc\""), "protection.mode"),
        (
            "weaker-unit",
            |t| t.replace("unit_of_privacy = \"person\"", "unit_of_privacy = \"chat-session\""),
            "source.unit_of_privacy",
        ),
    ];
    let ws = Workspace::new();
    for (name, edit, field) in loosening {
        let out = diff(&ws, name, edit);
        out.expect_code(1);
        let line = out
            .stdout
            .lines()
            .find(|l| l.contains(field))
            .unwrap_or_else(|| panic!("{name}: no change for {field}:\n{}", out.stdout));
        assert!(line.starts_with("LOOSENING"), "{name}: {line}");
    }
    // Coarser area level is tightening; rewording is neutral; neither needs a sign-off.
    let out = diff(&ws, "coarser", |t| {
        t.replace("level = \"subarea\"", "level = \"district\"").replace("Persons with", "Persons having")
    });
    out.expect_code(0);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("tightening") && l.contains("dimensions[area].level")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.lines().any(|l| l.starts_with("neutral") && l.contains("description")), "{}", out.stdout);
    assert!(out.stdout.contains("0 loosening, 1 tightening, 1 neutral"), "{}", out.stdout);
    // Post-processing options are neutral: no privacy change, but a reviewer sees them.
    let out = diff(&ws, "post", |t| {
        t.replace("mechanism = \"discrete-laplace\"", "mechanism = \"discrete-laplace\"\nnegative_as_zero = true")
    });
    out.expect_code(0);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("neutral") && l.contains("protection.negative_as_zero")),
        "{}",
        out.stdout
    );
    // SDC parameters loosen too.
    let ws2 = Workspace::new();
    let old = ws2.policy_variant("sdc-old", to_sdc);
    let new = ws2.policy_variant("sdc-new", |t| {
        to_sdc(t)
            .replace("min_units_per_cell = 5", "min_units_per_cell = 4")
            .replace("k = 85", "k = 80")
            .replace("secondary_suppression = true", "secondary_suppression = false")
    });
    let out = ws2.run(&["policy", "diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    out.expect_code(1);
    for (class, field) in
        [("LOOSENING", "min_units_per_cell"), ("tightening", "dominance.k"), ("LOOSENING", "secondary_suppression")]
    {
        assert!(
            out.stdout.lines().any(|l| l.starts_with(class) && l.contains(field)),
            "{class} {field}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn reference_doc_is_generated_from_the_code() {
    let committed = std::fs::read_to_string(common::repo().join("docs/policy-reference.md")).unwrap();
    let generated = cellguard_privacy::policy::reference::policy_reference();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "docs/policy-reference.md is out of date: run `cargo run -- policy reference > docs/policy-reference.md`"
    );
}
