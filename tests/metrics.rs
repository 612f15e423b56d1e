//! Metrics that mean what they say: time not running beside the wait to the first start,
//! utilization over the arrival window beside the makespan's, and outputs without
//! all-empty columns. Every expected number is worked by hand in the test's comment.

mod common;

use std::path::Path;

use dcsim::compare::{self, CompareConfig};
use dcsim::engine::SimTime;
use dcsim::metrics::{MetricsConfig, UtilizationWindow};
use dcsim::report::{self, RunInfo};
use dcsim::scenario::Scenario;
use dcsim::scheduler::registry;
use dcsim::sim::{Mode, PreemptionCost, RunOutput, SimConfig, Simulation};
use dcsim::topology::Cluster;
use dcsim::workload::Workload;

fn run(c: &Cluster, w: &Workload, queue: &str, placement: &str, config: SimConfig) -> RunOutput {
    Simulation::new(
        c,
        w,
        registry::queue_policy(queue).unwrap(),
        registry::placement(placement).unwrap(),
        config,
    )
    .run(&mut |_| {})
}

fn info(c: &Cluster) -> RunInfo {
    RunInfo {
        scenario: "t".into(),
        seed: 0,
        mode: "queue".into(),
        queue_policy: "fifo".into(),
        placement: "best-fit".into(),
        description: String::new(),
        topology: c.name.clone(),
        workload: "synthetic".into(),
        gpu_models: c.models.iter().map(|m| m.name.clone()).collect(),
        gpu_model_counts: vec![c.total_gpus()],
        dcsim_version: "test".into(),
    }
}

/// One 4-GPU node, restore 5 s. a (0 s, 100 s, 4 GPUs) starts at 0; b (10 s, 10 s, 4)
/// evicts it under SRTF (90 s left > 2 × 10 s) and runs 10–20; a resumes at 20 and,
/// with 90 s of work and 5 s of restore, ends at 115 (the schedule of
/// `policies_q1::srtf_preempts_a_much_longer_job_and_the_victim_pays_the_restore`).
///
/// Both jobs start the moment they arrive, so the wait to the first start is 0 for both;
/// a spent 20 − 10 = 10 s suspended (JCT 115 − held 105), b none. Mean time not running
/// is therefore 5 s while the mean wait reads 0.
#[test]
fn time_not_running_counts_suspensions_the_first_start_wait_misses() {
    let c = common::cluster(&[("A", 1, 4)]);
    let w = common::workload(vec![
        common::job(0.0, 100.0, 4, 1000),
        common::job(10.0, 10.0, 4, 1000),
    ]);
    let config = SimConfig {
        mode: Mode::Queue,
        preemption: PreemptionCost {
            checkpoint_interval_s: 0.0,
            restore_s: 5.0,
        },
        ..SimConfig::default()
    };
    let out = run(&c, &w, "srtf", "best-fit", config);
    let (a, b) = (&out.jobs[0], &out.jobs[1]);
    assert_eq!(a.preemptions, 1);
    assert_eq!((a.wait(), b.wait()), (Some(SimTime::ZERO), Some(SimTime::ZERO)));
    assert_eq!(a.not_running(), Some(SimTime::from_secs(10)));
    assert_eq!(b.not_running(), Some(SimTime::ZERO));
    let s = &out.summary;
    assert_eq!(s.wait_s.mean, 0.0);
    assert_eq!(s.not_running_s.mean, 5.0);
    assert_eq!(s.not_running_s.max, 10.0);
    assert_eq!(
        (s.tenants[0].mean_wait_s, s.tenants[0].mean_not_running_s),
        (0.0, 5.0)
    );
    let fig = |name: &str| {
        let f = compare::FIGURES.iter().find(|f| f.name == name).unwrap();
        (f.get)(s)
    };
    assert_eq!(fig("not_running_mean_s"), Some(5.0));
    assert_eq!(fig("wait_mean_s"), Some(0.0));

    // jobs.csv carries it per job, after run_s.
    let mut buf = Vec::new();
    report::write_jobs(&mut buf, &info(&c), &w, &out.jobs, None).unwrap();
    let mut rdr = csv::Reader::from_reader(buf.as_slice());
    let h = rdr.headers().unwrap().clone();
    let col = h
        .iter()
        .position(|x| x == "not_running_s")
        .expect("not_running_s column");
    assert_eq!(&h[col - 1], "run_s");
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!((&rows[0][col], &rows[1][col]), ("10.000", "0.000"));
    // No job was skipped: no all-empty `skip_reason` column.
    assert!(!h.iter().any(|x| x == "skip_reason"), "{h:?}");
}

