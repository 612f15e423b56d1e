//! The calendar a run is billed on: the instant simulated t = 0 maps to, the time zone
//! whose local months and hours tariffs use, and parsing of the dates and timestamps
//! the config and the series files hold.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;

use crate::engine::SimTime;

use super::error::EconError;

/// Milliseconds in one hour.
pub const MS_PER_HOUR: i64 = 3_600_000;

/// Simulated time mapped onto the calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// UTC epoch milliseconds of simulated t = 0.
    pub start_ms: i64,
    /// The zone of local months, days and hours.
    pub tz: Tz,
    /// Years added to an instant's local date to find it in the price and carbon
    /// series (`economics.series_year` minus the start's year; 0: the series are read
    /// at the run's own dates).
    pub series_shift_years: i32,
}

/// One local calendar month, as UTC epoch milliseconds `[start_ms, end_ms)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Month {
    /// `YYYY-MM`.
    pub label: String,
    /// First instant of the month.
    pub start_ms: i64,
    /// First instant of the next month.
    pub end_ms: i64,
}

impl Month {
    /// Length of the month, ms (DST changes included).
    pub fn len_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }
}

/// Parses an IANA zone name (`America/Chicago`, `UTC`) for `key`.
pub fn parse_tz(key: &str, name: &str) -> Result<Tz, EconError> {
    name.parse::<Tz>().map_err(|_| {
        EconError::invalid(
            key,
            format!("`{name}` is not an IANA time zone (expected e.g. \"UTC\", \"America/Chicago\", \"Europe/Berlin\")"),
        )
    })
}

/// Parses an instant with an explicit offset: RFC 3339 (`2023-01-01T00:00:00-06:00`)
/// or the same with a space for `T`; returns UTC epoch milliseconds.
pub fn parse_instant_with_offset(s: &str) -> Option<i64> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .ok()
        .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%:z").ok())
        .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%#z").ok())
        .map(|d| d.timestamp_millis())
}

/// Parses a timestamp without offset (`2023-01-01 00:00:00`, `T` also accepted, seconds
/// optional).
pub fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

/// A local time resolved in `tz`: `Some(ms)` or `None` when it does not exist (spring
/// DST gap). A repeated local time (autumn change) resolves to its first occurrence
/// unless that is not after `after_ms`, then to the second: a file listing the repeated
/// hour twice maps its two rows to the two instants in order.
pub fn resolve_local(tz: Tz, naive: NaiveDateTime, after_ms: Option<i64>) -> Option<i64> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(d) => Some(d.timestamp_millis()),
        LocalResult::Ambiguous(a, b) => {
            let a = a.timestamp_millis();
            match after_ms {
                Some(p) if a <= p => Some(b.timestamp_millis()),
                _ => Some(a),
            }
        }
        LocalResult::None => None,
    }
}

impl Calendar {
    /// A calendar whose t = 0 is `start` (RFC 3339 with offset) and whose local time is
    /// in zone `tz`; errors name `economics.start` / `economics.time_zone`.
    pub fn new(start: &str, tz: &str) -> Result<Calendar, EconError> {
        let tz = parse_tz("time_zone", tz)?;
        let start_ms = parse_instant_with_offset(start).ok_or_else(|| {
            EconError::invalid(
                "start",
                format!(
                    "`{start}` is not a date-time with offset (expected e.g. \"2023-01-01T00:00:00-06:00\")"
                ),
            )
        })?;
        Ok(Calendar {
            start_ms,
            tz,
            series_shift_years: 0,
        })
    }

    /// A calendar whose t = 0 is local midnight of `day` in zone `tz` (a budget's first
    /// day: its months are then the calendar's local months).
    pub fn at_midnight(day: NaiveDate, tz: &str) -> Result<Calendar, EconError> {
        Ok(Calendar::midnight_in(day, parse_tz("time_zone", tz)?))
    }

    /// [`Calendar::at_midnight`] with a parsed zone.
    pub fn midnight_in(day: NaiveDate, tz: Tz) -> Calendar {
        let mut cal = Calendar {
            start_ms: 0,
            tz,
            series_shift_years: 0,
        };
        cal.start_ms = cal.day_start(day);
        cal
    }

