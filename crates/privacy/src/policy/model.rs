//! The policy language: what a release policy file may say. Every struct rejects unknown
//! fields and no privacy-critical field has a default. The doc comments here are the reference
//! documentation: `docs/policy-reference.md` is generated from them (`cellguard policy
//! reference`), and a test fails when that file is out of date.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use cellguard_ingest::PeriodGranularity;

/// A release policy: one TOML file per release. It names the source and whom it protects, the
/// public key set of cells, the measures, the contribution bounds, and the protection.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Version of the policy language. Allowed: `1`. Example: `schema_version = 1`
    pub schema_version: u32,
    /// Name of the release: 1–64 letters, digits, `-` or `_`; it names the release in outputs.
    /// Example: `name = "payment-defaults-quarterly"`
    pub name: String,
    /// What the release is for, in words, shown to reviewers.
    /// Example: `description = "Persons with payment defaults by sub-area, age band and quarter."`
    pub description: String,
    /// The source extract and its unit of privacy.
    pub source: SourceSection,
    /// The dimensions of the public key set, outermost first. Every combination of their
    /// members is a released cell, including empty ones: the key set never depends on the data.
    pub dimensions: Vec<DimensionSection>,
    /// Contribution bounds per unit of privacy. Required in `dp` and `dp+sdc` modes.
    pub bounds: Option<BoundsSection>,
    /// The measures released for every cell.
    pub measures: Vec<MeasureSection>,
    /// The guarantee mode, the noise mechanism and the suppression rules.
    pub protection: ProtectionSection,
    /// Rounding of published values. Not supported yet: a policy with this section is rejected.
    pub rounding: Option<RoundingSection>,
    /// The dataset's privacy budget, kept in a ledger across releases. Required in `dp` mode.
    pub budget: Option<BudgetSection>,
    /// Margins (totals) over the area hierarchy, age bands and periods, released with the inner
    /// cells and protected with them. Not supported yet.
    pub margins: Option<MarginsSection>,
}

/// `[source]`: what is read and whom the release protects.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// Path of the source schema file, relative to the policy file.
    /// Example: `schema = "schemas/payment-defaults.toml"`
    pub schema: PathBuf,
    /// The unit of privacy: the guarantee protects all records of one such unit together.
    /// Example: `unit_of_privacy = "person"`
    pub unit_of_privacy: UnitOfPrivacy,
    /// The schema field (of type `identifier`) that identifies the unit. Required unless the
    /// unit of privacy is `none`. Example: `unit_field = "person_id"`
    pub unit_field: Option<String>,
    /// How many invalid rows are tolerated before the run stops with exit status 2; `0` means
    /// any invalid row aborts the run. Invalid rows are never used. Example: `max_rejected_rows = 0`
    pub max_rejected_rows: u64,
}

/// Units of privacy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UnitOfPrivacy {
    /// A person (payment defaults, sports licences).
    Person,
    /// A chat session. One person may return in several sessions, so a session-level guarantee
    /// is weaker than a person-level one.
    ChatSession,
    /// A loyalty card (card-level food sales).
    LoyaltyCard,
    /// A household.
    Household,
    /// No unit: data that arrives already aggregated. Only `sdc` mode can apply.
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

/// Levels of the area hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AreaLevelName {
    /// Sub-area (osa-alue), the finest level.
    Subarea,
    /// District (peruspiiri).
    District,
    /// Major district (suurpiiri).
    MajorDistrict,
    /// The whole city.
    City,
}

