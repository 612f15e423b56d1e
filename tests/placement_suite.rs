//! The placement policies added with the FGD work, each on a hand-worked state with the
//! expected node and GPUs written out; FGD against best fit on a case where they differ,
//! with the fragmentation worked by hand; the incremental fragmentation index against a
//! from-scratch recomputation; and the FGD paper's direction on the real openb cluster.

mod common;

use proptest::prelude::*;

use dcsim::inflation;
use dcsim::scenario::Scenario;
use dcsim::scheduler::placement::TaskMix;
use dcsim::scheduler::{registry, FreeCapacity, GpuGrant, ModelMask, PlacementRequest};
use dcsim::sim::{SimConfig, Simulation};
use dcsim::topology::{Cluster, NodeId};
use dcsim::workload::{GpuDemand, HostDemand, JobSpec};

fn grant(node: u32, gpus: u64) -> GpuGrant {
    GpuGrant {
        node: NodeId(node),
        gpus,
    }
}

fn any(demand: GpuDemand) -> PlacementRequest {
    PlacementRequest {
        tp: 1,
        demand,
        models: ModelMask(u64::MAX),
        host: HostDemand::NONE,
    }
}

fn place(policy: &str, free: &FreeCapacity, demand: GpuDemand) -> Vec<GpuGrant> {
    let mut out = Vec::new();
    registry::placement(policy)
        .unwrap()
        .place(&any(demand), free, &mut out);
    out
}

/// Allocates whole GPUs `mask` of `node`.
fn take(f: &mut FreeCapacity, node: u32, mask: u64) {
    f.allocate(grant(node, mask), 1000);
}

/// Two 8-GPU nodes of model A; node 0 has 5 GPUs free (3..8), node 1 has 3 free (5..8).
fn two_nodes_5_and_3_free() -> FreeCapacity {
    let c = common::cluster(&[("A", 2, 8)]);
    let mut f = FreeCapacity::new(&c, true);
    take(&mut f, 0, 0b0000_0111);
    take(&mut f, 1, 0b0001_1111);
    f
}

#[test]
fn worst_fit_takes_the_node_left_with_most_free() {
    let f = two_nodes_5_and_3_free();
    // 2 GPUs: node 0 is left with 3 free, node 1 with 1 → node 0, its first free GPUs 3, 4.
    assert_eq!(
        place("worst-fit", &f, GpuDemand::whole(2)),
        vec![grant(0, 0b0001_1000)]
    );
    // A sharing job takes a whole free GPU on the node with the most of them: node 0, GPU 3.
    assert_eq!(
        place("worst-fit", &f, GpuDemand::share(300)),
        vec![grant(0, 0b0000_1000)]
    );
}

#[test]
fn random_fit_only_draws_nodes_that_fit_and_draws_them_all() {
    let f = two_nodes_5_and_3_free();
    // 4 GPUs fit only on node 0 (5 free): whatever the draw, node 0, GPUs 3..=6.
    for seed in 0..20 {
        let mut p = registry::build_placement("random", &toml::Table::new(), seed).unwrap();
        let mut out = Vec::new();
        assert!(p.place(&any(GpuDemand::whole(4)), &f, &mut out));
        assert_eq!(out, vec![grant(0, 0b0111_1000)]);
    }
    // 2 GPUs fit on both: over 2,000 draws each node gets about half (binomial, σ ≈ 22).
    let mut p = registry::build_placement("random", &toml::Table::new(), 7).unwrap();
    let mut on_node0 = 0;
    for _ in 0..2000 {
        let mut out = Vec::new();
        assert!(p.place(&any(GpuDemand::whole(2)), &f, &mut out));
        on_node0 += usize::from(out[0].node == NodeId(0));
    }
    assert!((900..1100).contains(&on_node0), "{on_node0} of 2000 on node 0");
}

