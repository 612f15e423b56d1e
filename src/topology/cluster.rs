//! The built cluster: an arena of halls, rows, racks and nodes indexed by typed ids.

use serde::Serialize;

use crate::hardware::GpuSpec;

/// Index of a GPU model in [`Cluster::models`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct GpuModelId(pub u16);

/// Index of a node in [`Cluster::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct NodeId(pub u32);

/// Index of a rack in [`Cluster::racks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RackId(pub u32);

/// Index of a row in [`Cluster::rows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RowId(pub u32);

/// Index of a hall in [`Cluster::halls`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HallId(pub u32);

/// One server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Name (from the node list, or generated `<group>-<n>`).
    pub name: String,
    /// Its GPU model (every GPU of a node is the same model).
    pub model: GpuModelId,
    /// GPUs on the node (0 for a CPU-only node).
    pub gpus: u32,
    /// CPU capacity in thousandths of a core.
    pub cpu_milli: u64,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// The rack that holds it.
    pub rack: RackId,
}

/// One rack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rack {
    /// Name, e.g. `hall0-row2-rack07`.
    pub name: String,
    /// The row that holds it.
    pub row: RowId,
}

/// One row of racks (one PDU lineup).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Name.
    pub name: String,
    /// The hall that holds it.
    pub hall: HallId,
}

/// One data hall.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hall {
    /// Name.
    pub name: String,
}

/// A built cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// Topology name.
    pub name: String,
    /// GPU models present, indexed by [`GpuModelId`].
    pub models: Vec<GpuSpec>,
    /// Nodes, indexed by [`NodeId`]; nodes of one rack are contiguous.
    pub nodes: Vec<Node>,
    /// Racks, indexed by [`RackId`].
    pub racks: Vec<Rack>,
    /// Rows, indexed by [`RowId`].
    pub rows: Vec<Row>,
    /// Halls, indexed by [`HallId`].
    pub halls: Vec<Hall>,
}

impl Cluster {
    /// All GPUs in the cluster.
    pub fn total_gpus(&self) -> u64 {
        self.nodes.iter().map(|n| u64::from(n.gpus)).sum()
    }

    /// GPUs of one model.
    pub fn gpus_of(&self, model: GpuModelId) -> u64 {
        self.nodes
            .iter()
            .filter(|n| n.model == model)
            .map(|n| u64::from(n.gpus))
            .sum()
    }

    /// The model with this name or alias.
    pub fn model_by_name(&self, name: &str) -> Option<GpuModelId> {
        self.models
            .iter()
            .position(|m| m.matches(name))
            .map(|i| GpuModelId(i as u16))
    }

    /// The most GPUs on any single node.
    pub fn max_gpus_per_node(&self) -> u32 {
        self.nodes.iter().map(|n| n.gpus).max().unwrap_or(0)
    }
}
