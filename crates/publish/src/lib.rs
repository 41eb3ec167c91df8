//! `cellguard-publish` owns the output contract: the long-format cell table, the manifest with
//! checksums, the reviewer report, the atomic write of a release folder and its verification.
//!
//! Architecture invariant: this crate accepts only [`cellguard_privacy::ProtectedRelease`]
//! (which only `cellguard-privacy` can construct) and plain counts; it does not depend on
//! `cellguard-ingest` and never sees a raw record.

#![deny(missing_docs)]

pub mod audit;
pub mod cells;
pub mod error;
pub mod manifest;
pub mod report;
pub mod verify;
pub mod write;

pub use audit::{audit_release, AuditReport};
pub use error::PublishError;
pub use manifest::{ApproxDp, BudgetRecord, FileDigest, InputDigest, Manifest, ReasonCount, ReleaseContext};
pub use verify::{verify_release, VerifyReport};
pub use write::{failpoint, recover_crashed, write_release, WrittenRelease};

/// Lower-case hexadecimal of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
