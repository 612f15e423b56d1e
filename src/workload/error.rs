use std::path::PathBuf;

/// Why a workload could not be read. Each variant names the file (and line) at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A row could not be parsed.
    #[error("{path}:{line}: {message}")]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based line number in the file (the header is line 1).
        line: u64,
        /// What was wrong and what was expected.
        message: String,
    },
    /// The header lacks a column the format needs.
    #[error("{path}: missing column `{column}` (expected columns: {expected})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// Every column the format needs.
        expected: String,
    },
    /// The file held no usable job.
    #[error("{path}: no jobs ({detail})")]
    Empty {
        /// The file.
        path: PathBuf,
        /// Rows read and why they were skipped.
        detail: String,
    },
    /// A generator or transform parameter is out of range.
    #[error("{key}: {message}")]
    Invalid {
        /// The config key.
        key: String,
        /// What was wrong and what was expected.
        message: String,
    },
}
