//! Grid carbon intensity at any instant, gCO₂/kWh: a constant, a series, or a region of
//! a region table (`Region`, `Avg Grid Intensity` columns).

use std::path::Path;

use rust_decimal::prelude::ToPrimitive;

use super::config::CarbonConfig;
use super::error::EconError;
use super::series::StepSeries;

/// A validated carbon intensity.
#[derive(Debug, Clone, PartialEq)]
pub enum Carbon {
    /// One intensity, gCO₂/kWh.
    Constant(f64),
    /// A series, gCO₂/kWh.
    Series(StepSeries),
}

impl Carbon {
    /// Validates `cfg` (files relative to `base_dir`).
    pub fn new(cfg: &CarbonConfig, base_dir: &Path) -> Result<Carbon, EconError> {
        let given = [
            cfg.g_per_kwh.is_some(),
            cfg.series.is_some(),
            cfg.region.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(EconError::invalid(
                "carbon",
                "give exactly one of `g_per_kwh`, `series` or `region`",
            ));
        }
        if cfg.regions_path.is_some() && cfg.region.is_none() {
            return Err(EconError::invalid(
                "carbon.regions_path",
                "only applies with `region`",
            ));
        }
        if let Some(g) = cfg.g_per_kwh {
            if !(g.is_finite() && g >= 0.0) {
                return Err(EconError::invalid(
                    "carbon.g_per_kwh",
                    format!("{g} is not an intensity (expected ≥ 0 gCO₂/kWh)"),
                ));
            }
            return Ok(Carbon::Constant(g));
        }
        if let Some(s) = &cfg.series {
            return Ok(Carbon::Series(StepSeries::load(s, base_dir, "carbon.series")?));
        }
        let region = cfg.region.as_deref().unwrap_or_default();
        let rel = cfg
            .regions_path
            .clone()
            .unwrap_or_else(|| Path::new("data").join("azure_region_carbon.csv"));
        region_intensity(&base_dir.join(rel), region).map(Carbon::Constant)
    }

    /// The intensity at epoch `ms` of the series' own calendar
    /// ([`super::Calendar::series_ms`] of a run instant), gCO₂/kWh.
    pub fn at(&self, ms: i64) -> Result<f64, EconError> {
        match self {
            Carbon::Constant(g) => Ok(*g),
            Carbon::Series(s) => Ok(s.at(ms)?.to_f64().unwrap_or(0.0)),
        }
    }

    /// The intensity series, when it is one.
    pub fn series(&self) -> Option<&StepSeries> {
        match self {
            Carbon::Series(s) => Some(s),
            Carbon::Constant(_) => None,
        }
    }

    /// The step the intensity can change on, ms (`None`: never changes).
    pub fn step_ms(&self) -> Option<i64> {
        match self {
            Carbon::Constant(_) => None,
            Carbon::Series(s) => Some(s.step_ms),
        }
    }
}

/// The `Avg Grid Intensity` of `region` in the table at `path`.
fn region_intensity(path: &Path, region: &str) -> Result<f64, EconError> {
    let text = std::fs::read_to_string(path).map_err(|source| EconError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let file_err = |line: usize, message: String| EconError::File {
        path: path.to_path_buf(),
        line,
        message,
    };
    let header = reader.headers().map_err(|e| file_err(1, e.to_string()))?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| file_err(1, format!("no column `{name}`")))
    };
    let (rc, ic) = (col("Region")?, col("Avg Grid Intensity")?);
    let mut names = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| file_err(i + 2, e.to_string()))?;
        let name = rec.get(rc).unwrap_or("").trim();
        if name.eq_ignore_ascii_case(region) {
            let cell = rec.get(ic).unwrap_or("").trim();
            return cell
                .parse::<f64>()
                .map_err(|_| file_err(i + 2, format!("`{cell}` is not an intensity")));
        }
        names.push(name.to_string());
    }
    Err(EconError::invalid(
        "carbon.region",
        format!(
            "`{region}` is not in {} (regions: {})",
            path.display(),
            names.join(", ")
        ),
    ))
}
