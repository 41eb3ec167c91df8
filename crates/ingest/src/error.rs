//! Errors of the ingest step. Every variant names a file and, where there is one, a line and a
//! column; none holds a value read from a source file.

use std::fmt;
use std::path::PathBuf;

/// An ingest failure. Small (one box) so that `Result`s stay cheap on hot paths.
#[derive(Debug)]
pub struct IngestError(Box<IngestErrorKind>);

/// What went wrong. Messages name positions and column names, never cell values.
#[derive(Debug)]
pub enum IngestErrorKind {
    /// A file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// What we were doing ("open", "read").
        action: &'static str,
        /// The operating system's error (it never contains file content).
        source: std::io::Error,
    },
    /// A schema or classification file is malformed.
    Config {
        /// The file.
        path: PathBuf,
        /// Where in the file, when known (1-based line).
        line: Option<u64>,
        /// A description that names fields, never source values.
        message: String,
    },
    /// A source file's structure is wrong (empty, no header, missing columns).
    Structure {
        /// The source file.
        path: PathBuf,
        /// The 1-based line, when known.
        line: Option<u64>,
        /// A description that names columns by schema name or position.
        message: String,
    },
    /// The pseudonymisation key is missing or unusable.
    Key {
        /// A description; never contains key material.
        message: String,
    },
}

impl IngestError {
    /// Wraps a kind.
    pub fn new(kind: IngestErrorKind) -> Self {
        IngestError(Box::new(kind))
    }

    /// The kind of error.
    pub fn kind(&self) -> &IngestErrorKind {
        &self.0
    }

    pub(crate) fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        Self::new(IngestErrorKind::Io { path: path.into(), action, source })
    }

    pub(crate) fn config(path: impl Into<PathBuf>, line: Option<u64>, message: impl Into<String>) -> Self {
        Self::new(IngestErrorKind::Config { path: path.into(), line, message: message.into() })
    }

    pub(crate) fn structure(path: impl Into<PathBuf>, line: Option<u64>, message: impl Into<String>) -> Self {
        Self::new(IngestErrorKind::Structure { path: path.into(), line, message: message.into() })
    }

    pub(crate) fn key(message: impl Into<String>) -> Self {
        Self::new(IngestErrorKind::Key { message: message.into() })
    }
}

fn at(path: &std::path::Path, line: Option<u64>) -> String {
    match line {
        Some(l) => format!("{}:{}", path.display(), l),
        None => path.display().to_string(),
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            IngestErrorKind::Io { path, action, source } => {
                write!(f, "{}: cannot {action}: {}", path.display(), source.kind())
            }
            IngestErrorKind::Config { path, line, message } => write!(f, "{}: {message}", at(path, *line)),
            IngestErrorKind::Structure { path, line, message } => write!(f, "{}: {message}", at(path, *line)),
            IngestErrorKind::Key { message } => write!(f, "pseudonymisation key: {message}"),
        }
    }
}

impl std::error::Error for IngestError {}
