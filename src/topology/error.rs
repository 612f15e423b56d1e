//! Errors from loading a topology: every variant names the file and, where it can,
//! the dotted key or the line at fault.

use std::fmt;
use std::path::PathBuf;

/// One problem found by validation: the dotted key it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Dotted key path, e.g. `nodes[2].count`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why a topology could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown key, or a value of the wrong type.
    #[error("{}{}: {}{message}", path.display(), position(*line, *column), key_prefix(key))]
    Parse {
        /// The topology file.
        path: PathBuf,
        /// 1-based line of the fault, where the parser knows it.
        line: Option<usize>,
        /// 1-based column of the fault, where the parser knows it.
        column: Option<usize>,
        /// Dotted key path of the fault (empty at the top level).
        key: String,
        /// The parser's message.
        message: String,
    },
    /// The file parsed but its values are inconsistent; every problem is listed.
    #[error("{}: invalid topology:{}", path.display(), list(issues))]
    Invalid {
        /// The topology file.
        path: PathBuf,
        /// Every problem found.
        issues: Vec<Issue>,
    },
    /// A GPU model name that neither the catalog nor the file's `[[gpu_model]]` defines.
    #[error("{}: {key}: unknown GPU model `{name}`; known models: {}", path.display(), known.join(", "))]
    UnknownGpu {
        /// The topology file.
        path: PathBuf,
        /// Where the name was found (a dotted key, or a node list and its line).
        key: String,
        /// The unknown name.
        name: String,
        /// Every name the file could have used (catalog and custom models).
        known: Vec<String>,
    },
    /// A node list has a malformed row.
    #[error("{}:{line}: {message}", path.display())]
    NodeList {
        /// The node list file.
        path: PathBuf,
        /// 1-based line of the bad row (1 is the header).
        line: u64,
        /// What is wrong with it.
        message: String,
    },
}

/// Formats `:line:column` where known.
fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// Formats `key: ` where a key is known.
fn key_prefix(key: &str) -> String {
    if key.is_empty() || key == "." {
        String::new()
    } else {
        format!("{key}: ")
    }
}

/// Formats issues one per line.
fn list(issues: &[Issue]) -> String {
    issues.iter().map(|i| format!("\n  {i}")).collect()
}
