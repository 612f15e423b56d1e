//! Clusters: typed-id arenas built from `topologies/*.toml` or real node lists.

mod cluster;

pub use cluster::{Cluster, GpuModelId, Hall, HallId, Node, NodeId, Rack, RackId, Row, RowId};
