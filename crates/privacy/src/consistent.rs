//! Totals that add up: noisy hierarchical tables made consistent by least squares.
//!
//! A `dp` release with margins adds noise to every cell of the cube — inner cells and every
//! total — with the same calibrated noise per measure. Each dimension is a tree whose leaves
//! are the inner members; the exact cube is `y = H x`, where `x` holds the inner cells and
//! `H = H₁ ⊗ … ⊗ H_D` sums leaves into every node (`H_d` is the 0/1 matrix of dimension `d`:
//! node × leaf, 1 when the leaf is under the node or is it).
//!
//! With equal noise variances, the weighted least-squares estimate of `x` from the noisy cube
//! `ỹ` is the ordinary one, `x̂ = (HᵀH)⁻¹Hᵀ ỹ`, and it factorises along the dimensions:
//! `(HᵀH)⁻¹Hᵀ = ⊗_d (H_dᵀH_d)⁻¹H_dᵀ`, so it is applied one dimension at a time (a mode product
//! per dimension) with small dense matrices — the Kronecker form of the hierarchical
//! least-squares of Hay, Rastogi, Miklau & Suciu (2010), in which every level's noisy value
//! contributes to every other's estimate. The published cube is `H x̂`: sub-areas sum to their
//! district, districts to the city, age bands to the all-ages row, periods to the year,
//! exactly. It reads only noisy values, so it is post-processing and costs no privacy.
//!
//! The estimate is unbiased and its variance is `σ² · Π_d [H_d (H_dᵀH_d)⁻¹ H_dᵀ]_{c_d c_d}`
//! for the cell with node `c_d` in dimension `d` (the diagonal of the hat matrix, a product
//! over dimensions) — never above `σ²`, and far below it for totals.

use crate::sdc::hier::DimTree;

/// One dimension's operators.
#[derive(Debug, Clone)]
pub struct Axis {
    /// Nodes (inner members and margins).
    pub n_nodes: usize,
    /// Leaves (inner members); leaf `k` is node `leaf_nodes[k]`.
    pub leaf_nodes: Vec<usize>,
    /// For each node, the leaves under it (itself, for a leaf).
    pub leaves_of: Vec<Vec<usize>>,
    /// `(H_dᵀH_d)⁻¹H_dᵀ`, leaves × nodes, row-major.
    pub estimator: Vec<f64>,
    /// The diagonal of `H_d (H_dᵀH_d)⁻¹ H_dᵀ`, per node.
    pub hat: Vec<f64>,
}

impl Axis {
    /// The operators of one dimension's tree.
    pub fn new(tree: &DimTree) -> Axis {
        let n = tree.len();
        let leaf_nodes: Vec<usize> = (0..n).filter(|i| tree.is_leaf(*i)).collect();
        let l = leaf_nodes.len();
        let mut leaves_of = vec![Vec::new(); n];
        for (k, &leaf) in leaf_nodes.iter().enumerate() {
            for a in tree.ancestors_or_self(leaf as u32) {
                leaves_of[a as usize].push(k);
            }
        }
        // G = HᵀH: entry (k, k') counts the nodes above both leaves.
        let mut g = vec![0.0f64; l * l];
        for leaves in &leaves_of {
            for &a in leaves {
                for &b in leaves {
                    g[a * l + b] += 1.0;
                }
            }
        }
        let chol = cholesky(&g, l);
        // Solve G · E = Hᵀ, column by column (column j of Hᵀ is the indicator of node j's leaves).
        let mut estimator = vec![0.0f64; l * n];
        let mut rhs = vec![0.0f64; l];
        for (j, leaves) in leaves_of.iter().enumerate() {
            rhs.iter_mut().for_each(|v| *v = 0.0);
            for &k in leaves {
                rhs[k] = 1.0;
            }
            let col = cholesky_solve(&chol, l, &rhs);
            for k in 0..l {
                estimator[k * n + j] = col[k];
            }
        }
        let hat = (0..n).map(|j| leaves_of[j].iter().map(|&k| estimator[k * n + j]).sum()).collect();
        Axis { n_nodes: n, leaf_nodes, leaves_of, estimator, hat }
    }

    /// Leaves.
    pub fn n_leaves(&self) -> usize {
        self.leaf_nodes.len()
    }
}

