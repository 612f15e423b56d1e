//! Per-tenant GPU quotas, as in the virtual clusters of Microsoft Philly (Jeon et al.,
//! "Analysis of Large-Scale Multi-Tenant GPU Clusters for DNN Training Workloads", ATC
//! 2019, §2) and Alibaba PAI, and YARN's capacity scheduler.
//!
//! Each tenant has a quota in GPUs (`quotas` table by tenant name, `default_quota` for
//! the others; unlimited by default). Jobs wait FIFO within their tenant; across tenants
//! they are offered in submit order, skipping jobs that do not fit or would take their
//! tenant over its quota. With `borrow = false` a tenant's running GPUs never exceed its
//! quota (a job larger than its tenant's quota never starts). With `borrow = true` idle
//! GPUs are lent: after every job within its quota has been offered, jobs over quota may
//! start on what is left; a lender's job within its quota that does not fit reclaims
//! GPUs by preempting jobs of tenants over their quota, latest started first, each only
//! while its tenant stays over quota net of the victims before it, only jobs on a GPU
//! model the lender's job may use, and only a set whose release lets placement place it
//! (asked before anyone is evicted; see `victims.rs`), otherwise nobody.
//!
//! Quotas count GPUs as thousandths (a job of `g` GPUs at `m` thousandths each uses
//! `g·m/1000` GPUs), so fractional jobs count what they hold.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::engine::SimTime;
use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{FinishedJob, PlacementRequest, QueuePolicy, QueuedJob, SchedContext};
use crate::topology::GpuModelId;
use crate::workload::{JobId, TenantId};

use super::classed::{ClassQueue, NoRoom, Offer};
use super::victims::Victims;

/// Unlimited quota.
const UNLIMITED: u64 = u64::MAX;

/// Reads a per-tenant table of non-negative numbers (GPUs or weights) from `key`.
pub(crate) fn tenant_table(
    p: &mut PolicyParams,
    key: &'static str,
) -> Result<BTreeMap<String, f64>, PolicyError> {
    let t = p.table(key)?;
    let mut out = BTreeMap::new();
    for (name, v) in &t {
        let x = match v {
            toml::Value::Float(f) if f.is_finite() && *f >= 0.0 => *f,
            toml::Value::Integer(i) if *i >= 0 => *i as f64,
            other => {
                return Err(p.error(
                    key,
                    format!("tenant `{name}`: expected a number ≥ 0, found {other}"),
                ))
            }
        };
        out.insert(name.clone(), x);
    }
    Ok(out)
}

/// A running job this policy started.
#[derive(Debug, Clone, Copy)]
struct Run {
    tenant: TenantId,
    request: PlacementRequest,
    /// The GPU model it runs on (None if unplaced: never reclaimed).
    model: Option<GpuModelId>,
    started: SimTime,
}

/// Per-tenant GPU quotas with optional lending; see the module docs.
#[derive(Debug)]
pub struct Quota {
    by_name: BTreeMap<String, f64>,
    default_milli: u64,
    borrow: bool,
    /// Quota by tenant, thousandths of a GPU.
    quota: Vec<u64>,
    /// Running thousandths of a GPU by tenant.
    used: Vec<u64>,
    runs: HashMap<JobId, Run>,
    /// (start, job) of running jobs: the last entry is the first reclaim victim.
    by_start: BTreeSet<(SimTime, JobId)>,
    /// Jobs by (tenant, request id) (see [`NoRoom`]), FIFO.
    queue: ClassQueue<(TenantId, u32), (SimTime, JobId)>,
    no_room: NoRoom,
    victims: Victims,
    /// Scratch per tenant: thousandths already offered for reclaim in this offer.
    reclaimed: Vec<u64>,
    evicted: Vec<QueuedJob>,
}

fn to_milli(gpus: f64) -> u64 {
    if gpus.is_finite() {
        (gpus * 1000.0).round() as u64
    } else {
        UNLIMITED
    }
}

impl Quota {
    /// Reads `quotas`, `default_quota` and `borrow`.
    pub fn from_params(p: &mut PolicyParams) -> Result<Self, PolicyError> {
        let by_name = tenant_table(p, "quotas")?;
        let default_quota = p.f64("default_quota", f64::INFINITY)?;
        if default_quota < 0.0 {
            return Err(p.error("default_quota", "must be ≥ 0 GPUs"));
        }
        let borrow = p.bool("borrow", false)?;
        Ok(Quota {
            by_name,
            default_milli: to_milli(default_quota),
            borrow,
            quota: Vec::new(),
            used: Vec::new(),
            runs: HashMap::new(),
            by_start: BTreeSet::new(),
            queue: ClassQueue::default(),
            no_room: NoRoom::default(),
            victims: Victims::default(),
            reclaimed: Vec::new(),
            evicted: Vec::new(),
        })
    }

