use std::cmp::Reverse;

use crate::engine::SimTime;
use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{QueuePolicy, QueuedJob, SchedContext};
use crate::workload::JobId;

use super::classes::{choose_victims, sort_prefix, ClassQueue, Victim, CANDIDATES_SORTED_FIRST};

/// Priority classes with preemption: waiting jobs are offered highest `priority` first
/// (ties: earliest submitted), skipping those that do not fit; with `preempt = true` a
/// waiting job that still does not fit evicts strictly lower-priority running jobs.
///
/// Source: fixed-priority preemptive scheduling as in Kubernetes pod priority and
/// preemption (kubernetes.io, "Pod Priority and Preemption") and Borg's production vs
/// batch bands (Verma et al., EuroSys 2015, §2.5).
///
/// Victims are chosen deterministically: lowest priority first, then most recently
/// started, then job id; only the fewest of them, on one GPU model, that free enough
/// capacity by pooled count, and never a job started in this same pass. A job can only
/// be evicted by a strictly higher-priority one, so evictions cannot cycle. Evicted jobs
/// pay the scenario's checkpoint/restore cost and wait again under their priority.
///
/// Cost: ordering as in [`super::Sjf`]; a pass with jobs still waiting also sorts the
/// running jobs by priority, O(R log R) for R running jobs.
#[derive(Debug)]
pub struct Priority {
    queue: ClassQueue<(Reverse<i32>, SimTime)>,
    preempt: bool,
    /// Scratch: (priority, started, victim) in eviction order.
    candidates: Vec<(i32, SimTime, Victim)>,
    victims: Vec<Victim>,
    chosen: Vec<JobId>,
    evicted: Vec<QueuedJob>,
}

impl Priority {
    /// A priority queue with `preempt` read from `p`.
    pub fn from_params(p: &mut PolicyParams) -> Result<Self, PolicyError> {
        Ok(Priority {
            queue: ClassQueue::default(),
            preempt: p.bool("preempt", true)?,
            candidates: Vec::new(),
            victims: Vec::new(),
            chosen: Vec::new(),
            evicted: Vec::new(),
        })
    }

    fn push(&mut self, job: QueuedJob) {
        self.queue.push((Reverse(job.priority), job.submit), job);
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
        self.queue.sweep(|_, job| ctx.try_start(job));
        if !self.preempt {
            return;
        }
        let Some((Reverse(top), _)) = self.queue.best_key() else {
            return;
        };
        let now = ctx.now();
        // Only jobs below the top waiting priority are candidates; usually none, and
        // then the pass ends after this O(R) scan.
        self.candidates.clear();
        for r in ctx.running() {
            let Some(model) = r.model else { continue };
            if r.started < now && r.job.priority < top {
                let victim = Victim {
                    id: r.job.id,
                    model,
                    demand: r.job.request.demand,
                };
                self.candidates.push((r.job.priority, r.started, victim));
            }
        }
        if self.candidates.is_empty() {
            return;
        }
        let key = |&(prio, started, v): &(i32, SimTime, Victim)| (prio, Reverse(started), v.id);
        let mut sorted = sort_prefix(&mut self.candidates, CANDIDATES_SORTED_FIRST, key);
        let lowest = self.candidates[0].0;
        let (candidates, victims, chosen, evicted) = (
            &mut self.candidates,
            &mut self.victims,
            &mut self.chosen,
            &mut self.evicted,
        );
        evicted.clear();
        self.queue.sweep(|(Reverse(prio), _), job| {
            if prio <= lowest {
                return false;
            }
            let mut n = candidates[..sorted].partition_point(|c| c.0 < prio);
            victims.clear();
            victims.extend(candidates[..n].iter().map(|c| c.2));
            if !choose_victims(ctx.free(), job, victims, chosen) {
                if n < sorted || sorted == candidates.len() {
                    return false;
                }
                // Every ordered candidate qualified but was not enough: order them all.
                candidates.sort_unstable_by_key(key);
                sorted = candidates.len();
                n = candidates.partition_point(|c| c.0 < prio);
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
            self.push(job);
        }
        self.evicted = evicted;
        self.queue.sweep(|_, job| ctx.try_start(job));
    }

    fn len(&self) -> usize {
        self.queue.len()
    }
}
