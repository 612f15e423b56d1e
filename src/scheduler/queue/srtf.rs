use std::cmp::Reverse;

use crate::engine::SimTime;
use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{FinishedJob, QueuePolicy, QueuedJob, SchedContext};

use super::classes::{ClassQueue, RunningIndex};
use super::estimate::Estimator;
use super::victims::Victims;

/// Eviction order of SRTF: latest estimated end first (longest remaining), then most
/// recently started.
type EvictKey = (Reverse<SimTime>, Reverse<SimTime>);

/// Shortest Remaining Time First, preemptive: waiting jobs are offered shortest
/// estimated remaining time first (skipping those that do not fit), and a waiting job
/// that still does not fit may evict running jobs with a longer remaining time.
///
/// Source: SRTF (Schrage 1968; the preemptive SJF of Silberschatz et al., *Operating
/// System Concepts*), the policy Tiresias (Gu et al., NSDI 2019) uses as
/// its duration-aware upper bound for DL clusters. Run times are the trace's (oracle)
/// unless `estimate = "noisy"` (the `estimate` parameter in docs/policies.md); a running job's estimated
/// remaining time is its estimated end minus now.
///
/// Anti-thrash rule: a running job is a victim only if its estimated remaining time
/// exceeds `preempt_factor` (default 2) times the newcomer's and it did not start in
/// this same pass. Victims are taken longest remaining first (then most recently
/// started), only among jobs on a GPU model the newcomer may use, and are evicted only
/// when placement, asked against the capacity they would free (per node and per GPU),
/// places the newcomer (see `victims.rs`); those on nodes it does not use are spared,
/// and if no set works nobody is evicted. A job can then only be evicted by one with
/// less than half its remaining work, so no two jobs can evict each other back and
/// forth. A job short of room only through fragmentation (enough free GPUs by count on
/// a model, none placeable) evicts nobody on that model. Evicted jobs pay the
/// scenario's checkpoint/restore cost.
///
/// Cost: ordering as in [`super::Sjf`]; the running jobs it started are kept in an
/// ordered index, so a waiting job's victims cost O(log R + candidates walked), plus a
/// placement query per candidate once the pooled count suffices; never a scan of the
/// running set.
#[derive(Debug)]
pub struct Srtf {
    queue: ClassQueue<u64>,
    est: Estimator,
    preempt_factor: f64,
    running: RunningIndex<EvictKey>,
    victims: Victims,
    evicted: Vec<QueuedJob>,
}

impl Srtf {
    /// An SRTF queue with its estimate and anti-thrash parameters read from `p`.
    pub fn from_params(p: &mut PolicyParams) -> Result<Self, PolicyError> {
        let est = Estimator::from_params(p)?;
        let preempt_factor = p.f64("preempt_factor", 2.0)?;
        if preempt_factor < 1.0 {
            return Err(p.error("preempt_factor", format!("must be ≥ 1, got {preempt_factor}")));
        }
        Ok(Srtf {
            queue: ClassQueue::default(),
            est,
            preempt_factor,
            running: RunningIndex::default(),
            victims: Victims::default(),
            evicted: Vec::new(),
        })
    }

    /// Starts what fits, shortest remaining first, and indexes the jobs started.
    fn start_fitting(&mut self, ctx: &mut dyn SchedContext) {
        let (est, running) = (&mut self.est, &mut self.running);
        self.queue.sweep(|_, job| {
            let started = ctx.try_start(job);
            if started {
                let now = ctx.now();
                running.started(&*ctx, |r| (Reverse(est.running_end(r, now)), Reverse(r.started)));
            }
            started
        });
    }
}

impl QueuePolicy for Srtf {
    fn name(&self) -> &'static str {
        "srtf"
    }

    fn enqueue(&mut self, job: QueuedJob) {
        let key = self.est.waiting(&job);
        self.queue.push(key, job);
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        self.start_fitting(ctx);
        let (Some(shortest), Some((Reverse(latest_end), _))) = (self.queue.best_key(), self.running.first())
        else {
            return;
        };
        let now = ctx.now();
        let factor = self.preempt_factor;
        let bar = |rem: u64| SimTime(now.as_ms().saturating_add((rem as f64 * factor) as u64));
        // Nobody runs long enough for the shortest waiter, or no waiter lacks room by
        // count: no eviction can help.
        if latest_end <= bar(shortest) || !self.queue.any_head_short(ctx.free()) {
            return;
        }
        let (est, running, victims, evicted) = (
            &mut self.est,
            &mut self.running,
            &mut self.victims,
            &mut self.evicted,
        );
        evicted.clear();
        self.queue.sweep(|rem, job| {
            let end_bar = bar(rem);
            let before = evicted.len();
            let candidates = running.candidates(
                move |&(Reverse(end), _)| end > end_bar,
                move |&(_, Reverse(started))| started == now,
            );
            if !victims.evict_for(ctx, job, candidates, true, evicted) {
                return false;
            }
            for e in &evicted[before..] {
                running.remove(e.id);
            }
            running.started(&*ctx, |r| (Reverse(est.running_end(r, now)), Reverse(r.started)));
            true
        });
        if self.evicted.is_empty() {
            return;
        }
        let mut evicted = std::mem::take(&mut self.evicted);
        for job in evicted.drain(..) {
            let key = self.est.waiting(&job);
            self.queue.push(key, job);
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
