//! The two seams users plug their own policies into.

use crate::engine::SimTime;
use crate::topology::fabric::Fabric;
use crate::topology::GpuModelId;
use crate::workload::{GpuDemand, GpuTypeSet, HostDemand, JobId, TenantId, UserId};

use super::free::{FreeCapacity, GpuGrant};
use super::signal::{HourlySignal, SignalKind};

/// Bits over the cluster's GPU models ([`crate::topology::GpuModelId`]) a job may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelMask(pub u64);

impl ModelMask {
    /// Whether model index `i` is allowed.
    pub const fn allows(self, i: usize) -> bool {
        (self.0 >> i) & 1 == 1
    }

    /// The cluster models a job constrained to `types` may use: the named types the
    /// cluster has (`model_of_type`, indexed like the workload's type names), within
    /// `available`; an unconstrained job may use every available model.
    pub fn resolve(
        types: GpuTypeSet,
        model_of_type: &[Option<GpuModelId>],
        available: ModelMask,
    ) -> ModelMask {
        if types.is_any() {
            return available;
        }
        let named = types
            .indices()
            .filter_map(|i| model_of_type.get(i).copied().flatten())
            .fold(0, |m, id| m | 1 << id.0);
        ModelMask(named & available.0)
    }
}

/// What placement needs to know about a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlacementRequest {
    /// GPUs asked for.
    pub demand: GpuDemand,
    /// GPU models allowed.
    pub models: ModelMask,
    /// CPU and memory asked for (split over nodes in proportion to GPUs, see
    /// [`HostDemand::part`]).
    pub host: HostDemand,
    /// Tensor-parallel degree (1: none): a placement that honours it gives every node a
    /// multiple of `tp` of the gang's GPUs, so no tensor-parallel group spans two nodes.
    pub tp: u32,
}

/// Chooses which GPUs a job gets.
///
/// `place` reads the free-capacity index and writes the grants (one per node) into
/// `out`, or returns false when the job does not fit now. It must grant exactly
/// `demand.gpus` GPUs, each with at least `demand.milli_per_gpu` free, all of one model,
/// never the same GPU twice, and only on nodes with the CPU and memory for their part of
/// `host` ([`FreeCapacity::hosts`]); the simulator checks this.
pub trait Placement: Send {
    /// The policy's registry name.
    fn name(&self) -> &'static str;

    /// Asks the free-capacity index for the optional indexes this policy queries (e.g.
    /// [`FreeCapacity::track_racks`]); called once before the run.
    fn prepare(&self, _free: &mut FreeCapacity) {}

    /// Whether the policy scores nodes by the workload's task mix (the fragmentation
    /// index), which the simulator then keeps even for whole-GPU workloads.
    fn uses_task_mix(&self) -> bool {
        false
    }

    /// Picks GPUs for `req`, appending grants to `out` (empty on entry); false if it does not fit.
    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool;

    /// The topology's network fabric, given once before the run (and before
    /// [`Placement::prepare`]) when the topology has a `[fabric]`: topology-aware policies
    /// group nodes by its leaves; others ignore it.
    fn bind_fabric(&mut self, _fabric: &Fabric) {}

    /// [`Placement::place`] for a job that has waited `waited` since its submission. A
    /// policy that holds jobs back for a better placement (locality with a timeout)
    /// refuses here what `place` would take and sets `retry` to how much longer the job
    /// must wait before it relaxes, so that the simulator offers it again then even if
    /// nothing else happens.
    fn place_waited(
        &mut self,
        req: &PlacementRequest,
        _waited: SimTime,
        free: &FreeCapacity,
        out: &mut Vec<GpuGrant>,
        _retry: &mut Option<SimTime>,
    ) -> bool {
        self.place(req, free, out)
    }
}

/// What a queue policy may know about a waiting job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueuedJob {
    /// The job.
    pub id: JobId,
    /// When it was submitted.
    pub submit: SimTime,
    /// What placement will be asked for.
    pub request: PlacementRequest,
    /// Tenant (virtual cluster), for quotas and fair share.
    pub tenant: TenantId,
    /// Submitting user, where the trace has one (history-based policies).
    pub user: Option<UserId>,
    /// Priority from the trace (higher first under priority-aware policies).
    pub priority: i32,
    /// Nominal duration (an oracle: only policies that document this may use it).
    pub duration: SimTime,
    /// Work still to do, at nominal speed (equals `duration` until the job has run).
    pub remaining: SimTime,
    /// Service received so far: GPU share × time run (a 0.1-GPU job earns a tenth of a
    /// GPU-millisecond per millisecond), in GPU-milliseconds (2D-LAS).
    pub attained_gpu_ms: u64,
    /// Times the job has been preempted.
    pub preemptions: u32,
}

