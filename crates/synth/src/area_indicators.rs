//! Synthetic regional indicators, already aggregated: one row per sub-area × indicator, written
//! in that fixed order until the requested number of rows. There is no unit of privacy in the
//! file itself, but the numerators count people and fall below 5 in tiny areas, so thresholds
//! apply. Areas differ in a common deprivation factor, so the shares are correlated.
//!
//! Columns: `area_code,indicator_id,period,value,numerator,denominator`. UTF-8, `,` delimiter,
//! `\n` line ends. For shares and rates `value` is `numerator / denominator * 100` with one
//! decimal (rounded half up); for `population` it is the count and the other two are empty.

use std::io::{self, Write};

use crate::common::{skewed_weights, TINY_WEIGHT};
use crate::rng::SynthRng;

/// Settings of the generator.
#[derive(Debug, Clone)]
pub struct AreaIndicatorsOptions {
    /// Rows to write, at most one per sub-area and indicator.
    pub rows: u64,
    /// Seed; the output is a function of the options.
    pub seed: u64,
    /// The period of every row.
    pub year: i32,
    /// The 10-digit sub-area codes.
    pub subareas: Vec<String>,
}

/// The indicators, in output order: id, denominator as a share of the population, the
/// national level of the rate, and how strongly it follows the area's deprivation.
const INDICATORS: [(&str, f64, f64, f64); 5] = [
    ("unemployment_rate", 0.52, 0.085, 1.0),
    ("low_income_share", 0.97, 0.11, 1.0),
    ("basic_education_only_share", 0.70, 0.15, 0.8),
    ("foreign_language_share", 1.0, 0.17, 1.1),
    ("single_parent_share", 0.11, 0.20, 0.6),
];

/// Residents of the largest sub-area.
const LARGEST_AREA: f64 = 28_000.0;

/// Writes `value` as `numerator / denominator * 100` with one decimal, rounded half up.
fn percent(numerator: u64, denominator: u64) -> String {
    let tenths = (2000 * numerator + denominator) / (2 * denominator.max(1));
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// Writes the header and up to `options.rows` rows (fewer when the sub-areas and indicators run
/// out); returns the number of rows written.
pub fn write_area_indicators<W: Write>(options: &AreaIndicatorsOptions, out: W) -> io::Result<u64> {
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    let mut rng = SynthRng::new(options.seed);
    if options.subareas.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no sub-areas to generate for"));
    }
    let weights = skewed_weights(&mut rng, options.subareas.len());
    let period = options.year;

    writeln!(out, "area_code,indicator_id,period,value,numerator,denominator")?;
    let mut written = 0u64;
    'all: for (area, weight) in options.subareas.iter().zip(&weights) {
        let population = if *weight <= TINY_WEIGHT {
            15 + rng.below(250)
        } else {
            (LARGEST_AREA * weight * (0.2 * rng.normal()).exp()).round() as u64 + 200
        };
        let deprivation = (0.45 * rng.normal()).exp();
        if written >= options.rows {
            break 'all;
        }
        writeln!(out, "{area},population,{period:04},{population},,")?;
        written += 1;
        for (id, denominator_share, level, follows) in INDICATORS {
            if written >= options.rows {
                break 'all;
            }
            let denominator =
                ((population as f64 * denominator_share * (0.05 * rng.normal()).exp()).round() as u64).max(1);
            let rate = (level * deprivation.powf(follows) * (0.15 * rng.normal()).exp()).clamp(0.0, 0.95);
            let mean = denominator as f64 * rate;
            let sd = (mean * (1.0 - rate)).sqrt();
            let numerator = ((mean + sd * rng.normal()).round().max(0.0) as u64).min(denominator);
            writeln!(out, "{area},{id},{period:04},{},{numerator},{denominator}", percent(numerator, denominator))?;
            written += 1;
        }
    }
    out.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(rows: u64, seed: u64, areas: usize) -> (String, u64) {
        let options = AreaIndicatorsOptions {
            rows,
            seed,
            year: 2025,
            subareas: (0..areas).map(|i| format!("0911101{i:03}")).collect(),
        };
        let mut buf = Vec::new();
        let written = write_area_indicators(&options, &mut buf).unwrap();
        (String::from_utf8(buf).unwrap(), written)
    }

    #[test]
    fn repeatable_with_the_requested_rows_and_columns() {
        let (a, written) = generate(500, 3, 100);
        assert_eq!(written, 500);
        assert_eq!(a, generate(500, 3, 100).0);
        assert_ne!(a, generate(500, 4, 100).0);
        assert!(!a.contains('\r'));
        let lines: Vec<&str> = a.lines().collect();
        assert_eq!(lines.len(), 501);
        assert_eq!(lines[0], "area_code,indicator_id,period,value,numerator,denominator");
        assert!(lines.iter().all(|l| l.split(',').count() == 6));
        // More rows than areas × indicators: each combination once.
        let (b, written) = generate(10_000, 3, 100);
        assert_eq!(written, 600);
        assert_eq!(b.lines().count(), 601);
    }

    #[test]
    fn values_agree_with_numerators_and_denominators() {
        let (text, _) = generate(10_000, 7, 147);
        let mut small_numerators = 0;
        let mut seen = std::collections::HashSet::new();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f[0].len(), 10);
            assert_eq!(f[2], "2025");
            assert!(seen.insert((f[0], f[1])), "repeated {line}");
            if f[1] == "population" {
                let population: u64 = f[3].parse().unwrap();
                assert!((15..100_000).contains(&population));
                assert!(f[4].is_empty() && f[5].is_empty());
                continue;
            }
            assert!(INDICATORS.iter().any(|i| i.0 == f[1]), "{}", f[1]);
            let value: f64 = f[3].parse().unwrap();
            let (num, den): (u64, u64) = (f[4].parse().unwrap(), f[5].parse().unwrap());
            assert!(den >= 1 && num <= den);
            let (_, decimals) = f[3].split_once('.').unwrap();
            assert_eq!(decimals.len(), 1);
            assert!((value - num as f64 / den as f64 * 100.0).abs() <= 0.05 + 1e-9, "{line}");
            small_numerators += usize::from(num < 5);
        }
        assert_eq!(seen.len(), 147 * 6);
        assert!(small_numerators > 0, "no small numerators");
        assert_eq!(percent(1, 3), "33.3");
        assert_eq!(percent(2, 3), "66.7");
        assert_eq!(percent(1, 8), "12.5");
        assert_eq!(percent(0, 7), "0.0");
        assert_eq!(percent(7, 7), "100.0");
    }
}
