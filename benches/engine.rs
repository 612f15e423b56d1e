//! Engine throughput benchmarks.
//!
//! - `replay`: FIFO + best-fit on a synthetic workload at offered load 0.9 on a
//!   10,000-GPU cluster; throughput in simulator events per second (the target
//!   is at least 5 million events/s on one core).
//! - `scaling`: the same number of jobs at the same offered load on 1k, 10k and 100k GPUs;
//!   the time should stay flat, since cost grows with events, not with cluster size.
//! - `real_traces`: loading and replaying the bundled scenario of each real trace in
//!   `../shared/traces/` on its own topology (skipped when that folder is absent).

use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

mod common;

use dcsim::scenario::Scenario;
use dcsim::scheduler::registry;
use dcsim::sim::{SimConfig, Simulation};

fn replay(c: &mut Criterion) {
    let cluster = common::h100_cluster(10_000, 4);
    let w = common::synthetic_jobs(200_000, cluster.total_gpus(), common::SMALL_GANGS);
    let events = common::run_once(&cluster, &w, "fifo");
    let mut g = c.benchmark_group("replay");
    g.sample_size(10).throughput(Throughput::Elements(events));
    for queue in ["fifo", "fifo-skip"] {
        g.bench_function(format!("{queue}+best-fit/200k-jobs/10k-gpus"), |b| {
            b.iter_batched(
                || (),
                |_| common::run_once(&cluster, &w, queue),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
    // Set-up alone (job table, model masks, arrival order), so the loop's share is known.
    let mut g = c.benchmark_group("replay_setup");
    g.sample_size(10);
    g.bench_function("fifo+best-fit/200k-jobs/10k-gpus", |b| {
        b.iter(|| {
            Simulation::new(
                &cluster,
                &w,
                registry::queue_policy("fifo").expect("known policy"),
                registry::placement("best-fit").expect("known policy"),
                SimConfig::default(),
            )
        })
    });
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling");
    g.sample_size(10);
    for gpus in [1_000, 10_000, 100_000] {
        let cluster = common::h100_cluster(gpus, 4);
        let w = common::synthetic_jobs(200_000, cluster.total_gpus(), common::SMALL_GANGS);
        g.throughput(Throughput::Elements(common::run_once(&cluster, &w, "fifo")));
        g.bench_function(format!("fifo+best-fit/200k-jobs/{gpus}-gpus"), |b| {
            b.iter(|| common::run_once(&cluster, &w, "fifo"))
        });
    }
    g.finish();
}

fn real_traces(c: &mut Criterion) {
    if !Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/traces")
        .exists()
    {
        eprintln!("real_traces: ../shared/traces absent, skipped");
        return;
    }
    let mut g = c.benchmark_group("real_traces");
    g.sample_size(10);
    for name in ["philly", "itp", "dlrm", "default"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
        let scenario = Scenario::load(&path).expect("bundled scenario loads");
        let p = scenario
            .prepare(scenario.config.seed)
            .expect("bundled scenario prepares");
        let (queue, placement) = (
            &scenario.config.scheduler.queue,
            &scenario.config.scheduler.placement,
        );
        g.bench_function(format!("load/{name}"), |b| {
            b.iter(|| {
                scenario
                    .load_workload(scenario.config.seed, p.cluster.total_gpus())
                    .expect("loads")
            })
        });
        g.bench_function(format!("replay/{name}/{queue}+{placement}"), |b| {
            b.iter(|| {
                let sim = Simulation::new(
                    &p.cluster,
                    &p.workload,
                    registry::queue_policy(queue).expect("known policy"),
                    registry::placement(placement).expect("known policy"),
                    scenario.sim_config(),
                );
                sim.run(&mut |_| {}).events
            })
        });
    }
    g.finish();
}

criterion_group!(benches, replay, scaling, real_traces);
criterion_main!(benches);
