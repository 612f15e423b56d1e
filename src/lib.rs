//! dcsim: a discrete-event simulator of GPU data centers.

pub mod budget;
pub mod columnar;
pub mod compare;
pub mod economics;
pub mod engine;
pub mod facility;
pub mod hardware;
pub mod inflation;
pub mod metrics;
pub mod model;
pub mod network;
pub mod output;
pub mod plots;
pub mod power;
pub mod rate;
pub mod reliability;
pub mod report;
pub mod scenario;
pub mod scheduler;
pub mod serving;
pub mod sharing;
pub mod sim;
pub mod speed;
pub mod sweep;
pub mod topology;
pub mod workload;
