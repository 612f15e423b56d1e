//! Sweep machinery overhead: what a sweep adds to each run of the default scenario.
//!
//! - `sweep_overhead/simulate`: one run of `scenarios/default.toml` with its cluster and
//!   workload already loaded (fresh policies, the simulation, its summary, no job or
//!   series rows kept, as in a sweep): the work a sweep cannot avoid.
//! - `sweep_overhead/sweep_run`: the same run as a sweep does it: the scenario text
//!   re-parsed and re-validated with the point's overrides, the cluster and workload
//!   taken from the sweep's cache, policies built, the simulation run, and its journal
//!   line made (figures flattened from the summary and serialised).
//! - `sweep_overhead/machinery`: what `sweep_run` adds alone, timed without the
//!   simulation: the re-parse and re-validation with the point's overrides, and the
//!   journal line of a finished run's summary (cache look-ups are a scan of a few keys).
//!
//! The issue asks for the difference to stay under 5% of a run. Writing the final CSV
//! files from the journal is measured with `dcsim merge` in the README.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};

use dcsim::metrics::{OutputLevel, Recording};
use dcsim::scenario::Scenario;
use dcsim::sim::Simulation;
use dcsim::sweep::journal::Row;
use dcsim::sweep::runner::Caches;
use dcsim::sweep::{figures, Override, Sweep};

fn overhead(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.toml");
    let scenario = Scenario::load(&path).expect("default scenario");
    let report = scenario.load_topology().expect("topology");
    let workload = scenario
        .load_workload(scenario.config.seed, report.cluster.total_gpus())
        .expect("workload");
    let sweep = Sweep::load(&path, &[]).expect("sweep");
    let caches = Caches::new();
    let point = [Override::parse("workload.transform.load_scale=1.0").expect("override")];
    let mut g = c.benchmark_group("sweep_overhead");
    g.sample_size(20);
    g.bench_function("simulate", |b| {
        b.iter(|| {
            let p = scenario
                .policies(&report, &workload, scenario.config.seed)
                .expect("policies");
            let sim = Simulation::new(
                &report.cluster,
                &workload,
                p.queue,
                p.placement,
                scenario.sim_config(),
            );
            // As a sweep keeps it: the summary only, no job or series rows.
            sim.with_recording(Recording {
                level: OutputLevel::Summary,
                ..Recording::default()
            })
            .run(&mut |_| {})
            .summary
        })
    });
    g.bench_function("sweep_run", |b| {
        b.iter(|| {
            let (seed, summary) = sweep.run_one(&point, 0, &caches).expect("run");
            let row = Row {
                run: 0,
                point: 0,
                replication: 0,
                seed,
                values: vec!["1.0".into()],
                figures: figures::of(&summary),
            };
            serde_json::to_string(&row).expect("row")
        })
    });
    let summary = sweep.run_one(&point, 0, &caches).expect("run").1;
    g.bench_function("machinery", |b| {
        b.iter(|| {
            let s = sweep.point_scenario(&point).expect("scenario");
            let row = Row {
                run: 0,
                point: 0,
                replication: 0,
                seed: s.config.seed,
                values: vec!["1.0".into()],
                figures: figures::of(&summary),
            };
            serde_json::to_string(&row).expect("row")
        })
    });
    g.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
