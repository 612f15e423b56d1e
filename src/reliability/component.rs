//! The components that fail, how many of each a cluster has, and what a failure of one
//! takes down (its blast domain in the topology tree).
//!
//! GPUs (and their HBM), hosts and NICs take down their node; a leaf (top-of-rack)
//! switch or a rack PDU takes down every node of its rack. The topology has no separate
//! fabric graph yet, so a leaf switch is the rack's: one per rack.

use serde::Deserialize;

use crate::topology::{Cluster, NodeId};

/// A kind of component that fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    /// A GPU (one per GPU of the cluster).
    Gpu,
    /// A GPU's HBM memory (one per GPU).
    Hbm,
    /// A host: CPU, memory, board, software stack (one per node).
    Node,
    /// A node's network interface (one per node).
    Nic,
    /// A leaf (top-of-rack) switch (one per rack).
    LeafSwitch,
    /// A rack's power distribution unit (one per rack).
    RackPdu,
}

impl ComponentKind {
    /// Every kind, in output order.
    pub const ALL: [ComponentKind; 6] = [
        ComponentKind::Gpu,
        ComponentKind::Hbm,
        ComponentKind::Node,
        ComponentKind::Nic,
        ComponentKind::LeafSwitch,
        ComponentKind::RackPdu,
    ];

    /// The name written in scenarios, failure logs and outputs.
    pub fn name(self) -> &'static str {
        match self {
            ComponentKind::Gpu => "gpu",
            ComponentKind::Hbm => "hbm",
            ComponentKind::Node => "node",
            ComponentKind::Nic => "nic",
            ComponentKind::LeafSwitch => "leaf-switch",
            ComponentKind::RackPdu => "rack-pdu",
        }
    }

    /// The kind a name denotes.
    pub fn parse(name: &str) -> Option<ComponentKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// How many components of this kind `cluster` has.
    pub fn count(self, cluster: &Cluster) -> u64 {
        match self {
            ComponentKind::Gpu | ComponentKind::Hbm => cluster.total_gpus(),
            ComponentKind::Node | ComponentKind::Nic => cluster.nodes.len() as u64,
            ComponentKind::LeafSwitch | ComponentKind::RackPdu => cluster.racks.len() as u64,
        }
    }

    /// How many components of this kind a job holding `gpus` GPUs on `nodes` nodes in
    /// `racks` racks depends on (a rack-level part fails a job only through its nodes).
    pub fn count_for_job(self, gpus: u64, nodes: u64, racks: u64) -> u64 {
        match self {
            ComponentKind::Gpu | ComponentKind::Hbm => gpus,
            ComponentKind::Node | ComponentKind::Nic => nodes,
            ComponentKind::LeafSwitch | ComponentKind::RackPdu => racks,
        }
    }
}

/// Component `index` of kind `kind` (0-based in cluster order: GPUs numbered node by node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Component {
    /// Its kind.
    pub kind: ComponentKind,
    /// Its index among the cluster's components of that kind.
    pub index: u64,
}

/// Maps components to the nodes their failure takes down.
#[derive(Debug, Clone)]
pub struct BlastMap {
    /// First GPU index of each node, plus the total at the end (for GPU → node lookup).
    gpu_start: Vec<u64>,
    /// Nodes of each rack.
    rack_nodes: Vec<Vec<NodeId>>,
    /// Rack of each node.
    node_rack: Vec<u32>,
}

impl BlastMap {
    /// The map for `cluster`.
    pub fn new(cluster: &Cluster) -> BlastMap {
        let mut gpu_start = Vec::with_capacity(cluster.nodes.len() + 1);
        let mut acc = 0u64;
        let mut rack_nodes = vec![Vec::new(); cluster.racks.len()];
        for (i, n) in cluster.nodes.iter().enumerate() {
            gpu_start.push(acc);
            acc += u64::from(n.gpus);
            rack_nodes[n.rack.0 as usize].push(NodeId(i as u32));
        }
        gpu_start.push(acc);
        BlastMap {
            gpu_start,
            rack_nodes,
            node_rack: cluster.nodes.iter().map(|n| n.rack.0).collect(),
        }
    }

    /// The node holding GPU `gpu` (cluster order).
    pub fn node_of_gpu(&self, gpu: u64) -> NodeId {
        let i = self.gpu_start.partition_point(|&s| s <= gpu) - 1;
        NodeId(i as u32)
    }

    /// The rack of `node`.
    pub fn rack_of(&self, node: NodeId) -> u32 {
        self.node_rack[node.0 as usize]
    }

    /// The nodes of rack `rack`.
    pub fn rack_nodes(&self, rack: u32) -> &[NodeId] {
        &self.rack_nodes[rack as usize]
    }

    /// The nodes a failure of `c` takes down, appended to `out`.
    pub fn nodes_hit(&self, c: Component, out: &mut Vec<NodeId>) {
        match c.kind {
            ComponentKind::Gpu | ComponentKind::Hbm => out.push(self.node_of_gpu(c.index)),
            ComponentKind::Node | ComponentKind::Nic => out.push(NodeId(c.index as u32)),
            ComponentKind::LeafSwitch | ComponentKind::RackPdu => {
                out.extend_from_slice(&self.rack_nodes[c.index as usize])
            }
        }
    }
}
