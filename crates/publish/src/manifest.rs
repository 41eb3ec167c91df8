//! The release manifest (`manifest.json`): what was released, from which inputs and policy,
//! under which guarantee, at which privacy cost, with checksums of every release file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use cellguard_privacy::{BoundingStats, ProtectedRelease};

/// A file and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// The file name (no directories).
    pub name: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Rows rejected or excluded for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    /// `rejected` (invalid) or `out_of_scope` (valid, outside the key set).
    pub outcome: String,
    /// A stable reason code.
    pub code: String,
    /// The schema field concerned, if any.
    pub field: Option<String>,
    /// The reason in words.
    pub description: String,
    /// Rows.
    pub rows: u64,
    /// The first line numbers where it occurred.
    pub first_lines: Vec<u64>,
}

/// One input source with its digest and row accounting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputDigest {
    /// The file and its checksum.
    pub file: FileDigest,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows that contributed to cells (before bounding).
    pub rows_used: u64,
    /// Rows rejected as invalid.
    pub rows_rejected: u64,
    /// Rows outside the key set.
    pub rows_out_of_scope: u64,
    /// The reasons.
    pub reasons: Vec<ReasonCount>,
}

/// What the caller knows that the protected release does not: files and times.
#[derive(Debug, Clone)]
pub struct ReleaseContext {
    /// cellguard's version.
    pub tool_version: String,
    /// Creation time, RFC 3339 UTC.
    pub created_utc: String,
    /// The policy file.
    pub policy: FileDigest,
    /// The schema file.
    pub schema: FileDigest,
    /// Classification files.
    pub classifications: Vec<FileDigest>,
    /// The inputs.
    pub inputs: Vec<InputDigest>,
}

/// The privacy loss of one measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureLoss {
    /// Measure name.
    pub measure: String,
    /// Measure kind.
    pub kind: String,
    /// ε spent, as opendp's privacy map reports it for `sensitivity`.
    pub epsilon: f64,
    /// ε the policy allowed.
    pub epsilon_allowed: f64,
    /// L1 sensitivity in the measure's units.
    pub sensitivity: f64,
    /// Discrete Laplace scale in the measure's units.
    pub noise_scale: f64,
    /// Noise standard deviation in the measure's units.
    pub noise_sd: f64,
    /// Half-width of the 95 % interval in the measure's units.
    pub ci95_half_width: f64,
    /// Decimal places of the exact integer units the mechanism works in (2: cents).
    pub exact_decimals: u32,
    /// The sensitivity in exact units, as given to opendp's privacy map.
    pub mechanism_sensitivity: i64,
    /// The discrete Laplace scale in exact units, as given to opendp.
    pub mechanism_scale: f64,
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version of this manifest format.
    pub manifest_version: u32,
    /// `cellguard <version>`.
    pub tool: String,
    /// Release name.
    pub release: String,
    /// Release description.
    pub description: String,
    /// Creation time, RFC 3339 UTC.
    pub created_utc: String,
    /// The policy file.
    pub policy: FileDigest,
    /// The schema file.
    pub schema: FileDigest,
    /// Classification files.
    pub classifications: Vec<FileDigest>,
    /// The inputs.
    pub inputs: Vec<InputDigest>,
    /// The unit of privacy.
    pub unit_of_privacy: String,
    /// The guarantee mode (`dp`).
    pub mode: String,
    /// The noise mechanism.
    pub mechanism: String,
    /// Where the noise came from.
    pub noise_source: String,
    /// The guarantee in words.
    pub guarantee: String,
    /// How intervals and noise figures were computed.
    pub accuracy_method: String,
    /// Contribution bounds.
    pub bounds: BTreeMap<String, u64>,
    /// Privacy loss per measure.
    pub privacy_loss: Vec<MeasureLoss>,
    /// Total ε (basic composition).
    pub total_epsilon: f64,
    /// The noisy threshold rule.
    pub noisy_threshold: BTreeMap<String, String>,
    /// Cells in the key set.
    pub n_cells: u64,
    /// Rows in `cells.csv` (cells × measures).
    pub n_rows: u64,
    /// Values by status.
    pub status_counts: BTreeMap<String, u64>,
    /// Exact processing counts from bounding (not DP-protected; see the report).
    pub bounding: BoundingStats,
    /// Release files and checksums (all but this manifest).
    pub files: Vec<FileDigest>,
}

