//! Per-job communication profiles from the generic CSV (gradient, compute, overlap,
//! tensor and pipeline parallelism): reading and writing them, their bad values, a
//! tensor-parallel group larger than any NVLink domain, and their effect on a job's
//! network factor against a hand-worked figure.

mod common;

use std::path::Path;

use dcsim::network::model::check_domains;
use dcsim::network::{NetworkConfig, NetworkModel};
use dcsim::scheduler::registry;
use dcsim::sim::{SimConfig, Simulation};
use dcsim::topology::{self, LoadReport};
use dcsim::workload::adapters::{read_trace, write_generic, TraceFormat};
use dcsim::workload::{CommHints, WorkloadError};

/// `nodes` 8-GPU H100 nodes, two per rack (a leaf per rack), `fabric` keys.
fn report(nodes: u32, fabric: &str) -> LoadReport {
    let text = format!(
        r#"
name = "t"
source = "test"
[layout]
nodes_per_rack = 2
racks_per_row = 100
rows_per_hall = 100
[[nodes]]
name = "n"
gpu = "H100"
gpus = 8
count = {nodes}
[fabric]
{fabric}
"#
    );
    topology::parse_report(&text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"))
}

const SPINE_4_TO_1: &str = r#"
layout = "leaf-spine"
nics_per_node = 8
nic_gbps = 400.0
nvlink_gbytes_per_s = 450.0
spine_oversubscription = 4.0
"#;

fn row_error(r: Result<dcsim::workload::Workload, WorkloadError>) -> (u64, String) {
    match r {
        Err(WorkloadError::Row { line, message, .. }) => (line, message),
        other => panic!("expected a row error, got {other:?}"),
    }
}

/// The columns are read where given (an empty cell: the model's default; tp and pp
/// default to 1), written back only when some job has them, and read back the same;
/// a row with none of them has no profile.
#[test]
fn profile_columns_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.csv");
    std::fs::write(
        &p,
        "id,submit_s,duration_s,gpus,gradient_gb,compute_ms,overlap,tp,pp\n\
         a,0,10,16,13.4,1530,0.5,8,2\n\
         b,1,10,8,,,,2,\n\
         c,2,10,1,,,,,\n",
    )
    .unwrap();
    let w = read_trace(TraceFormat::Generic, &p).unwrap();
    assert_eq!(
        w.jobs[0].comm.as_deref().copied(),
        Some(CommHints {
            gradient_gb: Some(13.4),
            compute_ms: Some(1530.0),
            overlap: Some(0.5),
            tp: 8,
            pp: 2,
        })
    );
    assert_eq!(
        w.jobs[1].comm.as_deref().copied(),
        Some(CommHints {
            tp: 2,
            ..CommHints::default()
        })
    );
    assert_eq!(w.jobs[2].comm, None);
    let mut out = Vec::new();
    write_generic(&w, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with(",gradient_gb,compute_ms,overlap,tp,pp"),
        "{text}"
    );
    let q = dir.path().join("back.csv");
    std::fs::write(&q, &text).unwrap();
    assert_eq!(read_trace(TraceFormat::Generic, &q).unwrap().jobs, w.jobs);
}

/// Bad values are row errors naming the line and the column; tp × pp must divide the
/// job's GPUs.
#[test]
fn bad_profile_values_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.csv");
    let header = "id,submit_s,duration_s,gpus,gradient_gb,compute_ms,overlap,tp,pp\nok,0,10,8,1,1,0,1,1\n";
    for (row, needle) in [
        ("a,0,10,8,0,1,0,1,1", "`gradient_gb`"),
        ("a,0,10,8,1,-3,0,1,1", "`compute_ms`"),
        ("a,0,10,8,1,1,1.5,1,1", "`overlap`"),
        ("a,0,10,8,1,1,0,0,1", "`tp`"),
        ("a,0,10,8,1,1,0,1,x", "`pp`"),
        ("a,0,10,8,1,1,0,3,1", "tp × pp = 3 must divide the job's 8 GPUs"),
    ] {
        std::fs::write(&p, format!("{header}{row}\n")).unwrap();
        let (line, msg) = row_error(read_trace(TraceFormat::Generic, &p));
        assert_eq!(line, 3, "{row}");
        assert!(msg.contains(needle), "{row}: {msg}");
    }
}

/// A tensor-parallel group must fit in one NVLink domain: tp = 16 on 8-GPU nodes (each
/// its own domain) is refused naming the job and the domain size; with two-node domains
/// (16 GPUs) it fits.
#[test]
fn a_tensor_parallel_group_larger_than_any_domain_is_refused() {
    let mut job = common::job(0.0, 10.0, 32, 1000);
    job.comm = Some(Box::new(CommHints {
        tp: 16,
        ..CommHints::default()
    }));
    let mut w = common::workload(vec![job]);
    w.jobs[0].name = "big-tp".into();
    let one = report(4, SPINE_4_TO_1);
    let err = check_domains(one.fabric.as_ref().unwrap(), &w).unwrap_err();
    assert!(
        err.contains("`big-tp`") && err.contains("`tp` = 16") && err.contains("(8 GPUs)"),
        "{err}"
    );
    let two = report(4, &format!("{SPINE_4_TO_1}nvlink_domain_nodes = 2\n"));
    assert_eq!(check_domains(two.fabric.as_ref().unwrap(), &w), Ok(()));
}

