//! Noise sources. Library code takes a [`NoiseSource`] so that tests can inject a fake; the CLI
//! always passes [`SecureNoise`], which draws from opendp's exact discrete Laplace or discrete
//! Gaussian sampler with its OS-seeded cryptographically secure randomness (OpenSSL). Fakes exist only with the
//! `fake-noise` feature, which only dev-dependencies enable, and releases made with them say so
//! in their manifest.

use crate::error::PrivacyError;
use crate::plan::MeasurePlan;

/// Adds a measure's noise to a vector of exact cell values.
pub trait NoiseSource {
    /// Returns `exact` with the measure's noise added to every element.
    fn perturb(&mut self, measure: &MeasurePlan, exact: &[i64]) -> Result<Vec<i64>, PrivacyError>;

    /// Whether this source is the vetted secure sampler.
    fn is_secure(&self) -> bool;
}

/// opendp's discrete Laplace or discrete Gaussian mechanism, invoked through the very
/// measurement whose privacy map gave the reported loss.
#[derive(Debug, Default, Clone, Copy)]
pub struct SecureNoise;

impl NoiseSource for SecureNoise {
    fn perturb(&mut self, measure: &MeasurePlan, exact: &[i64]) -> Result<Vec<i64>, PrivacyError> {
        measure.sample(exact)
    }

    fn is_secure(&self) -> bool {
        true
    }
}

/// Test-only: no noise at all.
#[cfg(any(test, feature = "fake-noise"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct ZeroNoise;

#[cfg(any(test, feature = "fake-noise"))]
impl NoiseSource for ZeroNoise {
    fn perturb(&mut self, _measure: &MeasurePlan, exact: &[i64]) -> Result<Vec<i64>, PrivacyError> {
        Ok(exact.to_vec())
    }

    fn is_secure(&self) -> bool {
        false
    }
}

/// Test-only: noise from a function of (measure name, cell index, exact value).
#[cfg(any(test, feature = "fake-noise"))]
pub struct ScriptedNoise<F: FnMut(&str, usize, i64) -> i64>(pub F);

#[cfg(any(test, feature = "fake-noise"))]
impl<F: FnMut(&str, usize, i64) -> i64> NoiseSource for ScriptedNoise<F> {
    fn perturb(&mut self, measure: &MeasurePlan, exact: &[i64]) -> Result<Vec<i64>, PrivacyError> {
        Ok(exact.iter().enumerate().map(|(i, v)| v + (self.0)(&measure.name, i, *v)).collect())
    }

    fn is_secure(&self) -> bool {
        false
    }
}

/// Bytes from opendp's secure random source (OpenSSL's `RAND_priv_bytes`), for ephemeral keys.
pub fn secure_random_bytes(len: usize) -> Result<Vec<u8>, PrivacyError> {
    let mut buf = vec![0u8; len];
    opendp::traits::samplers::fill_bytes(&mut buf).map_err(|e| PrivacyError::mechanism("random key", e))?;
    Ok(buf)
}
