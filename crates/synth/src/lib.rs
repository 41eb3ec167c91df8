//! `cellguard-synth` writes synthetic source extracts with the shape of the real ones (see
//! `shared/SOURCES.md`): realistic skew across sub-areas and ages, a few tiny areas so that
//! small cells occur, and values with heavy tails. Output is a deterministic function of the
//! row count and the seed, so demos, tests and benchmarks are repeatable.
//!
//! Architecture invariant: the pseudo-random generator here is for *synthetic data only*. It
//! is not cryptographically secure and is never used for privacy noise, which comes only from
//! opendp's secure samplers in `cellguard-privacy`.

#![deny(missing_docs)]

pub mod payment_defaults;
pub mod rng;

pub use payment_defaults::{write_payment_defaults, PaymentDefaultsOptions};
pub use rng::SynthRng;
