//! The reliability model in a run: failures stop the jobs on the nodes they take down,
//! repairs and hot spares bring capacity back, lemon nodes are cordoned, and jobs write
//! checkpoints that bound what a failure costs them.
//!
//! Everything goes through the model seam ([`crate::model`]): a failure stops each job
//! on the failed nodes with `ctx.fail(job, ..)` (requeued, or failed for good at its
//! retry limit), then takes the nodes out of service; a repair or a spare swap brings
//! nodes back. What any early stop costs a job (failure or preemption alike) is the
//! model's [`Model::stop_loss`]: the work since its last checkpoint, and the restart. A checkpoint is a pause: the job's [`Factor::Checkpoint`] is 0
//! while it writes, and the work done when the write ends is safe. With two-stage
//! writes the pause is the local SSD write; the copy then drains to the shared tier in
//! the background, and a failure taking the node before the drain ends restores from
//! the last drained checkpoint, as does a preemption (the victim's nodes go to another
//! job at once). A drain still running when its job stops is dropped, its share of the
//! tier going to the other writes.

use std::collections::VecDeque;

use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, Exp};

use super::checkpoint::{daly_interval, young_interval, CheckpointPolicy};
use super::component::{BlastMap, Component, ComponentKind};
use super::config::{
    Cause, CheckpointConfig, CordonConfig, IsolationConfig, ModelSizeConfig, ReliabilityError, RepairDist,
    SeparatePer, SpareConfig, SparePer, StorageConfig,
};
use super::output::{FailureRecord, JobReliability, ReliabilityOutput};
use super::process::{FailureProcess, LoggedFailure};
use super::storage::Writes;
use crate::engine::{RngStreams, SimTime};
use crate::metrics::{JobRecord, Summary};
use crate::model::{Admission, AfterFailure, Model, ModelCtx, ModelOutputs, StopLoss, TakeOut};
use crate::rate::Factor;
use crate::scheduler::{GpuGrant, QueuedJob};
use crate::topology::{Cluster, NodeId};
use crate::workload::{JobId, Workload};

/// Token kinds (top byte of an event token).
const NEXT_FAILURE: u64 = 0;
const CHECKPOINT: u64 = 1;
const REPAIR_DONE: u64 = 2;
const SPARE_IN: u64 = 3;
const WRITE_DONE: u64 = 4;
const NOISY_EXPIRES: u64 = 5;
const KIND_SHIFT: u32 = 56;

fn token(kind: u64, payload: u64) -> u64 {
    (kind << KIND_SHIFT) | payload
}

/// Where failures come from.
#[derive(Debug)]
enum Arrivals {
    /// Drawn from the causes' distributions.
    Drawn(FailureProcess),
    /// Replayed from a log, next row at the index.
    Log(Vec<LoggedFailure>, usize),
}

/// A failure due next: when, the cause's index and the component.
#[derive(Debug, Clone, Copy)]
struct Due {
    at: SimTime,
    cause: usize,
    component: Component,
}

/// A node's state.
#[derive(Debug, Clone, Default)]
struct NodeState {
    /// Outstanding failures keeping it down (a rack failure and a GPU failure add up).
    down: u32,
    /// Held as a hot spare (out of service until swapped in).
    spare: bool,
    /// Removed for good after too many failures.
    cordoned: bool,
    /// When it last left service, while it is out.
    out_since: Option<SimTime>,
    /// Its recent failure times (only with cordoning).
    recent: VecDeque<SimTime>,
    /// Its node-level failures within the isolation window (only with isolation).
    noisy: u32,
}

/// A job's state across its runs.
#[derive(Debug, Clone, Default)]
struct JobState {
    /// Bumped at each stop, so checkpoint events of an ended run are ignored.
    generation: u32,
    /// GPUs held in the current run.
    gpus: u32,
    /// Nodes of the current run.
    nodes: Vec<NodeId>,
    /// When the current run started.
    run_start: SimTime,
    /// Work done in this run (ms) that a checkpoint has made safe (or the restore done
    /// before training resumes).
    safe_ms: f64,
    /// Work (ms) in this run at which the next checkpoint is due.
    next_ckpt_ms: f64,
    /// Checkpoint interval of this run, ms of work (0: none).
    interval_ms: f64,
    /// When the write in progress started.
    writing_since: Option<SimTime>,
    /// Restore time (ms) charged at the last interruption, redone before work resumes.
    restore_ms: f64,
    /// Measured work rate of this run (work ms per wall ms), 1 until measured.
    rate: f64,
    /// Wall time and work at the last checkpoint check, to measure the rate.
    probe: (SimTime, f64),
    /// Bumped whenever the end of its checkpoint write on the storage tier moves, so
    /// stale ends are ignored.
    write_generation: u32,
    /// Work (ms) of this run safe on the shared tier (two-stage writes only; a
    /// restore counts as drained).
    drained_ms: f64,
    /// The work (ms) whose local copy is draining to the shared tier now.
    draining: Option<f64>,
    /// A newer local copy waiting for the drain in progress to end (only the latest
    /// waits: an older one it supersedes is never drained).
    pending_drain: Option<f64>,
    /// A failure this instant took down a node holding its local copy: the stop
    /// restores from the last drained checkpoint.
    local_lost: bool,
    /// A failure of this model is stopping the job this instant (else a stop is a
    /// preemption or another model's doing).
    failing: bool,
    /// Figures for the outputs.
    figures: JobReliability,
}

