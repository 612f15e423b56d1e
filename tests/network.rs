//! The network fabric: fabric building from topology files, ring all-reduce times on an
//! idle fabric, oversubscription and contention against hand-worked figures, and bad
//! input.

use std::path::Path;

use dcsim::network::contention::Tier;
use dcsim::network::{CommProfile, Contention};
use dcsim::topology::{self, NodeId, TopologyError};

/// A topology of `nodes` 8-GPU H100 nodes, `per_rack` per rack, with `fabric` keys.
fn topo(nodes: u32, per_rack: u32, fabric: &str) -> String {
    format!(
        r#"
name = "t"
source = "test"
[layout]
nodes_per_rack = {per_rack}
racks_per_row = 100
rows_per_hall = 100
[[nodes]]
name = "n"
gpu = "H100"
gpus = 8
count = {nodes}
[fabric]
{fabric}
"#
    )
}

fn contention(text: &str) -> Contention {
    let report = topology::parse_report(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    Contention::new(report.fabric.expect("the topology has a [fabric]"))
}

/// `n` GPUs packed 8 per node from node `first` on.
fn packed(first: u32, n: u32) -> Vec<(NodeId, u32)> {
    (0..n.div_ceil(8))
        .map(|i| (NodeId(first + i), (n - 8 * i).min(8)))
        .collect()
}

/// The GPU bitmasks of `packed` placements: a node's first GPUs.
fn masks(nodes: &[(NodeId, u32)]) -> Vec<(NodeId, u64)> {
    nodes.iter().map(|&(n, g)| (n, (1u64 << g) - 1)).collect()
}

const RAIL: &str = r#"
layout = "rail-optimized"
nodes_per_leaf = 32
nic_gbps = 400.0
nvlink_gbytes_per_s = 450.0
"#;

const PROFILE: CommProfile = CommProfile {
    gradient_bytes: 2.6e9,
    compute_ms: 1000.0,
    overlap: 0.0,
    activation_bytes: 0.0,
};

/// One job alone on an idle rail-optimized fabric (128 DGX-class nodes, 400 Gb/s per GPU
/// NIC, NVLink 450 GB/s per GPU) communicates for exactly NCCL's ring time
/// 2(n−1)/n · S/B (nccl-tests doc/PERFORMANCE.md) for n = 2..1024, where B is, by hand:
/// the NVLink bandwidth inside one node, else the narrowest node's NICs (one 50 GB/s
/// NIC per GPU the job holds there; the last node of a packed job holds n mod 8).
#[test]
fn idle_fabric_matches_the_ring_formula() {
    let mut net = contention(&topo(128, 4, RAIL));
    for n in 2..=1024u32 {
        let t = net.traffic(PROFILE, &packed(0, n));
        let b = if n <= 8 {
            450e9
        } else {
            let last = if n % 8 == 0 { 8 } else { n % 8 };
            f64::from(last) * 400e9 / 8.0
        };
        let want_ms = 2.0 * f64::from(n - 1) / f64::from(n) * 2.6e9 / b * 1000.0;
        let got_ms = PROFILE.comm_ms(t.ranks, t.bps);
        assert!(
            (got_ms - want_ms).abs() <= 1e-9 * want_ms,
            "n = {n}: {got_ms} ms vs {want_ms} ms"
        );
        assert_eq!(t.factor(), 1.0, "n = {n}: alone on a non-blocking fabric");
    }
}

/// A job inside one node uses no link; a job inside one leaf (a rail-optimized scalable
/// unit) crosses no spine link; one across two units crosses each unit's eight rail
/// uplinks (one ring per rail, each leaving its unit once).
#[test]
fn inside_one_leaf_sees_no_spine() {
    let mut net = contention(&topo(64, 4, RAIL));
    let one_node = net.traffic(PROFILE, &packed(0, 8));
    assert!(one_node.links.is_empty());
    let one_leaf = net.traffic(PROFILE, &packed(0, 256));
    assert_eq!(one_leaf.leaves, 1);
    assert!(!one_leaf.crosses_spine);
    assert!(
        one_leaf
            .links
            .iter()
            .all(|&(l, _)| net.link(l).tier == Tier::Node),
        "{:?}",
        one_leaf.links
    );
    let two_leaves = net.traffic(PROFILE, &packed(16, 256));
    assert_eq!(two_leaves.leaves, 2);
    assert!(two_leaves.crosses_spine);
    let up: Vec<(u32, f64)> = two_leaves
        .links
        .iter()
        .filter(|&&(l, _)| net.link(l).tier == Tier::Leaf)
        .copied()
        .collect();
    assert_eq!(up.len(), 16);
    // Each of the 8 rings carries 1/8 of the job's bus bandwidth.
    assert!(up.iter().all(|&(_, a)| a == 0.125), "{up:?}");
}

/// Leaf-spine, one leaf per rack of 2 DGX-class nodes (8 × 400 Gb/s NICs each),
/// spine 4:1. A 16-GPU job in one rack: B = 8 × 50 GB/s = 400 GB/s. The same job on
/// two racks: each leaf's uplink is 2 × 400 / 4 = 200 GB/s, so B = 200 GB/s.
/// By hand (S = 2.6 GB, compute 1000 ms, no overlap): comm = 2 · 15/16 · 2.6e9 / B =
/// 12.1875 ms at 400 GB/s, 24.375 ms at 200 GB/s; factor = 1012.1875 / 1024.375.
#[test]
fn two_racks_behind_a_4_to_1_spine_slow_by_the_hand_computed_factor() {
    let fabric = r#"
layout = "leaf-spine"
nics_per_node = 8
nic_gbps = 400.0
nvlink_gbytes_per_s = 450.0
spine_oversubscription = 4.0
"#;
    let mut net = contention(&topo(4, 2, fabric));
    let one_rack = net.traffic(PROFILE, &[(NodeId(0), 8), (NodeId(1), 8)]);
    assert_eq!((one_rack.leaves, one_rack.bps), (1, 400e9));
    assert_eq!(one_rack.factor(), 1.0);
    let two_racks = net.traffic(PROFILE, &[(NodeId(0), 8), (NodeId(2), 8)]);
    assert_eq!((two_racks.leaves, two_racks.bps), (2, 200e9));
    let want = 1012.1875 / 1024.375;
    assert!(
        (two_racks.factor() - want).abs() < 1e-12,
        "{}",
        two_racks.factor()
    );
    // Started and settled alone, nothing changes: the bandwidth is already its own.
    net.start(7, two_racks);
    let mut changed = Vec::new();
    net.settle(&mut changed);
    assert!(changed.is_empty(), "{changed:?}");
}

/// Two jobs crossing the same spine uplinks share them max-min fairly, and only the
/// jobs connected to a touched link are re-solved. Fabric as above at 2:1: a leaf's
/// uplink is 400 GB/s, one job alone gets its nodes' 400 GB/s, two get 200 GB/s each;
/// a third job inside one rack is never reported.
#[test]
fn jobs_sharing_an_uplink_split_it_and_recover_when_one_stops() {
    let fabric = r#"
layout = "leaf-spine"
nics_per_node = 8
nic_gbps = 400.0
nvlink_gbytes_per_s = 450.0
spine_oversubscription = 2.0
"#;
    let mut net = contention(&topo(6, 2, fabric));
    let a = net.traffic(PROFILE, &[(NodeId(0), 8), (NodeId(2), 8)]);
    let b = net.traffic(PROFILE, &[(NodeId(1), 8), (NodeId(3), 8)]);
    let c = net.traffic(PROFILE, &[(NodeId(4), 8), (NodeId(5), 8)]);
    net.start(1, a);
    net.start(2, b);
    net.start(3, c);
    let mut changed = Vec::new();
    net.settle(&mut changed);
    // comm at 200 GB/s = 24.375 ms; factor = 1012.1875 / 1024.375 for both.
    let f = 1012.1875 / 1024.375;
    assert_eq!(changed.len(), 2, "{changed:?}");
    for (job, factor) in &changed {
        assert!([1, 2].contains(job));
        assert!((factor - f).abs() < 1e-12);
    }
    net.stop(2);
    net.settle(&mut changed);
    assert_eq!(changed, vec![(1, 1.0)]);
}

/// Crux (Cao et al., SIGCOMM 2024, §2): two co-located GPT jobs sharing a link slowed
/// from 1.53 s to 1.70 s per iteration (11%). Our case: the Lingjun fabric (assumed
/// link speeds, topologies/lingjun-2023.toml) with its ToRs made 2:1
/// oversubscribed so that two 16-GPU jobs crossing the same two 2-host ToRs get half their
/// NIC bandwidth each; profile: GPT-3 6.7B (Brown et al. 2020, Table 2.1) gradient in
/// 16-bit (13.4 GB), Crux's isolated 1.53 s as compute, no overlap (an upper bound on
/// the slowdown). By hand: B = 8 × 25 GB/s = 200 GB/s alone, 100 GB/s shared; comm =
/// 2 · 15/16 · 13.4e9 / B = 125.6 ms alone, 251.3 ms shared; slowdown
/// (1530 + 251.3) / (1530 + 125.6) − 1 = 7.6%. Direction and size: above 0, well
/// below the 100% of a fully communication-bound job, near Crux's 11%.
#[test]
fn crux_co_located_jobs_slow_each_other_by_about_ten_percent() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/lingjun-2023.toml"))
            .expect("shipped topology")
            .replace(
                "nic_gbps = 200.0",
                "nic_gbps = 200.0\nspine_oversubscription = 2.0",
            );
    let origin = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/lingjun-2023.toml");
    let report = topology::parse_report(&text, &origin).unwrap_or_else(|e| panic!("{e}"));
    let fabric = report.fabric.expect("fabric");
    // Two ToRs of 2 hosts each; each job takes one host under each.
    let mut by_leaf: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for (n, l) in fabric.node_leaf.iter().enumerate() {
        by_leaf.entry(l.0).or_default().push(n as u32);
    }
    let big: Vec<&Vec<u32>> = by_leaf.values().filter(|v| v.len() == 2).take(2).collect();
    assert_eq!(big.len(), 2, "two ToRs of 2 hosts");
    let mut net = Contention::new(fabric);
    let gpt = CommProfile {
        gradient_bytes: 13.4e9,
        compute_ms: 1530.0,
        overlap: 0.0,
        activation_bytes: 0.0,
    };
    let a = net.traffic(gpt, &[(NodeId(big[0][0]), 8), (NodeId(big[1][0]), 8)]);
    let b = net.traffic(gpt, &[(NodeId(big[0][1]), 8), (NodeId(big[1][1]), 8)]);
    assert_eq!(a.bps, 200e9, "alone: 8 NICs of 25 GB/s");
    net.start(1, a);
    net.start(2, b);
    let mut changed = Vec::new();
    net.settle(&mut changed);
    assert_eq!(changed.len(), 2);
    let slowdown = 1.0 / changed[0].1 - 1.0;
    let alone = 1530.0 + 2.0 * 15.0 / 16.0 * 13.4e9 / 200e9 * 1000.0;
    let shared = 1530.0 + 2.0 * 15.0 / 16.0 * 13.4e9 / 100e9 * 1000.0;
    assert!((slowdown - (shared / alone - 1.0)).abs() < 1e-12, "{slowdown}");
    assert!(slowdown > 0.05 && slowdown < 0.15, "Crux: 0.11; ours {slowdown}");
}

