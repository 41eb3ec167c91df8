//! Synthetic card-level retail food sales: one row per loyalty card × week × product group,
//! the unit of privacy is the loyalty card. A card shops in many weeks of the year, buys from a
//! few product groups each week, and its spending grows with the household size; postal codes
//! are skewed, some tiny.
//!
//! Columns: `card_id;household_size;age_band;postal_code;week;product_group;euros;quantity`.
//! The Finnish Excel dialect: UTF-8 with a byte-order mark, `;` delimiter, `,` decimal mark,
//! CRLF line ends. `week` is an ISO-week label (`2025-W07`), weeks 01..=52 of the year.

use std::io::{self, Write};

use crate::common::{comma_euros, pick_distinct, skewed_weights, UniqueIds, BABY_FOOD, FOOD_GROUPS};
use crate::rng::{cumulative, SynthRng};

/// Settings of the generator.
#[derive(Debug, Clone)]
pub struct FoodCardsOptions {
    /// Rows to write.
    pub rows: u64,
    /// Seed; the output is a function of the options.
    pub seed: u64,
    /// The year of the weeks.
    pub year: i32,
    /// The 5-digit postal codes to spread cards over (for example
    /// [`crate::helsinki_postal_codes`]).
    pub postal_codes: Vec<String>,
}

/// The cardholder's age band and its weight among cardholders.
const AGE_BANDS: [(&str, f64); 7] = [
    ("18-24", 0.08),
    ("25-34", 0.18),
    ("35-44", 0.19),
    ("45-54", 0.17),
    ("55-64", 0.16),
    ("65-74", 0.14),
    ("75+", 0.08),
];

