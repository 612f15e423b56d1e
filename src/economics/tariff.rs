//! The energy price in force at any instant: flat, time-of-use or a series, plus the
//! retail adder, in currency/kWh.

use std::path::Path;

use rust_decimal::Decimal;

use super::calendar::Calendar;
use super::config::{Days, ElectricityConfig, EnergyUnit, TouPeriod};
use super::error::EconError;
use super::series::StepSeries;

/// A validated energy tariff.
#[derive(Debug, Clone, PartialEq)]
pub enum Tariff {
    /// One price, currency/kWh.
    Flat(Decimal),
    /// Prices by local (hour, weekend, month): `cells[((month − 1) · 2 + weekend) · 24 + hour]`.
    Tou(Vec<Decimal>),
    /// A series, with the factor to currency/kWh (1/1000 for per-MWh values).
    Series(StepSeries, Decimal),
}

/// The price in currency/kWh at each instant, adder included.
#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    /// The tariff.
    pub tariff: Tariff,
    /// Added to every kWh.
    pub adder: Decimal,
}

fn tou_cells(periods: &[TouPeriod], default: Option<Decimal>) -> Result<Vec<Decimal>, EconError> {
    let mut cells: Vec<Option<(usize, Decimal)>> = vec![None; 12 * 2 * 24];
    for (i, p) in periods.iter().enumerate() {
        let key = format!("electricity.tou[{i}]");
        let [h0, h1] = p.hours;
        if h0 >= h1 || h1 > 24 {
            return Err(EconError::invalid(
                format!("{key}.hours"),
                format!("[{h0}, {h1}] is not a range of local hours (expected [from, to) with 0 ≤ from < to ≤ 24)"),
            ));
        }
        let months: Vec<u32> = match p.months {
            None => (1..=12).collect(),
            Some([a, b]) if (1..=12).contains(&a) && (1..=12).contains(&b) => {
                if a <= b {
                    (a..=b).collect()
                } else {
                    (a..=12).chain(1..=b).collect()
                }
            }
            Some([a, b]) => {
                return Err(EconError::invalid(
                    format!("{key}.months"),
                    format!("[{a}, {b}] is not a range of months (expected 1–12, inclusive)"),
                ))
            }
        };
        let weekends: &[usize] = match p.days {
            Days::All => &[0, 1],
            Days::Weekday => &[0],
            Days::Weekend => &[1],
        };
        for &m in &months {
            for &w in weekends {
                for h in h0..h1 {
                    let c = &mut cells[((m as usize - 1) * 2 + w) * 24 + h as usize];
                    if let Some((j, _)) = c {
                        return Err(EconError::invalid(
                            "electricity.tou",
                            format!(
                                "periods `{}` and `{}` overlap (month {m}, {}, hour {h}); each hour must have one price",
                                periods[*j].name,
                                p.name,
                                if w == 1 { "weekend" } else { "weekday" }
                            ),
                        ));
                    }
                    *c = Some((i, p.per_kwh));
                }
            }
        }
    }
    cells
        .iter()
        .enumerate()
        .map(|(k, c)| match (c, default) {
            (Some((_, v)), _) => Ok(*v),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(EconError::invalid(
                "electricity.tou_default_per_kwh",
                format!(
                    "no period covers month {}, {}, hour {}: add a period or a default price",
                    k / 48 + 1,
                    if (k / 24) % 2 == 1 { "weekend" } else { "weekday" },
                    k % 24
                ),
            )),
        })
        .collect()
}

/// The currency and unit a header such as `Price (USD/MWh)` names.
fn header_unit(column: &str) -> (Option<String>, Option<EnergyUnit>) {
    let inner = column
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(i, _)| i);
    let Some((cur, unit)) = inner.and_then(|i| i.split_once('/')) else {
        return (None, None);
    };
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "mwh" => Some(EnergyUnit::Mwh),
        "kwh" => Some(EnergyUnit::Kwh),
        _ => None,
    };
    (Some(cur.trim().to_string()), unit)
}

impl Prices {
    /// Validates `cfg` (series read relative to `base_dir`); `currency` is the bill's.
    pub fn new(cfg: &ElectricityConfig, currency: &str, base_dir: &Path) -> Result<Prices, EconError> {
        let given = [
            cfg.flat_per_kwh.is_some(),
            !cfg.tou.is_empty(),
            cfg.series.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(EconError::invalid(
                "electricity",
                "give exactly one of `flat_per_kwh`, `tou` (periods) or `series`",
            ));
        }
        if cfg.tou.is_empty() && cfg.tou_default_per_kwh.is_some() {
            return Err(EconError::invalid(
                "electricity.tou_default_per_kwh",
                "only applies with `tou` periods",
            ));
        }
        let tariff = if let Some(p) = cfg.flat_per_kwh {
            Tariff::Flat(p)
        } else if let Some(s) = &cfg.series {
            let series = StepSeries::load(&s.series, base_dir, "electricity.series")?;
            let (hcur, hunit) = header_unit(&series.column);
            let cur = s.currency.clone().or(hcur).ok_or_else(|| {
                EconError::invalid(
                    "electricity.series.currency",
                    format!(
                        "the header `{}` names no currency: give `currency`",
                        series.column
                    ),
                )
            })?;
            if !cur.eq_ignore_ascii_case(currency) {
                return Err(EconError::invalid(
                    "electricity.series",
                    format!("prices are in {cur} but `economics.currency` is {currency}: one bill has one currency (convert the series first)"),
                ));
            }
            let unit = s.per.or(hunit).ok_or_else(|| {
                EconError::invalid(
                    "electricity.series.per",
                    format!(
                        "the header `{}` names no unit: give `per = \"mwh\"` or `\"kwh\"`",
                        series.column
                    ),
                )
            })?;
            let factor = match unit {
                EnergyUnit::Mwh => Decimal::new(1, 3),
                EnergyUnit::Kwh => Decimal::ONE,
            };
            Tariff::Series(series, factor)
        } else {
            Tariff::Tou(tou_cells(&cfg.tou, cfg.tou_default_per_kwh)?)
        };
        Ok(Prices {
            tariff,
            adder: cfg.retail_adder_per_kwh,
        })
    }

    /// The price at epoch `ms`, currency/kWh.
    pub fn at(&self, cal: &Calendar, ms: i64) -> Result<Decimal, EconError> {
        let base = match &self.tariff {
            Tariff::Flat(p) => *p,
            Tariff::Tou(cells) => {
                let (h, weekend, m) = cal.tou_key(ms);
                cells[((m as usize - 1) * 2 + usize::from(weekend)) * 24 + h as usize]
            }
            Tariff::Series(s, factor) => s.at(cal.series_ms(ms))? * factor,
        };
        Ok(base + self.adder)
    }

    /// The price series, when the tariff is one.
    pub fn series(&self) -> Option<&StepSeries> {
        match &self.tariff {
            Tariff::Series(s, _) => Some(s),
            _ => None,
        }
    }

    /// The step the price can change on, ms (`None`: never changes).
    pub fn step_ms(&self) -> Option<i64> {
        match &self.tariff {
            Tariff::Flat(_) => None,
            Tariff::Tou(_) => Some(super::calendar::MS_PER_HOUR),
            Tariff::Series(s, _) => Some(s.step_ms),
        }
    }
}