/// Describes the noise source.
pub fn noise_source(release: &ProtectedRelease) -> String {
    if release.noise_is_secure() {
        "opendp discrete Laplace sampler (exact, OS-seeded cryptographically secure randomness)".to_string()
    } else {
        "FAKE TEST NOISE - NOT PRIVATE - DO NOT PUBLISH".to_string()
    }
}

/// The guarantee in plain words.
pub fn guarantee_text(release: &ProtectedRelease) -> String {
    let unit = release.unit_of_privacy().name();
    format!(
        "{total:.4}-differential privacy (pure, epsilon = {total:.4}) for every {unit}: adding or removing all records of any one {unit} changes the probability of any published output by at most a factor of e^{total:.4} (about {factor:.2}). This holds for the published values and the suppression pattern together. It assumes the bounds in this manifest; the exact processing counts (rows read, rejected, bounded) are not covered.",
        total = release.total_epsilon(),
        factor = release.total_epsilon().exp(),
    )
}

pub(crate) fn build(release: &ProtectedRelease, ctx: &ReleaseContext, n_rows: u64, files: Vec<FileDigest>) -> Manifest {
    let bounds = release.bounds();
    let unit = |d: u32| 10f64.powi(d as i32);
    Manifest {
        manifest_version: 1,
        tool: format!("cellguard {}", ctx.tool_version),
        release: release.name().to_string(),
        description: release.description().to_string(),
        created_utc: ctx.created_utc.clone(),
        policy: ctx.policy.clone(),
        schema: ctx.schema.clone(),
        classifications: ctx.classifications.clone(),
        inputs: ctx.inputs.clone(),
        unit_of_privacy: release.unit_of_privacy().name().to_string(),
        mode: "dp".to_string(),
        mechanism: "discrete-laplace".to_string(),
        noise_source: noise_source(release),
        guarantee: guarantee_text(release),
        accuracy_method: "noise_sd = sqrt(2a)/(1-a) with a = exp(-1/scale) (discrete Laplace); the 95% interval is value +/- h with h the smallest integer such that P(|noise| > h) <= 0.05, from opendp's discrete_laplacian_scale_to_accuracy; for non-negative measures the lower end is cut at 0".to_string(),
        bounds: BTreeMap::from([
            ("max_cells_per_unit".to_string(), u64::from(bounds.max_cells_per_unit)),
            ("max_records_per_cell".to_string(), u64::from(bounds.max_records_per_cell)),
        ]),
        privacy_loss: release
            .measures()
            .iter()
            .map(|m| MeasureLoss {
                measure: m.name.clone(),
                kind: m.kind.to_string(),
                epsilon: m.epsilon,
                epsilon_allowed: m.epsilon_allowed,
                sensitivity: m.sensitivity as f64 / unit(m.decimals),
                noise_scale: m.noise_scale / unit(m.decimals),
                noise_sd: m.noise_sd / unit(m.decimals),
                ci95_half_width: m.ci95_half_width as f64 / unit(m.decimals),
                exact_decimals: m.decimals,
                mechanism_sensitivity: m.sensitivity,
                mechanism_scale: m.noise_scale,
            })
            .collect(),
        total_epsilon: release.total_epsilon(),
        noisy_threshold: BTreeMap::from([
            ("measure".to_string(), release.threshold().0.to_string()),
            ("min".to_string(), release.threshold().1.to_string()),
        ]),
        n_cells: release.n_cells() as u64,
        n_rows,
        status_counts: release.status_counts().into_iter().map(|(s, n)| (s.code().to_string(), n)).collect(),
        bounding: release.bounding_stats(),
        files,
    }
}
