//! Tiresias: discretized two-dimensional attained-service scheduling (Gu et al.,
//! "Tiresias: A GPU Cluster Manager for Distributed Deep Learning", NSDI 2019, §3.2–3.3).
//!
//! A job's attained service is its GPU share × time run (`attained_gpu_ms`, plus
//! `(now − started) × share` while it runs; a 0.1-GPU job earns a tenth of what a whole
//! GPU does). K queues split attained service at the
//! thresholds θ₁ < … < θ_{K−1}: a job with service in [θ_{i}, θ_{i+1}) sits in queue i
//! (queue 0 highest). Jobs are offered queue by queue; within a queue in the policy's
//! order (FIFO by submit time for 2D-LAS; the learned Gittins index for the `gittins` policy). A waiting
//! job that does not fit preempts running jobs of strictly lower queues, lowest queue and
//! latest start first, but only jobs running on a GPU model it may use, and only a set
//! whose release lets placement place it (asked before anyone is evicted; see
//! `victims.rs`): otherwise nobody. A running job that crosses its next threshold is demoted: the
//! policy asks for a wake-up at that instant. Starvation guard (the paper's PROMOTEKNOB):
//! a job waiting longer than `starvation_factor` × its executed time (attained service ÷
//! GPU share) is promoted to queue 0, and its service is counted afresh from then on.
//!
//! With a preemption cost (`[preemption]` checkpoint interval and restore time), keep the
//! first threshold well above GPUs × (restore time + checkpoint interval): a run shorter
//! than its restore plus one checkpoint interval makes no progress, and with the
//! starvation guard two such jobs can then promote and preempt each other indefinitely.

use std::collections::BTreeSet;

use crate::engine::SimTime;
use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{FinishedJob, PlacementRequest, QueuePolicy, QueuedJob, SchedContext};
use crate::topology::GpuModelId;
use crate::workload::{JobId, MILLI_PER_GPU};

use super::classed::{ClassQueue, JobSlots, NoRoom, Offer};
use super::gittins::GittinsEstimator;
use super::victims::Victims;

/// Default thresholds: one GPU-hour, so two queues (our choice; the paper leaves them
/// as a parameter and studies their sensitivity, §6.5).
pub const DEFAULT_THRESHOLDS_GPU_S: &[f64] = &[3600.0];

/// Order within a queue: (Gittins rank or 0, submit, job).
type Key = (u64, SimTime, JobId);

/// A running job this policy started.
#[derive(Debug, Clone, Copy)]
struct Run {
    request: PlacementRequest,
    /// The GPU model it runs on (None if unplaced: never a victim).
    model: Option<GpuModelId>,
    /// Effective attained service at the start of this run, GPU-ms.
    attained: u64,
    started: SimTime,
    level: usize,
    crossing: SimTime,
}

/// Bookkeeping of running jobs: their queues, demotion instants and victims order.
#[derive(Debug, Default)]
struct Runs {
    runs: JobSlots<Run>,
    /// (level, start, job): the last entry is the first victim.
    victims: BTreeSet<(usize, SimTime, JobId)>,
    crossings: BTreeSet<(SimTime, JobId)>,
    milli_by_level: Vec<u64>,
}

impl Runs {
    fn insert(&mut self, id: JobId, run: Run) {
        self.victims.insert((run.level, run.started, id));
        if run.crossing != SimTime::MAX {
            self.crossings.insert((run.crossing, id));
        }
        self.milli_by_level[run.level] += run.request.demand.total_milli();
        self.runs.insert(id, run);
    }

    fn remove(&mut self, id: JobId) -> Option<Run> {
        let run = self.runs.remove(id)?;
        self.victims.remove(&(run.level, run.started, id));
        self.crossings.remove(&(run.crossing, id));
        self.milli_by_level[run.level] -= run.request.demand.total_milli();
        Some(run)
    }
}

/// The service distribution of the `gittins` policy: `live` learns from every finished
/// job; waiting jobs are ranked with `frozen`, a copy refreshed after 1, 2, 4, 8, …
/// finished jobs, when every waiting job is ranked again. Jobs with equal attained service
/// thus always share one index, at a cost of O(log n) re-rankings over a run.
#[derive(Debug)]
struct Learned {
    live: GittinsEstimator,
    frozen: GittinsEstimator,
    recorded: u64,
    next_refresh: u64,
    stale: bool,
}

