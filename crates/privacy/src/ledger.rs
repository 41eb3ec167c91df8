//! The privacy-budget ledger: an append-only JSON Lines file per dataset in which every release
//! records what it spent. Each entry carries the SHA-256 of the previous entry's bytes, so any
//! edit, deletion or reordering breaks the chain and is detected. (Truncating the newest
//! entries cannot be detected from the ledger alone; each release manifest records its entry's
//! hash, so comparing manifests with the ledger detects it.)
//!
//! A run locks the ledger exclusively from the budget check until its entry is written, so two
//! runs cannot both spend the last of a budget; the entry is flushed to disk before the release
//! folder appears, so a crash can over-count spend but never under-count it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{PrivacyError, PrivacyErrorKind};
use crate::plan::Accounting;

/// The hash that precedes the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One release's spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    /// Position in the ledger, from 1.
    pub seq: u64,
    /// SHA-256 (hex) of the previous entry's line, or [`GENESIS`].
    pub prev: String,
    /// The release name.
    pub release: String,
    /// When the entry was written (RFC 3339 UTC).
    pub time: String,
    /// The dataset that spends.
    pub dataset: String,
    /// The budget period.
    pub period: String,
    /// The unit of privacy.
    pub unit_of_privacy: String,
    /// SHA-256 of the policy file.
    pub policy_sha256: String,
    /// SHA-256 of the input file.
    pub input_sha256: String,
    /// ε spent per measure, as opendp's privacy maps report it (pure-DP releases; empty for
    /// zCDP releases).
    pub epsilon_by_measure: Vec<(String, f64)>,
    /// ε spent by the release (basic composition of its measures); absent for a zCDP release,
    /// which has no pure ε.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// ρ spent per measure (zCDP, or pure ε converted to ρ = ε²/2 by opendp); absent in entries
    /// written before zCDP accounting, which are converted when read (see [`LedgerEntry::rho`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rho_by_measure: Vec<(String, f64)>,
    /// The unit of `budget_total`: `rho`, or `epsilon` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_unit: Option<String>,
    /// The dataset's total for the period, as the policy stated it at the time.
    pub budget_total: f64,
}

impl LedgerEntry {
    /// ρ spent by the release: its measures' ρ add (zCDP composition); an entry without ρ is
    /// pure DP and counts ε²/2 per measure.
    pub fn rho(&self) -> f64 {
        if !self.rho_by_measure.is_empty() {
            self.rho_by_measure.iter().map(|(_, r)| r).sum()
        } else if !self.epsilon_by_measure.is_empty() {
            self.epsilon_by_measure.iter().map(|(_, e)| e * e / 2.0).sum()
        } else {
            // No breakdown: the total as one measure, which never under-counts.
            self.epsilon.map_or(0.0, |e| e * e / 2.0)
        }
    }

    /// The spend in `accounting`'s unit; a zCDP release has no pure ε, so it is infinite there.
    pub fn spend(&self, accounting: Accounting) -> f64 {
        match accounting {
            Accounting::PureDp => self.epsilon.unwrap_or(f64::INFINITY),
            Accounting::Zcdp => self.rho(),
        }
    }

    /// The accounting of the budget this entry was written under.
    pub fn accounting(&self) -> Accounting {
        match self.budget_unit.as_deref() {
            Some("rho") => Accounting::Zcdp,
            _ => Accounting::PureDp,
        }
    }
}

