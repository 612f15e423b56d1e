use std::collections::BTreeMap;

use crate::engine::SimTime;
use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{FinishedJob, QueuePolicy, QueuedJob, SchedContext};
use crate::topology::GpuModelId;

use super::classes::models_for;
use super::easy::DEFAULT_BF_MAX_JOB_TEST;
use super::estimate::Estimator;

/// Conservative backfilling: every waiting job, in FIFO order, gets a reservation at the
/// earliest time the capacity profile (running jobs' estimated ends minus the
/// reservations of the jobs ahead of it) holds it for its whole estimated run; a job
/// starts now only if that earliest time is now, so it delays no earlier reservation.
///
/// Source: Mu'alem & Feitelson, "Utilization, predictability, workloads, and user
/// runtime estimates in scheduling the IBM SP2 with backfilling", IEEE TPDS 12(6), 2001
/// (§2, "conservative backfilling"). Reservations are rebuilt from scratch each pass
/// (their "compression" when jobs end early is then implicit).
///
/// Estimates and the pooled per-model approximation are as in [`super::Easy`]: the
/// profile counts free thousandths of each GPU model, not nodes, and each job reserves
/// on the allowed model where it can start earliest (ties: lowest model id).
///
/// Cost: a pass sorts the R running jobs' ends into per-model profiles (O(R log R)) and
/// reserves for at most `bf_max_job_test` waiting jobs (default 100, Slurm's), each
/// O(P) for a profile of P ≤ R + 2·depth steps: O(R log R + depth·(R + depth)). Jobs
/// deeper in the queue get no reservation and wait until they come within the bound.
/// A pass after which no job ended or started (only arrivals) keeps the profiles and
/// reserves only for the new jobs.
#[derive(Debug)]
pub struct Conservative {
    waiting: BTreeMap<u64, QueuedJob>,
    next_seq: u64,
    est: Estimator,
    max_test: usize,
    /// Scratch, per model index: the step function (from time, free thousandths).
    profiles: Vec<Vec<(SimTime, i64)>>,
    /// Scratch, per model index: (estimated end, thousandths released) of running jobs.
    ends: Vec<Vec<(SimTime, u64)>>,
    started: Vec<u64>,
    /// A job ended (or one started) since the last pass: rebuild the profiles and
    /// reserve for the whole window again.
    dirty: bool,
    /// Jobs with a sequence number below this hold reservations in the profiles.
    reserved_below: u64,
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
            ends: Vec::new(),
            started: Vec::new(),
            dirty: true,
            reserved_below: 0,
        })
    }

    /// Rebuilds every model's profile from the free capacity and the running jobs.
    fn build_profiles(&mut self, ctx: &dyn SchedContext) {
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
        // The first waiting job has no reservation ahead of it: if it fits, it starts
        // (its earliest start in any profile is now), with no profile needed.
        while let Some(entry) = self.waiting.first_entry() {
            if !ctx.try_start(entry.get()) {
                break;
            }
            entry.remove();
            self.dirty = true;
        }
        if self.waiting.is_empty() {
            return;
        }
        let now = ctx.now();
        // Incremental pass: if no job ended or started since the last pass, the profiles
        // and reservations are unchanged (no reservation can have come due without an
        // end), so only the jobs that arrived since, and fall within the window, are
        // reserved. (A rate change without an end is picked up at the next end.)
        let (from, depth) = if self.dirty {
            self.build_profiles(&*ctx);
            (0, self.max_test)
        } else {
            let new = (self.next_seq - self.reserved_below) as usize;
            let old = self.waiting.len() - new;
            (self.reserved_below, self.max_test.saturating_sub(old))
        };
        self.started.clear();
        for (&seq, job) in self.waiting.range(from..).take(depth) {
            let need = job.request.demand.total_milli() as i64;
            let dur = self.est.waiting(job).max(1);
            let mut best: Option<(SimTime, GpuModelId)> = None;
            for m in models_for(ctx.free(), &job.request) {
                if let Some(s) = earliest(&self.profiles[usize::from(m.0)], now, need, dur) {
                    if best.is_none_or(|(b, _)| s < b) {
                        best = Some((s, m));
                    }
                }
            }
            let Some((start, mut model)) = best else { continue };
            if start == now && ctx.try_start(job) {
                self.started.push(seq);
                if let Some(m) = ctx
                    .running()
                    .last()
                    .filter(|r| r.job.id == job.id)
                    .and_then(|r| r.model)
                {
                    model = m;
                }
            }
            let end = SimTime(start.as_ms().saturating_add(dur));
            reserve(&mut self.profiles[usize::from(model.0)], start, end, need);
        }
        for seq in &self.started {
            self.waiting.remove(seq);
        }
        // A start shifts the window onto jobs without a reservation: rebuild next time.
        self.dirty = !self.started.is_empty();
        self.reserved_below = self.next_seq;
    }

    fn on_finish(&mut self, _job: &FinishedJob) {
        self.dirty = true;
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }
}
