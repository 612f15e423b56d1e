use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::SimTime;
use crate::workload::{SkipReport, TraceEpoch, Workload, MILLI_PER_GPU};

use super::figures::{slowdown, JobFigures};
use super::recorder::{SeriesFigures, WindowIntegral};
use super::records::{JobRecord, Outcome};
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
    /// Jobs ended by a failure at their retry limit (absent when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub jobs_failed: u64,
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
    /// The bound on the relative error of the four distributions' percentiles when more
    /// jobs ran than the summary keeps exactly ([`crate::metrics::EXACT_JOBS`]): they
    /// come from a streaming sketch (counts, means and maxima stay exact). Absent when
    /// every percentile is exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentile_relative_error: Option<f64>,
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
    /// The trace clock's reading at time 0, when the trace has real timestamps (absent
    /// otherwise): plots draw calendar dates from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<TraceEpoch>,
    /// Failures, goodput and availability, when the run had `[reliability]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reliability: Option<crate::reliability::ReliabilitySummary>,
    /// Network slowdown and spine crossings, when the run had the fabric on (absent
    /// otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<crate::network::NetworkSummary>,
    /// The bill's totals, when the scenario has `[economics]` (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub economics: Option<crate::economics::EconSummary>,
}

/// Builds a run's [`Summary`] from its job records one at a time, so a run need not
/// keep the records: it keeps, per job that ran, the three durations its percentiles
/// are derived from (wait, JCT and run time, 4 bytes each in the common case), up to
/// [`crate::metrics::EXACT_JOBS`] jobs and streaming figures past that
/// ([`JobFigures`]), and exact counts and sums.
pub struct SummaryBuilder {
    figures: JobFigures,
    jobs: u64,
    jobs_skipped: BTreeMap<String, u64>,
    tenants: TenantAcc,
    completed: u64,
    censored: u64,
    unfinished: u64,
    failed: u64,
    unplaced: u64,
    skipped: u64,
    preemptions: u64,
    lost_gpu_s: f64,
    first_submit: Option<SimTime>,
    last_end: Option<SimTime>,
}

impl SummaryBuilder {
    /// A builder for a workload of `tenants` tenants and about `jobs` jobs (sizes the
    /// per-job figures once).
    pub fn new(tenants: usize, jobs: usize) -> Self {
        SummaryBuilder {
            figures: JobFigures::new(jobs),
            jobs: 0,
            jobs_skipped: BTreeMap::new(),
            tenants: TenantAcc::new(tenants),
            completed: 0,
            censored: 0,
            unfinished: 0,
            failed: 0,
            unplaced: 0,
            skipped: 0,
            preemptions: 0,
            lost_gpu_s: 0.0,
            first_submit: None,
            last_end: None,
        }
    }

    /// Takes one job's record (in job-id order, so sums add up in the same order on
    /// every run).
    pub fn add(&mut self, r: &JobRecord) {
        self.jobs += 1;
        self.first_submit = Some(self.first_submit.map_or(r.submit, |f| f.min(r.submit)));
        self.preemptions += u64::from(r.preemptions);
        self.lost_gpu_s += r.lost_work.as_secs_f64() * r.demand.gpus_f64();
        self.tenants.add(r);
        match r.outcome {
            Outcome::Completed | Outcome::Censored => {
                if r.outcome == Outcome::Completed {
                    self.completed += 1;
                } else {
                    self.censored += 1;
                }
                self.unplaced += u64::from(r.nodes == 0);
                if let Some(end) = r.end {
                    self.last_end = Some(self.last_end.map_or(end, |l| l.max(end)));
                }
                // A job that ran has a start and an end, so all three figures.
                if let (Some(wait), Some(jct), Some(run)) = (r.wait(), r.jct(), r.run_time()) {
                    self.figures.push(wait, jct, run);
                }
            }
            Outcome::Skipped => {
                self.skipped += 1;
                *self
                    .jobs_skipped
                    .entry(r.skip_reason.unwrap_or("unknown").to_string())
                    .or_insert(0) += 1;
            }
            Outcome::Unfinished => self.unfinished += 1,
            Outcome::Failed => self.failed += 1,
        }
    }

