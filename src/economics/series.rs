//! Step series read from CSV (hourly prices, hourly carbon intensity): a time column
//! and value columns; each row's value holds from its timestamp until the next step.
//!
//! Timestamps may carry an offset (`2023-01-01 00:00:00-06:00`, exact), or be naive,
//! then read in the series' `time_zone` (default UTC). A naive local time that does not
//! exist (the spring DST gap) is dropped; a repeated one (the autumn change) maps to its
//! first occurrence, or to its second when the previous row already took the first.
//! Rows must then be strictly increasing; the step is the smallest spacing, and a
//! missing step (a gap, a blank value) is filled by the `fill` rule: `error` (default)
//! refuses to bill an instant the series lacks, `hold` repeats the previous value (and
//! the first and last values before and after the series).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::calendar::{parse_instant_with_offset, parse_naive, parse_tz, resolve_local};
use super::error::EconError;

/// What to do where a series has no value for an instant the run needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fill {
    /// Refuse: the bill fails naming the first missing instant.
    #[default]
    Error,
    /// Repeat the previous value (the first value before the series starts).
    Hold,
}

/// `series = { path = ..., column = ..., time_zone = ..., fill = ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesSpec {
    /// The CSV file (relative to the scenario).
    pub path: PathBuf,
    /// The value column's header; default: the second column, when the file has two.
    pub column: Option<String>,
    /// Zone of naive timestamps (IANA name); default UTC. Ignored for rows with offsets.
    pub time_zone: Option<String>,
    /// Filling rule for missing steps.
    #[serde(default)]
    pub fill: Fill,
}

/// A regular step series, UTC epoch milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSeries {
    /// The file, for errors.
    pub path: PathBuf,
    /// The chosen column's header.
    pub column: String,
    /// Epoch ms of the first step.
    pub first_ms: i64,
    /// Step length, ms.
    pub step_ms: i64,
    /// One value per step (`None`: missing, only with `fill = "error"`).
    pub values: Vec<Option<Decimal>>,
    /// The filling rule.
    pub fill: Fill,
}

/// Parses a decimal cell (`55.94`, `-0.07`, `1e-3`).
fn parse_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    Decimal::from_str(s)
        .ok()
        .or_else(|| Decimal::from_scientific(s).ok())
}

