use std::collections::{BTreeMap, BTreeSet};

use crate::engine::SimTime;
use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{FinishedJob, PlacementRequest, QueuePolicy, QueuedJob, SchedContext};
use crate::topology::GpuModelId;

use super::classes::models_for;
use super::easy::DEFAULT_BF_MAX_JOB_TEST;
use super::estimate::Estimator;

/// Conservative backfilling: every waiting job, in FIFO order, gets a reservation at the
/// earliest time the capacity profile (running jobs' estimated ends minus the
/// reservations of the jobs ahead of it) holds it for its whole estimated run; a job
/// starts before its turn only if that earliest time is now, so it delays no earlier
/// reservation.
///
/// Source: Mu'alem & Feitelson, "Utilization, predictability, workloads, and user
/// runtime estimates in scheduling the IBM SP2 with backfilling", IEEE TPDS 12(6), 2001
/// ("conservative backfilling").
///
/// Estimates and the pooled per-model approximation are as in [`super::Easy`]: the
/// profile counts free thousandths of each GPU model, not nodes, and each job reserves
/// on the allowed model where it can start earliest (ties: lowest model id). A job whose
/// reservation comes due but that placement cannot fit (fragmentation the pooled count
/// does not see) keeps its reservation and is offered again every pass.
///
/// Reservations persist between passes and are rebuilt from scratch (all reservations
/// recomputed in FIFO order, i.e. "compressed") only when the profile stops matching
/// reality: a job ends at another time than its estimate said, or starts at another time
/// or on another model than its reservation. With oracle estimates ends are predicted
/// exactly, so most passes only start the reservations that came due and reserve for
/// newly arrived jobs.
///
/// Cost: a rebuild sorts the R running jobs' ends into per-model profiles (O(R log R))
/// and reserves for at most `bf_max_job_test` waiting jobs (default 100, Slurm's), each
/// O(P) for a profile of P ≤ R + 2·depth steps: O(R log R + depth·(R + depth)). Other
/// passes cost O(log P) per due or new job. Jobs deeper in the queue than the bound get
/// no reservation and wait until they come within it.
#[derive(Debug)]
pub struct Conservative {
    waiting: BTreeMap<u64, QueuedJob>,
    next_seq: u64,
    est: Estimator,
    max_test: usize,
    /// Per model index: the step function (from time, free thousandths) of running jobs
    /// and reservations.
    profiles: Vec<Vec<(SimTime, i64)>>,
    /// Reservations of waiting jobs (always a prefix of `waiting`): start and model.
    reserved: BTreeMap<u64, (SimTime, GpuModelId)>,
    /// The same reservations by start time.
    due: BTreeSet<(SimTime, u64)>,
    /// The end the profile assumes for each running job, by job id (MAX: none).
    expected_end: Vec<SimTime>,
    /// The profile no longer matches reality: rebuild before the next use.
    dirty: bool,
    /// Scratch: (estimated end, thousandths released) of running jobs, per model.
    ends: Vec<Vec<(SimTime, u64)>>,
    /// Scratch: due reservations of this pass.
    due_now: Vec<(SimTime, u64)>,
    /// Scratch: requests placement refused in this pass.
    failed: Vec<PlacementRequest>,
}

impl Conservative {
    /// A conservative-backfilling queue with its estimate and depth parameters read
    /// from `p`.
    pub fn from_params(p: &mut PolicyParams) -> Result<Self, PolicyError> {
        let est = Estimator::from_params(p)?;
        let max_test = p.u64("bf_max_job_test", DEFAULT_BF_MAX_JOB_TEST)?;
        Ok(Conservative {
            waiting: BTreeMap::new(),
            next_seq: 0,
            est,
            max_test: usize::try_from(max_test).unwrap_or(usize::MAX),
            profiles: Vec::new(),
            reserved: BTreeMap::new(),
            due: BTreeSet::new(),
            expected_end: Vec::new(),
            dirty: true,
            ends: Vec::new(),
            due_now: Vec::new(),
            failed: Vec::new(),
        })
    }

