use std::collections::{BTreeMap, BTreeSet};

use crate::engine::SimTime;
use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{
    FinishedJob, PlacementRequest, QueuePolicy, QueuedJob, RunningJob, SchedContext,
};
use crate::topology::GpuModelId;
use crate::workload::JobId;

use super::classes::{fits_pooled, models_for};
use super::estimate::Estimator;

/// Slurm's default for how many waiting jobs one backfill pass examines
/// (`bf_max_job_test`, slurm.conf(5)).
pub const DEFAULT_BF_MAX_JOB_TEST: u64 = 100;

/// EASY backfilling: FIFO order; when the head does not fit it gets a reservation (its
/// "shadow time", the earliest instant enough running jobs will have ended), and later
/// jobs may start now if they fit and either end by the shadow time or use only "extra"
/// GPUs the reservation does not need.
///
/// Source: Lifka, "The ANL/IBM SP scheduling system", JSSPP 1995; Mu'alem & Feitelson,
/// "Utilization, predictability, workloads, and user runtime estimates in scheduling the
/// IBM SP2 with backfilling", IEEE TPDS 12(6), 2001.
///
/// Estimates: running jobs end at their `expected_end` (the trace's duration at their
/// current rate, an oracle, kept current when a rate changes) and candidates run their trace duration, unless
/// `estimate = "noisy"` scales both by each job's error factor. With noisy estimates a
/// backfilled job may overrun the shadow time and delay the head, as under real EASY
/// (which, unlike Slurm, does not kill jobs at their limit here).
///
/// Approximation: the reservation counts GPUs pooled per GPU model (free thousandths of
/// the model plus what each running job on it releases), not node by node, and the head
/// reserves on the allowed model with the earliest shadow time. Where placement needs
/// more than the pooled count (a gang that fragmentation keeps from fitting), the head
/// may start after its shadow time; backfilled jobs still never use more than the pooled
/// extra.
///
/// Cost: a pass looks at most at `bf_max_job_test` jobs behind the head (Slurm's name
/// and default, 100), skips a request class after its first placement failure, and
/// finds the shadow time from its own index of the jobs it started, per model by
/// estimated end, in O(k log R) for the k earliest ends needed. A pass after which no job ended or started (only arrivals)
/// reuses the reservation and tests only the new jobs.
#[derive(Debug)]
pub struct Easy {
    waiting: BTreeMap<u64, QueuedJob>,
    next_seq: u64,
    est: Estimator,
    max_test: usize,
    /// The running jobs it started, per GPU model index, by estimated end:
    /// (end, job, thousandths released).
    ends: Vec<BTreeSet<(SimTime, JobId, u64)>>,
    /// Per job id: its model index and entry in `ends` while running.
    entry: Vec<Option<(usize, SimTime, u64)>>,
    failed: Vec<PlacementRequest>,
    started: Vec<u64>,
    /// A job ended (or one started) since the last pass: the reservation must be
    /// recomputed and the whole window tested again.
    dirty: bool,
    /// The blocked head of the last pass and its reservation (model, shadow, extra).
    last: Option<(u64, GpuModelId, SimTime, u64)>,
    /// Jobs with a sequence number below this were tested in an earlier pass.
    tested_below: u64,
}

impl Easy {
    /// An EASY queue with its estimate and depth parameters read from `p`.
    pub fn from_params(p: &mut PolicyParams) -> Result<Self, PolicyError> {
        let est = Estimator::from_params(p)?;
        let max_test = p.u64("bf_max_job_test", DEFAULT_BF_MAX_JOB_TEST)?;
        Ok(Easy {
            waiting: BTreeMap::new(),
            next_seq: 0,
            est,
            max_test: usize::try_from(max_test).unwrap_or(usize::MAX),
            ends: Vec::new(),
            entry: Vec::new(),
            failed: Vec::new(),
            started: Vec::new(),
            dirty: true,
            last: None,
            tested_below: 0,
        })
    }

    /// The head's reservation: (model, shadow time, extra thousandths of that model
    /// free at the shadow time beyond the head's need); None if no model ever frees
    /// enough (jobs that never end).
    fn reservation(&self, ctx: &dyn SchedContext, head: &QueuedJob) -> Option<(GpuModelId, SimTime, u64)> {
        let now = ctx.now();
        let free = ctx.free();
        let need = head.request.demand.total_milli();
        let mut best: Option<(GpuModelId, SimTime, u64)> = None;
        for m in models_for(free, &head.request) {
            let avail = free.free_milli(m);
            let (shadow, extra) = if avail >= need {
                (now, avail - need)
            } else {
                let Some(ends) = self.ends.get(usize::from(m.0)) else {
                    continue;
                };
                match shadow_time(ends, now, need - avail) {
                    Some((t, freed)) => (t, avail + freed - need),
                    None => continue,
                }
            };
            if best.is_none_or(|(_, s, _)| shadow < s) {
                best = Some((m, shadow, extra));
            }
        }
        best
    }
}

/// Indexes the job `ctx` just started (the last running job) by its estimated end in
/// `ends`, remembering its entry by job id in `entry`.
fn index_start(
    ends: &mut Vec<BTreeSet<(SimTime, JobId, u64)>>,
    entry: &mut Vec<Option<(usize, SimTime, u64)>>,
    est: &mut Estimator,
    ctx: &dyn SchedContext,
) {
    if let Some(r) = ctx.running().last() {
        index(ends, entry, est, r, ctx.now());
    }
}

