//! Streamed synthetic workloads (issue 17): a run that generates its jobs as it reads
//! them and holds only those in flight must be the run of the same workload held whole.
//! The oracle is that run (`Scenario::prepare` + `Simulation::new`), whose figures the
//! rest of the suite checks; the two must agree exactly (summary, series figures, event
//! count, jobs the cluster cannot host).

use std::path::Path;

use dcsim::metrics::{OutputLevel, Recording};
use dcsim::scenario::Scenario;
use dcsim::sim::{RunOutput, Simulation};

/// A scenario read from `text`, as if it were a file in `scenarios/` (paths relative to it).
fn scenario(text: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/streamed-test.toml");
    Scenario::parse(text, &path).unwrap()
}

fn summary_only() -> Recording {
    Recording {
        level: OutputLevel::Summary,
        ..Recording::default()
    }
}

/// The run of the workload held whole, and its unrunnable counts.
fn whole(s: &Scenario) -> (RunOutput, Vec<(&'static str, u64)>) {
    let p = s.prepare(s.config.seed).unwrap();
    let sim = Simulation::new(&p.cluster, &p.workload, p.queue, p.placement, s.sim_config());
    let unrunnable = sim.unrunnable().into_iter().collect();
    (sim.with_recording(summary_only()).run(&mut |_| {}), unrunnable)
}

/// The run of the same workload generated as it is read.
fn streamed(s: &Scenario) -> (RunOutput, Vec<(&'static str, u64)>) {
    assert!(s.streams_jobs());
    let (p, jobs) = s.prepare_streamed(s.config.seed).unwrap();
    let sim = Simulation::streamed(
        &p.cluster,
        &p.workload,
        jobs.generator().unwrap(),
        p.queue,
        p.placement,
        s.sim_config(),
    )
    .unwrap();
    let unrunnable = sim.unrunnable().into_iter().collect();
    (sim.with_recording(summary_only()).run(&mut |_| {}), unrunnable)
}

fn assert_same_run(text: &str) {
    let s = scenario(text);
    let (a, ua) = whole(&s);
    let (b, ub) = streamed(&s);
    assert!(a.summary.jobs > 0 && a.events > 0);
    assert_eq!(a.summary, b.summary);
    assert_eq!(a.figures, b.figures);
    assert_eq!(a.events, b.events);
    assert_eq!(ua, ub);
}

/// GPU-sharing jobs resampled from the bundled openb trace (fractional shares, so
/// fragmentation is tracked from the task mix) on openb's cluster, FIFO with skipping.
#[test]
fn sharing_jobs_resampled_from_openb_run_alike() {
    assert_same_run(
        r#"name = "t"
seed = 3
[topology]
path = "../topologies/openb.toml"
[workload]
format = "synthetic"
[workload.synthetic]
jobs = 20000
arrival = { process = "poisson", offered_load = 1.1 }
gpus = { dist = "empirical" }
duration = { dist = "empirical" }
tenants = 3
[workload.empirical]
format = "openb"
path = "data/openb_pod_list_default.csv"
[scheduler]
queue = "fifo-skip"
placement = "fgd"
"#,
    );
}

/// Gangs too large for the cluster (skipped, counted by reason, outside the arrival
/// window), diurnal arrivals, uniform tenants, a preemptive policy (SRTF).
#[test]
fn skipped_jobs_and_preemption_run_alike() {
    let (run, unrunnable) = {
        let text = r#"name = "t"
seed = 11
[topology]
path = "../topologies/openb.toml"
[workload]
format = "synthetic"
[workload.synthetic]
jobs = 15000
arrival = { process = "diurnal", rate_per_hour = 8000.0, peak_to_trough = 3.0 }
gpus = { dist = "choice", values = [1, 2, 8, 100000], weights = [50, 30, 19, 1] }
duration = { dist = "lognormal", mu = 7.0, sigma = 1.5 }
tenants = 4
tenant_assignment = "uniform"
[scheduler]
queue = "srtf"
placement = "best-fit"
[scheduler.preemption]
checkpoint_interval_s = 600.0
restore_s = 30.0
"#;
        assert_same_run(text);
        streamed(&scenario(text))
    };
    assert!(
        run.summary.preemptions > 0,
        "the policy preempted: {}",
        run.summary.preemptions
    );
    assert_eq!(unrunnable.len(), 1, "{unrunnable:?}");
    assert!(unrunnable[0].1 > 50, "{unrunnable:?}");
}

/// What streams: a synthetic workload without transforms or whole-workload readers; a
/// transform makes the run hold the workload, and preparing it streamed is an error
/// naming the key.
#[test]
fn only_plain_synthetic_workloads_stream() {
    let base = r#"name = "t"
[topology]
path = "../topologies/openb.toml"
[workload]
format = "synthetic"
[workload.synthetic]
jobs = 10
arrival = { process = "poisson", rate_per_hour = 10.0 }
duration = { dist = "constant", value_s = 60.0 }
"#;
    assert!(scenario(base).streams_jobs());
    let tiled = scenario(&format!("{base}[workload.transform]\ntile = 2\n"));
    assert!(!tiled.streams_jobs());
    let e = tiled.prepare_streamed(0).err().expect("refused").to_string();
    assert!(e.contains("workload.synthetic"), "{e}");
    let replay = scenario(&format!("mode = \"as-recorded\"\n{base}"));
    assert!(!replay.streams_jobs());
}
