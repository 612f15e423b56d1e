//! Facility power: cooling and electrical-distribution overheads on top of the IT load,
//! as a function of IT power and outdoor temperature. A pure model: it never sees the
//! event loop; the caller asks for the overhead at a time and IT load, and asks
//! [`Facility::next_change_after`] when the weather will next change.
//!
//! # Model
//!
//! Either a fixed PUE (`overhead = (PUE − 1) · IT`, all booked as cooling), or a plant
//! model. With `IT` the IT power, `D` the design (nameplate) IT power and `T` the outdoor
//! dry-bulb temperature (all kW / °C):
//!
//! ```text
//! losses  = a_fix · D + a_prop · IT                       UPS, transformers, PDUs
//! fans    = b_fix · D + b_prop · IT                       CRAH fans, pumps, towers
//! heat    = IT + losses + fans                             heat the plant must reject
//! f_mech  = clamp((T − T_free) / (T_mech − T_free), 0, 1)  share on the chiller
//! COP(T)  = min(COP_max, η · T_evap / (T + ΔT_cond − T_evap))   (kelvin)
//! cooling = fans + f_mech · heat / COP(T)
//! PUE     = (IT + cooling + losses) / IT
//! ```
//!
//! - Distribution losses: a no-load part sized by the design capacity plus a part
//!   proportional to load — the loss model of Rasmussen, "Electrical Efficiency Modeling
//!   for Data Centers", APC/Schneider White Paper 113 (which adds a small square-law
//!   term, left out here). The fixed parts are why PUE rises at low load.
//! - Economizer: below `T_free` outdoor air or water carries the whole load (free
//!   cooling: fans and pumps only); above `T_mech` the chiller carries it all; in between
//!   the economizer pre-cools and the chiller trims, linearly.
//! - Chiller COP: a fixed fraction η of the Carnot COP between the evaporator and a
//!   condenser `ΔT_cond` above outdoor air (the "quality grade" model of oemof-thermal's
//!   compression chiller module, `COP_Carnot,chiller = T_low / (T_high − T_low)`), capped
//!   at `COP_max`. COP falls as outdoor air warms, so PUE rises with temperature above
//!   the changeover.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use dcsim::engine::SimTime;
//! use dcsim::facility::{Facility, FacilityConfig};
//!
//! let cfg: FacilityConfig = toml::from_str(
//!     "climate = \"temperate\"\nstart_day_of_year = 182\ndesign_it_kw = 10000.0",
//! )
//! .unwrap();
//! let facility = Facility::new(&cfg, Path::new("."), 42).unwrap();
//! let p = facility.overhead_kw(6000.0, SimTime::ZERO);
//! assert!(p.cooling_kw > 0.0 && p.losses_kw > 0.0);
//! assert!(facility.pue(6000.0, SimTime::ZERO) > 1.0);
//! // Weather is piecewise constant per hour.
//! assert_eq!(facility.next_change_after(SimTime::ZERO), SimTime::from_secs(3600));
//! ```
//!
//! Every default, its unit and its source is listed on [`FacilityConfig`] and in
//! `docs/facility.md`; the comparison with published PUE figures is in
//! `docs/validation.md (Facility section)`.

mod climate;
mod weather;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engine::{RngStreams, SimTime};

pub use climate::{climate, climate_names, monthly_means, Climate, CLIMATES, DAYS_IN_MONTH, HOURS_PER_YEAR};
pub use weather::{read_weather_csv, MS_PER_HOUR};

use weather::Weather;

/// Kelvin at 0 °C.
const KELVIN_AT_0_C: f64 = 273.15;

/// Default day of the year at t = 0 (1 = 1 January).
pub const DEFAULT_START_DAY_OF_YEAR: u32 = 1;

/// Default outdoor temperature at or below which the economizer carries the whole load
/// (°C): 18 °C is the low end of the ASHRAE TC 9.9 recommended server inlet range
/// (18–27 °C, "Thermal Guidelines for Data Processing Environments", 2011), so outdoor
/// air at or below it can be supplied (mixed with return air) with no mechanical trim.
pub const DEFAULT_FREE_COOLING_BELOW_C: f64 = 18.0;

