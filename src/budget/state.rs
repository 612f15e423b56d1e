//! The fleet over a run, as a state machine the engine drives: which nodes leave or
//! enter service when, the month-end figures the capacity rule reads, and the orders it
//! places. It knows nothing of the engine: each call returns the nodes to take out or
//! bring back and the timed events to schedule, so it is tested by hand here and
//! plugged into the simulation by [`super::model`].
//!
//! Events at one instant run in the order they were scheduled: month ends first (all
//! scheduled at the start), then dated changes, then deliveries. So a month is closed
//! with the fleet it had, before the racks or groups that start the next month.

use super::calendar::Calendar;
use super::fleet::FleetPlan;
use super::rule::{CapacityRule, Order, RuleConfig};
use crate::engine::SimTime;
use crate::topology::NodeId;
use crate::workload::{JobId, Workload};

/// What the engine must do for the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Take the node out of service, draining it (running jobs finish).
    TakeOut(NodeId),
    /// Put the node (back) in service.
    BringBack(NodeId),
    /// Deliver event `token` at this time to [`FleetState::on_event`].
    Schedule(SimTime, u64),
}

/// Event kinds, in a token's high 32 bits; the low 32 bits are an index.
const MONTH_END: u64 = 0;
const CHANGE: u64 = 1;
const DELIVERY: u64 = 2;

fn token(kind: u64, index: usize) -> u64 {
    (kind << 32) | index as u64
}

/// One month as the fleet saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetMonth {
    /// GPUs in service at the month's end.
    pub gpus_installed: u64,
    /// Busy GPU-time over GPU-time in service, over the month.
    pub utilization: f64,
    /// The capacity rule's figure for the month (`None` without a rule).
    pub rule_value: Option<f64>,
    /// The order placed at the month's end.
    pub order: Option<Order>,
    /// Racks that entered service at the month's start.
    pub racks_delivered: u32,
}

/// The fleet's state over a run.
#[derive(Debug, Clone)]
pub struct FleetState {
    plan: FleetPlan,
    cal: Calendar,
    rule: Option<CapacityRule>,
    gpus_in_service: u64,
    /// GPU demand of running jobs, thousandths of a GPU.
    busy_milli: u64,
    /// Since the month's start: ∫ busy_milli dt and ∫ GPUs in service dt (ms).
    busy_integral: u128,
    capacity_integral: u128,
    last: SimTime,
    /// Per job: its running demand (milli), and whether it ever started.
    running_milli: Vec<u64>,
    started: Vec<bool>,
    /// Jobs before this index (in submit order) have all started.
    first_unstarted: usize,
    next_reserve_rack: usize,
    orders: Vec<Order>,
    months: Vec<FleetMonth>,
    delivered: Vec<u32>,
}

impl FleetState {
    /// The end of the budget's last month: its close must run even after the last job.
    pub fn end(&self) -> SimTime {
        self.cal.end()
    }

    /// The fleet of `plan` over `cal` for a workload of `jobs` jobs; `rule` is the
    /// capacity rule (it may buy the plan's reserve racks). `gpus_at_start` is what is
    /// in service at time 0 ([`FleetPlan::gpus_at_start`]).
    pub fn new(
        plan: FleetPlan,
        cal: Calendar,
        rule: Option<RuleConfig>,
        gpus_at_start: u64,
        jobs: usize,
    ) -> FleetState {
        let rule = rule.map(|r| CapacityRule::new(r, plan.reserve.len() as u32));
        let months = cal.months();
        FleetState {
            plan,
            cal,
            rule,
            gpus_in_service: gpus_at_start,
            busy_milli: 0,
            busy_integral: 0,
            capacity_integral: 0,
            last: SimTime::ZERO,
            running_milli: vec![0; jobs],
            started: vec![false; jobs],
            first_unstarted: 0,
            next_reserve_rack: 0,
            orders: Vec::new(),
            months: Vec::with_capacity(months),
            delivered: vec![0; months + 1],
        }
    }

    /// At time 0, before any placement: the nodes to take out, then every month end and
    /// dated change to schedule.
    pub fn begin(&self, out: &mut Vec<Action>) {
        out.extend(self.plan.out_at_start.iter().map(|&n| Action::TakeOut(n)));
        for m in 0..self.cal.months() {
            out.push(Action::Schedule(self.cal.bounds[m + 1], token(MONTH_END, m)));
        }
        for (i, c) in self.plan.changes.iter().enumerate() {
            out.push(Action::Schedule(c.at, token(CHANGE, i)));
        }
    }

