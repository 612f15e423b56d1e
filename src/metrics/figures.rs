//! The per-job figures behind the summary's distributions (wait, time not running, JCT
//! and bounded slowdown of the jobs that ran): exact up to [`EXACT_JOBS`] jobs that ran,
//! sketched beyond, so the summary of a run of any length fits in bounded memory.
//!
//! Up to the limit every job's wait, JCT and run time are kept as milliseconds
//! ([`Durations`], 12 bytes a job) and the percentiles are selected exactly, as before
//! issue 17. The job past the limit turns the columns into four streaming figures, each
//! an exact count, sum (in job-id order) and maximum beside a [`LogSketch`] for its
//! percentiles, within [`RELATIVE_ERROR`] of the exact ones: 10M jobs keep 120 MB of
//! columns; any number past that keeps about 100 KB.

use crate::engine::SimTime;

use super::durations::Durations;
use super::sketch::{LogSketch, RELATIVE_ERROR};
use super::stats::Distribution;

/// Jobs that ran up to which the summary's percentiles are exact: 10 million.
pub const EXACT_JOBS: usize = 10_000_000;

/// Bounded slowdown max(1, JCT / max(run time, τ)) of a job with this JCT and run time.
pub fn slowdown(jct: SimTime, run: SimTime) -> f64 {
    (jct.as_secs_f64() / run.as_secs_f64().max(super::summary::BOUNDED_SLOWDOWN_TAU_S)).max(1.0)
}

/// The four distributions of the summary, and the relative error of their percentiles
/// (None: exact).
pub struct FigureDistributions {
    /// Wait to the first start, seconds.
    pub wait_s: Distribution,
    /// JCT minus run time, seconds.
    pub not_running_s: Distribution,
    /// Submit to end, seconds.
    pub jct_s: Distribution,
    /// Bounded slowdown.
    pub bounded_slowdown: Distribution,
    /// The bound on the percentiles' relative error, when they are sketched.
    pub relative_error: Option<f64>,
}

/// Per-job figures of the jobs that ran, in job-id order.
pub enum JobFigures {
    /// Every job's figures, while at most `limit` jobs have run.
    Exact {
        /// Waits.
        waits: Durations,
        /// JCTs.
        jcts: Durations,
        /// Run times.
        run_times: Durations,
        /// Jobs kept exactly at most.
        limit: usize,
    },
    /// Streaming figures, once more than the limit have run.
    Sketched(Box<[Streamed; 4]>),
}

/// One figure as a stream: exact count, sum and maximum, sketched percentiles.
#[derive(Debug, Clone)]
pub struct Streamed {
    sketch: LogSketch,
    sum: f64,
    max: f64,
}

impl Streamed {
    fn new() -> Self {
        Streamed {
            sketch: LogSketch::new(RELATIVE_ERROR),
            sum: 0.0,
            max: 0.0,
        }
    }

    fn add(&mut self, x: f64) {
        self.sketch.add(x);
        self.sum += x;
        self.max = self.max.max(x);
    }

    fn distribution(&self) -> Distribution {
        let n = self.sketch.count();
        if n == 0 {
            return Distribution::default();
        }
        // A bucket's midpoint may pass the largest value; the exact maximum is closer.
        let at = |p: f64| self.sketch.percentile(p).unwrap_or(0.0).min(self.max);
        Distribution {
            count: n,
            mean: self.sum / n as f64,
            p50: at(50.0),
            p95: at(95.0),
            p99: at(99.0),
            max: self.max,
        }
    }
}

impl JobFigures {
    /// Figures for about `expected` jobs, exact up to [`EXACT_JOBS`].
    pub fn new(expected: usize) -> Self {
        JobFigures::with_limit(expected, EXACT_JOBS)
    }

    /// Figures exact up to `limit` jobs (tests lower it).
    pub(crate) fn with_limit(expected: usize, limit: usize) -> Self {
        let n = expected.min(limit);
        JobFigures::Exact {
            waits: Durations::with_capacity(n),
            jcts: Durations::with_capacity(n),
            run_times: Durations::with_capacity(n),
            limit,
        }
    }

