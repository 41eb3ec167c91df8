//! Primary and secondary suppression.
//!
//! Primary suppression marks cells that are unsafe on their own: too few contributing units
//! (frequency rule), a sum dominated by its largest contributors ((n, k) rule), or a sum whose
//! largest contribution the second largest contributor could estimate too closely (p % rule).
//!
//! Secondary suppression then hides further cells until no primary cell can be worked out
//! within its protection interval. It alternates two steps until the attacker audit passes:
//!
//! 1. *Singletons*: a constraint with exactly one suppressed cell reveals it exactly, so the
//!    cheapest other cell of that constraint is suppressed too.
//! 2. *Audit*: the tightest interval of every primary cell is computed by linear programming
//!    ([`super::audit`]); for a cell whose interval is too narrow, the published cells its
//!    attacker bound depends on (read from the dual solution of the program that computed it,
//!    see [`Shortfall`]) are suppressed, cheapest first, until they cover the missing width.
//!
//! "Cheapest" prefers inner cells over margins, then small values, then the lower index, so the
//! pattern suppresses little information and is a deterministic function of the table.
//! Suppressing a cell only widens every attacker interval (it turns a constant into an
//! unknown), so cells that pass stay passed and the loop terminates. This is the audit-driven
//! approach of cell suppression by linear programming (Fischetti & Salazar-González 2000,
//! "Models and algorithms for optimizing cell suppression in tabular data with linear
//! constraints", JASA 95(451)), with a greedy choice of complementary cells in place of the
//! exact branch-and-cut.

use super::audit::{audit_shortfalls, Interval, Shortfall};
use super::hier::{Constraint, HierTable, Relation};

/// The SDC status of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SdcStatus {
    /// Published.
    Published,
    /// Fewer contributing units than the minimum.
    PrimaryFrequency,
    /// A sum dominated by its largest contributors.
    PrimaryDominance,
    /// A sum whose largest contribution can be estimated too closely (p % rule).
    PrimaryPPercent,
    /// A cell holding all (or, if the policy says so, none) of its group's units.
    PrimaryZeroFull,
    /// Hidden to protect primary cells.
    Secondary,
}

impl SdcStatus {
    /// Whether the cell is suppressed.
    pub fn is_suppressed(self) -> bool {
        self != SdcStatus::Published
    }

    /// Whether the cell is a primary suppression.
    pub fn is_primary(self) -> bool {
        matches!(
            self,
            SdcStatus::PrimaryFrequency
                | SdcStatus::PrimaryDominance
                | SdcStatus::PrimaryPPercent
                | SdcStatus::PrimaryZeroFull
        )
    }
}

/// The primary rules of a policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrimaryRules {
    /// Minimum contributing units (cells with 1 up to min−1 units are unsafe; empty cells are not).
    pub min_units: u64,
    /// The (n, k) dominance rule.
    pub dominance: Option<(u32, f64)>,
    /// The p % rule.
    pub p_percent: Option<f64>,
    /// Pre-aggregated data: the value slot whose largest row value per cell is the cell's
    /// (lower bound of) contributors, used by the frequency rule instead of the rows.
    pub contributors_slot: Option<usize>,
    /// Pre-aggregated data: the value slot counting businesses per row, and the fewest
    /// businesses a published cell may have (largest row value per cell).
    pub businesses: Option<(usize, u64)>,
}

/// One cell's sum with its largest contributions (descending).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SumWithTop {
    /// The total.
    pub total: i64,
    /// The largest unit contributions, largest first.
    pub top: Vec<i64>,
}

/// Applies the primary rules to every cell. `sums` are the summed measures (dominance and
/// p %); `slots` are every value slot's sums, where the provider counts are read.
pub fn primary_suppression(
    units: &[u64],
    sums: &[Vec<SumWithTop>],
    slots: &[Vec<SumWithTop>],
    rules: &PrimaryRules,
) -> Vec<SdcStatus> {
    // The largest row value of a slot in a cell: a lower bound of its distinct count.
    let largest = |slot: usize, cell: usize| -> u64 {
        slots.get(slot).and_then(|s| s[cell].top.first()).map_or(0, |v| (*v).max(0) as u64)
    };
    (0..units.len())
        .map(|cell| {
            let contributors = match rules.contributors_slot {
                Some(slot) => largest(slot, cell),
                None => units[cell],
            };
            // A cell with rows is never empty, whatever counts its rows report.
            if units[cell] > 0 && contributors < rules.min_units {
                return SdcStatus::PrimaryFrequency;
            }
            if let Some((slot, min)) = rules.businesses {
                if units[cell] > 0 && largest(slot, cell) < min {
                    return SdcStatus::PrimaryDominance;
                }
            }
            for measure in sums {
                let s = &measure[cell];
                if s.total <= 0 {
                    continue;
                }
                if let Some((n, k)) = rules.dominance {
                    let top: i64 = s.top.iter().take(n as usize).sum();
                    if (top as f64) > k / 100.0 * s.total as f64 {
                        return SdcStatus::PrimaryDominance;
                    }
                }
                if let Some(p) = rules.p_percent {
                    let x1 = s.top.first().copied().unwrap_or(0);
                    let x2 = s.top.get(1).copied().unwrap_or(0);
                    if x1 > 0 && ((s.total - x1 - x2) as f64) < p / 100.0 * x1 as f64 {
                        return SdcStatus::PrimaryPPercent;
                    }
                }
            }
            SdcStatus::Published
        })
        .collect()
}

