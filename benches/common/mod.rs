//! Inputs shared by the benches: a synthetic H100 cluster, a synthetic workload, one run.
#![allow(dead_code)]

use dcsim::engine::RngStreams;
use dcsim::scheduler::registry;
use dcsim::sim::{SimConfig, Simulation};
use dcsim::topology::{Cluster, GpuModelId, Hall, HallId, Node, Rack, RackId, Row, RowId};
use dcsim::workload::synthetic::{self, SyntheticConfig};
use dcsim::workload::Workload;

/// `gpus / 8` DGX H100-like nodes of 8 GPUs, `nodes_per_rack` per rack, one row.
pub fn h100_cluster(gpus: u32, nodes_per_rack: u32) -> Cluster {
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
                rack: RackId(n / nodes_per_rack),
            })
            .collect(),
        racks: (0..nodes.div_ceil(nodes_per_rack))
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

/// Gang sizes 1–8 GPUs, mostly single-GPU jobs.
pub const SMALL_GANGS: &str = "values = [1, 2, 4, 8], weights = [70, 10, 10, 10]";

/// Poisson arrivals at offered load 0.9, exponential durations (mean 1 h), gang sizes from
/// `gpus` (a `choice` distribution's `values` and `weights`), seed 7.
pub fn synthetic_jobs(jobs: u64, capacity: u64, gpus: &str) -> Workload {
    let cfg: SyntheticConfig = toml::from_str(&format!(
        r#"
        jobs = {jobs}
        arrival = {{ process = "poisson", offered_load = 0.9 }}
        gpus = {{ dist = "choice", {gpus} }}
        duration = {{ dist = "exponential", mean_s = 3600.0 }}
        "#
    ))
    .expect("bench config parses");
    synthetic::generate(&cfg, &RngStreams::new(7), 0, None, capacity).expect("bench workload generates")
}

/// One run under `queue` and best fit; returns the events processed.
pub fn run_once(cluster: &Cluster, w: &Workload, queue: &str) -> u64 {
    let sim = Simulation::new(
        cluster,
        w,
        registry::queue_policy(queue).expect("known policy"),
        registry::placement("best-fit").expect("known policy"),
        SimConfig::default(),
    );
    sim.run(&mut |_| {}).events
}
