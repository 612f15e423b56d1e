//! Serving beside training through the model seam ([`crate::model`]).
//!
//! Inference has priority over training: a service always gets the GPUs its replicas
//! need. So its run does not depend on training, and each service is simulated first,
//! request by request ([`super::replicas`]); the replicas it held over time then become
//! whole nodes of its GPU model taken out of the training pool
//! ([`ModelCtx::take_out`] with [`TakeOut::Now`]: training jobs on a node taken are
//! interrupted under the scenario's preemption rule) and given back when load drops
//! ([`ModelCtx::bring_back`]). Nodes are taken freest first, so as few training jobs as
//! possible are stopped.
//!
//! With the power model on, a service instead runs step by step beside the cluster,
//! coupled to its caps the same way in both modes: a request-mode service
//! ([`Stepper`]) steps every [`POWER_STEP_S`], a fluid one ([`FluidStepper`]) once an
//! interval. At each step the speed and busy power the caps left its loads at the last
//! settle apply to the service until the next step, and its replicas' demand (their
//! draw with busy power unscaled by the caps) goes into the power tree as loads on the
//! nodes it holds ([`crate::power::loads`]): a request-mode service reports its mean
//! demand over the last step, a fluid one its demand over the interval it has just run.
//! Under `priority` capping the loads rank above every job, so training is throttled to
//! its lowest cap before a replica slows. Nodes then change at steps (at most a step
//! late); once the service has no work left its nodes draw idle power.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::config::{Mode, ServiceConfig};
use super::error::ServingError;
use super::fluid::{simulate_fluid, FluidStepper};
use super::instances::{read_dlrm_instances, replay, Instance, InstanceServices};
use super::replicas::{simulate, simulate_split, Stepper};
use super::report::ServiceReport;
use crate::engine::SimTime;
use crate::metrics::{JobRecord, Summary};
use crate::model::{Model, ModelCtx, ModelOutputs, TakeOut};
use crate::power::{LoadChange, LoadLink};
use crate::topology::{Cluster, GpuModelId, NodeId};
use crate::workload::Workload;

/// One service's outputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceOutput {
    /// The service's name.
    pub name: String,
    /// Its figures.
    pub report: ServiceReport,
    /// Nodes held over time: (time s, nodes) at each change.
    pub nodes_over_time: Vec<(f64, u32)>,
    /// Trace rows left out, by reason (the total of `[[instance_services]]` only;
    /// omitted when empty).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped_rows: BTreeMap<String, u64>,
}

/// Seconds between the steps of a service coupled to the power model: its demand
/// enters the tree, and the caps' factor reaches it, once a step. One second, the
/// window of the service's peak (what a breaker or PDU meter averages over).
pub const POWER_STEP_S: f64 = 1.0;

/// Low half of the event token of a coupled service's step (node changes of an
/// uncoupled service use their index there).
const STEP: u64 = 0xffff_ffff;

/// A service's simulator, run step by step.
#[derive(Debug)]
enum Stepped {
    /// Request by request, a step every [`POWER_STEP_S`].
    Requests(Box<Stepper>),
    /// Fluid, a step every interval.
    Fluid(Box<FluidStepper>),
}

impl Stepped {
    /// Runs the service to `t_s` under the throttle (speed, busy scale) the caps left it;
    /// returns the demand of its GPUs for the coming step, W, or `None` once it has no
    /// work left.
    fn step(&mut self, t_s: f64, rate: f64, busy: f64) -> Option<f64> {
        match self {
            Stepped::Requests(st) => {
                st.run_until(t_s);
                let demand = st.take_mean_demand_w(t_s);
                st.set_throttle(rate, busy);
                st.work_left().then_some(demand)
            }
            Stepped::Fluid(f) => f.step(rate, busy),
        }
    }

    /// When the next step is due, after one at `now`.
    fn next_step(&self, now: SimTime) -> SimTime {
        match self {
            Stepped::Requests(_) => now + SimTime((POWER_STEP_S * 1000.0) as u64),
            Stepped::Fluid(f) => SimTime((f.now_s() * 1000.0).round() as u64).max(now),
        }
    }

