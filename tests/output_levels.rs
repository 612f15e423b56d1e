//! Output levels and series resolution (issue 17): a run keeps only the tables it
//! writes, and what it keeps agrees with the full run's figures. The oracle throughout is
//! the same run at `--outputs full`, whose figures the rest of the suite checks.

use std::path::Path;
use std::process::Command;

use dcsim::engine::SimTime;
use dcsim::metrics::{OutputLevel, Recording, SeriesResolution, UtilizationWindow};
use dcsim::scenario::Scenario;
use dcsim::sim::{RunOutput, Simulation};

/// The bundled default scenario (6,203 jobs of the openb trace on 6,212 GPUs), run with
/// `recording`.
fn run(recording: Recording) -> RunOutput {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.toml");
    let s = Scenario::load(&path).unwrap();
    let p = s.prepare(s.config.seed).unwrap();
    Simulation::new(&p.cluster, &p.workload, p.queue, p.placement, s.sim_config())
        .with_recording(recording)
        .run(&mut |_| {})
}

fn level(level: OutputLevel) -> Recording {
    Recording {
        level,
        ..Recording::default()
    }
}

#[test]
fn levels_keep_only_what_they_write_and_agree_on_the_summary() {
    let full = run(level(OutputLevel::Full));
    let jobs = run(level(OutputLevel::Jobs));
    let summary = run(level(OutputLevel::Summary));
    assert!(full.jobs.len() > 6_000 && full.series.len() > 12_000);
    assert_eq!(jobs.jobs, full.jobs);
    assert!(jobs.series.is_empty());
    assert!(summary.jobs.is_empty() && summary.series.is_empty());
    assert!(summary.series_intervals.is_none());
    assert_eq!(summary.summary, full.summary);
    assert_eq!(jobs.summary, full.summary);
    assert_eq!(summary.figures, full.figures);
}

/// `[metrics] utilization_window_s`, measured as the run goes, equals the integral of the
/// full run's stored series over the window (the formula in `TimeSeries`).
#[test]
fn a_configured_window_is_measured_without_the_series() {
    let window = (SimTime::from_secs(3_600), SimTime::from_secs(50_000));
    let r = run(Recording {
        level: OutputLevel::Summary,
        resolution: SeriesResolution::ChangePoints,
        utilization_window: Some(window),
        keep_segments: false,
    });
    let full = run(level(OutputLevel::Full));
    let busy_gpu_s = full.series.busy_integral_between(window.0, window.1) as f64 / 1e6;
    let expected = busy_gpu_s / (50_000.0 - 3_600.0) / full.summary.cluster_gpus as f64;
    assert!(expected > 0.0);
    assert_eq!(r.summary.gpu_utilization_window, expected);
    assert_eq!(r.summary.utilization_window, UtilizationWindow::Configured);
    assert_eq!(r.summary.utilization_window_s, [3_600.0, 50_000.0]);
}

/// Binned at one hour: the rows tile the run's span, their busy integrals add up to the
/// run's exact busy integral, and each row's mean lies between its min and max.
#[test]
fn interval_rows_tile_the_run_and_keep_its_integral() {
    let hour = SimTime::from_secs(3_600);
    let r = run(Recording {
        resolution: SeriesResolution::Interval(hour),
        ..Recording::default()
    });
    let full = run(level(OutputLevel::Full));
    let b = r.series_intervals.as_ref().expect("intervals kept at full");
    assert!(r.series.is_empty());
    let (first, last) = (full.series.time[0], *full.series.time.last().unwrap());
    assert_eq!(b.start[0], first);
    assert_eq!(*b.end.last().unwrap(), last);
    let aligned = first.as_ms() / hour.as_ms();
    let rows = (last.as_ms() - 1) / hour.as_ms() - aligned + 1;
    assert_eq!(b.len() as u64, rows);
    assert!(b.start[1..].iter().zip(&b.end).all(|(s, e)| s == e));
    let total: u128 = (0..b.len()).map(|i| b.row(i)[0].integral).sum();
    assert_eq!(total, full.series.busy_integral());
    for i in 0..b.len() {
        for s in b.row(i) {
            let mean = b.mean(i, s);
            assert!(
                s.min as f64 <= mean + 1e-9 && mean <= s.max as f64 + 1e-9,
                "row {i}"
            );
        }
    }
    assert_eq!(r.summary, full.summary);
}

