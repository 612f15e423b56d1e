use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{Placement, PlacementRequest};
use crate::workload::{GpuDemand, MILLI_PER_GPU};

use super::place_by_scan;

/// GPU clustering, the FGD paper's baseline (its simulator's `GpuClustering` score
/// plugin): keep tasks of the same GPU request on the same nodes. Each node carries the
/// requests (GPUs, share) placed on it since it was last entirely free; nodes are
/// preferred in four classes — only this task's request, this request among others, an
/// entirely free node, other requests only — and within a class the node with the least
/// free share (then the lower node id and GPU). A CPU-only task (no GPU) has no class,
/// as in that plugin (its minimum score for every node): the node with the least free
/// share takes it, and it tags no node.
///
/// The policy remembers what it placed, and forgets a node's requests once all its GPUs
/// are free again (placement is not told of departures).
///
/// Cost: a scan of the allowed models' nodes, O(nodes × GPUs per node²) per decision.
#[derive(Debug, Default)]
pub struct GpuClustering {
    /// Requests placed on each node since it was last entirely free, by node id.
    tags: Vec<Vec<GpuDemand>>,
}

impl Placement for GpuClustering {
    fn name(&self) -> &'static str {
        "gpu-clustering"
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        let d = req.demand;
        let full = MILLI_PER_GPU as u16;
        let tags = &self.tags;
        let ok = place_by_scan(req, free, out, &mut |free, c, _| {
            let now = free.node_gpu_free(c.node);
            let idle = now.iter().all(|&f| f == full);
            let node_tags: &[GpuDemand] = match tags.get(c.node.0 as usize) {
                Some(t) if !idle => t,
                _ => &[],
            };
            let class = if d.gpus == 0 {
                0.0
            } else if node_tags.is_empty() {
                2.0
            } else if node_tags.contains(&d) {
                if node_tags.len() == 1 {
                    0.0
                } else {
                    1.0
                }
            } else {
                3.0
            };
            let left: u32 = now.iter().map(|&f| u32::from(f)).sum();
            class + f64::from(left) * 1e-6
        });
        if ok && d.gpus > 0 {
            for g in out.iter() {
                let n = g.node.0 as usize;
                if self.tags.len() <= n {
                    self.tags.resize_with(n + 1, Vec::new);
                }
                if free.node_gpu_free(g.node).iter().all(|&f| f == full) {
                    self.tags[n].clear();
                }
                if !self.tags[n].contains(&d) {
                    self.tags[n].push(d);
                }
            }
        }
        ok
    }
}
