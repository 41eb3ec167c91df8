//! Synthetic youth chat conversations (an anonymous chat for ages 12–29): one row per
//! conversation, the unit of privacy is the chat session (no person id exists). Ages skewed to
//! 14–17, evenings busiest, one to four topics per conversation, and the area known for only
//! about a third of the conversations.
//!
//! Columns: `conversation_id,date,hour,age,gender,topics,first_contact,duration_min,subarea`.
//! UTF-8, `,` delimiter, `\n` line ends. `topics` is multi-label, joined by `|`; it never
//! contains a comma, but about one row in fifty has it quoted (`"anxiety|school"`), which is
//! valid CSV and exercises quote handling.

use std::io::{self, Write};

use crate::common::{pick_distinct, random_date, skewed_weights, UniqueIds};
use crate::rng::{cumulative, SynthRng};

/// Settings of the generator.
#[derive(Debug, Clone)]
pub struct YouthChatOptions {
    /// Rows (conversations) to write.
    pub rows: u64,
    /// Seed; the output is a function of the options.
    pub seed: u64,
    /// The release year; about 3 % of conversations fall in the year before.
    pub year: i32,
    /// The 10-digit sub-area codes for the conversations whose area is known.
    pub subareas: Vec<String>,
}

/// Weights of the hours 0..=23: quiet at night, busiest in the evening.
const HOUR_WEIGHTS: [f64; 24] = [
    3.0, 2.0, 1.2, 0.6, 0.3, 0.3, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 10.0, 9.0,
    7.0, 5.0,
];

/// Weights of the ages 12..=29: peak at 14–17.
const AGE_WEIGHTS: [f64; 18] =
    [3.0, 6.0, 10.0, 12.0, 12.0, 11.0, 9.0, 7.0, 6.0, 5.0, 4.0, 3.5, 3.0, 2.5, 2.0, 1.8, 1.5, 1.2];

/// Youngest self-reported age.
const MIN_AGE: usize = 12;

const GENDERS: [(&str, f64); 4] = [("girl", 0.62), ("boy", 0.25), ("other", 0.08), ("no_answer", 0.05)];

/// Topic codes, in output order, with their weights.
const TOPICS: [(&str, f64); 13] = [
    ("anxiety", 30.0),
    ("depression", 16.0),
    ("loneliness", 14.0),
    ("relationships", 26.0),
    ("family", 14.0),
    ("school", 13.0),
    ("self_harm", 4.0),
    ("suicidal_thoughts", 3.5),
    ("sexuality", 6.0),
    ("substance_use", 3.0),
    ("bullying", 5.0),
    ("eating", 4.0),
    ("other", 10.0),
];

/// Weights of 1, 2, 3 and 4 topics per conversation.
const TOPIC_COUNT_WEIGHTS: [f64; 4] = [45.0, 32.0, 16.0, 7.0];

