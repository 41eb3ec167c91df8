//! The secure noise has the distribution the manifest claims: discrete Laplace or discrete
//! Gaussian with the calibrated scale, and the reported privacy losses are opendp's. Each
//! statistical check uses a 6-sigma bound (two-sided normal tail 2·10⁻⁹), so a correct
//! implementation fails one of them about once in 10⁸ runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cellguard_privacy::plan::{epsilon_at_delta, ContributionBounds, MeasureKind, MeasurePlan, Sensitivity};
use cellguard_privacy::{Mechanism, NoiseSource, SecureNoise};
use opendp::combinators::{make_fix_delta, make_pureDP_to_zCDP, make_zCDP_to_approxDP};

/// P(Z = z) of the discrete Laplace distribution with parameter a = exp(-1/scale).
fn pmf(z: i64, scale: f64) -> f64 {
    let a = (-1.0 / scale).exp();
    (1.0 - a) / (1.0 + a) * a.powi(z.unsigned_abs() as i32)
}

/// P(Z = z) of the discrete Gaussian with parameter σ.
fn dg_pmf(z: i64, sigma: f64) -> f64 {
    let w = |x: i64| (-((x * x) as f64) / (2.0 * sigma * sigma)).exp();
    let reach = (sigma * 40.0).ceil() as i64 + 1;
    w(z) / (-reach..=reach).map(w).sum::<f64>()
}

fn plan(max_cells: u32, epsilon: f64) -> MeasurePlan {
    let bounds = ContributionBounds { max_cells_per_unit: max_cells, max_records_per_cell: 1 };
    MeasurePlan::new("persons", MeasureKind::CountUnits, Mechanism::DiscreteLaplace, &bounds, 1, epsilon).unwrap()
}

fn gauss(max_cells: u32, rho: f64) -> MeasurePlan {
    let bounds = ContributionBounds { max_cells_per_unit: max_cells, max_records_per_cell: 1 };
    MeasurePlan::new("persons", MeasureKind::CountUnits, Mechanism::DiscreteGaussian, &bounds, 1, rho).unwrap()
}

#[test]
fn calibration_follows_sensitivity_over_epsilon() {
    let p = plan(4, 0.5);
    assert_eq!(p.sensitivity, 4.0);
    assert!((p.scale - 8.0).abs() < 1e-9);
    let eps = p.epsilon.unwrap();
    assert!(eps <= 0.5 && eps > 0.5 - 1e-12);
    assert_eq!(p.laplace().unwrap().map(&4).unwrap(), eps);
    // ρ is opendp's pure-DP → zCDP conversion of the same measurement: ε²/2.
    assert_eq!(make_pureDP_to_zCDP(p.laplace().unwrap().clone()).unwrap().map(&4).unwrap(), p.rho);
    assert!((p.rho - eps * eps / 2.0).abs() < 1e-15);
    // An epsilon that does not divide exactly still never exceeds the allowance.
    let q = plan(3, 0.7);
    assert!(q.epsilon.unwrap() <= 0.7, "{:?}", q.epsilon);
}

#[test]
fn gaussian_calibration_follows_l2_sensitivity_over_root_two_rho() {
    // A person in up to 4 cells: L2 sensitivity √4 = 2, σ = 2 / √(2·0.5) = 2.
    let p = gauss(4, 0.5);
    assert!(p.is_zcdp() && p.epsilon.is_none());
    assert_eq!(p.sensitivity, 2.0);
    assert!((p.scale - 2.0).abs() < 1e-12, "{}", p.scale);
    assert_eq!(p.gaussian().unwrap().map(&2.0).unwrap(), p.rho);
    assert!(p.rho <= 0.5 && p.rho > 0.5 - 1e-12, "{}", p.rho);
    // √3 is irrational: the sensitivity is rounded up, never down, and ρ stays within the allowance.
    let q = gauss(3, 0.07);
    assert!(q.sensitivity >= 3f64.sqrt() && q.sensitivity < 3f64.sqrt() * (1.0 + 1e-15));
    assert!(q.sensitivity * q.sensitivity >= 3.0);
    assert_eq!(q.gaussian().unwrap().map(&q.sensitivity).unwrap(), q.rho);
    assert!(q.rho <= 0.07 && q.rho > 0.07 * (1.0 - 1e-12));
}

