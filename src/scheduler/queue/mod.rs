//! Queue policies, one file each.

mod cheap_hours;
mod fifo;
mod fifo_skip;

pub use cheap_hours::{CheapHours, CHEAP_HOURS_PARAMS};
pub use fifo::Fifo;
pub use fifo_skip::FifoSkip;

mod classes;
mod conservative;
mod easy;
mod estimate;
mod priority;
mod sjf;
mod srtf;

pub use conservative::Conservative;
pub use easy::Easy;
pub use estimate::ESTIMATE_PARAMS;
pub use priority::Priority;
pub use sjf::Sjf;
pub use srtf::Srtf;
mod classed;
mod fair_share;
mod gittins;
mod qssf;
mod quota;
mod tiresias;
mod victims;

pub use fair_share::FairShare;
pub use gittins::{from_params as gittins_from_params, GittinsEstimator};
pub use qssf::Qssf;
pub use quota::Quota;
pub use tiresias::{Tiresias, DEFAULT_THRESHOLDS_GPU_S};
