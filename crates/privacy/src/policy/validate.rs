//! Validation of a policy file into a [`ReleasePlan`], collecting every problem as a
//! [`Finding`] with its field path and line rather than stopping at the first, so that
//! `cellguard policy check` can list them all.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use cellguard_ingest::{
    AgeBands, AgeSource, AreaClassification, AreaLevel, CodeList, DimensionSpec, FieldType, Periods, RowMapperConfig,
    SourceSchema, Unknown,
};

use super::baseline::Baseline;
use super::model::*;
use crate::error::{PrivacyError, PrivacyErrorKind};
use crate::plan::{ContributionBounds, Margins, MeasureKind, MeasurePlan, NoisyThreshold, ReleasePlan, SdcPlan};

/// Largest magnitude allowed for a bound or a sensitivity, in exact units: beyond 2^53
/// integers stop being exactly representable as f64, which the noise calibration uses.
pub const MAX_EXACT: i64 = 1 << 53;

/// Largest key set a policy may declare.
pub const MAX_CELLS: u64 = 10_000_000;

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FindingKind {
    /// The policy is wrong (inconsistent, out of range, names something that does not exist).
    Invalid,
    /// The policy asks for a feature this version does not implement yet.
    Unsupported,
    /// The policy is consistent but asks for something that cannot be granted.
    Refused,
    /// The policy breaks a floor of the baseline.
    Floor,
}

impl FindingKind {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            FindingKind::Invalid => "invalid",
            FindingKind::Unsupported => "not supported yet",
            FindingKind::Refused => "refused",
            FindingKind::Floor => "below baseline floor",
        }
    }
}

/// One problem with a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Its kind.
    pub kind: FindingKind,
    /// The field path, like `measures[1].epsilon`.
    pub field: String,
    /// The 1-based line in the policy file, when known.
    pub line: Option<u64>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Finding {
    /// `file:line: `field`: message`.
    pub fn render(&self, path: &Path) -> String {
        let at = match self.line {
            Some(l) => format!("{}:{l}", path.display()),
            None => path.display().to_string(),
        };
        format!("{at}: `{}`: {}", self.field, self.message)
    }
}

/// The result of checking a policy.
#[derive(Debug)]
pub struct PolicyCheck {
    /// The policy file.
    pub path: PathBuf,
    /// SHA-256 of the policy file.
    pub sha256: [u8; 32],
    /// The parsed policy, if it parsed.
    pub file: Option<PolicyFile>,
    /// Every problem found, in file order where known.
    pub findings: Vec<Finding>,
    /// The plan, when the policy has no findings other than baseline floors.
    pub plan: Option<ReleasePlan>,
}

/// Reads a file, mapping errors to an ingest I/O error that names it.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, PrivacyError> {
    std::fs::read(path).map_err(|e| {
        PrivacyError::from(cellguard_ingest::IngestError::new(cellguard_ingest::IngestErrorKind::Io {
            path: path.to_path_buf(),
            action: "read",
            source: e,
        }))
    })
}

fn line_of(text: &str, offset: usize) -> u64 {
    text[..offset.min(text.len())].matches('\n').count() as u64 + 1
}

/// Parses TOML text into `T`, reporting the line and the key on it on failure.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T, PrivacyError> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        // Name the key on the offending line (policy files hold no sensitive data).
        let field = line.and_then(|l| text.lines().nth(l as usize - 1)).and_then(|l| {
            let (key, _) = l.split_once('=')?;
            let key = key.trim();
            (!key.is_empty() && !key.starts_with('[') && !key.starts_with('#')).then(|| key.to_string())
        });
        PrivacyError::new(PrivacyErrorKind::Policy {
            path: path.to_path_buf(),
            line,
            field,
            message: format!("{} (see docs/policy-reference.md)", e.message().trim_end()),
        })
    })
}

/// Finds the 1-based line of a field path like `measures[1].epsilon` in TOML text, or of the
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
            (Node::Value(v), Err(_)) => v.as_inline_table().and_then(|t| t.get(seg)).map(Node::Value),
        }
    }
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut node = Node::Item(doc.as_item());
    let mut best = None;
    let dotted = path.replace('[', ".").replace(']', "");
    for seg in dotted.split('.').filter(|s| !s.is_empty()) {
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
    best.map(|b| line_of(text, b))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Converts a bound in the field's units to exact integer units of `10^-scale`, if it is
/// finite, exactly representable at that scale and within [`MAX_EXACT`].
fn exact_bound(value: f64, scale: u32) -> Option<i64> {
    if !value.is_finite() {
        return None;
    }
    let scaled = value * 10f64.powi(scale as i32);
    let rounded = scaled.round();
    if (scaled - rounded).abs() > 1e-6 * rounded.abs().max(1.0) || rounded.abs() > MAX_EXACT as f64 {
        return None;
    }
    Some(rounded as i64)
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    fn push(&mut self, kind: FindingKind, field: &str, message: impl Into<String>) {
        self.findings.push(Finding {
            kind,
            field: field.to_string(),
            line: locate(self.text, field),
            message: message.into(),
        });
    }

    fn invalid(&mut self, field: &str, message: impl Into<String>) {
        self.push(FindingKind::Invalid, field, message);
    }

    fn unsupported(&mut self, field: &str, message: impl Into<String>) {
        self.push(FindingKind::Unsupported, field, message);
    }

    fn resolve(&self, relative: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if relative.is_relative() => dir.join(relative),
            _ => relative.to_path_buf(),
        }
    }
}

