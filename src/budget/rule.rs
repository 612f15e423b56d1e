//! The capacity rule: "when the trailing month's p95 wait (or utilization) passes a
//! target, order N racks that enter service after a lead time". A pure state machine,
//! fed by the fleet model at each month's end, so its logic is tested without a run.
//!
//! At the end of month `m` the rule takes the month's figure:
//! - `wait_p95_s`: the nearest-rank 95th percentile of the waits of the jobs that
//!   started in the month, together with the jobs submitted by the month's end that
//!   have not started yet, counted with their wait so far (a lower bound: without them
//!   a month so congested that few jobs start would look calm);
//! - `utilization`: busy GPU-time over GPUs in service × time, over the month.
//!
//! When the figure is strictly above the target, no order is in transit and reserve
//! racks remain, it orders `racks` racks (or the ones left): they enter service at the
//! start of month `m + 1 + lead_months`. While an order is in transit (through the end of
//! month `m + lead_months`), the rule does not order again: the racks it waits for are
//! the answer to the same shortage.

use serde::Deserialize;

use crate::engine::SimTime;
use crate::metrics::percentile;

/// The figure the rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleMetric {
    /// p95 wait over the month, seconds.
    WaitP95S,
    /// GPU utilization over the month, 0 to 1.
    Utilization,
}

impl RuleMetric {
    /// The name as written in a scenario and in `budget.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleMetric::WaitP95S => "wait_p95_s",
            RuleMetric::Utilization => "utilization",
        }
    }
}

/// `[budget.rule]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The figure watched.
    pub metric: RuleMetric,
    /// Order when the month's figure is above this (seconds, or a fraction for
    /// utilization).
    pub above: f64,
    /// Racks per order.
    pub racks: u32,
    /// The topology's `[[nodes]]` group whose racks are the ones that may be bought:
    /// in the cluster from the start, out of service until delivered.
    pub from_group: String,
    /// Months between the order and service.
    pub lead_months: u32,
}

impl RuleConfig {
    /// Checks ranges; the error is `(key, message)`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |k: &str, m: String| Err((format!("budget.rule.{k}"), m));
        match self.metric {
            RuleMetric::WaitP95S if !(self.above.is_finite() && self.above >= 0.0) => bad(
                "above",
                format!("a wait target must be ≥ 0 seconds, got {}", self.above),
            ),
            RuleMetric::Utilization if !(self.above >= 0.0 && self.above < 1.0) => bad(
                "above",
                format!("a utilization target must be in [0, 1), got {}", self.above),
            ),
            _ if self.racks == 0 => bad("racks", "must be ≥ 1".into()),
            _ => Ok(()),
        }
    }
}

/// An order the rule placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Order {
    /// Month (0-based) at whose end it was placed.
    pub month: usize,
    /// The figure that passed the target.
    pub value: f64,
    /// Racks ordered.
    pub racks: u32,
    /// Month (0-based) at whose start the racks enter service.
    pub delivery_month: usize,
}

/// The rule's state over a run.
#[derive(Debug, Clone)]
pub struct CapacityRule {
    cfg: RuleConfig,
    racks_left: u32,
    /// Delivery month of the order in transit.
    in_transit: Option<usize>,
    /// The month's waits, seconds (reused month to month).
    waits: Vec<f64>,
}

