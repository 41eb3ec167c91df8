//! The release plan: a validated policy with every privacy parameter resolved — sensitivities
//! derived from the bounds, noise scales calibrated to each measure's ε, and the opendp
//! measurement that both reports the privacy loss and draws the noise.

use std::path::PathBuf;

use opendp::combinators::{make_fix_delta, make_pureDP_to_zCDP, make_zCDP_to_approxDP};
use opendp::core::Measurement;
use opendp::domains::{AtomDomain, VectorDomain};
use opendp::measurements::{make_gaussian, make_laplace};
use opendp::measures::{MaxDivergence, ZeroConcentratedDivergence};
use opendp::metrics::{L1Distance, L2Distance};

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

/// Discrete Laplace noise on a vector of integers under the L1 metric: pure ε-DP
/// (`MaxDivergence`).
pub type LaplaceMeasurement = Measurement<VectorDomain<AtomDomain<i64>>, L1Distance<i64>, MaxDivergence, Vec<i64>>;

/// Discrete Gaussian noise on a vector of integers under the L2 metric: ρ-zCDP
/// (`ZeroConcentratedDivergence`). The L2 sensitivity of integer vectors is not an integer in
/// general (`√m`), so the metric's distance type is `f64`.
pub type GaussianMeasurement =
    Measurement<VectorDomain<AtomDomain<i64>>, L2Distance<f64>, ZeroConcentratedDivergence, Vec<i64>>;

/// A measure's calibrated opendp measurement.
#[derive(Clone)]
enum Calibrated {
    Laplace(LaplaceMeasurement),
    Gaussian(GaussianMeasurement),
}

/// One measure with its calibrated noise.
#[derive(Clone)]
pub struct MeasurePlan {
    /// Name in outputs.
    pub name: String,
    /// What is computed.
    pub kind: MeasureKind,
    /// The noise mechanism.
    pub mechanism: Mechanism,
    /// Sensitivity of the released vector (inner cells, and margins where the release has
    /// them) when one unit is added or removed, in exact units and in the mechanism's metric:
    /// L1 for discrete Laplace, L2 for discrete Gaussian (see [`Sensitivity`]).
    pub sensitivity: f64,
    /// The privacy-loss parameter the policy allows: ε for pure-DP mechanisms, ρ for zCDP.
    pub allowed: f64,
    /// ε as opendp's privacy map reports it (pure-DP mechanisms only; never above `allowed`).
    pub epsilon: Option<f64>,
    /// ρ as opendp's privacy map reports it: the mechanism's own for zCDP mechanisms (never
    /// above `allowed`), or its pure-DP ε converted by opendp's `make_pureDP_to_zCDP`
    /// (ρ = ε²/2; Bun & Steinke 2016, Proposition 1.4).
    pub rho: f64,
    /// The noise scale in exact units: the discrete Laplace scale, or the discrete Gaussian σ.
    pub scale: f64,
    measurement: Calibrated,
}

impl std::fmt::Debug for MeasurePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeasurePlan")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("mechanism", &self.mechanism)
            .field("sensitivity", &self.sensitivity)
            .field("epsilon", &self.epsilon)
            .field("rho", &self.rho)
            .field("scale", &self.scale)
            .finish()
    }
}

/// The sensitivities of one measure's released vector under adding or removing one unit, after
/// bounding. A unit touches at most `m = max_cells_per_unit` inner cells and contributes at most
/// `c` to each: `1` (`CountUnits`), `k = max_records_per_cell` (`CountRecords`) or
/// `k·max(|lower|, |upper|)` (`Sum`). With margins, every inner cell is added into `a − 1` more
/// cells of the released cube (`a` is [`Sensitivity::fanout`]), and a margin cell can collect
/// all `m` of the unit's cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sensitivity {
    /// L1: `m·c·a`, exact.
    pub l1: i64,
    /// L2: `c·√(m + (a − 1)·m²)` (the inner cells contribute at most `m·c²` to the squared
    /// norm, each of the other `a − 1` cell types at most `(m·c)²`), rounded up.
    pub l2: f64,
}

