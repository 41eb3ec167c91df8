//! The release plan: a validated policy with every privacy parameter resolved — sensitivities
//! derived from the bounds, noise scales calibrated to each measure's ε, and the opendp
//! measurement that both reports the privacy loss and draws the noise.

use std::path::PathBuf;

use opendp::core::Measurement;
use opendp::domains::{AtomDomain, VectorDomain};
use opendp::measurements::make_laplace;
use opendp::measures::MaxDivergence;
use opendp::metrics::L1Distance;

use cellguard_ingest::{RowMapperConfig, SourceSchema};

use crate::error::PrivacyError;
use crate::policy::{GuaranteeMode, Mechanism, UnitOfPrivacy, MAX_EXACT};

/// Contribution bounds per unit of privacy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContributionBounds {
    /// The most cells one unit contributes to.
    pub max_cells_per_unit: u32,
    /// The most records of one unit counted in one cell.
    pub max_records_per_cell: u32,
}

/// What a measure computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureKind {
    /// Distinct units in the cell.
    CountUnits,
    /// Records in the cell, at most `max_records_per_cell` per unit.
    CountRecords,
    /// Sum of a value, clamped per record to `[lower, upper]` (in units of `10^-scale`).
    Sum {
        /// Which of the contribution's values.
        value_slot: usize,
        /// Lower clamp per record.
        lower: i64,
        /// Upper clamp per record.
        upper: i64,
        /// Decimal places of the value's unit.
        scale: u32,
    },
}

/// The vector mechanism used for every measure: discrete Laplace noise on a vector of integers
/// under the L1 metric, with pure ε-DP (`MaxDivergence`).
pub type LaplaceMeasurement = Measurement<VectorDomain<AtomDomain<i64>>, L1Distance<i64>, MaxDivergence, Vec<i64>>;

/// One measure with its calibrated noise.
pub struct MeasurePlan {
    /// Name in outputs.
    pub name: String,
    /// What is computed.
    pub kind: MeasureKind,
    /// L1 sensitivity of the measure's cell vector when one unit is added or removed, in exact
    /// units (see [`MeasurePlan::sensitivity_of`]).
    pub sensitivity: i64,
    /// The ε the policy allows for this measure.
    pub epsilon_allowed: f64,
    /// The ε opendp's privacy map reports for this measure's mechanism at `sensitivity`;
    /// never above `epsilon_allowed`.
    pub epsilon: f64,
    /// The discrete Laplace scale.
    pub scale: f64,
    measurement: LaplaceMeasurement,
}

impl std::fmt::Debug for MeasurePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeasurePlan")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("sensitivity", &self.sensitivity)
            .field("epsilon", &self.epsilon)
            .field("scale", &self.scale)
            .finish()
    }
}

impl MeasurePlan {
    /// The L1 sensitivity of a measure's vector of cells under adding or removing one unit,
    /// after bounding: a unit touches at most `m = max_cells_per_unit` cells and, in each,
    /// counts once (`CountUnits`), at most `k = max_records_per_cell` times (`CountRecords`),
    /// or adds a sum clamped to `[c·lower, c·upper]` with `c ≤ k` (`Sum`). Hence
    /// `m`, `m·k` and `m·k·max(|lower|, |upper|)`.
    pub fn sensitivity_of(kind: MeasureKind, bounds: &ContributionBounds) -> Option<i64> {
        let m = i64::from(bounds.max_cells_per_unit);
        let k = i64::from(bounds.max_records_per_cell);
        let s = match kind {
            MeasureKind::CountUnits => Some(m),
            MeasureKind::CountRecords => m.checked_mul(k),
            MeasureKind::Sum { lower, upper, .. } => m.checked_mul(k)?.checked_mul(lower.abs().max(upper.abs())),
        }?;
        (s <= MAX_EXACT).then_some(s)
    }

    /// Calibrates the mechanism: the scale is `sensitivity / ε`, nudged up until opendp's
    /// privacy map reports at most the allowed ε (floating-point division can land a hair
    /// above it).
    pub fn new(
        name: &str,
        kind: MeasureKind,
        bounds: &ContributionBounds,
        epsilon_allowed: f64,
    ) -> Result<MeasurePlan, PrivacyError> {
        let sensitivity = Self::sensitivity_of(kind, bounds)
            .ok_or_else(|| PrivacyError::mechanism(name, "the sensitivity implied by the bounds exceeds 2^53"))?;
        let sensitivity = sensitivity.max(1);
        let mut scale = sensitivity as f64 / epsilon_allowed;
        for _ in 0..64 {
            let measurement = make_laplace(
                VectorDomain::new(AtomDomain::<i64>::default()),
                L1Distance::<i64>::default(),
                scale,
                None,
            )
            .map_err(|e| PrivacyError::mechanism(name, e))?;
            let epsilon = measurement.map(&sensitivity).map_err(|e| PrivacyError::mechanism(name, e))?;
            if epsilon <= epsilon_allowed {
                return Ok(MeasurePlan {
                    name: name.to_string(),
                    kind,
                    sensitivity,
                    epsilon_allowed,
                    epsilon,
                    scale,
                    measurement,
                });
            }
            scale = f64::from_bits(scale.to_bits() + 1);
        }
        Err(PrivacyError::mechanism(name, "could not calibrate the noise scale to the allowed epsilon"))
    }

