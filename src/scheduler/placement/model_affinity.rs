use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{ModelMask, Placement, PlacementRequest};

use super::BestFit;

/// Model affinity, for heterogeneous clusters: tries the job's allowed GPU models
/// cheapest first — by relative speed, then TDP, then model id
/// ([`FreeCapacity::models_by_cost`]) — and places the job by best fit on the first model
/// that holds it, so scarce fast GPUs stay free for the jobs that can only use them. A
/// CPU-only task (no GPU) goes the same way, by best fit on the cheapest model's nodes.
/// The cost is best fit's, once per model tried.
#[derive(Debug, Default)]
pub struct ModelAffinity;

impl Placement for ModelAffinity {
    fn name(&self) -> &'static str {
        "model-affinity"
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        free.models_by_cost()
            .iter()
            .filter(|m| req.models.allows(m.0 as usize) && free.capacity(**m) > 0)
            .any(|m| {
                let one = PlacementRequest {
                    tp: 1,
                    demand: req.demand,
                    models: ModelMask(1 << m.0),
                    host: req.host,
                };
                BestFit.place(&one, free, out)
            })
    }
}
