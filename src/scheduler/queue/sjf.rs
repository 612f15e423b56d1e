use crate::scheduler::params::{PolicyError, PolicyParams};
use crate::scheduler::traits::{QueuePolicy, QueuedJob, SchedContext};

use super::classes::ClassQueue;
use super::estimate::Estimator;

/// Shortest Job First, non-preemptive: among waiting jobs the one with the shortest
/// estimated run time is offered first; a job that does not fit is skipped, so shorter
/// jobs never wait behind a blocked one (and long jobs may starve, as in any SJF).
///
/// Source: the classic SJF discipline (e.g. Silberschatz et al., *Operating System
/// Concepts*), used as a duration-aware baseline for DL clusters by Tiresias
/// (Gu et al., NSDI 2019). Run times come from the trace as an oracle unless
/// `estimate = "noisy"` (the `estimate` parameter in docs/policies.md).
///
/// Cost: waiting jobs are grouped by identical placement request and ordered within a
/// class by estimated duration, so a pass costs O((started + classes) · log classes),
/// never a scan of the queue.
#[derive(Debug)]
pub struct Sjf {
    queue: ClassQueue<u64>,
    est: Estimator,
}

impl Sjf {
    /// An SJF queue with its estimate parameters read from `p`.
    pub fn from_params(p: &mut PolicyParams) -> Result<Self, PolicyError> {
        Ok(Sjf {
            queue: ClassQueue::default(),
            est: Estimator::from_params(p)?,
        })
    }
}

impl QueuePolicy for Sjf {
    fn name(&self) -> &'static str {
        "sjf"
    }

    fn enqueue(&mut self, job: QueuedJob) {
        let key = self.est.waiting(&job);
        self.queue.push(key, job);
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        self.queue.sweep(|_, job| ctx.try_start(job));
    }

    fn len(&self) -> usize {
        self.queue.len()
    }
}