/// The 0 % / 100 % rule: along each of `dims` (dimension indices), a published cell whose
/// parent in that dimension (its group, for example all age bands of its area) has units, and
/// which holds all of them, tells that every unit of the group shares the cell's category; with
/// `zero`, a cell holding none of them tells that no unit does. Such cells become primary.
pub fn zero_full_suppression(table: &HierTable, units: &[u64], dims: &[usize], zero: bool, status: &mut [SdcStatus]) {
    let tree = table.dims();
    for cell in 0..units.len() {
        if status[cell] != SdcStatus::Published {
            continue;
        }
        let coords = table.coords(cell);
        for &d in dims {
            let Some(parent) = tree.get(d).and_then(|t| t.parent[coords[d]]) else { continue };
            let mut group = coords.clone();
            group[d] = parent as usize;
            let total = units[table.cell(&group)];
            if total > 0 && (units[cell] == total || (zero && units[cell] == 0)) {
                status[cell] = SdcStatus::PrimaryZeroFull;
                break;
            }
        }
    }
}

/// How much a primary cell must be protected: the attacker's interval must reach at least
/// `ratio` of the value below it and above it, and never be narrower than `min_width` on
/// either side (so small counts are never pinned).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Protection {
    /// The protection ratio (0.3 for 30 %).
    pub ratio: f64,
    /// The smallest protection on each side, in the measure's units.
    pub min_width: f64,
}

impl Protection {
    /// Whether the attacker's interval `i` protects `value`: it reaches down to
    /// `value − need` (or to 0, when that is below 0) and up to `value + need`, where
    /// `need = max(ratio · value, min_width)`.
    pub fn satisfied(&self, value: f64, i: &Interval) -> bool {
        if value <= 0.0 {
            return true;
        }
        let need = (value * self.ratio).max(self.min_width);
        let tol = 1e-6 * value.max(1.0);
        i.lo <= (value - need).max(0.0) + tol && i.hi >= value + need - tol
    }
}

/// The measure tables secondary suppression protects: values per cell, each table's relation
/// per constraint, and its protection requirement.
pub struct MeasureTable<'a> {
    /// Values per cell.
    pub values: &'a [f64],
    /// The relation of each constraint (same order as `HierTable::constraints`).
    pub relations: &'a [Relation],
    /// The requirement for primary cells.
    pub protection: Protection,
    /// What an attacker knows of each cell beforehand (see [`audit_intervals`]).
    pub known: Option<&'a [(f64, f64)]>,
    /// Cells whose zero must be protected too (0 % rule): an attacker must not be able to
    /// exclude `min_width` above it.
    pub protect_zero: Option<&'a [bool]>,
}

impl MeasureTable<'_> {
    /// The interval an attacker's bounds must reach for `cell`: `value ∓ need`, clipped to
    /// what the attacker knew beforehand (a published reason code already bounds the cell) and
    /// to non-negativity. `None` when nothing needs protecting (a zero value).
    pub fn required(&self, cell: usize) -> Option<(f64, f64)> {
        let v = self.values[cell];
        if v <= 0.0 {
            let zero = self.protect_zero.is_some_and(|z| z[cell]);
            return zero.then_some((0.0, self.protection.min_width));
        }
        let need = (v * self.protection.ratio).max(self.protection.min_width);
        let (known_lo, known_hi) = self.known.map_or((0.0, f64::INFINITY), |k| k[cell]);
        Some(((v - need).max(known_lo).max(0.0), (v + need).min(known_hi)))
    }

    /// Whether interval `i` protects `cell`.
    pub fn protected(&self, cell: usize, i: &Interval) -> bool {
        match self.required(cell) {
            None => true,
            Some((lo, hi)) => {
                let tol = 1e-6 * self.values[cell].max(1.0);
                i.lo <= lo + tol && i.hi >= hi - tol
            }
        }
    }

    /// Whether each of `targets` is protected when the `hidden` cells are suppressed, by the
    /// attacker audit (linear programming; see [`audit_shortfalls`]).
    pub fn audit(&self, targets: &[usize], hidden: &[bool], constraints: &[Constraint]) -> Vec<bool> {
        self.shortfalls(targets, hidden, constraints).iter().map(Option::is_none).collect()
    }

    /// For each of `targets`, `None` when the attacker audit proves it protected, otherwise
    /// the [`Shortfall`]s of its failing sides (see [`audit_shortfalls`]).
    pub fn shortfalls(
        &self,
        targets: &[usize],
        hidden: &[bool],
        constraints: &[Constraint],
    ) -> Vec<Option<Vec<Shortfall>>> {
        // Cells with nothing to protect pass; the rest go to the audit.
        let (need, open): (Vec<(f64, f64)>, Vec<usize>) =
            targets.iter().filter_map(|c| self.required(*c).map(|r| (r, *c))).unzip();
        let cs: Vec<(Constraint, Relation)> = constraints.iter().cloned().zip(self.relations.iter().copied()).collect();
        let mut verdict: std::collections::HashMap<usize, Option<Vec<Shortfall>>> =
            open.iter().copied().zip(audit_shortfalls(self.values, hidden, &cs, &open, &need, self.known)).collect();
        targets.iter().map(|c| verdict.remove(c).unwrap_or(None)).collect()
    }

    /// A constraint that by itself bounds `cell` too tightly, if any: the cheap, necessary
    /// part of the audit (an interval from one constraint contains the LP interval).
    fn quick_violation(
        &self,
        cell: usize,
        constraints: &[Constraint],
        by_cell: &[usize],
        hidden: &[bool],
    ) -> Option<usize> {
        let (req_lo, req_hi) = self.required(cell)?;
        let tol = 1e-6 * self.values[cell].max(1.0);
        for &ci in by_cell {
            let c = &constraints[ci];
            let equal = self.relations[ci] == Relation::Equal;
            let published_sum = |cells: &mut dyn Iterator<Item = usize>| {
                cells.filter(|x| !hidden[*x]).map(|x| self.values[x]).sum::<f64>()
            };
            if c.parent == cell {
                // Parent: at least the published children (equal) or the largest one (bounded).
                let lo = if equal {
                    published_sum(&mut c.children.iter().copied())
                } else {
                    c.children.iter().filter(|x| !hidden[**x]).map(|x| self.values[*x]).fold(0.0, f64::max)
                };
                if lo > req_lo + tol {
                    return Some(ci);
                }
            } else if !hidden[c.parent] {
                // Child of a published parent: at most the parent minus published siblings
                // (equal), or at most the parent (bounded).
                let p = self.values[c.parent];
                let hi =
                    if equal { p - published_sum(&mut c.children.iter().copied().filter(|x| *x != cell)) } else { p };
                if hi < req_hi - tol {
                    return Some(ci);
                }
            }
        }
        None
    }
}