    /// Advances the time integrals to `now`.
    fn advance(&mut self, now: SimTime) {
        let dt = u128::from((now - self.last).as_ms());
        self.busy_integral += u128::from(self.busy_milli) * dt;
        self.capacity_integral += u128::from(self.gpus_in_service) * dt;
        self.last = now;
    }

    /// A run of `job` submitted at `submit` started at `now`, holding `milli`
    /// thousandths of a GPU. Only a job's first start counts as a wait.
    pub fn job_started(&mut self, now: SimTime, job: JobId, submit: SimTime, milli: u64) {
        self.advance(now);
        let j = job.0 as usize;
        self.busy_milli += milli;
        self.running_milli[j] = milli;
        if !self.started[j] {
            self.started[j] = true;
            if let Some(r) = &mut self.rule {
                r.observe_wait(now - submit);
            }
        }
    }

    /// A run of `job` stopped at `now`.
    pub fn job_stopped(&mut self, now: SimTime, job: JobId) {
        self.advance(now);
        let j = job.0 as usize;
        self.busy_milli -= std::mem::take(&mut self.running_milli[j]);
    }

    /// Event `token` fired at `now`; `workload` is the run's (submit order = id order).
    pub fn on_event(&mut self, now: SimTime, token: u64, workload: &Workload, out: &mut Vec<Action>) {
        self.advance(now);
        let index = (token & u64::from(u32::MAX)) as usize;
        match token >> 32 {
            MONTH_END => self.close_month(now, index, workload, out),
            CHANGE => {
                let c = self.plan.changes[index];
                let nodes = &self.plan.groups[c.group];
                let gpus = self.plan.group_gpus[c.group];
                if c.enters {
                    self.gpus_in_service += gpus;
                    out.extend(nodes.iter().map(|&n| Action::BringBack(n)));
                } else {
                    self.gpus_in_service -= gpus;
                    out.extend(nodes.iter().map(|&n| Action::TakeOut(n)));
                }
            }
            _ => {
                let order = self.orders[index];
                for _ in 0..order.racks {
                    let rack = self.next_reserve_rack;
                    self.next_reserve_rack += 1;
                    self.gpus_in_service += self.plan.reserve_gpus[rack];
                    out.extend(self.plan.reserve[rack].iter().map(|&n| Action::BringBack(n)));
                }
                self.delivered[order.delivery_month] += order.racks;
            }
        }
    }

    fn close_month(&mut self, now: SimTime, m: usize, workload: &Workload, out: &mut Vec<Action>) {
        let utilization = if self.capacity_integral == 0 {
            0.0
        } else {
            self.busy_integral as f64 / (self.capacity_integral as f64 * 1000.0)
        };
        let mut rule_value = None;
        let mut order = None;
        if let Some(rule) = &mut self.rule {
            // Jobs still waiting count with their wait so far.
            while self.first_unstarted < self.started.len() && self.started[self.first_unstarted] {
                self.first_unstarted += 1;
            }
            for job in &workload.jobs[self.first_unstarted..] {
                if job.submit >= now {
                    break;
                }
                if !self.started[job.id.0 as usize] {
                    rule.observe_wait(now - job.submit);
                }
            }
            let (value, o) = rule.close_month(m, utilization);
            rule_value = Some(value);
            if let Some(o) = o {
                if o.delivery_month < self.cal.months() {
                    out.push(Action::Schedule(
                        self.cal.bounds[o.delivery_month],
                        token(DELIVERY, self.orders.len()),
                    ));
                }
                self.orders.push(o);
                order = Some(o);
            }
        }
        self.months.push(FleetMonth {
            gpus_installed: self.gpus_in_service,
            utilization,
            rule_value,
            order,
            racks_delivered: self.delivered[m],
        });
        self.busy_integral = 0;
        self.capacity_integral = 0;
    }

