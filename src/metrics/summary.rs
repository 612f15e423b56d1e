use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::SimTime;
use crate::workload::{SkipReport, Workload, MILLI_PER_GPU};

use super::records::{JobRecord, Outcome};
use super::series::TimeSeries;
use super::stats::Distribution;

/// Run time below which bounded slowdown treats a job as this long (Feitelson et al.,
/// "Theory and Practice in Parallel Job Scheduling", JSSPP 1997, use τ = 10 s).
pub const BOUNDED_SLOWDOWN_TAU_S: f64 = 10.0;

/// Per-tenant results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantSummary {
    /// Tenant name.
    pub tenant: String,
    /// Jobs submitted (skipped included).
    pub jobs: u64,
    /// Jobs that ran.
    pub ran: u64,
    /// GPU-hours allocated to its jobs.
    pub gpu_hours: f64,
    /// Mean wait of its jobs that ran, seconds.
    pub mean_wait_s: f64,
    /// Mean bounded slowdown of its jobs that ran.
    pub mean_bounded_slowdown: f64,
}

/// Headline results of a run. Times in seconds, GPU quantities in GPUs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Rows read from the trace files (or jobs generated).
    pub rows_read: u64,
    /// Rows the trace adapter and transforms skipped, by reason.
    pub rows_skipped: SkipReport,
    /// Jobs handed to the simulator.
    pub jobs: u64,
    /// Jobs that ran to their end.
    pub completed: u64,
    /// Jobs that ran to the end of the trace (their real end is unknown).
    pub censored: u64,
    /// Jobs still waiting when the run ended (the policy never started them).
    pub unfinished: u64,
    /// Jobs the cluster cannot host, by reason.
    pub jobs_skipped: BTreeMap<String, u64>,
    /// As-recorded mode: jobs run without a placement because none fit (0 otherwise).
    pub unplaced: u64,
    /// Waiting time of jobs that ran.
    pub wait_s: Distribution,
    /// Job completion time (submit to end) of jobs that ran.
    pub jct_s: Distribution,
    /// Bounded slowdown max(1, JCT / max(run time, τ)) with τ = 10 s.
    pub bounded_slowdown: Distribution,
    /// First submission to last end.
    pub makespan_s: f64,
    /// GPUs in the cluster.
    pub cluster_gpus: u64,
    /// Allocated GPU-seconds / (cluster GPUs × makespan).
    pub gpu_utilization: f64,
    /// GPU-hours allocated to jobs.
    pub allocated_gpu_hours: f64,
    /// The most GPUs allocated at once.
    pub peak_busy_gpus: f64,
    /// Time-average expected fragmented GPUs over the makespan (Weng et al., ATC 2023;
    /// `frag_gpus` in `timeseries.csv`).
    pub mean_frag_gpus: Option<f64>,
    /// Preemptions, all jobs.
    pub preemptions: u64,
    /// GPU-hours of work lost to preemptions (redone after restarts).
    pub lost_gpu_hours: f64,
    /// Jobs that ran, per hour of makespan.
    pub throughput_jobs_per_hour: f64,
    /// Time-average number of waiting jobs over the makespan.
    pub mean_queue_length: f64,
    /// Arrival rate over the makespan, jobs per second (λ in Little's law L = λW).
    pub arrival_rate_per_s: f64,
    /// Per-tenant results, by tenant name.
    pub tenants: Vec<TenantSummary>,
    /// Power and energy, when the run had power accounting on (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<crate::power::PowerSummary>,
}

