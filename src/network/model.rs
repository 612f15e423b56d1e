//! The network as a [`Model`]: maps each starting job's traffic onto the fabric, settles
//! the max-min shares after each batch, owns [`Factor::Network`], and accounts the time
//! jobs lose to the network.

use serde::{Deserialize, Serialize};

use crate::engine::SimTime;
use crate::metrics::percentile;
use crate::metrics::{JobRecord, Summary};
use crate::model::{Model, ModelCtx, ModelOutputs};
use crate::rate::Factor;
use crate::scheduler::GpuGrant;
use crate::topology::fabric::Fabric;
use crate::topology::{Cluster, NodeId};
use crate::workload::{JobId, Workload};

use super::contention::{Contention, Tier};
use super::links::{LinkRow, LinkSeries};
use super::profile::{CommProfile, DefaultProfile, SizedModel};

/// `[network]` of a scenario: turns the network model on (the topology must have a
/// `[fabric]`) and may override the fabric's spine oversubscription and the default
/// communication profile of training jobs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Replaces the topology's `fabric.spine_oversubscription` (what-if runs).
    pub spine_oversubscription: Option<f64>,
    /// Gradient all-reduced per iteration by a training job, GB (default:
    /// [`super::profile::DEFAULT_GRADIENT_BYTES`]).
    pub gradient_gb: Option<f64>,
    /// Compute time of one iteration, ms (default [`super::profile::DEFAULT_COMPUTE_MS`]).
    pub compute_ms: Option<f64>,
    /// Share of compute that communication hides behind, in [0, 1] (default
    /// [`super::profile::DEFAULT_OVERLAP`]).
    pub overlap: Option<f64>,
    /// Width of the bins of `network_links.csv`, s (default 3600).
    pub link_bin_s: Option<f64>,
    /// Bytes crossing each pipeline-stage boundary per iteration in each direction, GB
    /// (default [`super::profile::DEFAULT_ACTIVATION_BYTES`]); only jobs with `pp` > 1.
    pub activation_gb: Option<f64>,
    /// Where a training job's profile comes from when its trace gives none: `fixed`
    /// (default: the keys above for every job) or `megatron-by-size` (gradient,
    /// pipeline traffic, tp and pp by GPU count from Megatron-LM's weak-scaling table,
    /// [`super::profile::MEGATRON_WEAK_SCALING`]; compute and overlap from the keys).
    #[serde(default)]
    pub default_profile: DefaultProfile,
}

impl NetworkConfig {
    /// The first problem with the keys: (key under `network.`, what is wrong).
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (key, v) in [
            ("spine_oversubscription", self.spine_oversubscription),
            ("gradient_gb", self.gradient_gb),
            ("compute_ms", self.compute_ms),
            ("link_bin_s", self.link_bin_s),
            ("activation_gb", self.activation_gb),
        ] {
            if v.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
                return Err((key.to_owned(), "must be a positive number".to_owned()));
            }
        }
        if self.overlap.is_some_and(|o| !(0.0..=1.0).contains(&o)) {
            return Err(("overlap".to_owned(), "must be in [0, 1]".to_owned()));
        }
        Ok(())
    }

    /// The profile of a training job under these keys.
    fn training_profile(&self) -> CommProfile {
        let d = CommProfile::default_for(crate::workload::JobKind::Training).unwrap_or(CommProfile {
            gradient_bytes: super::profile::DEFAULT_GRADIENT_BYTES,
            compute_ms: super::profile::DEFAULT_COMPUTE_MS,
            overlap: super::profile::DEFAULT_OVERLAP,
            activation_bytes: super::profile::DEFAULT_ACTIVATION_BYTES,
        });
        CommProfile {
            gradient_bytes: self.gradient_gb.map_or(d.gradient_bytes, |g| g * 1e9),
            compute_ms: self.compute_ms.unwrap_or(d.compute_ms),
            overlap: self.overlap.unwrap_or(d.overlap),
            activation_bytes: self.activation_gb.map_or(d.activation_bytes, |g| g * 1e9),
        }
    }
}

/// Default width of the bins of `network_links.csv`, s: an hour.
pub const DEFAULT_LINK_BIN_S: f64 = 3600.0;

/// One job's network figures over all its runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct JobNetwork {
    /// Leaves its last run spanned (0: never ran).
    pub leaves: u32,
    /// Racks its last run spanned.
    pub racks: u32,
    /// Whether any of its runs crossed the spine.
    pub crossed_spine: bool,
    /// Wall time it ran, s.
    pub run_s: f64,
    /// Wall time lost to the network (∫ (1 − network factor) dt), s.
    pub lost_s: f64,
    /// GPUs of its last run.
    #[serde(skip)]
    gpus: u32,
    /// Its network factor now, and since when.
    #[serde(skip)]
    factor: f64,
    #[serde(skip)]
    since: SimTime,
}

