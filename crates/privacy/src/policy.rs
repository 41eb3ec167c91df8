//! The release policy file: its model (TOML, unknown fields rejected, no defaults for
//! privacy-critical parameters) and its validation into a [`ReleasePlan`].
//!
//! Every field is documented here; `docs/policy-reference.md` is written from these comments.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use cellguard_ingest::{
    AgeBands, AreaClassification, DimensionSpec, FieldType, PeriodGranularity, Periods,
    RowMapperConfig, SourceSchema,
};

use crate::error::{PrivacyError, PrivacyErrorKind};
use crate::plan::{ContributionBounds, MeasureKind, MeasurePlan, NoisyThreshold, ReleasePlan};

/// A release policy, as written in its TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Version of the policy language; must be 1.
    pub schema_version: u32,
    /// Name of the release, letters, digits, `-` and `_`; it names the release in outputs.
    pub name: String,
    /// What the release is for, in words, shown to reviewers.
    pub description: String,
    /// The source and its unit of privacy.
    pub source: SourceSection,
    /// The dimensions of the public key set, outermost first. Every combination of their
    /// members is a released cell, including empty ones.
    pub dimensions: Vec<DimensionSection>,
    /// Contribution bounds per unit of privacy.
    pub bounds: BoundsSection,
    /// The measures released for every cell.
    pub measures: Vec<MeasureSection>,
    /// The guarantee mode, the noise mechanism and suppression.
    pub protection: ProtectionSection,
    /// Not supported yet: the persistent privacy budget.
    pub budget: Option<toml::Value>,
    /// Not supported yet: margins (totals) over hierarchies.
    pub margins: Option<toml::Value>,
    /// Not supported yet: rounding of published values.
    pub rounding: Option<toml::Value>,
}

/// `[source]`: what is read and who is protected.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// Path of the source schema file, relative to the policy file.
    pub schema: PathBuf,
    /// The unit of privacy: `person`, `chat-session`, `loyalty-card`, `household` or `none`
    /// (already aggregated data). The DP guarantee protects all records of one such unit.
    pub unit_of_privacy: UnitOfPrivacy,
    /// The schema field (type `identifier`) that identifies the unit.
    pub unit_field: String,
    /// How many invalid rows are tolerated before the run stops with exit 2. `0` means any
    /// invalid row aborts the run. Invalid rows are never used.
    pub max_rejected_rows: u64,
}

/// Units of privacy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnitOfPrivacy {
    /// A person (payment defaults, sports licences).
    Person,
    /// A chat session; one person may return in several sessions.
    ChatSession,
    /// A loyalty card.
    LoyaltyCard,
    /// A household.
    Household,
    /// No unit: the data arrives aggregated.
    None,
}

impl UnitOfPrivacy {
    /// The name as written in policies.
    pub fn name(self) -> &'static str {
        match self {
            UnitOfPrivacy::Person => "person",
            UnitOfPrivacy::ChatSession => "chat-session",
            UnitOfPrivacy::LoyaltyCard => "loyalty-card",
            UnitOfPrivacy::Household => "household",
            UnitOfPrivacy::None => "none",
        }
    }
}

/// `[[dimensions]]`: one dimension of the key set; `kind` selects the variant.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DimensionSection {
    /// Areas of a classification file.
    Area {
        /// The dimension's name in outputs.
        name: String,
        /// The schema field holding the full 10-digit sub-area code.
        field: String,
        /// Path of the classification CSV, relative to the policy file.
        classification: PathBuf,
        /// The level released: `subarea` (other levels are not supported yet).
        level: String,
    },
    /// Age bands, from a birth year and the year of a reference date.
    AgeBand {
        /// The dimension's name in outputs.
        name: String,
        /// The schema field with the birth year.
        birth_year_field: String,
        /// The schema field with the date at which the age is taken (its year).
        reference_date_field: String,
        /// Bands like `"18-24"` and a last open band like `"75+"`; contiguous, no overlaps.
        bands: Vec<String>,
    },
    /// Calendar periods of a date field.
    Period {
        /// The dimension's name in outputs.
        name: String,
        /// The schema field with the date.
        date_field: String,
        /// `month`, `quarter` or `year`.
        granularity: PeriodGranularity,
        /// First period released, like `2025Q1`, `2025-01` or `2025`.
        from: String,
        /// Last period released (inclusive).
        to: String,
    },
    /// The declared values of a category field.
    Category {
        /// The dimension's name in outputs.
        name: String,
        /// The schema field.
        field: String,
        /// The released values, in output order.
        values: Vec<String>,
    },
}

