//! Many runs of one scenario: `dcsim sweep`, `dcsim plan` and `dcsim merge`.
//!
//! A sweep expands the scenario's `[sweep]` grid ([`spec`]) into points, each a list of
//! `--set`-style overrides ([`overrides`]) of scenario or topology keys, and runs every
//! point `replications` times: each run single-threaded and deterministic, runs spread
//! over the rayon pool ([`runner`]). Replication `r` of every point runs with the point's
//! seed `+ r`, so all points of one replication see the same random streams (common
//! random numbers, as in `dcsim compare`).
//!
//! Each finished run appends one line to the output directory's journal ([`journal`]);
//! when all runs are in, `sweep.csv` and `sweep_summary.csv` are written from the journal
//! in run order ([`output`]), so they are byte-identical whatever the number of threads,
//! after an interrupted sweep is resumed, and when shards run on a cluster are merged.
//! `--shard i/n` runs points `p` with `p mod n = i`; [`slurm`] writes the `sbatch`
//! scripts that run the shards as a job array and merge them. [`plan`] searches one key
//! for the smallest value that meets targets, with the same runs.

pub mod figures;
pub mod inputs;
pub mod journal;
pub mod output;
pub mod overrides;
pub mod plan;
pub mod runner;
pub mod slurm;
pub mod spec;

use std::path::PathBuf;

pub use overrides::{Override, OverrideError};
pub use runner::{Shard, Sweep, SweepOptions, SweepReport};
pub use spec::{Grid, SweepSpec};

use crate::columnar::TableFormat;
use crate::scenario::ScenarioError;

/// Why a sweep, plan or merge failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The scenario, its topology, a policy or an override is invalid (at point `point`
    /// of the grid when given).
    #[error("{}{source}", point.as_ref().map_or(String::new(), |p| format!("sweep point {p}: ")))]
    Scenario {
        /// The point's overrides, when the error is specific to one point.
        point: Option<String>,
        /// The error.
        #[source]
        source: Box<ScenarioError>,
    },
    /// The `[sweep]` table is invalid.
    #[error("{path}: {source}")]
    Spec {
        /// The scenario file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: spec::SpecError,
    },
    /// The request is invalid (a bad `--shard`, a `--set` of a swept key, a bad target).
    #[error("{0}")]
    Invalid(String),
    /// The output directory holds a journal of a different sweep.
    #[error(
        "{dir} holds a journal of a different sweep (the scenario, topology, grid, --set or \
         --shard changed); pass --force to start over, or choose another --output"
    )]
    Changed {
        /// The output directory.
        dir: PathBuf,
    },
    /// The output directory holds this sweep's journal, but an input file changed.
    #[error(
        "{dir} holds a journal of this sweep, but {change} since it was started; its runs \
         would mix results of different inputs: pass --force to start over, or choose \
         another --output"
    )]
    InputChanged {
        /// The output directory.
        dir: PathBuf,
        /// Which file changed, in words.
        change: String,
    },
    /// Not every run of the grid is in the journals.
    #[error(
        "{done} of {total} runs are done (run {first_missing} is missing); run the sweep again to finish it"
    )]
    Incomplete {
        /// Runs found.
        done: u64,
        /// Runs in the grid.
        total: u64,
        /// The first run not found.
        first_missing: u64,
    },
    /// Shards cannot be merged.
    #[error("cannot merge: {0}")]
    Merge(String),
    /// The journal could not be read or written.
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
    /// An output file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl From<ScenarioError> for SweepError {
    fn from(source: ScenarioError) -> Self {
        SweepError::Scenario {
            point: None,
            source: Box::new(source),
        }
    }
}

/// Combines the journals in `dirs` (one per shard) into `sweep.csv` and
/// `sweep_summary.csv` in `out` (as Parquet with [`TableFormat::Parquet`]): the same bytes
/// a sweep on one machine writes. Refuses journals of different sweeps, a missing or
/// repeated shard, and an `out` that already holds results unless `force`.
pub fn merge(
    dirs: &[PathBuf],
    out: &std::path::Path,
    force: bool,
    format: TableFormat,
) -> Result<u64, SweepError> {
    let journals = dirs
        .iter()
        .map(|d| journal::Index::read(&d.join(journal::FILE)))
        .collect::<Result<Vec<_>, _>>()?;
    let assembled = output::Assembled::new(journals)?;
    if !force && output::has_results(out) {
        return Err(SweepError::Invalid(format!(
            "{} already holds a sweep's results; pass --force to replace them",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|source| SweepError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    assembled.write(out, format)?;
    Ok(assembled.header.points * u64::from(assembled.header.replications))
}
