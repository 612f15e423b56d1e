//! Cost of power accounting on a FIFO replay.
//!
//! For the largest real trace (Philly 2017, 82,247 jobs) and the 1M-job synthetic
//! workload (`scenarios/synthetic-1m.toml`), each on its own topology, FIFO + best-fit:
//! - `off`: no power model (the baseline);
//! - `on`: power accounting in oversubscription mode with no caps (job power, energy
//!   integrals, the `power.csv` series and the per-interval level statistics);
//! - `capped` (Philly only): the same with the feed capped at 60% of nameplate, so
//!   throttling runs (whole-tree recomputation at every change while the feed binds;
//!   on the 1M-job workload at load 0.9 that is most of the run, too slow for a bench).
//!
//! The target is at most +50% over `off` for `on`; measured figures, and why Philly's
//! `off` reading depends on the allocator (run with `MALLOC_MMAP_THRESHOLD_=33554432
//! MALLOC_TRIM_THRESHOLD_=4294967296` to keep it warm), are in docs/validation.md, Power,
//! Speed. Skipped when `../shared` is absent.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

use dcsim::power::{self, PowerConfig, PowerMode, PowerTree};
use dcsim::scenario::Scenario;
use dcsim::scheduler::registry;
use dcsim::sim::{RunOutput, Simulation};
use dcsim::topology::config::TopologyPower;
use dcsim::topology::{self, Cluster};
use dcsim::workload::Workload;

fn replay(
    cluster: &Cluster,
    w: &Workload,
    scenario: &Scenario,
    power: Option<(&PowerConfig, &TopologyPower)>,
) -> RunOutput {
    let sim = Simulation::new(
        cluster,
        w,
        registry::queue_policy("fifo").expect("known policy"),
        registry::placement("best-fit").expect("known policy"),
        scenario.sim_config(),
    );
    let sim = match power {
        Some((cfg, topo)) => {
            let p = power::setup(cfg, cluster, topo, w.jobs.len(), Path::new("."), 0)
                .expect("valid power set-up")
                .expect("power on");
            sim.with_model(Box::new(p))
        }
        None => sim,
    };
    sim.run(&mut |_| {})
}

fn power_overhead(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join("../shared/traces").exists() {
        eprintln!("power: ../shared/traces absent, skipped");
        return;
    }
    let mut g = c.benchmark_group("power");
    g.sample_size(10);
    for name in ["philly", "synthetic-1m"] {
        let scenario =
            Scenario::load(&root.join(format!("scenarios/{name}.toml"))).expect("bundled scenario loads");
        let p = scenario
            .prepare(scenario.config.seed)
            .expect("bundled scenario prepares");
        let report =
            topology::load_report(&scenario.resolve(&scenario.config.topology.path)).expect("topology loads");
        let cfg = PowerConfig {
            mode: PowerMode::Oversubscription,
            ..PowerConfig::default()
        };
        let mut capped = report.power.clone();
        let nameplate = PowerTree::build(&p.cluster, &report.power, &cfg)
            .expect("tree builds")
            .nameplate_w[0];
        capped.feed_w = 0.6 * nameplate;
        let variants: [(&str, Option<(&PowerConfig, &TopologyPower)>); 3] = [
            ("off", None),
            ("on", Some((&cfg, &report.power))),
            ("capped", Some((&cfg, &capped))),
        ];
        for (label, power) in variants {
            if label == "capped" && name != "philly" {
                continue;
            }
            g.bench_function(format!("{name}/fifo+best-fit/{label}"), |b| {
                b.iter_batched(
                    || (),
                    |_| replay(&p.cluster, &p.workload, &scenario, power),
                    BatchSize::PerIteration,
                )
            });
        }
    }
    g.finish();
}

criterion_group!(benches, power_overhead);
criterion_main!(benches);
