//! Reliability: component failures, repairs, spares, cordoning and checkpoints.
//!
//! Failures own whether a job runs, never a rate factor (DESIGN.md): a failure stops the
//! jobs on the nodes it takes down through the engine's one stopping path, charging the
//! work since each job's last checkpoint. This module holds the pieces that need no
//! engine: the configuration ([`config`]), the published failure mixes ([`presets`]),
//! what each component's failure takes down ([`component`]), failure arrivals drawn or
//! replayed ([`process`]), checkpoint-interval math ([`checkpoint`]) and checkpoint
//! writes sharing a storage tier ([`storage`]).

pub mod checkpoint;
pub mod component;
pub mod config;
pub mod model;
pub mod output;
pub mod presets;
pub mod process;
pub mod storage;

pub use checkpoint::{daly_expected_wall, daly_interval, young_interval, CheckpointPolicy};
pub use component::{BlastMap, Component, ComponentKind};
pub use config::{Cause, ReliabilityConfig, ReliabilityError};
pub use model::ReliabilityModel;
pub use output::{FailureRecord, JobReliability, ReliabilityOutput, ReliabilitySummary};
pub use presets::Preset;
pub use process::{read_log, Failure, FailureProcess, LoggedFailure};