impl DimensionSection {
    fn name(&self) -> &str {
        match self {
            DimensionSection::Area { name, .. }
            | DimensionSection::AgeBand { name, .. }
            | DimensionSection::Period { name, .. }
            | DimensionSection::Category { name, .. } => name,
        }
    }
}

/// `[bounds]`: how much one unit of privacy may contribute. Rows beyond the bounds are dropped
/// before tabulation; the noise is calibrated to these bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundsSection {
    /// The most cells one unit contributes to. A unit with more keeps a pseudo-random subset
    /// chosen by its pseudonym (independent of row order).
    pub max_cells_per_unit: u32,
    /// The most records of one unit counted in one cell; its summed values are capped at this
    /// many times the measure's bounds.
    pub max_records_per_cell: u32,
}

/// `[[measures]]`: one released statistic per cell; `kind` selects the variant.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum MeasureSection {
    /// The number of distinct units with at least one record in the cell.
    CountUnits {
        /// The measure's name in outputs.
        name: String,
        /// The privacy-loss parameter ε spent on this measure (pure DP).
        epsilon: Option<f64>,
    },
    /// The number of records in the cell (at most `max_records_per_cell` per unit).
    CountRecords {
        /// The measure's name in outputs.
        name: String,
        /// The privacy-loss parameter ε spent on this measure (pure DP).
        epsilon: Option<f64>,
    },
    /// The sum of a value field; each record's value is clamped to `[lower, upper]`.
    Sum {
        /// The measure's name in outputs.
        name: String,
        /// The schema field summed (`decimal` or `integer`).
        field: String,
        /// Smallest value of one record after clamping, in the field's units (euros).
        lower: f64,
        /// Largest value of one record after clamping.
        upper: f64,
        /// The privacy-loss parameter ε spent on this measure (pure DP).
        epsilon: Option<f64>,
    },
}

impl MeasureSection {
    fn name(&self) -> &str {
        match self {
            MeasureSection::CountUnits { name, .. }
            | MeasureSection::CountRecords { name, .. }
            | MeasureSection::Sum { name, .. } => name,
        }
    }

    fn epsilon(&self) -> Option<f64> {
        match self {
            MeasureSection::CountUnits { epsilon, .. }
            | MeasureSection::CountRecords { epsilon, .. }
            | MeasureSection::Sum { epsilon, .. } => *epsilon,
        }
    }
}

/// `[protection]`: the guarantee.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectionSection {
    /// `dp` (noise calibrated to the bounds). `sdc` and `dp+sdc` are not supported yet.
    pub mode: GuaranteeMode,
    /// `discrete-laplace` (pure ε-DP on integers). Others are not supported yet.
    pub mechanism: Mechanism,
    /// Cells whose *noisy* value of a count measure is below `min` are suppressed, all measures
    /// together. Post-processing: the DP guarantee is kept. Required in `dp` mode (write
    /// `min = 0` to suppress nothing).
    pub noisy_threshold: Option<NoisyThresholdSection>,
}

/// Guarantee modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum GuaranteeMode {
    /// Differential privacy.
    #[serde(rename = "dp")]
    Dp,
    /// Exact values with statistical disclosure control.
    #[serde(rename = "sdc")]
    Sdc,
    /// Differential privacy with SDC rules as an extra gate.
    #[serde(rename = "dp+sdc")]
    DpSdc,
}

/// Noise mechanisms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// Discrete Laplace (geometric) noise on integers; pure ε-DP.
    DiscreteLaplace,
    /// Laplace noise.
    Laplace,
    /// Gaussian noise under zCDP.
    Gaussian,
    /// Discrete Gaussian noise under zCDP.
    DiscreteGaussian,
}

