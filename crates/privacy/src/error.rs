//! Errors of the protection step. Policy errors name the policy file, the field path and (where
//! the TOML parser knows it) the line; nothing here carries a value from a source file.

use std::fmt;
use std::path::PathBuf;

use cellguard_ingest::IngestError;

/// A failure of the privacy crate.
#[derive(Debug)]
pub struct PrivacyError(Box<PrivacyErrorKind>);

/// What went wrong.
#[derive(Debug)]
pub enum PrivacyErrorKind {
    /// The policy file is unreadable, malformed or inconsistent. This is bad input (exit 2).
    Policy {
        /// The policy file.
        path: PathBuf,
        /// The 1-based line, when known.
        line: Option<u64>,
        /// The field path, for example `measures[2].epsilon`, when known.
        field: Option<String>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A policy with problems, all of them listed.
    Findings {
        /// The policy file.
        path: PathBuf,
        /// The problems.
        findings: Vec<crate::policy::Finding>,
        /// True when every problem is a refusal or a baseline floor (exit 1); false when the
        /// policy is invalid or unsupported (bad input, exit 2).
        refusal: bool,
    },
    /// A file the policy refers to (schema, classification) or the source is unusable.
    Ingest(IngestError),
    /// The policy is valid, but asks for something that is refused (exit 1).
    Refused {
        /// Why.
        message: String,
    },
    /// The differential-privacy library refused a construction or a sample.
    Mechanism {
        /// The measure concerned.
        measure: String,
        /// The library's message (it concerns parameters, never data values).
        message: String,
    },
}

impl PrivacyError {
    /// Wraps a kind.
    pub fn new(kind: PrivacyErrorKind) -> Self {
        PrivacyError(Box::new(kind))
    }

    /// The kind.
    pub fn kind(&self) -> &PrivacyErrorKind {
        &self.0
    }

    /// Whether this error is a refusal (exit 1) rather than bad input (exit 2).
    pub fn is_refusal(&self) -> bool {
        matches!(*self.0, PrivacyErrorKind::Refused { .. } | PrivacyErrorKind::Findings { refusal: true, .. })
    }

    pub(crate) fn policy(path: impl Into<PathBuf>, field: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(PrivacyErrorKind::Policy {
            path: path.into(),
            line: None,
            field: field.map(str::to_string),
            message: message.into(),
        })
    }

    pub(crate) fn mechanism(measure: &str, err: impl fmt::Debug) -> Self {
        // opendp errors describe parameters; keep the first line only.
        let text = format!("{err:?}");
        let message = text.lines().next().unwrap_or("").to_string();
        Self::new(PrivacyErrorKind::Mechanism { measure: measure.to_string(), message })
    }
}

impl From<IngestError> for PrivacyError {
    fn from(e: IngestError) -> Self {
        Self::new(PrivacyErrorKind::Ingest(e))
    }
}

impl fmt::Display for PrivacyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            PrivacyErrorKind::Policy { path, line, field, message } => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                }
                if let Some(field) = field {
                    write!(f, ": `{field}`")?;
                }
                write!(f, ": {message}")
            }
            PrivacyErrorKind::Findings { path, findings, refusal } => {
                let what = if *refusal { "refuses this release" } else { "is not usable" };
                write!(f, "the policy {} {what}:", path.display())?;
                for finding in findings {
                    write!(f, "\n  {} [{}]", finding.render(path), finding.kind.label())?;
                }
                Ok(())
            }
            PrivacyErrorKind::Ingest(e) => write!(f, "{e}"),
            PrivacyErrorKind::Refused { message } => write!(f, "refused: {message}"),
            PrivacyErrorKind::Mechanism { measure, message } => {
                write!(f, "measure `{measure}`: the noise mechanism could not be built: {message}")
            }
        }
    }
}

impl std::error::Error for PrivacyError {}
