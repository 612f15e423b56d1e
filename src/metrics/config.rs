use serde::Deserialize;

use crate::engine::SimTime;

/// `[metrics]` in a scenario: how a run's figures are taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// `[start, end]`, seconds of trace time (as `submit_s` in `jobs.csv`): the window of
    /// `gpu_utilization_window`. Absent: the arrival window, first to last submission,
    /// where a cluster's load is what the trace offered rather than its drain.
    pub utilization_window_s: Option<[f64; 2]>,
}

impl MetricsConfig {
    /// What is wrong with the settings, as (key, message), if anything.
    pub fn validate(&self) -> Option<(&'static str, &'static str)> {
        let [start, end] = self.utilization_window_s?;
        let in_range = |s: f64| SimTime::try_from_secs_f64(s).is_ok();
        let ok = in_range(start) && in_range(end) && end > start;
        (!ok).then_some((
            "metrics.utilization_window_s",
            "must be [start, end] in seconds with 0 ≤ start < end ≤ 1,000 years",
        ))
    }

    /// The configured utilization window, if any, as simulation times (what
    /// [`super::Recording::utilization_window`] takes): the run measures it as it goes.
    pub fn window(&self) -> Option<(SimTime, SimTime)> {
        let [start, end] = self.utilization_window_s?;
        Some((
            SimTime::try_from_secs_f64(start).unwrap_or(SimTime::ZERO),
            SimTime::try_from_secs_f64(end).unwrap_or(SimTime::MAX_HORIZON),
        ))
    }
}
