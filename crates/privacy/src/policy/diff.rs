//! `cellguard policy diff`: the privacy-relevant differences between two versions of a policy,
//! each classed as loosening, tightening or neutral, so that a review pipeline can require a
//! sign-off whenever anything loosens.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::*;
use super::validate::declared_totals;

/// How a change affects protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Less protection: needs a sign-off.
    Loosening,
    /// More protection.
    Tightening,
    /// No effect on protection (or none that can be ranked).
    Neutral,
}

impl Class {
    /// Upper-case label for text output.
    pub fn label(self) -> &'static str {
        match self {
            Class::Loosening => "LOOSENING",
            Class::Tightening => "tightening",
            Class::Neutral => "neutral",
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Loosening, tightening or neutral.
    pub class: Class,
    /// The field path (measures and dimensions by name).
    pub field: String,
    /// The old value, as text (`-` when absent).
    pub old: String,
    /// The new value, as text (`-` when absent).
    pub new: String,
    /// Why it is classed so.
    pub why: String,
}

struct Diff {
    changes: Vec<Change>,
}

fn show<T: std::fmt::Debug>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".to_string(), |v| format!("{v:?}").trim_matches('"').to_string())
}

impl Diff {
    fn push(&mut self, class: Class, field: &str, old: String, new: String, why: &str) {
        self.changes.push(Change { class, field: field.to_string(), old, new, why: why.to_string() });
    }

    /// A numeric parameter where a larger value protects less (`larger_loosens`) or more.
    fn number(&mut self, field: &str, old: Option<f64>, new: Option<f64>, larger_loosens: bool, what: &str) {
        match (old, new) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                let loosens = (b > a) == larger_loosens;
                let (class, dir) =
                    if loosens { (Class::Loosening, "loosened") } else { (Class::Tightening, "tightened") };
                self.push(class, field, a.to_string(), b.to_string(), &format!("{what} {dir}"));
            }
            (None, None) => {}
            (a, b) => {
                // A rule appearing protects more; a rule disappearing protects less.
                let class = if b.is_some() { Class::Tightening } else { Class::Loosening };
                self.push(
                    class,
                    field,
                    show(&a),
                    show(&b),
                    &format!("{what} {}", if b.is_some() { "added" } else { "removed" }),
                );
            }
        }
    }

    fn neutral(&mut self, field: &str, old: String, new: String, why: &str) {
        if old != new {
            self.push(Class::Neutral, field, old, new, why);
        }
    }
}

fn unit_strength(u: UnitOfPrivacy) -> u8 {
    match u {
        UnitOfPrivacy::Household => 4,
        UnitOfPrivacy::Person => 3,
        UnitOfPrivacy::LoyaltyCard | UnitOfPrivacy::ChatSession => 2,
        UnitOfPrivacy::None => 0,
    }
}

fn area_fineness(l: AreaLevelName) -> u8 {
    match l {
        AreaLevelName::Subarea => 3,
        AreaLevelName::District => 2,
        AreaLevelName::MajorDistrict => 1,
        AreaLevelName::City => 0,
    }
}

fn granularity_fineness(g: Granularity) -> u8 {
    match g {
        Granularity::Month => 2,
        Granularity::Quarter => 1,
        Granularity::Year => 0,
    }
}

/// The lower ends of the bands: a set of cut points.
fn band_cuts(bands: &[String]) -> Option<Vec<u32>> {
    let labels: Vec<String> = bands.iter().map(|b| b.replace('–', "-")).collect();
    labels
        .iter()
        .map(|b| b.trim().trim_end_matches('+').split('-').next().and_then(|x| x.trim().parse().ok()))
        .collect()
}

/// A change along an ordered scale of detail: finer loosens, coarser tightens.
fn ranked(d: &mut Diff, field: &str, values: (String, String), ranks: (u8, u8), why: (&str, &str)) {
    let ((old, new), (old_rank, new_rank), (finer, coarser)) = (values, ranks, why);
    if old_rank == new_rank {
        d.neutral(field, old, new, "same level of detail");
    } else if new_rank > old_rank {
        d.push(Class::Loosening, field, old, new, finer);
    } else {
        d.push(Class::Tightening, field, old, new, coarser);
    }
}

