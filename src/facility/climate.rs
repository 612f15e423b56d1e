//! Built-in climates: monthly normals of three named sites and the generator that turns
//! them into an hourly outdoor dry-bulb temperature series for one (non-leap) year.
//!
//! The hourly temperature is
//!
//! ```text
//! T(h) = S(h) + (R_m / 2) · cos(2π (hour_of_day − 15) / 24) + N(h)
//! ```
//!
//! - `S(h)`: the seasonal curve, piecewise linear between mid-month points whose values
//!   are adjusted so that the curve's mean over each calendar month equals that month's
//!   normal mean (a plain interpolation through the normals would shave up to ~0.5 °C off
//!   the warmest and coldest months).
//! - `R_m`: the month's normal diurnal range (mean daily maximum − mean daily minimum);
//!   the daily maximum falls at 15:00, a common mid-afternoon timing of the daily peak.
//!   Over whole days the 24 hourly cosine samples sum to zero, so the diurnal term leaves
//!   monthly means unchanged.
//! - `N(h)`: weather noise, an hourly AR(1) process (see [`AR1_RHO_PER_HOUR`]) drawn from
//!   the `"facility.weather"` random stream, with its mean over each calendar month
//!   removed so that the generated monthly means equal the normals exactly: the normals
//!   are the climate, the noise only moves warm and cold spells around within a month.

use rand::Rng;
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, StandardNormal};

/// Days in each month of the 365-day year the generator uses (no leap day).
pub const DAYS_IN_MONTH: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Hours in the generated year (365 days).
pub const HOURS_PER_YEAR: usize = 365 * 24;

/// Hour-to-hour correlation of the weather noise. 0.97 per hour gives an e-folding time
/// of about 33 h, the 1–3 day persistence of synoptic warm and cold spells. A modelling
/// choice, not fitted to a station record.
pub const AR1_RHO_PER_HOUR: f64 = 0.97;

/// Hour of the day (local) at which the diurnal cycle peaks: the daily maximum of air
/// temperature typically occurs in mid-afternoon (about 14–16 h local time).
const DIURNAL_PEAK_HOUR: f64 = 15.0;

/// A named climate: monthly normal mean daily maximum and minimum, with their source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Climate {
    /// The name used in `facility.climate`.
    pub name: &'static str,
    /// The site the normals describe.
    pub site: &'static str,
    /// Where the numbers come from.
    pub source: &'static str,
    /// Normal mean daily maximum temperature of each month, January first (°C).
    pub daily_max_c: [f64; 12],
    /// Normal mean daily minimum temperature of each month, January first (°C).
    pub daily_min_c: [f64; 12],
}

impl Climate {
    /// Normal mean temperature of each month, (max + min) / 2 (°C).
    pub fn monthly_mean_c(&self) -> [f64; 12] {
        std::array::from_fn(|m| (self.daily_max_c[m] + self.daily_min_c[m]) / 2.0)
    }

    /// Normal diurnal range of each month, max − min (K).
    pub fn diurnal_range_k(&self) -> [f64; 12] {
        std::array::from_fn(|m| self.daily_max_c[m] - self.daily_min_c[m])
    }
}

/// °F to °C for the Phoenix table, which NOAA publishes in °F.
const fn f_to_c(f: f64) -> f64 {
    (f - 32.0) * 5.0 / 9.0
}

