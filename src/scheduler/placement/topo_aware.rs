use crate::engine::SimTime;
use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::leaves::{LeafGroups, LeafIndex};
use crate::scheduler::traits::{ModelMask, Placement, PlacementRequest};
use crate::topology::fabric::Fabric;
use crate::topology::{GpuModelId, NodeId};
use crate::workload::HostDemand;

use super::{candidate_models, spread, spread_tp, BestFit};

/// Leaves tried, tightest first, for a gang that fits in one leaf before taking several
/// (bounds a decision's cost when CPU or memory rule nodes out).
const LEAVES_TRIED: usize = 16;

/// Topology-aware consolidation: fewest fabric leaves, then fewest pods (spine, then core
/// hops). A job that fits on one node goes there by best fit. A larger gang goes to the
/// tightest leaf that holds it (fewest free GPUs at or above the gang; up to 16 tried),
/// filled most-free node first; when no leaf holds it, to the pod whose leaves, taken
/// most free first, cover it with the fewest leaves, unless fewer leaves across pods do;
/// the last leaf is the tightest that holds the remainder. Leaves are the topology's
/// `[fabric]` leaves (ToRs, rail groups, the ASWs of a switch list), else its racks.
/// A CPU-only or GPU-sharing task goes by best fit; when CPU or memory rule out the
/// leaves' nodes, the gang spreads over the fewest nodes as `best-fit` does.
/// O(leaves spanned × log leaves + their nodes) per decision, from the per-leaf index.
#[derive(Debug, Default)]
pub struct TopoAware {
    groups: Option<LeafGroups>,
}

impl Placement for TopoAware {
    fn name(&self) -> &'static str {
        "topo-aware"
    }

    fn bind_fabric(&mut self, fabric: &Fabric) {
        self.groups = Some(LeafGroups::of_fabric(fabric));
    }

    fn prepare(&self, free: &mut FreeCapacity) {
        free.track_leaves(self.groups.clone());
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        place_topo(req, free, out)
    }
}

/// Locality with a timeout: as `topo-aware`, but a gang larger than a node waits, up to
/// `timeout_s`, for a consolidated placement (as few leaves as it could span on an idle
/// fabric), then takes the fewest leaves free. The relaxation Philly's scheduler makes
/// (Jeon et al., ATC 2019, §3.1) and Gandiva describes (Xiao et al., OSDI 2018): waiting
/// for locality trades queueing delay for faster jobs.
#[derive(Debug)]
pub struct Locality {
    inner: TopoAware,
    timeout: SimTime,
}

impl Locality {
    /// Holds gangs out for a consolidated placement up to `timeout` after their submission.
    pub fn new(timeout: SimTime) -> Self {
        Locality {
            inner: TopoAware::default(),
            timeout,
        }
    }
}

impl Placement for Locality {
    fn name(&self) -> &'static str {
        "locality"
    }

    fn bind_fabric(&mut self, fabric: &Fabric) {
        self.inner.bind_fabric(fabric);
    }

    fn prepare(&self, free: &mut FreeCapacity) {
        self.inner.prepare(free);
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        place_topo(req, free, out)
    }

    fn place_waited(
        &mut self,
        req: &PlacementRequest,
        waited: SimTime,
        free: &FreeCapacity,
        out: &mut Vec<GpuGrant>,
        retry: &mut Option<SimTime>,
    ) -> bool {
        if !place_topo(req, free, out) {
            return false;
        }
        if waited >= self.timeout || consolidated(req, free, out) {
            return true;
        }
        out.clear();
        *retry = Some(self.timeout.saturating_sub(waited));
        false
    }
}

/// Whether `grants` for `req` span no more leaves than the gang could on an idle fabric
/// (a placement on one node always does).
fn consolidated(req: &PlacementRequest, free: &FreeCapacity, grants: &[GpuGrant]) -> bool {
    let (Some(ix), Some(first)) = (free.leaves(), grants.first()) else {
        return true;
    };
    if grants.len() == 1 {
        return true;
    }
    let model = free.node_model(first.node);
    let mut leaves: Vec<u32> = grants.iter().map(|g| ix.leaf_of(g.node)).collect();
    leaves.sort_unstable();
    leaves.dedup();
    ix.fewest_leaves(model, req.demand.gpus)
        .is_none_or(|fewest| leaves.len() as u32 <= fewest)
}