impl JobNetwork {
    /// Network slowdown: time lost over the time it would have run at its reference
    /// bandwidth (0: never slowed).
    pub fn slowdown(&self) -> f64 {
        let useful = self.run_s - self.lost_s;
        if useful > 0.0 {
            self.lost_s / useful
        } else {
            0.0
        }
    }
}

/// Headline network figures of a run (`summary.json` → `network`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkSummary {
    /// Mean network slowdown of the jobs that ran.
    pub mean_slowdown: f64,
    /// 95th percentile of the network slowdown of the jobs that ran.
    pub p95_slowdown: f64,
    /// Share of the jobs that ran whose traffic crossed the spine.
    pub jobs_crossing_spine: f64,
    /// Share of the GPU-hours run by jobs whose traffic crossed the spine.
    pub gpu_hours_crossing_spine: f64,
    /// GPU-hours lost to the network (time lost × GPUs).
    pub gpu_hours_lost: f64,
}

/// What the network model hands over at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkOutput {
    /// Per job, indexed by [`JobId`].
    pub jobs: Vec<JobNetwork>,
    /// The headline figures.
    pub summary: NetworkSummary,
    /// The busiest link of each tier per bin (`network_links.csv`).
    pub links: Vec<LinkRow>,
    /// Name of every link, by index: a node's NICs by the node's name, a leaf's uplinks
    /// by the leaf's, a pod's by `pod<i>`.
    pub link_names: Vec<String>,
}

/// The network model of one run.
#[derive(Debug)]
pub struct NetworkModel {
    contention: Contention,
    profile: CommProfile,
    sizing: DefaultProfile,
    /// GPUs of the largest NVLink domain (tensor-parallel groups must fit in one).
    domain_gpus: u32,
    node_rack: Vec<u32>,
    jobs: Vec<JobNetwork>,
    changed: Vec<(u32, f64)>,
    nodes: Vec<(NodeId, u64)>,
    racks: Vec<u32>,
    links: LinkSeries,
    link_names: Vec<String>,
}

/// GPUs of the largest NVLink domain of `fabric`.
fn largest_domain(fabric: &Fabric) -> u32 {
    let mut domain_gpus: Vec<u32> = Vec::new();
    for (n, &d) in fabric.node_domain.iter().enumerate() {
        let d = d as usize;
        if domain_gpus.len() <= d {
            domain_gpus.resize(d + 1, 0);
        }
        domain_gpus[d] += fabric.node_gpus[n];
    }
    domain_gpus.iter().copied().max().unwrap_or(0)
}

/// Checks that every job's tensor-parallel group fits in one NVLink domain of `fabric`:
/// the first job whose `tp` exceeds the largest domain's GPUs, as an error message.
pub fn check_domains(fabric: &Fabric, workload: &Workload) -> Result<(), String> {
    let largest = largest_domain(fabric);
    for j in &workload.jobs {
        if let Some(h) = j.comm.as_deref() {
            if h.tp > largest {
                return Err(format!(
                    "job `{}`: column `tp` = {} is larger than any NVLink domain it must fit in ({largest} GPUs)",
                    j.name, h.tp
                ));
            }
        }
    }
    Ok(())
}

impl NetworkModel {
    /// The model over `fabric` (of `cluster`) for a workload of `jobs` jobs.
    pub fn new(cluster: &Cluster, mut fabric: Fabric, cfg: &NetworkConfig, jobs: usize) -> Self {
        if let Some(ratio) = cfg.spine_oversubscription {
            fabric.set_spine_oversubscription(ratio);
        }
        let domain_gpus = largest_domain(&fabric);
        let contention = Contention::new(fabric);
        let tiers = (0..contention.links()).map(|l| contention.link(l).tier).collect();
        let link_names = (0..contention.links())
            .map(|l| {
                let link = contention.link(l);
                let base = match link.tier {
                    Tier::Node => cluster.nodes[link.owner as usize].name.clone(),
                    Tier::Leaf => contention.fabric().leaf_name[link.owner as usize].clone(),
                    Tier::Pod => format!("pod{}", link.owner),
                };
                match link.rail {
                    Some(r) => format!("{base}/rail{r}"),
                    None => base,
                }
            })
            .collect();
        let bin = SimTime::try_from_secs_f64(cfg.link_bin_s.unwrap_or(DEFAULT_LINK_BIN_S))
            .unwrap_or(SimTime::from_secs(3600));
        NetworkModel {
            links: LinkSeries::new(bin, tiers),
            link_names,
            contention,
            profile: cfg.training_profile(),
            sizing: cfg.default_profile,
            domain_gpus,
            node_rack: cluster.nodes.iter().map(|n| n.rack.0).collect(),
            jobs: vec![JobNetwork::default(); jobs],
            changed: Vec::new(),
            nodes: Vec::new(),
            racks: Vec::new(),
        }
    }

    /// Adds the time since the job's last change at its current factor.
    fn accrue(&mut self, job: u32, now: SimTime) {
        if let Some(j) = self.jobs.get_mut(job as usize) {
            let dt = now.saturating_sub(j.since).as_secs_f64();
            j.run_s += dt;
            j.lost_s += dt * (1.0 - j.factor);
            j.since = now;
        }
    }
}