/// The reliability model of one run.
pub struct ReliabilityModel {
    causes: Vec<String>,
    cause_repair: Vec<(f64, RepairDist)>,
    arrivals: Arrivals,
    due: Option<Due>,
    blast: BlastMap,
    node_gpus: Vec<u32>,
    node_group: Vec<u32>,
    nodes: Vec<NodeState>,
    node_jobs: Vec<Vec<u32>>,
    jobs: Vec<JobState>,
    per_gpu_day: f64,
    per_node_day: f64,
    per_rack_day: f64,
    checkpoint: CheckpointConfig,
    spares: Option<SpareConfig>,
    spare_pool: Vec<Vec<NodeId>>,
    cordon: Option<CordonConfig>,
    max_repairs: u32,
    repairs_active: u32,
    repair_queue: VecDeque<(u64, usize)>,
    repair_nodes: Vec<Vec<NodeId>>,
    repair_rng: ChaCha12Rng,
    failures: Vec<FailureRecord>,
    down_gpu_ms: f64,
    scratch_nodes: Vec<NodeId>,
    scratch_jobs: Vec<u32>,
    /// Failures a job survives before the next one ends it (`None`: no limit).
    retry_limit: Option<u32>,
    /// Checkpoint writes on the storage tier, when there is one (else a write takes
    /// the checkpoint's fixed cost).
    writes: Option<Writes>,
    /// Local SSD write bandwidth per node, GB/s, for two-stage writes (`None`: one
    /// stage).
    ssd_gbps: Option<f64>,
    /// Per cause: its failure leaves the node's local copy readable.
    keeps_local: Vec<bool>,
    /// Per job: its checkpoint size (GB) from the trace, else from its model where its
    /// class has one (empty: every job the configured size).
    job_size_gb: Vec<Option<f64>>,
    scratch_done: Vec<u32>,
    /// Fault isolation, and the nodes noisy now (in node order, for determinism).
    isolation: Option<IsolationConfig>,
    noisy: std::collections::BTreeSet<u32>,
    /// With `isolation.separate`: per node (or rack, with `separate_per = "rack"`),
    /// running small and large jobs on it, and the nodes (racks) holding any small (0)
    /// or large (1) job.
    on_node: [Vec<u32>; 2],
    holding: [std::collections::BTreeSet<u32>; 2],
}

