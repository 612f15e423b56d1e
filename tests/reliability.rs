//! Failures, repairs and checkpoints through the engine (issue 15), against closed
//! forms and published figures.

mod common;

use dcsim::engine::RngStreams;
use dcsim::model::Model;
use dcsim::reliability::config::{CheckpointConfig, RepairDist};
use dcsim::reliability::{
    daly_expected_wall, daly_interval, Cause, CheckpointPolicy, ComponentKind, ReliabilityModel,
};
use dcsim::scheduler::registry;
use dcsim::sim::{RunOutput, SimConfig, Simulation};
use dcsim::topology::Cluster;
use dcsim::workload::Workload;

fn node_cause(per_node_day: f64, repair_h: f64) -> Cause {
    Cause {
        name: "node".into(),
        component: ComponentKind::Node,
        per_component_day: per_node_day,
        lifetime: dcsim::reliability::config::Lifetime::Exponential,
        shape: 1.0,
        repair_h,
        repair: RepairDist::Fixed,
    }
}

fn run(c: &Cluster, w: &Workload, causes: &[Cause], ckpt: CheckpointConfig, seed: u64) -> RunOutput {
    let model = ReliabilityModel::new(c, w, causes, None, ckpt, None, None, 0, &RngStreams::new(seed));
    Simulation::new(
        c,
        w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_models(vec![Box::new(model) as Box<dyn Model>])
    .run(&mut |_| {})
}

fn fixed(interval_min: f64, cost_s: f64, restart_s: f64) -> CheckpointConfig {
    CheckpointConfig {
        policy: CheckpointPolicy::Fixed,
        interval_min,
        cost_s,
        restart_s,
    }
}

/// One 8-GPU job of 50,000 h of work on one node failing at M = 6 h (4 per node-day),
/// repaired at once; δ = 5 min, R = 10 min (Daly 2006's case). Its simulated wall time
/// matches Daly's expected wall time M·e^{R/M}·(e^{(τ+δ)/M} − 1)·T_s/τ within 2% at
/// several intervals, and the best of the grid is Daly's optimum (57 min). The same seed
/// gives every interval the same failure times.
#[test]
fn wall_time_follows_daly_and_optimum_is_dalys_interval() {
    let c = common::cluster(&[("H100", 1, 8)]);
    let ts_h = 50_000.0;
    let w = common::workload(vec![common::job(0.0, ts_h * 3600.0, 8, 1000)]);
    let (m, d, r) = (360.0, 5.0, 10.0);
    let opt = daly_interval(d, m);
    let mut walls = Vec::new();
    for f in [0.5, 0.67, 1.0, 1.5, 2.0] {
        let tau = opt * f;
        let out = run(&c, &w, &[node_cause(4.0, 0.0)], fixed(tau, d * 60.0, r * 60.0), 1);
        let end = out.jobs[0].end.expect("the job finishes");
        let wall_min = end.as_secs_f64() / 60.0;
        let want = daly_expected_wall(ts_h * 60.0, tau, d, r, m);
        assert!(
            (wall_min / want - 1.0).abs() < 0.02,
            "τ = {tau:.1} min: {wall_min:.0} vs Daly {want:.0}"
        );
        walls.push(wall_min);
    }
    let best = walls
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(best, 2, "walls {walls:?}");
}