/// Writes the header and `options.rows` rows; returns the number of conversations (one per
/// row).
pub fn write_youth_chat<W: Write>(options: &YouthChatOptions, out: W) -> io::Result<u64> {
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    let mut rng = SynthRng::new(options.seed);
    if options.subareas.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no sub-areas to generate for"));
    }
    let area_cum = cumulative(&skewed_weights(&mut rng, options.subareas.len()));
    let hour_cum = cumulative(&HOUR_WEIGHTS);
    let age_cum = cumulative(&AGE_WEIGHTS);
    let gender_cum = cumulative(&GENDERS.map(|g| g.1));
    let count_cum = cumulative(&TOPIC_COUNT_WEIGHTS);
    let topic_weights = TOPICS.map(|t| t.1);
    let mut ids = UniqueIds::new(&mut rng, 10);

    writeln!(out, "conversation_id,date,hour,age,gender,topics,first_contact,duration_min,subarea")?;
    let mut topics = String::new();
    for _ in 0..options.rows {
        let id = ids.next_id()?;
        let year = if rng.uniform() < 0.03 { options.year - 1 } else { options.year };
        let (month, day) = random_date(&mut rng, year);
        let hour = rng.pick(&hour_cum);
        let age = if rng.uniform() < 0.03 { None } else { Some(MIN_AGE + rng.pick(&age_cum)) };
        let gender = GENDERS[rng.pick(&gender_cum)].0;
        let n_topics = 1 + rng.pick(&count_cum);
        topics.clear();
        for (k, t) in pick_distinct(&mut rng, &topic_weights, n_topics).into_iter().enumerate() {
            if k > 0 {
                topics.push('|');
            }
            topics.push_str(TOPICS[t].0);
        }
        let quote = if rng.below(50) == 0 { "\"" } else { "" };
        let first_contact = if rng.uniform() < 0.45 { "yes" } else { "no" };
        let duration = (3.1 + 0.65 * rng.normal()).exp().round().clamp(5.0, 120.0) as u32;
        let area = if rng.uniform() < 0.35 { options.subareas[rng.pick(&area_cum)].as_str() } else { "" };
        write!(out, "C{id:010},{year:04}-{month:02}-{day:02},{hour},")?;
        if let Some(age) = age {
            write!(out, "{age}")?;
        }
        writeln!(out, ",{gender},{quote}{topics}{quote},{first_contact},{duration},{area}")?;
    }
    out.flush()?;
    Ok(options.rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(rows: u64, seed: u64) -> String {
        let options =
            YouthChatOptions { rows, seed, year: 2025, subareas: (0..20).map(|i| format!("0911101{i:03}")).collect() };
        let mut buf = Vec::new();
        assert_eq!(write_youth_chat(&options, &mut buf).unwrap(), rows);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn repeatable_with_the_requested_rows_and_columns() {
        let a = generate(5000, 3);
        assert_eq!(a, generate(5000, 3));
        assert_ne!(a, generate(5000, 4));
        assert!(!a.contains('\r'));
        let lines: Vec<&str> = a.lines().collect();
        assert_eq!(lines.len(), 5001);
        assert_eq!(lines[0], "conversation_id,date,hour,age,gender,topics,first_contact,duration_min,subarea");
        // No field contains a comma (the quoted `topics` fields only hold `|`-joined codes), so
        // a plain split counts the columns.
        assert!(lines.iter().all(|l| l.split(',').count() == 9));
        let ids: std::collections::HashSet<&str> = lines[1..].iter().map(|l| &l[..l.find(',').unwrap()]).collect();
        assert_eq!(ids.len(), 5000);
        assert!(ids.iter().all(|i| i.len() == 11 && i.starts_with('C') && i[1..].bytes().all(|b| b.is_ascii_digit())));
    }

    #[test]
    fn values_in_range() {
        let text = generate(20_000, 9);
        let codes: Vec<&str> = TOPICS.iter().map(|t| t.0).collect();
        let (mut no_age, mut young, mut quoted, mut with_area, mut previous_year) = (0, 0, 0, 0, 0);
        let mut evening = 0;
        let mut topic_counts = [0usize; 13];
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (date, hour) = (f[1], f[2].parse::<u32>().unwrap());
            assert!(date.starts_with("2025-") || date.starts_with("2024-"), "{date}");
            assert_eq!(date.len(), 10);
            previous_year += usize::from(date.starts_with("2024-"));
            assert!(hour < 24);
            evening += usize::from((17..=22).contains(&hour));
            if f[3].is_empty() {
                no_age += 1;
            } else {
                let age: u32 = f[3].parse().unwrap();
                assert!((12..=29).contains(&age), "{age}");
                young += usize::from((14..=17).contains(&age));
            }
            assert!(["girl", "boy", "other", "no_answer"].contains(&f[4]));
            let topics = if f[5].starts_with('"') {
                quoted += 1;
                assert!(f[5].ends_with('"') && f[5].len() > 2);
                &f[5][1..f[5].len() - 1]
            } else {
                f[5]
            };
            let parts: Vec<&str> = topics.split('|').collect();
            assert!((1..=4).contains(&parts.len()));
            let set: std::collections::HashSet<&&str> = parts.iter().collect();
            assert_eq!(set.len(), parts.len(), "repeated topic in {topics}");
            for p in &parts {
                let i = codes.iter().position(|c| c == p).unwrap();
                topic_counts[i] += 1;
            }
            assert!(["yes", "no"].contains(&f[6]));
            let duration: u32 = f[7].parse().unwrap();
            assert!((5..=120).contains(&duration));
            if !f[8].is_empty() {
                with_area += 1;
                assert_eq!(f[8].len(), 10);
            }
        }
        let n = 20_000.0;
        assert!((0.015..0.05).contains(&(no_age as f64 / n)), "{no_age}");
        assert!((0.015..0.05).contains(&(previous_year as f64 / n)), "{previous_year}");
        assert!((0.3..0.4).contains(&(with_area as f64 / n)), "{with_area}");
        assert!((100..700).contains(&quoted), "{quoted}");
        assert!(young as f64 / n > 0.35, "{young}");
        assert!(evening as f64 / n > 0.4, "{evening}");
        // anxiety and relationships lead; self-harm and suicidal thoughts are rarer.
        assert!(topic_counts[0] > topic_counts[6] * 4 && topic_counts[3] > topic_counts[7] * 4);
    }
}
