//! Mapping a validated row onto a public cell: the policy's dimensions (area, age band, period,
//! category) are resolved against the schema once, then every row is checked field by field and
//! turned into a cell index, a pseudonym and its values — or a reject or out-of-scope reason.

use std::sync::Arc;

use crate::classify::{AgeBands, AreaClassification, AreaLevel, CodeList, Periods, MAX_PLAUSIBLE_AGE};
use crate::error::IngestError;
use crate::pseudonym::Pseudonymiser;
use crate::scan::{Contribution, MAX_VALUES};
use crate::schema::{Encoding, FieldType, SourceSchema};
use crate::value::{self, Date, ValueError};

/// The longest field accepted, in bytes; longer fields reject the row.
pub const MAX_FIELD_BYTES: usize = 4096;

/// What to do with a row whose value for a dimension is missing (an optional field left empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// Leave the row out and count it as out of scope.
    Drop,
    /// Put the row in an extra `unknown` member at the end of the dimension.
    Cell,
}

/// Where an age comes from.
#[derive(Debug, Clone)]
pub enum AgeSource {
    /// The reference date's year minus the birth year.
    BirthYear {
        /// The schema field holding the birth year (`integer`).
        birth_year_field: String,
        /// The schema field holding the reference date (`date`).
        reference_date_field: String,
    },
    /// An age in whole years, as recorded (for example self-reported).
    Age {
        /// The schema field holding the age (`integer`).
        age_field: String,
    },
}

/// One dimension of the release's key set, as the policy declares it.
#[derive(Debug, Clone)]
pub enum DimensionSpec {
    /// Areas of the classification, keyed on the full sub-area code in `field`.
    Area {
        /// The schema field holding the 10-digit sub-area code.
        field: String,
        /// The classification.
        classification: Arc<AreaClassification>,
        /// The level released; rows are mapped up from their sub-area.
        level: AreaLevel,
        /// Rows without an area.
        unknown: Unknown,
    },
    /// Age bands.
    AgeBand {
        /// Where the age comes from.
        source: AgeSource,
        /// The bands.
        bands: AgeBands,
        /// Rows without an age.
        unknown: Unknown,
    },
    /// Calendar periods of a date (or ISO week) field.
    Period {
        /// The schema field holding the date (`date` or `week`).
        date_field: String,
        /// The declared period range.
        periods: Periods,
    },
    /// The declared values of a category field. If the schema gives the field a separator, the
    /// field is multi-label and a row contributes to the cell of each of its released labels.
    Category {
        /// The schema field (`category`).
        field: String,
        /// The declared values, in output order.
        values: Vec<String>,
    },
    /// The codes of a code list (for example postal-code areas).
    CodeList {
        /// The schema field holding the code.
        field: String,
        /// The code list.
        codes: Arc<CodeList>,
    },
}

impl DimensionSpec {
    /// Number of members of this dimension (including an `unknown` member).
    pub fn len(&self) -> usize {
        let extra = |u: &Unknown| usize::from(*u == Unknown::Cell);
        match self {
            DimensionSpec::Area { classification, level, unknown, .. } => {
                classification.len_at(*level) + extra(unknown)
            }
            DimensionSpec::AgeBand { bands, unknown, .. } => bands.bands().len() + extra(unknown),
            DimensionSpec::Period { periods, .. } => periods.len(),
            DimensionSpec::Category { values, .. } => values.len(),
            DimensionSpec::CodeList { codes, .. } => codes.codes().len(),
        }
    }

    /// Always false for a valid dimension.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the policy asks of each row.
#[derive(Debug, Clone)]
pub struct RowMapperConfig {
    /// The `identifier` field holding the unit of privacy; `None` when the data has no unit
    /// (already aggregated): then every row counts as its own unit.
    pub unit_field: Option<String>,
    /// Dimensions, outermost first; the cell index is mixed-radix over them.
    pub dimensions: Vec<DimensionSpec>,
    /// `decimal` or `integer` fields whose values are measured, in order (at most [`MAX_VALUES`]).
    pub value_fields: Vec<String>,
}

/// Why a row was rejected: a fixed kind and the schema column, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectKind {
    /// A field failed to parse.
    Value(ValueError),
    /// The row has a different number of fields than the header.
    WrongFieldCount,
    /// The CSV structure is broken here (for example an unterminated quote).
    Malformed,
    /// A field is longer than [`MAX_FIELD_BYTES`].
    FieldTooLong,
    /// A field contains a NUL byte.
    NulByte,
    /// An integer outside the schema's `[min, max]`.
    OutOfRange,
    /// A category value outside the schema's closed list.
    NotAllowed,
    /// An area code that the classification does not know.
    UnknownArea,
    /// A code that the code list does not know.
    UnknownCode,
    /// The computed age is negative or above the plausible maximum.
    ImplausibleAge,
}