impl Model for NetworkModel {
    fn name(&self) -> &'static str {
        "network"
    }

    fn on_start(&mut self, ctx: &mut ModelCtx<'_>, job: JobId, grants: &[GpuGrant]) {
        if job.0 as usize >= self.jobs.len() {
            return;
        }
        self.nodes.clear();
        self.nodes.extend(grants.iter().map(|g| (g.node, g.gpus)));
        self.racks.clear();
        self.racks
            .extend(grants.iter().map(|g| self.node_rack[g.node.0 as usize]));
        self.racks.sort_unstable();
        self.racks.dedup();
        let spec = &ctx.workload().jobs[job.0 as usize];
        let given = spec.comm.as_deref().copied();
        let (base, hints) = match (self.sizing, spec.kind) {
            (DefaultProfile::MegatronBySize, crate::workload::JobKind::Training) => {
                let gpus: u32 = self.nodes.iter().map(|n| n.1.count_ones()).sum();
                let model = SizedModel::for_gpus(gpus);
                let hints = given.unwrap_or_else(|| {
                    let (tp, pp) = model.parallelism(gpus, self.domain_gpus);
                    crate::workload::CommHints {
                        tp,
                        pp,
                        ..Default::default()
                    }
                });
                (model.profile(&self.profile), hints)
            }
            _ => (self.profile, given.unwrap_or_default()),
        };
        let profile = CommProfile::default_for(spec.kind).map(|_| base.with_hints(&hints));
        let group = (hints.tp * hints.pp).max(1);
        let fabric = self.contention.fabric();
        let mut leaves: Vec<u32> = grants.iter().map(|g| fabric.leaf(g.node).0).collect();
        leaves.sort_unstable();
        leaves.dedup();
        let mut factor = 1.0;
        let mut crossed = false;
        if let Some(profile) = profile {
            let mut traffic = self
                .contention
                .traffic_staged(profile, &self.nodes, hints.pp.max(1));
            // A stage's tp data-parallel rings share its NICs: together one ring of
            // the stage's gradient over the job's GPUs / (tp × pp) ranks.
            traffic.ranks /= group;
            factor = traffic.factor();
            crossed = traffic.crosses_spine;
            if !traffic.links.is_empty() {
                self.contention.start(job.0, traffic);
            }
        }
        let now = ctx.now();
        let j = &mut self.jobs[job.0 as usize];
        j.leaves = leaves.len() as u32;
        j.racks = self.racks.len() as u32;
        j.crossed_spine |= crossed;
        j.gpus = self.nodes.iter().map(|n| n.1.count_ones()).sum();
        j.factor = factor;
        j.since = now;
        ctx.set_factor(job, Factor::Network, factor);
    }

    fn on_stop(&mut self, ctx: &mut ModelCtx<'_>, job: JobId) {
        self.accrue(job.0, ctx.now());
        self.contention.stop(job.0);
    }

    fn after_batch(&mut self, ctx: &mut ModelCtx<'_>) {
        let mut changed = std::mem::take(&mut self.changed);
        self.contention.settle(&mut changed);
        let now = ctx.now();
        for &(job, factor) in &changed {
            self.accrue(job, now);
            self.jobs[job as usize].factor = factor;
            ctx.set_factor(JobId(job), Factor::Network, factor);
        }
        self.changed = changed;
        for &(link, util) in self.contention.link_utilization() {
            self.links.set(link, util, now);
        }
    }

    fn finish(
        self: Box<Self>,
        end: SimTime,
        _workload: &Workload,
        _jobs: &[JobRecord],
        summary: &mut Summary,
        out: &mut ModelOutputs,
    ) {
        let ran: Vec<&JobNetwork> = self.jobs.iter().filter(|j| j.run_s > 0.0).collect();
        let mut slow: Vec<f64> = ran.iter().map(|j| j.slowdown()).collect();
        slow.sort_by(f64::total_cmp);
        let gpu_h = |j: &JobNetwork| j.run_s * f64::from(j.gpus) / 3600.0;
        let all_h: f64 = ran.iter().map(|j| gpu_h(j)).sum();
        let spine_h: f64 = ran.iter().filter(|j| j.crossed_spine).map(|j| gpu_h(j)).sum();
        let share = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let net = NetworkSummary {
            mean_slowdown: share(slow.iter().sum(), slow.len() as f64),
            p95_slowdown: percentile(&slow, 95.0).unwrap_or(0.0),
            jobs_crossing_spine: share(
                ran.iter().filter(|j| j.crossed_spine).count() as f64,
                ran.len() as f64,
            ),
            gpu_hours_crossing_spine: share(spine_h, all_h),
            gpu_hours_lost: ran.iter().map(|j| j.lost_s * f64::from(j.gpus) / 3600.0).sum(),
        };
        summary.network = Some(net.clone());
        out.network = Some(NetworkOutput {
            jobs: self.jobs,
            summary: net,
            links: self.links.finish(end),
            link_names: self.link_names,
        });
    }
}
