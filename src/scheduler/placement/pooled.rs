use crate::scheduler::free::{FreeCapacity, GpuGrant};
use crate::scheduler::traits::{Placement, PlacementRequest};

use super::BestFit;
use super::{candidate_models, spread};

/// Pooled counting: a job fits whenever its GPU model has enough free GPUs anywhere,
/// node boundaries aside (best fit on one node when possible, else spread over the
/// fewest nodes; a CPU-only task by best fit). This is how several peer simulators count
/// GPUs, so results can be compared with theirs; it is also the M/M/c model of queueing
/// theory.
#[derive(Debug, Default)]
pub struct Pooled;

impl Placement for Pooled {
    fn name(&self) -> &'static str {
        "pooled"
    }

    fn place(&mut self, req: &PlacementRequest, free: &FreeCapacity, out: &mut Vec<GpuGrant>) -> bool {
        if BestFit.place(req, free, out) {
            return true;
        }
        if !req.demand.is_whole() {
            return false;
        }
        candidate_models(req, free).any(|model| spread(free, model, req.demand.gpus, req.host, out))
    }
}
