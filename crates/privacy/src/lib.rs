//! `cellguard-privacy` owns everything that decides what may be published: the policy model
//! and its validation ([`policy`]), the resolved plan with calibrated mechanisms ([`plan`]),
//! contribution bounding and exact tabulation ([`bounding`], [`table`]), noise sources
//! ([`noise`]) and protection ([`release`]), which yields the only type publish accepts.
//!
//! Architecture invariant: a [`ProtectedRelease`] can only be built by [`protect`], and every
//! value in it went through a noise source calibrated by opendp's privacy map. The crate writes
//! no files for publication.

#![deny(missing_docs)]

pub mod bounding;
pub mod consistent;
pub mod error;
pub mod keys;
pub mod ledger;
pub mod noise;
pub mod plan;
pub mod policy;
pub mod release;
pub mod sdc;
pub mod table;

pub use bounding::BoundingAccumulator;
pub use error::{PrivacyError, PrivacyErrorKind};
pub use keys::{KeyDimension, KeyKind, KeyMember, ReleaseKeys};
pub use noise::{secure_random_bytes, NoiseSource, SecureNoise};
#[cfg(any(test, feature = "fake-noise"))]
pub use noise::{ScriptedNoise, ZeroNoise};
pub use plan::{ContributionBounds, MeasureKind, MeasurePlan, ReleasePlan};
pub use policy::{
    check_policy, load_baseline, load_policy, Baseline, Finding, FindingKind, GuaranteeMode, Mechanism, PolicyCheck,
    UnitOfPrivacy,
};
pub use release::{
    protect, protect_dp_sdc, protect_sdc, CellStatus, MeasureInfo, NoiseInfo, ProtectedRelease, SdcSummary,
};
pub use table::{BoundedTable, BoundingStats};

/// Lower-case hexadecimal of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
