//! What the reliability model hands over: one row per failure (`failures.csv`), figures
//! per job, and the run's summary (goodput, availability, failures by component,
//! observed MTTF per job size).

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::component::Component;
use crate::engine::SimTime;
use crate::metrics::JobRecord;
use crate::workload::Workload;

/// Formats `args` into `cell` (cleared first) and writes it as the next field.
fn write_cell<W: Write>(
    w: &mut csv::Writer<W>,
    cell: &mut String,
    args: std::fmt::Arguments<'_>,
) -> csv::Result<()> {
    use std::fmt::Write as _;
    cell.clear();
    cell.write_fmt(args).expect("formatting into a String");
    w.write_field(cell.as_str())
}

/// One failure and its blast radius.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRecord {
    /// When it happened.
    pub at: SimTime,
    /// The component that failed.
    pub component: Component,
    /// Index of its cause in [`ReliabilityOutput::causes`].
    pub cause: usize,
    /// Jobs it interrupted.
    pub jobs_hit: u32,
    /// GPUs those jobs held.
    pub gpus_of_jobs_hit: u32,
    /// GPUs of the nodes it took out of service.
    pub gpus_idled: u32,
    /// GPU-hours of work the interrupted jobs lost (done since their last checkpoint).
    pub lost_gpu_h: f64,
    /// Time to repair drawn for it, hours.
    pub repair_h: f64,
}

/// Reliability figures of one job over all its runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobReliability {
    /// Runs ended by a failure.
    pub interruptions: u32,
    /// Checkpoints begun.
    pub checkpoints: u32,
    /// GPU-hours of work lost when its runs stopped early (failures and preemptions):
    /// the work since the last checkpoint.
    pub lost_gpu_h: f64,
    /// Seconds spent writing checkpoints.
    pub checkpoint_s: f64,
    /// Seconds of restore work after interruptions.
    pub restart_s: f64,
    /// GPU-hours its runs held GPUs.
    pub allocated_gpu_h: f64,
}

/// The run's reliability summary (in `summary.json` under `reliability`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilitySummary {
    /// Failures in the run.
    pub failures: u64,
    /// Failures by component kind.
    pub failures_by_component: BTreeMap<String, u64>,
    /// Failures by cause.
    pub failures_by_cause: BTreeMap<String, u64>,
    /// Job runs ended by failures.
    pub interruptions: u64,
    /// Useful GPU-hours over allocated GPU-hours: allocated less work lost, checkpoint
    /// writing and restores.
    pub goodput: f64,
    /// GPU-hours lost to failures.
    pub lost_gpu_h: f64,
    /// Effective training time of the largest job (most GPUs, lowest id on ties): its
    /// useful time over the wall time from its first start to its end (or the run's).
    pub largest_job_effective_training_time: Option<f64>,
    /// Fraction of GPU-time not lost to failed or cordoned nodes.
    pub capacity_availability: f64,
    /// Observed mean time to failure per job size: GPUs up to (bucket) → hours of
    /// running per interruption (absent where no job of that size was interrupted).
    pub mttf_h_by_job_gpus: BTreeMap<u32, f64>,
}

/// Everything the reliability model hands over at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ReliabilityOutput {
    /// Cause names, indexed by [`FailureRecord::cause`].
    pub causes: Vec<String>,
    /// Failures in time order.
    pub failures: Vec<FailureRecord>,
    /// Per job, indexed like the workload.
    pub jobs: Vec<JobReliability>,
    /// Summary.
    pub summary: ReliabilitySummary,
}

