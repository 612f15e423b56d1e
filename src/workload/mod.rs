//! Workloads: the [`JobSpec`] schema, trace adapters, generators and transforms.

mod error;
mod job;

pub use error::WorkloadError;
pub use job::{
    GpuDemand, GpuTypeSet, Interner, JobId, JobKind, JobSpec, SkipCount, SkipReport, TenantId, UserId, Workload,
    MILLI_PER_GPU,
};
