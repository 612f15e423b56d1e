use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{Placement, PlacementRequest};
use crate::workload::MILLI_PER_GPU;

use super::place_by_scan;

/// Dot product (Tetris, Grandl et al., SIGCOMM 2014, as the FGD paper's baseline and its
/// simulator's `DotProduct` score plugin use it): over every node and GPU that can host
/// the task, the smallest dot product between the task's request vector and the node's
/// free vector, both normalised by the node's capacity, over two GPU dimensions — the
/// node's GPUs (GPUs asked for × share / GPUs on the node, against free share / GPUs on
/// the node) and the chosen GPU (share asked for, against that GPU's free share; 1 for
/// whole GPUs). As in that simulator, a larger dot product scores lower, which packs
/// tasks onto nodes with little free capacity. Ties: least free share left, then lower
/// node id and GPU. CPU and memory are honoured (nodes without them are not candidates)
/// but not scored as dimensions (the paper's simulator scores them too), so a CPU-only
/// task (no GPU) has a dot product of 0 on every node and the tie rule alone picks the
/// node (in that simulator its CPU dimension would decide).
///
/// Cost: a scan of the allowed models' nodes, O(nodes × GPUs per node²) per decision.
#[derive(Debug, Default)]
pub struct DotProduct;

impl Placement for DotProduct {
    fn name(&self) -> &'static str {
        "dot-product"
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        let d = req.demand;
        let full = f64::from(MILLI_PER_GPU);
        place_by_scan(req, free, out, &mut |free, c, after| {
            let now = free.node_gpu_free(c.node);
            let cap = now.len() as f64 * full;
            let free_before: f64 = now.iter().map(|&f| f64::from(f)).sum();
            let gpu_free = if d.is_whole() {
                full
            } else {
                f64::from(now[c.gpus.trailing_zeros() as usize])
            };
            let dot = if d.gpus == 0 {
                0.0
            } else {
                (d.total_milli() as f64 / cap) * (free_before / cap)
                    + (f64::from(d.milli_per_gpu) / full) * (gpu_free / full)
            };
            let left: u32 = after.iter().map(|&f| u32::from(f)).sum();
            dot + f64::from(left) * 1e-12
        })
    }
}
