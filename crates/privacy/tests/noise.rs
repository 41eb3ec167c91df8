//! The secure noise has the distribution the manifest claims: discrete Laplace with the

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! calibrated scale. Each statistical check uses a 6-sigma bound (two-sided normal tail
//! 2·10⁻⁹), so a correct implementation fails one of them about once in 10⁸ runs.

use cellguard_privacy::plan::{ContributionBounds, MeasureKind, MeasurePlan};
use cellguard_privacy::{NoiseSource, SecureNoise};

/// P(Z = z) of the discrete Laplace distribution with parameter a = exp(-1/scale).
fn pmf(z: i64, scale: f64) -> f64 {
    let a = (-1.0 / scale).exp();
    (1.0 - a) / (1.0 + a) * a.powi(z.unsigned_abs() as i32)
}

fn plan(max_cells: u32, epsilon: f64) -> MeasurePlan {
    let bounds = ContributionBounds { max_cells_per_unit: max_cells, max_records_per_cell: 1 };
    MeasurePlan::new("persons", MeasureKind::CountUnits, &bounds, epsilon).unwrap()
}

#[test]
fn calibration_follows_sensitivity_over_epsilon() {
    let p = plan(4, 0.5);
    assert_eq!(p.sensitivity, 4);
    assert!((p.scale - 8.0).abs() < 1e-9);
    assert!(p.epsilon <= 0.5 && p.epsilon > 0.5 - 1e-12);
    assert_eq!(p.measurement().map(&4).unwrap(), p.epsilon);
    // An epsilon that does not divide exactly still never exceeds the allowance.
    let q = plan(3, 0.7);
    assert!(q.epsilon <= 0.7, "{}", q.epsilon);
}

#[test]
fn ci95_half_width_is_the_smallest_covering_integer() {
    for scale_eps in [(1, 2.0), (4, 0.5), (3, 0.1), (1, 0.01)] {
        let p = plan(scale_eps.0, scale_eps.1);
        let h = p.ci95_half_width();
        let inside = |h: i64| (-h..=h).map(|z| pmf(z, p.scale)).sum::<f64>();
        assert!(inside(h) >= 0.95, "scale {}: h = {h} covers {}", p.scale, inside(h));
        assert!(h == 0 || inside(h - 1) < 0.95, "scale {}: h = {h} is not the smallest", p.scale);
        // The standard deviation formula against the pmf.
        let var: f64 = (-20_000..=20_000).map(|z| (z * z) as f64 * pmf(z, p.scale)).sum();
        assert!((var.sqrt() - p.noise_sd()).abs() < 1e-6 * p.noise_sd(), "{} vs {}", var.sqrt(), p.noise_sd());
    }
}

#[test]
fn secure_noise_has_the_claimed_distribution() {
    let p = plan(4, 0.5); // scale 8
    let n = 200_000usize;
    let noise = SecureNoise.perturb(&p, &vec![0; n]).unwrap();
    assert_eq!(noise.len(), n);
    // Moments of the discrete Laplace, from the pmf.
    let range = -2_000i64..=2_000;
    let var: f64 = range.clone().map(|z| (z * z) as f64 * pmf(z, p.scale)).sum();
    let m4: f64 = range.map(|z| ((z * z) as f64).powi(2) * pmf(z, p.scale)).sum();
    let mean = noise.iter().sum::<i64>() as f64 / n as f64;
    assert!(mean.abs() < 6.0 * (var / n as f64).sqrt(), "mean {mean}");
    let sample_var = noise.iter().map(|z| (*z as f64 - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let se_var = ((m4 - var * var) / n as f64).sqrt();
    assert!((sample_var - var).abs() < 6.0 * se_var, "variance {sample_var} vs {var} (se {se_var})");
    // Coverage of the 95 % interval: a binomial proportion.
    let h = p.ci95_half_width();
    let p_in: f64 = (-h..=h).map(|z| pmf(z, p.scale)).sum();
    let covered = noise.iter().filter(|z| z.abs() <= h).count() as f64 / n as f64;
    let se = (p_in * (1.0 - p_in) / n as f64).sqrt();
    assert!((covered - p_in).abs() < 6.0 * se, "coverage {covered} vs {p_in}");
    // The probability of zero, a point check of the pmf's shape.
    let zeros = noise.iter().filter(|z| **z == 0).count() as f64 / n as f64;
    let p0 = pmf(0, p.scale);
    assert!((zeros - p0).abs() < 6.0 * (p0 * (1.0 - p0) / n as f64).sqrt(), "P(0) {zeros} vs {p0}");
}

#[test]
fn secure_noise_differs_between_draws() {
    let p = plan(1, 1.0);
    let a = SecureNoise.perturb(&p, &[0; 64]).unwrap();
    let b = SecureNoise.perturb(&p, &[0; 64]).unwrap();
    // Equal 64-vectors of scale-1 noise have probability below 0.5^64.
    assert_ne!(a, b);
}
