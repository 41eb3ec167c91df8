//! Protection: from an exact bounded table to a [`ProtectedRelease`], the only type that
//! `cellguard-publish` accepts. Its fields are private and it has no public constructor, so a
//! raw table cannot be published by construction.

use crate::error::{PrivacyError, PrivacyErrorKind};
use crate::keys::ReleaseKeys;
use crate::noise::NoiseSource;
use crate::plan::{ContributionBounds, MeasureKind, ReleasePlan};
use crate::policy::{GuaranteeMode, Mechanism, UnitOfPrivacy};
use crate::table::{BoundedTable, BoundingStats};

/// The status of one published value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CellStatus {
    /// The noisy value is published.
    Published,
    /// Suppressed because the cell's noisy threshold count is below the policy's minimum.
    SuppressedNoisyThreshold,
}

impl CellStatus {
    /// The stable code written to outputs.
    pub fn code(self) -> &'static str {
        match self {
            CellStatus::Published => "published",
            CellStatus::SuppressedNoisyThreshold => "suppressed_noisy_threshold",
        }
    }

    /// Every status, in output order.
    pub const ALL: [CellStatus; 2] = [CellStatus::Published, CellStatus::SuppressedNoisyThreshold];
}

/// Public facts about one released measure.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureInfo {
    /// Name.
    pub name: String,
    /// Kind (`count-units`, `count-records`, `sum`).
    pub kind: &'static str,
    /// Decimal places of values (2 for euros in cents).
    pub decimals: u32,
    /// ε spent, as opendp's privacy map reports it.
    pub epsilon: f64,
    /// ε the policy allowed.
    pub epsilon_allowed: f64,
    /// L1 sensitivity in exact units.
    pub sensitivity: i64,
    /// Discrete Laplace scale in exact units.
    pub noise_scale: f64,
    /// Noise standard deviation in exact units.
    pub noise_sd: f64,
    /// 95 % interval half-width in exact units.
    pub ci95_half_width: i64,
    /// Whether true values are known to be non-negative (the interval is cut at 0).
    pub non_negative: bool,
}

/// A release that passed every protection step. Only this crate can construct one.
#[derive(Debug, Clone)]
pub struct ProtectedRelease {
    name: String,
    description: String,
    unit_of_privacy: UnitOfPrivacy,
    mode: GuaranteeMode,
    mechanism: Mechanism,
    keys: ReleaseKeys,
    measures: Vec<MeasureInfo>,
    values: Vec<Vec<Option<i64>>>,
    status: Vec<Vec<CellStatus>>,
    threshold_measure: String,
    threshold_min: i64,
    bounds: ContributionBounds,
    bounding: BoundingStats,
    noise_secure: bool,
}

fn mismatch(message: &str) -> PrivacyError {
    PrivacyError::new(PrivacyErrorKind::Refused {
        message: format!("the bounded table does not match the plan: {message}"),
    })
}

