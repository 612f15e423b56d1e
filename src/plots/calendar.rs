//! Calendar ticks for time axes of traces with real timestamps: round instants of the
//! trace's clock (whole hours, midnights, month starts) and their labels.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike};

/// Tick steps in hours, finest first; past the last, ticks fall on month starts.
const HOUR_STEPS: [i64; 9] = [1, 3, 6, 12, 24, 48, 7 * 24, 14 * 24, 28 * 24];
/// The most ticks an axis gets.
const MAX_TICKS: f64 = 10.0;

/// Ticks `(value, label)` on an axis whose values are `div` seconds after `epoch`,
/// over `[x0, x1]`: the finest step giving at most ten ticks, aligned to the clock
/// (hours of the day at multiples of the step, days at midnight). Hour ticks read
/// `HH:MM` except at midnight, which reads the date (`Sep 4`), as day ticks do.
pub fn ticks(epoch: NaiveDateTime, div: f64, x0: f64, x1: f64) -> Vec<(f64, String)> {
    if !(div > 0.0 && x0.is_finite() && x1.is_finite() && x1 > x0) {
        return Vec::new();
    }
    let at = |x: f64| epoch + TimeDelta::milliseconds((x * div * 1000.0).round() as i64);
    let value = |t: NaiveDateTime| (t - epoch).num_milliseconds() as f64 / 1000.0 / div;
    let (from, to) = (at(x0), at(x1));
    let span_h = (to - from).num_seconds() as f64 / 3600.0;
    let mut out = Vec::new();
    match HOUR_STEPS.iter().find(|&&h| span_h / h as f64 <= MAX_TICKS) {
        Some(&step) => {
            let day = from.date().and_hms_opt(0, 0, 0).unwrap_or(from);
            // First tick: the first multiple of `step` hours after midnight (for day
            // steps, the first midnight) at or after `from`.
            let mut t = day;
            while t < from {
                t += TimeDelta::hours(step.min(24));
            }
            while t <= to {
                out.push((value(t), label(t)));
                t += TimeDelta::hours(step);
            }
        }
        None => {
            let months = ((span_h / (24.0 * 30.44) / MAX_TICKS).ceil() as u32).max(1);
            let mut d = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or(from.date());
            loop {
                let t = d.and_hms_opt(0, 0, 0).unwrap_or(from);
                if t > to {
                    break;
                }
                if t >= from {
                    out.push((value(t), t.format("%b %Y").to_string()));
                }
                match d.checked_add_months(chrono::Months::new(months)) {
                    Some(next) => d = next,
                    None => break,
                }
            }
        }
    }
    out
}

/// `Sep 4` at midnight, `HH:MM` otherwise.
fn label(t: NaiveDateTime) -> String {
    if t.hour() == 0 && t.minute() == 0 {
        t.format("%b %-d").to_string()
    } else {
        t.format("%H:%M").to_string()
    }
}

/// The label of a calendar axis: the year(s) it covers and whose clock it reads.
pub fn axis_label(epoch: NaiveDateTime, zone: Option<&str>, end: NaiveDateTime) -> String {
    let years = if epoch.year() == end.year() {
        epoch.year().to_string()
    } else {
        format!("{}–{}", epoch.year(), end.year())
    };
    match zone {
        Some(z) => format!("date, {years} ({z})"),
        None => format!("date, {years} (the trace's local clock; time zone not published)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("test date")
    }

    /// Philly's span, 2017-09-04 10:30:41 to 2017-12-22 08:02:11 (the trace README):
    /// 108.9 days is over 10 weeks and under 20, so ticks are 14 days apart, from the
    /// first midnight.
    #[test]
    fn days_are_ticked_at_midnight() {
        let epoch = at("2017-09-04 10:30:41");
        let end_days = (at("2017-12-22 08:02:11") - epoch).num_seconds() as f64 / 86_400.0;
        let t = ticks(epoch, 86_400.0, 0.0, end_days);
        let labels: Vec<&str> = t.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            ["Sep 5", "Sep 19", "Oct 3", "Oct 17", "Oct 31", "Nov 14", "Nov 28", "Dec 12"]
        );
        // Sep 5 00:00 is 13 h 29 min 19 s after the epoch.
        assert!((t[0].0 - 48_559.0 / 86_400.0).abs() < 1e-9, "{}", t[0].0);
    }

    /// A 20-hour span: ticks every 3 hours on the clock (18:00, 21:00, ...); midnight
    /// reads the date.
    #[test]
    fn hours_are_ticked_on_the_clock() {
        let epoch = at("2024-11-15 16:57:50");
        let t = ticks(epoch, 3600.0, 0.0, 20.0);
        let labels: Vec<&str> = t.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            ["18:00", "21:00", "Nov 16", "03:00", "06:00", "09:00", "12:00"]
        );
    }

    /// Two years (to 2024-01-15): month starts, three months apart.
    #[test]
    fn long_spans_are_ticked_at_month_starts() {
        let epoch = at("2022-01-15 00:00:00");
        let t = ticks(epoch, 86_400.0, 0.0, 730.0);
        let labels: Vec<&str> = t.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Apr 2022", "Jul 2022", "Oct 2022", "Jan 2023", "Apr 2023", "Jul 2023", "Oct 2023",
                "Jan 2024"
            ]
        );
    }

    #[test]
    fn axis_label_names_years_and_clock() {
        let a = at("2017-09-04 10:30:41");
        assert_eq!(
            axis_label(a, None, at("2017-12-22 08:02:11")),
            "date, 2017 (the trace's local clock; time zone not published)"
        );
        assert_eq!(
            axis_label(a, Some("UTC"), at("2018-01-02 00:00:00")),
            "date, 2017–2018 (UTC)"
        );
    }
}
