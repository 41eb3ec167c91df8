//! The baseline policy: the organisation's floors that every release policy is checked
//! against (`policies/baseline.toml`). Every floor is required; there are no defaults.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use super::model::{GuaranteeMode, Mechanism};
use crate::error::{PrivacyError, PrivacyErrorKind};

/// A baseline policy file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    /// Version of the policy language. Allowed: `1`. Example: `schema_version = 1`
    pub schema_version: u32,
    /// Name of the baseline. Example: `name = "institute-baseline"`
    pub name: String,
    /// Who set these floors and why. Example: `description = "Floors set by the data protection officer, 2025."`
    pub description: String,
    /// The floors.
    pub floors: Floors,
}

/// `[floors]`: the loosest values a release policy may use.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Floors {
    /// Guarantee modes a release may use. Example: `allowed_modes = ["dp", "sdc", "dp+sdc"]`
    pub allowed_modes: Vec<GuaranteeMode>,
    /// Noise mechanisms a release may use. Example: `allowed_mechanisms = ["discrete-laplace", "discrete-gaussian"]`
    pub allowed_mechanisms: Vec<Mechanism>,
    /// The largest total ε one release may spend (pure-DP mechanisms). Example: `max_epsilon_per_release = 2.0`
    pub max_epsilon_per_release: f64,
    /// The largest total ρ one release may spend (zCDP mechanisms). Example: `max_rho_per_release = 0.5`
    pub max_rho_per_release: f64,
    /// The largest ε a dataset's budget may allow per budget period. Example: `max_epsilon_per_dataset_period = 4.0`
    pub max_epsilon_per_dataset_period: f64,
    /// The largest ρ a dataset's budget may allow per budget period. Example: `max_rho_per_dataset_period = 1.0`
    pub max_rho_per_dataset_period: f64,
    /// The smallest noisy threshold a `dp` release may use. Example: `min_noisy_threshold = 5`
    pub min_noisy_threshold: u64,
    /// The smallest minimum of contributing units per cell an `sdc` release may use.
    /// Example: `min_units_per_cell = 5`
    pub min_units_per_cell: u64,
    /// The smallest `n` of the dominance rule. Example: `dominance_min_n = 2`
    pub dominance_min_n: u32,
    /// The largest `k` (percent) of the dominance rule. Example: `dominance_max_k = 85`
    pub dominance_max_k: f64,
    /// The smallest `p` (percent) of the p % rule. Example: `p_percent_min_p = 10`
    pub p_percent_min_p: f64,
    /// Whether `sdc` and `dp+sdc` releases must apply secondary suppression.
    /// Example: `secondary_suppression_required = true`
    pub secondary_suppression_required: bool,
    /// Whether every `sdc` release with a `sum` measure must apply a dominance or p % rule.
    /// Example: `magnitude_rule_required = true`
    pub magnitude_rule_required: bool,
}

/// A loaded baseline.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The file.
    pub path: PathBuf,
    /// SHA-256 of the file.
    pub sha256: [u8; 32],
    /// The floors.
    pub file: BaselineFile,
}

/// Reads and checks a baseline file.
pub fn load_baseline(path: &Path) -> Result<Baseline, PrivacyError> {
    use sha2::{Digest, Sha256};
    let bytes = super::validate::read_file(path)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| PrivacyError::policy(path, None, "the baseline file is not valid UTF-8"))?;
    let file: BaselineFile = super::validate::parse_toml(text, path)?;
    let fail = |field: &str, message: &str| {
        Err(PrivacyError::new(PrivacyErrorKind::Policy {
            path: path.to_path_buf(),
            line: super::validate::locate(text, field),
            field: Some(field.to_string()),
            message: message.to_string(),
        }))
    };
    let f = &file.floors;
    if file.schema_version != 1 {
        return fail("schema_version", "version not supported; write 1");
    }
    for (field, v) in [
        ("floors.max_epsilon_per_release", f.max_epsilon_per_release),
        ("floors.max_rho_per_release", f.max_rho_per_release),
        ("floors.max_epsilon_per_dataset_period", f.max_epsilon_per_dataset_period),
        ("floors.max_rho_per_dataset_period", f.max_rho_per_dataset_period),
    ] {
        if !v.is_finite() || v < 0.0 {
            return fail(field, "must be a finite number of at least 0");
        }
    }
    for (field, v) in [("floors.dominance_max_k", f.dominance_max_k), ("floors.p_percent_min_p", f.p_percent_min_p)] {
        if !(0.0..=100.0).contains(&v) {
            return fail(field, "must be a percentage between 0 and 100");
        }
    }
    Ok(Baseline { path: path.to_path_buf(), sha256: Sha256::digest(&bytes).into(), file })
}
