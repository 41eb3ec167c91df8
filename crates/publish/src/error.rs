//! Errors of the publish step: file system failures and verification findings. They name
//! release files, never values.

use std::fmt;
use std::path::PathBuf;

/// A publish failure.
#[derive(Debug)]
pub enum PublishError {
    /// The output folder already exists; releases are never overwritten.
    Exists {
        /// The folder.
        path: PathBuf,
    },
    /// A file system operation failed.
    Io {
        /// The path concerned.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A release folder failed verification.
    Invalid {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl PublishError {
    pub(crate) fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        PublishError::Io { path: path.into(), action, source }
    }
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::Exists { path } => write!(
                f,
                "{}: already exists; a release is never overwritten (choose another --out or remove it)",
                path.display()
            ),
            PublishError::Io { path, action, source } => write!(f, "{}: cannot {action}: {source}", path.display()),
            PublishError::Invalid { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for PublishError {}