impl RejectKind {
    /// A stable, human-readable description.
    pub fn describe(self) -> &'static str {
        match self {
            RejectKind::Value(v) => v.describe(),
            RejectKind::WrongFieldCount => "wrong number of fields",
            RejectKind::Malformed => "malformed CSV (quoting)",
            RejectKind::FieldTooLong => "field longer than 4096 bytes",
            RejectKind::NulByte => "field contains a NUL byte",
            RejectKind::OutOfRange => "value outside the schema's min/max",
            RejectKind::NotAllowed => "value not in the schema's allowed values",
            RejectKind::UnknownArea => "area code not in the classification",
            RejectKind::UnknownCode => "code not in the code list",
            RejectKind::ImplausibleAge => "implausible age (negative or above 120)",
        }
    }

    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            RejectKind::Value(ValueError::Missing) => "missing",
            RejectKind::Value(ValueError::NotInteger) => "not_integer",
            RejectKind::Value(ValueError::NotDecimal) => "not_decimal",
            RejectKind::Value(ValueError::TooManyDecimals) => "too_many_decimals",
            RejectKind::Value(ValueError::NotDate) => "not_date",
            RejectKind::Value(ValueError::BadEncoding) => "bad_encoding",
            RejectKind::WrongFieldCount => "wrong_field_count",
            RejectKind::Malformed => "malformed_csv",
            RejectKind::FieldTooLong => "field_too_long",
            RejectKind::NulByte => "nul_byte",
            RejectKind::OutOfRange => "out_of_range",
            RejectKind::NotAllowed => "not_allowed",
            RejectKind::UnknownArea => "unknown_area",
            RejectKind::UnknownCode => "unknown_code",
            RejectKind::ImplausibleAge => "implausible_age",
        }
    }
}

/// Why a valid row is outside the release's key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutOfScope {
    /// The age falls in no declared band.
    AgeOutsideBands,
    /// The date falls outside the declared periods.
    DateOutsidePeriods,
    /// The category value is not one of the dimension's declared values (for a multi-label
    /// field: none of its labels is).
    CategoryNotReleased,
    /// The area is missing and the policy drops such rows.
    AreaUnknown,
    /// The age is missing and the policy drops such rows.
    AgeUnknown,
}

impl OutOfScope {
    /// A stable, human-readable description.
    pub fn describe(self) -> &'static str {
        match self {
            OutOfScope::AgeOutsideBands => "age outside the declared bands",
            OutOfScope::DateOutsidePeriods => "date outside the declared periods",
            OutOfScope::CategoryNotReleased => "category value not released by this policy",
            OutOfScope::AreaUnknown => "area missing (dropped by the policy)",
            OutOfScope::AgeUnknown => "age missing (dropped by the policy)",
        }
    }

    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            OutOfScope::AgeOutsideBands => "age_outside_bands",
            OutOfScope::DateOutsidePeriods => "date_outside_periods",
            OutOfScope::CategoryNotReleased => "category_not_released",
            OutOfScope::AreaUnknown => "area_unknown",
            OutOfScope::AgeUnknown => "age_unknown",
        }
    }
}

/// The result of mapping one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    /// The row contributed to this many cells (more than one for a multi-label field).
    Used(u32),
    /// The row is valid but outside the key set; the field index is given.
    OutOfScope(OutOfScope, usize),
    /// The row is invalid; the schema field index is given where one is to blame.
    Reject(RejectKind, Option<usize>),
}

#[derive(Debug, Clone, Copy)]
enum Parsed {
    None,
    Int(i64),
    Date(Date),
}