impl Summary {
    /// Computes the summary of a finished run.
    pub fn compute(
        workload: &Workload,
        records: &[JobRecord],
        series: &TimeSeries,
        cluster_gpus: u64,
    ) -> Summary {
        let ran: Vec<&JobRecord> = records
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Completed | Outcome::Censored))
            .collect();
        let secs = |t: SimTime| t.as_secs_f64();
        let mut waits: Vec<f64> = ran.iter().filter_map(|r| r.wait()).map(secs).collect();
        let mut jcts: Vec<f64> = ran.iter().filter_map(|r| r.jct()).map(secs).collect();
        let mut slowdowns: Vec<f64> = ran.iter().filter_map(|r| bounded_slowdown(r)).collect();

        let first_submit = records.iter().map(|r| r.submit).min().unwrap_or(SimTime::ZERO);
        let last_end = ran.iter().filter_map(|r| r.end).max().unwrap_or(first_submit);
        let makespan = last_end - first_submit;
        let span_s = makespan.as_secs_f64();
        let busy_milli_ms = series.busy_integral();
        let gpu_seconds = busy_milli_ms as f64 / (f64::from(MILLI_PER_GPU) * 1000.0);
        let per_span = |x: f64| if span_s > 0.0 { x / span_s } else { 0.0 };

        let mut jobs_skipped = BTreeMap::new();
        for r in records.iter().filter(|r| r.outcome == Outcome::Skipped) {
            *jobs_skipped
                .entry(r.skip_reason.unwrap_or("unknown").to_string())
                .or_insert(0) += 1;
        }
        let count = |o: Outcome| ran.iter().filter(|r| r.outcome == o).count() as u64;

        Summary {
            rows_read: workload.rows_read,
            rows_skipped: workload.skipped.clone(),
            jobs: records.len() as u64,
            completed: count(Outcome::Completed),
            censored: count(Outcome::Censored),
            unfinished: records
                .iter()
                .filter(|r| r.outcome == Outcome::Unfinished)
                .count() as u64,
            jobs_skipped,
            unplaced: ran.iter().filter(|r| r.nodes == 0).count() as u64,
            wait_s: Distribution::of(&mut waits),
            jct_s: Distribution::of(&mut jcts),
            bounded_slowdown: Distribution::of(&mut slowdowns),
            makespan_s: span_s,
            cluster_gpus,
            gpu_utilization: per_span(gpu_seconds) / cluster_gpus.max(1) as f64,
            allocated_gpu_hours: gpu_seconds / 3600.0,
            peak_busy_gpus: series.peak_busy_milli() as f64 / f64::from(MILLI_PER_GPU),
            mean_frag_gpus: series
                .frag_tracked
                .then(|| per_span(series.frag_integral() as f64 / (f64::from(MILLI_PER_GPU) * 1000.0))),
            preemptions: records.iter().map(|r| u64::from(r.preemptions)).sum(),
            lost_gpu_hours: records
                .iter()
                .map(|r| r.lost_work.as_secs_f64() * r.demand.gpus_f64())
                .sum::<f64>()
                / 3600.0,
            throughput_jobs_per_hour: per_span(ran.len() as f64) * 3600.0,
            mean_queue_length: per_span(series.queued_integral() as f64 / 1000.0),
            arrival_rate_per_s: per_span(records.len() as f64 - jobs_skipped_total(records) as f64),
            tenants: tenant_summaries(workload, records),
            power: None,
        }
    }
}

fn jobs_skipped_total(records: &[JobRecord]) -> usize {
    records.iter().filter(|r| r.outcome == Outcome::Skipped).count()
}

fn bounded_slowdown(r: &JobRecord) -> Option<f64> {
    let jct = r.jct()?.as_secs_f64();
    let run = r.run_time()?.as_secs_f64();
    Some((jct / run.max(BOUNDED_SLOWDOWN_TAU_S)).max(1.0))
}

fn tenant_summaries(workload: &Workload, records: &[JobRecord]) -> Vec<TenantSummary> {
    #[derive(Default)]
    struct Acc {
        jobs: u64,
        ran: u64,
        gpu_s: f64,
        wait_s: f64,
        slowdown: f64,
    }
    let mut acc: Vec<Acc> = (0..workload.tenants.len()).map(|_| Acc::default()).collect();
    for r in records {
        let Some(a) = acc.get_mut(r.tenant.0 as usize) else {
            continue;
        };
        a.jobs += 1;
        if let (Some(w), Some(run), Some(sd)) = (r.wait(), r.run_time(), bounded_slowdown(r)) {
            a.ran += 1;
            a.gpu_s += r.demand.gpus_f64() * run.as_secs_f64();
            a.wait_s += w.as_secs_f64();
            a.slowdown += sd;
        }
    }
    let mut out: Vec<TenantSummary> = acc
        .into_iter()
        .enumerate()
        .filter(|(_, a)| a.jobs > 0)
        .map(|(i, a)| {
            let per = |x: f64| if a.ran > 0 { x / a.ran as f64 } else { 0.0 };
            TenantSummary {
                tenant: workload.tenants[i].clone(),
                jobs: a.jobs,
                ran: a.ran,
                gpu_hours: a.gpu_s / 3600.0,
                mean_wait_s: per(a.wait_s),
                mean_bounded_slowdown: per(a.slowdown),
            }
        })
        .collect();
    out.sort_by(|a, b| a.tenant.cmp(&b.tenant));
    out
}