impl ReliabilityModel {
    /// The model for `cluster` and `workload`: `causes` drawn from `streams`, or the
    /// failures of `log` replayed (its causes named as written).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cluster: &Cluster,
        workload: &Workload,
        causes: &[Cause],
        log: Option<Vec<LoggedFailure>>,
        checkpoint: CheckpointConfig,
        spares: Option<SpareConfig>,
        cordon: Option<CordonConfig>,
        max_concurrent_repairs: u32,
        streams: &RngStreams,
    ) -> ReliabilityModel {
        let mut names: Vec<String> = causes.iter().map(|c| c.name.clone()).collect();
        let mut cause_repair: Vec<(f64, RepairDist)> =
            causes.iter().map(|c| (c.repair_h, c.repair)).collect();
        let arrivals = match log {
            Some(rows) => {
                let logged: Vec<LoggedFailure> = rows
                    .into_iter()
                    .map(|mut r| {
                        let i = match names.iter().position(|n| *n == r.cause) {
                            Some(i) => i,
                            None => {
                                names.push(r.cause.clone());
                                cause_repair.push(repair_of(causes, &r.cause));
                                names.len() - 1
                            }
                        };
                        r.cause = i.to_string();
                        r
                    })
                    .collect();
                Arrivals::Log(logged, 0)
            }
            None => Arrivals::Drawn(FailureProcess::new(causes, cluster, streams)),
        };
        let rate = |kinds: &[ComponentKind]| -> f64 {
            causes
                .iter()
                .filter(|c| kinds.contains(&c.component))
                .map(|c| c.per_component_day)
                .sum()
        };
        let node_group: Vec<u32> = cluster
            .nodes
            .iter()
            .map(|n| match spares.map(|s| s.per) {
                Some(SparePer::Row) => cluster.racks[n.rack.0 as usize].row.0,
                _ => n.rack.0,
            })
            .collect();
        let groups = match spares.map(|s| s.per) {
            Some(SparePer::Row) => cluster.rows.len(),
            _ => cluster.racks.len(),
        };
        ReliabilityModel {
            causes: names,
            cause_repair,
            arrivals,
            due: None,
            blast: BlastMap::new(cluster),
            node_gpus: cluster.nodes.iter().map(|n| n.gpus).collect(),
            node_group,
            nodes: vec![NodeState::default(); cluster.nodes.len()],
            node_jobs: vec![Vec::new(); cluster.nodes.len()],
            jobs: vec![JobState::default(); workload.jobs.len()],
            per_gpu_day: rate(&[ComponentKind::Gpu, ComponentKind::Hbm]),
            per_node_day: rate(&[ComponentKind::Node, ComponentKind::Nic]),
            per_rack_day: rate(&[ComponentKind::LeafSwitch, ComponentKind::RackPdu]),
            checkpoint,
            spares,
            spare_pool: vec![Vec::new(); groups],
            cordon,
            max_repairs: max_concurrent_repairs,
            repairs_active: 0,
            repair_queue: VecDeque::new(),
            repair_nodes: Vec::new(),
            repair_rng: streams.stream("reliability/repair", 0),
            failures: Vec::new(),
            down_gpu_ms: 0.0,
            scratch_nodes: Vec::new(),
            scratch_jobs: Vec::new(),
            retry_limit: None,
            writes: None,
            ssd_gbps: None,
            keeps_local: Vec::new(),
            job_size_gb: if workload.jobs.iter().any(|j| j.checkpoint_gb.is_some()) {
                workload.jobs.iter().map(|j| j.checkpoint_gb).collect()
            } else {
                Vec::new()
            },
            scratch_done: Vec::new(),
            isolation: None,
            noisy: std::collections::BTreeSet::new(),
            on_node: {
                let groups = cluster.nodes.len().max(cluster.racks.len());
                [vec![0; groups], vec![0; groups]]
            },
            holding: Default::default(),
        }
    }

    /// Large jobs are kept off noisy nodes as `isolation` says (`None`: no isolation).
    pub fn with_isolation(mut self, isolation: Option<IsolationConfig>) -> Self {
        self.isolation = isolation;
        self
    }

    /// A node-level failure of node `n` at `now` counts towards its noise for the
    /// isolation window.
    fn note_noise(&mut self, ctx: &mut ModelCtx<'_>, n: NodeId) {
        let Some(iso) = self.isolation else { return };
        let st = &mut self.nodes[n.0 as usize];
        st.noisy += 1;
        if st.noisy >= iso.failures {
            self.noisy.insert(n.0);
        }
        let window = SimTime((iso.window_h * 3.6e6).round() as u64);
        ctx.schedule(ctx.now() + window, token(NOISY_EXPIRES, u64::from(n.0)));
    }

    /// With `isolation.separate`, the kind (0 small, 1 large) of a job of `gpus` GPUs.
    fn kind(&self, gpus: u32) -> Option<usize> {
        self.isolation
            .filter(|i| i.separate)
            .map(|i| usize::from(gpus >= i.large_job_gpus))
    }

    /// The unit `separate` keeps small and large jobs apart in that holds node `n`: the
    /// node, or its rack.
    fn separation_unit(&self, n: NodeId) -> u32 {
        match self.isolation.and_then(|i| i.separate_per).unwrap_or_default() {
            SeparatePer::Node => n.0,
            SeparatePer::Rack => self.blast.rack_of(n),
        }
    }

    /// One failure of node `n` has left the isolation window.
    fn noise_expired(&mut self, n: u32) {
        let Some(iso) = self.isolation else { return };
        let st = &mut self.nodes[n as usize];
        st.noisy -= 1;
        if st.noisy < iso.failures {
            self.noisy.remove(&n);
        }
    }

    /// Checkpoints are written to the tier `storage` describes, their write times set
    /// by their size and the bandwidth the tier gives them (`None`: the fixed cost).
    /// With `ssd_gbps` a write has two stages: the job pauses for its local SSD write,
    /// then the copy drains to the shared tier in the background.
    pub fn with_storage(mut self, storage: Option<StorageConfig>) -> Self {
        if let Some(st) = &storage {
            self.ssd_gbps = st.ssd_gbps;
            self.keeps_local = self.causes.iter().map(|c| st.keeps_local.contains(c)).collect();
        }
        self.writes = storage.map(Writes::new);
        self
    }

    /// Jobs of the workload classes `sizes` names write checkpoints of their model's
    /// size (unless the trace gives the job's own); the others the configured size.
    /// Errs on a class the workload lacks.
    pub fn with_model_sizes(
        mut self,
        workload: &Workload,
        sizes: Option<&ModelSizeConfig>,
    ) -> Result<Self, ReliabilityError> {
        if let Some(m) = sizes {
            let per_class = m.per_class_gb(&workload.classes)?;
            self.job_size_gb = workload
                .jobs
                .iter()
                .map(|j| {
                    j.checkpoint_gb.or_else(|| {
                        j.class
                            .and_then(|c| per_class.get(c.0 as usize).copied().flatten())
                    })
                })
                .collect();
        }
        Ok(self)
    }

    /// Job `j`'s checkpoint size (GB) on `gpus` GPUs: the trace's, else its model's, else
    /// the configured.
    fn size_gb(&self, j: u32, gpus: u32) -> f64 {
        self.job_size_gb
            .get(j as usize)
            .copied()
            .flatten()
            .unwrap_or_else(|| self.checkpoint.size_gb(gpus))
    }

    /// A job is requeued after at most `limit` failures; the next one ends it as
    /// failed (`None`: it is always requeued).
    pub fn with_retry_limit(mut self, limit: Option<u32>) -> Self {
        self.retry_limit = limit;
        self
    }

    /// Work lost by job `j` if its run stops `done` ms of work in: what it did since
    /// its last checkpoint (or since its restore); since its last drained one when a
    /// failure took its local copy.
    fn lost_ms(&self, j: u32, done: f64) -> f64 {
        let s = &self.jobs[j as usize];
        let from = if s.local_lost { s.drained_ms } else { s.safe_ms };
        (done - from).max(0.0)
    }

    /// Milliseconds job `j` pauses for its local SSD write (two-stage writes).
    fn ssd_ms(&self, gb: f64, nodes: u32) -> Option<f64> {
        self.ssd_gbps.map(|g| gb / (g * f64::from(nodes.max(1))) * 1000.0)
    }

    /// The next failure from the source, if any.
    fn pull(&mut self) -> Option<Due> {
        match &mut self.arrivals {
            Arrivals::Drawn(p) => p.next_failure().map(|f| Due {
                at: f.at,
                cause: f.cause,
                component: f.component,
            }),
            Arrivals::Log(rows, next) => {
                let r = rows.get(*next)?;
                *next += 1;
                Some(Due {
                    at: r.at,
                    cause: r.cause.parse().expect("index written in new"),
                    component: r.component,
                })
            }
        }
    }

    fn arm_next_failure(&mut self, ctx: &mut ModelCtx<'_>) {
        // Failures at the horizon's end never fire (a run cannot reach them).
        self.due = self.pull().filter(|d| d.at < SimTime::MAX_HORIZON);
        if let Some(d) = self.due {
            ctx.schedule(d.at.max(ctx.now()), token(NEXT_FAILURE, 0));
        }
    }

    /// Sets hot spares aside and arms the first failure (at time 0, before any job is
    /// placed).
    fn begin(&mut self, ctx: &mut ModelCtx<'_>) {
        if let Some(s) = self.spares {
            // The last `count` nodes of each group are its spares.
            for n in (0..self.nodes.len()).rev() {
                let g = self.node_group[n] as usize;
                if self.spare_pool[g].len() < s.count as usize {
                    self.spare_pool[g].push(NodeId(n as u32));
                    self.nodes[n].spare = true;
                    ctx.take_out(NodeId(n as u32), TakeOut::Drain);
                }
            }
        }
        self.arm_next_failure(ctx);
    }

    /// The job's mean time to failure (ms) on the components it holds.
    fn job_mttf_ms(&self, gpus: u64, nodes: u64, racks: u64) -> f64 {
        let per_day = self.per_gpu_day * gpus as f64
            + self.per_node_day * nodes as f64
            + self.per_rack_day * racks as f64;
        if per_day > 0.0 {
            86_400_000.0 / per_day
        } else {
            f64::INFINITY
        }
    }

    fn interval_ms(&self, j: u32, gpus: u64, nodes: u64, racks: u64) -> f64 {
        let size_gb = self.size_gb(j, gpus as u32);
        let ssd = self.ssd_ms(size_gb, nodes as u32);
        // δ is what the job pauses for: its local write with two stages.
        let delta = match (ssd, &self.writes) {
            (Some(ms), _) => ms,
            (None, Some(w)) => w.alone_s(size_gb, nodes as u32) * 1000.0,
            (None, None) => self.checkpoint.cost_s * 1000.0,
        };
        match self.checkpoint.policy {
            CheckpointPolicy::None => 0.0,
            CheckpointPolicy::Fixed => self.checkpoint.interval_min * 60_000.0,
            CheckpointPolicy::Young => young_interval(delta, self.job_mttf_ms(gpus, nodes, racks)),
            CheckpointPolicy::Daly => daly_interval(delta, self.job_mttf_ms(gpus, nodes, racks)),
        }
    }

    fn fail(&mut self, ctx: &mut ModelCtx<'_>, due: Due) {
        let now = ctx.now();
        let mut nodes = std::mem::take(&mut self.scratch_nodes);
        let mut hit = std::mem::take(&mut self.scratch_jobs);
        nodes.clear();
        hit.clear();
        self.blast.nodes_hit(due.component, &mut nodes);
        for &n in &nodes {
            hit.extend_from_slice(&self.node_jobs[n.0 as usize]);
        }
        hit.sort_unstable();
        hit.dedup();
        let mut record = FailureRecord {
            at: now,
            component: due.component,
            cause: due.cause,
            jobs_hit: hit.len() as u32,
            gpus_idled: 0,
            gpus_of_jobs_hit: 0,
            lost_gpu_h: 0.0,
            repair_h: 0.0,
        };
        // A node or rack PDU failure takes the node's SSD with it, unless the cause is
        // one that leaves it readable (`keeps_local`).
        let local_lost = self.ssd_gbps.is_some()
            && matches!(due.component.kind, ComponentKind::Node | ComponentKind::RackPdu)
            && !self.keeps_local.get(due.cause).copied().unwrap_or(false);
        for &j in &hit {
            self.jobs[j as usize].local_lost |= local_lost;
            self.jobs[j as usize].failing = true;
            // The job's own loss is charged when the core stops it (`stop_loss`), at
            // this same instant.
            let lost = self.lost_ms(j, ctx.work_done_in_run_ms(JobId(j)));
            let s = &mut self.jobs[j as usize];
            s.figures.interruptions += 1;
            record.lost_gpu_h += lost * f64::from(s.gpus) / 3.6e6;
            record.gpus_of_jobs_hit += s.gpus;
            let then = match self.retry_limit {
                Some(limit) if s.figures.interruptions > limit => AfterFailure::GiveUp,
                _ => AfterFailure::Requeue,
            };
            ctx.fail(JobId(j), then);
        }
        let node_level = matches!(
            due.component.kind,
            ComponentKind::Gpu | ComponentKind::Hbm | ComponentKind::Node | ComponentKind::Nic
        );
        for &n in &nodes {
            let st = &mut self.nodes[n.0 as usize];
            if st.down == 0 && !st.cordoned && !st.spare {
                record.gpus_idled += self.node_gpus[n.0 as usize];
                ctx.take_out(n, TakeOut::Now);
                st.out_since = Some(now);
                self.swap_in_spare(ctx, n);
            }
            if node_level {
                self.note_noise(ctx, n);
            }
            let st = &mut self.nodes[n.0 as usize];
            st.down += 1;
            if let (Some(k), true) = (self.cordon, node_level) {
                let window = SimTime((k.window_h * 3.6e6) as u64);
                st.recent.push_back(now);
                while st.recent.front().is_some_and(|&t| t + window < now) {
                    st.recent.pop_front();
                }
                if st.recent.len() >= k.failures as usize && !st.cordoned {
                    st.cordoned = true;
                    st.spare = false;
                }
            }
        }
        let (mean_h, dist) = self.cause_repair[due.cause];
        let ttr_ms = match dist {
            RepairDist::Fixed => mean_h * 3.6e6,
            RepairDist::Exponential if mean_h > 0.0 => Exp::new(1.0 / (mean_h * 3.6e6))
                .expect("mean > 0")
                .sample(&mut self.repair_rng),
            RepairDist::Exponential => 0.0,
        };
        record.repair_h = ttr_ms / 3.6e6;
        let repair = self.repair_nodes.len();
        self.repair_nodes.push(nodes.clone());
        self.failures.push(record);
        if self.max_repairs == 0 || self.repairs_active < self.max_repairs {
            self.repairs_active += 1;
            ctx.schedule(
                now + SimTime(ttr_ms.round() as u64),
                token(REPAIR_DONE, repair as u64),
            );
        } else {
            self.repair_queue.push_back((ttr_ms.round() as u64, repair));
        }
        self.scratch_nodes = nodes;
        self.scratch_jobs = hit;
    }

    /// A node left service: a spare of its group, if one is free, swaps in after the
    /// configured delay.
    fn swap_in_spare(&mut self, ctx: &mut ModelCtx<'_>, failed: NodeId) {
        let Some(s) = self.spares else { return };
        let g = self.node_group[failed.0 as usize] as usize;
        if let Some(spare) = self.spare_pool[g].pop() {
            let at = ctx.now() + SimTime((s.swap_min * 60_000.0).round() as u64);
            ctx.schedule(at, token(SPARE_IN, u64::from(spare.0)));
        }
    }

    fn repaired(&mut self, ctx: &mut ModelCtx<'_>, repair: usize) {
        let nodes = std::mem::take(&mut self.repair_nodes[repair]);
        for &n in &nodes {
            let st = &mut self.nodes[n.0 as usize];
            st.down -= 1;
            if st.down > 0 || st.cordoned || st.spare {
                continue;
            }
            let g = self.node_group[n.0 as usize] as usize;
            let short = self
                .spares
                .is_some_and(|s| self.spare_pool[g].len() < s.count as usize);
            if short {
                st.spare = true;
                self.close_outage(ctx.now(), n);
                self.spare_pool[g].push(n);
            } else {
                self.bring_back(ctx, n);
            }
        }
        self.repairs_active -= 1;
        if let Some((ttr, next)) = self.repair_queue.pop_front() {
            self.repairs_active += 1;
            ctx.schedule(ctx.now() + SimTime(ttr), token(REPAIR_DONE, next as u64));
        }
    }

    fn bring_back(&mut self, ctx: &mut ModelCtx<'_>, n: NodeId) {
        self.close_outage(ctx.now(), n);
        ctx.bring_back(n);
    }

    /// Ends node `n`'s outage at `now`, adding its GPU-time lost.
    fn close_outage(&mut self, now: SimTime, n: NodeId) {
        if let Some(since) = self.nodes[n.0 as usize].out_since.take() {
            self.down_gpu_ms += (now - since).as_ms() as f64 * f64::from(self.node_gpus[n.0 as usize]);
        }
    }

    fn spare_in(&mut self, ctx: &mut ModelCtx<'_>, n: NodeId) {
        let st = &mut self.nodes[n.0 as usize];
        st.spare = false;
        if st.down == 0 && !st.cordoned {
            self.bring_back(ctx, n);
        }
    }

    /// Schedules the next checkpoint check of job `j` for when its work reaches
    /// `next_ckpt_ms` at its measured rate; none if the run ends first (most short jobs
    /// never checkpoint, and a timer per start would add an event per job).
    fn arm_checkpoint(&mut self, ctx: &mut ModelCtx<'_>, j: u32, done: f64) {
        let s = &self.jobs[j as usize];
        if s.next_ckpt_ms >= ctx.run_work_ms(JobId(j)) {
            return;
        }
        let wait = ((s.next_ckpt_ms - done) / s.rate).max(0.0).ceil() as u64;
        let payload = (u64::from(s.generation & 0xff_ffff) << 32) | u64::from(j);
        ctx.schedule(ctx.now() + SimTime(wait.max(1)), token(CHECKPOINT, payload));
    }

    fn checkpoint_event(&mut self, ctx: &mut ModelCtx<'_>, payload: u64) {
        let j = (payload & 0xffff_ffff) as u32;
        let generation = (payload >> 32) as u32;
        let now = ctx.now();
        let done = ctx.work_done_in_run_ms(JobId(j));
        let (gpus, nodes) = {
            let s = &self.jobs[j as usize];
            (s.gpus, s.nodes.len() as u32)
        };
        let size_gb = self.size_gb(j, gpus);
        let ssd_ms = self.ssd_ms(size_gb, nodes);
        let delta_ms = match ssd_ms {
            // Rounded up to the next millisecond, not for rounding noise.
            Some(ms) => (ms - 1e-6).ceil().max(0.0) as u64,
            None => (self.checkpoint.cost_s * 1000.0).round() as u64,
        };
        let s = &mut self.jobs[j as usize];
        if s.generation & 0xff_ffff != generation {
            return;
        }
        if s.writing_since.is_some() {
            self.write_done(ctx, j);
            return;
        }
        let elapsed = (now - s.probe.0).as_ms() as f64;
        if elapsed > 0.0 && done > s.probe.1 {
            s.rate = (done - s.probe.1) / elapsed;
        }
        s.probe = (now, done);
        if done + 0.5 < s.next_ckpt_ms {
            self.arm_checkpoint(ctx, j, done);
            return;
        }
        s.figures.checkpoints += 1;
        if delta_ms == 0 && self.writes.is_none() {
            s.safe_ms = done;
            s.next_ckpt_ms = done + s.interval_ms;
            self.arm_checkpoint(ctx, j, done);
            return;
        }
        s.writing_since = Some(now);
        ctx.set_factor(JobId(j), Factor::Checkpoint, 0.0);
        if let (Some(w), None) = (&mut self.writes, ssd_ms) {
            w.begin(now, j, size_gb, nodes);
            self.schedule_writes(ctx);
            return;
        }
        let payload = (u64::from(s.generation & 0xff_ffff) << 32) | u64::from(j);
        ctx.schedule(now + SimTime(delta_ms), token(CHECKPOINT, payload));
    }

    /// Job `j`'s checkpoint write is done: the work before it is safe, and it resumes.
    fn write_done(&mut self, ctx: &mut ModelCtx<'_>, j: u32) {
        let now = ctx.now();
        let done = ctx.work_done_in_run_ms(JobId(j));
        let two_stage = self.ssd_gbps.is_some();
        let s = &mut self.jobs[j as usize];
        if !two_stage {
            s.write_generation = s.write_generation.wrapping_add(1);
        }
        let Some(since) = s.writing_since.take() else {
            return;
        };
        s.safe_ms = done;
        s.next_ckpt_ms = done + s.interval_ms;
        s.figures.checkpoint_s += (now - since).as_secs_f64();
        s.probe = (now, done);
        ctx.set_factor(JobId(j), Factor::Checkpoint, 1.0);
        self.arm_checkpoint(ctx, j, done);
        if two_stage {
            self.start_drain(ctx, j, done);
        }
    }

    /// Job `j`'s local copy of `work` ms drains to the shared tier, after the drain in
    /// progress if there is one.
    fn start_drain(&mut self, ctx: &mut ModelCtx<'_>, j: u32, work: f64) {
        let size_gb = self.size_gb(j, self.jobs[j as usize].gpus);
        let s = &mut self.jobs[j as usize];
        if s.draining.is_some() {
            s.pending_drain = Some(work);
            return;
        }
        s.draining = Some(work);
        let nodes = s.nodes.len() as u32;
        if let Some(w) = &mut self.writes {
            w.begin(ctx.now(), j, size_gb, nodes);
        }
        self.schedule_writes(ctx);
    }

    /// Job `j`'s drain ended: that checkpoint is safe on the shared tier, and the
    /// newer local copy waiting, if any, drains next.
    fn drain_done(&mut self, ctx: &mut ModelCtx<'_>, j: u32) {
        let s = &mut self.jobs[j as usize];
        s.write_generation = s.write_generation.wrapping_add(1);
        if let Some(work) = s.draining.take() {
            s.drained_ms = work;
        }
        if let Some(work) = s.pending_drain.take() {
            self.start_drain(ctx, j, work);
        }
    }

    /// Shares the storage tier among the writes in progress and (re)schedules their
    /// ends, superseding the ends scheduled before.
    fn schedule_writes(&mut self, ctx: &mut ModelCtx<'_>) {
        let Some(w) = &mut self.writes else { return };
        let jobs = &mut self.jobs;
        w.solve(ctx.now(), |j, end| {
            let s = &mut jobs[j as usize];
            s.write_generation = s.write_generation.wrapping_add(1);
            let payload = (u64::from(s.write_generation & 0xff_ffff) << 32) | u64::from(j);
            ctx.schedule(end, token(WRITE_DONE, payload));
        });
    }

    /// A write's expected end fell due: every write complete by now ends, and the
    /// tier is shared again among the rest.
    fn write_end_event(&mut self, ctx: &mut ModelCtx<'_>, payload: u64) {
        let j = (payload & 0xffff_ffff) as u32;
        if self.jobs[j as usize].write_generation & 0xff_ffff != (payload >> 32) as u32 {
            return;
        }
        let Some(w) = &mut self.writes else { return };
        let mut done = std::mem::take(&mut self.scratch_done);
        w.complete(ctx.now(), &mut done);
        for &k in &done {
            if self.ssd_gbps.is_some() {
                self.drain_done(ctx, k);
            } else {
                self.write_done(ctx, k);
            }
        }
        done.clear();
        self.scratch_done = done;
        self.schedule_writes(ctx);
    }
}

