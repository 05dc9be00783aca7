//! The library's one error type. Every variant names what went wrong precisely enough for a
//! one-line message; file-related variants carry the path.

use std::path::PathBuf;

/// Errors returned by the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O failure on a named file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file whose contents do not follow its format.
    #[error("{path}: {reason}")]
    Format { path: PathBuf, reason: String },
    /// A configuration value that is missing, unknown or impossible; `key` names it.
    #[error("{key}: {reason}")]
    Config { key: String, reason: String },
    /// Shapes that do not fit together (data width vs model input, saved tensor vs spec).
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Training produced a non-finite value; the last good parameters are kept.
    #[error("{0}")]
    NonFinite(String),
    /// Anything else the caller asked for that cannot be done.
    #[error("{0}")]
    Invalid(String),
    /// The observer asked training to stop (Ctrl-C); the parameters are those after the last
    /// whole epoch, `epochs_done` of them.
    #[error("interrupted after {epochs_done} whole epochs")]
    Interrupted { epochs_done: usize },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    /// A format error on `path`.
    pub fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }
    /// A configuration error on `key`.
    pub fn config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Result with the library's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
