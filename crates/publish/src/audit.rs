//! `cellguard audit DIR`: an attacker's audit of a published `sdc` release folder, from the
//! published files alone. It rebuilds the table's constraints from the structure in
//! `manifest.json`, reads the published values from `cells.csv`, and computes by linear
//! programming the tightest interval an attacker can derive for every suppressed cell (see
//! `cellguard_privacy::sdc::audit`). Unlike the audit inside `cellguard run`, it does not know
//! the true values, so it flags a cell as too narrow when its interval is shorter than two
//! units: the attacker would know it to within ±1.

use std::collections::HashMap;
use std::path::Path;

use cellguard_privacy::sdc::hier::{Constraint, DimTree, HierTable, Relation};
use cellguard_privacy::sdc::{audit_intervals, audit_widths, Interval};

use crate::error::PublishError;
use crate::manifest::Manifest;

/// One suppressed cell's interval.
#[derive(Debug, Clone, PartialEq)]
pub struct CellInterval {
    /// The cell's member codes, one per dimension.
    pub codes: Vec<String>,
    /// The measure.
    pub measure: String,
    /// The attacker's interval.
    pub interval: Interval,
}

/// What the audit found.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditReport {
    /// Suppressed values audited.
    pub audited: usize,
    /// Suppressed cells and measures with their exact interval: every one when the audit was
    /// asked for intervals, otherwise only those the quick check could not settle.
    pub intervals: Vec<CellInterval>,
    /// The cells whose interval is shorter than two units, empty ones (below) excepted
    /// unless the release protects zeros.
    pub too_narrow: Vec<CellInterval>,
    /// Suppressed values an attacker can pin at exactly 0 (an interval within half a unit of
    /// 0, and the solver's resolution): the cell has no contributor in that measure. A release
    /// that publishes empty cells as 0 (every release without the 0 % rule's `zero = true`)
    /// reveals nothing about anyone by them, so they are listed apart and do not fail the
    /// audit; with `zero = true` they are too narrow.
    pub empty: Vec<CellInterval>,
}