/// The `topo-aware` rule (see [`TopoAware`]).
fn place_topo(req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
    let d = req.demand;
    let Some(ix) = free.leaves() else {
        return BestFit.place(req, free, out);
    };
    if !d.is_whole() || d.gpus == 0 {
        return BestFit.place(req, free, out);
    }
    let single = candidate_models(req, free)
        .filter(|&m| d.gpus <= free.max_node_gpus(m))
        .fold(0u64, |mask, m| mask | 1 << m.0);
    let one_node = PlacementRequest {
        models: ModelMask(single),
        ..*req
    };
    if single != 0 && BestFit.place(&one_node, free, out) {
        return true;
    }
    out.clear();
    for model in candidate_models(req, free).filter(|&m| d.gpus > free.max_node_gpus(m)) {
        if free.free_whole(model) < u64::from(d.gpus) {
            continue;
        }
        let tp = req.tp.max(1);
        if place_on_leaves(ix, free, model, d.gpus, tp, req.host, out) {
            return true;
        }
        out.clear();
        let spread_ok = if tp > 1 {
            spread_tp(free, model, d.gpus, tp, req.host, out)
        } else {
            spread(free, model, d.gpus, req.host, out)
        };
        if spread_ok {
            return true;
        }
    }
    false
}

/// Places `gpus` GPUs of `model` over the fewest leaves (then pods), every node taking a
/// multiple of `tp`; false, with `out` possibly partly filled, when CPU or memory (or the
/// rounding to `tp`) rule the chosen leaves' nodes out.
#[allow(clippy::too_many_arguments)]
fn place_on_leaves(
    ix: &LeafIndex,
    free: &FreeCapacity,
    model: GpuModelId,
    gpus: u32,
    tp: u32,
    host: HostDemand,
    out: &mut Vec<GpuGrant>,
) -> bool {
    // One leaf, tightest first.
    for (_, leaf) in ix.leaves_with(model, gpus).take(LEAVES_TRIED) {
        if fill_leaf(ix, free, model, leaf, gpus, gpus, tp, host, out) {
            return true;
        }
        out.clear();
    }
    // Several leaves: fewest across the whole fabric, and fewest within each pod.
    let global = leaves_to_cover(ix.leaves_desc(model), gpus);
    let mut best: Option<(u32, u32)> = None; // (leaves, pod)
    for pod in 0..ix.pods() {
        if ix.pod_free(model, pod) < u64::from(gpus) {
            continue;
        }
        if let Some(k) = leaves_to_cover(ix.pod_leaves_desc(model, pod), gpus) {
            if best.is_none_or(|(b, _)| k < b) {
                best = Some((k, pod));
            }
        }
    }
    let Some(global) = global else {
        return false;
    };
    match best {
        Some((k, pod)) if k <= global => take_leaves(
            ix,
            free,
            model,
            (gpus, tp),
            host,
            ix.pod_leaves_desc(model, pod),
            |rem| ix.pod_leaves_with(model, pod, rem).map(|(_, l)| l).collect(),
            out,
        ),
        _ => take_leaves(
            ix,
            free,
            model,
            (gpus, tp),
            host,
            ix.leaves_desc(model),
            |rem| ix.leaves_with(model, rem).map(|(_, l)| l).collect(),
            out,
        ),
    }
}

/// How many leaves, taken in the order given (most free first), cover `gpus`.
fn leaves_to_cover(leaves: impl Iterator<Item = (u32, u32)>, gpus: u32) -> Option<u32> {
    let mut left = gpus;
    for (i, (f, _)) in leaves.enumerate() {
        if f >= left {
            return Some(i as u32 + 1);
        }
        left -= f;
    }
    None
}

