//! Pipeline-parallel traffic: point-to-point transfers between consecutive stages.
//!
//! Megatron-LM sends, per micro-batch, each data-parallel replica's activations of size
//! `b·s·h` (micro-batch × sequence × hidden) from one stage to the next and the same
//! size of gradients back (Narayanan et al., "Efficient Large-Scale Language Model
//! Training on GPU Clusters Using Megatron-LM", SC'21, §3.2 / §4.1; with the
//! scatter-gather optimisation each of the `t` tensor-parallel ranks sends `b·s·h/t`).
//! Over one iteration the micro-batches of all replicas add up to the global batch
//! `B`, so each stage boundary carries `B·s·h` values, two bytes each in 16-bit
//! training, in each direction: the profile's `activation_bytes`
//! ([`super::profile::CommProfile`]). GPU `k` of a stage talks to GPU `k` of the next
//! (the same tensor and data-parallel rank), so a boundary's bytes split evenly over
//! the stage's GPUs.

use crate::topology::fabric::{Fabric, FabricLayout};
use crate::topology::graph::Port;

use super::contention::{merge, rails_of, RingNode};

/// The port GPU `gpu` of node `node` sends from: the node's aggregate port on a
/// leaf-spine fabric, the GPU's rail on a rail-optimized one.
fn port_of(f: &Fabric, node: u32, gpu: u32) -> Port {
    let ports = f.graph.ports(node);
    if f.layout == FabricLayout::RailOptimized {
        let rail = rails_of(f, node, 1u64 << gpu).trailing_zeros() as usize;
        ports[rail.min(ports.len() - 1)]
    } else {
        ports[0]
    }
}

/// The links the point-to-point phase of a job split into `stages` (each in ring order)
/// crosses, as (link, usage per unit of the job's bus bandwidth), sorted by link, and
/// the most GPUs one sending NVLink domain holds. Each GPU pair whose ends lie in
/// different domains sends forward (activations) and backward (gradients) at the
/// sender domain's rate over its GPUs; pairs inside one domain use NVLink, no link.
pub(super) fn p2p_links(f: &Fabric, stages: &[Vec<RingNode>]) -> (Vec<(u32, f64)>, u32) {
    // Job GPUs per domain, sorted by domain.
    let mut domain_gpus: Vec<(u32, u32)> = stages.iter().flatten().map(|d| (d.2, d.4.count_ones())).collect();
    domain_gpus.sort_unstable();
    domain_gpus.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
    let gpus_of = |domain: u32| {
        domain_gpus
            .binary_search_by_key(&domain, |d| d.0)
            .map_or(1, |i| domain_gpus[i].1.max(1))
    };
    let gpus = |stage: &[RingNode]| -> Vec<(u32, u32, u32)> {
        let mut out = Vec::new();
        for &(_, _, domain, node, mask) in stage {
            let mut m = mask;
            while m != 0 {
                out.push((domain, node, m.trailing_zeros()));
                m &= m - 1;
            }
        }
        out
    };
    let mut links = Vec::new();
    let mut gmax = 0;
    for pair in stages.windows(2) {
        let (a, b) = (gpus(&pair[0]), gpus(&pair[1]));
        for (&(da, na, ga), &(db, nb, gb)) in a.iter().zip(&b) {
            if da == db {
                continue;
            }
            let (pa, pb) = (port_of(f, na, ga), port_of(f, nb, gb));
            let (wa, wb) = (gpus_of(da), gpus_of(db));
            f.graph.route_up(pa, pb, 1.0 / f64::from(wa), &mut links);
            f.graph.route_up(pb, pa, 1.0 / f64::from(wb), &mut links);
            gmax = gmax.max(wa).max(wb);
        }
    }
    merge(&mut links);
    (links, gmax)
}
