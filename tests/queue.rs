//! Queue policies on tiny workloads whose schedule is worked out by hand.

mod common;

use dcsim::engine::SimTime;
use dcsim::scheduler::registry;
use dcsim::sim::{SimConfig, Simulation};

/// One 4-GPU node. Jobs (submit s, duration s, GPUs): a (0, 10, 3), b (1, 10, 4), c (2, 5, 1).
fn starts(queue: &str) -> Vec<SimTime> {
    let c = common::cluster(&[("A", 1, 4)]);
    let w = common::workload(vec![
        common::job(0.0, 10.0, 3, 1000),
        common::job(1.0, 10.0, 4, 1000),
        common::job(2.0, 5.0, 1, 1000),
    ]);
    let sim = Simulation::new(
        &c,
        &w,
        registry::queue_policy(queue).unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    );
    sim.run(&mut |_| {})
        .jobs
        .iter()
        .map(|r| r.start.unwrap())
        .collect()
}

#[test]
fn strict_fifo_blocks_behind_the_head() {
    // a runs 0–10. b needs all 4 GPUs: waits until 10, runs 10–20. c (1 GPU) fits at
    // t = 2 on the free GPU, but strict FIFO keeps it behind b: it starts at 20.
    assert_eq!(
        starts("fifo"),
        vec![
            SimTime::from_secs(0),
            SimTime::from_secs(10),
            SimTime::from_secs(20)
        ]
    );
}

#[test]
fn fifo_skip_lets_small_jobs_pass() {
    // c skips past b and starts at t = 2 on the free GPU, ends at 7; b still starts at 10.
    assert_eq!(
        starts("fifo-skip"),
        vec![
            SimTime::from_secs(0),
            SimTime::from_secs(10),
            SimTime::from_secs(2)
        ]
    );
}

#[test]
fn jobs_too_large_for_the_cluster_are_skipped_not_lost() {
    let c = common::cluster(&[("A", 2, 4)]);
    let w = common::workload(vec![
        common::job(0.0, 10.0, 9, 1000),
        common::job(0.0, 10.0, 8, 1000),
    ]);
    let sim = Simulation::new(
        &c,
        &w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("best-fit").unwrap(),
        SimConfig::default(),
    );
    let out = sim.run(&mut |_| {});
    assert_eq!(out.jobs[0].skip_reason, Some("larger_than_cluster"));
    assert_eq!(out.jobs[1].start, Some(SimTime::ZERO));
    assert_eq!(out.summary.jobs_skipped.get("larger_than_cluster"), Some(&1));
    assert_eq!(out.summary.completed, 1);
}
