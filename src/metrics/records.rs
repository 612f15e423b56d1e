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
    /// Still waiting (or preempted) when the run ended: the policy never (re)started it,
    /// e.g. a job larger than its tenant's quota.
    Unfinished,
    /// Stopped by a failure after its retry limit (`[reliability] retry_limit`): its
    /// start and end are its first start and the failure that ended it.
    Failed,
}

impl Outcome {
    /// The name written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Censored => "censored",
            Outcome::Skipped => "skipped",
            Outcome::Unfinished => "unfinished",
            Outcome::Failed => "failed",
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
    /// Time it held GPUs (its run time; less than `end − start` if it was preempted).
    pub busy: SimTime,
    /// Nodes of its last run (0 if it never ran, or ran unplaced in as-recorded mode).
    pub nodes: u32,
    /// Times it was preempted.
    pub preemptions: u32,
    /// Work lost to preemptions (done since the last checkpoint), at nominal speed.
    pub lost_work: SimTime,
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
    /// Time from submission to the first start (the delay before the job first held
    /// GPUs; later suspensions are in [`Self::not_running`]).
    pub fn wait(&self) -> Option<SimTime> {
        self.start.map(|s| s - self.submit)
    }

    /// Job completion time: submission to end.
    pub fn jct(&self) -> Option<SimTime> {
        self.end.map(|e| e - self.submit)
    }

    /// Time between submission and end during which the job held no GPUs: queued
    /// before its first start plus suspended after each preemption (`jct − run time`).
    /// Equals [`Self::wait`] for a job never preempted; under preemptive policies the
    /// first start can come at once while the job spends most of its life suspended.
    pub fn not_running(&self) -> Option<SimTime> {
        self.jct().map(|j| j.saturating_sub(self.busy))
    }

    /// Time spent holding GPUs, for jobs that ran.
    pub fn run_time(&self) -> Option<SimTime> {
        self.end.map(|_| self.busy)
    }
}

/// One stretch of time a job held GPUs: from a start to its finish or preemption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The job.
    pub job: JobId,
    /// When the stretch began.
    pub start: SimTime,
    /// When it ended.
    pub end: SimTime,
    /// Index of its first grant in the run's grant list.
    pub first_grant: u32,
    /// Grants (one per node; 0 if unplaced).
    pub grants: u32,
    /// Share of each granted GPU, in thousandths.
    pub milli_per_gpu: u32,
}