    /// Records the end the profile assumes for a running job.
    fn expect_end(&mut self, job: &QueuedJob, end: SimTime) {
        let i = job.id.0 as usize;
        if i >= self.expected_end.len() {
            self.expected_end.resize(i + 1, SimTime::MAX);
        }
        self.expected_end[i] = end;
    }

    /// Rebuilds every model's profile from the free capacity and the running jobs, and
    /// drops every reservation.
    fn rebuild(&mut self, ctx: &dyn SchedContext) {
        let now = ctx.now();
        let free = ctx.free();
        let models = free.models().map(|m| usize::from(m.0) + 1).max().unwrap_or(0);
        self.profiles.resize_with(models, Vec::new);
        self.ends.resize_with(models, Vec::new);
        for e in &mut self.ends {
            e.clear();
        }
        for r in ctx.running() {
            if let Some(m) = r.model {
                let end = self.est.running_end(r, now);
                self.expect_end(&r.job, end);
                self.ends[usize::from(m.0)].push((end, r.job.request.demand.total_milli()));
            }
        }
        for (i, (p, ends)) in self.profiles.iter_mut().zip(&mut self.ends).enumerate() {
            p.clear();
            let model = GpuModelId(i as u16);
            if free.capacity(model) == 0 {
                continue;
            }
            ends.sort_unstable();
            let mut level = free.free_milli(model) as i64;
            p.push((now, level));
            for &(t, milli) in ends.iter() {
                level += milli as i64;
                match p.last_mut() {
                    Some(last) if last.0 == t => last.1 = level,
                    _ => p.push((t, level)),
                }
            }
        }
        self.reserved.clear();
        self.due.clear();
        self.dirty = false;
    }

    /// Drops profile steps that ended before now.
    fn prune(&mut self, now: SimTime) {
        for p in &mut self.profiles {
            let keep_from = p.partition_point(|s| s.0 <= now).saturating_sub(1);
            p.drain(..keep_from);
        }
    }

    /// Bookkeeping for waiting job `seq`, just started by `ctx`: a start at its
    /// reservation keeps the profile true; a start without one adds it to the profile;
    /// any other start makes the profile stale.
    fn started(&mut self, ctx: &dyn SchedContext, seq: u64) {
        let Some(job) = self.waiting.remove(&seq) else {
            return;
        };
        let now = ctx.now();
        let dur = self.est.waiting(&job).max(1);
        let end = SimTime(now.as_ms().saturating_add(dur));
        self.expect_end(&job, end);
        let landed = ctx
            .running()
            .last()
            .filter(|r| r.job.id == job.id)
            .and_then(|r| r.model);
        match (self.reserved.remove(&seq), landed) {
            (Some((start, model)), Some(m)) => {
                self.due.remove(&(start, seq));
                if start != now || model != m {
                    self.dirty = true;
                }
            }
            (None, Some(m)) if !self.dirty => {
                let need = job.request.demand.total_milli() as i64;
                reserve(&mut self.profiles[usize::from(m.0)], now, end, need);
            }
            _ => self.dirty = true,
        }
    }

    /// Reserves for the waiting jobs of the window that have no reservation yet, in
    /// FIFO order, starting those whose reservation is now.
    fn reserve_window(&mut self, ctx: &mut dyn SchedContext) {
        let now = ctx.now();
        let room = self.max_test.saturating_sub(self.reserved.len());
        let from = self.reserved.last_key_value().map_or(0, |(&s, _)| s + 1);
        let mut seq = from;
        for _ in 0..room {
            let Some((&s, &job)) = self.waiting.range(seq..).next() else {
                break;
            };
            seq = s + 1;
            let need = job.request.demand.total_milli() as i64;
            let dur = self.est.waiting(&job).max(1);
            let mut best: Option<(SimTime, GpuModelId)> = None;
            for m in models_for(ctx.free(), &job.request) {
                if let Some(t) = earliest(&self.profiles[usize::from(m.0)], now, need, dur) {
                    if best.is_none_or(|(b, _)| t < b) {
                        best = Some((t, m));
                    }
                }
            }
            let Some((start, model)) = best else { continue };
            let end = SimTime(start.as_ms().saturating_add(dur));
            reserve(&mut self.profiles[usize::from(model.0)], start, end, need);
            self.reserved.insert(s, (start, model));
            self.due.insert((start, s));
            if start == now && !self.failed.contains(&job.request) {
                if ctx.try_start(&job) {
                    self.started(&*ctx, s);
                } else {
                    self.failed.push(job.request);
                }
            }
        }
    }
}