    fn held_replicas(&self) -> u32 {
        match self {
            Stepped::Requests(st) => st.held_replicas(),
            Stepped::Fluid(f) => f.held_replicas(),
        }
    }

    fn last_arrival_s(&self) -> f64 {
        match self {
            Stepped::Requests(st) => st.last_arrival_s(),
            Stepped::Fluid(f) => f.last_arrival_s(),
        }
    }

    fn finish(self) -> ServiceReport {
        match self {
            Stepped::Requests(st) => st.finish(),
            Stepped::Fluid(f) => f.finish(),
        }
    }
}

/// A service stepped beside the cluster, coupled to its power caps.
#[derive(Debug)]
struct Coupled {
    stepper: Stepped,
    link: LoadLink,
    /// Id of the load of `candidates[0]`; candidate k is load `first_load + k`.
    first_load: u32,
    gpus_per_replica: u32,
    gpu_idle_w: f64,
    gpu_tdp_w: f64,
}

/// One service in the run.
#[derive(Debug)]
struct Placed {
    name: String,
    /// Its figures; a coupled service's come at the end of the run.
    report: Option<ServiceReport>,
    /// Trace rows left out, by reason (instance totals).
    skipped_rows: BTreeMap<String, u64>,
    /// Nodes held over time: (time s, nodes) at each change.
    nodes_over_time: Vec<(f64, u32)>,
    model: GpuModelId,
    candidates: Vec<NodeId>,
    /// Nodes it holds, each with its position in `candidates` (its load's id past
    /// the service's first), found once when the node is taken.
    held: Vec<(NodeId, u32)>,
    /// Replicas a node holds.
    per_node: u32,
    /// Stepped beside the cluster (power on); its report comes at the end.
    coupled: Option<Coupled>,
}

/// The serving model: every `[[services]]` and `[[instance_services]]` table of a
/// scenario.
#[derive(Debug)]
pub struct ServingModel {
    services: Vec<Placed>,
    scheduled: bool,
}

/// Simulates each service and prepares its node schedule on `cluster`; paths are
/// relative to `dir`. With `power` (the run's power model is on), services are instead
/// stepped beside the run under its caps. Errors name the service
/// (`services[i].key`). Each `instances` table adds its services replayed from their
/// trace ([`super::instances`]), after the request services.
pub fn setup(
    configs: &[ServiceConfig],
    instances: &[InstanceServices],
    cluster: &Cluster,
    dir: &Path,
    seed: u64,
    power: Option<&LoadLink>,
) -> Result<ServingModel, ServingError> {
    let mut services = Vec::with_capacity(configs.len());
    let mut next_load = 0u32;
    for (i, c) in configs.iter().enumerate() {
        let key = format!("services[{i}]");
        c.validate(&key)?;
        let (model, candidates) = gpu_nodes(cluster, &c.gpu, c.gpus_per_replica, &key, "gpus_per_replica")?;
        let gpu = &cluster.models[model.0 as usize];
        let per_node = candidates
            .iter()
            .map(|n| cluster.nodes[n.0 as usize].gpus / c.gpus_per_replica)
            .min()
            .unwrap_or(1);
        let most = candidates.len() as u64 * u64::from(per_node);
        if u64::from(c.scaling.max()) > most {
            return Err(ServingError::config(
                format!("{key}.scaling"),
                format!(
                    "asks for up to {} replicas; the cluster holds at most {most}",
                    c.scaling.max()
                ),
            ));
        }
        let perf = c.perf(gpu, &key)?;
        if let Some(link) = power {
            let settings = c.settings(gpu);
            let stepper = match c.mode {
                Mode::Requests => {
                    let trace = c.requests(dir, seed, i)?;
                    let split = c.split.map(|sp| sp.split());
                    Stepper::new(trace.requests, perf, settings, split)
                        .map(|st| Stepped::Requests(Box::new(st)))
                }
                Mode::Fluid => {
                    let demand = c.demand(dir, seed, i, perf.as_ref())?;
                    FluidStepper::new(demand, perf, settings).map(|f| Stepped::Fluid(Box::new(f)))
                }
            }
            .map_err(|e| prefix(e, &key))?;
            let first_load = next_load;
            next_load += candidates.len() as u32;
            services.push(Placed {
                name: c.name.clone(),
                report: None,
                skipped_rows: BTreeMap::new(),
                nodes_over_time: Vec::new(),
                model,
                candidates,
                held: Vec::new(),
                per_node,
                coupled: Some(Coupled {
                    stepper,
                    link: link.clone(),
                    first_load,
                    gpus_per_replica: c.gpus_per_replica,
                    gpu_idle_w: gpu.idle_w,
                    gpu_tdp_w: gpu.tdp_w,
                }),
            });
            continue;
        }
        let report = match c.mode {
            Mode::Requests => {
                let trace = c.requests(dir, seed, i)?;
                match (c.split, perf.as_ref()) {
                    (Some(sp), Some(p)) => simulate_split(&trace.requests, p, &c.settings(gpu), sp.split()),
                    (Some(_), None) => Err(ServingError::config(
                        "split",
                        "a split service needs a model to time its phases",
                    )),
                    (None, p) => simulate(&trace.requests, p, &c.settings(gpu), None),
                }
            }
            Mode::Fluid => {
                let demand = c.demand(dir, seed, i, perf.as_ref())?;
                simulate_fluid(&demand, perf.as_ref(), &c.settings(gpu))
            }
        }
        .map_err(|e| prefix(e, &key))?;
        let mut nodes_over_time: Vec<(f64, u32)> = Vec::new();
        for &(t, r) in &report.replicas_over_time {
            let n = r.div_ceil(per_node);
            if nodes_over_time.last().is_none_or(|l| l.1 != n) {
                nodes_over_time.push((t, n));
            }
        }
        services.push(Placed {
            name: c.name.clone(),
            report: Some(report),
            skipped_rows: BTreeMap::new(),
            nodes_over_time,
            model,
            candidates,
            held: Vec::new(),
            per_node,
            coupled: None,
        });
    }
    for (i, c) in instances.iter().enumerate() {
        services.extend(place_instances(
            c,
            cluster,
            dir,
            &format!("instance_services[{i}]"),
        )?);
    }
    Ok(ServingModel {
        services,
        scheduled: false,
    })
}

