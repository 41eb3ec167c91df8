//! Exact tabulation of an `sdc` table with margins, from the same bounded contributions as the
//! inner cells: for every unit, its inner cells are rolled up into every margin they belong
//! to, the unit is counted once per cell (distinct units), and its contribution to each cell's
//! sums is kept among the cell's largest contributions for the dominance and p % rules.

use rayon::prelude::*;

use cellguard_ingest::{AreaLevel, DimensionSpec, Unknown, MAX_VALUES};

use super::hier::{DimTree, HierTable, Relation};
use super::suppress::SumWithTop;
use crate::bounding::BoundingAccumulator;
use crate::keys::{KeyDimension, KeyKind, KeyMember};
use crate::plan::{Margins, MeasureKind, ReleasePlan};

/// The exact table of an `sdc` release.
#[derive(Debug, Clone)]
pub struct SdcTable {
    pub(crate) hier: HierTable,
    pub(crate) keys: Vec<KeyDimension>,
    pub(crate) units: Vec<u64>,
    pub(crate) records: Vec<u64>,
    pub(crate) sums: Vec<Vec<SumWithTop>>,
    pub(crate) unit_relations: Vec<Relation>,
    pub(crate) stats: crate::table::BoundingStats,
}

impl SdcTable {
    /// The cell structure.
    pub fn hier(&self) -> &HierTable {
        &self.hier
    }

    /// Distinct contributing units per cell.
    pub fn units(&self) -> &[u64] {
        &self.units
    }

    /// Records per cell.
    pub fn records(&self) -> &[u64] {
        &self.records
    }

    /// Sums per cell of value slot `slot`, with the largest contributions.
    pub fn sums(&self, slot: usize) -> &[SumWithTop] {
        &self.sums[slot]
    }
}

/// One dimension with its margin nodes: the tree, the labels, and each inner member's node.
pub(crate) fn dimension_with_margins(name: &str, spec: &DimensionSpec, margins: &Margins) -> (DimTree, KeyDimension) {
    let plain = KeyMember::plain;
    let inner = crate::keys::ReleaseKeys::new(&[name.to_string()], std::slice::from_ref(spec)).dimensions()[0].clone();
    let n = inner.members.len();
    let mut members = inner.members.clone();
    let mut parents: Vec<Option<u32>> = vec![None; n];
    match spec {
        DimensionSpec::Area { classification, level, unknown, .. } => {
            let higher: Vec<AreaLevel> = margins.area_levels.iter().copied().filter(|l| l > level).collect();
            let n_inner_known = classification.len_at(*level);
            // Node offset of each added level.
            let mut offsets = Vec::new();
            for l in &higher {
                offsets.push(members.len());
                for a in classification.members(*l) {
                    members.push(KeyMember {
                        code: a.code,
                        label: a.name,
                        level: a.level.name().to_string(),
                        start: String::new(),
                        end: String::new(),
                    });
                    parents.push(None);
                }
            }
            // Each known member's ancestor at each added level, via any sub-area it contains.
            let chain = std::iter::once(*level).chain(higher.iter().copied()).collect::<Vec<_>>();
            for sub in 0..classification.subareas().len() as u32 {
                let idx: Vec<usize> = chain.iter().map(|l| classification.index_at(*l, sub) as usize).collect();
                for step in 0..higher.len() {
                    let child = if step == 0 { idx[0] } else { offsets[step - 1] + idx[step] };
                    parents[child] = Some((offsets[step] + idx[step + 1]) as u32);
                }
            }
            // The unknown area belongs to no district: it only rolls into the city total.
            if *unknown == Unknown::Cell {
                if let Some(city) = higher.iter().position(|l| *l == AreaLevel::City) {
                    parents[n_inner_known] = Some(offsets[city] as u32);
                }
            }
        }
        DimensionSpec::AgeBand { .. } if margins.age_total => {
            members.push(KeyMember { level: "total".into(), ..plain("total".into()) });
            parents = vec![Some(n as u32); n];
            parents.push(None);
        }
        DimensionSpec::CodeList { codes, .. } if margins.code_parents || margins.code_total => {
            // Codes, then their parents (if asked and declared), then the total; each row says
            // its level.
            for m in members.iter_mut() {
                m.level = name.to_string();
            }
            let upper = codes.parents().filter(|_| margins.code_parents);
            if let Some(up) = upper {
                for (code, label) in &up.members {
                    members.push(KeyMember {
                        code: code.clone(),
                        label: label.clone(),
                        level: up.level.clone(),
                        ..plain(String::new())
                    });
                    parents.push(None);
                }
                for (i, parent) in up.of.iter().enumerate() {
                    parents[i] = Some((n + *parent as usize) as u32);
                }
            }
            if margins.code_total {
                let total = members.len() as u32;
                // The total sits above the highest level present.
                let top = match upper {
                    Some(up) => n..n + up.members.len(),
                    None => 0..n,
                };
                for i in top {
                    parents[i] = Some(total);
                }
                members.push(KeyMember { level: "total".into(), ..plain("total".into()) });
                parents.push(None);
            }
        }
        DimensionSpec::Period { .. } if margins.period_total => {
            let start = inner.members.first().map(|m| m.start.clone()).unwrap_or_default();
            let end = inner.members.last().map(|m| m.end.clone()).unwrap_or_default();
            members.push(KeyMember { code: "total".into(), label: "total".into(), level: "total".into(), start, end });
            parents = vec![Some(n as u32); n];
            parents.push(None);
        }
        _ => {}
    }
    (DimTree::from_parents(parents), KeyDimension { name: inner.name, kind: inner.kind, members })
}

