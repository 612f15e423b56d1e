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

/// Which stretch of time `gpu_utilization_window` was taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UtilizationWindow {
    /// First to last submission of the jobs the cluster could host: the load the trace
    /// offered, without the drain after the last arrival.
    Arrivals,
    /// The scenario's `[metrics] utilization_window_s`.
    Configured,
}

impl UtilizationWindow {
    /// The name written in outputs and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            UtilizationWindow::Arrivals => "arrivals",
            UtilizationWindow::Configured => "configured",
        }
    }
}

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
    /// Mean wait to the first start of its jobs that ran, seconds.
    pub mean_wait_s: f64,
    /// Mean time not running (queued or suspended) of its jobs that ran, seconds.
    pub mean_not_running_s: f64,
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
    /// Delay from submission to the first start, of jobs that ran. Under preemptive
    /// policies a job can start at once and then spend long stretches suspended: see
    /// `not_running_s`.
    pub wait_s: Distribution,
    /// Time between submission and end spent not running (queued before the first
    /// start plus suspended after preemptions; JCT − run time), of jobs that ran.
    pub not_running_s: Distribution,
    /// Job completion time (submit to end) of jobs that ran.
    pub jct_s: Distribution,
    /// Bounded slowdown max(1, JCT / max(run time, τ)) with τ = 10 s.
    pub bounded_slowdown: Distribution,
    /// First submission to last end.
    pub makespan_s: f64,
    /// GPUs in the cluster.
    pub cluster_gpus: u64,
    /// Allocated GPU-seconds / (cluster GPUs × makespan). A long drain after the last
    /// arrival pulls it towards the same value under every policy: see
    /// `gpu_utilization_window`.
    pub gpu_utilization: f64,
    /// Allocated GPU-seconds within `utilization_window_s` / (cluster GPUs × its length);
    /// 0 for an empty window.
    pub gpu_utilization_window: f64,
    /// What `utilization_window_s` is: the arrival window or the scenario's.
    pub utilization_window: UtilizationWindow,
    /// `[start, end]` of the utilization window, seconds of trace time.
    pub utilization_window_s: [f64; 2],
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
    /// The bill's totals, when the scenario has `[economics]` (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub economics: Option<crate::economics::EconSummary>,
}

impl Summary {
    /// Computes the summary of a finished run.
    pub fn compute(
        workload: &Workload,
        records: &[JobRecord],
        series: &TimeSeries,
        cluster_gpus: u64,
    ) -> Summary {
        // One pass over the records (they are large and a run may hold millions).
        let secs = |t: SimTime| t.as_secs_f64();
        let n = records.len();
        let (mut waits, mut not_running, mut jcts, mut slowdowns) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut jobs_skipped: BTreeMap<String, u64> = BTreeMap::new();
        let mut tenants = TenantAcc::new(workload.tenants.len());
        let (mut completed, mut censored, mut unfinished, mut unplaced, mut skipped) =
            (0u64, 0u64, 0u64, 0u64, 0u64);
        let (mut preemptions, mut lost_gpu_s) = (0u64, 0.0);
        let mut first_submit: Option<SimTime> = None;
        let mut last_end: Option<SimTime> = None;
        let mut arrivals: Option<(SimTime, SimTime)> = None;
        for r in records {
            if r.outcome != Outcome::Skipped {
                arrivals =
                    Some(arrivals.map_or((r.submit, r.submit), |(a, b)| (a.min(r.submit), b.max(r.submit))));
            }
            first_submit = Some(first_submit.map_or(r.submit, |f| f.min(r.submit)));
            preemptions += u64::from(r.preemptions);
            lost_gpu_s += r.lost_work.as_secs_f64() * r.demand.gpus_f64();
            tenants.add(r);
            match r.outcome {
                Outcome::Completed | Outcome::Censored => {
                    if r.outcome == Outcome::Completed {
                        completed += 1;
                    } else {
                        censored += 1;
                    }
                    unplaced += u64::from(r.nodes == 0);
                    if let Some(end) = r.end {
                        last_end = Some(last_end.map_or(end, |l| l.max(end)));
                    }
                    waits.extend(r.wait().map(secs));
                    not_running.extend(r.not_running().map(secs));
                    jcts.extend(r.jct().map(secs));
                    slowdowns.extend(bounded_slowdown(r));
                }
                Outcome::Skipped => {
                    skipped += 1;
                    *jobs_skipped
                        .entry(r.skip_reason.unwrap_or("unknown").to_string())
                        .or_insert(0) += 1;
                }
                Outcome::Unfinished => unfinished += 1,
            }
        }
        let first_submit = first_submit.unwrap_or(SimTime::ZERO);
        let makespan = last_end.unwrap_or(first_submit) - first_submit;
        let span_s = makespan.as_secs_f64();
        let busy_milli_ms = series.busy_integral();
        let gpu_seconds = busy_milli_ms as f64 / (f64::from(MILLI_PER_GPU) * 1000.0);
        let per_span = |x: f64| if span_s > 0.0 { x / span_s } else { 0.0 };
        let ran = completed + censored;

        let mut summary = Summary {
            rows_read: workload.rows_read,
            rows_skipped: workload.skipped.clone(),
            jobs: records.len() as u64,
            completed,
            censored,
            unfinished,
            jobs_skipped,
            unplaced,
            wait_s: Distribution::of(&mut waits),
            not_running_s: Distribution::of(&mut not_running),
            jct_s: Distribution::of(&mut jcts),
            bounded_slowdown: Distribution::of(&mut slowdowns),
            makespan_s: span_s,
            cluster_gpus,
            gpu_utilization: per_span(gpu_seconds) / cluster_gpus.max(1) as f64,
            gpu_utilization_window: 0.0,
            utilization_window: UtilizationWindow::Arrivals,
            utilization_window_s: [0.0; 2],
            allocated_gpu_hours: gpu_seconds / 3600.0,
            peak_busy_gpus: series.peak_busy_milli() as f64 / f64::from(MILLI_PER_GPU),
            mean_frag_gpus: series
                .frag_tracked
                .then(|| per_span(series.frag_integral() as f64 / (f64::from(MILLI_PER_GPU) * 1000.0))),
            preemptions,
            lost_gpu_hours: lost_gpu_s / 3600.0,
            throughput_jobs_per_hour: per_span(ran as f64) * 3600.0,
            mean_queue_length: per_span(series.queued_integral() as f64 / 1000.0),
            arrival_rate_per_s: per_span((n as u64 - skipped) as f64),
            tenants: tenants.summaries(workload),
            power: None,
            economics: None,
        };
        let (from, to) = arrivals.unwrap_or((first_submit, first_submit));
        summary.set_utilization_window(series, from, to, UtilizationWindow::Arrivals);
        summary
    }

