//! The release manifest (`manifest.json`): what was released, from which inputs and policy,
//! under which guarantee, at which privacy cost, with checksums of every release file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use cellguard_privacy::{BoundingStats, Mechanism, ProtectedRelease};

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

/// The ledger entry a release was charged to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetRecord {
    /// The ledger file name.
    pub ledger: String,
    /// The dataset.
    pub dataset: String,
    /// The budget period.
    pub period: String,
    /// The entry's position in the ledger.
    pub entry_seq: u64,
    /// SHA-256 of the entry's line (detects later truncation of the ledger).
    pub entry_sha256: String,
    /// The budget's unit: `epsilon` (pure ε-DP accounting) or `rho` (zCDP accounting).
    pub unit: String,
    /// Spent by the dataset in the period before this release, in `unit`.
    pub spent_before: f64,
    /// Spent including this release, in `unit`.
    pub spent_after: f64,
    /// The period's total, in `unit`.
    pub total: f64,
    /// zCDP budgets with a declared δ: the (ε, δ)-DP equivalents, by opendp's conversion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approx_dp: Option<ApproxDp>,
}

/// (ε, δ)-DP equivalents of ρ spent, by opendp's zCDP → (ε, δ) conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApproxDp {
    /// The declared δ.
    pub delta: f64,
    /// ε at δ of this release alone.
    pub release_epsilon: f64,
    /// ε at δ of everything the dataset spent in the period, this release included.
    pub period_epsilon: f64,
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
    /// The budget the release was charged to, if any.
    pub budget: Option<BudgetRecord>,
    /// Permission bits for release files (Unix): never wider than the input's, so a release
    /// of a file only its owner may read is readable only by its owner too.
    pub file_mode: Option<u32>,
    /// Whether an existing release folder at the target may be replaced (`--force`).
    pub replace: bool,
}

/// The privacy loss of one measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureLoss {
    /// Measure name.
    pub measure: String,
    /// Measure kind.
    pub kind: String,
    /// ε spent, as opendp's privacy map reports it for `sensitivity` (pure-DP mechanisms;
    /// absent for zCDP).
    pub epsilon: Option<f64>,
    /// ρ spent: opendp's zCDP map for `sensitivity`, or the pure ε converted (ε²/2).
    pub rho: f64,
    /// The loss the policy allowed, in `allowed_unit`.
    pub allowed: f64,
    /// `epsilon` or `rho`.
    pub allowed_unit: String,
    /// Sensitivity in the measure's units: L1 (discrete Laplace) or L2 (discrete Gaussian).
    pub sensitivity: f64,
    /// Noise scale in the measure's units: the discrete Laplace scale or the discrete
    /// Gaussian σ.
    pub noise_scale: f64,
    /// Noise standard deviation in the measure's units.
    pub noise_sd: f64,
    /// Half-width of the 95 % interval in the measure's units.
    pub ci95_half_width: f64,
    /// Decimal places of the exact integer units the mechanism works in (2: cents).
    pub exact_decimals: u32,
    /// The sensitivity in exact units, as given to opendp's privacy map.
    pub mechanism_sensitivity: f64,
    /// The noise scale in exact units, as given to opendp.
    pub mechanism_scale: f64,
}

/// One released measure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureEntry {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Decimal places of its values.
    pub decimals: u32,
    /// Whether negative noisy values were published as 0 (post-processing; biases small
    /// values upwards, see docs/privacy.md). With consistent totals, the fitted inner cells
    /// are cut at 0 before the totals are summed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negative_as_zero: bool,
}

/// One node of a dimension's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEntry {
    /// The member code as in `cells.csv`.
    pub code: String,
    /// The index of its parent node in this dimension, if any.
    pub parent: Option<usize>,
}

/// One dimension's structure, for the attacker audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DimensionEntry {
    /// The dimension's name.
    pub name: String,
    /// The column of `cells.csv` holding its codes.
    pub code_column: String,
    /// Its nodes in key order.
    pub nodes: Vec<NodeEntry>,
}