/// A 16-GPU job with tp = 2 runs 8 data-parallel ranks in each of 2 rings, one per
/// tensor-parallel shard, each all-reducing half the 2.6 GB gradient (1.3 GB). Both rings
/// cross the same NICs at once, so each gets B / 2. Placed across two racks behind 4:1
/// (as in tests/network.rs: B = 200 GB/s, 400 GB/s on a non-blocking fabric), compute
/// 1000 ms, no overlap, by hand: comm = 2 · 7/8 · 1.3e9 / (B / 2) = 22.75 ms (11.375 ms
/// at 400 GB/s); factor 1011.375 / 1022.75, so 1000 s of work take
/// 1000 × 1022.75 / 1011.375 s. (tp shrinks the ring's ranks, not the bytes a node sends.)
#[test]
fn tensor_parallel_rings_share_the_nics_as_worked_by_hand() {
    let r = report(4, SPINE_4_TO_1);
    let mut serving = common::job(0.0, 5000.0, 8, 1000);
    serving.kind = dcsim::workload::JobKind::Inference;
    let mut training = common::job(1.0, 1000.0, 16, 1000);
    training.comm = Some(Box::new(CommHints {
        gradient_gb: Some(2.6),
        compute_ms: Some(1000.0),
        overlap: Some(0.0),
        tp: 2,
        pp: 1,
    }));
    let w = common::workload(vec![serving, training]);
    let model = NetworkModel::new(
        &r.cluster,
        r.fabric.clone().unwrap(),
        &NetworkConfig::default(),
        w.jobs.len(),
    );
    let out = Simulation::new(
        &r.cluster,
        &w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_model(Box::new(model))
    .run(&mut |_| {});
    let run_s = 1000.0 * 1022.75 / 1011.375;
    let end = out.jobs[1].end.expect("finished").as_secs_f64();
    assert!(
        (end - (1.0 + run_s)).abs() < 2e-3,
        "end {end}, expected {}",
        1.0 + run_s
    );
}

/// Through the engine, pipeline stages as worked in tests/network.rs
/// (`pipeline_stages_ring_locally_and_send_activations_across_by_hand`): a 32-GPU job
/// with pp = 2 on four 8-GPU nodes in two racks behind 4:1, gradient 2.6 GB (1.3 GB per
/// stage), `network.activation_gb` = 1.6, compute 1000 ms, no overlap. Its factor is
/// 1008.09375 / 1032.375, so 1000 s of work take 1000 × 1032.375 / 1008.09375 s.
#[test]
fn pipeline_stages_slow_a_job_as_worked_by_hand() {
    let r = report(4, SPINE_4_TO_1);
    let mut training = common::job(0.0, 1000.0, 32, 1000);
    training.comm = Some(Box::new(CommHints {
        gradient_gb: Some(2.6),
        compute_ms: Some(1000.0),
        overlap: Some(0.0),
        tp: 1,
        pp: 2,
    }));
    let w = common::workload(vec![training]);
    let cfg = NetworkConfig {
        activation_gb: Some(1.6),
        ..NetworkConfig::default()
    };
    let model = NetworkModel::new(&r.cluster, r.fabric.clone().unwrap(), &cfg, w.jobs.len());
    let out = Simulation::new(
        &r.cluster,
        &w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_model(Box::new(model))
    .run(&mut |_| {});
    let run_s = 1000.0 * 1032.375 / 1008.09375;
    let end = out.jobs[0].end.expect("finished").as_secs_f64();
    assert!((end - run_s).abs() < 2e-3, "end {end}, expected {run_s}");
}

/// `default_profile = "megatron-by-size"`: a 32-GPU training job with no hints takes the
/// 32-GPU row of Megatron-LM's weak-scaling table (1.7B: h 2304, 24 layers, tp 1, pp 1;
/// its gradient 2 bytes per parameter, the parameters by the paper's formula, checked
/// against the printed 1.7B in `network::profile`). On four nodes in two racks behind
/// 4:1 (B = 200 GB/s, 400 GB/s non-blocking), compute 1000 ms, no overlap:
/// comm = 2 · 31/32 · S / B, so 1000 s of work take 1000 × (1000 + c₂₀₀) / (1000 + c₄₀₀) s.
#[test]
fn megatron_by_size_gives_a_job_its_rows_gradient() {
    use dcsim::network::profile::{DefaultProfile, SizedModel};
    let r = report(4, SPINE_4_TO_1);
    let w = common::workload(vec![common::job(0.0, 1000.0, 32, 1000)]);
    let cfg = NetworkConfig {
        compute_ms: Some(1000.0),
        overlap: Some(0.0),
        default_profile: DefaultProfile::MegatronBySize,
        ..NetworkConfig::default()
    };
    let row = SizedModel::for_gpus(32);
    assert_eq!((row.hidden, row.layers, row.tp, row.pp), (2304, 24, 1, 1));
    let s = 2.0 * row.params();
    let comm = |b: f64| 2.0 * 31.0 / 32.0 * s / b * 1000.0;
    let run_s = 1000.0 * (1000.0 + comm(200e9)) / (1000.0 + comm(400e9));
    let model = NetworkModel::new(&r.cluster, r.fabric.clone().unwrap(), &cfg, w.jobs.len());
    let out = Simulation::new(
        &r.cluster,
        &w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("first-fit").unwrap(),
        SimConfig::default(),
    )
    .with_model(Box::new(model))
    .run(&mut |_| {});
    let end = out.jobs[0].end.expect("finished").as_secs_f64();
    assert!((end - run_s).abs() < 2e-3, "end {end}, expected {run_s}");
    // The fixed default (2.6 GB) gives another end: the row's gradient was used.
    let fixed = 1000.0 * (1000.0 + 2.0 * 31.0 / 32.0 * 2.6e9 / 200e9 * 1000.0)
        / (1000.0 + 2.0 * 31.0 / 32.0 * 2.6e9 / 400e9 * 1000.0);
    assert!((end - fixed).abs() > 0.5, "end {end}, fixed default {fixed}");
}