/// A problem with a ledger's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The 1-based line of the first bad entry.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The parsed, verified entries of a ledger's text, or the first break in its chain.
pub fn verify_chain(text: &str) -> Result<Vec<LedgerEntry>, ChainBreak> {
    let mut prev = GENESIS.to_string();
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = |reason: &str| ChainBreak { line: i + 1, reason: reason.to_string() };
        if line.trim().is_empty() {
            return Err(at("empty line"));
        }
        let entry: LedgerEntry = serde_json::from_str(line).map_err(|_| at("not a ledger entry"))?;
        if entry.seq != i as u64 + 1 {
            return Err(at("entry out of sequence (deleted or reordered entries)"));
        }
        if entry.prev != prev {
            return Err(at(
                "the previous entry's hash does not match (an earlier entry was edited, deleted or reordered)",
            ));
        }
        let valid = |v: f64| v.is_finite() && v >= 0.0;
        if !entry.epsilon.is_none_or(valid) || !entry.epsilon_by_measure.iter().all(|(_, e)| valid(*e)) {
            return Err(at("invalid epsilon"));
        }
        if !entry.rho_by_measure.iter().all(|(_, r)| valid(*r)) {
            return Err(at("invalid rho"));
        }
        // The stated total must be the sum of its measures (an edit of one but not the other).
        if let Some(total) = entry.epsilon {
            let sum: f64 = entry.epsilon_by_measure.iter().map(|(_, e)| e).sum();
            if !entry.epsilon_by_measure.is_empty() && (sum - total).abs() > 1e-9 * total.max(1.0) {
                return Err(at("epsilon is not the sum of the measures' epsilon"));
            }
        }
        if entry.epsilon.is_none() && entry.rho_by_measure.is_empty() {
            return Err(at("records neither epsilon nor rho"));
        }
        if !matches!(entry.budget_unit.as_deref(), None | Some("rho")) {
            return Err(at("unknown budget unit"));
        }
        prev = crate::hex(&Sha256::digest(line.as_bytes()));
        entries.push(entry);
    }
    Ok(entries)
}

/// What the entries spent on `dataset` in `period`, in `accounting`'s unit.
pub fn spent(entries: &[LedgerEntry], dataset: &str, period: &str, accounting: Accounting) -> f64 {
    entries.iter().filter(|e| e.dataset == dataset && e.period == period).map(|e| e.spend(accounting)).sum()
}

/// An open, exclusively locked ledger.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    file: File,
    entries: Vec<LedgerEntry>,
    last_hash: String,
}

fn io_error(path: &Path, action: &'static str, e: std::io::Error) -> PrivacyError {
    PrivacyError::from(cellguard_ingest::IngestError::new(cellguard_ingest::IngestErrorKind::Io {
        path: path.to_path_buf(),
        action,
        source: e,
    }))
}