impl StepSeries {
    /// Reads `spec` (path relative to `base_dir`); `key` names the config key in errors.
    pub fn load(spec: &SeriesSpec, base_dir: &Path, key: &str) -> Result<StepSeries, EconError> {
        let path = base_dir.join(&spec.path);
        let text = std::fs::read_to_string(&path).map_err(|source| EconError::Io {
            path: path.clone(),
            source,
        })?;
        let tz: Tz = match &spec.time_zone {
            Some(z) => parse_tz(&format!("{key}.time_zone"), z)?,
            None => Tz::UTC,
        };
        let file_err = |line: usize, message: String| EconError::File {
            path: path.clone(),
            line,
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| file_err(1, e.to_string()))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        let col = match &spec.column {
            Some(c) => header
                .iter()
                .position(|h| h == c)
                .ok_or_else(|| file_err(1, format!("no column `{c}` (columns: {})", header.join(", "))))?,
            None if header.len() == 2 => 1,
            None => {
                return Err(EconError::invalid(
                    format!("{key}.column"),
                    format!(
                        "{} has {} columns: name the value column (one of {})",
                        path.display(),
                        header.len(),
                        header[1..].join(", ")
                    ),
                ))
            }
        };
        let mut rows: Vec<(i64, Option<Decimal>)> = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| file_err(line, e.to_string()))?;
            let ts = rec.get(0).unwrap_or("").trim();
            if ts.is_empty() {
                continue;
            }
            let ms = match parse_instant_with_offset(ts) {
                Some(ms) => ms,
                None => {
                    let naive = parse_naive(ts).ok_or_else(|| {
                        file_err(line, format!("`{ts}` is not a timestamp (expected \"YYYY-MM-DD HH:MM:SS\", optionally with an offset such as -06:00)"))
                    })?;
                    match resolve_local(tz, naive, rows.last().map(|r| r.0)) {
                        Some(ms) => ms,
                        None => continue,
                    }
                }
            };
            let cell = rec.get(col).unwrap_or("").trim();
            let value = if cell.is_empty() {
                None
            } else {
                Some(parse_decimal(cell).ok_or_else(|| {
                    file_err(
                        line,
                        format!("`{cell}` in column `{}` is not a number", header[col]),
                    )
                })?)
            };
            if let Some(&(prev, _)) = rows.last() {
                if ms <= prev {
                    return Err(file_err(
                        line,
                        format!("timestamp `{ts}` is not after the previous row's (rows must be in time order, one per step)"),
                    ));
                }
            }
            rows.push((ms, value));
        }
        if rows.is_empty() {
            return Err(file_err(2, "no rows".into()));
        }
        let step_ms = rows
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .min()
            .unwrap_or(3_600_000);
        let first_ms = rows[0].0;
        let n = ((rows[rows.len() - 1].0 - first_ms) / step_ms + 1) as usize;
        let mut values = vec![None; n];
        for &(ms, v) in &rows {
            if (ms - first_ms) % step_ms != 0 {
                return Err(EconError::File {
                    path: path.clone(),
                    line: 0,
                    message: format!("timestamps are not on a regular grid of {} min", step_ms / 60_000),
                });
            }
            values[((ms - first_ms) / step_ms) as usize] = v;
        }
        if spec.fill == Fill::Hold {
            let mut last = values.iter().flatten().next().copied();
            for v in values.iter_mut() {
                match v {
                    Some(x) => last = Some(*x),
                    None => *v = last,
                }
            }
        }
        Ok(StepSeries {
            path,
            column: header[col].clone(),
            first_ms,
            step_ms,
            values,
            fill: spec.fill,
        })
    }

    /// The value in force at epoch `ms`, or the fill rule's error.
    pub fn at(&self, ms: i64) -> Result<Decimal, EconError> {
        let idx = (ms - self.first_ms).div_euclid(self.step_ms);
        let clamped = idx.clamp(0, self.values.len() as i64 - 1) as usize;
        let inside = idx >= 0 && (idx as usize) < self.values.len();
        match (self.fill, inside, self.values[clamped]) {
            (Fill::Hold, _, Some(v)) | (Fill::Error, true, Some(v)) => Ok(v),
            _ => Err(EconError::Coverage {
                path: self.path.clone(),
                message: format!(
                    "no value for {} UTC (the series covers {} to {} UTC, step {} min); set `fill = \"hold\"` to repeat the previous value",
                    fmt_utc(ms),
                    fmt_utc(self.first_ms),
                    fmt_utc(self.first_ms + self.step_ms * self.values.len() as i64),
                    self.step_ms / 60_000
                ),
            }),
        }
    }

    /// Whether the series has a value (its own or a filled one) at epoch `ms`.
    pub fn has(&self, ms: i64) -> bool {
        self.at(ms).is_ok()
    }

    /// The instants of `[from_ms, to_ms)` (run clock, one per series step) at which
    /// the series, read through `read` (run instant → series instant), has no value:
    /// `None` when it covers them all; otherwise the first and last missing instants
    /// and how many of how many steps miss, for an error that names the span.
    pub fn uncovered(
        &self,
        from_ms: i64,
        to_ms: i64,
        read: impl Fn(i64) -> i64,
    ) -> Option<(i64, i64, usize, usize)> {
        let mut t = from_ms.div_euclid(self.step_ms) * self.step_ms;
        let (mut first, mut last, mut missing, mut steps) = (None, 0, 0, 0);
        while t < to_ms {
            let at = t.max(from_ms);
            steps += 1;
            if !self.has(read(at)) {
                first.get_or_insert(at);
                last = t + self.step_ms;
                missing += 1;
            }
            t += self.step_ms;
        }
        first.map(|f| (f, last.min(to_ms), missing, steps))
    }

    /// The mean of the present values (for reports and tests).
    pub fn mean(&self) -> Option<Decimal> {
        let present: Vec<Decimal> = self.values.iter().flatten().copied().collect();
        (!present.is_empty()).then(|| present.iter().sum::<Decimal>() / Decimal::from(present.len()))
    }
}

/// `YYYY-MM-DD HH:MM` of a UTC epoch instant.
pub fn fmt_utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ms.to_string())
}
