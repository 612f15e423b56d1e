//! Requests to a service and summary figures of a request trace.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::percentile;

/// One request to a service.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Request {
    /// Arrival, in seconds from the start of the trace.
    pub arrival_s: f64,
    /// Prompt (context) tokens.
    pub prompt_tokens: u32,
    /// Output (generated) tokens.
    pub output_tokens: u32,
    /// Recorded execution time, in seconds, for traces that state one (Alibaba GenAI:
    /// one diffusion run per request). `None`: the performance model gives the time.
    pub exec_s: Option<f64>,
}

/// Requests in arrival order, with the rows a reader skipped (by reason, never silently).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestTrace {
    /// The requests, sorted by arrival (ties keep file order).
    pub requests: Vec<Request>,
    /// Rows not turned into requests, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
}

/// Summary figures of a request trace, the ones trace papers quote.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TraceStats {
    /// Requests.
    pub requests: u64,
    /// Last arrival minus first, in seconds.
    pub span_s: f64,
    /// Median prompt tokens (nearest rank).
    pub prompt_p50: f64,
    /// Mean prompt tokens.
    pub prompt_mean: f64,
    /// Median output tokens (nearest rank).
    pub output_p50: f64,
    /// Mean output tokens.
    pub output_mean: f64,
}

impl RequestTrace {
    /// Sorts by arrival, keeping file order for equal times.
    pub fn sort(&mut self) {
        self.requests.sort_by(|a, b| a.arrival_s.total_cmp(&b.arrival_s));
    }

    /// Summary figures; `None` for an empty trace.
    pub fn stats(&self) -> Option<TraceStats> {
        let r = &self.requests;
        let (first, last) = (r.first()?, r.last()?);
        let n = r.len() as f64;
        let sorted = |f: fn(&Request) -> u32| {
            let mut v: Vec<f64> = r.iter().map(|q| f64::from(f(q))).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let prompts = sorted(|q| q.prompt_tokens);
        let outputs = sorted(|q| q.output_tokens);
        Some(TraceStats {
            requests: r.len() as u64,
            span_s: last.arrival_s - first.arrival_s,
            prompt_p50: percentile(&prompts, 50.0)?,
            prompt_mean: prompts.iter().sum::<f64>() / n,
            output_p50: percentile(&outputs, 50.0)?,
            output_mean: outputs.iter().sum::<f64>() / n,
        })
    }
}