#[test]
fn sensitivities_with_margins_grow_with_the_fanout() {
    // Two cells per person, up to 3 records per cell, each inner cell also counted in 3 margins.
    let b = ContributionBounds { max_cells_per_unit: 2, max_records_per_cell: 3 };
    let s = Sensitivity::of(MeasureKind::CountRecords, &b, 4).unwrap();
    assert_eq!(s.l1, 2 * 3 * 4);
    // Inner cells: 2 cells of at most 3; each of the 3 margin types: one cell of at most 6.
    let exact = (2.0f64 * 9.0 + 3.0 * 36.0).sqrt();
    assert!(s.l2 >= exact && s.l2 <= exact * (1.0 + 1e-15), "{} vs {exact}", s.l2);
    let one = Sensitivity::of(
        MeasureKind::CountUnits,
        &ContributionBounds { max_cells_per_unit: 1, max_records_per_cell: 1 },
        9,
    )
    .unwrap();
    assert_eq!((one.l1, one.l2), (9, 3.0));
}

#[test]
fn approximate_dp_is_opendps_conversion_of_rho() {
    for (rho, delta) in [(0.5, 1e-9), (0.05, 1e-6), (2.0, 1e-12)] {
        // A discrete Gaussian measurement whose map gives exactly this ρ (σ = 1/√(2ρ) at
        // distance 1), converted by opendp directly.
        let p = gauss(1, rho);
        let direct = make_fix_delta(&make_zCDP_to_approxDP(p.gaussian().unwrap().clone()).unwrap(), delta)
            .unwrap()
            .map(&p.sensitivity)
            .unwrap()
            .0;
        let ours = epsilon_at_delta(p.rho, delta).unwrap();
        assert!((ours - direct).abs() <= 1e-9 * direct, "rho {rho}: {ours} vs {direct}");
        // Never above the classical bound ρ + 2√(ρ ln(1/δ)) (Bun & Steinke 2016, Prop. 1.3).
        assert!(ours <= rho + 2.0 * (rho * (1.0 / delta).ln()).sqrt());
        // Independently of opendp: the conversion of Canonne, Kamath & Steinke (2020, Cor. 13),
        // δ(ε) = inf_{α>1} e^{(α−1)(αρ−ε)} (1−1/α)^α / (α−1), at our ε gives back δ: ε is the
        // smallest with δ(ε) ≤ δ.
        let cks = |eps: f64| {
            (1..200_000)
                .map(|i| 1.0 + f64::from(i) * 1e-3)
                .map(|a: f64| ((a - 1.0) * (a * rho - eps) + a * (1.0 - 1.0 / a).ln()).exp() / (a - 1.0))
                .fold(f64::INFINITY, f64::min)
        };
        assert!(cks(ours) <= delta * 1.001, "rho {rho}: delta({ours}) = {} > {delta}", cks(ours));
        assert!(cks(ours * 0.99) > delta, "rho {rho}: {ours} is not the smallest epsilon");
    }
    assert_eq!(epsilon_at_delta(0.0, 1e-9).unwrap(), 0.0);
}

#[test]
fn discrete_gaussian_intervals_and_sd_match_the_pmf() {
    for (cells, rho) in [(1, 2.0), (1, 0.5), (4, 0.125), (9, 0.01), (1, 0.0005)] {
        let p = gauss(cells, rho);
        let h = p.ci95_half_width();
        let inside = |h: i64| (-h..=h).map(|z| dg_pmf(z, p.scale)).sum::<f64>();
        assert!(inside(h) >= 0.95, "sigma {}: h = {h} covers {}", p.scale, inside(h));
        assert!(h == 0 || inside(h - 1) < 0.95, "sigma {}: h = {h} is not the smallest", p.scale);
        let reach = (p.scale * 40.0).ceil() as i64;
        let var: f64 = (-reach..=reach).map(|z| (z * z) as f64 * dg_pmf(z, p.scale)).sum();
        assert!((var.sqrt() - p.noise_sd()).abs() < 1e-9 * p.noise_sd(), "{} vs {}", var.sqrt(), p.noise_sd());
    }
}

