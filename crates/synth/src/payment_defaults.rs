//! Synthetic payment-default records: one row per entry, about 15 entries per person on
//! average, persons spread unevenly over sub-areas (some sub-areas are tiny), ages skewed to
//! working age, registration dates mostly in the release year, amounts log-normal.
//!
//! Columns: `person_id,birth_year,sex,subarea,entry_type,registration_date,creditor_type,amount_eur`.

use std::io::{self, Write};

use crate::rng::{cumulative, SynthRng};

/// Settings of the generator.
#[derive(Debug, Clone)]
pub struct PaymentDefaultsOptions {
    /// Rows to write.
    pub rows: u64,
    /// Seed; the output is a function of the options.
    pub seed: u64,
    /// The release year; about 5 % of entries fall in the year before.
    pub year: i32,
    /// The 10-digit sub-area codes to spread persons over.
    pub subareas: Vec<String>,
}

const ENTRY_TYPES: [(&str, f64); 6] = [
    ("creditor_reported_default", 0.46),
    ("court_judgment", 0.22),
    ("enforcement_no_assets", 0.14),
    ("long_term_enforcement", 0.10),
    ("debt_adjustment", 0.06),
    ("bankruptcy", 0.02),
];

const CREDITOR_TYPES: [(&str, f64); 6] = [
    ("consumer_credit", 0.38),
    ("bank", 0.16),
    ("telecom", 0.14),
    ("utility", 0.10),
    ("public_sector", 0.12),
    ("other", 0.10),
];

/// Ages (lower end inclusive) and their weights among persons with defaults.
const AGE_WEIGHTS: [(u32, u32, f64); 9] = [
    (16, 17, 0.01),
    (18, 24, 0.13),
    (25, 34, 0.27),
    (35, 44, 0.23),
    (45, 54, 0.17),
    (55, 64, 0.11),
    (65, 74, 0.05),
    (75, 89, 0.025),
    (90, 99, 0.005),
];

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Writes the header and `options.rows` rows; returns the number of persons.
pub fn write_payment_defaults<W: Write>(options: &PaymentDefaultsOptions, out: W) -> io::Result<u64> {
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    let mut rng = SynthRng::new(options.seed);
    if options.subareas.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no sub-areas to generate for"));
    }
    // Sub-area weights: a shuffled power law, with every ninth sub-area made tiny.
    let mut order: Vec<usize> = (0..options.subareas.len()).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let mut weights = vec![0.0; order.len()];
    for (rank, &i) in order.iter().enumerate() {
        weights[i] = if rank % 9 == 8 { 0.02 } else { 1.0 / (1.0 + rank as f64).powf(0.7) };
    }
    let area_cum = cumulative(&weights);
    let age_cum = cumulative(&AGE_WEIGHTS.map(|a| a.2));
    let entry_cum = cumulative(&ENTRY_TYPES.map(|e| e.1));
    let creditor_cum = cumulative(&CREDITOR_TYPES.map(|e| e.1));

    writeln!(out, "person_id,birth_year,sex,subarea,entry_type,registration_date,creditor_type,amount_eur")?;
    let mut written = 0u64;
    let mut persons = 0u64;
    while written < options.rows {
        persons += 1;
        let id = format!("FI{:012}", rng.next_u64() % 1_000_000_000_000);
        let (lo, hi, _) = AGE_WEIGHTS[rng.pick(&age_cum)];
        let age = lo + rng.below(u64::from(hi - lo + 1)) as u32;
        let birth_year = options.year - age as i32;
        let sex = match rng.below(100) {
            0..=43 => "F",
            44..=98 => "M",
            _ => "X",
        };
        let area = &options.subareas[rng.pick(&area_cum)];
        // Entries per person: a mix of a few (most persons) and many (a heavy tail); mean ≈ 15.
        let n_entries = if rng.uniform() < 0.55 {
            1 + rng.below(4)
        } else {
            let x = (2.9 + 0.9 * rng.normal()).exp();
            (x as u64).clamp(2, 400)
        };
        let base_month = 1 + rng.below(12) as u32;
        let amount_scale = (5.6 + 0.5 * rng.normal()).exp();
        for _ in 0..n_entries {
            if written >= options.rows {
                break;
            }
            let year = if rng.uniform() < 0.05 { options.year - 1 } else { options.year };
            let spread = rng.below(7) as i64 - 3;
            let month = ((i64::from(base_month) - 1 + spread).rem_euclid(12) + 1) as u32;
            let day = 1 + rng.below(u64::from(days_in_month(year, month))) as u32;
            let entry = ENTRY_TYPES[rng.pick(&entry_cum)].0;
            let creditor = CREDITOR_TYPES[rng.pick(&creditor_cum)].0;
            let cents = ((amount_scale * (1.1 * rng.normal()).exp()) * 100.0).clamp(500.0, 25_000_000.0) as u64;
            writeln!(
                out,
                "{id},{birth_year},{sex},{area},{entry},{year:04}-{month:02}-{day:02},{creditor},{}.{:02}",
                cents / 100,
                cents % 100
            )?;
            written += 1;
        }
    }
    out.flush()?;
    Ok(persons)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(rows: u64, seed: u64) -> String {
        let options = PaymentDefaultsOptions {
            rows,
            seed,
            year: 2025,
            subareas: (0..20).map(|i| format!("0911101{i:03}")).collect(),
        };
        let mut buf = Vec::new();
        write_payment_defaults(&options, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn repeatable_with_the_requested_rows_and_columns() {
        let a = generate(5000, 3);
        assert_eq!(a, generate(5000, 3));
        assert_ne!(a, generate(5000, 4));
        let lines: Vec<&str> = a.lines().collect();
        assert_eq!(lines.len(), 5001);
        assert!(lines.iter().all(|l| l.split(',').count() == 8));
        // About 15 entries per person on average.
        let persons: std::collections::HashSet<&str> =
            lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
        let per_person = 5000.0 / persons.len() as f64;
        assert!((6.0..30.0).contains(&per_person), "{per_person}");
    }
}