/// Discretized 2D-LAS (or 2D-Gittins) with preemption and a starvation guard; see the
/// module docs.
#[derive(Debug)]
pub struct Tiresias {
    name: &'static str,
    /// Ascending thresholds, GPU-ms.
    thresholds: Vec<u64>,
    starvation_factor: f64,
    /// Per queue, jobs by request id (see [`NoRoom`]).
    levels: Vec<ClassQueue<u32, Key>>,
    /// Waiting jobs: (level, request id, key, starvation deadline).
    waiting: JobSlots<(usize, u32, Key, SimTime)>,
    /// Service not counted any more after a promotion, GPU-ms.
    offsets: JobSlots<u64>,
    starving: BTreeSet<(SimTime, JobId)>,
    runs: Runs,
    gittins: Option<Learned>,
    no_room: NoRoom,
    victims: Victims,
    evicted: Vec<QueuedJob>,
    next_wake: SimTime,
}

/// The GPU share a job of `r` holds, in thousandths: its service rate (a 0.1-GPU job
/// earns a tenth of a GPU-millisecond per millisecond).
fn share_milli(r: &PlacementRequest) -> u64 {
    r.demand.total_milli()
}

impl Tiresias {
    /// Reads `thresholds_gpu_s` and `starvation_factor`; `gittins` selects the Gittins
    /// order within queues.
    pub fn from_params(
        p: &mut PolicyParams,
        name: &'static str,
        gittins: Option<GittinsEstimator>,
    ) -> Result<Self, PolicyError> {
        let t = p.f64_list("thresholds_gpu_s", DEFAULT_THRESHOLDS_GPU_S)?;
        if t.iter().any(|&x| x <= 0.0) || t.windows(2).any(|w| w[0] >= w[1]) {
            return Err(p.error(
                "thresholds_gpu_s",
                "must be strictly increasing numbers > 0 (GPU-seconds)",
            ));
        }
        let starvation_factor = p.f64("starvation_factor", 0.0)?;
        if starvation_factor < 0.0 {
            return Err(p.error("starvation_factor", "must be ≥ 0 (0 disables the guard)"));
        }
        let thresholds: Vec<u64> = t.iter().map(|s| (s * 1000.0).round() as u64).collect();
        let k = thresholds.len() + 1;
        Ok(Tiresias {
            name,
            thresholds,
            starvation_factor,
            levels: (0..k).map(|_| ClassQueue::default()).collect(),
            waiting: JobSlots::default(),
            offsets: JobSlots::default(),
            starving: BTreeSet::new(),
            runs: Runs {
                milli_by_level: vec![0; k],
                ..Runs::default()
            },
            gittins: gittins.map(|g| Learned {
                live: g.clone(),
                frozen: g,
                recorded: 0,
                next_refresh: 1,
                stale: false,
            }),
            no_room: NoRoom::default(),
            victims: Victims::default(),
            evicted: Vec::new(),
            next_wake: SimTime::ZERO,
        })
    }

    fn level_of(&self, attained: u64) -> usize {
        self.thresholds.partition_point(|&t| t <= attained)
    }

    fn effective(&self, job: &QueuedJob) -> u64 {
        job.attained_gpu_ms
            .saturating_sub(self.offsets.get(job.id).copied().unwrap_or(0))
    }

    /// Queues `job`, which starts waiting at `now`.
    fn insert(&mut self, job: QueuedJob, now: SimTime) {
        let attained = self.effective(&job);
        let level = self.level_of(attained);
        let rank = match &self.gittins {
            Some(g) => g.frozen.rank(attained, self.thresholds.get(level).copied()),
            None => 0,
        };
        let key = (rank, job.submit, job.id);
        let deadline = if self.starvation_factor > 0.0 && level > 0 {
            let share = share_milli(&job.request).max(1) as f64 / f64::from(MILLI_PER_GPU);
            let executed_ms = attained as f64 / share;
            let d = now + SimTime((self.starvation_factor * executed_ms).ceil() as u64);
            self.starving.insert((d, job.id));
            d
        } else {
            SimTime::MAX
        };
        let id = self.no_room.id(job.request);
        self.waiting.insert(job.id, (level, id, key, deadline));
        self.levels[level].push(id, key, job);
    }

    /// Ranks every waiting job again with the refreshed distribution (Gittins only).
    fn rerank(&mut self) {
        if let Some(g) = &mut self.gittins {
            g.stale = false;
        }
        for (id, (level, req, key, deadline)) in self.waiting.entries() {
            let Some(job) = self.levels[level].remove(&req, &key) else {
                continue;
            };
            let attained = self.effective(&job);
            let theta = self.thresholds.get(level).copied();
            let rank = self
                .gittins
                .as_ref()
                .map_or(0, |g| g.frozen.rank(attained, theta));
            let key = (rank, key.1, key.2);
            self.waiting.insert(id, (level, req, key, deadline));
            self.levels[level].push(req, key, job);
        }
    }

