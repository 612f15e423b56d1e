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

/// Gangs too large for the cluster (skipped), diurnal arrivals, uniform tenants, SRTF
/// with preemption.
const SKIPS_AND_PREEMPTION: &str = r#"name = "t"
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

/// Gangs too large for the cluster (skipped, counted by reason, outside the arrival
/// window), diurnal arrivals, uniform tenants, a preemptive policy (SRTF).
#[test]
fn skipped_jobs_and_preemption_run_alike() {
    let (run, unrunnable) = {
        assert_same_run(SKIPS_AND_PREEMPTION);
        streamed(&scenario(SKIPS_AND_PREEMPTION))
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

/// A run's `jobs.csv` and `timeseries.csv` written as it goes (`run_into` with
/// `StreamedTables`, change points handed over in blocks) are byte for byte the tables
/// written afterwards from the kept records and rows (`write_jobs`, `write_series`), for
/// the workload held whole and generated as it is read. The scenario has skipped jobs
/// (the `skip_reason` column, decided before the run) and preemptions under SRTF, so
/// long jobs hold back the retirement of later ones; its series is several blocks long.
#[test]
fn tables_streamed_during_the_run_equal_the_tables_written_after_it() {
    use dcsim::report::{write_jobs, write_series, RunInfo, StreamedTables};
    use dcsim::topology::GpuModelId;

    let s = scenario(SKIPS_AND_PREEMPTION);
    let full = Recording {
        level: OutputLevel::Full,
        keep_segments: false,
        ..Recording::default()
    };
    let p = s.prepare(s.config.seed).unwrap();
    let info = RunInfo {
        scenario: "t".into(),
        seed: 11,
        mode: "queue".into(),
        queue_policy: "srtf".into(),
        placement: "best-fit".into(),
        description: String::new(),
        topology: p.cluster.name.clone(),
        workload: "synthetic".into(),
        gpu_models: p.cluster.models.iter().map(|m| m.name.clone()).collect(),
        gpu_model_counts: (0..p.cluster.models.len())
            .map(|i| p.cluster.gpus_of(GpuModelId(i as u16)))
            .collect(),
        dcsim_version: String::new(),
    };
    let sim = Simulation::new(&p.cluster, &p.workload, p.queue, p.placement, s.sim_config());
    assert!(!sim.unrunnable().is_empty(), "the scenario skips some jobs");
    let kept = sim.with_recording(full).run(&mut |_| {});
    assert!(
        kept.summary.preemptions > 0 && kept.series.len() > 3 * 4096,
        "{} preemptions, {} rows",
        kept.summary.preemptions,
        kept.series.len()
    );
    let (mut jobs_csv, mut series_csv) = (Vec::new(), Vec::new());
    write_jobs(&mut jobs_csv, &info, &p.workload, &kept.jobs, None).unwrap();
    write_series(&mut series_csv, &info, &kept.series).unwrap();

    let wp = s.prepare(s.config.seed).unwrap();
    let whole = Simulation::new(&wp.cluster, &wp.workload, wp.queue, wp.placement, s.sim_config());
    let (sp, generated) = s.prepare_streamed(s.config.seed).unwrap();
    let from_generator = Simulation::streamed(
        &sp.cluster,
        &sp.workload,
        generated.generator().unwrap(),
        sp.queue,
        sp.placement,
        s.sim_config(),
    )
    .unwrap();
    for (what, sim, workload) in [
        ("held whole", whole, &wp.workload),
        ("generated", from_generator, &sp.workload),
    ] {
        let (jobs, series) = (Shared::default(), Shared::default());
        let mut tables = StreamedTables::new(&info, workload, true, Some(jobs.clone()), Some(series.clone()));
        let out = sim
            .with_recording(full)
            .run_into(&mut |_| {}, Some(&mut tables))
            .unwrap();
        tables.finish().unwrap();
        assert!(
            out.jobs.is_empty() && out.series.is_empty(),
            "{what}: nothing kept"
        );
        assert_eq!(out.summary, kept.summary, "{what}");
        assert!(*jobs.0.lock().unwrap() == jobs_csv, "{what}: jobs.csv differs");
        assert!(
            *series.0.lock().unwrap() == series_csv,
            "{what}: timeseries.csv differs"
        );
    }
}

/// A byte buffer the table writer's thread fills and the test reads.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
