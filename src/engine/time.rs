use std::fmt;
use std::ops::{Add, Sub};

/// A point or span of simulated time, in whole milliseconds since the start of the run.
///
/// Integer time keeps event ordering exact and outputs byte-identical across machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Time zero: the start of the simulation.
    pub const ZERO: SimTime = SimTime(0);
    /// A time later than any event: used for "never" and open-ended intervals.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Milliseconds in one second.
    pub const MS_PER_S: u64 = 1_000;

    /// Whole seconds to time.
    pub const fn from_secs(s: u64) -> Self {
        SimTime(s * Self::MS_PER_S)
    }

    /// The latest time dcsim represents: 1,000 years (365.25-day years) after time
    /// zero, in milliseconds.
    ///
    /// Every time read from a trace, a scenario or a transform must lie in
    /// `0..=MAX_HORIZON`; [`SimTime::try_from_secs_f64`] and [`SimTime::try_from_ms`]
    /// enforce it. Why this bound: it is far beyond any real trace (the longest public
    /// GPU traces span months; wall-clock times since 1970 are under 60 years), a
    /// submit time plus a duration (≤ 2,000 years) can never overflow `u64`
    /// milliseconds (584 million years), and every millisecond up to it is exact in an
    /// `f64` (2⁵³ ms ≈ 285,000 years), so reports in seconds do not round.
    pub const MAX_HORIZON: SimTime = SimTime(1_000 * 36_525 * 86_400 * Self::MS_PER_S / 100);

    /// Fractional seconds to time, rounded to the nearest millisecond: the one checked
    /// conversion from seconds. Negative, non-finite or over-[`SimTime::MAX_HORIZON`]
    /// input is an error (the caller adds the key or `file:line`), never a clamp.
    pub fn try_from_secs_f64(s: f64) -> Result<SimTime, TimeError> {
        if !s.is_finite() {
            return Err(TimeError::NotFinite(s));
        }
        if s < 0.0 {
            return Err(TimeError::Negative(s));
        }
        let ms = (s * Self::MS_PER_S as f64).round();
        if ms > Self::MAX_HORIZON.0 as f64 {
            return Err(TimeError::TooLarge(s));
        }
        Ok(SimTime(ms as u64))
    }

    /// Whole milliseconds to time, or [`TimeError::TooLarge`] past
    /// [`SimTime::MAX_HORIZON`].
    pub fn try_from_ms(ms: u64) -> Result<SimTime, TimeError> {
        if ms > Self::MAX_HORIZON.0 {
            Err(TimeError::TooLarge(ms as f64 / Self::MS_PER_S as f64))
        } else {
            Ok(SimTime(ms))
        }
    }

    /// Milliseconds since time zero.
    pub const fn as_ms(self) -> u64 {
        self.0
    }

    /// Seconds since time zero, as a float (for reports).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::MS_PER_S as f64
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_sub(self, earlier: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(earlier.0))
    }
}

/// Why a number of seconds is not a [`SimTime`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum TimeError {
    /// NaN or infinite.
    #[error("expected a finite number of seconds, found {0}")]
    NotFinite(f64),
    /// Below zero (times and durations are never negative).
    #[error("expected a number of seconds ≥ 0, found {0}")]
    Negative(f64),
    /// Past [`SimTime::MAX_HORIZON`].
    #[error(
        "{} s is out of range: times must lie in 0..={max} s (1,000 years, the longest horizon dcsim simulates)",
        short(.0),
        max = SimTime::MAX_HORIZON.0 / SimTime::MS_PER_S
    )]
    TooLarge(f64),
}

/// `x` as written, or in scientific notation when it would take more than 15 digits
/// (`1e300`, not three hundred zeros).
fn short(x: &f64) -> String {
    if x.abs() >= 1e15 {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

impl Add for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl Sub for SimTime {
    type Output = SimTime;
    fn sub(self, rhs: SimTime) -> SimTime {
        self.saturating_sub(rhs)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_to_milliseconds() {
        assert_eq!(SimTime::try_from_secs_f64(1.2345), Ok(SimTime(1235)));
        assert_eq!(SimTime::try_from_secs_f64(0.0), Ok(SimTime::ZERO));
        assert_eq!(SimTime::try_from_secs_f64(-0.0), Ok(SimTime::ZERO));
        assert_eq!(
            SimTime::try_from_secs_f64(-0.0001),
            Err(TimeError::Negative(-0.0001))
        );
        assert_eq!(SimTime::from_secs(7).as_secs_f64(), 7.0);
        assert_eq!(SimTime(5) - SimTime(9), SimTime::ZERO);
    }

    #[test]
    fn out_of_range_seconds_are_errors_not_clamps() {
        // Before the checked constructor, -3 became 0, NaN became 0 and 1e300 became
        // u64::MAX ms (584 million years).
        assert_eq!(SimTime::try_from_secs_f64(-3.0), Err(TimeError::Negative(-3.0)));
        assert!(matches!(
            SimTime::try_from_secs_f64(f64::NAN),
            Err(TimeError::NotFinite(_))
        ));
        assert!(matches!(
            SimTime::try_from_secs_f64(f64::INFINITY),
            Err(TimeError::NotFinite(_))
        ));
        assert_eq!(SimTime::try_from_secs_f64(1e300), Err(TimeError::TooLarge(1e300)));
        let msg = TimeError::TooLarge(1e300).to_string();
        assert!(
            msg.starts_with("1e300 s is out of range") && msg.contains("0..=31557600000 s"),
            "{msg}"
        );
    }

    #[test]
    fn the_horizon_is_a_thousand_years_and_both_ends_are_inclusive() {
        // 1,000 × 365.25 days × 86,400 s = 31,557,600,000 s.
        assert_eq!(SimTime::MAX_HORIZON.as_ms(), 31_557_600_000_000);
        assert_eq!(
            SimTime::try_from_secs_f64(31_557_600_000.0),
            Ok(SimTime::MAX_HORIZON)
        );
        assert!(SimTime::try_from_secs_f64(31_557_600_000.001).is_err());
        assert_eq!(SimTime::try_from_ms(31_557_600_000_000), Ok(SimTime::MAX_HORIZON));
        assert!(SimTime::try_from_ms(31_557_600_000_001).is_err());
        // Two horizons add without overflow or saturation.
        let two = SimTime::MAX_HORIZON + SimTime::MAX_HORIZON;
        assert_eq!(two.as_ms(), 2 * SimTime::MAX_HORIZON.as_ms());
        // Every millisecond up to the horizon is exact in f64.
        assert!(SimTime::MAX_HORIZON.as_ms() < 1 << 53);
    }
}
