//! Hostile and broken sources: each gets a clear message that names the file (and line and
//! column where there is one) but never a value, the documented exit code, no release folder,
//! and no budget spent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Workspace;

const HEADER: &str = "person_id,birth_year,sex,subarea,entry_type,registration_date,creditor_type,amount_eur\n";
const GOOD: &str = "CANARY-PERSON-5150,1980,F,0911101010,court_judgment,2025-02-01,bank,10.00\n";

/// (name, file bytes, fragments the message must contain)
fn cases() -> Vec<(&'static str, Vec<u8>, Vec<&'static str>)> {
    let row = |fields: &str| format!("{HEADER}{GOOD}{fields}\n").into_bytes();
    vec![
        ("empty", Vec::new(), vec!["empty"]),
        ("header-only-no-newline", HEADER.trim_end().as_bytes().to_vec(), vec![]),
        ("missing-column", b"person_id,birth_year,sex,subarea,entry_type,registration_date,creditor_type\nCANARY-PERSON-5150,1980,F,0911101010,court_judgment,2025-02-01,bank\n".to_vec(), vec!["amount_eur"]),
        ("duplicated-column", format!("{}{GOOD}", HEADER.replace("sex,", "sex,sex,")).into_bytes(), vec!["repeats"]),
        ("extra-column", format!("{},note\n{}", HEADER.trim_end(), GOOD.replace("10.00", "10.00,CANARY-CREDITOR")).into_bytes(), vec!["column 9"]),
        ("wrong-field-count", row("CANARY-PERSON-5150,1980,F"), vec!["line 3", "wrong number of fields"]),
        ("unbalanced-quote", row("\"CANARY-PERSON-5150,1980,F,0911101010,court_judgment,2025-02-01,bank,10.00"), vec!["line 3"]),
        ("nul-byte", row("CANARY-PERSON-5150\0,1980,F,0911101010,court_judgment,2025-02-01,bank,10.00"), vec!["line 3", "person_id", "NUL"]),
        ("invalid-utf8", { let mut b = format!("{HEADER}{GOOD}").into_bytes(); b.extend_from_slice(b"CANARY-PERSON-\xff\xfe,1980,F,0911101010,court_judgment,2025-02-01,bank,10.00\n"); b }, vec!["line 3", "person_id", "encoding"]),
        ("nan", row("CANARY-PERSON-5150,1980,F,0911101010,court_judgment,2025-02-01,bank,NaN"), vec!["line 3", "amount_eur"]),
        ("inf", row("CANARY-PERSON-5150,1980,F,0911101010,court_judgment,2025-02-01,bank,inf"), vec!["amount_eur"]),
        ("huge-exponent", row("CANARY-PERSON-5150,1980,F,0911101010,court_judgment,2025-02-01,bank,1e309"), vec!["amount_eur"]),
        ("thousands-separator", row("CANARY-PERSON-5150,1980,F,0911101010,court_judgment,2025-02-01,bank,\"1,000.00\""), vec!["amount_eur"]),
        ("date-out-of-range", row("CANARY-PERSON-5150,1980,F,0911101010,court_judgment,10000-02-01,bank,10.00"), vec!["line 3", "registration_date"]),
        ("year-zero", row("CANARY-PERSON-5150,1980,F,0911101010,court_judgment,0000-02-01,bank,10.00"), vec!["line 3", "registration_date"]),
        ("impossible-date", row("CANARY-PERSON-5150,1980,F,0911101010,court_judgment,2025-02-30,bank,10.00"), vec!["registration_date", "not a valid date"]),
        ("unknown-area", row("CANARY-PERSON-5150,1980,F,0919999999,court_judgment,2025-02-01,bank,10.00"), vec!["subarea", "not in the classification"]),
        ("age-250", row("CANARY-PERSON-5150,1775,F,0911101010,court_judgment,2025-02-01,bank,10.00"), vec!["birth_year"]),
        ("negative-birth-year", row("CANARY-PERSON-5150,-5,F,0911101010,court_judgment,2025-02-01,bank,10.00"), vec!["birth_year"]),
        ("huge-field", row(&format!("CANARY-PERSON-{},1980,F,0911101010,court_judgment,2025-02-01,bank,10.00", "9".repeat(10 << 20))), vec!["person_id", "longer than"]),
        ("long-line-no-newline", { let mut b = HEADER.as_bytes().to_vec(); b.extend(std::iter::repeat_n(b'7', 3 << 20)); b }, vec!["longer than"]),
    ]
}