/// The earliest time from `now` on, a step start or `now` itself, from which `need` is
/// free in `profile` for `dur`; None if never (capacity held forever). Amortized
/// O(steps): a failing step restarts the search just after it.
fn earliest(profile: &[(SimTime, i64)], now: SimTime, need: i64, dur: u64) -> Option<SimTime> {
    let mut i = profile.partition_point(|s| s.0 <= now).saturating_sub(1);
    'start: while i < profile.len() {
        if profile[i].1 < need {
            i += 1;
            continue;
        }
        let start = profile[i].0.max(now);
        let end = start.as_ms().saturating_add(dur);
        let mut j = i + 1;
        while j < profile.len() && profile[j].0.as_ms() < end {
            if profile[j].1 < need {
                i = j + 1;
                continue 'start;
            }
            j += 1;
        }
        return Some(start);
    }
    None
}

/// Takes `need` out of `profile` over `[start, end)`, splitting steps at both ends.
fn reserve(profile: &mut Vec<(SimTime, i64)>, start: SimTime, end: SimTime, need: i64) {
    for t in [start, end] {
        let pos = profile.partition_point(|s| s.0 < t);
        if profile.get(pos).is_none_or(|s| s.0 != t) && pos > 0 {
            let level = profile[pos - 1].1;
            profile.insert(pos, (t, level));
        }
    }
    let from = profile.partition_point(|s| s.0 < start);
    for step in profile[from..].iter_mut().take_while(|s| s.0 < end) {
        step.1 -= need;
    }
}

impl QueuePolicy for Conservative {
    fn name(&self) -> &'static str {
        "conservative"
    }

    fn enqueue(&mut self, job: QueuedJob) {
        self.est.waiting(&job);
        self.waiting.insert(self.next_seq, job);
        self.next_seq += 1;
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        let now = ctx.now();
        if !self.dirty {
            self.prune(now);
        }
        self.failed.clear();
        // The first waiting job has no reservation ahead of it: if it fits, it starts
        // (its earliest start in any profile is now). At low load this is all a pass does.
        while let Some((&seq, job)) = self.waiting.first_key_value() {
            if !ctx.try_start(job) {
                self.failed.push(job.request);
                break;
            }
            self.started(&*ctx, seq);
        }
        if self.waiting.is_empty() {
            return;
        }
        if self.dirty {
            self.rebuild(&*ctx);
        }
        // Reservations that came due.
        self.due_now.clear();
        self.due_now.extend(self.due.range(..=(now, u64::MAX)).copied());
        for i in 0..self.due_now.len() {
            let seq = self.due_now[i].1;
            let Some(&job) = self.waiting.get(&seq) else {
                continue;
            };
            if self.failed.contains(&job.request) {
                continue;
            }
            if ctx.try_start(&job) {
                self.started(&*ctx, seq);
            } else {
                self.failed.push(job.request);
            }
        }
        if self.dirty {
            self.rebuild(&*ctx);
        }
        self.reserve_window(ctx);
    }

    fn on_finish(&mut self, job: &FinishedJob) {
        if self.expected_end.get(job.job.id.0 as usize) != Some(&job.end) {
            self.dirty = true;
        }
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }
}
