//! `cellguard policy explain`: a plain-language account of a policy for a compliance reviewer
//! who does not program — what is released, whom it protects and what the guarantee means, how
//! accurate the numbers are, how cells are suppressed, and what the policy does not protect
//! against. Rendered as Markdown or JSON.

use std::fmt::Write;

use serde::Serialize;

use super::model::*;
use super::validate::{declared_totals, FindingKind, PolicyCheck};
use crate::plan::{ContributionBounds, MeasureKind, MeasurePlan};

/// One released measure and its expected error.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MeasureExplanation {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// What it counts, in words.
    pub meaning: String,
    /// ε spent (pure DP), if noisy.
    pub epsilon: Option<f64>,
    /// ρ spent (zCDP), if noisy.
    pub rho: Option<f64>,
    /// Sensitivity in the measure's units: L1 for discrete Laplace, L2 for discrete Gaussian.
    pub sensitivity: Option<f64>,
    /// Noise standard deviation in the measure's units.
    pub noise_sd: Option<f64>,
    /// Half-width of the 95 % interval in the measure's units: 95 % of published values are
    /// within this distance of the true (bounded) value.
    pub ci95_half_width: Option<f64>,
}

/// The explanation of a policy.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explanation {
    /// Policy name.
    pub name: String,
    /// Policy description.
    pub description: String,
    /// Guarantee mode.
    pub mode: String,
    /// Unit of privacy.
    pub unit_of_privacy: String,
    /// The dimensions, one sentence each.
    pub dimensions: Vec<String>,
    /// Number of released cells (when the classifications could be read).
    pub n_cells: Option<u64>,
    /// Whether noisy totals are made consistent (`dp` with margins).
    pub consistent_totals: bool,
    /// The measures.
    pub measures: Vec<MeasureExplanation>,
    /// The guarantee in words.
    pub guarantee: Vec<String>,
    /// The suppression rules in words.
    pub suppression: Vec<String>,
    /// What the policy does not protect against.
    pub limitations: Vec<String>,
    /// Features the policy uses that this version does not implement yet.
    pub not_supported_yet: Vec<String>,
}

fn describe_dimension(d: &DimensionSection) -> String {
    match d {
        DimensionSection::Area { name, level, classification, .. } => {
            let level = match level {
                AreaLevelName::Subarea => "sub-areas (osa-alue)",
                AreaLevelName::District => "districts (peruspiiri)",
                AreaLevelName::MajorDistrict => "major districts (suurpiiri)",
                AreaLevelName::City => "the whole city",
            };
            format!("`{name}`: Helsinki {level}, from the classification `{}`", classification.display())
        }
        DimensionSection::AgeBand { name, bands, reference_date_field, age_field, .. } => format!(
            "`{name}`: {} age bands ({}), {}; other ages are left out",
            bands.len(),
            bands.join(", "),
            match (reference_date_field, age_field) {
                (Some(r), _) => format!("age in whole years at the year of `{r}`"),
                (None, Some(a)) => format!("age as recorded in `{a}`"),
                _ => String::new(),
            }
        ),
        DimensionSection::CodeList { name, field, classification } => {
            format!("`{name}`: the codes of `{field}` listed in `{}`", classification.display())
        }
        DimensionSection::Period { name, granularity, from, to, date_field } => {
            format!("`{name}`: each {} from {from} to {to}, by `{date_field}`", granularity.name())
        }
        DimensionSection::Category { name, field, values } => {
            format!("`{name}`: {} values of `{field}` ({})", values.len(), values.join(", "))
        }
    }
}

fn unit_words(unit: UnitOfPrivacy) -> &'static str {
    match unit {
        UnitOfPrivacy::Person => "person",
        UnitOfPrivacy::ChatSession => "chat session",
        UnitOfPrivacy::LoyaltyCard => "loyalty card",
        UnitOfPrivacy::Household => "household",
        UnitOfPrivacy::None => "(none)",
    }
}