    /// Replays the series of `year` as the run's first year: an instant is looked up in
    /// the series at the same local date and time, `year − start's year` years away.
    pub fn replay_series_year(&mut self, year: i32) {
        self.series_shift_years = year - self.local(self.start_ms).year();
    }

    /// The epoch instant at which the price and carbon series are read for run instant
    /// `ms`: `ms` itself, or with `series_year` the same local date and time in the
    /// replayed year (29 February read as 28 February; a local time the replayed year
    /// skips for DST read one hour later).
    pub fn series_ms(&self, ms: i64) -> i64 {
        if self.series_shift_years == 0 {
            return ms;
        }
        let local = self.local(ms).naive_local();
        let year = local.year() + self.series_shift_years;
        let date = NaiveDate::from_ymd_opt(year, local.month(), local.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, local.month(), local.day() - 1))
            .unwrap_or_default();
        let naive = date.and_time(local.time());
        resolve_local(self.tz, naive, None)
            .or_else(|| resolve_local(self.tz, naive + chrono::Duration::hours(1), None))
            .unwrap_or_else(|| naive.and_utc().timestamp_millis())
    }

    /// UTC epoch milliseconds of simulated time `t`.
    pub fn epoch_ms(&self, t: SimTime) -> i64 {
        self.start_ms + t.as_ms() as i64
    }

    /// Simulated time of an epoch instant (clamped at 0 before the start).
    pub fn sim_time(&self, ms: i64) -> SimTime {
        SimTime((ms - self.start_ms).max(0) as u64)
    }

    /// The local date-time of an epoch instant.
    pub fn local(&self, ms: i64) -> DateTime<Tz> {
        self.tz
            .timestamp_millis_opt(ms)
            .single()
            .unwrap_or_else(|| self.tz.timestamp_millis_opt(0).unwrap())
    }

    /// Epoch ms of the first instant of local day `date` (midnight, or the first local
    /// time that exists when midnight falls in a DST gap).
    pub fn day_start(&self, date: NaiveDate) -> i64 {
        let mut naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        for _ in 0..4 {
            if let Some(ms) = resolve_local(self.tz, naive, None) {
                return ms;
            }
            naive += chrono::Duration::minutes(30);
        }
        naive.and_utc().timestamp_millis()
    }

    /// Parses a config date for `key`: `YYYY-MM-DD` (local midnight) or a date-time with
    /// offset.
    pub fn parse_date(&self, key: &str, s: &str) -> Result<i64, EconError> {
        if let Some(ms) = parse_instant_with_offset(s) {
            return Ok(ms);
        }
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map(|d| self.day_start(d))
            .map_err(|_| {
                EconError::invalid(
                    key,
                    format!("`{s}` is not a date (expected \"YYYY-MM-DD\" or a date-time with offset)"),
                )
            })
    }

    /// The local months overlapping `[from_ms, to_ms)` (at least one).
    pub fn months(&self, from_ms: i64, to_ms: i64) -> Vec<Month> {
        let first = self.local(from_ms);
        let (mut y, mut m) = (first.year(), first.month());
        let mut out = Vec::new();
        loop {
            let start_ms = self.day_start(NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default());
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            let end_ms = self.day_start(NaiveDate::from_ymd_opt(ny, nm, 1).unwrap_or_default());
            out.push(Month {
                label: format!("{y:04}-{m:02}"),
                start_ms,
                end_ms,
            });
            if end_ms >= to_ms {
                return out;
            }
            (y, m) = (ny, nm);
        }
    }

    /// Local hour of day (0–23), whether the day is Saturday or Sunday, and month
    /// (1–12) of an instant: what time-of-use periods select on.
    pub fn tou_key(&self, ms: i64) -> (u32, bool, u32) {
        let d = self.local(ms);
        let weekend = d.weekday().number_from_monday() >= 6;
        (d.hour(), weekend, d.month())
    }
}
