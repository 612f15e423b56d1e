//! Queue policies, one file each.

mod fifo;
mod fifo_skip;

pub use fifo::Fifo;
pub use fifo_skip::FifoSkip;