impl Ledger {
    /// Opens (creating if needed) and locks the ledger, and verifies its chain. A broken chain
    /// is a refusal: no release may spend from a ledger that was tampered with.
    pub fn open(path: &Path) -> Result<Ledger, PrivacyError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, "create the ledger folder", e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| io_error(path, "open the ledger", e))?;
        file.lock().map_err(|e| io_error(path, "lock the ledger", e))?;
        let mut text = String::new();
        file.seek(SeekFrom::Start(0)).map_err(|e| io_error(path, "read the ledger", e))?;
        file.read_to_string(&mut text).map_err(|e| io_error(path, "read the ledger", e))?;
        let entries = verify_chain(&text).map_err(|b| {
            PrivacyError::new(PrivacyErrorKind::Refused {
                message: format!("{}:{}: the budget ledger fails verification: {}", path.display(), b.line, b.reason),
            })
        })?;
        let last_hash =
            text.lines().last().map_or_else(|| GENESIS.to_string(), |l| crate::hex(&Sha256::digest(l.as_bytes())));
        Ok(Ledger { path: path.to_path_buf(), file, entries, last_hash })
    }

    /// The verified entries.
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an entry (filling in `seq` and `prev`) and flushes it to disk. Returns the entry
    /// and the SHA-256 of its line.
    pub fn append(&mut self, mut entry: LedgerEntry) -> Result<(LedgerEntry, String), PrivacyError> {
        entry.seq = self.entries.len() as u64 + 1;
        entry.prev = self.last_hash.clone();
        let line = serde_json::to_string(&entry)
            .map_err(|e| io_error(&self.path, "write the ledger", std::io::Error::other(e.to_string())))?;
        let mut bytes = line.clone().into_bytes();
        bytes.push(b'\n');
        self.file.write_all(&bytes).map_err(|e| io_error(&self.path, "write the ledger", e))?;
        self.file.sync_all().map_err(|e| io_error(&self.path, "flush the ledger", e))?;
        self.last_hash = crate::hex(&Sha256::digest(line.as_bytes()));
        self.entries.push(entry.clone());
        Ok((entry, self.last_hash.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dataset: &str, eps: f64) -> LedgerEntry {
        LedgerEntry {
            seq: 0,
            prev: String::new(),
            release: "r".into(),
            time: "2026-01-01T00:00:00Z".into(),
            dataset: dataset.into(),
            period: "2025".into(),
            unit_of_privacy: "person".into(),
            policy_sha256: "p".into(),
            input_sha256: "i".into(),
            epsilon_by_measure: vec![("m".into(), eps)],
            epsilon: Some(eps),
            rho_by_measure: vec![("m".into(), eps * eps / 2.0)],
            budget_unit: None,
            budget_total: 4.0,
        }
    }

    #[test]
    fn chain_detects_edits_deletions_and_swaps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.jsonl");
        {
            let mut l = Ledger::open(&path).unwrap();
            for eps in [1.0, 0.5, 0.25] {
                l.append(entry("d", eps)).unwrap();
            }
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let entries = verify_chain(&text).unwrap();
        assert_eq!(spent(&entries, "d", "2025", Accounting::PureDp), 1.75);
        assert_eq!(spent(&entries, "d", "2025", Accounting::Zcdp), (1.0 + 0.25 + 0.0625) / 2.0);
        assert_eq!(spent(&entries, "other", "2025", Accounting::PureDp), 0.0);
        let lines: Vec<&str> = text.lines().collect();
        let edited = text.replacen("\"epsilon\":0.5", "\"epsilon\":0.05", 1);
        assert_eq!(verify_chain(&edited).unwrap_err().line, 2, "a total that is not its measures' sum");
        let consistent_edit =
            edited.replacen("\"epsilon_by_measure\":[[\"m\",0.5]]", "\"epsilon_by_measure\":[[\"m\",0.05]]", 1);
        assert_ne!(consistent_edit, edited);
        assert_eq!(
            verify_chain(&consistent_edit).unwrap_err().line,
            3,
            "the edit breaks the next entry's link: {:?}",
            verify_chain(&consistent_edit)
        );
        let deleted = format!("{}\n{}\n", lines[0], lines[2]);
        assert_eq!(verify_chain(&deleted).unwrap_err().line, 2);
        let swapped = format!("{}\n{}\n{}\n", lines[1], lines[0], lines[2]);
        assert_eq!(verify_chain(&swapped).unwrap_err().line, 1);
        // A reopened ledger continues the chain.
        let mut l = Ledger::open(&path).unwrap();
        l.append(entry("d", 0.1)).unwrap();
        assert_eq!(verify_chain(&std::fs::read_to_string(&path).unwrap()).unwrap().len(), 4);
    }

    #[test]
    fn entries_before_zcdp_accounting_still_verify_and_convert_to_rho() {
        // An entry as written before ρ was recorded, and a zCDP entry without pure ε.
        let old = r#"{"seq":1,"prev":"0000000000000000000000000000000000000000000000000000000000000000","release":"r","time":"2026-01-01T00:00:00Z","dataset":"d","period":"2025","unit_of_privacy":"person","policy_sha256":"p","input_sha256":"i","epsilon_by_measure":[["a",0.5],["b",0.25]],"epsilon":0.75,"budget_total":4.0}"#;
        let mut zcdp = entry("d", 0.0);
        zcdp.seq = 2;
        zcdp.prev = crate::hex(&Sha256::digest(old.as_bytes()));
        zcdp.epsilon = None;
        zcdp.epsilon_by_measure.clear();
        zcdp.rho_by_measure = vec![("a".into(), 0.1), ("b".into(), 0.05)];
        zcdp.budget_unit = Some("rho".into());
        let text = format!("{old}\n{}\n", serde_json::to_string(&zcdp).unwrap());
        let entries = verify_chain(&text).unwrap();
        assert_eq!(entries[0].rho(), (0.25 + 0.0625) / 2.0);
        assert_eq!(entries[1].accounting(), Accounting::Zcdp);
        assert!((spent(&entries, "d", "2025", Accounting::Zcdp) - (0.15625 + 0.15)).abs() < 1e-15);
        // In pure ε, a zCDP release is unbounded: a pure budget cannot absorb it.
        assert_eq!(spent(&entries, "d", "2025", Accounting::PureDp), f64::INFINITY);
        // An entry that records no loss at all is rejected.
        let mut empty = zcdp.clone();
        empty.seq = 1;
        empty.prev = GENESIS.into();
        empty.rho_by_measure.clear();
        assert_eq!(
            verify_chain(&serde_json::to_string(&empty).unwrap()).unwrap_err().reason,
            "records neither epsilon nor rho"
        );
    }
}
