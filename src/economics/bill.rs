//! A finished run's bill: per local month, per tenant and per job.
//!
//! Energy is metered in slots (the gcd of the demand interval and the price and carbon
//! steps) and each slot is priced at the tariff in force at its start. Chargeback rule:
//! each month's energy-related cost (energy + demand) and tonnes go to jobs by their
//! energy in that month, and its capital cost (capex + opex) by their GPU-hours in that
//! month; a job's energy is spread over its runs at constant power. A month in which no
//! job used energy (or GPUs) leaves that part to the `(idle)` tenant row, so tenants
//! always sum to the total.

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;

use crate::engine::SimTime;
use crate::facility::Facility;
use crate::power::PowerSeries;
use crate::sim::RunOutput;
use crate::topology::Cluster;
use crate::workload::Workload;

use super::calendar::Month;
use super::chargeback::split_cents;
use super::config::Basis;
use super::demand::{billed_demand, Meter};
use super::error::EconError;
use super::Economics;

/// Name of the tenant row that takes cost no job used.
pub const IDLE_TENANT: &str = "(idle)";

/// Money and physical figures of one local month (or of the whole run, in totals).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonthBill {
    /// `YYYY-MM` (`total` for the totals row).
    pub label: String,
    /// Hours of the month inside the run.
    pub hours: f64,
    /// IT energy, kWh.
    pub it_kwh: f64,
    /// Facility energy (IT + cooling + losses), kWh.
    pub facility_kwh: f64,
    /// Billed energy (per `billed_on`), kWh.
    pub billed_kwh: f64,
    /// Energy cost.
    pub energy_cost: Decimal,
    /// Highest mean billed power over a demand interval, kW (0 without a demand charge).
    pub peak_kw: f64,
    /// Billed demand after the ratchet, kW.
    pub demand_kw: f64,
    /// Demand charge.
    pub demand_cost: Decimal,
    /// Amortized capex.
    pub capex: Decimal,
    /// Opex.
    pub opex: Decimal,
    /// Energy + demand + capex + opex.
    pub total: Decimal,
    /// Emissions of facility energy, tonnes CO₂.
    pub co2_t: f64,
    /// GPU-hours allocated to jobs.
    pub gpu_hours: f64,
    /// GPU-hours of useful work: allocated less work lost to preemption and slowed by
    /// throttling (the run's totals, spread over months in proportion to GPU-hours).
    pub useful_gpu_hours: f64,
}

impl MonthBill {
    /// Total cost per allocated GPU-hour (`None`: no GPU-hours).
    pub fn per_gpu_hour(&self) -> Option<Decimal> {
        per(self.total, self.gpu_hours)
    }

    /// Total cost per GPU-hour of useful work (`None`: none).
    pub fn per_useful_gpu_hour(&self) -> Option<Decimal> {
        per(self.total, self.useful_gpu_hours)
    }

    fn add(&mut self, o: &MonthBill) {
        self.hours += o.hours;
        self.it_kwh += o.it_kwh;
        self.facility_kwh += o.facility_kwh;
        self.billed_kwh += o.billed_kwh;
        self.energy_cost += o.energy_cost;
        self.peak_kw = self.peak_kw.max(o.peak_kw);
        self.demand_kw = self.demand_kw.max(o.demand_kw);
        self.demand_cost += o.demand_cost;
        self.capex += o.capex;
        self.opex += o.opex;
        self.total += o.total;
        self.co2_t += o.co2_t;
        self.gpu_hours += o.gpu_hours;
        self.useful_gpu_hours += o.useful_gpu_hours;
    }
}

fn per(total: Decimal, hours: f64) -> Option<Decimal> {
    (hours > 0.0)
        .then(|| Decimal::from_f64(hours))
        .flatten()
        .map(|h| total / h)
}

/// One tenant's share of the bill.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantBill {
    /// Tenant name ([`IDLE_TENANT`] for cost no job used).
    pub tenant: String,
    /// Energy of its jobs (IT, as attributed by the power model), kWh.
    pub energy_kwh: f64,
    /// GPU-hours of its jobs.
    pub gpu_hours: f64,
    /// Its exact share of energy + demand cost.
    pub energy_cost: Decimal,
    /// Its exact share of capex + opex.
    pub capital_cost: Decimal,
    /// Its share of the total in whole cents (largest remainder: tenants sum to the
    /// total rounded to the cent exactly).
    pub cost_cents: Decimal,
    /// Its tonnes CO₂.
    pub co2_t: f64,
}

