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
pub mod tariff;

use std::path::Path;

use rust_decimal::Decimal;

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
}

/// Greatest common divisor.
fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Economics {
    /// Validates `cfg` against the cluster; files are relative to `base_dir` (the
    /// scenario's folder). Errors name the key below `economics`.
    pub fn new(cfg: &EconomicsConfig, base_dir: &Path, cluster: &Cluster) -> Result<Economics, EconError> {
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
        let calendar = Calendar::new(&cfg.start, &cfg.time_zone)?;
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
        })
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