impl ReliabilityOutput {
    /// Builds the output and its summary from the model's records and the run's job
    /// records (for sizes and spans).
    pub fn build(
        causes: Vec<String>,
        failures: Vec<FailureRecord>,
        jobs: Vec<JobReliability>,
        records: &[JobRecord],
        end: SimTime,
        capacity_availability: f64,
    ) -> ReliabilityOutput {
        let mut by_component = BTreeMap::new();
        let mut by_cause = BTreeMap::new();
        for f in &failures {
            *by_component
                .entry(f.component.kind.name().to_string())
                .or_insert(0) += 1;
            *by_cause.entry(causes[f.cause].clone()).or_insert(0) += 1;
        }
        let allocated: f64 = jobs.iter().map(|j| j.allocated_gpu_h).sum();
        let mut wasted = 0.0;
        let mut run_h: BTreeMap<u32, (f64, u64)> = BTreeMap::new();
        let mut largest: Option<(u32, usize)> = None;
        for (i, (j, r)) in jobs.iter().zip(records).enumerate() {
            let gpus = r.demand.gpus.max(1);
            let overhead_gpu_h = f64::from(gpus) * (j.checkpoint_s + j.restart_s) / 3600.0;
            wasted += j.lost_gpu_h + overhead_gpu_h;
            let bucket = gpus.next_power_of_two();
            let e = run_h.entry(bucket).or_insert((0.0, 0));
            e.0 += j.allocated_gpu_h / f64::from(gpus);
            e.1 += u64::from(j.interruptions);
            if j.allocated_gpu_h > 0.0 && largest.is_none_or(|(g, _)| gpus > g) {
                largest = Some((gpus, i));
            }
        }
        let ett = largest.and_then(|(gpus, i)| {
            let (j, r) = (&jobs[i], &records[i]);
            let start = r.start?;
            let wall_h = (r.end.unwrap_or(end).max(start) - start).as_secs_f64() / 3600.0;
            let useful_h = (j.allocated_gpu_h - j.lost_gpu_h) / f64::from(gpus)
                - (j.checkpoint_s + j.restart_s) / 3600.0;
            (wall_h > 0.0).then(|| (useful_h / wall_h).clamp(0.0, 1.0))
        });
        let summary = ReliabilitySummary {
            failures: failures.len() as u64,
            failures_by_component: by_component,
            failures_by_cause: by_cause,
            interruptions: jobs.iter().map(|j| u64::from(j.interruptions)).sum(),
            goodput: if allocated > 0.0 {
                ((allocated - wasted) / allocated).max(0.0)
            } else {
                1.0
            },
            lost_gpu_h: jobs.iter().map(|j| j.lost_gpu_h).sum(),
            largest_job_effective_training_time: ett,
            capacity_availability,
            mttf_h_by_job_gpus: run_h
                .into_iter()
                .filter(|(_, (_, n))| *n > 0)
                .map(|(b, (h, n))| (b, h / n as f64))
                .collect(),
        };
        ReliabilityOutput {
            causes,
            failures,
            jobs,
            summary,
        }
    }

    /// Writes `job_failures.csv`: per job (by name) its interruptions, checkpoints, lost
    /// GPU-hours, checkpoint and restart seconds and allocated GPU-hours.
    pub fn write_jobs_csv(&self, out: &mut dyn Write, workload: &Workload) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "job",
            "interruptions",
            "checkpoints",
            "lost_gpu_h",
            "checkpoint_s",
            "restart_s",
            "allocated_gpu_h",
        ])?;
        // One buffer for every cell: a row per job, so no allocation per cell.
        let mut cell = String::new();
        for (j, spec) in self.jobs.iter().zip(&workload.jobs) {
            w.write_field(spec.name.as_str())?;
            write_cell(&mut w, &mut cell, format_args!("{}", j.interruptions))?;
            write_cell(&mut w, &mut cell, format_args!("{}", j.checkpoints))?;
            write_cell(&mut w, &mut cell, format_args!("{:.6}", j.lost_gpu_h))?;
            write_cell(&mut w, &mut cell, format_args!("{:.3}", j.checkpoint_s))?;
            write_cell(&mut w, &mut cell, format_args!("{:.3}", j.restart_s))?;
            write_cell(&mut w, &mut cell, format_args!("{:.6}", j.allocated_gpu_h))?;
            w.write_record(None::<&[u8]>)?;
        }
        w.flush()
    }

    /// Writes `failures.csv`: one row per failure with its blast radius.
    pub fn write_failures_csv(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "time_s",
            "component",
            "index",
            "cause",
            "jobs_hit",
            "gpus_of_jobs_hit",
            "gpus_idled",
            "lost_gpu_h",
            "repair_h",
        ])?;
        for f in &self.failures {
            w.write_record([
                format!("{:.3}", f.at.as_secs_f64()),
                f.component.kind.name().to_string(),
                f.component.index.to_string(),
                self.causes[f.cause].clone(),
                f.jobs_hit.to_string(),
                f.gpus_of_jobs_hit.to_string(),
                f.gpus_idled.to_string(),
                format!("{:.6}", f.lost_gpu_h),
                format!("{:.6}", f.repair_h),
            ])?;
        }
        w.flush()
    }
}
