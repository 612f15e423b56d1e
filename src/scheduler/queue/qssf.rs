//! QSSF, quasi-shortest-service-first (Hu et al., "Characterization and Prediction of
//! Deep Learning Workloads in Large-Scale GPU Datacenters", SC 2021 — the Helios paper,
//! §5): jobs are ordered by predicted GPU-time, GPUs × predicted duration, shortest
//! first; non-preemptive; a job that does not fit is skipped.
//!
//! **Predictor** (learned online in `on_finish`, never from the job's own duration): the
//! mean run time of the last `history` finished jobs with the same GPU demand from, in
//! order of preference, the same user (where the trace names users), the same tenant
//! (virtual cluster), any submitter; then the last `history` finished jobs of any size;
//! then `default_duration_s`. Helios predicts from the user's history with job-name
//! similarity and a learned model; a per-user, per-size rolling mean is the simplest
//! estimator of the same kind, and is what this policy uses. The prediction is made when
//! the job arrives and kept while it waits.

use std::collections::{HashMap, VecDeque};

use crate::engine::SimTime;
use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{FinishedJob, PlacementRequest, QueuePolicy, QueuedJob, SchedContext};
use crate::workload::{GpuDemand, JobId, TenantId, UserId, MILLI_PER_GPU};

use super::classed::{ClassQueue, Offer};

/// The last N run times of one group of jobs, in ms.
#[derive(Debug, Default)]
struct History {
    recent: VecDeque<u64>,
    sum: u64,
}

impl History {
    fn push(&mut self, ms: u64, cap: usize) {
        self.recent.push_back(ms);
        self.sum += ms;
        if self.recent.len() > cap {
            self.sum -= self.recent.pop_front().unwrap_or(0);
        }
    }

    fn mean(&self) -> Option<f64> {
        (!self.recent.is_empty()).then(|| self.sum as f64 / self.recent.len() as f64)
    }
}

/// Quasi-shortest-service-first with an online per-user history predictor; see the
/// module docs.
#[derive(Debug)]
pub struct Qssf {
    cap: usize,
    default_ms: f64,
    by_user: HashMap<(UserId, GpuDemand), History>,
    by_tenant: HashMap<(TenantId, GpuDemand), History>,
    by_demand: HashMap<GpuDemand, History>,
    global: History,
    queue: ClassQueue<PlacementRequest, (u64, SimTime, JobId)>,
}

impl Qssf {
    /// Reads `history` (jobs averaged, ≥ 1) and `default_duration_s` (> 0).
    pub fn from_params(p: &mut PolicyParams) -> Result<Self, PolicyError> {
        let cap = p.u64("history", 10)?;
        if cap == 0 {
            return Err(p.error("history", "must be ≥ 1"));
        }
        let default_s = p.f64("default_duration_s", 3600.0)?;
        if default_s <= 0.0 {
            return Err(p.error("default_duration_s", "must be > 0 seconds"));
        }
        Ok(Qssf {
            cap: usize::try_from(cap).unwrap_or(usize::MAX),
            default_ms: default_s * 1000.0,
            by_user: HashMap::new(),
            by_tenant: HashMap::new(),
            by_demand: HashMap::new(),
            global: History::default(),
            queue: ClassQueue::default(),
        })
    }

    /// Predicted run time of `job`, in ms, from finished jobs only.
    pub fn predict_ms(&self, job: &QueuedJob) -> f64 {
        let d = job.request.demand;
        job.user
            .and_then(|u| self.by_user.get(&(u, d)))
            .and_then(History::mean)
            .or_else(|| self.by_tenant.get(&(job.tenant, d)).and_then(History::mean))
            .or_else(|| self.by_demand.get(&d).and_then(History::mean))
            .or_else(|| self.global.mean())
            .unwrap_or(self.default_ms)
    }
}

impl QueuePolicy for Qssf {
    fn name(&self) -> &'static str {
        "qssf"
    }

    fn enqueue(&mut self, job: QueuedJob) {
        let gpus = job.request.demand.total_milli() as f64 / 1000.0;
        let service = (gpus * self.predict_ms(&job)).round() as u64;
        self.queue.push(job.request, (service, job.submit, job.id), job);
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        self.queue.new_pass();
        self.queue.pass(usize::MAX, |_, _, job| {
            if ctx.try_start(job) {
                Offer::STARTED
            } else {
                Offer::REFUSED
            }
        });
    }

    fn on_finish(&mut self, f: &FinishedJob) {
        let job = &f.job;
        let d = job.request.demand;
        // Attained service is GPU share × time: divide by the share for the run time.
        let ms = job.attained_gpu_ms * u64::from(MILLI_PER_GPU) / d.total_milli().max(1);
        let cap = self.cap;
        if let Some(u) = job.user {
            self.by_user.entry((u, d)).or_default().push(ms, cap);
        }
        self.by_tenant.entry((job.tenant, d)).or_default().push(ms, cap);
        self.by_demand.entry(d).or_default().push(ms, cap);
        self.global.push(ms, cap);
    }

    fn len(&self) -> usize {
        self.queue.len()
    }
}
