//! Hierarchical tables: each dimension is a tree whose leaves are the inner members and whose
//! other nodes are margins (district, city, all ages, all periods). A cell is one node of each
//! dimension; its index is mixed-radix over the node indices. Every internal node of one
//! dimension, combined with any nodes of the others, gives a constraint: the parent cell equals
//! (or, for counts of distinct units, is bounded by) its children.

/// One dimension as a tree of nodes; node order is output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimTree {
    /// For each node, its parent, if any.
    pub parent: Vec<Option<u32>>,
    /// For each node, its children.
    pub children: Vec<Vec<u32>>,
    /// For each node, its depth below the root level (leaves have the largest depth).
    pub depth: Vec<u8>,
}

impl DimTree {
    /// A flat dimension of `n` members, with a total node (last) when `total` is set.
    pub fn flat(n: usize, total: bool) -> DimTree {
        let mut parents: Vec<Option<u32>> = vec![if total { Some(n as u32) } else { None }; n];
        if total {
            parents.push(None);
        }
        DimTree::from_parents(parents)
    }

    /// A tree from each node's parent.
    pub fn from_parents(parent: Vec<Option<u32>>) -> DimTree {
        let n = parent.len();
        let mut children = vec![Vec::new(); n];
        for (i, p) in parent.iter().enumerate() {
            if let Some(p) = p {
                children[*p as usize].push(i as u32);
            }
        }
        let mut depth = vec![0u8; n];
        for (i, d) in depth.iter_mut().enumerate() {
            let mut node = i;
            let mut steps = 0u8;
            while let Some(p) = parent[node] {
                node = p as usize;
                steps = steps.saturating_add(1);
            }
            *d = steps;
        }
        DimTree { parent, children, depth }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether the tree has no nodes.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Whether node `i` is a leaf (an inner member).
    pub fn is_leaf(&self, i: usize) -> bool {
        self.children[i].is_empty()
    }

    /// Node `i` and its ancestors, nearest first.
    pub fn ancestors_or_self(&self, i: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(i), move |n| self.parent[*n as usize])
    }
}

/// How a constraint's parent relates to its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// parent = Σ children (records, sums; unit counts where no unit is in two children).
    Equal,
    /// max(children) ≤ parent ≤ Σ children (distinct unit counts in general).
    Bounded,
}

/// One additivity constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The margin cell.
    pub parent: usize,
    /// The cells that add up to it.
    pub children: Vec<usize>,
}

/// The cell structure of a hierarchical table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HierTable {
    dims: Vec<DimTree>,
    strides: Vec<usize>,
    n_cells: usize,
}

impl HierTable {
    /// A table over these dimensions.
    pub fn new(dims: Vec<DimTree>) -> HierTable {
        let mut strides = vec![1usize; dims.len()];
        for d in (0..dims.len().saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * dims[d + 1].len();
        }
        let n_cells = dims.iter().map(DimTree::len).product();
        HierTable { dims, strides, n_cells }
    }

    /// The dimensions.
    pub fn dims(&self) -> &[DimTree] {
        &self.dims
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.n_cells
    }

    /// The node of each dimension of `cell`.
    pub fn coords(&self, cell: usize) -> Vec<usize> {
        self.dims.iter().zip(&self.strides).map(|(d, s)| (cell / s) % d.len()).collect()
    }

    /// The cell of node coordinates.
    pub fn cell(&self, coords: &[usize]) -> usize {
        coords.iter().zip(&self.strides).map(|(c, s)| c * s).sum()
    }

    /// Whether every coordinate of `cell` is a leaf.
    pub fn is_inner(&self, cell: usize) -> bool {
        self.coords(cell).iter().zip(&self.dims).all(|(c, d)| d.is_leaf(*c))
    }

    /// How many coordinates of `cell` are margins (0 for inner cells).
    pub fn margin_degree(&self, cell: usize) -> usize {
        self.coords(cell).iter().zip(&self.dims).filter(|(c, d)| !d.is_leaf(**c)).count()
    }

    /// Every additivity constraint, in a fixed order.
    pub fn constraints(&self) -> Vec<Constraint> {
        let mut out = Vec::new();
        for cell in 0..self.n_cells {
            let coords = self.coords(cell);
            for (d, dim) in self.dims.iter().enumerate() {
                let kids = &dim.children[coords[d]];
                if kids.is_empty() {
                    continue;
                }
                let children =
                    kids.iter().map(|k| cell - coords[d] * self.strides[d] + *k as usize * self.strides[d]).collect();
                out.push(Constraint { parent: cell, children });
            }
        }
        out
    }

    /// Index of the dimension along which `constraint` sums (the coordinate that differs).
    pub fn constraint_dim(&self, c: &Constraint) -> usize {
        let (a, b) = (self.coords(c.parent), self.coords(c.children[0]));
        a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_of_a_two_by_two_table_with_totals() {
        let t = HierTable::new(vec![DimTree::flat(2, true), DimTree::flat(2, true)]);
        assert_eq!(t.n_cells(), 9);
        let cs = t.constraints();
        // Rows 0, 1 and the total row each sum across columns; columns 0, 1 and the total
        // column each sum across rows.
        assert_eq!(cs.len(), 6);
        assert!(cs.contains(&Constraint { parent: 2, children: vec![0, 1] }));
        assert!(cs.contains(&Constraint { parent: 6, children: vec![0, 3] }));
        assert!(cs.contains(&Constraint { parent: 8, children: vec![6, 7] }));
        assert!(cs.contains(&Constraint { parent: 8, children: vec![2, 5] }));
        assert!(t.is_inner(4) && !t.is_inner(5));
    }

    #[test]
    fn trees_know_depth_and_ancestors() {
        // Leaves 0, 1 under 3; leaf 2 under 4; 3 and 4 under root 5.
        let t = DimTree::from_parents(vec![Some(3), Some(3), Some(4), Some(5), Some(5), None]);
        assert_eq!(t.depth, vec![2, 2, 2, 1, 1, 0]);
        assert_eq!(t.ancestors_or_self(1).collect::<Vec<_>>(), vec![1, 3, 5]);
        assert!(t.is_leaf(2) && !t.is_leaf(4));
    }
}