/// The built-in climates.
pub const CLIMATES: [Climate; 3] = [
    Climate {
        name: "temperate",
        site: "Dublin Airport, Ireland (Köppen Cfb)",
        source: "Met Éireann 1981–2010 averages for Dublin Airport, mean daily maximum and \
                 minimum (recalled from the Met Éireann table, not re-checked: see \
                 docs/facility.md)",
        daily_max_c: [
            8.1, 8.3, 10.1, 12.3, 15.0, 17.9, 19.7, 19.4, 17.3, 14.0, 10.5, 8.4,
        ],
        daily_min_c: [2.3, 2.3, 3.1, 4.4, 6.8, 9.5, 11.6, 11.3, 9.7, 7.2, 4.4, 2.9],
    },
    Climate {
        name: "hot-dry",
        site: "Phoenix Sky Harbor, Arizona, USA (Köppen BWh)",
        source: "NOAA NCEI 1991–2020 normals for Phoenix Sky Harbor, mean daily maximum and \
                 minimum in °F as tabulated (rounded to 1 °F) in the Wikipedia article \
                 'Climate of Phoenix'",
        daily_max_c: [
            f_to_c(68.0),
            f_to_c(71.0),
            f_to_c(78.0),
            f_to_c(86.0),
            f_to_c(95.0),
            f_to_c(104.0),
            f_to_c(107.0),
            f_to_c(105.0),
            f_to_c(100.0),
            f_to_c(89.0),
            f_to_c(77.0),
            f_to_c(66.0),
        ],
        daily_min_c: [
            f_to_c(46.0),
            f_to_c(49.0),
            f_to_c(55.0),
            f_to_c(61.0),
            f_to_c(70.0),
            f_to_c(79.0),
            f_to_c(85.0),
            f_to_c(84.0),
            f_to_c(78.0),
            f_to_c(66.0),
            f_to_c(54.0),
            f_to_c(45.0),
        ],
    },
    Climate {
        name: "cold",
        site: "Stockholm, Sweden (Köppen Dfb)",
        source: "SMHI 1961–1990 normals for Stockholm, mean daily maximum and minimum °C as \
                 tabulated on journeum.com 'Stockholm: About'",
        daily_max_c: [-0.7, -0.6, 3.0, 8.6, 15.7, 20.7, 21.9, 20.4, 15.1, 9.9, 4.5, 1.1],
        daily_min_c: [-5.0, -5.3, -2.7, 1.1, 6.3, 11.3, 13.4, 12.7, 9.0, 5.3, 0.7, -3.2],
    },
];

/// The built-in climate called `name`, if any.
pub fn climate(name: &str) -> Option<&'static Climate> {
    CLIMATES.iter().find(|c| c.name == name)
}

/// The names of the built-in climates, in the order [`CLIMATES`] lists them.
pub fn climate_names() -> Vec<&'static str> {
    CLIMATES.iter().map(|c| c.name).collect()
}

/// First hour of each month in the 365-day year, plus the year's length at the end.
fn month_starts_h() -> [usize; 13] {
    let mut starts = [0usize; 13];
    for m in 0..12 {
        starts[m + 1] = starts[m] + DAYS_IN_MONTH[m] as usize * 24;
    }
    starts
}

/// The month (0 = January) containing hour `h` of the year.
pub fn month_of_hour(h: usize) -> usize {
    let starts = month_starts_h();
    (0..12).rev().find(|&m| h >= starts[m]).unwrap_or(0)
}

/// Periodic piecewise-linear curve through `(mid-month hour, value)` points, sampled at
/// the middle of every hour of the year.
fn seasonal_curve(mid_values: &[f64; 12]) -> Vec<f64> {
    let starts = month_starts_h();
    let year = HOURS_PER_YEAR as f64;
    let mids: Vec<f64> = (0..12)
        .map(|m| (starts[m] + starts[m + 1]) as f64 / 2.0)
        .collect();
    (0..HOURS_PER_YEAR)
        .map(|h| {
            let x = h as f64 + 0.5;
            // The knot at or before x (December's, shifted back a year, before mid-January).
            let (x0, v0, x1, v1) = match mids.iter().rposition(|&mid| mid <= x) {
                Some(11) => (mids[11], mid_values[11], mids[0] + year, mid_values[0]),
                Some(i) => (mids[i], mid_values[i], mids[i + 1], mid_values[i + 1]),
                None => (mids[11] - year, mid_values[11], mids[0], mid_values[0]),
            };
            v0 + (v1 - v0) * (x - x0) / (x1 - x0)
        })
        .collect()
}

/// Mean of `series` over each calendar month.
pub fn monthly_means(series: &[f64]) -> [f64; 12] {
    let starts = month_starts_h();
    let mut means = [0.0; 12];
    for (m, mean) in means.iter_mut().enumerate() {
        let slice = &series[starts[m]..starts[m + 1]];
        *mean = slice.iter().sum::<f64>() / slice.len() as f64;
    }
    means
}

