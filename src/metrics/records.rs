use serde::Serialize;

use crate::engine::SimTime;
use crate::workload::{GpuDemand, JobId, TenantId};

/// How a job's life ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Ran to its end.
    Completed,
    /// Ran until the end of the trace, which did not record its real end.
    Censored,
    /// Never ran: the cluster cannot host it (reason in [`JobRecord::skip_reason`]).
    Skipped,
}

impl Outcome {
    /// The name written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Censored => "censored",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One job's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    /// The job.
    pub id: JobId,
    /// Submission time.
    pub submit: SimTime,
    /// Start time (None if skipped).
    pub start: Option<SimTime>,
    /// End time (None if skipped).
    pub end: Option<SimTime>,
    /// GPUs asked for.
    pub demand: GpuDemand,
    /// Nodes the job ran on (0 if it never ran, or ran unplaced in as-recorded mode).
    pub nodes: u32,
    /// Index of its first GPU grant in the run's grant list (one grant per node).
    pub first_grant: u32,
    /// Name of the GPU model it ran on, if placed.
    pub gpu_model: Option<u16>,
    /// Tenant.
    pub tenant: TenantId,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it was skipped, for skipped jobs.
    pub skip_reason: Option<&'static str>,
}

impl JobRecord {
    /// Time from submission to start.
    pub fn wait(&self) -> Option<SimTime> {
        self.start.map(|s| s - self.submit)
    }

    /// Job completion time: submission to end.
    pub fn jct(&self) -> Option<SimTime> {
        self.end.map(|e| e - self.submit)
    }

    /// Time spent running.
    pub fn run_time(&self) -> Option<SimTime> {
        Some(self.end? - self.start?)
    }
}
