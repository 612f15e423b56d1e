//! The rate mechanism (DESIGN.md "Running jobs advance at a rate"), checked by hand.

mod common;

use dcsim::engine::SimTime;
use dcsim::rate::Factor;
use dcsim::scheduler::registry;
use dcsim::sim::{SimConfig, Simulation};
use dcsim::workload::JobId;

fn run_with_rates(changes: &[(f64, f64)]) -> Vec<Option<SimTime>> {
    let cluster = common::cluster(&[("A100", 1, 8)]);
    let w = common::workload(vec![
        common::job(0.0, 100.0, 1, 1000),
        common::job(0.0, 100.0, 1, 1000),
    ]);
    let mut sim = Simulation::new(
        &cluster,
        &w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("best-fit").unwrap(),
        SimConfig::default(),
    );
    for &(at, rate) in changes {
        sim.schedule_factor_change(
            SimTime::try_from_secs_f64(at).expect("a time in range"),
            JobId(0),
            Factor::Power,
            rate,
        );
    }
    sim.run(&mut |_| {}).jobs.iter().map(|r| r.end).collect()
}

#[test]
fn halving_the_rate_mid_run_stretches_the_rest() {
    // 100 s of work; at t = 40 s, 60 s of work remain; at rate 0.5 they take 120 s,
    // so the job ends at 40 + 120 = 160 s. Job 1 is untouched and ends at 100 s.
    let ends = run_with_rates(&[(40.0, 0.5)]);
    assert_eq!(
        ends,
        vec![Some(SimTime::from_secs(160)), Some(SimTime::from_secs(100))]
    );
}

#[test]
fn successive_rate_changes_charge_each_interval_at_its_rate() {
    // 0–40 s at 1.0: 40 s done. 40–100 s at 0.5: 30 s done, 30 s left.
    // From 100 s at 2.0: 15 s more, so the end is 115 s.
    let ends = run_with_rates(&[(40.0, 0.5), (100.0, 2.0)]);
    assert_eq!(ends[0], Some(SimTime::from_secs(115)));
}

#[test]
fn a_rate_change_after_the_end_is_ignored() {
    let ends = run_with_rates(&[(150.0, 0.1)]);
    assert_eq!(ends[0], Some(SimTime::from_secs(100)));
}
