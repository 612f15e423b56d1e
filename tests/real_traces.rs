//! Replays of the real traces, checked against the traces' own records.
//!
//! The openb as-recorded test uses the bundled copy in `scenarios/data/` and runs
//! anywhere; the full-trace replays read `../shared/traces/` and are reported as
//! ignored ("needs ../shared") when it is absent (build.rs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dcsim::metrics::Outcome;
use dcsim::scenario::Scenario;
use dcsim::sim::{RunOutput, Simulation};
use dcsim::workload::Workload;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Runs a bundled scenario. Tests running one that reads `../shared` are marked
/// `cfg_attr(not(dcsim_shared), ignore = "needs ../shared")` (see build.rs).
fn run_scenario(name: &str) -> (Workload, RunOutput) {
    let path = repo(&format!("scenarios/{name}.toml"));
    let scenario = Scenario::load(&path).unwrap();
    let p = scenario.prepare(scenario.config.seed).unwrap();
    let out = Simulation::new(
        &p.cluster,
        &p.workload,
        p.queue,
        p.placement,
        scenario.sim_config(),
    )
    .run(&mut |_| {});
    (p.workload, out)
}

/// Allocated thousandths of a GPU over time from the openb pod list's own columns:
/// each scheduled GPU pod holds `gpu_milli` (one shared GPU) or `num_gpu` × 1000 from
/// `scheduled_time` to `deletion_time` (trace README). Returns the change points.
fn openb_curve_from_columns(file: &Path) -> Vec<(u64, u64)> {
    let mut rdr = csv::Reader::from_path(file).unwrap();
    let h = rdr.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (gpu, milli, sched, del) = (
        col("num_gpu"),
        col("gpu_milli"),
        col("scheduled_time"),
        col("deletion_time"),
    );
    let mut delta: BTreeMap<u64, i64> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let n: u64 = rec[gpu].parse().unwrap();
        if n == 0 || rec[sched].is_empty() {
            continue;
        }
        let m: u64 = rec[milli].parse().unwrap();
        let amount = if n == 1 && m < 1000 { m } else { n * 1000 } as i64;
        let (s, e): (u64, u64) = (rec[sched].parse().unwrap(), rec[del].parse().unwrap());
        *delta.entry(s * 1000).or_default() += amount;
        *delta.entry(e * 1000).or_default() -= amount;
    }
    let mut busy = 0i64;
    let mut curve = Vec::new();
    for (t, d) in delta {
        busy += d;
        curve.push((t, busy as u64));
    }
    dedup(curve)
}

/// Drops points whose value equals the previous point's.
fn dedup(curve: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(curve.len());
    for (t, v) in curve {
        if out.last().is_none_or(|&(_, last)| last != v) {
            out.push((t, v));
        }
    }
    out
}

#[test]
fn openb_as_recorded_reproduces_the_traces_allocation_curve_exactly() {
    let (_, out) = run_scenario("openb-as-recorded");
    let ours = dedup(
        out.series
            .time
            .iter()
            .zip(&out.series.busy_milli)
            .map(|(t, &b)| (t.as_ms(), b))
            .collect(),
    );
    let theirs = openb_curve_from_columns(&repo("scenarios/data/openb_pod_list_default.csv"));
    assert_eq!(ours.len(), theirs.len());
    assert!(
        ours == theirs,
        "the as-recorded allocation curve differs from the trace's columns"
    );
    // Every GPU pod fitted on the real cluster at its recorded start, as it did in 2023.
    assert_eq!(out.summary.unplaced, 0);
}

/// Jobs in = jobs finished + jobs skipped; GPU-hours allocated = the trace's own
/// GPU-hours (Σ GPUs × duration over its jobs), and equal to the time-series integral.
fn check_accounting(name: &str) {
    let (w, out) = run_scenario(name);
    let s = &out.summary;
    let skipped: u64 = s.jobs_skipped.values().sum();
    assert_eq!(s.jobs, w.jobs.len() as u64, "{name}");
    assert_eq!(s.unfinished, 0, "{name}: a job was left waiting");
    assert_eq!(
        s.completed + s.censored + skipped,
        s.jobs,
        "{name}: a job was lost"
    );
    assert_eq!(
        w.rows_read,
        w.jobs.len() as u64 + w.skipped.total(),
        "{name}: a row was lost"
    );
    let trace_milli_ms: u128 = w
        .jobs
        .iter()
        .zip(&out.jobs)
        .filter(|(_, r)| r.outcome != Outcome::Skipped)
        .map(|(j, _)| u128::from(j.demand.total_milli()) * u128::from(j.duration.as_ms()))
        .sum();
    assert_eq!(
        out.series.busy_integral(),
        trace_milli_ms,
        "{name}: GPU-time not conserved"
    );
    eprintln!(
        "{name}: {} jobs, {} skipped, {:.1} GPU-hours, utilization {:.3}",
        s.jobs, skipped, s.allocated_gpu_hours, s.gpu_utilization
    );
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn philly_replay_conserves_jobs_and_gpu_hours() {
    check_accounting("philly");
    // Trace README: Σ gpu_time ≈ 978,078 GPU-hours over 82,247 jobs, none skipped.
    let (_, out) = run_scenario("philly");
    assert_eq!(out.summary.jobs, 82_247);
    assert!((out.summary.allocated_gpu_hours - 978_078.0).abs() < 1.0);
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn itp_replay_conserves_jobs_and_gpu_hours() {
    check_accounting("itp");
    // Trace README: cluster04 has 15,802 jobs and 705,683 GPU-hours.
    let (_, out) = run_scenario("itp");
    assert_eq!(out.summary.jobs, 15_802);
    assert!((out.summary.allocated_gpu_hours - 705_683.0).abs() < 1.0);
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn dlrm_replay_conserves_instances() {
    check_accounting("dlrm");
    // Trace README: 7,386 instances on GPU nodes, 16,485 on CPU nodes (counted, skipped).
    let (w, out) = run_scenario("dlrm");
    assert_eq!(out.summary.jobs, 7_386);
    assert_eq!(w.skipped.reasons["cpu_only"].count, 16_485);
}

#[test]
fn openb_and_philly_slices_replay_anywhere() {
    check_accounting("default");
    check_accounting("philly-slice");
}
