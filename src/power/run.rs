//! Power during a run: which jobs draw what, where caps bind, how much each GPU is
//! throttled, and the energy integrals.
//!
//! Power is piecewise constant between change points, so every integral is a sum of
//! power × duration over the intervals, advanced lazily before each change.
//!
//! Throttling (oversubscription mode). Each rack's demand is split into a fixed part
//! (node base and GPU idle power, rack equipment, and each running GPU's power down to
//! its lowest cap) and a throttleable part (the rest). Bottom-up, each tree node's
//! effective demand is e = min(cap, own + Σ children's e). Top-down, a node whose
//! budget is below its children's effective demand gives each child its fixed part plus
//! the same fraction x of its throttleable part (under `priority`: shares by job class
//! across everything beneath it, see `distribute_by_class`); a rack's budget sets the
//! fraction of each job's throttleable power it keeps (the same for all under
//! `proportional` and `static`, by class under `priority`). A job's speed is the slowest of its GPUs'
//! speeds (a gang moves at its slowest member). After a change only the subtree under
//! the highest ancestor whose cap binds (before or after the change) is recomputed.

use std::mem;

use crate::engine::SimTime;
use crate::facility::Facility;
use crate::scheduler::GpuGrant;
use crate::workload::{JobKind, JobSpec, Workload, MILLI_PER_GPU};

use super::levels::LevelStats;
use super::loads::{LoadChange, LoadFactor, LoadLink};
use super::output::{PowerOutput, PowerSeries, PowerSummary, TenantEnergy};
use super::tree::{JobGpuPower, PowerTree};
use super::{Capping, PowerConfig, PowerMode};

/// Slack for comparing watts summed in different orders: 1 µW, far above the rounding
/// of sums of up to millions of terms of ≤ 10⁸ W and far below any physical figure.
pub const EPS_W: f64 = 1e-6;

/// A job's GPUs in one rack.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    rack: u32,
    /// GPUs, weighted by share (2 whole GPUs = 2.0; one 0.5 share = 0.5).
    gpus: f64,
    /// Σ (lowest cap − idle) over these GPUs, W.
    dynmin_w: f64,
    /// Σ (capped demand − lowest cap), W: the throttleable part.
    flex_w: f64,
    /// Σ (TDP − idle), W: what admission reserves.
    reserve_w: f64,
    /// Share of `flex_w` kept.
    x: f64,
}

/// Admission mode: how long a job waited refused for power.
#[derive(Debug, Clone, Copy, Default)]
struct PowerWait {
    wait: SimTime,
    refused_since: Option<SimTime>,
    delayed: bool,
}

/// What is kept of every job: its energy so far and, while it runs, its slot. One
/// record (not two arrays) so that a stopping job costs one cache miss, not two.
#[derive(Debug, Clone, Copy)]
struct JobAcct {
    energy_j: f64,
    /// Its slot in [`PowerRun::slots`] while running, else [`NO_SLOT`].
    slot: u32,
}

/// Not running: the sentinel in [`JobAcct::slot`].
const NO_SLOT: u32 = u32::MAX;

/// The state of one running job, in a slot reused by later jobs.
#[derive(Debug, Clone)]
struct JobPower {
    job: u32,
    entries: Vec<Entry>,
    gp: JobGpuPower,
    alpha: f64,
    /// Node base and GPU idle power attributed to the job, W.
    const_w: f64,
    power_w: f64,
    since: SimTime,
    rate: f64,
    /// GPUs in the gang (whole GPUs, for the throttled count).
    gpus: u32,
    /// GPUs weighted by share, for slowdown GPU-hours.
    gpus_f: f64,
    slow: f64,
    throttled: bool,
    /// Class for `priority` capping: (inference, priority), higher keeps power longer.
    class: (bool, i32),
    /// Idle power of one of its GPUs, W (for the busy share a load keeps).
    idle_w: f64,
    running: bool,
    mark: u32,
    /// Started since the last settle: its rate and power are not yet settled.
    fresh: bool,
}

impl Default for JobPower {
    fn default() -> Self {
        JobPower {
            job: 0,
            entries: Vec::new(),
            gp: JobGpuPower {
                demand_w: 0.0,
                capped_w: 0.0,
                min_w: 0.0,
            },
            alpha: 1.0,
            const_w: 0.0,
            power_w: 0.0,
            since: SimTime::ZERO,
            rate: 1.0,
            gpus: 0,
            gpus_f: 0.0,
            slow: 0.0,
            throttled: false,
            class: (false, 0),
            idle_w: 0.0,
            running: false,
            mark: 0,
            fresh: false,
        }
    }
}

