//! What a run keeps of what it measures, and the streaming figures it always keeps.
//!
//! A run can keep every job's record and every change point of the cluster state, or
//! much less: [`OutputLevel`] says which tables the caller will write, and a run keeps
//! only those (a what-if grid that reads the summary keeps neither). The summary needs
//! integrals of the series, not the series: [`SeriesRecorder`] folds each change point
//! into exact integer integrals as it comes ([`SeriesFigures`]), and keeps rows only when
//! asked, at change points or binned into fixed intervals ([`SeriesResolution`]).

use std::fmt;
use std::str::FromStr;

use crate::engine::SimTime;

use super::binned::BinnedSeries;
use super::series::TimeSeries;

/// Which tables a run writes, and so keeps: the summary always; per-job records from
/// `Jobs` up; the time series only at `Full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputLevel {
    /// `summary.json` only.
    Summary,
    /// `summary.json` and `jobs.csv`.
    Jobs,
    /// Every table: also the time series (and power's, when power is on).
    #[default]
    Full,
}

impl OutputLevel {
    /// The names `--outputs` takes, in order.
    pub const NAMES: [&'static str; 3] = ["summary", "jobs", "full"];

    /// Whether per-job records are kept.
    pub fn keeps_jobs(self) -> bool {
        self != OutputLevel::Summary
    }

    /// Whether time-series rows are kept.
    pub fn keeps_series(self) -> bool {
        self == OutputLevel::Full
    }

    /// The name `--outputs` takes.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// A value `--outputs` or `--series-interval` does not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordingError {
    /// An output level that does not exist.
    #[error("unknown output level `{0}`; expected one of summary, jobs, full")]
    UnknownLevel(String),
    /// A series interval that is not a positive number of seconds.
    #[error("series interval `{0}`: expected a number of seconds > 0 (at most 1,000 years)")]
    BadInterval(String),
}

impl FromStr for OutputLevel {
    type Err = RecordingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "summary" => Ok(OutputLevel::Summary),
            "jobs" => Ok(OutputLevel::Jobs),
            "full" => Ok(OutputLevel::Full),
            _ => Err(RecordingError::UnknownLevel(s.to_string())),
        }
    }
}

impl fmt::Display for OutputLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How time-series rows are kept: one per change point (exact, two or so per job), or
/// one per fixed interval with each quantity's min, time-weighted mean and max over it
/// (a year's series at a readable size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeriesResolution {
    /// A row wherever a value changes (`timeseries.csv`).
    #[default]
    ChangePoints,
    /// A row per interval of this length, aligned to time 0
    /// (`timeseries_intervals.csv`).
    Interval(SimTime),
}

impl SeriesResolution {
    /// Parses `--series-interval`: seconds, > 0 and at least a millisecond.
    pub fn interval(secs: &str) -> Result<Self, RecordingError> {
        let bad = || RecordingError::BadInterval(secs.to_string());
        let s: f64 = secs.trim().parse().map_err(|_| bad())?;
        let t = SimTime::try_from_secs_f64(s).map_err(|_| bad())?;
        if t == SimTime::ZERO {
            return Err(bad());
        }
        Ok(SeriesResolution::Interval(t))
    }
}

/// What a run keeps, and the one window of time it must measure beyond its arrivals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recording {
    /// Which tables are kept.
    pub level: OutputLevel,
    /// How series rows are kept (at [`OutputLevel::Full`]).
    pub resolution: SeriesResolution,
    /// `[metrics] utilization_window_s`: the utilization figure is taken over it instead
    /// of the arrival window.
    pub utilization_window: Option<(SimTime, SimTime)>,
    /// Keep every run segment and its grants (the economics bill reads them); without
    /// it a run keeps only the grants of the runs in flight.
    pub keep_segments: bool,
}

impl Default for Recording {
    /// Everything: every table, change points, and the segments.
    fn default() -> Self {
        Recording {
            level: OutputLevel::default(),
            resolution: SeriesResolution::default(),
            utilization_window: None,
            keep_segments: true,
        }
    }
}

/// ∫ busy dt over one window `[from, to)`, in milli-GPU·milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowIntegral {
    /// Window start.
    pub from: SimTime,
    /// Window end.
    pub to: SimTime,
    /// The integral (exact integer).
    pub busy: u128,
}

impl WindowIntegral {
    fn new((from, to): (SimTime, SimTime)) -> Self {
        WindowIntegral { from, to, busy: 0 }
    }

    fn add(&mut self, a: SimTime, b: SimTime, busy_milli: u64) {
        let (a, b) = (a.max(self.from), b.min(self.to));
        if b > a {
            self.busy += u128::from(busy_milli) * u128::from((b - a).as_ms());
        }
    }
}

