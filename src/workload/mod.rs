//! Workloads: the [`JobSpec`] schema, trace adapters, generators and transforms.

pub mod adapters;
mod error;
mod job;
pub mod stats;
pub mod synthetic;
pub mod transform;

pub use error::WorkloadError;
pub use job::{
    ClassId, GpuDemand, GpuTypeSet, HostDemand, Interner, JobId, JobKind, JobSpec, SkipCount, SkipReport,
    TenantId, UserId, Workload, MILLI_PER_GPU,
};
