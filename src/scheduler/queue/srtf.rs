use std::cmp::Reverse;

use crate::engine::SimTime;
use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{QueuePolicy, QueuedJob, SchedContext};
use crate::workload::JobId;

use super::classes::{choose_victims, sort_prefix, ClassQueue, Victim, CANDIDATES_SORTED_FIRST};
use super::estimate::Estimator;

/// Shortest Remaining Time First, preemptive: waiting jobs are offered shortest
/// estimated remaining time first (skipping those that do not fit), and a waiting job
/// that still does not fit may evict running jobs with a longer remaining time.
///
/// Source: SRTF (Schrage 1968; the preemptive SJF of Silberschatz et al., *Operating
/// System Concepts*, §5.3.2), the policy Tiresias (Gu et al., NSDI 2019, §2.2) uses as
/// its duration-aware upper bound for DL clusters. Run times are the trace's (oracle)
/// unless `estimate = "noisy"` (see [`super::estimate`]); a running job's estimated
/// remaining time is its expected end at its current rate, minus now, times its error
/// factor.
///
/// Anti-thrash rule: a running job is a victim only if its estimated remaining time
/// exceeds `preempt_factor` (default 2) times the newcomer's, it did not start in this
/// same pass, and it belongs to the fewest victims, longest remaining first, that free
/// enough GPUs of one model (pooled count) for the newcomer. A job can then only be
/// evicted by one with less than half its remaining work, so no two jobs can evict each
/// other back and forth. Evicted jobs pay the scenario's checkpoint/restore cost.
///
/// Cost: ordering as in [`super::Sjf`]; a pass with jobs still waiting also sorts the
/// running jobs by remaining time, O(R log R) for R running jobs.
#[derive(Debug)]
pub struct Srtf {
    queue: ClassQueue<u64>,
    est: Estimator,
    preempt_factor: f64,
    /// Scratch: (estimated remaining ms, when started, victim), longest first.
    candidates: Vec<(u64, SimTime, Victim)>,
    victims: Vec<Victim>,
    chosen: Vec<JobId>,
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
            candidates: Vec::new(),
            victims: Vec::new(),
            chosen: Vec::new(),
            evicted: Vec::new(),
        })
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
        self.queue.sweep(|_, job| ctx.try_start(job));
        let Some(shortest) = self.queue.best_key() else {
            return;
        };
        let now = ctx.now();
        let factor = self.preempt_factor;
        // Only jobs the shortest waiter could evict are candidates; usually none, and
        // then the pass ends after this O(R) scan.
        let bar = shortest as f64 * factor;
        self.candidates.clear();
        for r in ctx.running() {
            let Some(model) = r.model else { continue };
            if r.started == now {
                continue;
            }
            let rem = self.est.running(r, now);
            if rem as f64 > bar {
                let victim = Victim {
                    id: r.job.id,
                    model,
                    demand: r.job.request.demand,
                };
                self.candidates.push((rem, r.started, victim));
            }
        }
        if self.candidates.is_empty() {
            return;
        }
        let key = |&(rem, started, v): &(u64, SimTime, Victim)| (Reverse(rem), Reverse(started), v.id);
        let mut sorted = sort_prefix(&mut self.candidates, CANDIDATES_SORTED_FIRST, key);
        let longest = self.candidates[0].0;
        let (candidates, victims, chosen, evicted) = (
            &mut self.candidates,
            &mut self.victims,
            &mut self.chosen,
            &mut self.evicted,
        );
        evicted.clear();
        self.queue.sweep(|rem, job| {
            let threshold = rem as f64 * factor;
            if longest as f64 <= threshold {
                return false;
            }
            let mut n = candidates[..sorted].partition_point(|c| c.0 as f64 > threshold);
            victims.clear();
            victims.extend(candidates[..n].iter().map(|c| c.2));
            if !choose_victims(ctx.free(), job, victims, chosen) {
                if n < sorted || sorted == candidates.len() {
                    return false;
                }
                // Every ordered candidate qualified but was not enough: order them all.
                candidates.sort_unstable_by_key(key);
                sorted = candidates.len();
                n = candidates.partition_point(|c| c.0 as f64 > threshold);
                victims.clear();
                victims.extend(candidates[..n].iter().map(|c| c.2));
                if !choose_victims(ctx.free(), job, victims, chosen) {
                    return false;
                }
            }
            for &id in chosen.iter() {
                evicted.extend(ctx.preempt(id));
            }
            candidates.retain(|c| !chosen.contains(&c.2.id));
            sorted -= chosen.len();
            ctx.try_start(job)
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
        self.queue.sweep(|_, job| ctx.try_start(job));
    }

    fn len(&self) -> usize {
        self.queue.len()
    }
}