/// Hypercube certificates: a cheap, sufficient proof that a primary inner cell is protected.
///
/// Choose, for every dimension in which the cell has a parent, one sibling leaf. The `2^k`
/// cells spanned by the cell and those siblings form a cube; adding `+t` at corners of the
/// cell's parity and `−t` at the others leaves every margin unchanged. If every corner is
/// suppressed, each such `t` that keeps all corners non-negative (and within what the attacker
/// knows, and below their parents for distinct counts) gives a table the attacker cannot tell
/// from the true one, so the cell's interval contains `[v + t_min, v + t_max]` (the hypercube
/// method of Repsilber 1994 and Giessing & Repsilber 2002).
pub struct Cubes<'a> {
    table: &'a HierTable,
    /// Per measure table (in the order given to [`Cubes::new`]) and cell: how far the cell may
    /// rise and fall when it is a corner of a cube (see [`Cubes::shift_range`]). They depend on
    /// the cell alone, so they are computed once.
    limits: Vec<Vec<(f64, f64)>>,
}

impl<'a> Cubes<'a> {
    /// Indexes the table's constraints and each cell's limits in each of `measures` (the
    /// tables later passed to [`Cubes::certified`], in the same order).
    pub fn new(table: &'a HierTable, constraints: &[Constraint], measures: &[MeasureTable<'_>]) -> Cubes<'a> {
        // Constraint index by (parent cell, dimension).
        let constraint_at: std::collections::HashMap<(usize, usize), usize> =
            constraints.iter().enumerate().map(|(ci, c)| ((c.parent, table.constraint_dim(c)), ci)).collect();
        let dims = table.dims();
        let limits = measures
            .iter()
            .map(|m| {
                (0..table.n_cells())
                    .map(|cell| {
                        let x = m.values[cell];
                        let (lo, hi) = m.known.map_or((0.0, f64::INFINITY), |k| k[cell]);
                        let mut upper = hi - x; // how far the corner may rise
                        let down = x - lo; // how far it may fall
                                           // Distinct counts: a child may not rise above a parent that stays fixed.
                        let coords = table.coords(cell);
                        for (d, tree) in dims.iter().enumerate() {
                            if let Some(p) = tree.parent[coords[d]] {
                                let mut pc = coords.clone();
                                pc[d] = p as usize;
                                let parent = table.cell(&pc);
                                if let Some(ci) = constraint_at.get(&(parent, d)) {
                                    if m.relations[*ci] == Relation::Bounded {
                                        upper = upper.min(m.values[parent] - x);
                                    }
                                }
                            }
                        }
                        (upper, down)
                    })
                    .collect()
            })
            .collect();
        Cubes { table, limits }
    }

    /// Every cube around inner cell `cell` whose siblings all pass `keep` (each sibling is
    /// the cell moved along one dimension, and a corner of every cube it spans): its corners
    /// with their signs, in a fixed order.
    fn cubes(&self, cell: usize, keep: &dyn Fn(usize) -> bool) -> Vec<Vec<(usize, f64)>> {
        let coords = self.table.coords(cell);
        let dims = self.table.dims();
        // For each dimension with a parent: how far (in cell index) each sibling leaf that can
        // pair with the cell lies from it. A corner is the cell plus one such offset for each
        // dimension it moves along.
        let mut choices: Vec<Vec<isize>> = Vec::new();
        for (d, tree) in dims.iter().enumerate() {
            if let Some(p) = tree.parent[coords[d]] {
                let mut c = coords.clone();
                let offsets: Vec<isize> = tree.children[p as usize]
                    .iter()
                    .filter(|s| **s as usize != coords[d] && tree.is_leaf(**s as usize))
                    .map(|s| {
                        c[d] = *s as usize;
                        self.table.cell(&c) as isize - cell as isize
                    })
                    .filter(|off| keep(cell.wrapping_add_signed(*off)))
                    .collect();
                if offsets.is_empty() {
                    return Vec::new();
                }
                choices.push(offsets);
            }
        }
        let mut out = Vec::new();
        let mut pick = vec![0usize; choices.len()];
        'cubes: loop {
            let mut corners = Vec::with_capacity(1 << choices.len());
            for mask in 0..(1usize << choices.len()) {
                let mut corner = cell;
                let mut sign = 1.0;
                for (bit, offsets) in choices.iter().enumerate() {
                    if mask & (1 << bit) != 0 {
                        corner = corner.wrapping_add_signed(offsets[pick[bit]]);
                        sign = -sign;
                    }
                }
                corners.push((corner, sign));
            }
            out.push(corners);
            let mut d = choices.len();
            while d > 0 {
                d -= 1;
                pick[d] += 1;
                if pick[d] < choices[d].len() {
                    continue 'cubes;
                }
                pick[d] = 0;
            }
            break;
        }
        out
    }

    /// The shifts `[t_min, t_max]` a cube allows in measure table `k`: every corner must stay
    /// within its limits (non-negative, within what the attacker knows, and, for distinct counts,
    /// not above its parents).
    fn shift_range(&self, corners: &[(usize, f64)], k: usize) -> (f64, f64) {
        let (mut t_min, mut t_max) = (f64::NEG_INFINITY, f64::INFINITY);
        for &(cell, sign) in corners {
            let (upper, down) = self.limits[k][cell];
            if sign > 0.0 {
                t_max = t_max.min(upper);
                t_min = t_min.max(-down);
            } else {
                t_max = t_max.min(down);
                t_min = t_min.max(-upper);
            }
        }
        (t_min, t_max)
    }

    /// Whether some all-suppressed cube proves `cell` protected in every measure table.
    pub fn certified(&self, cell: usize, measures: &[MeasureTable<'_>], hidden: &[bool]) -> bool {
        if !self.table.is_inner(cell) {
            return false;
        }
        let cubes: Vec<Vec<(usize, f64)>> =
            // Only cubes whose siblings are suppressed can be all-suppressed.
            self.cubes(cell, &|x| hidden[x]).into_iter().filter(|c| c.iter().all(|(x, _)| hidden[*x])).collect();
        measures.iter().enumerate().all(|(k, m)| {
            let Some((req_lo, req_hi)) = m.required(cell) else { return true };
            let v = m.values[cell];
            let tol = 1e-6 * v.max(1.0);
            cubes.iter().any(|c| {
                let (t_min, t_max) = self.shift_range(c, k);
                v + t_min <= req_lo + tol && v + t_max >= req_hi - tol
            })
        })
    }

    /// The cheapest cube that would protect `cell` in every measure table once its corners are
    /// suppressed: its corners not yet suppressed.
    fn best_cube(
        &self,
        cell: usize,
        measures: &[MeasureTable<'_>],
        hidden: &[bool],
        cost: &dyn Fn(usize) -> (usize, u64, usize),
    ) -> Option<Vec<usize>> {
        if !self.table.is_inner(cell) {
            return None;
        }
        self.cubes(cell, &|_| true)
            .into_iter()
            .filter(|c| {
                measures.iter().enumerate().all(|(k, m)| {
                    let Some((req_lo, req_hi)) = m.required(cell) else { return true };
                    let v = m.values[cell];
                    let tol = 1e-6 * v.max(1.0);
                    let (t_min, t_max) = self.shift_range(c, k);
                    v + t_min <= req_lo + tol && v + t_max >= req_hi - tol
                })
            })
            .map(|c| {
                let new: Vec<usize> = c.iter().map(|(x, _)| *x).filter(|x| !hidden[*x]).collect();
                let key: (usize, u64, usize) =
                    new.iter().map(|x| cost(*x)).fold((0, 0, 0), |a, b| (a.0 + b.0, a.1.saturating_add(b.1), a.2));
                (new.len(), key, new)
            })
            .min_by(|a, b| (a.1 .0, a.0, a.1 .1).cmp(&(b.1 .0, b.0, b.1 .1)))
            .map(|(_, _, new)| new)
    }
}

/// The result of secondary suppression.
#[derive(Debug, Clone)]
pub struct Secondary {
    /// The final status of every cell.
    pub status: Vec<SdcStatus>,
    /// Primary cells that could not be protected (empty on success).
    pub unprotected: Vec<usize>,
    /// Rounds of the audit loop.
    pub rounds: usize,
}

/// Adds secondary suppressions until every primary cell is protected in every measure table.
/// `cost` orders the candidates (lower is suppressed first).
pub fn secondary_suppression(
    table: &HierTable,
    primary: &[SdcStatus],
    measures: &[MeasureTable<'_>],
    cost_values: &[f64],
) -> Secondary {
    let n = table.n_cells();
    let constraints = table.constraints();
    let mut by_cell: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (ci, c) in constraints.iter().enumerate() {
        by_cell[c.parent].push(ci);
        for ch in &c.children {
            by_cell[*ch].push(ci);
        }
    }
    let cost = |cell: usize| (table.margin_degree(cell), cost_values[cell].to_bits(), cell);
    let cubes = Cubes::new(table, &constraints, measures);
    let mut status = primary.to_vec();
    let suppressed = |s: &Vec<SdcStatus>, c: usize| s[c].is_suppressed();
    let cells_of = |c: &Constraint| std::iter::once(c.parent).chain(c.children.iter().copied()).collect::<Vec<_>>();
    let mut pending: Vec<usize> = (0..n).filter(|c| primary[*c].is_primary()).collect();
    let mut rounds = 0;
    let max_rounds = 10_000;
    let mut failures: std::collections::HashMap<usize, u32> = std::collections::HashMap::new();
    // Per measure table: the cells the audit has proven protected in it.
    let mut proven: Vec<std::collections::HashSet<usize>> = vec![std::collections::HashSet::new(); measures.len()];
    loop {
        rounds += 1;
        // 1. Singletons, until none is left.
        let mut changed = true;
        while changed {
            changed = false;
            for c in &constraints {
                let cells = cells_of(c);
                let hidden = cells.iter().filter(|x| suppressed(&status, **x)).count();
                if hidden == 1 {
                    if let Some(pick) =
                        cells.iter().copied().filter(|x| !suppressed(&status, *x)).min_by_key(|x| cost(*x))
                    {
                        status[pick] = SdcStatus::Secondary;
                        changed = true;
                    }
                }
            }
        }
        // 2. Cheap checks first: a single constraint that pins a primary cell is opened further
        //    (its cheapest published cell is suppressed) until no single constraint does.
        let mut opened = true;
        while opened {
            opened = false;
            let hidden: Vec<bool> = status.iter().map(|s| s.is_suppressed()).collect();
            for cell in &pending {
                let violation =
                    measures.iter().find_map(|m| m.quick_violation(*cell, &constraints, &by_cell[*cell], &hidden));
                if let Some(ci) = violation {
                    let c = &constraints[ci];
                    if let Some(pick) =
                        cells_of(c).into_iter().filter(|x| !suppressed(&status, *x)).min_by_key(|x| cost(*x))
                    {
                        status[pick] = SdcStatus::Secondary;
                        opened = true;
                    }
                }
            }
        }
        // 3. Hypercubes: an inner primary cell that no all-suppressed cube protects gets its
        //    cheapest protecting cube suppressed. Certified cells need no linear program.
        //    A cell stays certified once it is (suppressing more cells keeps its cube), so
        //    certified cells are remembered instead of checked again in every pass and
        //    before the audit.
        let mut certified = vec![false; pending.len()];
        let mut now: Vec<bool> = status.iter().map(|s| s.is_suppressed()).collect();
        let mut cubed = true;
        while cubed {
            cubed = false;
            // Certificates are checked against the pass's starting pattern, suppressions
            // chosen against the current one.
            let hidden = now.clone();
            for (cell, done) in pending.iter().zip(certified.iter_mut()) {
                if *done || cubes.certified(*cell, measures, &hidden) {
                    *done = true;
                    continue;
                }
                if let Some(corners) = cubes.best_cube(*cell, measures, &now, &cost) {
                    for x in corners {
                        if !status[x].is_suppressed() {
                            status[x] = SdcStatus::Secondary;
                            now[x] = true;
                            cubed = true;
                        }
                    }
                }
            }
        }
        // 4. Audit by linear programming the primary cells no cube certifies (the last pass
        //    added nothing, so its checks are those of the final pattern).
        let hidden = now;
        let mut flags = certified.into_iter();
        pending.retain(|_| !flags.next().unwrap_or(false));
        // Per pending cell: `None` while every measure proves it protected, else the
        // shortfalls of its failing sides in every measure.
        //    A cell proven protected in a measure table stays so (suppressing more cells
        //    only widens intervals), so a cell that failed in another table is not audited
        //    again in this one: in the monthly table's second round most of the cells still
        //    pending fail in one table only.
        let mut verdicts: Vec<Option<Vec<Shortfall>>> = vec![None; pending.len()];
        for (m, proven) in measures.iter().zip(proven.iter_mut()) {
            let (at, open): (Vec<usize>, Vec<usize>) =
                pending.iter().enumerate().filter(|(_, c)| !proven.contains(*c)).map(|(k, c)| (k, *c)).unzip();
            for ((k, cell), p) in at.into_iter().zip(&open).zip(m.shortfalls(&open, &hidden, &constraints)) {
                match p {
                    Some(s) => verdicts[k].get_or_insert_with(Vec::new).extend(s),
                    None => {
                        proven.insert(*cell);
                    }
                }
            }
        }
        let (failing, shortfalls): (Vec<usize>, Vec<Vec<Shortfall>>) =
            pending.iter().zip(verdicts).filter_map(|(c, v)| v.map(|s| (*c, s))).unzip();
        if failing.is_empty() || rounds >= max_rounds {
            return Secondary { status, unprotected: failing, rounds };
        }
        // 5. For each failing side, suppress the published cells its bound depends on (read
        //    from the dual solution of the program that bounded it, see `Shortfall`), cheapest
        //    first, until their first-order widening covers the gap; cells picked for other
        //    failing cells this round count too. This repairs most cells in one round.
        //    A cell without such hints opens the constraints nearest to it further: the
        //    cheapest published cell of its least-suppressed constraint, or, when every
        //    constraint of the cell is suppressed, of the nearest constraints reachable through
        //    suppressed cells. A cell that keeps failing opens twice as many constraints each
        //    round.
        let mut added = false;
        for (cell, shortfalls) in failing.iter().zip(&shortfalls) {
            let strikes = failures.entry(*cell).or_insert(0u32);
            *strikes += 1;
            let mut hinted = false;
            for s in shortfalls {
                // The cells with (nearly) the largest rate are in (nearly) every optimal dual:
                // suppressing them moves the bound, while a cell with a small rate may be
                // one of several alternatives that each pin it.
                let top = s.cells.iter().map(|(_, rate, _)| *rate).fold(0.0, f64::max);
                let binding = || s.cells.iter().filter(|(_, rate, _)| *rate >= 0.5 * top);
                let mut covered: f64 = binding().filter(|(x, _, _)| suppressed(&status, *x)).map(|(_, _, g)| g).sum();
                let mut candidates: Vec<(usize, f64)> =
                    binding().filter(|(x, _, _)| !suppressed(&status, *x)).map(|(x, _, g)| (*x, *g)).collect();
                candidates.sort_by_key(|(x, _)| cost(*x));
                for (x, gain) in candidates {
                    if covered >= s.gap {
                        break;
                    }
                    status[x] = SdcStatus::Secondary;
                    covered += gain;
                    added = true;
                }
                hinted |= !s.cells.is_empty();
            }
            if hinted {
                continue;
            }
            let wanted = 1usize << (*strikes - 1).min(4);
            let mut opened: Vec<&Constraint> = by_cell[*cell]
                .iter()
                .map(|ci| &constraints[*ci])
                .filter(|c| cells_of(c).iter().any(|x| !suppressed(&status, *x)))
                .collect();
            opened.sort_by_key(|c| (cells_of(c).iter().filter(|x| suppressed(&status, **x)).count(), c.parent));
            opened.truncate(wanted);
            if opened.is_empty() {
                let mut seen = std::collections::HashSet::from([*cell]);
                let mut queue = std::collections::VecDeque::from([*cell]);
                'search: while let Some(x) = queue.pop_front() {
                    for ci in &by_cell[x] {
                        let c = &constraints[*ci];
                        if cells_of(c).iter().any(|y| !suppressed(&status, *y)) {
                            if !opened.iter().any(|o| std::ptr::eq(*o, c)) {
                                opened.push(c);
                            }
                            if opened.len() >= wanted {
                                break 'search;
                            }
                            continue;
                        }
                        for y in cells_of(c) {
                            if seen.insert(y) {
                                queue.push_back(y);
                            }
                        }
                    }
                }
            }
            for c in opened {
                if let Some(pick) =
                    cells_of(c).into_iter().filter(|x| !suppressed(&status, *x)).min_by_key(|x| cost(*x))
                {
                    status[pick] = SdcStatus::Secondary;
                    added = true;
                }
            }
        }
        if !added {
            return Secondary { status, unprotected: failing, rounds };
        }
        pending = failing;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdc::audit::audit_intervals;
    use crate::sdc::hier::DimTree;

    /// A 3×3 table with totals (rows: areas, columns: ages):
    ///
    /// ```text
    ///  2 20 30 |  52
    /// 40 50 60 | 150
    /// 70 80 90 | 240
    /// ---------+----
    /// 112 150 180 | 442
    /// ```
    fn table() -> (HierTable, Vec<f64>) {
        let t = HierTable::new(vec![DimTree::flat(3, true), DimTree::flat(3, true)]);
        let v = vec![2., 20., 30., 52., 40., 50., 60., 150., 70., 80., 90., 240., 112., 150., 180., 442.];
        (t, v)
    }

    #[test]
    fn primary_rules() {
        let rules = PrimaryRules {
            min_units: 5,
            dominance: Some((2, 85.0)),
            p_percent: Some(10.0),
            contributors_slot: None,
            businesses: None,
        };
        let units = [0, 3, 10, 10, 10];
        let sums = vec![vec![
            SumWithTop { total: 0, top: vec![] },
            SumWithTop { total: 100, top: vec![40, 30] },
            SumWithTop { total: 100, top: vec![50, 40, 5] },
            SumWithTop { total: 100, top: vec![30, 20] },
            SumWithTop { total: 100, top: vec![80, 5, 5] },
        ]];
        let s = primary_suppression(&units, &sums, &sums, &rules);
        assert_eq!(s[0], SdcStatus::Published, "an empty cell is not sensitive");
        assert_eq!(s[1], SdcStatus::PrimaryFrequency);
        assert_eq!(s[2], SdcStatus::PrimaryDominance, "50 + 40 > 85 % of 100");
        assert_eq!(s[3], SdcStatus::Published);
        // 80 + 5 = 85 is not above 85 %, but the rest (15) is... not below 10 % of 80 = 8: safe.
        assert_eq!(s[4], SdcStatus::Published);
        let tight = PrimaryRules { dominance: None, p_percent: Some(20.0), ..rules };
        assert_eq!(primary_suppression(&units, &sums, &sums, &tight)[4], SdcStatus::PrimaryPPercent, "15 < 20 % of 80");
    }

    #[test]
    fn provider_counts_use_the_largest_row() {
        // Pre-aggregated rows: each row is its own "unit"; slot 0 counts customers per row and
        // slot 1 stores per row. Cells: no rows; two rows of 3 and 4 customers (7 customer-rows
        // but maybe only 4 people); one row of 12 customers from 2 stores; 12 customers, 3 stores;
        // a row reporting no customers.
        let units = [0, 2, 1, 1, 1];
        let top = |v: &[i64]| SumWithTop { total: v.iter().sum(), top: v.to_vec() };
        let customers = vec![top(&[]), top(&[4, 3]), top(&[12]), top(&[12]), top(&[0])];
        let stores = vec![top(&[]), top(&[1, 1]), top(&[2]), top(&[3]), top(&[1])];
        let slots = vec![customers, stores];
        let rules = PrimaryRules {
            min_units: 5,
            dominance: None,
            p_percent: None,
            contributors_slot: Some(0),
            businesses: Some((1, 3)),
        };
        let s = primary_suppression(&units, &[], &slots, &rules);
        assert_eq!(
            s,
            vec![
                SdcStatus::Published,
                SdcStatus::PrimaryFrequency,
                SdcStatus::PrimaryDominance,
                SdcStatus::Published,
                SdcStatus::PrimaryFrequency
            ]
        );
    }

    #[test]
    fn primary_alone_is_recoverable_and_secondary_fixes_it() {
        let (t, v) = table();
        let mut primary = vec![SdcStatus::Published; 16];
        primary[0] = SdcStatus::PrimaryFrequency;
        let relations = vec![Relation::Equal; t.constraints().len()];
        let protection = Protection { ratio: 0.5, min_width: 1.0 };
        // Naive: only the primary cell hidden; the audit pins it to exactly 2.
        let hidden: Vec<bool> = primary.iter().map(|s| s.is_suppressed()).collect();
        let cs: Vec<(Constraint, Relation)> = t.constraints().into_iter().map(|c| (c, Relation::Equal)).collect();
        let naive = audit_intervals(&v, &hidden, &cs, &[0], None)[0];
        assert!((naive.lo - 2.0).abs() < 1e-6 && (naive.hi - 2.0).abs() < 1e-6);
        assert!(!protection.satisfied(2.0, &naive));
        // Secondary suppression hides a rectangle with the cheapest cells: 20 (row 0) and 40
        // (column 0), then 50 to close it. The attacker then learns x00 ∈ [0, 22].
        let out = secondary_suppression(
            &t,
            &primary,
            &[MeasureTable { values: &v, relations: &relations, protection, known: None, protect_zero: None }],
            &v,
        );
        assert!(out.unprotected.is_empty());
        let hidden: Vec<usize> = (0..16).filter(|c| out.status[*c].is_suppressed()).collect();
        assert_eq!(hidden, vec![0, 1, 4, 5]);
        let h: Vec<bool> = out.status.iter().map(|s| s.is_suppressed()).collect();
        let i = audit_intervals(&v, &h, &cs, &[0], None)[0];
        assert!(i.lo.abs() < 1e-6 && (i.hi - 22.0).abs() < 1e-6, "{i:?}");
        assert!(protection.satisfied(2.0, &i));
    }

    #[test]
    fn cubes_span_siblings_and_skip_published_ones() {
        // A 4×3×3 table with totals. Around every inner cell, each cube has 2³ distinct inner
        // corners, each differing from the cell in as many coordinates as its sign says (−1 for
        // an odd number); and the cubes kept when only suppressed siblings may be used are
        // exactly the all-suppressed cubes among all of them, in the same order.
        let t = HierTable::new(vec![DimTree::flat(4, true), DimTree::flat(3, true), DimTree::flat(3, true)]);
        let relations = vec![Relation::Equal; t.constraints().len()];
        let v = vec![1.0; t.n_cells()];
        let m = [MeasureTable {
            values: &v,
            relations: &relations,
            protection: Protection { ratio: 0.3, min_width: 1.0 },
            known: None,
            protect_zero: None,
        }];
        let cubes = Cubes::new(&t, &t.constraints(), &m);
        let hidden: Vec<bool> = (0..t.n_cells()).map(|c| (c * 2_654_435_761) % 97 < 80).collect();
        let mut kept = 0;
        for cell in (0..t.n_cells()).filter(|c| t.is_inner(*c)) {
            let all = cubes.cubes(cell, &|_| true);
            assert_eq!(all.len(), 3 * 2 * 2);
            let coords = t.coords(cell);
            for cube in &all {
                let mut corners: Vec<usize> = cube.iter().map(|(x, _)| *x).collect();
                corners.sort_unstable();
                corners.dedup();
                assert_eq!(corners.len(), 8);
                for (x, sign) in cube {
                    assert!(t.is_inner(*x));
                    let moved = t.coords(*x).iter().zip(&coords).filter(|(a, b)| a != b).count();
                    assert_eq!(*sign, if moved % 2 == 0 { 1.0 } else { -1.0 });
                }
            }
            let want: Vec<_> = all.into_iter().filter(|c| c.iter().all(|(x, _)| hidden[*x])).collect();
            let got: Vec<_> =
                cubes.cubes(cell, &|x| hidden[x]).into_iter().filter(|c| c.iter().all(|(x, _)| hidden[*x])).collect();
            kept += want.len();
            assert_eq!(got, want);
        }
        assert!(kept > 0 && kept < 24 * 12, "{kept}");
    }

    #[test]
    fn several_measures_end_protected_in_each() {
        // Random 4×3×3 tables with totals and two measures that disagree (a cell may be
        // protected in one and not the other, so later rounds audit it in one table only):
        // the final pattern must protect every primary cell in both, by exact intervals.
        let t = HierTable::new(vec![DimTree::flat(4, true), DimTree::flat(3, true), DimTree::flat(3, true)]);
        let n = t.n_cells();
        let cs: Vec<(Constraint, Relation)> = t.constraints().into_iter().map(|c| (c, Relation::Equal)).collect();
        let relations = vec![Relation::Equal; cs.len()];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut by_degree: Vec<usize> = (0..n).filter(|c| !t.is_inner(*c)).collect();
        by_degree.sort_by_key(|c| t.margin_degree(*c));
        let (mut later_rounds, mut checked) = (0, 0);
        for _ in 0..8 {
            let mut tables: Vec<Vec<f64>> = Vec::new();
            for _ in 0..2 {
                let mut v: Vec<f64> =
                    (0..n).map(|c| if t.is_inner(c) { (1 + next() % 40) as f64 } else { 0.0 }).collect();
                for &cell in &by_degree {
                    let coords = t.coords(cell);
                    let d = (0..3).find(|d| !t.dims()[*d].is_leaf(coords[*d])).unwrap_or(0);
                    v[cell] = t.dims()[d].children[coords[d]]
                        .iter()
                        .map(|k| {
                            let mut c = coords.clone();
                            c[d] = *k as usize;
                            v[t.cell(&c)]
                        })
                        .sum();
                }
                tables.push(v);
            }
            let primary: Vec<SdcStatus> =
                (0..n)
                    .map(|c| {
                        if t.is_inner(c) && next() % 6 == 0 {
                            SdcStatus::PrimaryFrequency
                        } else {
                            SdcStatus::Published
                        }
                    })
                    .collect();
            let protection = Protection { ratio: 0.3, min_width: 1.0 };
            let measures: Vec<MeasureTable<'_>> = tables
                .iter()
                .map(|v| MeasureTable { values: v, relations: &relations, protection, known: None, protect_zero: None })
                .collect();
            let out = secondary_suppression(&t, &primary, &measures, &tables[0]);
            assert!(out.unprotected.is_empty());
            later_rounds += usize::from(out.rounds > 1);
            let hidden: Vec<bool> = out.status.iter().map(|s| s.is_suppressed()).collect();
            let targets: Vec<usize> = (0..n).filter(|c| primary[*c].is_primary()).collect();
            for v in &tables {
                for (cell, i) in targets.iter().zip(audit_intervals(v, &hidden, &cs, &targets, None)) {
                    assert!(protection.satisfied(v[*cell], &i), "cell {cell}: {i:?}");
                    checked += 1;
                }
            }
        }
        assert!(later_rounds > 0 && checked > 20, "{later_rounds} {checked}");
    }

    #[test]
    fn deterministic() {
        let (t, v) = table();
        let mut primary = vec![SdcStatus::Published; 16];
        primary[0] = SdcStatus::PrimaryFrequency;
        primary[10] = SdcStatus::PrimaryDominance;
        let relations = vec![Relation::Equal; t.constraints().len()];
        let m = [MeasureTable {
            values: &v,
            relations: &relations,
            protection: Protection { ratio: 0.3, min_width: 1.0 },
            known: None,
            protect_zero: None,
        }];
        let a = secondary_suppression(&t, &primary, &m, &v).status;
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            assert_eq!(pool.install(|| secondary_suppression(&t, &primary, &m, &v).status), a);
        }
    }

    #[test]
    fn zero_full_rule() {
        // Areas × ages with totals. Area 0: 3 units all aged 0 (100 %) and none aged 1 (0 %);
        // area 1: 2 and 5. Groups are formed along the age dimension only.
        let t = HierTable::new(vec![DimTree::flat(2, true), DimTree::flat(2, true)]);
        let units = [3, 0, 3, 2, 5, 7, 5, 5, 10];
        let published = vec![SdcStatus::Published; 9];
        let mut full = published.clone();
        zero_full_suppression(&t, &units, &[1], false, &mut full);
        let hit = |s: &[SdcStatus]| (0..9).filter(|c| s[*c] == SdcStatus::PrimaryZeroFull).collect::<Vec<_>>();
        assert_eq!(hit(&full), vec![0]);
        let mut both = published.clone();
        zero_full_suppression(&t, &units, &[1], true, &mut both);
        assert_eq!(hit(&both), vec![0, 1]);
        // Along the area dimension: age 1's 5 units are all in area 1.
        let mut areas = published;
        zero_full_suppression(&t, &units, &[0], false, &mut areas);
        assert_eq!(hit(&areas), vec![4]);
        // A suppressed zero must be protected upwards by at least one unit.
        let v: Vec<f64> = units.iter().map(|u| *u as f64).collect();
        let relations = vec![Relation::Bounded; t.constraints().len()];
        let zeros: Vec<bool> = (0..9).map(|c| c == 1).collect();
        let m = MeasureTable {
            values: &v,
            relations: &relations,
            protection: Protection { ratio: 0.3, min_width: 1.0 },
            known: None,
            protect_zero: Some(&zeros),
        };
        assert_eq!(m.required(1), Some((0.0, 1.0)));
        assert_eq!(m.required(2), Some((2.0, 4.0)), "0.3 × 3 is below the one-unit minimum");
    }
}