/// What statistical disclosure control did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SdcEntry {
    /// Minimum contributing units per published cell.
    pub min_units_per_cell: u64,
    /// Pre-aggregated data: the field whose largest row value per cell counts its contributors
    /// (a lower bound of the distinct contributors); absent when units are counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributors_field: Option<String>,
    /// Pre-aggregated data: the field counting businesses per row and the fewest businesses a
    /// published cell has (business confidentiality).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub businesses: Option<(String, u64)>,
    /// The 0 % / 100 % rule: the dimensions along which groups are formed, and whether cells
    /// with none of their group's units are suppressed too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_full: Option<(Vec<String>, bool)>,
    /// The (n, k) dominance rule, if any.
    pub dominance: Option<(u32, f64)>,
    /// The p % rule, if any.
    pub p_percent: Option<f64>,
    /// Protection required of primary cells, as a fraction of their value.
    pub protection_ratio: f64,
    /// Whether secondary suppression ran.
    pub secondary_suppression: bool,
    /// Whether suppressed cells show their reason in `cells.csv`.
    pub reasons_published: bool,
    /// Rounds of the audit loop.
    pub audit_rounds: usize,
    /// Primary suppressions.
    pub primary_cells: u64,
    /// Secondary suppressions.
    pub secondary_cells: u64,
    /// Sum of the first measure over secondary cells (value hidden to protect others).
    pub secondary_value: f64,
    /// The smallest protection the final audit found for a primary cell, as a fraction of its
    /// value; at least `protection_ratio` (null when there are no primary cells).
    pub min_protection_achieved: Option<f64>,
    /// The table's structure, so that `cellguard audit` can rebuild the constraints.
    pub dimensions: Vec<DimensionEntry>,
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
    /// The measures, in output order.
    pub measures: Vec<MeasureEntry>,
    /// Privacy loss per noisy measure (empty for `sdc`).
    pub privacy_loss: Vec<MeasureLoss>,
    /// Total ε (basic composition); absent for zCDP and `sdc` releases.
    pub total_epsilon: Option<f64>,
    /// Total ρ (zCDP composition; pure-DP measures count ε²/2); absent for `sdc` releases.
    pub total_rho: Option<f64>,
    /// Whether the noisy cells at every level were made consistent by least squares (`dp`
    /// with margins): published totals equal the sums of their published parts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub consistent_totals: bool,
    /// The ledger entry this release was charged to.
    pub budget: Option<BudgetRecord>,
    /// The noisy threshold rule (`dp`).
    pub noisy_threshold: Option<BTreeMap<String, String>>,
    /// What statistical disclosure control did (`sdc`).
    pub sdc: Option<SdcEntry>,
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

/// How the noise figures and intervals were computed.
fn accuracy_method(release: &ProtectedRelease) -> String {
    if release.is_consistent() {
        return "consistent totals: the noisy cube (inner cells and every total, each with the measure's noise) is fitted by least squares (ordinary = weighted, the variances being equal), applied one dimension at a time; published totals are the sums of the fitted inner cells, each rounded to the published decimals (0.01 for counts, or whole numbers with integer_totals; cents for sums). Each cell's noise_sd is sqrt(sigma^2 * prod_d hat_d + c/12 * u^2) with hat_d the diagonal of the dimension's hat matrix, c the inner cells it adds up and u the published unit (rounding); its 95% interval is value +/- z * noise_sd rounded up, z = 1.96 (discrete Gaussian) or ln(20)/sqrt(2) = 2.118 (discrete Laplace: the 95% point of one Laplace variable, whose tails a weighted sum of them does not exceed); for non-negative measures the lower end is cut at 0".to_string();
    }
    match release.mechanism() {
        None => "none: the values are exact (statistical disclosure control adds no noise)",
        Some(Mechanism::DiscreteGaussian) => "noise_sd is the discrete Gaussian's exact standard deviation (summed for sigma < 8, sigma itself above); the 95% interval is value +/- h with h the smallest integer such that P(|noise| > h) <= 0.05, from opendp's discrete_gaussian_scale_to_accuracy; for non-negative measures the lower end is cut at 0",
        _ => "noise_sd = sqrt(2a)/(1-a) with a = exp(-1/scale) (discrete Laplace); the 95% interval is value +/- h with h the smallest integer such that P(|noise| > h) <= 0.05, from opendp's discrete_laplacian_scale_to_accuracy; for non-negative measures the lower end is cut at 0",
    }
    .to_string()
}

