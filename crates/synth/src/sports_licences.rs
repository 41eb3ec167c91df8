//! Synthetic sports licences: one row per licence, the unit of privacy is the person, who holds
//! one to three licences (mostly one) in different sports. Licence holders are mostly children
//! and youth (ages 5–19) with a tail of adults up to 70; sub-areas are skewed, some tiny.
//!
//! Columns: `person_id,birth_year,sex,subarea,federation,sport,licence_type,season,purchase_date`.
//! UTF-8, `,` delimiter, `\n` line ends; federation names contain Finnish letters but no commas.

use std::io::{self, Write};

use crate::common::{days_in_month, pick_distinct, skewed_weights, UniqueIds};
use crate::rng::{cumulative, SynthRng};

/// Settings of the generator.
#[derive(Debug, Clone)]
pub struct SportsLicencesOptions {
    /// Rows (licences) to write.
    pub rows: u64,
    /// Seed; the output is a function of the options.
    pub seed: u64,
    /// The season; every licence belongs to it and is bought within it.
    pub year: i32,
    /// The 10-digit sub-area codes to spread persons over.
    pub subareas: Vec<String>,
}

/// Federation, sport, weight among children and youth (up to 19), weight among adults.
const FEDERATIONS: [(&str, &str, f64, f64); 14] = [
    ("Suomen Palloliitto", "football", 30.0, 14.0),
    ("Suomen Jääkiekkoliitto", "ice_hockey", 10.0, 6.0),
    ("Suomen Salibandyliitto", "floorball", 12.0, 9.0),
    ("Suomen Koripalloliitto", "basketball", 7.0, 4.0),
    ("Suomen Uimaliitto", "swimming", 6.0, 3.0),
    ("Suomen Voimisteluliitto", "gymnastics", 9.0, 3.0),
    ("Suomen Taitoluisteluliitto", "figure_skating", 4.0, 0.5),
    ("Suomen Tennisliitto", "tennis", 3.0, 6.0),
    ("Suomen Urheiluliitto", "athletics", 6.0, 5.0),
    ("Suomen Lentopalloliitto", "volleyball", 3.0, 6.0),
    ("Suomen Hiihtoliitto", "cross_country_skiing", 2.0, 5.0),
    ("Suomen Golfliitto", "golf", 1.0, 28.0),
    ("Suomen Ratsastajainliitto", "equestrian", 4.0, 5.0),
    ("Suomen Judoliitto", "judo", 3.0, 1.5),
];

/// Ages in the season (both ends inclusive) and their weights among licence holders.
const AGE_WEIGHTS: [(u32, u32, f64); 7] =
    [(5, 9, 0.22), (10, 14, 0.32), (15, 19, 0.21), (20, 29, 0.08), (30, 44, 0.09), (45, 59, 0.06), (60, 70, 0.02)];

/// Weights of 1, 2 and 3 licences per person.
const LICENCE_COUNT_WEIGHTS: [f64; 3] = [0.78, 0.17, 0.05];

/// Weights of the purchase months: renewals at the start of the year and the autumn season.
const MONTH_WEIGHTS: [f64; 12] = [14.0, 8.0, 6.0, 5.0, 6.0, 5.0, 4.0, 9.0, 16.0, 12.0, 8.0, 7.0];