/// The power state of one run.
pub struct PowerRun {
    cfg: PowerConfig,
    tree: PowerTree,
    facility: Facility,
    fixed_w: Vec<f64>,
    sum_w: Vec<f64>,
    e_w: Vec<f64>,
    binding: Vec<bool>,
    /// Power of every tree node now, W: racks' own equipment and jobs, each level the
    /// sum of its children plus its own; the feed's is the IT power.
    level_w: Vec<f64>,
    /// Interval statistics of every tree node for `power_levels.csv`.
    levels: LevelStats,
    reserved_w: Vec<f64>,
    visit: Vec<u32>,
    epoch: u32,
    rack_jobs: Vec<Vec<u32>>,
    /// Scratch of `priority` capping: per-child figures for each level being shared
    /// (a stack, as levels recurse) and the throttleable parts under it by class.
    budget_stack: Vec<f64>,
    class_scratch: Vec<((bool, i32), u32, f64)>,
    /// Cluster nodes of each rack (index: rack − first rack).
    rack_nodes: Vec<Vec<u32>>,
    /// Per rack: whether it or a level above it has a cap. Demand under uncapped
    /// paths is never throttled, so its effective-demand sums are not kept.
    capped_path: Vec<bool>,
    /// Per cluster node: its base power over its GPUs, W (what a job is charged per
    /// GPU it holds there).
    base_per_gpu_w: Vec<f64>,
    /// Tree nodes whose cap binds or bound before the last change: budgets under them
    /// are recomputed at the next settle.
    roots: Vec<u32>,
    /// Jobs started since the last settle.
    fresh: Vec<u32>,
    touched: Vec<u32>,
    reserve_scratch: Vec<(u32, f64)>,
    /// Running jobs' state; `rack_jobs`, `fresh` and `touched` hold slot indices.
    slots: Vec<JobPower>,
    free_slots: Vec<u32>,
    acct: Vec<JobAcct>,
    /// Per job, admission mode only (empty otherwise).
    waits: Vec<PowerWait>,
    idle_w: f64,
    slow_gpus: f64,
    throttled_gpus: u32,
    peak_throttled: u32,
    blocked: u32,
    refusals: u64,
    last_t: Option<SimTime>,
    first_t: SimTime,
    /// The current stretch of constant weather (one for the whole run when the
    /// facility's overhead does not vary with time), and ∫ IT power over it, J.
    period_start: SimTime,
    period_end: SimTime,
    period_it_j: f64,
    /// The time of the changes being applied (the last `advance`).
    now: SimTime,
    it_j: f64,
    idle_j: f64,
    cooling_j: f64,
    losses_j: f64,
    slowdown_gpu_s: f64,
    at_cap_s: f64,
    series: PowerSeries,
    /// Per-GPU figures of a job of each kind (training, inference, eval) on each model.
    gp_table: Vec<[JobGpuPower; 3]>,
    /// Scratch: (job, power factor) changes of the last settle.
    pub(super) changes: Vec<(u32, f64)>,
    /// Scratch: the nodes under a level whose cap a proposal would exceed.
    pub(super) under: Vec<u32>,
    /// Jobs of the workload; [`PowerRun::acct`] entries past them are services' loads.
    n_jobs: usize,
    /// Services' loads, when the run has services ([`PowerRun::link_loads`]).
    pub(super) loads: Option<LoadLink>,
}

/// Class of a service's load under `priority` capping: above every job, inference
/// included (a service's replicas are what the issue protects first).
pub const SERVICE_CLASS: (bool, i32) = (true, i32::MAX);