/// Describes the noise source.
pub fn noise_source(release: &ProtectedRelease) -> String {
    if release.mechanism().is_none() {
        "none: exact values protected by statistical disclosure control".to_string()
    } else if release.noise_is_secure() {
        match release.mechanism() {
            Some(Mechanism::DiscreteGaussian) => {
                "opendp discrete Gaussian sampler (exact, OS-seeded cryptographically secure randomness)"
            }
            _ => "opendp discrete Laplace sampler (exact, OS-seeded cryptographically secure randomness)",
        }
        .to_string()
    } else {
        "FAKE TEST NOISE - NOT PRIVATE - DO NOT PUBLISH".to_string()
    }
}

/// The guarantee in plain words.
pub fn guarantee_text(release: &ProtectedRelease) -> String {
    let unit = release.unit_of_privacy().name();
    let Some(s) = release.sdc() else {
        return dp_guarantee_text(release, "the published values and the suppression pattern together");
    };
    let rules = sdc_rules_text(s, unit);
    if release.mechanism().is_none() {
        return format!(
            "Statistical disclosure control on exact values: {rules}. An attacker audit by linear programming over the published table, its totals and non-negativity found every primary cell protected by at least {:.0} % of its value. This is a rule-based protection, not a differential-privacy guarantee: it does not bound what several releases reveal together.",
            s.protection_ratio * 100.0,
        );
    }
    format!(
        "{} As an extra gate, decided on the exact values before any noise was drawn, the statistical disclosure control rules were applied: {rules}. An attacker audit by linear programming found every primary cell protected by at least {:.0} % of its value even if every value outside the gate were published exactly. The gate's decisions read exact values, so which values are published is NOT covered by the differential-privacy guarantee: a cell suppressed by the gate (status `suppressed`) tells that it, or a cell it protects, broke a rule on its exact values. Cells suppressed by the noisy threshold (status `suppressed_noisy_threshold`) reveal nothing beyond the guarantee. Like `sdc`, the gate does not bound what several releases reveal together; the ledger counts only the differential-privacy loss.",
        dp_guarantee_text(release, "the noisy table before the gate (every noisy value, and the noisy threshold's decisions)"),
        s.protection_ratio * 100.0,
    )
}

/// The SDC rules a release applied, as one clause.
fn sdc_rules_text(s: &cellguard_privacy::SdcSummary, unit: &str) -> String {
    format!(
            "no published cell has {}{}{}{}; {}",
            match &s.contributors_field {
                Some(f) => format!("fewer than {} contributors by its rows' `{f}` (the largest row's count, a lower bound of the distinct contributors)", s.min_units),
                None => format!("between 1 and {} contributing {unit}s", s.min_units.saturating_sub(1)),
            },
            s.businesses.as_ref().map(|(f, min)| format!("; no published cell has fewer than {min} businesses by its rows' `{f}` (business confidentiality)")).unwrap_or_default(),
            s.dominance.map(|(n, k)| format!("; no sum is dominated by its {n} largest contributors beyond {k} %")).unwrap_or_default(),
            s.p_percent.map(|p| format!("; the p % rule holds with p = {p}")).unwrap_or_default(),
            if s.secondary { "secondary suppression hides further cells so that suppressed ones cannot be recovered from totals" } else { "no secondary suppression was applied" },
    )
}

/// The differential-privacy guarantee in plain words.
fn dp_guarantee_text(release: &ProtectedRelease, covered: &str) -> String {
    let unit = release.unit_of_privacy().name();
    let tail = format!("This holds for {covered}. It assumes the bounds in this manifest; the exact processing counts (rows read, rejected, bounded) are not covered.");
    match release.total_epsilon() {
        Some(total) => format!(
            "{total:.4}-differential privacy (pure, epsilon = {total:.4}) for every {unit}: adding or removing all records of any one {unit} changes the probability of any published output by at most a factor of e^{total:.4} (about {factor:.2}). {tail}",
            factor = total.exp(),
        ),
        None => format!(
            "{rho:.6}-zero-concentrated differential privacy (rho = {rho:.6}) for every {unit}: the privacy loss of adding or removing all records of any one {unit} has Renyi divergence at most rho * alpha of every order alpha > 1, so it is small on average and in its tails; for any delta it implies (epsilon, delta)-differential privacy (the manifest's budget gives epsilon at the declared delta). {tail}",
            rho = release.total_rho(),
        ),
    }
}

