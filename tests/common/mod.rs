//! The one helper every integration test uses: run the real binary in a fresh temporary
//! folder that holds a copy of the bundled policies, and show expected vs actual on failure.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A test key (40 bytes); never a production key.
pub const TEST_KEY: &str = "cellguard-test-key-0123456789abcdef-0123";

/// Sentinels planted in `tests/fixtures/payment-defaults-small.csv` and in failure fixtures.
pub const SENTINELS: &[&str] = &["CANARY-PERSON-5150", "CANARY-CREDITOR", "13371337", "CANARY-DATE", "CANARY-AMOUNT"];

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture file's path.
pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

/// A fresh folder with `policies/` copied from the repository.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&repo().join("policies"), &dir.path().join("policies"));
        Workspace { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The bundled payment-default policy inside the workspace.
    pub fn policy(&self) -> PathBuf {
        self.path("policies/payment-defaults-quarterly.toml")
    }

    /// Writes a variant of the bundled policy with `edit` applied to its text.
    pub fn policy_variant(&self, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
        let text = std::fs::read_to_string(self.policy()).unwrap();
        let edited = edit(&text);
        assert_ne!(edited, text, "the edit of {name} changed nothing");
        let path = self.path(&format!("policies/{name}.toml"));
        std::fs::write(&path, edited).unwrap();
        path
    }

    /// Writes a file into the workspace.
    pub fn write(&self, rel: &str, content: &[u8]) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Runs `cellguard` with `args` in this workspace, with the test key in the environment.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[("CELLGUARD_PSEUDONYM_KEY", Some(TEST_KEY))])
    }

    /// Runs `cellguard` with explicit environment changes (`None` removes a variable).
    pub fn run_env(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cellguard"));
        cmd.args(args).current_dir(self.dir.path()).env_remove("CELLGUARD_PSEUDONYM_KEY");
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let out = cmd.output().unwrap();
        Output {
            args: args.iter().map(|s| s.to_string()).collect(),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Every byte of every file under the workspace's `out*` folders, plus names.
    pub fn all_output_text(&self) -> String {
        let mut text = String::new();
        fn walk(dir: &Path, text: &mut String) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                text.push_str(&entry.file_name().to_string_lossy());
                text.push('\n');
                if entry.file_type().unwrap().is_dir() {
                    walk(&entry.path(), text);
                } else {
                    text.push_str(&String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()));
                }
            }
        }
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "policies" && name != "input" && entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &mut text);
            }
        }
        text
    }
}

/// What a run printed and returned.
#[derive(Debug)]
pub struct Output {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts the exit status, printing everything on failure.
    pub fn expect_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code, code,
            "cellguard {:?}: expected exit {code}, got {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stderr contains every fragment.
    pub fn expect_stderr(&self, fragments: &[&str]) -> &Output {
        for f in fragments {
            assert!(
                self.stderr.contains(f),
                "cellguard {:?}: expected stderr to contain {f:?}\n--- stderr ---\n{}",
                self.args,
                self.stderr
            );
        }
        self
    }

    /// Asserts that stdout or stderr together contain every fragment.
    pub fn expect_stdout_or_stderr(&self, fragments: &[&str]) -> &Output {
        for f in fragments {
            assert!(
                self.stdout.contains(f) || self.stderr.contains(f),
                "cellguard {:?}: expected output to contain {f:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.args,
                self.stdout,
                self.stderr
            );
        }
        self
    }

    /// Asserts that no sentinel appears in stdout or stderr.
    pub fn expect_no_sentinels(&self) -> &Output {
        for s in SENTINELS {
            assert!(
                !self.stdout.contains(s) && !self.stderr.contains(s),
                "sentinel {s:?} leaked:\n{}\n{}",
                self.stdout,
                self.stderr
            );
        }
        self
    }
}

/// Reads a CSV file with a UTF-8 BOM into header and rows.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{} lacks the UTF-8 BOM", path.display());
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

/// SHA-256 of a file, lower-case hex.
pub fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The exact bounded table of `input` under `policy` (no noise, no baseline), through the
/// library API with the test key.
pub fn tabulate_file(policy: &Path, input: &Path) -> (cellguard_privacy::ReleasePlan, cellguard_privacy::BoundedTable) {
    let plan = cellguard_privacy::load_policy(policy, None).unwrap();
    let key = cellguard_ingest::PseudonymKey::from_bytes(TEST_KEY.as_bytes().to_vec()).unwrap();
    let mut acc = cellguard_privacy::BoundingAccumulator::new(&plan);
    cellguard_ingest::scan_file::<cellguard_privacy::PrivacyError>(
        input,
        &plan.schema,
        &plan.mapper,
        &cellguard_ingest::Pseudonymiser::new(&key),
        cellguard_ingest::ScanOptions::default(),
        |b| {
            acc.absorb(&b);
            Ok(())
        },
    )
    .unwrap();
    (plan, acc.finish())
}

/// The cell index of member indices `coords` in a plan's key set.
pub fn cell_of(plan: &cellguard_privacy::ReleasePlan, coords: &[usize]) -> usize {
    let radices: Vec<usize> = plan.mapper.dimensions.iter().map(|d| d.len()).collect();
    assert_eq!(radices.len(), coords.len());
    coords.iter().zip(&radices).fold(0, |acc, (c, r)| {
        assert!(c < r);
        acc * r + c
    })
}
