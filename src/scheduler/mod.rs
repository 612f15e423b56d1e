//! Scheduling: the [`QueuePolicy`] and [`Placement`] seams, the built-in policies, and
//! the free-capacity index placement queries.

mod free;
mod grants;
mod idset;
pub mod leaves;
pub mod params;
pub mod placement;
pub mod queue;
pub mod registry;
pub mod signal;
mod traits;
pub mod whatif;

pub use free::{FreeCapacity, GpuGrant, HostRoom};
pub use grants::GrantStore;
pub use leaves::{LeafGroups, LeafIndex};
pub use traits::{
    FinishedJob, ModelMask, Placement, PlacementRequest, QueuePolicy, QueuedJob, RunningJob, SchedContext,
};
