//! `budget.csv`: one row per month of a budget run (columns in `docs/budget.md`).

use std::io::{self, Write};

use super::calendar::Calendar;
use super::rule::RuleMetric;
use super::state::FleetMonth;
use crate::economics::bill::money_text;
use crate::economics::{Bill, MonthBill};
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

/// The bill's month matching each row (by `YYYY-MM` label: the budget and its bill
/// share one calendar, so every row has one).
pub fn money<'a>(rows: &[MonthRow], bill: &'a Bill) -> Vec<Option<&'a MonthBill>> {
    rows.iter()
        .map(|r| bill.months.iter().find(|m| m.label == r.month))
        .collect()
}

/// Writes `budget.csv`; with a bill, its money and carbon columns too (amounts rounded
/// to the cent, the currency in each money column's name: `energy_usd`).
pub fn write(w: &mut dyn Write, rows: &[MonthRow], bill: Option<&Bill>) -> io::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    let mut header: Vec<String> = [
        "month",
        "gpus_installed",
        "utilization",
        "jobs_started",
        "wait_p95_s",
        "racks_delivered",
        "rules_fired",
    ]
    .map(String::from)
    .to_vec();
    if let Some(b) = bill {
        let cur = b.currency.to_ascii_lowercase();
        for c in ["energy", "demand", "capex", "opex", "total"] {
            header.push(format!("{c}_{cur}"));
        }
        header.push("co2_t".into());
    }
    csv.write_record(&header)?;
    let months = bill.map(|b| money(rows, b)).unwrap_or_default();
    for (i, r) in rows.iter().enumerate() {
        let mut rec = vec![
            r.month.clone(),
            r.gpus_installed.to_string(),
            format!("{:.4}", r.utilization),
            r.jobs_started.to_string(),
            format!("{:.3}", r.wait_p95_s),
            r.racks_delivered.to_string(),
            r.rules.clone(),
        ];
        if bill.is_some() {
            match months.get(i).copied().flatten() {
                Some(m) => {
                    for x in [m.energy_cost, m.demand_cost, m.capex, m.opex, m.total] {
                        rec.push(money_text(x));
                    }
                    rec.push(format!("{:.3}", m.co2_t));
                }
                None => rec.extend(std::iter::repeat_n(String::new(), 6)),
            }
        }
        csv.write_record(&rec)?;
    }
    csv.flush()
}

/// Prints the month rows as a table (stdout), with the bill's money and carbon columns
/// (amounts to the cent, currency in the header) when there is one.
pub fn print(rows: &[MonthRow], bill: Option<&Bill>) {
    let cur = bill.map(|b| b.currency.as_str()).unwrap_or_default();
    let mut head = "month    GPUs  util   p95 wait (h)".to_string();
    if bill.is_some() {
        head += &format!(
            "  {:>13} {:>12} {:>13} {:>12} {:>14} {:>9}",
            format!("energy {cur}"),
            format!("demand {cur}"),
            format!("capex {cur}"),
            format!("opex {cur}"),
            format!("total {cur}"),
            "tCO2"
        );
    }
    println!("{head}  rules");
    let months = bill.map(|b| money(rows, b)).unwrap_or_default();
    for (i, r) in rows.iter().enumerate() {
        let mut line = format!(
            "{:<8} {:>5} {:>5.1}% {:>13.2}",
            r.month,
            r.gpus_installed,
            r.utilization * 100.0,
            r.wait_p95_s / 3600.0
        );
        if let Some(m) = months.get(i).copied().flatten() {
            line += &format!(
                "  {:>13} {:>12} {:>13} {:>12} {:>14} {:>9.1}",
                money_text(m.energy_cost),
                money_text(m.demand_cost),
                money_text(m.capex),
                money_text(m.opex),
                money_text(m.total),
                m.co2_t
            );
        }
        println!("{line}  {}", r.rules);
    }
    if let Some(b) = bill {
        let t = &b.totals;
        println!(
            "{:<35}  {:>13} {:>12} {:>13} {:>12} {:>14} {:>9.1}",
            "total",
            money_text(t.energy_cost),
            money_text(t.demand_cost),
            money_text(t.capex),
            money_text(t.opex),
            money_text(t.total),
            t.co2_t
        );
    }
}
