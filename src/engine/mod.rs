//! The discrete-event core: simulated time, the event queue and seeded random streams.
//!
//! This module imports nothing else from the crate; every model above it sees time
//! only as [`SimTime`] and randomness only through [`RngStreams`].

mod prefetch;
mod queue;
mod rng;
mod slab;
mod time;
mod window;

pub use prefetch::prefetch;
pub use queue::{EventQueue, Scheduled};
pub use rng::RngStreams;
#[cfg(test)]
pub(crate) use rng::XorShift;
pub use slab::Slab;
pub use time::{SimTime, TimeError};
pub use window::IdWindow;
