//! Waiting jobs grouped by class, each class ordered by a policy key: the structure the
//! priority policies share so that a pass never rescans the queue (the idea of
//! [`super::FifoSkip`], generalised from arrival order to any key).
//!
//! A class is whatever makes "this job cannot start now" imply "no later job of the class
//! can start in this pass either": the placement request (capacity only shrinks within a
//! pass), or a (tenant, request) pair when a quota also decides. A pass pops class heads
//! in key order; a class whose head is refused is set aside for the rest of the pass,
//! unless the policy reports that it freed capacity (a preemption), which clears the
//! set-aside classes. Cost: O((offers + classes) · log classes) per pass.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::hash::Hash;

use crate::scheduler::traits::QueuedJob;

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
    heads: BinaryHeap<Reverse<(K, usize)>>,
    waiting: usize,
}

impl<C, K> Default for ClassQueue<C, K> {
    fn default() -> Self {
        ClassQueue {
            class_of: HashMap::new(),
            class_keys: Vec::new(),
            classes: Vec::new(),
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

    fn fill_heads(&mut self, refused: &HashSet<C>) {
        self.heads.clear();
        for (c, q) in self.classes.iter().enumerate() {
            if let Some((&k, _)) = q.first_key_value() {
                if !refused.contains(&self.class_keys[c]) {
                    self.heads.push(Reverse((k, c)));
                }
            }
        }
    }

    /// Offers heads in key order until `budget` jobs started or every class is refused;
    /// `refused` holds the classes set aside in this pass (shared between queues of one
    /// policy). Returns the number started.
    pub fn pass(
        &mut self,
        refused: &mut HashSet<C>,
        budget: usize,
        mut offer: impl FnMut(&QueuedJob) -> Offer,
    ) -> usize {
        let mut started = 0;
        self.fill_heads(refused);
        while started < budget {
            let Some(Reverse((key, c))) = self.heads.pop() else {
                break;
            };
            let class = self.class_keys[c];
            let q = &mut self.classes[c];
            match q.first_key_value() {
                Some((&k, _)) if k == key && !refused.contains(&class) => {}
                _ => continue, // stale head
            }
            let result = offer(&q[&key]);
            if result.started {
                q.remove(&key);
                self.waiting -= 1;
                started += 1;
            } else {
                refused.insert(class);
            }
            if result.freed {
                refused.clear();
                if !result.started {
                    refused.insert(class);
                }
                self.fill_heads(refused);
            } else if result.started {
                if let Some((&k, _)) = self.classes[c].first_key_value() {
                    self.heads.push(Reverse((k, c)));
                }
            }
        }
        started
    }
}
