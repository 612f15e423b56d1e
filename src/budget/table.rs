//! `budget.csv`: one row per month of a budget run (columns in `docs/budget.md`).

use std::io::{self, Write};

use super::calendar::Calendar;
use super::rule::RuleMetric;
use super::state::FleetMonth;
use crate::metrics::{percentile, JobRecord};

/// One month of the budget.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthRow {
    /// `YYYY-MM`.
    pub month: String,
    /// GPUs in service at the month's end.
    pub gpus_installed: u64,
    /// Busy GPU-time over GPU-time in service.
    pub utilization: f64,
    /// Jobs that started in the month (first start).
    pub jobs_started: u64,
    /// p95 wait of the jobs that started in the month, seconds (nearest rank; 0 if none).
    pub wait_p95_s: f64,
    /// What the capacity rule did at the month's end (`""` when it did nothing).
    pub rules: String,
    /// Racks that entered service at the month's start.
    pub racks_delivered: u32,
}

/// The month rows of a run over `cal`, from its job records and the fleet's months.
pub fn rows(
    cal: &Calendar,
    jobs: &[JobRecord],
    fleet: &[FleetMonth],
    metric: Option<RuleMetric>,
) -> Vec<MonthRow> {
    let mut waits: Vec<Vec<f64>> = vec![Vec::new(); cal.months()];
    for r in jobs {
        if let (Some(start), Some(wait)) = (r.start, r.wait()) {
            if let Some(m) = cal.month_of(start) {
                waits[m].push(wait.as_secs_f64());
            }
        }
    }
    fleet
        .iter()
        .zip(waits.iter_mut())
        .enumerate()
        .map(|(m, (f, w))| {
            w.sort_by(f64::total_cmp);
            let rules = match (f.order, metric) {
                (Some(o), Some(metric)) => format!(
                    "ordered {} rack(s) ({} = {:.3} above target; in service {})",
                    o.racks,
                    metric.as_str(),
                    o.value,
                    cal.labels
                        .get(o.delivery_month)
                        .map_or("after the budget", String::as_str)
                ),
                _ => String::new(),
            };
            MonthRow {
                month: cal.labels[m].clone(),
                gpus_installed: f.gpus_installed,
                utilization: f.utilization,
                jobs_started: w.len() as u64,
                wait_p95_s: percentile(w, 95.0).unwrap_or(0.0),
                rules,
                racks_delivered: f.racks_delivered,
            }
        })
        .collect()
}

/// Writes `budget.csv`.
pub fn write(w: &mut dyn Write, rows: &[MonthRow]) -> io::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record([
        "month",
        "gpus_installed",
        "utilization",
        "jobs_started",
        "wait_p95_s",
        "racks_delivered",
        "rules_fired",
    ])?;
    for r in rows {
        csv.write_record([
            r.month.clone(),
            r.gpus_installed.to_string(),
            format!("{:.4}", r.utilization),
            r.jobs_started.to_string(),
            format!("{:.3}", r.wait_p95_s),
            r.racks_delivered.to_string(),
            r.rules.clone(),
        ])?;
    }
    csv.flush()
}
