//! Preemption through the `SchedContext` seam, with its checkpoint/restore cost worked
//! out by hand. The policy here is a minimal test double: highest priority first, and
//! a waiting job may evict a lower-priority running one.

mod common;

use dcsim::engine::SimTime;
use dcsim::scheduler::{registry, QueuePolicy, QueuedJob, SchedContext};
use dcsim::sim::{PreemptionCost, SimConfig, Simulation};

#[derive(Default)]
struct EvictLowerPriority {
    waiting: Vec<QueuedJob>,
}

impl QueuePolicy for EvictLowerPriority {
    fn name(&self) -> &'static str {
        "test-evict"
    }

    fn enqueue(&mut self, job: QueuedJob) {
        self.waiting.push(job);
        self.waiting
            .sort_by_key(|j| (std::cmp::Reverse(j.priority), j.submit, j.id));
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        while let Some(head) = self.waiting.first().copied() {
            if ctx.try_start(&head) {
                self.waiting.remove(0);
                continue;
            }
            let victim = ctx
                .running()
                .iter()
                .find(|r| r.job.priority < head.priority)
                .map(|r| r.job.id);
            match victim.and_then(|v| ctx.preempt(v)) {
                Some(evicted) => self.enqueue(evicted),
                None => break,
            }
        }
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }
}

/// One 4-GPU node. A: submit 0, 4 GPUs, 100 s, priority 0. B: submit 30 s, 4 GPUs, 10 s,
/// priority 1.
fn run(cost: PreemptionCost) -> dcsim::sim::RunOutput {
    let c = common::cluster(&[("A", 1, 4)]);
    let mut b = common::job(30.0, 10.0, 4, 1000);
    b.priority = 1;
    let w = common::workload(vec![common::job(0.0, 100.0, 4, 1000), b]);
    let config = SimConfig {
        preemption: cost,
        ..SimConfig::default()
    };
    Simulation::new(
        &c,
        &w,
        Box::new(EvictLowerPriority::default()),
        registry::placement("best-fit").unwrap(),
        config,
    )
    .run(&mut |_| {})
}

#[test]
fn a_free_checkpoint_loses_nothing() {
    // A runs 0–30 (30 s done), B runs 30–40, A resumes at 40 with 70 s left: ends at 110.
    let out = run(PreemptionCost::default());
    let (a, b) = (&out.jobs[0], &out.jobs[1]);
    assert_eq!(
        (b.start, b.end),
        (Some(SimTime::from_secs(30)), Some(SimTime::from_secs(40)))
    );
    assert_eq!(a.end, Some(SimTime::from_secs(110)));
    assert_eq!(
        (a.preemptions, a.lost_work, a.busy),
        (1, SimTime::ZERO, SimTime::from_secs(100))
    );
    assert_eq!(out.summary.preemptions, 1);
}

#[test]
fn periodic_checkpoints_lose_the_work_since_the_last_one_and_restores_hold_gpus() {
    // Checkpoints every 20 s of work, 5 s to restore. At t = 30 A has done 30 s; its last
    // checkpoint was at 20 s, so 10 s are lost: 80 s remain. B runs 30–40. A restarts at
    // 40 and spends 5 s restoring: 85 s, ending at 125. A held GPUs 30 + 85 = 115 s.
    let out = run(PreemptionCost {
        checkpoint_interval_s: 20.0,
        restore_s: 5.0,
    });
    let a = &out.jobs[0];
    assert_eq!(a.end, Some(SimTime::from_secs(125)));
    assert_eq!(a.lost_work, SimTime::from_secs(10));
    assert_eq!(a.busy, SimTime::from_secs(115));
    // Two segments for A (0–30, 40–125), one for B; GPU-time conserved in the series.
    assert_eq!(out.segments.len(), 3);
    assert_eq!(out.series.busy_integral(), 4_000 * (115_000 + 10_000));
    // Lost work: 10 s × 4 GPUs = 40 GPU-s.
    assert!((out.summary.lost_gpu_hours - 40.0 / 3600.0).abs() < 1e-12);
}
