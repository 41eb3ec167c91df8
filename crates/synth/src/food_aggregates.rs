//! Synthetic retailer-pre-aggregated food sales: one row per retailer × postal code × week ×
//! product group, written in that fixed order until the requested number of rows. There is no
//! unit of privacy (the retailers aggregated the data); `stores` (0–6, often 1 or 2) makes
//! the dominance rule matter, and `customers` falls below 5 now and then in tiny areas.
//!
//! Columns: `retailer;postal_code;week;product_group;euros;quantity;stores;customers`.
//! Encoded in Windows-1252 (not UTF-8: the retailer names contain `ä` and `Ö`), `;`
//! delimiter, `,` decimal mark, CRLF line ends, no byte-order mark.

use std::io::{self, Write};

use crate::common::{comma_euros, skewed_weights, FOOD_GROUPS};
use crate::rng::{cumulative, SynthRng};

/// Settings of the generator.
#[derive(Debug, Clone)]
pub struct FoodAggregatesOptions {
    /// Rows to write, at most one per retailer × postal code × week × product group.
    pub rows: u64,
    /// Seed; the output is a function of the options.
    pub seed: u64,
    /// The year of the weeks.
    pub year: i32,
    /// The 5-digit postal codes (for example [`crate::helsinki_postal_codes`]).
    pub postal_codes: Vec<String>,
}

/// The two retail groups and their typical share of an area's shoppers.
const RETAILERS: [(&str, f64); 2] = [("Kauppaketju Pohjoistähti", 0.55), ("Ruokaosuuskunta Östersundom", 0.40)];

/// Weights of 0..=6 stores of a retailer in a postal area.
const STORE_WEIGHTS: [f64; 7] = [0.12, 0.33, 0.25, 0.13, 0.09, 0.05, 0.03];

/// Residents (roughly, shopping households) of the largest postal area.
const LARGEST_AREA: f64 = 6000.0;

/// The Windows-1252 characters of the bytes 0x80..=0x9F (`'\0'` for the five unassigned).
const HIGH: [char; 32] = [
    '\u{20AC}', '\0', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{02C6}', '\u{2030}',
    '\u{0160}', '\u{2039}', '\u{0152}', '\0', '\u{017D}', '\0', '\0', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}',
    '\u{2022}', '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\0', '\u{017E}',
    '\u{0178}',
];

/// Appends `text` encoded in Windows-1252 to `buf`: U+0000–U+007F and U+00A0–U+00FF (the
/// Latin-1 range, with `ä`, `ö`, `å`, `Ä`, `Ö`, `Å`) become the byte of the same value, and the
/// 27 characters that Windows-1252 places in 0x80–0x9F (`€`, `Š`, `—`, …) their byte. Any
/// other character, including the C1 controls U+0080–U+009F, is an error, and nothing is
/// appended for it or after it.
pub fn push_windows_1252(text: &str, buf: &mut Vec<u8>) -> io::Result<()> {
    for c in text.chars() {
        let code = u32::from(c);
        let byte = match code {
            0x00..=0x7F | 0xA0..=0xFF => Some(code as u8),
            _ => HIGH.iter().position(|h| *h == c && *h != '\0').map(|i| 0x80 + i as u8),
        };
        match byte {
            Some(b) => buf.push(b),
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("U+{code:04X} cannot be encoded in Windows-1252"),
                ))
            }
        }
    }
    Ok(())
}

/// `text` encoded in Windows-1252; see [`push_windows_1252`].
pub fn encode_windows_1252(text: &str) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(text.len());
    push_windows_1252(text, &mut buf)?;
    Ok(buf)
}

/// Seasonal factor of a product group's sales in a week (1..=52).
fn season(group: &str, week: u32) -> f64 {
    let base = 1.0 + 0.08 * (2.0 * std::f64::consts::PI * f64::from(week) / 52.0).sin();
    let christmas = if week >= 50 { 0.25 } else { 0.0 };
    let summer = match group {
        "alcohol_beer_cider" | "soft_drinks" if (22..=34).contains(&week) => 0.35,
        "fruit_berries" if (26..=36).contains(&week) => 0.25,
        _ => 0.0,
    };
    base + christmas + summer
}