/// The shipped Lingjun topology reads topo.csv as a topology: 847 hosts, one leaf per
/// (DSW, PSW, ASW) triple (119, the dataset README's count), 3 pods under one core.
#[test]
fn lingjun_topology_reads_its_switches() {
    let report =
        topology::load_report(&Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/lingjun-2023.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.cluster.nodes.len(), 847);
    let fabric = report.fabric.expect("fabric");
    assert_eq!((fabric.leaves(), fabric.pods()), (119, 3));
    assert!(fabric.has_core());
}

fn error_of(text: &str) -> String {
    match topology::parse_report(text, Path::new("t.toml")) {
        Ok(_) => panic!("accepted bad input"),
        Err(e) => e.to_string(),
    }
}

/// Zero-capacity links and missing keys are refused with the key named.
#[test]
fn bad_fabric_keys_are_named() {
    let e = error_of(&topo(
        2,
        2,
        "layout = \"leaf-spine\"\nnic_gbps = 0.0\nnvlink_gbytes_per_s = 450.0",
    ));
    assert!(
        e.contains("fabric.nic_gbps") && e.contains("zero-capacity"),
        "{e}"
    );
    let e = error_of(&topo(
        2,
        2,
        "layout = \"leaf-spine\"\nnic_gbps = 100.0\nnvlink_gbytes_per_s = 450.0\nspine_oversubscription = inf",
    ));
    assert!(e.contains("fabric.spine_oversubscription"), "{e}");
    let e = error_of(&topo(
        2,
        2,
        "layout = \"rail-optimized\"\nnic_gbps = 100.0\nnvlink_gbytes_per_s = 450.0",
    ));
    assert!(e.contains("fabric.nodes_per_leaf"), "{e}");
    let e = error_of(&topo(
        2,
        2,
        "layout = \"mesh\"\nnic_gbps = 100.0\nnvlink_gbytes_per_s = 450.0",
    ));
    assert!(e.contains("fabric.layout"), "{e}");
}