/// `[[dimensions]]`: one dimension of the key set; `kind` selects which.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DimensionSection {
    /// Areas of a classification file, released at one level of its hierarchy
    /// (sub-area → district → major district → city). Rows carry the full 10-digit sub-area code.
    Area {
        /// The dimension's name; it prefixes the output columns. Example: `name = "area"`
        name: String,
        /// The schema field holding the 10-digit sub-area code. Example: `field = "subarea"`
        field: String,
        /// Path of the classification CSV, relative to the policy file.
        /// Example: `classification = "classifications/helsinki-subareas.csv"`
        classification: PathBuf,
        /// The level released. Example: `level = "subarea"`
        level: AreaLevelName,
        /// What to do with rows whose area is missing; required when the schema marks the field
        /// optional. Example: `unknown = "cell"`
        unknown: Option<UnknownHandling>,
    },
    /// Age bands of the age in whole years at a reference date: the reference date's year minus
    /// the birth year. Ages outside every band are out of scope (counted, not released); ages
    /// below 0 or above 120 reject the row.
    AgeBand {
        /// The dimension's name. Example: `name = "age_band"`
        name: String,
        /// The schema field with the birth year (`integer`); give it with
        /// `reference_date_field`, or give `age_field` instead. Example: `birth_year_field = "birth_year"`
        birth_year_field: Option<String>,
        /// The schema field with the date at which the age is taken (`date` or `week`).
        /// Example: `reference_date_field = "registration_date"`
        reference_date_field: Option<String>,
        /// The schema field with the age itself in whole years (`integer`), for sources that
        /// record an age (for example self-reported). Example: `age_field = "age"`
        age_field: Option<String>,
        /// What to do with rows whose age is missing; required when the age field is optional in
        /// the schema. Example: `unknown = "drop"`
        unknown: Option<UnknownHandling>,
        /// Bands like `18-24` and a last open band like `75+`: increasing, contiguous, without
        /// overlaps. Example: `bands = ["18-24", "25-34", "35+"]`
        bands: Vec<String>,
    },
    /// The codes of a code-list file (CSV with the header `code,name`), for example postal-code
    /// areas. Codes not in the list reject the row.
    CodeList {
        /// The dimension's name. Example: `name = "postal_area"`
        name: String,
        /// The schema field holding the code. Example: `field = "postal_code"`
        field: String,
        /// Path of the code list, relative to the policy file.
        /// Example: `classification = "classifications/helsinki-postal-codes.csv"`
        classification: PathBuf,
    },
    /// Calendar periods of a date field: a contiguous, inclusive range.
    Period {
        /// The dimension's name. Example: `name = "quarter"`
        name: String,
        /// The schema field with the date (`date`, or `week` whose Thursday decides the period).
        /// Example: `date_field = "registration_date"`
        date_field: String,
        /// The period length. Example: `granularity = "quarter"`
        granularity: Granularity,
        /// First period released: `2025Q1`, `2025-01` or `2025` by granularity. Example: `from = "2025Q1"`
        from: String,
        /// Last period released (inclusive). Example: `to = "2025Q4"`
        to: String,
    },
    /// The declared values of a category field; other values are out of scope.
    Category {
        /// The dimension's name. Example: `name = "entry_type"`
        name: String,
        /// The schema field (`category`). Example: `field = "entry_type"`
        field: String,
        /// The released values, in output order. Example: `values = ["bankruptcy", "court_judgment"]`
        values: Vec<String>,
    },
}

impl DimensionSection {
    /// The dimension's name.
    pub fn name(&self) -> &str {
        match self {
            DimensionSection::Area { name, .. }
            | DimensionSection::AgeBand { name, .. }
            | DimensionSection::Period { name, .. }
            | DimensionSection::CodeList { name, .. }
            | DimensionSection::Category { name, .. } => name,
        }
    }

    /// The kind as written in policies.
    pub fn kind(&self) -> &'static str {
        match self {
            DimensionSection::Area { .. } => "area",
            DimensionSection::AgeBand { .. } => "age-band",
            DimensionSection::Period { .. } => "period",
            DimensionSection::CodeList { .. } => "code-list",
            DimensionSection::Category { .. } => "category",
        }
    }
}

/// Handling of rows whose value for a dimension is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownHandling {
    /// Leave such rows out; they are counted as out of scope in the manifest.
    Drop,
    /// Release them in an extra `unknown` member of the dimension.
    Cell,
}

impl UnknownHandling {
    /// The ingest-side handling.
    pub fn to_ingest(self) -> cellguard_ingest::Unknown {
        match self {
            UnknownHandling::Drop => cellguard_ingest::Unknown::Drop,
            UnknownHandling::Cell => cellguard_ingest::Unknown::Cell,
        }
    }
}

