//! Inference serving: request traces and generators, a performance model of LLM
//! replicas per GPU model, and a simulator of one service's replicas.
//!
//! A service is a set of replicas of one model (e.g. a 70B model on 8 H100), each
//! batching requests continuously; requests come from a real trace
//! ([`traces`]) or a generator ([`generate`]). Long-running instances recorded in a
//! trace replay as services' replicas over time ([`instances`]).

pub mod autoscale;
pub mod config;
pub mod cost;
pub mod engine;
pub mod error;
pub mod fluid;
pub mod generate;
pub mod instances;
pub mod kvlink;
pub mod perf;
pub mod profile;
pub mod replicas;
pub mod report;
pub mod request;
pub mod traces;

pub use error::ServingError;
pub use request::{Request, RequestTrace, TraceStats};