/// What a queue policy may know about a running job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunningJob {
    /// The job as it was queued, with `remaining` and `attained_gpu_ms` as of its start.
    pub job: QueuedJob,
    /// When its current run started.
    pub started: SimTime,
    /// When it will end at its current rate, if nothing changes.
    pub expected_end: SimTime,
    /// The GPU model its GPUs are of (None if it runs unplaced, as-recorded mode only):
    /// reservations and preemption count freed capacity per model.
    pub model: Option<GpuModelId>,
}

/// A job that ended, reported to the policy (history-based policies learn from these).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FinishedJob {
    /// The job as last queued.
    pub job: QueuedJob,
    /// When it ended.
    pub end: SimTime,
}

/// The simulator as a queue policy sees it during a scheduling pass.
pub trait SchedContext {
    /// The current time.
    fn now(&self) -> SimTime;

    /// Tries to place and start `job` now; true if it started.
    fn try_start(&mut self, job: &QueuedJob) -> bool;

    /// Stops a running job, releasing its GPUs; returns it (progress charged, lost work
    /// since its last checkpoint added back) for the policy to queue again. None if the
    /// job is not running.
    fn preempt(&mut self, job: JobId) -> Option<QueuedJob>;

    /// Starts `job` on capacity freed by preempting running jobs among `victims`, but
    /// only if placement can place it once they stop (asked against the capacity they
    /// would release, see [`crate::scheduler::whatif`]); victims on none of the nodes
    /// the placement chose are spared. The jobs preempted are appended to `evicted`, as
    /// [`SchedContext::preempt`] returns them, for the policy to queue again. Returns
    /// false, preempting nothing, when `job` fits nowhere even with every victim
    /// stopped (or, with power admission, when the grants found would exceed a cap).
    ///
    /// Consecutive calls for one waiting job whose victim lists each extend the last
    /// keep the victims of a failed call released in [`SchedContext::free`], so each is
    /// released once (see [`crate::scheduler::whatif::WhatIf`]); the policy calls
    /// [`SchedContext::end_preempting`] when done with the job, before reading free
    /// capacity for another.
    fn start_preempting(&mut self, job: &QueuedJob, victims: &[JobId], evicted: &mut Vec<QueuedJob>) -> bool;

    /// Puts back the capacity [`SchedContext::start_preempting`] left released after a
    /// failed call: free capacity is again what the running jobs leave. Starting or
    /// preempting a job does this first.
    fn end_preempting(&mut self);

    /// Running jobs, in a deterministic order.
    fn running(&self) -> &[RunningJob];

    /// Free capacity now (what placement sees).
    fn free(&self) -> &FreeCapacity;

    /// Asks for a scheduling pass at `at` (at least 1 ms from now) even if nothing else
    /// happens then, e.g. when a running job will cross a priority threshold.
    fn wake_at(&mut self, at: SimTime);
}

/// Decides which waiting job is offered to placement next, and which running job to
/// preempt.
///
/// The policy owns the waiting jobs in its own ordered structure; the simulator calls
/// `schedule` once per batch of simultaneous events while jobs wait, or when a wake-up
/// the policy asked for fires.
pub trait QueuePolicy: Send {
    /// The policy's registry name.
    fn name(&self) -> &'static str;

    /// A job arrives, or comes back after a preemption, and waits.
    fn enqueue(&mut self, job: QueuedJob);

    /// One scheduling pass: offer waiting jobs to `ctx` in policy order, dropping those
    /// that start; preempt running jobs if the policy does that.
    fn schedule(&mut self, ctx: &mut dyn SchedContext);

    /// A job ended (called before the next pass).
    fn on_finish(&mut self, _job: &FinishedJob) {}

    /// A running job's rate changed (power throttling, GPU speed), so its
    /// `expected_end` moved; called before the next pass. Policies that keep running
    /// jobs' ends (backfilling reservations) update them here.
    fn on_rate_change(&mut self, _job: &RunningJob) {}

    /// The workload's tenant names, indexed by [`TenantId`], given once before the run
    /// (policies with per-tenant tables keyed by name resolve them here).
    fn bind_tenants(&mut self, _names: &[String]) {}

    /// The hourly signal (price or carbon) the policy follows, if any: the scenario
    /// then builds it from `[economics]` and hands it over with `bind_signal`.
    fn wants_signal(&self) -> Option<SignalKind> {
        None
    }

    /// The signal asked for by `wants_signal`, given once before the run.
    fn bind_signal(&mut self, _signal: &HourlySignal) {}

    /// Tenant names the policy's parameters mention that are not among `names` (the
    /// workload's tenants): a typo that would otherwise silently do nothing.
    fn unknown_tenants(&self, _names: &[String]) -> Vec<String> {
        Vec::new()
    }

    /// Jobs waiting.
    fn len(&self) -> usize;

    /// Whether no job waits.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
