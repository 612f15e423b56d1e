//! Cost of the duration-aware, backfilling and preemptive queue policies against FIFO.
//!
//! - `synthetic`: 200,000 jobs, Poisson arrivals at offered load 0.9 on 10,000 H100s
//!   (gangs of 1–8 GPUs, exponential durations, as in `benches/engine.rs`), best-fit
//!   placement: every queue policy on the same workload, throughput in simulator events.
//!   Nothing queues there (the policies' fixed overhead); the `large-gangs` variant adds
//!   64- and 256-GPU gangs (5% of jobs), which block the head and build queues, the
//!   case backfilling is for. The target: backfilling within 5× FIFO's time. EASY
//!   meets it; so does conservative (2.5–4× FIFO on `philly`, down from about 11×)
//!   since a start that misses its reserved time (placement fragmentation on Philly's
//!   mix of 2- and 8-GPU servers, which the pooled profile does not see) patches the
//!   profile in place instead of rebuilding every reservation.
//! - `philly`: the real Philly 2017 trace (82,247 jobs) with arrivals ×6 (offered load
//!   ≈ 0.9, as in tests/policies_q1.rs) on the Philly cluster; skipped when
//!   `../shared/traces` is absent.

mod common;

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use dcsim::topology::Cluster;
use dcsim::workload::adapters::{read_trace, TraceFormat};
use dcsim::workload::transform::{self, TransformConfig};
use dcsim::workload::Workload;

/// The queue policies compared: the FIFO baselines and this bench's subjects.
const POLICIES: [&str; 7] = [
    "fifo",
    "fifo-skip",
    "sjf",
    "srtf",
    "easy",
    "conservative",
    "priority",
];

fn compare(c: &mut Criterion, group: &str, cluster: &Cluster, w: &Workload) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for queue in POLICIES {
        g.throughput(Throughput::Elements(common::run_once(cluster, w, queue)));
        g.bench_function(format!("{queue}+best-fit"), |b| {
            b.iter(|| common::run_once(cluster, w, queue))
        });
    }
    g.finish();
}

fn synthetic(c: &mut Criterion) {
    let cluster = common::h100_cluster(10_000, 4);
    let small = "values = [1, 2, 4, 8], weights = [70, 10, 10, 10]";
    let w = common::synthetic_jobs(200_000, cluster.total_gpus(), small);
    compare(c, "policies_q1/synthetic-200k-jobs-10k-gpus", &cluster, &w);
    let large = "values = [1, 2, 4, 8, 64, 256], weights = [60, 10, 10, 15, 4, 1]";
    let w = common::synthetic_jobs(200_000, cluster.total_gpus(), large);
    compare(
        c,
        "policies_q1/synthetic-200k-jobs-10k-gpus-large-gangs",
        &cluster,
        &w,
    );
}

fn philly(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let trace = root.join("../shared/traces/philly-2017-pollux/philly.csv");
    if !trace.exists() {
        eprintln!("philly: {} absent, skipped", trace.display());
        return;
    }
    let cluster = dcsim::topology::load(&root.join("topologies/philly.toml")).expect("topology loads");
    let w = read_trace(TraceFormat::Philly, &trace).expect("trace reads");
    let cfg = TransformConfig {
        load_scale: Some(6.0),
        ..TransformConfig::default()
    };
    let w = transform::apply(w, &cfg).expect("transform applies");
    compare(c, "policies_q1/philly-x6", &cluster, &w);
}

criterion_group!(benches, synthetic, philly);
criterion_main!(benches);
