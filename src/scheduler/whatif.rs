//! "What if these jobs stopped?": placement asked against the free capacity some running
//! jobs would release, so that a preemptive policy evicts them only when their release
//! provably lets the waiting job be placed (issue 10: evictions that freed nothing).
//!
//! The victims' GPU shares, CPU and memory are returned to the free-capacity index, the
//! placement policy is asked, and the index is put back exactly as it was (release and
//! allocation are inverse updates of the same per-GPU counters, buckets and node
//! fragmentation, and the index depends only on what is allocated, not on the order).
//! Only the victims' nodes are touched: O(victims' grants × GPUs per node) plus the
//! placement query itself, never a scan of the cluster.
//!
//! A policy weighing one waiting job asks about growing lists of victims (each list the
//! last one plus more, see `queue/victims.rs`). [`WhatIf`] keeps the victims of a failed
//! ask released, so the next ask releases only the victims it adds: each victim is
//! released and put back once per waiting job, not once per ask. The policy ends the
//! weighing with [`WhatIf::restore`] (through [`super::traits::SchedContext::end_preempting`]).

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

    fn on_any(&self, all: &[GpuGrant], chosen: &[GpuGrant]) -> bool {
        self.grants(all)
            .iter()
            .any(|g| chosen.iter().any(|o| o.node == g.node))
    }
}

/// The victims released from the free-capacity index for the asks about one waiting
/// job, kept released between asks that fail.
#[derive(Debug, Default)]
pub struct WhatIf {
    /// The victim list of the last ask, as the policy gave it.
    asked: Vec<JobId>,
    /// Those of them released now (the running ones), in release order.
    released: Vec<Held>,
}

impl WhatIf {
    /// Prepares an ask about `victims`: when the last ask's list is a prefix of it, its
    /// victims stay released and the number of leading entries of `victims` already
    /// handled is returned; otherwise everything released is put back and 0 is returned.
    /// The caller then passes each remaining running victim to [`WhatIf::release`].
    pub fn reuse(&mut self, victims: &[JobId], free: &mut FreeCapacity, all_grants: &[GpuGrant]) -> usize {
        if victims.starts_with(&self.asked) {
            let n = self.asked.len();
            self.asked.extend_from_slice(&victims[n..]);
            return n;
        }
        self.restore(free, all_grants);
        self.asked.extend_from_slice(victims);
        0
    }

    /// Releases `held`'s GPUs, CPU and memory from `free` for the coming ask.
    pub fn release(&mut self, held: Held, free: &mut FreeCapacity, all_grants: &[GpuGrant]) {
        free.release_job(held.grants(all_grants), &held.request);
        self.released.push(held);
    }

    /// Puts back everything released: `free` is as if no ask had been made.
    pub fn restore(&mut self, free: &mut FreeCapacity, all_grants: &[GpuGrant]) {
        for v in &self.released {
            free.allocate_job(v.grants(all_grants), &v.request);
        }
        self.released.clear();
        self.asked.clear();
    }

    /// Places `req` with every released victim stopped.
    ///
    /// On success `free` is restored, `out` holds grants that are valid once exactly the
    /// jobs put in `evict` stop: victims on none of the nodes the placement chose are
    /// spared when placement still succeeds without them, so no job is evicted for
    /// capacity the waiter would not use. On failure (`req` fits nowhere even with every
    /// victim gone) the victims stay released for the next ask, `evict` and `out` are
    /// empty.
    pub fn place(
        &mut self,
        placement: &mut dyn Placement,
        free: &mut FreeCapacity,
        all_grants: &[GpuGrant],
        req: &PlacementRequest,
        evict: &mut Vec<Held>,
        out: &mut Vec<GpuGrant>,
    ) -> bool {
        evict.clear();
        out.clear();
        if !placement.place(req, free, out) {
            out.clear();
            return false;
        }
        // Victims on a node the placement chose first (in release order), the rest after
        // (in the order this partition leaves them); the rest are spared if placement
        // succeeds without them.
        let victims = std::mem::take(&mut self.released);
        evict.extend_from_slice(&victims);
        let mut kept = 0;
        for i in 0..evict.len() {
            if evict[i].on_any(all_grants, out) {
                evict.swap(kept, i);
                kept += 1;
            }
        }
        if kept < evict.len() {
            for v in &evict[kept..] {
                free.allocate_job(v.grants(all_grants), &v.request);
            }
            out.clear();
            if placement.place(req, free, out) {
                evict.truncate(kept);
            } else {
                for v in &evict[kept..] {
                    free.release_job(v.grants(all_grants), &v.request);
                }
                out.clear();
                if !placement.place(req, free, out) {
                    // Every victim is released again: keep them for the next ask.
                    self.released = victims;
                    evict.clear();
                    out.clear();
                    return false;
                }
            }
        }
        for v in evict.iter() {
            free.allocate_job(v.grants(all_grants), &v.request);
        }
        self.released = victims;
        self.released.clear();
        self.asked.clear();
        // The last placement may have chosen other nodes than the first (a random or
        // stateful policy): a victim on none of the chosen nodes frees nothing the waiter
        // uses, and keeping it running leaves the chosen grants valid.
        evict.retain(|v| v.on_any(all_grants, out));
        true
    }
}
