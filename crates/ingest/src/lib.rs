//! `cellguard-ingest` reads sensitive source extracts and turns each valid row into a
//! [`Contribution`]: a keyed pseudonym of the unit of privacy, the index of the public cell the
//! row falls in, and its measure values as exact integers.
//!
//! It owns source schemas ([`schema`]), the public classifications rows are mapped onto
//! ([`classify`]), field parsing ([`value`]), keyed pseudonymisation ([`pseudonym`]) and the
//! streaming, parallel scan with row-level reject reasons ([`scan`]).
//!
//! Architecture invariant: nothing in this crate prints, logs or formats a raw value. Errors and
//! reject reasons carry file names, line numbers, column names and counts only, and the raw unit
//! identifier is dropped as soon as its pseudonym is computed.

#![deny(missing_docs)]

pub mod classify;
pub mod error;
pub mod mapping;
pub mod pseudonym;
pub mod scan;
pub mod schema;
pub mod value;

pub use classify::{AgeBand, AgeBands, AreaClassification, AreaLevel, CodeList, Parents, PeriodGranularity, Periods};
pub use error::{IngestError, IngestErrorKind};
pub use mapping::{AgeSource, DimensionSpec, OutOfScope, RejectKind, RowMapper, RowMapperConfig, RowOutcome, Unknown};
pub use pseudonym::{PseudonymKey, Pseudonymiser, KEY_ENV_VAR, MIN_KEY_BYTES};
pub use scan::{
    scan_file, Contribution, ContributionChunk, ReasonCount, RejectReason, RejectTally, ScanOptions, ScanSummary,
    MAX_VALUES, PARTITIONS,
};
pub use schema::{CsvFormat, Encoding, FieldSpec, FieldType, SourceSchema};