/// Writes the header and `options.rows` rows; returns the number of persons.
pub fn write_sports_licences<W: Write>(options: &SportsLicencesOptions, out: W) -> io::Result<u64> {
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    let mut rng = SynthRng::new(options.seed);
    if options.subareas.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no sub-areas to generate for"));
    }
    let area_cum = cumulative(&skewed_weights(&mut rng, options.subareas.len()));
    let age_cum = cumulative(&AGE_WEIGHTS.map(|a| a.2));
    let count_cum = cumulative(&LICENCE_COUNT_WEIGHTS);
    let month_cum = cumulative(&MONTH_WEIGHTS);
    let youth_weights = FEDERATIONS.map(|f| f.2);
    let adult_weights = FEDERATIONS.map(|f| f.3);
    let mut ids = UniqueIds::new(&mut rng, 12);
    let season = options.year;

    writeln!(out, "person_id,birth_year,sex,subarea,federation,sport,licence_type,season,purchase_date")?;
    let mut written = 0u64;
    let mut persons = 0u64;
    while written < options.rows {
        persons += 1;
        let id = ids.next_id()?;
        let (lo, hi, _) = AGE_WEIGHTS[rng.pick(&age_cum)];
        let age = lo + rng.below(u64::from(hi - lo + 1)) as u32;
        let birth_year = season - age as i32;
        let sex = match rng.below(200) {
            0..=83 => "F",
            84..=198 => "M",
            _ => "X",
        };
        let area = &options.subareas[rng.pick(&area_cum)];
        let youth = age <= 19;
        let n_licences = 1 + rng.pick(&count_cum);
        let weights = if youth { &youth_weights } else { &adult_weights };
        let competition_share = if youth { 0.55 } else { 0.25 };
        for f in pick_distinct(&mut rng, weights, n_licences) {
            if written >= options.rows {
                break;
            }
            let (federation, sport, _, _) = FEDERATIONS[f];
            let licence_type = if rng.uniform() < competition_share { "competition" } else { "non_competition" };
            let month = 1 + rng.pick(&month_cum) as u32;
            let day = 1 + rng.below(u64::from(days_in_month(season, month))) as u32;
            writeln!(
                out,
                "FI{id:012},{birth_year},{sex},{area},{federation},{sport},{licence_type},{season:04},{season:04}-{month:02}-{day:02}"
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
    use std::collections::{HashMap, HashSet};

    fn generate(rows: u64, seed: u64) -> (String, u64) {
        let options = SportsLicencesOptions {
            rows,
            seed,
            year: 2025,
            subareas: (0..20).map(|i| format!("0911101{i:03}")).collect(),
        };
        let mut buf = Vec::new();
        let persons = write_sports_licences(&options, &mut buf).unwrap();
        (String::from_utf8(buf).unwrap(), persons)
    }

    #[test]
    fn repeatable_with_the_requested_rows_and_columns() {
        let (a, persons) = generate(5000, 3);
        assert_eq!(a, generate(5000, 3).0);
        assert_ne!(a, generate(5000, 4).0);
        assert!(!a.contains('\r'));
        let lines: Vec<&str> = a.lines().collect();
        assert_eq!(lines.len(), 5001);
        assert_eq!(lines[0], "person_id,birth_year,sex,subarea,federation,sport,licence_type,season,purchase_date");
        assert!(lines.iter().all(|l| l.split(',').count() == 9));
        // A person's rows are consecutive and agree on the person's attributes and hold
        // different sports; mostly one licence per person.
        let mut by_person: HashMap<&str, Vec<Vec<&str>>> = HashMap::new();
        let mut order = Vec::new();
        for l in &lines[1..] {
            let f: Vec<&str> = l.split(',').collect();
            if order.last() != Some(&f[0]) {
                order.push(f[0]);
            }
            by_person.entry(f[0]).or_default().push(f);
        }
        assert_eq!(order.len(), by_person.len(), "a person's rows are not consecutive");
        assert_eq!(by_person.len() as u64, persons);
        for rows in by_person.values() {
            assert!((1..=3).contains(&rows.len()));
            assert!(rows.iter().all(|r| r[1..4] == rows[0][1..4]));
            let sports: HashSet<&str> = rows.iter().map(|r| r[5]).collect();
            assert_eq!(sports.len(), rows.len());
        }
        let per_person = 5000.0 / persons as f64;
        assert!((1.1..1.5).contains(&per_person), "{per_person}");
    }

    #[test]
    fn values_in_range() {
        let (text, _) = generate(20_000, 11);
        let known: HashMap<&str, &str> = FEDERATIONS.iter().map(|f| (f.0, f.1)).collect();
        let (mut youth, mut competition) = (0, 0);
        let mut areas: HashMap<&str, usize> = HashMap::new();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            assert!(f[0].len() == 14 && f[0].starts_with("FI"));
            assert!(f[0][2..].bytes().all(|b| b.is_ascii_digit()));
            let age = 2025 - f[1].parse::<i32>().unwrap();
            assert!((5..=70).contains(&age), "{age}");
            youth += usize::from(age <= 19);
            assert!(["F", "M", "X"].contains(&f[2]));
            *areas.entry(f[3]).or_default() += 1;
            assert_eq!(known.get(f[4]), Some(&f[5]), "{line}");
            competition += usize::from(f[6] == "competition");
            assert!(f[6] == "competition" || f[6] == "non_competition");
            assert_eq!(f[7], "2025");
            assert!(f[8].starts_with("2025-") && f[8].len() == 10);
            let month: u32 = f[8][5..7].parse().unwrap();
            let day: u32 = f[8][8..10].parse().unwrap();
            assert!((1..=12).contains(&month) && (1..=days_in_month(2025, month)).contains(&day));
        }
        assert!(youth as f64 / 20_000.0 > 0.6, "{youth}");
        assert!((0.3..0.6).contains(&(competition as f64 / 20_000.0)));
        // Skewed areas: the largest has many times the rows of the smallest.
        let (min, max) = (areas.values().min().unwrap(), areas.values().max().unwrap());
        assert!(*max > 10 * *min, "{min} {max}");
        assert!(text.contains("Suomen Jääkiekkoliitto"));
    }
}
