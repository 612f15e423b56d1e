//! The hourly price or carbon signal a price- or carbon-aware queue policy follows
//! ([`crate::scheduler::signal`]), read from `[economics]` on the bill's own calendar
//! (so with `series_year` too).

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;

use super::calendar::MS_PER_HOUR;
use super::carbon::Carbon;
use super::config::EconomicsConfig;
use super::error::EconError;
use super::series::StepSeries;
use super::tariff::Prices;
use crate::scheduler::signal::{HourlySignal, SignalKind};

/// Hours a signal without a series end (flat, time-of-use, constant carbon) spans.
const HOURS_WITHOUT_SERIES: usize = 2 * 366 * 24;

/// Hours of a signal at most (20 years).
const MAX_HOURS: usize = 20 * 366 * 24;

/// The signal `kind` of `cfg` for each hour of simulated time until its series ends
/// (files relative to `base_dir`; `first_day` as for [`super::calendar_of`]). Errors
/// name the key: a carbon signal without `[economics.carbon]` is one.
pub fn hourly(
    cfg: &EconomicsConfig,
    base_dir: &Path,
    first_day: Option<NaiveDate>,
    kind: SignalKind,
) -> Result<HourlySignal, EconError> {
    let cal = super::calendar_of(cfg, first_day)?;
    let currency = cfg.currency.trim().to_ascii_uppercase();
    let (prices, carbon) = match kind {
        SignalKind::Price => (Some(Prices::new(&cfg.electricity, &currency, base_dir)?), None),
        SignalKind::Carbon => {
            let c = cfg.carbon.as_ref().ok_or_else(|| {
                EconError::invalid(
                    "carbon",
                    "a carbon-aware policy (signal = \"carbon\") needs [economics.carbon]",
                )
            })?;
            (None, Some(Carbon::new(c, base_dir)?))
        }
    };
    let series: Option<&StepSeries> = match (&prices, &carbon) {
        (Some(p), _) => p.series(),
        (_, Some(c)) => c.series(),
        _ => None,
    };
    let end_ms = series.map(|s| s.first_ms + s.step_ms * s.values.len() as i64);
    let mut signal = HourlySignal::default();
    for k in 0..MAX_HOURS {
        let ms = cal.start_ms + k as i64 * MS_PER_HOUR;
        let read = cal.series_ms(ms);
        match end_ms {
            Some(end) if read >= end => break,
            None if k >= HOURS_WITHOUT_SERIES => break,
            _ => {}
        }
        let value = match (&prices, &carbon) {
            (Some(p), _) => p.at(&cal, ms).ok().and_then(|d| d.to_f64()),
            (_, Some(c)) => c.at(read).ok(),
            _ => None,
        };
        signal.values.push(value.unwrap_or(f64::NAN));
        signal
            .days
            .push(i64::from(cal.local(ms).date_naive().num_days_from_ce()));
    }
    Ok(signal)
}