#[test]
fn consolidate_keeps_a_gang_in_one_rack() {
    // Rack 0: nodes 0, 1 (4 GPUs each); rack 1: nodes 2, 3, 4. Free: node 0 all 4,
    // node 1 GPU 3, nodes 2 and 3 GPUs 1..=3, node 4 none. A 6-GPU gang needs 2 nodes.
    let c = common::cluster(&[("A", 2, 4), ("A", 3, 4)]);
    let mut f = FreeCapacity::new(&c, false);
    take(&mut f, 1, 0b0111);
    take(&mut f, 2, 0b0001);
    take(&mut f, 3, 0b0001);
    take(&mut f, 4, 0b1111);
    // Best fit spreads most-free first: node 0 (4), then the tightest node holding the
    // remaining 2, node 2 (3 free) → 2 nodes in 2 racks.
    assert_eq!(
        place("best-fit", &f, GpuDemand::whole(6)),
        vec![grant(0, 0b1111), grant(2, 0b0110)]
    );
    // Consolidate: rack 1 has 6 free, on nodes 2 and 3 → 2 nodes in 1 rack.
    assert_eq!(
        place("consolidate", &f, GpuDemand::whole(6)),
        vec![grant(2, 0b1110), grant(3, 0b1110)]
    );
    // A gang that fits on one node goes by best fit: 2 GPUs → node 2 or 3 (3 free,
    // lowest id) rather than node 0 (4 free).
    assert_eq!(
        place("consolidate", &f, GpuDemand::whole(2)),
        vec![grant(2, 0b0110)]
    );
}

#[test]
fn model_affinity_prefers_the_cheapest_model() {
    // Node 0 is a fast model (relative speed 2), node 1 a slow one; both 8 GPUs, empty.
    let mut c: Cluster = common::cluster(&[("FAST", 1, 8), ("SLOW", 1, 8)]);
    c.models[0].relative_speed = 2.0;
    let f = FreeCapacity::new(&c, false);
    // Best fit ties (7 left on both) and takes the earlier model; model affinity the slow one.
    assert_eq!(place("best-fit", &f, GpuDemand::whole(1)), vec![grant(0, 0b1)]);
    assert_eq!(
        place("model-affinity", &f, GpuDemand::whole(1)),
        vec![grant(1, 0b1)]
    );
    // A job that allows only the fast model still gets it.
    let mut out = Vec::new();
    let req = PlacementRequest {
        tp: 1,
        demand: GpuDemand::whole(1),
        models: ModelMask(0b01),
        host: HostDemand::NONE,
    };
    assert!(registry::placement("model-affinity")
        .unwrap()
        .place(&req, &f, &mut out));
    assert_eq!(out, vec![grant(0, 0b1)]);
}

#[test]
fn gpu_packing_prefers_used_nodes_and_dot_product_aligns() {
    // Node 0: 8 GPUs, GPU 0 used (7 free); node 1: 4 GPUs, empty.
    let c = common::cluster(&[("A", 1, 8), ("A", 1, 4)]);
    let mut f = FreeCapacity::new(&c, true);
    take(&mut f, 0, 0b1);
    // Best fit: node 1 is left with 3, node 0 with 6 → node 1.
    assert_eq!(place("best-fit", &f, GpuDemand::whole(1)), vec![grant(1, 0b1)]);
    // Packing: free GPUs on a used node (node 0) beat an idle node → node 0, GPU 1.
    assert_eq!(
        place("gpu-packing", &f, GpuDemand::whole(1)),
        vec![grant(0, 0b10)]
    );
    // Dot product over the GPUs normalised by the largest node (8 GPUs; no CPU tracked):
    // node 0: 1/8 · 7/8 = 0.109; node 1: 1/8 · 4/8 = 0.0625; the smaller wins → node 1.
    assert_eq!(place("dot-product", &f, GpuDemand::whole(1)), vec![grant(1, 0b1)]);
}

#[test]
fn gpu_clustering_groups_equal_requests() {
    let c = common::cluster(&[("A", 3, 2)]);
    let mut f = FreeCapacity::new(&c, true);
    let mut p = registry::placement("gpu-clustering").unwrap();
    let mut step = |f: &mut FreeCapacity, d: GpuDemand| {
        let mut out = Vec::new();
        assert!(p.place(&any(d), f, &mut out));
        f.allocate(out[0], d.milli_per_gpu);
        out[0]
    };
    // All idle: the first node. Then 0.3 GPU avoids node 0 (it holds 0.5-GPU tasks) for
    // an idle node, and a second 0.5 GPU returns to node 0, onto the same GPU.
    assert_eq!(step(&mut f, GpuDemand::share(500)), grant(0, 0b01));
    assert_eq!(step(&mut f, GpuDemand::share(300)), grant(1, 0b01));
    assert_eq!(step(&mut f, GpuDemand::share(500)), grant(0, 0b01));
}

