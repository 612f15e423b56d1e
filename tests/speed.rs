//! Hardware that changes speed (issue 10): the GPU model's speed for a job's class
//! enters the rate as its own factor, composing with power throttling; worked by hand.

mod common;

use dcsim::engine::SimTime;
use dcsim::rate::Factor;
use dcsim::scheduler::registry;
use dcsim::sim::{Mode, ModelChoice, SimConfig, Simulation};
use dcsim::speed::{SpeedError, SpeedTable};
use dcsim::topology::Cluster;
use dcsim::workload::adapters::{read_trace, write_generic, TraceFormat};
use dcsim::workload::{ClassId, JobId, Workload};

/// Two one-GPU nodes: FAST (model 0) and SLOW (model 1). Speeds per class (any unit):
/// `resnet` 4 on FAST, 1 on SLOW; `rec` (a recommendation model) 1 on FAST, 2 on SLOW:
/// the shape of Gavel's table, where a K80 trails a V100 on ResNet-50 but leads it on
/// recommendation.
fn two_speed_cluster() -> Cluster {
    let mut c = common::cluster(&[("FAST", 1, 1), ("SLOW", 1, 1)]);
    for (m, resnet, rec) in [(0, 4.0, 1.0), (1, 1.0, 2.0)] {
        c.models[m].speed_by_class = [("resnet".into(), resnet), ("rec".into(), rec)].into();
    }
    c
}

/// j0: `rec`, 100 s; j1: `resnet`, 100 s; both submitted at 0.
fn two_class_workload(measured_on: Option<&str>) -> Workload {
    let mut j0 = common::job(0.0, 100.0, 1, 1000);
    j0.class = Some(ClassId(0));
    let mut j1 = common::job(0.0, 100.0, 1, 1000);
    j1.class = Some(ClassId(1));
    let mut w = common::workload(vec![j0, j1]);
    w.classes = vec!["rec".into(), "resnet".into()];
    w.measured_on = measured_on.map(str::to_owned);
    w
}

fn ends(c: &Cluster, w: &Workload, config: SimConfig) -> Vec<Option<SimTime>> {
    Simulation::new(
        c,
        w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("best-fit").unwrap(),
        config,
    )
    .run(&mut |_| {})
    .jobs
    .iter()
    .map(|r| r.end)
    .collect()
}

fn secs(v: &[u64]) -> Vec<Option<SimTime>> {
    v.iter().map(|&s| Some(SimTime::from_secs(s))).collect()
}

/// Durations measured on FAST. Best fit takes the lower model id on a tie:
/// j0 (`rec`) on FAST at factor 1/1 → 100 s; j1 (`resnet`) on SLOW at 1/4 → 400 s.
/// Fastest-first: j0 on SLOW at 2/1 → 50 s; j1 on FAST at 4/4 → 100 s.
#[test]
fn class_speeds_by_hand() {
    let c = two_speed_cluster();
    let w = two_class_workload(Some("FAST"));
    assert_eq!(ends(&c, &w, SimConfig::default()), secs(&[100, 400]));
    let fastest = SimConfig {
        model_choice: ModelChoice::Fastest,
        ..SimConfig::default()
    };
    assert_eq!(ends(&c, &w, fastest), secs(&[50, 100]));
}

/// Without `measured_on`, durations are run times on whatever model a job runs on:
/// speeds change nothing, in queue mode and in as-recorded replay.
#[test]
fn durations_without_a_measured_model_are_unchanged() {
    let c = two_speed_cluster();
    let w = two_class_workload(None);
    assert_eq!(ends(&c, &w, SimConfig::default()), secs(&[100, 100]));
    let mut w = w;
    for j in &mut w.jobs {
        j.recorded_start = Some(SimTime::from_secs(5));
    }
    let replay = SimConfig {
        mode: Mode::AsRecorded,
        ..SimConfig::default()
    };
    assert_eq!(ends(&c, &w, replay), secs(&[105, 105]));
}

/// A job without a class runs at `relative_speed`: measured on SLOW (1.0), on a FAST of
/// relative speed 2.5, 100 s of work take 40 s.
#[test]
fn relative_speed_applies_to_jobs_without_a_class() {
    let mut c = common::cluster(&[("FAST", 1, 1), ("SLOW", 1, 1)]);
    c.models[0].relative_speed = 2.5;
    let mut w = common::workload(vec![common::job(0.0, 100.0, 1, 1000)]);
    w.measured_on = Some("SLOW".into());
    assert_eq!(ends(&c, &w, SimConfig::default()), secs(&[40]));
}