    /// Sets `gpu_utilization_window` to the utilization over `[from, to)` of `series`
    /// (the run's own time series), and records the window and where it came from.
    pub fn set_utilization_window(
        &mut self,
        series: &TimeSeries,
        from: SimTime,
        to: SimTime,
        source: UtilizationWindow,
    ) {
        let span_s = to.saturating_sub(from).as_secs_f64();
        let gpu_s = series.busy_integral_between(from, to) as f64 / (f64::from(MILLI_PER_GPU) * 1000.0);
        self.gpu_utilization_window = if span_s > 0.0 {
            gpu_s / span_s / self.cluster_gpus.max(1) as f64
        } else {
            0.0
        };
        self.utilization_window = source;
        self.utilization_window_s = [from.as_secs_f64(), to.as_secs_f64()];
    }
}

fn bounded_slowdown(r: &JobRecord) -> Option<f64> {
    let jct = r.jct()?.as_secs_f64();
    let run = r.run_time()?.as_secs_f64();
    Some((jct / run.max(BOUNDED_SLOWDOWN_TAU_S)).max(1.0))
}

/// Per-tenant sums, gathered in the same pass as everything else.
struct TenantAcc(Vec<TenantSums>);

#[derive(Default)]
struct TenantSums {
    jobs: u64,
    ran: u64,
    gpu_s: f64,
    wait_s: f64,
    not_running_s: f64,
    slowdown: f64,
}

impl TenantAcc {
    fn new(tenants: usize) -> Self {
        TenantAcc((0..tenants).map(|_| TenantSums::default()).collect())
    }

    fn add(&mut self, r: &JobRecord) {
        let Some(a) = self.0.get_mut(r.tenant.0 as usize) else {
            return;
        };
        a.jobs += 1;
        if let (Some(w), Some(run), Some(sd)) = (r.wait(), r.run_time(), bounded_slowdown(r)) {
            a.ran += 1;
            a.gpu_s += r.demand.gpus_f64() * run.as_secs_f64();
            a.wait_s += w.as_secs_f64();
            a.not_running_s += r.not_running().unwrap_or(SimTime::ZERO).as_secs_f64();
            a.slowdown += sd;
        }
    }

    fn summaries(self, workload: &Workload) -> Vec<TenantSummary> {
        let mut out: Vec<TenantSummary> = self
            .0
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
                    mean_not_running_s: per(a.not_running_s),
                    mean_bounded_slowdown: per(a.slowdown),
                }
            })
            .collect();
        out.sort_by(|a, b| a.tenant.cmp(&b.tenant));
        out
    }
}