/// One job's cost, in job-id order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JobBill {
    /// Its share of the month's energy-related and capital cost, to 10⁻⁹ of the
    /// currency.
    pub cost: Decimal,
    /// Tonnes CO₂.
    pub co2_t: f64,
}

/// A run's bill.
#[derive(Debug, Clone, PartialEq)]
pub struct Bill {
    /// ISO 4217 code of every amount.
    pub currency: String,
    /// One row per local month the run touches, in time order.
    pub months: Vec<MonthBill>,
    /// One row per tenant of the workload (then [`IDLE_TENANT`] if it took anything).
    pub tenants: Vec<TenantBill>,
    /// One per job record, in job-id order.
    pub jobs: Vec<JobBill>,
    /// Sums over the months (peaks: the highest).
    pub totals: MonthBill,
    /// GPUs in the cluster.
    pub gpus_installed: u64,
}

fn dec(x: f64) -> Decimal {
    Decimal::from_f64(x).unwrap_or_default()
}

/// An f64 amount as a decimal to 10⁻⁹ of the currency (a job's share; far below the
/// cent it is written to), without the cost of an exact binary-to-decimal conversion.
fn nano(x: f64) -> Decimal {
    if x.is_finite() && x.abs() < 9.0e9 {
        Decimal::new((x * 1e9).round() as i64, 9)
    } else {
        dec(x)
    }
}

/// Index of the month holding epoch `ms` (months in order, covering it).
fn month_of(months: &[Month], ms: i64) -> usize {
    months.partition_point(|m| m.end_ms <= ms).min(months.len() - 1)
}

/// The monthly rows of a power series closed at `end` (energy, demand, capex, opex,
/// carbon; no GPU-hours): the part of a bill that needs no job records, e.g. for a
/// budget that runs its own series. Also returns the months.
pub fn month_rows(
    econ: &Economics,
    series: &PowerSeries,
    facility: &Facility,
    end: SimTime,
) -> Result<(Vec<Month>, Vec<MonthBill>), EconError> {
    let cal = &econ.calendar;
    let run_from = cal.epoch_ms(SimTime::ZERO);
    let run_to = cal.epoch_ms(end).max(run_from + 1);
    let meter = Meter::new(series, facility, cal, end, econ.slot_ms());
    let months = cal.months(run_from, run_to);
    let mut rows: Vec<MonthBill> = months
        .iter()
        .map(|m| MonthBill {
            label: m.label.clone(),
            hours: (run_to.min(m.end_ms) - run_from.max(m.start_ms)).max(0) as f64 / 3_600_000.0,
            ..MonthBill::default()
        })
        .collect();
    let interval_ms = econ.demand.as_ref().map_or(meter.slot_ms, |d| d.interval_ms);
    let mut interval = (i64::MIN, 0.0_f64);
    let close = |rows: &mut [MonthBill], (start, kwh): (i64, f64)| {
        if start != i64::MIN {
            let kw = kwh / (interval_ms as f64 / 3_600_000.0);
            let r = &mut rows[month_of(&months, start)];
            r.peak_kw = r.peak_kw.max(kw);
        }
    };
    for k in 0..meter.it_kwh.len() {
        let at = meter.slot_start(k);
        let (it, fac) = (meter.it_kwh[k], meter.facility_kwh[k]);
        let billed = match econ.basis {
            Basis::Facility => fac,
            Basis::It => it,
        };
        let r = &mut rows[month_of(&months, at)];
        r.it_kwh += it;
        r.facility_kwh += fac;
        r.billed_kwh += billed;
        if billed != 0.0 {
            r.energy_cost += dec(billed) * econ.prices.at(cal, at)?;
        }
        if let Some(c) = &econ.carbon {
            r.co2_t += fac * c.at(cal.series_ms(at))? / 1e6;
        }
        let istart = at.div_euclid(interval_ms) * interval_ms;
        if istart != interval.0 {
            close(&mut rows, interval);
            interval = (istart, 0.0);
        }
        interval.1 += billed;
    }
    close(&mut rows, interval);
    if let Some(d) = &econ.demand {
        let peaks: Vec<f64> = rows.iter().map(|r| r.peak_kw).collect();
        for (r, kw) in rows.iter_mut().zip(billed_demand(&peaks, d.ratchet)) {
            r.demand_kw = kw;
            r.demand_cost = dec(kw) * d.per_kw_month;
        }
    } else {
        rows.iter_mut().for_each(|r| r.peak_kw = 0.0);
    }
    for (r, m) in rows.iter_mut().zip(&months) {
        let (capex, opex) = econ.capital.month(m, run_from, run_to);
        r.capex = capex;
        r.opex = opex;
        r.total = r.energy_cost + r.demand_cost + r.capex + r.opex;
    }
    Ok((months, rows))
}