/// Writes the header and up to `options.rows` rows (fewer when the retailers, postal codes,
/// weeks and product groups run out); returns the number of rows written.
pub fn write_food_aggregates<W: Write>(options: &FoodAggregatesOptions, out: W) -> io::Result<u64> {
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    let mut rng = SynthRng::new(options.seed);
    if options.postal_codes.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no postal codes to generate for"));
    }
    let area_weights = skewed_weights(&mut rng, options.postal_codes.len());
    let store_cum = cumulative(&STORE_WEIGHTS);
    let mut line = String::with_capacity(128);
    let mut bytes = Vec::with_capacity(128);

    out.write_all(b"retailer;postal_code;week;product_group;euros;quantity;stores;customers\r\n")?;
    let mut written = 0u64;
    'all: for (retailer, base_share) in RETAILERS {
        for (postal, weight) in options.postal_codes.iter().zip(&area_weights) {
            if written >= options.rows {
                break 'all;
            }
            let stores = rng.pick(&store_cum);
            let share = (base_share * (0.3 * rng.normal()).exp() * (0.6 + 0.15 * stores as f64)).clamp(0.02, 0.95);
            let shoppers = LARGEST_AREA * weight * share;
            for week in 1..=52u32 {
                for group in FOOD_GROUPS {
                    if written >= options.rows {
                        break 'all;
                    }
                    let expected =
                        shoppers * group.penetration * season(group.name, week) * (0.15 * rng.normal()).exp();
                    let customers = expected.round().max(0.0) as u64;
                    let (cents, quantity) = if customers == 0 {
                        (0, 0)
                    } else {
                        let cents = (customers as f64 * group.spend_cents * (0.1 * rng.normal()).exp()).round() as u64;
                        let quantity =
                            (cents as f64 / group.unit_cents * (0.05 * rng.normal()).exp()).round().max(1.0) as u64;
                        (cents, quantity)
                    };
                    line.clear();
                    {
                        use std::fmt::Write as _;
                        // Writing to a String cannot fail.
                        let _ = write!(
                            line,
                            "{retailer};{postal};{:04}-W{week:02};{};{};{quantity};{stores};{customers}\r\n",
                            options.year,
                            group.name,
                            comma_euros(cents),
                        );
                    }
                    bytes.clear();
                    push_windows_1252(&line, &mut bytes)?;
                    out.write_all(&bytes)?;
                    written += 1;
                }
            }
        }
    }
    out.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn generate(rows: u64, seed: u64, postal_codes: Vec<String>) -> (Vec<u8>, u64) {
        let options = FoodAggregatesOptions { rows, seed, year: 2025, postal_codes };
        let mut buf = Vec::new();
        let written = write_food_aggregates(&options, &mut buf).unwrap();
        (buf, written)
    }

    /// Decodes Windows-1252 text that only uses the Latin-1 range.
    fn latin1(bytes: &[u8]) -> String {
        bytes.iter().map(|b| char::from(*b)).collect()
    }

    #[test]
    fn encodes_windows_1252() {
        assert_eq!(
            encode_windows_1252("äöåÄÖÅ é€—").unwrap(),
            vec![0xE4, 0xF6, 0xE5, 0xC4, 0xD6, 0xC5, b' ', 0xE9, 0x80, 0x97]
        );
        assert_eq!(encode_windows_1252("abc;1,5\r\n").unwrap(), b"abc;1,5\r\n");
        for bad in ["\u{0081}", "\u{0080}", "→", "č", "日本", "😀"] {
            let err = encode_windows_1252(bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{bad}");
        }
        let mut buf = b"x".to_vec();
        assert!(push_windows_1252("ok→no", &mut buf).is_err());
        assert_eq!(buf, b"xok");
    }

    #[test]
    fn repeatable_with_the_requested_rows_columns_and_dialect() {
        let codes = crate::helsinki_postal_codes();
        let (a, written) = generate(5000, 3, codes.clone());
        assert_eq!(written, 5000);
        assert_eq!(a, generate(5000, 3, codes.clone()).0);
        assert_ne!(a, generate(5000, 4, codes).0);
        // Windows-1252, not UTF-8: `ä` is 0xE4 and `Ö` is 0xD6, and no byte-order mark.
        assert!(std::str::from_utf8(&a).is_err());
        assert!(!a.starts_with(b"\xEF\xBB\xBF"));
        let retailer0 = b"Kauppaketju Pohjoist\xE4hti;";
        assert!(a.windows(retailer0.len()).any(|w| w == retailer0));
        let text = latin1(&a);
        assert!(text.ends_with("\r\n"));
        assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 5001);
        assert_eq!(lines[0], "retailer;postal_code;week;product_group;euros;quantity;stores;customers");
        assert!(lines.iter().all(|l| l.split(';').count() == 8));
        // The fixed order: product groups cycle fastest, then weeks.
        let first: Vec<Vec<&str>> = lines[1..=16].iter().map(|l| l.split(';').collect()).collect();
        assert_eq!(first[0][2], "2025-W01");
        assert_eq!(first[0][3], FOOD_GROUPS[0].name);
        assert_eq!(first[14][3], FOOD_GROUPS[14].name);
        assert_eq!(first[15][2], "2025-W02");
        assert_eq!(first[15][3], FOOD_GROUPS[0].name);
    }

    #[test]
    fn every_combination_once_and_values_in_range() {
        let codes: Vec<String> = crate::helsinki_postal_codes().into_iter().take(30).collect();
        let all = 2 * 30 * 52 * 15;
        // Asking for more rows than there are combinations writes each combination once.
        let (a, written) = generate(all + 1000, 8, codes.clone());
        assert_eq!(written, all);
        let text = latin1(&a);
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines.len() as u64, all + 1);
        let mut keys = HashSet::new();
        let mut stores_by_area: HashMap<(&str, &str), HashSet<u32>> = HashMap::new();
        let (mut small, mut zero_euros) = (0, 0);
        let mut max_customers = 0;
        for line in &lines[1..] {
            let f: Vec<&str> = line.split(';').collect();
            assert!(RETAILERS.iter().any(|r| r.0 == f[0]), "{}", f[0]);
            assert!(codes.iter().any(|c| c == f[1]));
            let week: u32 = f[2].strip_prefix("2025-W").unwrap().parse().unwrap();
            assert!((1..=52).contains(&week));
            assert!(FOOD_GROUPS.iter().any(|g| g.name == f[3]));
            assert!(keys.insert((f[0], f[1], f[2], f[3])), "repeated {line}");
            let (euros, cents) = f[4].split_once(',').unwrap();
            assert!(cents.len() == 2 && !f[4].contains('.'));
            let value = euros.parse::<u64>().unwrap() * 100 + cents.parse::<u64>().unwrap();
            let quantity: u64 = f[5].parse().unwrap();
            let stores: u32 = f[6].parse().unwrap();
            assert!(stores <= 6);
            stores_by_area.entry((f[0], f[1])).or_default().insert(stores);
            let customers: u64 = f[7].parse().unwrap();
            max_customers = max_customers.max(customers);
            small += usize::from(customers < 5);
            if customers == 0 {
                assert_eq!((value, quantity), (0, 0));
                zero_euros += 1;
            } else {
                assert!(value > 0 && quantity > 0);
            }
        }
        // One store count per retailer and postal area, many areas with one or two stores.
        assert!(stores_by_area.values().all(|s| s.len() == 1));
        let few = stores_by_area.values().filter(|s| s.contains(&1) || s.contains(&2)).count();
        assert!(few >= 20, "{few}");
        assert!(small > 0 && small < lines.len() / 5, "{small}");
        assert!(zero_euros <= small);
        assert!((1000..10_000).contains(&max_customers), "{max_customers}");
    }
}
