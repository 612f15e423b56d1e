//! dcsim: a discrete-event simulator of GPU data centers.

pub mod compare;
pub mod economics;
pub mod engine;
pub mod facility;
pub mod hardware;
pub mod inflation;
pub mod metrics;
pub mod output;
pub mod plots;
pub mod power;
pub mod rate;
pub mod report;
pub mod scenario;
pub mod scheduler;
pub mod sim;
pub mod speed;
pub mod sweep;
pub mod topology;
pub mod workload;