/// `[bounds]`: how much one unit of privacy may contribute. Records beyond the bounds are
/// dropped before tabulation, and the noise is calibrated to these bounds.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BoundsSection {
    /// The most cells one unit contributes to (1–100000). A unit with more keeps a pseudo-random
    /// subset chosen by its keyed pseudonym, independent of row order. Example: `max_cells_per_unit = 4`
    pub max_cells_per_unit: u32,
    /// The most records of one unit counted in one cell (1–100000); the unit's summed values in
    /// the cell are capped at this many times the measure's bounds. Example: `max_records_per_cell = 10`
    pub max_records_per_cell: u32,
}

/// `[[measures]]`: one statistic released for every cell; `kind` selects which.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum MeasureSection {
    /// The number of distinct units with at least one record in the cell. With a multi-label
    /// dimension, a unit counts once in the cell of each of its labels (up to
    /// `max_cells_per_unit` cells), and the sensitivity accounts for it.
    CountUnits {
        /// The measure's name in outputs. Example: `name = "persons"`
        name: String,
        /// Privacy-loss parameter ε for this measure, with a pure-DP mechanism (Laplace or
        /// discrete Laplace): positive and finite. Example: `epsilon = 0.5`
        epsilon: Option<f64>,
        /// Privacy-loss parameter ρ for this measure, with a zCDP mechanism (Gaussian or discrete
        /// Gaussian): positive and finite. Example: `rho = 0.125`
        rho: Option<f64>,
    },
    /// The number of records in the cell, at most `max_records_per_cell` per unit.
    CountRecords {
        /// The measure's name in outputs. Example: `name = "entries"`
        name: String,
        /// Privacy-loss parameter ε (pure-DP mechanisms). Example: `epsilon = 0.25`
        epsilon: Option<f64>,
        /// Privacy-loss parameter ρ (zCDP mechanisms). Example: `rho = 0.05`
        rho: Option<f64>,
    },
    /// The sum of a value field. Each record's value is clamped to `[lower, upper]`.
    Sum {
        /// The measure's name in outputs. Example: `name = "amount_eur"`
        name: String,
        /// The schema field summed (`decimal` or `integer`). Example: `field = "amount_eur"`
        field: String,
        /// Smallest value of one record after clamping, in the field's units; at least 0 and
        /// with no more decimals than the field has. Example: `lower = 0`
        lower: f64,
        /// Largest value of one record after clamping. Example: `upper = 2000`
        upper: f64,
        /// Privacy-loss parameter ε (pure-DP mechanisms). Example: `epsilon = 0.25`
        epsilon: Option<f64>,
        /// Privacy-loss parameter ρ (zCDP mechanisms). Example: `rho = 0.05`
        rho: Option<f64>,
    },
    /// The ratio of two other measures of the same cell (for example euros per entry),
    /// computed from their protected values: post-processing that spends no budget.
    /// Not supported yet.
    Mean {
        /// The measure's name in outputs. Example: `name = "mean_amount_eur"`
        name: String,
        /// The `sum` measure divided. Example: `numerator = "amount_eur"`
        numerator: String,
        /// The count measure divided by. Example: `denominator = "entries"`
        denominator: String,
    },
}

impl MeasureSection {
    /// The measure's name.
    pub fn name(&self) -> &str {
        match self {
            MeasureSection::CountUnits { name, .. }
            | MeasureSection::CountRecords { name, .. }
            | MeasureSection::Sum { name, .. }
            | MeasureSection::Mean { name, .. } => name,
        }
    }

    /// The kind as written in policies.
    pub fn kind(&self) -> &'static str {
        match self {
            MeasureSection::CountUnits { .. } => "count-units",
            MeasureSection::CountRecords { .. } => "count-records",
            MeasureSection::Sum { .. } => "sum",
            MeasureSection::Mean { .. } => "mean",
        }
    }

    /// The declared ε and ρ.
    pub fn budget(&self) -> (Option<f64>, Option<f64>) {
        match self {
            MeasureSection::CountUnits { epsilon, rho, .. }
            | MeasureSection::CountRecords { epsilon, rho, .. }
            | MeasureSection::Sum { epsilon, rho, .. } => (*epsilon, *rho),
            MeasureSection::Mean { .. } => (None, None),
        }
    }
}