fn diff_dimensions(d: &mut Diff, old: &[DimensionSection], new: &[DimensionSection]) {
    let by_name =
        |v: &[DimensionSection]| v.iter().map(|x| (x.name().to_string(), x.clone())).collect::<BTreeMap<_, _>>();
    let (a, b) = (by_name(old), by_name(new));
    for (name, od) in &a {
        let field = format!("dimensions[{name}]");
        let Some(nd) = b.get(name) else {
            d.push(
                Class::Tightening,
                &field,
                od.kind().to_string(),
                "-".into(),
                "dimension removed: the table is coarser",
            );
            continue;
        };
        match (od, nd) {
            (
                DimensionSection::Area { level: l1, classification: c1, field: f1, .. },
                DimensionSection::Area { level: l2, classification: c2, field: f2, .. },
            ) => {
                ranked(
                    d,
                    &format!("{field}.level"),
                    (show(&Some(l1)), show(&Some(l2))),
                    (area_fineness(*l1), area_fineness(*l2)),
                    ("dimension made finer: smaller areas", "dimension made coarser: larger areas"),
                );
                d.neutral(
                    &format!("{field}.classification"),
                    c1.display().to_string(),
                    c2.display().to_string(),
                    "another classification file",
                );
                d.neutral(&format!("{field}.field"), f1.clone(), f2.clone(), "another source field");
            }
            (DimensionSection::AgeBand { bands: b1, .. }, DimensionSection::AgeBand { bands: b2, .. }) => {
                if b1 != b2 {
                    let (c1, c2) = (band_cuts(b1), band_cuts(b2));
                    let (old, new) = (b1.join(","), b2.join(","));
                    match (c1, c2) {
                        (Some(c1), Some(c2)) if c1.iter().all(|c| c2.contains(c)) && c2.len() > c1.len() => d.push(
                            Class::Loosening,
                            &format!("{field}.bands"),
                            old,
                            new,
                            "dimension made finer: narrower age bands",
                        ),
                        (Some(c1), Some(c2)) if c2.iter().all(|c| c1.contains(c)) && c1.len() > c2.len() => d.push(
                            Class::Tightening,
                            &format!("{field}.bands"),
                            old,
                            new,
                            "dimension made coarser: wider age bands",
                        ),
                        _ => d.push(
                            Class::Loosening,
                            &format!("{field}.bands"),
                            old,
                            new,
                            "age bands redrawn: new band edges can be differenced against the old ones",
                        ),
                    }
                }
            }
            (
                DimensionSection::Period { granularity: g1, from: f1, to: t1, .. },
                DimensionSection::Period { granularity: g2, from: f2, to: t2, .. },
            ) => {
                ranked(
                    d,
                    &format!("{field}.granularity"),
                    (g1.name().into(), g2.name().into()),
                    (granularity_fineness(*g1), granularity_fineness(*g2)),
                    ("dimension made finer: shorter periods", "dimension made coarser: longer periods"),
                );
                d.neutral(&format!("{field}.from"), f1.clone(), f2.clone(), "another period range");
                d.neutral(&format!("{field}.to"), t1.clone(), t2.clone(), "another period range");
            }
            (DimensionSection::Category { values: v1, .. }, DimensionSection::Category { values: v2, .. }) => {
                let added: Vec<&String> = v2.iter().filter(|v| !v1.contains(v)).collect();
                let removed: Vec<&String> = v1.iter().filter(|v| !v2.contains(v)).collect();
                if !added.is_empty() {
                    d.push(
                        Class::Loosening,
                        &format!("{field}.values"),
                        v1.join(","),
                        v2.join(","),
                        "category values added: more is released",
                    );
                } else if !removed.is_empty() {
                    d.push(
                        Class::Tightening,
                        &format!("{field}.values"),
                        v1.join(","),
                        v2.join(","),
                        "category values removed",
                    );
                }
            }
            _ => d.push(
                Class::Loosening,
                &field,
                od.kind().into(),
                nd.kind().into(),
                "dimension replaced by another kind",
            ),
        }
    }
    for (name, nd) in &b {
        if !a.contains_key(name) {
            d.push(
                Class::Loosening,
                &format!("dimensions[{name}]"),
                "-".into(),
                nd.kind().into(),
                "dimension added: the table is finer",
            );
        }
    }
    let order = |v: &[DimensionSection]| v.iter().map(|x| x.name().to_string()).collect::<Vec<_>>().join(",");
    let (o1, o2) = (order(old), order(new));
    if o1 != o2 && a.keys().eq(b.keys()) {
        d.neutral("dimensions", o1, o2, "dimensions reordered");
    }
}