impl Sensitivity {
    /// `None` when a bound exceeds 2^53 exact units.
    pub fn of(kind: MeasureKind, bounds: &ContributionBounds, fanout: u64) -> Option<Sensitivity> {
        let m = i64::from(bounds.max_cells_per_unit);
        let k = i64::from(bounds.max_records_per_cell);
        let c = match kind {
            MeasureKind::CountUnits => Some(1),
            MeasureKind::CountRecords => Some(k),
            MeasureKind::Sum { lower, upper, .. } => k.checked_mul(lower.abs().max(upper.abs())),
        }?;
        let a = i64::try_from(fanout.max(1)).ok()?;
        let l1 = m.checked_mul(c)?.checked_mul(a)?;
        if l1 > MAX_EXACT {
            return None;
        }
        // m + (a − 1)·m² ≤ a·m² ≤ l1² / c² fits in i128.
        let inner = i128::from(m) + i128::from(a - 1) * i128::from(m) * i128::from(m);
        // The integer square root, rounded up: r = ⌈√inner⌉ exactly when r² ≥ inner > (r−1)².
        let mut r = (inner as f64).sqrt() as i128;
        while r * r < inner {
            r += 1;
        }
        while r > 0 && (r - 1) * (r - 1) >= inner {
            r -= 1;
        }
        let l2 = if r * r == inner {
            // √inner is an integer (below 2^53, so exact as f64); the product rounds to nearest.
            let p = r as f64 * c as f64;
            if (p as i128) == r * i128::from(c) {
                p
            } else {
                p.next_up()
            }
        } else {
            // IEEE sqrt and product each round to nearest (≤ ½ ulp) on an exactly representable
            // operand (inner < 2^53 as l1 ≤ 2^53); two steps up cover both.
            ((inner as f64).sqrt() * c as f64).next_up().next_up()
        };
        Some(Sensitivity { l1: l1.max(1), l2: if l2 > 0.0 { l2 } else { 1.0 } })
    }
}

impl MeasurePlan {
    /// Calibrates the mechanism to the allowed loss: the discrete Laplace scale is `Δ₁ / ε`,
    /// the discrete Gaussian σ is `Δ₂ / √(2ρ)`, each nudged up until opendp's privacy map
    /// reports at most the allowed loss (floating-point division can land a hair above it).
    pub fn new(
        name: &str,
        kind: MeasureKind,
        mechanism: Mechanism,
        bounds: &ContributionBounds,
        fanout: u64,
        allowed: f64,
    ) -> Result<MeasurePlan, PrivacyError> {
        let fail = |e: &dyn std::fmt::Debug| PrivacyError::mechanism(name, e);
        let sens = Sensitivity::of(kind, bounds, fanout)
            .ok_or_else(|| fail(&"the sensitivity implied by the bounds exceeds 2^53"))?;
        let (sensitivity, mut scale) = match mechanism {
            Mechanism::DiscreteLaplace => (sens.l1 as f64, sens.l1 as f64 / allowed),
            Mechanism::DiscreteGaussian => (sens.l2, sens.l2 / (2.0 * allowed).sqrt()),
            other => return Err(fail(&format!("`{}` is not supported", other.name()))),
        };
        for _ in 0..64 {
            let plan = match mechanism {
                Mechanism::DiscreteGaussian => {
                    let measurement = make_gaussian(
                        VectorDomain::new(AtomDomain::<i64>::default()),
                        L2Distance::<f64>::default(),
                        scale,
                        None,
                    )
                    .map_err(|e| fail(&e))?;
                    let rho = measurement.map(&sens.l2).map_err(|e| fail(&e))?;
                    (rho <= allowed).then_some((None, rho, Calibrated::Gaussian(measurement)))
                }
                _ => {
                    let measurement = make_laplace(
                        VectorDomain::new(AtomDomain::<i64>::default()),
                        L1Distance::<i64>::default(),
                        scale,
                        None,
                    )
                    .map_err(|e| fail(&e))?;
                    let epsilon = measurement.map(&sens.l1).map_err(|e| fail(&e))?;
                    if epsilon <= allowed {
                        let rho = make_pureDP_to_zCDP(measurement.clone())
                            .and_then(|z| z.map(&sens.l1))
                            .map_err(|e| fail(&e))?;
                        Some((Some(epsilon), rho, Calibrated::Laplace(measurement)))
                    } else {
                        None
                    }
                }
            };
            if let Some((epsilon, rho, measurement)) = plan {
                return Ok(MeasurePlan {
                    name: name.to_string(),
                    kind,
                    mechanism,
                    sensitivity,
                    allowed,
                    epsilon,
                    rho,
                    scale,
                    measurement,
                });
            }
            scale = scale.next_up();
        }
        Err(fail(&"could not calibrate the noise scale to the allowed privacy loss"))
    }

    /// Whether the measure is accounted in zCDP (ρ) rather than pure DP (ε).
    pub fn is_zcdp(&self) -> bool {
        matches!(self.measurement, Calibrated::Gaussian(_))
    }

