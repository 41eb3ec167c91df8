//! One release, end to end: load and check the policy, stream the source through ingest into
//! bounding, tabulate, protect with the given noise source, and write the release folder
//! atomically. The binary passes [`cellguard_privacy::SecureNoise`]; tests may pass a fake.

use std::fmt;
use std::path::{Path, PathBuf};

use cellguard_ingest::{scan_file, IngestError, PseudonymKey, Pseudonymiser, RejectReason, ScanOptions, ScanSummary};
use cellguard_privacy::ledger::{spent, Ledger, LedgerEntry};
use cellguard_privacy::plan::{epsilon_at_delta, Accounting};
use cellguard_privacy::PrivacyErrorKind;
use cellguard_privacy::{
    load_baseline, load_policy, protect, protect_dp_sdc, protect_sdc, BoundingAccumulator, GuaranteeMode, NoiseSource,
    PrivacyError, ReleasePlan,
};
use cellguard_publish::{
    hex, write_release, ApproxDp, BudgetRecord, FileDigest, InputDigest, PublishError, ReasonCount, ReleaseContext,
    WrittenRelease,
};

/// Exit status: the release was written.
pub const EXIT_OK: u8 = 0;
/// Exit status: refused by policy or budget.
pub const EXIT_REFUSED: u8 = 1;
/// Exit status: bad input or usage (including unreadable or unwritable files).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Why a release was not made.
#[derive(Debug)]
pub enum PipelineError {
    /// The policy, or a file it names, is wrong — or the policy refuses the release.
    Privacy(PrivacyError),
    /// The source cannot be read.
    Ingest(IngestError),
    /// More invalid rows than the policy tolerates.
    TooManyRejects {
        /// The source.
        path: PathBuf,
        /// Invalid rows found.
        rejected: u64,
        /// Invalid rows tolerated.
        allowed: u64,
        /// One line per reason: code, field, count, first lines.
        reasons: Vec<String>,
    },
    /// The release cannot be written.
    Publish(PublishError),
    /// The request itself is incomplete.
    Usage(String),
}

impl PipelineError {
    /// The documented exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            PipelineError::Privacy(e) if e.is_refusal() => EXIT_REFUSED,
            _ => EXIT_BAD_INPUT,
        }
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::Privacy(e) => write!(f, "{e}"),
            PipelineError::Ingest(e) => write!(f, "{e}"),
            PipelineError::Publish(e) => write!(f, "{e}"),
            PipelineError::Usage(m) => write!(f, "{m}"),
            PipelineError::TooManyRejects { path, rejected, allowed, reasons } => {
                write!(
                    f,
                    "{}: {rejected} invalid rows, but the policy tolerates {allowed} (source.max_rejected_rows); nothing was released",
                    path.display()
                )?;
                for r in reasons {
                    write!(f, "\n  {r}")?;
                }
                Ok(())
            }
        }
    }
}

impl From<PrivacyError> for PipelineError {
    fn from(e: PrivacyError) -> Self {
        PipelineError::Privacy(e)
    }
}

impl From<IngestError> for PipelineError {
    fn from(e: IngestError) -> Self {
        PipelineError::Ingest(e)
    }
}

impl From<PublishError> for PipelineError {
    fn from(e: PublishError) -> Self {
        PipelineError::Publish(e)
    }
}

/// What to release.
#[derive(Debug, Clone)]
pub struct ReleaseRequest {
    /// The policy file.
    pub policy: PathBuf,
    /// The baseline policy; `None` uses `baseline.toml` beside the policy file.
    pub baseline: Option<PathBuf>,
    /// The source extract.
    pub input: PathBuf,
    /// The release folder to create (must not exist).
    pub out: PathBuf,
    /// Scan tuning (never changes the result).
    pub scan: ScanOptions,
    /// Replace an existing release folder at `out` (never anything else).
    pub force: bool,
}

/// A finished release and what was read.
#[derive(Debug)]
pub struct ReleaseOutcome {
    /// The written release.
    pub written: WrittenRelease,
    /// The scan of the source.
    pub scan: ScanSummary,
    /// Wall time of each stage.
    pub timings: Timings,
}

/// Wall time of each stage of a release.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Policy, baseline and classifications loaded and checked; ledger checked.
    pub plan: std::time::Duration,
    /// Source read, parsed, validated, pseudonymised and bounded (in parallel).
    pub scan_and_bound: std::time::Duration,
    /// Exact tabulation and protection (noise or suppression).
    pub tabulate_and_protect: std::time::Duration,
    /// Ledger entry and release folder written.
    pub write: std::time::Duration,
}

fn file_digest(path: &Path, sha256: &[u8; 32]) -> Result<FileDigest, PipelineError> {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(FileDigest {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        sha256: hex(sha256),
        bytes,
    })
}