/// `jobs.csv` has a `skip_reason` column when a job was skipped (an 8-GPU job on a 4-GPU
/// cluster: `larger_than_cluster`), empty for the jobs that ran.
#[test]
fn jobs_csv_has_skip_reason_only_when_a_job_was_skipped() {
    let c = common::cluster(&[("A", 1, 4)]);
    let w = common::workload(vec![
        common::job(0.0, 10.0, 1, 1000),
        common::job(1.0, 10.0, 8, 1000),
    ]);
    let out = run(&c, &w, "fifo", "best-fit", SimConfig::default());
    let mut buf = Vec::new();
    report::write_jobs(&mut buf, &info(&c), &w, &out.jobs, None).unwrap();
    let mut rdr = csv::Reader::from_reader(buf.as_slice());
    let h = rdr.headers().unwrap().clone();
    assert_eq!(h.iter().next_back(), Some("skip_reason"));
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(
        (&rows[0][h.len() - 1], &rows[1][h.len() - 1]),
        ("", "larger_than_cluster")
    );
}

/// One 2-GPU node under FIFO. a (0 s, 100 s, 1 GPU) runs 0–100; b (100 s, 1,000 s,
/// 2 GPUs) runs 100–1,100. Arrivals span [0, 100]: 1 GPU busy of 2 → 0.5. The makespan
/// [0, 1,100] holds 100 + 2,000 GPU-s of 2,200 → 21/22 = 0.9545...: the drain after
/// the last arrival dominates it. A configured window [100, 600] holds b alone on both
/// GPUs → 1.
#[test]
fn utilization_over_the_arrival_window_and_a_configured_one() {
    let c = common::cluster(&[("A", 1, 2)]);
    let w = common::workload(vec![
        common::job(0.0, 100.0, 1, 1000),
        common::job(100.0, 1000.0, 2, 1000),
    ]);
    let mut out = run(&c, &w, "fifo", "best-fit", SimConfig::default());
    let s = &out.summary;
    assert_eq!(s.utilization_window, UtilizationWindow::Arrivals);
    assert_eq!(s.utilization_window_s, [0.0, 100.0]);
    assert_eq!(s.gpu_utilization_window, 0.5);
    assert!(
        (s.gpu_utilization - 21.0 / 22.0).abs() < 1e-12,
        "{}",
        s.gpu_utilization
    );

    let cfg = MetricsConfig {
        utilization_window_s: Some([100.0, 600.0]),
    };
    cfg.apply(&mut out.summary, &out.series);
    let s = &out.summary;
    assert_eq!(s.utilization_window, UtilizationWindow::Configured);
    assert_eq!(s.utilization_window_s, [100.0, 600.0]);
    assert_eq!(s.gpu_utilization_window, 1.0);
    // The makespan figure is left as it was.
    assert!((s.gpu_utilization - 21.0 / 22.0).abs() < 1e-12);
}

