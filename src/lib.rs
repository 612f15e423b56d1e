//! dcsim: a discrete-event simulator of GPU data centers.

pub mod engine;
pub mod hardware;
pub mod topology;
pub mod workload;