/// Weights of household sizes 1..=6 for cardholders aged 25–54, and for the others.
const HOUSEHOLD_FAMILY_AGES: [f64; 6] = [0.25, 0.28, 0.18, 0.19, 0.07, 0.03];
const HOUSEHOLD_OTHER_AGES: [f64; 6] = [0.50, 0.38, 0.06, 0.04, 0.015, 0.005];

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes the byte-order mark, the header and `options.rows` rows; returns the number of cards.
pub fn write_food_cards<W: Write>(options: &FoodCardsOptions, out: W) -> io::Result<u64> {
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    let mut rng = SynthRng::new(options.seed);
    if options.postal_codes.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no postal codes to generate for"));
    }
    let area_cum = cumulative(&skewed_weights(&mut rng, options.postal_codes.len()));
    let band_cum = cumulative(&AGE_BANDS.map(|b| b.1));
    let family_cum = cumulative(&HOUSEHOLD_FAMILY_AGES);
    let other_cum = cumulative(&HOUSEHOLD_OTHER_AGES);
    let mut ids = UniqueIds::new(&mut rng, 9);

    out.write_all(BOM)?;
    write!(out, "card_id;household_size;age_band;postal_code;week;product_group;euros;quantity\r\n")?;
    let mut written = 0u64;
    let mut cards = 0u64;
    while written < options.rows {
        let id = ids.next_id()?;
        let band = rng.pick(&band_cum);
        let family_age = (1..=3).contains(&band);
        let household = 1 + rng.pick(if family_age { &family_cum } else { &other_cum });
        let postal = &options.postal_codes[rng.pick(&area_cum)];
        // How often the card is used, how many groups a week, and the card's group mix.
        let p_active = 0.1 + 0.85 * rng.uniform();
        let basket = 1 + household as u64 + rng.below(4);
        let mut weights: Vec<f64> = FOOD_GROUPS.iter().map(|g| g.penetration * (0.4 * rng.normal()).exp()).collect();
        weights[BABY_FOOD] = if household >= 3 && band <= 2 { 0.3 } else { 0.0 };
        let volume = (0.3 * rng.normal()).exp() * (1.0 + 0.5 * household as f64);
        let mut card_rows = 0u64;
        for week in 1..=52u32 {
            if written >= options.rows {
                break;
            }
            if rng.uniform() >= p_active {
                continue;
            }
            let k = (basket + rng.below(3)).saturating_sub(1).clamp(1, 15) as usize;
            for g in pick_distinct(&mut rng, &weights, k) {
                if written >= options.rows {
                    break;
                }
                let group = FOOD_GROUPS[g];
                let quantity = (volume * (0.6 * rng.normal()).exp()).round().clamp(1.0, 40.0);
                let cents = (quantity * group.unit_cents * (0.25 * rng.normal()).exp()).round().max(10.0) as u64;
                write!(
                    out,
                    "K{id:09};{household};{};{postal};{:04}-W{week:02};{};{};{}\r\n",
                    AGE_BANDS[band].0,
                    options.year,
                    group.name,
                    comma_euros(cents),
                    quantity as u32
                )?;
                written += 1;
                card_rows += 1;
            }
        }
        if card_rows > 0 {
            cards += 1;
        }
    }
    out.flush()?;
    Ok(cards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn generate(rows: u64, seed: u64) -> (Vec<u8>, u64) {
        let options = FoodCardsOptions { rows, seed, year: 2025, postal_codes: crate::helsinki_postal_codes() };
        let mut buf = Vec::new();
        let cards = write_food_cards(&options, &mut buf).unwrap();
        (buf, cards)
    }

    #[test]
    fn repeatable_with_the_requested_rows_columns_and_dialect() {
        let (a, cards) = generate(5000, 3);
        assert_eq!(a, generate(5000, 3).0);
        assert_ne!(a, generate(5000, 4).0);
        assert!(a.starts_with(BOM));
        let text = std::str::from_utf8(&a[3..]).unwrap();
        assert!(!text.starts_with('\u{feff}'));
        // CRLF everywhere: every line feed follows a carriage return, and the file ends with one.
        assert!(text.ends_with("\r\n"));
        assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 5001);
        assert_eq!(lines[0], "card_id;household_size;age_band;postal_code;week;product_group;euros;quantity");
        assert!(lines.iter().all(|l| l.split(';').count() == 8));
        // Cards recur over many weeks.
        let mut weeks: HashMap<&str, HashSet<&str>> = HashMap::new();
        for l in &lines[1..] {
            let f: Vec<&str> = l.split(';').collect();
            weeks.entry(f[0]).or_default().insert(f[4]);
        }
        assert_eq!(weeks.len() as u64, cards);
        let mean_weeks = weeks.values().map(|w| w.len()).sum::<usize>() as f64 / weeks.len() as f64;
        assert!(mean_weeks > 8.0, "{mean_weeks}");
    }

    #[test]
    fn values_in_range() {
        let (a, _) = generate(20_000, 5);
        let text = std::str::from_utf8(&a[3..]).unwrap();
        let groups: HashSet<&str> = FOOD_GROUPS.iter().map(|g| g.name).collect();
        let postal: HashSet<String> = crate::helsinki_postal_codes().into_iter().collect();
        let mut seen_groups = HashSet::new();
        for line in text.split_terminator("\r\n").skip(1) {
            let f: Vec<&str> = line.split(';').collect();
            assert!(f[0].len() == 10 && f[0].starts_with('K'));
            assert!(f[0][1..].bytes().all(|b| b.is_ascii_digit()));
            let household: u32 = f[1].parse().unwrap();
            assert!((1..=6).contains(&household));
            assert!(AGE_BANDS.iter().any(|b| b.0 == f[2]));
            assert!(postal.contains(f[3]));
            assert!(f[4].len() == 8 && f[4].starts_with("2025-W"));
            let week: u32 = f[4][6..].parse().unwrap();
            assert!((1..=52).contains(&week));
            assert!(groups.contains(f[5]));
            seen_groups.insert(f[5]);
            // Comma decimal mark with exactly two decimals, and no dot.
            let (euros, cents) = f[6].split_once(',').unwrap();
            assert!(!f[6].contains('.'));
            assert!(cents.len() == 2 && cents.bytes().all(|b| b.is_ascii_digit()));
            let value = euros.parse::<u64>().unwrap() * 100 + cents.parse::<u64>().unwrap();
            assert!(value >= 10);
            let quantity: u32 = f[7].parse().unwrap();
            assert!((1..=40).contains(&quantity));
        }
        assert_eq!(seen_groups.len(), FOOD_GROUPS.len());
    }
}
