//! Tensor-parallel groups never split across nodes: with a job's `tp` > 1, `topo-aware`
//! and `best-fit` give every node a multiple of `tp` of the gang's GPUs (issue 14:
//! "tensor parallelism kept inside the NVLink domain"), on hand-worked cases.

use std::path::Path;

use dcsim::scheduler::{registry, FreeCapacity, GpuGrant, ModelMask, PlacementRequest};
use dcsim::topology::{self, LoadReport, NodeId};
use dcsim::workload::{GpuDemand, HostDemand, MILLI_PER_GPU};

/// Four 8-GPU H100 nodes, two per leaf, both leaves in one pod.
fn report() -> LoadReport {
    let text = r#"
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
count = 4
[fabric]
layout = "leaf-spine"
nic_gbps = 400.0
nvlink_gbytes_per_s = 450.0
leaves_per_pod = 2
"#;
    topology::parse_report(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// Free GPUs per node 6, 6 (leaf 0) and 5, 5 (leaf 1).
fn free_index(report: &LoadReport, prepare: &dyn dcsim::scheduler::Placement) -> FreeCapacity {
    let mut free = FreeCapacity::new(&report.cluster, false);
    prepare.prepare(&mut free);
    for (n, busy) in [(0, 2), (1, 2), (2, 3), (3, 3)] {
        let node = NodeId(n);
        let gpus = free.free_mask(node, busy);
        free.allocate(GpuGrant { node, gpus }, MILLI_PER_GPU);
    }
    free
}

fn gang(gpus: u32, tp: u32) -> PlacementRequest {
    PlacementRequest {
        demand: GpuDemand {
            gpus,
            milli_per_gpu: MILLI_PER_GPU,
        },
        models: ModelMask(1),
        host: HostDemand::NONE,
        tp,
    }
}

/// `(node, GPUs)` granted by placement `name` to `req`, or None when it refuses.
fn place(name: &str, req: &PlacementRequest) -> Option<Vec<(u32, u32)>> {
    let r = report();
    let mut p = registry::placement(name).expect("registered");
    p.bind_fabric(r.fabric.as_ref().expect("fabric"));
    let free = free_index(&r, p.as_ref());
    let mut out = Vec::new();
    p.place(req, &free, &mut out)
        .then(|| out.iter().map(|g| (g.node.0, g.gpus.count_ones())).collect())
}

/// Free 6, 6 | 5, 5. A 16-GPU gang, by hand:
/// - tp = 1 (topo-aware): no leaf holds 16; leaf 0 (12 free) whole, nodes 0 and 1 with
///   6 each, the remaining 4 on the tightest node of leaf 1 holding 4 (node 2): 6, 6, 4;
///   a tensor-parallel group of 4 would straddle nodes 0 and 1 (6 = 4 + 2).
/// - tp = 4: each node's free GPUs round down to 4 (leaf 0 gives 8, leaf 1 gives 8):
///   4 on each of nodes 0, 1 (leaf 0), then 4 on each of nodes 2, 3 (leaf 1).
/// - best-fit, tp = 1: nodes most free first (0, 1 with 6), the remaining 4 on the
///   tightest node holding it (node 2): 6, 6, 4; with tp = 4: 4 on each node.
/// - 20 GPUs at tp = 4: 22 GPUs are free but only 16 in whole groups of 4: refused;
///   at tp = 1 it fits.
#[test]
fn tp_groups_stay_on_one_node_by_hand() {
    assert_eq!(
        place("topo-aware", &gang(16, 1)),
        Some(vec![(0, 6), (1, 6), (2, 4)])
    );
    assert_eq!(
        place("topo-aware", &gang(16, 4)),
        Some(vec![(0, 4), (1, 4), (2, 4), (3, 4)])
    );
    assert_eq!(
        place("best-fit", &gang(16, 1)),
        Some(vec![(0, 6), (1, 6), (2, 4)])
    );
    assert_eq!(
        place("best-fit", &gang(16, 4)),
        Some(vec![(0, 4), (1, 4), (2, 4), (3, 4)])
    );
    for name in ["topo-aware", "best-fit"] {
        assert_eq!(place(name, &gang(20, 4)), None, "{name}");
        assert!(place(name, &gang(20, 1)).is_some(), "{name}");
    }
}

/// tp = 2 on free 6, 6 | 5, 5: a 12-GPU gang fits leaf 0 alone (6 + 6, both even), so
/// topo-aware keeps it on one leaf; 20 GPUs at tp = 2 take 6, 6 on leaf 0 and 4, 4 on
/// leaf 1 (5 rounds down to 4), each node's share even.
#[test]
fn tp_two_by_hand() {
    assert_eq!(place("topo-aware", &gang(12, 2)), Some(vec![(0, 6), (1, 6)]));
    assert_eq!(
        place("topo-aware", &gang(20, 2)),
        Some(vec![(0, 6), (1, 6), (2, 4), (3, 4)])
    );
}
