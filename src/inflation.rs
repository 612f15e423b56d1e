//! The workload-inflation experiment of Weng et al., "Beware of Fragmentation" (USENIX
//! ATC 2023, §6): tasks drawn (seeded, uniformly, with replacement) from a pod list are
//! placed one by one on an empty cluster and never leave, until the GPUs they asked for
//! reach the cluster's capacity. A task that does not fit (GPUs, or CPU and memory where
//! the pod list and node list give them) is dropped. CPU-only pods are drawn too, as the
//! paper's simulator draws every pod: they ask for no GPU, so they add nothing to the
//! arrived GPUs, but take CPU and memory on the node their policy chooses, which can
//! strand that node's idle GPUs. The outputs are
//! the allocation rate, the unallocated GPUs and the fragmentation against the arrived
//! workload, as the paper plots them.
//!
//! No event loop is needed: each task is one [`Placement::place`] over a
//! [`FreeCapacity`] that tracks fragmentation against the pod list's task mix.

use std::io::{self, Write};

use rand::Rng;

use crate::engine::RngStreams;
use crate::scheduler::placement::TaskMix;
use crate::scheduler::{FreeCapacity, GpuGrant, ModelMask, Placement, PlacementRequest};
use crate::topology::{Cluster, GpuModelId};
use crate::workload::{Workload, MILLI_PER_GPU};

/// Rows per run: one per 1% of capacity in arrived GPUs.
pub const STEPS: u32 = 100;

/// One point of an inflation run.
#[derive(Debug, Clone, PartialEq)]
pub struct InflationRow {
    /// Placement policy.
    pub policy: String,
    /// Seed of the draw.
    pub seed: u64,
    /// GPUs asked for by the tasks drawn so far / cluster GPUs.
    pub arrived_fraction: f64,
    /// GPUs allocated / cluster GPUs.
    pub allocated_fraction: f64,
    /// Cluster GPUs − allocated GPUs.
    pub unallocated_gpus: f64,
    /// Expected fragmented GPUs against the pod list's task mix.
    pub frag_gpus: f64,
}

/// The tasks of `workload` that can run on `cluster`, as placement requests: GPU-model
/// constraints resolved to the cluster's models (as the simulator resolves them);
/// tasks naming no model the cluster has, or larger than every allowed model, are left
/// out. 0-GPU tasks (CPU-only pods) are kept, allowed on every node.
pub fn requests(cluster: &Cluster, workload: &Workload) -> Vec<PlacementRequest> {
    let model_of_type: Vec<Option<GpuModelId>> = workload
        .gpu_types
        .iter()
        .map(|t| cluster.model_by_name(t))
        .collect();
    let capacity: Vec<u64> = (0..cluster.models.len())
        .map(|m| cluster.gpus_of(GpuModelId(m as u16)))
        .collect();
    let all = ModelMask(
        (0..cluster.models.len())
            .filter(|&m| capacity[m] > 0)
            .fold(0, |acc, m| acc | 1 << m),
    );
    workload
        .jobs
        .iter()
        .filter_map(|spec| {
            let models = ModelMask::resolve(spec.gpu_types, &model_of_type, all);
            let fits =
                (0..capacity.len()).any(|m| models.allows(m) && capacity[m] >= u64::from(spec.demand.gpus));
            fits.then_some(PlacementRequest {
                tp: 1,
                demand: spec.demand,
                models,
                host: spec.host,
            })
        })
        .collect()
}

/// One inflation run: draws tasks from `tasks` with the stream `inflation` of `seed`
/// and places them with `placement` until the arrived GPUs reach the cluster's
/// capacity. Returns a row per 1% step (empty if no task asks for a GPU or the cluster
/// has none).
pub fn run(
    cluster: &Cluster,
    tasks: &[PlacementRequest],
    placement: &mut dyn Placement,
    seed: u64,
) -> Vec<InflationRow> {
    let capacity = cluster.total_gpus() * u64::from(MILLI_PER_GPU);
    let mut rows = Vec::with_capacity(STEPS as usize);
    if capacity == 0 || tasks.iter().all(|t| t.demand.gpus == 0) {
        return rows;
    }
    let mut free = FreeCapacity::new(cluster, tasks.iter().any(|t| !t.demand.is_whole()));
    if tasks.iter().any(|t| !t.host.is_none()) {
        free.track_host(cluster);
    }
    placement.prepare(&mut free);
    free.track_fragmentation(TaskMix::from_requests(
        cluster.models.len(),
        tasks.iter().copied(),
    ));
    let mut rng = RngStreams::new(seed).stream("inflation", 0);
    let mut grants: Vec<GpuGrant> = Vec::new();
    let (mut arrived, mut allocated) = (0u64, 0u64);
    let mut step = 1u32;
    let gpus = |milli: u64| milli as f64 / f64::from(MILLI_PER_GPU);
    while step <= STEPS {
        let task = tasks[rng.gen_range(0..tasks.len())];
        arrived += task.demand.total_milli();
        grants.clear();
        if placement.place(&task, &free, &mut grants) {
            free.allocate_job(&grants, &task);
            allocated += task.demand.total_milli();
        }
        while step <= STEPS && arrived * u64::from(STEPS) >= capacity * u64::from(step) {
            rows.push(InflationRow {
                policy: placement.name().to_string(),
                seed,
                arrived_fraction: arrived as f64 / capacity as f64,
                allocated_fraction: allocated as f64 / capacity as f64,
                unallocated_gpus: gpus(capacity - allocated),
                frag_gpus: free.frag_micro() as f64 / 1e6,
            });
            step += 1;
        }
    }
    rows
}

/// Mean unallocated GPUs over seeds at the first row whose arrived fraction reaches
/// `fraction`, per policy in first-seen order.
pub fn mean_unallocated_at(rows: &[InflationRow], fraction: f64) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64, u32)> = Vec::new();
    let mut last: Option<(&str, u64)> = None;
    for r in rows {
        let key = (r.policy.as_str(), r.seed);
        if last == Some(key) || r.arrived_fraction + 1e-12 < fraction {
            continue;
        }
        last = Some(key);
        match out.iter_mut().find(|o| o.0 == r.policy) {
            Some(o) => {
                o.1 += r.unallocated_gpus;
                o.2 += 1;
            }
            None => out.push((r.policy.clone(), r.unallocated_gpus, 1)),
        }
    }
    out.into_iter().map(|(p, s, n)| (p, s / f64::from(n))).collect()
}

/// Writes `inflation.csv` (columns in `docs/outputs.md`).
pub fn write_csv(w: &mut dyn Write, rows: &[InflationRow]) -> io::Result<()> {
    writeln!(
        w,
        "policy,seed,arrived_fraction,allocated_fraction,unallocated_gpus,frag_gpus"
    )?;
    for r in rows {
        writeln!(
            w,
            "{},{},{:.6},{:.6},{:.3},{:.3}",
            r.policy, r.seed, r.arrived_fraction, r.allocated_fraction, r.unallocated_gpus, r.frag_gpus
        )?;
    }
    Ok(())
}
