//! Waiting jobs grouped by class, each class ordered by a policy key: the structure the
//! priority policies share so that a pass never rescans the queue (the idea of
//! [`super::FifoSkip`], generalised from arrival order to any key).
//!
//! A class is whatever makes "this job cannot start now" imply "no later job of the class
//! can start in this pass either": the placement request (capacity only shrinks within a
//! pass), or a (tenant, request) pair when a quota also decides. A pass pops class heads
//! in key order; a class whose head is refused is set aside for the rest of the pass,
//! unless the policy reports that it freed capacity (a preemption), which clears the
//! set-aside classes. Cost: O((offers + classes) · log classes) per pass, with no hashing
//! per offer: refusals are epoch stamps per class.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::Hash;

use crate::scheduler::traits::{PlacementRequest, QueuedJob, SchedContext};
use crate::workload::JobId;

/// What became of one offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Offer {
    /// The job started.
    pub started: bool,
    /// The policy preempted running jobs, so capacity may have grown.
    pub freed: bool,
}

impl Offer {
    /// Started without preempting.
    pub const STARTED: Offer = Offer {
        started: true,
        freed: false,
    };
    /// Refused without preempting.
    pub const REFUSED: Offer = Offer {
        started: false,
        freed: false,
    };
}

/// Waiting jobs of classes `C`, each class ordered by key `K` (keys unique per job).
#[derive(Debug)]
pub(crate) struct ClassQueue<C, K> {
    class_of: HashMap<C, usize>,
    class_keys: Vec<C>,
    classes: Vec<BTreeMap<K, QueuedJob>>,
    /// The pass epoch in which each class was last refused.
    refused_at: Vec<u64>,
    epoch: u64,
    heads: BinaryHeap<Reverse<(K, usize)>>,
    waiting: usize,
}

impl<C, K> Default for ClassQueue<C, K> {
    fn default() -> Self {
        ClassQueue {
            class_of: HashMap::new(),
            class_keys: Vec::new(),
            classes: Vec::new(),
            refused_at: Vec::new(),
            epoch: 1,
            heads: BinaryHeap::new(),
            waiting: 0,
        }
    }
}

impl<C: Hash + Eq + Copy, K: Ord + Copy> ClassQueue<C, K> {
    /// Jobs waiting.
    pub fn len(&self) -> usize {
        self.waiting
    }

    /// Adds `job` to `class` under `key`.
    pub fn push(&mut self, class: C, key: K, job: QueuedJob) {
        let n = self.classes.len();
        let c = *self.class_of.entry(class).or_insert(n);
        if c == n {
            self.classes.push(BTreeMap::new());
            self.class_keys.push(class);
            self.refused_at.push(0);
        }
        if self.classes[c].insert(key, job).is_none() {
            self.waiting += 1;
        }
    }

    /// Takes out the job of `class` under `key`, if it waits.
    pub fn remove(&mut self, class: &C, key: &K) -> Option<QueuedJob> {
        let c = *self.class_of.get(class)?;
        let job = self.classes[c].remove(key)?;
        self.waiting -= 1;
        Some(job)
    }

    /// Starts a scheduling pass: no class is refused any more.
    pub fn new_pass(&mut self) {
        self.epoch += 1;
    }

    fn fill_heads(&mut self) {
        self.heads.clear();
        for (c, q) in self.classes.iter().enumerate() {
            if self.refused_at[c] == self.epoch {
                continue;
            }
            if let Some((&k, _)) = q.first_key_value() {
                self.heads.push(Reverse((k, c)));
            }
        }
    }

    /// Each non-empty class's best job, with its key, in class order.
    pub fn heads(&self) -> impl Iterator<Item = (K, &QueuedJob)> + '_ {
        self.classes
            .iter()
            .filter_map(|q| q.first_key_value().map(|(&k, job)| (k, job)))
    }

    /// Offers heads in key order, with their class and key, until `budget` jobs started
    /// or every class is refused in this pass (see [`ClassQueue::new_pass`]). Returns the
    /// number started.
    pub fn pass(&mut self, budget: usize, mut offer: impl FnMut(C, K, &QueuedJob) -> Offer) -> usize {
        let mut started = 0;
        self.fill_heads();
        while started < budget {
            let Some(Reverse((key, c))) = self.heads.pop() else {
                break;
            };
            let q = &mut self.classes[c];
            match q.first_key_value() {
                Some((&k, _)) if k == key && self.refused_at[c] != self.epoch => {}
                _ => continue, // stale head
            }
            let result = offer(self.class_keys[c], key, &q[&key]);
            if result.freed {
                self.epoch += 1;
            }
            if result.started {
                q.remove(&key);
                self.waiting -= 1;
                started += 1;
            } else {
                self.refused_at[c] = self.epoch;
            }
            if result.freed {
                self.fill_heads();
            } else if result.started {
                if let Some((&k, _)) = self.classes[c].first_key_value() {
                    self.heads.push(Reverse((k, c)));
                }
            }
        }
        started
    }
}

/// Dense ids for placement requests and, per pass, the requests that found no room:
/// shared between the class queues of one policy (capacity only shrinks within a pass
/// until a preemption, which calls [`NoRoom::clear`]), without hashing per offer.
#[derive(Debug, Default)]
pub(crate) struct NoRoom {
    ids: HashMap<PlacementRequest, u32>,
    at: Vec<u64>,
    epoch: u64,
}

impl NoRoom {
    /// The dense id of `req`.
    pub fn id(&mut self, req: PlacementRequest) -> u32 {
        let n = self.ids.len() as u32;
        let id = *self.ids.entry(req).or_insert(n);
        if id == n {
            self.at.push(0);
        }
        id
    }

    /// Forgets every refusal (a new pass, or capacity was freed).
    pub fn clear(&mut self) {
        self.epoch += 1;
    }

    /// Tries to start `job` (request id `id`) unless its request found no room already.
    pub fn try_start(&mut self, id: u32, job: &QueuedJob, ctx: &mut dyn SchedContext) -> bool {
        let slot = &mut self.at[id as usize];
        if *slot == self.epoch + 1 {
            return false;
        }
        let started = ctx.try_start(job);
        if !started {
            *slot = self.epoch + 1;
        }
        started
    }
}

/// Per-job state indexed by the dense [`JobId`]: a map without hashing.
#[derive(Debug)]
pub(crate) struct JobSlots<T> {
    slots: Vec<Option<T>>,
    len: usize,
}

impl<T> Default for JobSlots<T> {
    fn default() -> Self {
        JobSlots {
            slots: Vec::new(),
            len: 0,
        }
    }
}

impl<T> JobSlots<T> {
    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Sets `id`'s entry.
    pub fn insert(&mut self, id: JobId, value: T) {
        let i = id.0 as usize;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        if self.slots[i].replace(value).is_none() {
            self.len += 1;
        }
    }

    /// Takes `id`'s entry out.
    pub fn remove(&mut self, id: JobId) -> Option<T> {
        let v = self.slots.get_mut(id.0 as usize)?.take();
        if v.is_some() {
            self.len -= 1;
        }
        v
    }

    /// `id`'s entry.
    pub fn get(&self, id: JobId) -> Option<&T> {
        self.slots.get(id.0 as usize)?.as_ref()
    }
}

impl<T: Copy> JobSlots<T> {
    /// Every entry, in job order.
    pub fn entries(&self) -> Vec<(JobId, T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (JobId(i as u32), v)))
            .collect()
    }
}
