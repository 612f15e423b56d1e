//! Placement policies on hand-worked states: the expected choice is written out per case.

mod common;

use dcsim::scheduler::{registry, FreeCapacity, GpuGrant, ModelMask, PlacementRequest};
use dcsim::topology::NodeId;
use dcsim::workload::{GpuDemand, HostDemand};

/// Two 8-GPU nodes of model A; node 0 has 5 GPUs free, node 1 has 3 free.
fn two_nodes_5_and_3_free() -> FreeCapacity {
    let c = common::cluster(&[("A", 2, 8)]);
    let mut f = FreeCapacity::new(&c, true);
    f.allocate(
        GpuGrant {
            node: NodeId(0),
            gpus: 0b0000_0111,
        },
        1000,
    );
    f.allocate(
        GpuGrant {
            node: NodeId(1),
            gpus: 0b0001_1111,
        },
        1000,
    );
    f
}

fn place(policy: &str, free: &FreeCapacity, demand: GpuDemand) -> Vec<GpuGrant> {
    let mut out = Vec::new();
    let req = PlacementRequest {
        tp: 1,
        demand,
        models: ModelMask(u64::MAX),
        host: HostDemand::NONE,
    };
    registry::placement(policy).unwrap().place(&req, free, &mut out);
    out
}

#[test]
fn first_fit_takes_the_lowest_node_best_fit_the_tightest() {
    let f = two_nodes_5_and_3_free();
    // 2 GPUs: first fit → node 0 (lowest id with ≥ 2 free), its first free GPUs 3 and 4.
    assert_eq!(
        place("first-fit", &f, GpuDemand::whole(2)),
        vec![GpuGrant {
            node: NodeId(0),
            gpus: 0b0001_1000
        }]
    );
    // Best fit → node 1 (3 free leaves 1, node 0 would leave 3): GPUs 5 and 6.
    assert_eq!(
        place("best-fit", &f, GpuDemand::whole(2)),
        vec![GpuGrant {
            node: NodeId(1),
            gpus: 0b0110_0000
        }]
    );
    // 6 GPUs fit on no node: node-local policies refuse, pooled spreads 5 + 1
    // (most-free node first, then the tightest node for the remainder).
    assert!(place("first-fit", &f, GpuDemand::whole(6)).is_empty());
    assert!(place("best-fit", &f, GpuDemand::whole(6)).is_empty());
    assert_eq!(
        place("pooled", &f, GpuDemand::whole(6)),
        vec![
            GpuGrant {
                node: NodeId(0),
                gpus: 0b1111_1000
            },
            GpuGrant {
                node: NodeId(1),
                gpus: 0b0010_0000
            }
        ]
    );
    // 9 GPUs: more than the 8 free in total.
    assert!(place("pooled", &f, GpuDemand::whole(9)).is_empty());
}

#[test]
fn gangs_larger_than_a_node_take_whole_nodes_first() {
    // Three 8-GPU nodes, node 1 has 4 busy. A 12-GPU gang takes node 0 whole (most free,
    // lowest id) and the remaining 4 on node 1 (the tightest node that holds 4).
    let c = common::cluster(&[("A", 3, 8)]);
    let mut f = FreeCapacity::new(&c, true);
    f.allocate(
        GpuGrant {
            node: NodeId(1),
            gpus: 0b0000_1111,
        },
        1000,
    );
    for policy in ["first-fit", "best-fit"] {
        assert_eq!(
            place(policy, &f, GpuDemand::whole(12)),
            vec![
                GpuGrant {
                    node: NodeId(0),
                    gpus: 0xff
                },
                GpuGrant {
                    node: NodeId(1),
                    gpus: 0xf0
                }
            ],
            "{policy}"
        );
    }
}

#[test]
fn sharing_jobs_pack_onto_the_tightest_gpu_under_best_fit() {
    // One 4-GPU node: GPU 0 has 600 free, GPU 1 has 300 free, GPUs 2-3 whole.
    let c = common::cluster(&[("A", 1, 4)]);
    let mut f = FreeCapacity::new(&c, true);
    f.allocate(
        GpuGrant {
            node: NodeId(0),
            gpus: 0b01,
        },
        400,
    );
    f.allocate(
        GpuGrant {
            node: NodeId(0),
            gpus: 0b10,
        },
        700,
    );
    let share = GpuDemand::share(250);
    // First fit: the first GPU with ≥ 250 free is GPU 0.
    assert_eq!(
        place("first-fit", &f, share),
        vec![GpuGrant {
            node: NodeId(0),
            gpus: 0b01
        }]
    );
    // Best fit: GPU 1 leaves 50, GPU 0 would leave 350.
    assert_eq!(
        place("best-fit", &f, share),
        vec![GpuGrant {
            node: NodeId(0),
            gpus: 0b10
        }]
    );
    // 700 fits only on a whole GPU: GPU 2.
    assert_eq!(
        place("best-fit", &f, GpuDemand::share(700)),
        vec![GpuGrant {
            node: NodeId(0),
            gpus: 0b100
        }]
    );
    assert_eq!(f.free_milli(dcsim::topology::GpuModelId(0)), 600 + 300 + 2000);
}

#[test]
fn gpu_model_constraints_are_respected() {
    // Model A (id 0) is full; model B (id 1) has room. A job allowed only on A waits.
    let c = common::cluster(&[("A", 1, 2), ("B", 1, 2)]);
    let mut f = FreeCapacity::new(&c, true);
    f.allocate(
        GpuGrant {
            node: NodeId(0),
            gpus: 0b11,
        },
        1000,
    );
    let mut out = Vec::new();
    let only_a = PlacementRequest {
        tp: 1,
        demand: GpuDemand::whole(1),
        models: ModelMask(0b01),
        host: HostDemand::NONE,
    };
    let only_b = PlacementRequest {
        tp: 1,
        demand: GpuDemand::whole(1),
        models: ModelMask(0b10),
        host: HostDemand::NONE,
    };
    let mut p = registry::placement("best-fit").unwrap();
    assert!(!p.place(&only_a, &f, &mut out));
    assert!(p.place(&only_b, &f, &mut out));
    assert_eq!(
        out,
        vec![GpuGrant {
            node: NodeId(1),
            gpus: 0b01
        }]
    );
}

#[test]
fn unknown_policy_names_list_the_valid_ones() {
    let err = registry::placement("worst-fit-typo").err().unwrap().to_string();
    assert!(
        err.contains("worst-fit-typo") && err.contains("best-fit") && err.contains("first-fit"),
        "{err}"
    );
    let err = registry::queue_policy("lifo").err().unwrap().to_string();
    assert!(err.contains("fifo-skip"), "{err}");
}
