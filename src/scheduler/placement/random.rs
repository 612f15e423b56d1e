use rand::Rng;
use rand_chacha::ChaCha12Rng;

use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{Placement, PlacementRequest};
use crate::topology::{GpuModelId, NodeId};

use super::{candidate_models, spread_large};

/// Draws tried before enumerating the nodes that fit.
const TRIES: usize = 64;

/// Random fit: a node drawn uniformly among the nodes (of the allowed models) that hold
/// the job, its CPU and memory included, from the policy's seeded stream `policy.random.place`. A whole gang takes
/// the node's first free GPUs; a sharing job a GPU drawn uniformly among those with room.
/// A CPU-only task (no GPU) takes a node drawn among those with its CPU and memory, as in
/// the paper's simulator. Gangs larger than any node spread over the fewest nodes.
///
/// Cost: up to 64 uniform draws over the allowed models' nodes, each checked in O(GPUs
/// per node) — the expected number is nodes / fitting nodes; only when all miss are the
/// fitting nodes enumerated (from the free-GPU buckets for whole gangs, a scan of the
/// pools for sharing jobs), which happens when few nodes fit.
#[derive(Debug)]
pub struct RandomFit {
    rng: ChaCha12Rng,
}

impl RandomFit {
    /// A random-fit policy drawing from `rng`.
    pub fn new(rng: ChaCha12Rng) -> Self {
        RandomFit { rng }
    }
}

fn fits(free: &FreeCapacity, node: NodeId, req: &PlacementRequest) -> bool {
    let d = req.demand;
    if !free.hosts(node, req.host) {
        false
    } else if d.is_whole() {
        free.node_free_whole(node) >= d.gpus
    } else {
        free.node_gpu_free(node)
            .iter()
            .any(|&f| u32::from(f) >= d.milli_per_gpu)
    }
}

impl Placement for RandomFit {
    fn name(&self) -> &'static str {
        "random"
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        let d = req.demand;
        let models: Vec<GpuModelId> = candidate_models(req, free)
            .filter(|&m| !d.is_whole() || d.gpus <= free.max_node_gpus(m))
            .collect();
        let total: usize = models.iter().map(|&m| free.pool_nodes(m).len()).sum();
        let mut chosen = None;
        if total > 0 {
            for _ in 0..TRIES {
                let mut i = self.rng.gen_range(0..total);
                for &m in &models {
                    let nodes = free.pool_nodes(m);
                    if i < nodes.len() {
                        if fits(free, nodes[i], req) {
                            chosen = Some(nodes[i]);
                        }
                        break;
                    }
                    i -= nodes.len();
                }
                if chosen.is_some() {
                    break;
                }
            }
        }
        if chosen.is_none() {
            let mut fitting: Vec<NodeId> = Vec::new();
            for &m in &models {
                if d.is_whole() {
                    for k in d.gpus..=free.max_node_gpus(m) {
                        fitting.extend(free.nodes_with_free(m, k).filter(|&n| free.hosts(n, req.host)));
                    }
                } else {
                    fitting.extend(free.pool_nodes(m).iter().copied().filter(|&n| fits(free, n, req)));
                }
            }
            if !fitting.is_empty() {
                fitting.sort_unstable();
                chosen = Some(fitting[self.rng.gen_range(0..fitting.len())]);
            }
        }
        let Some(node) = chosen else {
            return spread_large(req, free, out);
        };
        let gpus = if d.is_whole() {
            free.free_mask(node, d.gpus)
        } else {
            let room: Vec<usize> = free
                .node_gpu_free(node)
                .iter()
                .enumerate()
                .filter(|&(_, &f)| u32::from(f) >= d.milli_per_gpu)
                .map(|(i, _)| i)
                .collect();
            1 << room[self.rng.gen_range(0..room.len())]
        };
        out.push(GpuGrant { node, gpus });
        true
    }
}