/// Takes leaves most free first, whole, until the remainder fits on one leaf, then the
/// tightest leaf (from `holding(remainder)`, tightest first) not yet taken for it. With
/// `tp > 1` (of `(gpus, tp)`) a leaf's share is its nodes' free GPUs each rounded down to
/// a multiple of `tp`, and the remainder tries up to [`LEAVES_TRIED`] holding leaves.
#[allow(clippy::too_many_arguments)]
fn take_leaves(
    ix: &LeafIndex,
    free: &FreeCapacity,
    model: GpuModelId,
    (gpus, tp): (u32, u32),
    host: HostDemand,
    desc: impl Iterator<Item = (u32, u32)>,
    holding: impl Fn(u32) -> Vec<u32>,
    out: &mut Vec<GpuGrant>,
) -> bool {
    let mut left = gpus;
    let mut taken: Vec<u32> = Vec::new();
    for (f, leaf) in desc {
        let f = if tp > 1 {
            usable(ix, free, model, leaf, tp)
        } else {
            f
        };
        if f >= left {
            break;
        }
        if f == 0 {
            continue;
        }
        if !fill_leaf(ix, free, model, leaf, f, gpus, tp, host, out) {
            return false;
        }
        taken.push(leaf);
        left -= f;
    }
    let tries = if tp > 1 { LEAVES_TRIED } else { 1 };
    let kept = out.len();
    for last in holding(left)
        .into_iter()
        .filter(|l| !taken.contains(l))
        .take(tries)
    {
        if fill_leaf(ix, free, model, last, left, gpus, tp, host, out) {
            return true;
        }
        out.truncate(kept);
    }
    false
}

/// GPUs of `model` that `leaf` can give a gang of tensor-parallel degree `tp`: each
/// node's free GPUs rounded down to a multiple of `tp`.
fn usable(ix: &LeafIndex, free: &FreeCapacity, model: GpuModelId, leaf: u32, tp: u32) -> u32 {
    ix.leaf_nodes(model, leaf)
        .iter()
        .map(|&n| free.node_free_whole(n) / tp * tp)
        .sum()
}

/// Grants `k` GPUs of `model` on `leaf`'s nodes, most free first (lowest id on ties), the
/// last node the tightest that holds the remainder, each only with the CPU and memory
/// for its part of `host` (of a gang of `gpus`) and each a multiple of `tp` (a node's
/// free GPUs count rounded down to one); false if the leaf cannot.
#[allow(clippy::too_many_arguments)]
fn fill_leaf(
    ix: &LeafIndex,
    free: &FreeCapacity,
    model: GpuModelId,
    leaf: u32,
    k: u32,
    gpus: u32,
    tp: u32,
    host: HostDemand,
    out: &mut Vec<GpuGrant>,
) -> bool {
    let mut order: Vec<(u32, u32)> = ix
        .leaf_nodes(model, leaf)
        .iter()
        .map(|&n| (free.node_free_whole(n) / tp * tp, n.0))
        .filter(|&(f, _)| f > 0)
        .collect();
    order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut used = vec![false; order.len()];
    let mut left = k;
    for i in 0..order.len() {
        if left == 0 {
            break;
        }
        let (f, n) = order[i];
        if f >= left {
            // The tightest node still unused that holds the remainder with its part.
            let part = host.part(left, gpus);
            let tight = (0..order.len())
                .filter(|&j| !used[j] && order[j].0 >= left)
                .filter(|&j| free.hosts(NodeId(order[j].1), part))
                .min_by_key(|&j| (order[j].0, order[j].1));
            if let Some(j) = tight {
                let node = NodeId(order[j].1);
                out.push(GpuGrant {
                    node,
                    gpus: free.free_mask(node, left),
                });
                return true;
            }
            continue;
        }
        let node = NodeId(n);
        if free.hosts(node, host.part(f, gpus)) {
            out.push(GpuGrant {
                node,
                gpus: free.free_mask(node, f),
            });
            used[i] = true;
            left -= f;
        }
    }
    left == 0
}
