//! Building blocks shared by the ordered and preemptive queue policies: waiting jobs
//! grouped by request class and ordered by a policy key, pooled capacity counts per GPU
//! model, and the running-job index preemptive policies choose victims from.

use std::collections::BTreeMap;

use super::classed::{self, Offer};
use super::victims::Candidate;
use crate::scheduler::free::FreeCapacity;
use crate::scheduler::traits::{PlacementRequest, QueuedJob, RunningJob, SchedContext};
use crate::topology::GpuModelId;
use crate::workload::{GpuDemand, JobId, MILLI_PER_GPU};

/// Waiting jobs grouped into classes of identical placement request, each class ordered
/// by `(key, arrival sequence)`: the shared [`classed::ClassQueue`] keyed by request,
/// with arrival order breaking key ties and a sweep that offers every class.
///
/// Within one scheduling pass free capacity only shrinks (until the policy preempts), so
/// once a class's best job fails to place every later job of that class fails too: a
/// sweep in key order costs O((started + classes) · log classes), as in fifo-skip, and
/// never rescans the queue.
#[derive(Debug)]
pub(crate) struct ClassQueue<K> {
    inner: classed::ClassQueue<PlacementRequest, (K, u64)>,
    next_seq: u64,
}

impl<K> Default for ClassQueue<K> {
    fn default() -> Self {
        ClassQueue {
            inner: classed::ClassQueue::default(),
            next_seq: 0,
        }
    }
}

impl<K: Ord + Copy> ClassQueue<K> {
    /// Adds `job` under `key` (ties: arrival order).
    pub(crate) fn push(&mut self, key: K, job: QueuedJob) {
        self.inner.push(job.request, (key, self.next_seq), job);
        self.next_seq += 1;
    }

    /// Jobs waiting.
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    /// The smallest key waiting, if any: O(classes).
    pub(crate) fn best_key(&self) -> Option<K> {
        self.inner.heads().map(|((k, _), _)| k).min()
    }

    /// Whether some class's best job is short of pooled capacity on a model it may use
    /// (only such a job can gain from evictions, see [`super::victims::Victims::evict_for`]): O(classes).
    pub(crate) fn any_head_short(&self, free: &FreeCapacity) -> bool {
        self.inner.heads().any(|(_, job)| {
            let need = job.request.demand.total_milli();
            models_for(free, &job.request).any(|m| free_for(free, m, job.request.demand) < need)
        })
    }

    /// Offers each class's best job to `offer` in key order; a job for which `offer`
    /// returns true has started and leaves the queue (its class's next job is offered
    /// in turn); on false its class is done for this sweep.
    pub(crate) fn sweep(&mut self, mut offer: impl FnMut(K, &QueuedJob) -> bool) {
        self.inner.new_pass();
        self.inner.pass(usize::MAX, |_, (k, _), job| {
            if offer(k, job) {
                Offer::STARTED
            } else {
                Offer::REFUSED
            }
        });
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

/// The running jobs a preemptive policy started, ordered by its eviction preference
/// `K` (most evictable first), kept up to date as it starts, evicts and sees jobs end,
/// so a pass never rescans or re-sorts the running set.
///
/// A job's key is fixed when it starts; a later rate change (not used by these
/// policies' scenarios so far) is not seen until the job's next start.
#[derive(Debug)]
pub(crate) struct RunningIndex<K> {
    /// In eviction order, each job's model and demand beside its key, so a walk reads
    /// the candidates in place (no look-up by job id per candidate).
    order: BTreeMap<(K, JobId), (GpuModelId, GpuDemand)>,
    /// Per job id: its key while indexed.
    info: Vec<Option<K>>,
}

impl<K> Default for RunningIndex<K> {
    fn default() -> Self {
        RunningIndex {
            order: BTreeMap::new(),
            info: Vec::new(),
        }
    }
}

impl<K: Ord + Copy> RunningIndex<K> {
    /// Indexes the job `ctx` just started (the last running job), under `key(job)`.
    pub(crate) fn started(&mut self, ctx: &dyn SchedContext, key: impl FnOnce(&RunningJob) -> K) {
        let Some(r) = ctx.running().last() else { return };
        let Some(model) = r.model else { return };
        let (id, k) = (r.job.id, key(r));
        let i = id.0 as usize;
        if i >= self.info.len() {
            self.info.resize(i + 1, None);
        }
        self.info[i] = Some(k);
        self.order.insert((k, id), (model, r.job.request.demand));
    }

    /// Drops a job that ended or was evicted.
    pub(crate) fn remove(&mut self, id: JobId) {
        if let Some(k) = self.info.get_mut(id.0 as usize).and_then(Option::take) {
            self.order.remove(&(k, id));
        }
    }

    /// The most evictable job's key.
    pub(crate) fn first(&self) -> Option<K> {
        self.order.first_key_value().map(|(&(k, _), _)| k)
    }

    /// The running jobs in eviction order while `eligible(key)` holds, less those for
    /// which `skip(key)` holds: the candidates [`super::victims::Victims::evict_for`] walks.
    pub(crate) fn candidates<'a>(
        &'a self,
        eligible: impl Fn(&K) -> bool + 'a,
        skip: impl Fn(&K) -> bool + 'a,
    ) -> impl Iterator<Item = Candidate> + 'a {
        self.order
            .iter()
            .take_while(move |((k, _), _)| eligible(k))
            .filter(move |((k, _), _)| !skip(k))
            .map(|(&(_, id), &(m, d))| (id, m, d))
    }
}
