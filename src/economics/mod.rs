//! Economics: what a run costs in money and carbon (`[economics]`, `docs/economics.md`).
//!
//! An observer: it reads a finished run's power series and job records and bills them
//! per local month (energy on a flat, time-of-use or hourly tariff, a demand charge,
//! amortized capex, opex), per tenant and per job. Money is exact (`rust_decimal`),
//! rounded to the cent only when written.

pub mod bill;
pub mod calendar;
pub mod capex;
pub mod carbon;
pub mod chargeback;
pub mod config;
pub mod demand;
pub mod error;
pub mod output;
pub mod series;
pub mod signal;
pub mod tariff;

use std::path::Path;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::engine::SimTime;
use crate::topology::Cluster;

pub use bill::{bill, Bill, JobBill, MonthBill, TenantBill};
pub use calendar::Calendar;
pub use capex::CapitalCosts;
pub use carbon::Carbon;
pub use config::EconomicsConfig;
pub use error::EconError;
pub use output::EconSummary;
pub use tariff::Prices;

/// The demand charge, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Demand {
    /// Currency per kW-month of billed demand.
    pub per_kw_month: Decimal,
    /// Averaging interval, ms.
    pub interval_ms: i64,
    /// Ratchet share, if any.
    pub ratchet: Option<f64>,
}

/// A validated `[economics]`: everything a bill needs but the run itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Economics {
    /// ISO 4217 code.
    pub currency: String,
    /// Where t = 0 is, and local time.
    pub calendar: Calendar,
    /// Energy prices.
    pub prices: Prices,
    /// Which energy is billed.
    pub basis: config::Basis,
    /// The demand charge.
    pub demand: Option<Demand>,
    /// Grid intensity.
    pub carbon: Option<Carbon>,
    /// Capex and opex.
    pub capital: CapitalCosts,
    /// The end of the billed span (`None`: the run's end). A budget bills exactly its
    /// months; what runs after the last month is outside the bill.
    pub until: Option<SimTime>,
}

/// Greatest common divisor.
fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The calendar of `cfg`: t = 0 at `economics.start`, or at local midnight of
/// `first_day` (a budget's start; `start`, if also given, must be that instant), with
/// `series_year` applied. Errors name the key below `economics`.
pub fn calendar_of(cfg: &EconomicsConfig, first_day: Option<NaiveDate>) -> Result<Calendar, EconError> {
    let mut calendar = match (&cfg.start, first_day) {
        (Some(start), None) => Calendar::new(start, &cfg.time_zone)?,
        (None, Some(day)) => Calendar::at_midnight(day, &cfg.time_zone)?,
        (Some(start), Some(day)) => {
            let given = Calendar::new(start, &cfg.time_zone)?;
            let budget = Calendar::at_midnight(day, &cfg.time_zone)?;
            if given.start_ms != budget.start_ms {
                return Err(EconError::invalid(
                    "start",
                    format!(
                        "`{start}` is not local midnight of budget.start ({day} in {}): one calendar for the budget and its bill; leave `economics.start` out (and set `series_year` to replay another year's series)",
                        cfg.time_zone
                    ),
                ));
            }
            given
        }
        (None, None) => {
            return Err(EconError::invalid(
                "start",
                "missing: the instant simulated t = 0 maps to (e.g. \"2023-01-01T00:00:00-06:00\"), or a [budget] start",
            ))
        }
    };
    if let Some(year) = cfg.series_year {
        if !(1900..=2200).contains(&year) {
            return Err(EconError::invalid(
                "series_year",
                format!("{year} is not a year (expected e.g. 2023)"),
            ));
        }
        calendar.replay_series_year(year);
    }
    Ok(calendar)
}

impl Economics {
    /// Validates `cfg` against the cluster; files are relative to `base_dir` (the
    /// scenario's folder). Errors name the key below `economics`.
    pub fn new(cfg: &EconomicsConfig, base_dir: &Path, cluster: &Cluster) -> Result<Economics, EconError> {
        Economics::with_start(cfg, base_dir, cluster, None)
    }