/// `[protection.noisy_threshold]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoisyThresholdSection {
    /// The count measure whose noisy value is compared.
    pub measure: String,
    /// Cells with a noisy value below this are suppressed.
    pub min: u64,
}

/// Largest magnitude allowed for a bound or a sensitivity, in exact units: beyond 2^53
/// integers stop being exactly representable as f64, which the noise calibration uses.
pub const MAX_EXACT: i64 = 1 << 53;

/// Finds the 1-based line of a field path like `measures.1.epsilon` in TOML text, or of the
/// nearest enclosing table when the field itself is absent.
pub fn locate(text: &str, path: &str) -> Option<u64> {
    #[derive(Clone, Copy)]
    enum Node<'a> {
        Item(&'a toml_edit::Item),
        Table(&'a toml_edit::Table),
        Value(&'a toml_edit::Value),
    }
    fn child<'a>(node: Node<'a>, seg: &str) -> Option<Node<'a>> {
        match (node, seg.parse::<usize>()) {
            (Node::Item(i), Ok(n)) => match i.as_array_of_tables() {
                Some(a) => a.get(n).map(Node::Table),
                None => i.as_array().and_then(|a| a.get(n)).map(Node::Value),
            },
            (Node::Value(v), Ok(n)) => v.as_array().and_then(|a| a.get(n)).map(Node::Value),
            (Node::Table(_), Ok(_)) => None,
            (Node::Item(i), Err(_)) => i.as_table_like().and_then(|t| t.get(seg)).map(Node::Item),
            (Node::Table(t), Err(_)) => t.get(seg).map(Node::Item),
            (Node::Value(v), Err(_)) => v
                .as_inline_table()
                .and_then(|t| t.get(seg))
                .map(Node::Value),
        }
    }
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut node = Node::Item(doc.as_item());
    let mut best = None;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let Some(next) = child(node, seg) else { break };
        let span = match next {
            Node::Item(i) => i.span(),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        };
        if let Some(span) = span {
            best = Some(span.start);
        }
        node = next;
    }
    best.map(|b| text[..b.min(text.len())].matches('\n').count() as u64 + 1)
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    /// An error at a field path written like `measures[1].epsilon`.
    fn err(&self, field: &str, message: impl Into<String>) -> PrivacyError {
        let dotted = field.replace('[', ".").replace(']', "");
        PrivacyError::new(PrivacyErrorKind::Policy {
            path: self.path.to_path_buf(),
            line: locate(self.text, &dotted),
            field: Some(field.to_string()),
            message: message.into(),
        })
    }

    fn resolve(&self, relative: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if relative.is_relative() => dir.join(relative),
            _ => relative.to_path_buf(),
        }
    }
}

fn sha256_file(path: &Path) -> Result<[u8; 32], PrivacyError> {
    let bytes = std::fs::read(path).map_err(|e| {
        PrivacyError::from(cellguard_ingest::IngestError::new(
            cellguard_ingest::IngestErrorKind::Io {
                path: path.to_path_buf(),
                action: "read",
                source: e,
            },
        ))
    })?;
    Ok(Sha256::digest(&bytes).into())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Converts a bound in the field's units to exact integer units of `10^-scale`, if it is
/// finite, exactly representable at that scale and within [`MAX_EXACT`].
fn exact_bound(value: f64, scale: u32) -> Option<i64> {
    if !value.is_finite() {
        return None;
    }
    let scaled = value * 10f64.powi(scale as i32);
    let rounded = scaled.round();
    if (scaled - rounded).abs() > 1e-6 * rounded.abs().max(1.0) || rounded.abs() > MAX_EXACT as f64
    {
        return None;
    }
    Some(rounded as i64)
}

/// Reads, checks and resolves a policy file (and the schema and classification files it names)
/// into a [`ReleasePlan`]. Refusals (a mode that cannot apply to the data) are
/// [`PrivacyErrorKind::Refused`]; everything else wrong is [`PrivacyErrorKind::Policy`].
pub fn load_policy(path: &Path) -> Result<ReleasePlan, PrivacyError> {
    let bytes = std::fs::read(path).map_err(|e| {
        PrivacyError::from(cellguard_ingest::IngestError::new(
            cellguard_ingest::IngestErrorKind::Io {
                path: path.to_path_buf(),
                action: "read",
                source: e,
            },
        ))
    })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| PrivacyError::policy(path, None, "the policy file is not valid UTF-8"))?;
    let policy_sha256: [u8; 32] = Sha256::digest(&bytes).into();
    let file: PolicyFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() as u64 + 1);
        // Name the key on the offending line (policy files hold no sensitive data).
        let field = line
            .and_then(|l| text.lines().nth(l as usize - 1))
            .and_then(|l| {
                let (key, _) = l.split_once('=')?;
                let key = key.trim();
                (!key.is_empty() && !key.starts_with('[') && !key.starts_with('#'))
                    .then(|| key.to_string())
            });
        PrivacyError::new(PrivacyErrorKind::Policy {
            path: path.to_path_buf(),
            line,
            field,
            message: format!("{} (see docs/policy-reference.md)", e.message().trim_end()),
        })
    })?;
    let ctx = Ctx { path, text };
    resolve(&ctx, file, policy_sha256)
}

