//! The cluster's power caps reach inference services: a service's replicas draw power
//! in the tree beside the jobs, and under `priority` capping they keep it until training
//! beneath the binding cap is at its lowest cap. Worked by hand on the power state, then
//! measured on the mixed training-and-inference scenario.

mod common;

use std::path::{Path, PathBuf};

use dcsim::engine::SimTime;
use dcsim::power::{self, Capping, Curve, LoadChange, LoadFactor, PowerConfig, PowerMode};
use dcsim::scenario::Scenario;
use dcsim::scheduler::GpuGrant;
use dcsim::sim::{RunOutput, Simulation};
use dcsim::topology::config::TopologyPower;
use dcsim::topology::NodeId;

/// Two racks of one 8-GPU node each (test GPUs: 400 W TDP, 50 W idle), no base power,
/// linear curve, lowest cap 25% (100 W), α = 1; a training job at u = 1 on node 1 and a
/// service drawing half its idle-to-TDP range on node 0's 8 GPUs, under a feed cap.
///
/// Demand: training 8 × 400 = 3,200 W (fixed 8 × 100 = 800, throttleable 8 × 300 =
/// 2,400); service 8 × (50 + 0.5 × 350) = 8 × 225 = 1,800 W (fixed 800, throttleable
/// 8 × 125 = 1,000). Fixed in all: 1,600 W. Returns (training speed, service factor,
/// IT power).
fn settle(capping: Capping, feed_w: f64) -> (f64, LoadFactor, f64) {
    let c = common::cluster(&[("A", 1, 8), ("A", 1, 8)]);
    let mut topo = TopologyPower::uncapped(&c);
    topo.node_base_w.iter_mut().for_each(|b| *b = 0.0);
    topo.feed_w = feed_w;
    let mut cfg = PowerConfig {
        mode: PowerMode::Oversubscription,
        capping,
        curve: Curve::Linear,
        min_gpu_cap_share: 0.25,
        perf_exponent: 1.0,
        ..PowerConfig::default()
    };
    cfg.utilization.training = 1.0;
    let mut p = power::setup(&cfg, &c, &topo, 1, Path::new("."), 0).unwrap().unwrap();
    let link = p.link_loads();
    let job = common::job(0.0, 1000.0, 8, 1000);
    let t = SimTime::ZERO;
    p.start(t, 0, &[GpuGrant { node: NodeId(1), gpus: 0xff }], &job);
    link.push(LoadChange::Start {
        id: 0,
        node: NodeId(0),
        gpus: 8,
        share: 0.5,
    });
    p.apply_loads(t);
    let mut changes = Vec::new();
    p.settle(t, &mut changes);
    let mut jobs = Vec::new();
    p.route_changes(&changes, &mut jobs);
    let training = jobs.iter().find(|j| j.0 == 0).map_or(1.0, |j| j.1);
    (training, link.factor(0), p.it_w())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn priority_capping_throttles_training_before_a_service() {
    // Feed 4,000 W: 2,400 W throttleable budget. The service (highest class) keeps its
    // 1,000 W; training gets 1,400 of 2,400: x = 7/12, each GPU 100 + 300 × 7/12 = 275 W,
    // speed 275 / 400 = 0.6875.
    let (training, service, it) = settle(Capping::Priority, 4000.0);
    assert!(close(training, 0.6875), "{training}");
    assert_eq!(service, LoadFactor::FULL);
    assert!(close(it, 4000.0), "{it}");

    // Feed 2,000 W: 400 W throttleable. Training is at its floor (100 W per GPU, speed
    // 0.25) and the service keeps 400 of its 1,000 W: x = 0.4, each GPU 100 + 0.4 × 125 =
    // 150 W of its 225 W demand: speed 150 / 225 = 2/3, busy power (150 − 50) / (225 − 50)
    // = 4/7 of its own.
    let (training, service, it) = settle(Capping::Priority, 2000.0);
    assert!(close(training, 0.25), "{training}");
    assert!(close(service.rate, 2.0 / 3.0), "{service:?}");
    assert!(close(service.busy_scale, 4.0 / 7.0), "{service:?}");
    assert!(close(it, 2000.0), "{it}");

    // Proportional capping, feed 4,000 W: both keep 2,400 / 3,400 of their throttleable
    // power, so the service slows too: (100 + 125 × 12/17) / 225.
    let (training, service, _) = settle(Capping::Proportional, 4000.0);
    assert!(close(training, (100.0 + 300.0 * 12.0 / 17.0) / 400.0), "{training}");
    assert!(close(service.rate, (100.0 + 125.0 * 12.0 / 17.0) / 225.0), "{service:?}");

    // No cap: nothing is throttled, and the tree draws both in full.
    let (training, service, it) = settle(Capping::Priority, f64::INFINITY);
    assert_eq!((training, service), (1.0, LoadFactor::FULL));
    assert!(close(it, 5000.0), "{it}");
}