    fn ensure(&mut self, t: TenantId) {
        let n = t.0 as usize + 1;
        if self.quota.len() < n {
            self.quota.resize(n, self.default_milli);
            self.used.resize(n, 0);
        }
    }

    fn started(&mut self, job: &QueuedJob, ctx: &dyn SchedContext) {
        let now = ctx.now();
        let model = ctx
            .running()
            .last()
            .filter(|r| r.job.id == job.id)
            .and_then(|r| r.model);
        let t = job.tenant.0 as usize;
        self.used[t] += job.request.demand.total_milli();
        self.by_start.insert((now, job.id));
        self.runs.insert(
            job.id,
            Run {
                tenant: job.tenant,
                request: job.request,
                model,
                started: now,
            },
        );
    }

    fn stopped(&mut self, id: JobId) {
        if let Some(run) = self.runs.remove(&id) {
            self.used[run.tenant.0 as usize] -= run.request.demand.total_milli();
            self.by_start.remove(&(run.started, id));
        }
    }

    /// GPUs (thousandths) held beyond quota, summed over tenants.
    fn lent(&self) -> u64 {
        self.used
            .iter()
            .zip(&self.quota)
            .map(|(&u, &q)| u.saturating_sub(q))
            .sum()
    }

    /// Offers `job` within its tenant's quota, reclaiming lent GPUs if borrowing is on.
    fn offer_in_quota(&mut self, id: u32, job: &QueuedJob, ctx: &mut dyn SchedContext) -> Offer {
        let t = job.tenant.0 as usize;
        let need = job.request.demand.total_milli();
        if self.used[t].saturating_add(need) > self.quota[t] {
            return Offer::REFUSED;
        }
        if self.no_room.try_start(id, job, ctx) {
            self.started(job, ctx);
            return Offer::STARTED;
        }
        if !self.borrow {
            return Offer::REFUSED;
        }
        let free: u64 = ctx
            .free()
            .models()
            .filter(|m| job.request.models.allows(m.0 as usize))
            .map(|m| ctx.free().free_milli(m))
            .sum();
        if free + self.lent() < need {
            return Offer::REFUSED;
        }
        // Reclaim victims: jobs of tenants over quota, latest started first, each only
        // while its tenant is still over quota net of the jobs offered before it.
        self.reclaimed.clear();
        self.reclaimed.resize(self.used.len(), 0);
        let (used, quota, reclaimed, runs) = (&self.used, &self.quota, &mut self.reclaimed, &self.runs);
        let models = job.request.models;
        let candidates = self.by_start.iter().rev().filter_map(|&(_, v)| {
            let r = &runs[&v];
            let (u, model) = (r.tenant.0 as usize, r.model?);
            if !models.allows(usize::from(model.0)) || used[u] - reclaimed[u] <= quota[u] {
                return None;
            }
            reclaimed[u] += r.request.demand.total_milli();
            Some((v, model, r.request.demand))
        });
        let before = self.evicted.len();
        if !self
            .victims
            .evict_for(ctx, job, candidates, false, &mut self.evicted)
        {
            return Offer::REFUSED;
        }
        for i in before..self.evicted.len() {
            let v = self.evicted[i].id;
            self.stopped(v);
        }
        self.no_room.clear();
        self.started(job, ctx);
        Offer {
            started: true,
            freed: true,
        }
    }
}

impl QueuePolicy for Quota {
    fn name(&self) -> &'static str {
        "quota"
    }

    fn unknown_tenants(&self, names: &[String]) -> Vec<String> {
        self.by_name
            .keys()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect()
    }

    fn bind_tenants(&mut self, names: &[String]) {
        self.quota = names
            .iter()
            .map(|n| self.by_name.get(n).map_or(self.default_milli, |&q| to_milli(q)))
            .collect();
        self.used = vec![0; names.len()];
    }

    fn enqueue(&mut self, job: QueuedJob) {
        self.ensure(job.tenant);
        let id = self.no_room.id(job.request);
        self.queue.push((job.tenant, id), (job.submit, job.id), job);
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        self.no_room.clear();
        let mut queue = std::mem::take(&mut self.queue);
        queue.new_pass();
        queue.pass(usize::MAX, |(_, id), _, job| self.offer_in_quota(id, job, ctx));
        if self.borrow {
            queue.new_pass();
            queue.pass(usize::MAX, |(_, id), _, job| {
                if self.no_room.try_start(id, job, ctx) {
                    self.started(job, ctx);
                    Offer::STARTED
                } else {
                    Offer::REFUSED
                }
            });
        }
        for job in std::mem::take(&mut self.evicted) {
            let id = self.no_room.id(job.request);
            queue.push((job.tenant, id), (job.submit, job.id), job);
        }
        self.queue = queue;
    }

    fn on_finish(&mut self, job: &FinishedJob) {
        self.stopped(job.job.id);
    }

    fn len(&self) -> usize {
        self.queue.len()
    }
}