fn scenario_text(extra: &str) -> String {
    format!(
        r#"
name = "m"
seed = 3
[topology]
path = "{root}/topologies/tiny.toml"
[workload]
format = "synthetic"
[workload.synthetic]
jobs = 60
arrival = {{ process = "poisson", offered_load = 1.2 }}
gpus = {{ dist = "choice", values = [1, 2, 4] }}
duration = {{ dist = "exponential", mean_s = 1800.0 }}
{extra}
"#,
        root = env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn a_bad_utilization_window_is_named() {
    for window in ["[5.0, 1.0]", "[-1.0, 10.0]", "[3.0, 3.0]"] {
        let text = scenario_text(&format!("[metrics]\nutilization_window_s = {window}\n"));
        let e = Scenario::parse(&text, Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("metrics.utilization_window_s"), "{window}: {e}");
    }
    let ok = scenario_text("[metrics]\nutilization_window_s = [0.0, 3600.0]\n");
    let s = Scenario::parse(&ok, Path::new("m.toml")).unwrap();
    assert_eq!(s.config.metrics.utilization_window_s, Some([0.0, 3600.0]));
}

/// `timeseries.csv` has a `frag_gpus` column only when the run measured fragmentation
/// (best-fit on whole GPUs does not; fgd does), so no column is all empty.
#[test]
fn timeseries_has_frag_gpus_only_when_measured() {
    let c = common::cluster(&[("A", 2, 4)]);
    let w = common::workload(vec![
        common::job(0.0, 100.0, 1, 1000),
        common::job(10.0, 100.0, 2, 1000),
    ]);
    for (placement, expect) in [("best-fit", false), ("fgd", true)] {
        let out = run(&c, &w, "fifo", placement, SimConfig::default());
        let mut buf = Vec::new();
        report::write_series(&mut buf, &info(&c), &out.series).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let header = text.lines().next().unwrap();
        assert_eq!(header.ends_with(",frag_gpus"), expect, "{placement}: {header}");
        let width = header.split(',').count();
        for line in text.lines().skip(1) {
            assert_eq!(line.split(',').count(), width, "{placement}: {line}");
            assert!(
                line.split(',').all(|f| !f.is_empty()),
                "{placement}: empty field in {line}"
            );
        }
    }
}

/// `compare.csv` leaves out columns no row has a value for: every `_ci95` with one
/// replication, and the energy figures with power off; with power on it reports energy
/// and peak facility power, equal to the direct run's summary.
#[test]
fn compare_reports_energy_with_power_on_and_omits_empty_columns() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = CompareConfig {
        queues: vec!["fifo".into(), "sjf".into()],
        placements: vec!["best-fit".into()],
        replications: 1,
        seed: 3,
    };
    let csv = |c: &compare::Comparison| {
        let mut buf = Vec::new();
        compare::write_compare_csv(&mut buf, c).unwrap();
        String::from_utf8(buf).unwrap()
    };
    let off_path = dir.path().join("off.toml");
    std::fs::write(&off_path, scenario_text("")).unwrap();
    let off = compare::compare(&Scenario::load(&off_path).unwrap(), &cfg).unwrap();
    let text = csv(&off);
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert!(!header.iter().any(|h| h.ends_with("_ci95")), "{header:?}");
    assert!(!header.contains(&"it_energy_mwh"), "{header:?}");
    assert!(!header.contains(&"mean_frag_gpus"), "{header:?}");
    assert!(header.contains(&"not_running_mean_s") && header.contains(&"gpu_utilization_window"));
    for line in text.lines().skip(1) {
        assert!(line.split(',').all(|f| !f.is_empty()), "empty field in {line}");
    }
    let table = compare::table(&off);
    assert!(
        table.contains("util % arrivals") && table.contains("not run mean h"),
        "{table}"
    );
    assert!(!table.contains("MWh"), "{table}");

    let on_path = dir.path().join("on.toml");
    let power = "[power]\nmode = \"oversubscription\"\n[power.facility]\nfixed_pue = 1.25\n";
    std::fs::write(&on_path, scenario_text(power)).unwrap();
    let scenario = Scenario::load(&on_path).unwrap();
    let on = compare::compare(&scenario, &cfg).unwrap();
    let text = csv(&on);
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    for name in [
        "it_energy_mwh",
        "facility_energy_mwh",
        "mean_pue",
        "peak_it_kw",
        "peak_facility_kw",
    ] {
        assert!(header.contains(&name), "{name} missing: {header:?}");
    }
    let table = compare::table(&on);
    assert!(
        table.contains("facility MWh") && table.contains("peak fac. kW"),
        "{table}"
    );
    // The fifo row against a direct run with power on.
    let p = scenario.prepare(3).unwrap();
    let direct = Simulation::new(
        &p.cluster,
        &p.workload,
        scenario.queue_policy("fifo", 3).unwrap(),
        scenario.placement_policy("best-fit", 3).unwrap(),
        scenario.sim_config(),
    )
    .with_models(p.models)
    .run(&mut |_| {})
    .summary;
    let dp = direct.power.as_ref().unwrap();
    let row = &on.rows[0];
    assert_eq!(row.figure("it_energy_mwh").unwrap().mean, Some(dp.it_energy_mwh));
    assert_eq!(
        row.figure("peak_facility_kw").unwrap().mean,
        Some(dp.peak_facility_kw)
    );
    // Fixed PUE 1.25: facility power is 1.25 × IT power at every instant.
    assert!((dp.peak_facility_kw - 1.25 * dp.peak_it_kw).abs() < 1e-9 * dp.peak_it_kw);
}

/// A run that preempted with `[scheduler.preemption]` left at its zero default says that
/// preemption was free; one with a restore cost, or one that never preempted, does not.
#[test]
fn free_preemption_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("srtf", "", true),
        ("srtf", "[scheduler.preemption]\nrestore_s = 5.0\n", false),
        ("fifo", "", false),
    ];
    for (i, (queue, extra, warns)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("s{i}.toml"));
        let text = scenario_text(&format!("[scheduler]\nqueue = \"{queue}\"\n{extra}"));
        std::fs::write(&path, text).unwrap();
        let out_dir = dir.path().join(format!("out{i}"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_dcsim"))
            .args([
                "run",
                path.to_str().unwrap(),
                "--output",
                out_dir.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
        let preemptions = summary["preemptions"].as_u64().unwrap();
        assert_eq!(
            preemptions > 0,
            queue == "srtf",
            "{queue}: {preemptions} preemptions"
        );
        assert_eq!(
            err.contains("preemption was free"),
            warns,
            "{queue} {extra:?}: {err}"
        );
    }
}
