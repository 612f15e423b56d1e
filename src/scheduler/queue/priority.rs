use std::cmp::Reverse;

use crate::engine::SimTime;
use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{FinishedJob, QueuePolicy, QueuedJob, SchedContext};

use super::classes::{ClassQueue, RunningIndex};
use super::victims::Victims;

/// Eviction order: lowest priority first, then most recently started.
type EvictKey = (i32, Reverse<SimTime>);

/// Priority classes with preemption: waiting jobs are offered highest `priority` first
/// (ties: earliest submitted), skipping those that do not fit; with `preempt = true` a
/// waiting job that still does not fit evicts strictly lower-priority running jobs.
///
/// Source: fixed-priority preemptive scheduling as in Kubernetes pod priority and
/// preemption (kubernetes.io, "Pod Priority and Preemption") and Borg's production vs
/// batch bands (Verma et al., EuroSys 2015).
///
/// Victims are chosen deterministically: lowest priority first, then most recently
/// started, then job id, never a job started in this same pass, and only among jobs on a
/// GPU model the newcomer may use. They are evicted only when placement, asked against
/// the capacity they would free (per node and per GPU), places the newcomer (see
/// `victims.rs`); those on nodes it does not use are spared, and if no set works nobody
/// is evicted. A job can only be evicted by a strictly higher-priority one, so evictions
/// cannot cycle. A job short of room only through fragmentation (enough free GPUs by
/// count on a model, none placeable) evicts nobody on that model. Evicted jobs pay the
/// scenario's checkpoint/restore cost and wait again under their priority.
///
/// Cost: ordering as in [`super::Sjf`]; the running jobs it started are kept in an
/// ordered index, so a waiting job's victims cost O(log R + candidates walked), plus a
/// placement query per candidate once the pooled count suffices.
#[derive(Debug)]
pub struct Priority {
    queue: ClassQueue<(Reverse<i32>, SimTime)>,
    preempt: bool,
    running: RunningIndex<EvictKey>,
    victims: Victims,
    evicted: Vec<QueuedJob>,
}

impl Priority {
    /// A priority queue with `preempt` read from `p`.
    pub fn from_params(p: &mut PolicyParams) -> Result<Self, PolicyError> {
        Ok(Priority {
            queue: ClassQueue::default(),
            preempt: p.bool("preempt", true)?,
            running: RunningIndex::default(),
            victims: Victims::default(),
            evicted: Vec::new(),
        })
    }

    fn push(&mut self, job: QueuedJob) {
        self.queue.push((Reverse(job.priority), job.submit), job);
    }

    /// Starts what fits, highest priority first, and indexes the jobs started.
    fn start_fitting(&mut self, ctx: &mut dyn SchedContext) {
        let running = &mut self.running;
        self.queue.sweep(|_, job| {
            let started = ctx.try_start(job);
            if started {
                running.started(&*ctx, |r| (r.job.priority, Reverse(r.started)));
            }
            started
        });
    }
}

impl QueuePolicy for Priority {
    fn name(&self) -> &'static str {
        "priority"
    }

    fn enqueue(&mut self, job: QueuedJob) {
        self.push(job);
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        self.start_fitting(ctx);
        if !self.preempt {
            return;
        }
        let (Some((Reverse(top), _)), Some((lowest, _))) = (self.queue.best_key(), self.running.first())
        else {
            return;
        };
        // Nobody runs below the top waiting priority, or no waiter lacks room by count.
        if lowest >= top || !self.queue.any_head_short(ctx.free()) {
            return;
        }
        let now = ctx.now();
        let (running, victims, evicted) = (&mut self.running, &mut self.victims, &mut self.evicted);
        evicted.clear();
        self.queue.sweep(|(Reverse(prio), _), job| {
            let before = evicted.len();
            let candidates = running.candidates(
                move |&(p, _)| p < prio,
                move |&(_, Reverse(started))| started == now,
            );
            if !victims.evict_for(ctx, job, candidates, true, evicted) {
                return false;
            }
            for e in &evicted[before..] {
                running.remove(e.id);
            }
            running.started(&*ctx, |r| (r.job.priority, Reverse(r.started)));
            true
        });
        if self.evicted.is_empty() {
            return;
        }
        let mut evicted = std::mem::take(&mut self.evicted);
        for job in evicted.drain(..) {
            self.push(job);
        }
        self.evicted = evicted;
        self.start_fitting(ctx);
    }

    fn on_finish(&mut self, job: &FinishedJob) {
        self.running.remove(job.job.id);
    }

    fn len(&self) -> usize {
        self.queue.len()
    }
}
