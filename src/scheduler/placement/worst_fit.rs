use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{Placement, PlacementRequest};
use crate::workload::MILLI_PER_GPU;

use super::{candidate_models, spread_large};

/// Worst fit (spread): the node left with the most free GPUs after placing the job
/// (lowest id on ties, earlier model on ties across models), among the nodes with the
/// CPU and memory it asks for. A sharing job takes a fully
/// free GPU on the node with the most of them, else the partially used GPU with the
/// most free share. A CPU-only task (no GPU) goes to the node with the most fully free
/// GPUs (nodes without one included), close to the paper's simulator's `WorstFit`,
/// which scores free CPU + 100 × free GPU. Gangs larger than any node spread over the
/// fewest nodes.
/// O(GPU-count buckets) per decision without CPU or memory demands: the most-free node
/// is the first of the highest non-empty bucket.
#[derive(Debug, Default)]
pub struct WorstFit;

impl Placement for WorstFit {
    fn name(&self) -> &'static str {
        "worst-fit"
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        let d = req.demand;
        // (leftover, grant): largest leftover wins, earlier model on ties.
        let mut best: Option<(u32, GpuGrant)> = None;
        for model in candidate_models(req, free) {
            if d.is_whole() && d.gpus > free.max_node_gpus(model) {
                continue;
            }
            let need = if d.is_whole() { d.gpus } else { 1 };
            let none_free = (need == 0).then(|| free.nodes_with_free(model, 0));
            let most_free = free
                .nodes_by_free_desc(model)
                .chain(none_free.into_iter().flatten())
                .find(|&n| free.hosts(n, req.host));
            let candidate = match most_free {
                Some(node) if free.node_free_whole(node) >= need => {
                    let whole = free.node_free_whole(node);
                    let left = if d.is_whole() {
                        (whole - d.gpus) * MILLI_PER_GPU
                    } else {
                        whole * MILLI_PER_GPU - d.milli_per_gpu
                    };
                    Some((
                        left,
                        GpuGrant {
                            node,
                            gpus: free.free_mask(node, need),
                        },
                    ))
                }
                _ if !d.is_whole() => free
                    .largest_partial_gpu(model, req.host)
                    .filter(|&(_, _, f)| u32::from(f) >= d.milli_per_gpu)
                    .map(|(node, gpu, f)| {
                        (u32::from(f) - d.milli_per_gpu, GpuGrant { node, gpus: 1 << gpu })
                    }),
                _ => None,
            };
            if let Some((left, grant)) = candidate {
                if best.is_none_or(|(l, _)| left > l) {
                    best = Some((left, grant));
                }
            }
        }
        match best {
            Some((_, grant)) => {
                out.push(grant);
                true
            }
            None => spread_large(req, free, out),
        }
    }
}
