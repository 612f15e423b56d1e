//! The journal: one JSON line per finished run, appended as runs finish, so an
//! interrupted sweep resumes where it stopped and shards can be merged.
//!
//! The first line is a [`Header`] naming the sweep by a hash of everything that decides
//! its results (scenario and topology text, `--set` overrides, the bytes of every input
//! file: see [`super::inputs`]); a journal of another sweep is refused, naming the
//! input file that changed when that is the difference. Each further line is a [`Row`]. A line cut short by an interruption
//! is ignored (and cut off before the next append), so its run is simply run again.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::figures::Figure;
use super::inputs::InputFile;

/// The journal's file name inside a sweep's output directory.
pub const FILE: &str = "journal.jsonl";

/// Journal format tag, in every header.
pub const FORMAT: &str = "dcsim-sweep-journal/1";

/// The first line of a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// [`FORMAT`].
    pub format: String,
    /// Hash of what decides the sweep's results (hex).
    pub sweep: String,
    /// Scenario name.
    pub scenario: String,
    /// The swept keys, in column order.
    pub keys: Vec<String>,
    /// Points in the grid.
    pub points: u64,
    /// Runs per point.
    pub replications: u32,
    /// `(index, count)` when this journal holds one shard's runs.
    pub shard: Option<(u64, u64)>,
    /// Every file the sweep reads, with its hash (also folded into `sweep`), so a
    /// changed input is named when a resume or merge is refused.
    #[serde(default)]
    pub inputs: Vec<InputFile>,
}

/// One finished run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// Run index: `point × replications + replication`.
    pub run: u64,
    /// Point index.
    pub point: u64,
    /// Replication index, from 0.
    pub replication: u32,
    /// The seed it ran with.
    pub seed: u64,
    /// The point's values, one per swept key, as CSV cells.
    pub values: Vec<String>,
    /// Its figures.
    pub figures: Vec<Figure>,
}

/// Why a journal could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A line is not a journal line.
    #[error("{path}:{line}: not a sweep journal line ({message})")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What the JSON reader said.
        message: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where each finished run's line is, and the header: what a reader keeps in memory
/// (16 bytes per run, never the rows themselves).
#[derive(Debug, Clone)]
pub struct Index {
    /// The file.
    pub path: PathBuf,
    /// Its header.
    pub header: Header,
    /// `(run, byte offset, length)` of the first line of each finished run, by run.
    pub runs: Vec<(u64, u64, u32)>,
    /// Every figure name seen, sorted.
    pub figures: BTreeSet<String>,
    /// Bytes up to the end of the last complete line.
    pub complete_len: u64,
}

impl Index {
    /// Reads a journal's header and line positions.
    pub fn read(path: &Path) -> Result<Index, JournalError> {
        let file = File::open(path).map_err(io_err(path))?;
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        let mut offset = 0u64;
        let mut header: Option<Header> = None;
        let mut runs = Vec::new();
        let mut figures = BTreeSet::new();
        let mut n = 0;
        loop {
            line.clear();
            let len = reader.read_line(&mut line).map_err(io_err(path))?;
            if len == 0 || !line.ends_with('\n') {
                break; // end, or a line cut short by an interruption
            }
            n += 1;
            let corrupt = |e: serde_json::Error| JournalError::Corrupt {
                path: path.to_path_buf(),
                line: n,
                message: e.to_string(),
            };
            if header.is_none() {
                header = Some(serde_json::from_str(&line).map_err(corrupt)?);
            } else {
                let row: Row = serde_json::from_str(&line).map_err(corrupt)?;
                figures.extend(row.figures.into_iter().map(|f| f.0));
                runs.push((row.run, offset, len as u32));
            }
            offset += len as u64;
        }
        let header = header.ok_or_else(|| JournalError::Corrupt {
            path: path.to_path_buf(),
            line: 1,
            message: "no header".into(),
        })?;
        runs.sort_by_key(|r| r.0);
        runs.dedup_by_key(|r| r.0);
        Ok(Index {
            path: path.to_path_buf(),
            header,
            runs,
            figures,
            complete_len: offset,
        })
    }

    /// Reads the row at `(offset, length)` from an open journal.
    pub fn row(&self, file: &mut File, offset: u64, len: u32) -> Result<Row, JournalError> {
        let mut buf = vec![0u8; len as usize];
        file.seek(SeekFrom::Start(offset)).map_err(io_err(&self.path))?;
        file.read_exact(&mut buf).map_err(io_err(&self.path))?;
        serde_json::from_slice(&buf).map_err(|e| JournalError::Corrupt {
            path: self.path.clone(),
            line: 0,
            message: e.to_string(),
        })
    }
}

/// An open journal that rows are appended to.
pub struct Writer {
    path: PathBuf,
    file: File,
}

impl Writer {
    /// Starts a new journal with `header` (replacing any file at `path`).
    pub fn create(path: &Path, header: &Header) -> Result<Writer, JournalError> {
        let mut file = File::create(path).map_err(io_err(path))?;
        let mut line = serde_json::to_string(header).expect("a header serialises");
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(io_err(path))?;
        file.sync_data().map_err(io_err(path))?;
        Ok(Writer {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Reopens a journal to append after its last complete line (a cut-short line is
    /// dropped).
    pub fn append(index: &Index) -> Result<Writer, JournalError> {
        let path = &index.path;
        let file = OpenOptions::new().write(true).open(path).map_err(io_err(path))?;
        file.set_len(index.complete_len).map_err(io_err(path))?;
        let mut file = file;
        file.seek(SeekFrom::End(0)).map_err(io_err(path))?;
        Ok(Writer {
            path: path.clone(),
            file,
        })
    }

    /// Appends one row as one write.
    pub fn push(&mut self, row: &Row) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(row).expect("a row serialises");
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(io_err(&self.path))
    }
}
