//! The network fabric model: jobs' collective traffic sharing the fabric's links.
//!
//! A training job all-reduces its gradient every iteration ([`profile`]); its traffic
//! crosses the aggregate links of the [`crate::topology::fabric::Fabric`] between the
//! nodes it runs on; jobs sharing a link share it max-min fairly
//! ([`crate::sharing`]); the bandwidth a job gets sets its iteration time, and the ratio
//! of its isolated to its actual iteration time is the network's factor of its rate
//! ([`contention`]). Pipeline-parallel jobs add point-to-point traffic between their
//! stages ([`pipeline`]).

pub mod contention;
pub mod links;
pub mod model;
pub mod pipeline;
pub mod profile;

pub use contention::{Contention, JobTraffic};
pub use model::{NetworkConfig, NetworkModel, NetworkOutput, NetworkSummary};
pub use profile::CommProfile;