/// The seasonal curve whose monthly means equal `normals`: start from the normals as
/// mid-month values and correct each by the residual of its month until the residuals
/// vanish (the month-mean operator is diagonally dominant, so this converges quickly).
fn mean_preserving_seasonal(normals: &[f64; 12]) -> Vec<f64> {
    let mut knots = *normals;
    for _ in 0..50 {
        let means = monthly_means(&seasonal_curve(&knots));
        let mut worst = 0.0f64;
        for m in 0..12 {
            let residual = normals[m] - means[m];
            knots[m] += residual;
            worst = worst.max(residual.abs());
        }
        if worst < 1e-9 {
            break;
        }
    }
    seasonal_curve(&knots)
}

/// One year of hourly outdoor temperature (°C) for `climate`, hour 0 = 1 January 00:00.
/// `noise_sd_c` is the stationary standard deviation of the weather noise; the noise is
/// drawn from `rng`.
pub fn generate_year(climate: &Climate, noise_sd_c: f64, rng: &mut ChaCha12Rng) -> Vec<f64> {
    let mut temps = mean_preserving_seasonal(&climate.monthly_mean_c());
    let range_k = climate.diurnal_range_k();
    // AR(1) with stationary sd `noise_sd_c`: x' = ρ x + sqrt(1 − ρ²) σ ε; start from the
    // stationary distribution so January is not quieter than July.
    let innovation_sd = noise_sd_c * (1.0 - AR1_RHO_PER_HOUR * AR1_RHO_PER_HOUR).sqrt();
    let first: f64 = StandardNormal.sample(rng);
    let mut x = noise_sd_c * first;
    let mut noise = Vec::with_capacity(HOURS_PER_YEAR);
    for _ in 0..HOURS_PER_YEAR {
        noise.push(x);
        let e: f64 = rng.sample(StandardNormal);
        x = AR1_RHO_PER_HOUR * x + innovation_sd * e;
    }
    let noise_means = monthly_means(&noise);
    for (h, t) in temps.iter_mut().enumerate() {
        let m = month_of_hour(h);
        let hour_of_day = (h % 24) as f64;
        let diurnal =
            range_k[m] / 2.0 * (2.0 * std::f64::consts::PI * (hour_of_day - DIURNAL_PEAK_HOUR) / 24.0).cos();
        *t += diurnal + noise[h] - noise_means[m];
    }
    temps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    #[test]
    fn month_boundaries() {
        assert_eq!(month_of_hour(0), 0);
        assert_eq!(month_of_hour(31 * 24 - 1), 0);
        assert_eq!(month_of_hour(31 * 24), 1);
        assert_eq!(month_of_hour(HOURS_PER_YEAR - 1), 11);
        assert_eq!(month_starts_h()[12], HOURS_PER_YEAR);
    }

    #[test]
    fn seasonal_curve_keeps_monthly_means() {
        for c in &CLIMATES {
            let means = monthly_means(&mean_preserving_seasonal(&c.monthly_mean_c()));
            for (m, (got, want)) in means.iter().zip(c.monthly_mean_c()).enumerate() {
                assert!((got - want).abs() < 1e-6, "{} month {m}", c.name);
            }
        }
    }

    #[test]
    fn diurnal_cycle_peaks_mid_afternoon() {
        let c = climate("hot-dry").expect("built in");
        let mut rng = RngStreams::new(1).stream("facility.weather", 0);
        let year = generate_year(c, 0.0, &mut rng);
        // Without noise, 15:00 on 1 July is the day's warmest hour and 03:00 the coldest.
        let day = (181 * 24)..(182 * 24);
        let warmest = day
            .clone()
            .max_by(|&a, &b| year[a].total_cmp(&year[b]))
            .expect("24 hours");
        let coldest = day
            .min_by(|&a, &b| year[a].total_cmp(&year[b]))
            .expect("24 hours");
        assert_eq!(warmest % 24, 15);
        assert_eq!(coldest % 24, 3);
    }

    #[test]
    fn phoenix_conversion() {
        // July: (107 + 85) / 2 = 96 °F = 35.56 °C.
        let c = climate("hot-dry").expect("built in");
        assert!((c.monthly_mean_c()[6] - 35.5556).abs() < 1e-3);
    }
}