/// Bills a finished run: `out` must carry power accounting.
pub fn bill(
    econ: &Economics,
    out: &RunOutput,
    workload: &Workload,
    cluster: &Cluster,
) -> Result<Bill, EconError> {
    let power = out.models.power.as_ref().ok_or(EconError::NoPower)?;
    let cal = &econ.calendar;
    // The run's last change point, kept whatever the output level (the series' own rows
    // are empty with `--outputs summary` or `--series-interval`).
    let end = econ
        .until
        .unwrap_or_else(|| out.figures.end.unwrap_or(SimTime::ZERO));
    let (months, mut rows) = month_rows(econ, &power.series, &power.facility, end)?;

    // GPU-hours and job energy per month, from the runs' segments.
    let nm = months.len();
    let mut busy_ms = vec![0u64; out.jobs.len()];
    for s in &out.segments {
        busy_ms[s.job.0 as usize] += (s.end - s.start).as_ms();
    }
    let seg_gpus = |s: &crate::metrics::Segment| -> f64 {
        let milli = f64::from(s.milli_per_gpu) / 1000.0;
        if s.grants == 0 {
            out.jobs[s.job.0 as usize].demand.gpus_f64()
        } else {
            let g = &out.grants[s.first_grant as usize..(s.first_grant + s.grants) as usize];
            g.iter().map(|g| f64::from(g.gpus.count_ones())).sum::<f64>() * milli
        }
    };
    // Walks a segment's parts per month: (month, ms in it).
    let parts = |s: &crate::metrics::Segment, f: &mut dyn FnMut(usize, i64)| {
        let (mut a, b) = (cal.epoch_ms(s.start), cal.epoch_ms(s.end.min(end)));
        while a < b {
            let m = month_of(&months, a);
            let to = if m + 1 == nm { b } else { months[m].end_ms.min(b) };
            f(m, to - a);
            a = to;
        }
    };
    let job_j = |job: usize| power.job_energy_j.get(job).copied().unwrap_or(0.0);
    let mut month_j = vec![0.0_f64; nm];
    for s in &out.segments {
        let (gpus, j, busy) = (seg_gpus(s), job_j(s.job.0 as usize), busy_ms[s.job.0 as usize]);
        parts(s, &mut |m, ms| {
            rows[m].gpu_hours += gpus * ms as f64 / 3_600_000.0;
            if busy > 0 {
                month_j[m] += j * ms as f64 / busy as f64;
            }
        });
    }
    let total_gpu_h: f64 = rows.iter().map(|r| r.gpu_hours).sum();
    let lost_gpu_h: f64 = out
        .jobs
        .iter()
        .map(|j| j.lost_work.as_secs_f64() / 3600.0 * j.demand.gpus_f64())
        .sum::<f64>()
        + power.summary.throttle_slowdown_gpu_hours;
    let useful_share = if total_gpu_h > 0.0 {
        ((total_gpu_h - lost_gpu_h) / total_gpu_h).clamp(0.0, 1.0)
    } else {
        0.0
    };
    for r in rows.iter_mut() {
        r.useful_gpu_hours = r.gpu_hours * useful_share;
    }

    // Chargeback rates per month.
    let e_rate: Vec<Option<Decimal>> = rows
        .iter()
        .zip(&month_j)
        .map(|(r, &j)| (j > 0.0).then(|| (r.energy_cost + r.demand_cost) / dec(j)))
        .collect();
    let g_rate: Vec<Option<Decimal>> = rows
        .iter()
        .map(|r| (r.gpu_hours > 0.0).then(|| (r.capex + r.opex) / dec(r.gpu_hours)))
        .collect();
    let c_rate: Vec<f64> = rows
        .iter()
        .zip(&month_j)
        .map(|(r, &j)| if j > 0.0 { r.co2_t / j } else { 0.0 })
        .collect();
    // Per job, the rates in f64 (a job's cost is its share, written to the cent); per
    // tenant and month, the quantities, priced exactly once below. No decimal work per
    // segment: that is what keeps cost accounting cheap on a million jobs.
    let f = |r: &Option<Decimal>| r.map_or(0.0, to_f64);
    let e_rate_f: Vec<f64> = e_rate.iter().map(f).collect();
    let g_rate_f: Vec<f64> = g_rate.iter().map(f).collect();
    let mut job_cost = vec![0.0_f64; out.jobs.len()];
    let mut jobs = vec![JobBill::default(); out.jobs.len()];
    let nt = workload.tenants.len();
    let mut t_e = vec![0.0_f64; (nt + 1) * nm];
    let mut t_gh = vec![0.0_f64; (nt + 1) * nm];
    let mut t_co2 = vec![0.0_f64; nt + 1];
    let mut t_gpu_h = vec![0.0_f64; nt + 1];
    let mut t_kwh = vec![0.0_f64; nt + 1];
    for s in &out.segments {
        let job = s.job.0 as usize;
        let (gpus, j, busy) = (seg_gpus(s), job_j(job), busy_ms[job]);
        let tenant = (out.jobs[job].tenant.0 as usize).min(nt);
        let (cost, jb) = (&mut job_cost[job], &mut jobs[job]);
        parts(s, &mut |m, ms| {
            let gh = gpus * ms as f64 / 3_600_000.0;
            let e = if busy > 0 {
                j * ms as f64 / busy as f64
            } else {
                0.0
            };
            *cost += e_rate_f[m] * e + g_rate_f[m] * gh;
            jb.co2_t += c_rate[m] * e;
            t_e[tenant * nm + m] += e;
            t_gh[tenant * nm + m] += gh;
            t_co2[tenant] += c_rate[m] * e;
            t_gpu_h[tenant] += gh;
            t_kwh[tenant] += e / 3.6e6;
        });
    }
    for (jb, &c) in jobs.iter_mut().zip(&job_cost) {
        jb.cost = nano(c);
    }
    let mut t_energy = vec![Decimal::ZERO; nt + 1];
    let mut t_capital = vec![Decimal::ZERO; nt + 1];
    for t in 0..=nt {
        for m in 0..nm {
            let (e, gh) = (t_e[t * nm + m], t_gh[t * nm + m]);
            if let (Some(r), true) = (e_rate[m], e != 0.0) {
                t_energy[t] += r * dec(e);
            }
            if let (Some(r), true) = (g_rate[m], gh != 0.0) {
                t_capital[t] += r * dec(gh);
            }
        }
    }
    for (m, r) in rows.iter().enumerate() {
        if e_rate[m].is_none() {
            t_energy[nt] += r.energy_cost + r.demand_cost;
            t_co2[nt] += r.co2_t;
        }
        if g_rate[m].is_none() {
            t_capital[nt] += r.capex + r.opex;
        }
    }
    let mut totals = MonthBill {
        label: "total".into(),
        ..MonthBill::default()
    };
    rows.iter().for_each(|r| totals.add(r));
    let exact: Vec<Decimal> = (0..=nt).map(|t| t_energy[t] + t_capital[t]).collect();
    let cents = split_cents(totals.total, &exact);
    let mut tenants: Vec<TenantBill> = (0..=nt)
        .map(|t| TenantBill {
            tenant: workload
                .tenants
                .get(t)
                .cloned()
                .unwrap_or_else(|| IDLE_TENANT.to_string()),
            energy_kwh: t_kwh[t],
            gpu_hours: t_gpu_h[t],
            energy_cost: t_energy[t],
            capital_cost: t_capital[t],
            cost_cents: cents[t],
            co2_t: t_co2[t],
        })
        .collect();
    if tenants[nt].cost_cents.is_zero() && tenants[nt].co2_t == 0.0 && exact[nt].is_zero() {
        tenants.pop();
    }
    Ok(Bill {
        currency: econ.currency.clone(),
        months: rows,
        tenants,
        jobs,
        totals,
        gpus_installed: cluster.total_gpus(),
    })
}

/// Rounds an amount to the cent (half away from zero), for writing.
pub fn cents(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// An amount as written: rounded to the cent, always two decimals (`241000.00`).
pub fn money_text(x: Decimal) -> String {
    format!("{:.2}", cents(x))
}

/// An f64 view of an amount (for figures and comparisons, never for sums).
pub fn to_f64(x: Decimal) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}
