//! A small, seeded generator (xoshiro256**, seeded by SplitMix64) and the distributions the
//! synthetic sources need. Not for privacy noise.

/// xoshiro256** (Blackman & Vigna), seeded through SplitMix64.
#[derive(Debug, Clone)]
pub struct SynthRng {
    s: [u64; 4],
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SynthRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> SynthRng {
        let mut st = seed;
        SynthRng { s: [splitmix(&mut st), splitmix(&mut st), splitmix(&mut st), splitmix(&mut st)] }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[0, n)`; `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Index drawn with probability proportional to `cumulative[i] - cumulative[i-1]`;
    /// `cumulative` must be increasing with a positive last element.
    pub fn pick(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0.0);
        let x = self.uniform() * total;
        cumulative.partition_point(|c| *c <= x).min(cumulative.len().saturating_sub(1))
    }
}

/// Turns weights into a cumulative table for [`SynthRng::pick`].
pub fn cumulative(weights: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w.max(0.0);
            Some(*acc)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_roughly_uniform() {
        let (mut a, mut b) = (SynthRng::new(7), SynthRng::new(7));
        assert!((0..100).all(|_| a.next_u64() == b.next_u64()));
        let mut r = SynthRng::new(1);
        let n = 100_000;
        let mean = (0..n).map(|_| r.uniform()).sum::<f64>() / n as f64;
        // The sd of the mean is 1/sqrt(12n) ≈ 0.0009; 6 sd is a false-failure rate below 1e-8,
        // but the generator is deterministic, so this can only fail if the code changes.
        assert!((mean - 0.5).abs() < 0.0055, "{mean}");
        let c = cumulative(&[1.0, 0.0, 3.0]);
        let picks: Vec<usize> = (0..1000).map(|_| r.pick(&c)).collect();
        assert!(!picks.contains(&1));
        assert!(picks.iter().filter(|p| **p == 2).count() > 650);
    }
}