fn dcsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dcsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn the_cli_writes_the_asked_level_and_refuses_bad_values() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    let o = dcsim(&[
        "run",
        "scenarios/default.toml",
        "--outputs",
        "summary",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["summary.json"]);
    let o = dcsim(&["run", "scenarios/default.toml", "--outputs", "all"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && err.contains("unknown output level `all`; expected one of summary, jobs, full"),
        "{err}"
    );
    for bad in ["0", "-1", "soon"] {
        let o = dcsim(&["run", "scenarios/default.toml", "--series-interval", bad]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains("expected a number of seconds > 0"),
            "{bad}: {err}"
        );
    }
}

/// `scenario` under queue policy `queue` (the scenario's own when `None`), run with
/// `recording`.
fn run_scenario(scenario: &str, queue: Option<&str>, recording: Recording) -> RunOutput {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(scenario);
    let mut s = Scenario::load(&path).unwrap();
    if let Some(q) = queue {
        s.config.scheduler.queue = q.to_string();
    }
    let p = s.prepare(s.config.seed).unwrap();
    Simulation::new(&p.cluster, &p.workload, p.queue, p.placement, s.sim_config())
        .with_models(p.models)
        .with_recording(recording)
        .run(&mut |_| {})
}

/// A run not asked to keep segments keeps none and no grant history, at any level: the
/// grants of ended runs are reused, so what it holds follows the jobs in flight (issue
/// 17). Asked to keep them (the economics bill reads them), it keeps exactly the full
/// run's.
#[test]
fn segments_are_kept_only_when_something_reads_them() {
    let full = run(level(OutputLevel::Full));
    assert!(!full.segments.is_empty() && !full.grants.is_empty());
    for level in [OutputLevel::Summary, OutputLevel::Jobs, OutputLevel::Full] {
        let bare = run(Recording {
            level,
            keep_segments: false,
            ..Recording::default()
        });
        assert!(bare.segments.is_empty() && bare.grants.is_empty(), "{level:?}");
        assert_eq!(bare.summary, full.summary);
    }
    let billed = run(Recording {
        level: OutputLevel::Summary,
        keep_segments: true,
        ..Recording::default()
    });
    assert_eq!(billed.segments, full.segments);
    assert_eq!(billed.grants, full.grants);
    assert_eq!(billed.summary, full.summary);
}

/// Differential check of the bounded-memory paths (grant ranges reused, per-job state
/// retired as jobs end, per-job figures kept as milliseconds) against the full run,
/// which keeps every run's grants and every record: where jobs are preempted and
/// resumed (SRTF on Philly ×6: tens of thousands of preemptions, long jobs holding
/// back the retirement of later ones) and where failures stop, requeue and end jobs
/// (`philly-10k-failures`, which runs a model), the summary is the same.
#[test]
fn bounded_memory_runs_agree_with_the_full_run_under_preemption_and_failures() {
    for (scenario, queue) in [
        ("philly-6x.toml", Some("srtf")),
        ("philly-10k-failures.toml", None),
    ] {
        let full = run_scenario(scenario, queue, level(OutputLevel::Full));
        let summary = run_scenario(scenario, queue, level(OutputLevel::Summary));
        let s = &full.summary;
        assert!(
            s.preemptions > 0 || s.reliability.is_some(),
            "{scenario}: the run must stop jobs early"
        );
        assert_eq!(summary.summary, full.summary, "{scenario}");
        assert_eq!(summary.events, full.events, "{scenario}");
    }
}
