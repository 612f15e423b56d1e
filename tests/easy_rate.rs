//! EASY backfilling keeps running jobs' expected ends current when their rate changes
//! (issue 10): a power-throttled job's end moves, and the head's reservation with it.

mod common;

use std::path::Path;

use dcsim::engine::SimTime;
use dcsim::power::{self, Curve, PowerConfig, PowerMode};
use dcsim::scheduler::registry;
use dcsim::sim::{SimConfig, Simulation};
use dcsim::topology::config::TopologyPower;

/// Two 4-GPU nodes of one model (test GPUs: 400 W TDP, 50 W idle), each in its own rack,
/// no base power; rack 0 is capped at 800 W. Linear curve at u = 1, lowest cap 25%
/// (100 W), α = 1 (as `tests/power.rs`'s hand-worked case).
///
/// t = 0: R1 (4 GPUs, 100 s) takes node 0 (best fit, lowest id on a tie) and R2 (2 GPUs,
/// 100 s) node 1. R1 demands 1,600 W under the 800 W cap: fixed 4 × 100 W, throttleable
/// 4 × 300 W, budget 400 W → x = 1/3, each GPU at 200 W → rate (200/400)^1 = 0.5, so R1
/// ends at 200 s, not 100 s.
/// t = 1: the head H (4 GPUs, 100 s) waits. Its true shadow time is 100 s (R2 frees 2,
/// with node 1's 2 free: 4), with no extra GPUs. With R1's stale end (100 s) both end at
/// 100 s, the shadow is still 100 s but 4 extra GPUs seem free then.
/// t = 2: B (2 GPUs, 1,000 s) may backfill only on extra GPUs (it runs past 100 s):
/// with the true ends it waits and H starts at 100 s on node 1; with the stale end B takes
/// node 1's 2 free GPUs and H waits for R1, until 200 s.
#[test]
fn easy_follows_a_throttled_job_s_end() {
    let c = common::cluster(&[("A", 1, 4), ("A", 1, 4)]);
    let mut topo = TopologyPower::uncapped(&c);
    topo.node_base_w.iter_mut().for_each(|b| *b = 0.0);
    topo.rack_cap_w[0] = 800.0;
    let mut cfg = PowerConfig {
        mode: PowerMode::Oversubscription,
        curve: Curve::Linear,
        min_gpu_cap_share: 0.25,
        perf_exponent: 1.0,
        ..PowerConfig::default()
    };
    cfg.utilization.training = 1.0;
    let w = common::workload(vec![
        common::job(0.0, 100.0, 4, 1000),
        common::job(0.0, 100.0, 2, 1000),
        common::job(1.0, 100.0, 4, 1000),
        common::job(2.0, 1000.0, 2, 1000),
    ]);
    let p = power::setup(&cfg, &c, &topo, w.jobs.len(), Path::new("."), 0)
        .expect("valid power set-up")
        .expect("power on");
    let out = Simulation::new(
        &c,
        &w,
        registry::queue_policy("easy").unwrap(),
        registry::placement("best-fit").unwrap(),
        SimConfig::default(),
    )
    .with_power(p)
    .run(&mut |_| {});
    let ends: Vec<_> = out.jobs.iter().map(|j| j.end).collect();
    assert_eq!(
        ends[0],
        Some(SimTime::from_secs(200)),
        "R1 throttled to half speed"
    );
    assert_eq!(ends[1], Some(SimTime::from_secs(100)), "R2 unthrottled");
    assert_eq!(
        out.jobs[2].start,
        Some(SimTime::from_secs(100)),
        "the head starts at its shadow time"
    );
    assert!(
        out.jobs[3].start >= Some(SimTime::from_secs(100)),
        "B did not backfill ahead of the head: {:?}",
        out.jobs[3].start
    );
}
