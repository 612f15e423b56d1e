//! "What if these jobs stopped?": placement asked against the free capacity some running
//! jobs would release, so that a preemptive policy evicts them only when their release
//! provably lets the waiting job be placed (issue 10: evictions that freed nothing).
//!
//! The victims' GPU shares, CPU and memory are returned to the free-capacity index, the
//! placement policy is asked, and the index is put back exactly as it was (release and
//! allocation are inverse updates of the same per-GPU counters, buckets and node
//! fragmentation). Only the victims' nodes are touched: O(victims' grants × GPUs per
//! node) plus the placement query itself, never a scan of the cluster.

use super::free::{FreeCapacity, GpuGrant};
use super::traits::{Placement, PlacementRequest};
use crate::workload::JobId;

/// A running job considered for eviction: where its grants lie in the run's grant list
/// and what it asked for (to release exactly what it holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// The job.
    pub id: JobId,
    /// Index of its first grant in the grant list.
    pub first_grant: u32,
    /// Its grants (one per node).
    pub grants: u32,
    /// Its request: share per GPU, CPU and memory.
    pub request: PlacementRequest,
}

impl Held {
    fn grants<'a>(&self, all: &'a [GpuGrant]) -> &'a [GpuGrant] {
        &all[self.first_grant as usize..(self.first_grant + self.grants) as usize]
    }
}

/// Places `req` as if the jobs in `victims` had stopped, with `free` restored on return.
///
/// On success `out` holds grants that are valid once exactly the jobs left in
/// `victims` stop: victims on none of the nodes the placement chose are spared (kept
/// out of `victims`) when placement still succeeds without them, so no job is evicted
/// for capacity the waiter would not use. On failure (`req` fits nowhere even with every
/// victim gone) `victims` is left as given and `out` is empty.
pub fn place_if_freed(
    placement: &mut dyn Placement,
    free: &mut FreeCapacity,
    all_grants: &[GpuGrant],
    req: &PlacementRequest,
    victims: &mut Vec<Held>,
    out: &mut Vec<GpuGrant>,
) -> bool {
    for v in victims.iter() {
        free.release_job(v.grants(all_grants), &v.request);
    }
    out.clear();
    let mut ok = placement.place(req, free, out);
    if ok {
        // Stable partition: victims on a node the placement chose first, the rest after.
        let mut kept = 0;
        for i in 0..victims.len() {
            let on_chosen = victims[i]
                .grants(all_grants)
                .iter()
                .any(|g| out.iter().any(|o| o.node == g.node));
            if on_chosen {
                victims.swap(kept, i);
                kept += 1;
            }
        }
        if kept < victims.len() {
            for v in &victims[kept..] {
                free.allocate_job(v.grants(all_grants), &v.request);
            }
            out.clear();
            if placement.place(req, free, out) {
                victims.truncate(kept);
            } else {
                for v in &victims[kept..] {
                    free.release_job(v.grants(all_grants), &v.request);
                }
                out.clear();
                ok = placement.place(req, free, out);
            }
        }
    }
    for v in victims.iter() {
        free.allocate_job(v.grants(all_grants), &v.request);
    }
    if ok {
        // The last placement may have chosen other nodes than the first (a random or
        // stateful policy): a victim on none of the chosen nodes frees nothing the waiter
        // uses, and keeping it running leaves the chosen grants valid.
        victims.retain(|v| {
            v.grants(all_grants)
                .iter()
                .any(|g| out.iter().any(|o| o.node == g.node))
        });
    } else {
        out.clear();
    }
    ok
}