/// Default outdoor temperature at or above which the chiller carries the whole load (°C):
/// 27 °C, the top of the same ASHRAE recommended inlet range; outdoor air warmer than the
/// allowed supply temperature cannot cool.
pub const DEFAULT_MECHANICAL_ABOVE_C: f64 = 27.0;

/// Default refrigerant evaporating temperature (°C): a 15 °C facility-water supply
/// (within ASHRAE TC 9.9 liquid-cooling class W1/W2, 2–17 / 2–27 °C) less a 5 K
/// evaporator approach (the emoncms heat-pump model uses 4–6 K approaches).
pub const DEFAULT_EVAPORATOR_C: f64 = 10.0;

/// Default condensing temperature above outdoor dry-bulb (K): air-cooled condensers are
/// commonly selected for a 8–17 K difference between condensing and ambient temperature
/// (ASHRAE Handbook — HVAC Systems and Equipment, "Condensers"; recalled, not re-checked).
pub const DEFAULT_CONDENSER_APPROACH_K: f64 = 10.0;

/// Default fraction of the Carnot COP a real chiller reaches: about 0.5 ("a real-life heat
/// pump achieves about 50% of its ideal efficiency", emoncms `docs/heatpumpmodel.md`;
/// oemof-thermal calls this factor the quality grade).
pub const DEFAULT_CARNOT_FRACTION: f64 = 0.5;

/// Default cap on the chiller COP: 10, about the best reference COP among the
/// EnergyPlus chiller performance curves (`datasets/Chillers.idf`: 5.4–10.6 for
/// centrifugal chillers); the Carnot model alone would promise more at small lift.
pub const DEFAULT_MAX_COP: f64 = 10.0;

/// Default fixed (no-load) distribution loss as a fraction of design IT power: 1%. UPS
/// no-load losses dominate at low load (Rasmussen, APC White Paper 113); 1% is the
/// order of a modern high-efficiency double-conversion UPS, whose efficiency curve is
/// flat above ~30% load (Avelar, APC White Paper 108). Calibrated with the proportional
/// term to a hyperscale PUE of ~1.10 in a cold climate (see docs/validation.md (Facility section)).
pub const DEFAULT_LOSS_FIXED_FRACTION: f64 = 0.01;

/// Default proportional distribution loss as a fraction of IT power: 3%, a UPS at ~97.5%
/// and PDUs/transformers at ~99.5% (PDUs run at 94–98% in older designs; APC White
/// Papers 108 and 127 report ~96–98% for modern UPSs at typical load).
pub const DEFAULT_LOSS_PROPORTIONAL_FRACTION: f64 = 0.03;

/// Default fixed fan and pump power as a fraction of design IT power: 1% (constant-speed
/// pumps, controls and minimum airflow). Calibrated, with the proportional term, to a
/// free-cooling PUE of ~1.10 at 60% load (Google fleet, see docs/validation.md (Facility section)).
pub const DEFAULT_FAN_PUMP_FIXED_FRACTION: f64 = 0.01;

/// Default fan and pump power proportional to IT power: 4% (variable-speed fans move air
/// in proportion to the heat load). Calibrated as [`DEFAULT_FAN_PUMP_FIXED_FRACTION`].
pub const DEFAULT_FAN_PUMP_PROPORTIONAL_FRACTION: f64 = 0.04;

/// Default standard deviation of the built-in climates' weather noise (°C): day-to-day
/// departures of a few degrees from the normal are typical of mid-latitude sites. A
/// modelling choice, not fitted; 0 gives the smooth normal climate.
pub const DEFAULT_WEATHER_NOISE_SD_C: f64 = 2.0;

