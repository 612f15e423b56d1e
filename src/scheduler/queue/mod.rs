//! Queue policies, one file each.

mod fifo;
mod fifo_skip;

pub use fifo::Fifo;
pub use fifo_skip::FifoSkip;
mod classed;
mod fair_share;
mod gittins;
mod qssf;
mod quota;
mod tiresias;

pub use fair_share::FairShare;
pub use gittins::{from_params as gittins_from_params, GittinsEstimator};
pub use qssf::Qssf;
pub use quota::Quota;
pub use tiresias::{Tiresias, DEFAULT_THRESHOLDS_GPU_S};
