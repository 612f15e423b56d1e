//! Power of every level of the tree over fixed intervals (`power_levels.csv`): the mean
//! and peak of the feed, each hall, row and rack per interval. Breaker sizing and demand
//! charges need per-rack and per-row peaks; a row per change point for every rack would
//! be as long as the run's events times its racks, so levels are summarised per interval.

use crate::engine::SimTime;

use super::tree::{Level, PowerTree};

/// One tree node over one interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelRow {
    /// Start of the interval (the run's first change point for the first one).
    pub start: SimTime,
    /// End of the interval (the run's end for the last one).
    pub end: SimTime,
    /// Tree node (index into [`PowerLevels::names`]).
    pub node: u32,
    /// Time-weighted mean power over the interval, W.
    pub mean_w: f64,
    /// Highest power held for a positive time within the interval, W.
    pub peak_w: f64,
}

/// The `power_levels.csv` table: every tree node over every interval.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerLevels {
    /// Interval length.
    pub interval: SimTime,
    /// Name of each tree node (feed, halls, rows, racks).
    pub names: Vec<String>,
    /// Level of each tree node.
    pub level: Vec<Level>,
    /// Cap of each tree node, W (infinite: none); a rack's is the lower of its
    /// electrical cap and its cooling capacity.
    pub cap_w: Vec<f64>,
    /// Cooling capacity of each rack, W (infinite: none, and for other levels).
    pub cooling_w: Vec<f64>,
    /// Each interval's (start, end).
    pub intervals: Vec<(SimTime, SimTime)>,
    /// Mean and peak power, W, of every tree node in every interval, interval-major
    /// (`intervals.len() × names.len()` pairs).
    pub mean_peak_w: Vec<(f64, f64)>,
}

impl PowerLevels {
    /// The table's rows, by interval then tree node.
    pub fn rows(&self) -> impl Iterator<Item = LevelRow> + '_ {
        let n = self.names.len();
        self.mean_peak_w
            .iter()
            .enumerate()
            .map(move |(i, &(mean_w, peak_w))| {
                let (start, end) = self.intervals[i / n];
                LevelRow {
                    start,
                    end,
                    node: (i % n) as u32,
                    mean_w,
                    peak_w,
                }
            })
    }
}

/// Running interval statistics of every tree node, updated at each change of its power.
#[derive(Debug, Clone)]
pub struct LevelStats {
    interval: SimTime,
    /// End of the current interval (`SimTime::MAX` before the first change point).
    pub next: SimTime,
    start: SimTime,
    /// Energy so far in the interval, W·ms (seconds would cost a division per update).
    energy_wms: Vec<f64>,
    since: Vec<SimTime>,
    peak_w: Vec<f64>,
    intervals: Vec<(SimTime, SimTime)>,
    mean_peak_w: Vec<(f64, f64)>,
}

impl LevelStats {
    /// Statistics for `nodes` tree nodes over intervals of `interval` (≥ 1 ms), aligned
    /// to multiples of it from t = 0.
    pub fn new(nodes: usize, interval: SimTime) -> LevelStats {
        LevelStats {
            interval: interval.max(SimTime(1)),
            next: SimTime::MAX,
            start: SimTime::ZERO,
            energy_wms: vec![0.0; nodes],
            since: vec![SimTime::ZERO; nodes],
            peak_w: vec![f64::NEG_INFINITY; nodes],
            intervals: Vec::new(),
            mean_peak_w: Vec::new(),
        }
    }

    /// The first change point: statistics start here.
    pub fn begin(&mut self, t: SimTime) {
        self.start = t;
        self.since.fill(t);
        self.next = self.boundary_after(t);
    }

    fn boundary_after(&self, t: SimTime) -> SimTime {
        let k = t.as_ms() / self.interval.as_ms() + 1;
        SimTime(k.saturating_mul(self.interval.as_ms()))
    }

    /// Node `i`'s power `level_w[i]` changes by `delta` at `now`.
    #[inline]
    pub fn update(&mut self, i: u32, now: SimTime, level_w: &mut [f64], delta: f64) {
        let k = i as usize;
        let w = level_w[k];
        let held = now.saturating_sub(self.since[k]);
        if held > SimTime::ZERO {
            self.energy_wms[k] += w * held.as_ms() as i64 as f64;
            self.peak_w[k] = self.peak_w[k].max(w);
            self.since[k] = now;
        }
        level_w[k] = w + delta;
    }

    /// Closes the current interval at `t` (a boundary or the run's end), recording a
    /// row per node if it covered any time, and opens the next one.
    pub fn close(&mut self, t: SimTime, level_w: &[f64]) {
        let span = t.saturating_sub(self.start);
        let covered = span > SimTime::ZERO;
        if covered {
            self.intervals.push((self.start, t));
        }
        let per_ms = 1.0 / span.as_ms().max(1) as i64 as f64;
        let nodes = self
            .energy_wms
            .iter_mut()
            .zip(&mut self.peak_w)
            .zip(&mut self.since)
            .zip(level_w);
        for (((energy, peak), since), &w) in nodes {
            let held = t.saturating_sub(*since);
            if held > SimTime::ZERO {
                *energy += w * held.as_ms() as i64 as f64;
                *peak = peak.max(w);
            }
            if covered {
                self.mean_peak_w.push((*energy * per_ms, *peak));
            }
            *energy = 0.0;
            *peak = f64::NEG_INFINITY;
            *since = t;
        }
        self.start = t;
        self.next = self.boundary_after(t);
    }

    /// The finished table.
    pub fn into_output(self, tree: &PowerTree) -> PowerLevels {
        PowerLevels {
            interval: self.interval,
            names: tree.names.clone(),
            level: (0..tree.len() as u32).map(|i| tree.level(i)).collect(),
            cap_w: tree.cap_w.clone(),
            cooling_w: tree.cooling_w.clone(),
            intervals: self.intervals,
            mean_peak_w: self.mean_peak_w,
        }
    }
}