#[test]
fn fgd_and_best_fit_differ_as_worked_by_hand() {
    // Two 1-GPU nodes: node 0 has 600 thousandths free, node 1 has 800. The target mix
    // is half 0.5-GPU tasks, half 0.3-GPU tasks; a 0.3-GPU task arrives.
    let c = common::cluster(&[("A", 2, 1)]);
    let mut f = FreeCapacity::new(&c, true);
    f.allocate(grant(0, 1), 400);
    f.allocate(grant(1, 1), 200);
    f.track_fragmentation(TaskMix::from_requests(
        1,
        [any(GpuDemand::share(500)), any(GpuDemand::share(300))],
    ));
    // Before: both tasks fit on both nodes, no GPU is below either share → F = 0.
    assert_eq!(f.frag_micro(), 0);
    // Best fit takes the tightest GPU, node 0 → 300 left: the 0.5 task no longer fits
    // (its F = 300), the 0.3 task does (F = 0): F_0 = ½·300 + ½·0 = 150 thousandths.
    let bf = place("best-fit", &f, GpuDemand::share(300));
    assert_eq!(bf, vec![grant(0, 1)]);
    let mut after_bf = f.clone();
    after_bf.allocate(bf[0], 300);
    assert_eq!(after_bf.frag_micro(), 150_000);
    // FGD: node 0 would add 150; node 1 → 500 left, both tasks still fit, ΔF = 0 → node 1.
    let fgd = place("fgd", &f, GpuDemand::share(300));
    assert_eq!(fgd, vec![grant(1, 1)]);
    let mut after_fgd = f.clone();
    after_fgd.allocate(fgd[0], 300);
    assert_eq!(after_fgd.frag_micro(), 0);
}

/// Two 4-GPU nodes of 16 cores each; node 0 runs a 1-GPU, 4-core task (3 GPUs and 12
/// cores free), node 1 is empty; fragmentation is tracked against 1-GPU, 4-core tasks.
fn cpu_bound_pair() -> FreeCapacity {
    let mut c = common::cluster(&[("A", 2, 4)]);
    for n in &mut c.nodes {
        n.cpu_milli = 16_000;
    }
    let mut f = FreeCapacity::new(&c, true);
    f.track_host(&c);
    let small = PlacementRequest {
        tp: 1,
        host: HostDemand {
            cpu_milli: 4_000,
            memory_mib: 0,
        },
        ..any(GpuDemand::whole(1))
    };
    f.allocate_job(&[grant(0, 0b0001)], &small);
    f.track_fragmentation(TaskMix::from_requests(1, [small]));
    f
}

#[test]
fn every_policy_respects_cpu() {
    // A 1-GPU task asking for 13 cores fits only node 1; one asking for 17 fits nowhere.
    let f = cpu_bound_pair();
    let ask = |cpu_milli| PlacementRequest {
        tp: 1,
        host: HostDemand {
            cpu_milli,
            memory_mib: 0,
        },
        ..any(GpuDemand::whole(1))
    };
    for e in registry::PLACEMENTS {
        let mut p = registry::placement(e.name).unwrap();
        let mut out = Vec::new();
        assert!(p.place(&ask(13_000), &f, &mut out), "{}", e.name);
        assert_eq!(out.len(), 1, "{}", e.name);
        assert_eq!(out[0].node, NodeId(1), "{}", e.name);
        out.clear();
        assert!(!p.place(&ask(17_000), &f, &mut out), "{}", e.name);
    }
}

#[test]
fn fgd_avoids_stranding_gpus_on_a_node_out_of_cpu() {
    // A 1-GPU, 12-core task arrives. Best fit takes node 0 (fewest free GPUs), whose 2
    // GPUs left then have no core for the 4-core tasks of the mix: F = 2 GPUs. FGD takes
    // node 1 (3 GPUs and 4 cores left: the mix still fits, F = 0).
    let f = cpu_bound_pair();
    assert_eq!(f.frag_micro(), 0);
    let req = PlacementRequest {
        tp: 1,
        host: HostDemand {
            cpu_milli: 12_000,
            memory_mib: 0,
        },
        ..any(GpuDemand::whole(1))
    };
    let after = |policy: &str| {
        let mut out = Vec::new();
        assert!(registry::placement(policy).unwrap().place(&req, &f, &mut out));
        let mut g = f.clone();
        g.allocate_job(&out, &req);
        (out[0].node, g.frag_micro(), g.host_room(out[0].node).cpu_milli)
    };
    assert_eq!(after("best-fit"), (NodeId(0), 2_000_000, 0));
    assert_eq!(after("fgd"), (NodeId(1), 0, 4_000));
}

