//! The network fabric of a topology: `[fabric]` keys, their validation, and the built
//! [`Fabric`] the network model shares bandwidth over.
//!
//! The fabric is a Clos tree seen as aggregate links: every node's NICs (its uplink to
//! its leaf), every leaf's uplinks to the spine tier, and, with a core tier, every pod's
//! uplinks to the core. A leaf is a top-of-rack switch in a leaf-spine layout; in a
//! rail-optimized layout it is a rail group (the nodes whose GPU `i` all meet on rail
//! switch `i`, e.g. a DGX SuperPOD scalable unit of 32 systems), since traffic between
//! the GPUs of one rail group never leaves its rail switches. Spine (and core) switches
//! are non-blocking; oversubscription is the ratio of a tier's downlink to uplink
//! capacity. An NVLink domain (one node, or a rack-scale domain such as NVL72) joins its
//! GPUs without the NICs.

use serde::Deserialize;

use super::error::Issue;
use super::graph::{Disconnected, FabricGraph};
use super::{Cluster, NodeId};

/// How the fabric is wired (sets what a leaf is by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FabricLayout {
    /// Leaf-spine / fat-tree: one leaf (ToR) per rack unless `nodes_per_leaf` says
    /// otherwise; NICs per node default to 1.
    LeafSpine,
    /// Rail-optimized: one NIC per GPU, a leaf is a rail group of `nodes_per_leaf`
    /// nodes (required).
    RailOptimized,
}

/// `[fabric]` of a topology file (documented in `docs/topologies.md`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricKeys {
    /// How the fabric is wired.
    pub layout: FabricLayout,
    /// Speed of one NIC, Gb/s (e.g. 100, 200, 400, 800).
    pub nic_gbps: f64,
    /// NICs per node (default: 1 for leaf-spine, one per GPU for rail-optimized).
    pub nics_per_node: Option<u32>,
    /// NVLink bandwidth of one GPU inside its NVLink domain, GB/s (bytes; e.g. 450 for
    /// H100 SXM: 900 GB/s bidirectional).
    pub nvlink_gbytes_per_s: f64,
    /// Nodes per NVLink domain (1: the node; 18 for a GB200 NVL72 rack of 18 trays).
    #[serde(default = "one")]
    pub nvlink_domain_nodes: u32,
    /// Nodes per leaf (default: a rack for leaf-spine; required for rail-optimized).
    pub nodes_per_leaf: Option<u32>,
    /// Leaf downlink : uplink capacity (1 = non-blocking, 4 = 4:1).
    #[serde(default = "one_f64")]
    pub spine_oversubscription: f64,
    /// Leaves per pod, adding a core tier above the pods' spines (none: no core tier;
    /// node lists that name their switches set pods themselves).
    pub leaves_per_pod: Option<u32>,
    /// Pod downlink : uplink capacity toward the core (1 = non-blocking).
    #[serde(default = "one_f64")]
    pub core_oversubscription: f64,
}

fn one() -> u32 {
    1
}

fn one_f64() -> f64 {
    1.0
}

/// Whether a value is finite and positive.
fn finite_pos(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

impl FabricKeys {
    /// Every problem with the keys, with dotted keys under `fabric.`.
    pub fn validate(&self, out: &mut Vec<Issue>) {
        let mut bad = |key: &str, message: &str| {
            out.push(Issue {
                key: format!("fabric.{key}"),
                message: message.to_owned(),
            })
        };
        for (key, v) in [
            ("nic_gbps", self.nic_gbps),
            ("nvlink_gbytes_per_s", self.nvlink_gbytes_per_s),
            ("spine_oversubscription", self.spine_oversubscription),
            ("core_oversubscription", self.core_oversubscription),
        ] {
            if !finite_pos(v) {
                bad(
                    key,
                    "must be a positive number (a zero-capacity link disconnects the fabric)",
                );
            }
        }
        for (key, v) in [
            ("nics_per_node", self.nics_per_node),
            ("nodes_per_leaf", self.nodes_per_leaf),
            ("leaves_per_pod", self.leaves_per_pod),
            ("nvlink_domain_nodes", Some(self.nvlink_domain_nodes)),
        ] {
            if v == Some(0) {
                bad(key, "must be at least 1");
            }
        }
        if self.layout == FabricLayout::RailOptimized && self.nodes_per_leaf.is_none() {
            bad(
                "nodes_per_leaf",
                "a rail-optimized fabric needs the rail group size",
            );
        }
    }
}

/// The switches a node list names above one node: its core, its pod (aggregation
/// switch) and its leaf (ToR), as labels unique across the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchPath {
    /// Core switch label.
    pub core: String,
    /// Pod (aggregation switch) label.
    pub pod: String,
    /// Leaf (ToR) label.
    pub leaf: String,
}