/// Audits the release folder `dir`. With `intervals`, every suppressed value's exact interval
/// is computed (two linear programs each); without, a value is settled as soon as two tables
/// the attacker cannot rule out differ in it by two units (see `audit_widths`), which is much
/// faster and gives the same verdict.
pub fn audit_release(dir: &Path, intervals: bool) -> Result<AuditReport, PublishError> {
    let invalid = |message: String| PublishError::Invalid { path: dir.to_path_buf(), message };
    let manifest_path = dir.join("manifest.json");
    let bytes = std::fs::read(&manifest_path).map_err(|e| PublishError::io(&manifest_path, "read", e))?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("manifest.json is not a valid manifest: {e}")))?;
    let sdc = match &manifest.sdc {
        Some(sdc) if manifest.mode == "sdc" => sdc,
        _ => {
            return Err(invalid(format!(
                "not an `sdc` release (mode `{}`): its noisy values have no exact relations to audit",
                manifest.mode
            )))
        }
    };
    let trees: Vec<DimTree> = sdc
        .dimensions
        .iter()
        .map(|d| DimTree::from_parents(d.nodes.iter().map(|n| n.parent.map(|p| p as u32)).collect()))
        .collect();
    let table = HierTable::new(trees);
    let index: Vec<HashMap<&str, usize>> = sdc
        .dimensions
        .iter()
        .map(|d| d.nodes.iter().enumerate().map(|(i, n)| (n.code.as_str(), i)).collect())
        .collect();
    let n = table.n_cells();
    let n_measures = manifest.measures.len();
    let mut values = vec![vec![0.0f64; n]; n_measures];
    let mut hidden = vec![vec![false; n]; n_measures];
    let mut frequency = vec![false; n];
    let cells_path = dir.join("cells.csv");
    let mut reader =
        csv::ReaderBuilder::new().from_path(&cells_path).map_err(|e| invalid(format!("cells.csv: {e}")))?;
    let headers = reader.headers().map_err(|e| invalid(format!("cells.csv: {e}")))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim_start_matches('\u{feff}') == name);
    let dim_cols: Vec<usize> = sdc
        .dimensions
        .iter()
        .map(|d| col(&d.code_column).ok_or_else(|| invalid(format!("cells.csv lacks the column `{}`", d.code_column))))
        .collect::<Result<_, _>>()?;
    let (Some(mcol), Some(vcol), Some(scol)) = (col("measure"), col("value"), col("status")) else {
        return Err(invalid("cells.csv lacks the measure, value or status column".into()));
    };
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| invalid(format!("cells.csv row {}: {e}", i + 2)))?;
        let mut coords = Vec::with_capacity(dim_cols.len());
        for (d, c) in dim_cols.iter().enumerate() {
            let code = rec.get(*c).unwrap_or("");
            coords.push(
                *index[d]
                    .get(code)
                    .ok_or_else(|| invalid(format!("cells.csv line {}: a code not in the manifest", i + 2)))?,
            );
        }
        let cell = table.cell(&coords);
        let m = manifest
            .measures
            .iter()
            .position(|x| x.name == rec.get(mcol).unwrap_or(""))
            .ok_or_else(|| invalid(format!("cells.csv line {}: an unknown measure", i + 2)))?;
        let status = rec.get(scol).unwrap_or("");
        if status == "published" {
            values[m][cell] = rec
                .get(vcol)
                .unwrap_or("")
                .parse()
                .map_err(|_| invalid(format!("cells.csv line {}: the value is not a number", i + 2)))?;
        } else {
            hidden[m][cell] = true;
            frequency[cell] |= status == "suppressed_primary_frequency";
        }
    }
    let constraints = table.constraints();
    let min = sdc.min_units_per_cell as f64;
    let known: Vec<(f64, f64)> =
        frequency.iter().map(|f| if *f { (1.0, (min - 1.0).max(1.0)) } else { (0.0, f64::INFINITY) }).collect();
    let mut found = Vec::new();
    let mut audited = 0;
    for (m, measure) in manifest.measures.iter().enumerate() {
        let relation = if measure.kind == "count-units" { Relation::Bounded } else { Relation::Equal };
        let cs: Vec<(Constraint, Relation)> = constraints.iter().cloned().map(|c| (c, relation)).collect();
        let targets: Vec<usize> = (0..n).filter(|c| hidden[m][*c]).collect();
        let k = (measure.kind == "count-units" && sdc.reasons_published).then_some(known.as_slice());
        audited += targets.len();
        let width = 2.0 * 10f64.powi(-(measure.decimals as i32));
        let results: Vec<Option<Interval>> = if intervals {
            audit_intervals(&values[m], &hidden[m], &cs, &targets, k).into_iter().map(Some).collect()
        } else {
            audit_widths(&values[m], &hidden[m], &cs, &targets, k, width).into_iter().map(|(_, i)| i).collect()
        };
        for (cell, interval) in targets.iter().zip(results) {
            let Some(interval) = interval else { continue };
            let coords = table.coords(*cell);
            let codes = coords.iter().zip(&sdc.dimensions).map(|(c, d)| d.nodes[*c].code.clone()).collect();
            found.push(CellInterval { codes, measure: measure.name.clone(), interval });
        }
    }
    let intervals = found;
    let scale =
        |m: &str| manifest.measures.iter().find(|x| x.name == m).map_or(1.0, |x| 10f64.powi(-(x.decimals as i32)));
    let zeros_protected = sdc.zero_full.as_ref().is_some_and(|(_, zero)| *zero);
    // What the solver resolves: about 10⁻⁸ of a measure's largest value (a cent or two on
    // tables of millions of euros), with a margin.
    let resolution: HashMap<&str, f64> = manifest
        .measures
        .iter()
        .zip(&values)
        .map(|(m, v)| (m.name.as_str(), 1e-7 * v.iter().fold(0.0f64, |a, x| a.max(x.abs()))))
        .collect();
    let mut too_narrow = Vec::new();
    let mut empty = Vec::new();
    for c in &intervals {
        let unit = scale(&c.measure);
        let resolution = resolution.get(c.measure.as_str()).copied().unwrap_or(0.0);
        let width = c.interval.hi - c.interval.lo;
        // A NaN width (the solver could not settle a bound) counts as too narrow.
        if !(width.is_nan() || width < 2.0 * unit - 1e-6) {
            continue;
        }
        if c.interval.hi < 0.5 * unit + resolution && !zeros_protected {
            empty.push(c.clone());
        } else {
            too_narrow.push(c.clone());
        }
    }
    Ok(AuditReport { audited, intervals, too_narrow, empty })
}