/// The GPU model named `gpu` in `cluster` and its nodes with at least `gpus` GPUs (a
/// replica fits), by id; errors name `key.gpu` or `key.{fit_key}`.
fn gpu_nodes(
    cluster: &Cluster,
    gpu: &str,
    gpus: u32,
    key: &str,
    fit_key: &str,
) -> Result<(GpuModelId, Vec<NodeId>), ServingError> {
    let Some(m) = cluster.models.iter().position(|g| g.matches(gpu)) else {
        let known: Vec<&str> = cluster.models.iter().map(|g| g.name.as_str()).collect();
        return Err(ServingError::config(
            format!("{key}.gpu"),
            format!(
                "no node of GPU model `{gpu}` in the cluster; it has: {}",
                known.join(", ")
            ),
        ));
    };
    let model = GpuModelId(m as u16);
    let candidates: Vec<NodeId> = (0..cluster.nodes.len())
        .filter(|&n| cluster.nodes[n].model == model && cluster.nodes[n].gpus >= gpus)
        .map(|n| NodeId(n as u32))
        .collect();
    let largest = cluster
        .nodes
        .iter()
        .filter(|n| n.model == model)
        .map(|n| n.gpus)
        .max()
        .unwrap_or(0);
    if candidates.is_empty() || gpus == 0 {
        return Err(ServingError::config(
            format!("{key}.{fit_key}"),
            format!(
                "a replica of {gpus} GPUs fits no node: the largest {} node has {largest}",
                cluster.models[m].name
            ),
        ));
    }
    Ok((model, candidates))
}

