//! Cost of the issue-4 part-2 queue policies against FIFO on the same inputs.
//!
//! - `synthetic`: 200k jobs, Poisson arrivals at offered load 0.9, gangs of 1–8 GPUs,
//!   exponential durations (mean 1 h) on 10,000 H100s (the engine bench's workload);
//!   throughput in simulator events per second. Tiresias must stay within 5× FIFO's time.
//! - `philly`: the Philly 2017 trace (82,247 jobs) on its 2,490-GPU cluster with arrivals
//!   compressed 6× (the contention of `tests/policies_q2.rs`); skipped when
//!   `../shared/traces` is absent.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use dcsim::engine::RngStreams;
use dcsim::scheduler::registry;
use dcsim::sim::{SimConfig, Simulation};
use dcsim::topology::{Cluster, GpuModelId, Hall, HallId, Node, Rack, RackId, Row, RowId};
use dcsim::workload::adapters::{read_trace, TraceFormat};
use dcsim::workload::synthetic::{self, SyntheticConfig};
use dcsim::workload::transform::{self, TransformConfig};
use dcsim::workload::Workload;

/// The policies compared, FIFO first as the baseline.
const POLICIES: &[&str] = &["fifo", "tiresias", "gittins", "qssf", "quota", "fair-share"];

/// `gpus / 8` nodes of 8 H100s, 4 nodes per rack.
fn h100_cluster(gpus: u32) -> Cluster {
    let nodes = gpus / 8;
    let model = dcsim::hardware::lookup("H100-SXM5").expect("catalog has H100-SXM5");
    Cluster {
        name: format!("h100-{gpus}"),
        models: vec![model],
        nodes: (0..nodes)
            .map(|n| Node {
                name: format!("n{n}"),
                model: GpuModelId(0),
                gpus: 8,
                cpu_milli: 224_000,
                memory_mib: 2 << 20,
                rack: RackId(n / 4),
            })
            .collect(),
        racks: (0..nodes.div_ceil(4))
            .map(|r| Rack {
                name: format!("r{r}"),
                row: RowId(0),
            })
            .collect(),
        rows: vec![Row {
            name: "row0".into(),
            hall: HallId(0),
        }],
        halls: vec![Hall { name: "hall0".into() }],
    }
}

/// Poisson arrivals at offered load 0.9; gangs of 1–8 GPUs; exponential durations.
fn synthetic_jobs(jobs: u64, capacity: u64) -> Workload {
    let cfg: SyntheticConfig = toml::from_str(&format!(
        r#"
        jobs = {jobs}
        arrival = {{ process = "poisson", offered_load = 0.9 }}
        gpus = {{ dist = "choice", values = [1, 2, 4, 8], weights = [70, 10, 10, 10] }}
        duration = {{ dist = "exponential", mean_s = 3600.0 }}
        "#
    ))
    .expect("bench config parses");
    synthetic::generate(&cfg, &RngStreams::new(7), 0, None, capacity).expect("bench workload generates")
}

fn run_once(cluster: &Cluster, w: &Workload, queue: &str) -> u64 {
    let sim = Simulation::new(
        cluster,
        w,
        registry::queue_policy(queue).expect("known policy"),
        registry::placement("best-fit").expect("known policy"),
        SimConfig::default(),
    );
    sim.run(&mut |_| {}).events
}

fn bench_all(c: &mut Criterion, group: &str, label: &str, cluster: &Cluster, w: &Workload) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for &queue in POLICIES {
        g.throughput(Throughput::Elements(run_once(cluster, w, queue)));
        g.bench_function(format!("{queue}+best-fit/{label}"), |b| {
            b.iter(|| run_once(cluster, w, queue))
        });
    }
    g.finish();
}

fn synthetic(c: &mut Criterion) {
    let cluster = h100_cluster(10_000);
    let w = synthetic_jobs(200_000, cluster.total_gpus());
    bench_all(c, "policies_q2_synthetic", "200k-jobs/10k-gpus", &cluster, &w);
}

fn philly(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let trace = root.join("../shared/traces/philly-2017-pollux/philly.csv");
    if !trace.exists() {
        eprintln!("philly: ../shared/traces absent, skipped");
        return;
    }
    let cluster = dcsim::topology::load(&root.join("topologies/philly.toml")).expect("topology loads");
    let w = read_trace(TraceFormat::Philly, &trace).expect("trace loads");
    let w = transform::apply(
        w,
        &TransformConfig {
            load_scale: Some(6.0),
            ..TransformConfig::default()
        },
    )
    .expect("transform applies");
    bench_all(c, "policies_q2_philly", "philly-x6", &cluster, &w);
}

criterion_group!(benches, synthetic, philly);
criterion_main!(benches);