/// Checks a policy file (and the schema and classification files it names) and, if nothing
/// but baseline floors is wrong, resolves it into a plan. `Err` means the policy or a file it
/// names cannot be read at all (missing, not UTF-8, not TOML).
pub fn check_policy(path: &Path, baseline: Option<&Baseline>) -> Result<PolicyCheck, PrivacyError> {
    let bytes = read_file(path)?;
    let sha256: [u8; 32] = Sha256::digest(&bytes).into();
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| PrivacyError::policy(path, None, "the policy file is not valid UTF-8"))?;
    // Syntax first: a file that is not TOML is unreadable input.
    if let Err(e) = text.parse::<toml::Table>() {
        let line = e.span().map(|s| line_of(text, s.start));
        return Err(PrivacyError::new(PrivacyErrorKind::Policy {
            path: path.to_path_buf(),
            line,
            field: None,
            message: format!("not valid TOML: {}", e.message().trim_end()),
        }));
    }
    let mut ctx = Ctx { path, text, findings: Vec::new() };
    let file: PolicyFile = match parse_toml(text, path) {
        Ok(f) => f,
        Err(e) => {
            let (line, field, message) = match e.kind() {
                PrivacyErrorKind::Policy { line, field, message, .. } => (*line, field.clone(), message.clone()),
                _ => (None, None, e.to_string()),
            };
            ctx.findings.push(Finding { kind: FindingKind::Invalid, field: field.unwrap_or_default(), line, message });
            return Ok(PolicyCheck {
                path: path.to_path_buf(),
                sha256,
                file: None,
                findings: ctx.findings,
                plan: None,
            });
        }
    };
    let plan = resolve(&mut ctx, &file, sha256)?;
    if let Some(b) = baseline {
        check_floors(&mut ctx, &file, b);
    }
    let mut findings = ctx.findings;
    findings.sort_by_key(|f| f.line.unwrap_or(u64::MAX));
    let plan = plan.filter(|_| findings.iter().all(|f| f.kind == FindingKind::Floor));
    Ok(PolicyCheck { path: path.to_path_buf(), sha256, file: Some(file), findings, plan })
}

/// Loads a policy for a release: any finding stops it. Invalid or unsupported policies are bad
/// input ([`PrivacyErrorKind::Findings`] with `refusal: false`, exit 2); a policy refused by
/// its content or by the baseline is a refusal (exit 1).
pub fn load_policy(path: &Path, baseline: Option<&Baseline>) -> Result<ReleasePlan, PrivacyError> {
    let check = check_policy(path, baseline)?;
    if let Some(plan) = check.plan.filter(|_| check.findings.is_empty()) {
        return Ok(plan);
    }
    let refusal = check.findings.iter().all(|f| matches!(f.kind, FindingKind::Refused | FindingKind::Floor));
    Err(PrivacyError::new(PrivacyErrorKind::Findings { path: path.to_path_buf(), findings: check.findings, refusal }))
}

/// How missing values of a dimension's field are handled. Only optional fields can be
/// missing; for those the policy must say.
fn unknown_handling_inner(ctx: &mut Ctx<'_>, at: &str, optional: bool, given: Option<UnknownHandling>) -> Unknown {
    match (optional, given) {
        (_, Some(u)) => u.to_ingest(),
        (false, None) => Unknown::Drop,
        (true, None) => {
            ctx.invalid(at, "missing: the field is optional in the schema, so say what to do with rows that lack it (`\"drop\"` or `\"cell\"`)");
            Unknown::Drop
        }
    }
}

