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

    /// Fractional seconds to time, rounded to the nearest millisecond; negative or
    /// non-finite input saturates at zero or [`SimTime::MAX`].
    pub fn from_secs_f64(s: f64) -> Self {
        let ms = (s * Self::MS_PER_S as f64).round();
        if ms.is_nan() || ms <= 0.0 {
            SimTime::ZERO
        } else if ms >= u64::MAX as f64 {
            SimTime::MAX
        } else {
            SimTime(ms as u64)
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
        assert_eq!(SimTime::from_secs_f64(1.2345), SimTime(1235));
        assert_eq!(SimTime::from_secs_f64(-3.0), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(f64::NAN), SimTime::ZERO);
        assert_eq!(SimTime::from_secs(7).as_secs_f64(), 7.0);
        assert_eq!(SimTime(5) - SimTime(9), SimTime::ZERO);
    }
}
