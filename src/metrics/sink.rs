//! Where a run hands its job records and time-series rows as they become final, instead
//! of keeping them for the end (issue 17: memory bounded by what is in flight).

use std::io;

use crate::workload::JobSpec;

use super::records::JobRecord;
use super::series::TimeSeries;

/// Receives a run's tables as they are produced: the writer of `jobs.csv` and
/// `timeseries.csv` in `dcsim run` ([`crate::report::StreamedTables`], which writes them on a thread of its own). An error stops
/// the run and is returned by [`crate::sim::Simulation::run_into`].
pub trait TableSink {
    /// Job `spec`'s record, once the job's state is final; called in job-id order, once
    /// per job (those skipped included).
    fn job(&mut self, record: &JobRecord, spec: &JobSpec) -> io::Result<()>;

    /// Change points that are final, in time order, following those handed before. The
    /// last call, at the run's end, hands the rest.
    fn series(&mut self, rows: TimeSeries) -> io::Result<()>;

    /// Called now and then as the run goes; an error (e.g. an interrupt) stops the run,
    /// however long until its next record or row.
    fn check(&mut self) -> io::Result<()>;
}
