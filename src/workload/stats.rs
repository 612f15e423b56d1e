//! Summary statistics of a workload, printed by `dcsim trace stats`: how many jobs, over
//! what span, how many GPU-hours, how big and how long the jobs are, who submits them,
//! and what the adapter skipped. Used to sanity-check a trace before simulating it.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::workload::{SkipReport, Workload};

/// How many tenants [`TraceStats`]' `Display` lists before summarising the rest.
const TENANTS_SHOWN: usize = 20;

/// Summary of one workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceStats {
    /// Jobs in the workload.
    pub jobs: u64,
    /// Rows read from the sources (jobs + skipped).
    pub rows_read: u64,
    /// Submit time of the first job, seconds.
    pub first_submit_s: f64,
    /// Submit time of the last job, seconds.
    pub last_submit_s: f64,
    /// Latest job end as recorded (recorded start, or submit, plus duration), seconds.
    pub last_end_s: f64,
    /// Σ duration × GPUs (fractional for shared GPUs), in GPU-hours.
    pub gpu_hours: f64,
    /// Whole-GPU jobs by gang size (GPUs → jobs).
    pub gang_sizes: BTreeMap<u32, u64>,
    /// Jobs taking a share of one GPU (`gpu_milli` < 1000).
    pub shared_gpu_jobs: u64,
    /// Distribution of job durations.
    pub duration: DurationStats,
    /// Jobs of zero duration (kept by the adapters; they still queue and place).
    pub zero_duration_jobs: u64,
    /// Jobs that outlived their trace (duration runs to the trace end).
    pub open_ended_jobs: u64,
    /// Jobs and GPU-hours per tenant, most jobs first.
    pub tenants: Vec<TenantStats>,
    /// Rows not turned into jobs, by reason.
    pub skipped: SkipReport,
}

/// Job-duration distribution, in seconds (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct DurationStats {
    /// Arithmetic mean.
    pub mean_s: f64,
    /// Median.
    pub p50_s: f64,
    /// 90th percentile.
    pub p90_s: f64,
    /// 99th percentile.
    pub p99_s: f64,
    /// Longest job.
    pub max_s: f64,
}

/// One tenant's share of the workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantStats {
    /// Tenant name.
    pub name: String,
    /// Jobs submitted.
    pub jobs: u64,
    /// GPU-hours of those jobs.
    pub gpu_hours: f64,
}

impl TraceStats {
    /// Computes the statistics of `w`.
    pub fn compute(w: &Workload) -> TraceStats {
        let mut gang_sizes = BTreeMap::new();
        let mut shared_gpu_jobs = 0;
        let mut per_tenant = vec![(0u64, 0f64); w.tenants.len()];
        let mut durations = Vec::with_capacity(w.jobs.len());
        let mut gpu_hours = 0.0;
        let mut last_end = 0u64;
        for j in &w.jobs {
            let hours = j.duration.as_secs_f64() * j.demand.gpus_f64() / 3600.0;
            gpu_hours += hours;
            if j.demand.is_whole() {
                *gang_sizes.entry(j.demand.gpus).or_insert(0) += 1;
            } else {
                shared_gpu_jobs += 1;
            }
            if let Some(t) = per_tenant.get_mut(j.tenant.0 as usize) {
                t.0 += 1;
                t.1 += hours;
            }
            durations.push(j.duration.as_ms());
            let start = j.recorded_start.unwrap_or(j.submit);
            last_end = last_end.max((start + j.duration).as_ms());
        }
        durations.sort_unstable();
        let mut tenants: Vec<TenantStats> = w
            .tenants
            .iter()
            .zip(per_tenant)
            .map(|(name, (jobs, gpu_hours))| TenantStats {
                name: name.clone(),
                jobs,
                gpu_hours,
            })
            .collect();
        tenants.sort_by(|a, b| b.jobs.cmp(&a.jobs).then_with(|| a.name.cmp(&b.name)));
        let secs = |ms: u64| ms as f64 / 1000.0;
        TraceStats {
            jobs: w.jobs.len() as u64,
            rows_read: w.rows_read,
            first_submit_s: w.jobs.first().map_or(0.0, |j| j.submit.as_secs_f64()),
            last_submit_s: w.jobs.last().map_or(0.0, |j| j.submit.as_secs_f64()),
            last_end_s: secs(last_end),
            gpu_hours,
            gang_sizes,
            shared_gpu_jobs,
            duration: DurationStats {
                mean_s: if durations.is_empty() {
                    0.0
                } else {
                    secs(durations.iter().sum::<u64>()) / durations.len() as f64
                },
                p50_s: secs(percentile(&durations, 50)),
                p90_s: secs(percentile(&durations, 90)),
                p99_s: secs(percentile(&durations, 99)),
                max_s: secs(durations.last().copied().unwrap_or(0)),
            },
            zero_duration_jobs: durations.iter().take_while(|&&d| d == 0).count() as u64,
            open_ended_jobs: w.jobs.iter().filter(|j| j.open_ended).count() as u64,
            tenants,
            skipped: w.skipped.clone(),
        }
    }
}

/// Nearest-rank `p`th percentile of sorted values (0 when empty).
fn percentile(sorted: &[u64], p: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1);
    sorted[(rank - 1) as usize]
}