fn diff_measures(d: &mut Diff, old: &[MeasureSection], new: &[MeasureSection]) {
    for om in old {
        let field = format!("measures[{}]", om.name());
        let Some(nm) = new.iter().find(|m| m.name() == om.name()) else {
            d.push(Class::Tightening, &field, om.kind().into(), "-".into(), "measure removed: less is released");
            continue;
        };
        if om.kind() != nm.kind() {
            d.push(Class::Loosening, &field, om.kind().into(), nm.kind().into(), "measure changed kind");
            continue;
        }
        let ((e1, r1), (e2, r2)) = (om.budget(), nm.budget());
        d.number(&format!("{field}.epsilon"), e1, e2, true, "privacy loss ε");
        d.number(&format!("{field}.rho"), r1, r2, true, "privacy loss ρ");
        if let (
            MeasureSection::Sum { field: f1, lower: l1, upper: u1, .. },
            MeasureSection::Sum { field: f2, lower: l2, upper: u2, .. },
        ) = (om, nm)
        {
            d.number(&format!("{field}.lower"), Some(*l1), Some(*l2), false, "clamping bound");
            d.number(&format!("{field}.upper"), Some(*u1), Some(*u2), true, "clamping bound");
            d.neutral(&format!("{field}.field"), f1.clone(), f2.clone(), "another summed field");
        }
    }
    for nm in new {
        if !old.iter().any(|m| m.name() == nm.name()) {
            d.push(
                Class::Loosening,
                &format!("measures[{}]", nm.name()),
                "-".into(),
                nm.kind().into(),
                "measure added: more is released",
            );
        }
    }
}

