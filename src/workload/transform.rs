//! Transforms that reshape a loaded workload before it is simulated: filters, a time
//! window, load scaling, tiling and truncation.
//!
//! They run in this fixed order, whatever the order of the keys in the config:
//!
//! 1. **Filters** on each job: tenant include list (`include_tenants`), tenant exclude
//!    list (`exclude_tenants`), then total GPU demand (`min_gpus`, `max_gpus`, in GPUs,
//!    fractional shares counted as fractions, bounds inclusive).
//! 2. **Window** `[start_s, end_s)` on submit time. Kept jobs are then shifted by
//!    `start_s` (not by the first kept job), so the window's start becomes time 0 and
//!    the gaps from the window start are preserved; `recorded_start` is shifted by the
//!    same amount, and so is the workload's calendar epoch (time 0's date).
//! 3. **Load scaling** by `load_scale = f`: `submit' = round(submit / f)` (in ms), which
//!    divides every inter-arrival gap by `f` and so multiplies the arrival rate, and the
//!    offered load, by `f`. Durations are unchanged. Recorded start times no longer
//!    match the new submit times, so they are cleared (the job can then no longer be
//!    replayed as recorded), and so is the calendar epoch (scaled times are no dates).
//! 4. **Tiling** `tile = n`: the trace is repeated `n` times end to end. Copy `k`
//!    (0-based) is shifted by `k · span`, where `span = (last − first) · m / (m − 1)` for
//!    `m` jobs with submit times from `first` to `last` (rounded up to whole ms): the
//!    trace's extent plus one mean inter-arrival gap `(last − first) / (m − 1)`, so the
//!    seam between copies looks like an ordinary gap and the tiled trace keeps the
//!    original mean arrival rate. A span of 0 (one job, or all submitted at once) is
//!    taken as 1 ms.
//!    Copy `k ≥ 1` of job `x` is named `x#k`; recorded starts move with their copy.
//! 5. **Truncation** `max_jobs`: keep the first `max_jobs` jobs in submit order.
//!
//! Every job a filter, the window or truncation removes is counted in
//! [`Workload::skipped`] under a reason naming the transform (`filter.include_tenants`,
//! `filter.exclude_tenants`, `filter.min_gpus`, `filter.max_gpus`, `window`, `max_jobs`),
//! so `jobs + skipped` is unchanged by filters, window and truncation. Tiling adds
//! `(n − 1) · m` jobs that were never rows of the source, so after tiling
//! `jobs + skipped = rows_read + (n − 1) · m`; `rows_read` keeps counting source rows.

use serde::Deserialize;

use crate::engine::SimTime;
use crate::workload::{JobSpec, SkipReport, TraceEpoch, Workload, WorkloadError};

/// Which transforms to apply (the `[workload.transform]` table of a scenario). Every
/// key is optional; the default changes nothing. See the module docs for the order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformConfig {
    /// Keep only jobs of these tenants (names as in the trace). Absent: all tenants.
    pub include_tenants: Option<Vec<String>>,
    /// Drop jobs of these tenants.
    pub exclude_tenants: Vec<String>,
    /// Drop jobs asking for fewer GPUs than this (total demand in GPUs).
    pub min_gpus: Option<f64>,
    /// Drop jobs asking for more GPUs than this (total demand in GPUs).
    pub max_gpus: Option<f64>,
    /// Window start, in seconds of trace time: drop jobs submitted earlier; shift the
    /// rest so this instant becomes time 0.
    pub start_s: Option<f64>,
    /// Window end, in seconds of trace time (exclusive): drop jobs submitted at or after it.
    pub end_s: Option<f64>,
    /// Arrival-rate factor (> 0): submit times are divided by it.
    pub load_scale: Option<f64>,
    /// Repeat the trace this many times end to end (≥ 1).
    pub tile: Option<u32>,
    /// Keep at most this many jobs (the earliest submitted).
    pub max_jobs: Option<u64>,
}

/// Builds the `Invalid` error for key `transform.<key>`.
fn invalid(key: &str, message: impl Into<String>) -> WorkloadError {
    WorkloadError::Invalid {
        key: format!("transform.{key}"),
        message: message.into(),
    }
}

/// Seconds of key `transform.<key>` as time, through the one checked conversion.
fn time_key(key: &str, s: f64) -> Result<SimTime, WorkloadError> {
    SimTime::try_from_secs_f64(s).map_err(|e| invalid(key, e.to_string()))
}