fn resolve(ctx: &mut Ctx<'_>, file: &PolicyFile, policy_sha256: [u8; 32]) -> Result<Option<ReleasePlan>, PrivacyError> {
    if file.schema_version != 1 {
        ctx.invalid("schema_version", format!("version {} is not supported; write 1", file.schema_version));
    }
    if !valid_name(&file.name) {
        ctx.invalid("name", "use 1-64 letters, digits, `-` or `_`");
    }
    for (section, present) in [("rounding", file.rounding.is_some())] {
        if present {
            ctx.unsupported(section, format!("the `[{section}]` section is not supported yet; remove it"));
        }
    }
    let protection = &file.protection;
    let mode = protection.mode;
    check_protection_fields(ctx, file);

    // The schema.
    let schema_path = ctx.resolve(&file.source.schema);
    let schema = SourceSchema::load(&schema_path)?;
    let schema_sha256: [u8; 32] = Sha256::digest(read_file(&schema_path)?).into();
    let field_ok = |ctx: &mut Ctx<'_>, at: &str, name: &str, want: &[FieldType], role: &str| -> bool {
        match schema.field(name) {
            None => {
                ctx.invalid(at, format!("the schema {} declares no field `{name}`", schema_path.display()));
                false
            }
            Some((_, spec)) if !want.contains(&spec.field_type) => {
                ctx.invalid(
                    at,
                    format!("field `{name}` cannot be used as {role}: its schema type is {:?}", spec.field_type),
                );
                false
            }
            Some(_) => true,
        }
    };
    let unknown_handling = |ctx: &mut Ctx<'_>, at: &str, field: &str, given: Option<UnknownHandling>| {
        let optional = schema.field(field).is_some_and(|(_, f)| f.optional);
        unknown_handling_inner(ctx, at, optional, given)
    };
    let unit = file.source.unit_of_privacy;
    match (&file.source.unit_field, unit) {
        (Some(f), _) => {
            field_ok(ctx, "source.unit_field", f, &[FieldType::Identifier], "the unit of privacy");
        }
        (None, UnitOfPrivacy::None) => {}
        (None, _) => ctx.invalid("source.unit_field", "missing: name the `identifier` field of the unit of privacy"),
    }
    if unit == UnitOfPrivacy::None && mode.is_dp() {
        ctx.push(
            FindingKind::Refused,
            "source.unit_of_privacy",
            format!(
                "is `none` (data aggregated by the provider), so no differential-privacy guarantee can be given; mode `{}` is refused (use `sdc`)",
                mode.name()
            ),
        );
    }
    if unit == UnitOfPrivacy::None && mode == GuaranteeMode::Sdc && file.source.unit_field.is_some() {
        ctx.invalid("source.unit_field", "must be absent when the unit of privacy is `none`");
    }

    // Dimensions.
    if file.dimensions.is_empty() {
        ctx.invalid("dimensions", "declare at least one dimension");
    }
    let mut dimensions = Vec::new();
    let mut dimension_names: Vec<String> = Vec::new();
    let mut classifications = Vec::new();
    for (i, d) in file.dimensions.iter().enumerate() {
        let at = |f: &str| format!("dimensions[{i}].{f}");
        if !valid_name(d.name()) {
            ctx.invalid(&at("name"), "use 1-64 letters, digits, `-` or `_`");
        } else if dimension_names.iter().any(|n| n == d.name()) {
            ctx.invalid(&at("name"), "two dimensions have this name");
        }
        dimension_names.push(d.name().to_string());
        let spec = match d {
            DimensionSection::Area { field, classification, level, unknown, .. } => {
                let ok = field_ok(ctx, &at("field"), field, &[FieldType::Category], "an area code");
                let unknown = unknown_handling(ctx, &at("unknown"), field, *unknown);
                let cpath = ctx.resolve(classification);
                let c = AreaClassification::load(&cpath)?;
                classifications.push((cpath.clone(), Sha256::digest(read_file(&cpath)?).into()));
                let level = match level {
                    AreaLevelName::Subarea => AreaLevel::Subarea,
                    AreaLevelName::District => AreaLevel::District,
                    AreaLevelName::MajorDistrict => AreaLevel::MajorDistrict,
                    AreaLevelName::City => AreaLevel::City,
                };
                ok.then(|| DimensionSpec::Area { field: field.clone(), classification: Arc::new(c), level, unknown })
            }
            DimensionSection::AgeBand { birth_year_field, reference_date_field, age_field, bands, unknown, .. } => {
                let source = match (birth_year_field, reference_date_field, age_field) {
                    (Some(b), Some(r), None) => {
                        let a = field_ok(ctx, &at("birth_year_field"), b, &[FieldType::Integer], "a birth year");
                        let d = field_ok(
                            ctx,
                            &at("reference_date_field"),
                            r,
                            &[FieldType::Date, FieldType::Week],
                            "a reference date",
                        );
                        (a && d).then(|| {
                            let unknown = unknown_handling(ctx, &at("unknown"), b, *unknown);
                            (
                                AgeSource::BirthYear { birth_year_field: b.clone(), reference_date_field: r.clone() },
                                unknown,
                            )
                        })
                    }
                    (None, None, Some(f)) => {
                        field_ok(ctx, &at("age_field"), f, &[FieldType::Integer], "an age").then(|| {
                            let unknown = unknown_handling(ctx, &at("unknown"), f, *unknown);
                            (AgeSource::Age { age_field: f.clone() }, unknown)
                        })
                    }
                    _ => {
                        ctx.invalid(
                            &at("age_field"),
                            "give either `birth_year_field` and `reference_date_field`, or `age_field`",
                        );
                        None
                    }
                };
                match AgeBands::parse(bands) {
                    Ok(bands) => source.map(|(source, unknown)| DimensionSpec::AgeBand { source, bands, unknown }),
                    Err(m) => {
                        ctx.invalid(&at("bands"), m);
                        None
                    }
                }
            }
            DimensionSection::CodeList { field, classification, .. } => {
                let ok = field_ok(ctx, &at("field"), field, &[FieldType::Category], "a code");
                let cpath = ctx.resolve(classification);
                let codes = CodeList::load(&cpath)?;
                classifications.push((cpath.clone(), Sha256::digest(read_file(&cpath)?).into()));
                ok.then(|| DimensionSpec::CodeList { field: field.clone(), codes: Arc::new(codes) })
            }
            DimensionSection::Period { date_field, granularity, from, to, .. } => {
                let ok =
                    field_ok(ctx, &at("date_field"), date_field, &[FieldType::Date, FieldType::Week], "a period date");
                match Periods::new(granularity.to_ingest(), from, to) {
                    Ok(periods) if ok => Some(DimensionSpec::Period { date_field: date_field.clone(), periods }),
                    Ok(_) => None,
                    Err(m) => {
                        ctx.invalid(&at("from"), m);
                        None
                    }
                }
            }
            DimensionSection::Category { field, values, .. } => {
                let ok = field_ok(ctx, &at("field"), field, &[FieldType::Category], "a category");
                let mut good = ok;
                if values.is_empty() {
                    ctx.invalid(&at("values"), "declare at least one value");
                    good = false;
                }
                for (j, v) in values.iter().enumerate() {
                    if values[..j].contains(v) {
                        ctx.invalid(&at("values"), format!("value {} is listed twice", j + 1));
                        good = false;
                    }
                }
                if let Some((_, spec)) = schema.field(field) {
                    if let Some(allowed) = &spec.values {
                        if let Some(j) = values.iter().position(|v| !allowed.contains(v)) {
                            ctx.invalid(
                                &at("values"),
                                format!("value {} is not among the schema's allowed values for `{field}`", j + 1),
                            );
                            good = false;
                        }
                    }
                }
                good.then(|| DimensionSpec::Category { field: field.clone(), values: values.clone() })
            }
        };
        dimensions.extend(spec);
    }
    let n_cells = dimensions.iter().try_fold(1u64, |acc, d| acc.checked_mul(d.len() as u64));
    if n_cells.is_none_or(|n| n > MAX_CELLS) {
        ctx.invalid("dimensions", format!("the key set has more than {MAX_CELLS} cells"));
    }

    // Bounds.
    let bounds = match &file.bounds {
        Some(b) => {
            for (field, v) in [
                ("bounds.max_cells_per_unit", b.max_cells_per_unit),
                ("bounds.max_records_per_cell", b.max_records_per_cell),
            ] {
                if !(1..=100_000).contains(&v) {
                    ctx.invalid(field, "must be between 1 and 100000");
                }
            }
            Some(ContributionBounds {
                max_cells_per_unit: b.max_cells_per_unit,
                max_records_per_cell: b.max_records_per_cell,
            })
        }
        None => {
            if mode.is_dp() {
                ctx.invalid("bounds", "missing: `dp` modes need `[bounds]` (max_cells_per_unit, max_records_per_cell)");
                None
            } else {
                // Exact SDC tables bound nothing unless the policy asks.
                Some(ContributionBounds { max_cells_per_unit: u32::MAX, max_records_per_cell: u32::MAX })
            }
        }
    };

    // One geography per release: postal-code areas do not nest in sub-areas, so the same data
    // published by both would let their overlaps be differenced.
    let areas = file.dimensions.iter().filter(|d| matches!(d, DimensionSection::Area { .. })).count();
    let code_lists = file.dimensions.iter().filter(|d| matches!(d, DimensionSection::CodeList { .. })).count();
    if areas + code_lists > 1 {
        ctx.invalid(
            "dimensions",
            "has more than one geography (area or code-list dimension); they do not nest (postal-code areas cut across sub-areas), and publishing one dataset by both lets their overlaps be differenced: release one geography per policy",
        );
    }

    // Margins (totals released next to the inner cells).
    let margins = file.margins.as_ref().map(|m| Margins {
        area_levels: m
            .area_levels
            .iter()
            .map(|l| match l {
                AreaLevelName::Subarea => AreaLevel::Subarea,
                AreaLevelName::District => AreaLevel::District,
                AreaLevelName::MajorDistrict => AreaLevel::MajorDistrict,
                AreaLevelName::City => AreaLevel::City,
            })
            .collect(),
        age_total: m.age_total,
        period_total: m.period_total,
        code_parents: m.code_parents,
        code_total: m.code_total,
    });
    if let Some(m) = &file.margins {
        if m.code_parents {
            let has_parents = dimensions
                .iter()
                .any(|d| matches!(d, DimensionSpec::CodeList { codes, .. } if codes.parents().is_some()));
            if !has_parents {
                ctx.invalid("margins.code_parents", "needs a code-list dimension whose file declares a parent level (`code,name,<level>_code,<level>_name`)");
            }
        }
        if (m.code_parents || m.code_total) && !dimensions.iter().any(|d| matches!(d, DimensionSpec::CodeList { .. })) {
            ctx.invalid("margins", "code-list margins need a code-list dimension");
        }
    }
    // In `dp` mode, every margin cell is noisy too: one unit's cells are added into up to
    // `fanout` cells of the cube, which multiplies the sensitivity.
    let dp_margins = match (&margins, mode.is_dp()) {
        (Some(m), true) => {
            let trees: Vec<crate::sdc::hier::DimTree> = dimension_names
                .iter()
                .zip(&dimensions)
                .map(|(name, spec)| crate::sdc::tabulate::dimension_with_margins(name, spec, m).0)
                .collect();
            let consistent = protection.consistent_totals.unwrap_or(false);
            if consistent && protection.negative_as_zero == Some(true) {
                ctx.invalid(
                    "protection.negative_as_zero",
                    "cannot be combined with `consistent_totals`: cutting the fitted parts at 0 would push every total up by the noise of all its small parts (thousands of persons at city level), far outside its stated interval; use one or the other",
                );
            }
            if protection.integer_totals == Some(true) && !consistent {
                ctx.invalid(
                    "protection.integer_totals",
                    "rounds consistent totals: it needs `consistent_totals = true`",
                );
            }
            Some(crate::plan::DpMargins {
                margins: m.clone(),
                consistent,
                integer: protection.integer_totals.unwrap_or(false),
                fanout: crate::consistent::fanout(&trees),
            })
        }
        _ => {
            if protection.consistent_totals == Some(true) {
                ctx.invalid(
                    "protection.consistent_totals",
                    "needs a `dp` release with `[margins]`: there are no noisy totals to reconcile",
                );
            }
            if protection.integer_totals == Some(true) {
                ctx.invalid(
                    "protection.integer_totals",
                    "rounds consistent totals: it needs a `dp` release with `[margins]` and `consistent_totals = true`",
                );
            }
            None
        }
    };
    let fanout = dp_margins.as_ref().map_or(1, |d| d.fanout);

    // Measures.
    if file.measures.is_empty() {
        ctx.invalid("measures", "declare at least one measure");
    }
    let mechanism = protection.mechanism;
    let mut measures: Vec<MeasurePlan> = Vec::new();
    let mut value_fields: Vec<String> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, m) in file.measures.iter().enumerate() {
        let at = |f: &str| format!("measures[{i}].{f}");
        if !valid_name(m.name()) {
            ctx.invalid(&at("name"), "use 1-64 letters, digits, `-` or `_`");
        } else if names.contains(&m.name()) {
            ctx.invalid(&at("name"), "two measures have this name");
        }
        names.push(m.name());
        let (epsilon, rho) = m.budget();
        if let MeasureSection::Mean { numerator, denominator, .. } = m {
            for (f, target, want) in [("numerator", numerator, "sum"), ("denominator", denominator, "count")] {
                let found = file.measures.iter().find(|x| x.name() == target);
                let fits = match found {
                    Some(MeasureSection::Sum { .. }) => want == "sum",
                    Some(MeasureSection::CountUnits { .. } | MeasureSection::CountRecords { .. }) => want == "count",
                    _ => false,
                };
                if !fits {
                    ctx.invalid(&at(f), format!("must name a declared {want} measure"));
                }
            }
            ctx.unsupported(&at("kind"), "`mean` measures are not supported yet");
            continue;
        }
        // The budget parameter must match the mechanism's accounting.
        match (mode.is_dp(), mechanism.map(Mechanism::is_zcdp), epsilon, rho) {
            (false, _, None, None) => {}
            (false, _, _, _) => ctx.invalid(&at("epsilon"), "mode `sdc` adds no noise: remove `epsilon` and `rho`"),
            (true, Some(false), Some(e), None) if !e.is_finite() || e <= 0.0 => {
                ctx.invalid(&at("epsilon"), "must be a positive, finite number")
            }
            (true, Some(true), None, Some(r)) if !r.is_finite() || r <= 0.0 => {
                ctx.invalid(&at("rho"), "must be a positive, finite number")
            }
            (true, Some(false), Some(_), None) | (true, Some(true), None, Some(_)) => {}
            (true, Some(false), _, Some(_)) => {
                ctx.invalid(&at("rho"), "a pure-DP mechanism is budgeted in `epsilon`, not `rho`")
            }
            (true, Some(true), Some(_), _) => {
                ctx.invalid(&at("epsilon"), "a zCDP mechanism is budgeted in `rho`, not `epsilon`")
            }
            (true, Some(false), None, None) => ctx.invalid(
                &at("epsilon"),
                "missing: every measure must state its privacy-loss parameter `epsilon` (there is no default)",
            ),
            (true, Some(true), None, None) => ctx.invalid(
                &at("rho"),
                "missing: every measure must state its privacy-loss parameter `rho` (there is no default)",
            ),
            (true, None, _, _) => {}
        }
        let kind = match m {
            MeasureSection::CountUnits { .. } => Some(MeasureKind::CountUnits),
            MeasureSection::CountRecords { .. } => Some(MeasureKind::CountRecords),
            MeasureSection::Sum { field, lower, upper, .. } => {
                if !field_ok(ctx, &at("field"), field, &[FieldType::Decimal, FieldType::Integer], "a summed value") {
                    None
                } else {
                    let scale = schema.field(field).and_then(|(_, f)| f.scale).unwrap_or(0);
                    let what =
                        format!("must be finite, have at most {scale} decimals and a magnitude below 2^53 units");
                    let lo = exact_bound(*lower, scale);
                    let hi = exact_bound(*upper, scale);
                    if lo.is_none() {
                        ctx.invalid(&at("lower"), what.clone());
                    }
                    if hi.is_none() {
                        ctx.invalid(&at("upper"), what);
                    }
                    match (lo, hi) {
                        (Some(lo), Some(hi)) if lo > hi => {
                            ctx.invalid(&at("lower"), "is larger than `upper`");
                            None
                        }
                        (Some(lo), Some(_)) if lo < 0 => {
                            ctx.invalid(
                                &at("lower"),
                                "must not be negative: sums of negative values are not supported yet",
                            );
                            None
                        }
                        (Some(lo), Some(hi)) => {
                            let slot = match value_fields.iter().position(|f| f == field) {
                                Some(s) => s,
                                None => {
                                    value_fields.push(field.clone());
                                    value_fields.len() - 1
                                }
                            };
                            if slot >= cellguard_ingest::MAX_VALUES {
                                ctx.unsupported(&at("field"), format!("at most {} different fields can be summed", cellguard_ingest::MAX_VALUES));
                                None
                            } else if let Some(other) = measures.iter().find(|p| {
                                matches!(p.kind, MeasureKind::Sum { value_slot, lower, upper, .. } if value_slot == slot && (lower, upper) != (lo, hi))
                            }) {
                                ctx.invalid(&at("lower"), format!("`{field}` is summed by `{}` with other bounds; use the same bounds", other.name));
                                None
                            } else {
                                Some(MeasureKind::Sum { value_slot: slot, lower: lo, upper: hi, scale })
                            }
                        }
                        _ => None,
                    }
                }
            }
            MeasureSection::Mean { .. } => None,
        };
        let loss = match mechanism {
            Some(Mechanism::DiscreteLaplace) => epsilon.map(|e| (e, "epsilon")),
            Some(Mechanism::DiscreteGaussian) => rho.map(|r| (r, "rho")),
            _ => None,
        };
        if let (Some(kind), Some(bounds), Some(mech), Some((allowed, field))) = (kind, bounds, mechanism, loss) {
            if allowed.is_finite() && allowed > 0.0 {
                match MeasurePlan::new(m.name(), kind, mech, &bounds, fanout, allowed) {
                    Ok(plan) => measures.push(plan),
                    Err(e) => ctx.invalid(&at(field), e.to_string()),
                }
            }
        }
    }

    // The noisy threshold.
    let mut threshold = None;
    if let Some(t) = &protection.noisy_threshold {
        match file.measures.iter().position(|m| m.name() == t.measure) {
            None => ctx.invalid("protection.noisy_threshold.measure", "names no declared measure"),
            Some(idx)
                if !matches!(
                    file.measures[idx],
                    MeasureSection::CountUnits { .. } | MeasureSection::CountRecords { .. }
                ) =>
            {
                ctx.invalid("protection.noisy_threshold.measure", "must be a count measure")
            }
            Some(_) if t.min > 1_000_000 => ctx.invalid("protection.noisy_threshold.min", "is implausibly large"),
            Some(_) => {
                threshold = measures
                    .iter()
                    .position(|m| m.name == t.measure)
                    .map(|measure| NoisyThreshold { measure, min: t.min as i64 })
            }
        }
    }

    // The SDC plan.
    let mut sdc = None;
    let mut disjoint_within = None;
    if mode.is_sdc() {
        let kinds: Vec<(String, MeasureKind)> = file
            .measures
            .iter()
            .filter_map(|m| {
                let kind = match m {
                    MeasureSection::CountUnits { .. } => MeasureKind::CountUnits,
                    MeasureSection::CountRecords { .. } => MeasureKind::CountRecords,
                    MeasureSection::Sum { field, lower, upper, .. } => {
                        let scale = schema.field(field).and_then(|(_, f)| f.scale).unwrap_or(0);
                        let slot = value_fields.iter().position(|f| f == field)?;
                        MeasureKind::Sum {
                            value_slot: slot,
                            lower: exact_bound(*lower, scale)?,
                            upper: exact_bound(*upper, scale)?,
                            scale,
                        }
                    }
                    MeasureSection::Mean { .. } => return None,
                };
                Some((m.name().to_string(), kind))
            })
            .collect();
        // Provider counts: extra value slots read from the rows, never clamped or published.
        let mut contributors_slot = None;
        let mut businesses = None;
        if let Some(pc) = &protection.provider_counts {
            let at = |f: &str| format!("protection.provider_counts.{f}");
            if unit != UnitOfPrivacy::None {
                ctx.invalid(
                    "protection.provider_counts",
                    format!("is for data aggregated by the provider (`unit_of_privacy = \"none\"`); with unit `{}` the frequency rule counts units", unit.name()),
                );
            }
            if protection.publish_suppression_reasons == Some(true) {
                ctx.unsupported(
                    "protection.publish_suppression_reasons",
                    "cannot be `true` with provider counts: the audit cannot model what a reason reveals about the provider's counts",
                );
            }
            let mut slot_of = |ctx: &mut Ctx<'_>, key: &str, field: &str| -> Option<usize> {
                if !field_ok(ctx, &at(key), field, &[FieldType::Integer], "a count") {
                    return None;
                }
                let slot = match value_fields.iter().position(|f| f == field) {
                    Some(s) => s,
                    None => {
                        value_fields.push(field.to_string());
                        value_fields.len() - 1
                    }
                };
                if slot >= cellguard_ingest::MAX_VALUES {
                    ctx.unsupported(
                        &at(key),
                        format!("at most {} different fields can be read as values", cellguard_ingest::MAX_VALUES),
                    );
                    return None;
                }
                Some(slot)
            };
            if let Some(f) = &pc.contributors_field {
                contributors_slot = slot_of(ctx, "contributors_field", f);
            }
            match (&pc.businesses_field, pc.min_businesses_per_cell) {
                (Some(f), Some(min)) if min >= 2 => businesses = slot_of(ctx, "businesses_field", f).map(|s| (s, min)),
                (Some(_), Some(_)) => ctx.invalid(&at("min_businesses_per_cell"), "must be at least 2"),
                (Some(_), None) => ctx.invalid(
                    &at("min_businesses_per_cell"),
                    "missing: state the fewest businesses a published cell may have",
                ),
                (None, Some(_)) => {
                    ctx.invalid(&at("businesses_field"), "missing: name the field that counts businesses per row")
                }
                (None, None) => {}
            }
            if let Some(f) = &pc.disjoint_within {
                if field_ok(
                    ctx,
                    &at("disjoint_within"),
                    f,
                    &[FieldType::Identifier, FieldType::Category, FieldType::Week, FieldType::Date, FieldType::Integer],
                    "the field within which rows are disjoint",
                ) {
                    // Rows with one value of the field are accumulated together, as one unit.
                    disjoint_within = Some(f.clone());
                }
            }
            if pc.contributors_field.is_none() && pc.businesses_field.is_none() {
                ctx.invalid("protection.provider_counts", "name `contributors_field`, `businesses_field` or both");
            }
        }
        if contributors_slot.is_none() && !file.measures.iter().any(|m| matches!(m, MeasureSection::CountUnits { .. }))
        {
            ctx.invalid(
                "measures",
                "an `sdc` release needs a `count-units` measure (the frequency rule counts contributing units), or provider counts naming a contributors field",
            );
        }
        let secondary = protection.secondary_suppression.unwrap_or(true);
        let ratio = match (protection.protection_percent, secondary) {
            (Some(p), _) if p.is_finite() && p > 0.0 && p <= 100.0 => p / 100.0,
            (Some(_), _) => {
                ctx.invalid("protection.protection_percent", "must be a percentage above 0 and at most 100");
                0.0
            }
            (None, true) => {
                ctx.invalid(
                    "protection.protection_percent",
                    "missing: secondary suppression needs the protection required of primary cells",
                );
                0.0
            }
            (None, false) => 0.0,
        };
        // The 0 % / 100 % rule, along dimensions that have a total.
        let mut zero_full = None;
        if let Some(z) = &protection.zero_full {
            let mut dims = Vec::new();
            for (i, name) in z.dimensions.iter().enumerate() {
                let at = format!("protection.zero_full.dimensions[{i}]");
                let Some(d) = file.dimensions.iter().position(|d| d.name() == name) else {
                    ctx.invalid(&at, "names no declared dimension");
                    continue;
                };
                let m = file.margins.as_ref();
                let has_total = match &file.dimensions[d] {
                    DimensionSection::AgeBand { .. } => m.is_some_and(|m| m.age_total),
                    DimensionSection::Period { .. } => m.is_some_and(|m| m.period_total),
                    DimensionSection::Area { .. } => m.is_some_and(|m| !m.area_levels.is_empty()),
                    DimensionSection::CodeList { .. } => m.is_some_and(|m| m.code_parents || m.code_total),
                    DimensionSection::Category { .. } => false,
                };
                if has_total {
                    dims.push(d);
                } else {
                    ctx.invalid(&at, "has no total in the table (add it under `[margins]`); the rule compares a cell with its group's total");
                }
            }
            if z.dimensions.is_empty() {
                ctx.invalid("protection.zero_full.dimensions", "name at least one dimension");
            }
            zero_full = Some((dims, z.zero));
        }
        sdc = Some(SdcPlan {
            measures: kinds,
            rules: crate::sdc::PrimaryRules {
                min_units: protection.min_units_per_cell.unwrap_or(0),
                dominance: protection.dominance.as_ref().map(|d| (d.n, d.k)),
                p_percent: protection.p_percent.as_ref().map(|p| p.p),
                contributors_slot,
                businesses,
            },
            secondary,
            protection: crate::sdc::Protection { ratio, min_width: 1.0 },
            margins: margins.clone().unwrap_or_default(),
            publish_reasons: protection.publish_suppression_reasons.unwrap_or(false),
            zero_full,
        });
    }

    // The budget.
    let mut budget = None;
    match &file.budget {
        None if mode.is_dp() => ctx.invalid(
            "budget",
            "missing: a `dp` release must name its budget (`[budget]` with ledger, dataset, period and total_epsilon) so that its spend is recorded",
        ),
        None => {}
        Some(b) => {
            if !valid_name(&b.dataset) {
                ctx.invalid("budget.dataset", "use 1-64 letters, digits, `-` or `_`");
            }
            if b.period.trim().is_empty() || b.period.len() > 32 {
                ctx.invalid("budget.period", "name the budget period, for example \"2025\"");
            }
            let zcdp_mechanism = mechanism.is_some_and(Mechanism::is_zcdp);
            let total = match (b.total_epsilon, b.total_rho) {
                (Some(_), Some(_)) => {
                    ctx.invalid("budget.total_rho", "state one budget: `total_epsilon` (pure ε-DP) or `total_rho` (zCDP)");
                    None
                }
                (None, None) => {
                    ctx.invalid(
                        "budget.total_epsilon",
                        "missing: state the dataset's total for the period, `total_epsilon` (pure ε-DP) or `total_rho` (zCDP)",
                    );
                    None
                }
                (Some(_), None) if zcdp_mechanism => {
                    ctx.invalid(
                        "budget.total_epsilon",
                        "a zCDP mechanism spends ρ, which has no pure ε: budget the dataset in `total_rho` (pure-DP releases then count ε²/2)",
                    );
                    None
                }
                (Some(t), None) => Some((crate::plan::Accounting::PureDp, t, "budget.total_epsilon")),
                (None, Some(t)) => Some((crate::plan::Accounting::Zcdp, t, "budget.total_rho")),
            };
            let delta = match b.delta {
                Some(d) if !(d > 0.0 && d < 1.0) => {
                    ctx.invalid("budget.delta", "must be a number between 0 and 1 (exclusive)");
                    None
                }
                Some(_) if b.total_rho.is_none() => {
                    ctx.invalid("budget.delta", "reports (ε, δ) for zCDP spend: it needs `total_rho`");
                    None
                }
                d => d,
            };
            match total {
                Some((accounting, t, _)) if t.is_finite() && t > 0.0 => {
                    budget = Some(crate::plan::BudgetPlan {
                        ledger: ctx.resolve(&b.ledger),
                        dataset: b.dataset.clone(),
                        period: b.period.clone(),
                        accounting,
                        total: t,
                        delta,
                    })
                }
                Some((_, _, field)) => ctx.invalid(field, "must be a positive, finite number"),
                None => {}
            }
        }
    }

    let ready = ctx.findings.iter().all(|f| f.kind == FindingKind::Floor) && dimensions.len() == file.dimensions.len();
    let complete = match mode {
        GuaranteeMode::Dp => measures.len() == file.measures.len() && threshold.is_some() && mechanism.is_some(),
        GuaranteeMode::Sdc => sdc.as_ref().is_some_and(|s: &SdcPlan| s.measures.len() == file.measures.len()),
        GuaranteeMode::DpSdc => {
            measures.len() == file.measures.len()
                && threshold.is_some()
                && mechanism.is_some()
                && sdc.as_ref().is_some_and(|s: &SdcPlan| s.measures.len() == file.measures.len())
        }
    };
    let (Some(bounds), true, true) = (bounds, ready, complete) else {
        return Ok(None);
    };
    Ok(Some(ReleasePlan {
        policy_path: ctx.path.to_path_buf(),
        policy_sha256,
        name: file.name.clone(),
        description: file.description.clone(),
        schema_path,
        schema_sha256,
        classifications,
        unit_of_privacy: unit,
        max_rejected_rows: file.source.max_rejected_rows,
        dimension_names,
        mapper: RowMapperConfig {
            unit_field: file.source.unit_field.clone().or(disjoint_within),
            dimensions,
            value_fields,
        },
        schema,
        bounds,
        measures,
        negative_as_zero: protection.negative_as_zero.unwrap_or(false),
        dp_margins,
        mode,
        mechanism,
        threshold,
        sdc,
        budget,
    }))
}

