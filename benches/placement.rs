//! Placement benchmarks.
//!
//! - `per_placement/<cluster>/<policy>`: time for one placement decision (no
//!   allocation) against a fixed cluster state 70% allocated by best fit from tasks
//!   drawn from the openb pod list, on the real openb cluster (1,213 nodes, 6,212 GPUs,
//!   heterogeneous) with the pods' CPU and memory (`openb`) and without them
//!   (`openb-gpu-only`: CPU and memory not tracked), and on 1,250 eight-GPU H100 nodes
//!   (10,000 GPUs, GPU only). Each iteration places the same 64 openb-drawn tasks;
//!   throughput is placements per second. Without CPU and memory the index-based
//!   policies should be flat in cluster size; with them they check candidate nodes one
//!   by one; the FGD-paper policies scan the candidate nodes, as documented on each.
//! - `inflation/<policy>`: one whole workload-inflation run on openb (tasks drawn until
//!   the arrived GPUs reach capacity, ~8k placements with allocation), CPU and memory
//!   included.

mod common;

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::Rng;

use dcsim::engine::RngStreams;
use dcsim::inflation;
use dcsim::scenario::Scenario;
use dcsim::scheduler::placement::TaskMix;
use dcsim::scheduler::{registry, FreeCapacity, GpuGrant, PlacementRequest};
use dcsim::topology::Cluster;
use dcsim::workload::{HostDemand, Workload};

/// Tasks placed per iteration.
const BATCH: usize = 64;

/// The openb cluster and pod list bundled with the default scenario.
fn openb() -> (Cluster, Workload) {
    let scenario = Scenario::load(Path::new("scenarios/default.toml")).expect("default scenario");
    let cluster =
        dcsim::topology::load(&scenario.resolve(&scenario.config.topology.path)).expect("openb topology");
    let workload = scenario
        .load_workload(42, cluster.total_gpus())
        .expect("openb pod list");
    (cluster, workload)
}

/// A state with 70% of the GPUs allocated by best fit, tracking fragmentation, and the
/// next `BATCH` tasks to place.
fn loaded_state(cluster: &Cluster, tasks: &[PlacementRequest]) -> (FreeCapacity, Vec<PlacementRequest>) {
    let mut free = FreeCapacity::new(cluster, true);
    if tasks.iter().any(|t| !t.host.is_none()) {
        free.track_host(cluster);
    }
    free.track_fragmentation(TaskMix::from_requests(
        cluster.models.len(),
        tasks.iter().copied(),
    ));
    let mut rng = RngStreams::new(1).stream("bench", 0);
    let mut best_fit = registry::placement("best-fit").expect("best-fit");
    let target = cluster.total_gpus() * 700;
    let mut allocated = 0;
    let mut out: Vec<GpuGrant> = Vec::new();
    while allocated < target {
        let t = tasks[rng.gen_range(0..tasks.len())];
        out.clear();
        if best_fit.place(&t, &free, &mut out) {
            free.allocate_job(&out, &t);
            allocated += t.demand.total_milli();
        }
    }
    let next = (0..BATCH).map(|_| tasks[rng.gen_range(0..tasks.len())]).collect();
    (free, next)
}

fn per_placement(c: &mut Criterion) {
    let (openb_cluster, workload) = openb();
    let h100 = common::h100_cluster(10_000, 8);
    let mut group = c.benchmark_group("per_placement");
    group.sample_size(20);
    group.throughput(Throughput::Elements(BATCH as u64));
    for (label, cluster, host) in [
        ("openb", &openb_cluster, true),
        ("openb-gpu-only", &openb_cluster, false),
        ("h100-10k", &h100, false),
    ] {
        let mut tasks = inflation::requests(cluster, &workload);
        if !host {
            tasks.iter_mut().for_each(|t| t.host = HostDemand::NONE);
        }
        let (free, next) = loaded_state(cluster, &tasks);
        for entry in registry::PLACEMENTS {
            let mut policy = registry::placement(entry.name).expect("registered");
            let mut out = Vec::new();
            group.bench_function(format!("{label}/{}", entry.name), |b| {
                b.iter(|| {
                    let mut placed = 0;
                    for t in &next {
                        out.clear();
                        placed += usize::from(policy.place(t, &free, &mut out));
                    }
                    placed
                })
            });
        }
    }
    group.finish();
}

fn inflation_runs(c: &mut Criterion) {
    let (cluster, workload) = openb();
    let tasks = inflation::requests(&cluster, &workload);
    let mut group = c.benchmark_group("inflation");
    group.sample_size(10);
    for name in ["best-fit", "fgd", "dot-product", "gpu-packing", "random"] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut p = registry::placement(name).expect("registered");
                inflation::run(&cluster, &tasks, p.as_mut(), 0).len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, per_placement, inflation_runs);
criterion_main!(benches);