    /// The opendp Laplace measurement, if the measure uses discrete Laplace noise.
    pub fn laplace(&self) -> Option<&LaplaceMeasurement> {
        match &self.measurement {
            Calibrated::Laplace(m) => Some(m),
            Calibrated::Gaussian(_) => None,
        }
    }

    /// The opendp Gaussian measurement, if the measure uses discrete Gaussian noise.
    pub fn gaussian(&self) -> Option<&GaussianMeasurement> {
        match &self.measurement {
            Calibrated::Gaussian(m) => Some(m),
            Calibrated::Laplace(_) => None,
        }
    }

    /// Adds the mechanism's noise to `exact`, through the very opendp measurement whose privacy
    /// map gave the reported loss (opendp's exact samplers, OS-seeded secure randomness).
    pub fn sample(&self, exact: &[i64]) -> Result<Vec<i64>, PrivacyError> {
        let input = exact.to_vec();
        match &self.measurement {
            Calibrated::Laplace(m) => m.invoke(&input),
            Calibrated::Gaussian(m) => m.invoke(&input),
        }
        .map_err(|e| PrivacyError::mechanism(&self.name, e))
    }

    /// Standard deviation of the noise. Discrete Laplace: `sqrt(2a) / (1 - a)` with
    /// `a = exp(-1/scale)`. Discrete Gaussian: the square root of its variance, summed
    /// exactly for σ < 8 (it is below σ²; Canonne, Kamath & Steinke 2020, Proposition 19) and
    /// σ itself above, where the two differ by less than 10^-300 relative.
    pub fn noise_sd(&self) -> f64 {
        match self.measurement {
            Calibrated::Laplace(_) => {
                let a = (-1.0 / self.scale).exp();
                (2.0 * a).sqrt() / (1.0 - a)
            }
            Calibrated::Gaussian(_) => discrete_gaussian_sd(self.scale),
        }
    }

    /// Half-width `h` of the 95 % interval: the smallest integer with `P(|noise| > h) ≤ 0.05`,
    /// from opendp's `discrete_laplacian_scale_to_accuracy` or
    /// `discrete_gaussian_scale_to_accuracy` (both give `acc` with `P(|noise| ≥ acc) ≤ α`, so
    /// `h = ceil(acc) - 1`). opendp sums the discrete Gaussian's mass point by point, which takes
    /// seconds for the σ of sums in cents; above σ = [`DG_EXACT_SIGMA`] the half-width is the
    /// continuous Gaussian's (opendp's `gaussian_scale_to_accuracy`) rounded up, which still
    /// covers: `P(|X| > h) = 2 Σ_{x>h} e^{-x²/2σ²} / Z ≤ 2 ∫_h^∞ e^{-t²/2σ²} dt / (σ√(2π))`,
    /// as `Z ≥ σ√(2π)` (Poisson summation), and is at most one unit above the smallest.
    pub fn ci95_half_width(&self) -> i64 {
        let acc = match self.measurement {
            Calibrated::Laplace(_) => opendp::accuracy::discrete_laplacian_scale_to_accuracy(self.scale, 0.05),
            Calibrated::Gaussian(_) if self.scale > DG_EXACT_SIGMA => {
                opendp::accuracy::gaussian_scale_to_accuracy(self.scale, 0.05).map(|a| a.next_up().ceil() + 1.0)
            }
            Calibrated::Gaussian(_) => opendp::accuracy::discrete_gaussian_scale_to_accuracy(self.scale, 0.05),
        };
        match acc {
            Ok(acc) if acc.is_finite() => (acc.ceil() as i64 - 1).max(0),
            _ => i64::MAX,
        }
    }
}

/// Above this σ, the discrete Gaussian's 95 % half-width comes from the continuous bound.
pub const DG_EXACT_SIGMA: f64 = 1000.0;

/// Standard deviation of the discrete Gaussian with parameter σ.
pub fn discrete_gaussian_sd(sigma: f64) -> f64 {
    if sigma >= 8.0 {
        return sigma;
    }
    let reach = (sigma * 40.0).ceil() as i64 + 1;
    let (mut mass, mut second) = (1.0f64, 0.0f64);
    for x in 1..=reach {
        let w = (-((x * x) as f64) / (2.0 * sigma * sigma)).exp();
        mass += 2.0 * w;
        second += 2.0 * (x * x) as f64 * w;
    }
    (second / mass).sqrt()
}

