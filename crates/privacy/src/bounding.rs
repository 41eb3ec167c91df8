//! Contribution bounding and exact tabulation.
//!
//! Each unit of privacy keeps at most `max_cells_per_unit` cells. Which cells it keeps does not
//! depend on row order: each (unit, cell) pair gets a priority from a fixed mix of the unit's
//! pseudonym and the cell index, and a unit keeps its cells of lowest priority. Because the
//! pseudonym is keyed, the choice is pseudo-random and unbiased across cells (a rule like "first
//! cells in the file" would favour early quarters in date-sorted extracts).
//!
//! Within a kept cell, a unit's records are counted up to `max_records_per_cell`, each record's
//! value is clamped to the measure's `[lower, upper]`, and the unit's sum in the cell is capped
//! to `[c·lower, c·upper]` with `c = min(records, max_records_per_cell)`. This, too, is
//! independent of row order, so the tabulation does not depend on how the file was split
//! across threads.
//!
//! State is one small entry per unit (its kept cells), never per row.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;

use cellguard_ingest::{Contribution, ContributionChunk, MAX_VALUES, PARTITIONS};

use crate::plan::{ContributionBounds, MeasureKind, ReleasePlan};
use crate::table::{BoundedTable, BoundingStats};

/// Pseudonyms are already uniformly distributed keyed hashes, so hashing them again is wasted
/// work: this hasher passes the 64-bit pseudonym through (with a multiply to spread the bits
/// that the partition choice has already fixed).
#[derive(Default)]
struct PseudonymHasher(u64);

impl Hasher for PseudonymHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type UnitMap = HashMap<u64, Vec<CellAcc>, BuildHasherDefault<PseudonymHasher>>;

#[derive(Debug, Clone, Copy)]
pub(crate) struct CellAcc {
    pub(crate) cell: u32,
    pub(crate) records: u32,
    pub(crate) sums: [i64; MAX_VALUES],
}

/// The priority of a (unit, cell) pair: SplitMix64's finaliser over both.
pub fn cell_priority(unit: u64, cell: u32) -> u64 {
    let mut z = unit ^ u64::from(cell).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Default)]
struct Partition {
    units: UnitMap,
    records_dropped_cells: u64,
    values_clamped: u64,
}

/// The clamp applied to each value slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clamp {
    /// Lower bound per record.
    pub lower: i64,
    /// Upper bound per record.
    pub upper: i64,
}

/// Absorbs contributions and bounds them per unit; [`BoundingAccumulator::finish`] tabulates.
pub struct BoundingAccumulator {
    bounds: ContributionBounds,
    clamps: [Option<Clamp>; MAX_VALUES],
    n_cells: usize,
    partitions: Vec<Partition>,
}

impl BoundingAccumulator {
    /// An empty accumulator for a plan's bounds, clamps and key set.
    pub fn new(plan: &ReleasePlan) -> BoundingAccumulator {
        let mut clamps = [None; MAX_VALUES];
        for (_, kind) in plan.measure_kinds() {
            if let MeasureKind::Sum { value_slot, lower, upper, .. } = kind {
                clamps[value_slot] = Some(Clamp { lower, upper });
            }
        }
        Self::with_parts(plan.bounds, clamps, plan.n_cells())
    }

    /// An empty accumulator from its parts (for tests and external tabulations).
    pub fn with_parts(
        bounds: ContributionBounds,
        clamps: [Option<Clamp>; MAX_VALUES],
        n_cells: usize,
    ) -> BoundingAccumulator {
        BoundingAccumulator {
            bounds,
            clamps,
            n_cells,
            partitions: (0..PARTITIONS).map(|_| Partition::default()).collect(),
        }
    }

    /// Absorbs a batch of chunks; partitions are processed in parallel.
    pub fn absorb(&mut self, batch: &[ContributionChunk]) {
        let bounds = self.bounds;
        let clamps = self.clamps;
        self.partitions.par_iter_mut().enumerate().for_each(|(p, partition)| {
            for chunk in batch {
                if let Some(part) = chunk.parts.get(p) {
                    for c in part {
                        partition.add(c, &bounds, &clamps);
                    }
                }
            }
        });
    }

    /// Absorbs single contributions (slow path for tests and small inputs).
    pub fn absorb_one(&mut self, c: &Contribution) {
        let (bounds, clamps) = (self.bounds, self.clamps);
        self.partitions[c.partition()].add(c, &bounds, &clamps);
    }