/// Builds the explanation from a checked policy. Needs the policy to have parsed; findings
/// other than `Invalid` are allowed (unsupported features are listed).
pub fn explain(check: &PolicyCheck) -> Option<Explanation> {
    let file = check.file.as_ref()?;
    let p = &file.protection;
    let unit = unit_words(file.source.unit_of_privacy);
    let bounds = file.bounds.as_ref().map(|b| ContributionBounds {
        max_cells_per_unit: b.max_cells_per_unit,
        max_records_per_cell: b.max_records_per_cell,
    });
    let n_cells = check.plan.as_ref().map(|plan| plan.n_output_cells() as u64).or_else(|| crate_cells(file, check));
    let mut measures = Vec::new();
    for m in &file.measures {
        let (epsilon, rho) = m.budget();
        let (meaning, kind, decimals) = match m {
            MeasureSection::CountUnits { .. } => {
                (format!("the number of distinct {unit}s in the cell"), Some(MeasureKind::CountUnits), 0)
            }
            MeasureSection::CountRecords { .. } => {
                ("the number of records in the cell".to_string(), Some(MeasureKind::CountRecords), 0)
            }
            MeasureSection::Sum { field, lower, upper, .. } => {
                let scale = check.plan.as_ref().and_then(|plan| {
                    plan.measures.iter().find(|x| x.name == m.name()).and_then(|x| match x.kind {
                        MeasureKind::Sum { scale, .. } => Some(scale),
                        _ => None,
                    })
                });
                let s = scale.unwrap_or(0);
                let unit_scale = 10f64.powi(s as i32);
                (
                    format!("the sum of `{field}`, each record clamped to {lower}..{upper}"),
                    Some(MeasureKind::Sum {
                        value_slot: 0,
                        lower: (lower * unit_scale).round() as i64,
                        upper: (upper * unit_scale).round() as i64,
                        scale: s,
                    }),
                    s,
                )
            }
            MeasureSection::Mean { numerator, denominator, .. } => {
                (format!("`{numerator}` divided by `{denominator}` (computed from their protected values)"), None, 0)
            }
        };
        let unit_scale = 10f64.powi(decimals as i32);
        // The resolved plan's calibration (it knows the margins' fan-out); without one, the
        // policy's own numbers.
        let resolved = check.plan.as_ref().and_then(|plan| plan.measures.iter().find(|x| x.name == m.name()).cloned());
        let calibrated = resolved.or_else(|| match (p.mode.is_dp(), p.mechanism, kind, bounds, epsilon, rho) {
            (true, Some(Mechanism::DiscreteLaplace), Some(kind), Some(b), Some(e), _) if e.is_finite() && e > 0.0 => {
                MeasurePlan::new(m.name(), kind, Mechanism::DiscreteLaplace, &b, 1, e).ok()
            }
            (true, Some(Mechanism::DiscreteGaussian), Some(kind), Some(b), _, Some(r)) if r.is_finite() && r > 0.0 => {
                MeasurePlan::new(m.name(), kind, Mechanism::DiscreteGaussian, &b, 1, r).ok()
            }
            _ => None,
        });
        measures.push(MeasureExplanation {
            name: m.name().to_string(),
            kind: m.kind().to_string(),
            meaning,
            epsilon,
            rho,
            sensitivity: calibrated.as_ref().map(|c| c.sensitivity / unit_scale),
            noise_sd: calibrated.as_ref().map(|c| c.noise_sd() / unit_scale),
            ci95_half_width: calibrated.as_ref().map(|c| c.ci95_half_width() as f64 / unit_scale),
        });
    }

    let (eps, rho) = declared_totals(file);
    let mut guarantee = Vec::new();
    if p.mode.is_dp() {
        if rho > 0.0 {
            guarantee.push(format!(
                "ρ-zero-concentrated differential privacy with total ρ = {rho} for every {unit}: a Gaussian-type guarantee that bounds the privacy loss of any one {unit} on average and in its tails."
            ));
        } else {
            guarantee.push(format!(
                "ε-differential privacy with total ε = {eps} for every {unit}. Whatever someone already knows, seeing this release changes the odds of any conclusion about whether a particular {unit}'s records are in the data by at most a factor of e^ε = {:.2}.",
                eps.exp()
            ));
        }
        if let Some(b) = &file.bounds {
            guarantee.push(format!(
                "The guarantee rests on contribution bounds: each {unit} counts in at most {} cells and with at most {} records per cell; summed values are clamped per record. Records beyond the bounds are left out, so the noise can be calibrated to what one {unit} can change.",
                b.max_cells_per_unit, b.max_records_per_cell
            ));
        }
        guarantee.push("The measures' privacy losses add up: the total above is their sum.".to_string());
    }
    if p.mode.is_sdc() {
        guarantee.push(format!(
            "Statistical disclosure control on exact values: no published cell has fewer than {} contributing {unit}s{}{}.",
            p.min_units_per_cell.map_or("(unset)".to_string(), |m| m.to_string()),
            p.dominance.as_ref().map(|d| format!("; no sum is dominated by its {} largest contributors beyond {} %", d.n, d.k)).unwrap_or_default(),
            p.p_percent.as_ref().map(|pp| format!("; no contributor's value can be estimated closer than {} % by the second largest", pp.p)).unwrap_or_default(),
        ));
        guarantee.push("This is a rule-based protection, not a mathematical guarantee: it is designed to stop small cells being read or recovered from this release, not to bound what combinations of releases reveal.".to_string());
    }
    if p.mode == GuaranteeMode::DpSdc {
        guarantee.push("The SDC rules are applied to the true counts after the noise: a suppression decision based on true counts is not covered by the differential-privacy proof.".to_string());
    }

    let mut suppression = Vec::new();
    if let Some(t) = &p.noisy_threshold {
        let h = measures.iter().find(|m| m.name == t.measure).and_then(|m| m.ci95_half_width);
        suppression.push(format!(
            "A cell is suppressed (all its measures) when its noisy `{}` is below {}. Only noisy values are looked at, so this costs no privacy.{}",
            t.measure,
            t.min,
            h.map(|h| format!(" A cell with a true count of {} or more is published at least 97.5 % of the time; empty cells are occasionally published with a small noisy count.", t.min as f64 + h)).unwrap_or_default()
        ));
    }
    if p.mode.is_sdc() {
        let provider = p.provider_counts.as_ref();
        match (p.min_units_per_cell, provider.and_then(|pc| pc.contributors_field.as_ref())) {
            (Some(m), Some(f)) => suppression.push(format!(
                "Primary suppression: cells whose largest row reports fewer than {m} `{f}` (rows may share contributors, so the largest row's count is what the cell surely has)."
            )),
            (Some(m), None) => {
                suppression.push(format!("Primary suppression: cells with fewer than {m} contributing {unit}s."))
            }
            _ => {}
        }
        if let Some((f, m)) = provider.and_then(|pc| pc.businesses_field.as_ref().zip(pc.min_businesses_per_cell)) {
            suppression.push(format!(
                "Primary suppression: cells whose largest row reports fewer than {m} `{f}` (business confidentiality)."
            ));
        }
        if let Some(d) = &p.dominance {
            suppression.push(format!(
                "Primary suppression: sums whose {} largest contributors make up more than {} % of the total.",
                d.n, d.k
            ));
        }
        if let Some(z) = &p.zero_full {
            suppression.push(format!(
                "Primary suppression: cells holding all{} of their group's {unit}s along `{}` (they would tell that every{} {unit} of the group has the cell's category).",
                if z.zero { " or none" } else { "" },
                z.dimensions.join("`, `"),
                if z.zero { " or no" } else { "" },
            ));
        }
        if let Some(pp) = &p.p_percent {
            suppression.push(format!(
                "Primary suppression: sums where the rest is less than {} % of the largest contribution (p % rule).",
                pp.p
            ));
        }
        match p.secondary_suppression {
            Some(true) => suppression.push("Secondary suppression: further cells are suppressed so that no suppressed cell can be worked out from published totals.".to_string()),
            Some(false) => suppression.push("No secondary suppression: suppressed cells may be recoverable from published totals.".to_string()),
            None => {}
        }
    }

    let mut limitations = vec![
        "Other releases of the same data: their privacy losses add up, and comparing releases with different geographies or periods can reveal more than either alone.".to_string(),
        "Groups: k related units (a family) are protected with k times the privacy loss.".to_string(),
        "Exact processing counts (rows read, rejected, bounded) in the manifest and report are not protected; they stay inside the secure environment.".to_string(),
    ];
    if file.source.unit_of_privacy == UnitOfPrivacy::ChatSession {
        limitations.push(
            "The unit is a chat session, not a person: someone who returns in several sessions is protected less."
                .to_string(),
        );
    }
    if p.mode.is_dp() {
        limitations.push(format!("Records beyond the bounds are left out: a {unit} with more records than the bounds allow is under-counted by design."));
    }
    let not_supported_yet = check
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Unsupported)
        .map(|f| format!("`{}`: {}", f.field, f.message))
        .collect();

    Some(Explanation {
        name: file.name.clone(),
        description: file.description.clone(),
        mode: p.mode.name().to_string(),
        unit_of_privacy: file.source.unit_of_privacy.name().to_string(),
        dimensions: file.dimensions.iter().map(describe_dimension).collect(),
        n_cells,
        consistent_totals: p.mode.is_dp() && file.margins.is_some() && p.consistent_totals == Some(true),
        measures,
        guarantee,
        suppression,
        limitations,
        not_supported_yet,
    })
}