    /// The summary, from the records taken and the series' figures. The utilization
    /// window is `series.configured` when set, else the arrival window.
    pub fn finish(self, workload: &Workload, series: &SeriesFigures, cluster_gpus: u64) -> Summary {
        let first_submit = self.first_submit.unwrap_or(SimTime::ZERO);
        let makespan = self.last_end.unwrap_or(first_submit) - first_submit;
        let span_s = makespan.as_secs_f64();
        let gpu_seconds = series.busy_integral as f64 / (f64::from(MILLI_PER_GPU) * 1000.0);
        let per_span = |x: f64| if span_s > 0.0 { x / span_s } else { 0.0 };
        let ran = self.completed + self.censored;
        let d = self.figures.distributions();
        let mut summary = Summary {
            rows_read: workload.rows_read,
            rows_skipped: workload.skipped.clone(),
            jobs: self.jobs,
            completed: self.completed,
            censored: self.censored,
            unfinished: self.unfinished,
            jobs_failed: self.failed,
            jobs_skipped: self.jobs_skipped,
            unplaced: self.unplaced,
            wait_s: d.wait_s,
            not_running_s: d.not_running_s,
            jct_s: d.jct_s,
            bounded_slowdown: d.bounded_slowdown,
            percentile_relative_error: d.relative_error,
            makespan_s: span_s,
            cluster_gpus,
            gpu_utilization: per_span(gpu_seconds) / cluster_gpus.max(1) as f64,
            gpu_utilization_window: 0.0,
            utilization_window: UtilizationWindow::Arrivals,
            utilization_window_s: [0.0; 2],
            allocated_gpu_hours: gpu_seconds / 3600.0,
            peak_busy_gpus: series.peak_busy_milli as f64 / f64::from(MILLI_PER_GPU),
            mean_frag_gpus: series
                .frag_tracked
                .then(|| per_span(series.frag_integral as f64 / (f64::from(MILLI_PER_GPU) * 1000.0))),
            preemptions: self.preemptions,
            lost_gpu_hours: self.lost_gpu_s / 3600.0,
            throughput_jobs_per_hour: per_span(ran as f64) * 3600.0,
            mean_queue_length: per_span(series.queued_integral as f64 / 1000.0),
            arrival_rate_per_s: per_span((self.jobs - self.skipped) as f64),
            tenants: self.tenants.summaries(workload),
            power: None,
            epoch: workload.epoch,
            reliability: None,
            network: None,
            economics: None,
        };
        match &series.configured {
            Some(w) => summary.set_utilization_window(w, UtilizationWindow::Configured),
            None => summary.set_utilization_window(&series.arrivals, UtilizationWindow::Arrivals),
        }
        summary
    }
}

impl Summary {
    /// Sets `gpu_utilization_window` to the utilization over the window `w` (measured
    /// on the run's own time series), and records the window and where it came from.
    fn set_utilization_window(&mut self, w: &WindowIntegral, source: UtilizationWindow) {
        let span_s = w.to.saturating_sub(w.from).as_secs_f64();
        let gpu_s = w.busy as f64 / (f64::from(MILLI_PER_GPU) * 1000.0);
        self.gpu_utilization_window = if span_s > 0.0 {
            gpu_s / span_s / self.cluster_gpus.max(1) as f64
        } else {
            0.0
        };
        self.utilization_window = source;
        self.utilization_window_s = [w.from.as_secs_f64(), w.to.as_secs_f64()];
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn bounded_slowdown(r: &JobRecord) -> Option<f64> {
    Some(slowdown(r.jct()?, r.run_time()?))
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
        if r.outcome == Outcome::Failed {
            return;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Durations;
    use crate::workload::{GpuDemand, JobId, TenantId};

    /// The builder keeps milliseconds and derives seconds at the end; its
    /// distributions must be exactly those of the `f64` seconds taken record by record
    /// in job-id order (what it kept before issue 17), means included, on
    /// pseudo-random records with waits and JCTs on both sides of the 32-bit limit
    /// (49.7 days) and preempted jobs whose run time is less than `end − start`.
    #[test]
    fn compact_durations_give_the_distributions_of_f64_seconds() {
        let mut rng = crate::engine::XorShift(0x9E37_79B9_7F4A_7C15);
        let mut next = |m: u64| rng.below(m);
        let records: Vec<JobRecord> = (0..20_000u32)
            .map(|i| {
                let submit = next(1 << 40);
                let long = next(50) == 0;
                let wait = if long { next(1 << 34) } else { next(100_000_000) };
                let run = next(if long { 1 << 33 } else { 10_000_000 }) + 1;
                let suspended = if next(4) == 0 { next(1_000_000) } else { 0 };
                let start = submit + wait;
                JobRecord {
                    id: JobId(i),
                    submit: SimTime(submit),
                    start: Some(SimTime(start)),
                    end: Some(SimTime(start + run + suspended)),
                    demand: GpuDemand::whole(1 + next(8) as u32),
                    busy: SimTime(run),
                    nodes: 1,
                    preemptions: u32::from(suspended > 0),
                    lost_work: SimTime::ZERO,
                    gpu_model: Some(0),
                    tenant: TenantId(0),
                    outcome: Outcome::Completed,
                    skip_reason: None,
                }
            })
            .collect();
        let workload = Workload {
            tenants: vec!["t".into()],
            ..Workload::default()
        };
        let mut b = SummaryBuilder::new(1, records.len());
        records.iter().for_each(|r| b.add(r));
        assert!(matches!(
            &b.figures,
            JobFigures::Exact {
                waits: Durations::Wide(_),
                jcts: Durations::Wide(_),
                ..
            }
        ));
        let series = SeriesFigures {
            busy_integral: 0,
            queued_integral: 0,
            frag_integral: 0,
            peak_busy_milli: 0,
            frag_tracked: false,
            end: None,
            arrivals: WindowIntegral {
                from: SimTime::ZERO,
                to: SimTime::ZERO,
                busy: 0,
            },
            configured: None,
        };
        let s = b.finish(&workload, &series, 8);
        let of = |f: &dyn Fn(&JobRecord) -> f64| {
            Distribution::of(&mut records.iter().map(f).collect::<Vec<f64>>())
        };
        let secs = |t: Option<SimTime>| t.map_or(f64::NAN, SimTime::as_secs_f64);
        assert_eq!(s.wait_s, of(&|r| secs(r.wait())));
        assert_eq!(s.not_running_s, of(&|r| secs(r.not_running())));
        assert_eq!(s.jct_s, of(&|r| secs(r.jct())));
        assert_eq!(
            s.bounded_slowdown,
            of(&|r| bounded_slowdown(r).unwrap_or(f64::NAN))
        );
        assert!(s.wait_s.max > f64::from(u32::MAX) / 1000.0);
    }
}
