//! `dcsim budget`: next year's budget, month by month, under demand growth and a fleet
//! that changes (`[budget]` in a scenario; `docs/budget.md`).
//!
//! - [`calendar`]: the months, as simulated time;
//! - [`growth`]: the monthly demand multiplier, a workload transform;
//! - [`fleet`]: node groups with in-service and retirement dates, resolved on a cluster;
//! - [`rule`]: the capacity rule that orders racks when a month's figure passes a target.

pub mod calendar;
pub mod config;
pub mod fleet;
pub mod growth;
pub mod model;
pub mod rule;
pub mod run;
pub mod state;
pub mod table;

pub use config::BudgetConfig;

/// Why a budget could not be set up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetError {
    /// A `[budget]` value is out of range, inconsistent, or names something the
    /// topology lacks.
    #[error("`{key}`: {message}")]
    Invalid {
        /// Dotted scenario key (`budget.fleet[1].retire`).
        key: String,
        /// What was wrong and what was expected.
        message: String,
    },
}

impl BudgetError {
    /// An `Invalid` error for `key`.
    pub fn invalid(key: &str, message: impl Into<String>) -> BudgetError {
        BudgetError::Invalid {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Every file a budget folder can hold: a run's ([`crate::report::RUN_FILES`]) and
/// `budget.csv`; what marks a folder as an earlier budget that `--force` may replace.
pub const FILES: [&str; 11] = [
    "jobs.csv",
    "timeseries.csv",
    "power.csv",
    "power_levels.csv",
    "summary.json",
    "report.html",
    "plots",
    "budget.csv",
    "costs.csv",
    "tenants.csv",
    "job_costs.csv",
];