/// The `[facility]` table of a scenario. Unknown keys are errors.
///
/// Choose a fixed PUE, or the plant model with exactly one weather source
/// (`climate`, `weather_csv` or `constant_outdoor_c`) and `design_it_kw`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityConfig {
    /// Quick studies: overhead = (PUE − 1) × IT, independent of load and weather.
    /// Must be ≥ 1. The plant keys below (all but `design_it_kw`, which is then
    /// unused) must then be absent.
    pub fixed_pue: Option<f64>,
    /// A built-in climate (see [`climate_names`]): "temperate" (Dublin), "hot-dry"
    /// (Phoenix), "cold" (Stockholm).
    pub climate: Option<String>,
    /// Hourly outdoor dry-bulb temperature, `hour,temp_c` (see the `weather` format docs
    /// in `docs/facility.md`); relative to the scenario file's folder. Cycled when shorter
    /// than the run.
    pub weather_csv: Option<PathBuf>,
    /// Day of the year (1–365) at which t = 0 falls, for `climate`. Default 1.
    pub start_day_of_year: Option<u32>,
    /// A constant outdoor temperature (°C), for what-if studies and tests.
    pub constant_outdoor_c: Option<f64>,
    /// Design (nameplate) IT power of the facility (kW): sizes the fixed overheads.
    /// Required by the plant model; the simulator may fill it from the cluster.
    pub design_it_kw: Option<f64>,
    /// Outdoor temperature at or below which cooling is free (°C).
    /// Default [`DEFAULT_FREE_COOLING_BELOW_C`].
    pub free_cooling_below_c: Option<f64>,
    /// Outdoor temperature at or above which cooling is all mechanical (°C).
    /// Default [`DEFAULT_MECHANICAL_ABOVE_C`].
    pub mechanical_above_c: Option<f64>,
    /// Chiller evaporating temperature (°C). Default [`DEFAULT_EVAPORATOR_C`].
    pub evaporator_c: Option<f64>,
    /// Condensing temperature above outdoor air (K). Default [`DEFAULT_CONDENSER_APPROACH_K`].
    pub condenser_approach_k: Option<f64>,
    /// Chiller COP as a fraction of the Carnot COP, in (0, 1]. Default [`DEFAULT_CARNOT_FRACTION`].
    pub carnot_fraction: Option<f64>,
    /// Upper bound on the chiller COP. Default [`DEFAULT_MAX_COP`].
    pub max_cop: Option<f64>,
    /// No-load distribution loss, fraction of design IT power. Default [`DEFAULT_LOSS_FIXED_FRACTION`].
    pub loss_fixed_fraction: Option<f64>,
    /// Distribution loss per unit of IT power. Default [`DEFAULT_LOSS_PROPORTIONAL_FRACTION`].
    pub loss_proportional_fraction: Option<f64>,
    /// Fixed fan and pump power, fraction of design IT power. Default [`DEFAULT_FAN_PUMP_FIXED_FRACTION`].
    pub fan_pump_fixed_fraction: Option<f64>,
    /// Fan and pump power per unit of IT power. Default [`DEFAULT_FAN_PUMP_PROPORTIONAL_FRACTION`].
    pub fan_pump_proportional_fraction: Option<f64>,
    /// Standard deviation of the built-in climate's weather noise (°C), `climate` only.
    /// Default [`DEFAULT_WEATHER_NOISE_SD_C`].
    pub weather_noise_sd_c: Option<f64>,
}

/// Facility overheads at one instant (kW), and the outdoor temperature behind them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FacilityPower {
    /// Cooling power: fans, pumps and chiller (kW). With a fixed PUE, the whole overhead.
    pub cooling_kw: f64,
    /// Electrical distribution losses: UPS, transformers, PDUs (kW).
    pub losses_kw: f64,
    /// Outdoor dry-bulb temperature (°C); NaN with a fixed PUE and no weather source.
    pub outdoor_c: f64,
}

impl FacilityPower {
    /// Total overhead, cooling plus losses (kW).
    pub fn total_kw(&self) -> f64 {
        self.cooling_kw + self.losses_kw
    }
}

