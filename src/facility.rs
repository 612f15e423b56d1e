//! Facility overheads: cooling and power-distribution losses on top of IT power.
//!
//! **Local stand-in.** The facility model (climate, weather files, chillers) is written
//! in parallel on another branch with exactly this API; until it is merged, this file
//! keeps the power accounting compiling and testable with the simplest model the API
//! allows: a fixed PUE, all of its overhead counted as cooling, no distribution
//! losses, and outdoor conditions that never change. Replace this file with the real
//! one when merging; callers use only [`Facility::new`], [`Facility::overhead_kw`] and
//! [`Facility::next_change_after`].

use std::path::Path;

use serde::Deserialize;

use crate::engine::SimTime;

/// Facility settings, as written in a scenario (`[power.facility]` here).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityConfig {
    /// A fixed power usage effectiveness (facility power / IT power), ≥ 1. None: no
    /// overhead is modelled (PUE 1.0).
    pub fixed_pue: Option<f64>,
}

/// Why a facility model could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FacilityError {
    /// A value is out of range.
    #[error("`{key}`: {message}")]
    Invalid {
        /// Dotted key.
        key: String,
        /// What was wrong.
        message: String,
    },
}

/// Facility power at one instant, kW.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FacilityPower {
    /// Cooling power, kW.
    pub cooling_kw: f64,
    /// Power-distribution losses (UPS, transformers, PDUs), kW.
    pub losses_kw: f64,
    /// Outdoor temperature, °C (NaN when not modelled).
    pub outdoor_c: f64,
}

/// A built facility model.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    pue: f64,
}

impl Facility {
    /// Builds the model; `base_dir` anchors relative paths (unused by the stand-in) and
    /// `seed` its random streams (likewise unused).
    pub fn new(cfg: &FacilityConfig, _base_dir: &Path, _seed: u64) -> Result<Facility, FacilityError> {
        let pue = cfg.fixed_pue.unwrap_or(1.0);
        if !(pue.is_finite() && pue >= 1.0) {
            return Err(FacilityError::Invalid {
                key: "fixed_pue".into(),
                message: "must be a number ≥ 1".into(),
            });
        }
        Ok(Facility { pue })
    }

    /// Cooling and distribution-loss power (kW) for `it_kw` of IT load at time `t`.
    pub fn overhead_kw(&self, it_kw: f64, _t: SimTime) -> FacilityPower {
        FacilityPower {
            cooling_kw: (self.pue - 1.0) * it_kw,
            losses_kw: 0.0,
            outdoor_c: f64::NAN,
        }
    }

    /// Times at which the outdoor conditions change, so callers can sample piecewise;
    /// the stand-in's never change ([`SimTime::MAX`]).
    pub fn next_change_after(&self, _t: SimTime) -> SimTime {
        SimTime::MAX
    }
}
