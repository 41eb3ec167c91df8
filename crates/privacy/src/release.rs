//! Protection: from an exact bounded table to a [`ProtectedRelease`], the only type that
//! `cellguard-publish` accepts. Its fields are private and it has no public constructor, so a
//! raw table cannot be published by construction.

use crate::consistent::{self, Axis};
use crate::error::{PrivacyError, PrivacyErrorKind};
use crate::keys::{KeyDimension, ReleaseKeys};
use crate::noise::NoiseSource;
use crate::plan::MeasurePlan;
use crate::plan::{ContributionBounds, MeasureKind, ReleasePlan, SdcPlan};
use crate::policy::{GuaranteeMode, Mechanism, UnitOfPrivacy};
use crate::sdc::hier::{Constraint, DimTree, HierTable, Relation};
use crate::sdc::suppress::Secondary;
use crate::sdc::tabulate::dimension_with_margins;
use crate::sdc::{
    primary_suppression, secondary_suppression, zero_full_suppression, Cubes, MeasureTable, SdcStatus, SdcTable,
    SumWithTop,
};
use crate::table::{BoundedTable, BoundingStats};

/// The status of one published value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CellStatus {
    /// The noisy value is published.
    Published,
    /// Suppressed because the cell's noisy threshold count is below the policy's minimum.
    SuppressedNoisyThreshold,
    /// Suppressed: fewer contributing units than the minimum (primary).
    SuppressedPrimaryFrequency,
    /// Suppressed: a sum dominated by its largest contributors (primary).
    SuppressedPrimaryDominance,
    /// Suppressed: the p % rule (primary).
    SuppressedPrimaryPPercent,
    /// Suppressed: the cell holds all (or none) of its group's units (primary).
    SuppressedPrimaryZeroFull,
    /// Suppressed to protect primary cells (secondary).
    SuppressedSecondary,
    /// Suppressed by SDC, reason not published.
    Suppressed,
}

impl CellStatus {
    /// The stable code written to outputs.
    pub fn code(self) -> &'static str {
        match self {
            CellStatus::Published => "published",
            CellStatus::SuppressedNoisyThreshold => "suppressed_noisy_threshold",
            CellStatus::SuppressedPrimaryFrequency => "suppressed_primary_frequency",
            CellStatus::SuppressedPrimaryDominance => "suppressed_primary_dominance",
            CellStatus::SuppressedPrimaryPPercent => "suppressed_primary_p_percent",
            CellStatus::SuppressedPrimaryZeroFull => "suppressed_primary_zero_full",
            CellStatus::SuppressedSecondary => "suppressed_secondary",
            CellStatus::Suppressed => "suppressed",
        }
    }

    /// Every status, in output order.
    pub const ALL: [CellStatus; 8] = [
        CellStatus::Published,
        CellStatus::SuppressedNoisyThreshold,
        CellStatus::SuppressedPrimaryFrequency,
        CellStatus::SuppressedPrimaryDominance,
        CellStatus::SuppressedPrimaryPPercent,
        CellStatus::SuppressedPrimaryZeroFull,
        CellStatus::SuppressedSecondary,
        CellStatus::Suppressed,
    ];
}

/// Public facts about one released measure.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureInfo {
    /// Name.
    pub name: String,
    /// Kind (`count-units`, `count-records`, `sum`).
    pub kind: &'static str,
    /// Decimal places of the exact units the mechanism works in (2 for euros in cents).
    pub decimals: u32,
    /// Further decimal places of published values beyond the exact units (2 for the counts
    /// of a consistent release, else 0): a value `v` means `v · 10^-(decimals + precision)`.
    pub precision: u32,
    /// The noise of a `dp` release; `None` for exact (`sdc`) values.
    pub noise: Option<NoiseInfo>,
    /// Whether true values are known to be non-negative (the interval is cut at 0).
    pub non_negative: bool,
    /// Whether negative noisy values were published as 0 (post-processing).
    pub negative_as_zero: bool,
}

/// The calibrated noise of one measure.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseInfo {
    /// ε spent, as opendp's privacy map reports it (pure-DP mechanisms).
    pub epsilon: Option<f64>,
    /// ρ spent: opendp's zCDP map, or the pure ε converted by opendp (ε²/2).
    pub rho: f64,
    /// The loss the policy allowed (ε for pure DP, ρ for zCDP).
    pub allowed: f64,
    /// Sensitivity in exact units, in the mechanism's metric (L1 for discrete Laplace, L2 for
    /// discrete Gaussian).
    pub sensitivity: f64,
    /// Noise scale in exact units (discrete Laplace scale, or discrete Gaussian σ).
    pub noise_scale: f64,
    /// Noise standard deviation in exact units.
    pub noise_sd: f64,
    /// 95 % interval half-width in exact units.
    pub ci95_half_width: i64,
}