#[derive(Debug, Clone)]
enum Dim {
    Area { field: usize, classification: Arc<AreaClassification>, level: AreaLevel, unknown: Unknown },
    Age { birth: usize, reference: Option<usize>, bands: AgeBands, unknown: Unknown, n_bands: u32 },
    Period { field: usize, periods: Periods },
    Category { field: usize, values: Vec<Box<[u8]>>, separator: Option<u8> },
    CodeList { field: usize, codes: Arc<CodeList> },
}

/// The multi-label dimension of a row being mapped: its field, released labels, separator and
/// the stride of its index in the cell number.
struct MultiLabel<'a> {
    field: usize,
    labels: &'a [Box<[u8]>],
    separator: u8,
    stride: u64,
}

/// A compiled row mapper: schema fields resolved to file columns, dimensions resolved to fields.
#[derive(Debug, Clone)]
pub struct RowMapper {
    /// Per schema field: its column in the file.
    columns: Vec<usize>,
    types: Vec<FieldType>,
    optional: Vec<bool>,
    ranges: Vec<(Option<i64>, Option<i64>)>,
    scales: Vec<u32>,
    date_formats: Vec<value::DateFormat>,
    allowed: Vec<Option<Vec<Box<[u8]>>>>,
    separators: Vec<Option<u8>>,
    n_columns: usize,
    encoding: Encoding,
    decimal_mark: u8,
    unit_field: Option<usize>,
    dims: Vec<Dim>,
    radices: Vec<u32>,
    value_fields: Vec<usize>,
    field_names: Vec<String>,
}