/// The smallest ε such that a ρ-zCDP release is (ε, δ)-DP, by opendp's conversion
/// (`make_zCDP_to_approxDP`, then `make_fix_delta`; Canonne, Kamath & Steinke 2020). The
/// conversion is applied to a Gaussian measurement whose privacy map gives at least `rho` at
/// distance 1, so the ε reported is never below the exact conversion of `rho`.
pub fn epsilon_at_delta(rho: f64, delta: f64) -> Result<f64, PrivacyError> {
    let fail = |e: &dyn std::fmt::Debug| PrivacyError::mechanism("(ε, δ) conversion", e);
    if rho <= 0.0 {
        return Ok(0.0);
    }
    let mut scale = 1.0 / (2.0 * rho).sqrt();
    for _ in 0..64 {
        let m: GaussianMeasurement =
            make_gaussian(VectorDomain::new(AtomDomain::<i64>::default()), L2Distance::<f64>::default(), scale, None)
                .map_err(|e| fail(&e))?;
        if m.map(&1.0).map_err(|e| fail(&e))? >= rho {
            let approx =
                make_fix_delta(&make_zCDP_to_approxDP(m).map_err(|e| fail(&e))?, delta).map_err(|e| fail(&e))?;
            return approx.map(&1.0).map(|(eps, _)| eps).map_err(|e| fail(&e));
        }
        scale = scale.next_down();
    }
    Err(fail(&"could not match the mechanism to ρ"))
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
    /// Margins of a `dp` release.
    pub dp_margins: Option<DpMargins>,
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
    /// How the budget is counted.
    pub accounting: Accounting,
    /// The total for the period, in the accounting's unit (ε or ρ).
    pub total: f64,
    /// δ at which (ε, δ) is reported for zCDP spend.
    pub delta: Option<f64>,
}

/// How a dataset's budget is counted across releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accounting {
    /// Pure ε-DP: the ε of the releases add (basic composition; Dwork & Roth 2014, Theorem
    /// 3.16). Only pure-DP mechanisms may spend from such a budget.
    PureDp,
    /// ρ-zCDP: the ρ of the releases add (Bun & Steinke 2016, Lemma 2.3); pure-DP releases
    /// count as ρ = ε²/2 per measure (opendp's `make_pureDP_to_zCDP`).
    Zcdp,
}

impl Accounting {
    /// The parameter's name: `epsilon` or `rho`.
    pub fn unit(self) -> &'static str {
        match self {
            Accounting::PureDp => "epsilon",
            Accounting::Zcdp => "rho",
        }
    }

    /// The parameter's symbol for messages.
    pub fn symbol(self) -> &'static str {
        match self {
            Accounting::PureDp => "ε",
            Accounting::Zcdp => "ρ",
        }
    }
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

/// The margins of a `dp` release: noisy totals, optionally made consistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpMargins {
    /// The margins.
    pub margins: Margins,
    /// Whether the noisy cube is made consistent by least squares.
    pub consistent: bool,
    /// Whether consistent counts are rounded to whole numbers (else to hundredths).
    pub integer: bool,
    /// The most cube cells one inner cell is added into (multiplies the sensitivity).
    pub fanout: u64,
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

    /// Number of released cells: the inner cells, and with `dp` margins every total too.
    pub fn n_output_cells(&self) -> usize {
        match &self.dp_margins {
            Some(dm) => self
                .dimension_names
                .iter()
                .zip(&self.mapper.dimensions)
                .map(|(name, spec)| crate::sdc::tabulate::dimension_with_margins(name, spec, &dm.margins).0.len())
                .product(),
            None => self.n_cells(),
        }
    }

    /// Every measure's name and kind, in output order, whatever the mode.
    pub fn measure_kinds(&self) -> Vec<(String, MeasureKind)> {
        match &self.sdc {
            Some(s) => s.measures.clone(),
            None => self.measures.iter().map(|m| (m.name.clone(), m.kind)).collect(),
        }
    }

    /// Total ε of the release under basic sequential composition of its measures (pure DP:
    /// the ε add; Dwork & Roth 2014, Theorem 3.16); `None` when a measure is only zCDP.
    pub fn total_epsilon(&self) -> Option<f64> {
        self.measures.iter().map(|m| m.epsilon).sum()
    }

    /// Total ρ of the release: the measures' ρ add under zCDP composition (Bun & Steinke 2016,
    /// Lemma 2.3), pure-DP measures converted first.
    pub fn total_rho(&self) -> f64 {
        self.measures.iter().map(|m| m.rho).sum()
    }

    /// What the release spends in its budget's unit (`None` without a budget, or when a zCDP
    /// measure would spend from a pure-ε budget, which validation refuses).
    pub fn cost(&self) -> Option<f64> {
        match self.budget.as_ref()?.accounting {
            Accounting::PureDp => self.total_epsilon(),
            Accounting::Zcdp => Some(self.total_rho()),
        }
    }
}