    /// Each unit's bounded contributions: per kept cell, the counted records
    /// (`min(records, max_records_per_cell)`) and the capped sums, in parallel over partitions.
    pub(crate) fn units_par(&self) -> impl ParallelIterator<Item = Vec<(u32, u64, [i64; MAX_VALUES])>> + '_ {
        let k = i64::from(self.bounds.max_records_per_cell);
        let clamps = self.clamps;
        self.partitions.par_iter().flat_map_iter(move |part| {
            part.units.values().map(move |cells| {
                cells
                    .iter()
                    .map(|acc| {
                        let c = i64::from(acc.records).min(k);
                        let mut sums = [0i64; MAX_VALUES];
                        // Slots without a clamp (provider counts) pass unchanged.
                        for (slot, clamp) in clamps.iter().enumerate() {
                            sums[slot] = match clamp {
                                Some(cl) => {
                                    acc.sums[slot].clamp(c.saturating_mul(cl.lower), c.saturating_mul(cl.upper))
                                }
                                None => acc.sums[slot],
                            };
                        }
                        (acc.cell, c as u64, sums)
                    })
                    .collect()
            })
        })
    }

    /// Counts of what bounding changed so far (units, records dropped by the cell limit, values
    /// clamped); the per-cell caps are counted by [`BoundingAccumulator::finish`].
    pub fn stats(&self) -> BoundingStats {
        let mut s = BoundingStats::default();
        for p in &self.partitions {
            s.units += p.units.len() as u64;
            s.records_dropped_cells += p.records_dropped_cells;
            s.values_clamped += p.values_clamped;
        }
        s
    }

    /// Tabulates the bounded contributions exactly.
    pub fn finish(self) -> BoundedTable {
        let n = self.n_cells;
        let k = i64::from(self.bounds.max_records_per_cell);
        let clamps = self.clamps;
        let empty = || BoundedTable::empty(n, self.bounds);
        let mut table = self
            .partitions
            .into_par_iter()
            .fold(empty, |mut t, part| {
                t.stats.units += part.units.len() as u64;
                t.stats.records_dropped_cells += part.records_dropped_cells;
                t.stats.values_clamped += part.values_clamped;
                for cells in part.units.values() {
                    for acc in cells {
                        let cell = acc.cell as usize;
                        if cell >= n {
                            continue;
                        }
                        let c = i64::from(acc.records).min(k);
                        t.stats.records_capped += i64::from(acc.records).saturating_sub(k).max(0) as u64;
                        t.units[cell] += 1;
                        t.records[cell] += c as u64;
                        for (slot, clamp) in clamps.iter().enumerate() {
                            if let Some(cl) = clamp {
                                let capped =
                                    acc.sums[slot].clamp(c.saturating_mul(cl.lower), c.saturating_mul(cl.upper));
                                if capped != acc.sums[slot] {
                                    t.stats.sums_capped += 1;
                                }
                                t.sums[slot][cell] = t.sums[slot][cell].saturating_add(capped);
                            }
                        }
                    }
                }
                t
            })
            .reduce(empty, BoundedTable::merge);
        table.clamps = clamps;
        table
    }
}

impl Partition {
    fn add(&mut self, c: &Contribution, bounds: &ContributionBounds, clamps: &[Option<Clamp>; MAX_VALUES]) {
        let mut values = c.values;
        for (v, clamp) in values.iter_mut().zip(clamps) {
            // Unclamped slots are provider counts of `sdc` plans (a `dp` plan clamps every slot
            // it reads); they are kept as read.
            if let Some(cl) = clamp {
                let clamped = (*v).clamp(cl.lower, cl.upper);
                if clamped != *v {
                    self.values_clamped += 1;
                }
                *v = clamped;
            }
        }
        let cells = self.units.entry(c.unit).or_default();
        if let Some(acc) = cells.iter_mut().find(|a| a.cell == c.cell) {
            acc.records = acc.records.saturating_add(1);
            for (s, v) in acc.sums.iter_mut().zip(values) {
                *s = s.saturating_add(v);
            }
            return;
        }
        let fresh = CellAcc { cell: c.cell, records: 1, sums: values };
        if cells.len() < bounds.max_cells_per_unit as usize {
            cells.push(fresh);
            return;
        }
        // Full: keep the lowest priorities. Evict the highest kept if the new one is lower.
        let new_priority = cell_priority(c.unit, c.cell);
        let (worst, worst_priority) = cells
            .iter()
            .enumerate()
            .map(|(i, a)| (i, cell_priority(c.unit, a.cell)))
            .max_by_key(|(_, p)| *p)
            .unwrap_or((0, 0));
        if new_priority < worst_priority {
            self.records_dropped_cells += u64::from(cells[worst].records);
            cells[worst] = fresh;
        } else {
            self.records_dropped_cells += 1;
        }
    }
}
