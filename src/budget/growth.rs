//! Demand growth: a monthly multiplier applied to a workload's arrival pattern.
//!
//! The workload (a real trace after its `[workload.transform]`, or a generator's output)
//! is the pattern of month 1 at ×1. It is tiled end to end over the whole budget, each
//! copy one span after the last, with the span of `transform.tile` (the trace's extent
//! plus one mean gap), so the tiled pattern keeps the trace's mean arrival rate. Then
//! within month `m`, with multiplier `g`, the `c`-th arrival of the tiled pattern in that
//! month (`c` = 0, 1, ...) is submitted `⌊(c + 1)·g⌋ − ⌊c·g⌋` times, so a month with `n`
//! pattern arrivals gets exactly `⌊n·g⌋` jobs. The copies of one arrival are spread
//! evenly over the gap to the next pattern arrival (copy `j` of `k` at `t + ⌊j·gap/k⌋`
//! ms), so the trace's time of day and week is kept, which is what an hourly price
//! series bills; growth adds jobs, it does not compress time as `load_scale` does.
//!
//! Copies are named `<name>#<tile>~<copy>` (`#0`, `~0` left out). Durations, demands
//! and tenants are kept; recorded start times are cleared (a grown workload cannot be
//! replayed as recorded). Arrivals a multiplier below 1 leaves out are counted in
//! [`Workload::skipped`] as `growth.thinned`, pattern jobs at or past the budget's end
//! as `growth.after_end`, so no job vanishes uncounted.

use serde::Deserialize;

use super::BudgetError;
use crate::engine::SimTime;
use crate::workload::transform::tile_span;
use crate::workload::{JobSpec, Workload};

/// `[budget.growth]`: the demand multiplier per month.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum GrowthConfig {
    /// `g(m) = from + (to − from) · m / (M − 1)` for month `m` of `M` (0-based).
    Linear {
        /// Multiplier of the first month.
        from: f64,
        /// Multiplier of the last month.
        to: f64,
    },
    /// `g(m) = from · (to / from)^(m / (M − 1))`: the same factor every month.
    Compound {
        /// Multiplier of the first month.
        from: f64,
        /// Multiplier of the last month.
        to: f64,
    },
    /// One multiplier per month, first month first (at least as many as months run).
    Table {
        /// The multipliers.
        multipliers: Vec<f64>,
    },
}

impl Default for GrowthConfig {
    /// No growth: ×1 every month.
    fn default() -> Self {
        GrowthConfig::Linear { from: 1.0, to: 1.0 }
    }
}

/// Checks that `v` (at `key`) is a finite multiplier ≥ 0.
fn multiplier(key: &str, v: f64) -> Result<f64, BudgetError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(BudgetError::invalid(
            key,
            format!("must be a finite multiplier ≥ 0, got {v}"),
        ))
    }
}

impl GrowthConfig {
    /// The multiplier of each of `months` months; errors name the `budget.growth.*` key.
    pub fn multipliers(&self, months: usize) -> Result<Vec<f64>, BudgetError> {
        let frac = |m: usize| {
            if months > 1 {
                m as f64 / (months - 1) as f64
            } else {
                0.0
            }
        };
        match *self {
            GrowthConfig::Linear { from, to } => {
                let (from, to) = (
                    multiplier("budget.growth.from", from)?,
                    multiplier("budget.growth.to", to)?,
                );
                Ok((0..months).map(|m| from + (to - from) * frac(m)).collect())
            }
            GrowthConfig::Compound { from, to } => {
                let from = multiplier("budget.growth.from", from)?;
                let to = multiplier("budget.growth.to", to)?;
                if from == 0.0 || to == 0.0 {
                    return Err(BudgetError::invalid(
                        "budget.growth.from",
                        "compound growth needs from > 0 and to > 0",
                    ));
                }
                Ok((0..months).map(|m| from * (to / from).powf(frac(m))).collect())
            }
            GrowthConfig::Table { ref multipliers } => {
                if multipliers.len() < months {
                    return Err(BudgetError::invalid(
                        "budget.growth.multipliers",
                        format!(
                            "has {} values; the budget runs {months} months",
                            multipliers.len()
                        ),
                    ));
                }
                multipliers[..months]
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| multiplier(&format!("budget.growth.multipliers[{i}]"), v))
                    .collect()
            }
        }
    }
}

/// One arrival of the tiled pattern: tile `k`, job `i`.
struct Arrival {
    at: SimTime,
    next: SimTime,
    k: u64,
    i: usize,
}

