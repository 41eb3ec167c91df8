//! Verification of a release folder: every file the manifest lists exists with its size and
//! SHA-256, no unlisted file is present, and `cells.csv` has one row per cell and measure with
//! statuses consistent with values.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::PublishError;
use crate::hex;
use crate::manifest::Manifest;

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Files checked.
    pub files: usize,
    /// Rows in `cells.csv`.
    pub rows: u64,
}

/// Verifies the release folder `dir`.
pub fn verify_release(dir: &Path) -> Result<VerifyReport, PublishError> {
    let invalid = |message: String| PublishError::Invalid { path: dir.to_path_buf(), message };
    let manifest_path = dir.join("manifest.json");
    let bytes = std::fs::read(&manifest_path).map_err(|e| PublishError::io(&manifest_path, "read", e))?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("manifest.json is not a valid manifest: {e}")))?;
    for f in &manifest.files {
        if f.name.contains('/') || f.name.contains('\\') || f.name == ".." {
            return Err(invalid(format!("manifest lists an invalid file name `{}`", f.name)));
        }
        let path = dir.join(&f.name);
        let content = std::fs::read(&path).map_err(|e| PublishError::io(&path, "read", e))?;
        if content.len() as u64 != f.bytes || hex(&Sha256::digest(&content)) != f.sha256 {
            return Err(invalid(format!("{} does not match its checksum in manifest.json", f.name)));
        }
    }
    let listed: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).chain(["manifest.json"]).collect();
    let entries = std::fs::read_dir(dir).map_err(|e| PublishError::io(dir, "list", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| PublishError::io(dir, "list", e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !listed.contains(&name.as_str()) {
            return Err(invalid(format!("{name} is in the folder but not in manifest.json")));
        }
    }
    let cells_path = dir.join("cells.csv");
    let mut reader =
        csv::ReaderBuilder::new().from_path(&cells_path).map_err(|e| invalid(format!("cells.csv: {e}")))?;
    let headers = reader.headers().map_err(|e| invalid(format!("cells.csv: {e}")))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim_start_matches('\u{feff}') == name);
    let (Some(value), Some(status)) = (col("value"), col("status")) else {
        return Err(invalid("cells.csv lacks the value or status column".into()));
    };
    let mut rows = 0u64;
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| invalid(format!("cells.csv row {}: {e}", i + 2)))?;
        let (v, s) = (rec.get(value).unwrap_or(""), rec.get(status).unwrap_or(""));
        if (s == "published") == v.is_empty() {
            return Err(invalid(format!("cells.csv line {}: the value does not match status `{s}`", i + 2)));
        }
        *counts.entry(s.to_string()).or_default() += 1;
        rows += 1;
    }
    if rows != manifest.n_rows || rows != manifest.n_cells * manifest.measures.len() as u64 {
        return Err(invalid(format!("cells.csv has {rows} rows; the manifest says {}", manifest.n_rows)));
    }
    for (status, n) in &manifest.status_counts {
        if counts.get(status).copied().unwrap_or(0) != *n {
            return Err(invalid(format!("cells.csv has a different number of `{status}` rows than the manifest")));
        }
    }
    Ok(VerifyReport { files: manifest.files.len() + 1, rows })
}
