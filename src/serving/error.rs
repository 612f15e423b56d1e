//! Errors of the serving model: bad trace rows, bad service settings.

use std::path::PathBuf;

use thiserror::Error;

/// What went wrong reading a request trace or checking a service. No variant lets a run
/// continue: the caller reports it and stops.
#[derive(Debug, Error)]
pub enum ServingError {
    /// A trace file could not be opened or read.
    #[error("{path}: cannot read request trace: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A trace row is malformed.
    #[error("{path}:{line}: {msg}")]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// What was expected.
        msg: String,
    },
    /// An instance trace read through a workload adapter is bad (file, line, column).
    #[error(transparent)]
    Trace(#[from] crate::workload::WorkloadError),
    /// A service setting is invalid; `key` is the dotted path of the setting.
    #[error("{key}: {msg}")]
    Config {
        /// Dotted key, e.g. `services[0].replicas`.
        key: String,
        /// What was expected.
        msg: String,
    },
}

impl ServingError {
    /// A `Config` error for `key`.
    pub fn config(key: impl Into<String>, msg: impl Into<String>) -> Self {
        ServingError::Config {
            key: key.into(),
            msg: msg.into(),
        }
    }
}