/// The lower Cholesky factor of a symmetric positive definite `l × l` matrix. `HᵀH` is one:
/// every leaf is its own node, so `H` has full column rank.
fn cholesky(a: &[f64], l: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; l * l];
    for i in 0..l {
        for j in 0..=i {
            let s: f64 = a[i * l + j] - (0..j).map(|k| c[i * l + k] * c[j * l + k]).sum::<f64>();
            c[i * l + j] = if i == j { s.max(f64::MIN_POSITIVE).sqrt() } else { s / c[j * l + j] };
        }
    }
    c
}

fn cholesky_solve(c: &[f64], l: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0f64; l];
    for i in 0..l {
        y[i] = (b[i] - (0..i).map(|k| c[i * l + k] * y[k]).sum::<f64>()) / c[i * l + i];
    }
    let mut x = vec![0.0f64; l];
    for i in (0..l).rev() {
        x[i] = (y[i] - (i + 1..l).map(|k| c[k * l + i] * x[k]).sum::<f64>()) / c[i * l + i];
    }
    x
}

/// Applies `f(out_index, input_fibre)` along dimension `d` of a row-major tensor of `shape`
/// (last dimension fastest), replacing that dimension's size by `rows`.
fn along<T: Copy + Default>(
    tensor: &[T],
    shape: &[usize],
    d: usize,
    rows: usize,
    mut f: impl FnMut(usize, &dyn Fn(usize) -> T) -> T,
) -> Vec<T> {
    let inner: usize = shape[d + 1..].iter().product();
    let outer: usize = shape[..d].iter().product();
    let n = shape[d];
    let mut out = vec![T::default(); outer * rows * inner];
    for o in 0..outer {
        for i in 0..inner {
            let get = |j: usize| tensor[(o * n + j) * inner + i];
            for r in 0..rows {
                out[(o * rows + r) * inner + i] = f(r, &get);
            }
        }
    }
    out
}

/// The exact cube `H x` of inner values `x` (row-major over the leaves of each axis).
pub fn aggregate(axes: &[Axis], inner: &[i64]) -> Vec<i64> {
    let mut shape: Vec<usize> = axes.iter().map(Axis::n_leaves).collect();
    let mut t = inner.to_vec();
    for (d, axis) in axes.iter().enumerate() {
        t = along(&t, &shape, d, axis.n_nodes, |node, get| {
            axis.leaves_of[node].iter().fold(0i64, |acc, &k| acc.saturating_add(get(k)))
        });
        shape[d] = axis.n_nodes;
    }
    t
}

/// The least-squares estimate `x̂` of the inner cells from a noisy cube (row-major over the
/// nodes of each axis).
pub fn least_squares(axes: &[Axis], noisy: &[i64]) -> Vec<f64> {
    let mut shape: Vec<usize> = axes.iter().map(|a| a.n_nodes).collect();
    let mut t: Vec<f64> = noisy.iter().map(|v| *v as f64).collect();
    for (d, axis) in axes.iter().enumerate() {
        let n = axis.n_nodes;
        t = along(&t, &shape, d, axis.n_leaves(), |k, get| {
            let row = &axis.estimator[k * n..(k + 1) * n];
            row.iter().enumerate().filter(|(_, w)| **w != 0.0).map(|(j, w)| w * get(j)).sum()
        });
        shape[d] = axis.n_leaves();
    }
    t
}

/// The variance factor of every cube cell's consistent estimate: `Π_d hat_d[c_d]`, so that its
/// noise variance is `σ²` times this.
pub fn variance_factors(axes: &[Axis]) -> Vec<f64> {
    let mut out = vec![1.0f64];
    for axis in axes {
        out = out.iter().flat_map(|f| axis.hat.iter().map(move |h| f * h)).collect();
    }
    out
}

/// How many inner cells each cube cell adds up.
pub fn leaf_counts(axes: &[Axis]) -> Vec<u64> {
    let mut out = vec![1u64];
    for axis in axes {
        out = out.iter().flat_map(|f| axis.leaves_of.iter().map(move |l| f * l.len() as u64)).collect();
    }
    out
}