impl RowMapper {
    /// Resolves the schema against a file's header and the policy's dimensions.
    ///
    /// `header` holds the file's header fields (already decoded); `source` names the file in
    /// messages. Missing and duplicated columns are errors; unknown columns are errors unless
    /// the schema allows extra columns. Columns are named by schema name or by position, so a
    /// file whose first line is data, not a header, never has that data echoed.
    pub fn new(
        schema: &SourceSchema,
        header: &[String],
        config: &RowMapperConfig,
        source: &std::path::Path,
    ) -> Result<RowMapper, IngestError> {
        let structure = |m: String| IngestError::structure(source, Some(1), m);
        let config_err = |m: String| IngestError::config(&schema.path, None, m);
        for (i, h) in header.iter().enumerate() {
            if header[..i].contains(h) {
                return Err(structure(format!("header column {} repeats an earlier column name", i + 1)));
            }
            if !schema.format.allow_extra_columns && !schema.fields.iter().any(|f| f.column() == h.trim()) {
                return Err(structure(format!(
                    "header column {} is not declared in the schema {}",
                    i + 1,
                    schema.path.display()
                )));
            }
        }
        let mut columns = Vec::new();
        for f in &schema.fields {
            match header.iter().position(|h| h.trim() == f.column()) {
                Some(c) => columns.push(c),
                None => {
                    return Err(structure(format!(
                        "the header has no column `{}` (schema field `{}`)",
                        f.column(),
                        f.name
                    )))
                }
            }
        }
        let field = |name: &str, want: &[FieldType], role: &str| -> Result<usize, IngestError> {
            let (i, spec) = schema.field(name).ok_or_else(|| {
                config_err(format!("the policy uses field `{name}` ({role}), which the schema does not declare"))
            })?;
            if !want.contains(&spec.field_type) {
                return Err(config_err(format!("field `{name}` is used as {role} but its type does not fit")));
            }
            Ok(i)
        };
        let unit_field = match &config.unit_field {
            // An identifier; for provider-aggregated data, any field whose value groups rows.
            Some(u) => Some(field(
                u,
                &[FieldType::Identifier, FieldType::Category, FieldType::Week, FieldType::Date, FieldType::Integer],
                "the unit",
            )?),
            None => None,
        };
        let mut dims = Vec::new();
        for d in &config.dimensions {
            dims.push(match d {
                DimensionSpec::Area { field: f, classification, level, unknown } => Dim::Area {
                    field: field(f, &[FieldType::Category], "an area code")?,
                    classification: classification.clone(),
                    level: *level,
                    unknown: *unknown,
                },
                DimensionSpec::AgeBand { source, bands, unknown } => {
                    let (birth, reference) = match source {
                        AgeSource::BirthYear { birth_year_field, reference_date_field } => (
                            field(birth_year_field, &[FieldType::Integer], "a birth year")?,
                            Some(field(reference_date_field, &[FieldType::Date, FieldType::Week], "a reference date")?),
                        ),
                        AgeSource::Age { age_field } => (field(age_field, &[FieldType::Integer], "an age")?, None),
                    };
                    Dim::Age {
                        birth,
                        reference,
                        bands: bands.clone(),
                        unknown: *unknown,
                        n_bands: bands.bands().len() as u32,
                    }
                }
                DimensionSpec::Period { date_field, periods } => Dim::Period {
                    field: field(date_field, &[FieldType::Date, FieldType::Week], "a period date")?,
                    periods: periods.clone(),
                },
                DimensionSpec::Category { field: f, values } => {
                    let i = field(f, &[FieldType::Category], "a category")?;
                    Dim::Category {
                        field: i,
                        values: values.iter().map(|v| v.as_bytes().to_vec().into_boxed_slice()).collect(),
                        separator: schema.fields[i].separator.map(|c| c as u8),
                    }
                }
                DimensionSpec::CodeList { field: f, codes } => {
                    Dim::CodeList { field: field(f, &[FieldType::Category], "a code")?, codes: codes.clone() }
                }
            });
        }
        if dims.iter().filter(|d| matches!(d, Dim::Category { separator: Some(_), .. })).count() > 1 {
            return Err(config_err("at most one dimension may use a multi-label field".into()));
        }
        let radices: Vec<u32> = config.dimensions.iter().map(|d| d.len() as u32).collect();
        let n_cells = radices.iter().try_fold(1u64, |acc, r| acc.checked_mul(u64::from(*r)));
        if radices.contains(&0) || n_cells.is_none_or(|n| n > u64::from(u32::MAX)) {
            return Err(config_err("the key set is empty or has more than 2^32 cells".into()));
        }
        if config.value_fields.len() > MAX_VALUES {
            return Err(config_err(format!("at most {MAX_VALUES} measured value fields are supported")));
        }
        let value_fields = config
            .value_fields
            .iter()
            .map(|v| field(v, &[FieldType::Decimal, FieldType::Integer], "a measured value"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RowMapper {
            columns,
            types: schema.fields.iter().map(|f| f.field_type).collect(),
            optional: schema.fields.iter().map(|f| f.optional).collect(),
            ranges: schema.fields.iter().map(|f| (f.min, f.max)).collect(),
            scales: schema.fields.iter().map(|f| f.scale.unwrap_or(0)).collect(),
            date_formats: schema.fields.iter().map(|f| f.date_format.unwrap_or(value::DateFormat::Iso)).collect(),
            allowed: schema
                .fields
                .iter()
                .map(|f| {
                    f.values.as_ref().map(|v| v.iter().map(|s| s.as_bytes().to_vec().into_boxed_slice()).collect())
                })
                .collect(),
            separators: schema.fields.iter().map(|f| f.separator.map(|c| c as u8)).collect(),
            n_columns: header.len(),
            encoding: schema.format.encoding,
            decimal_mark: schema.format.decimal_mark as u8,
            unit_field,
            dims,
            radices,
            value_fields,
            field_names: schema.fields.iter().map(|f| f.name.clone()).collect(),
        })
    }

    /// The schema field names, indexed like the field indices in [`RowOutcome`].
    pub fn field_names(&self) -> &[String] {
        &self.field_names
    }

    /// The number of cells in the key set.
    pub fn n_cells(&self) -> usize {
        self.radices.iter().map(|r| *r as usize).product()
    }

    /// Checks and maps one record, handing each contribution to `emit` (one per released label
    /// of a multi-label field, otherwise one). `text` is scratch space for decoding.
    pub fn map(
        &self,
        record: &csv::ByteRecord,
        pseudonymiser: &Pseudonymiser,
        text: &mut Vec<u8>,
        mut emit: impl FnMut(Contribution),
    ) -> RowOutcome {
        if record.len() != self.n_columns {
            return RowOutcome::Reject(RejectKind::WrongFieldCount, None);
        }
        let mut parsed = [Parsed::None; 64];
        for (i, &col) in self.columns.iter().enumerate() {
            // `col` < n_columns == record.len(), checked above.
            let raw = record.get(col).unwrap_or_default();
            let reject = |kind: RejectKind| RowOutcome::Reject(kind, Some(i));
            if raw.len() > MAX_FIELD_BYTES {
                return reject(RejectKind::FieldTooLong);
            }
            if raw.contains(&0) {
                return reject(RejectKind::NulByte);
            }
            let trimmed = value::trim(raw);
            if trimmed.is_empty() {
                if self.optional[i] {
                    continue;
                }
                return reject(RejectKind::Value(ValueError::Missing));
            }
            let result = match self.types[i] {
                FieldType::Identifier | FieldType::Category => {
                    let decoded = match decode(trimmed, self.encoding, text) {
                        Some(d) => d,
                        None => return reject(RejectKind::Value(ValueError::BadEncoding)),
                    };
                    if let Some(allowed) = &self.allowed[i] {
                        let ok = match self.separators[i] {
                            Some(sep) => decoded
                                .split(|b| *b == sep)
                                .all(|label| allowed.iter().any(|a| **a == *value::trim(label))),
                            None => allowed.iter().any(|a| **a == *decoded),
                        };
                        if !ok {
                            return reject(RejectKind::NotAllowed);
                        }
                    }
                    Ok(Parsed::None)
                }
                FieldType::Integer => value::parse_integer(trimmed).map(Parsed::Int),
                FieldType::Decimal => value::parse_decimal(trimmed, self.decimal_mark, self.scales[i]).map(Parsed::Int),
                FieldType::Date => value::parse_date(trimmed, self.date_formats[i]).map(Parsed::Date),
                FieldType::Week => value::parse_iso_week(trimmed).map(Parsed::Date),
            };
            match result {
                Ok(Parsed::Int(n)) => {
                    let (min, max) = self.ranges[i];
                    if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                        return reject(RejectKind::OutOfRange);
                    }
                    parsed[i] = Parsed::Int(n);
                }
                Ok(p) => parsed[i] = p,
                Err(e) => return reject(RejectKind::Value(e)),
            }
        }
        let field_bytes = |i: usize| value::trim(record.get(self.columns[i]).unwrap_or_default());
        let int_of = |i: usize| match parsed.get(i) {
            Some(Parsed::Int(n)) => Some(*n),
            _ => None,
        };
        let date_of = |i: usize| match parsed.get(i) {
            Some(Parsed::Date(d)) => Some(*d),
            _ => None,
        };
        let mut cell: u64 = 0;
        // The multi-label dimension, if any: its field and the stride of its index in the cell.
        let mut multi: Option<MultiLabel<'_>> = None;
        for (d, (dim, radix)) in self.dims.iter().zip(&self.radices).enumerate() {
            let idx = match dim {
                Dim::Area { field, classification, level, unknown } => {
                    let code = field_bytes(*field);
                    if code.is_empty() {
                        match unknown {
                            Unknown::Cell => classification.len_at(*level) as u32,
                            Unknown::Drop => return RowOutcome::OutOfScope(OutOfScope::AreaUnknown, *field),
                        }
                    } else {
                        let Some(i) = classification.lookup(code) else {
                            return RowOutcome::Reject(RejectKind::UnknownArea, Some(*field));
                        };
                        classification.index_at(*level, i)
                    }
                }
                Dim::Age { birth, reference, bands, unknown, n_bands } => {
                    let age = match (int_of(*birth), reference) {
                        (None, _) => None,
                        (Some(age), None) => Some(age),
                        (Some(born), Some(r)) => date_of(*r).map(|at| i64::from(at.year) - born),
                    };
                    match age {
                        None => match unknown {
                            Unknown::Cell => *n_bands,
                            Unknown::Drop => return RowOutcome::OutOfScope(OutOfScope::AgeUnknown, *birth),
                        },
                        Some(age) if !(0..=MAX_PLAUSIBLE_AGE).contains(&age) => {
                            return RowOutcome::Reject(RejectKind::ImplausibleAge, Some(*birth));
                        }
                        Some(age) => match bands.band_of(age) {
                            Some(b) => b,
                            None => return RowOutcome::OutOfScope(OutOfScope::AgeOutsideBands, *birth),
                        },
                    }
                }
                Dim::Period { field, periods } => {
                    let Some(date) = date_of(*field) else {
                        return RowOutcome::Reject(RejectKind::Value(ValueError::Missing), Some(*field));
                    };
                    match periods.index_of(date) {
                        Some(p) => p,
                        None => return RowOutcome::OutOfScope(OutOfScope::DateOutsidePeriods, *field),
                    }
                }
                Dim::Category { field, values, separator: Some(sep) } => {
                    let stride: u64 = self.radices[d + 1..].iter().map(|r| u64::from(*r)).product();
                    multi = Some(MultiLabel { field: *field, labels: values, separator: *sep, stride });
                    0
                }
                Dim::Category { field, values, separator: None } => {
                    let Some(decoded) = decode(field_bytes(*field), self.encoding, text) else {
                        return RowOutcome::Reject(RejectKind::Value(ValueError::BadEncoding), Some(*field));
                    };
                    match values.iter().position(|v| **v == *decoded) {
                        Some(p) => p as u32,
                        None => return RowOutcome::OutOfScope(OutOfScope::CategoryNotReleased, *field),
                    }
                }
                Dim::CodeList { field, codes } => match codes.lookup(field_bytes(*field)) {
                    Some(i) => i,
                    None => return RowOutcome::Reject(RejectKind::UnknownCode, Some(*field)),
                },
            };
            cell = cell * u64::from(*radix) + u64::from(idx);
        }
        let mut values = [0i64; MAX_VALUES];
        for (slot, &f) in values.iter_mut().zip(&self.value_fields) {
            match int_of(f) {
                Some(v) => *slot = v,
                None => return RowOutcome::Reject(RejectKind::Value(ValueError::Missing), Some(f)),
            }
        }
        let unit = match self.unit_field {
            Some(f) => pseudonymiser.pseudonym(field_bytes(f)),
            // No unit of privacy (aggregated data): every row is its own unit.
            None => pseudonymiser.pseudonym(record.as_slice()),
        };
        // Cell indices fit in u32, checked in `new`.
        let Some(MultiLabel { field, labels, separator: sep, stride }) = multi else {
            emit(Contribution { unit, cell: cell as u32, values });
            return RowOutcome::Used(1);
        };
        let Some(decoded) = decode(field_bytes(field), self.encoding, text) else {
            return RowOutcome::Reject(RejectKind::Value(ValueError::BadEncoding), Some(field));
        };
        // Each released label once, however often the row repeats it.
        let mut seen: u64 = 0;
        let mut used = 0u32;
        for label in decoded.split(|b| *b == sep) {
            let label = value::trim(label);
            if let Some(p) = labels.iter().position(|v| **v == *label) {
                if p < 64 && seen & (1 << p) == 0 {
                    seen |= 1 << p;
                    emit(Contribution { unit, cell: (cell + p as u64 * stride) as u32, values });
                    used += 1;
                }
            }
        }
        if used == 0 {
            return RowOutcome::OutOfScope(OutOfScope::CategoryNotReleased, field);
        }
        RowOutcome::Used(used)
    }
}