    /// Takes `id` out of the waiting structures.
    fn take(&mut self, id: JobId) -> Option<QueuedJob> {
        let (level, request, key, deadline) = self.waiting.remove(id)?;
        self.starving.remove(&(deadline, id));
        self.levels[level].remove(&request, &key)
    }
}

/// The run record of a job of `request` on `model` that started at `started` with
/// effective service `attained` then, as of `now`: its queue and when it crosses the
/// next threshold (service grows at the job's GPU share, rounded down to whole GPU-ms).
fn run_record(
    thresholds: &[u64],
    request: PlacementRequest,
    model: Option<GpuModelId>,
    attained: u64,
    started: SimTime,
    now: SimTime,
) -> Run {
    let milli = share_milli(&request);
    let full = u64::from(MILLI_PER_GPU);
    let current = attained + (now - started).as_ms() * milli / full;
    let level = thresholds.partition_point(|&t| t <= current);
    let crossing = match thresholds.get(level) {
        Some(&t) if milli > 0 => now + SimTime(((t - current) * full).div_ceil(milli)),
        _ => SimTime::MAX,
    };
    Run {
        request,
        model,
        attained,
        started,
        level,
        crossing,
    }
}

impl QueuePolicy for Tiresias {
    fn name(&self) -> &'static str {
        self.name
    }

    fn enqueue(&mut self, job: QueuedJob) {
        self.insert(job, job.submit);
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        let now = ctx.now();
        if self.gittins.as_ref().is_some_and(|g| g.stale) {
            self.rerank();
        }
        // Demotions: running jobs whose service crossed a threshold.
        while let Some(&(t, id)) = self.runs.crossings.first() {
            if t > now {
                break;
            }
            let Some(run) = self.runs.remove(id) else { continue };
            let next = run_record(
                &self.thresholds,
                run.request,
                run.model,
                run.attained,
                run.started,
                now,
            );
            self.runs.insert(id, next);
        }
        // Promotions: waiting jobs that starved.
        while let Some(&(t, id)) = self.starving.first() {
            if t > now {
                break;
            }
            self.starving.pop_first();
            if let Some(job) = self.take(id) {
                self.offsets.insert(id, job.attained_gpu_ms);
                self.insert(job, now);
            }
        }
        self.no_room.clear();
        for q in 0..self.levels.len() {
            self.levels[q].new_pass();
            let Tiresias {
                thresholds,
                levels,
                runs,
                offsets,
                evicted,
                no_room,
                victims,
                waiting,
                starving,
                ..
            } = self;
            levels[q].pass(usize::MAX, |id, _, job| {
                let mut freed = false;
                let mut started = no_room.try_start(id, job, ctx);
                if !started && runs.milli_by_level[q + 1..].iter().any(|&m| m > 0) {
                    let before = evicted.len();
                    let candidates = runs.victims.iter().rev().take_while(|v| v.0 > q).filter_map(|v| {
                        let r = runs.runs.get(v.2)?;
                        Some((v.2, r.model?, r.request.demand))
                    });
                    if victims.evict_for(ctx, job, candidates, false, evicted) {
                        for e in &evicted[before..] {
                            runs.remove(e.id);
                        }
                        no_room.clear();
                        (started, freed) = (true, true);
                    }
                }
                if started {
                    if let Some((_, _, _, deadline)) = waiting.remove(job.id) {
                        starving.remove(&(deadline, job.id));
                    }
                    let attained = job
                        .attained_gpu_ms
                        .saturating_sub(offsets.get(job.id).copied().unwrap_or(0));
                    let model = ctx
                        .running()
                        .last()
                        .filter(|r| r.job.id == job.id)
                        .and_then(|r| r.model);
                    let run = run_record(thresholds, job.request, model, attained, now, now);
                    runs.insert(job.id, run);
                }
                Offer { started, freed }
            });
            for job in std::mem::take(&mut self.evicted) {
                self.insert(job, now);
            }
        }
        // Wake-up at the next demotion or promotion, if anyone waits.
        if self.waiting.len() > 0 {
            let next = [
                self.runs.crossings.first().map(|c| c.0),
                self.starving.first().map(|s| s.0),
            ]
            .into_iter()
            .flatten()
            .min();
            if let Some(t) = next {
                if t > now && (self.next_wake <= now || t < self.next_wake) {
                    ctx.wake_at(t);
                    self.next_wake = t;
                }
            }
        }
    }

    fn on_finish(&mut self, job: &FinishedJob) {
        self.runs.remove(job.job.id);
        self.offsets.remove(job.job.id);
        if let Some(g) = &mut self.gittins {
            g.live.record(job.job.attained_gpu_ms);
            g.recorded += 1;
            if g.recorded >= g.next_refresh {
                g.frozen = g.live.clone();
                g.next_refresh *= 2;
                g.stale = true;
            }
        }
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }
}
