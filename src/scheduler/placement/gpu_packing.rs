use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{Placement, PlacementRequest};
use crate::workload::MILLI_PER_GPU;

use super::place_by_scan;

/// GPU packing, the FGD paper's baseline (its simulator's `GpuPacking` score plugin):
/// prefer, in this order, (1) a partially used GPU, the one with the least free share
/// first; (2) fully free GPUs on a node already in use; (3) a node with every GPU
/// free, the one with the fewest GPUs first. Within a class (the paper's simulator leaves
/// ties to the scheduler), the node left with the least free share, then the lower node
/// id and GPU. A CPU-only task (no GPU) scores the same on every node, as in that
/// plugin (its minimum score for every node), so the tie rule alone picks the node.
///
/// Cost: a scan of the allowed models' nodes, O(nodes × GPUs per node²) per decision.
#[derive(Debug, Default)]
pub struct GpuPacking;

impl Placement for GpuPacking {
    fn name(&self) -> &'static str {
        "gpu-packing"
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        let full = MILLI_PER_GPU as u16;
        place_by_scan(req, free, out, &mut |free, c, after| {
            let now = free.node_gpu_free(c.node);
            let left: u32 = after.iter().map(|&f| u32::from(f)).sum();
            let tie = f64::from(left) * 1e-9;
            if c.gpus == 0 {
                return tie;
            }
            let chosen = now[c.gpus.trailing_zeros() as usize];
            if chosen < full {
                f64::from(chosen) / f64::from(full) + tie
            } else if now.iter().any(|&f| f < full) {
                2.0 + tie
            } else {
                3.0 + now.len() as f64 / 100.0 + tie
            }
        })
    }
}