/// Checks (UTF-8) or converts (Windows-1252 to UTF-8) a field; `None` if the bytes are invalid.
fn decode<'a>(bytes: &'a [u8], encoding: Encoding, scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(bytes).ok().map(str::as_bytes),
        Encoding::Windows1252 => {
            if bytes.is_ascii() {
                return Some(bytes);
            }
            // Non-ASCII text that is valid UTF-8 is almost surely UTF-8 mislabelled as
            // Windows-1252 (Finnish text in Windows-1252 is never valid UTF-8): refuse it rather
            // than turn `Töölö` into `TÃ¶Ã¶lÃ¶`.
            if std::str::from_utf8(bytes).is_ok() {
                return None;
            }
            scratch.clear();
            let mut buf = [0u8; 4];
            for &b in bytes {
                let c = windows_1252(b)?;
                scratch.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            Some(scratch.as_slice())
        }
    }
}

/// Decodes one Windows-1252 byte; the five unassigned bytes are invalid.
pub fn windows_1252(b: u8) -> Option<char> {
    const HIGH: [u32; 32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D,
        0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,
        0x017E, 0x0178,
    ];
    match b {
        0x80..=0x9F => match HIGH[usize::from(b - 0x80)] {
            0 => None,
            c => char::from_u32(c),
        },
        _ => Some(char::from(b)),
    }
}

/// Decodes a whole header line's field for comparison with schema column names.
pub fn decode_header_field(bytes: &[u8], encoding: Encoding) -> Option<String> {
    let mut scratch = Vec::new();
    decode(bytes, encoding, &mut scratch).and_then(|b| String::from_utf8(b.to_vec()).ok())
}