/// The most cube cells one inner cell is added into (itself included): the fan-out that
/// multiplies a unit's contribution, per dimension the longest chain from a leaf to its root.
pub fn fanout(trees: &[DimTree]) -> u64 {
    trees
        .iter()
        .map(|t| {
            (0..t.len()).filter(|i| t.is_leaf(*i)).map(|i| t.ancestors_or_self(i as u32).count()).max().unwrap_or(1)
        })
        .map(|c| c as u64)
        .product()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaves 0, 1, 2; node 3 = 0 + 1; node 4 = 2 (a district with one sub-area); root 5.
    fn tree() -> DimTree {
        DimTree::from_parents(vec![Some(3), Some(3), Some(4), Some(5), Some(5), None])
    }

    #[test]
    fn aggregation_and_projection_of_an_exact_cube_are_exact() {
        let axes = vec![Axis::new(&tree()), Axis::new(&DimTree::flat(2, true))];
        let inner = vec![1, 2, 3, 4, 5, 6];
        let cube = aggregate(&axes, &inner);
        assert_eq!(cube.len(), 18);
        // Row node 3 (leaves 0, 1), column total: 1 + 2 + 3 + 4.
        assert_eq!(cube[3 * 3 + 2], 10);
        assert_eq!(cube[5 * 3 + 2], 21);
        // A consistent cube is its own least-squares estimate.
        let back = least_squares(&axes, &cube);
        for (a, b) in back.iter().zip(&inner) {
            assert!((a - *b as f64).abs() < 1e-9, "{back:?}");
        }
        assert_eq!(fanout(&[tree(), DimTree::flat(2, true)]), 3 * 2);
        assert_eq!(leaf_counts(&axes)[5 * 3 + 2], 6);
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // matrix indices read best as indices
    fn hat_diagonal_matches_the_dense_projection() {
        let t = tree();
        let a = Axis::new(&t);
        // Dense H (6 × 3) and hat = H (HᵀH)⁻¹ Hᵀ computed by brute force.
        let h: Vec<[f64; 3]> = (0..6)
            .map(|node| {
                let mut row = [0.0; 3];
                for &k in &a.leaves_of[node] {
                    row[k] = 1.0;
                }
                row
            })
            .collect();
        for j in 0..6 {
            // (H E)_{jj} with E = estimator.
            let v: f64 = (0..3).map(|k| h[j][k] * a.estimator[k * 6 + j]).sum();
            assert!((v - a.hat[j]).abs() < 1e-12);
            assert!(a.hat[j] > 0.0 && a.hat[j] <= 1.0 + 1e-12);
        }
        // The hat matrix of a projection onto a 3-dimensional space has trace 3.
        assert!((a.hat.iter().sum::<f64>() - 3.0).abs() < 1e-9);
        // E·H = I: the estimator recovers the leaves from any consistent cube.
        for k in 0..3 {
            for k2 in 0..3 {
                let v: f64 = (0..6).map(|j| a.estimator[k * 6 + j] * h[j][k2]).sum();
                assert!((v - f64::from(u8::from(k == k2))).abs() < 1e-12);
            }
        }
    }

    /// A small deterministic generator for the tests (not for noise).
    fn lcg(state: &mut u64) -> u64 {
        *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *state >> 33
    }

    /// Solves `a x = b` densely (Gaussian elimination with partial pivoting).
    #[allow(clippy::needless_range_loop)] // matrix indices read best as indices
    fn dense_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
        let n = b.len();
        for col in 0..n {
            let piv = (col..n).max_by(|i, j| a[*i][col].abs().total_cmp(&a[*j][col].abs())).unwrap();
            a.swap(col, piv);
            b.swap(col, piv);
            for row in col + 1..n {
                let f = a[row][col] / a[col][col];
                for k in col..n {
                    a[row][k] -= f * a[col][k];
                }
                b[row] -= f * b[col];
            }
        }
        let mut x = vec![0.0; n];
        for row in (0..n).rev() {
            x[row] = (b[row] - (row + 1..n).map(|k| a[row][k] * x[k]).sum::<f64>()) / a[row][row];
        }
        x
    }

    #[test]
    fn least_squares_equals_the_dense_normal_equations_on_noisy_cubes() {
        // A 2-D cube (the 3-level tree × a flat dimension of 3 with a total) with arbitrary
        // integer "noisy" values; the Kronecker estimator must equal (HᵀH)⁻¹Hᵀỹ computed densely.
        let trees = [tree(), DimTree::flat(3, true)];
        let axes: Vec<Axis> = trees.iter().map(Axis::new).collect();
        let (n0, n1) = (axes[0].n_nodes, axes[1].n_nodes);
        let (l0, l1) = (axes[0].n_leaves(), axes[1].n_leaves());
        // Dense H: cube cell (a, b) × leaf (i, j) is 1 when leaf i is under node a and leaf j under b.
        let mut h = vec![vec![0.0f64; l0 * l1]; n0 * n1];
        for a in 0..n0 {
            for b in 0..n1 {
                for &i in &axes[0].leaves_of[a] {
                    for &j in &axes[1].leaves_of[b] {
                        h[a * n1 + b][i * l1 + j] = 1.0;
                    }
                }
            }
        }
        let mut state = 7u64;
        for _ in 0..5 {
            let noisy: Vec<i64> = (0..n0 * n1).map(|_| (lcg(&mut state) % 41) as i64 - 20).collect();
            let ours = least_squares(&axes, &noisy);
            let hth: Vec<Vec<f64>> = (0..l0 * l1)
                .map(|p| (0..l0 * l1).map(|q| h.iter().map(|row| row[p] * row[q]).sum()).collect())
                .collect();
            let hty: Vec<f64> =
                (0..l0 * l1).map(|p| h.iter().zip(&noisy).map(|(row, y)| row[p] * *y as f64).sum()).collect();
            let dense = dense_solve(hth, hty);
            for (a, b) in ours.iter().zip(&dense) {
                assert!((a - b).abs() < 1e-9, "{ours:?} vs {dense:?}");
            }
        }
    }

    #[test]
    fn the_sensitivity_bounds_every_unit_on_random_trees() {
        // Brute force: a unit in up to m leaves of the cube, contributing up to c to each; its
        // contribution to the whole cube (inner cells and margins) never exceeds the L1 and L2
        // sensitivities the plan uses for the trees' fan-out.
        use crate::plan::{ContributionBounds, MeasureKind, Sensitivity};
        let mut state = 11u64;
        for round in 0..200 {
            // Random forest of parents for two dimensions: leaves first, then 1-3 levels above.
            let mut dims = Vec::new();
            for _ in 0..2 {
                let leaves = 1 + (lcg(&mut state) % 5) as usize;
                let mut parents: Vec<Option<u32>> = vec![None; leaves];
                let mut level: Vec<usize> = (0..leaves).collect();
                for _ in 0..(lcg(&mut state) % 3) {
                    let groups = 1 + (lcg(&mut state) as usize % level.len());
                    let base = parents.len();
                    parents.extend(std::iter::repeat_n(None, groups));
                    for (k, node) in level.iter().enumerate() {
                        // Every group gets a child; the rest are spread at random.
                        let g = if k < groups { k } else { lcg(&mut state) as usize % groups };
                        parents[*node] = Some((base + g) as u32);
                    }
                    level = (base..base + groups).collect();
                }
                dims.push(DimTree::from_parents(parents));
            }
            let axes: Vec<Axis> = dims.iter().map(Axis::new).collect();
            let n_leaves: usize = axes.iter().map(Axis::n_leaves).product();
            let m = 1 + (lcg(&mut state) % 4) as u32;
            let c = 1 + (lcg(&mut state) % 3) as i64;
            let bounds = ContributionBounds { max_cells_per_unit: m, max_records_per_cell: c as u32 };
            let s = Sensitivity::of(MeasureKind::CountRecords, &bounds, fanout(&dims)).unwrap();
            for _ in 0..20 {
                let mut unit = vec![0i64; n_leaves];
                for _ in 0..m {
                    unit[lcg(&mut state) as usize % n_leaves] = c;
                }
                let cube = aggregate(&axes, &unit);
                let l1: i64 = cube.iter().map(|v| v.abs()).sum();
                let l2 = (cube.iter().map(|v| (v * v) as f64).sum::<f64>()).sqrt();
                assert!(l1 <= s.l1, "round {round}: L1 {l1} > {}", s.l1);
                assert!(l2 <= s.l2, "round {round}: L2 {l2} > {}", s.l2);
            }
        }
    }
}
