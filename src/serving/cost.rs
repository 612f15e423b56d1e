//! Cost of a service from a run's bill ([`crate::economics`]): its energy at the bill's
//! price per IT kWh and its GPU-hours at the bill's capital and operating cost per
//! installed GPU-hour, per 1,000 requests and per million tokens.
//!
//! The rates are the run's averages: energy and demand charges over the IT energy billed
//! (so cooling overhead and demand charges are carried in proportion to energy), and
//! capex plus opex over every installed GPU's hours (a GPU held by a replica costs what
//! any GPU of the fleet costs for that hour). Without `[economics]` the service's
//! GPU-hours and kWh per 1,000 requests ([`super::report::ServiceReport`]) stand alone.

use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use super::report::ServiceReport;
use crate::economics::Bill;

/// What one service costs at its run's bill rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceCost {
    /// The service's name.
    pub name: String,
    /// ISO 4217 code of the amounts.
    pub currency: String,
    /// Price per IT kWh (energy and demand charges over IT energy).
    pub per_it_kwh: f64,
    /// Capex and opex per installed GPU-hour.
    pub per_gpu_hour: f64,
    /// The service's energy cost.
    pub energy: f64,
    /// The service's capital and operating cost.
    pub capital: f64,
    /// Per 1,000 served requests.
    pub per_1000_requests: f64,
    /// Per million tokens served (prompt plus output).
    pub per_million_tokens: f64,
}

/// The cost of `report` (service `name`) at `bill`'s rates; `None` when the bill has no
/// IT energy or no installed GPU-hours to form a rate from.
pub fn service_cost(name: &str, report: &ServiceReport, bill: &Bill) -> Option<ServiceCost> {
    let t = &bill.totals;
    let installed_h = bill.gpus_installed as f64 * t.hours;
    if t.it_kwh <= 0.0 || installed_h <= 0.0 {
        return None;
    }
    let per_it_kwh = (t.energy_cost + t.demand_cost).to_f64()? / t.it_kwh;
    let per_gpu_hour = (t.capex + t.opex).to_f64()? / installed_h;
    let energy = report.energy_kwh * per_it_kwh;
    let capital = report.gpu_hours * per_gpu_hour;
    let total = energy + capital;
    let per = |n: f64, unit: f64| if n > 0.0 { total * unit / n } else { 0.0 };
    Some(ServiceCost {
        name: name.to_string(),
        currency: bill.currency.clone(),
        per_it_kwh,
        per_gpu_hour,
        energy,
        capital,
        per_1000_requests: per(report.served as f64, 1e3),
        per_million_tokens: per(report.tokens_served, 1e6),
    })
}