    /// Takes the figures of the next job that ran.
    pub fn push(&mut self, wait: SimTime, jct: SimTime, run: SimTime) {
        match self {
            JobFigures::Exact {
                waits,
                jcts,
                run_times,
                limit,
            } if waits.len() < *limit => {
                waits.push(wait);
                jcts.push(jct);
                run_times.push(run);
            }
            JobFigures::Exact {
                waits,
                jcts,
                run_times,
                ..
            } => {
                let mut streamed =
                    Box::new([Streamed::new(), Streamed::new(), Streamed::new(), Streamed::new()]);
                for i in 0..waits.len() {
                    add_job(&mut streamed, waits.get(i), jcts.get(i), run_times.get(i));
                }
                add_job(&mut streamed, wait, jct, run);
                *self = JobFigures::Sketched(streamed);
            }
            JobFigures::Sketched(streamed) => add_job(streamed, wait, jct, run),
        }
    }

    /// The distributions: exact (as [`Distribution::of`] gives them over the `f64`
    /// seconds in job-id order) while within the limit, sketched past it.
    pub fn distributions(&self) -> FigureDistributions {
        match self {
            JobFigures::Exact {
                waits,
                jcts,
                run_times,
                ..
            } => {
                let derived = |f: &dyn Fn(SimTime, SimTime) -> f64| -> Vec<f64> {
                    (0..jcts.len())
                        .map(|i| f(jcts.get(i), run_times.get(i)))
                        .collect()
                };
                // One figure's values expanded at a time, as the percentiles are taken.
                FigureDistributions {
                    wait_s: Distribution::of(&mut waits.secs()),
                    not_running_s: Distribution::of(&mut derived(&|jct, run| {
                        jct.saturating_sub(run).as_secs_f64()
                    })),
                    jct_s: Distribution::of(&mut jcts.secs()),
                    bounded_slowdown: Distribution::of(&mut derived(&slowdown)),
                    relative_error: None,
                }
            }
            JobFigures::Sketched(s) => FigureDistributions {
                wait_s: s[0].distribution(),
                not_running_s: s[1].distribution(),
                jct_s: s[2].distribution(),
                bounded_slowdown: s[3].distribution(),
                relative_error: Some(RELATIVE_ERROR),
            },
        }
    }
}

/// Adds one job's four figures to the streams.
fn add_job(s: &mut [Streamed; 4], wait: SimTime, jct: SimTime, run: SimTime) {
    s[0].add(wait.as_secs_f64());
    s[1].add(jct.saturating_sub(run).as_secs_f64());
    s[2].add(jct.as_secs_f64());
    s[3].add(slowdown(jct, run));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past a (lowered) limit the figures are sketched: counts and maxima equal the
    /// exact ones, means agree to rounding (summed in job-id order rather than in
    /// selection order), and every percentile is within the sketch's proven bound
    /// (`RELATIVE_ERROR` of the exact nearest-rank value, `metrics::sketch`), on
    /// 30,000 pseudo-random jobs against the same jobs kept exactly.
    #[test]
    fn sketched_figures_agree_with_exact_within_the_bound() {
        let mut rng = crate::engine::XorShift(0x9E37_79B9_7F4A_7C15);
        let mut next = |m: u64| rng.below(m);
        let jobs: Vec<(SimTime, SimTime, SimTime)> = (0..30_000)
            .map(|_| {
                let wait = if next(3) == 0 { 0 } else { next(100_000_000) };
                let run = next(10_000_000) + 1;
                let suspended = if next(4) == 0 { next(1_000_000) } else { 0 };
                (SimTime(wait), SimTime(wait + run + suspended), SimTime(run))
            })
            .collect();
        let mut exact = JobFigures::with_limit(jobs.len(), jobs.len());
        let mut sketched = JobFigures::with_limit(jobs.len(), 1_000);
        for &(w, j, r) in &jobs {
            exact.push(w, j, r);
            sketched.push(w, j, r);
        }
        assert!(matches!(exact, JobFigures::Exact { .. }));
        assert!(matches!(sketched, JobFigures::Sketched(_)));
        let (e, s) = (exact.distributions(), sketched.distributions());
        assert_eq!((e.relative_error, s.relative_error), (None, Some(RELATIVE_ERROR)));
        for (e, s) in [
            (e.wait_s, s.wait_s),
            (e.not_running_s, s.not_running_s),
            (e.jct_s, s.jct_s),
            (e.bounded_slowdown, s.bounded_slowdown),
        ] {
            assert_eq!((e.count, e.max), (s.count, s.max));
            assert!((e.mean - s.mean).abs() <= 1e-9 * e.mean, "{e:?} vs {s:?}");
            for (ev, sv) in [(e.p50, s.p50), (e.p95, s.p95), (e.p99, s.p99)] {
                assert!(
                    (ev - sv).abs() <= RELATIVE_ERROR * ev * (1.0 + 1e-9),
                    "{e:?} vs {s:?}"
                );
            }
        }
    }
}
