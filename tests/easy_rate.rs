//! Backfilling (EASY and conservative) keeps running jobs' expected ends current when
//! their rate changes (issue 10): a power-throttled job's end moves, and the head's
//! reservation with it.

mod common;

use std::path::Path;

use dcsim::engine::SimTime;
use dcsim::power::{self, Curve, PowerConfig, PowerMode};
use dcsim::rate::Factor;
use dcsim::scheduler::registry;
use dcsim::sim::{SimConfig, Simulation};
use dcsim::topology::config::TopologyPower;
use dcsim::workload::JobId;

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
/// node 1's 2 free GPUs and H waits for R1, until 200 s. Conservative backfilling reserves
/// H at 100 s and, on the stale profile, sees room for B beside it (4 GPUs free from
/// 100 s): the same delay.
#[test]
fn backfilling_follows_a_throttled_job_s_end() {
    for queue in ["easy", "conservative"] {
        run_case(queue);
    }
}

fn run_case(queue: &str) {
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
        registry::queue_policy(queue).unwrap(),
        registry::placement("best-fit").unwrap(),
        SimConfig::default(),
    )
    .with_model(Box::new(p))
    .run(&mut |_| {});
    let ends: Vec<_> = out.jobs.iter().map(|j| j.end).collect();
    assert_eq!(
        ends[0],
        Some(SimTime::from_secs(200)),
        "{queue}: R1 throttled to half speed"
    );
    assert_eq!(ends[1], Some(SimTime::from_secs(100)), "{queue}: R2 unthrottled");
    assert_eq!(
        out.jobs[2].start,
        Some(SimTime::from_secs(100)),
        "{queue}: the head starts at its shadow time"
    );
    assert!(
        out.jobs[3].start >= Some(SimTime::from_secs(100)),
        "{queue}: B did not backfill ahead of the head: {:?}",
        out.jobs[3].start
    );
}

/// A rate change after the head's reservation was made. One 8-GPU node: R1 (4 GPUs)
/// and R2 (2 GPUs), 100 s each, start at 0; the head H (4 GPUs) arrives at 1 s and is
/// reserved for 100 s (R2's 2 GPUs and the 2 free make 4). At 50 s R1 is throttled to
/// half speed: 50 s of work left take 100 s, so it ends at 150 s. B (2 GPUs, 1,000 s)
/// arrives at 60 s. With R1's end current, B would hold 2 of the 4 GPUs H needs at
/// 100 s, so it waits until R1 ends (150 s) and H starts at 100 s. With R1's end still
/// at 100 s, both policies see 8 GPUs free then, backfill B at 60 s, and H waits until
/// 150 s.
#[test]
fn backfilling_follows_a_rate_change_after_the_reservation() {
    for queue in ["easy", "conservative"] {
        let c = common::cluster(&[("A", 1, 8)]);
        let w = common::workload(vec![
            common::job(0.0, 100.0, 4, 1000),
            common::job(0.0, 100.0, 2, 1000),
            common::job(1.0, 100.0, 4, 1000),
            common::job(60.0, 1000.0, 2, 1000),
        ]);
        let mut sim = Simulation::new(
            &c,
            &w,
            registry::queue_policy(queue).unwrap(),
            registry::placement("best-fit").unwrap(),
            SimConfig::default(),
        );
        sim.schedule_factor_change(SimTime::from_secs(50), JobId(0), Factor::Power, 0.5);
        let out = sim.run(&mut |_| {});
        let starts: Vec<_> = out.jobs.iter().map(|j| j.start).collect();
        assert_eq!(out.jobs[0].end, Some(SimTime::from_secs(150)), "{queue}");
        assert_eq!(
            (starts[2], starts[3]),
            (Some(SimTime::from_secs(100)), Some(SimTime::from_secs(150))),
            "{queue}: H at its shadow time, B after R1"
        );
    }
}
