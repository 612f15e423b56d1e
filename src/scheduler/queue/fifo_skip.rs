use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use crate::scheduler::traits::{PlacementRequest, QueuePolicy, QueuedJob, SchedContext};

/// FIFO with first-fit skipping: jobs are offered in arrival order and a job that does
/// not fit is skipped, so smaller jobs behind it may start (no reservation, so a large
/// job can starve). The "greedy FIFO" of YARN-style and Kubernetes default queues.
///
/// Cost: waiting jobs are grouped into classes of identical placement request. Within a
/// pass capacity only shrinks, so once one job of a class fails every later job of that
/// class fails too; a pass therefore costs O((started + classes) · log classes), not a
/// scan of the queue.
#[derive(Debug, Default)]
pub struct FifoSkip {
    class_of: HashMap<PlacementRequest, usize>,
    classes: Vec<VecDeque<(u64, QueuedJob)>>,
    next_seq: u64,
    waiting: usize,
    heads: BinaryHeap<Reverse<(u64, usize)>>,
}

impl QueuePolicy for FifoSkip {
    fn name(&self) -> &'static str {
        "fifo-skip"
    }

    fn enqueue(&mut self, job: QueuedJob) {
        let n = self.classes.len();
        let c = *self.class_of.entry(job.request).or_insert(n);
        if c == n {
            self.classes.push(VecDeque::new());
        }
        self.classes[c].push_back((self.next_seq, job));
        self.next_seq += 1;
        self.waiting += 1;
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        self.heads.clear();
        for (c, q) in self.classes.iter().enumerate() {
            if let Some((seq, _)) = q.front() {
                self.heads.push(Reverse((*seq, c)));
            }
        }
        while let Some(Reverse((_, c))) = self.heads.pop() {
            let q = &mut self.classes[c];
            let Some((_, job)) = q.front() else { continue };
            if ctx.try_start(job) {
                q.pop_front();
                self.waiting -= 1;
                if let Some((seq, _)) = q.front() {
                    self.heads.push(Reverse((*seq, c)));
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.waiting
    }
}
