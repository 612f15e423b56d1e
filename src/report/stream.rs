//! A run's `jobs.csv` and `timeseries.csv` written while it runs, on a thread of their
//! own: the run hands over blocks of records and rows as they become final and goes on
//! simulating while the blocks are formatted and written (issue 17). Rows are formatted
//! by the same writers as a kept table, in the order they were handed over, so the bytes
//! are those of [`super::write_jobs`] and [`super::write_series`] whatever the timing.

use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

use crate::metrics::{JobRecord, TableSink, TimeSeries};
use crate::workload::{JobKind, JobName, JobSpec, Workload};

use super::{JobRows, RunInfo, SeriesRows};

/// Records per block handed to the writing thread.
const JOB_BLOCK: usize = 4096;

/// Blocks in flight between the run and the writing thread: enough to ride out a slow
/// write, few enough that memory stays bounded when the disk is slower than the run.
const BLOCKS_IN_FLIGHT: usize = 8;

/// What the run hands to the writing thread.
enum Block {
    /// Job records with what their row shows of the spec, in job-id order.
    Jobs(Vec<(JobRecord, JobName, JobKind)>),
    /// Final change points.
    Series(TimeSeries),
}

/// A run's `jobs.csv` and `timeseries.csv`, written as the run produces them
/// ([`Simulation::run_into`](crate::sim::Simulation::run_into)) into writers of a staged
/// run folder, so a long run's tables never sit in memory; formatting and writing run
/// on a thread beside the simulation. [`StreamedTables::finish`] waits for the last
/// block and reports the first error.
pub struct StreamedTables {
    jobs: Option<Vec<(JobRecord, JobName, JobKind)>>,
    to_writer: Option<SyncSender<Block>>,
    /// Emptied job blocks coming back for reuse.
    spare: Receiver<Vec<(JobRecord, JobName, JobKind)>>,
    writer: Option<JoinHandle<io::Result<()>>>,
}

impl StreamedTables {
    /// Starts the writing thread for the job records (`jobs`, with `skip_reason` when
    /// `skips`: known before the run, as
    /// [`Simulation::unrunnable`](crate::sim::Simulation::unrunnable)) and the
    /// change-point rows (`series`), each when given.
    pub fn new<W: Write + Send + 'static>(
        info: &RunInfo,
        workload: &Workload,
        skips: bool,
        jobs: Option<W>,
        series: Option<W>,
    ) -> Self {
        let (to_writer, blocks) = mpsc::sync_channel(BLOCKS_IN_FLIGHT);
        let (give_back, spare) = mpsc::channel();
        let info = info.clone();
        let tenants = workload.tenants.clone();
        let want_jobs = jobs.is_some();
        let writer =
            thread::spawn(move || write_blocks(&blocks, &give_back, (&info, &tenants, skips), jobs, series));
        StreamedTables {
            jobs: want_jobs.then(|| Vec::with_capacity(JOB_BLOCK)),
            to_writer: Some(to_writer),
            spare,
            writer: Some(writer),
        }
    }

    /// Hands `block` to the writing thread; if that thread has stopped, its error.
    fn send(&mut self, block: Block) -> io::Result<()> {
        let sent = self.to_writer.as_ref().map(|tx| tx.send(block).is_ok());
        match sent {
            Some(true) => Ok(()),
            _ => Err(self
                .stop()
                .err()
                .unwrap_or_else(|| io::Error::other("the table writer stopped"))),
        }
    }

    /// Closes the channel and waits for the writing thread: its result.
    fn stop(&mut self) -> io::Result<()> {
        self.to_writer = None;
        match self.writer.take() {
            Some(w) => w
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the table writer panicked"))),
            None => Ok(()),
        }
    }

    /// Hands over the records not yet handed over, then waits until everything is
    /// written and flushed; the first error of the writing, if any.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(rest) = self.jobs.take().filter(|j| !j.is_empty()) {
            self.send(Block::Jobs(rest))?;
        }
        self.stop()
    }
}

impl TableSink for StreamedTables {
    fn job(&mut self, record: &JobRecord, spec: &JobSpec) -> io::Result<()> {
        let Some(jobs) = self.jobs.as_mut() else {
            return Ok(());
        };
        jobs.push((record.clone(), spec.name.clone(), spec.kind));
        if jobs.len() < JOB_BLOCK {
            return Ok(());
        }
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(JOB_BLOCK));
        let full = std::mem::replace(jobs, next);
        self.send(Block::Jobs(full))
    }

    fn series(&mut self, rows: TimeSeries) -> io::Result<()> {
        self.send(Block::Series(rows))
    }

    fn check(&mut self) -> io::Result<()> {
        if crate::output::interrupted() {
            return Err(io::Error::other("interrupted"));
        }
        Ok(())
    }
}

impl Drop for StreamedTables {
    /// A run that stopped early (an error, an interrupt) still ends its writing thread.
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The writing thread: formats and writes each block as it comes, then what is
/// buffered, and flushes. Stops at the first error.
fn write_blocks<W: Write>(
    blocks: &Receiver<Block>,
    give_back: &mpsc::Sender<Vec<(JobRecord, JobName, JobKind)>>,
    (info, tenants, skips): (&RunInfo, &[String], bool),
    mut jobs: Option<W>,
    mut series: Option<W>,
) -> io::Result<()> {
    let mut job_rows = JobRows::new(info, tenants, skips, None);
    let mut series_rows = SeriesRows::new(info);
    for block in blocks {
        match block {
            Block::Jobs(mut records) => {
                if let Some(w) = jobs.as_mut() {
                    for (r, name, kind) in &records {
                        job_rows
                            .push(r, name, *kind, w)
                            .map_err(|e| named("jobs.csv", e))?;
                    }
                }
                records.clear();
                let _ = give_back.send(records);
            }
            Block::Series(rows) => {
                if let Some(w) = series.as_mut() {
                    (series_rows.write(w, &rows, rows.len())).map_err(|e| named("timeseries.csv", e))?;
                }
            }
        }
    }
    if let Some(w) = jobs.as_mut() {
        (job_rows.end(w).and_then(|()| w.flush())).map_err(|e| named("jobs.csv", e))?;
    }
    if let Some(w) = series.as_mut() {
        w.flush().map_err(|e| named("timeseries.csv", e))?;
    }
    Ok(())
}

/// `e`, saying it came from writing `file`.
fn named(file: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{file}: {e}"))
}
