//! Cost of the issue-4 part-2 queue policies against FIFO on the same inputs.
//!
//! - `synthetic`: 200k jobs, Poisson arrivals at offered load 0.9, gangs of 1–8 GPUs,
//!   exponential durations (mean 1 h) on 10,000 H100s (the engine bench's workload);
//!   throughput in simulator events per second. Tiresias must stay within 5× FIFO's time.
//! - `philly`: the Philly 2017 trace (82,247 jobs) on its 2,490-GPU cluster with arrivals
//!   compressed 6× (the contention of `tests/policies_q2.rs`); skipped when
//!   `../shared/traces` is absent.

mod common;

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use dcsim::topology::Cluster;
use dcsim::workload::adapters::{read_trace, TraceFormat};
use dcsim::workload::transform::{self, TransformConfig};
use dcsim::workload::Workload;

/// The policies compared, FIFO first as the baseline.
const POLICIES: &[&str] = &["fifo", "tiresias", "gittins", "qssf", "quota", "fair-share"];

fn bench_all(c: &mut Criterion, group: &str, label: &str, cluster: &Cluster, w: &Workload) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for &queue in POLICIES {
        g.throughput(Throughput::Elements(common::run_once(cluster, w, queue)));
        g.bench_function(format!("{queue}+best-fit/{label}"), |b| {
            b.iter(|| common::run_once(cluster, w, queue))
        });
    }
    g.finish();
}

fn synthetic(c: &mut Criterion) {
    let cluster = common::h100_cluster(10_000, 4);
    let w = common::synthetic_jobs(200_000, cluster.total_gpus(), common::SMALL_GANGS);
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
