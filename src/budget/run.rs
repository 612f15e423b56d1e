//! Setting up a budget run from a scenario, and replaying a finished run's job
//! segments through the fleet state (the figures of a fleet that never changes).

use super::calendar::Calendar;
use super::fleet::{self, FleetPlan};
use super::growth;
use super::state::{Action, FleetMonth, FleetState};
use crate::engine::SimTime;
use crate::scenario::{Policies, Prepared, Scenario, ScenarioError};
use crate::sim::RunOutput;
use crate::workload::Workload;

/// What a budget run needs: the run's parts (workload grown), its months and fleet.
pub struct BudgetSetup {
    /// Cluster (every node, reserve included), grown workload and policies.
    pub prepared: Prepared,
    /// The months.
    pub calendar: Calendar,
    /// The demand multiplier per month.
    pub multipliers: Vec<f64>,
    /// The fleet's dated groups and reserve on this cluster.
    pub plan: FleetPlan,
}

impl BudgetSetup {
    /// A fresh fleet state for this setup's run.
    pub fn fleet_state(&self, scenario: &Scenario) -> FleetState {
        let rule = scenario.config.budget.as_ref().and_then(|b| b.rule.clone());
        FleetState::new(
            self.plan.clone(),
            self.calendar.clone(),
            rule,
            self.plan.gpus_at_start(&self.prepared.cluster),
            self.prepared.workload.jobs.len(),
        )
    }

    /// Whether the fleet changes during the run (dated groups or a capacity rule).
    pub fn fleet_changes(&self) -> bool {
        !self.plan.out_at_start.is_empty() || !self.plan.changes.is_empty() || !self.plan.reserve.is_empty()
    }
}

/// Loads `scenario`'s topology and workload, grows the workload over `months` months
/// (the scenario's `[budget] months` when `None`), resolves the fleet and makes the
/// policies. Errors name the key; a scenario without `[budget]` is an error.
pub fn prepare(scenario: &Scenario, seed: u64, months: Option<u32>) -> Result<BudgetSetup, ScenarioError> {
    let Some(cfg) = &scenario.config.budget else {
        return Err(scenario.budget_err(super::BudgetError::invalid(
            "budget",
            "`dcsim budget` needs a [budget] table (start, months, growth, fleet; docs/budget.md)",
        )));
    };
    let err = |e| scenario.budget_err(e);
    let calendar = cfg.calendar(months).map_err(err)?;
    let multipliers = cfg.growth.multipliers(calendar.months()).map_err(err)?;
    let report = scenario.load_topology()?;
    let plan = fleet::plan(cfg, &calendar, &report.cluster).map_err(err)?;
    let base = scenario.load_workload(seed, plan.gpus_at_start(&report.cluster))?;
    let workload = growth::apply(base, &multipliers, &calendar.bounds).map_err(err)?;
    let Policies {
        queue,
        placement,
        power,
    } = scenario.policies(&report, &workload, seed)?;
    Ok(BudgetSetup {
        prepared: Prepared {
            cluster: report.cluster,
            workload,
            queue,
            placement,
            power,
        },
        calendar,
        multipliers,
        plan,
    })
}

/// The fleet's months of a finished run whose fleet never changed, from its job
/// segments: each segment starts and stops a run, in time order, with the month ends
/// between (a start at a month's bound belongs to the month it opens).
pub fn replay(mut state: FleetState, out: &RunOutput, workload: &Workload) -> Vec<FleetMonth> {
    // Sort key: (time, kind, index); kind 0 = stop, 1 = event, 2 = start.
    let mut points: Vec<(SimTime, u8, usize)> = Vec::with_capacity(2 * out.segments.len());
    for (i, s) in out.segments.iter().enumerate() {
        if s.grants > 0 {
            points.push((s.end, 0, i));
            points.push((s.start, 2, i));
        }
    }
    let mut actions = Vec::new();
    state.begin(&mut actions);
    let mut pending: Vec<(SimTime, u64)> = Vec::new();
    let take = |actions: &mut Vec<Action>, pending: &mut Vec<(SimTime, u64)>| {
        for a in actions.drain(..) {
            if let Action::Schedule(at, t) = a {
                pending.push((at, t));
            }
        }
    };
    take(&mut actions, &mut pending);
    for (i, &(at, _)) in pending.iter().enumerate() {
        points.push((at, 1, i));
    }
    points.sort_unstable();
    for (at, kind, i) in points {
        match kind {
            0 => state.job_stopped(at, out.segments[i].job),
            1 => state.on_event(at, pending[i].1, workload, &mut actions),
            _ => {
                let s = &out.segments[i];
                let job = s.job.0 as usize;
                let grants = &out.grants[s.first_grant as usize..(s.first_grant + s.grants) as usize];
                let gpus: u64 = grants.iter().map(|g| u64::from(g.gpus.count_ones())).sum();
                let milli = gpus * u64::from(s.milli_per_gpu);
                state.job_started(at, s.job, workload.jobs[job].submit, milli);
            }
        }
    }
    state.finish().0
}
