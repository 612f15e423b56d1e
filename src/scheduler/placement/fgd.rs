use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{Placement, PlacementRequest};

use super::{place_by_scan, TaskMix};

/// Fragmentation gradient descent (Weng et al., "Beware of Fragmentation", USENIX ATC
/// 2023, §4): among every node and GPU that can host the task (its CPU and memory
/// included), the one whose placement increases that node's expected fragmentation
/// F_n(M) least (see [`TaskMix`] for F_n(M), which counts a node's idle GPUs as
/// fragmented for task types its free CPU or memory cannot host, so placing a
/// CPU-heavy task where it strands GPUs scores badly); ties go to the placement leaving the node with the least free share, then to
/// the lower node id and GPU index.
///
/// A CPU-only task (no GPU) is scored the same way, as in the paper's simulator (its
/// `FGDScore` subtracts the pod's CPU from the node and scores the fragmentation
/// increase): it takes no GPU share, but the CPU and memory it takes can leave the
/// node's idle GPUs without room for the target workload's tasks, which F_n counts. Where
/// it changes no task type's fit it scores 0, and the tie rule picks the node.
///
/// The target workload M is the mix the free-capacity index tracks: the simulator sets
/// it to the whole workload's task types (GPUs, share, allowed models), weighted by
/// count, and the inflation experiment to the pod list it samples from, as the paper
/// does. Without one, the policy uses the mix of the tasks it has been asked to place
/// so far (the current one included).
///
/// Cost: a scan of the allowed models' nodes, O(nodes × GPUs per node²) per decision
/// (a sharing task tries each GPU, and F_n costs O(GPUs)); see `benches/placement.rs`.
#[derive(Debug, Default)]
pub struct Fgd {
    seen: Option<TaskMix>,
}

impl Placement for Fgd {
    fn name(&self) -> &'static str {
        "fgd"
    }

    fn uses_task_mix(&self) -> bool {
        true
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        let mix = match free.task_mix() {
            Some(m) if !m.is_empty() => m,
            _ => {
                let models = free.models().map(|m| m.0 as usize + 1).max().unwrap_or(0);
                let seen = self.seen.get_or_insert_with(|| TaskMix::new(models));
                seen.add(req, 1.0);
                &*seen
            }
        };
        place_by_scan(req, free, out, &mut |free, c, after| {
            let model = free.node_model(c.node);
            let room = free.host_room(c.node);
            let delta = mix.node_frag_milli(model, after, room.minus(req.host))
                - mix.node_frag_milli(model, free.node_gpu_free(c.node), room);
            let left: u32 = after.iter().map(|&f| u32::from(f)).sum();
            // Fragmentation first; the free share left breaks ties (below 1e-3 milli).
            delta + f64::from(left) * 1e-9
        })
    }
}