/// What SDC did, for the manifest and report.
#[derive(Debug, Clone, PartialEq)]
pub struct SdcSummary {
    /// Minimum contributing units.
    pub min_units: u64,
    /// Pre-aggregated data: the field whose largest row value counts a cell's contributors.
    pub contributors_field: Option<String>,
    /// Pre-aggregated data: the field counting businesses, and the fewest per published cell.
    pub businesses: Option<(String, u64)>,
    /// The 0 % / 100 % rule: its dimensions and whether zeros count.
    pub zero_full: Option<(Vec<String>, bool)>,
    /// Dominance rule.
    pub dominance: Option<(u32, f64)>,
    /// p % rule.
    pub p_percent: Option<f64>,
    /// Protection ratio required of primary cells.
    pub protection_ratio: f64,
    /// Whether secondary suppression ran.
    pub secondary: bool,
    /// Whether suppressed cells show their reason.
    pub reasons_published: bool,
    /// Rounds of the audit loop.
    pub rounds: usize,
    /// Primary cells.
    pub primary_cells: u64,
    /// Secondary cells.
    pub secondary_cells: u64,
    /// Sum of the first measure's values in secondary cells (information lost).
    pub secondary_value: f64,
    /// The smallest protection achieved among primary cells, as a fraction of the value
    /// (distance to the nearer interval end divided by the value); infinite with no primaries.
    pub min_protection: f64,
}

/// A release that passed every protection step. Only this crate can construct one.
#[derive(Debug, Clone)]
pub struct ProtectedRelease {
    name: String,
    description: String,
    unit_of_privacy: UnitOfPrivacy,
    mode: GuaranteeMode,
    mechanism: Option<Mechanism>,
    keys: ReleaseKeys,
    measures: Vec<MeasureInfo>,
    values: Vec<Vec<Option<i64>>>,
    /// Per measure, when the noise differs by cell (consistent totals): each cell's noise
    /// standard deviation in exact units and 95 % half-width in published units.
    cell_noise: Vec<Option<Vec<(f64, i64)>>>,
    status: Vec<Vec<CellStatus>>,
    threshold: Option<(String, i64)>,
    sdc: Option<SdcSummary>,
    trees: Option<Vec<DimTree>>,
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
/// with scale `Δ₁ / ε` (Ghosh, Roughgarden & Sundararajan 2012; Canonne, Kamath & Steinke
/// 2020), so it is ε-DP, or by opendp's discrete Gaussian mechanism with σ = `Δ₂ / √(2ρ)`
/// (Canonne, Kamath & Steinke 2020), so it is ρ-zCDP, with respect to adding or removing one
/// unit of privacy, whose influence the bounding limits to the sensitivity. The measures
/// compose to the sum of their ε (or ρ). The threshold only looks at noisy values, so it is
/// post-processing and costs nothing.
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
    let Some(threshold) = plan.threshold else {
        return Err(mismatch("the plan has no noisy threshold (not a dp plan)"));
    };
    // With margins, each measure's released vector is the whole cube (inner cells and every
    // total), whose sensitivity the plan multiplied by the fan-out.
    let cube = plan.dp_margins.as_ref().map(|dm| {
        let (trees, keys): (Vec<DimTree>, Vec<KeyDimension>) = plan
            .dimension_names
            .iter()
            .zip(&plan.mapper.dimensions)
            .map(|(name, spec)| dimension_with_margins(name, spec, &dm.margins))
            .unzip();
        let axes: Vec<Axis> = trees.iter().map(Axis::new).collect();
        (trees, keys, axes, dm.consistent.then_some(dm.integer))
    });
    let mut noisy: Vec<Vec<i64>> = Vec::with_capacity(plan.measures.len());
    let mut infos = Vec::with_capacity(plan.measures.len());
    let mut cell_noise = Vec::with_capacity(plan.measures.len());
    for m in &plan.measures {
        let (decimals, kind, non_negative) = measure_units(m.kind);
        let exact = exact_vector(m.kind, &table, cube.as_ref().map(|c| c.2.as_slice()))?;
        let mut out = noise.perturb(m, &exact)?;
        if out.len() != exact.len() {
            return Err(PrivacyError::mechanism(&m.name, "the noise source returned a vector of the wrong length"));
        }
        // Post-processing of the noisy values only: no privacy cost.
        let negative_as_zero = plan.negative_as_zero && non_negative;
        let mut precision = 0;
        match &cube {
            Some((_, _, axes, Some(integer))) => {
                // Counts get two decimals (unless asked for whole numbers) so that rounding the
                // fitted cells moves no total by more than half a hundredth per inner cell;
                // sums are already in cents.
                precision = if decimals == 0 && !*integer { 2 } else { 0 };
                let (fitted, per_cell) = consistent_values(m, axes, &out, negative_as_zero, precision);
                out = fitted;
                cell_noise.push(Some(per_cell));
            }
            _ => {
                if negative_as_zero {
                    for v in &mut out {
                        *v = (*v).max(0);
                    }
                }
                cell_noise.push(None);
            }
        }
        noisy.push(out);
        infos.push(MeasureInfo {
            name: m.name.clone(),
            kind,
            decimals,
            precision,
            noise: Some(NoiseInfo {
                epsilon: m.epsilon,
                rho: m.rho,
                allowed: m.allowed,
                sensitivity: m.sensitivity,
                noise_scale: m.scale,
                noise_sd: m.noise_sd(),
                ci95_half_width: m.ci95_half_width(),
            }),
            non_negative,
            negative_as_zero,
        });
    }
    let gate = &noisy[threshold.measure];
    let min = threshold.min.saturating_mul(10i64.pow(infos[threshold.measure].precision));
    let cell_status: Vec<CellStatus> =
        gate.iter()
            // `min = 0` suppresses nothing, negative noisy counts included.
            .map(|v| {
                if threshold.min > 0 && *v < min {
                    CellStatus::SuppressedNoisyThreshold
                } else {
                    CellStatus::Published
                }
            })
            .collect();
    let values = published_only(noisy, &cell_status);
    let (keys, trees) = match cube {
        Some((trees, keys, _, _)) => (ReleaseKeys::from_dimensions(keys), Some(trees)),
        None => (ReleaseKeys::new(&plan.dimension_names, &plan.mapper.dimensions), None),
    };
    Ok(ProtectedRelease {
        name: plan.name.clone(),
        description: plan.description.clone(),
        unit_of_privacy: plan.unit_of_privacy,
        mode: plan.mode,
        mechanism: plan.mechanism,
        keys,
        measures: infos,
        status: vec![cell_status; plan.measures.len()],
        values,
        cell_noise,
        threshold: Some((plan.measures[threshold.measure].name.clone(), threshold.min)),
        sdc: None,
        trees,
        bounds: plan.bounds,
        bounding: table.stats(),
        noise_secure: noise.is_secure(),
    })
}

