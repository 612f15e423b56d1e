use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{Placement, PlacementRequest};

use super::place_by_scan;

/// Dot product (Tetris, Grandl et al., SIGCOMM 2014), as the FGD paper's baseline: its
/// simulator's `DotProductScore` plugin in the configuration of the paper's experiments
/// (hkust-adsl/kubernetes-scheduler-simulator, `experiments/run_scripts`: `-DotProd 1000
/// -gpusel best -dimext merge -norm max`). Over every node that can host the task, the
/// smallest dot product between the task's request vector and the node's free vector
/// over two dimensions, CPU and the node's GPUs merged into one (GPUs asked for × share,
/// against the node's free share summed over its GPUs), both normalised by the largest
/// node of the cluster (its CPUs and its GPUs; 128 cores and 8 GPUs on openb, the
/// constants of that simulator), not by the node's own capacity. A larger dot product
/// scores lower, so tasks go to the nodes with the least free CPU and GPU in absolute
/// terms: small nodes fill first. On a node, a sharing task takes the GPU with the least
/// free share that holds it (`-gpusel best`), a whole-GPU task its first free GPUs. Ties
/// (the simulator draws among equal integer scores at random): least free share left,
/// then lower node id. CPU counts where the simulation tracks it (pods' CPU against the
/// node list's); memory is honoured (nodes without it are not candidates) but not scored,
/// as in that simulator. A CPU-only task (no GPU) goes to the node with the least free
/// CPU that holds it.
///
/// Normalising by each node's own capacity instead (what this policy did before) made a
/// task a larger fraction of a small node and so sent tasks to the largest nodes: on the
/// openb pod lists with GPU-type constraints that kept the small T4, P100 and V100 nodes
/// free for the tasks constrained to them, a baseline much stronger than the paper's
/// (docs/validation.md, FGD section).
///
/// Cost: a scan of the allowed models' nodes, O(nodes × GPUs per node) per decision, and
/// one O(nodes) pass at the first decision for the largest node.
#[derive(Debug, Default)]
pub struct DotProduct {
    /// The largest node's CPU (thousandths of a core; 0 where CPU is not tracked) and
    /// GPUs (thousandths), read at the first decision: a policy places on one cluster.
    largest: Option<(f64, f64)>,
}

/// The largest CPU capacity and GPU count of any node in `free` (CPU 0 if untracked).
fn largest_node(free: &FreeCapacity) -> (f64, f64) {
    let mut cpu = 0u64;
    let mut gpus = 0u32;
    for model in free.models() {
        gpus = gpus.max(free.max_node_gpus(model));
        if free.tracks_host() {
            for &node in free.pool_nodes(model) {
                cpu = cpu.max(free.host_capacity(node).cpu_milli);
            }
        }
    }
    (
        cpu as f64,
        f64::from(gpus) * f64::from(crate::workload::MILLI_PER_GPU),
    )
}

impl Placement for DotProduct {
    fn name(&self) -> &'static str {
        "dot-product"
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        let d = req.demand;
        let (max_cpu, max_gpu) = *self.largest.get_or_insert_with(|| largest_node(free));
        let cpu_req = if max_cpu > 0.0 {
            f64::from(req.host.cpu_milli) / max_cpu
        } else {
            0.0
        };
        let gpu_req = d.total_milli() as f64 / max_gpu.max(1.0);
        place_by_scan(req, free, out, &mut |free, c, after| {
            let now = free.node_gpu_free(c.node);
            if !d.is_whole() && d.gpus == 1 {
                // Only the GPU with the least free share that holds the task competes.
                let chosen = now[c.gpus.trailing_zeros() as usize];
                let tightest = now.iter().filter(|&&f| u32::from(f) >= d.milli_per_gpu).min();
                if Some(&chosen) != tightest {
                    return f64::INFINITY;
                }
            }
            let cpu_free = if max_cpu > 0.0 {
                free.host_room(c.node).cpu_milli as f64 / max_cpu
            } else {
                0.0
            };
            let gpu_free: f64 = now.iter().map(|&f| f64::from(f)).sum::<f64>() / max_gpu.max(1.0);
            let left: u32 = after.iter().map(|&f| u32::from(f)).sum();
            cpu_req * cpu_free + gpu_req * gpu_free + f64::from(left) * 1e-13
        })
    }
}
