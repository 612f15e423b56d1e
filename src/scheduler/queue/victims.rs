//! Victim selection shared by every preemptive queue policy (tiresias, gittins, srtf,
//! priority, quota): the one rule of issue 10, that a waiting job evicts only running
//! jobs whose release provably lets it be placed, and never a job whose GPUs it cannot
//! use.
//!
//! Candidates come in the policy's eviction order. A candidate counts only if it runs on
//! a GPU model the waiter may use; candidates are gathered per model (a placement takes
//! one model). Once a model's pooled free share plus its gathered victims' shares covers
//! the request (a necessary condition, cheap to keep), the simulator is asked to start
//! the waiter as if those victims had stopped ([`SchedContext::start_preempting`]): it
//! asks placement against the capacity they would free, per GPU and per node, and evicts
//! (only those on nodes the placement chose) when, and only when, the waiter then
//! starts. Otherwise the walk goes on, asking again each time a model's gathered set has
//! doubled, and once more with each model's whole set when the walk ends; if no set
//! works nobody is evicted.
//!
//! Cost: one pass over the candidates and O(log candidates) placement queries per model,
//! each touching only the gathered victims' nodes. A set asked for may hold up to twice
//! the shortest working prefix of the policy's order; the victims on nodes the placement
//! does not use are spared.

use crate::scheduler::traits::{QueuedJob, SchedContext};
use crate::topology::GpuModelId;
use crate::workload::{GpuDemand, JobId, MILLI_PER_GPU};

/// A running job offered as a victim: its id, the GPU model it runs on, its demand.
pub(crate) type Candidate = (JobId, GpuModelId, GpuDemand);

/// Scratch space for [`Victims::evict_for`], reused across calls.
#[derive(Debug, Default)]
pub(crate) struct Victims {
    /// Per model index: pooled free share plus the gathered victims', thousandths; None
    /// before the model's first candidate, `u64::MAX` for a model passed over.
    room: Vec<Option<u64>>,
    /// Per model index: victims gathered so far, in eviction order.
    gathered: Vec<Vec<JobId>>,
    /// Per model index: the gathered count at which placement was last asked (0: never).
    asked: Vec<usize>,
}

impl Victims {
    /// Walks `candidates` (eviction order) for `job` and starts it by evicting the first
    /// gathered set on one model whose release lets placement place it; appends the
    /// jobs evicted to `evicted` and returns true, or false with nobody evicted.
    ///
    /// `skip_fragmented`: pass over models where the waiter already has room by pooled
    /// count ([`super::classes::free_for`]) and failed placement only through
    /// fragmentation (srtf's and priority's documented rule, which keeps their passes
    /// cheap).
    pub(crate) fn evict_for(
        &mut self,
        ctx: &mut dyn SchedContext,
        job: &QueuedJob,
        candidates: impl Iterator<Item = Candidate>,
        skip_fragmented: bool,
        evicted: &mut Vec<QueuedJob>,
    ) -> bool {
        let need = job.request.demand.total_milli();
        for r in &mut self.room {
            *r = None;
        }
        for g in &mut self.gathered {
            g.clear();
        }
        for a in &mut self.asked {
            *a = 0;
        }
        for (id, m, d) in candidates {
            let free = ctx.free();
            if !job.request.models.allows(usize::from(m.0))
                || free.capacity(m) * u64::from(MILLI_PER_GPU) < need
            {
                continue;
            }
            let i = usize::from(m.0);
            if i >= self.room.len() {
                self.room.resize(i + 1, None);
                self.gathered.resize_with(i + 1, Vec::new);
                self.asked.resize(i + 1, 0);
            }
            if self.room[i].is_none() {
                if skip_fragmented && super::classes::free_for(free, m, job.request.demand) >= need {
                    self.room[i] = Some(u64::MAX);
                    continue;
                }
                self.room[i] = Some(free.free_milli(m));
            }
            let room = self.room[i].unwrap_or(0);
            if room == u64::MAX {
                continue;
            }
            let room = room + d.total_milli();
            self.room[i] = Some(room);
            self.gathered[i].push(id);
            let n = self.gathered[i].len();
            if room >= need && n >= 2 * self.asked[i] {
                self.asked[i] = n;
                if ctx.start_preempting(job, &self.gathered[i], evicted) {
                    ctx.end_preempting();
                    return true;
                }
            }
        }
        for i in 0..self.gathered.len() {
            let n = self.gathered[i].len();
            let enough = self.room[i].is_some_and(|r| r != u64::MAX && r >= need);
            if enough && self.asked[i] < n && ctx.start_preempting(job, &self.gathered[i], evicted) {
                ctx.end_preempting();
                return true;
            }
        }
        ctx.end_preempting();
        false
    }
}
