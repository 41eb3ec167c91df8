//! The exact, bounded tabulation: per cell, the number of contributing units, the bounded
//! number of records and the bounded sums. This is the boundary between tabulation and
//! protection: whatever computes it (this crate's bounding, or later an external SQL engine
//! with its bounding evidence), protection only sees this table.

use cellguard_ingest::MAX_VALUES;

use crate::bounding::Clamp;
use crate::plan::ContributionBounds;

/// Counts of what bounding changed. They are exact counts of the sensitive data, so they are
/// processing metadata for the secure environment, not covered by the DP guarantee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BoundingStats {
    /// Distinct units seen.
    pub units: u64,
    /// Records dropped because their unit already had `max_cells_per_unit` cells.
    pub records_dropped_cells: u64,
    /// Records beyond `max_records_per_cell` in a unit's cell (not counted).
    pub records_capped: u64,
    /// Record values clamped to the measure's bounds.
    pub values_clamped: u64,
    /// Unit-cell sums capped to `max_records_per_cell` times the bounds.
    pub sums_capped: u64,
}

/// An exact tabulation of bounded contributions. Exact values never leave the secure
/// environment: the only way to a publishable value is through `protect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedTable {
    pub(crate) units: Vec<u64>,
    pub(crate) records: Vec<u64>,
    pub(crate) sums: [Vec<i64>; MAX_VALUES],
    pub(crate) bounds: ContributionBounds,
    pub(crate) clamps: [Option<Clamp>; MAX_VALUES],
    pub(crate) stats: BoundingStats,
}

impl BoundedTable {
    pub(crate) fn empty(n_cells: usize, bounds: ContributionBounds) -> BoundedTable {
        BoundedTable {
            units: vec![0; n_cells],
            records: vec![0; n_cells],
            sums: std::array::from_fn(|_| vec![0; n_cells]),
            bounds,
            clamps: [None; MAX_VALUES],
            stats: BoundingStats::default(),
        }
    }

    pub(crate) fn merge(mut self, other: BoundedTable) -> BoundedTable {
        for (a, b) in self.units.iter_mut().zip(&other.units) {
            *a += b;
        }
        for (a, b) in self.records.iter_mut().zip(&other.records) {
            *a += b;
        }
        for (sa, sb) in self.sums.iter_mut().zip(&other.sums) {
            for (a, b) in sa.iter_mut().zip(sb) {
                *a = a.saturating_add(*b);
            }
        }
        let (s, o) = (&mut self.stats, other.stats);
        s.units += o.units;
        s.records_dropped_cells += o.records_dropped_cells;
        s.records_capped += o.records_capped;
        s.values_clamped += o.values_clamped;
        s.sums_capped += o.sums_capped;
        self
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.units.len()
    }

    /// Distinct contributing units per cell.
    pub fn units(&self) -> &[u64] {
        &self.units
    }

    /// Bounded record counts per cell.
    pub fn records(&self) -> &[u64] {
        &self.records
    }

    /// Bounded sums per cell of value slot `slot`.
    pub fn sums(&self, slot: usize) -> &[i64] {
        &self.sums[slot]
    }

    /// The bounds this table was tabulated under.
    pub fn bounds(&self) -> ContributionBounds {
        self.bounds
    }

    /// What bounding changed.
    pub fn stats(&self) -> BoundingStats {
        self.stats
    }
}