fn resolve(
    ctx: &Ctx<'_>,
    file: PolicyFile,
    policy_sha256: [u8; 32],
) -> Result<ReleasePlan, PrivacyError> {
    if file.schema_version != 1 {
        return Err(ctx.err(
            "schema_version",
            format!("version {} is not supported; write 1", file.schema_version),
        ));
    }
    if !valid_name(&file.name) {
        return Err(ctx.err("name", "use 1-64 letters, digits, `-` or `_`"));
    }
    for (section, present) in [
        ("budget", file.budget.is_some()),
        ("margins", file.margins.is_some()),
        ("rounding", file.rounding.is_some()),
    ] {
        if present {
            return Err(ctx.err(
                section,
                format!("the `[{section}]` section is not supported yet; remove it"),
            ));
        }
    }
    match file.protection.mode {
        GuaranteeMode::Dp => {}
        GuaranteeMode::Sdc | GuaranteeMode::DpSdc => {
            return Err(ctx.err(
                "protection.mode",
                "only `dp` is supported yet; `sdc` and `dp+sdc` are not supported yet",
            ))
        }
    }
    if file.protection.mechanism != Mechanism::DiscreteLaplace {
        return Err(ctx.err(
            "protection.mechanism",
            "only `discrete-laplace` is supported yet",
        ));
    }
    if file.source.unit_of_privacy == UnitOfPrivacy::None {
        return Err(PrivacyError::new(PrivacyErrorKind::Refused {
            message: format!(
                "{}: `source.unit_of_privacy` is `none` (data aggregated by the provider), so no differential-privacy guarantee can be given; `dp` mode is refused",
                ctx.path.display()
            ),
        }));
    }

    // The schema.
    let schema_path = ctx.resolve(&file.source.schema);
    let schema = SourceSchema::load(&schema_path)?;
    let schema_sha256 = sha256_file(&schema_path)?;
    let field_of = |field_path: &str,
                    name: &str,
                    want: &[FieldType],
                    role: &str|
     -> Result<(), PrivacyError> {
        match schema.field(name) {
            None => Err(ctx.err(
                field_path,
                format!(
                    "the schema {} declares no field `{name}`",
                    schema_path.display()
                ),
            )),
            Some((_, spec)) if !want.contains(&spec.field_type) => Err(ctx.err(
                field_path,
                format!(
                    "field `{name}` cannot be used as {role}: its schema type is {:?}",
                    spec.field_type
                ),
            )),
            Some(_) => Ok(()),
        }
    };
    field_of(
        "source.unit_field",
        &file.source.unit_field,
        &[FieldType::Identifier],
        "the unit of privacy",
    )?;

    // Dimensions.
    if file.dimensions.is_empty() {
        return Err(ctx.err("dimensions", "declare at least one dimension"));
    }
    let mut dimensions = Vec::new();
    let mut dimension_names = Vec::new();
    let mut classifications = Vec::new();
    for (i, d) in file.dimensions.iter().enumerate() {
        let at = |f: &str| format!("dimensions[{i}].{f}");
        if !valid_name(d.name()) {
            return Err(ctx.err(&at("name"), "use 1-64 letters, digits, `-` or `_`"));
        }
        if dimension_names.contains(&d.name().to_string()) {
            return Err(ctx.err(&at("name"), "two dimensions have this name"));
        }
        dimension_names.push(d.name().to_string());
        dimensions.push(match d {
            DimensionSection::Area {
                field,
                classification,
                level,
                ..
            } => {
                field_of(&at("field"), field, &[FieldType::Category], "an area code")?;
                if level != "subarea" {
                    return Err(ctx.err(&at("level"), "only `subarea` is supported yet"));
                }
                let cpath = ctx.resolve(classification);
                let c = AreaClassification::load(&cpath)?;
                classifications.push((cpath.clone(), sha256_file(&cpath)?));
                DimensionSpec::Area {
                    field: field.clone(),
                    classification: Arc::new(c),
                }
            }
            DimensionSection::AgeBand {
                birth_year_field,
                reference_date_field,
                bands,
                ..
            } => {
                field_of(
                    &at("birth_year_field"),
                    birth_year_field,
                    &[FieldType::Integer],
                    "a birth year",
                )?;
                field_of(
                    &at("reference_date_field"),
                    reference_date_field,
                    &[FieldType::Date],
                    "a reference date",
                )?;
                let bands = AgeBands::parse(bands).map_err(|m| ctx.err(&at("bands"), m))?;
                DimensionSpec::AgeBand {
                    birth_year_field: birth_year_field.clone(),
                    reference_date_field: reference_date_field.clone(),
                    bands,
                }
            }
            DimensionSection::Period {
                date_field,
                granularity,
                from,
                to,
                ..
            } => {
                field_of(
                    &at("date_field"),
                    date_field,
                    &[FieldType::Date],
                    "a period date",
                )?;
                let periods =
                    Periods::new(*granularity, from, to).map_err(|m| ctx.err(&at("from"), m))?;
                DimensionSpec::Period {
                    date_field: date_field.clone(),
                    periods,
                }
            }
            DimensionSection::Category { field, values, .. } => {
                field_of(&at("field"), field, &[FieldType::Category], "a category")?;
                if values.is_empty() {
                    return Err(ctx.err(&at("values"), "declare at least one value"));
                }
                for (j, v) in values.iter().enumerate() {
                    if values[..j].contains(v) {
                        return Err(
                            ctx.err(&at("values"), format!("value {} is listed twice", j + 1))
                        );
                    }
                }
                DimensionSpec::Category {
                    field: field.clone(),
                    values: values.clone(),
                }
            }
        });
    }
    let n_cells = dimensions
        .iter()
        .try_fold(1u64, |acc, d| acc.checked_mul(d.len() as u64));
    if n_cells.is_none_or(|n| n > 50_000_000) {
        return Err(ctx.err("dimensions", "the key set has more than 50 million cells"));
    }

    // Bounds.
    let bounds = ContributionBounds {
        max_cells_per_unit: file.bounds.max_cells_per_unit,
        max_records_per_cell: file.bounds.max_records_per_cell,
    };
    if bounds.max_cells_per_unit == 0 {
        return Err(ctx.err("bounds.max_cells_per_unit", "must be at least 1"));
    }
    if bounds.max_records_per_cell == 0 {
        return Err(ctx.err("bounds.max_records_per_cell", "must be at least 1"));
    }
    if bounds.max_cells_per_unit > 100_000 || bounds.max_records_per_cell > 100_000 {
        return Err(ctx.err(
            "bounds",
            "bounds above 100000 are not meaningful; lower them",
        ));
    }

    // Measures.
    if file.measures.is_empty() {
        return Err(ctx.err("measures", "declare at least one measure"));
    }
    let mut measures: Vec<MeasurePlan> = Vec::new();
    let mut value_fields: Vec<String> = Vec::new();
    for (i, m) in file.measures.iter().enumerate() {
        let at = |f: &str| format!("measures[{i}].{f}");
        if !valid_name(m.name()) {
            return Err(ctx.err(&at("name"), "use 1-64 letters, digits, `-` or `_`"));
        }
        if measures.iter().any(|p| p.name == m.name()) {
            return Err(ctx.err(&at("name"), "two measures have this name"));
        }
        let epsilon = m.epsilon().ok_or_else(|| {
            ctx.err(&at("epsilon"), "missing: every measure must state its privacy-loss parameter `epsilon` (there is no default)")
        })?;
        if !epsilon.is_finite() || epsilon <= 0.0 {
            return Err(ctx.err(&at("epsilon"), "must be a positive, finite number"));
        }
        let kind = match m {
            MeasureSection::CountUnits { .. } => MeasureKind::CountUnits,
            MeasureSection::CountRecords { .. } => MeasureKind::CountRecords,
            MeasureSection::Sum {
                field,
                lower,
                upper,
                ..
            } => {
                field_of(
                    &at("field"),
                    field,
                    &[FieldType::Decimal, FieldType::Integer],
                    "a summed value",
                )?;
                let scale = schema.field(field).and_then(|(_, f)| f.scale).unwrap_or(0);
                let lo = exact_bound(*lower, scale).ok_or_else(|| {
                    ctx.err(&at("lower"), format!("must be finite, have at most {scale} decimals and magnitude below 2^53 units"))
                })?;
                let hi = exact_bound(*upper, scale).ok_or_else(|| {
                    ctx.err(&at("upper"), format!("must be finite, have at most {scale} decimals and magnitude below 2^53 units"))
                })?;
                if lo > hi {
                    return Err(ctx.err(&at("lower"), "is larger than `upper`"));
                }
                if lo < 0 {
                    return Err(ctx.err(
                        &at("lower"),
                        "must not be negative: sums of negative values are not supported yet",
                    ));
                }
                let slot = match value_fields.iter().position(|f| f == field) {
                    Some(s) => s,
                    None => {
                        value_fields.push(field.clone());
                        value_fields.len() - 1
                    }
                };
                if slot >= cellguard_ingest::MAX_VALUES {
                    return Err(ctx.err(
                        &at("field"),
                        format!(
                            "at most {} different fields can be summed",
                            cellguard_ingest::MAX_VALUES
                        ),
                    ));
                }
                MeasureKind::Sum {
                    value_slot: slot,
                    lower: lo,
                    upper: hi,
                    scale,
                }
            }
        };
        let plan = MeasurePlan::new(m.name(), kind, &bounds, epsilon)
            .map_err(|e| ctx.err(&at("epsilon"), e.to_string()))?;
        measures.push(plan);
    }

    // Suppression.
    let threshold = match &file.protection.noisy_threshold {
        None => {
            return Err(ctx.err(
                "protection.noisy_threshold",
                "missing: `dp` mode must state the noisy threshold (`measure` and `min`; write `min = 0` to suppress nothing)",
            ))
        }
        Some(t) => {
            let Some(idx) = measures.iter().position(|m| m.name == t.measure) else {
                return Err(ctx.err("protection.noisy_threshold.measure", "names no declared measure"));
            };
            if !matches!(measures[idx].kind, MeasureKind::CountUnits | MeasureKind::CountRecords) {
                return Err(ctx.err("protection.noisy_threshold.measure", "must be a count measure"));
            }
            if t.min > 1_000_000 {
                return Err(ctx.err("protection.noisy_threshold.min", "is implausibly large"));
            }
            NoisyThreshold { measure: idx, min: t.min as i64 }
        }
    };

    Ok(ReleasePlan {
        policy_path: ctx.path.to_path_buf(),
        policy_sha256,
        name: file.name,
        description: file.description,
        schema_path,
        schema_sha256,
        classifications,
        unit_of_privacy: file.source.unit_of_privacy,
        max_rejected_rows: file.source.max_rejected_rows,
        dimension_names,
        mapper: RowMapperConfig {
            unit_field: file.source.unit_field,
            dimensions,
            value_fields,
        },
        schema,
        bounds,
        measures,
        mode: file.protection.mode,
        mechanism: file.protection.mechanism,
        threshold,
    })
}
