//! The long-format cell table (`cells.csv`): one row per cell and measure, with dimension codes
//! and labels, the published value (empty when suppressed), the status, and for noisy values
//! the noise scale, standard deviation and 95 % interval. UTF-8 with a byte-order mark (so that
//! Power BI and Excel detect the encoding), `,`-separated, `.` decimals, ISO dates, CRLF-free.

use cellguard_privacy::{CellStatus, KeyKind, ProtectedRelease};

/// The column names of a release's cell table, in order.
pub fn columns(release: &ProtectedRelease) -> Vec<String> {
    let mut cols = Vec::new();
    for d in release.keys().dimensions() {
        match d.kind {
            KeyKind::Area => {
                cols.push(format!("{}_level", d.name));
                cols.push(format!("{}_code", d.name));
                cols.push(format!("{}_name", d.name));
            }
            KeyKind::Period => {
                cols.push(d.name.clone());
                cols.push(format!("{}_start", d.name));
                cols.push(format!("{}_end", d.name));
            }
            KeyKind::Code => {
                // A level column only when the code list has margins.
                if d.members.iter().any(|m| !m.level.is_empty()) {
                    cols.push(format!("{}_level", d.name));
                }
                cols.push(format!("{}_code", d.name));
                cols.push(format!("{}_name", d.name));
            }
            KeyKind::AgeBand | KeyKind::Category => cols.push(d.name.clone()),
        }
    }
    for c in ["measure", "value", "status", "noise_scale", "noise_sd", "ci95_low", "ci95_high"] {
        cols.push(c.to_string());
    }
    cols
}

/// Formats an exact integer in units of `10^-decimals` as a decimal string (`-12.05`).
pub fn format_fixed(value: i64, decimals: u32) -> String {
    if decimals == 0 {
        return value.to_string();
    }
    let pow = 10i64.pow(decimals);
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    let pow = pow as u64;
    format!("{sign}{}.{:0width$}", abs / pow, abs % pow, width = decimals as usize)
}

/// Formats a noise parameter in exact units as a value in the measure's units.
fn format_param(value: f64, decimals: u32) -> String {
    format!("{:.4}", value / 10f64.powi(decimals as i32))
}

/// Writes the cell table.
pub fn write_cells<W: std::io::Write>(release: &ProtectedRelease, out: W) -> csv::Result<u64> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
    w.write_record(columns(release))?;
    let keys = release.keys();
    let mut coords = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut rows = 0u64;
    let leveled: Vec<bool> = keys.dimensions().iter().map(|d| d.members.iter().any(|m| !m.level.is_empty())).collect();
    for cell in 0..release.n_cells() {
        keys.coordinates(cell, &mut coords);
        for (m, info) in release.measures().iter().enumerate() {
            row.clear();
            for ((d, &i), leveled) in keys.dimensions().iter().zip(&coords).zip(&leveled) {
                let member = &d.members[i];
                match d.kind {
                    KeyKind::Area => {
                        row.push(member.level.clone());
                        row.push(member.code.clone());
                        row.push(member.label.clone());
                    }
                    KeyKind::Period => {
                        row.push(member.code.clone());
                        row.push(member.start.clone());
                        row.push(member.end.clone());
                    }
                    KeyKind::Code => {
                        if *leveled {
                            row.push(member.level.clone());
                        }
                        row.push(member.code.clone());
                        row.push(member.label.clone());
                    }
                    KeyKind::AgeBand | KeyKind::Category => row.push(member.code.clone()),
                }
            }
            row.push(info.name.clone());
            let status = release.status(m, cell);
            let places = info.decimals + info.precision;
            match (status, release.value(m, cell), &info.noise) {
                (CellStatus::Published, Some(v), Some(noise)) => {
                    // Consistent totals: each cell has its own error; otherwise the measure's.
                    let (sd, h) = release.cell_noise(m, cell).unwrap_or((noise.noise_sd, noise.ci95_half_width));
                    let mut low = v.saturating_sub(h);
                    if info.non_negative {
                        low = low.max(0);
                    }
                    row.push(format_fixed(v, places));
                    row.push(status.code().to_string());
                    row.push(format_param(noise.noise_scale, info.decimals));
                    row.push(format_param(sd, info.decimals));
                    row.push(format_fixed(low, places));
                    row.push(format_fixed(v.saturating_add(h), places));
                }
                (CellStatus::Published, Some(v), None) => {
                    // An exact (SDC) value: no noise, no interval.
                    row.push(format_fixed(v, places));
                    row.push(status.code().to_string());
                    for _ in 0..4 {
                        row.push(String::new());
                    }
                }
                _ => {
                    row.push(String::new());
                    row.push(status.code().to_string());
                    for _ in 0..4 {
                        row.push(String::new());
                    }
                }
            }
            w.write_record(&row)?;
            rows += 1;
        }
    }
    w.flush()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::format_fixed;

    #[test]
    fn fixed_point_formatting() {
        assert_eq!(format_fixed(123456, 2), "1234.56");
        assert_eq!(format_fixed(-5, 2), "-0.05");
        assert_eq!(format_fixed(7, 0), "7");
        assert_eq!(format_fixed(0, 2), "0.00");
        assert_eq!(format_fixed(i64::MIN, 2), "-92233720368547758.08");
    }
}