    /// The months closed so far, and every order placed (including those that would be
    /// delivered after the run).
    pub fn finish(self) -> (Vec<FleetMonth>, Vec<Order>) {
        (self.months, self.orders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::rule::RuleMetric;
    use crate::budget::{fleet, BudgetConfig};
    use crate::topology;
    use crate::workload::{GpuDemand, JobSpec, TenantId};

    /// 2 "base" nodes (16 GPUs) in service, 4 "reserve" nodes (2 racks of 2) to buy.
    fn setup(lead: u32) -> (FleetState, Workload) {
        let cluster = topology::parse_report(
            r#"
            name = "t"
            source = "test"
            [layout]
            nodes_per_rack = 2
            racks_per_row = 4
            rows_per_hall = 4
            [[nodes]]
            name = "base"
            gpu = "H100-SXM5"
            gpus = 8
            count = 2
            [[nodes]]
            name = "reserve"
            gpu = "H100-SXM5"
            gpus = 8
            count = 4
        "#,
            std::path::Path::new("t.toml"),
        )
        .unwrap()
        .cluster;
        let cfg: BudgetConfig = toml::from_str(&format!(
            "start = \"2026-01-01\"\nmonths = 4\n[rule]\nmetric = \"utilization\"\nabove = 0.8\nracks = 1\nfrom_group = \"reserve\"\nlead_months = {lead}"
        ))
        .unwrap();
        let cal = cfg.calendar(None).unwrap();
        let plan = fleet::plan(&cfg, &cal, &cluster).unwrap();
        let at_start = plan.gpus_at_start(&cluster);
        let mut w = Workload::default();
        w.tenants.push("a".into());
        w.jobs.push(JobSpec::new(
            "j",
            SimTime::ZERO,
            SimTime::MAX_HORIZON,
            GpuDemand::whole(16),
            TenantId(0),
        ));
        w.finish();
        (FleetState::new(plan, cal, cfg.rule, at_start, 1), w)
    }

    /// Runs the events of `actions` in time order (insertion order at equal times), as
    /// the engine would; returns the nodes brought back with their times.
    fn drive(state: &mut FleetState, w: &Workload, mut actions: Vec<Action>) -> Vec<(SimTime, NodeId)> {
        let mut back = Vec::new();
        let mut queue: Vec<(SimTime, u64, u64)> = Vec::new();
        let mut seq = 0;
        loop {
            for a in actions.drain(..) {
                match a {
                    Action::Schedule(at, t) => {
                        queue.push((at, seq, t));
                        seq += 1;
                    }
                    Action::BringBack(n) => back.push((state.last, n)),
                    Action::TakeOut(_) => {}
                }
            }
            queue.sort();
            if queue.is_empty() {
                return back;
            }
            let (at, _, t) = queue.remove(0);
            state.on_event(at, t, w, &mut actions);
        }
    }

    #[test]
    fn a_full_cluster_orders_after_the_first_month_and_racks_arrive_after_the_lead() {
        // One job holds all 16 in-service GPUs from t = 0: January's utilization is 1.0 >
        // 0.8, so the rule orders 1 rack at January's end; with a 1-month lead it enters
        // service at March 1 (month 2). February is still full (the order is in transit,
        // no second order); March has 32 GPUs at 16 busy = 0.5 (no order); so does April.
        let (mut s, w) = setup(1);
        let mut actions = Vec::new();
        s.begin(&mut actions);
        assert_eq!(
            actions.iter().filter(|a| matches!(a, Action::TakeOut(_))).count(),
            4
        );
        s.job_started(SimTime::ZERO, JobId(0), SimTime::ZERO, 16_000);
        let back = drive(&mut s, &w, actions);
        // Jan 31 + Feb 28 days = 59 days to March 1.
        let march = SimTime(59 * 86_400_000);
        assert_eq!(back, [(march, NodeId(2)), (march, NodeId(3))]);
        let (months, orders) = s.finish();
        let util: Vec<f64> = months.iter().map(|m| m.utilization).collect();
        assert_eq!(util, [1.0, 1.0, 0.5, 0.5]);
        let gpus: Vec<u64> = months.iter().map(|m| m.gpus_installed).collect();
        assert_eq!(gpus, [16, 16, 32, 32]);
        assert_eq!(orders.len(), 1);
        assert_eq!((orders[0].month, orders[0].delivery_month), (0, 2));
        assert_eq!(months[2].racks_delivered, 1);
    }

    #[test]
    fn a_job_that_never_starts_counts_its_wait_so_far() {
        let (mut s, w) = setup(1);
        let mut cfg = s.rule.as_ref().unwrap().config().clone();
        cfg.metric = RuleMetric::WaitP95S;
        cfg.above = 30.0 * 86_400.0;
        s.rule = Some(CapacityRule::new(cfg, 2));
        let mut actions = Vec::new();
        s.begin(&mut actions);
        drive(&mut s, &w, actions);
        // The job never starts: at January's end it has waited 31 days, above the 30-day
        // target, so the rule orders then.
        let (months, orders) = s.finish();
        assert_eq!(months[0].rule_value, Some(31.0 * 86_400.0));
        assert_eq!(orders[0].month, 0);
    }
}
