use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{ModelMask, Placement, PlacementRequest};
use crate::topology::NodeId;
use crate::workload::HostDemand;

use super::{candidate_models, spread, BestFit};

/// Racks tried for a gang larger than a node before falling back to spreading over the
/// whole model (bounds the cost of a decision).
const RACKS_TRIED: usize = 16;

/// Consolidate: fewest nodes, then fewest racks. A job that fits on one node goes there
/// by best fit (one node, one rack). A gang larger than any node takes the fewest nodes
/// the model allows (as `spread` counts them) inside one rack when a rack can do that:
/// racks with enough free GPUs are tried lowest-numbered first (up to 16, from the
/// per-rack free-GPU index), each filled most-free node first; otherwise it spreads over
/// the model's nodes. A CPU-only task (no GPU) goes by best fit.
/// O(16 × (log racks + nodes per rack)) per decision.
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
            tp: 1,
            demand: d,
            models: ModelMask(single),
            host: req.host,
        };
        if single != 0 && BestFit.place(&one_node, free, out) {
            return true;
        }
        for model in candidate_models(req, free).filter(|&m| d.gpus > free.max_node_gpus(m)) {
            let mut global = Vec::new();
            if !spread(free, model, d.gpus, req.host, &mut global) {
                continue;
            }
            for (_, nodes) in free.racks_with_whole(model, d.gpus).take(RACKS_TRIED) {
                if fill_rack(free, nodes, d.gpus, req.host, global.len(), out) {
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
/// node chosen as the tightest that holds the remainder, each node only with the CPU and
/// memory for its part of `host` (as [`spread`] does); true if it takes at most
/// `max_nodes` nodes.
fn fill_rack(
    free: &FreeCapacity,
    nodes: &[NodeId],
    gpus: u32,
    host: HostDemand,
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
    // The remainder that no single node could take, when last tried.
    let mut no_single = 0;
    for (i, &(f, n)) in order.iter().enumerate() {
        if f >= left {
            if no_single != left {
                let part = host.part(left, gpus);
                let tight = order
                    .iter()
                    .enumerate()
                    .filter(|&(j, &(g, m))| !used[j] && g >= left && free.hosts(m, part))
                    .min_by_key(|&(_, &(g, m))| (g, m));
                if let Some((_, &(_, m))) = tight {
                    out.push(GpuGrant {
                        node: m,
                        gpus: free.free_mask(m, left),
                    });
                    left = 0;
                    break;
                }
                no_single = left;
            }
            continue;
        }
        if !free.hosts(n, host.part(f, gpus)) {
            continue;
        }
        out.push(GpuGrant {
            node: n,
            gpus: free.free_mask(n, f),
        });
        used[i] = true;
        left -= f;
    }
    if left > 0 {
        return false;
    }
    out.len() <= max_nodes
}
