//! Weighted fair share between tenants: progressive filling in the spirit of Dominant
//! Resource Fairness (Ghodsi et al., "Dominant Resource Fairness: Fair Allocation of
//! Multiple Resource Types", NSDI 2011) — with GPUs the only resource, the dominant share
//! is the GPU share — and, with `measure = "gpu_time"`, Slurm's fair-share factor, which
//! ranks accounts by their decayed past usage over their shares (Slurm `priority/multifactor`,
//! `PriorityDecayHalfLife`).
//!
//! In a pass the tenant with the lowest share ÷ weight (ties: lowest tenant index) starts
//! its first job that fits (FIFO within a tenant, skipping jobs that do not fit), its
//! share is updated, and the choice is made again, until no waiting tenant has a job that
//! fits. The share is, by `measure`: `"gpus"`, the GPUs it holds now; `"gpu_time"`, the
//! GPU-time it has used, each past millisecond weighted by 2^(−age / `decay_half_life_s`)
//! (no decay when the half-life is 0). Non-preemptive.

use std::collections::BTreeMap;

use crate::engine::SimTime;
use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{FinishedJob, QueuePolicy, QueuedJob, SchedContext};
use crate::workload::{JobId, TenantId};

use super::classed::{ClassQueue, NoRoom, Offer};
use super::quota::tenant_table;

/// What a tenant's share counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    Gpus,
    GpuTime,
}

/// One tenant's state.
#[derive(Debug, Default)]
struct Tenant {
    weight: f64,
    /// Jobs by request id (see [`NoRoom`]).
    queue: ClassQueue<u32, (SimTime, JobId)>,
    /// Thousandths of a GPU held now.
    alloc: u64,
    /// Decayed GPU-time used up to `as_of`, thousandth-GPU·ms.
    usage: f64,
    as_of: SimTime,
}

/// Weighted fair share by GPUs held or by decayed GPU-time; see the module docs.
#[derive(Debug)]
pub struct FairShare {
    weights: BTreeMap<String, f64>,
    measure: Measure,
    /// Half-life in ms; 0: no decay.
    half_life_ms: f64,
    tenants: Vec<Tenant>,
    waiting: usize,
    no_room: NoRoom,
}

impl FairShare {
    /// Reads `weights`, `measure` and `decay_half_life_s`.
    pub fn from_params(p: &mut PolicyParams) -> Result<Self, PolicyError> {
        let weights = tenant_table(p, "weights")?;
        if let Some((name, _)) = weights.iter().find(|(_, &w)| w <= 0.0) {
            return Err(p.error("weights", format!("tenant `{name}`: weight must be > 0")));
        }
        let measure = match p.string("measure", "gpus")?.as_str() {
            "gpus" => Measure::Gpus,
            "gpu_time" => Measure::GpuTime,
            other => {
                return Err(p.error(
                    "measure",
                    format!("expected \"gpus\" or \"gpu_time\", found \"{other}\""),
                ))
            }
        };
        let half_life_s = p.f64("decay_half_life_s", 0.0)?;
        if half_life_s < 0.0 {
            return Err(p.error("decay_half_life_s", "must be ≥ 0 seconds (0: no decay)"));
        }
        Ok(FairShare {
            weights,
            measure,
            half_life_ms: half_life_s * 1000.0,
            tenants: Vec::new(),
            waiting: 0,
            no_room: NoRoom::default(),
        })
    }

    fn ensure(&mut self, t: TenantId) {
        while self.tenants.len() <= t.0 as usize {
            self.tenants.push(Tenant {
                weight: 1.0,
                ..Tenant::default()
            });
        }
    }

    /// Brings tenant `t`'s usage forward to `now` at its current allocation.
    fn advance(&mut self, t: usize, now: SimTime) {
        let h = self.half_life_ms;
        let s = &mut self.tenants[t];
        let dt = (now - s.as_of).as_ms() as f64;
        let a = s.alloc as f64;
        if h > 0.0 {
            let decay = (-dt / h).exp2();
            s.usage = s.usage * decay + a * h / std::f64::consts::LN_2 * (1.0 - decay);
        } else {
            s.usage += a * dt;
        }
        s.as_of = now;
    }

    fn share(&self, t: usize) -> f64 {
        let s = &self.tenants[t];
        let x = match self.measure {
            Measure::Gpus => s.alloc as f64,
            Measure::GpuTime => s.usage,
        };
        x / s.weight
    }
}

impl QueuePolicy for FairShare {
    fn name(&self) -> &'static str {
        "fair-share"
    }

    fn unknown_tenants(&self, names: &[String]) -> Vec<String> {
        self.weights
            .keys()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect()
    }

    fn bind_tenants(&mut self, names: &[String]) {
        self.tenants = names
            .iter()
            .map(|n| Tenant {
                weight: self.weights.get(n).copied().unwrap_or(1.0),
                ..Tenant::default()
            })
            .collect();
    }

    fn enqueue(&mut self, job: QueuedJob) {
        self.ensure(job.tenant);
        let id = self.no_room.id(job.request);
        self.tenants[job.tenant.0 as usize]
            .queue
            .push(id, (job.submit, job.id), job);
        self.waiting += 1;
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        let now = ctx.now();
        for t in 0..self.tenants.len() {
            self.advance(t, now);
            self.tenants[t].queue.new_pass();
        }
        self.no_room.clear();
        let mut blocked = vec![false; self.tenants.len()];
        loop {
            let pick = (0..self.tenants.len())
                .filter(|&t| !blocked[t] && self.tenants[t].queue.len() > 0)
                .min_by(|&a, &b| self.share(a).total_cmp(&self.share(b)).then(a.cmp(&b)));
            let Some(t) = pick else { break };
            let mut held = 0;
            let no_room = &mut self.no_room;
            let n = self.tenants[t].queue.pass(1, |id, _, job| {
                if no_room.try_start(id, job, ctx) {
                    held = job.request.demand.total_milli();
                    Offer::STARTED
                } else {
                    Offer::REFUSED
                }
            });
            if n == 0 {
                blocked[t] = true;
            } else {
                self.waiting -= 1;
                self.tenants[t].alloc += held;
            }
        }
    }

    fn on_finish(&mut self, f: &FinishedJob) {
        let t = f.job.tenant.0 as usize;
        self.ensure(f.job.tenant);
        self.advance(t, f.end);
        let s = &mut self.tenants[t];
        s.alloc = s.alloc.saturating_sub(f.job.request.demand.total_milli());
    }

    fn len(&self) -> usize {
        self.waiting
    }
}