/// Checks that an optional bound is finite and ≥ 0.
fn non_negative(key: &str, x: Option<f64>) -> Result<(), WorkloadError> {
    match x {
        Some(v) if !(v.is_finite() && v >= 0.0) => {
            Err(invalid(key, format!("must be a finite number ≥ 0, got {v}")))
        }
        _ => Ok(()),
    }
}

impl TransformConfig {
    /// Checks every key's range and the cross-key invariants (`min_gpus ≤ max_gpus`,
    /// `start_s < end_s`); the error names the first offending key.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        if let Some(list) = &self.include_tenants {
            if list.is_empty() {
                return Err(invalid("include_tenants", "must name at least one tenant"));
            }
        }
        non_negative("min_gpus", self.min_gpus)?;
        non_negative("max_gpus", self.max_gpus)?;
        if let (Some(lo), Some(hi)) = (self.min_gpus, self.max_gpus) {
            if lo > hi {
                return Err(invalid(
                    "max_gpus",
                    format!("({hi}) must be ≥ transform.min_gpus ({lo})"),
                ));
            }
        }
        for (key, v) in [("start_s", self.start_s), ("end_s", self.end_s)] {
            if let Some(v) = v {
                time_key(key, v)?;
            }
        }
        if let (Some(start), Some(end)) = (self.start_s, self.end_s) {
            if end <= start {
                return Err(invalid(
                    "end_s",
                    format!("({end}) must be > transform.start_s ({start})"),
                ));
            }
        }
        if let Some(f) = self.load_scale {
            if !(f.is_finite() && f > 0.0) {
                return Err(invalid("load_scale", format!("must be > 0, got {f}")));
            }
        }
        if self.tile == Some(0) {
            return Err(invalid("tile", "must be ≥ 1"));
        }
        if self.max_jobs == Some(0) {
            return Err(invalid("max_jobs", "must be ≥ 1"));
        }
        Ok(())
    }
}

/// Per-tenant flags: `true` where a tenant named in `names` (key `key`) sits. Unknown
/// names are an error listing the known ones, since they are almost always typos.
fn tenant_mask(workload: &Workload, names: &[String], key: &str) -> Result<Vec<bool>, WorkloadError> {
    let mut mask = vec![false; workload.tenants.len()];
    for name in names {
        match workload.tenants.iter().position(|t| t == name) {
            Some(i) => mask[i] = true,
            None => {
                return Err(invalid(
                    key,
                    format!(
                        "tenant `{name}` is not in the trace (tenants: {})",
                        workload.tenants.join(", ")
                    ),
                ))
            }
        }
    }
    Ok(mask)
}

/// Counts `job` as skipped for `reason`.
fn skip(skipped: &mut SkipReport, reason: &str, job: &JobSpec) {
    skipped.skip(reason, || format!("transform {reason}: job {}", job.name));
}

/// The shift between two tiled copies of `m` jobs submitted from `first` to `last`, in
/// ms: the extent times `m / (m − 1)` rounded up, at least 1 (see the module docs). Also
/// used by demand growth ([`crate::budget::growth`]), which tiles the same way.
pub(crate) fn tile_span(first: SimTime, last: SimTime, m: usize) -> u128 {
    let extent = (last - first).as_ms();
    let span = if m >= 2 {
        (u128::from(extent) * m as u128).div_ceil(m as u128 - 1)
    } else {
        0
    };
    span.max(1)
}

