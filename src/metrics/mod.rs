//! What a run measured: one record per job, piecewise-constant time series written at
//! change points, and the summary statistics computed from them.

mod config;
mod records;
mod series;
mod stats;
mod summary;

pub use config::MetricsConfig;
pub use records::{JobRecord, Outcome, Segment};
pub use series::TimeSeries;
pub use stats::{percentile, Distribution};
pub use summary::{Summary, TenantSummary, UtilizationWindow};