/// `[protection]`: the guarantee and the suppression rules.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtectionSection {
    /// The guarantee mode. Example: `mode = "dp"`
    pub mode: GuaranteeMode,
    /// The noise mechanism; required in `dp` and `dp+sdc` modes, not allowed in `sdc`.
    /// Example: `mechanism = "discrete-laplace"`
    pub mechanism: Option<Mechanism>,
    /// Suppression by the *noisy* value of a count measure; required in `dp` and `dp+sdc` modes.
    pub noisy_threshold: Option<NoisyThresholdSection>,
    /// Whether noisy values below zero of measures that cannot be negative (counts, sums with
    /// `lower >= 0`) are published as 0 (`dp` mode). This is post-processing: it costs no
    /// privacy, and the 95 % interval (cut at 0) still covers the true value at least as often.
    /// It biases small values upwards: a true 0 is published as `E[max(0, Z)]` on average
    /// instead of 0. Omitted: `false`. Example: `negative_as_zero = true`
    pub negative_as_zero: Option<bool>,
    /// Whether the noisy cells of a `dp` release with `[margins]` are made consistent, so that
    /// published sub-areas add up to their district, districts to the city, age bands to the
    /// all-ages row and periods to the year, exactly. Every cell, inner or total, gets the
    /// measure's noise; the release then publishes the least-squares fit of the inner cells to
    /// all of them, and every total as the sum of its fitted parts (post-processing: no privacy
    /// cost, and lower error at every level, see docs/privacy.md). Counts are then published with
    /// 2 decimals. A
    /// margin of a `count-units` measure counts unit-cells (a person in two quarters counts twice
    /// in the year). Omitted: `false` (independent noisy totals). Example: `consistent_totals = true`
    pub consistent_totals: Option<bool>,
    /// With `consistent_totals`, whether counts are published as whole numbers: the fitted
    /// inner cells are rounded to integers and every total is the sum of its rounded parts, so
    /// totals still add up exactly, but a total of `c` inner cells moves by up to `c/2` (standard
    /// deviation `√(c/12)`, included in its `noise_sd`). Omitted: `false` (two decimals).
    /// Example: `integer_totals = true`
    pub integer_totals: Option<bool>,
    /// The minimum number of contributing units (true count) per published cell; required in
    /// `sdc` and `dp+sdc` modes. Example: `min_units_per_cell = 5`
    pub min_units_per_cell: Option<u64>,
    /// The (n, k) dominance rule for sums: a cell is unsafe when its `n` largest contributors
    /// make up more than `k` percent of its total. `sdc` modes with a `sum` measure need this
    /// rule or `p_percent`.
    pub dominance: Option<DominanceSection>,
    /// The p % rule for sums: a cell is unsafe when the total minus the two largest
    /// contributions is less than `p` percent of the largest (the second largest contributor
    /// could estimate the largest too closely).
    pub p_percent: Option<PPercentSection>,
    /// Whether secondary suppression is applied, so that no suppressed cell can be recovered
    /// from published totals; required in `sdc` and `dp+sdc` modes. Example: `secondary_suppression = true`
    pub secondary_suppression: Option<bool>,
    /// The protection required of every primary cell, in percent of its value: the tightest
    /// interval an attacker can derive from the published table must reach this far below and
    /// above the true value (and at least one unit either way). Required when secondary
    /// suppression is on. Example: `protection_percent = 30`
    pub protection_percent: Option<f64>,
    /// Whether suppressed cells are published with their reason (`suppressed_primary_frequency`,
    /// `suppressed_secondary`, …) or all as `suppressed`. A published frequency reason tells an
    /// attacker the cell holds between 1 and `min_units_per_cell − 1` units; the audit then
    /// assumes that knowledge, which can make a table impossible to protect. Required in `sdc`
    /// and `dp+sdc` modes. Example: `publish_suppression_reasons = false`
    pub publish_suppression_reasons: Option<bool>,
    /// Counts the provider reports per row, for data aggregated by the provider
    /// (`unit_of_privacy = "none"`, `sdc` mode): the number of contributors (customers, people)
    /// for the frequency rule and the number of businesses (stores) for business
    /// confidentiality.
    pub provider_counts: Option<ProviderCountsSection>,
    /// The 0 % / 100 % rule: a cell holding all of its group's units (or none, with
    /// `zero = true`) along a dimension with a total is suppressed, since it tells that every
    /// (or no) unit of the group has the cell's category.
    pub zero_full: Option<ZeroFullSection>,
}