/// The dimensions' trees with their codes and the `cells.csv` column of each.
fn structure(release: &ProtectedRelease) -> Vec<DimensionEntry> {
    let trees = release.trees().unwrap_or_default();
    release
        .keys()
        .dimensions()
        .iter()
        .zip(trees)
        .map(|(d, t)| DimensionEntry {
            name: d.name.clone(),
            code_column: match d.kind {
                cellguard_privacy::KeyKind::Area | cellguard_privacy::KeyKind::Code => format!("{}_code", d.name),
                _ => d.name.clone(),
            },
            nodes: d
                .members
                .iter()
                .zip(&t.parent)
                .map(|(m, p)| NodeEntry { code: m.code.clone(), parent: p.map(|p| p as usize) })
                .collect(),
        })
        .collect()
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
        mode: release.mode().name().to_string(),
        mechanism: release.mechanism().map_or("none", |m| m.name()).to_string(),
        noise_source: noise_source(release),
        guarantee: guarantee_text(release),
        accuracy_method: accuracy_method(release),
        bounds: BTreeMap::from([
            ("max_cells_per_unit".to_string(), u64::from(bounds.max_cells_per_unit)),
            ("max_records_per_cell".to_string(), u64::from(bounds.max_records_per_cell)),
        ]),
        measures: release
            .measures()
            .iter()
            .map(|m| MeasureEntry {
                name: m.name.clone(),
                kind: m.kind.to_string(),
                decimals: m.decimals + m.precision,
                negative_as_zero: m.negative_as_zero,
            })
            .collect(),
        privacy_loss: release
            .measures()
            .iter()
            .filter_map(|m| m.noise.as_ref().map(|n| (m, n)))
            .map(|(m, n)| MeasureLoss {
                measure: m.name.clone(),
                kind: m.kind.to_string(),
                epsilon: n.epsilon,
                rho: n.rho,
                allowed: n.allowed,
                allowed_unit: if n.epsilon.is_some() { "epsilon" } else { "rho" }.to_string(),
                sensitivity: n.sensitivity / unit(m.decimals),
                noise_scale: n.noise_scale / unit(m.decimals),
                noise_sd: n.noise_sd / unit(m.decimals),
                ci95_half_width: n.ci95_half_width as f64 / unit(m.decimals),
                exact_decimals: m.decimals,
                mechanism_sensitivity: n.sensitivity,
                mechanism_scale: n.noise_scale,
            })
            .collect(),
        total_epsilon: release.total_epsilon(),
        total_rho: release.mechanism().is_some().then(|| release.total_rho()),
        consistent_totals: release.is_consistent(),
        budget: ctx.budget.clone(),
        noisy_threshold: release.threshold().map(|(measure, min)| {
            BTreeMap::from([("measure".to_string(), measure.to_string()), ("min".to_string(), min.to_string())])
        }),
        sdc: release.sdc().map(|s| SdcEntry {
            min_units_per_cell: s.min_units,
            contributors_field: s.contributors_field.clone(),
            businesses: s.businesses.clone(),
            zero_full: s.zero_full.clone(),
            dominance: s.dominance,
            p_percent: s.p_percent,
            protection_ratio: s.protection_ratio,
            secondary_suppression: s.secondary,
            reasons_published: s.reasons_published,
            audit_rounds: s.rounds,
            primary_cells: s.primary_cells,
            secondary_cells: s.secondary_cells,
            secondary_value: s.secondary_value,
            min_protection_achieved: s.min_protection.is_finite().then_some(s.min_protection),
            dimensions: structure(release),
        }),
        n_cells: release.n_cells() as u64,
        n_rows,
        status_counts: release.status_counts().into_iter().map(|(s, n)| (s.code().to_string(), n)).collect(),
        bounding: release.bounding_stats(),
        files,
    }
}