/// Describes the reasons of a scan, naming fields by schema name and never quoting values.
pub fn reason_counts(scan: &ScanSummary) -> Vec<ReasonCount> {
    let field = |i: &Option<usize>| i.and_then(|i| scan.field_names.get(i).cloned());
    scan.tally
        .reasons
        .iter()
        .map(|(reason, count)| {
            let (outcome, code, description, fld) = match reason {
                RejectReason::Invalid(kind, f) => ("rejected", kind.code(), kind.describe(), field(f)),
                RejectReason::OutOfScope(why, f) => ("out_of_scope", why.code(), why.describe(), field(&Some(*f))),
            };
            ReasonCount {
                outcome: outcome.to_string(),
                code: code.to_string(),
                field: fld,
                description: description.to_string(),
                rows: count.rows,
                first_lines: count.first_lines.clone(),
            }
        })
        .collect()
}

/// Test-only failure injection (see [`cellguard_publish::failpoint`]; debug builds only).
fn failpoint(name: &str) -> Result<(), PipelineError> {
    cellguard_publish::failpoint(name).map_err(|e| PipelineError::Usage(e.to_string()))
}

/// The input's read and write permission bits (Unix), for the release files.
fn input_file_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o666)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The baseline to check a policy against: the one given, or `baseline.toml` beside the
/// policy. A release without a baseline is refused as a usage error.
pub fn resolve_baseline(policy: &Path, given: Option<&Path>) -> Result<PathBuf, PipelineError> {
    if let Some(b) = given {
        return Ok(b.to_path_buf());
    }
    let beside = policy.parent().unwrap_or(Path::new(".")).join("baseline.toml");
    if beside.is_file() {
        return Ok(beside);
    }
    Err(PipelineError::Usage(format!(
        "{}: no baseline policy: pass --baseline FILE or put baseline.toml beside the policy",
        policy.display()
    )))
}