/// The series' figures the summary needs, kept exactly as the series runs: the same
/// integers [`TimeSeries`]'s methods compute from its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesFigures {
    /// ∫ busy dt, in milli-GPU·milliseconds.
    pub busy_integral: u128,
    /// ∫ queued dt, in job·milliseconds.
    pub queued_integral: u128,
    /// ∫ fragmented GPUs dt, in milli-GPU·milliseconds.
    pub frag_integral: u128,
    /// The largest allocation of any row, in thousandths of a GPU.
    pub peak_busy_milli: u64,
    /// Whether fragmentation was measured.
    pub frag_tracked: bool,
    /// The time of the last row (the series' end), if any.
    pub end: Option<SimTime>,
    /// ∫ busy dt over the arrival window (first to last arrival).
    pub arrivals: WindowIntegral,
    /// ∫ busy dt over the configured window, when there is one.
    pub configured: Option<WindowIntegral>,
}

impl TimeSeries {
    /// The figures of this series, with the busy integral over the given windows: what
    /// a [`SeriesRecorder`] fed the same rows reports.
    pub fn figures(
        &self,
        arrivals: (SimTime, SimTime),
        configured: Option<(SimTime, SimTime)>,
    ) -> SeriesFigures {
        let window = |(from, to)| WindowIntegral {
            from,
            to,
            busy: self.busy_integral_between(from, to),
        };
        SeriesFigures {
            busy_integral: self.busy_integral(),
            queued_integral: self.queued_integral(),
            frag_integral: self.frag_integral(),
            peak_busy_milli: self.peak_busy_milli(),
            frag_tracked: self.frag_tracked,
            end: self.time.last().copied(),
            arrivals: window(arrivals),
            configured: configured.map(window),
        }
    }
}

/// One row of cluster state.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    time: SimTime,
    busy_milli: u64,
    queued: u32,
    running: u32,
    frag_milli: u64,
}

/// Receives the cluster state after every batch of simultaneous events and keeps what
/// the run needs: always the summary's figures; rows when the run writes them.
///
/// Rows follow [`TimeSeries::record`]'s rule: a row is a change point; a row at the time
/// of the last replaces it. A row's values are final once a later row arrives, so each
/// stretch `[t_i, t_{i+1})` is folded into the figures then.
#[derive(Debug, Clone)]
pub struct SeriesRecorder {
    last: Option<Row>,
    last_by_model: Vec<u64>,
    figures: SeriesFigures,
    rows: Option<TimeSeries>,
    bins: Option<BinnedSeries>,
}

impl SeriesRecorder {
    /// A recorder for `models` GPU models; `expected_rows` sizes the row store (a run
    /// records about two rows per job) so recording never reallocates mid-run.
    pub fn new(
        models: usize,
        frag_tracked: bool,
        recording: &Recording,
        arrivals: (SimTime, SimTime),
        expected_rows: usize,
    ) -> Self {
        let (rows, bins) = match (recording.level.keeps_series(), recording.resolution) {
            (false, _) => (None, None),
            (true, SeriesResolution::ChangePoints) => {
                let mut s = TimeSeries::new(models, frag_tracked);
                s.reserve(expected_rows);
                (Some(s), None)
            }
            (true, SeriesResolution::Interval(i)) => (None, Some(BinnedSeries::new(i, models, frag_tracked))),
        };
        SeriesRecorder {
            last: None,
            last_by_model: vec![0; models],
            figures: SeriesFigures {
                busy_integral: 0,
                queued_integral: 0,
                frag_integral: 0,
                peak_busy_milli: 0,
                frag_tracked,
                end: None,
                arrivals: WindowIntegral::new(arrivals),
                configured: recording.utilization_window.map(WindowIntegral::new),
            },
            rows,
            bins,
        }
    }

    /// Takes the cluster state at `t` (see [`TimeSeries::record`] for the arguments).
    pub fn record(
        &mut self,
        t: SimTime,
        busy_milli: u64,
        by_model: &[u64],
        queued: u32,
        running: u32,
        frag_milli: u64,
    ) {
        if let Some(rows) = self.rows.as_mut() {
            rows.record(t, busy_milli, by_model, queued, running, frag_milli);
        }
        let row = Row {
            time: t,
            busy_milli,
            queued,
            running,
            frag_milli,
        };
        if let Some(last) = &self.last {
            let same = last.busy_milli == busy_milli
                && last.queued == queued
                && last.running == running
                && last.frag_milli == frag_milli
                && self.last_by_model == by_model;
            if same {
                return;
            }
            if last.time != t {
                self.close(t);
            }
        }
        self.last = Some(row);
        self.last_by_model.copy_from_slice(by_model);
    }