/// Why a facility could not be built. Every variant names the key, or the file and line.
/// None of them can be recovered from inside a run: fix the scenario or the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FacilityError {
    /// A configuration value is missing, out of range or inconsistent with another.
    #[error("facility.{key}: {message}")]
    Config {
        /// The key at fault, under `facility.`.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A weather file could not be opened.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A weather file could not be read, at no particular line.
    #[error("{}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
    /// A row or the header of a weather file is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based line in the file.
        line: u64,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A weather file has no data rows.
    #[error("{}: no weather rows (expected header `hour,temp_c` then one row per hour)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// The plant model's parameters, defaults resolved.
#[derive(Debug, Clone, PartialEq)]
struct Plant {
    design_it_kw: f64,
    free_cooling_below_c: f64,
    mechanical_above_c: f64,
    evaporator_k: f64,
    condenser_approach_k: f64,
    carnot_fraction: f64,
    max_cop: f64,
    loss_fixed_fraction: f64,
    loss_proportional_fraction: f64,
    fan_pump_fixed_fraction: f64,
    fan_pump_proportional_fraction: f64,
}

impl Plant {
    /// Share of the heat load on the chiller at outdoor temperature `t_c`.
    fn mechanical_fraction(&self, t_c: f64) -> f64 {
        if t_c <= self.free_cooling_below_c {
            0.0
        } else if t_c >= self.mechanical_above_c {
            1.0
        } else {
            (t_c - self.free_cooling_below_c) / (self.mechanical_above_c - self.free_cooling_below_c)
        }
    }

    /// Chiller COP at outdoor temperature `t_c`.
    fn cop(&self, t_c: f64) -> f64 {
        let lift_k = t_c + KELVIN_AT_0_C + self.condenser_approach_k - self.evaporator_k;
        if lift_k <= 0.0 {
            return self.max_cop;
        }
        (self.carnot_fraction * self.evaporator_k / lift_k).min(self.max_cop)
    }

    /// Cooling and losses as affine functions of IT power at outdoor temperature `t_c`.
    fn affine(&self, t_c: f64) -> OverheadAffine {
        let d = self.design_it_kw;
        // Chiller power per kW of heat.
        let k = self.mechanical_fraction(t_c) / self.cop(t_c);
        let (lf, lp) = (self.loss_fixed_fraction * d, self.loss_proportional_fraction);
        let (ff, fp) = (
            self.fan_pump_fixed_fraction * d,
            self.fan_pump_proportional_fraction,
        );
        OverheadAffine {
            cooling_kw: ff + k * (lf + ff),
            cooling_per_it: fp + k * (1.0 + lp + fp),
            losses_kw: lf,
            losses_per_it: lp,
        }
    }

    /// (cooling, losses) in kW at IT power `it_kw` ≥ 0 and outdoor temperature `t_c`.
    fn overhead_kw(&self, it_kw: f64, t_c: f64) -> (f64, f64) {
        let losses = self.loss_fixed_fraction * self.design_it_kw + self.loss_proportional_fraction * it_kw;
        let fans =
            self.fan_pump_fixed_fraction * self.design_it_kw + self.fan_pump_proportional_fraction * it_kw;
        let heat = it_kw + losses + fans;
        let chiller = self.mechanical_fraction(t_c) * heat / self.cop(t_c);
        (fans + chiller, losses)
    }
}

/// Cooling and losses as affine functions of IT power, a + b · IT, holding while the
/// weather does (see [`Facility::affine`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverheadAffine {
    /// Cooling at zero IT power (kW).
    pub cooling_kw: f64,
    /// Cooling per kW of IT power.
    pub cooling_per_it: f64,
    /// Losses at zero IT power (kW).
    pub losses_kw: f64,
    /// Losses per kW of IT power.
    pub losses_per_it: f64,
}

/// How overheads are computed.
#[derive(Debug, Clone, PartialEq)]
enum Model {
    /// Overhead = (PUE − 1) · IT; weather, if any, is only reported.
    Fixed { pue: f64, weather: Option<Weather> },
    /// The chiller/economizer plant with distribution losses.
    Plant { plant: Plant, weather: Weather },
}

/// A data center's cooling and power-distribution plant: overheads as a function of IT
/// load and time (through the weather).
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    model: Model,
}

/// A config error for `key`.
fn invalid(key: &str, message: impl Into<String>) -> FacilityError {
    FacilityError::Config {
        key: key.to_string(),
        message: message.into(),
    }
}

/// `value` or `default`, checked finite and within `lo..=hi`.
fn param(value: Option<f64>, default: f64, key: &str, lo: f64, hi: f64) -> Result<f64, FacilityError> {
    let v = value.unwrap_or(default);
    if !v.is_finite() || v < lo || v > hi {
        return Err(invalid(key, format!("{v} is outside {lo}..={hi}")));
    }
    Ok(v)
}