/// The services of one `[[instance_services]]` table ([`super::instances`]): one
/// output per service, holding no node of its own, then the total, which holds whole
/// nodes of the GPU model while its live GPUs need them.
fn place_instances(
    c: &InstanceServices,
    cluster: &Cluster,
    dir: &Path,
    key: &str,
) -> Result<Vec<Placed>, ServingError> {
    c.validate(key)?;
    let trace = read_dlrm_instances(&dir.join(&c.path))?;
    let widest = trace
        .instances
        .iter()
        .map(|i| i.gpus.ceil() as u32)
        .max()
        .unwrap_or(1)
        .max(1);
    let (model, candidates) = gpu_nodes(cluster, &c.gpu, widest, key, "gpu")?;
    let gpu = &cluster.models[model.0 as usize];
    let gpu_w = gpu.idle_w + c.power_share * (gpu.tdp_w - gpu.idle_w);
    let node_gpus = candidates
        .iter()
        .map(|n| cluster.nodes[n.0 as usize].gpus)
        .min()
        .unwrap_or(1);
    let placed = |name: String, report: ServiceReport, nodes_over_time: Vec<(f64, u32)>| Placed {
        name,
        report: Some(report),
        skipped_rows: BTreeMap::new(),
        nodes_over_time,
        model,
        candidates: Vec::new(),
        held: Vec::new(),
        // Read only by coupled services; an instance holds whole GPUs, so a node's GPUs.
        per_node: node_gpus,
        coupled: None,
    };
    let mut by_app: Vec<Vec<Instance>> = vec![Vec::new(); trace.apps.len()];
    for i in &trace.instances {
        by_app[i.app as usize].push(*i);
    }
    let mut out: Vec<Placed> = trace
        .apps
        .iter()
        .zip(&by_app)
        .map(|(app, xs)| {
            placed(
                format!("{}/{app}", c.name),
                replay(xs.iter(), trace.end_s, gpu_w).report,
                Vec::new(),
            )
        })
        .collect();
    let total = replay(trace.instances.iter(), trace.end_s, gpu_w);
    let most = candidates.len() as u64 * u64::from(node_gpus);
    let peak = total.gpus_over_time.iter().map(|g| g.1).fold(0.0, f64::max);
    if peak > most as f64 {
        return Err(ServingError::config(
            format!("{key}.gpu"),
            format!(
                "the trace's instances hold up to {peak} GPUs at once; the cluster has {most} {} GPUs",
                gpu.name
            ),
        ));
    }
    let mut nodes_over_time: Vec<(f64, u32)> = Vec::new();
    for &(t, g) in &total.gpus_over_time {
        let n = (g / f64::from(node_gpus)).ceil() as u32;
        if nodes_over_time.last().is_none_or(|l| l.1 != n) {
            nodes_over_time.push((t, n));
        }
    }
    let mut whole = placed(c.name.clone(), total.report, nodes_over_time);
    whole.candidates = candidates;
    whole.skipped_rows = trace.skipped;
    out.push(whole);
    Ok(out)
}

fn prefix(e: ServingError, key: &str) -> ServingError {
    match e {
        ServingError::Config { key: k, msg } => ServingError::Config {
            key: format!("{key}.{k}"),
            msg,
        },
        other => other,
    }
}

impl ServingModel {
    /// Takes or gives back nodes until service `s` holds `want`.
    fn hold(&mut self, ctx: &mut ModelCtx<'_>, s: usize, want: u32) {
        let p = &mut self.services[s];
        while p.held.len() > want as usize {
            let (node, index) = p.held.pop().expect("held is longer than want");
            if let Some(c) = &p.coupled {
                c.link.push(LoadChange::Stop {
                    id: c.first_load + index,
                });
            }
            ctx.bring_back(node);
        }
        while p.held.len() < want as usize {
            let freest = ctx
                .free()
                .nodes_by_free_desc(p.model)
                .find(|n| p.candidates.contains(n) && !p.held.iter().any(|h| h.0 == *n));
            let Some(node) =
                freest.or_else(|| (p.candidates.iter().copied()).find(|&n| !p.held.iter().any(|h| h.0 == n)))
            else {
                break;
            };
            ctx.take_out(node, TakeOut::Now);
            p.held.push((node, load_index(&p.candidates, node)));
        }
    }

