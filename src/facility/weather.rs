//! Outdoor temperature over simulated time: constant, a built-in climate, or an hourly CSV.
//!
//! # Weather CSV format
//!
//! ```text
//! # optional comment lines start with '#'
//! hour,temp_c
//! 0,11.5
//! 1,11.2
//! ```
//!
//! - `hour`: whole hours since the start of the run (t = 0), starting at 0 and rising by
//!   exactly 1 per row; row `h` gives the outdoor dry-bulb temperature over
//!   `[h, h + 1)` hours.
//! - `temp_c`: outdoor dry-bulb temperature, °C, finite, within −90..=60 (outside the
//!   range of any recorded surface air temperature, so a value there is a unit or column
//!   mistake).
//!
//! A run longer than the file starts again at its first row (the series cycles), so a
//! one-year file serves a multi-year run.

use std::path::Path;

use super::FacilityError;

/// Milliseconds in one hour: weather is piecewise constant over hours.
pub const MS_PER_HOUR: u64 = 3_600_000;

/// Lowest accepted temperature (°C): below the lowest recorded surface air temperature
/// (−89.2 °C, Vostok, 1983; WMO archive of weather and climate extremes).
const MIN_TEMP_C: f64 = -90.0;
/// Highest accepted temperature (°C): above the highest WMO-accepted record (56.7 °C,
/// Death Valley, 1913).
const MAX_TEMP_C: f64 = 60.0;

/// Where the outdoor temperature comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Weather {
    /// The same temperature at every time (°C).
    Constant(f64),
    /// Hourly values, cycled; `offset_h` is the series index at t = 0.
    Hourly { temps_c: Vec<f64>, offset_h: u64 },
}

impl Weather {
    /// Outdoor dry-bulb temperature (°C) at `t_ms` milliseconds since the start.
    pub(crate) fn temp_c(&self, t_ms: u64) -> f64 {
        match self {
            Weather::Constant(c) => *c,
            Weather::Hourly { temps_c, offset_h } => {
                let len = temps_c.len() as u64;
                let idx = (offset_h % len + (t_ms / MS_PER_HOUR) % len) % len;
                temps_c[idx as usize]
            }
        }
    }

    /// Whether the temperature changes over time.
    pub(crate) fn varies(&self) -> bool {
        matches!(self, Weather::Hourly { temps_c, .. } if temps_c.len() > 1)
    }
}

/// Read a weather CSV (format in the module docs); errors name the file and line.
pub fn read_weather_csv(path: &Path) -> Result<Vec<f64>, FacilityError> {
    let file = std::fs::File::open(path).map_err(|source| FacilityError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(file);
    let row_err = |line: u64, message: String| FacilityError::Row {
        path: path.to_path_buf(),
        line,
        message,
    };
    let headers = reader.headers().map_err(|e| csv_err(path, &e))?.clone();
    if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
        return Err(FacilityError::Empty {
            path: path.to_path_buf(),
        });
    }
    let header_line = headers.position().map_or(1, |p| p.line());
    if headers.len() != 2 || &headers[0] != "hour" || &headers[1] != "temp_c" {
        return Err(row_err(
            header_line,
            format!(
                "expected header `hour,temp_c`, found `{}`",
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    }
    let mut temps = Vec::new();
    // The reader rejects a row whose field count differs from the header's (2).
    for record in reader.records() {
        let record = record.map_err(|e| csv_err(path, &e))?;
        let line = record.position().map_or(0, |p| p.line());
        let hour: u64 = record[0].parse().map_err(|_| {
            row_err(
                line,
                format!("hour `{}` is not a whole number of hours", &record[0]),
            )
        })?;
        if hour != temps.len() as u64 {
            return Err(row_err(
                line,
                format!(
                    "hour {hour} out of sequence: expected {} (hours start at 0 and rise by 1)",
                    temps.len()
                ),
            ));
        }
        let temp: f64 = record[1]
            .parse()
            .map_err(|_| row_err(line, format!("temp_c `{}` is not a number", &record[1])))?;
        if !(MIN_TEMP_C..=MAX_TEMP_C).contains(&temp) {
            return Err(row_err(
                line,
                format!("temp_c {temp} is outside {MIN_TEMP_C}..={MAX_TEMP_C} °C (wrong unit or column?)"),
            ));
        }
        temps.push(temp);
    }
    if temps.is_empty() {
        return Err(FacilityError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(temps)
}

/// A csv-crate error as a row error when it knows the line, else as a read error.
fn csv_err(path: &Path, e: &csv::Error) -> FacilityError {
    match e.position() {
        Some(p) => FacilityError::Row {
            path: path.to_path_buf(),
            line: p.line(),
            message: e.to_string(),
        },
        None => FacilityError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_weather_cycles_and_offsets() {
        let w = Weather::Hourly {
            temps_c: vec![1.0, 2.0, 3.0],
            offset_h: 1,
        };
        assert_eq!(w.temp_c(0), 2.0);
        assert_eq!(w.temp_c(MS_PER_HOUR - 1), 2.0);
        assert_eq!(w.temp_c(MS_PER_HOUR), 3.0);
        assert_eq!(w.temp_c(2 * MS_PER_HOUR), 1.0);
        assert_eq!(w.temp_c(u64::MAX), w.temp_c(u64::MAX));
        assert!(w.varies());
        assert!(!Weather::Constant(5.0).varies());
    }
}