impl Facility {
    /// Build the facility from its config. `base_dir` resolves a relative `weather_csv`
    /// (the scenario file's folder); `seed` is the scenario seed, which drives the
    /// built-in climate's weather noise through the `"facility.weather"` stream.
    pub fn new(cfg: &FacilityConfig, base_dir: &Path, seed: u64) -> Result<Facility, FacilityError> {
        let weather = Self::weather(cfg, base_dir, seed)?;
        let model = match cfg.fixed_pue {
            Some(pue) => {
                if !pue.is_finite() || pue < 1.0 {
                    return Err(invalid("fixed_pue", format!("{pue} must be a finite number ≥ 1")));
                }
                if let Some(key) = Self::plant_keys_set(cfg).first() {
                    return Err(invalid(key, "has no effect with fixed_pue; remove one of them"));
                }
                Model::Fixed { pue, weather }
            }
            None => {
                let weather = weather.ok_or_else(|| {
                    invalid(
                        "climate",
                        "the plant model needs outdoor temperature: set one of climate, weather_csv, \
                         constant_outdoor_c (or set fixed_pue)",
                    )
                })?;
                Model::Plant {
                    plant: Self::plant(cfg)?,
                    weather,
                }
            }
        };
        Ok(Facility { model })
    }

    /// The plant keys present in `cfg`, by name.
    fn plant_keys_set(cfg: &FacilityConfig) -> Vec<&'static str> {
        [
            ("free_cooling_below_c", cfg.free_cooling_below_c),
            ("mechanical_above_c", cfg.mechanical_above_c),
            ("evaporator_c", cfg.evaporator_c),
            ("condenser_approach_k", cfg.condenser_approach_k),
            ("carnot_fraction", cfg.carnot_fraction),
            ("max_cop", cfg.max_cop),
            ("loss_fixed_fraction", cfg.loss_fixed_fraction),
            ("loss_proportional_fraction", cfg.loss_proportional_fraction),
            ("fan_pump_fixed_fraction", cfg.fan_pump_fixed_fraction),
            (
                "fan_pump_proportional_fraction",
                cfg.fan_pump_proportional_fraction,
            ),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|_| k))
        .collect()
    }

    /// Resolve and check the plant parameters.
    fn plant(cfg: &FacilityConfig) -> Result<Plant, FacilityError> {
        let design_it_kw = match cfg.design_it_kw {
            Some(kw) if kw.is_finite() && kw > 0.0 => kw,
            Some(kw) => {
                return Err(invalid(
                    "design_it_kw",
                    format!("{kw} must be a positive number of kW"),
                ))
            }
            None => {
                return Err(invalid(
                    "design_it_kw",
                    "required by the plant model (nameplate IT power in kW; sizes the fixed overheads)",
                ))
            }
        };
        let free = param(
            cfg.free_cooling_below_c,
            DEFAULT_FREE_COOLING_BELOW_C,
            "free_cooling_below_c",
            -90.0,
            60.0,
        )?;
        let mech = param(
            cfg.mechanical_above_c,
            DEFAULT_MECHANICAL_ABOVE_C,
            "mechanical_above_c",
            -90.0,
            60.0,
        )?;
        if mech < free {
            return Err(invalid(
                "mechanical_above_c",
                format!("{mech} °C is below free_cooling_below_c ({free} °C)"),
            ));
        }
        let carnot_fraction = param(
            cfg.carnot_fraction,
            DEFAULT_CARNOT_FRACTION,
            "carnot_fraction",
            0.0,
            1.0,
        )?;
        if carnot_fraction <= 0.0 {
            return Err(invalid("carnot_fraction", "must be greater than 0"));
        }
        let evaporator_c = param(
            cfg.evaporator_c,
            DEFAULT_EVAPORATOR_C,
            "evaporator_c",
            -50.0,
            40.0,
        )?;
        Ok(Plant {
            design_it_kw,
            free_cooling_below_c: free,
            mechanical_above_c: mech,
            evaporator_k: evaporator_c + KELVIN_AT_0_C,
            condenser_approach_k: param(
                cfg.condenser_approach_k,
                DEFAULT_CONDENSER_APPROACH_K,
                "condenser_approach_k",
                0.0,
                50.0,
            )?,
            carnot_fraction,
            max_cop: param(cfg.max_cop, DEFAULT_MAX_COP, "max_cop", 0.1, 100.0)?,
            loss_fixed_fraction: param(
                cfg.loss_fixed_fraction,
                DEFAULT_LOSS_FIXED_FRACTION,
                "loss_fixed_fraction",
                0.0,
                1.0,
            )?,
            loss_proportional_fraction: param(
                cfg.loss_proportional_fraction,
                DEFAULT_LOSS_PROPORTIONAL_FRACTION,
                "loss_proportional_fraction",
                0.0,
                1.0,
            )?,
            fan_pump_fixed_fraction: param(
                cfg.fan_pump_fixed_fraction,
                DEFAULT_FAN_PUMP_FIXED_FRACTION,
                "fan_pump_fixed_fraction",
                0.0,
                1.0,
            )?,
            fan_pump_proportional_fraction: param(
                cfg.fan_pump_proportional_fraction,
                DEFAULT_FAN_PUMP_PROPORTIONAL_FRACTION,
                "fan_pump_proportional_fraction",
                0.0,
                1.0,
            )?,
        })
    }

    /// The weather source, if any; at most one may be configured.
    fn weather(cfg: &FacilityConfig, base_dir: &Path, seed: u64) -> Result<Option<Weather>, FacilityError> {
        let set: Vec<&str> = [
            ("climate", cfg.climate.is_some()),
            ("weather_csv", cfg.weather_csv.is_some()),
            ("constant_outdoor_c", cfg.constant_outdoor_c.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, on)| on.then_some(k))
        .collect();
        if set.len() > 1 {
            return Err(invalid(
                set[1],
                format!("conflicts with {}: give one weather source", set[0]),
            ));
        }
        if cfg.climate.is_none() {
            if cfg.start_day_of_year.is_some() {
                return Err(invalid(
                    "start_day_of_year",
                    "applies to climate only (a weather CSV starts at t = 0)",
                ));
            }
            if cfg.weather_noise_sd_c.is_some() {
                return Err(invalid("weather_noise_sd_c", "applies to climate only"));
            }
        }
        if let Some(name) = &cfg.climate {
            let climate = climate::climate(name).ok_or_else(|| {
                invalid(
                    "climate",
                    format!("unknown climate `{name}`; known: {}", climate_names().join(", ")),
                )
            })?;
            let day = cfg.start_day_of_year.unwrap_or(DEFAULT_START_DAY_OF_YEAR);
            if !(1..=365).contains(&day) {
                return Err(invalid("start_day_of_year", format!("{day} is outside 1..=365")));
            }
            let sd = param(
                cfg.weather_noise_sd_c,
                DEFAULT_WEATHER_NOISE_SD_C,
                "weather_noise_sd_c",
                0.0,
                20.0,
            )?;
            let mut rng = RngStreams::new(seed).stream("facility.weather", 0);
            let temps_c = climate::generate_year(climate, sd, &mut rng);
            return Ok(Some(Weather::Hourly {
                temps_c,
                offset_h: u64::from(day - 1) * 24,
            }));
        }
        if let Some(path) = &cfg.weather_csv {
            let temps_c = read_weather_csv(&base_dir.join(path))?;
            return Ok(Some(Weather::Hourly { temps_c, offset_h: 0 }));
        }
        if let Some(c) = cfg.constant_outdoor_c {
            if !c.is_finite() || !(-90.0..=60.0).contains(&c) {
                return Err(invalid(
                    "constant_outdoor_c",
                    format!("{c} is outside -90..=60 °C"),
                ));
            }
            return Ok(Some(Weather::Constant(c)));
        }
        Ok(None)
    }

    /// Outdoor dry-bulb temperature at `t` (°C); NaN with a fixed PUE and no weather.
    pub fn outdoor_c(&self, t: SimTime) -> f64 {
        match &self.model {
            Model::Fixed { weather: None, .. } => f64::NAN,
            Model::Fixed { weather: Some(w), .. } | Model::Plant { weather: w, .. } => w.temp_c(t.as_ms()),
        }
    }

    /// Cooling and distribution overheads at IT power `it_kw` (kW) and time `t`.
    /// Negative or NaN IT power counts as zero.
    pub fn overhead_kw(&self, it_kw: f64, t: SimTime) -> FacilityPower {
        let it = if it_kw > 0.0 { it_kw } else { 0.0 };
        let outdoor_c = self.outdoor_c(t);
        match &self.model {
            Model::Fixed { pue, .. } => FacilityPower {
                cooling_kw: (pue - 1.0) * it,
                losses_kw: 0.0,
                outdoor_c,
            },
            Model::Plant { plant, .. } => {
                let (cooling_kw, losses_kw) = plant.overhead_kw(it, outdoor_c);
                FacilityPower {
                    cooling_kw,
                    losses_kw,
                    outdoor_c,
                }
            }
        }
    }

    /// The overheads at `t` as affine functions of IT power (≥ 0), valid until
    /// [`Self::next_change_after`]`(t)`: both models are affine in IT power at a given
    /// outdoor temperature, so energy over a stretch of constant weather needs only
    /// ∫ IT power dt, not the overhead at every change of IT power.
    pub fn affine(&self, t: SimTime) -> OverheadAffine {
        match &self.model {
            Model::Fixed { pue, .. } => OverheadAffine {
                cooling_kw: 0.0,
                cooling_per_it: pue - 1.0,
                losses_kw: 0.0,
                losses_per_it: 0.0,
            },
            Model::Plant { plant, .. } => plant.affine(self.outdoor_c(t)),
        }
    }

    /// The first time after `t` at which the overhead at constant IT load may change:
    /// the next whole hour when the weather varies, else [`SimTime::MAX`].
    pub fn next_change_after(&self, t: SimTime) -> SimTime {
        let varies = match &self.model {
            Model::Fixed { .. } => false,
            Model::Plant { weather, .. } => weather.varies(),
        };
        if !varies {
            return SimTime::MAX;
        }
        let next_hour = (t.as_ms() / MS_PER_HOUR).saturating_add(1);
        SimTime(next_hour.saturating_mul(MS_PER_HOUR))
    }

    /// Power usage effectiveness, (IT + cooling + losses) / IT, at `it_kw` and `t`.
    /// With no IT load it is the fixed PUE, or infinity for the plant model (whose fixed
    /// overheads remain).
    pub fn pue(&self, it_kw: f64, t: SimTime) -> f64 {
        if let Model::Fixed { pue, .. } = &self.model {
            return *pue;
        }
        let p = self.overhead_kw(it_kw, t);
        if it_kw > 0.0 {
            (it_kw + p.total_kw()) / it_kw
        } else {
            f64::INFINITY
        }
    }

    /// Design IT power of the plant model (kW); `None` with a fixed PUE.
    pub fn design_it_kw(&self) -> Option<f64> {
        match &self.model {
            Model::Fixed { .. } => None,
            Model::Plant { plant, .. } => Some(plant.design_it_kw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant() -> Plant {
        let cfg = FacilityConfig {
            design_it_kw: Some(1000.0),
            ..Default::default()
        };
        Facility::plant(&cfg).expect("defaults are valid")
    }

    #[test]
    fn cop_worked_example() {
        // 35 °C outdoor: T_cond = 45 °C = 318.15 K, T_evap = 283.15 K, lift 35 K;
        // COP = 0.5 · 283.15 / 35 = 4.045.
        let p = plant();
        assert!((p.cop(35.0) - 0.5 * 283.15 / 35.0).abs() < 1e-12);
        // Small lift: capped at the maximum COP.
        assert_eq!(p.cop(0.0), DEFAULT_MAX_COP);
        assert_eq!(p.cop(-40.0), DEFAULT_MAX_COP);
    }

    #[test]
    fn overhead_worked_example() {
        // IT 600 kW of a 1000 kW design, free cooling:
        // losses = 0.01·1000 + 0.03·600 = 28; fans = 0.01·1000 + 0.04·600 = 34.
        let p = plant();
        let (cooling, losses) = p.overhead_kw(600.0, 10.0);
        assert!((losses - 28.0).abs() < 1e-12);
        assert!((cooling - 34.0).abs() < 1e-12);
        // Fully mechanical at 35 °C: chiller = (600 + 28 + 34) / 4.045.
        let (cooling, _) = p.overhead_kw(600.0, 35.0);
        assert!((cooling - (34.0 + 662.0 / (0.5 * 283.15 / 35.0))).abs() < 1e-9);
        // Half way through the economizer band (22.5 °C): half the chiller share.
        let (cooling, _) = p.overhead_kw(600.0, 22.5);
        assert!((cooling - (34.0 + 0.5 * 662.0 / p.cop(22.5))).abs() < 1e-9);
    }
}
