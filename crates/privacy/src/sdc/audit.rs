//! The attacker audit: for each suppressed cell, the tightest interval an attacker can derive
//! from the published cells, the table's constraints (see [`Relation`]) and the fact that
//! values are non-negative. Each bound is a linear program
//!
//! ```text
//! min / max  x_i   subject to   Σ children − parent = 0  (or the bounded form),  x ≥ 0,
//! ```
//!
//! over the suppressed cells (published cells are constants), solved with Clarabel, an
//! interior-point solver (Goulart & Chen 2024, <https://arxiv.org/abs/2405.12762>). Suppressed
//! cells only interact through constraints they share, so the problem splits into connected
//! components that are solved independently and in parallel.

use rayon::prelude::*;

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, SupportedConeT, ZeroConeT,
};

use super::hier::{Constraint, Relation};

/// An attacker's interval for one cell. `hi` is infinite when nothing bounds it from above.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lowest value consistent with the published table.
    pub lo: f64,
    /// Highest value consistent with the published table.
    pub hi: f64,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// A component's targets and the constraints that touch it.
type Component<'a> = (Vec<usize>, Vec<&'a (Constraint, Relation)>);

/// One linear program's rows: coefficients over component variables, and a constant.
#[derive(Clone)]
struct Row {
    terms: Vec<(usize, f64)>,
    rhs: f64,
    equality: bool,
}

/// The linear programs of one connected component of suppressed cells.
struct ComponentLp {
    /// The component's cells, ascending; variable `v` is cell `vars[v]`.
    vars: Vec<usize>,
    /// The targets in this component.
    targets: Vec<usize>,
    /// The constraint rows over the variables (values divided by the common scale).
    rows: Vec<Row>,
    /// For each row, the published cells folded into its constant, with their coefficients
    /// (`rhs = −Σ coef · value / scale`): what [`Shortfall`]s are made of.
    published: Vec<Vec<(usize, f64)>>,
}

impl ComponentLp {
    fn var_of(&self, cell: usize) -> Option<usize> {
        self.vars.binary_search(&cell).ok()
    }
}

/// How many steps (through shared constraints) a local program reaches from its target.
const LOCAL_DEPTH: usize = 2;

/// A neighbourhood of one target in a component, for programs much smaller than the
/// component's: the variables within a few steps of the target through shared rows (`inner`),
/// the rows that touch them, and every variable of those rows (`outer`, a superset of `inner`).
///
/// - The *restriction* keeps `inner` free and fixes every other cell at its true value. Each
///   of its feasible tables, completed with the true values, satisfies every constraint of the
///   component (the true table does), so its bound is one the attacker cannot rule out: if it
///   protects the target, so does the exact bound.
/// - The *relaxation* keeps those rows only, over `outer`. It drops constraints, so it allows
///   every table the component allows and more: its bound is at least as wide as the exact
///   one, and if it does not protect the target, neither does the exact bound.
///
/// Only a target that neither settles gets the exact program over the whole component, so the
/// verdict is that of the exact bound.
struct Local {
    /// The target's variable.
    target: usize,
    /// Component variables free in the restriction, ascending.
    inner: Vec<usize>,
    /// Component variables of the rows that touch `inner`, ascending.
    outer: Vec<usize>,
    /// Those rows (indices into the component's rows).
    rows: Vec<usize>,
}

impl Local {
    /// The neighbourhood of variable `target` at `depth` steps.
    fn around(comp: &ComponentLp, target: usize, depth: usize) -> Local {
        let n = comp.vars.len();
        let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (r, row) in comp.rows.iter().enumerate() {
            for (v, _) in &row.terms {
                rows_of[*v].push(r);
            }
        }
        let mut in_set = vec![false; n];
        in_set[target] = true;
        let mut inner = vec![target];
        let mut frontier = vec![target];
        for _ in 0..depth {
            let mut next = Vec::new();
            for v in frontier {
                for r in &rows_of[v] {
                    for (u, _) in &comp.rows[*r].terms {
                        if !in_set[*u] {
                            in_set[*u] = true;
                            next.push(*u);
                        }
                    }
                }
            }
            inner.extend(&next);
            frontier = next;
        }
        let mut row_set: Vec<usize> = inner.iter().flat_map(|v| rows_of[*v].iter().copied()).collect();
        row_set.sort_unstable();
        row_set.dedup();
        let mut outer: Vec<usize> = row_set.iter().flat_map(|r| comp.rows[*r].terms.iter().map(|(v, _)| *v)).collect();
        outer.sort_unstable();
        outer.dedup();
        inner.sort_unstable();
        Local { target, inner, outer, rows: row_set }
    }

    /// The restriction: rows over `inner` (other variables fixed at `values / scale`), their
    /// number of variables and the target's variable.
    fn restriction(&self, comp: &ComponentLp, values: &[f64], scale: f64) -> (Vec<Row>, usize, usize) {
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let row = &comp.rows[*r];
                let mut terms = Vec::new();
                let mut rhs = row.rhs;
                for (v, coef) in &row.terms {
                    match self.inner.binary_search(v) {
                        Ok(local) => terms.push((local, *coef)),
                        Err(_) => rhs -= coef * values[comp.vars[*v]] / scale,
                    }
                }
                Row { terms, rhs, equality: row.equality }
            })
            .filter(|r| !r.terms.is_empty())
            .collect();
        (rows, self.inner.len(), self.inner.binary_search(&self.target).unwrap_or(0))
    }

    /// The relaxation: the same rows over `outer`, their number of variables and the target's
    /// variable.
    fn relaxation(&self, comp: &ComponentLp) -> (Vec<Row>, usize, usize) {
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let row = &comp.rows[*r];
                let terms = row.terms.iter().map(|(v, c)| (self.outer.binary_search(v).unwrap_or(0), *c)).collect();
                Row { terms, rhs: row.rhs, equality: row.equality }
            })
            .collect();
        (rows, self.outer.len(), self.outer.binary_search(&self.target).unwrap_or(0))
    }
}

