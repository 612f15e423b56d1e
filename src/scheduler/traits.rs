//! The two seams users plug their own policies into.

use crate::engine::SimTime;
use crate::workload::{GpuDemand, JobId};

use super::free::{FreeCapacity, GpuGrant};

/// Bits over the cluster's GPU models ([`crate::topology::GpuModelId`]) a job may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelMask(pub u64);

impl ModelMask {
    /// Whether model index `i` is allowed.
    pub const fn allows(self, i: usize) -> bool {
        (self.0 >> i) & 1 == 1
    }
}

/// What placement needs to know about a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlacementRequest {
    /// GPUs asked for.
    pub demand: GpuDemand,
    /// GPU models allowed.
    pub models: ModelMask,
}

/// Chooses which GPUs a job gets.
///
/// `place` reads the free-capacity index and writes the grants (one per node) into
/// `out`, or returns false when the job does not fit now. It must grant exactly
/// `demand.gpus` GPUs, each with at least `demand.milli_per_gpu` free, all of one model,
/// and never the same GPU twice; the simulator checks this in debug builds and tests.
pub trait Placement: Send {
    /// The policy's registry name.
    fn name(&self) -> &'static str;

    /// Picks GPUs for `req`, appending grants to `out` (empty on entry); false if it does not fit.
    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool;
}

/// What a queue policy may know about a waiting job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedJob {
    /// The job.
    pub id: JobId,
    /// When it was submitted.
    pub submit: SimTime,
    /// What placement will be asked for.
    pub request: PlacementRequest,
    /// Priority from the trace (higher first under priority-aware policies).
    pub priority: i32,
    /// Nominal duration (an oracle: only policies that document this may use it).
    pub duration: SimTime,
}

/// Starts jobs on behalf of a queue policy during a scheduling pass.
pub trait Starter {
    /// Tries to place and start `job` now; true if it started.
    fn try_start(&mut self, job: &QueuedJob) -> bool;
}

/// Decides which waiting job is offered to placement next.
///
/// The policy owns the waiting jobs in its own ordered structure; the simulator calls
/// `schedule` once per batch of simultaneous events.
pub trait QueuePolicy: Send {
    /// The policy's registry name.
    fn name(&self) -> &'static str;

    /// A job arrives and waits.
    fn enqueue(&mut self, job: QueuedJob);

    /// One scheduling pass: offer waiting jobs to `starter` in policy order, dropping
    /// those that start.
    fn schedule(&mut self, now: SimTime, starter: &mut dyn Starter);

    /// Jobs waiting.
    fn len(&self) -> usize;

    /// Whether no job waits.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
