//! Placement that uses the fabric: `topo-aware` (fewest leaves, then fewest pods) on
//! hand-worked cases and against a brute-force search over leaf subsets, and `locality`
//! (wait up to a timeout for a consolidated placement) through the engine.

mod common;

use std::path::Path;

use dcsim::scheduler::{registry, FreeCapacity, GpuGrant, ModelMask, Placement, PlacementRequest};
use dcsim::sim::{SimConfig, Simulation};
use dcsim::topology::{self, LoadReport, NodeId};
use dcsim::workload::{GpuDemand, HostDemand, MILLI_PER_GPU};
use proptest::prelude::*;

/// `nodes` 8-GPU H100 nodes, `per_leaf` per rack (a leaf-spine leaf is a rack),
/// `leaves_per_pod` leaves under each spine block (a core tier above them).
fn report(nodes: u32, per_leaf: u32, leaves_per_pod: u32) -> LoadReport {
    let text = format!(
        r#"
name = "t"
source = "test"
[layout]
nodes_per_rack = {per_leaf}
racks_per_row = 100
rows_per_hall = 100
[[nodes]]
name = "n"
gpu = "H100"
gpus = 8
count = {nodes}
[fabric]
layout = "leaf-spine"
nic_gbps = 400.0
nvlink_gbytes_per_s = 450.0
leaves_per_pod = {leaves_per_pod}
"#
    );
    topology::parse_report(&text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// A placement by registry name, bound to `report`'s fabric, over an all-free index.
fn setup(name: &str, report: &LoadReport) -> (Box<dyn Placement>, FreeCapacity) {
    let mut p = registry::placement(name).expect("registered");
    p.bind_fabric(report.fabric.as_ref().expect("fabric"));
    let mut free = FreeCapacity::new(&report.cluster, false);
    p.prepare(&mut free);
    (p, free)
}

/// Takes `k` whole GPUs of node `n`.
fn take(free: &mut FreeCapacity, n: u32, k: u32) {
    let node = NodeId(n);
    let gpus = free.free_mask(node, k);
    free.allocate(GpuGrant { node, gpus }, MILLI_PER_GPU);
}

fn gang(gpus: u32) -> PlacementRequest {
    PlacementRequest {
        tp: 1,
        demand: GpuDemand {
            gpus,
            milli_per_gpu: MILLI_PER_GPU,
        },
        models: ModelMask(1),
        host: HostDemand::NONE,
    }
}

/// Places `gpus` and returns the nodes granted, in grant order (panics if it fails).
fn nodes_of(p: &mut dyn Placement, free: &FreeCapacity, gpus: u32) -> Vec<u32> {
    let mut out = Vec::new();
    assert!(p.place(&gang(gpus), free, &mut out), "{gpus} GPUs did not fit");
    assert_eq!(
        out.iter().map(|g| g.gpus.count_ones()).sum::<u32>(),
        gpus,
        "{out:?}"
    );
    out.iter().map(|g| g.node.0).collect()
}

/// Leaves and pods spanned by `nodes` (leaf = rack of 4 nodes, pod = 2 leaves).
fn spans(report: &LoadReport, nodes: &[u32]) -> (usize, usize) {
    let f = report.fabric.as_ref().expect("fabric");
    let mut leaves: Vec<u32> = nodes.iter().map(|&n| f.leaf(NodeId(n)).0).collect();
    leaves.sort_unstable();
    leaves.dedup();
    let mut pods: Vec<u32> = leaves
        .iter()
        .map(|&l| f.pod(dcsim::topology::fabric::LeafId(l)).0)
        .collect();
    pods.sort_unstable();
    pods.dedup();
    (leaves.len(), pods.len())
}

/// Four leaves of four 8-GPU nodes (32 GPUs each), two leaves per pod. Nodes 0, 1 (leaf
/// 0) and 8, 9 (leaf 2) are busy: leaves hold 16, 32, 16, 32 free GPUs. By hand:
/// - 24 GPUs: the tightest leaf holding 24 is leaf 1 (nodes 4, 5, 6): one leaf, where
///   best-fit's node spreading (most free nodes, lowest id) takes nodes 2, 3, 4: two;
/// - 40 GPUs: no leaf holds it; both pods cover it with two leaves, pod 0 first: leaf 1
///   whole (nodes 4-7), the remaining 8 on the tightest leaf of pod 0 holding 8 (leaf 0,
///   node 2): two leaves, one pod;
/// - 72 GPUs: no pod holds it (48 free each): leaves 3 and 1 whole, the remaining 8 on
///   the tightest leaf holding 8 (leaf 0, node 2): three leaves, two pods.
#[test]
fn fewest_leaves_then_fewest_pods_by_hand() {
    let r = report(16, 4, 2);
    let (mut topo, mut free) = setup("topo-aware", &r);
    for n in [0, 1, 8, 9] {
        take(&mut free, n, 8);
    }
    let n24 = nodes_of(topo.as_mut(), &free, 24);
    assert_eq!(n24, vec![4, 5, 6]);
    assert_eq!(spans(&r, &n24), (1, 1));
    let (mut best, _) = setup("best-fit", &r);
    let b24 = nodes_of(best.as_mut(), &free, 24);
    assert_eq!(b24, vec![2, 3, 4]);
    assert_eq!(spans(&r, &b24), (2, 1));

    let n40 = nodes_of(topo.as_mut(), &free, 40);
    assert_eq!(n40, vec![4, 5, 6, 7, 2]);
    assert_eq!(spans(&r, &n40), (2, 1));

    let n72 = nodes_of(topo.as_mut(), &free, 72);
    assert_eq!(n72, vec![12, 13, 14, 15, 4, 5, 6, 7, 2]);
    assert_eq!(spans(&r, &n72), (3, 2));
}

/// Leaves hold 32, 8 (pod 0) and 24, 24 (pod 1) free GPUs; a 40-GPU gang. Taking leaves
/// most free first across the fabric would take leaf 0 and a pod-1 leaf (two leaves, two
/// pods); pod 0 alone covers it with two leaves (32 + 8), so it goes there.
#[test]
fn a_pod_that_covers_the_gang_with_as_few_leaves_wins() {
    let r = report(16, 4, 2);
    let (mut topo, mut free) = setup("topo-aware", &r);
    for n in [4, 5, 6] {
        take(&mut free, n, 8);
    }
    take(&mut free, 8, 8);
    take(&mut free, 12, 8);
    let n40 = nodes_of(topo.as_mut(), &free, 40);
    assert_eq!(n40, vec![0, 1, 2, 3, 7]);
    assert_eq!(spans(&r, &n40), (2, 1));
}

/// Fewest leaves a gang of `gpus` can span given each leaf's free GPUs, and whether
/// a set of that many leaves inside one pod covers it: by enumerating every subset of
/// leaves (independent of the greedy rule in the policy).
fn brute_force(leaf_free: &[u32], leaf_pod: &[u32], gpus: u32) -> Option<(u32, bool)> {
    let n = leaf_free.len();
    let mut best: Option<(u32, bool)> = None;
    for set in 1u32..(1 << n) {
        let sum: u32 = (0..n).filter(|&i| set >> i & 1 == 1).map(|i| leaf_free[i]).sum();
        if sum < gpus {
            continue;
        }
        let k = set.count_ones();
        let first = (0..n).find(|&i| set >> i & 1 == 1).expect("non-empty");
        let one_pod = (0..n)
            .filter(|&i| set >> i & 1 == 1)
            .all(|i| leaf_pod[i] == leaf_pod[first]);
        best = match best {
            Some((b, p)) if b < k => Some((b, p)),
            Some((b, p)) if b == k => Some((b, p || one_pod)),
            _ => Some((k, one_pod)),
        };
    }
    best
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// On random fabrics (2-6 leaves of 1-4 nodes, 1-3 leaves per pod) with random busy
    /// GPUs, a gang larger than a node that fits gets exactly the GPUs asked, each node
    /// once and only free GPUs, spans the fewest leaves any subset of leaves allows, and
    /// stays inside one pod whenever a fewest-leaves set inside one pod exists.
    #[test]
    fn spans_the_fewest_leaves_a_brute_force_search_finds(
        leaves in 2u32..=6,
        per_leaf in 1u32..=4,
        per_pod in 1u32..=3,
        busy in proptest::collection::vec(0u32..=8, 24),
        want in 9u32..=192,
    ) {
        let nodes = leaves * per_leaf;
        let r = report(nodes, per_leaf, per_pod);
        let (mut topo, mut free) = setup("topo-aware", &r);
        for n in 0..nodes {
            take(&mut free, n, busy[n as usize]);
        }
        let f = r.fabric.as_ref().expect("fabric");
        let mut leaf_free = vec![0u32; f.leaves()];
        for n in 0..nodes {
            leaf_free[f.leaf(NodeId(n)).0 as usize] += free.node_free_whole(NodeId(n));
        }
        let leaf_pod: Vec<u32> = f.leaf_pod.iter().map(|p| p.0).collect();
        let total: u32 = leaf_free.iter().sum();
        let mut out = Vec::new();
        let placed = topo.place(&gang(want), &free, &mut out);
        prop_assert_eq!(placed, want <= total);
        if placed {
            let mut seen: Vec<u32> = out.iter().map(|g| g.node.0).collect();
            seen.sort_unstable();
            seen.dedup();
            prop_assert_eq!(seen.len(), out.len());
            for g in &out {
                let whole = free.free_mask(g.node, free.node_free_whole(g.node));
                prop_assert_eq!(g.gpus & !whole, 0);
            }
            prop_assert_eq!(out.iter().map(|g| g.gpus.count_ones()).sum::<u32>(), want);
            let (k, one_pod) = brute_force(&leaf_free, &leaf_pod, want).expect("it fits");
            let nodes: Vec<u32> = out.iter().map(|g| g.node.0).collect();
            let (ours, pods) = spans(&r, &nodes);
            prop_assert_eq!(ours as u32, k);
            if one_pod {
                prop_assert_eq!(pods, 1);
            }
        }
    }
}

/// Two leaves of two 8-GPU nodes. Jobs 0, 1, 2 (8 GPUs, FIFO, best fit on one node)
/// take nodes 0, 1 and 2; job 1 ends at 100 s, so at 200 s each leaf has one free node.
/// A 16-GPU job submitted then:
/// - `topo-aware` starts it at once across both leaves (nodes 1 and 3);
/// - `locality` (timeout 300 s) holds it for one leaf until 500 s, then takes both
///   (nothing else happens meanwhile: the wake-up placement asked for starts it);
/// - `locality` with job 0 ending at 400 s starts it then on leaf 0 (nodes 0 and 1).
#[test]
fn locality_waits_up_to_its_timeout_for_one_leaf() {
    let r = report(4, 2, 1);
    let run = |placement: &str, job0_s: f64| {
        let w = common::workload(vec![
            common::job(0.0, job0_s, 8, MILLI_PER_GPU),
            common::job(0.0, 100.0, 8, MILLI_PER_GPU),
            common::job(0.0, 10_000.0, 8, MILLI_PER_GPU),
            common::job(200.0, 1000.0, 16, MILLI_PER_GPU),
        ]);
        let mut params = toml::Table::new();
        if placement == "locality" {
            params.insert("timeout_s".into(), toml::Value::Float(300.0));
        }
        let mut p = registry::build_placement(placement, &params, 0).expect("registered");
        p.bind_fabric(r.fabric.as_ref().expect("fabric"));
        Simulation::new(
            &r.cluster,
            &w,
            registry::queue_policy("fifo").expect("fifo"),
            p,
            SimConfig::default(),
        )
        .run(&mut |_| {})
    };
    let start = |out: &dcsim::sim::RunOutput| out.jobs[3].start.expect("ran").as_secs_f64();
    assert_eq!(start(&run("topo-aware", 10_000.0)), 200.0);
    assert_eq!(start(&run("locality", 10_000.0)), 500.0);
    assert_eq!(start(&run("locality", 400.0)), 400.0);
}
