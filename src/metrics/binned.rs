//! The cluster-state series binned into fixed intervals: per interval, each quantity's
//! minimum, time-weighted mean and maximum, so a year's series has a readable size
//! (8,760 rows at one hour) whatever the number of jobs.

use crate::engine::SimTime;

/// Quantities every row holds before the per-model ones: busy thousandths of a GPU,
/// queued jobs, running jobs, fragmented thousandths of a GPU.
pub const BASE_QUANTITIES: usize = 4;

/// Min, max and ∫ dt of one quantity over one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Smallest value held for a positive time.
    pub min: u64,
    /// Largest value held for a positive time.
    pub max: u64,
    /// ∫ value dt over the covered part of the interval, in value·milliseconds.
    pub integral: u128,
}

/// Rows of fixed length aligned to time 0 (interval k covers `[k·I, (k+1)·I)`), cut to
/// the part the run covers: the first row starts at the first change point, the last
/// ends at the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinnedSeries {
    /// The interval length.
    pub interval: SimTime,
    /// Number of GPU models.
    pub models: usize,
    /// Whether fragmentation was measured (else its columns are left out).
    pub frag_tracked: bool,
    /// Start of each row (its interval's start, or the series' first time).
    pub start: Vec<SimTime>,
    /// End of each row (its interval's end, or the series' last time).
    pub end: Vec<SimTime>,
    /// `BASE_QUANTITIES + models` stats per row: busy, queued, running, frag, then busy
    /// per model.
    pub stats: Vec<Stat>,
}

impl BinnedSeries {
    /// An empty series of `interval`-long rows (`interval` > 0).
    pub fn new(interval: SimTime, models: usize, frag_tracked: bool) -> Self {
        BinnedSeries {
            interval,
            models,
            frag_tracked,
            start: Vec::new(),
            end: Vec::new(),
            stats: Vec::new(),
        }
    }

    /// Stats per row.
    pub fn width(&self) -> usize {
        BASE_QUANTITIES + self.models
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.start.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
    }

    /// Row `i`'s stats.
    pub fn row(&self, i: usize) -> &[Stat] {
        let w = self.width();
        &self.stats[i * w..(i + 1) * w]
    }

    /// The mean of a stat over row `i`'s span (0 for an empty span).
    pub fn mean(&self, i: usize, s: &Stat) -> f64 {
        let ms = (self.end[i] - self.start[i]).as_ms();
        if ms == 0 {
            0.0
        } else {
            s.integral as f64 / ms as f64
        }
    }

    /// Folds values held over `[a, b)` into the rows it crosses.
    pub fn add(&mut self, mut a: SimTime, b: SimTime, base: [u64; BASE_QUANTITIES], by_model: &[u64]) {
        let step = self.interval.as_ms();
        while a < b {
            let bin_start = SimTime(a.as_ms() / step * step);
            let bin_end = SimTime(bin_start.as_ms().saturating_add(step));
            let until = b.min(bin_end);
            let w = self.width();
            let fresh = self.start.last().is_none_or(|&s| s < bin_start);
            if fresh {
                self.start.push(a);
                self.end.push(a);
                self.stats.extend(std::iter::repeat_n(
                    Stat {
                        min: u64::MAX,
                        max: 0,
                        integral: 0,
                    },
                    w,
                ));
            }
            let i = self.len() - 1;
            self.end[i] = until;
            let ms = u128::from((until - a).as_ms());
            let row = &mut self.stats[i * w..(i + 1) * w];
            for (s, &v) in row.iter_mut().zip(base.iter().chain(by_model)) {
                s.min = s.min.min(v);
                s.max = s.max.max(v);
                s.integral += u128::from(v) * ms;
            }
            a = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-worked: interval 10 ms; busy 2,000 over [5, 12), 0 over [12, 30), 1,000 over
    /// [30, 35). Row [5, 10): 2,000 flat. Row [10, 20): 2,000 for 2 ms then 0 for 8 ms:
    /// min 0, max 2,000, mean 4,000/10 = 400. Row [20, 30): 0. Row [30, 35): 1,000.
    #[test]
    fn bins_split_stretches_at_interval_edges() {
        let mut b = BinnedSeries::new(SimTime(10), 0, false);
        b.add(SimTime(5), SimTime(12), [2000, 0, 1, 0], &[]);
        b.add(SimTime(12), SimTime(30), [0, 0, 0, 0], &[]);
        b.add(SimTime(30), SimTime(35), [1000, 3, 1, 0], &[]);
        assert_eq!(b.start, [5, 10, 20, 30].map(SimTime));
        assert_eq!(b.end, [10, 20, 30, 35].map(SimTime));
        let busy = |i: usize| b.row(i)[0];
        assert_eq!((busy(0).min, busy(0).max), (2000, 2000));
        assert_eq!((busy(1).min, busy(1).max), (0, 2000));
        assert_eq!(b.mean(1, &busy(1)), 400.0);
        assert_eq!((busy(2).min, busy(2).max, busy(2).integral), (0, 0, 0));
        assert_eq!(b.mean(3, &busy(3)), 1000.0);
        assert_eq!(b.row(3)[1].max, 3);
    }
}