/// The cell count from the dimensions alone, when the plan is not available.
fn crate_cells(file: &PolicyFile, check: &PolicyCheck) -> Option<u64> {
    let dir = check.path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    file.dimensions.iter().try_fold(1u64, |acc, d| {
        let n = match d {
            DimensionSection::Area { classification, level, unknown, .. } => {
                let c = cellguard_ingest::AreaClassification::load(&dir.join(classification)).ok()?;
                usize::from(*unknown == Some(UnknownHandling::Cell))
                    + match level {
                        AreaLevelName::Subarea => c.subareas().len(),
                        AreaLevelName::District => c.districts().len(),
                        AreaLevelName::MajorDistrict => c.major_districts().len(),
                        AreaLevelName::City => 1,
                    }
            }
            DimensionSection::AgeBand { bands, unknown, .. } => {
                bands.len() + usize::from(*unknown == Some(UnknownHandling::Cell))
            }
            DimensionSection::CodeList { classification, .. } => {
                cellguard_ingest::CodeList::load(&dir.join(classification)).ok()?.codes().len()
            }
            DimensionSection::Period { granularity, from, to, .. } => {
                cellguard_ingest::Periods::new(granularity.to_ingest(), from, to).ok()?.len()
            }
            DimensionSection::Category { values, .. } => values.len(),
        };
        acc.checked_mul(n as u64)
    })
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// Renders the explanation as Markdown.
pub fn to_markdown(e: &Explanation) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(s, "# Policy `{}`\n\n{}\n", e.name, e.description);
    let _ = writeln!(s, "## What is released\n");
    match e.n_cells {
        Some(n) => {
            let _ = writeln!(
                s,
                "{n} cells: every combination of the dimensions below, including empty ones, for each measure.\n"
            );
        }
        None => {
            let _ = writeln!(s, "Every combination of the dimensions below, including empty ones, for each measure.\n");
        }
    }
    for d in &e.dimensions {
        let _ = writeln!(s, "- {d}");
    }
    let _ = writeln!(s, "\nMeasures:\n");
    for m in &e.measures {
        let _ = writeln!(s, "- `{}` ({}): {}", m.name, m.kind, m.meaning);
    }
    let _ = writeln!(s, "\n## Whom it protects and how\n");
    let _ = writeln!(s, "Unit of privacy: **{}**. Mode: `{}`.\n", e.unit_of_privacy, e.mode);
    for g in &e.guarantee {
        let _ = writeln!(s, "- {g}");
    }
    if e.measures.iter().any(|m| m.ci95_half_width.is_some()) {
        let _ = writeln!(s, "\n## Expected error\n");
        let _ = writeln!(s, "| measure | privacy loss | sensitivity | noise sd | 95 % of values within ± |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|");
        for m in &e.measures {
            let loss = match (m.epsilon, m.rho) {
                (Some(eps), _) => format!("ε = {eps}"),
                (None, Some(rho)) => format!("ρ = {rho}"),
                (None, None) => continue,
            };
            if let (Some(sens), Some(sd), Some(h)) = (m.sensitivity, m.noise_sd, m.ci95_half_width) {
                let _ = writeln!(s, "| `{}` | {loss} | {} | {:.2} | {} |", m.name, fmt_num(sens), sd, fmt_num(h));
            }
        }
        if e.consistent_totals {
            let _ = writeln!(s, "\nThis is the noise added to every cell, inner or total. With consistent totals, the published values are a least-squares fit to all of them: every level's error is lower than this, and each cell's own is in `cells.csv`.");
        } else {
            let _ =
                writeln!(s, "\nThe error is the same for every cell, large or small: it matters most for small cells.");
        }
    }
    let _ = writeln!(s, "\n## Suppression\n");
    if e.suppression.is_empty() {
        let _ = writeln!(s, "- No suppression rule.");
    }
    for r in &e.suppression {
        let _ = writeln!(s, "- {r}");
    }
    let _ = writeln!(s, "\n## What this policy does not protect against\n");
    for l in &e.limitations {
        let _ = writeln!(s, "- {l}");
    }
    if !e.not_supported_yet.is_empty() {
        let _ = writeln!(s, "\n## Not supported yet by this version of cellguard\n");
        for n in &e.not_supported_yet {
            let _ = writeln!(s, "- {n}");
        }
    }
    s
}
