//! The power and performance curves: GPU power as a function of utilization, and a
//! power-capped GPU's speed as a function of its cap.

use serde::Deserialize;

/// Exponent r of the empirical model of Fan, Weber and Barroso, "Power Provisioning for
/// a Warehouse-sized Computer", ISCA 2007 (Section 4: P(u) = P_idle + (P_busy −
/// P_idle)(2u − u^r), r = 1.4 fitted to their servers' measurements). The paper's
/// abstract (7–16% gap between achieved and theoretical aggregate peak at cluster
/// level) was confirmed against a copy found with the search tool; r = 1.4 is the
/// value quoted in `shared/reference/README.md` for its Section 4.
pub const FAN_2007_R: f64 = 1.4;

/// Default exponent α of the performance-vs-cap curve speed = (cap / demand)^α: 1/3,
/// from the dynamic-power law of DVFS (P ∝ C·V²·f with V ∝ f gives P ∝ f³, so a clock
/// that throughput follows scales with the cube root of power; Mudge, "Power: A First
/// Class Design Constraint", IEEE Computer 2001). It is the optimistic end: a
/// practitioner measurement reports H100 training 10–15% slower at a 600 W cap
/// (86% of 700 W), an α of about 0.9 (factryze.ai, "Power capping"); set
/// `perf_exponent` to that for a pessimistic bound.
pub const DEFAULT_PERF_EXPONENT: f64 = 1.0 / 3.0;

/// How a GPU's power grows with its utilization u ∈ [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Curve {
    /// f(u) = u (Fan, Weber, Barroso 2007, the linear model).
    Linear,
    /// f(u) = 2u − u^r with r = [`FAN_2007_R`] (Fan, Weber, Barroso 2007, the
    /// empirical model).
    #[default]
    Fan2007,
}

impl Curve {
    /// The share f(u) of the dynamic range (TDP − idle) drawn at utilization `u`
    /// (clamped to [0, 1]).
    pub fn share(self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        match self {
            Curve::Linear => u,
            Curve::Fan2007 => 2.0 * u - u.powf(FAN_2007_R),
        }
    }
}

/// GPU board power at utilization `u`: idle + (TDP − idle) · f(u), W.
pub fn gpu_power_w(curve: Curve, idle_w: f64, tdp_w: f64, u: f64) -> f64 {
    idle_w + (tdp_w - idle_w) * curve.share(u)
}

/// Speed (rate) of a GPU capped at `cap_w` while its work would draw `demand_w`:
/// (cap / demand)^α, 1 when the cap does not bind.
pub fn perf_at_cap(cap_w: f64, demand_w: f64, alpha: f64) -> f64 {
    if demand_w <= 0.0 || cap_w >= demand_w {
        1.0
    } else {
        (cap_w.max(0.0) / demand_w).powf(alpha)
    }
}