/// `[protection.zero_full]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZeroFullSection {
    /// The dimensions along which groups are formed; each needs a total (a margin) in the
    /// table. Example: `dimensions = ["age_band"]`
    pub dimensions: Vec<String>,
    /// Whether cells with none of their group's units are suppressed too (0 % rule); their
    /// zero is then protected like any primary value. Example: `zero = false`
    pub zero: bool,
}

/// `[protection.provider_counts]`: the frequency rule and business confidentiality for
/// pre-aggregated rows. A cell's rows may share contributors (the same customer in several
/// weeks, product groups or stores), so the distinct count of a cell is only known to be at
/// least its largest row's count; both rules use that lower bound, at every margin too.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderCountsSection {
    /// The `integer` field with the number of contributors behind each row. A cell whose largest
    /// row count is below `min_units_per_cell` is suppressed (frequency rule), as is a cell with
    /// rows but no count. Example: `contributors_field = "customers"`
    pub contributors_field: Option<String>,
    /// The `integer` field with the number of businesses behind each row. A cell whose largest
    /// row count is below `min_businesses_per_cell` is suppressed as business-confidential
    /// (reported with the dominance reason). Example: `businesses_field = "stores"`
    pub businesses_field: Option<String>,
    /// The fewest businesses a published cell may have; required with `businesses_field`, at
    /// least 2. Example: `min_businesses_per_cell = 3`
    pub min_businesses_per_cell: Option<u64>,
    /// A field whose rows with one value have disjoint contributors and businesses, for
    /// example the week: the rows of different retailers in one week come from different
    /// stores. A cell's counts are then the largest, over the field's values, of the sum of
    /// that value's rows (instead of the largest single row). Only declare it when it holds:
    /// it assumes, for example, that no customer shops in two retailers in one week.
    /// Example: `disjoint_within = "week"`
    pub disjoint_within: Option<String>,
}

/// Guarantee modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum GuaranteeMode {
    /// Differential privacy: contributions bounded per unit, noise calibrated to the bounds,
    /// small cells suppressed by their noisy count.
    #[serde(rename = "dp")]
    Dp,
    /// Statistical disclosure control: exact values, primary suppression (minimum units,
    /// dominance, p %) and secondary suppression, checked by an attacker audit.
    #[serde(rename = "sdc")]
    Sdc,
    /// Differential privacy, then the SDC rules on true counts as an extra gate: every cell the
    /// rules (and their secondary suppression) hide is hidden too. Which cells the gate hides is
    /// not covered by the DP proof; the noisy values are.
    #[serde(rename = "dp+sdc")]
    DpSdc,
}

impl GuaranteeMode {
    /// The name as written in policies.
    pub fn name(self) -> &'static str {
        match self {
            GuaranteeMode::Dp => "dp",
            GuaranteeMode::Sdc => "sdc",
            GuaranteeMode::DpSdc => "dp+sdc",
        }
    }

    /// Whether the mode adds noise.
    pub fn is_dp(self) -> bool {
        matches!(self, GuaranteeMode::Dp | GuaranteeMode::DpSdc)
    }

    /// Whether the mode applies SDC rules.
    pub fn is_sdc(self) -> bool {
        matches!(self, GuaranteeMode::Sdc | GuaranteeMode::DpSdc)
    }
}

/// Noise mechanisms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// Discrete Laplace (geometric) noise on integers; pure ε-DP. Budget per measure: `epsilon`.
    DiscreteLaplace,
    /// Laplace noise on real numbers; pure ε-DP. Not offered: values are integers in exact
    /// units, for which `discrete-laplace` is the exact mechanism.
    Laplace,
    /// Gaussian noise on real numbers; ρ-zCDP. Not offered: use `discrete-gaussian`.
    Gaussian,
    /// Discrete Gaussian noise on integers; ρ-zCDP (Canonne, Kamath & Steinke 2020). Budget
    /// per measure: `rho`; the dataset's budget must be `total_rho`.
    DiscreteGaussian,
}

