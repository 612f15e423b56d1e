//! Queue policies, one file each.

mod fifo;
mod fifo_skip;

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
