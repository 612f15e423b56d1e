//! Setting up a budget run from a scenario: the grown workload, the fleet plan, and the
//! fleet model among the run's models.

use super::calendar::Calendar;
use super::fleet::{self, FleetPlan};
use super::growth;
use super::model::FleetModel;
use super::state::FleetState;
use crate::scenario::{Policies, Prepared, Scenario, ScenarioError};

/// What a budget run needs: the run's parts (workload grown), its months and fleet.
pub struct BudgetSetup {
    /// Cluster (every node, reserve included), grown workload, policies and models
    /// (the fleet model last).
    pub prepared: Prepared,
    /// The months.
    pub calendar: Calendar,
    /// The demand multiplier per month.
    pub multipliers: Vec<f64>,
    /// The fleet's dated groups and reserve on this cluster.
    pub plan: FleetPlan,
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
        mut models,
    } = scenario.policies(&report, &workload, seed)?;
    let state = FleetState::new(
        plan.clone(),
        calendar.clone(),
        cfg.rule.clone(),
        plan.gpus_at_start(&report.cluster),
        workload.jobs.len(),
    );
    models.push(Box::new(FleetModel::new(state)));
    let economics = scenario.economics(&report.cluster)?;
    Ok(BudgetSetup {
        prepared: Prepared {
            economics,
            cluster: report.cluster,
            workload,
            queue,
            placement,
            models,
        },
        calendar,
        multipliers,
        plan,
    })
}