#[test]
fn broken_sources_fail_clearly_and_leave_nothing() {
    let ws = Workspace::new();
    let policy = ws.policy();
    let ledger = ws.path("policies/ledgers/payment-defaults.jsonl");
    for (name, bytes, fragments) in cases() {
        let input = ws.write(&format!("input/{name}.csv"), &bytes);
        let out = format!("out-{name}");
        let r =
            ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", &out]);
        if name == "header-only-no-newline" {
            // A header and no rows is a valid, empty extract: every cell is released (noisy).
            r.expect_code(0);
            continue;
        }
        r.expect_code(2).expect_no_sentinels();
        let mut want = vec![format!("{name}.csv")];
        want.extend(fragments.iter().map(|f| f.to_string()));
        for f in &want {
            assert!(r.stderr.contains(f.as_str()), "{name}: expected {f:?} in\n{}", r.stderr);
        }
        assert!(r.stderr.len() < 4000, "{name}: message of {} bytes", r.stderr.len());
        assert!(!ws.path(&out).exists(), "{name}: a release folder was left");
    }
    // Only the one valid release was charged.
    let text = std::fs::read_to_string(&ledger).unwrap();
    assert_eq!(text.lines().count(), 1);
    let leftovers: Vec<String> = std::fs::read_dir(ws.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(leftovers.iter().all(|n| !n.starts_with(".out")), "temporary folders left: {leftovers:?}");
}

#[test]
fn a_directory_a_missing_or_an_unreadable_file_is_bad_input() {
    let ws = Workspace::new();
    let policy = ws.policy();
    std::fs::create_dir_all(ws.path("input/dir.csv")).unwrap();
    for input in ["input/dir.csv", "input/missing.csv"] {
        let r = ws.run(&[
            "run",
            "--policy",
            policy.to_str().unwrap(),
            "--input",
            ws.path(input).to_str().unwrap(),
            "--out",
            "out",
        ]);
        r.expect_code(2).expect_stderr(&[input.trim_start_matches("input/")]);
        assert!(!ws.path("out").exists());
    }
    // A file that cannot be read (the tests run as root, so permissions cannot make one; a
    // process's own memory file fails on the first read).
    if cfg!(target_os = "linux") {
        ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", "/proc/self/mem", "--out", "out"])
            .expect_code(2)
            .expect_stderr(&["/proc/self/mem", "cannot read"]);
        assert!(!ws.path("out").exists());
    }
}

#[test]
fn odd_but_valid_values_are_read_exactly() {
    // `-0` is zero, and a header with its newline and no rows is an empty extract.
    let ws = Workspace::new();
    let policy = ws.policy();
    for (name, body) in
        [("minus-zero", format!("{HEADER}{}", GOOD.replace("10.00", "-0"))), ("header-only", HEADER.to_string())]
    {
        let input = ws.write(&format!("input/{name}.csv"), body.as_bytes());
        let out = format!("out-{name}");
        ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", &out])
            .expect_code(0)
            .expect_no_sentinels();
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(ws.path(&format!("{out}/manifest.json"))).unwrap()).unwrap();
        assert_eq!(m["inputs"][0]["rows_rejected"], 0, "{name}");
    }
}

#[test]
fn the_same_file_in_two_roles_is_refused() {
    let ws = Workspace::new();
    let policy = ws.policy();
    let input = ws.write("input/pd.csv", format!("{HEADER}{GOOD}").as_bytes());
    let before = std::fs::read(&input).unwrap();
    // The extract as the output folder: never overwritten.
    ws.run(&[
        "run",
        "--policy",
        policy.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--out",
        input.to_str().unwrap(),
    ])
    .expect_code(2)
    .expect_no_sentinels();
    assert_eq!(std::fs::read(&input).unwrap(), before);
    // The policy as the extract: its header does not match the schema.
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", policy.to_str().unwrap(), "--out", "out"])
        .expect_code(2)
        .expect_stderr(&["payment-defaults-quarterly.toml"]);
    assert!(!ws.path("out").exists());
}