#[test]
fn a_cpu_only_pod_goes_where_it_strands_no_gpu_under_fgd() {
    // A CPU-only pod asking for 10 cores (no GPU), as the inflation experiment draws
    // them. Best fit takes node 0 (3 free GPUs, fewer than node 1's 4), whose 2 cores
    // left then fit no 4-core task of the mix: its 3 idle GPUs are stranded, F = 3 GPUs.
    // FGD scores that +3 GPUs and node 1 (6 cores left, the mix still fits) 0: node 1.
    let f = cpu_bound_pair();
    let pod = |cpu_milli| PlacementRequest {
        tp: 1,
        host: HostDemand {
            cpu_milli,
            memory_mib: 0,
        },
        ..any(GpuDemand::whole(0))
    };
    let after = |policy: &str| {
        let mut out = Vec::new();
        assert!(registry::placement(policy)
            .unwrap()
            .place(&pod(10_000), &f, &mut out));
        let mut g = f.clone();
        g.allocate_job(&out, &pod(10_000));
        let room = g.host_room(out[0].node).cpu_milli;
        (out, g.frag_micro(), room)
    };
    assert_eq!(after("best-fit"), (vec![grant(0, 0)], 3_000_000, 2_000));
    assert_eq!(after("fgd"), (vec![grant(1, 0)], 0, 6_000));
    // Every policy places it on one node without a GPU, and none where no node has 17 cores.
    for e in registry::PLACEMENTS {
        let mut p = registry::placement(e.name).unwrap();
        let mut out = Vec::new();
        assert!(p.place(&pod(10_000), &f, &mut out), "{}", e.name);
        assert!(out.len() == 1 && out[0].gpus == 0, "{}: {out:?}", e.name);
        out.clear();
        assert!(!p.place(&pod(17_000), &f, &mut out), "{}", e.name);
    }
}

#[test]
fn jobs_no_node_can_host_are_skipped_and_gangs_split_cpu_by_gpus() {
    // Two 4-GPU nodes of 64 cores. A 1-GPU job asking for 65 cores fits no node; an
    // 8-GPU gang asking for 120 cores takes 4 GPUs and 60 cores on each node and runs;
    // one asking for 130 would need 65 on each, so no pair of nodes can host it. A part
    // is rounded up: 7 MiB over 8 GPUs is 4 MiB for a node holding 4 of them.
    let c = common::cluster(&[("A", 2, 4)]);
    let with_cpu = |gpus, cpu_milli| JobSpec {
        host: HostDemand {
            cpu_milli,
            memory_mib: 0,
        },
        ..common::job(0.0, 10.0, gpus, 1000)
    };
    let w = common::workload(vec![
        with_cpu(1, 65_000),
        with_cpu(8, 120_000),
        with_cpu(8, 130_000),
    ]);
    let out = Simulation::new(
        &c,
        &w,
        registry::queue_policy("fifo").unwrap(),
        registry::placement("best-fit").unwrap(),
        SimConfig::default(),
    )
    .run(&mut |_| {});
    let reasons: Vec<Option<&str>> = out.jobs.iter().map(|r| r.skip_reason).collect();
    assert_eq!(
        reasons,
        [Some("larger_than_nodes"), None, Some("larger_than_nodes")]
    );
    assert_eq!(out.jobs[1].start, Some(dcsim::engine::SimTime::ZERO));
    assert_eq!(
        HostDemand {
            cpu_milli: 120_000,
            memory_mib: 7
        }
        .part(4, 8),
        HostDemand {
            cpu_milli: 60_000,
            memory_mib: 4
        }
    );
}

