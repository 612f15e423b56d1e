//! Clusters: typed-id arenas built from `topologies/*.toml` or real node lists.

mod cluster;
pub mod config;
mod error;
pub mod fabric;
pub mod graph;
pub mod node_list;

pub use cluster::{Cluster, GpuModelId, Hall, HallId, Node, NodeId, Rack, RackId, Row, RowId};
pub use config::{load, load_report, parse, parse_report, LoadReport};
pub use error::{Issue, TopologyError};