/// Power throttling and GPU speed own separate factors: j1 runs on FAST at speed
/// factor 4 (100 s of work would take 25 s). At 10 s (40 s of work done, 60 left) power
/// halves it: rate 4 × 0.5 = 2, 30 s more → 40 s. Had power written the rate (0.5)
/// instead of its factor, the rest would take 120 s.
#[test]
fn power_and_speed_factors_compose() {
    let c = two_speed_cluster();
    let mut j = common::job(0.0, 100.0, 1, 1000);
    j.class = Some(ClassId(1));
    let mut w = common::workload(vec![j]);
    w.classes = vec!["rec".into(), "resnet".into()];
    w.measured_on = Some("SLOW".into());
    let mut sim = Simulation::new(
        &c,
        &w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("best-fit").unwrap(),
        SimConfig::default(),
    );
    sim.schedule_factor_change(SimTime::from_secs(10), JobId(0), Factor::Power, 0.5);
    let out = sim.run(&mut |_| {});
    assert_eq!(out.jobs[0].end, Some(SimTime::from_secs(40)));
}

#[test]
fn speed_set_up_errors_name_what_is_wrong() {
    let c = two_speed_cluster();
    let w = two_class_workload(Some("H100"));
    let e = SpeedTable::new(&c, &w).unwrap_err();
    assert!(matches!(e, SpeedError::UnknownModel { .. }));
    assert!(e.to_string().contains("measured_on") && e.to_string().contains("FAST, SLOW"));
    // A class listed by one model but not another would mix units.
    let mut c = two_speed_cluster();
    c.models[1].speed_by_class.remove("rec");
    let e = SpeedTable::new(&c, &two_class_workload(Some("FAST"))).unwrap_err();
    assert_eq!(
        e,
        SpeedError::MissingClass {
            class: "rec".into(),
            model: "SLOW".into(),
            listed_by: "FAST".into()
        }
    );
}

/// The generic CSV's optional `class` column is read, interned and written back.
#[test]
fn generic_class_column_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.csv");
    std::fs::write(
        &p,
        "id,submit_s,duration_s,gpus,class\na,0,10,1,resnet50\nb,1,10,1,\nc,2,10,1,resnet50\n",
    )
    .unwrap();
    let w = read_trace(TraceFormat::Generic, &p).unwrap();
    let classes: Vec<_> = w.jobs.iter().map(|j| j.class).collect();
    assert_eq!(classes, vec![Some(ClassId(0)), None, Some(ClassId(0))]);
    assert_eq!(w.classes, vec!["resnet50".to_string()]);
    let mut out = Vec::new();
    write_generic(&w, &mut out).unwrap();
    let q = dir.path().join("back.csv");
    std::fs::write(&q, &out).unwrap();
    let back = read_trace(TraceFormat::Generic, &q).unwrap();
    assert_eq!((back.jobs, back.classes), (w.jobs, w.classes));
}

/// The scenario keys: `workload.measured_on` must name a model of the topology (the
/// error names the key and the models), and `scheduler.model_choice` parses.
#[test]
fn scenario_measured_on_is_checked_against_the_topology() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let scenario = |measured_on: &str| {
        let text = format!(
            "name = \"s\"\n[topology]\npath = {:?}\n[workload]\nformat = \"generic\"\npath = {:?}\n\
             measured_on = \"{measured_on}\"\n[scheduler]\nmodel_choice = \"fastest\"\n",
            root.join("topologies/tiny.toml"),
            root.join("tests/data/generic_small.csv"),
        );
        let p = dir.path().join("s.toml");
        std::fs::write(&p, text).unwrap();
        dcsim::scenario::Scenario::load(&p).unwrap()
    };
    let s = scenario("A100-SXM4-80GB");
    assert_eq!(s.sim_config().model_choice, ModelChoice::Fastest);
    let p = s.prepare(0).unwrap();
    assert_eq!(p.workload.measured_on.as_deref(), Some("A100-SXM4-80GB"));
    let err = scenario("V100").prepare(0).err().unwrap().to_string();
    assert!(
        err.contains("workload.measured_on") && err.contains("`V100`") && err.contains("H100-SXM5"),
        "{err}"
    );
}

/// A `[[gpu_model]]` reads `speed_by_class`, may leave out `memory_gib` (nothing in the
/// simulation reads it), and a non-positive class speed is an error naming the key.
#[test]
fn topology_speed_keys() {
    let topo = |speeds: &str| {
        format!(
            "name = \"t\"\nsource = \"s\"\n[layout]\nnodes_per_rack = 1\nracks_per_row = 1\nrows_per_hall = 1\n\
             [[nodes]]\nname = \"a\"\ngpu = \"K80\"\ngpus = 4\ncount = 1\n\
             [[gpu_model]]\nname = \"K80\"\ntdp_w = 300.0\nidle_w = 45.0\nsource = \"s\"\n\
             speed_by_class = {{ {speeds} }}\n"
        )
    };
    let path = std::path::Path::new("t.toml");
    let c = dcsim::topology::parse(&topo("resnet50 = 0.619, transformer = 1.752"), path).unwrap();
    assert_eq!(c.models[0].speed_by_class["resnet50"], 0.619);
    assert_eq!(c.models[0].memory_gib, 0.0);
    let e = dcsim::topology::parse(&topo("resnet50 = 0.0"), path).unwrap_err();
    assert!(
        e.to_string().contains("gpu_model[0].speed_by_class.resnet50"),
        "{e}"
    );
}