/// Index of a leaf in [`Fabric`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeafId(pub u32);

/// Index of a pod (the leaves under one spine block) in [`Fabric`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodId(pub u32);

/// A built fabric: each node's leaf and NVLink domain, each leaf's pod, and the
/// capacities of the aggregate links, in bytes per second.
#[derive(Debug, Clone, PartialEq)]
pub struct Fabric {
    /// How it is wired.
    pub layout: FabricLayout,
    /// Leaf of each node, indexed like `Cluster::nodes`.
    pub node_leaf: Vec<LeafId>,
    /// NVLink domain of each node (nodes of one domain share a number).
    pub node_domain: Vec<u32>,
    /// NIC capacity of each node (all its NICs), bytes/s.
    pub node_nic_bps: Vec<f64>,
    /// NICs of each node.
    pub node_nics: Vec<u32>,
    /// GPUs of each node.
    pub node_gpus: Vec<u32>,
    /// Pod of each leaf.
    pub leaf_pod: Vec<PodId>,
    /// Uplink capacity of each leaf toward the spine tier, bytes/s.
    pub leaf_uplink_bps: Vec<f64>,
    /// Uplink capacity of each pod toward the core, bytes/s (empty: no core tier).
    pub pod_uplink_bps: Vec<f64>,
    /// NVLink bandwidth of one GPU, bytes/s.
    pub nvlink_bps: f64,
    /// Name of each leaf (switch label from a node list, or `leaf<i>`).
    pub leaf_name: Vec<String>,
    /// The spine oversubscription the leaf uplinks were sized with.
    pub spine_oversubscription: f64,
    /// Speed of one NIC, bytes/s.
    pub nic_bps: f64,
    /// Core switch of each pod (index into `core_name`).
    pub pod_core: Vec<u32>,
    /// Name of each core switch (a node list's label, or `core`).
    pub core_name: Vec<String>,
    /// The fabric as a graph: its links, ports and routes.
    pub graph: FabricGraph,
}

/// Bytes per second in one gigabit per second.
const BYTES_PER_S_PER_GBPS: f64 = 1e9 / 8.0;

