//! Builders shared by the integration tests: small hand-made clusters and workloads.
#![allow(dead_code)]

use dcsim::engine::SimTime;
use dcsim::hardware::GpuSpec;
use dcsim::topology::{Cluster, GpuModelId, Hall, HallId, Node, Rack, RackId, Row, RowId};
use dcsim::workload::{GpuDemand, JobSpec, TenantId, Workload};

/// A GPU model with placeholder power figures (tests of scheduling ignore them).
pub fn gpu(name: &str) -> GpuSpec {
    GpuSpec {
        name: name.to_string(),
        aliases: vec![],
        tdp_w: 400.0,
        idle_w: 50.0,
        memory_gib: 80.0,
        fp16_tflops: 0.0,
        memory_bw_tbs: 0.0,
        relative_speed: 1.0,
        speed_by_class: Default::default(),
        source: "test".to_string(),
    }
}

/// A cluster with `groups` of (model name, node count, GPUs per node), one rack per group.
pub fn cluster(groups: &[(&str, u32, u32)]) -> Cluster {
    let mut models: Vec<GpuSpec> = Vec::new();
    let mut nodes = Vec::new();
    let mut racks = Vec::new();
    for (g, &(model, count, gpus)) in groups.iter().enumerate() {
        let m = match models.iter().position(|s| s.name == model) {
            Some(i) => i,
            None => {
                models.push(gpu(model));
                models.len() - 1
            }
        };
        racks.push(Rack {
            name: format!("rack{g}"),
            row: RowId(0),
        });
        for n in 0..count {
            nodes.push(Node {
                name: format!("{model}-{n}"),
                model: GpuModelId(m as u16),
                gpus,
                cpu_milli: 64_000,
                memory_mib: 512 * 1024,
                rack: RackId(g as u32),
            });
        }
    }
    Cluster {
        name: "test".into(),
        models,
        nodes,
        racks,
        rows: vec![Row {
            name: "row0".into(),
            hall: HallId(0),
        }],
        halls: vec![Hall { name: "hall0".into() }],
    }
}

/// One job: submit and duration in seconds, `gpus` at `milli` each.
pub fn job(submit_s: f64, duration_s: f64, gpus: u32, milli: u32) -> JobSpec {
    let demand = GpuDemand {
        gpus,
        milli_per_gpu: milli,
    };
    let (submit, duration) = (
        SimTime::try_from_secs_f64(submit_s).expect("a time in range"),
        SimTime::try_from_secs_f64(duration_s).expect("a time in range"),
    );
    JobSpec::new(String::new(), submit, duration, demand, TenantId(0))
}

/// A workload of `jobs` (sorted and numbered here), one tenant.
pub fn workload(jobs: Vec<JobSpec>) -> Workload {
    let mut w = Workload {
        rows_read: jobs.len() as u64,
        jobs,
        tenants: vec!["t0".into()],
        ..Default::default()
    };
    for (i, j) in w.jobs.iter_mut().enumerate() {
        j.name = format!("j{i}").into();
    }
    w.finish();
    w
}