/// Splits the suppressed cells into components linked by shared constraints and builds each
/// component's rows: the constraints that touch it (published cells are constants) and what
/// the attacker knows of single cells. Returns the components that hold a target, and the scale.
fn components(
    values: &[f64],
    suppressed: &[bool],
    constraints: &[(Constraint, Relation)],
    targets: &[usize],
    known: Option<&[(f64, f64)]>,
) -> (Vec<ComponentLp>, f64) {
    let n = values.len();
    // Scale to keep the numbers near 1 for the interior-point method.
    let scale = values.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let mut uf: Vec<usize> = (0..n).collect();
    let relevant: Vec<&(Constraint, Relation)> = constraints
        .iter()
        .filter(|(c, _)| suppressed[c.parent] || c.children.iter().any(|ch| suppressed[*ch]))
        .collect();
    for (c, _) in &relevant {
        let mut cells = std::iter::once(c.parent).chain(c.children.iter().copied()).filter(|x| suppressed[*x]);
        if let Some(first) = cells.next() {
            for other in cells {
                let (a, b) = (find(&mut uf, first), find(&mut uf, other));
                if a != b {
                    uf[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let root_of: Vec<usize> = (0..n).map(|i| if suppressed[i] { find(&mut uf, i) } else { usize::MAX }).collect();
    // Group the targets and the constraints by component.
    let mut groups: std::collections::BTreeMap<usize, Component<'_>> = std::collections::BTreeMap::new();
    for &t in targets {
        groups.entry(root_of[t]).or_default().0.push(t);
    }
    for rc in &relevant {
        let (c, _) = rc;
        let any = std::iter::once(c.parent).chain(c.children.iter().copied()).find(|x| suppressed[*x]);
        if let Some(cell) = any {
            if let Some(entry) = groups.get_mut(&root_of[cell]) {
                entry.1.push(rc);
            }
        }
    }
    let mut members: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, r) in root_of.iter().enumerate() {
        if groups.contains_key(r) {
            members.entry(*r).or_default().push(i);
        }
    }
    let out = groups
        .into_iter()
        .map(|(root, (ts, cs))| {
            let vars = members.remove(&root).unwrap_or_default();
            let (rows, published) = program_rows(&vars, cs.iter().copied(), values, scale, known);
            ComponentLp { vars, targets: ts, rows, published }
        })
        .collect();
    (out, scale)
}

/// The rows of the program over `vars` (sorted cells; all other cells are constants at their
/// `values`): each constraint in `constraints` as `Σ children − parent = 0` (or the bounded
/// form), and what the attacker knows of single variables. Values are divided by `scale`.
/// Also returns, per row, the published cells in its constant with their coefficients.
fn program_rows<'a>(
    vars: &[usize],
    constraints: impl Iterator<Item = &'a (Constraint, Relation)>,
    values: &[f64],
    scale: f64,
    known: Option<&[(f64, f64)]>,
) -> (Vec<Row>, Vec<Vec<(usize, f64)>>) {
    let var_of = |cell: usize| vars.binary_search(&cell).ok();
    let mut rows = Vec::new();
    let mut published = Vec::new();
    for (c, rel) in constraints {
        // Σ children − parent, split into variables and constants.
        let mut terms = Vec::new();
        let mut fixed = Vec::new();
        let mut add = |cell: usize, coef: f64| match var_of(cell) {
            Some(v) => terms.push((v, coef)),
            None => fixed.push((cell, coef)),
        };
        add(c.parent, -1.0);
        for ch in &c.children {
            add(*ch, 1.0);
        }
        let constant = fixed.iter().map(|(cell, coef)| coef * values[*cell] / scale).sum::<f64>();
        match rel {
            Relation::Equal => {
                rows.push(Row { terms, rhs: -constant, equality: true });
                published.push(fixed);
            }
            Relation::Bounded => {
                // Σ children − parent ≥ 0, and parent − child ≥ 0 for each child.
                rows.push(Row { terms, rhs: -constant, equality: false });
                published.push(fixed);
                for ch in &c.children {
                    let mut t = Vec::new();
                    let mut f = Vec::new();
                    for (cell, coef) in [(c.parent, 1.0), (*ch, -1.0)] {
                        match var_of(cell) {
                            Some(v) => t.push((v, coef)),
                            None => f.push((cell, coef)),
                        }
                    }
                    if !t.is_empty() {
                        let k = f.iter().map(|(cell, coef)| coef * values[*cell] / scale).sum::<f64>();
                        rows.push(Row { terms: t, rhs: -k, equality: false });
                        published.push(f);
                    }
                }
            }
        }
    }
    // Prior knowledge of single cells: x ≥ lo and −x ≥ −hi.
    if let Some(known) = known {
        for (v, cell) in vars.iter().enumerate() {
            let (lo, hi) = known[*cell];
            if lo > 0.0 {
                rows.push(Row { terms: vec![(v, 1.0)], rhs: lo / scale, equality: false });
                published.push(Vec::new());
            }
            if hi.is_finite() {
                rows.push(Row { terms: vec![(v, -1.0)], rhs: -hi / scale, equality: false });
                published.push(Vec::new());
            }
        }
    }
    (rows, published)
}

/// The intervals of the `targets` (suppressed cells) given `values` of every cell, which cells
/// are `suppressed`, the table's `constraints` with their relations, and optionally what the
/// attacker knows of each cell beforehand (`known[cell] = (lo, hi)`, for example that a cell
/// published as "fewer than 5 units" holds between 1 and 4). A bound the solver could not
/// settle is NaN, which fails every protection check.
pub fn audit_intervals(
    values: &[f64],
    suppressed: &[bool],
    constraints: &[(Constraint, Relation)],
    targets: &[usize],
    known: Option<&[(f64, f64)]>,
) -> Vec<Interval> {
    let (comps, scale) = components(values, suppressed, constraints, targets, known);
    let results: Vec<Vec<(usize, Interval)>> = comps
        .into_par_iter()
        .map(|comp| {
            comp.targets
                .par_iter()
                .map(|t| {
                    let v = comp.var_of(*t).unwrap_or(0);
                    let lo = solve(&comp.rows, comp.vars.len(), &[(v, 1.0)]).lower(v, scale);
                    let hi = solve(&comp.rows, comp.vars.len(), &[(v, -1.0)]).upper(v, scale);
                    (*t, Interval { lo, hi })
                })
                .collect()
        })
        .collect();
    let mut by_cell = std::collections::HashMap::new();
    for r in results.into_iter().flatten() {
        by_cell.insert(r.0, r.1);
    }
    targets.iter().map(|t| by_cell.get(t).copied().unwrap_or(Interval { lo: 0.0, hi: f64::INFINITY })).collect()
}

/// One side of a target that the audit found unprotected, with the published cells whose
/// suppression would widen it. They are read from the dual solution of the program that
/// bounded the side: the bound is a combination of the rows' constants, and a published cell
/// whose value enters that combination is one the bound depends on. Suppressing it lets the
/// cell move, and the bound with it (the Benders-type separation of Fischetti &
/// Salazar-González 2000, "Models and algorithms for optimizing cell suppression in tabular
/// data with linear constraints", JASA 95(451), in a greedy form). A hint for choosing
/// complementary cells, never a proof: the next audit decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    /// How much the side must still widen, in the measure's units.
    pub gap: f64,
    /// Published cells the bound depends on, ascending, each with the bound's rate of change
    /// per unit of the cell's value (its absolute value), and how much suppressing it alone
    /// could widen the side to first order: that rate times the room the cell has to move the
    /// right way (down to 0 or its known lower bound, or up to its known upper bound; infinite
    /// when nothing bounds it above).
    ///
    /// The duals come from an interior-point method, so they lie inside the face of optimal
    /// duals: a cell in every optimal dual has the full rate (and suppressing it surely moves
    /// the bound), a cell in only some of them a fraction of it.
    pub cells: Vec<(usize, f64, f64)>,
}

/// The [`Shortfall`] of a side bounded by a program with dual values `y` (see [`Lp`]) over
/// rows whose constants hold the `published` cells; `gap` as in [`Shortfall`].
///
/// The program minimises `x_t` (lower side) or `−x_t` (upper side), so its optimum times the
/// scale is `lo` or `−hi`, and widening means lowering it. A row's right-hand side is
/// `−Σ coef · value / scale`, so the optimum times the scale changes at `−Σ_r y_r · coef_r`
/// per unit of a published cell's value.
fn shortfall(
    y: &[f64],
    published: &[&[(usize, f64)]],
    gap: f64,
    values: &[f64],
    known: Option<&[(f64, f64)]>,
) -> Shortfall {
    let mut slope: std::collections::BTreeMap<usize, f64> = std::collections::BTreeMap::new();
    for (yr, cells) in y.iter().zip(published) {
        for (cell, coef) in cells.iter() {
            *slope.entry(*cell).or_insert(0.0) -= yr * coef;
        }
    }
    let cells = slope
        .into_iter()
        // Interior-point duals are never exactly zero: ignore rates that are noise.
        .filter(|(_, g)| g.abs() > 1e-4)
        .map(|(cell, g)| {
            let (lo, hi) = known.map_or((0.0, f64::INFINITY), |k| k[cell]);
            // A positive rate lowers the optimum when the cell falls, a negative one when it rises.
            let room = if g > 0.0 { values[cell] - lo } else { hi - values[cell] };
            (cell, g.abs(), g.abs() * room.max(0.0))
        })
        .filter(|(_, _, gain)| *gain > 0.0)
        .collect();
    Shortfall { gap, cells }
}

/// Whether each target's attacker interval reaches its required interval `required[k] =
/// (lo, hi)`: the interval must contain `[lo, hi]`. Same model as [`audit_intervals`], but
/// cheaper when most targets pass. See [`audit_shortfalls`].
pub fn audit_protected(
    values: &[f64],
    suppressed: &[bool],
    constraints: &[(Constraint, Relation)],
    targets: &[usize],
    required: &[(f64, f64)],
    known: Option<&[(f64, f64)]>,
) -> Vec<bool> {
    audit_shortfalls(values, suppressed, constraints, targets, required, known).iter().map(Option::is_none).collect()
}

/// For each target, `None` when its attacker interval reaches its required interval
/// `required[k] = (lo, hi)` (the interval contains `[lo, hi]`), otherwise the [`Shortfall`] of
/// each failing side whose program gave a dual solution (possibly none, for example when the
/// solver failed). Same model as [`audit_intervals`], but cheaper when most targets pass.
///
/// Each side is first settled by *witnesses*: any table that satisfies every constraint is one
/// the attacker cannot rule out, so a feasible table in which a target is at most its `lo`
/// proves the lower side (and at least its `hi`, the upper side). One linear program finds a
/// witness for many targets at once: it minimises `Σ w_j · max(x_j, lo_j)` (and maximises
/// `Σ w_j · min(x_j, hi_j)`), where the caps stop it trading one target against another. It is
/// repeated on the targets still open while it settles new ones; each target left then gets
/// its exact bound, as in [`audit_intervals`]. A side counts as protected only with a witness
/// or an exact bound, so the answer is the same as comparing exact intervals, and a solver
/// failure counts as "not protected".
pub fn audit_shortfalls(
    values: &[f64],
    suppressed: &[bool],
    constraints: &[(Constraint, Relation)],
    targets: &[usize],
    required: &[(f64, f64)],
    known: Option<&[(f64, f64)]>,
) -> Vec<Option<Vec<Shortfall>>> {
    let need: std::collections::HashMap<usize, (f64, f64)> =
        targets.iter().copied().zip(required.iter().copied()).collect();
    let (comps, scale) = components(values, suppressed, constraints, targets, known);
    let tol = |cell: usize| 1e-6 * values[cell].abs().max(1.0);
    type Failing = Vec<(usize, Option<Shortfall>)>;
    // A side's verdict: `None` when protected, else the shortfall if a dual solution gave one.
    type Verdict = Option<Option<Shortfall>>;
    let results: Vec<Vec<(usize, Option<Vec<Shortfall>>)>> = comps
        .into_par_iter()
        .map(|comp| {
            let n_vars = comp.vars.len();
            // Each side: witness programs over the targets still open, while they settle new
            // ones; then, for each target left, the local programs around it and, if they do
            // not settle it, the exact program. A single target's witness program is exact
            // already (min max(x, lo) = lo exactly when lo is reachable).
            let sides: Vec<Failing> = [true, false]
                .into_par_iter()
                .map(|low| {
                    // The bound of variable `var` in a program (NaN when the solve failed,
                    // which protects nothing), with the program's dual values.
                    let bound = |rows: &[Row], n: usize, var: usize| {
                        let lp = if low { solve(rows, n, &[(var, 1.0)]) } else { solve(rows, n, &[(var, -1.0)]) };
                        let b = if low { lp.lower(var, scale) } else { lp.upper(var, scale) };
                        (b, lp)
                    };
                    // How much the side of `t` bounded by `b` must still widen (≤ 0: protected).
                    let gap = |t: usize, b: f64| {
                        let (lo, hi) = need[&t];
                        if low {
                            b - lo
                        } else {
                            hi - b
                        }
                    };
                    let protects = |t: usize, b: f64| gap(t, b) <= tol(t);
                    // The shortfall of `t`, from the dual values of a program whose rows are
                    // the component's rows `rows` (then rows without published cells).
                    let short = |t: usize, b: f64, lp: &Lp, rows: &[usize]| match lp {
                        Lp::Optimal(_, y) if !b.is_nan() => {
                            let published: Vec<&[(usize, f64)]> =
                                rows.iter().map(|r| comp.published[*r].as_slice()).collect();
                            Some(shortfall(y, &published, gap(t, b), values, known))
                        }
                        _ => None,
                    };
                    let all_rows: Vec<usize> = (0..comp.rows.len()).collect();
                    // The verdict of the local programs around `t`, if they settle it (with
                    // the relaxation's shortfall when it fails).
                    let local = |t: usize| -> Option<Verdict> {
                        // The widest neighbourhood (at most `LOCAL_DEPTH` steps) that is much
                        // smaller than the component; none: the exact program is as cheap.
                        // Through the margins, two steps often reach most of a component,
                        // while the cell's own constraints (one step) still prove most failing
                        // sides unprotected: on the monthly table this halves the first
                        // round's exact programs (170 → 88). Both are proofs at any depth.
                        let local = (1..=LOCAL_DEPTH)
                            .rev()
                            .map(|depth| Local::around(&comp, comp.var_of(t).unwrap_or(0), depth))
                            .find(|local| local.outer.len() * 4 <= n_vars)?;
                        let (rows, n, var) = local.restriction(&comp, values, scale);
                        if protects(t, bound(&rows, n, var).0) {
                            return Some(None);
                        }
                        let (rows, n, var) = local.relaxation(&comp);
                        let (b, lp) = bound(&rows, n, var);
                        (!b.is_nan() && !protects(t, b)).then(|| Some(short(t, b, &lp, &local.rows)))
                    };
                    // The exact verdict of `t`: `None` when protected.
                    let exact = |t: usize| -> Verdict {
                        let (b, lp) = bound(&comp.rows, n_vars, comp.var_of(t).unwrap_or(0));
                        (!protects(t, b)).then(|| short(t, b, &lp, &all_rows))
                    };
                    let mut open = comp.targets.clone();
                    let mut failing: Failing = Vec::new();
                    while !open.is_empty() {
                        let required: Vec<(f64, f64)> = open.iter().map(|t| need[t]).collect();
                        let (all, objective) = witness_program(&comp, &open, &required, low, scale);
                        let before = open.len();
                        // A failed solve settles nothing.
                        let lp = solve(&all, n_vars + open.len(), &objective);
                        if let Lp::Optimal(x, _) = &lp {
                            open.retain(|t| !protects(*t, x[comp.var_of(*t).unwrap_or(0)] * scale));
                        }
                        if before == 1 {
                            // The program was exact for its one target (weight 1); its
                            // objective is x (or −x) when the target fails.
                            failing.extend(open.iter().map(|t| {
                                let b = lp.value(comp.var_of(*t).unwrap_or(0)).map_or(f64::NAN, |x| x * scale);
                                (*t, short(*t, b, &lp, &all_rows))
                            }));
                            return failing;
                        }
                        if open.len() == before {
                            break;
                        }
                    }
                    failing.extend(
                        open.par_iter()
                            .filter_map(|t| local(*t).unwrap_or_else(|| exact(*t)).map(|s| (*t, s)))
                            .collect::<Failing>(),
                    );
                    failing
                })
                .collect();
            let mut out: std::collections::BTreeMap<usize, Option<Vec<Shortfall>>> =
                comp.targets.iter().map(|t| (*t, None)).collect();
            for (t, s) in sides.into_iter().flatten() {
                out.entry(t).or_insert(None).get_or_insert_with(Vec::new).extend(s);
            }
            out.into_iter().collect()
        })
        .collect();
    let mut by_cell = std::collections::HashMap::new();
    for r in results.into_iter().flatten() {
        by_cell.insert(r.0, r.1);
    }
    // A target in no component touches no constraint: nothing bounds it but non-negativity.
    targets
        .iter()
        .zip(required)
        .map(|(t, (lo, _))| match by_cell.remove(t) {
            Some(verdict) => verdict,
            None => (*lo > tol(*t)).then(Vec::new),
        })
        .collect()
}

/// The witness program of one side (`low`: the lower one) for the `open` targets of `comp`
/// with their required intervals: the component's rows, then two rows per target over its
/// cap variable (`n_vars + k` for the `k`-th target), and the objective. It minimises
/// `Σ w_k · max(x_k, lo_k)` (maximises `Σ w_k · min(x_k, hi_k)`); a solution in which a target
/// reaches its bound is a witness for that side (see [`audit_shortfalls`]).
fn witness_program(
    comp: &ComponentLp,
    open: &[usize],
    required: &[(f64, f64)],
    low: bool,
    scale: f64,
) -> (Vec<Row>, Vec<(usize, f64)>) {
    let n_vars = comp.vars.len();
    let mut rows: Vec<Row> = comp.rows.clone();
    let mut objective = Vec::new();
    // Weights 1 / (hi − lo), divided by the largest so that they are at most 1: large
    // objective coefficients next to the scaled values (most far below 1) slow the
    // interior-point method down tenfold.
    //
    // Each weight is also scaled by a factor from 1 down to 1/2 along the open targets.
    // Without it, targets that compete for the same slack (two cells that cannot both reach
    // their bound, each of which can alone) weigh the same, every split of the slack is
    // optimal, and the interior-point method returns the centre of that optimal face, where
    // none of them reaches its bound: the program settled nothing, and every such target went
    // to an exact program (about 250 of them on the monthly table's persons, almost all
    // protected). With distinct weights the optimum gives the slack to one of them, which is
    // settled, and the next program goes on with the others. Verdicts do not depend on the
    // weights: a target is settled only when the solution reaches its bound.
    let width = |(lo, hi): (f64, f64)| (hi - lo).max(1e-6 * hi.abs().max(1.0));
    let narrowest = required.iter().map(|r| width(*r)).fold(f64::INFINITY, f64::min);
    for (k, (t, (lo, hi))) in open.iter().zip(required).enumerate() {
        let v = comp.var_of(*t).unwrap_or(0);
        let cap = n_vars + k;
        let w = narrowest / width((*lo, *hi)) * (1.0 - 0.5 * k as f64 / open.len() as f64);
        if low {
            // cap ≥ x, cap ≥ lo; minimise the caps.
            rows.push(Row { terms: vec![(cap, 1.0), (v, -1.0)], rhs: 0.0, equality: false });
            rows.push(Row { terms: vec![(cap, 1.0)], rhs: lo / scale, equality: false });
            objective.push((cap, w));
        } else {
            // cap ≤ x, cap ≤ hi; maximise the caps.
            rows.push(Row { terms: vec![(v, 1.0), (cap, -1.0)], rhs: 0.0, equality: false });
            rows.push(Row { terms: vec![(cap, -1.0)], rhs: -hi / scale, equality: false });
            objective.push((cap, -w));
        }
    }
    (rows, objective)
}

/// Whether each target's attacker interval is at least `width` wide, without computing every
/// interval: two feasible tables in which a target differs by `width` prove it (both are tables
/// the attacker cannot rule out). One program over two copies of the table maximises
/// `Σ min(y_j − x_j, width)` for many targets at once and is repeated on the targets still open;
/// the rest get their exact intervals, which are returned for them (`None` for settled ones).
/// Same model as [`audit_intervals`]; for auditing a release folder, where true values are
/// unknown.
pub fn audit_widths(
    values: &[f64],
    suppressed: &[bool],
    constraints: &[(Constraint, Relation)],
    targets: &[usize],
    known: Option<&[(f64, f64)]>,
    width: f64,
) -> Vec<(bool, Option<Interval>)> {
    let (comps, scale) = components(values, suppressed, constraints, targets, known);
    let w = width / scale;
    type Verdicts = Vec<(usize, (bool, Option<Interval>))>;
    let results: Vec<Verdicts> = comps
        .into_par_iter()
        .map(|comp| {
            let n = comp.vars.len();
            let mut open = comp.targets.clone();
            // The caps start at 1 % of the largest value and halve whenever a program settles
            // nothing, down to the width itself (plus the margin of the check below). A cap of
            // two units alone is far below the solver's tolerance on tables of millions (2 / 282 405 on the benchmark's entries,
            // 2 / 1.6·10⁸ on its amounts in cents): the programs then settled nothing and every
            // value went to the exact programs (minutes on the monthly table). A wider cap is
            // reached by most values, and settles them as well: the verdict reads the solution,
            // not the cap.
            let floor = w * (1.0 + 1e-3) + 1e-6;
            let mut cap_width = floor.max(1e-2);
            while !open.is_empty() {
                // Rows over x (0..n) and over y (n..2n), then one cap per open target.
                let mut rows: Vec<Row> = comp.rows.clone();
                rows.extend(comp.rows.iter().map(|r| Row {
                    terms: r.terms.iter().map(|(v, c)| (v + n, *c)).collect(),
                    rhs: r.rhs,
                    equality: r.equality,
                }));
                let mut objective = Vec::new();
                for (k, t) in open.iter().enumerate() {
                    let v = comp.var_of(*t).unwrap_or(0);
                    // The shortfall s ≥ 0 of y − x below the cap: s + y − x ≥ cap_width,
                    // minimising Σ weight · s maximises Σ weight · min(y − x, cap_width), and
                    // y − x may be negative. (A cap variable c ≤ y − x would be non-negative
                    // like every variable, forcing y ≥ x on every target at once; where a
                    // total ties the hidden cells together, y = x was then the only solution
                    // and the programs settled nothing.) Distinct weights (1 down to 1/2), as
                    // in `witness_program`: with equal ones, targets competing for the same
                    // slack leave the interior-point method at the centre of the optimal face.
                    // Here they fall quadratically: a total ties its hidden cells' differences
                    // to sum to zero, so what a program gains is a difference of weights, and
                    // linear weights made those equal (a flat objective, and the centre again).
                    let shortfall = 2 * n + k;
                    rows.push(Row {
                        terms: vec![(v + n, 1.0), (v, -1.0), (shortfall, 1.0)],
                        rhs: cap_width,
                        equality: false,
                    });
                    let rank = k as f64 / open.len() as f64;
                    objective.push((shortfall, 1.0 - 0.5 * rank * rank));
                }
                let before = open.len();
                if let Lp::Optimal(x, _) = solve(&rows, 2 * n + open.len(), &objective) {
                    // Both tables are feasible, so a difference either way proves the width —
                    // with a margin for what the solver resolves (its feasibility tolerance is
                    // about 10⁻⁸ of the largest value: a cent or two on tables of millions of
                    // euros, where a two-cent difference proves nothing).
                    open.retain(|t| {
                        let v = comp.var_of(*t).unwrap_or(0);
                        (x[v + n] - x[v]).abs() * scale < width + 1e-7 * scale
                    });
                }
                if open.len() == before {
                    // Nothing settled: a narrower cap, or (at the width, or below what the
                    // solver resolves) the exact programs.
                    if cap_width <= floor {
                        break;
                    }
                    cap_width = (cap_width / 2.0).max(floor);
                }
            }
            let exact = audit_intervals(values, suppressed, constraints, &open, known);
            let mut out: Vec<(usize, (bool, Option<Interval>))> =
                open.iter().zip(exact).map(|(t, i)| (*t, (i.hi - i.lo >= width - 1e-6, Some(i)))).collect();
            out.extend(comp.targets.iter().filter(|t| !open.contains(t)).map(|t| (*t, (true, None))));
            out
        })
        .collect();
    let by_cell: std::collections::HashMap<usize, (bool, Option<Interval>)> = results.into_iter().flatten().collect();
    // A target in no component is bounded by nothing but non-negativity.
    targets.iter().map(|t| by_cell.get(t).cloned().unwrap_or((true, None))).collect()
}

/// What a linear program gave.
enum Lp {
    /// An optimal solution `x`, and the dual value of each row in the order given to
    /// [`solve`]: how fast the optimal objective grows with the row's right-hand side.
    Optimal(Vec<f64>, Vec<f64>),
    /// The objective is unbounded below.
    Unbounded,
    /// The solver gave up: nothing may be concluded from it.
    Failed,
}

impl Lp {
    /// The optimal value of variable `v`.
    fn value(&self, v: usize) -> Option<f64> {
        match self {
            Lp::Optimal(x, _) => x.get(v).copied(),
            _ => None,
        }
    }

    /// The exact lower bound of `v` (from minimising it): the attacker's lowest value, or NaN
    /// when the solver failed (NaN fails every protection check).
    fn lower(&self, v: usize, scale: f64) -> f64 {
        self.value(v).map_or(f64::NAN, |x| x.max(0.0) * scale)
    }

    /// The exact upper bound of `v` (from minimising −v): +∞ when unbounded, NaN on failure.
    fn upper(&self, v: usize, scale: f64) -> f64 {
        match self {
            Lp::Unbounded => f64::INFINITY,
            _ => self.value(v).map_or(f64::NAN, |x| x * scale),
        }
    }
}

/// Minimises `Σ coef · x_var` over the rows and `x ≥ 0`.
fn solve(rows: &[Row], n_vars: usize, objective: &[(usize, f64)]) -> Lp {
    let eq: Vec<&Row> = rows.iter().filter(|r| r.equality).collect();
    let ineq: Vec<&Row> = rows.iter().filter(|r| !r.equality).collect();
    let (mut ri, mut ci, mut vals) = (Vec::new(), Vec::new(), Vec::new());
    let mut b = Vec::new();
    // Equalities: A x = b → A x + s = b, s = 0.
    for (r, row) in eq.iter().enumerate() {
        for (v, coef) in &row.terms {
            ri.push(r);
            ci.push(*v);
            vals.push(*coef);
        }
        b.push(row.rhs);
    }
    // Inequalities G x ≥ h → −G x + s = −h, s ≥ 0.
    let base = eq.len();
    for (r, row) in ineq.iter().enumerate() {
        for (v, coef) in &row.terms {
            ri.push(base + r);
            ci.push(*v);
            vals.push(-coef);
        }
        b.push(-row.rhs);
    }
    // Non-negativity: −x + s = 0, s ≥ 0.
    let base = eq.len() + ineq.len();
    for v in 0..n_vars {
        ri.push(base + v);
        ci.push(v);
        vals.push(-1.0);
        b.push(0.0);
    }
    let m = base + n_vars;
    let a = CscMatrix::new_from_triplets(m, n_vars, ri, ci, vals);
    let p = CscMatrix::zeros((n_vars, n_vars));
    let mut q = vec![0.0; n_vars];
    for (v, coef) in objective {
        q[*v] += coef;
    }
    let mut cones: Vec<SupportedConeT<f64>> = Vec::new();
    if !eq.is_empty() {
        cones.push(ZeroConeT(eq.len()));
    }
    cones.push(NonnegativeConeT(ineq.len() + n_vars));
    let Ok(settings) = DefaultSettingsBuilder::default().verbose(false).max_iter(200).build() else {
        return Lp::Failed;
    };
    let Ok(mut solver) = DefaultSolver::new(&p, &q, &a, &b, &cones, settings) else { return Lp::Failed };
    solver.solve();
    match solver.solution.status {
        SolverStatus::Solved | SolverStatus::AlmostSolved => {
            // Clarabel's duals z satisfy Aᵀz + q = 0 with objective −bᵀz, so the objective
            // grows at −z per unit of an equality's b = rhs and at z per unit of an
            // inequality's b = −rhs. Back to the caller's row order.
            let z = &solver.solution.z;
            let (mut e, mut i) = (0, eq.len());
            let y = rows
                .iter()
                .map(|r| {
                    if r.equality {
                        e += 1;
                        -z[e - 1]
                    } else {
                        i += 1;
                        z[i - 1]
                    }
                })
                .collect();
            Lp::Optimal(solver.solution.x.clone(), y)
        }
        SolverStatus::DualInfeasible => Lp::Unbounded,
        // Anything else (including "almost" infeasibility certificates) concludes nothing.
        _ => Lp::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdc::hier::{DimTree, HierTable};

    fn eq_constraints(t: &HierTable) -> Vec<(Constraint, Relation)> {
        t.constraints().into_iter().map(|c| (c, Relation::Equal)).collect()
    }

    /// A 2×2 table with totals:
    ///
    /// ```text
    ///  5  3 |  8
    ///  2  7 |  9
    /// ------+---
    ///  7 10 | 17
    /// ```
    fn table() -> (HierTable, Vec<f64>) {
        let t = HierTable::new(vec![DimTree::flat(2, true), DimTree::flat(2, true)]);
        (t, vec![5.0, 3.0, 8.0, 2.0, 7.0, 9.0, 7.0, 10.0, 17.0])
    }

    #[test]
    fn a_lone_suppressed_cell_is_recovered_exactly() {
        let (t, v) = table();
        let mut s = vec![false; 9];
        s[0] = true;
        let i = audit_intervals(&v, &s, &eq_constraints(&t), &[0], None)[0];
        assert!((i.lo - 5.0).abs() < 1e-6 && (i.hi - 5.0).abs() < 1e-6, "{i:?}");
    }

    #[test]
    fn a_suppressed_rectangle_gives_the_hand_computed_interval() {
        // Suppress the four inner cells: x00 + x01 = 8, x10 + x11 = 9, x00 + x10 = 7,
        // x01 + x11 = 10. With x00 = a: x01 = 8 − a, x10 = 7 − a, x11 = 2 + a, all ≥ 0,
        // so a ∈ [0, 7], x01 ∈ [1, 8], x10 ∈ [0, 7], x11 ∈ [2, 9].
        let (t, v) = table();
        let mut s = vec![false; 9];
        for c in [0, 1, 3, 4] {
            s[c] = true;
        }
        let got = audit_intervals(&v, &s, &eq_constraints(&t), &[0, 1, 3, 4], None);
        let want = [(0.0, 7.0), (1.0, 8.0), (0.0, 7.0), (2.0, 9.0)];
        for (g, w) in got.iter().zip(want) {
            assert!((g.lo - w.0).abs() < 1e-6 && (g.hi - w.1).abs() < 1e-6, "{g:?} vs {w:?}");
        }
    }

    #[test]
    fn witness_programs_settle_targets_that_compete() {
        // The suppressed rectangle of the table above: x00 = a and x01 = 8 − a, a ∈ [0, 7].
        // x00 can reach 2 (a ≤ 2) and x01 can reach 1.5 (a ≥ 6.5), but not both at once. With
        // equal weights every a in [2, 6.5] is optimal, and the interior-point method returns
        // the middle (x00 = 4.25, x01 = 3.75): no witness. Distinct weights settle one of them.
        let (t, v) = table();
        let mut s = vec![false; 9];
        for c in [0, 1, 3, 4] {
            s[c] = true;
        }
        let (comps, scale) = components(&v, &s, &eq_constraints(&t), &[0, 1], None);
        let comp = &comps[0];
        let required = [(2.0, 8.0), (1.5, 7.5)];
        let (rows, objective) = witness_program(comp, &[0, 1], &required, true, scale);
        let Lp::Optimal(x, _) = solve(&rows, comp.vars.len() + 2, &objective) else { panic!("solver failed") };
        let reached = |cell: usize, lo: f64| x[comp.var_of(cell).unwrap_or(0)] * scale <= lo + 1e-6;
        assert!(
            reached(0, 2.0) || reached(1, 1.5),
            "{:?}",
            (x[comp.var_of(0).unwrap()] * scale, x[comp.var_of(1).unwrap()] * scale)
        );
    }

    #[test]
    fn bounded_relations_give_wider_intervals() {
        // Distinct counts: parent ≤ Σ children and parent ≥ each child. Row 0 gives
        // x00 ∈ [5, 8] and column 0 gives x00 ∈ [5, 7], so the attacker learns [5, 7]
        // (with equalities it would be exactly 5).
        let (t, v) = table();
        let cs: Vec<(Constraint, Relation)> = t.constraints().into_iter().map(|c| (c, Relation::Bounded)).collect();
        let mut s = vec![false; 9];
        s[0] = true;
        let i = audit_intervals(&v, &s, &cs, &[0], None)[0];
        assert!((i.lo - 5.0).abs() < 1e-6 && (i.hi - 7.0).abs() < 1e-6, "{i:?}");
    }

    #[test]
    fn shortfalls_name_the_cells_that_pin_a_bound() {
        // A 3×3 table with totals; only x00 = 2 is hidden, so row 0 (2 + 20 + 30 = 52) and
        // column 0 (2 + 40 + 70 = 112) each pin it to 2. With a required interval [1, 3] both
        // sides fail by 1, and the bound depends on the published cells of those two
        // constraints alone: at rates y and 1 − y (the duals of the row and the column, which
        // share the single unit of x00). The lower bound falls as a sibling rises (nothing
        // bounds that from above: infinite gain) and as a total falls (at most to 0: rate ×
        // value); the upper bound rises as a sibling falls and as a total rises.
        let t = HierTable::new(vec![DimTree::flat(3, true), DimTree::flat(3, true)]);
        let v = vec![2., 20., 30., 52., 40., 50., 60., 150., 70., 80., 90., 240., 112., 150., 180., 442.];
        let mut s = vec![false; 16];
        s[0] = true;
        let got = audit_shortfalls(&v, &s, &eq_constraints(&t), &[0], &[(1.0, 3.0)], None);
        let sides = got[0].as_ref().expect("x00 is pinned");
        assert_eq!(sides.len(), 2, "{sides:?}");
        for (low, side) in [true, false].into_iter().zip(sides) {
            assert!((side.gap - 1.0).abs() < 1e-6, "{side:?}");
            let cells: Vec<usize> = side.cells.iter().map(|c| c.0).collect();
            let rate = |cell: usize| side.cells.iter().find(|c| c.0 == cell).map_or(0.0, |c| c.1);
            let gain = |cell: usize| side.cells.iter().find(|c| c.0 == cell).map_or(0.0, |c| c.2);
            // Row 0: 20, 30 and the total 52 (cells 1, 2, 3); column 0: 40, 70, 112 (4, 8, 12).
            assert!(cells.iter().all(|c| [1, 2, 3, 4, 8, 12].contains(c)), "{side:?}");
            assert!((rate(1) + rate(4) - 1.0).abs() < 1e-4, "{side:?}");
            let (siblings, totals): (&[usize], &[usize]) = (&[1, 2, 4, 8], &[3, 12]);
            let (rises, falls) = if low { (siblings, totals) } else { (totals, siblings) };
            for (sibling, total) in [(1, 3), (2, 3), (4, 12), (8, 12)] {
                assert!((rate(sibling) - rate(total)).abs() < 1e-4, "{side:?}");
            }
            for &cell in rises {
                assert!(rate(cell) < 1e-4 || gain(cell).is_infinite(), "{side:?}");
            }
            for &cell in falls {
                assert!(rate(cell) < 1e-4 || (gain(cell) - rate(cell) * v[cell]).abs() < 1e-3, "{side:?}");
            }
        }
        // Once row 0's sibling 20 is hidden too (with 50 below it, closing a rectangle), the
        // cell is protected: no shortfall.
        for c in [1, 4, 5] {
            s[c] = true;
        }
        let got = audit_shortfalls(&v, &s, &eq_constraints(&t), &[0], &[(1.0, 3.0)], None);
        assert_eq!(got, vec![None]);
    }

    #[test]
    fn local_programs_bracket_the_exact_bounds() {
        // Random 4×3×2 tables with all totals: around every target, the restriction's interval
        // lies inside the exact one (its tables are tables the attacker cannot rule out) and
        // the relaxation's contains it (it drops constraints), at every depth.
        let t = HierTable::new(vec![DimTree::flat(4, true), DimTree::flat(3, true), DimTree::flat(2, true)]);
        let n = t.n_cells();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut checked, mut strict) = (0, 0);
        for round in 0..6 {
            let mut v: Vec<f64> =
                (0..n).map(|cell| if t.is_inner(cell) { (next() % 30) as f64 } else { 0.0 }).collect();
            // Margins as sums of their children, lowest margin degree first.
            let mut by_degree: Vec<usize> = (0..n).filter(|c| !t.is_inner(*c)).collect();
            by_degree.sort_by_key(|c| t.margin_degree(*c));
            for cell in by_degree {
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
            let relation = if round % 2 == 0 { Relation::Equal } else { Relation::Bounded };
            let cs: Vec<(Constraint, Relation)> = t.constraints().into_iter().map(|c| (c, relation)).collect();
            let hidden: Vec<bool> = (0..n).map(|_| next() % 2 == 0).collect();
            let targets: Vec<usize> = (0..n).filter(|c| hidden[*c]).collect();
            let (comps, scale) = components(&v, &hidden, &cs, &targets, None);
            for comp in &comps {
                for target in &comp.targets {
                    let x = comp.var_of(*target).unwrap_or(0);
                    let interval = |rows: &[Row], n: usize, var: usize| {
                        (
                            solve(rows, n, &[(var, 1.0)]).lower(var, scale),
                            solve(rows, n, &[(var, -1.0)]).upper(var, scale),
                        )
                    };
                    let exact = interval(&comp.rows, comp.vars.len(), x);
                    for depth in 0..3 {
                        let local = Local::around(comp, x, depth);
                        let (rows, m, var) = local.restriction(comp, &v, scale);
                        let inside = interval(&rows, m, var);
                        let (rows, m, var) = local.relaxation(comp);
                        let outside = interval(&rows, m, var);
                        let tol = 1e-6 * scale;
                        assert!(
                            outside.0 <= exact.0 + tol && exact.0 <= inside.0 + tol,
                            "{outside:?} {exact:?} {inside:?}"
                        );
                        assert!(
                            inside.1 <= exact.1 + tol && exact.1 <= outside.1 + tol,
                            "{outside:?} {exact:?} {inside:?}"
                        );
                        checked += 1;
                        strict += usize::from(inside.1 < exact.1 - tol || outside.0 < exact.0 - tol);
                    }
                }
            }
        }
        assert!(checked > 50 && strict > 5, "the cases must include local bounds that differ ({checked}, {strict})");
    }

    #[test]
    fn two_copy_programs_settle_cells_tied_by_a_published_total() {
        // Three rows of four cells and their totals, the row totals published, eight inner
        // cells hidden: each is anywhere in [0, its row total]. The two-copy programs must
        // prove every one wide without an exact program (`None`); a program that required
        // y ≥ x on every hidden cell at once found only y = x here.
        let t = HierTable::new(vec![DimTree::flat(3, true), DimTree::flat(4, true)]);
        let n = t.n_cells();
        let mut v = vec![0.0; n];
        let inner = [[5.0, 3.0, 8.0, 2.0], [4.0, 6.0, 1.0, 9.0], [7.0, 7.0, 3.0, 5.0]];
        for (r, row) in inner.iter().enumerate() {
            for (c, x) in row.iter().enumerate() {
                v[t.cell(&[r, c])] = *x;
                v[t.cell(&[r, 4])] += *x;
                v[t.cell(&[3, c])] += *x;
                v[t.cell(&[3, 4])] += *x;
            }
        }
        let hidden: Vec<bool> = (0..n)
            .map(|cell| {
                let c = t.coords(cell);
                c[0] < 2 && c[1] < 4
            })
            .collect();
        let targets: Vec<usize> = (0..n).filter(|c| hidden[*c]).collect();
        assert_eq!(targets.len(), 8);
        let verdicts = audit_widths(&v, &hidden, &eq_constraints(&t), &targets, None, 2.0);
        for (cell, (wide, interval)) in targets.iter().zip(&verdicts) {
            assert!(*wide, "cell {cell}");
            assert!(interval.is_none(), "cell {cell} needed an exact program: {interval:?}");
        }
    }

    #[test]
    fn witness_audit_agrees_with_exact_intervals() {
        // Random 4×3×2 tables with all totals and random suppression patterns: the witness
        // audit must give exactly the verdicts of comparing the exact LP intervals.
        let t = HierTable::new(vec![DimTree::flat(4, true), DimTree::flat(3, true), DimTree::flat(2, true)]);
        let n = t.n_cells();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut disagreements = 0;
        let (mut passes, mut fails) = (0, 0);
        let (mut widths_checked, mut narrow) = (0, 0);
        // Wide values of tables with equal totals, and how many the two-copy programs settled
        // without an exact program.
        let (mut wide_equal, mut settled_equal) = (0, 0);
        for round in 0..40 {
            // Inner values, then every margin as the sum of its inner cells.
            let mut v: Vec<f64> =
                (0..n).map(|cell| if t.is_inner(cell) { (next() % 30) as f64 } else { 0.0 }).collect();
            for cell in 0..n {
                if !t.is_inner(cell) {
                    let c = t.coords(cell);
                    v[cell] = (0..n)
                        .filter(|x| t.is_inner(*x))
                        .filter(|x| {
                            let xc = t.coords(*x);
                            xc.iter()
                                .zip(&c)
                                .zip(t.dims())
                                .all(|((a, b), d)| d.ancestors_or_self(*a as u32).any(|p| p as usize == *b))
                        })
                        .map(|x| v[x])
                        .sum();
                }
            }
            let relation = if round % 2 == 0 { Relation::Equal } else { Relation::Bounded };
            let cs: Vec<(Constraint, Relation)> = t.constraints().into_iter().map(|c| (c, relation)).collect();
            let hidden: Vec<bool> = (0..n).map(|_| next() % 3 == 0).collect();
            let targets: Vec<usize> = (0..n).filter(|c| hidden[*c] && v[*c] > 0.0).collect();
            let need: Vec<(f64, f64)> = targets.iter().map(|c| ((v[*c] * 0.7).max(0.0), v[*c] * 1.3)).collect();
            let exact = audit_intervals(&v, &hidden, &cs, &targets, None);
            let fast = audit_protected(&v, &hidden, &cs, &targets, &need, None);
            // The release-folder audit, which knows no values and audits every hidden cell: is
            // each interval at least 2 wide?
            let all: Vec<usize> = (0..n).filter(|c| hidden[*c]).collect();
            let exact_all = audit_intervals(&v, &hidden, &cs, &all, None);
            for ((i, (wide, interval)), t) in
                exact_all.iter().zip(audit_widths(&v, &hidden, &cs, &all, None, 2.0)).zip(&all)
            {
                assert_eq!(wide, i.hi - i.lo >= 2.0 - 1e-6, "cell {t}: {i:?}");
                if wide && relation == Relation::Equal {
                    wide_equal += 1;
                    settled_equal += usize::from(interval.is_none());
                }
                if let Some(j) = interval {
                    assert!((j.lo - i.lo).abs() < 1e-6 && (j.hi == i.hi || (j.hi - i.hi).abs() < 1e-6), "{j:?} {i:?}");
                }
                widths_checked += 1;
                narrow += usize::from(!wide);
            }
            for ((i, (lo, hi)), f) in exact.iter().zip(&need).zip(&fast) {
                let tol = 1e-6 * hi.max(1.0);
                let want = i.lo <= lo + tol && i.hi >= hi - tol;
                disagreements += usize::from(want != *f);
                passes += usize::from(want);
                fails += usize::from(!want);
            }
        }
        assert_eq!(disagreements, 0);
        assert!(passes > 20 && fails > 20, "the cases must include both verdicts ({passes}, {fails})");
        assert!(narrow > 5 && narrow < widths_checked, "narrow and wide intervals ({narrow} of {widths_checked})");
        // Totals tie the hidden cells together; the programs must still settle nearly all
        // wide values (a non-negative cap variable once forced y ≥ x on every target at
        // once, and they settled a fraction, leaving the rest to slow exact programs).
        assert!(
            settled_equal * 10 >= wide_equal * 9,
            "{settled_equal} of {wide_equal} settled by the witness programs"
        );
    }
}