/// Compares two policies.
pub fn diff(old: &PolicyFile, new: &PolicyFile) -> Vec<Change> {
    let mut d = Diff { changes: Vec::new() };
    d.neutral("name", old.name.clone(), new.name.clone(), "renamed");
    d.neutral("description", old.description.clone(), new.description.clone(), "reworded");
    // Source.
    let (u1, u2) = (old.source.unit_of_privacy, new.source.unit_of_privacy);
    if u1 != u2 {
        let class = if unit_strength(u2) < unit_strength(u1) {
            Class::Loosening
        } else if unit_strength(u2) > unit_strength(u1) {
            Class::Tightening
        } else {
            Class::Loosening
        };
        d.push(class, "source.unit_of_privacy", u1.name().into(), u2.name().into(), "the protected unit changed");
    }
    d.neutral(
        "source.schema",
        old.source.schema.display().to_string(),
        new.source.schema.display().to_string(),
        "another schema file",
    );
    d.neutral(
        "source.unit_field",
        show(&old.source.unit_field),
        show(&new.source.unit_field),
        "another identifier field",
    );
    d.neutral(
        "source.max_rejected_rows",
        old.source.max_rejected_rows.to_string(),
        new.source.max_rejected_rows.to_string(),
        "data-quality tolerance, not a privacy parameter",
    );
    diff_dimensions(&mut d, &old.dimensions, &new.dimensions);
    // Bounds.
    let b = |p: &PolicyFile, f: fn(&BoundsSection) -> u32| p.bounds.as_ref().map(|b| f64::from(f(b)));
    d.number(
        "bounds.max_cells_per_unit",
        b(old, |b| b.max_cells_per_unit),
        b(new, |b| b.max_cells_per_unit),
        true,
        "contribution bound",
    );
    d.number(
        "bounds.max_records_per_cell",
        b(old, |b| b.max_records_per_cell),
        b(new, |b| b.max_records_per_cell),
        true,
        "contribution bound",
    );
    diff_measures(&mut d, &old.measures, &new.measures);
    let ((e1, r1), (e2, r2)) = (declared_totals(old), declared_totals(new));
    d.number("measures (total epsilon)", Some(e1), Some(e2), true, "total privacy loss ε");
    d.number("measures (total rho)", Some(r1), Some(r2), true, "total privacy loss ρ");
    // Protection.
    let (p1, p2) = (&old.protection, &new.protection);
    if p1.mode != p2.mode {
        // `sdc` -> `dp+sdc` adds noise to the same gate. Every other change loosens something:
        // the gate or the noise goes, or (`dp` -> `dp+sdc`) a gate on exact values decides
        // which noisy values are published, outside the differential-privacy guarantee.
        let (class, why) = match (p1.mode, p2.mode) {
            (GuaranteeMode::Sdc, GuaranteeMode::DpSdc) => (Class::Tightening, "noise is added to the SDC-gated table"),
            (GuaranteeMode::Dp, GuaranteeMode::DpSdc) => (
                Class::Loosening,
                "an SDC gate on exact values now hides cells: more cells hidden, but which ones is outside the differential-privacy guarantee",
            ),
            _ => (Class::Loosening, "the guarantee mode changed"),
        };
        d.push(class, "protection.mode", p1.mode.name().into(), p2.mode.name().into(), why);
    }
    match (p1.mechanism, p2.mechanism) {
        (Some(a), Some(b)) if a != b => {
            let class = match (a.is_zcdp(), b.is_zcdp()) {
                (false, true) => Class::Loosening,
                (true, false) => Class::Tightening,
                _ => Class::Neutral,
            };
            d.push(
                class,
                "protection.mechanism",
                a.name().into(),
                b.name().into(),
                "noise mechanism changed (pure DP is stronger than zCDP)",
            );
        }
        (a, b) if a != b => d.neutral(
            "protection.mechanism",
            show(&a.map(Mechanism::name)),
            show(&b.map(Mechanism::name)),
            "follows the mode",
        ),
        _ => {}
    }
    let t = |p: &ProtectionSection| p.noisy_threshold.as_ref().map(|t| t.min as f64);
    d.number("protection.noisy_threshold.min", t(p1), t(p2), false, "noisy threshold");
    let tm = |p: &ProtectionSection| p.noisy_threshold.as_ref().map(|t| t.measure.clone());
    d.neutral("protection.noisy_threshold.measure", show(&tm(p1)), show(&tm(p2)), "another threshold measure");
    d.number(
        "protection.min_units_per_cell",
        p1.min_units_per_cell.map(|m| m as f64),
        p2.min_units_per_cell.map(|m| m as f64),
        false,
        "minimum contributors per cell",
    );
    d.number(
        "protection.dominance.n",
        p1.dominance.as_ref().map(|x| f64::from(x.n)),
        p2.dominance.as_ref().map(|x| f64::from(x.n)),
        false,
        "dominance n",
    );
    d.number(
        "protection.dominance.k",
        p1.dominance.as_ref().map(|x| x.k),
        p2.dominance.as_ref().map(|x| x.k),
        true,
        "dominance k",
    );
    let zf = |p: &ProtectionSection| p.zero_full.as_ref().map(|z| format!("{:?} zero={}", z.dimensions, z.zero));
    match (zf(p1), zf(p2)) {
        (Some(a), None) => d.push(Class::Loosening, "protection.zero_full", a, "-".into(), "0 % / 100 % rule removed"),
        (a, b) if a != b => d.neutral("protection.zero_full", show(&a), show(&b), "0 % / 100 % rule changed"),
        _ => {}
    }
    let pc = |p: &ProtectionSection| p.provider_counts.clone();
    d.number(
        "protection.provider_counts.min_businesses_per_cell",
        pc(p1).and_then(|x| x.min_businesses_per_cell).map(|m| m as f64),
        pc(p2).and_then(|x| x.min_businesses_per_cell).map(|m| m as f64),
        false,
        "minimum businesses per cell",
    );
    d.neutral(
        "protection.provider_counts.contributors_field",
        show(&pc(p1).and_then(|x| x.contributors_field)),
        show(&pc(p2).and_then(|x| x.contributors_field)),
        "another contributors field",
    );
    d.number(
        "protection.p_percent.p",
        p1.p_percent.as_ref().map(|x| x.p),
        p2.p_percent.as_ref().map(|x| x.p),
        false,
        "p % rule",
    );
    match (p1.secondary_suppression, p2.secondary_suppression) {
        (Some(true), Some(false) | None) => d.push(
            Class::Loosening,
            "protection.secondary_suppression",
            show(&p1.secondary_suppression),
            show(&p2.secondary_suppression),
            "secondary suppression turned off",
        ),
        (Some(false) | None, Some(true)) => d.push(
            Class::Tightening,
            "protection.secondary_suppression",
            show(&p1.secondary_suppression),
            show(&p2.secondary_suppression),
            "secondary suppression turned on",
        ),
        _ => {}
    }
    // Rounding, budget, margins.
    d.number(
        "rounding.base",
        old.rounding.as_ref().map(|r| f64::from(r.base)),
        new.rounding.as_ref().map(|r| f64::from(r.base)),
        false,
        "rounding base",
    );
    let bt = |p: &PolicyFile, f: fn(&BudgetSection) -> Option<f64>| p.budget.as_ref().and_then(f);
    d.number(
        "budget.total_epsilon",
        bt(old, |b| b.total_epsilon),
        bt(new, |b| b.total_epsilon),
        true,
        "dataset budget ε",
    );
    d.number("budget.total_rho", bt(old, |b| b.total_rho), bt(new, |b| b.total_rho), true, "dataset budget ρ");
    let ds = |p: &PolicyFile| p.budget.as_ref().map(|b| (b.dataset.clone(), b.ledger.display().to_string()));
    if let (Some(a), Some(b)) = (ds(old), ds(new)) {
        if a != b {
            d.push(
                Class::Loosening,
                "budget.dataset",
                format!("{} ({})", a.0, a.1),
                format!("{} ({})", b.0, b.1),
                "another dataset or ledger: spends from a fresh budget",
            );
        }
    }
    // Post-processing of noisy values: no change in privacy, a change in what the numbers mean.
    for (field, a, b, what) in [
        (
            "protection.consistent_totals",
            p1.consistent_totals,
            p2.consistent_totals,
            "totals made consistent (post-processing)",
        ),
        (
            "protection.integer_totals",
            p1.integer_totals,
            p2.integer_totals,
            "consistent counts rounded to whole numbers (post-processing)",
        ),
        (
            "protection.negative_as_zero",
            p1.negative_as_zero,
            p2.negative_as_zero,
            "negative noisy values published as 0 (post-processing)",
        ),
    ] {
        if a.unwrap_or(false) != b.unwrap_or(false) {
            d.neutral(field, show(&a), show(&b), what);
        }
    }
    let delta = |p: &PolicyFile| p.budget.as_ref().and_then(|b| b.delta);
    if delta(old) != delta(new) {
        d.neutral(
            "budget.delta",
            show(&delta(old)),
            show(&delta(new)),
            "the δ at which (ε, δ) is reported (reporting only)",
        );
    }
    match (&old.margins, &new.margins) {
        (None, Some(_)) => {
            d.push(Class::Loosening, "margins", "-".into(), "margins".into(), "margins added: more is released")
        }
        (Some(_), None) => d.push(Class::Tightening, "margins", "margins".into(), "-".into(), "margins removed"),
        _ => {}
    }
    d.changes.sort_by_key(|c| c.class);
    d.changes
}

/// Renders changes as aligned text lines with a summary.
pub fn to_text(changes: &[Change]) -> String {
    let mut out = String::new();
    for c in changes {
        out.push_str(&format!("{:<10}  {}: {} -> {} ({})\n", c.class.label(), c.field, c.old, c.new, c.why));
    }
    let count = |k: Class| changes.iter().filter(|c| c.class == k).count();
    out.push_str(&format!(
        "{} loosening, {} tightening, {} neutral\n",
        count(Class::Loosening),
        count(Class::Tightening),
        count(Class::Neutral)
    ));
    out
}