    /// Folds the last row, held until `t`, into the figures and bins.
    fn close(&mut self, t: SimTime) {
        let Some(last) = &self.last else { return };
        let f = &mut self.figures;
        let ms = u128::from((t - last.time).as_ms());
        f.busy_integral += u128::from(last.busy_milli) * ms;
        f.queued_integral += u128::from(last.queued) * ms;
        f.frag_integral += u128::from(last.frag_milli) * ms;
        f.peak_busy_milli = f.peak_busy_milli.max(last.busy_milli);
        f.arrivals.add(last.time, t, last.busy_milli);
        if let Some(w) = f.configured.as_mut() {
            w.add(last.time, t, last.busy_milli);
        }
        if let Some(bins) = self.bins.as_mut() {
            bins.add(
                last.time,
                t,
                [
                    last.busy_milli,
                    u64::from(last.queued),
                    u64::from(last.running),
                    last.frag_milli,
                ],
                &self.last_by_model,
            );
        }
    }

    /// When at least `block` kept rows are final (all but the last, which a row at its
    /// time may still replace), hands them to `sink`, so a run that streams its rows
    /// keeps at most `block` of them.
    pub fn hand_over<E>(
        &mut self,
        block: usize,
        sink: impl FnOnce(TimeSeries) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.rows.as_mut() {
            Some(rows) if rows.len() > block.max(1) => sink(rows.split_final(block)),
            _ => Ok(()),
        }
    }

    /// Ends the series: its figures, its change-point rows (empty unless kept) and its
    /// interval rows (when kept).
    pub fn finish(mut self) -> (SeriesFigures, TimeSeries, Option<BinnedSeries>) {
        if let Some(last) = &self.last {
            self.figures.peak_busy_milli = self.figures.peak_busy_milli.max(last.busy_milli);
            self.figures.end = Some(last.time);
        }
        let rows = self
            .rows
            .unwrap_or_else(|| TimeSeries::new(self.last_by_model.len(), self.figures.frag_tracked));
        (self.figures, rows, self.bins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_intervals_parse_or_say_why_not() {
        assert_eq!("jobs".parse::<OutputLevel>(), Ok(OutputLevel::Jobs));
        let e = "everything".parse::<OutputLevel>().unwrap_err().to_string();
        assert!(
            e.contains("`everything`") && e.contains("summary, jobs, full"),
            "{e}"
        );
        assert_eq!(
            SeriesResolution::interval("3600"),
            Ok(SeriesResolution::Interval(SimTime::from_secs(3600)))
        );
        for bad in ["0", "-5", "0.0001", "x", "inf", ""] {
            let e = SeriesResolution::interval(bad).unwrap_err().to_string();
            assert!(e.contains("expected a number of seconds > 0"), "{bad}: {e}");
        }
    }

    /// The streaming figures equal the ones computed afterwards from the stored rows, on
    /// a deterministic pseudo-random stream of states with repeats, same-time
    /// replacements and gaps (the differential check of the recorder against the
    /// post-hoc formulas in `series.rs`).
    #[test]
    fn streaming_figures_equal_the_stored_series() {
        let mut rng = crate::engine::XorShift(0x2545_F491_4F6C_DD1D);
        let mut next = |m: u64| rng.below(m);
        let arrivals = (SimTime(5_000), SimTime(400_000));
        let configured = Some((SimTime(100_000), SimTime(2_000_000)));
        let rec = Recording {
            utilization_window: configured,
            ..Recording::default()
        };
        let mut r = SeriesRecorder::new(2, true, &rec, arrivals, 0);
        let mut t = 0;
        for _ in 0..5_000 {
            t += next(3) * next(700);
            let by_model = [next(4) * 1000, next(3) * 500];
            r.record(
                SimTime(t),
                by_model.iter().sum(),
                &by_model,
                next(3) as u32,
                next(2) as u32,
                next(2) * 250,
            );
        }
        let (figures, rows, _) = r.finish();
        assert!(rows.len() > 1_000, "the stream must exercise many rows");
        assert_eq!(figures, rows.figures(arrivals, configured));
    }

    #[test]
    fn summary_level_keeps_no_rows() {
        let rec = Recording {
            level: OutputLevel::Summary,
            ..Recording::default()
        };
        let mut r = SeriesRecorder::new(1, false, &rec, (SimTime::ZERO, SimTime::ZERO), 10);
        r.record(SimTime(0), 1000, &[1000], 0, 1, 0);
        r.record(SimTime(10), 0, &[0], 0, 0, 0);
        let (figures, rows, bins) = r.finish();
        assert!(rows.is_empty() && bins.is_none());
        // One GPU busy for 10 ms: 1,000 milli-GPU × 10 ms.
        assert_eq!(figures.busy_integral, 10_000);
        assert_eq!(figures.end, Some(SimTime(10)));
    }
}
