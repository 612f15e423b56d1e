//! Placement policies, one file each, and the gang-spreading rule they share.

mod best_fit;
mod first_fit;
mod pooled;

pub use best_fit::BestFit;
pub use first_fit::FirstFit;
pub use pooled::Pooled;

use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::PlacementRequest;
use crate::topology::GpuModelId;

/// Places a whole-GPU gang across nodes of `model`, fewest nodes first: nodes with the
/// most free GPUs are taken whole until the remainder fits on one node, which is then
/// chosen by best fit. Succeeds iff the model has `gpus` fully free GPUs.
fn spread(free: &FreeCapacity, model: GpuModelId, gpus: u32, out: &mut Vec<GpuGrant>) -> bool {
    if free.free_whole(model) < u64::from(gpus) {
        return false;
    }
    let mut left = gpus;
    for node in free.nodes_by_free_desc(model) {
        let avail = free.node_free_whole(node);
        if avail >= left {
            break;
        }
        out.push(GpuGrant {
            node,
            gpus: free.free_mask(node, avail),
        });
        left -= avail;
    }
    if left > 0 {
        // The tightest node that holds the remainder, skipping nodes already taken.
        let taken = |n| out.iter().any(|g: &GpuGrant| g.node == n);
        let best = (left..=free.max_node_gpus(model))
            .find_map(|k| free.nodes_with_free(model, k).find(|&n| !taken(n)));
        match best {
            Some(node) => out.push(GpuGrant {
                node,
                gpus: free.free_mask(node, left),
            }),
            None => {
                out.clear();
                return false;
            }
        }
    }
    true
}

/// Models allowed by `req` that have GPUs, in model-id order.
fn candidate_models<'a>(
    req: &'a PlacementRequest,
    free: &'a FreeCapacity,
) -> impl Iterator<Item = GpuModelId> + 'a {
    free.models().filter(move |m| req.models.allows(m.0 as usize))
}