impl Fabric {
    /// Builds the fabric of `cluster` from valid `keys`. `switches[n]`, where a node
    /// list named them, is node `n`'s switches; other nodes get leaves of
    /// `nodes_per_leaf` consecutive nodes (default: their rack) and pods of
    /// `leaves_per_pod` leaves under one core. Fails when the named core switches leave
    /// some nodes unable to reach the others.
    pub fn build(
        cluster: &Cluster,
        keys: &FabricKeys,
        switches: &[Option<SwitchPath>],
    ) -> Result<Fabric, Disconnected> {
        let n = cluster.nodes.len();
        let mut node_leaf = Vec::with_capacity(n);
        let mut leaf_pod: Vec<PodId> = Vec::new();
        let mut leaf_name: Vec<String> = Vec::new();
        let mut named_leaf = std::collections::HashMap::new();
        let mut named_pod = std::collections::HashMap::new();
        let mut core_name: Vec<String> = Vec::new();
        let mut pod_core: Vec<u32> = Vec::new();
        // Generated leaves: (pod ordinal among generated pods), resolved after the named
        // pods are known so that the two kinds never share a pod number.
        let mut generated: Vec<(usize, u32)> = Vec::new();
        let mut last_group: Option<(u64, usize)> = None; // (group key, leaf index)
        for (i, node) in cluster.nodes.iter().enumerate() {
            let leaf = match switches.get(i).and_then(|s| s.as_ref()) {
                Some(path) => {
                    let next_pod = named_pod.len() as u32;
                    let pod = *named_pod.entry(path.pod.clone()).or_insert_with(|| {
                        let core = match core_name.iter().position(|c| *c == path.core) {
                            Some(c) => c,
                            None => {
                                core_name.push(path.core.clone());
                                core_name.len() - 1
                            }
                        };
                        pod_core.push(core as u32);
                        PodId(next_pod)
                    });
                    *named_leaf.entry(path.leaf.clone()).or_insert_with(|| {
                        leaf_pod.push(pod);
                        leaf_name.push(path.leaf.clone());
                        leaf_pod.len() - 1
                    })
                }
                None => {
                    let group = match keys.nodes_per_leaf {
                        Some(per) => (i as u64) / u64::from(per),
                        None => u64::from(node.rack.0),
                    };
                    match last_group {
                        Some((g, l)) if g == group => l,
                        _ => {
                            let per_pod = keys.leaves_per_pod.unwrap_or(u32::MAX);
                            let ordinal = generated.len() as u32 / per_pod;
                            leaf_pod.push(PodId(0));
                            leaf_name.push(format!("leaf{}", leaf_pod.len() - 1));
                            generated.push((leaf_pod.len() - 1, ordinal));
                            last_group = Some((group, leaf_pod.len() - 1));
                            leaf_pod.len() - 1
                        }
                    }
                }
            };
            node_leaf.push(LeafId(leaf as u32));
        }
        let named_pods = named_pod.len() as u32;
        for (leaf, ordinal) in generated {
            leaf_pod[leaf] = PodId(named_pods + ordinal);
        }
        let nics_default = |gpus: u32| match keys.layout {
            FabricLayout::LeafSpine => 1,
            FabricLayout::RailOptimized => gpus.max(1),
        };
        let node_nics: Vec<u32> = cluster
            .nodes
            .iter()
            .map(|nd| keys.nics_per_node.unwrap_or_else(|| nics_default(nd.gpus)))
            .collect();
        let nic_bps = keys.nic_gbps * BYTES_PER_S_PER_GBPS;
        let node_nic_bps: Vec<f64> = node_nics.iter().map(|&k| f64::from(k) * nic_bps).collect();
        let mut leaf_uplink_bps = vec![0.0; leaf_pod.len()];
        for (i, l) in node_leaf.iter().enumerate() {
            leaf_uplink_bps[l.0 as usize] += node_nic_bps[i];
        }
        for c in &mut leaf_uplink_bps {
            *c /= keys.spine_oversubscription;
        }
        let pods = leaf_pod.iter().map(|p| p.0 as usize + 1).max().unwrap_or(0);
        let pod_uplink_bps = if pods > 1 {
            let mut up = vec![0.0; pods];
            for (l, p) in leaf_pod.iter().enumerate() {
                up[p.0 as usize] += leaf_uplink_bps[l];
            }
            up.iter().map(|c| c / keys.core_oversubscription).collect()
        } else {
            Vec::new()
        };
        // Generated pods hang off the one named core, else off a core of their own.
        if core_name.len() != 1 {
            core_name.push("core".to_owned());
        }
        let generated_core = core_name.len() as u32 - 1;
        pod_core.resize(pods.max(pod_core.len()), generated_core);
        let node_domain = (0..n as u32).map(|i| i / keys.nvlink_domain_nodes).collect();
        let mut fabric = Fabric {
            layout: keys.layout,
            node_leaf,
            node_domain,
            node_nic_bps,
            node_nics,
            node_gpus: cluster.nodes.iter().map(|nd| nd.gpus).collect(),
            leaf_pod,
            leaf_uplink_bps,
            pod_uplink_bps,
            nvlink_bps: keys.nvlink_gbytes_per_s * 1e9,
            leaf_name,
            spine_oversubscription: keys.spine_oversubscription,
            nic_bps,
            pod_core,
            core_name,
            graph: FabricGraph::default(),
        };
        let names: Vec<String> = cluster.nodes.iter().map(|nd| nd.name.clone()).collect();
        fabric.graph = FabricGraph::build(&fabric, &names)?;
        Ok(fabric)
    }

    /// Resizes the leaf uplinks (and the pod uplinks above them) for another spine
    /// oversubscription `ratio` (> 0): what-if runs over one topology.
    pub fn set_spine_oversubscription(&mut self, ratio: f64) {
        let scale = self.spine_oversubscription / ratio;
        for c in self
            .leaf_uplink_bps
            .iter_mut()
            .chain(self.pod_uplink_bps.iter_mut())
        {
            *c *= scale;
        }
        self.graph.scale_uplinks(scale);
        self.spine_oversubscription = ratio;
    }

    /// Number of leaves.
    pub fn leaves(&self) -> usize {
        self.leaf_pod.len()
    }

    /// Number of pods.
    pub fn pods(&self) -> usize {
        self.leaf_pod.iter().map(|p| p.0 as usize + 1).max().unwrap_or(0)
    }

    /// Leaf of a node.
    pub fn leaf(&self, node: NodeId) -> LeafId {
        self.node_leaf[node.0 as usize]
    }

    /// Pod of a leaf.
    pub fn pod(&self, leaf: LeafId) -> PodId {
        self.leaf_pod[leaf.0 as usize]
    }

    /// Whether there is a core tier (more than one pod).
    pub fn has_core(&self) -> bool {
        !self.pod_uplink_bps.is_empty()
    }
}