/// Makes one release. `key` is the pseudonymisation key; it may be absent only when the policy
/// has no unit field (data aggregated by the provider, where rows are told apart by their
/// content). `on_batch` is called after every batch with the rows read so far (for progress
/// output).
pub fn release(
    request: &ReleaseRequest,
    key: Option<&PseudonymKey>,
    noise: &mut dyn NoiseSource,
    mut on_batch: impl FnMut(u64),
) -> Result<ReleaseOutcome, PipelineError> {
    let started = std::time::Instant::now();
    let mut timings = Timings::default();
    let baseline_path = resolve_baseline(&request.policy, request.baseline.as_deref())?;
    let baseline = load_baseline(&baseline_path)?;
    let plan: ReleasePlan = load_policy(&request.policy, Some(&baseline))?;
    let row_key;
    let needs_key = plan.unit_of_privacy != cellguard_privacy::UnitOfPrivacy::None;
    let key = match (key, needs_key) {
        (Some(k), _) => k,
        (None, false) => {
            // No unit of privacy: the key only tells rows apart, so it need not be secret.
            row_key = PseudonymKey::from_bytes(b"cellguard: rows of provider-aggregated data".to_vec())?;
            &row_key
        }
        (None, true) => {
            return Err(PipelineError::Usage(format!(
                "no pseudonymisation key: pass --key-file FILE or set {} (at least 32 bytes)",
                cellguard_ingest::KEY_ENV_VAR
            )))
        }
    };
    cellguard_publish::recover_crashed(&request.out)?;
    if request.out.exists() && !request.force {
        return Err(PublishError::Exists { path: request.out.clone() }.into());
    }
    if request.out.exists() && !request.out.join("manifest.json").is_file() {
        return Err(PublishError::Invalid {
            path: request.out.clone(),
            message: "exists and is not a release folder (no manifest.json); it is never replaced".into(),
        }
        .into());
    }
    // The budget is checked from the policy alone, before any data is read; the ledger stays
    // locked until this release's entry is written.
    let mut ledger = match &plan.budget {
        Some(b) => {
            let cost = plan.cost().unwrap_or(f64::INFINITY);
            let l = Ledger::open(&b.ledger)?;
            let before = spent(l.entries(), &b.dataset, &b.period, b.accounting);
            if before + cost > b.total * (1.0 + 1e-12) {
                return Err(PrivacyError::new(PrivacyErrorKind::Refused {
                    message: format!(
                        "{}: dataset `{}` has spent {sym} = {before} of its {} for period {}; this release would spend {cost} more. Nothing was read or released",
                        b.ledger.display(),
                        b.dataset,
                        b.total,
                        b.period,
                        sym = b.accounting.symbol(),
                    ),
                })
                .into());
            }
            Some((l, before, cost))
        }
        None => None,
    };
    timings.plan = started.elapsed();
    let stage = std::time::Instant::now();
    let mut accumulator = BoundingAccumulator::new(&plan);
    let pseudonymiser = Pseudonymiser::new(key);
    let mut rows_so_far = 0u64;
    let scan = scan_file::<PipelineError>(
        &request.input,
        &plan.schema,
        &plan.mapper,
        &pseudonymiser,
        request.scan,
        |batch| {
            accumulator.absorb(&batch);
            rows_so_far += batch.iter().flat_map(|c| c.parts.iter()).map(|p| p.len() as u64).sum::<u64>();
            on_batch(rows_so_far);
            Ok(())
        },
    )?;
    let rejected = scan.tally.invalid_rows();
    if rejected > plan.max_rejected_rows {
        let reasons = reason_counts(&scan)
            .into_iter()
            .filter(|r| r.outcome == "rejected")
            .map(|r| {
                let lines: Vec<String> = r.first_lines.iter().map(u64::to_string).collect();
                let at = match (r.rows, lines.len()) {
                    (1, _) => format!("line {}", lines.join(", ")),
                    (n, k) if n as usize == k => format!("lines {}", lines.join(", ")),
                    _ => format!("first at lines {}", lines.join(", ")),
                };
                format!(
                    "{} {}: {}{} ({at})",
                    r.rows,
                    if r.rows == 1 { "row" } else { "rows" },
                    r.description,
                    r.field.map(|f| format!(" in column `{f}`")).unwrap_or_default(),
                )
            })
            .collect();
        return Err(PipelineError::TooManyRejects {
            path: request.input.clone(),
            rejected,
            allowed: plan.max_rejected_rows,
            reasons,
        });
    }
    timings.scan_and_bound = stage.elapsed();
    let stage = std::time::Instant::now();
    let protected = match plan.mode {
        GuaranteeMode::Dp => protect(&plan, accumulator.finish(), noise)?,
        GuaranteeMode::Sdc => protect_sdc(&plan, cellguard_privacy::sdc::tabulate(&plan, &accumulator))?,
        GuaranteeMode::DpSdc => {
            let exact = cellguard_privacy::sdc::tabulate(&plan, &accumulator);
            protect_dp_sdc(&plan, accumulator.finish(), exact, noise)?
        }
    };
    timings.tabulate_and_protect = stage.elapsed();
    let stage = std::time::Instant::now();
    // Charge the budget before anything is published: the entry is on disk before the
    // release folder can appear.
    let budget_record = match (&mut ledger, &plan.budget) {
        (Some((l, before, cost)), Some(b)) => {
            let entry = LedgerEntry {
                seq: 0,
                prev: String::new(),
                release: plan.name.clone(),
                time: crate::timefmt::rfc3339(crate::timefmt::now_secs()),
                dataset: b.dataset.clone(),
                period: b.period.clone(),
                unit_of_privacy: plan.unit_of_privacy.name().to_string(),
                policy_sha256: hex(&plan.policy_sha256),
                input_sha256: hex(&scan.sha256),
                epsilon_by_measure: plan.measures.iter().filter_map(|m| Some((m.name.clone(), m.epsilon?))).collect(),
                epsilon: plan.total_epsilon(),
                rho_by_measure: plan.measures.iter().map(|m| (m.name.clone(), m.rho)).collect(),
                budget_unit: (b.accounting == Accounting::Zcdp).then(|| "rho".to_string()),
                budget_total: b.total,
            };
            let (entry, sha) = l.append(entry)?;
            Some(BudgetRecord {
                ledger: l.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                dataset: b.dataset.clone(),
                period: b.period.clone(),
                entry_seq: entry.seq,
                entry_sha256: sha,
                unit: b.accounting.unit().to_string(),
                spent_before: *before,
                spent_after: *before + *cost,
                total: b.total,
                approx_dp: match b.delta {
                    Some(delta) => Some(ApproxDp {
                        delta,
                        release_epsilon: epsilon_at_delta(plan.total_rho(), delta)?,
                        period_epsilon: epsilon_at_delta(*before + *cost, delta)?,
                    }),
                    None => None,
                },
            })
        }
        _ => None,
    };
    failpoint("after-ledger")?;
    let context = ReleaseContext {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        created_utc: crate::timefmt::rfc3339(crate::timefmt::now_secs()),
        policy: file_digest(&plan.policy_path, &plan.policy_sha256)?,
        schema: file_digest(&plan.schema_path, &plan.schema_sha256)?,
        classifications: plan.classifications.iter().map(|(p, h)| file_digest(p, h)).collect::<Result<_, _>>()?,
        budget: budget_record,
        file_mode: input_file_mode(&request.input),
        replace: request.force,
        inputs: vec![InputDigest {
            file: FileDigest {
                name: scan.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                sha256: hex(&scan.sha256),
                bytes: scan.bytes,
            },
            rows_read: scan.rows,
            rows_used: scan.contributions,
            rows_rejected: rejected,
            rows_out_of_scope: scan.tally.out_of_scope_rows(),
            reasons: reason_counts(&scan),
        }],
    };
    let written = write_release(&request.out, &protected, &context)?;
    timings.write = stage.elapsed();
    Ok(ReleaseOutcome { written, scan, timings })
}