/// Checks the `[protection]` fields that each mode requires or forbids.
fn check_protection_fields(ctx: &mut Ctx<'_>, file: &PolicyFile) {
    let p = &file.protection;
    let mode = p.mode;
    if mode.is_dp() {
        match p.mechanism {
            None => ctx.invalid(
                "protection.mechanism",
                "missing: `dp` modes must name the noise mechanism (there is no default)",
            ),
            Some(Mechanism::DiscreteLaplace | Mechanism::DiscreteGaussian) => {}
            Some(m) => ctx.unsupported(
                "protection.mechanism",
                format!(
                    "`{}` (on real numbers) is not offered: every value is an integer in exact units, for which `discrete-laplace` (ε-DP) and `discrete-gaussian` (ρ-zCDP) are the exact mechanisms",
                    m.name()
                ),
            ),
        }
        if p.noisy_threshold.is_none() {
            ctx.invalid(
                "protection.noisy_threshold",
                "missing: `dp` modes must state the noisy threshold (`measure` and `min`; write `min = 0` to suppress nothing)",
            );
        }
    } else {
        if p.mechanism.is_some() {
            ctx.invalid("protection.mechanism", "mode `sdc` adds no noise: remove `mechanism`");
        }
        if p.noisy_threshold.is_some() {
            ctx.invalid("protection.noisy_threshold", "mode `sdc` adds no noise: remove `noisy_threshold`");
        }
        if p.negative_as_zero.is_some() {
            ctx.invalid("protection.negative_as_zero", "mode `sdc` adds no noise: remove `negative_as_zero`");
        }
    }
    if mode.is_sdc() {
        if p.min_units_per_cell.is_none() {
            ctx.invalid(
                "protection.min_units_per_cell",
                "missing: `sdc` modes must state the minimum number of contributing units per cell",
            );
        }
        if p.secondary_suppression.is_none() {
            ctx.invalid(
                "protection.secondary_suppression",
                "missing: `sdc` modes must say whether secondary suppression is applied",
            );
        }
        if p.publish_suppression_reasons.is_none() {
            ctx.invalid(
                "protection.publish_suppression_reasons",
                "missing: `sdc` modes must say whether suppressed cells show their reason",
            );
        }
        if mode == GuaranteeMode::DpSdc && p.publish_suppression_reasons == Some(true) {
            ctx.invalid(
                "protection.publish_suppression_reasons",
                "must be `false` in `dp+sdc` mode: a published frequency or dominance reason states a fact about exact values, outside the differential-privacy guarantee",
            );
        }
    } else {
        for (field, present) in [
            ("protection.min_units_per_cell", p.min_units_per_cell.is_some()),
            ("protection.dominance", p.dominance.is_some()),
            ("protection.p_percent", p.p_percent.is_some()),
            ("protection.secondary_suppression", p.secondary_suppression.is_some()),
            ("protection.publish_suppression_reasons", p.publish_suppression_reasons.is_some()),
            ("protection.protection_percent", p.protection_percent.is_some()),
            ("protection.provider_counts", p.provider_counts.is_some()),
            ("protection.zero_full", p.zero_full.is_some()),
        ] {
            if present {
                ctx.invalid(field, "applies to `sdc` and `dp+sdc` modes only; remove it or change the mode");
            }
        }
    }
    if let Some(d) = &p.dominance {
        if !(1..=10).contains(&d.n) {
            ctx.invalid("protection.dominance.n", "must be between 1 and 10");
        }
        if !(d.k > 0.0 && d.k <= 100.0) {
            ctx.invalid("protection.dominance.k", "must be a percentage above 0 and at most 100");
        }
    }
    if let Some(pp) = &p.p_percent {
        if !(pp.p > 0.0 && pp.p <= 100.0) {
            ctx.invalid("protection.p_percent.p", "must be a percentage above 0 and at most 100");
        }
    }
}

