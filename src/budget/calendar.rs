//! The budget's calendar: consecutive local calendar months from a start date, as
//! simulated time. Simulated time 0 is local midnight at the start of `start` in the
//! scenario's zone (`economics.time_zone`, UTC without `[economics]`), the same instant
//! the bill's calendar starts at, so budget months and billing months are one and the
//! same (January has 31 days, a month with a DST change one hour more or less).

use chrono::{Months, NaiveDate};
use chrono_tz::Tz;

use super::BudgetError;
use crate::economics::Calendar as Clock;
use crate::engine::SimTime;

/// `months` consecutive calendar months from `start`.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// The first day (simulated time 0).
    pub start: NaiveDate,
    /// Month bounds in simulated time: month `m` is `[bounds[m], bounds[m + 1])`;
    /// `bounds[0]` is 0 and there are `months + 1` of them.
    pub bounds: Vec<SimTime>,
    /// A label per month, `YYYY-MM` of the month's first day.
    pub labels: Vec<String>,
    /// Local time: where t = 0 is and the zone of the month bounds.
    pub clock: Clock,
}

impl Calendar {
    /// The calendar of `months` (≥ 1) months from `start` in UTC; the error names key
    /// `budget.start` or `budget.months`.
    pub fn new(start: NaiveDate, months: u32) -> Result<Calendar, BudgetError> {
        Calendar::in_zone(start, months, Tz::UTC)
    }

    /// The calendar of `months` (≥ 1) local months from `start` in zone `tz`.
    pub fn in_zone(start: NaiveDate, months: u32, tz: Tz) -> Result<Calendar, BudgetError> {
        if months == 0 {
            return Err(BudgetError::invalid("budget.months", "must be ≥ 1"));
        }
        let clock = Clock::midnight_in(start, tz);
        let mut bounds = Vec::with_capacity(months as usize + 1);
        let mut labels = Vec::with_capacity(months as usize);
        for m in 0..=months {
            let day = start.checked_add_months(Months::new(m)).ok_or_else(|| {
                BudgetError::invalid(
                    "budget.months",
                    format!("{months} months from {start} leave the calendar"),
                )
            })?;
            bounds.push(clock.sim_time(clock.day_start(day)));
            if m < months {
                labels.push(day.format("%Y-%m").to_string());
            }
        }
        Ok(Calendar {
            start,
            bounds,
            labels,
            clock,
        })
    }

    /// Number of months.
    pub fn months(&self) -> usize {
        self.labels.len()
    }

    /// The end of the last month.
    pub fn end(&self) -> SimTime {
        self.bounds[self.months()]
    }

    /// The month that holds `t`, or `None` at or past the end.
    pub fn month_of(&self, t: SimTime) -> Option<usize> {
        if t >= self.end() {
            return None;
        }
        Some(self.bounds.partition_point(|&b| b <= t) - 1)
    }

    /// Simulated time of local midnight at the start of `day` (a date before the start,
    /// or one past the horizon, is an error naming `key`).
    pub fn time_of(&self, day: NaiveDate, key: &str) -> Result<SimTime, BudgetError> {
        if day < self.start {
            return Err(BudgetError::invalid(
                key,
                format!("{day} is before the budget's start ({})", self.start),
            ));
        }
        Ok(self.clock.sim_time(self.clock.day_start(day)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn months_have_their_calendar_lengths() {
        // 2024 is a leap year: Jan 31, Feb 29, Mar 31 days.
        let c = Calendar::new(day("2024-01-01"), 3).unwrap();
        let h = |d: u64| SimTime(d * 86_400_000);
        assert_eq!(c.bounds, [h(0), h(31), h(60), h(91)]);
        assert_eq!(c.labels, ["2024-01", "2024-02", "2024-03"]);
        assert_eq!(c.month_of(h(30)), Some(0));
        assert_eq!(c.month_of(h(31)), Some(1));
        assert_eq!(c.month_of(h(91)), None);
        assert_eq!(c.time_of(day("2024-02-01"), "k").unwrap(), h(31));
        assert!(c.time_of(day("2023-12-31"), "k").is_err());
    }

    #[test]
    fn local_months_follow_the_zone() {
        // America/Chicago: t = 0 is 2026-01-01 00:00 CST; DST starts 8 March 2026, so
        // April begins 31 + 28 + 31 days later less one hour; fleet dates likewise.
        let c = Calendar::in_zone(day("2026-01-01"), 4, chrono_tz::America::Chicago).unwrap();
        let h = |hours: u64| SimTime(hours * 3_600_000);
        assert_eq!(c.bounds, [h(0), h(744), h(1416), h(2159), h(2879)]);
        assert_eq!(c.time_of(day("2026-04-01"), "k").unwrap(), h(2159));
    }

    #[test]
    fn zero_months_is_an_error() {
        assert!(Calendar::new(day("2024-01-01"), 0).is_err());
    }
}