    /// One step of coupled service `s` at the current time: it runs up to now (or, fluid,
    /// over its next interval) at the throttle of the last settle, takes the nodes its
    /// replicas need, and reports their demand as loads on them; the next step is
    /// scheduled while it has work.
    fn step(&mut self, ctx: &mut ModelCtx<'_>, s: usize) {
        let t = ctx.now().as_secs_f64();
        let p = &mut self.services[s];
        let c = p.coupled.as_mut().expect("a stepped service is coupled");
        // What the caps left its loads at the last settle: a replica is as fast as the
        // slowest node the service holds (one speed for the service).
        let (mut rate, mut busy) = (1.0f64, 1.0f64);
        for &(_, index) in &p.held {
            let f = c.link.factor(c.first_load + index);
            rate = rate.min(f.rate);
            busy = busy.min(f.busy_scale);
        }
        // Shares summed in different orders leave a cap that does not bind a hair
        // below 1: within 1e-9 it is full speed and power.
        let full = |f: f64| if f > 1.0 - 1e-9 { 1.0 } else { f };
        let demand_w = c.stepper.step(t, full(rate), full(busy));
        let replicas = c.stepper.held_replicas();
        let want = replicas.div_ceil(p.per_node);
        if p.nodes_over_time.last().is_none_or(|l| l.1 != want) {
            p.nodes_over_time.push((t, want));
        }
        self.hold(ctx, s, want);
        let p = &self.services[s];
        let c = p.coupled.as_ref().expect("a stepped service is coupled");
        let gpus = f64::from(replicas * c.gpus_per_replica);
        // With no work left the replicas idle.
        let share = match demand_w {
            Some(w) if gpus > 0.0 => (w - gpus * c.gpu_idle_w) / (gpus * (c.gpu_tdp_w - c.gpu_idle_w)),
            _ => 0.0,
        };
        let mut left = replicas;
        for &(node, index) in &p.held {
            let here = left.min(p.per_node);
            left -= here;
            c.link.push(LoadChange::Start {
                id: c.first_load + index,
                node,
                gpus: here * c.gpus_per_replica,
                share: share.clamp(0.0, 1.0),
            });
        }
        if demand_w.is_some() {
            let next = c.stepper.next_step(ctx.now());
            ctx.schedule(next, ((s as u64) << 32) | STEP);
        }
    }
}

/// Position of `node` among a service's candidate nodes (its load's index).
fn load_index(candidates: &[NodeId], node: NodeId) -> u32 {
    candidates
        .iter()
        .position(|&n| n == node)
        .expect("a held node is a candidate") as u32
}

impl Model for ServingModel {
    fn name(&self) -> &'static str {
        "serving"
    }

    /// A coupled service keeps the run going until its last request arrives (its steps
    /// are what put its load under the caps); what it still serves after the run's end
    /// runs at the last throttle.
    fn horizon(&self) -> Option<SimTime> {
        self.services
            .iter()
            .filter_map(|p| p.coupled.as_ref())
            .map(|c| SimTime((c.stepper.last_arrival_s() * 1000.0).ceil() as u64))
            .max()
    }

    fn after_batch(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.scheduled {
            return;
        }
        self.scheduled = true;
        let now = ctx.now();
        for (s, p) in self.services.iter().enumerate() {
            if p.coupled.is_some() {
                ctx.schedule(now, ((s as u64) << 32) | STEP);
                continue;
            }
            for (j, &(t, _)) in p.nodes_over_time.iter().enumerate() {
                let at = SimTime((t * 1000.0).round() as u64).max(now);
                ctx.schedule(at, ((s as u64) << 32) | j as u64);
            }
        }
    }

    fn on_event(&mut self, ctx: &mut ModelCtx<'_>, token: u64) {
        let (s, j) = ((token >> 32) as usize, (token & 0xffff_ffff) as usize);
        if j as u64 == STEP {
            self.step(ctx, s);
            return;
        }
        let want = self.services[s].nodes_over_time[j].1;
        self.hold(ctx, s, want);
    }

    fn finish(
        self: Box<Self>,
        _end: SimTime,
        _workload: &Workload,
        _jobs: &[JobRecord],
        _summary: &mut Summary,
        out: &mut ModelOutputs,
    ) {
        out.serving = Some(
            self.services
                .into_iter()
                .filter_map(|p| {
                    let report = match p.coupled {
                        Some(c) => c.stepper.finish(),
                        None => p.report?,
                    };
                    Some(ServiceOutput {
                        name: p.name,
                        report,
                        nodes_over_time: p.nodes_over_time,
                        skipped_rows: p.skipped_rows,
                    })
                })
                .collect(),
        );
    }
}