impl Mechanism {
    /// The name as written in policies.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::DiscreteLaplace => "discrete-laplace",
            Mechanism::Laplace => "laplace",
            Mechanism::Gaussian => "gaussian",
            Mechanism::DiscreteGaussian => "discrete-gaussian",
        }
    }

    /// Whether the mechanism is accounted in zCDP (ρ) rather than pure DP (ε).
    pub fn is_zcdp(self) -> bool {
        matches!(self, Mechanism::Gaussian | Mechanism::DiscreteGaussian)
    }
}

/// `[protection.noisy_threshold]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoisyThresholdSection {
    /// The count measure whose noisy value is compared. Example: `measure = "persons"`
    pub measure: String,
    /// Cells whose noisy value is below this are suppressed, all measures together (`0`
    /// suppresses nothing). Example: `min = 10`
    pub min: u64,
}

/// `[protection.dominance]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DominanceSection {
    /// How many largest contributors are considered (1–10). Example: `n = 2`
    pub n: u32,
    /// The share, in percent (0–100), above which those contributors dominate. Example: `k = 85`
    pub k: f64,
}

/// `[protection.p_percent]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PPercentSection {
    /// The protection percentage (0–100). Example: `p = 10`
    pub p: f64,
}

/// `[rounding]`. Not supported yet.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundingSection {
    /// Round published counts to a multiple of this base. Example: `base = 5`
    pub base: u32,
}

/// `[budget]`: the dataset's privacy budget over a period, kept in an append-only ledger.
/// Every release of the dataset spends from it; a release that would exceed it is refused
/// (exit 1) before any data is read.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetSection {
    /// The ledger file, relative to the policy file. Example: `ledger = "ledgers/payment-defaults.jsonl"`
    pub ledger: PathBuf,
    /// The dataset every release of which spends from this budget. Example: `dataset = "payment-defaults"`
    pub dataset: String,
    /// The budget period, a calendar year. Example: `period = "2025"`
    pub period: String,
    /// Total ε the dataset may spend in the period (pure-DP accounting: the releases' ε add).
    /// Give this or `total_rho`. Example: `total_epsilon = 4.0`
    pub total_epsilon: Option<f64>,
    /// Total ρ the dataset may spend in the period (zCDP accounting: the releases' ρ add, and a
    /// pure-DP release counts ε²/2 per measure). Needed by `discrete-gaussian`.
    /// Example: `total_rho = 0.5`
    pub total_rho: Option<f64>,
    /// δ at which the (ε, δ)-DP equivalent of the ρ spent is reported (opendp's conversion);
    /// only with `total_rho`. Example: `delta = 1e-9`
    pub delta: Option<f64>,
}

/// `[margins]`: totals released next to the inner cells, computed from the same bounded
/// microdata; each output row says its level.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarginsSection {
    /// Area levels above the released one to total up to; none when omitted.
    /// Example: `area_levels = ["district", "major-district", "city"]`
    #[serde(default)]
    pub area_levels: Vec<AreaLevelName>,
    /// Whether to add a total over age bands; `false` when omitted. Example: `age_total = true`
    #[serde(default)]
    pub age_total: bool,
    /// Whether to add a total over periods; `false` when omitted. Example: `period_total = true`
    #[serde(default)]
    pub period_total: bool,
    /// Whether to add the parent level of a code-list dimension whose file declares one (the
    /// columns `<level>_code,<level>_name`, for example postal-code areas by major district);
    /// `false` when omitted. Example: `code_parents = true`
    #[serde(default)]
    pub code_parents: bool,
    /// Whether to add a total over a code-list dimension; `false` when omitted.
    /// Example: `code_total = true`
    #[serde(default)]
    pub code_total: bool,
}

/// Period lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Granularity {
    /// Calendar months, labelled `2025-03`.
    Month,
    /// Calendar quarters, labelled `2025Q1`.
    Quarter,
    /// Calendar years, labelled `2025`.
    Year,
}

impl Granularity {
    /// The ingest-side granularity.
    pub fn to_ingest(self) -> PeriodGranularity {
        match self {
            Granularity::Month => PeriodGranularity::Month,
            Granularity::Quarter => PeriodGranularity::Quarter,
            Granularity::Year => PeriodGranularity::Year,
        }
    }

    /// The name as written in policies.
    pub fn name(self) -> &'static str {
        match self {
            Granularity::Month => "month",
            Granularity::Quarter => "quarter",
            Granularity::Year => "year",
        }
    }
}