/// Random (release?, GPUs, share, CPU, memory) steps over a random cluster (whose nodes
/// have 64 cores and 512 GiB).
fn arb_steps() -> impl Strategy<Value = Vec<(bool, u32, u32, u32, u32)>> {
    prop::collection::vec(
        (
            prop::bool::weighted(0.3),
            prop::sample::select(vec![1u32, 1, 1, 2, 4, 8]),
            prop_oneof![1 => Just(1000u32), 1 => 1u32..1000],
            prop::sample::select(vec![0u32, 4_000, 16_000, 40_000]),
            prop::sample::select(vec![0u32, 65_536, 300_000]),
        ),
        1..150,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// The incremental index (one contribution per node, updated on every allocation and
    /// release, of GPUs, CPU and memory) equals Σ_n F_n(M) recomputed from scratch after
    /// every change.
    #[test]
    fn incremental_fragmentation_equals_recomputation(
        groups in prop::collection::vec((prop::sample::select(vec!["A", "B"]), 1u32..5, prop::sample::select(vec![1u32, 2, 4, 8])), 1..4),
        steps in arb_steps(),
        policy in prop::sample::select(vec!["best-fit", "fgd", "random", "worst-fit"]),
    ) {
        let c = common::cluster(&groups);
        let reqs: Vec<PlacementRequest> = steps.iter().map(|&(_, g, m, cpu_milli, memory_mib)| {
            PlacementRequest {
                host: HostDemand { cpu_milli, memory_mib },
                ..any(if m == 1000 || g > 1 { GpuDemand::whole(g) } else { GpuDemand::share(m) })
            }
        }).collect();
        let mut f = FreeCapacity::new(&c, true);
        f.track_host(&c);
        let mix = TaskMix::from_requests(c.models.len(), reqs.iter().copied());
        f.track_fragmentation(mix.clone());
        let mut p = registry::placement(policy).unwrap();
        let mut held: Vec<(Vec<GpuGrant>, PlacementRequest)> = Vec::new();
        let scratch = |f: &FreeCapacity| -> u64 {
            (0..c.nodes.len() as u32).map(|n| {
                let n = NodeId(n);
                mix.node_frag_micro(f.node_model(n), f.node_gpu_free(n), f.host_room(n))
            }).sum()
        };
        for (&(release, ..), req) in steps.iter().zip(&reqs) {
            if release && !held.is_empty() {
                let (g, r) = held.remove(held.len() / 2);
                f.release_job(&g, &r);
            } else {
                let mut out = Vec::new();
                if p.place(req, &f, &mut out) {
                    f.allocate_job(&out, req);
                    held.push((out, *req));
                }
            }
            prop_assert_eq!(f.frag_micro(), scratch(&f));
        }
    }
}

/// The FGD paper's result on its own trace and cluster (Weng et al., ATC 2023, abstract
/// and §6: "FGD reduces unallocated GPUs by up to 49%, resulting in the utilization of
/// additional 290 GPUs" against the packing baselines): under workload inflation at high
/// load, FGD leaves fewer GPUs unallocated than best fit, dot product and GPU packing.
/// The draw includes the CPU-only pods, as the paper's simulator's does. Ours measures
/// FGD 283.4 vs 343.6 GPUs for the best of those baselines (GPU packing) at 100% (17.5%
/// fewer; mean of seeds 0–5, this test's output; 13.6–24.7% per seed over seeds 42–51,
/// docs/validation.md). The test asserts FGD is never worse at 95% and 100%, and at
/// least 12% (and 40 GPUs) better than the best baseline at 100%; the paper's larger gap
/// is discussed in docs/validation.md.
#[test]
fn fgd_leaves_fewer_gpus_unallocated_on_openb() {
    let scenario = Scenario::load(std::path::Path::new("scenarios/default.toml")).unwrap();
    let cluster = dcsim::topology::load(&scenario.resolve(&scenario.config.topology.path)).unwrap();
    let workload = scenario
        .load_workload_keeping_cpu_only(42, cluster.total_gpus())
        .unwrap();
    let tasks = inflation::requests(&cluster, &workload);
    assert_eq!(tasks.iter().filter(|t| t.demand.gpus == 0).count(), 1052);
    let policies = ["fgd", "best-fit", "dot-product", "gpu-packing"];
    let mut rows = Vec::new();
    for name in policies {
        for seed in 0..6 {
            let mut p = registry::build_placement(name, &toml::Table::new(), seed).unwrap();
            rows.extend(inflation::run(&cluster, &tasks, p.as_mut(), seed));
        }
    }
    println!("mean unallocated GPUs over 6 seeds, openb (6,212 GPUs):");
    println!("{:<14}{:>9}{:>9}{:>9}", "policy", "90%", "95%", "100%");
    let at: Vec<Vec<(String, f64)>> = [0.90, 0.95, 1.0]
        .iter()
        .map(|&x| inflation::mean_unallocated_at(&rows, x))
        .collect();
    for (i, name) in policies.iter().enumerate() {
        println!(
            "{:<14}{:>9.1}{:>9.1}{:>9.1}",
            name, at[0][i].1, at[1][i].1, at[2][i].1
        );
    }
    let fgd = at[2][0].1;
    let best_baseline = at[2][1..].iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
    println!(
        "FGD vs best baseline at 100%: {:.1} vs {:.1} GPUs ({:.1}% fewer; paper: up to 49% fewer, ~290 GPUs)",
        fgd,
        best_baseline,
        100.0 * (1.0 - fgd / best_baseline)
    );
    for level in &at[1..] {
        for b in &level[1..] {
            assert!(level[0].1 <= b.1, "fgd {} vs {} {}", level[0].1, b.0, b.1);
        }
    }
    assert!(
        fgd <= 0.88 * best_baseline && fgd + 40.0 <= best_baseline,
        "fgd {fgd} vs best baseline {best_baseline}: expected at least 12% and 40 GPUs fewer"
    );
}