    /// [`Economics::new`] for a run whose first day is `first_day` (a budget's start):
    /// t = 0 is its local midnight, and `economics.start`, if given, must be that instant.
    pub fn with_start(
        cfg: &EconomicsConfig,
        base_dir: &Path,
        cluster: &Cluster,
        first_day: Option<NaiveDate>,
    ) -> Result<Economics, EconError> {
        let currency = cfg.currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(EconError::invalid(
                "currency",
                format!(
                    "`{}` is not an ISO 4217 code (expected three letters, e.g. \"USD\", \"EUR\")",
                    cfg.currency
                ),
            ));
        }
        let calendar = calendar_of(cfg, first_day)?;
        let prices = Prices::new(&cfg.electricity, &currency, base_dir)?;
        let demand = match &cfg.demand {
            Some(d) => {
                if d.interval_min == 0 || 60 % d.interval_min != 0 {
                    return Err(EconError::invalid(
                        "demand.interval_min",
                        format!(
                            "{} does not divide an hour (expected 1, 5, 15, 30, 60, ...)",
                            d.interval_min
                        ),
                    ));
                }
                if let Some(r) = d.ratchet {
                    if !(0.0..=1.0).contains(&r) {
                        return Err(EconError::invalid(
                            "demand.ratchet",
                            format!("{r} is not a share (expected 0–1)"),
                        ));
                    }
                }
                Some(Demand {
                    per_kw_month: d.per_kw_month,
                    interval_ms: i64::from(d.interval_min) * 60_000,
                    ratchet: d.ratchet,
                })
            }
            None => None,
        };
        let carbon = cfg
            .carbon
            .as_ref()
            .map(|c| Carbon::new(c, base_dir))
            .transpose()?;
        let capital = CapitalCosts::new(
            &calendar,
            &cfg.capex,
            cfg.racks.as_ref(),
            cfg.facility.as_ref(),
            cluster,
        )?;
        Ok(Economics {
            currency,
            calendar,
            prices,
            basis: cfg.electricity.billed_on,
            demand,
            carbon,
            capital,
            until: None,
        })
    }

    /// Checks, before a run, that every price and carbon series with `fill = "error"`
    /// has a value at each of its steps in simulated `[from, to)` (read at the replayed
    /// year with `series_year`): a series that does not cover the run is an error naming
    /// the file and the uncovered span, not a failure after the run.
    pub fn check_coverage(&self, from: SimTime, to: SimTime) -> Result<(), EconError> {
        let cal = &self.calendar;
        let (a, b) = (cal.epoch_ms(from), cal.epoch_ms(to));
        let series = [
            self.prices.series(),
            self.carbon.as_ref().and_then(Carbon::series),
        ];
        for s in series.into_iter().flatten() {
            if s.fill == series::Fill::Hold {
                continue;
            }
            if let Some((first, last, missing, steps)) = s.uncovered(a, b, |ms| cal.series_ms(ms)) {
                let local = |ms: i64| cal.local(ms).format("%Y-%m-%d %H:%M %Z").to_string();
                let replay = if cal.series_shift_years == 0 {
                    String::new()
                } else {
                    format!(", read {} year(s) away (series_year)", cal.series_shift_years)
                };
                return Err(EconError::Coverage {
                    path: s.path.clone(),
                    message: format!(
                        "does not cover the run: no `{}` value from {} to {} ({missing} of the run's {steps} steps{replay}; the series covers {} to {} UTC); extend the series or set `fill = \"hold\"` to repeat the previous value",
                        s.column,
                        local(first),
                        local(last),
                        series::fmt_utc(s.first_ms),
                        series::fmt_utc(s.first_ms + s.step_ms * s.values.len() as i64),
                    ),
                });
            }
        }
        Ok(())
    }

    /// The metering slot, ms: the gcd of the demand interval (15 min without one) and
    /// the price and carbon steps, so that within a slot price, intensity and interval
    /// are constant.
    pub fn slot_ms(&self) -> i64 {
        let mut s = self.demand.as_ref().map_or(15 * 60_000, |d| d.interval_ms);
        for step in [
            self.prices.step_ms(),
            self.carbon.as_ref().and_then(Carbon::step_ms),
        ]
        .into_iter()
        .flatten()
        {
            s = gcd(s, step);
        }
        s.max(1_000)
    }
}
