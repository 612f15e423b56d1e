//! Placement policies, one file each, and the gang-spreading rule they share.

mod best_fit;
mod consolidate;
mod dot_product;
mod fgd;
mod first_fit;
mod frag;
mod gpu_clustering;
mod gpu_packing;
mod model_affinity;
mod pooled;
mod random;
mod topo_aware;
mod worst_fit;

pub use best_fit::BestFit;
pub use consolidate::Consolidate;
pub use dot_product::DotProduct;
pub use fgd::Fgd;
pub use first_fit::FirstFit;
pub use frag::TaskMix;
pub use gpu_clustering::GpuClustering;
pub use gpu_packing::GpuPacking;
pub use model_affinity::ModelAffinity;
pub use pooled::Pooled;
pub use random::RandomFit;
pub use topo_aware::{Locality, TopoAware};
pub use worst_fit::WorstFit;

use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::PlacementRequest;
use crate::topology::{GpuModelId, NodeId};
use crate::workload::HostDemand;

/// Places a whole-GPU gang across nodes of `model`, fewest nodes first: nodes with the
/// most free GPUs are taken whole until the remainder fits on one node, which is then
/// chosen by best fit. A node is taken only with the CPU and memory free for its part of
/// `host` ([`HostDemand::part`]); when no node can take the remainder with its part,
/// smaller nodes keep being taken whole. Without host demands this succeeds iff the
/// model has `gpus` fully free GPUs.
fn spread(
    free: &FreeCapacity,
    model: GpuModelId,
    gpus: u32,
    host: HostDemand,
    out: &mut Vec<GpuGrant>,
) -> bool {
    if free.free_whole(model) < u64::from(gpus) {
        return false;
    }
    let mut left = gpus;
    // The remainder that no single node could take, when last tried.
    let mut no_single = 0;
    for node in free.nodes_by_free_desc(model) {
        let avail = free.node_free_whole(node);
        if avail >= left {
            if no_single != left {
                if let Some(last) = tightest(free, model, left, host.part(left, gpus), out) {
                    out.push(GpuGrant {
                        node: last,
                        gpus: free.free_mask(last, left),
                    });
                    return true;
                }
                no_single = left;
            }
            continue;
        }
        if free.hosts(node, host.part(avail, gpus)) {
            out.push(GpuGrant {
                node,
                gpus: free.free_mask(node, avail),
            });
            left -= avail;
        }
    }
    out.clear();
    false
}

/// The node of `model` with the fewest fully free GPUs that still has `k`, room for
/// `part` and no grant in `taken` (lowest id on ties).
fn tightest(
    free: &FreeCapacity,
    model: GpuModelId,
    k: u32,
    part: HostDemand,
    taken: &[GpuGrant],
) -> Option<NodeId> {
    (k..=free.max_node_gpus(model)).find_map(|k| {
        free.nodes_with_free(model, k)
            .find(|&n| !taken.iter().any(|g| g.node == n) && free.hosts(n, part))
    })
}

/// [`spread`] over the allowed models whose nodes are all smaller than the gang, in
/// model-id order: the fallback of policies that place single-node jobs themselves.
fn spread_large(req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
    let d = req.demand;
    d.is_whole()
        && candidate_models(req, free)
            .filter(|&m| d.gpus > free.max_node_gpus(m))
            .any(|m| {
                if req.tp > 1 {
                    spread_tp(free, m, d.gpus, req.tp, req.host, out)
                } else {
                    spread(free, m, d.gpus, req.host, out)
                }
            })
}