/// The tiled pattern's arrivals before `end`, in order; then, for each, the pattern
/// job's index and its next arrival (the gap its copies spread over).
fn for_each_arrival(jobs: &[JobSpec], end: SimTime, mut f: impl FnMut(Arrival)) {
    let m = jobs.len();
    let span = tile_span(jobs[0].submit, jobs[m - 1].submit, m);
    let span = u64::try_from(span).unwrap_or(u64::MAX);
    let at = |k: u64, i: usize| SimTime(jobs[i].submit.as_ms().saturating_add(span.saturating_mul(k)));
    let mut k = 0u64;
    loop {
        for i in 0..m {
            let t = at(k, i);
            if t >= end {
                return;
            }
            let next = if i + 1 < m { at(k, i + 1) } else { at(k + 1, 0) };
            f(Arrival { at: t, next, k, i });
        }
        k += 1;
    }
}

/// Applies growth: tiles `workload` over `[0, bounds[M])` and scales month `m`'s
/// arrivals by `mult[m]` (see the module docs). `bounds` holds the `M + 1` month bounds.
/// Returns the grown workload, sorted with dense ids. Errors when the result would hold
/// more than [`MAX_HELD_JOBS`](crate::workload::MAX_HELD_JOBS) jobs (checked before allocating).
pub fn apply(mut workload: Workload, mult: &[f64], bounds: &[SimTime]) -> Result<Workload, BudgetError> {
    assert_eq!(bounds.len(), mult.len() + 1, "one multiplier per month");
    workload.finish();
    if workload.jobs.is_empty() {
        return Ok(workload);
    }
    let end = bounds[mult.len()];
    let base = std::mem::take(&mut workload.jobs);
    // Copies per arrival, by month: count first, then allocate once.
    let copies = |month: usize, c: u64| {
        let g = mult[month];
        ((c + 1) as f64 * g).floor() as u64 - (c as f64 * g).floor() as u64
    };
    let mut total: u128 = 0;
    let (mut month, mut c) = (0usize, 0u64);
    for_each_arrival(&base, end, |a| {
        while a.at >= bounds[month + 1] {
            month += 1;
            c = 0;
        }
        total += u128::from(copies(month, c));
        c += 1;
    });
    crate::workload::check_job_count("budget.growth", total, || "the grown workload's jobs".to_string())
        .map_err(|e| match e {
            crate::workload::WorkloadError::Invalid { key, message } => BudgetError::invalid(&key, message),
            other => BudgetError::invalid("budget.growth", other.to_string()),
        })?;
    let mut jobs = Vec::with_capacity(total as usize);
    let (mut month, mut c) = (0usize, 0u64);
    let mut in_pattern = vec![false; base.len()];
    for_each_arrival(&base, end, |a| {
        while a.at >= bounds[month + 1] {
            month += 1;
            c = 0;
        }
        if a.k == 0 {
            in_pattern[a.i] = true;
        }
        let n = copies(month, c);
        c += 1;
        let src = &base[a.i];
        if n == 0 {
            workload.skipped.skip("growth.thinned", || {
                format!("growth: job {} (tile {})", src.name, a.k)
            });
            return;
        }
        let gap = (a.next - a.at).as_ms();
        for j in 0..n {
            let name = match (a.k, j) {
                (0, 0) => src.name.clone(),
                (0, j) => format!("{}~{j}", src.name).into(),
                (k, 0) => format!("{}#{k}", src.name).into(),
                (k, j) => format!("{}#{k}~{j}", src.name).into(),
            };
            jobs.push(JobSpec {
                name,
                submit: SimTime(a.at.as_ms() + gap * j / n),
                recorded_start: None,
                ..src.clone()
            });
        }
    });
    for (job, seen) in base.iter().zip(&in_pattern) {
        if !seen {
            workload.skipped.skip("growth.after_end", || {
                format!("growth: job {} submitted after the budget's end", job.name)
            });
        }
    }
    workload.jobs = jobs;
    workload.finish();
    Ok(workload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{GpuDemand, TenantId};

    /// One 1-GPU job per `submit` (seconds).
    fn workload(submits: &[u64]) -> Workload {
        let mut w = Workload {
            tenants: vec!["a".into()],
            rows_read: submits.len() as u64,
            ..Default::default()
        };
        for (i, &s) in submits.iter().enumerate() {
            w.jobs.push(JobSpec::new(
                format!("j{i}"),
                SimTime::from_secs(s),
                SimTime::from_secs(60),
                GpuDemand::whole(1),
                TenantId(0),
            ));
        }
        w.finish();
        w
    }

    fn secs(w: &Workload) -> Vec<u64> {
        w.jobs.iter().map(|j| j.submit.as_ms() / 1000).collect()
    }

    #[test]
    fn multipliers_by_kind() {
        let lin = GrowthConfig::Linear { from: 1.0, to: 3.0 }
            .multipliers(5)
            .unwrap();
        assert_eq!(lin, [1.0, 1.5, 2.0, 2.5, 3.0]);
        // ×4 over 3 months compounds as ×2 per month: 1, 2, 4.
        let comp = GrowthConfig::Compound { from: 1.0, to: 4.0 }
            .multipliers(3)
            .unwrap();
        assert!(
            comp.iter()
                .zip([1.0, 2.0, 4.0])
                .all(|(a, b)| (a - b).abs() < 1e-12),
            "{comp:?}"
        );
        let one = GrowthConfig::Linear { from: 2.0, to: 3.0 }
            .multipliers(1)
            .unwrap();
        assert_eq!(one, [2.0]);
        let table = GrowthConfig::Table {
            multipliers: vec![1.0, 0.5, 2.0],
        };
        assert_eq!(table.multipliers(2).unwrap(), [1.0, 0.5]);
        assert!(table.multipliers(4).is_err());
    }

    #[test]
    fn bad_multipliers_name_their_key() {
        let key = |g: GrowthConfig| match g.multipliers(3) {
            Err(BudgetError::Invalid { key, .. }) => key,
            other => panic!("expected Invalid, got {other:?}"),
        };
        assert_eq!(
            key(GrowthConfig::Linear { from: -1.0, to: 2.0 }),
            "budget.growth.from"
        );
        assert_eq!(
            key(GrowthConfig::Linear {
                from: 1.0,
                to: f64::NAN
            }),
            "budget.growth.to"
        );
        assert_eq!(
            key(GrowthConfig::Compound { from: 0.0, to: 2.0 }),
            "budget.growth.from"
        );
        let t = GrowthConfig::Table {
            multipliers: vec![1.0, -2.0, 1.0],
        };
        assert_eq!(key(t), "budget.growth.multipliers[1]");
    }

    #[test]
    fn tiles_and_scales_per_month_by_hand() {
        // Pattern: jobs at 0, 10, 20 s; span = 20 · 3 / 2 = 30 s, so the tiled pattern has
        // one arrival every 10 s. Month 0 = [0, 40) s at ×1: 4 arrivals → 4 jobs at 0, 10,
        // 20, 30. Month 1 = [40, 60) s at ×1.5: 2 arrivals (40, 50) → ⌊2 · 1.5⌋ = 3 jobs:
        // arrival c=0 gets ⌊1.5⌋ − 0 = 1 copy, c=1 gets ⌊3⌋ − ⌊1.5⌋ = 2 copies, the second
        // 5 s (half the 10 s gap) after the first.
        let w = workload(&[0, 10, 20]);
        let bounds = [SimTime::ZERO, SimTime::from_secs(40), SimTime::from_secs(60)];
        let out = apply(w, &[1.0, 1.5], &bounds).unwrap();
        assert_eq!(secs(&out), [0, 10, 20, 30, 40, 50, 55]);
        let names: Vec<&str> = out.jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, ["j0", "j1", "j2", "j0#1", "j1#1", "j2#1", "j2#1~1"]);
        assert_eq!(out.skipped.total(), 0);
    }

    #[test]
    fn a_multiplier_below_one_thins_and_counts() {
        // 6 arrivals at ×0.5 → ⌊6 · 0.5⌋ = 3 jobs: arrivals c = 1, 3, 5 get a copy.
        let w = workload(&[0, 10, 20, 30, 40, 50]);
        let bounds = [SimTime::ZERO, SimTime::from_secs(60)];
        let out = apply(w, &[0.5], &bounds).unwrap();
        assert_eq!(secs(&out), [10, 30, 50]);
        assert_eq!(out.skipped.reasons["growth.thinned"].count, 3);
    }

    #[test]
    fn pattern_jobs_past_the_end_are_counted() {
        let w = workload(&[0, 10, 100]);
        let bounds = [SimTime::ZERO, SimTime::from_secs(50)];
        let out = apply(w, &[1.0], &bounds).unwrap();
        assert_eq!(secs(&out), [0, 10]);
        assert_eq!(out.skipped.reasons["growth.after_end"].count, 1);
    }
}
