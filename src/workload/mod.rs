//! Workloads: the [`JobSpec`] schema, trace adapters, generators and transforms.

pub mod adapters;
mod arrivals;
mod error;
mod feed;
mod job;
pub mod stats;
pub mod synthetic;
pub mod transform;

pub use arrivals::{ArrivalTime, Arrivals};
pub use error::WorkloadError;
pub use feed::{JobFeed, JobView, Stream};
pub(crate) use job::check_job_count;
pub use job::{
    ClassId, CommHints, GpuDemand, GpuTypeSet, HostDemand, Interner, JobId, JobKind, JobName, JobSpec,
    SkipCount, SkipReport, TenantId, TraceEpoch, UserId, Workload, EPOCH_FORMAT, MAX_HELD_JOBS, MAX_JOBS,
    MILLI_PER_GPU,
};
