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

use std::path::Path;

use serde::Serialize;

use super::config::{Mode, ServiceConfig};
use super::error::ServingError;
use super::fluid::simulate_fluid;
use super::replicas::simulate;
use super::report::ServiceReport;
use crate::engine::SimTime;
use crate::metrics::{JobRecord, Summary};
use crate::model::{Model, ModelCtx, ModelOutputs, TakeOut};
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
}

/// One service in the run.
#[derive(Debug)]
struct Placed {
    out: ServiceOutput,
    model: GpuModelId,
    candidates: Vec<NodeId>,
    held: Vec<NodeId>,
}

/// The serving model: every `[[services]]` table of a scenario.
#[derive(Debug)]
pub struct ServingModel {
    services: Vec<Placed>,
    scheduled: bool,
}

/// Simulates each service and prepares its node schedule on `cluster`; paths are
/// relative to `dir`. Errors name the service (`services[i].key`).
pub fn setup(
    configs: &[ServiceConfig],
    cluster: &Cluster,
    dir: &Path,
    seed: u64,
) -> Result<ServingModel, ServingError> {
    let mut services = Vec::with_capacity(configs.len());
    for (i, c) in configs.iter().enumerate() {
        let key = format!("services[{i}]");
        c.validate(&key)?;
        let Some(m) = cluster.models.iter().position(|g| g.matches(&c.gpu)) else {
            let known: Vec<&str> = cluster.models.iter().map(|g| g.name.as_str()).collect();
            return Err(ServingError::config(
                format!("{key}.gpu"),
                format!(
                    "no node of GPU model `{}` in the cluster; it has: {}",
                    c.gpu,
                    known.join(", ")
                ),
            ));
        };
        let model = GpuModelId(m as u16);
        let gpu = &cluster.models[m];
        let candidates: Vec<NodeId> = (0..cluster.nodes.len())
            .filter(|&n| cluster.nodes[n].model == model && cluster.nodes[n].gpus >= c.gpus_per_replica)
            .map(|n| NodeId(n as u32))
            .collect();
        let largest = cluster
            .nodes
            .iter()
            .filter(|n| n.model == model)
            .map(|n| n.gpus)
            .max()
            .unwrap_or(0);
        if candidates.is_empty() || c.gpus_per_replica == 0 {
            return Err(ServingError::config(
                format!("{key}.gpus_per_replica"),
                format!(
                    "a replica of {} GPUs fits no node: the largest {} node has {largest}",
                    c.gpus_per_replica, gpu.name
                ),
            ));
        }
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
        let report = match c.mode {
            Mode::Requests => {
                let trace = c.requests(dir, seed, i)?;
                simulate(&trace.requests, perf.as_ref(), &c.settings(gpu), None)
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
            out: ServiceOutput {
                name: c.name.clone(),
                report,
                nodes_over_time,
            },
            model,
            candidates,
            held: Vec::new(),
        });
    }
    Ok(ServingModel {
        services,
        scheduled: false,
    })
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
            let node = p.held.pop().expect("held is longer than want");
            ctx.bring_back(node);
        }
        while p.held.len() < want as usize {
            let freest = ctx
                .free()
                .nodes_by_free_desc(p.model)
                .find(|n| p.candidates.contains(n) && !p.held.contains(n));
            let Some(node) = freest.or_else(|| p.candidates.iter().copied().find(|n| !p.held.contains(n)))
            else {
                break;
            };
            ctx.take_out(node, TakeOut::Now);
            p.held.push(node);
        }
    }
}

impl Model for ServingModel {
    fn name(&self) -> &'static str {
        "serving"
    }

    fn after_batch(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.scheduled {
            return;
        }
        self.scheduled = true;
        let now = ctx.now();
        for (s, p) in self.services.iter().enumerate() {
            for (j, &(t, _)) in p.out.nodes_over_time.iter().enumerate() {
                let at = SimTime((t * 1000.0).round() as u64).max(now);
                ctx.schedule(at, ((s as u64) << 32) | j as u64);
            }
        }
    }

    fn on_event(&mut self, ctx: &mut ModelCtx<'_>, token: u64) {
        let (s, j) = ((token >> 32) as usize, (token & 0xffff_ffff) as usize);
        let want = self.services[s].out.nodes_over_time[j].1;
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
        out.serving = Some(self.services.into_iter().map(|p| p.out).collect());
    }
}
