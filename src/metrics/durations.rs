//! A compact column of durations: what the summary keeps per job for its percentiles.
//!
//! The summary's percentiles are exact, so it keeps one figure per job that ran. Job
//! times are whole milliseconds ([`SimTime`]): four bytes hold up to 49.7 days, which
//! covers nearly every wait and job in real traces, so a column stores `u32` and widens
//! itself to `u64` the first time a longer value arrives. Seconds are derived when the
//! summary is computed, by the same conversion as [`SimTime::as_secs_f64`], so the
//! figures are the ones a column of `f64` seconds would give, at a third to a half of
//! the memory (issue 17).

use crate::engine::SimTime;

/// Durations in milliseconds, in the order pushed.
#[derive(Debug, Clone)]
pub enum Durations {
    /// Every value so far fits in 32 bits.
    Narrow(Vec<u32>),
    /// At least one value needed 64 bits.
    Wide(Vec<u64>),
}

impl Durations {
    /// An empty column with room for `n` values.
    pub fn with_capacity(n: usize) -> Self {
        Durations::Narrow(Vec::with_capacity(n))
    }

    /// Appends `t`.
    pub fn push(&mut self, t: SimTime) {
        let ms = t.as_ms();
        match self {
            Durations::Narrow(v) => match u32::try_from(ms) {
                Ok(x) => v.push(x),
                Err(_) => {
                    let mut wide: Vec<u64> = Vec::with_capacity(v.capacity().max(v.len() + 1));
                    wide.extend(v.iter().map(|&x| u64::from(x)));
                    wide.push(ms);
                    *self = Durations::Wide(wide);
                }
            },
            Durations::Wide(v) => v.push(ms),
        }
    }

    /// Values stored.
    pub fn len(&self) -> usize {
        match self {
            Durations::Narrow(v) => v.len(),
            Durations::Wide(v) => v.len(),
        }
    }

    /// Whether no value is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th value.
    pub fn get(&self, i: usize) -> SimTime {
        SimTime(match self {
            Durations::Narrow(v) => u64::from(v[i]),
            Durations::Wide(v) => v[i],
        })
    }

    /// The values in seconds, in the order pushed.
    pub fn secs(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.get(i).as_secs_f64()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values on both sides of the 32-bit limit come back exactly and in order, and the
    /// column widens only when it must.
    #[test]
    fn widens_on_the_first_long_value_and_keeps_every_value() {
        let mut d = Durations::with_capacity(2);
        let short = [0, 1, 999, u64::from(u32::MAX)];
        for &ms in &short {
            d.push(SimTime(ms));
        }
        assert!(matches!(d, Durations::Narrow(_)));
        d.push(SimTime(u64::from(u32::MAX) + 1));
        d.push(SimTime(7));
        assert!(matches!(d, Durations::Wide(_)));
        let got: Vec<u64> = (0..d.len()).map(|i| d.get(i).as_ms()).collect();
        assert_eq!(got, [0, 1, 999, 4_294_967_295, 4_294_967_296, 7]);
        assert_eq!(d.secs()[2], 0.999);
    }
}