/// A measure's decimals in exact units, its kind's name, and whether it cannot be negative.
fn measure_units(kind: MeasureKind) -> (u32, &'static str, bool) {
    match kind {
        MeasureKind::CountUnits => (0, "count-units", true),
        MeasureKind::CountRecords => (0, "count-records", true),
        MeasureKind::Sum { lower, scale, .. } => (scale, "sum", lower >= 0),
    }
}

/// The exact values a `dp` release adds noise to: the inner cells, or with margins (`axes`)
/// every cell of the cube, each total the sum of its inner cells.
fn exact_vector(kind: MeasureKind, table: &BoundedTable, axes: Option<&[Axis]>) -> Result<Vec<i64>, PrivacyError> {
    let inner: Vec<i64> = match kind {
        MeasureKind::CountUnits => table.units().iter().map(|v| *v as i64).collect(),
        MeasureKind::CountRecords => table.records().iter().map(|v| *v as i64).collect(),
        MeasureKind::Sum { value_slot, lower, upper, .. } => {
            match table.clamps[value_slot] {
                Some(c) if c.lower == lower && c.upper == upper => {}
                _ => return Err(mismatch("different clamping bounds")),
            }
            table.sums(value_slot).to_vec()
        }
    };
    Ok(match axes {
        Some(axes) => consistent::aggregate(axes, &inner),
        None => inner,
    })
}