/// A Lingjun host without its switches is disconnected from the fabric: the error names
/// the file and line; a Lingjun list without `gpus` is refused.
#[test]
fn disconnected_host_and_missing_gpus_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("topo.csv"),
        "ip,DSW,PSW,ASW\nh0,G6,P1,S1\nh1,G6,,S2\n",
    )
    .expect("write");
    let text = |gpus: &str| {
        format!(
            "name = \"t\"\nsource = \"test\"\n[layout]\nnodes_per_rack = 2\nracks_per_row = 2\nrows_per_hall = 2\n\
             [[node_list]]\npath = \"topo.csv\"\nformat = \"lingjun-topo\"\ngpu = \"A100\"\n{gpus}"
        )
    };
    let origin = dir.path().join("t.toml");
    let e = topology::parse_report(&text("gpus = 8"), &origin).expect_err("disconnected host");
    assert!(matches!(e, TopologyError::NodeList { line: 3, .. }), "{e}");
    assert!(e.to_string().contains("disconnected"), "{e}");
    let e = topology::parse_report(&text(""), &origin).expect_err("no gpus");
    assert!(e.to_string().contains("node_list[0].gpus"), "{e}");
}

/// The shipped fabrics are what their files document: the H100/B200 hall has 8 rail
/// groups of 32 systems, each non-blocking (32 × 8 × 400 Gb/s = 12.8 TB/s up); Philly
/// has one leaf per rack (79) and 100 Gb/s = 12.5 GB/s per server.
#[test]
fn shipped_fabrics_match_their_documentation() {
    let load = |name: &str| {
        topology::load_report(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("topologies")
                .join(name),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let hall = load("h100-b200-hall.toml").fabric.expect("hall fabric");
    assert_eq!(hall.leaves(), 8);
    assert!(hall.leaf_uplink_bps.iter().all(|&c| c == 12.8e12));
    let philly = load("philly.toml");
    let fabric = philly.fabric.expect("philly fabric");
    assert_eq!(fabric.leaves(), philly.cluster.racks.len());
    assert_eq!(fabric.leaves(), 79);
    assert!(fabric.node_nic_bps.iter().all(|&c| c == 12.5e9));
}

mod common;

/// Through the engine: behind a 4:1 spine (racks of 2 DGX-class nodes, as in
/// `two_racks_behind_a_4_to_1_spine_slow_by_the_hand_computed_factor`), an inference job
/// fills node 0, so first-fit places a 16-GPU training job on nodes 1 and 2, one in each
/// rack. Its rate is 1012.1875 / 1024.375, so 1000 s of work take
/// 1000 × 1024.375 / 1012.1875 = 1012.0408 s; it lost 12.0408 s on 16 GPUs.
#[test]
fn the_engine_runs_a_job_at_its_network_factor() {
    use dcsim::network::{NetworkConfig, NetworkModel};
    use dcsim::scheduler::registry;
    use dcsim::sim::{SimConfig, Simulation};
    use dcsim::workload::JobKind;
    let fabric = r#"
layout = "leaf-spine"
nics_per_node = 8
nic_gbps = 400.0
nvlink_gbytes_per_s = 450.0
spine_oversubscription = 4.0
"#;
    let report =
        topology::parse_report(&topo(4, 2, fabric), Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    let mut serving = common::job(0.0, 5000.0, 8, 1000);
    serving.kind = JobKind::Inference;
    let training = common::job(1.0, 1000.0, 16, 1000);
    let w = common::workload(vec![serving, training]);
    let cfg = NetworkConfig {
        gradient_gb: Some(2.6),
        compute_ms: Some(1000.0),
        overlap: Some(0.0),
        ..NetworkConfig::default()
    };
    let model = NetworkModel::new(
        &report.cluster,
        report.fabric.clone().expect("fabric"),
        &cfg,
        w.jobs.len(),
    );
    let out = Simulation::new(
        &report.cluster,
        &w,
        registry::queue_policy("fifo").expect("fifo"),
        registry::placement("first-fit").expect("first-fit"),
        SimConfig::default(),
    )
    .with_model(Box::new(model))
    .run(&mut |_| {});
    let run_s = 1000.0 * 1024.375 / 1012.1875;
    let end = out.jobs[1].end.expect("finished").as_secs_f64();
    assert!((end - (1.0 + run_s)).abs() < 2e-3, "end {end}");
    let net = out.models.network.expect("network output");
    assert_eq!(
        (net.jobs[1].leaves, net.jobs[1].racks, net.jobs[1].crossed_spine),
        (2, 2, true)
    );
    assert_eq!((net.jobs[0].leaves, net.jobs[0].crossed_spine), (1, false));
    assert_eq!(net.summary.jobs_crossing_spine, 0.5);
    let lost_h = 16.0 * (run_s - 1000.0) / 3600.0;
    assert!(
        (net.summary.gpu_hours_lost - lost_h).abs() < 1e-5,
        "{}",
        net.summary.gpu_hours_lost
    );
    assert!((net.jobs[1].slowdown() - (1024.375 / 1012.1875 - 1.0)).abs() < 1e-5);
    let mut csv = Vec::new();
    dcsim::report::write_network_jobs(&mut csv, &w, &net).expect("write");
    let csv = String::from_utf8(csv).expect("utf-8");
    let row = format!("1,j1,2,2,1,{run_s:.3},{:.3},", run_s - 1000.0);
    assert!(csv.lines().nth(2).is_some_and(|l| l.starts_with(&row)), "{csv}");
    assert_eq!(out.summary.network, Some(net.summary.clone()));

    // network_links.csv, hourly bins: the job's two leaf uplinks (200 GB/s each) carry
    // its 200 GB/s, utilization 1; its nodes' NICs (400 GB/s) half. Both leaves (and both
    // nodes) tie; the lower index is named. One bin, means over the hour.
    let held = end - 1.0;
    let rows: Vec<(f64, &str, &str, f64, f64)> = net
        .links
        .iter()
        .map(|r| {
            let tier = match r.tier {
                dcsim::network::contention::Tier::Node => "node",
                dcsim::network::contention::Tier::Leaf => "leaf",
                dcsim::network::contention::Tier::Pod => "pod",
            };
            (
                r.start.as_secs_f64(),
                tier,
                net.link_names[r.link as usize].as_str(),
                r.mean,
                r.peak,
            )
        })
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let node1 = report.cluster.nodes[1].name.as_str();
    let expect = [
        (0.0, "node", node1, 0.5 * held / 3600.0, 0.5),
        (0.0, "leaf", "leaf0", held / 3600.0, 1.0),
    ];
    for (got, want) in rows.iter().zip(expect) {
        assert_eq!((got.0, got.1, got.2), (want.0, want.1, want.2));
        assert!(
            (got.3 - want.3).abs() < 1e-9 && (got.4 - want.4).abs() < 1e-9,
            "{got:?} vs {want:?}"
        );
    }
    let mut csv = Vec::new();
    dcsim::report::write_network_links(&mut csv, &net).expect("write");
    let csv = String::from_utf8(csv).expect("utf-8");
    assert_eq!(
        csv.lines().next(),
        Some("start_s,tier,link,mean_utilization,peak_utilization")
    );
    assert!(
        csv.lines()
            .nth(2)
            .is_some_and(|l| l.starts_with("0.000,leaf,leaf0,0.28")),
        "{csv}"
    );
}

/// Rail-optimized vs leaf-spine for the same job, by hand. Four DGX-class nodes (8 GPUs,
/// eight 400 Gb/s = 50 GB/s NICs each), racks of 2, spine 4:1, one 32-GPU job on all
/// four. Leaf-spine (a leaf per rack): each leaf's uplink is 2 × 400 / 4 = 200 GB/s, so
/// B = 200 GB/s and comm = 2 · 31/32 · 2.6e9 / B = 25.1875 ms. Rail-optimized with the
/// four nodes in one scalable unit (NIC r of every node on rail switch r, DGX SuperPOD
/// reference architecture): every ring stays on its rail switch, no spine link is
/// crossed, B = 8 × 50 = 400 GB/s and comm = 12.59375 ms.
#[test]
fn a_rail_optimized_unit_keeps_a_job_off_the_spine_leaf_spine_does_not() {
    let job = packed(0, 32);
    let mut leaf_spine = contention(&topo(
        4,
        2,
        "layout = \"leaf-spine\"\nnic_gbps = 400.0\nnics_per_node = 8\nnvlink_gbytes_per_s = 450.0\nspine_oversubscription = 4.0",
    ));
    let t = leaf_spine.traffic(PROFILE, &job);
    assert!(t.crosses_spine);
    assert_eq!(t.isolated_bps, 200e9);
    assert!((PROFILE.comm_ms(t.ranks, t.isolated_bps) - 25.1875).abs() < 1e-9);
    let mut rail = contention(&topo(
        4,
        2,
        "layout = \"rail-optimized\"\nnodes_per_leaf = 4\nnic_gbps = 400.0\nnvlink_gbytes_per_s = 450.0\nspine_oversubscription = 4.0",
    ));
    let t = rail.traffic(PROFILE, &job);
    assert!(!t.crosses_spine);
    // 4 nodes × 8 rails, each NIC carrying one of the 8 rings: 1/8 of the bus bandwidth.
    assert_eq!(t.links.len(), 32);
    assert!(t
        .links
        .iter()
        .all(|&(l, a)| rail.link(l).tier == Tier::Node && a == 0.125));
    assert_eq!(t.isolated_bps, 400e9);
    assert!((PROFILE.comm_ms(t.ranks, t.isolated_bps) - 12.59375).abs() < 1e-9);
}

/// Rails must line up. Same 4-node unit, spine 8:1, so a rail switch's uplink is
/// 4 × 50 / 8 = 25 GB/s. A job holding GPUs 0-3 of nodes 0 and 1 runs 4 rings on rails
/// 0-3 of both: no spine, B = 4 NICs × 50 = 200 GB/s. Holding GPUs 0-3 of node 0 and
/// 4-7 of node 1, ring i leaves node 0 on rail i and node 1 on rail 4 + i, so every hop
/// climbs its rail switch's uplink: 8 uplinks each carrying 1/4 of the bus bandwidth,
/// B = 4 × 25 = 100 GB/s, though the job spans one unit.
#[test]
fn rings_whose_rails_differ_cross_the_spine_by_hand() {
    let mut rail = contention(&topo(
        4,
        2,
        "layout = \"rail-optimized\"\nnodes_per_leaf = 4\nnic_gbps = 400.0\nnvlink_gbytes_per_s = 450.0\nspine_oversubscription = 8.0",
    ));
    let aligned = rail.traffic_on(PROFILE, &[(NodeId(0), 0x0f), (NodeId(1), 0x0f)]);
    assert!(!aligned.crosses_spine);
    assert_eq!(aligned.isolated_bps, 200e9);
    let crossed = rail.traffic_on(PROFILE, &[(NodeId(0), 0x0f), (NodeId(1), 0xf0)]);
    assert_eq!(crossed.leaves, 1);
    assert!(crossed.crosses_spine);
    let up: Vec<(u32, Option<u32>, f64)> = crossed
        .links
        .iter()
        .filter(|&&(l, _)| rail.link(l).tier == Tier::Leaf)
        .map(|&(l, a)| (rail.link(l).owner, rail.link(l).rail, a))
        .collect();
    assert_eq!(up, (0..8).map(|r| (0, Some(r), 0.25)).collect::<Vec<_>>());
    assert_eq!(crossed.reference_bps, 200e9);
    assert_eq!(crossed.isolated_bps, 100e9);
}

/// The shipped hall's rail switches: 32 systems × one 400 Gb/s NIC each on every rail
/// switch, non-blocking: each rail uplink is 32 × 50 GB/s = 1.6 TB/s, 8 per unit.
#[test]
fn shipped_rail_switches_carry_their_rail() {
    let report =
        topology::load_report(&Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/h100-b200-hall.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
    let fabric = report.fabric.expect("hall fabric");
    let up: Vec<_> = fabric
        .graph
        .links()
        .iter()
        .filter(|l| l.tier == Tier::Leaf)
        .collect();
    assert_eq!(up.len(), 8 * 8);
    assert!(up.iter().all(|l| l.capacity_bps == 1.6e12));
}

/// A node list whose pods hang off two core switches with nothing above them leaves the
/// fabric in two pieces: refused, naming the `fabric` key, a node that cannot be reached
/// and both core switches.
#[test]
fn a_fabric_in_two_pieces_is_refused_naming_node_and_switch() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("topo.csv"),
        "ip,DSW,PSW,ASW\nh0,G6,P1,S1\nh1,G6,P2,S2\nh2,G7,P3,S3\n",
    )
    .expect("write");
    let text = "name = \"t\"\nsource = \"test\"\n[layout]\nnodes_per_rack = 2\nracks_per_row = 2\nrows_per_hall = 2\n\
         [[node_list]]\npath = \"topo.csv\"\nformat = \"lingjun-topo\"\ngpu = \"A100\"\ngpus = 8\n\
         [fabric]\nlayout = \"leaf-spine\"\nnic_gbps = 200.0\nnvlink_gbytes_per_s = 300.0\n";
    let e = topology::parse_report(text, &dir.path().join("t.toml"))
        .expect_err("disconnected fabric")
        .to_string();
    for part in ["fabric", "`h2`", "`G7`", "`G6`", "`h0`"] {
        assert!(e.contains(part), "{part} missing from: {e}");
    }
}

/// Pipeline stages, by hand. Leaf-spine, racks of 2 DGX-class nodes (400 GB/s of NICs
/// each), spine 4:1 (a leaf's uplink 2 × 400 / 4 = 200 GB/s). A 32-GPU job on nodes 0-3
/// with pp = 2: stage 0 is nodes 0-1 (rack 0), stage 1 nodes 2-3 (rack 1). Each stage's
/// data-parallel ring (16 ranks, half the 2.6 GB gradient: 1.3 GB) stays in its rack:
/// NIC usage 1, no uplink. Point to point: GPU k of stage 0 pairs with GPU k of stage 1,
/// all 16 pairs across the racks; each node sends its 8 pairs at 1/8 of the bus
/// bandwidth x each (NIC usage 1), each leaf's uplink carries 16 × 1/8 = 2 (forward out
/// of rack 0, backward out of rack 1). With F = 1.6 GB per boundary and direction, each
/// pair moves F/16 and a node sends 8 of them: P = F · 8/16 = 0.8 GB at x.
/// Reference (non-blocking): x = 400 GB/s, comm = 2 · 15/16 · 1.3e9/x + 0.8e9/x =
/// 6.09375 + 2 = 8.09375 ms. Here: x = 200/2 = 100 GB/s, comm = 24.375 + 8 = 32.375 ms.
/// Factor (compute 1000 ms, no overlap) 1008.09375 / 1032.375.
#[test]
fn pipeline_stages_ring_locally_and_send_activations_across_by_hand() {
    let mut net = contention(&topo(
        4,
        2,
        "layout = \"leaf-spine\"\nnic_gbps = 400.0\nnics_per_node = 8\nnvlink_gbytes_per_s = 450.0\nspine_oversubscription = 4.0",
    ));
    let profile = CommProfile {
        gradient_bytes: 1.3e9,
        compute_ms: 1000.0,
        overlap: 0.0,
        activation_bytes: 1.6e9,
    };
    let mut t = net.traffic_staged(profile, &masks(&packed(0, 32)), 2);
    t.ranks /= 2;
    let usage: Vec<(Tier, u32, f64)> = t
        .links
        .iter()
        .map(|&(l, a)| (net.link(l).tier, net.link(l).owner, a))
        .collect();
    assert_eq!(
        usage,
        vec![
            (Tier::Node, 0, 1.0),
            (Tier::Node, 1, 1.0),
            (Tier::Node, 2, 1.0),
            (Tier::Node, 3, 1.0),
            (Tier::Leaf, 0, 2.0),
            (Tier::Leaf, 1, 2.0),
        ]
    );
    assert!((t.p2p_bytes - 0.8e9).abs() < 1e-3);
    assert_eq!(t.reference_bps, 400e9);
    assert_eq!(t.isolated_bps, 100e9);
    let iso = profile.iteration_ms_with(16, t.reference_bps, t.p2p_bytes);
    let now = profile.iteration_ms_with(16, t.isolated_bps, t.p2p_bytes);
    assert!((iso - 1008.09375).abs() < 1e-9, "{iso}");
    assert!((now - 1032.375).abs() < 1e-9, "{now}");
    assert!((t.factor() - 1008.09375 / 1032.375).abs() < 1e-12);
    // Stages inside one node each (pp = 2 on 16 GPUs of nodes 0 and 1, one rack): the
    // rings stay on NVLink, the pairs cross between the two nodes of one leaf only.
    let t = net.traffic_staged(profile, &masks(&packed(0, 16)), 2);
    assert!(!t.crosses_spine);
    assert!(t
        .links
        .iter()
        .all(|&(l, a)| net.link(l).tier == Tier::Node && a == 1.0));
}
