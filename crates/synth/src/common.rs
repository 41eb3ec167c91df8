//! Helpers shared by the generators: calendar arithmetic, skewed area weights, weighted draws
//! without repetition, unique opaque identifiers and the food product groups.

use std::io;

use crate::rng::{cumulative, SynthRng};

/// The weight of a tiny area in [`skewed_weights`].
pub(crate) const TINY_WEIGHT: f64 = 0.02;

/// Whether `year` is a leap year (proleptic Gregorian).
pub(crate) fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1..=12) of `year`.
pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A uniformly random `(month, day)` of `year`.
pub(crate) fn random_date(rng: &mut SynthRng, year: i32) -> (u32, u32) {
    let days = if is_leap(year) { 366 } else { 365 };
    let mut ordinal = rng.below(days) as u32;
    let mut month = 1;
    while month < 12 && ordinal >= days_in_month(year, month) {
        ordinal -= days_in_month(year, month);
        month += 1;
    }
    (month, ordinal + 1)
}

/// Area weights: a shuffled power law, with every ninth area made tiny ([`TINY_WEIGHT`]), as
/// in the payment-default generator.
pub(crate) fn skewed_weights(rng: &mut SynthRng, n: usize) -> Vec<f64> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let mut weights = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        weights[i] = if rank % 9 == 8 { TINY_WEIGHT } else { 1.0 / (1.0 + rank as f64).powf(0.7) };
    }
    weights
}

/// Up to `k` distinct indices drawn with probability proportional to `weights`, each draw
/// among the indices not yet drawn; indices of zero weight are never drawn. Returned in
/// increasing order.
pub(crate) fn pick_distinct(rng: &mut SynthRng, weights: &[f64], k: usize) -> Vec<usize> {
    let mut remaining: Vec<f64> = weights.iter().map(|w| w.max(0.0)).collect();
    let mut chosen = Vec::with_capacity(k);
    for _ in 0..k {
        let cum = cumulative(&remaining);
        if cum.last().copied().unwrap_or(0.0) <= 0.0 {
            break;
        }
        let mut i = rng.pick(&cum);
        if remaining[i] <= 0.0 {
            // Only reachable by rounding at the top end: take the last index still available.
            match remaining.iter().rposition(|w| *w > 0.0) {
                Some(j) => i = j,
                None => break,
            }
        }
        remaining[i] = 0.0;
        chosen.push(i);
    }
    chosen.sort_unstable();
    chosen
}

/// Distinct opaque numbers of a fixed number of decimal digits: the `i`-th is a keyed
/// pseudo-random permutation of `i` on `0..10^digits` (a four-round Feistel network on the
/// smallest even number of bits that holds the range, with cycle-walking back into the
/// range), so no number repeats until all of them are used and consecutive ones look
/// unrelated. The keys come from the synthetic generator; this is not encryption.
#[derive(Debug, Clone)]
pub(crate) struct UniqueIds {
    modulus: u64,
    half_bits: u32,
    keys: [u64; 4],
    next: u64,
}

impl UniqueIds {
    /// A sequence of `digits`-digit numbers (`digits` in 1..=18) with random keys.
    pub(crate) fn new(rng: &mut SynthRng, digits: u32) -> UniqueIds {
        let modulus = 10u64.pow(digits.clamp(1, 18));
        let bits = 64 - (modulus - 1).leading_zeros();
        UniqueIds {
            modulus,
            half_bits: bits.div_ceil(2),
            keys: [rng.next_u64(), rng.next_u64(), rng.next_u64(), rng.next_u64()],
            next: 0,
        }
    }

    /// The Feistel permutation of `x` on `0..2^(2 * half_bits)`.
    fn permute(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut left, mut right) = (x >> self.half_bits, x & mask);
        for key in self.keys {
            let mut z = (right ^ key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z ^= z >> 32;
            (left, right) = (right, left ^ (z & mask));
        }
        (left << self.half_bits) | right
    }