/// The largest `k` values, largest first, after adding `v`.
fn push_top(top: &mut Vec<i64>, v: i64, k: usize) {
    let pos = top.partition_point(|x| *x >= v);
    if pos < k {
        top.insert(pos, v);
        top.truncate(k);
    }
}

/// Tabulates an `sdc` table with the plan's margins from the bounded contributions.
pub fn tabulate(plan: &ReleasePlan, acc: &BoundingAccumulator) -> SdcTable {
    let margins = plan.sdc.as_ref().map(|s| s.margins.clone()).unwrap_or_default();
    let top_k = plan.sdc.as_ref().map_or(2, |s| s.rules.dominance.map_or(2, |(n, _)| (n as usize).max(2)));
    let (trees, keys): (Vec<DimTree>, Vec<KeyDimension>) = plan
        .dimension_names
        .iter()
        .zip(&plan.mapper.dimensions)
        .map(|(name, spec)| dimension_with_margins(name, spec, &margins))
        .unzip();
    let inner_radices: Vec<usize> = plan.mapper.dimensions.iter().map(DimensionSpec::len).collect();
    let hier = HierTable::new(trees);
    let n = hier.n_cells();
    let slots: Vec<usize> = plan
        .measure_kinds()
        .iter()
        .filter_map(|(_, k)| match k {
            MeasureKind::Sum { value_slot, .. } => Some(*value_slot),
            _ => None,
        })
        .collect();
    // Provider counts are read from slots of their own.
    let provider = plan.sdc.as_ref().map(|s| (s.rules.contributors_slot, s.rules.businesses.map(|b| b.0)));
    let extra = provider.into_iter().flat_map(|(c, b)| c.into_iter().chain(b));
    let n_slots = slots.iter().copied().chain(extra).map(|s| s + 1).max().unwrap_or(0).min(MAX_VALUES);
    let empty = || (vec![0u64; n], vec![0u64; n], vec![vec![SumWithTop::default(); n]; n_slots]);
    let (units, records, sums) = acc
        .units_par()
        .fold(empty, |(mut u, mut r, mut s), cells| {
            // Every hierarchical cell this unit touches, with its records and sums there.
            let mut touched: Vec<(usize, u64, [i64; MAX_VALUES])> = Vec::new();
            let mut coords = vec![0usize; inner_radices.len()];
            for (cell, recs, sums) in cells {
                let mut rest = cell as usize;
                for (slot, radix) in coords.iter_mut().zip(&inner_radices).rev() {
                    *slot = rest % radix;
                    rest /= radix;
                }
                // The cartesian product of each coordinate's ancestors.
                let chains: Vec<Vec<u32>> =
                    coords.iter().zip(hier.dims()).map(|(c, d)| d.ancestors_or_self(*c as u32).collect()).collect();
                let mut idx = vec![0usize; chains.len()];
                'combos: loop {
                    let node: Vec<usize> = idx.iter().zip(&chains).map(|(i, ch)| ch[*i] as usize).collect();
                    touched.push((hier.cell(&node), recs, sums));
                    // Advance the odometer; stop after the last combination.
                    let mut d = chains.len();
                    while d > 0 {
                        d -= 1;
                        idx[d] += 1;
                        if idx[d] < chains[d].len() {
                            continue 'combos;
                        }
                        idx[d] = 0;
                    }
                    break;
                }
            }
            touched.sort_unstable_by_key(|t| t.0);
            let mut i = 0;
            while i < touched.len() {
                let cell = touched[i].0;
                let (mut recs, mut tot) = (0u64, [0i64; MAX_VALUES]);
                while i < touched.len() && touched[i].0 == cell {
                    recs += touched[i].1;
                    for (a, b) in tot.iter_mut().zip(touched[i].2) {
                        *a = a.saturating_add(b);
                    }
                    i += 1;
                }
                u[cell] += 1;
                r[cell] += recs;
                for (slot, cells) in s.iter_mut().enumerate() {
                    let c = &mut cells[cell];
                    c.total = c.total.saturating_add(tot[slot]);
                    push_top(&mut c.top, tot[slot], top_k);
                }
            }
            (u, r, s)
        })
        .reduce(empty, |(mut u1, mut r1, mut s1), (u2, r2, s2)| {
            for (a, b) in u1.iter_mut().zip(u2) {
                *a += b;
            }
            for (a, b) in r1.iter_mut().zip(r2) {
                *a += b;
            }
            for (m1, m2) in s1.iter_mut().zip(s2) {
                for (a, b) in m1.iter_mut().zip(m2) {
                    a.total = a.total.saturating_add(b.total);
                    for v in b.top {
                        push_top(&mut a.top, v, top_k);
                    }
                }
            }
            (u1, r1, s1)
        });
    // A distinct count adds up along a constraint only if no unit is in two of its children.
    let unit_relations = hier
        .constraints()
        .iter()
        .map(|c| {
            let sum: u64 = c.children.iter().map(|ch| units[*ch]).sum();
            if sum == units[c.parent] {
                Relation::Equal
            } else {
                Relation::Bounded
            }
        })
        .collect();
    SdcTable { hier, keys, units, records, sums, unit_relations, stats: acc.stats() }
}

/// Whether a kind of dimension can carry margins (for messages).
pub fn margin_kind(kind: KeyKind) -> bool {
    matches!(kind, KeyKind::Area | KeyKind::AgeBand | KeyKind::Period)
}
