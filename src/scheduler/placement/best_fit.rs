use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{Placement, PlacementRequest};
use crate::workload::MILLI_PER_GPU;

use super::{candidate_models, spread_large};

/// Best fit: the node left with the fewest free GPUs after placing the job (lowest id on
/// ties), over all allowed GPU models and the nodes with the CPU and memory it asks for. A sharing job takes the partially used GPU with
/// the least free share that fits, else a whole free GPU on the fullest node. A CPU-only
/// task (no GPU) takes the node with the fewest fully free GPUs that has its CPU and
/// memory, so it lands where no idle GPU is left to strand; the paper's simulator's
/// `BestFit` scores free CPU as well as free GPUs, for every task, which ours does not.
/// Gangs larger than any node spread over the fewest nodes.
#[derive(Debug, Default)]
pub struct BestFit;

impl Placement for BestFit {
    fn name(&self) -> &'static str {
        "best-fit"
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        let d = req.demand;
        // (leftover, grant): smallest leftover wins, earlier model on ties.
        let mut best: Option<(u32, GpuGrant)> = None;
        for model in candidate_models(req, free) {
            let candidate = if !d.is_whole() {
                if let Some((node, gpu, f)) = free.best_partial_gpu(model, d.milli_per_gpu, req.host) {
                    Some((u32::from(f) - d.milli_per_gpu, GpuGrant { node, gpus: 1 << gpu }))
                } else {
                    free.best_node_with_whole(model, 1, req.host).map(|node| {
                        let left = free.node_free_whole(node) * MILLI_PER_GPU - d.milli_per_gpu;
                        (
                            left,
                            GpuGrant {
                                node,
                                gpus: free.free_mask(node, 1),
                            },
                        )
                    })
                }
            } else if d.gpus > free.max_node_gpus(model) {
                None
            } else {
                free.best_node_with_whole(model, d.gpus, req.host).map(|node| {
                    let left = free.node_free_whole(node) - d.gpus;
                    (
                        left,
                        GpuGrant {
                            node,
                            gpus: free.free_mask(node, d.gpus),
                        },
                    )
                })
            };
            if let Some((left, grant)) = candidate {
                if best.is_none_or(|(l, _)| left < l) {
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