    /// The next number, or an error when every number has been used.
    pub(crate) fn next_id(&mut self) -> io::Result<u64> {
        if self.next >= self.modulus {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "more units requested than the identifier format can hold",
            ));
        }
        let mut id = self.permute(self.next);
        while id >= self.modulus {
            id = self.permute(id);
        }
        self.next += 1;
        Ok(id)
    }
}

/// A retail food product group, shared by the card-level and the pre-aggregated food sources.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FoodGroup {
    /// The code written to the extract.
    pub(crate) name: &'static str,
    /// Typical price of one item, in cents.
    pub(crate) unit_cents: f64,
    /// Share of shopping customers who buy from the group in a given week.
    pub(crate) penetration: f64,
    /// Typical weekly spend of a buying customer, in cents.
    pub(crate) spend_cents: f64,
}

const fn group(name: &'static str, unit_cents: f64, penetration: f64, spend_cents: f64) -> FoodGroup {
    FoodGroup { name, unit_cents, penetration, spend_cents }
}

/// The product groups, in output order.
pub(crate) const FOOD_GROUPS: [FoodGroup; 15] = [
    group("vegetables", 220.0, 0.55, 850.0),
    group("fruit_berries", 280.0, 0.50, 750.0),
    group("bread_cereals", 250.0, 0.60, 700.0),
    group("milk_dairy", 160.0, 0.65, 900.0),
    group("cheese", 450.0, 0.40, 650.0),
    group("meat", 650.0, 0.45, 1400.0),
    group("fish", 750.0, 0.18, 1100.0),
    group("ready_meals", 450.0, 0.30, 900.0),
    group("sweets_snacks", 260.0, 0.45, 650.0),
    group("soft_drinks", 200.0, 0.30, 550.0),
    group("alcohol_beer_cider", 350.0, 0.20, 1800.0),
    group("coffee_tea", 650.0, 0.25, 800.0),
    group("frozen", 380.0, 0.30, 750.0),
    group("baby_food", 180.0, 0.04, 1000.0),
    group("other", 300.0, 0.50, 1200.0),
];

/// Index of `baby_food` in [`FOOD_GROUPS`].
pub(crate) const BABY_FOOD: usize = 13;

/// Writes `cents` as euros with a comma decimal mark (`12,45`).
pub(crate) fn comma_euros(cents: u64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_ids_and_distinct_draws() {
        let mut rng = SynthRng::new(5);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20_000 {
            let (m, d) = random_date(&mut rng, 2024);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(2024, m));
            seen.insert((m, d));
        }
        assert!(seen.contains(&(2, 29)) && seen.contains(&(12, 31)) && seen.contains(&(1, 1)));
        assert_eq!(seen.len(), 366);

        // Two digits: all hundred numbers, each once, then an error.
        let mut ids = UniqueIds::new(&mut rng, 2);
        let all: std::collections::HashSet<u64> = (0..100).map(|_| ids.next_id().unwrap()).collect();
        assert_eq!(all.len(), 100);
        assert!(all.iter().all(|i| *i < 100));
        assert!(ids.next_id().is_err());
        let mut ids = UniqueIds::new(&mut rng, 3);
        let all: std::collections::HashSet<u64> = (0..1000).map(|_| ids.next_id().unwrap()).collect();
        assert!(all.len() == 1000 && all.iter().all(|i| *i < 1000));
        // Consecutive numbers of a long sequence do not follow a fixed step.
        let mut ids = UniqueIds::new(&mut rng, 10);
        let first: Vec<u64> = (0..4).map(|_| ids.next_id().unwrap()).collect();
        assert_ne!(first[1].wrapping_sub(first[0]), first[2].wrapping_sub(first[1]));

        for k in 0..6 {
            let d = pick_distinct(&mut rng, &[1.0, 0.0, 2.0, 3.0, 0.5], k);
            assert_eq!(d.len(), k.min(4));
            assert!(!d.contains(&1));
            assert!(d.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(FOOD_GROUPS[BABY_FOOD].name, "baby_food");
        assert_eq!(comma_euros(1245), "12,45");
        assert_eq!(comma_euros(7), "0,07");
    }
}
