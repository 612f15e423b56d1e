//! Why an `[economics]` section, a price or carbon series, or a bill could not be built.

use std::path::PathBuf;

/// An economics error. Every variant names the key, or the file and line, and says what
/// was expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EconError {
    /// A key of `[economics]` has a value out of range or inconsistent with another.
    #[error("`economics.{key}`: {message}")]
    Invalid {
        /// Key path below `economics`.
        key: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A series or region file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A row of a series or region file is malformed.
    #[error("{path}:{line}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line (1 = header).
        line: usize,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A series does not cover the simulated time and its `fill` rule is `error`.
    #[error("{path}: {message}")]
    Coverage {
        /// The file.
        path: PathBuf,
        /// Which instant is missing, and how to allow filling it.
        message: String,
    },
    /// The bill needs the run's power series, and the run had power accounting off.
    #[error(
        "`economics` needs power accounting: add a `[power]` section (energy is billed from its series)"
    )]
    NoPower,
}

impl EconError {
    /// An [`EconError::Invalid`] for `key`.
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> EconError {
        EconError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}