/// Adds calibrated noise to every measure of every cell and applies the noisy threshold.
///
/// Preconditions (checked): the table was tabulated under the plan's bounds and clamps, over
/// the plan's key set.
///
/// Privacy claim: each measure's vector is released by opendp's discrete Laplace mechanism
/// with scale `sensitivity / ε` (Ghosh, Roughgarden & Sundararajan 2012; Canonne, Kamath &
/// Steinke 2020), so it is ε-DP with respect to adding or removing one unit of privacy, whose
/// influence the bounding limits to the sensitivity. The measures compose to the sum of their
/// ε. The threshold only looks at noisy values, so it is post-processing and costs nothing.
pub fn protect(
    plan: &ReleasePlan,
    table: BoundedTable,
    noise: &mut dyn NoiseSource,
) -> Result<ProtectedRelease, PrivacyError> {
    let n = plan.n_cells();
    if table.n_cells() != n {
        return Err(mismatch("different number of cells"));
    }
    if table.bounds() != plan.bounds {
        return Err(mismatch("different contribution bounds"));
    }
    let mut noisy: Vec<Vec<i64>> = Vec::with_capacity(plan.measures.len());
    let mut infos = Vec::with_capacity(plan.measures.len());
    for m in &plan.measures {
        let (exact, decimals, kind, non_negative): (Vec<i64>, u32, &'static str, bool) = match m.kind {
            MeasureKind::CountUnits => (table.units().iter().map(|v| *v as i64).collect(), 0, "count-units", true),
            MeasureKind::CountRecords => {
                (table.records().iter().map(|v| *v as i64).collect(), 0, "count-records", true)
            }
            MeasureKind::Sum { value_slot, lower, upper, scale } => {
                match table.clamps[value_slot] {
                    Some(c) if c.lower == lower && c.upper == upper => {}
                    _ => return Err(mismatch("different clamping bounds")),
                }
                (table.sums(value_slot).to_vec(), scale, "sum", lower >= 0)
            }
        };
        let out = noise.perturb(m, &exact)?;
        if out.len() != exact.len() {
            return Err(PrivacyError::mechanism(&m.name, "the noise source returned a vector of the wrong length"));
        }
        noisy.push(out);
        infos.push(MeasureInfo {
            name: m.name.clone(),
            kind,
            decimals,
            epsilon: m.epsilon,
            epsilon_allowed: m.epsilon_allowed,
            sensitivity: m.sensitivity,
            noise_scale: m.scale,
            noise_sd: m.noise_sd(),
            ci95_half_width: m.ci95_half_width(),
            non_negative,
        });
    }
    let gate = &noisy[plan.threshold.measure];
    let cell_status: Vec<CellStatus> = gate
        .iter()
        .map(|v| if *v < plan.threshold.min { CellStatus::SuppressedNoisyThreshold } else { CellStatus::Published })
        .collect();
    let values = noisy
        .into_iter()
        .map(|vals| {
            vals.into_iter().zip(&cell_status).map(|(v, s)| (*s == CellStatus::Published).then_some(v)).collect()
        })
        .collect();
    Ok(ProtectedRelease {
        name: plan.name.clone(),
        description: plan.description.clone(),
        unit_of_privacy: plan.unit_of_privacy,
        mode: plan.mode,
        mechanism: plan.mechanism,
        keys: ReleaseKeys::new(&plan.dimension_names, &plan.mapper.dimensions),
        measures: infos,
        status: vec![cell_status; plan.measures.len()],
        values,
        threshold_measure: plan.measures[plan.threshold.measure].name.clone(),
        threshold_min: plan.threshold.min,
        bounds: plan.bounds,
        bounding: table.stats(),
        noise_secure: noise.is_secure(),
    })
}

impl ProtectedRelease {
    /// The release name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The release description.
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The unit of privacy.
    pub fn unit_of_privacy(&self) -> UnitOfPrivacy {
        self.unit_of_privacy
    }
    /// The guarantee mode.
    pub fn mode(&self) -> GuaranteeMode {
        self.mode
    }
    /// The noise mechanism.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }
    /// The labelled key set.
    pub fn keys(&self) -> &ReleaseKeys {
        &self.keys
    }
    /// The measures.
    pub fn measures(&self) -> &[MeasureInfo] {
        &self.measures
    }
    /// The published value of measure `m` in `cell`, `None` when suppressed.
    pub fn value(&self, m: usize, cell: usize) -> Option<i64> {
        self.values[m][cell]
    }
    /// The status of measure `m` in `cell`.
    pub fn status(&self, m: usize, cell: usize) -> CellStatus {
        self.status[m][cell]
    }
    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.keys.n_cells()
    }
    /// The noisy threshold: measure name and minimum.
    pub fn threshold(&self) -> (&str, i64) {
        (&self.threshold_measure, self.threshold_min)
    }
    /// The contribution bounds.
    pub fn bounds(&self) -> ContributionBounds {
        self.bounds
    }
    /// What bounding changed (exact processing counts).
    pub fn bounding_stats(&self) -> BoundingStats {
        self.bounding
    }
    /// Whether the noise came from the secure sampler.
    pub fn noise_is_secure(&self) -> bool {
        self.noise_secure
    }
    /// Total ε (basic composition of the measures).
    pub fn total_epsilon(&self) -> f64 {
        self.measures.iter().map(|m| m.epsilon).sum()
    }
    /// Counts of values by status.
    pub fn status_counts(&self) -> Vec<(CellStatus, u64)> {
        CellStatus::ALL.iter().map(|s| (*s, self.status.iter().flatten().filter(|x| *x == s).count() as u64)).collect()
    }
}
