//! Setting up a budget run from a scenario: the grown workload, the fleet plan, and the
//! fleet model among the run's models.

use super::calendar::Calendar;
use super::fleet::{self, FleetPlan};
use super::growth;
use super::model::FleetModel;
use super::rule::Order;
use super::state::FleetState;
use crate::economics::{CapitalCosts, Economics};
use crate::engine::SimTime;
use crate::scenario::{Policies, Prepared, Scenario, ScenarioError};
use crate::topology::Cluster;

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
    let report = scenario.load_topology()?;
    // One calendar: the budget's months are the bill's local months.
    let mut economics = scenario.economics(&report.cluster)?;
    let tz = economics.as_ref().map_or(chrono_tz::Tz::UTC, |e| e.calendar.tz);
    let calendar = cfg.calendar_in(months, tz).map_err(err)?;
    if let Some(e) = &mut economics {
        // The bill covers exactly the budget's months; its series must cover them.
        e.until = Some(calendar.end());
        e.check_coverage(SimTime::ZERO, calendar.end())
            .map_err(ScenarioError::Economics)?;
    }
    let multipliers = cfg.growth.multipliers(calendar.months()).map_err(err)?;
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

/// Bills the fleet as it was: recomputes `econ`'s capex and opex so that each node and
/// rack pays from its first day in service (a dated group's `in_service`, a rack the
/// rule ordered from its delivery) until its retirement. `orders` are the run's orders.
pub fn bill_fleet(
    scenario: &Scenario,
    econ: &mut Economics,
    cluster: &Cluster,
    setup: (&Calendar, &FleetPlan),
    orders: &[Order],
) -> Result<(), ScenarioError> {
    let Some(cfg) = &scenario.config.economics else {
        return Ok(());
    };
    let (calendar, plan) = setup;
    let service = plan.service(calendar, orders, cluster.nodes.len());
    econ.capital = CapitalCosts::for_fleet(
        &econ.calendar,
        &cfg.capex,
        cfg.racks.as_ref(),
        cfg.facility.as_ref(),
        cluster,
        &service,
    )
    .map_err(ScenarioError::Economics)?;
    Ok(())
}