#[test]
fn secure_discrete_gaussian_noise_has_the_claimed_distribution() {
    let p = gauss(1, 0.02); // σ = 5
    let n = 200_000usize;
    let noise = SecureNoise.perturb(&p, &vec![0; n]).unwrap();
    let reach = 400i64;
    let var: f64 = (-reach..=reach).map(|z| (z * z) as f64 * dg_pmf(z, p.scale)).sum();
    let m4: f64 = (-reach..=reach).map(|z| ((z * z) as f64).powi(2) * dg_pmf(z, p.scale)).sum();
    let mean = noise.iter().sum::<i64>() as f64 / n as f64;
    assert!(mean.abs() < 6.0 * (var / n as f64).sqrt(), "mean {mean}");
    let sample_var = noise.iter().map(|z| (*z as f64 - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let se_var = ((m4 - var * var) / n as f64).sqrt();
    assert!((sample_var - var).abs() < 6.0 * se_var, "variance {sample_var} vs {var} (se {se_var})");
    let h = p.ci95_half_width();
    let p_in: f64 = (-h..=h).map(|z| dg_pmf(z, p.scale)).sum();
    let covered = noise.iter().filter(|z| z.abs() <= h).count() as f64 / n as f64;
    let se = (p_in * (1.0 - p_in) / n as f64).sqrt();
    assert!((covered - p_in).abs() < 6.0 * se, "coverage {covered} vs {p_in}");
    let zeros = noise.iter().filter(|z| **z == 0).count() as f64 / n as f64;
    let p0 = dg_pmf(0, p.scale);
    assert!((zeros - p0).abs() < 6.0 * (p0 * (1.0 - p0) / n as f64).sqrt(), "P(0) {zeros} vs {p0}");
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

#[test]
fn large_sigma_half_width_covers_and_is_nearly_the_smallest() {
    // A sum of up to 2 000 € per record in cents, 10 records: σ far above the exact range.
    let bounds = ContributionBounds { max_cells_per_unit: 1, max_records_per_cell: 10 };
    let kind = MeasureKind::Sum { value_slot: 0, lower: 0, upper: 200_000, scale: 2 };
    let p = MeasurePlan::new("amount", kind, Mechanism::DiscreteGaussian, &bounds, 1, 0.01).unwrap();
    assert!(p.scale > cellguard_privacy::plan::DG_EXACT_SIGMA);
    let h = p.ci95_half_width() as f64;
    // P(|X| > h) against the continuous tail 2Φ̄(h/σ): 1.959964 is the 97.5 % normal quantile.
    let z = 1.959_963_984_540_054;
    assert!(h >= p.scale * z && h <= p.scale * z + 2.0, "h {h}, sigma {}", p.scale);
}

#[test]
fn release_totals_are_opendps_composition_of_the_measures() {
    use opendp::combinators::make_composition;
    use opendp::domains::{AtomDomain, VectorDomain};
    use opendp::measurements::{make_gaussian, make_laplace};
    use opendp::metrics::{L1Distance, L2Distance};
    let bounds = ContributionBounds { max_cells_per_unit: 4, max_records_per_cell: 10 };
    let sum = MeasureKind::Sum { value_slot: 0, lower: 0, upper: 200_000, scale: 2 };
    let kinds = [MeasureKind::CountUnits, MeasureKind::CountRecords, sum];
    // opendp composes measurements of one input space; each measure is rescaled to distance 1
    // (noise scale / sensitivity), which leaves its loss unchanged.
    let domain = || VectorDomain::new(AtomDomain::<i64>::default());
    for fanout in [1, 16] {
        let plans: Vec<MeasurePlan> = kinds
            .iter()
            .zip([0.125, 0.03125, 0.03125])
            .map(|(k, rho)| MeasurePlan::new("m", *k, Mechanism::DiscreteGaussian, &bounds, fanout, rho).unwrap())
            .collect();
        let ms = plans
            .iter()
            .map(|p| make_gaussian(domain(), L2Distance::<f64>::default(), p.scale / p.sensitivity, None).unwrap())
            .collect();
        let total = make_composition(ms).unwrap().map(&1.0).unwrap();
        let ours: f64 = plans.iter().map(|p| p.rho).sum();
        assert!((total - ours).abs() <= 1e-12 * ours, "zCDP: opendp {total} vs {ours}");
        let plans: Vec<MeasurePlan> = kinds
            .iter()
            .zip([0.5, 0.25, 0.25])
            .map(|(k, eps)| MeasurePlan::new("m", *k, Mechanism::DiscreteLaplace, &bounds, fanout, eps).unwrap())
            .collect();
        // Pure DP: the L1 sensitivities are integers; compose at the largest, scaling the others.
        let d = plans.iter().map(|p| p.sensitivity).fold(0.0, f64::max);
        let ms = plans
            .iter()
            .map(|p| make_laplace(domain(), L1Distance::<i64>::default(), p.scale * d / p.sensitivity, None).unwrap())
            .collect();
        let total = make_composition(ms).unwrap().map(&(d as i64)).unwrap();
        let ours: f64 = plans.iter().map(|p| p.epsilon.unwrap()).sum();
        assert!((total - ours).abs() <= 1e-12 * ours, "pure: opendp {total} vs {ours}");
    }
}