impl PowerRun {
    /// A run's power state for `jobs` jobs, with nothing running.
    pub fn new(
        cfg: PowerConfig,
        tree: PowerTree,
        facility: Facility,
        jobs: usize,
        hall_names: Vec<String>,
    ) -> PowerRun {
        let n = tree.len();
        let racks = n - tree.first_rack as usize;
        let mut fixed_w = tree.own_w.clone();
        let mut sum_w = tree.own_w.clone();
        let mut e_w = vec![0.0; n];
        let mut binding = vec![false; n];
        let mut reserved_w = tree.own_w.clone();
        for i in (0..n).rev() {
            e_w[i] = sum_w[i].min(tree.cap_w[i]);
            binding[i] = sum_w[i] > tree.cap_w[i] + EPS_W;
            if i > 0 {
                let p = tree.parent[i] as usize;
                fixed_w[p] += fixed_w[i];
                sum_w[p] += e_w[i];
                reserved_w[p] += reserved_w[i];
            }
        }
        let mut level_w = tree.own_w.clone();
        for i in (1..n).rev() {
            level_w[tree.parent[i] as usize] += level_w[i];
        }
        let idle_w = tree.static_nodes_w;
        let levels = LevelStats::new(n, cfg.levels_interval());
        let mut rack_nodes = vec![Vec::new(); racks];
        for (node, &r) in tree.node_rack.iter().enumerate() {
            rack_nodes[(r - tree.first_rack) as usize].push(node as u32);
        }
        let capped_path = (tree.first_rack..n as u32)
            .map(|r| {
                let mut i = r;
                loop {
                    if tree.cap_w[i as usize].is_finite() {
                        return true;
                    }
                    if i == 0 {
                        return false;
                    }
                    i = tree.parent[i as usize];
                }
            })
            .collect();
        let waits = if cfg.mode == PowerMode::Admission {
            vec![PowerWait::default(); jobs]
        } else {
            Vec::new()
        };
        let gp_table = tree
            .models
            .iter()
            .map(|m| {
                [JobKind::Training, JobKind::Inference, JobKind::Eval]
                    .map(|k| JobGpuPower::new(&cfg, m, cfg.utilization.of(k)))
            })
            .collect();
        PowerRun {
            cfg,
            facility,
            fixed_w,
            sum_w,
            e_w,
            binding,
            levels,
            level_w,
            reserved_w,
            visit: vec![0; n],
            epoch: 0,
            rack_jobs: vec![Vec::new(); racks],
            rack_nodes,
            budget_stack: Vec::new(),
            class_scratch: Vec::new(),
            capped_path,
            base_per_gpu_w: tree
                .node_base_w
                .iter()
                .zip(&tree.node_gpus)
                .map(|(&b, &g)| b / f64::from(g.max(1)))
                .collect(),
            roots: Vec::new(),
            fresh: Vec::new(),
            touched: Vec::new(),
            reserve_scratch: Vec::new(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            acct: vec![
                JobAcct {
                    energy_j: 0.0,
                    slot: NO_SLOT,
                };
                jobs
            ],
            waits,
            idle_w,
            slow_gpus: 0.0,
            throttled_gpus: 0,
            peak_throttled: 0,
            blocked: 0,
            refusals: 0,
            last_t: None,
            first_t: SimTime::ZERO,
            period_start: SimTime::ZERO,
            period_end: SimTime::MAX,
            period_it_j: 0.0,
            now: SimTime::ZERO,
            it_j: 0.0,
            idle_j: 0.0,
            cooling_j: 0.0,
            losses_j: 0.0,
            slowdown_gpu_s: 0.0,
            at_cap_s: 0.0,
            // About two change points per job (start, end): reserve once, not by doubling.
            series: PowerSeries {
                time: Vec::with_capacity(2 * jobs + 2),
                it_w: Vec::with_capacity(2 * jobs + 2),
                hall_w: if hall_names.len() > 1 {
                    Vec::with_capacity((2 * jobs + 2) * hall_names.len())
                } else {
                    Vec::new()
                },
                throttled_gpus: Vec::with_capacity(2 * jobs + 2),
                halls: hall_names,
            },
            gp_table,
            changes: Vec::new(),
            under: Vec::new(),
            n_jobs: jobs,
            loads: None,
            tree,
        }
    }

    /// A link through which services report their replicas' draw and read what the
    /// caps leave them ([`super::loads`]); the same link on every call.
    pub fn link_loads(&mut self) -> LoadLink {
        self.loads.get_or_insert_with(LoadLink::new).clone()
    }

    /// Applies the services' load changes queued since the last settle.
    pub fn apply_loads(&mut self, now: SimTime) {
        let Some(link) = self.loads.clone() else {
            return;
        };
        for change in link.take_pending() {
            match change {
                LoadChange::Start {
                    id,
                    node,
                    gpus,
                    share,
                } => {
                    let job = self.load_job(id);
                    self.stop(now, job);
                    let n = node.0 as usize;
                    let m = &self.tree.models[self.tree.node_model[n] as usize];
                    let gp = JobGpuPower::at_share(m, share);
                    let mask = if gpus >= 64 { u64::MAX } else { (1u64 << gpus) - 1 };
                    let grant = [GpuGrant { node, gpus: mask }];
                    self.advance(now);
                    self.place(now, job, &grant, MILLI_PER_GPU, SERVICE_CLASS, gp);
                    link.set_factor(id, LoadFactor::FULL);
                }
                LoadChange::Stop { id } => {
                    let job = self.load_job(id);
                    self.stop(now, job);
                    link.set_factor(id, LoadFactor::FULL);
                }
            }
        }
    }

    /// The accounting index of load `id`, growing the accounts to hold it.
    fn load_job(&mut self, id: u32) -> u32 {
        let job = self.n_jobs + id as usize;
        if self.acct.len() <= job {
            self.acct.resize(
                job + 1,
                JobAcct {
                    energy_j: 0.0,
                    slot: NO_SLOT,
                },
            );
        }
        job as u32
    }

    /// Hands the services' loads' (load, speed) changes of a settle to the link, with
    /// the busy share they keep, and leaves only the jobs' in `changes`.
    pub fn route_loads(&self, changes: &mut Vec<(u32, f64)>) {
        let Some(link) = &self.loads else {
            return;
        };
        changes.retain(|&(job, rate)| {
            let is_job = (job as usize) < self.n_jobs;
            if !is_job {
                let busy_scale = self.kept_busy_share(job);
                link.set_factor(job - self.n_jobs as u32, LoadFactor { rate, busy_scale });
            }
            is_job
        });
    }

    /// Share of its busy power (above idle) a running job keeps under the caps.
    fn kept_busy_share(&self, job: u32) -> f64 {
        let slot = self.acct[job as usize].slot;
        if slot == NO_SLOT {
            return 1.0;
        }
        let j = &self.slots[slot as usize];
        let (mut kept, mut full) = (0.0, 0.0);
        for e in &j.entries {
            kept += e.dynmin_w + e.x * e.flex_w;
            full += e.gpus * (j.gp.demand_w - j.idle_w);
        }
        if full > 0.0 {
            (kept / full).clamp(0.0, 1.0)
        } else {
            1.0
        }
    }

    /// The power mode.
    pub fn mode(&self) -> PowerMode {
        self.cfg.mode
    }

    /// Current IT power, W.
    pub fn it_w(&self) -> f64 {
        self.level_w[0]
    }

    /// Current power of every tree node (feed 0, then halls, rows, racks), W, and its
    /// cap: for checking that no cap is exceeded.
    pub fn levels(&self) -> Vec<(f64, f64)> {
        let n = self.tree.len();
        let first_rack = self.tree.first_rack as usize;
        let mut p: Vec<f64> = (0..n)
            .map(|i| {
                if i >= first_rack {
                    self.level_w[i]
                } else {
                    self.tree.own_w[i]
                }
            })
            .collect();
        for i in (1..n).rev() {
            let parent = self.tree.parent[i] as usize;
            p[parent] += p[i];
        }
        p.into_iter().zip(self.tree.cap_w.iter().copied()).collect()
    }

    /// Power reserved at every tree node for admission (static power plus running
    /// jobs' GPUs at TDP), W, with its cap.
    pub fn reserved(&self) -> Vec<(f64, f64)> {
        self.reserved_w
            .iter()
            .copied()
            .zip(self.tree.cap_w.iter().copied())
            .collect()
    }

    /// Integrates the current state up to `now`.
    fn advance(&mut self, now: SimTime) {
        let Some(last) = self.last_t else {
            self.last_t = Some(now);
            self.first_t = now;
            self.now = now;
            self.levels.begin(now);
            self.open_period(now);
            return;
        };
        if now <= last {
            return;
        }
        self.now = now;
        if now < self.period_end.min(self.levels.next) {
            self.integrate(secs(now - last));
        } else {
            let mut t = last;
            while t < now {
                let next = self.period_end.min(self.levels.next).min(now);
                self.integrate(secs(next - t));
                if next == self.period_end {
                    self.close_period(next);
                }
                if next == self.levels.next {
                    self.levels.close(next, &self.level_w);
                }
                t = next;
            }
        }
        self.last_t = Some(now);
    }

    /// Adds `dt` seconds at the current power to the integrals.
    #[inline]
    fn integrate(&mut self, dt: f64) {
        let it_j = self.level_w[0] * dt;
        self.it_j += it_j;
        self.period_it_j += it_j;
        self.idle_j += self.idle_w * dt;
        if self.slow_gpus != 0.0 {
            self.slowdown_gpu_s += self.slow_gpus * dt;
        }
        if self.throttled_gpus > 0 || self.blocked > 0 {
            self.at_cap_s += dt;
        }
    }

    /// Starts a stretch of constant weather at `t`.
    fn open_period(&mut self, t: SimTime) {
        self.period_start = t;
        self.period_end = self.facility.next_change_after(t).max(t + SimTime(1));
        self.period_it_j = 0.0;
    }

    /// Ends the stretch of constant weather at `t`: cooling and losses over it follow
    /// from its IT energy, the overheads being affine in IT power.
    fn close_period(&mut self, t: SimTime) {
        let a = self.facility.affine(self.period_start);
        let span = secs(t - self.period_start);
        self.cooling_j += a.cooling_kw * 1000.0 * span + a.cooling_per_it * self.period_it_j;
        self.losses_j += a.losses_kw * 1000.0 * span + a.losses_per_it * self.period_it_j;
        self.open_period(t);
    }

    /// Admission mode: the highest level of the tree (feed 0, then halls, rows, racks)
    /// whose cap would be exceeded if a job started on `grants` with its GPUs at full
    /// power; None when every cap holds, and always None in other modes.
    pub fn over_cap(&mut self, grants: &[GpuGrant], milli_per_gpu: u32) -> Option<u32> {
        if self.cfg.mode != PowerMode::Admission || grants.is_empty() {
            return None;
        }
        let mut adds = mem::take(&mut self.reserve_scratch);
        adds.clear();
        let share = f64::from(milli_per_gpu) / f64::from(MILLI_PER_GPU);
        for g in grants {
            let n = g.node.0 as usize;
            let m = &self.tree.models[self.tree.node_model[n] as usize];
            let add = f64::from(g.gpus.count_ones()) * share * (m.tdp_w - m.idle_w);
            let mut i = self.tree.node_rack[n];
            loop {
                match adds.iter_mut().find(|(k, _)| *k == i) {
                    Some(a) => a.1 += add,
                    None => adds.push((i, add)),
                }
                if i == 0 {
                    break;
                }
                i = self.tree.parent[i as usize];
            }
        }
        let over = adds
            .iter()
            .filter(|&&(i, a)| self.reserved_w[i as usize] + a > self.tree.cap_w[i as usize] + EPS_W)
            .map(|&(i, _)| i)
            .min();
        self.reserve_scratch = adds;
        over
    }

    /// Admission mode: `job` could not start at `now` for power; it waits, and the wait
    /// until it starts is attributed to power.
    pub fn refuse(&mut self, now: SimTime, job: u32) {
        self.advance(now);
        self.refusals += 1;
        let j = &mut self.waits[job as usize];
        if j.refused_since.is_none() {
            j.refused_since = Some(now);
            j.delayed = true;
            self.blocked += 1;
        }
    }

    /// Appends the cluster nodes under tree node `i` to `out`.
    pub fn nodes_under(&self, i: u32, out: &mut Vec<u32>) {
        if self.tree.is_rack(i) {
            out.extend_from_slice(&self.rack_nodes[(i - self.tree.first_rack) as usize]);
        } else {
            for &c in &self.tree.children[i as usize] {
                self.nodes_under(c, out);
            }
        }
    }

    /// `job` starts on `grants` (empty: unplaced, draws nothing).
    pub fn start(&mut self, now: SimTime, job: u32, grants: &[GpuGrant], spec: &JobSpec) {
        let (milli_per_gpu, kind, priority) = (spec.demand.milli_per_gpu, spec.kind, spec.priority);
        self.advance(now);
        if let Some(a) = self.waits.get_mut(job as usize) {
            if let Some(since) = a.refused_since.take() {
                a.wait = a.wait + (now - since);
                self.blocked -= 1;
            }
        }
        if let Some(first) = grants.first() {
            let model = self.tree.node_model[first.node.0 as usize] as usize;
            let m = &self.tree.models[model];
            let kind_index = match kind {
                JobKind::Training => 0,
                JobKind::Inference => 1,
                JobKind::Eval => 2,
            };
            // A utilization the trace measured beats the assumed one for the kind.
            let gp = match spec.gpu_util {
                Some(u) => JobGpuPower::new(&self.cfg, m, u),
                None => self.gp_table[model][kind_index],
            };
            let class = (kind == JobKind::Inference, priority);
            self.place(now, job, grants, milli_per_gpu, class, gp);
        }
    }

    /// Puts running `job` (or a service's load) on non-empty `grants`, drawing `gp`
    /// per GPU share, in `class` for priority capping.
    fn place(
        &mut self,
        now: SimTime,
        job: u32,
        grants: &[GpuGrant],
        milli_per_gpu: u32,
        class: (bool, i32),
        gp: JobGpuPower,
    ) {
        {
            let first = grants[0];
            let slot = self.free_slots.pop().unwrap_or_else(|| {
                self.slots.push(JobPower::default());
                (self.slots.len() - 1) as u32
            });
            self.acct[job as usize].slot = slot;
            let model = self.tree.node_model[first.node.0 as usize] as usize;
            let m = &self.tree.models[model];
            let (idle_w, tdp_w, alpha) = (m.idle_w, m.tdp_w, m.alpha);
            let share = f64::from(milli_per_gpu) / f64::from(MILLI_PER_GPU);
            // The slot is filled in place (moving it out and back showed in profiles).
            let j = &mut self.slots[slot as usize];
            j.entries.clear();
            let mut const_w = 0.0;
            let mut gpus = 0;
            for g in grants {
                let n = g.node.0 as usize;
                let count = g.gpus.count_ones();
                gpus += count;
                let gf = f64::from(count) * share;
                const_w += gf * (self.base_per_gpu_w[n] + idle_w);
                let rack = self.tree.node_rack[n];
                match j.entries.iter_mut().find(|e| e.rack == rack) {
                    Some(e) => e.gpus += gf,
                    None => j.entries.push(Entry {
                        rack,
                        gpus: gf,
                        x: 1.0,
                        ..Entry::default()
                    }),
                }
            }
            // Under no cap and no static cap the job simply runs at full power and speed;
            // otherwise the next settle sets both.
            let mut settle = self.cfg.capping == Capping::Static;
            let mut power_w = const_w;
            for e in &mut j.entries {
                e.dynmin_w = e.gpus * (gp.min_w - idle_w);
                e.flex_w = e.gpus * (gp.capped_w - gp.min_w);
                e.reserve_w = e.gpus * (tdp_w - idle_w);
                power_w += e.dynmin_w + e.flex_w;
                settle |= self.capped_path[(e.rack - self.tree.first_rack) as usize];
            }
            j.job = job;
            j.gp = gp;
            j.alpha = alpha;
            j.const_w = const_w;
            j.power_w = power_w;
            j.gpus = gpus;
            j.gpus_f = f64::from(gpus) * share;
            j.class = class;
            j.idle_w = idle_w;
            j.running = true;
            j.since = now;
            // The engine starts a run with its power factor at 1 (see `Core::begin`); a
            // static cap may lower it at the next settle.
            j.rate = 1.0;
            j.fresh = settle;
            self.idle_w -= const_w;
            if settle {
                self.fresh.push(slot);
            }
            for k in 0..self.slots[slot as usize].entries.len() {
                let e = self.slots[slot as usize].entries[k];
                let ri = (e.rack - self.tree.first_rack) as usize;
                // Only throttling reads a rack's jobs.
                if self.capped_path[ri] {
                    self.rack_jobs[ri].push(slot);
                }
                if self.cfg.mode == PowerMode::Admission {
                    self.reserve(e.rack, e.reserve_w);
                }
                self.apply_delta(e.rack, e.dynmin_w, e.dynmin_w + e.flex_w);
            }
        }
    }

    fn reserve(&mut self, rack: u32, w: f64) {
        let mut i = rack;
        loop {
            self.reserved_w[i as usize] += w;
            if i == 0 {
                break;
            }
            i = self.tree.parent[i as usize];
        }
    }

    /// `job` stops (finishes or is preempted).
    pub fn stop(&mut self, now: SimTime, job: u32) {
        self.advance(now);
        let slot = mem::replace(&mut self.acct[job as usize].slot, NO_SLOT);
        if slot == NO_SLOT {
            return;
        }
        let j = &mut self.slots[slot as usize];
        let energy_j = j.power_w * secs(now - j.since);
        j.running = false;
        let slow = mem::take(&mut j.slow);
        let throttled = mem::replace(&mut j.throttled, false);
        let (gpus, const_w) = (j.gpus, j.const_w);
        self.acct[job as usize].energy_j += energy_j;
        self.slow_gpus -= slow;
        if throttled {
            self.throttled_gpus -= gpus;
        }
        self.idle_w += const_w;
        for k in 0..self.slots[slot as usize].entries.len() {
            let e = self.slots[slot as usize].entries[k];
            let ri = (e.rack - self.tree.first_rack) as usize;
            if self.capped_path[ri] {
                let list = &mut self.rack_jobs[ri];
                if let Some(p) = list.iter().position(|&k| k == slot) {
                    list.swap_remove(p);
                }
            }
            if self.cfg.mode == PowerMode::Admission {
                self.reserve(e.rack, -e.reserve_w);
            }
            // Its power in the rack now: fixed part plus the kept share.
            let kept = e.dynmin_w + e.x * e.flex_w;
            self.apply_delta_stop(e.rack, e.dynmin_w, e.dynmin_w + e.flex_w, kept);
        }
        self.free_slots.push(slot);
    }

    /// Applies the changes of this instant: recomputes caps and throttling where
    /// needed, and pushes (job, new power factor of its rate) for every running job
    /// whose speed changed.
    pub fn settle(&mut self, now: SimTime, out: &mut Vec<(u32, f64)>) {
        self.advance(now);
        if !self.roots.is_empty() || !self.fresh.is_empty() {
            self.recompute(now, out);
        }
        self.record(now);
    }

    /// Adds a starting job's power in rack `r` (fixed part `d_fixed`, whole demand
    /// `d_sum`) and propagates effective demand up the tree; a level whose cap binds
    /// before or after becomes a root to recompute. If none does, everyone in the rack
    /// keeps full power and the rack's power simply grows by `d_sum`.
    fn apply_delta(&mut self, r: u32, d_fixed: f64, d_sum: f64) {
        if !self.propagate(r, d_fixed, d_sum) {
            self.add_rack_power(r, d_sum);
        }
    }

    /// As [`Self::apply_delta`] for a stopping job whose power in the rack was `kept_w`.
    fn apply_delta_stop(&mut self, r: u32, d_fixed: f64, d_sum: f64, kept_w: f64) {
        if !self.propagate(r, -d_fixed, -d_sum) {
            self.add_rack_power(r, -kept_w);
        }
    }

    /// Changes rack `r`'s power, and so every level above it, by `delta` W.
    fn add_rack_power(&mut self, r: u32, delta: f64) {
        let mut i = r;
        loop {
            self.levels.update(i, self.now, &mut self.level_w, delta);
            if i == 0 {
                break;
            }
            i = self.tree.parent[i as usize];
        }
    }

    /// Updates fixed and effective demand from rack `r` up; true if some level on the
    /// path binds (before or after), in which case it was queued as a root.
    fn propagate(&mut self, r: u32, d_fixed: f64, d_sum: f64) -> bool {
        if !self.capped_path[(r - self.tree.first_rack) as usize] {
            return false;
        }
        let mut i = r as usize;
        let mut any = false;
        self.fixed_w[i] += d_fixed;
        self.sum_w[i] += d_sum;
        loop {
            let old_e = self.e_w[i];
            self.e_w[i] = self.sum_w[i].min(self.tree.cap_w[i]);
            let de = self.e_w[i] - old_e;
            let new = self.sum_w[i] > self.tree.cap_w[i] + EPS_W;
            if mem::replace(&mut self.binding[i], new) || new {
                self.roots.push(i as u32);
                any = true;
            }
            if i == 0 {
                break;
            }
            let p = self.tree.parent[i] as usize;
            self.fixed_w[p] += d_fixed;
            self.sum_w[p] += de;
            i = p;
        }
        any
    }

    fn recompute(&mut self, now: SimTime, out: &mut Vec<(u32, f64)>) {
        let mut roots = mem::take(&mut self.roots);
        roots.sort_unstable();
        roots.dedup();
        self.epoch += 1;
        self.touched.clear();
        for &r in &roots {
            if self.visit[r as usize] != self.epoch {
                self.distribute(r, self.e_w[r as usize]);
            }
        }
        roots.clear();
        self.roots = roots;
        let fresh = mem::take(&mut self.fresh);
        for &job in &fresh {
            self.touch(job);
        }
        self.fresh = fresh;
        self.fresh.clear();
        let touched = mem::take(&mut self.touched);
        for &job in &touched {
            self.update_job(now, job, out);
        }
        self.touched = touched;
        self.peak_throttled = self.peak_throttled.max(self.throttled_gpus);
    }

    /// Gives tree node `i` a budget of `budget_w` and shares it among its children.
    fn distribute(&mut self, i: u32, budget_w: f64) {
        self.visit[i as usize] = self.epoch;
        if self.tree.is_rack(i) {
            self.set_rack_budget(i, budget_w);
            return;
        }
        let (s, f) = (self.sum_w[i as usize], self.fixed_w[i as usize]);
        if self.cfg.capping == Capping::Priority && budget_w < s - EPS_W {
            self.distribute_by_class(i, budget_w);
            return;
        }
        let x = if budget_w >= s - EPS_W {
            1.0
        } else if s - f > 0.0 {
            ((budget_w - f) / (s - f)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        for k in 0..self.tree.children[i as usize].len() {
            let c = self.tree.children[i as usize][k] as usize;
            let b = if x >= 1.0 {
                self.e_w[c]
            } else {
                self.fixed_w[c] + x * (self.e_w[c] - self.fixed_w[c])
            };
            self.distribute(c as u32, b);
        }
    }

    /// `priority` capping at a level whose cap binds: its throttleable budget goes to
    /// the jobs beneath it class by class, highest first (each child taking at most its
    /// own effective demand); the class where the budget runs out shares what is left in
    /// proportion, lower classes keep only their fixed part. Each child then shares its
    /// budget the same way, so a job is throttled only once every job of a higher class
    /// under the binding level has full power or is held back by a cap of its own.
    fn distribute_by_class(&mut self, i: u32, budget_w: f64) {
        let iu = i as usize;
        let nc = self.tree.children[iu].len();
        // Scratch on a stack shared with the recursion: each child's room (its effective
        // throttleable demand), then what it is given.
        let base = self.budget_stack.len();
        for k in 0..nc {
            let c = self.tree.children[iu][k] as usize;
            self.budget_stack.push(self.e_w[c] - self.fixed_w[c]);
        }
        self.budget_stack.resize(base + 2 * nc, 0.0);
        let mut flex = mem::take(&mut self.class_scratch);
        flex.clear();
        for k in 0..nc {
            let c = self.tree.children[iu][k];
            self.collect_flex(c, k as u32, &mut flex);
        }
        flex.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        // One entry per (class, child).
        flex.dedup_by(|later, kept| {
            let same = later.0 == kept.0 && later.1 == kept.1;
            if same {
                kept.2 += later.2;
            }
            same
        });
        let mut avail = (budget_w - self.fixed_w[iu]).max(0.0);
        let mut g = 0;
        while g < flex.len() && avail > 0.0 {
            let class = flex[g].0;
            let end = g + flex[g..].iter().take_while(|e| e.0 == class).count();
            // The class's demand in each child, up to the child's remaining room.
            let want: f64 = flex[g..end]
                .iter()
                .map(|&(_, k, q)| q.min(self.budget_stack[base + k as usize]))
                .sum();
            let ratio = if want <= avail { 1.0 } else { avail / want };
            for &(_, k, q) in &flex[g..end] {
                let k = k as usize;
                let got = q.min(self.budget_stack[base + k]) * ratio;
                self.budget_stack[base + k] -= got;
                self.budget_stack[base + nc + k] += got;
            }
            avail = if ratio < 1.0 { 0.0 } else { avail - want };
            g = end;
        }
        self.class_scratch = flex;
        for k in 0..nc {
            let c = self.tree.children[iu][k];
            let b = self.fixed_w[c as usize] + self.budget_stack[base + nc + k];
            self.distribute(c, b);
        }
        self.budget_stack.truncate(base);
    }

    /// Appends (class, `k`, throttleable W) for every running job's part in the racks
    /// under tree node `i`.
    fn collect_flex(&self, i: u32, k: u32, out: &mut Vec<((bool, i32), u32, f64)>) {
        if self.tree.is_rack(i) {
            let ri = (i - self.tree.first_rack) as usize;
            for &j in &self.rack_jobs[ri] {
                let job = &self.slots[j as usize];
                if let Some(e) = job.entries.iter().find(|e| e.rack == i) {
                    if e.flex_w > 0.0 {
                        out.push((job.class, k, e.flex_w));
                    }
                }
            }
        } else {
            for &c in &self.tree.children[i as usize] {
                self.collect_flex(c, k, out);
            }
        }
    }

    fn set_rack_budget(&mut self, r: u32, budget_w: f64) {
        let ri = (r - self.tree.first_rack) as usize;
        let i = r as usize;
        let fixed = self.fixed_w[i];
        let flex = self.sum_w[i] - fixed;
        let mut avail = (budget_w - fixed).max(0.0);
        let mut list = mem::take(&mut self.rack_jobs[ri]);
        let mut power = fixed;
        let entry = |jobs: &mut [JobPower], job: u32| -> Option<usize> {
            jobs[job as usize].entries.iter().position(|e| e.rack == r)
        };
        if self.cfg.capping == Capping::Priority && avail < flex - EPS_W {
            let jobs = &self.slots;
            list.sort_unstable_by(|&a, &b| {
                jobs[b as usize]
                    .class
                    .cmp(&jobs[a as usize].class)
                    .then(a.cmp(&b))
            });
            let mut k = 0;
            while k < list.len() {
                let class = self.slots[list[k] as usize].class;
                let end = k + list[k..]
                    .iter()
                    .take_while(|&&j| self.slots[j as usize].class == class)
                    .count();
                let group: f64 = list[k..end]
                    .iter()
                    .filter_map(|&j| {
                        entry(&mut self.slots, j).map(|p| self.slots[j as usize].entries[p].flex_w)
                    })
                    .sum();
                let x = if group <= 0.0 || avail >= group {
                    1.0
                } else {
                    avail / group
                };
                avail = (avail - group).max(0.0);
                for &j in &list[k..end] {
                    self.set_x(r, j, x, &mut power);
                }
                k = end;
            }
        } else {
            let x = if flex <= EPS_W || avail >= flex {
                1.0
            } else {
                avail / flex
            };
            for &j in &list {
                self.set_x(r, j, x, &mut power);
            }
        }
        self.rack_jobs[ri] = list;
        let delta = power - self.level_w[i];
        self.add_rack_power(r, delta);
    }

    /// Sets the share `x` job `j` keeps in rack `r`, adds its power there to `power`,
    /// and marks the job for an update if anything about it changed.
    fn set_x(&mut self, r: u32, j: u32, x: f64, power: &mut f64) {
        let job = &mut self.slots[j as usize];
        let Some(e) = job.entries.iter_mut().find(|e| e.rack == r) else {
            return;
        };
        let changed = e.x != x || job.fresh;
        e.x = x;
        *power += x * e.flex_w;
        if changed {
            self.touch(j);
        }
    }

    fn touch(&mut self, job: u32) {
        let j = &mut self.slots[job as usize];
        if j.mark != self.epoch {
            j.mark = self.epoch;
            self.touched.push(job);
        }
    }

    fn update_job(&mut self, now: SimTime, job: u32, out: &mut Vec<(u32, f64)>) {
        let j = &mut self.slots[job as usize];
        if !j.running {
            return;
        }
        j.fresh = false;
        let mut power = j.const_w;
        let mut rate: f64 = 1.0;
        for e in &j.entries {
            power += e.dynmin_w + e.x * e.flex_w;
            rate = rate.min(j.gp.rate(e.x, j.alpha));
        }
        if power != j.power_w {
            self.acct[j.job as usize].energy_j += j.power_w * secs(now - j.since);
            j.since = now;
            j.power_w = power;
        }
        if rate != j.rate {
            j.rate = rate;
            out.push((j.job, rate));
            let slow = (1.0 - rate) * j.gpus_f;
            self.slow_gpus += slow - j.slow;
            j.slow = slow;
            let throttled = rate < 1.0;
            if throttled != j.throttled {
                j.throttled = throttled;
                if throttled {
                    self.throttled_gpus += j.gpus;
                } else {
                    self.throttled_gpus -= j.gpus;
                }
            }
        }
    }

    /// Appends a `power.csv` row at `t` if IT power or throttling changed since the
    /// last row (the writer adds the rows where only the facility's overhead changes).
    fn record(&mut self, t: SimTime) {
        let it_w = self.level_w[0];
        let s = &mut self.series;
        let halls = if s.halls.len() > 1 {
            &self.level_w[self.tree.first_hall as usize..self.tree.first_row as usize]
        } else {
            &[]
        };
        let h = halls.len();
        if let Some(i) = s.len().checked_sub(1) {
            let same = s.it_w[i] == it_w
                && s.throttled_gpus[i] == self.throttled_gpus
                && s.hall_w[i * h..(i + 1) * h] == *halls;
            if same {
                return;
            }
            if s.time[i] == t {
                s.it_w[i] = it_w;
                s.throttled_gpus[i] = self.throttled_gpus;
                s.hall_w[i * h..(i + 1) * h].copy_from_slice(halls);
                return;
            }
        }
        s.time.push(t);
        s.it_w.push(it_w);
        s.throttled_gpus.push(self.throttled_gpus);
        s.hall_w.extend_from_slice(halls);
    }

    /// Closes the integrals at `end` (every job has stopped) and builds the outputs.
    pub fn finish(mut self, end: SimTime, workload: &Workload) -> PowerOutput {
        self.advance(end);
        if end > self.period_start {
            self.close_period(end);
        }
        self.levels.close(end, &self.level_w);
        // Jobs still refused at the end have waited for power until then.
        for w in &mut self.waits {
            if let Some(since) = w.refused_since.take() {
                w.wait = w.wait + end.saturating_sub(since);
            }
        }
        // Services' loads still drawing at the end (their nodes stay held): close them.
        for k in self.n_jobs..self.acct.len() {
            let slot = self.acct[k].slot;
            if slot != NO_SLOT {
                let j = &self.slots[slot as usize];
                self.acct[k].energy_j += j.power_w * secs(end.saturating_sub(j.since));
            }
        }
        let n_jobs = self.n_jobs.min(self.acct.len());
        let jobs_j: f64 = self.acct[..n_jobs].iter().map(|j| j.energy_j).sum();
        let services_j: f64 = self.acct[n_jobs..].iter().map(|j| j.energy_j).sum();
        let mut tenant_j = vec![0.0; workload.tenants.len()];
        for (spec, j) in workload.jobs.iter().zip(&self.acct) {
            if let Some(t) = tenant_j.get_mut(spec.tenant.0 as usize) {
                *t += j.energy_j;
            }
        }
        let mut tenants: Vec<TenantEnergy> = workload
            .tenants
            .iter()
            .zip(&tenant_j)
            .filter(|(_, &e)| e > 0.0)
            .map(|(name, &e)| TenantEnergy {
                tenant: name.clone(),
                energy_mwh: e / J_PER_MWH,
            })
            .collect();
        tenants.sort_by(|a, b| a.tenant.cmp(&b.tenant));
        let s = &self.series;
        let span_s = (end.saturating_sub(self.first_t)).as_secs_f64();
        let peak_w = s.it_w.iter().copied().fold(0.0, f64::max);
        let p99_w = time_weighted_quantile(&s.time, &s.it_w, end, 0.99);
        let facility_j = self.it_j + self.cooling_j + self.losses_j;
        let feed = self.tree.cap_w[0];
        let summary = PowerSummary {
            mode: self.cfg.mode.as_str(),
            capping: self.cfg.capping.as_str(),
            it_energy_mwh: self.it_j / J_PER_MWH,
            facility_energy_mwh: facility_j / J_PER_MWH,
            cooling_energy_mwh: self.cooling_j / J_PER_MWH,
            losses_energy_mwh: self.losses_j / J_PER_MWH,
            jobs_energy_mwh: jobs_j / J_PER_MWH,
            services_energy_mwh: self.loads.is_some().then_some(services_j / J_PER_MWH),
            idle_energy_mwh: self.idle_j / J_PER_MWH,
            overhead_energy_mwh: self.tree.overhead_w * span_s / J_PER_MWH,
            nameplate_it_kw: self.tree.nameplate_w[0] / 1000.0,
            peak_it_kw: peak_w / 1000.0,
            peak_facility_kw: super::output::peak_facility_kw(&self.series, &self.facility, end),
            p99_it_kw: p99_w / 1000.0,
            mean_it_kw: if span_s > 0.0 {
                self.it_j / span_s / 1000.0
            } else {
                0.0
            },
            feed_kw: feed.is_finite().then_some(feed / 1000.0),
            mean_pue: if self.it_j > 0.0 {
                facility_j / self.it_j
            } else {
                1.0
            },
            hours_at_cap: self.at_cap_s / 3600.0,
            throttle_slowdown_gpu_hours: self.slowdown_gpu_s / 3600.0,
            peak_throttled_gpus: self.peak_throttled,
            power_refusals: self.refusals,
            jobs_power_delayed: self.waits.iter().filter(|j| j.delayed).count() as u64,
            power_wait_hours: self.waits.iter().fold(0.0, |a, j| a + j.wait.as_secs_f64()) / 3600.0,
            tenants,
        };
        PowerOutput {
            summary,
            job_power_wait: self.waits.iter().map(|j| j.wait).collect(),
            job_energy_j: self.acct[..n_jobs].iter().map(|j| j.energy_j).collect(),
            series: self.series,
            levels: self.levels.into_output(&self.tree),
            facility: self.facility,
        }
    }
}

/// `d` in seconds, by a multiplication: the division of [`SimTime::as_secs_f64`] at every
/// change point showed in profiles. Within an ulp of it; energies are sums of such
/// products either way.
#[inline]
fn secs(d: SimTime) -> f64 {
    // Through i64: one conversion instruction (times are far below 2^63 ms).
    d.as_ms() as i64 as f64 * 1e-3
}

/// Joules in a megawatt-hour.
pub const J_PER_MWH: f64 = 3.6e9;

/// The `q` quantile of a piecewise-constant series (row i holds from `time[i]` to
/// `time[i + 1]`, the last row to `end`), weighted by duration.
pub fn time_weighted_quantile(time: &[SimTime], value: &[f64], end: SimTime, q: f64) -> f64 {
    let n = time.len();
    let dur = |i: usize| (time.get(i + 1).copied().unwrap_or(end).max(time[i]) - time[i]).as_ms();
    let (mut lo, mut hi, mut total) = (f64::INFINITY, f64::NEG_INFINITY, 0u64);
    for (i, &v) in value.iter().enumerate().take(n) {
        lo = lo.min(v);
        hi = hi.max(v);
        total += dur(i);
    }
    if total == 0 {
        return value.iter().copied().fold(0.0, f64::max);
    }
    if hi <= lo {
        return lo;
    }
    // Weights by value bucket over [lo, hi]. The bucket of a value never decreases as
    // the value grows, so the quantile lies in the bucket where the cumulative weight
    // first reaches the target, and only that bucket's rows are sorted: two linear
    // passes (a weighted quickselect over all rows cost several).
    const BUCKETS: usize = 4096;
    let scale = (BUCKETS - 1) as f64 / (hi - lo);
    let bucket = |v: f64| (((v - lo) * scale) as usize).min(BUCKETS - 1);
    let mut weight = vec![0u64; BUCKETS];
    for (i, &v) in value.iter().enumerate().take(n) {
        weight[bucket(v)] += dur(i);
    }
    let target = q * total as f64;
    let (mut acc, mut b) = (0u64, 0usize);
    while b < BUCKETS - 1 && ((acc + weight[b]) as f64) < target {
        acc += weight[b];
        b += 1;
    }
    let mut rows: Vec<(f64, u64)> = (0..n)
        .filter(|&i| bucket(value[i]) == b)
        .map(|i| (value[i], dur(i)))
        .collect();
    rows.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    for &(v, d) in &rows {
        acc += d;
        if acc as f64 >= target {
            return v;
        }
    }
    rows.last().map_or(hi, |r| r.0)
}