/// Seconds as a short human duration (`45s`, `12.3m`, `4.56h`, `7.89d`).
fn human(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.0}s")
    } else if s < 3600.0 {
        format!("{:.1}m", s / 60.0)
    } else if s < 86_400.0 {
        format!("{:.2}h", s / 3600.0)
    } else {
        format!("{:.2}d", s / 86_400.0)
    }
}

impl fmt::Display for TraceStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |n: u64| {
            if self.jobs == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.jobs as f64
            }
        };
        writeln!(
            f,
            "jobs            {:>12}   (rows read {}, skipped {})",
            self.jobs,
            self.rows_read,
            self.skipped.total()
        )?;
        writeln!(
            f,
            "submits         {:>12}   from {:.0} s to {:.0} s; last end {:.0} s ({})",
            human(self.last_submit_s - self.first_submit_s),
            self.first_submit_s,
            self.last_submit_s,
            self.last_end_s,
            human(self.last_end_s),
        )?;
        writeln!(f, "GPU-hours       {:>12.1}", self.gpu_hours)?;
        let d = &self.duration;
        writeln!(
            f,
            "duration        mean {}  p50 {}  p90 {}  p99 {}  max {}",
            human(d.mean_s),
            human(d.p50_s),
            human(d.p90_s),
            human(d.p99_s),
            human(d.max_s)
        )?;
        if self.zero_duration_jobs > 0 || self.open_ended_jobs > 0 {
            writeln!(
                f,
                "                zero-duration {}  open-ended {}",
                self.zero_duration_jobs, self.open_ended_jobs
            )?;
        }
        writeln!(f, "\n{:<14} {:>10} {:>7}", "GPUs per job", "jobs", "%")?;
        if self.shared_gpu_jobs > 0 {
            writeln!(
                f,
                "{:<14} {:>10} {:>6.1}%",
                "<1 (shared)",
                self.shared_gpu_jobs,
                pct(self.shared_gpu_jobs)
            )?;
        }
        for (g, n) in &self.gang_sizes {
            writeln!(f, "{:<14} {:>10} {:>6.1}%", g, n, pct(*n))?;
        }
        writeln!(
            f,
            "\n{:<24} {:>10} {:>7} {:>14}",
            "tenant", "jobs", "%", "GPU-hours"
        )?;
        for t in self.tenants.iter().take(TENANTS_SHOWN) {
            writeln!(
                f,
                "{:<24} {:>10} {:>6.1}% {:>14.1}",
                t.name,
                t.jobs,
                pct(t.jobs),
                t.gpu_hours
            )?;
        }
        if self.tenants.len() > TENANTS_SHOWN {
            let rest = &self.tenants[TENANTS_SHOWN..];
            let jobs: u64 = rest.iter().map(|t| t.jobs).sum();
            let hours: f64 = rest.iter().map(|t| t.gpu_hours).sum();
            let label = format!("({} more)", rest.len());
            writeln!(f, "{label:<24} {jobs:>10} {:>6.1}% {hours:>14.1}", pct(jobs))?;
        }
        if !self.skipped.reasons.is_empty() {
            writeln!(f, "\n{:<26} {:>10}  first at", "skipped: reason", "rows")?;
            for (reason, c) in &self.skipped.reasons {
                writeln!(f, "{:<26} {:>10}  {}", reason, c.count, c.first)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::workload::{GpuDemand, JobSpec, TenantId};

    fn job(submit: u64, dur_s: u64, demand: GpuDemand, tenant: u32) -> JobSpec {
        let (at, duration) = (SimTime::from_secs(submit), SimTime::from_secs(dur_s));
        JobSpec::new(String::new(), at, duration, demand, TenantId(tenant))
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), 50);
        assert_eq!(percentile(&v, 99), 99);
        assert_eq!(percentile(&[7], 90), 7);
        assert_eq!(percentile(&[], 50), 0);
    }

    #[test]
    fn stats_of_a_small_workload() {
        let mut w = Workload {
            jobs: vec![
                job(0, 3600, GpuDemand::whole(2), 0),
                job(10, 0, GpuDemand::share(500), 1),
                job(20, 7200, GpuDemand::whole(2), 1),
            ],
            tenants: vec!["a".into(), "b".into()],
            rows_read: 4,
            ..Default::default()
        };
        w.skipped.skip("cpu_only", || "f:2".into());
        w.finish();
        let s = TraceStats::compute(&w);
        assert_eq!(s.jobs, 3);
        assert_eq!(s.gpu_hours, 6.0);
        assert_eq!(s.gang_sizes, BTreeMap::from([(2, 2)]));
        assert_eq!(s.shared_gpu_jobs, 1);
        assert_eq!(s.zero_duration_jobs, 1);
        assert_eq!(s.duration.p50_s, 3600.0);
        assert_eq!(s.duration.max_s, 7200.0);
        assert_eq!(s.last_end_s, 7220.0);
        assert_eq!(s.tenants[0].name, "b");
        assert_eq!(s.tenants[0].gpu_hours, 4.0);
        let text = s.to_string();
        assert!(text.contains("cpu_only"), "{text}");
        assert!(text.contains("<1 (shared)"), "{text}");
    }
}
