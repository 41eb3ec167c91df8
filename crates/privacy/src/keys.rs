//! The public key set of a release, with labels: what publish needs to name every cell, taken
//! from the public classifications (never from data).

use cellguard_ingest::{DimensionSpec, Unknown};

/// What kind of dimension, which fixes its output columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Areas: level, code and name columns.
    Area,
    /// Age bands: one label column.
    AgeBand,
    /// Periods: label, first day and last day columns.
    Period,
    /// Categories: one value column.
    Category,
    /// Code lists: code and name columns.
    Code,
}

/// One member of a dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMember {
    /// Code (area code, age band label, period label, category value).
    pub code: String,
    /// Human label (area name; otherwise the code).
    pub label: String,
    /// Hierarchy level (`subarea`, …) for areas; empty otherwise.
    pub level: String,
    /// First day of a period (ISO); empty otherwise.
    pub start: String,
    /// Last day of a period (ISO); empty otherwise.
    pub end: String,
}

/// One dimension of the key set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDimension {
    /// The dimension's name.
    pub name: String,
    /// Its kind.
    pub kind: KeyKind,
    /// Its members in key order.
    pub members: Vec<KeyMember>,
}

/// The key set: the cross product of its dimensions, the first dimension outermost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseKeys {
    dims: Vec<KeyDimension>,
}

impl KeyMember {
    /// A member labelled by its own code, with no level or dates.
    pub(crate) fn plain(code: String) -> KeyMember {
        KeyMember { label: code.clone(), code, level: String::new(), start: String::new(), end: String::new() }
    }
}

impl ReleaseKeys {
    /// Builds labelled dimensions from the policy's dimension specs.
    pub fn new(names: &[String], specs: &[DimensionSpec]) -> ReleaseKeys {
        let plain = KeyMember::plain;
        let dims = names
            .iter()
            .zip(specs)
            .map(|(name, spec)| match spec {
                DimensionSpec::Area { classification, level, unknown, .. } => {
                    let mut members: Vec<KeyMember> = classification
                        .members(*level)
                        .iter()
                        .map(|a| KeyMember {
                            code: a.code.clone(),
                            label: a.name.clone(),
                            level: a.level.name().to_string(),
                            start: String::new(),
                            end: String::new(),
                        })
                        .collect();
                    if *unknown == Unknown::Cell {
                        members.push(KeyMember { level: level.name().to_string(), ..plain("unknown".to_string()) });
                    }
                    KeyDimension { name: name.clone(), kind: KeyKind::Area, members }
                }
                DimensionSpec::AgeBand { bands, unknown, .. } => {
                    let mut members: Vec<KeyMember> = bands.bands().iter().map(|b| plain(b.label())).collect();
                    if *unknown == Unknown::Cell {
                        members.push(plain("unknown".to_string()));
                    }
                    KeyDimension { name: name.clone(), kind: KeyKind::AgeBand, members }
                }
                DimensionSpec::CodeList { codes, .. } => KeyDimension {
                    name: name.clone(),
                    kind: KeyKind::Code,
                    members: codes
                        .codes()
                        .iter()
                        .map(|(code, label)| KeyMember { label: label.clone(), ..plain(code.clone()) })
                        .collect(),
                },
                DimensionSpec::Period { periods, .. } => KeyDimension {
                    name: name.clone(),
                    kind: KeyKind::Period,
                    members: (0..periods.len())
                        .map(|i| {
                            let (label, start, end) = periods.describe(i);
                            KeyMember { code: label.clone(), label, level: String::new(), start, end }
                        })
                        .collect(),
                },
                DimensionSpec::Category { values, .. } => KeyDimension {
                    name: name.clone(),
                    kind: KeyKind::Category,
                    members: values.iter().cloned().map(plain).collect(),
                },
            })
            .collect();
        ReleaseKeys { dims }
    }

    /// A key set from labelled dimensions (for tables with margins).
    pub(crate) fn from_dimensions(dims: Vec<KeyDimension>) -> ReleaseKeys {
        ReleaseKeys { dims }
    }

    /// The dimensions.
    pub fn dimensions(&self) -> &[KeyDimension] {
        &self.dims
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.dims.iter().map(|d| d.members.len()).product()
    }

    /// The member index in each dimension of cell `cell`.
    pub fn coordinates(&self, mut cell: usize, out: &mut Vec<usize>) {
        out.clear();
        out.resize(self.dims.len(), 0);
        for (slot, d) in out.iter_mut().zip(&self.dims).rev() {
            let r = d.members.len().max(1);
            *slot = cell % r;
            cell /= r;
        }
    }
}
