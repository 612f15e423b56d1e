//! Autoscaling policies: how many replicas a service wants, decided once per interval.

use serde::Deserialize;

use super::error::ServingError;

/// How a service sizes itself. Every policy except `fixed` holds the count within
/// `[min, max]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScalePolicy {
    /// Always `replicas`.
    Fixed {
        /// Replica count.
        replicas: u32,
    },
    /// Keep the busy share of replica time near `target` (0–1).
    TargetUtilization {
        /// Target busy share.
        target: f64,
        /// Fewest replicas.
        min: u32,
        /// Most replicas.
        max: u32,
    },
    /// One replica per `per_replica` requests waiting or in service.
    QueueLength {
        /// Outstanding requests one replica should hold.
        per_replica: f64,
        /// Fewest replicas.
        min: u32,
        /// Most replicas.
        max: u32,
    },
    /// Add a replica while the interval's p90 time to first token exceeds the target,
    /// remove one while it is under half the target.
    LatencySlo {
        /// Target p90 TTFT, in seconds.
        ttft_p90_s: f64,
        /// Fewest replicas.
        min: u32,
        /// Most replicas.
        max: u32,
    },
    /// Replicas by hour of day (24 entries; t = 0 is midnight).
    Scheduled {
        /// Count for each hour 0–23.
        by_hour: Vec<u32>,
    },
}

/// What a policy sees at the end of an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observed {
    /// Time, in seconds.
    pub now_s: f64,
    /// Replicas serving now (loaded, not draining).
    pub replicas: u32,
    /// Busy share of those replicas' time over the interval.
    pub utilization: f64,
    /// Requests waiting or in service.
    pub outstanding: u64,
    /// p90 TTFT of the interval's first tokens, in seconds (0 if none).
    pub ttft_p90_s: f64,
}

impl ScalePolicy {
    /// Replicas at the start of the run.
    pub fn initial(&self) -> u32 {
        match self {
            ScalePolicy::Fixed { replicas } => *replicas,
            ScalePolicy::TargetUtilization { min, .. }
            | ScalePolicy::QueueLength { min, .. }
            | ScalePolicy::LatencySlo { min, .. } => (*min).max(1),
            ScalePolicy::Scheduled { by_hour } => by_hour[0],
        }
    }

    /// Fewest replicas this policy can ask for.
    pub fn min(&self) -> u32 {
        match self {
            ScalePolicy::Fixed { replicas } => *replicas,
            ScalePolicy::TargetUtilization { min, .. }
            | ScalePolicy::QueueLength { min, .. }
            | ScalePolicy::LatencySlo { min, .. } => *min,
            ScalePolicy::Scheduled { by_hour } => by_hour.iter().copied().min().unwrap_or(0),
        }
    }

    /// Most replicas this policy can ask for.
    pub fn max(&self) -> u32 {
        match self {
            ScalePolicy::Fixed { replicas } => *replicas,
            ScalePolicy::TargetUtilization { max, .. }
            | ScalePolicy::QueueLength { max, .. }
            | ScalePolicy::LatencySlo { max, .. } => *max,
            ScalePolicy::Scheduled { by_hour } => by_hour.iter().copied().max().unwrap_or(0),
        }
    }

    /// Replicas wanted after observing `o`.
    pub fn desired(&self, o: &Observed) -> u32 {
        match *self {
            ScalePolicy::Fixed { replicas } => replicas,
            ScalePolicy::TargetUtilization { target, min, max } => {
                let want = (f64::from(o.replicas.max(1)) * o.utilization / target).ceil();
                (want as u32).clamp(min, max)
            }
            ScalePolicy::QueueLength {
                per_replica,
                min,
                max,
            } => ((o.outstanding as f64 / per_replica).ceil() as u32).clamp(min, max),
            ScalePolicy::LatencySlo { ttft_p90_s, min, max } => {
                let r = o.replicas;
                let want = if o.ttft_p90_s > ttft_p90_s {
                    r + 1
                } else if o.ttft_p90_s < ttft_p90_s / 2.0 {
                    r.saturating_sub(1)
                } else {
                    r
                };
                want.clamp(min, max)
            }
            ScalePolicy::Scheduled { ref by_hour } => {
                by_hour[((o.now_s / 3600.0).floor() as u64 % 24) as usize]
            }
        }
    }

    /// Checks the fields; `key` names the policy in errors.
    pub fn validate(&self, key: &str) -> Result<(), ServingError> {
        let bounds = |min: u32, max: u32| {
            if max == 0 || min > max {
                Err(ServingError::config(
                    format!("{key}.max"),
                    format!("expected max >= min and >= 1 (min {min}, max {max})"),
                ))
            } else {
                Ok(())
            }
        };
        match *self {
            ScalePolicy::Fixed { .. } => Ok(()),
            ScalePolicy::TargetUtilization { target, min, max } => {
                if !(target > 0.0 && target <= 1.0) {
                    return Err(ServingError::config(
                        format!("{key}.target"),
                        "expected a share in (0, 1]",
                    ));
                }
                bounds(min, max)
            }
            ScalePolicy::QueueLength {
                per_replica,
                min,
                max,
            } => {
                if !(per_replica.is_finite() && per_replica > 0.0) {
                    return Err(ServingError::config(
                        format!("{key}.per_replica"),
                        "expected requests > 0",
                    ));
                }
                bounds(min, max)
            }
            ScalePolicy::LatencySlo { ttft_p90_s, min, max } => {
                if !(ttft_p90_s.is_finite() && ttft_p90_s > 0.0) {
                    return Err(ServingError::config(
                        format!("{key}.ttft_p90_s"),
                        "expected seconds > 0",
                    ));
                }
                bounds(min, max)
            }
            ScalePolicy::Scheduled { ref by_hour } => {
                if by_hour.len() != 24 {
                    return Err(ServingError::config(
                        format!("{key}.by_hour"),
                        format!("expected 24 counts (hours 0-23), got {}", by_hour.len()),
                    ));
                }
                Ok(())
            }
        }
    }
}