/// The total budget a policy's measures declare: (Σε, Σρ).
pub fn declared_totals(file: &PolicyFile) -> (f64, f64) {
    file.measures
        .iter()
        .map(MeasureSection::budget)
        .fold((0.0, 0.0), |(e, r), (me, mr)| (e + me.unwrap_or(0.0), r + mr.unwrap_or(0.0)))
}

fn check_floors(ctx: &mut Ctx<'_>, file: &PolicyFile, baseline: &Baseline) {
    let f = &baseline.file.floors;
    let b = baseline.path.display().to_string();
    let p = &file.protection;
    let mut floor =
        |field: &str, message: String| ctx.push(FindingKind::Floor, field, format!("{message} (baseline {b})"));
    if !f.allowed_modes.contains(&p.mode) {
        floor("protection.mode", format!("mode `{}` is not among the baseline's allowed modes", p.mode.name()));
    }
    if let Some(m) = p.mechanism {
        if !f.allowed_mechanisms.contains(&m) {
            floor("protection.mechanism", format!("`{}` is not among the baseline's allowed mechanisms", m.name()));
        }
    }
    let (eps, rho) = declared_totals(file);
    if eps > f.max_epsilon_per_release {
        floor(
            "measures",
            format!("the measures spend ε = {eps} in total; the floor is at most {}", f.max_epsilon_per_release),
        );
    }
    if rho > f.max_rho_per_release {
        floor(
            "measures",
            format!("the measures spend ρ = {rho} in total; the floor is at most {}", f.max_rho_per_release),
        );
    }
    if let Some(t) = &p.noisy_threshold {
        if t.min < f.min_noisy_threshold {
            floor(
                "protection.noisy_threshold.min",
                format!("is {}; the floor is at least {}", t.min, f.min_noisy_threshold),
            );
        }
    }
    if let Some(min) = p.min_units_per_cell {
        if min < f.min_units_per_cell {
            floor("protection.min_units_per_cell", format!("is {min}; the floor is at least {}", f.min_units_per_cell));
        }
    }
    if let Some(d) = &p.dominance {
        if d.n < f.dominance_min_n {
            floor("protection.dominance.n", format!("is {}; the floor is at least {}", d.n, f.dominance_min_n));
        }
        if d.k > f.dominance_max_k {
            floor("protection.dominance.k", format!("is {}; the floor is at most {}", d.k, f.dominance_max_k));
        }
    }
    if let Some(pp) = &p.p_percent {
        if pp.p < f.p_percent_min_p {
            floor("protection.p_percent.p", format!("is {}; the floor is at least {}", pp.p, f.p_percent_min_p));
        }
    }
    if p.mode.is_sdc() {
        if f.secondary_suppression_required && p.secondary_suppression == Some(false) {
            floor(
                "protection.secondary_suppression",
                "is false; the baseline requires secondary suppression".to_string(),
            );
        }
        let has_sum = file.measures.iter().any(|m| matches!(m, MeasureSection::Sum { .. }));
        // Provider-aggregated rows are totals (of a retailer, of an area), not single
        // contributors, so a dominance rule over rows protects no one: their rules are the
        // provider counts (businesses for magnitudes, contributors for counts of people).
        let businesses = p.provider_counts.is_some();
        if f.magnitude_rule_required && has_sum && p.dominance.is_none() && p.p_percent.is_none() && !businesses {
            floor(
                "protection.dominance",
                "the release has a `sum` measure; the baseline requires a dominance or p % rule (or, for provider-aggregated rows, a businesses rule)".to_string(),
            );
        }
    }
    if let Some(budget) = &file.budget {
        if budget.total_epsilon.is_some_and(|e| e > f.max_epsilon_per_dataset_period) {
            floor(
                "budget.total_epsilon",
                format!("exceeds the floor of {} per dataset and period", f.max_epsilon_per_dataset_period),
            );
        }
        if budget.total_rho.is_some_and(|r| r > f.max_rho_per_dataset_period) {
            floor(
                "budget.total_rho",
                format!("exceeds the floor of {} per dataset and period", f.max_rho_per_dataset_period),
            );
        }
    }
}