/// Applies the transforms of `cfg` to `workload` in the documented order and returns it
/// sorted by submit time with dense ids ([`Workload::finish`]).
///
/// Errors ([`WorkloadError::Invalid`], naming the `transform.*` key) on out-of-range
/// values, tenant names not in the trace, a time that would pass
/// [`SimTime::MAX_HORIZON`] (`start_s`, `end_s`, `load_scale`, `tile`), a tiled
/// workload over [`MAX_HELD_JOBS`](crate::workload::MAX_HELD_JOBS) (checked before allocating),
/// or when the transforms leave no job at all.
pub fn apply(mut workload: Workload, cfg: &TransformConfig) -> Result<Workload, WorkloadError> {
    cfg.validate()?;
    if *cfg == TransformConfig::default() {
        // Nothing to change: sort and number in place rather than copy every job.
        workload.finish();
        return Ok(workload);
    }
    let include = match &cfg.include_tenants {
        Some(names) => Some(tenant_mask(&workload, names, "include_tenants")?),
        None => None,
    };
    let exclude = tenant_mask(&workload, &cfg.exclude_tenants, "exclude_tenants")?;
    let start = time_key("start_s", cfg.start_s.unwrap_or(0.0))?;
    let end = match cfg.end_s {
        Some(s) => time_key("end_s", s)?,
        None => SimTime::MAX,
    };
    let min_milli = cfg.min_gpus.map(|g| (g * 1000.0).round() as u64);
    let max_milli = cfg.max_gpus.map(|g| (g * 1000.0).round() as u64);

    // Filters and window, in one pass over the jobs in submit order.
    workload.finish();
    let input = std::mem::take(&mut workload.jobs);
    let had_jobs = !input.is_empty();
    let mut jobs = Vec::with_capacity(input.len());
    for mut job in input {
        let t = job.tenant.0 as usize;
        let milli = job.demand.total_milli();
        let reason = if include
            .as_ref()
            .is_some_and(|m| !m.get(t).copied().unwrap_or(false))
        {
            Some("filter.include_tenants")
        } else if exclude.get(t).copied().unwrap_or(false) {
            Some("filter.exclude_tenants")
        } else if min_milli.is_some_and(|lo| milli < lo) {
            Some("filter.min_gpus")
        } else if max_milli.is_some_and(|hi| milli > hi) {
            Some("filter.max_gpus")
        } else if job.submit < start || job.submit >= end {
            Some("window")
        } else {
            None
        };
        if let Some(reason) = reason {
            skip(&mut workload.skipped, reason, &job);
            continue;
        }
        job.submit = job.submit - start;
        job.recorded_start = job.recorded_start.map(|r| r - start);
        jobs.push(job);
    }
    workload.epoch = workload.epoch.map(|e| TraceEpoch {
        start: e.at(start),
        ..e
    });

    if let Some(f) = cfg.load_scale {
        for job in &mut jobs {
            let scaled = job.submit.as_secs_f64() / f;
            job.submit = SimTime::try_from_secs_f64(scaled).map_err(|e| {
                invalid(
                    "load_scale",
                    format!(
                        "job {} submitted at {} s would move past the horizon: {e}",
                        job.name,
                        job.submit.as_secs_f64()
                    ),
                )
            })?;
            job.recorded_start = None;
        }
        // Scaled times no longer read as the trace's calendar.
        workload.epoch = None;
    }

    if let (Some(n), Some(first), Some(last)) = (cfg.tile, jobs.first(), jobs.last()) {
        let m = jobs.len();
        let total = m as u128 * u128::from(n);
        crate::workload::check_job_count("transform.tile", total, || format!("tile × jobs = {n} × {m}"))?;
        let span = tile_span(first.submit, last.submit, m);
        // The last copy's last job must still lie within the horizon.
        let latest = span * u128::from(n - 1) + u128::from(last.submit.as_ms());
        if latest > u128::from(SimTime::MAX_HORIZON.as_ms()) {
            return Err(invalid(
                "tile",
                format!(
                    "{n} copies one span of {} s apart would put the last job at {} s, past the horizon of {} s (1,000 years)",
                    span as f64 / 1000.0,
                    latest as f64 / 1000.0,
                    SimTime::MAX_HORIZON.as_ms() / 1000
                ),
            ));
        }
        let span = span as u64;
        jobs.reserve(total as usize - m);
        for k in 1..u64::from(n) {
            let shift = SimTime(span * k);
            for i in 0..m {
                let src = &jobs[i];
                let copy = JobSpec {
                    name: format!("{}#{k}", src.name).into(),
                    submit: src.submit + shift,
                    recorded_start: src.recorded_start.map(|r| r + shift),
                    ..src.clone()
                };
                jobs.push(copy);
            }
        }
    }

    if let Some(max) = cfg.max_jobs {
        if (jobs.len() as u64) > max {
            for job in &jobs[max as usize..] {
                skip(&mut workload.skipped, "max_jobs", job);
            }
            jobs.truncate(max as usize);
        }
    }

    if had_jobs && jobs.is_empty() {
        let reasons: Vec<String> = workload
            .skipped
            .reasons
            .iter()
            .map(|(r, c)| format!("{r}: {}", c.count))
            .collect();
        return Err(WorkloadError::Invalid {
            key: "transform".to_string(),
            message: format!("the transforms left no jobs (skipped {})", reasons.join(", ")),
        });
    }
    workload.jobs = jobs;
    workload.finish();
    Ok(workload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{GpuDemand, JobId, TenantId};
    use proptest::prelude::*;

    /// The default (empty) transform hands the jobs back in place: the same allocation,
    /// not a copy of every job (issue 17: transforms that change nothing copy nothing).
    #[test]
    fn the_empty_transform_copies_nothing() {
        let w = workload(&[(0, 1000, 30), (1, 500, 10), (2, 2000, 20)]);
        let (ptr, expected) = (w.jobs.as_ptr(), w.jobs.clone());
        let out = apply(w, &TransformConfig::default()).unwrap();
        assert_eq!(out.jobs.as_ptr(), ptr);
        assert_eq!(out.jobs, expected);
    }

    /// A workload with one job per `(tenant, gpu milli, submit s)`; recorded start = submit + 5 s.
    fn workload(jobs: &[(u32, u32, u64)]) -> Workload {
        let mut w = Workload {
            tenants: vec!["a".into(), "b".into(), "c".into()],
            rows_read: jobs.len() as u64,
            ..Default::default()
        };
        for (i, &(tenant, milli, submit)) in jobs.iter().enumerate() {
            let demand = if milli >= 1000 {
                GpuDemand::whole(milli / 1000)
            } else {
                GpuDemand::share(milli)
            };
            let (at, duration) = (SimTime::from_secs(submit), SimTime::from_secs(60));
            w.jobs.push(JobSpec {
                id: JobId(i as u32),
                recorded_start: Some(SimTime::from_secs(submit + 5)),
                ..JobSpec::new(format!("j{i}"), at, duration, demand, TenantId(tenant))
            });
        }
        w.finish();
        w
    }

    fn parse(s: &str) -> TransformConfig {
        toml::from_str(s).expect("config parses")
    }

    fn count(w: &Workload, reason: &str) -> u64 {
        w.skipped.reasons.get(reason).map_or(0, |c| c.count)
    }

    #[test]
    fn empty_config_changes_nothing() {
        let w = workload(&[(0, 1000, 3), (1, 2000, 1)]);
        let out = apply(w.clone(), &parse("")).unwrap();
        assert_eq!(out.jobs, w.jobs);
        assert_eq!(out.skipped.total(), 0);
    }

    #[test]
    fn filters_count_each_removed_job_under_its_reason() {
        let w = workload(&[
            (0, 1000, 0),
            (1, 1000, 1),
            (2, 1000, 2),
            (0, 500, 3),
            (0, 8000, 4),
            (0, 4000, 5),
        ]);
        let cfg = parse(
            r#"include_tenants = ["a", "b"]
               exclude_tenants = ["b"]
               min_gpus = 1
               max_gpus = 4"#,
        );
        let out = apply(w, &cfg).unwrap();
        assert_eq!(count(&out, "filter.include_tenants"), 1);
        assert_eq!(count(&out, "filter.exclude_tenants"), 1);
        assert_eq!(count(&out, "filter.min_gpus"), 1);
        assert_eq!(count(&out, "filter.max_gpus"), 1);
        let names: Vec<&str> = out.jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, ["j0", "j5"]);
        assert_eq!(out.jobs.len() as u64 + out.skipped.total(), out.rows_read);
        assert_eq!(
            out.skipped.reasons["filter.min_gpus"].first,
            "transform filter.min_gpus: job j3"
        );
    }

    #[test]
    fn window_keeps_half_open_interval_and_shifts_to_zero() {
        let w = workload(&[(0, 1000, 5), (0, 1000, 10), (0, 1000, 15), (0, 1000, 20)]);
        let out = apply(w, &parse("start_s = 10.0\nend_s = 20.0")).unwrap();
        assert_eq!(count(&out, "window"), 2);
        let submits: Vec<SimTime> = out.jobs.iter().map(|j| j.submit).collect();
        assert_eq!(submits, [SimTime::ZERO, SimTime::from_secs(5)]);
        // Recorded starts move by the same 10 s.
        assert_eq!(out.jobs[0].recorded_start, Some(SimTime::from_secs(5)));
        assert_eq!(out.jobs[1].recorded_start, Some(SimTime::from_secs(10)));
    }

    #[test]
    fn load_scale_divides_submit_times_and_clears_recorded_starts() {
        let w = workload(&[(0, 1000, 0), (0, 1000, 10), (0, 1000, 30)]);
        let out = apply(w, &parse("load_scale = 2.0")).unwrap();
        let submits: Vec<u64> = out.jobs.iter().map(|j| j.submit.as_ms()).collect();
        assert_eq!(submits, [0, 5_000, 15_000]);
        assert!(out.jobs.iter().all(|j| j.recorded_start.is_none()));
        assert!(out.jobs.iter().all(|j| j.duration == SimTime::from_secs(60)));
    }

    /// The calendar epoch moves with the window's start (t = 0 is now `start_s` later on
    /// the trace clock) and is dropped by load scaling (scaled times are no dates).
    #[test]
    fn window_moves_the_epoch_and_load_scale_drops_it() {
        let start = chrono::NaiveDate::from_ymd_opt(2017, 9, 4)
            .and_then(|d| d.and_hms_opt(10, 30, 41))
            .expect("date");
        let dated = || Workload {
            epoch: Some(TraceEpoch { start, zone: None }),
            ..workload(&[(0, 1000, 5), (0, 1000, 7_000)])
        };
        let out = apply(dated(), &parse("start_s = 3600.0")).unwrap();
        let moved = out.epoch.expect("epoch kept").start;
        assert_eq!(
            moved.format("%Y-%m-%d %H:%M:%S").to_string(),
            "2017-09-04 11:30:41"
        );
        let out = apply(dated(), &parse("tile = 2")).unwrap();
        assert_eq!(out.epoch.map(|e| e.start), Some(start));
        let out = apply(dated(), &parse("load_scale = 2.0")).unwrap();
        assert_eq!(out.epoch, None);
    }

    #[test]
    fn tile_repeats_the_trace_one_span_apart() {
        // Submits 10, 20, 40: extent 30 s, mean gap 15 s, span 45 s.
        let w = workload(&[(0, 1000, 10), (1, 1000, 20), (2, 1000, 40)]);
        let out = apply(w, &parse("tile = 3")).unwrap();
        let submits: Vec<u64> = out.jobs.iter().map(|j| j.submit.as_ms() / 1000).collect();
        assert_eq!(submits, [10, 20, 40, 55, 65, 85, 100, 110, 130]);
        assert_eq!(out.jobs[3].name, "j0#1");
        assert_eq!(out.jobs[8].name, "j2#2");
        assert_eq!(out.jobs[8].tenant, TenantId(2));
        assert_eq!(out.jobs[8].recorded_start, Some(SimTime::from_secs(135)));
        assert!(out.jobs.iter().enumerate().all(|(i, j)| j.id == JobId(i as u32)));
    }

    #[test]
    fn tile_of_a_single_job_does_not_stack_copies() {
        let out = apply(workload(&[(0, 1000, 7)]), &parse("tile = 3")).unwrap();
        let submits: Vec<u64> = out.jobs.iter().map(|j| j.submit.as_ms()).collect();
        assert_eq!(submits, [7000, 7001, 7002]);
    }

    #[test]
    fn max_jobs_keeps_the_earliest() {
        let w = workload(&[(0, 1000, 3), (0, 1000, 1), (0, 1000, 2)]);
        let out = apply(w, &parse("max_jobs = 2")).unwrap();
        let names: Vec<&str> = out.jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, ["j1", "j2"]);
        assert_eq!(count(&out, "max_jobs"), 1);
    }

    #[test]
    fn bad_values_name_their_key() {
        let w = workload(&[(0, 1000, 3)]);
        for (text, key) in [
            ("load_scale = 0.0", "transform.load_scale"),
            ("load_scale = -2.0", "transform.load_scale"),
            ("tile = 0", "transform.tile"),
            ("max_jobs = 0", "transform.max_jobs"),
            ("min_gpus = -1", "transform.min_gpus"),
            ("min_gpus = 4\nmax_gpus = 2", "transform.max_gpus"),
            ("start_s = 10.0\nend_s = 5.0", "transform.end_s"),
            ("start_s = -1.0", "transform.start_s"),
            ("include_tenants = []", "transform.include_tenants"),
            ("include_tenants = [\"zz\"]", "transform.include_tenants"),
            ("exclude_tenants = [\"zz\"]", "transform.exclude_tenants"),
            ("start_s = 100.0", "transform"),
        ] {
            match apply(w.clone(), &parse(text)) {
                Err(WorkloadError::Invalid { key: k, .. }) => assert_eq!(k, key, "{text}"),
                other => panic!("{text}: expected Invalid, got {other:?}"),
            }
        }
        assert!(toml::from_str::<TransformConfig>("load_scael = 2.0").is_err());
    }

    /// The message of an `Invalid` error for `key`, or a panic naming what came instead.
    fn invalid_message(w: Workload, text: &str, key: &str) -> String {
        match apply(w, &parse(text)) {
            Err(WorkloadError::Invalid { key: k, message }) if k == key => message,
            other => panic!("{text}: expected Invalid for {key}, got {other:?}"),
        }
    }

    #[test]
    fn a_load_scale_that_pushes_submits_past_the_horizon_is_an_error() {
        // Before: 1e-300 sent every submit to u64::MAX ms (18446744073709551.615 s) and
        // the run "finished" with run time 0.
        let w = workload(&[(0, 1000, 0), (0, 1000, 10)]);
        let m = invalid_message(w.clone(), "load_scale = 1e-300", "transform.load_scale");
        assert!(
            m.contains("job j1 submitted at 10 s") && m.contains("out of range"),
            "{m}"
        );
        // 10 s / 1e-9 = 1e10 s ≤ 31,557,600,000 s: still in range, and exact.
        let out = apply(w, &parse("load_scale = 1e-9")).unwrap();
        assert_eq!(out.jobs[1].submit.as_ms(), 10_000_000_000_000);
    }

    #[test]
    fn window_bounds_past_the_horizon_are_errors() {
        let w = workload(&[(0, 1000, 0)]);
        let m = invalid_message(w.clone(), "end_s = 1e300", "transform.end_s");
        assert!(m.contains("out of range"), "{m}");
        invalid_message(w, "start_s = 1e300", "transform.start_s");
    }

    #[test]
    fn tile_sizes_are_checked_before_allocating() {
        // Before: 10⁹ copies of 4 jobs passed the 2³²−1 check and aborted the process
        // on a 360 GB allocation.
        let w = workload(&[(0, 1000, 0), (0, 1000, 1), (0, 1000, 2), (0, 1000, 3)]);
        let m = invalid_message(w.clone(), "tile = 1000000000", "transform.tile");
        assert_eq!(
            m,
            "tile × jobs = 1000000000 × 4 = 4000000000 jobs exceeds the limit of 50000000 jobs \
             for a workload held whole"
        );
        // 12,500,000 × 4 = 50,000,000: exactly the limit, accepted by the check (not run
        // here, it would build 50 million jobs); one more copy is over it.
        let m = invalid_message(w, "tile = 12500001", "transform.tile");
        assert!(m.contains("= 50000004 jobs exceeds"), "{m}");
    }

    #[test]
    fn tile_copies_past_the_horizon_are_an_error() {
        // Submits 0 and 1e10 s: span = 1e10 · 2 / 1 = 2e10 s; copy 9's last job would be
        // at 9 · 2e10 + 1e10 = 1.9e11 s, past 3.15576e10 s.
        let w = workload(&[(0, 1000, 0), (0, 1000, 10_000_000_000)]);
        let m = invalid_message(w.clone(), "tile = 10", "transform.tile");
        assert!(m.contains("190000000000 s"), "{m}");
        // One copy (tile = 1) changes nothing and is fine.
        assert_eq!(apply(w, &parse("tile = 1")).unwrap().jobs.len(), 2);
    }

    proptest! {
        /// No job is lost: without tiling, jobs out + skipped = jobs in, and the output
        /// is sorted with dense ids.
        #[test]
        fn jobs_in_equal_jobs_out_plus_skipped(
            jobs in prop::collection::vec((0u32..3, 1u32..9000, 0u64..1000), 1..60),
            min in prop::option::of(0.0f64..5.0),
            start in prop::option::of(0.0f64..500.0),
            scale in prop::option::of(0.1f64..10.0),
            max_jobs in prop::option::of(1u64..80),
            exclude_b in any::<bool>(),
        ) {
            let w = workload(&jobs);
            let cfg = TransformConfig {
                exclude_tenants: if exclude_b { vec!["b".into()] } else { vec![] },
                min_gpus: min,
                start_s: start,
                load_scale: scale,
                max_jobs,
                ..Default::default()
            };
            if let Ok(out) = apply(w, &cfg) {
                prop_assert_eq!(out.jobs.len() as u64 + out.skipped.total(), jobs.len() as u64);
                prop_assert!(out.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
                prop_assert!(out.jobs.iter().enumerate().all(|(i, j)| j.id == JobId(i as u32)));
            }
        }
    }
}