/// Indexes running job `r` by its estimated end (no earlier than `now`) in `ends`,
/// remembering its entry by job id in `entry`.
fn index(
    ends: &mut Vec<BTreeSet<(SimTime, JobId, u64)>>,
    entry: &mut Vec<Option<(usize, SimTime, u64)>>,
    est: &mut Estimator,
    r: &RunningJob,
    now: SimTime,
) {
    let Some(m) = r.model else { return };
    let end = est.running_end(r, now);
    let (i, milli) = (usize::from(m.0), r.job.request.demand.total_milli());
    if i >= ends.len() {
        ends.resize_with(i + 1, BTreeSet::new);
    }
    ends[i].insert((end, r.job.id, milli));
    let id = r.job.id.0 as usize;
    if id >= entry.len() {
        entry.resize(id + 1, None);
    }
    entry[id] = Some((i, end, milli));
}

/// The earliest time, from `now` on, at which the running jobs in `ends` (by end) have
/// released `deficit` thousandths, with everything ending then; None if they never do.
/// O(k log R) for the k earliest ends it needs.
fn shadow_time(ends: &BTreeSet<(SimTime, JobId, u64)>, now: SimTime, deficit: u64) -> Option<(SimTime, u64)> {
    let mut freed = 0;
    let mut shadow = None;
    for &(t, _, milli) in ends {
        let t = t.max(now);
        match shadow {
            // Everything ending at the same instant is released with it.
            Some(s) if t > s => break,
            _ => {}
        }
        freed += milli;
        if shadow.is_none() && freed >= deficit {
            shadow = Some(t);
        }
    }
    shadow.map(|s| (s, freed))
}

impl QueuePolicy for Easy {
    fn name(&self) -> &'static str {
        "easy"
    }

    fn enqueue(&mut self, job: QueuedJob) {
        self.est.waiting(&job);
        self.waiting.insert(self.next_seq, job);
        self.next_seq += 1;
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        while let Some(entry) = self.waiting.first_entry() {
            if !ctx.try_start(entry.get()) {
                break;
            }
            entry.remove();
            index_start(&mut self.ends, &mut self.entry, &mut self.est, &*ctx);
            self.dirty = true;
        }
        let Some((&head_seq, &head)) = self.waiting.first_key_value() else {
            return;
        };
        let now = ctx.now();
        // Incremental pass: if no job ended or started since the last pass and the head
        // is the same, capacity and the reservation are unchanged and every job tested
        // then would fail again (its end only moves later), so only the jobs that
        // arrived since, and fall within the window, are tested. A rate change moves an
        // expected end and marks the reservation stale too (`on_rate_change`).
        let (res_model, shadow, mut extra, from, depth) = match self.last {
            Some((seq, m, s, e)) if !self.dirty && seq == head_seq => {
                let new = (self.next_seq - self.tested_below) as usize;
                let old_behind = self.waiting.len() - 1 - new;
                (
                    m,
                    s,
                    e,
                    self.tested_below,
                    self.max_test.saturating_sub(old_behind),
                )
            }
            _ => {
                let (m, s, e) = match self.reservation(&*ctx, &head) {
                    Some(r) => r,
                    // No model ever frees enough by our count: nothing to protect.
                    None => (GpuModelId(u16::MAX), SimTime::MAX, u64::MAX),
                };
                (m, s, e, head_seq + 1, self.max_test)
            }
        };
        self.failed.clear();
        self.started.clear();
        for (&seq, job) in self.waiting.range(from..).take(depth) {
            if self.failed.contains(&job.request) {
                continue;
            }
            if !fits_pooled(ctx.free(), &job.request) {
                self.failed.push(job.request);
                continue;
            }
            let need = job.request.demand.total_milli();
            let end = SimTime(now.as_ms().saturating_add(self.est.waiting(job)));
            let by_time = end <= shadow;
            let other_model = !job.request.models.allows(usize::from(res_model.0));
            if !(by_time || other_model || need <= extra) {
                continue;
            }
            if !ctx.try_start(job) {
                self.failed.push(job.request);
                continue;
            }
            self.started.push(seq);
            let landed = ctx
                .running()
                .last()
                .filter(|r| r.job.id == job.id)
                .and_then(|r| r.model);
            index_start(&mut self.ends, &mut self.entry, &mut self.est, &*ctx);
            if !by_time && landed.is_none_or(|m| m == res_model) {
                extra = extra.saturating_sub(need);
            }
        }
        for seq in &self.started {
            self.waiting.remove(seq);
        }
        // A start shifts the window onto jobs not yet tested: test them all next time.
        self.dirty = !self.started.is_empty();
        self.last = Some((head_seq, res_model, shadow, extra));
        self.tested_below = self.next_seq;
    }

    fn on_finish(&mut self, job: &FinishedJob) {
        self.dirty = true;
        if let Some((m, end, milli)) = self.entry.get_mut(job.job.id.0 as usize).and_then(Option::take) {
            self.ends[m].remove(&(end, job.job.id, milli));
        }
    }

    fn on_rate_change(&mut self, job: &RunningJob) {
        let id = job.job.id;
        let Some((m, end, milli)) = self.entry.get_mut(id.0 as usize).and_then(Option::take) else {
            return;
        };
        self.ends[m].remove(&(end, id, milli));
        // The run's start bounds "now" from below; `shadow_time` clamps ends to now.
        index(&mut self.ends, &mut self.entry, &mut self.est, job, job.started);
        self.dirty = true;
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }
}
