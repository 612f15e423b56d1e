//! An hourly signal a queue policy may follow: the electricity price or the grid's
//! carbon intensity in each hour of simulated time, with the local day each hour falls
//! in, so that a policy can hold deferrable work for the cheapest or cleanest hours of
//! each day. The scenario builds it from `[economics]`; the scheduler knows nothing of
//! tariffs or files.

/// Which series a policy follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// The electricity price (`economics.electricity`).
    Price,
    /// The grid's carbon intensity (`economics.carbon`).
    Carbon,
}

impl SignalKind {
    /// The name in `[scheduler.params]`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Price => "price",
            SignalKind::Carbon => "carbon",
        }
    }
}

/// The signal in hour `k` of simulated time (`[k h, (k + 1) h)`), as far as the series
/// reaches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HourlySignal {
    /// Value at the start of each hour (price per kWh or gCO₂/kWh); NaN where the series
    /// has none.
    pub values: Vec<f64>,
    /// The local day (any increasing day number) each hour belongs to.
    pub days: Vec<i64>,
}

impl HourlySignal {
    /// The hours to run deferrable work in: in each local day, the `n` hours with the
    /// lowest values (ties: the earlier hour; hours without a value last). Day-ahead
    /// prices are published the day before, so a policy may know the day's ranking.
    pub fn lowest_per_day(&self, n: usize) -> Vec<bool> {
        let mut open = vec![false; self.values.len()];
        let mut a = 0;
        while a < self.values.len() {
            let mut b = a;
            while b < self.values.len() && self.days[b] == self.days[a] {
                b += 1;
            }
            let mut hours: Vec<usize> = (a..b).collect();
            let key = |k: &usize| {
                let v = self.values[*k];
                if v.is_nan() {
                    f64::INFINITY
                } else {
                    v
                }
            };
            hours.sort_by(|x, y| key(x).total_cmp(&key(y)).then(x.cmp(y)));
            for &k in hours.iter().take(n) {
                open[k] = true;
            }
            a = b;
        }
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_hours_of_each_day_by_hand() {
        let s = HourlySignal {
            values: vec![5.0, 1.0, 3.0, 1.0, 9.0, f64::NAN, 2.0],
            days: vec![0, 0, 0, 0, 1, 1, 1],
        };
        // Day 0: 1.0 (hour 1) and 1.0 (hour 3, a tie broken by time); day 1: 2.0, 9.0.
        assert_eq!(s.lowest_per_day(2), [false, true, false, true, true, false, true]);
    }
}