    /// The opendp measurement (for its privacy map and, in the secure noise source, sampling).
    pub fn measurement(&self) -> &LaplaceMeasurement {
        &self.measurement
    }

    /// Standard deviation of the discrete Laplace noise: `sqrt(2a) / (1 - a)` with
    /// `a = exp(-1/scale)`.
    pub fn noise_sd(&self) -> f64 {
        let a = (-1.0 / self.scale).exp();
        (2.0 * a).sqrt() / (1.0 - a)
    }

    /// Half-width `h` of the 95 % interval: the smallest integer with `P(|noise| > h) ≤ 0.05`,
    /// from opendp's `discrete_laplacian_scale_to_accuracy` (`P(|noise| ≥ acc) ≤ α`, so
    /// `h = ceil(acc) - 1`).
    pub fn ci95_half_width(&self) -> i64 {
        match opendp::accuracy::discrete_laplacian_scale_to_accuracy(self.scale, 0.05) {
            Ok(acc) if acc.is_finite() => (acc.ceil() as i64 - 1).max(0),
            _ => i64::MAX,
        }
    }
}

/// A noisy-threshold rule: cells whose noisy `measure` is below `min` are suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoisyThreshold {
    /// Index into [`ReleasePlan::measures`].
    pub measure: usize,
    /// The threshold.
    pub min: i64,
}

/// A policy validated and resolved, with the schema and classifications it names loaded.
#[derive(Debug)]
pub struct ReleasePlan {
    /// The policy file.
    pub policy_path: PathBuf,
    /// SHA-256 of the policy file.
    pub policy_sha256: [u8; 32],
    /// The release name.
    pub name: String,
    /// The release description.
    pub description: String,
    /// The schema file.
    pub schema_path: PathBuf,
    /// SHA-256 of the schema file.
    pub schema_sha256: [u8; 32],
    /// Classification files with their SHA-256.
    pub classifications: Vec<(PathBuf, [u8; 32])>,
    /// The unit of privacy.
    pub unit_of_privacy: UnitOfPrivacy,
    /// Invalid rows tolerated.
    pub max_rejected_rows: u64,
    /// Dimension names in key order.
    pub dimension_names: Vec<String>,
    /// What ingest needs to map rows to cells.
    pub mapper: RowMapperConfig,
    /// The loaded schema.
    pub schema: SourceSchema,
    /// Contribution bounds.
    pub bounds: ContributionBounds,
    /// Measures in output order.
    pub measures: Vec<MeasurePlan>,
    /// The guarantee mode.
    pub mode: GuaranteeMode,
    /// The noise mechanism (`dp` mode).
    pub mechanism: Option<Mechanism>,
    /// The noisy threshold (`dp` mode).
    pub threshold: Option<NoisyThreshold>,
    /// Whether negative noisy values of non-negative measures are published as 0.
    pub negative_as_zero: bool,
    /// The SDC rules and measures (`sdc` mode); `measures` is then empty.
    pub sdc: Option<SdcPlan>,
    /// The dataset's budget (required in `dp` mode).
    pub budget: Option<BudgetPlan>,
}

/// Where a release's spend is recorded and what the dataset may spend.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetPlan {
    /// The ledger file (resolved against the policy's folder).
    pub ledger: PathBuf,
    /// The dataset.
    pub dataset: String,
    /// The budget period.
    pub period: String,
    /// The total ε for the period.
    pub total_epsilon: f64,
}

/// Margins added to an `sdc` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Margins {
    /// Area levels above the released one to add, finest first.
    pub area_levels: Vec<cellguard_ingest::AreaLevel>,
    /// A total over age bands.
    pub age_total: bool,
    /// A total over periods.
    pub period_total: bool,
    /// The parent level of a code list.
    pub code_parents: bool,
    /// A total over a code list.
    pub code_total: bool,
}

/// An `sdc` release: exact values, primary and secondary suppression, audited.
#[derive(Debug, Clone)]
pub struct SdcPlan {
    /// Measures in output order.
    pub measures: Vec<(String, MeasureKind)>,
    /// The primary rules.
    pub rules: crate::sdc::PrimaryRules,
    /// Whether secondary suppression is applied.
    pub secondary: bool,
    /// The protection required for primary cells.
    pub protection: crate::sdc::Protection,
    /// Margins.
    pub margins: Margins,
    /// Whether suppressed cells carry their reason in the output (the audit then assumes the
    /// attacker knows it).
    pub publish_reasons: bool,
    /// The 0 % / 100 % rule: the dimensions (indices) along which it applies, and whether
    /// cells with none of their group's units are suppressed too.
    pub zero_full: Option<(Vec<usize>, bool)>,
}

impl ReleasePlan {
    /// Number of inner cells in the key set (without margins).
    pub fn n_cells(&self) -> usize {
        self.mapper.dimensions.iter().map(|d| d.len()).product()
    }

    /// Every measure's name and kind, in output order, whatever the mode.
    pub fn measure_kinds(&self) -> Vec<(String, MeasureKind)> {
        match &self.sdc {
            Some(s) => s.measures.clone(),
            None => self.measures.iter().map(|m| (m.name.clone(), m.kind)).collect(),
        }
    }

    /// Total ε of the release under basic sequential composition of its measures (pure DP:
    /// the ε add; Dwork & Roth 2014, Theorem 3.16).
    pub fn total_epsilon(&self) -> f64 {
        self.measures.iter().map(|m| m.epsilon).sum()
    }
}