/// Secondary suppression from `start` (when `secondary`), then the audit: every primary cell
/// must be proven protected, by a hypercube certificate or by the exact LP interval, in every
/// measure table. Suppressing more cells only widens intervals, so the proofs made during
/// secondary suppression hold for the final pattern; without secondary suppression the
/// pattern is audited here. Returns the final pattern and the primary cells left unprotected.
fn suppress_and_audit(
    hier: &HierTable,
    start: &[SdcStatus],
    tables: &[MeasureTable<'_>],
    cost: &[f64],
    secondary: bool,
) -> (Secondary, std::collections::BTreeSet<usize>) {
    if secondary {
        let outcome = secondary_suppression(hier, start, tables, cost);
        let unprotected = outcome.unprotected.iter().copied().collect();
        return (outcome, unprotected);
    }
    let constraints = hier.constraints();
    let hidden: Vec<bool> = start.iter().map(|s| s.is_suppressed()).collect();
    let cubes = Cubes::new(hier, &constraints, tables);
    let targets: Vec<usize> =
        (0..start.len()).filter(|c| start[*c].is_primary() && !cubes.certified(*c, tables, &hidden)).collect();
    let mut bad = std::collections::BTreeSet::new();
    for t in tables {
        for (cell, ok) in targets.iter().zip(t.audit(&targets, &hidden, &constraints)) {
            if !ok {
                bad.insert(*cell);
            }
        }
    }
    (Secondary { status: start.to_vec(), unprotected: Vec::new(), rounds: 0 }, bad)
}

/// The refusal of a release whose audit left primary cells unprotected, naming the first ten
/// by their codes (public key-set codes, never values).
fn refuse_unprotected(keys: &ReleaseKeys, unprotected: &std::collections::BTreeSet<usize>) -> PrivacyError {
    let mut coords = Vec::new();
    let names: Vec<String> = unprotected
        .iter()
        .take(10)
        .map(|cell| {
            keys.coordinates(*cell, &mut coords);
            keys.dimensions().iter().zip(&coords).map(|(d, i)| d.members[*i].code.clone()).collect::<Vec<_>>().join("/")
        })
        .collect();
    PrivacyError::new(PrivacyErrorKind::Refused {
        message: format!(
            "the attacker audit can narrow {} primary cell(s) to less than the required protection (first: {}); nothing was released",
            unprotected.len(),
            names.join(", ")
        ),
    })
}

/// The primary rules' statuses of every cell of `table`, the 0 % / 100 % rule included.
fn primary_statuses(sdc: &SdcPlan, table: &SdcTable) -> Vec<SdcStatus> {
    let sum_tops: Vec<Vec<SumWithTop>> = sdc
        .measures
        .iter()
        .filter_map(|(_, kind)| match kind {
            MeasureKind::Sum { value_slot, .. } => Some(table.sums[*value_slot].clone()),
            _ => None,
        })
        .collect();
    let mut primary = primary_suppression(&table.units, &sum_tops, &table.sums, &sdc.rules);
    if let Some((dims, zero)) = &sdc.zero_full {
        zero_full_suppression(&table.hier, &table.units, dims, *zero, &mut primary);
    }
    primary
}

/// The SDC summary of a release: the plan's rules and what suppression did.
fn sdc_summary(plan: &ReleasePlan, sdc: &SdcPlan, counts: SdcCounts) -> SdcSummary {
    SdcSummary {
        min_units: sdc.rules.min_units,
        contributors_field: sdc.rules.contributors_slot.and_then(|s| plan.mapper.value_fields.get(s).cloned()),
        zero_full: sdc
            .zero_full
            .as_ref()
            .map(|(dims, zero)| (dims.iter().filter_map(|d| plan.dimension_names.get(*d).cloned()).collect(), *zero)),
        businesses: sdc.rules.businesses.and_then(|(s, min)| plan.mapper.value_fields.get(s).map(|f| (f.clone(), min))),
        dominance: sdc.rules.dominance,
        p_percent: sdc.rules.p_percent,
        protection_ratio: sdc.protection.ratio,
        secondary: sdc.secondary,
        reasons_published: sdc.publish_reasons,
        rounds: counts.rounds,
        primary_cells: counts.primary,
        secondary_cells: counts.secondary,
        secondary_value: counts.secondary_value,
        // Only a release whose every primary cell passed the audit is built.
        min_protection: sdc.protection.ratio,
    }
}

/// What suppression did, for [`sdc_summary`].
struct SdcCounts {
    rounds: usize,
    primary: u64,
    secondary: u64,
    secondary_value: f64,
}

/// Publishes secondary cells that the published table already pins at 0: a child of a
/// published total that is 0 in every measure is 0 itself, as every measure is non-negative
/// (and a distinct count is at least each part); so is a total whose parts are all published
/// and 0 in every measure (a total is at most the sum of its parts). Publishing a value an attacker can derive
/// exactly changes no attacker interval, so the audit's verdicts stand; it only stops the
/// release from hiding zeros that are no secret (which `cellguard audit DIR`, not knowing which
/// cells are primary, would flag). Repeated until nothing changes, as a newly published zero
/// can be the total of further cells. Primary cells are never touched.
fn publish_pinned_zeros(constraints: &[Constraint], values: &[Vec<f64>], status: &mut [SdcStatus]) {
    let zero = |cell: usize| values.iter().all(|v| v[cell] == 0.0);
    loop {
        let mut changed = false;
        for c in constraints {
            if status[c.parent] == SdcStatus::Secondary
                && zero(c.parent)
                && c.children.iter().all(|ch| !status[*ch].is_suppressed() && zero(*ch))
            {
                status[c.parent] = SdcStatus::Published;
                changed = true;
            }
            if status[c.parent].is_suppressed() || !zero(c.parent) {
                continue;
            }
            for &child in &c.children {
                if status[child] == SdcStatus::Secondary && zero(child) {
                    status[child] = SdcStatus::Published;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// The consistent cube from a noisy one: the least-squares fit of the inner cells (cut at 0
/// if asked), rounded to `10^-precision` exact units, and every total as the sum of its
/// rounded parts — so the published values add up exactly. Returns the values (in units of
/// `10^-precision` exact units) and, per cell, the standard deviation of its error in exact
/// units and the half-width of its 95 % interval in published units.
///
/// The error of a fitted cell is a fixed linear combination of the cube's independent noises,
/// with variance `σ²·f` (`f` from [`consistent::variance_factors`]), plus the rounding of the
/// `c` inner cells it adds up (each within half a published unit — a hundredth, a whole count
/// or a cent: variance `c/12` units², treated as independent). The interval is `z` standard deviations: `z = 1.96` for the
/// discrete Gaussian (a sum of Gaussians is Gaussian), and for discrete Laplace noise the
/// ratio of a single Laplace variable's 95 % point to its standard deviation, `ln(20)/√2 ≈
/// 2.118`, since a weighted sum of Laplace variables has lighter tails than one of them; a
/// statistical test checks the coverage.
fn consistent_values(
    m: &MeasurePlan,
    axes: &[Axis],
    noisy: &[i64],
    negative_as_zero: bool,
    precision: u32,
) -> (Vec<i64>, Vec<(f64, i64)>) {
    let unit = 10f64.powi(precision as i32);
    let mut fit = consistent::least_squares(axes, noisy);
    if negative_as_zero {
        for v in &mut fit {
            *v = v.max(0.0);
        }
    }
    let rounded: Vec<i64> = fit.iter().map(|v| (v * unit).round() as i64).collect();
    let values = consistent::aggregate(axes, &rounded);
    let z = match m.mechanism {
        Mechanism::DiscreteGaussian => 1.959_963_984_540_054,
        _ => 20f64.ln() / std::f64::consts::SQRT_2,
    };
    let sd = m.noise_sd();
    let per_cell = consistent::variance_factors(axes)
        .iter()
        .zip(consistent::leaf_counts(axes))
        .map(|(f, c)| {
            let var_published = sd * sd * f * unit * unit + c as f64 / 12.0;
            let sd_published = var_published.sqrt();
            (sd_published / unit, (z * sd_published).ceil() as i64)
        })
        .collect();
    (values, per_cell)
}

/// Keeps each measure's values of published cells; suppressed cells become `None`, so no
/// suppressed value is ever carried into the protected release.
fn published_only(values: Vec<Vec<i64>>, status: &[CellStatus]) -> Vec<Vec<Option<i64>>> {
    values
        .into_iter()
        .map(|vals| vals.into_iter().zip(status).map(|(v, s)| (*s == CellStatus::Published).then_some(v)).collect())
        .collect()
}

fn sdc_status(s: SdcStatus) -> CellStatus {
    match s {
        SdcStatus::Published => CellStatus::Published,
        SdcStatus::PrimaryFrequency => CellStatus::SuppressedPrimaryFrequency,
        SdcStatus::PrimaryDominance => CellStatus::SuppressedPrimaryDominance,
        SdcStatus::PrimaryPPercent => CellStatus::SuppressedPrimaryPPercent,
        SdcStatus::PrimaryZeroFull => CellStatus::SuppressedPrimaryZeroFull,
        SdcStatus::Secondary => CellStatus::SuppressedSecondary,
    }
}

/// Protects an exact table with margins by statistical disclosure control: primary
/// suppression, secondary suppression (when the policy asks) and a final attacker audit of
/// every primary cell in every measure's table.
///
/// The audit models what the published table tells an attacker: the published values, each
/// constraint (sums add up; distinct counts add up where the data shows no unit in two
/// children, and are bounded otherwise), non-negativity, and the published reason codes (a
/// cell marked `suppressed_primary_frequency` holds between 1 and `min_units_per_cell − 1`
/// units). The release is refused if any primary cell can be narrowed to less than its
/// required protection.
pub fn protect_sdc(plan: &ReleasePlan, table: SdcTable) -> Result<ProtectedRelease, PrivacyError> {
    let Some(sdc) = &plan.sdc else {
        return Err(mismatch("the plan has no SDC rules (not an sdc plan)"));
    };
    let n = table.hier.n_cells();
    let values: Vec<Vec<f64>> = sdc
        .measures
        .iter()
        .map(|(_, kind)| match kind {
            MeasureKind::CountUnits => table.units.iter().map(|v| *v as f64).collect(),
            MeasureKind::CountRecords => table.records.iter().map(|v| *v as f64).collect(),
            MeasureKind::Sum { value_slot, .. } => table.sums[*value_slot].iter().map(|s| s.total as f64).collect(),
        })
        .collect();
    let primary = primary_statuses(sdc, &table);
    let zeros: Vec<bool> = primary.iter().map(|s| *s == SdcStatus::PrimaryZeroFull).collect();
    let constraints = table.hier.constraints();
    let equal = vec![Relation::Equal; constraints.len()];
    // A published frequency reason tells the attacker the count is between 1 and min − 1; the
    // audit assumes exactly that knowledge when reasons are published.
    let min = sdc.rules.min_units as f64;
    let known: Vec<(f64, f64)> = primary
        .iter()
        .map(|s| if *s == SdcStatus::PrimaryFrequency { (1.0, (min - 1.0).max(1.0)) } else { (0.0, f64::INFINITY) })
        .collect();
    let known_if_published = sdc.publish_reasons.then_some(known.as_slice());
    let tables: Vec<MeasureTable<'_>> = sdc
        .measures
        .iter()
        .zip(&values)
        .map(|((_, kind), v)| MeasureTable {
            values: v,
            relations: if *kind == MeasureKind::CountUnits { &table.unit_relations } else { &equal },
            protection: sdc.protection,
            known: known_if_published.filter(|_| *kind == MeasureKind::CountUnits),
            // A suppressed zero (0 % rule) is protected in the unit count.
            protect_zero: (*kind == MeasureKind::CountUnits).then_some(zeros.as_slice()),
        })
        .collect();
    let cost: Vec<f64> = table.units.iter().map(|u| *u as f64).collect();
    let (mut outcome, unprotected) = suppress_and_audit(&table.hier, &primary, &tables, &cost, sdc.secondary);
    let keys = ReleaseKeys::from_dimensions(table.keys.clone());
    if !unprotected.is_empty() {
        return Err(refuse_unprotected(&keys, &unprotected));
    }
    publish_pinned_zeros(&constraints, &values, &mut outcome.status);
    let status: Vec<CellStatus> = outcome
        .status
        .iter()
        .map(|s| if sdc.publish_reasons || !s.is_suppressed() { sdc_status(*s) } else { CellStatus::Suppressed })
        .collect();
    let count = |f: fn(&SdcStatus) -> bool| outcome.status.iter().filter(|s| f(s)).count() as u64;
    // In the first measure's units (sums are kept in units of their last decimal).
    let unit = match sdc.measures.first() {
        Some((_, MeasureKind::Sum { scale, .. })) => 10f64.powi(-(*scale as i32)),
        _ => 1.0,
    };
    let secondary_value: f64 = (0..n)
        .filter(|c| outcome.status[*c] == SdcStatus::Secondary)
        .map(|c| values.first().map_or(0.0, |v| v[c]))
        .fold(0.0, |a, b| a + b)
        * unit;
    let infos: Vec<MeasureInfo> = sdc
        .measures
        .iter()
        .map(|(name, kind)| {
            let (decimals, kind_name, non_negative) = measure_units(*kind);
            MeasureInfo {
                name: name.clone(),
                kind: kind_name,
                decimals,
                precision: 0,
                noise: None,
                non_negative,
                negative_as_zero: false,
            }
        })
        .collect();
    let exact: Vec<Vec<i64>> = sdc
        .measures
        .iter()
        .map(|(_, kind)| match kind {
            MeasureKind::CountUnits => table.units.iter().map(|v| *v as i64).collect(),
            MeasureKind::CountRecords => table.records.iter().map(|v| *v as i64).collect(),
            MeasureKind::Sum { value_slot, .. } => table.sums[*value_slot].iter().map(|s| s.total).collect(),
        })
        .collect();
    let published = published_only(exact, &status);
    Ok(ProtectedRelease {
        name: plan.name.clone(),
        description: plan.description.clone(),
        unit_of_privacy: plan.unit_of_privacy,
        mode: plan.mode,
        mechanism: None,
        keys,
        measures: infos,
        status: vec![status; sdc.measures.len()],
        values: published,
        cell_noise: Vec::new(),
        threshold: None,
        sdc: Some(sdc_summary(
            plan,
            sdc,
            SdcCounts {
                rounds: outcome.rounds,
                primary: count(|s| s.is_primary()),
                secondary: count(|s| *s == SdcStatus::Secondary),
                secondary_value,
            },
        )),
        trees: Some(table.hier.dims().to_vec()),
        bounds: plan.bounds,
        bounding: table.stats,
        noise_secure: true,
    })
}

/// Protects a table by differential privacy with the SDC rules as an extra gate (`dp+sdc`):
/// the noisy release of [`protect`], in which every cell that the SDC rules suppress is
/// suppressed too.
///
/// The gate is a function of the exact data alone, decided before any noise is drawn: it
/// applies the primary rules to the exact, bounded table with margins (`sdc_table`: distinct
/// contributors per cell, the largest contributions of each sum), then secondary suppression
/// and the attacker audit of [`protect_sdc`] on the *exact* values of the cube the noise is
/// added to, every total the sum of its parts, as if every cell outside the gate were
/// published exactly. The noisy threshold hides further cells afterwards; the gate does not
/// count on them (a threshold-hidden cell tells an attacker its noisy count is small, which
/// the audit could not model), and a refused gate draws no noise.
///
/// Privacy claim: the noisy cube is ε-DP (or ρ-zCDP) exactly as in [`protect`]. The gate's
/// decisions read exact values, so *which* values are published is not covered by that claim
/// (a hidden cell tells that it, or a cell it protects, broke a rule); the gate only adds the
/// rule-based protection of the secure-environment output rules. Reasons are never published
/// in this mode (validation refuses it), and a cell that both the threshold and the gate hide
/// is marked by the threshold, whose decision reads only noisy values.
pub fn protect_dp_sdc(
    plan: &ReleasePlan,
    table: BoundedTable,
    sdc_table: SdcTable,
    noise: &mut dyn NoiseSource,
) -> Result<ProtectedRelease, PrivacyError> {
    let Some(sdc) = &plan.sdc else {
        return Err(mismatch("the plan has no SDC rules (not a dp+sdc plan)"));
    };
    if sdc.publish_reasons {
        return Err(mismatch("dp+sdc releases never publish suppression reasons"));
    }
    let axes: Option<Vec<Axis>> =
        plan.dp_margins.as_ref().map(|_| sdc_table.hier.dims().iter().map(Axis::new).collect());
    let exact: Vec<Vec<f64>> = plan
        .measures
        .iter()
        .map(|m| Ok(exact_vector(m.kind, &table, axes.as_deref())?.into_iter().map(|v| v as f64).collect()))
        .collect::<Result<_, PrivacyError>>()?;
    let n = sdc_table.hier.n_cells();
    if exact.iter().any(|v| v.len() != n) {
        return Err(mismatch("the SDC table and the noisy cube have different cells"));
    }
    let primary = primary_statuses(sdc, &sdc_table);
    let zeros: Vec<bool> = primary.iter().map(|s| *s == SdcStatus::PrimaryZeroFull).collect();
    let equal = vec![Relation::Equal; sdc_table.hier.constraints().len()];
    let tables: Vec<MeasureTable<'_>> = plan
        .measures
        .iter()
        .zip(&exact)
        .map(|(m, v)| MeasureTable {
            values: v,
            relations: &equal,
            protection: sdc.protection,
            known: None,
            protect_zero: (m.kind == MeasureKind::CountUnits).then_some(zeros.as_slice()),
        })
        .collect();
    let cost: Vec<f64> = sdc_table.units.iter().map(|u| *u as f64).collect();
    let (outcome, unprotected) = suppress_and_audit(&sdc_table.hier, &primary, &tables, &cost, sdc.secondary);
    if !unprotected.is_empty() {
        let keys = ReleaseKeys::from_dimensions(sdc_table.keys.clone());
        return Err(refuse_unprotected(&keys, &unprotected));
    }
    // Only now the noise: the gate above never saw it.
    let mut release = protect(plan, table, noise)?;
    if release.n_cells() != n {
        return Err(mismatch("the SDC table and the noisy release have different cells"));
    }
    let noisy_hidden: Vec<bool> = release.status[0].iter().map(|s| *s != CellStatus::Published).collect();
    let status: Vec<CellStatus> = outcome
        .status
        .iter()
        .zip(&noisy_hidden)
        .map(|(s, hidden)| match (*hidden, s.is_suppressed()) {
            (true, _) => CellStatus::SuppressedNoisyThreshold,
            (false, true) => CellStatus::Suppressed,
            (false, false) => CellStatus::Published,
        })
        .collect();
    // The counts below are of cells the gate hid and the threshold did not (the rest reveal
    // nothing about the gate).
    let secondary: Vec<usize> =
        (0..n).filter(|c| outcome.status[*c] == SdcStatus::Secondary && !noisy_hidden[*c]).collect();
    // The information lost, from the *noisy* values of the first measure (an exact sum would
    // be a statistic outside the guarantee).
    let first = &release.measures[0];
    let secondary_value = secondary.iter().filter_map(|c| release.values[0][*c]).map(|v| v as f64).sum::<f64>()
        * 10f64.powi(-((first.decimals + first.precision) as i32));
    let counts = SdcCounts {
        rounds: outcome.rounds,
        primary: (0..n).filter(|c| primary[*c].is_primary() && !noisy_hidden[*c]).count() as u64,
        secondary: secondary.len() as u64,
        secondary_value,
    };
    for values in &mut release.values {
        for (v, s) in values.iter_mut().zip(&status) {
            if *s != CellStatus::Published {
                *v = None;
            }
        }
    }
    release.status = vec![status; plan.measures.len()];
    release.sdc = Some(sdc_summary(plan, sdc, counts));
    if release.trees.is_none() {
        release.trees = Some(sdc_table.hier.dims().to_vec());
    }
    Ok(release)
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
    /// The noise mechanism (`None` for `sdc`).
    pub fn mechanism(&self) -> Option<Mechanism> {
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
    /// The noise standard deviation (exact units) and 95 % half-width (published units) of
    /// measure `m` in `cell`, when they differ from the measure's own (consistent totals).
    pub fn cell_noise(&self, m: usize, cell: usize) -> Option<(f64, i64)> {
        self.cell_noise.get(m)?.as_ref().map(|v| v[cell])
    }
    /// Whether the release's noisy totals were made consistent.
    pub fn is_consistent(&self) -> bool {
        self.cell_noise.iter().any(Option::is_some)
    }
    /// The status of measure `m` in `cell`.
    pub fn status(&self, m: usize, cell: usize) -> CellStatus {
        self.status[m][cell]
    }
    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.keys.n_cells()
    }
    /// The noisy threshold: measure name and minimum (`dp` releases).
    pub fn threshold(&self) -> Option<(&str, i64)> {
        self.threshold.as_ref().map(|(m, v)| (m.as_str(), *v))
    }
    /// Each dimension's tree of members and margins (`sdc` releases), in key order.
    pub fn trees(&self) -> Option<&[DimTree]> {
        self.trees.as_deref()
    }
    /// What SDC did (`sdc` releases).
    pub fn sdc(&self) -> Option<&SdcSummary> {
        self.sdc.as_ref()
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
    /// Total ε (basic composition of the measures); `None` for a zCDP release (or `sdc`).
    pub fn total_epsilon(&self) -> Option<f64> {
        let noisy: Vec<&NoiseInfo> = self.measures.iter().filter_map(|m| m.noise.as_ref()).collect();
        if noisy.is_empty() {
            return None;
        }
        noisy.iter().map(|n| n.epsilon).sum()
    }
    /// Total ρ (zCDP composition of the measures, pure-DP ones converted to ε²/2).
    pub fn total_rho(&self) -> f64 {
        self.measures.iter().filter_map(|m| m.noise.as_ref()).map(|n| n.rho).sum()
    }
    /// Counts of values by status.
    pub fn status_counts(&self) -> Vec<(CellStatus, u64)> {
        CellStatus::ALL.iter().map(|s| (*s, self.status.iter().flatten().filter(|x| *x == s).count() as u64)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdc::hier::HierTable;

    #[test]
    fn secondary_zeros_under_a_published_zero_total_are_published() {
        // Rows a, b and their total; columns x, y and their total (cells row·3 + column).
        // Row b is empty: its total (5) is a published 0, so its suppressed cells are pinned.
        let t = HierTable::new(vec![DimTree::flat(2, true), DimTree::flat(2, true)]);
        let constraints = t.constraints();
        let values = vec![vec![3.0, 4.0, 7.0, 0.0, 0.0, 0.0, 3.0, 4.0, 7.0]];
        let mut status = vec![SdcStatus::Published; 9];
        status[0] = SdcStatus::PrimaryFrequency;
        status[1] = SdcStatus::Secondary;
        status[3] = SdcStatus::Secondary;
        status[4] = SdcStatus::Secondary;
        publish_pinned_zeros(&constraints, &values, &mut status);
        assert_eq!(status[3], SdcStatus::Published);
        assert_eq!(status[4], SdcStatus::Published);
        // Non-zero cells and primaries stay suppressed.
        assert_eq!(status[0], SdcStatus::PrimaryFrequency);
        assert_eq!(status[1], SdcStatus::Secondary);
        // A suppressed zero total pins nothing.
        let mut status = vec![SdcStatus::Published; 9];
        status[5] = SdcStatus::Secondary;
        status[3] = SdcStatus::Secondary;
        status[8] = SdcStatus::Secondary;
        status[2] = SdcStatus::Secondary;
        publish_pinned_zeros(&constraints, &[vec![3.0, 4.0, 7.0, 0.0, 1.0, 1.0, 3.0, 5.0, 8.0]], &mut status);
        assert_eq!(status[3], SdcStatus::Secondary, "its row total 1 is not 0");
    }
}
