//! Policies: the language ([`model`]), its validation into a plan ([`validate`]), the
//! organisation's floors ([`baseline`]), and the reviewer tools — plain-language explanation
//! ([`explain`]), privacy-relevant differences ([`diff`]) and the generated reference
//! ([`reference`]).

pub mod baseline;
pub mod diff;
pub mod explain;
pub mod model;
pub mod reference;
pub mod validate;

pub use baseline::{load_baseline, Baseline, BaselineFile, Floors};
pub use model::*;
pub use validate::{check_policy, declared_totals, load_policy, locate, Finding, FindingKind, PolicyCheck, MAX_EXACT};
