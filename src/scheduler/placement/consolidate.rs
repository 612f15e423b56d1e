use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{ModelMask, Placement, PlacementRequest};
use crate::topology::NodeId;

use super::{candidate_models, spread, BestFit};

/// Racks tried for a gang larger than a node before falling back to spreading over the
/// whole model (bounds the cost of a decision).
const RACKS_TRIED: usize = 16;

/// Consolidate: fewest nodes, then fewest racks. A job that fits on one node goes there
/// by best fit (one node, one rack). A gang larger than any node takes the fewest nodes
/// the model allows (as `spread` counts them) inside one rack when a rack can do that:
/// racks with enough free GPUs are tried lowest-numbered first (up to 16, from the
/// per-rack free-GPU index), each filled most-free node first; otherwise it spreads over
/// the model's nodes. O(16 × (log racks + nodes per rack)) per decision.
#[derive(Debug, Default)]
pub struct Consolidate;

impl Placement for Consolidate {
    fn name(&self) -> &'static str {
        "consolidate"
    }

    fn prepare(&self, free: &mut FreeCapacity) {
        free.track_racks();
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        let d = req.demand;
        if !d.is_whole() {
            return BestFit.place(req, free, out);
        }
        // One node, by best fit, on the models whose nodes can hold the gang.
        let single = candidate_models(req, free)
            .filter(|&m| d.gpus <= free.max_node_gpus(m))
            .fold(0u64, |mask, m| mask | 1 << m.0);
        let one_node = PlacementRequest {
            demand: d,
            models: ModelMask(single),
        };
        if single != 0 && BestFit.place(&one_node, free, out) {
            return true;
        }
        for model in candidate_models(req, free).filter(|&m| d.gpus > free.max_node_gpus(m)) {
            let mut global = Vec::new();
            if !spread(free, model, d.gpus, &mut global) {
                continue;
            }
            for (_, nodes) in free.racks_with_whole(model, d.gpus).take(RACKS_TRIED) {
                if fill_rack(free, nodes, d.gpus, global.len(), out) {
                    return true;
                }
                out.clear();
            }
            out.extend_from_slice(&global);
            return true;
        }
        false
    }
}

/// Fills `gpus` from one rack's nodes, most free first (lowest id on ties), the last
/// node chosen as the tightest that holds the remainder; true if it takes at most
/// `max_nodes` nodes.
fn fill_rack(
    free: &FreeCapacity,
    nodes: &[NodeId],
    gpus: u32,
    max_nodes: usize,
    out: &mut Vec<GpuGrant>,
) -> bool {
    let mut order: Vec<(u32, NodeId)> = nodes
        .iter()
        .map(|&n| (free.node_free_whole(n), n))
        .filter(|&(f, _)| f > 0)
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = gpus;
    let mut used = vec![false; order.len()];
    for (i, &(f, n)) in order.iter().enumerate() {
        if f >= left {
            break;
        }
        out.push(GpuGrant {
            node: n,
            gpus: free.free_mask(n, f),
        });
        used[i] = true;
        left -= f;
    }
    if left > 0 {
        let tight = order
            .iter()
            .enumerate()
            .filter(|&(i, &(f, _))| !used[i] && f >= left)
            .min_by_key(|&(_, &(f, n))| (f, n));
        match tight {
            Some((_, &(_, n))) => out.push(GpuGrant {
                node: n,
                gpus: free.free_mask(n, left),
            }),
            None => return false,
        }
    }
    out.len() <= max_nodes
}
