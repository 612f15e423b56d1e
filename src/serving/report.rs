//! What a service run reports: latency distributions, SLO attainment, drops with
//! reasons, replicas over time, GPU-hours and energy (also per 1,000 requests).

use serde::{Deserialize, Serialize};

use crate::metrics::Distribution;

/// Latency objectives. Defaults follow Vidur (Agrawal et al., MLSys 2024): p90 time to
/// first token under 2 s and p99 time between tokens under 200 ms; a request attains
/// the SLO when its own TTFT and mean TBT are within the same bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Slo {
    /// Bound on the p90 of TTFT over requests, in seconds.
    pub ttft_p90_s: f64,
    /// Bound on the p99 of TBT over tokens, in seconds.
    pub tbt_p99_s: f64,
    /// Per-request TTFT bound, in seconds.
    pub ttft_s: f64,
    /// Per-request mean-TBT bound, in seconds.
    pub tbt_s: f64,
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            ttft_p90_s: 2.0,
            tbt_p99_s: 0.2,
            ttft_s: 2.0,
            tbt_s: 0.2,
        }
    }
}

/// Requests dropped, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Drops {
    /// Prompt plus output exceed a replica's whole KV cache: it could never run.
    pub exceeds_kv_cache: u64,
}

impl Drops {
    /// All drops.
    pub fn total(&self) -> u64 {
        self.exceeds_kv_cache
    }
}

/// Figures of one service over a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceReport {
    /// Requests in the trace.
    pub requests: u64,
    /// Requests that arrived before the run ended.
    pub arrived: u64,
    /// Requests completed.
    pub served: u64,
    /// Requests dropped, by reason.
    pub dropped: Drops,
    /// Requests waiting or in service when the run ended.
    pub in_system_at_end: u64,
    /// Requests whose arrival lies after the end of the run.
    pub not_arrived: u64,
    /// Time to first token of served requests, seconds.
    pub ttft_s: Distribution,
    /// p90 of TTFT, seconds (the SLO's statistic).
    pub ttft_p90_s: f64,
    /// Time between tokens over all decoded tokens: p50, p95, p99, seconds.
    pub tbt_s: [f64; 3],
    /// End-to-end latency of served requests, seconds.
    pub e2e_s: Distribution,
    /// The objectives used.
    pub slo: Slo,
    /// Share of served requests within the per-request SLO.
    pub slo_attainment: f64,
    /// Whether p90 TTFT and p99 TBT are within the SLO.
    pub slo_met: bool,
    /// Time-average requests in the system (Little's law: = arrival rate × mean time in system).
    pub mean_in_system: f64,
    /// Length of the run, seconds.
    pub duration_s: f64,
    /// GPU-hours held by the service's replicas (loading and draining included).
    pub gpu_hours: f64,
    /// Energy of those GPUs, kWh.
    pub energy_kwh: f64,
    /// Highest draw of those GPUs, kW: the highest one-second mean in request mode
    /// (iterations at their power by load), the highest interval mean in fluid mode.
    pub peak_kw: f64,
    /// Share of iterations slowed by the service's power cap (0 without one).
    pub throttled_share: f64,
    /// Prompt plus output tokens of the served requests.
    pub tokens_served: f64,
    /// GPU-hours per 1,000 served requests.
    pub gpu_hours_per_1000: f64,
    /// kWh per 1,000 served requests.
    pub energy_kwh_per_1000: f64,
    /// (time s, replicas held) at each change.
    pub replicas_over_time: Vec<(f64, u32)>,
}