impl CapacityRule {
    /// A rule that may buy up to `reserve_racks` racks.
    pub fn new(cfg: RuleConfig, reserve_racks: u32) -> CapacityRule {
        CapacityRule {
            cfg,
            racks_left: reserve_racks,
            in_transit: None,
            waits: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RuleConfig {
        &self.cfg
    }

    /// Counts one wait of the month (a started job's, or a waiting job's so far).
    pub fn observe_wait(&mut self, wait: SimTime) {
        if self.cfg.metric == RuleMetric::WaitP95S {
            self.waits.push(wait.as_secs_f64());
        }
    }

    /// Closes month `month` whose utilization was `utilization`: returns the month's
    /// figure and the order placed, if any, and starts the next month's count.
    pub fn close_month(&mut self, month: usize, utilization: f64) -> (f64, Option<Order>) {
        let value = match self.cfg.metric {
            RuleMetric::Utilization => utilization,
            RuleMetric::WaitP95S => {
                self.waits.sort_by(f64::total_cmp);
                percentile(&self.waits, 95.0).unwrap_or(0.0)
            }
        };
        self.waits.clear();
        if self.in_transit.is_some_and(|d| month >= d) {
            self.in_transit = None;
        }
        let fire = value > self.cfg.above && self.in_transit.is_none() && self.racks_left > 0;
        if !fire {
            return (value, None);
        }
        let racks = self.cfg.racks.min(self.racks_left);
        self.racks_left -= racks;
        let delivery_month = month + 1 + self.cfg.lead_months as usize;
        self.in_transit = Some(delivery_month);
        (
            value,
            Some(Order {
                month,
                value,
                racks,
                delivery_month,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(metric: RuleMetric, above: f64, lead: u32, reserve: u32) -> CapacityRule {
        let cfg = RuleConfig {
            metric,
            above,
            racks: 2,
            from_group: "reserve".into(),
            lead_months: lead,
        };
        CapacityRule::new(cfg, reserve)
    }

    #[test]
    fn p95_is_nearest_rank_over_the_months_waits() {
        // 20 waits 1..=20 s: nearest rank ⌈0.95 · 20⌉ = 19 → 19 s.
        let mut r = rule(RuleMetric::WaitP95S, 18.5, 3, 10);
        for s in (1..=20).rev() {
            r.observe_wait(SimTime::from_secs(s));
        }
        let (v, order) = r.close_month(0, 0.0);
        assert_eq!(v, 19.0);
        assert_eq!(
            order,
            Some(Order {
                month: 0,
                value: 19.0,
                racks: 2,
                delivery_month: 4
            })
        );
        // The next month starts empty: no waits, figure 0.
        assert_eq!(r.close_month(1, 0.0), (0.0, None));
    }

    #[test]
    fn no_second_order_while_one_is_in_transit() {
        // Utilization above 0.8 every month, lead 2: order at end of month 0, racks in
        // service from month 3; months 1 and 2 wait for them; month 3's end orders again.
        let mut r = rule(RuleMetric::Utilization, 0.8, 2, 10);
        let fired: Vec<usize> = (0..6).filter(|&m| r.close_month(m, 0.9).1.is_some()).collect();
        assert_eq!(fired, [0, 3]);
    }

    #[test]
    fn orders_stop_when_the_reserve_runs_out_and_the_last_is_partial() {
        let mut r = rule(RuleMetric::Utilization, 0.5, 0, 3);
        let racks: Vec<u32> = (0..4)
            .filter_map(|m| r.close_month(m, 0.9).1)
            .map(|o| o.racks)
            .collect();
        assert_eq!(racks, [2, 1]);
    }

    #[test]
    fn the_target_itself_does_not_fire() {
        let mut r = rule(RuleMetric::Utilization, 0.5, 0, 3);
        assert_eq!(r.close_month(0, 0.5).1, None);
    }

    #[test]
    fn ranges_are_checked() {
        let mut cfg = rule(RuleMetric::Utilization, 1.0, 0, 1).config().clone();
        assert_eq!(cfg.validate().unwrap_err().0, "budget.rule.above");
        cfg.above = 0.9;
        cfg.racks = 0;
        assert_eq!(cfg.validate().unwrap_err().0, "budget.rule.racks");
        cfg.racks = 1;
        assert!(cfg.validate().is_ok());
        cfg.metric = RuleMetric::WaitP95S;
        cfg.above = -1.0;
        assert_eq!(cfg.validate().unwrap_err().0, "budget.rule.above");
    }
}