/// Spreads `gpus` GPUs of `model` over nodes most free first, each node taking a multiple
/// of `tp` (its free GPUs rounded down), so no tensor-parallel group of `tp` GPUs spans
/// two nodes; false, with `out` cleared, when the rounded free GPUs do not cover the gang.
/// O(nodes of the model); only gangs with `tp > 1` take it.
fn spread_tp(
    free: &FreeCapacity,
    model: GpuModelId,
    gpus: u32,
    tp: u32,
    host: HostDemand,
    out: &mut Vec<GpuGrant>,
) -> bool {
    if free.free_whole(model) < u64::from(gpus) {
        return false;
    }
    let mut left = gpus;
    for node in free.nodes_by_free_desc(model) {
        if left == 0 {
            break;
        }
        let k = (free.node_free_whole(node) / tp * tp).min(left);
        if k > 0 && free.hosts(node, host.part(k, gpus)) {
            out.push(GpuGrant {
                node,
                gpus: free.free_mask(node, k),
            });
            left -= k;
        }
    }
    if left > 0 {
        out.clear();
    }
    left == 0
}

/// Models allowed by `req` that have GPUs, in model-id order.
fn candidate_models<'a>(
    req: &'a PlacementRequest,
    free: &'a FreeCapacity,
) -> impl Iterator<Item = GpuModelId> + 'a {
    free.models().filter(move |m| req.models.allows(m.0 as usize))
}

/// One way to place a single-node job: a node and the GPUs it would take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Choice {
    node: NodeId,
    gpus: u64,
}

/// Every single-node placement of `req` on `node` worth scoring, passed to `visit` with the
/// GPUs' free shares after it: none if the node lacks the CPU or memory; a whole gang
/// takes the node's first free GPUs (which whole GPUs does not change any score), a
/// sharing job tries each GPU with room, once per distinct free share. `after` is
/// scratch space. O(GPUs on the node).
fn each_choice(
    free: &FreeCapacity,
    node: NodeId,
    req: &PlacementRequest,
    after: &mut Vec<u16>,
    visit: &mut dyn FnMut(Choice, &[u16]),
) {
    let demand = req.demand;
    if !free.hosts(node, req.host) {
        return;
    }
    let now = free.node_gpu_free(node);
    if demand.is_whole() {
        if free.node_free_whole(node) < demand.gpus {
            return;
        }
        let gpus = free.free_mask(node, demand.gpus);
        after.clear();
        after.extend(
            now.iter()
                .enumerate()
                .map(|(i, &f)| if gpus >> i & 1 == 1 { 0 } else { f }),
        );
        visit(Choice { node, gpus }, after);
        return;
    }
    let m = demand.milli_per_gpu;
    for (i, &f) in now.iter().enumerate() {
        if u32::from(f) < m || now[..i].contains(&f) {
            continue;
        }
        after.clear();
        after.extend_from_slice(now);
        after[i] = f - m as u16;
        visit(Choice { node, gpus: 1 << i }, after);
    }
}

/// Scans every node of the allowed models for single-node placements and keeps the one
/// with the smallest `score` (ties: earlier model, then lower node id, then lower GPU).
/// Gangs larger than every allowed model's nodes spread over the fewest nodes instead.
/// O(nodes of the allowed models × GPUs per node × cost of `score`).
fn place_by_scan(
    req: &PlacementRequest,
    free: &FreeCapacity,
    out: &mut Vec<GpuGrant>,
    score: &mut dyn FnMut(&FreeCapacity, Choice, &[u16]) -> f64,
) -> bool {
    let d = req.demand;
    let mut best: Option<(f64, Choice)> = None;
    let mut after = Vec::with_capacity(8);
    for model in candidate_models(req, free) {
        if d.is_whole() && d.gpus > free.max_node_gpus(model) {
            continue;
        }
        for &node in free.pool_nodes(model) {
            each_choice(free, node, req, &mut after, &mut |c, a| {
                let s = score(free, c, a);
                if best.is_none_or(|(b, _)| s < b) {
                    best = Some((s, c));
                }
            });
        }
    }
    match best {
        Some((_, c)) => {
            out.push(GpuGrant {
                node: c.node,
                gpus: c.gpus,
            });
            true
        }
        None => spread_large(req, free, out),
    }
}
