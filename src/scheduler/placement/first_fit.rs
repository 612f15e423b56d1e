use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{Placement, PlacementRequest};

use super::{candidate_models, spread};

/// First fit: the lowest-numbered node (of the first allowed GPU model) that holds the
/// job, its CPU and memory included. Gangs larger than any node spread over the fewest nodes. A sharing job takes the
/// first GPU with enough free share. A CPU-only task (no GPU) takes the first node with
/// its CPU and memory, as in the paper's simulator (equal scores, node-list order).
#[derive(Debug, Default)]
pub struct FirstFit;

impl Placement for FirstFit {
    fn name(&self) -> &'static str {
        "first-fit"
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        let d = req.demand;
        for model in candidate_models(req, free) {
            if !d.is_whole() {
                if let Some((node, gpu)) = free.first_gpu_with_share(model, d.milli_per_gpu, req.host) {
                    out.push(GpuGrant { node, gpus: 1 << gpu });
                    return true;
                }
            } else if d.gpus > free.max_node_gpus(model) {
                if spread(free, model, d.gpus, req.host, out) {
                    return true;
                }
            } else if let Some(node) = free.first_node_with_whole(model, d.gpus, req.host) {
                out.push(GpuGrant {
                    node,
                    gpus: free.free_mask(node, d.gpus),
                });
                return true;
            }
        }
        false
    }
}
