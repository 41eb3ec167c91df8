//! Source schemas: how a CSV extract is laid out and what type each field has. A schema is a
//! TOML file so that a processor can adapt a column header without a rebuild; the policy refers
//! to fields by their logical `name`, the schema maps each name to the header in the file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::IngestError;
use crate::value::DateFormat;

/// A source schema as written in its file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSchema {
    /// Schema version; must be 1.
    pub schema_version: u32,
    /// The source's name, for example `payment-defaults`.
    pub name: String,
    /// What one row is, in words.
    #[serde(default)]
    pub description: String,
    /// The CSV dialect.
    pub format: CsvFormat,
    /// The fields, in any order; every field must be present in the file's header.
    pub fields: Vec<FieldSpec>,
    /// The file this schema was read from (set by [`SourceSchema::load`]).
    #[serde(skip)]
    #[schemars(skip)]
    pub path: PathBuf,
}

/// The CSV dialect of a source.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvFormat {
    /// Field delimiter: `,` or `;` (or a tab).
    pub delimiter: char,
    /// Decimal mark for `decimal` fields: `.` or `,`.
    pub decimal_mark: char,
    /// Character encoding of the file.
    pub encoding: Encoding,
    /// Whether header columns that the schema does not declare are tolerated (they are then
    /// never read). When `false` (the default) an unknown column is an error.
    #[serde(default)]
    pub allow_extra_columns: bool,
}

/// Character encodings a schema can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Encoding {
    /// UTF-8, with or without a byte-order mark.
    #[serde(rename = "utf-8")]
    Utf8,
    /// Windows-1252 (a superset of ISO-8859-1's printable range).
    #[serde(rename = "windows-1252")]
    Windows1252,
}

/// One field of a source. Type-specific settings (`min`, `max`, `scale`, `date_format`,
/// `values`) are only allowed on the types they belong to.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The logical name the policy uses.
    pub name: String,
    /// The header of the column in the file; defaults to `name`.
    #[serde(default)]
    pub column: Option<String>,
    /// The field's type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Whether an empty value is allowed. Empty values of required fields reject the row.
    #[serde(default)]
    pub optional: bool,
    /// `integer`: smallest valid value.
    #[serde(default)]
    pub min: Option<i64>,
    /// `integer`: largest valid value.
    #[serde(default)]
    pub max: Option<i64>,
    /// `decimal`: decimal places kept exactly, 0..=3 (2 keeps euros as cents).
    #[serde(default)]
    pub scale: Option<u32>,
    /// `date`: `iso` (`2025-03-31`) or `finnish` (`31.3.2025`).
    #[serde(default)]
    pub date_format: Option<DateFormat>,
    /// `category`: the allowed values, when the set is closed.
    #[serde(default)]
    pub values: Option<Vec<String>>,
    /// `category`: a one-character separator that makes the field multi-label (for example
    /// `|` in `anxiety|school`); each label is checked against `values` on its own.
    #[serde(default)]
    pub separator: Option<char>,
}

impl FieldSpec {
    /// The header this field is found under.
    pub fn column(&self) -> &str {
        self.column.as_deref().unwrap_or(&self.name)
    }
}

/// Field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FieldType {
    /// The identifier of the unit of privacy (or another direct identifier). It is only ever
    /// pseudonymised; the raw value is dropped immediately.
    Identifier,
    /// A whole number, optionally within `[min, max]`.
    Integer,
    /// A decimal number kept exactly in units of `10^-scale`.
    Decimal,
    /// A calendar date in `date_format`.
    Date,
    /// An ISO 8601 week like `2025-W07`; it falls in the month, quarter and year of its Thursday.
    Week,
    /// A code or label; with `values`, only those are valid.
    Category,
}

impl SourceSchema {
    /// Reads and checks a schema file.
    pub fn load(path: &Path) -> Result<SourceSchema, IngestError> {
        let text = std::fs::read_to_string(path).map_err(|e| IngestError::io(path, "read", e))?;
        Self::parse(&text, path)
    }

    /// Parses and checks schema text; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<SourceSchema, IngestError> {
        let mut schema: SourceSchema = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start].matches('\n').count() as u64 + 1);
            IngestError::config(path, line, e.message().to_string())
        })?;
        schema.path = path.to_path_buf();
        schema.check()?;
        Ok(schema)
    }

    fn check(&self) -> Result<(), IngestError> {
        let fail = |m: String| Err(IngestError::config(&self.path, None, m));
        if self.schema_version != 1 {
            return fail(format!("schema_version {} is not supported (expected 1)", self.schema_version));
        }
        if ![',', ';', '\t'].contains(&self.format.delimiter) {
            return fail("format.delimiter must be \",\", \";\" or a tab".into());
        }
        if !['.', ','].contains(&self.format.decimal_mark) {
            return fail("format.decimal_mark must be \".\" or \",\"".into());
        }
        if self.format.delimiter == self.format.decimal_mark {
            return fail("format.delimiter and format.decimal_mark must differ".into());
        }
        if self.fields.is_empty() || self.fields.len() > 64 {
            return fail("a schema declares between 1 and 64 fields".into());
        }
        let mut names = BTreeSet::new();
        let mut columns = BTreeSet::new();
        for (i, f) in self.fields.iter().enumerate() {
            if f.name.is_empty() || f.column().is_empty() {
                return fail(format!("fields[{i}]: name and column must not be empty"));
            }
            if !names.insert(f.name.as_str()) {
                return fail(format!("fields[{i}]: the field name `{}` is declared twice", f.name));
            }
            if !columns.insert(f.column()) {
                return fail(format!("fields[{i}]: the column `{}` is mapped twice", f.column()));
            }
            let here = format!("fields[{i}] `{}`", f.name);
            let t = f.field_type;
            let misplaced = [
                ("min", f.min.is_some(), t == FieldType::Integer),
                ("max", f.max.is_some(), t == FieldType::Integer),
                ("scale", f.scale.is_some(), t == FieldType::Decimal),
                ("date_format", f.date_format.is_some(), t == FieldType::Date),
                ("values", f.values.is_some(), t == FieldType::Category),
                ("separator", f.separator.is_some(), t == FieldType::Category),
            ];
            for (key, present, allowed) in misplaced {
                if present && !allowed {
                    return fail(format!("{here}: `{key}` does not apply to this field type"));
                }
            }
            match t {
                FieldType::Decimal if !matches!(f.scale, Some(0..=3)) => {
                    return fail(format!("{here}: a decimal field needs `scale` between 0 and 3"));
                }
                FieldType::Date if f.date_format.is_none() => {
                    return fail(format!("{here}: a date field needs `date_format` (\"iso\" or \"finnish\")"));
                }
                FieldType::Integer if matches!((f.min, f.max), (Some(a), Some(b)) if a > b) => {
                    return fail(format!("{here}: min is larger than max"));
                }
                FieldType::Category if f.values.as_ref().is_some_and(Vec::is_empty) => {
                    return fail(format!("{here}: values must not be empty"));
                }
                FieldType::Category
                    if f.separator.is_some_and(|c| !c.is_ascii_punctuation() || c == self.format.delimiter) =>
                {
                    return fail(format!(
                        "{here}: the separator must be an ASCII punctuation character other than the delimiter"
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The field with a logical name.
    pub fn field(&self, name: &str) -> Option<(usize, &FieldSpec)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name == name)
    }
}
