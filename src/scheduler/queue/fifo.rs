use std::collections::VecDeque;

use crate::scheduler::traits::{QueuePolicy, QueuedJob, SchedContext};

/// Strict first-in first-out: the head of the queue blocks everyone behind it.
///
/// The baseline of every scheduling study (e.g. the FIFO baseline of Tiresias, NSDI 2019).
#[derive(Debug, Default)]
pub struct Fifo {
    queue: VecDeque<QueuedJob>,
}

impl QueuePolicy for Fifo {
    fn name(&self) -> &'static str {
        "fifo"
    }

    fn enqueue(&mut self, job: QueuedJob) {
        self.queue.push_back(job);
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        while let Some(head) = self.queue.front() {
            if !ctx.try_start(head) {
                break;
            }
            self.queue.pop_front();
        }
    }

    fn len(&self) -> usize {
        self.queue.len()
    }
}
