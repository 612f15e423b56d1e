//! Building blocks shared by the ordered and preemptive queue policies: waiting jobs
//! grouped by request class and ordered by a policy key, pooled capacity counts per GPU
//! model, and victim selection for preemption.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use crate::scheduler::free::FreeCapacity;
use crate::scheduler::traits::{PlacementRequest, QueuedJob};
use crate::topology::GpuModelId;
use crate::workload::{GpuDemand, JobId, MILLI_PER_GPU};

/// Waiting jobs grouped into classes of identical placement request, each class ordered
/// by `(key, arrival sequence)`.
///
/// Within one scheduling pass free capacity only shrinks (until the policy preempts), so
/// once a class's best job fails to place every later job of that class fails too: a
/// sweep in key order costs O((started + classes) · log classes), as in fifo-skip, and
/// never rescans the queue.
#[derive(Debug)]
pub(crate) struct ClassQueue<K> {
    class_of: HashMap<PlacementRequest, usize>,
    classes: Vec<BTreeMap<(K, u64), QueuedJob>>,
    next_seq: u64,
    len: usize,
    heads: BinaryHeap<Reverse<(K, u64, usize)>>,
}

impl<K> Default for ClassQueue<K> {
    fn default() -> Self {
        ClassQueue {
            class_of: HashMap::new(),
            classes: Vec::new(),
            next_seq: 0,
            len: 0,
            heads: BinaryHeap::new(),
        }
    }
}

impl<K: Ord + Copy> ClassQueue<K> {
    /// Adds `job` under `key` (ties: arrival order).
    pub(crate) fn push(&mut self, key: K, job: QueuedJob) {
        let n = self.classes.len();
        let c = *self.class_of.entry(job.request).or_insert(n);
        if c == n {
            self.classes.push(BTreeMap::new());
        }
        self.classes[c].insert((key, self.next_seq), job);
        self.next_seq += 1;
        self.len += 1;
    }

    /// Jobs waiting.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The smallest key waiting, if any: O(classes).
    pub(crate) fn best_key(&self) -> Option<K> {
        self.classes
            .iter()
            .filter_map(|q| q.first_key_value().map(|(&(k, _), _)| k))
            .min()
    }

    /// Offers each class's best job to `offer` in key order; a job for which `offer`
    /// returns true has started and leaves the queue (its class's next job is offered
    /// in turn); on false its class is done for this sweep.
    pub(crate) fn sweep(&mut self, mut offer: impl FnMut(K, &QueuedJob) -> bool) {
        self.heads.clear();
        for (c, q) in self.classes.iter().enumerate() {
            if let Some((&(k, seq), _)) = q.first_key_value() {
                self.heads.push(Reverse((k, seq, c)));
            }
        }
        while let Some(Reverse((_, _, c))) = self.heads.pop() {
            let q = &mut self.classes[c];
            let Some((&(k, _), job)) = q.first_key_value() else {
                continue;
            };
            if offer(k, job) {
                q.pop_first();
                self.len -= 1;
                if let Some((&(k, seq), _)) = q.first_key_value() {
                    self.heads.push(Reverse((k, seq, c)));
                }
            }
        }
    }
}

/// Free capacity of `model` for a job of `demand`, pooled over the model's nodes, in
/// thousandths of a GPU: whole free GPUs for whole-GPU jobs, every free share otherwise.
pub(crate) fn free_for(free: &FreeCapacity, model: GpuModelId, demand: GpuDemand) -> u64 {
    if demand.is_whole() {
        free.free_whole(model) * u64::from(MILLI_PER_GPU)
    } else {
        free.free_milli(model)
    }
}

/// The models `req` may run on whose pool could ever hold it.
pub(crate) fn models_for<'a>(
    free: &'a FreeCapacity,
    req: &'a PlacementRequest,
) -> impl Iterator<Item = GpuModelId> + 'a {
    free.models().filter(move |m| {
        req.models.allows(m.0 as usize)
            && free.capacity(*m) * u64::from(MILLI_PER_GPU) >= req.demand.total_milli()
    })
}

/// Whether `req` fits on some allowed model by pooled counts (a cheap necessary check
/// before asking placement).
pub(crate) fn fits_pooled(free: &FreeCapacity, req: &PlacementRequest) -> bool {
    models_for(free, req).any(|m| free_for(free, m, req.demand) >= req.demand.total_milli())
}

/// A running job that a preemptive policy may evict, in the policy's preference order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Victim {
    /// The job.
    pub(crate) id: JobId,
    /// Its GPU model.
    pub(crate) model: GpuModelId,
    /// What it holds.
    pub(crate) demand: GpuDemand,
}

/// Chooses the fewest victims, taken in order from `candidates` on one GPU model, whose
/// eviction frees enough pooled capacity for `job`; writes their ids to `out` and
/// returns true, or false (and `out` empty) if no model gets there. Models that already
/// have room by pooled counts are not considered (the job failed placement there for
/// fragmentation, which evicting by count does not cure). For a whole-GPU job only
/// whole-GPU victims count, since evicting a share need not free a whole GPU. Ties
/// between models go to the lowest model id.
pub(crate) fn choose_victims(
    free: &FreeCapacity,
    job: &QueuedJob,
    candidates: &[Victim],
    out: &mut Vec<JobId>,
) -> bool {
    out.clear();
    let need = job.request.demand.total_milli();
    let whole = job.request.demand.is_whole();
    let mut best: Option<(usize, GpuModelId)> = None;
    for m in models_for(free, &job.request) {
        let avail = free_for(free, m, job.request.demand);
        if avail >= need {
            continue;
        }
        let mut freed = avail;
        let mut count = 0;
        for v in candidates {
            if v.model != m || (whole && !v.demand.is_whole()) {
                continue;
            }
            freed += v.demand.total_milli();
            count += 1;
            if freed >= need {
                if best.is_none_or(|(c, _)| count < c) {
                    best = Some((count, m));
                }
                break;
            }
        }
    }
    let Some((count, m)) = best else { return false };
    out.extend(
        candidates
            .iter()
            .filter(|v| v.model == m && (!whole || v.demand.is_whole()))
            .take(count)
            .map(|v| v.id),
    );
    true
}

/// How many eviction candidates a pass orders up front; the rest are sorted only if a
/// waiting job needs more victims than that.
pub(crate) const CANDIDATES_SORTED_FIRST: usize = 64;

/// Puts the `k` smallest of `v` by `key`, in order, at its front (the rest follow
/// unordered) and returns how many are ordered: O(n + k log k), not O(n log n).
pub(crate) fn sort_prefix<T, K: Ord>(v: &mut [T], k: usize, key: impl Fn(&T) -> K) -> usize {
    if k < v.len() {
        v.select_nth_unstable_by_key(k, &key);
    }
    let end = k.min(v.len());
    v[..end].sort_unstable_by_key(key);
    end
}