/// The repair settings of a cause only a log names: the configured cause of that name
/// or, failing that, an instant repair.
fn repair_of(causes: &[Cause], name: &str) -> (f64, RepairDist) {
    causes
        .iter()
        .find(|c| c.name == name)
        .map_or((0.0, RepairDist::Fixed), |c| (c.repair_h, c.repair))
}

impl Model for ReliabilityModel {
    fn name(&self) -> &'static str {
        "reliability"
    }

    fn on_begin(&mut self, ctx: &mut ModelCtx<'_>) {
        self.begin(ctx);
    }

    /// Fault isolation: a large job proposed on a noisy node is rerouted with every
    /// noisy node hidden.
    /// With `separate`, a job proposed beside the other kind of job is rerouted with
    /// every node holding that kind hidden.
    fn admits(&mut self, job: &QueuedJob, grants: &[GpuGrant], avoid: &mut Vec<NodeId>) -> Admission {
        let Some(iso) = self.isolation else {
            return Admission::Admit;
        };
        let gpus = job.request.demand.gpus;
        let mut reroute = false;
        if gpus >= iso.large_job_gpus && grants.iter().any(|g| self.noisy.contains(&g.node.0)) {
            avoid.extend(self.noisy.iter().map(|&n| NodeId(n)));
            reroute = true;
        }
        if let Some(kind) = self.kind(gpus) {
            let other = &self.holding[1 - kind];
            if grants
                .iter()
                .any(|g| other.contains(&self.separation_unit(g.node)))
            {
                for &unit in other {
                    match iso.separate_per.unwrap_or_default() {
                        SeparatePer::Node => avoid.push(NodeId(unit)),
                        SeparatePer::Rack => avoid.extend_from_slice(self.blast.rack_nodes(unit)),
                    }
                }
                reroute = true;
            }
        }
        if reroute {
            Admission::Reroute
        } else {
            Admission::Admit
        }
    }

    fn on_start(&mut self, ctx: &mut ModelCtx<'_>, job: JobId, grants: &[GpuGrant]) {
        let j = job.0;
        let gpus: u32 = grants.iter().map(|g| g.gpus.count_ones()).sum();
        let mut racks: Vec<u32> = grants.iter().map(|g| self.blast.rack_of(g.node)).collect();
        racks.sort_unstable();
        racks.dedup();
        let interval = self.interval_ms(j, u64::from(gpus), grants.len() as u64, racks.len() as u64);
        let now = ctx.now();
        let s = &mut self.jobs[j as usize];
        s.gpus = gpus;
        s.nodes.clear();
        s.nodes.extend(grants.iter().map(|g| g.node));
        s.run_start = now;
        s.safe_ms = std::mem::take(&mut s.restore_ms);
        s.figures.restart_s += s.safe_ms / 1000.0;
        s.interval_ms = interval;
        s.next_ckpt_ms = s.safe_ms + interval;
        s.writing_since = None;
        s.drained_ms = s.safe_ms;
        s.draining = None;
        s.pending_drain = None;
        s.local_lost = false;
        s.failing = false;
        s.rate = 1.0;
        s.probe = (now, 0.0);
        for g in grants {
            self.node_jobs[g.node.0 as usize].push(j);
        }
        if let Some(kind) = self.kind(gpus) {
            for g in grants {
                let unit = self.separation_unit(g.node);
                self.on_node[kind][unit as usize] += 1;
                self.holding[kind].insert(unit);
            }
        }
        if interval > 0.0 {
            self.arm_checkpoint(ctx, j, 0.0);
        }
    }

    /// With two-stage writes a stop that is not a failure (a preemption) restores from
    /// the last drained checkpoint: the job restarts wherever there is room, its nodes
    /// go to other jobs at once, and a local copy not yet on the shared tier is lost.
    fn stop_loss(&mut self, job: JobId, done_ms: f64) -> Option<StopLoss> {
        let two_stage = self.ssd_gbps.is_some();
        let s = &mut self.jobs[job.0 as usize];
        s.local_lost |= two_stage && !s.failing;
        let lost_ms = self.lost_ms(job.0, done_ms);
        let restore_ms = self.checkpoint.restart_s * 1000.0;
        let s = &mut self.jobs[job.0 as usize];
        s.restore_ms = restore_ms;
        s.figures.lost_gpu_h += lost_ms * f64::from(s.gpus) / 3.6e6;
        Some(StopLoss { lost_ms, restore_ms })
    }

    fn on_stop(&mut self, ctx: &mut ModelCtx<'_>, job: JobId) {
        let j = job.0;
        let now = ctx.now();
        let s = &mut self.jobs[j as usize];
        s.generation = s.generation.wrapping_add(1);
        s.write_generation = s.write_generation.wrapping_add(1);
        s.figures.allocated_gpu_h += f64::from(s.gpus) * (now - s.run_start).as_ms() as f64 / 3.6e6;
        let was_writing = if let Some(since) = s.writing_since.take() {
            s.figures.checkpoint_s += (now - since).as_secs_f64();
            true
        } else {
            false
        };
        s.pending_drain = None;
        // The write on the tier in progress: the job's own (one stage) or its drain.
        let on_tier = match self.ssd_gbps {
            Some(_) => s.draining.take().is_some(),
            None => was_writing,
        };
        for n in &s.nodes {
            let list = &mut self.node_jobs[n.0 as usize];
            if let Some(p) = list.iter().position(|&x| x == j) {
                list.swap_remove(p);
            }
        }
        if let Some(kind) = self.kind(self.jobs[j as usize].gpus) {
            for i in 0..self.jobs[j as usize].nodes.len() {
                let unit = self.separation_unit(self.jobs[j as usize].nodes[i]);
                let count = &mut self.on_node[kind][unit as usize];
                *count -= 1;
                if *count == 0 {
                    self.holding[kind].remove(&unit);
                }
            }
        }
        if on_tier && self.writes.as_mut().is_some_and(|w| w.abandon(now, j)) {
            // Its share of the tier goes to the writes still in progress.
            self.schedule_writes(ctx);
        }
    }

    fn on_event(&mut self, ctx: &mut ModelCtx<'_>, token: u64) {
        let payload = token & ((1 << KIND_SHIFT) - 1);
        match token >> KIND_SHIFT {
            NEXT_FAILURE => {
                if let Some(d) = self.due.take() {
                    self.fail(ctx, d);
                }
                self.arm_next_failure(ctx);
            }
            CHECKPOINT => self.checkpoint_event(ctx, payload),
            REPAIR_DONE => self.repaired(ctx, payload as usize),
            SPARE_IN => self.spare_in(ctx, NodeId(payload as u32)),
            WRITE_DONE => self.write_end_event(ctx, payload),
            NOISY_EXPIRES => self.noise_expired(payload as u32),
            _ => unreachable!("tokens are made by this model"),
        }
    }

    fn finish(
        self: Box<Self>,
        end: SimTime,
        _workload: &Workload,
        jobs: &[JobRecord],
        summary: &mut Summary,
        out: &mut ModelOutputs,
    ) {
        let mut down_ms = self.down_gpu_ms;
        let mut node_gpu_ms = 0.0;
        for (n, st) in self.nodes.iter().enumerate() {
            if let Some(since) = st.out_since {
                down_ms += (end.max(since) - since).as_ms() as f64 * f64::from(self.node_gpus[n]);
            }
            node_gpu_ms += f64::from(self.node_gpus[n]) * end.as_ms() as f64;
        }
        let output = ReliabilityOutput::build(
            self.causes,
            self.failures,
            self.jobs.into_iter().map(|s| s.figures).collect(),
            jobs,
            end,
            if node_gpu_ms > 0.0 {
                1.0 - down_ms / node_gpu_ms
            } else {
                1.0
            },
        );
        summary.reliability = Some(output.summary.clone());
        out.reliability = Some(output);
    }
}
