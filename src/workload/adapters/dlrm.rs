//! Alibaba GPU-disaggregated DLRM inference instances
//! (`disaggregated_DLRM_trace.csv`, cluster-trace-gpu-v2025).
//!
//! Mapping, one long-running serving instance per row:
//! - `role` = CN (CPU node) or `gpu_request` = 0 → skipped as `cpu_only`.
//! - GPUs from `gpu_request`: a whole number n ≥ 1 → n whole GPUs; a fraction in (0, 1)
//!   → a share of one GPU in thousandths (rounded, at least 1). Other values are row
//!   errors. (The published file has `gpu_request` = 1 on every HN row.)
//! - submit = `creation_time`, `recorded_start` = `scheduled_time`; both empty → the
//!   instance existed before the trace: submit 0, recorded start 0. Creation empty but
//!   scheduled set → submit 0. Creation set but scheduled empty → never placed:
//!   skipped as `never_scheduled`.
//! - duration = `deletion_time − scheduled_time`; an empty `deletion_time` → the
//!   instance outlived the trace: `open_ended`, running to the trace end = the largest
//!   time value anywhere in the file (CPU rows included). `deletion_time` before
//!   `scheduled_time` → `negative_duration`, scheduled before created →
//!   `scheduled_before_creation`. Zero-duration instances are kept.
//! - tenant = `app_name` (the service); kind inference; priority 3 (latency-sensitive,
//!   the scale of openb's `qos`); name = `instance_sn`.

use csv::StringRecord;

use super::reader::{field, Source};
use super::Builder;
use crate::engine::SimTime;
use crate::workload::{GpuDemand, HostDemand, JobId, JobKind, JobSpec, WorkloadError, MILLI_PER_GPU};

/// The columns this adapter reads.
const COLUMNS: &[&str] = &[
    "instance_sn",
    "role",
    "app_name",
    "gpu_request",
    "creation_time",
    "scheduled_time",
    "deletion_time",
];

/// Reads one DLRM instance trace into `b`.
pub(crate) fn read(src: &mut Source, b: &mut Builder) -> Result<(), WorkloadError> {
    let instance = src.column("instance_sn", COLUMNS)?;
    let role = src.column("role", COLUMNS)?;
    let app = src.column("app_name", COLUMNS)?;
    let gpu_request = src.column("gpu_request", COLUMNS)?;
    let creation = src.column("creation_time", COLUMNS)?;
    let scheduled = src.column("scheduled_time", COLUMNS)?;
    let deletion = src.column("deletion_time", COLUMNS)?;

    let first = b.jobs.len();
    let mut trace_end = SimTime::ZERO;
    let mut rec = StringRecord::new();
    while src.next_row(&mut rec)? {
        let created = src.opt_secs(&rec, creation)?;
        let sched = src.opt_secs(&rec, scheduled)?;
        let deleted = src.opt_secs(&rec, deletion)?;
        for t in [created, sched, deleted].into_iter().flatten() {
            trace_end = trace_end.max(t);
        }
        if field(&rec, role) == "CN" {
            src.skip("cpu_only", &rec);
            continue;
        }
        let request: f64 = field(&rec, gpu_request)
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| src.bad(&rec, gpu_request, "a GPU count >= 0"))?;
        if request == 0.0 {
            src.skip("cpu_only", &rec);
            continue;
        }
        let demand = if request.fract() == 0.0 && request > f64::from(u32::MAX) {
            return Err(src.bad(
                &rec,
                gpu_request,
                &format!("a GPU count in range 0..={}", u32::MAX),
            ));
        } else if request.fract() == 0.0 {
            GpuDemand::whole(request as u32)
        } else if request < 1.0 {
            let milli = (request * f64::from(MILLI_PER_GPU)).round().max(1.0) as u32;
            GpuDemand::share(milli)
        } else {
            return Err(src.bad(&rec, gpu_request, "a whole number of GPUs or a fraction below 1"));
        };

        let (submit, start) = match (created, sched) {
            (None, None) => (SimTime::ZERO, SimTime::ZERO),
            (None, Some(s)) => (SimTime::ZERO, s),
            (Some(_), None) => {
                src.skip("never_scheduled", &rec);
                continue;
            }
            (Some(c), Some(s)) if s < c => {
                src.skip("scheduled_before_creation", &rec);
                continue;
            }
            (Some(c), Some(s)) => (c, s),
        };
        if deleted.is_some_and(|d| d < start) {
            src.skip("negative_duration", &rec);
            continue;
        }
        let tenant = b.tenant(field(&rec, app));
        b.jobs.push(JobSpec {
            id: JobId::default(),
            name: src.job_id(&rec, instance)?.into(),
            submit,
            // Open-ended instances get their duration once the trace end is known.
            duration: deleted.map_or(SimTime::ZERO, |d| d - start),
            demand,
            host: HostDemand::NONE,
            gpu_types: Default::default(),
            tenant,
            user: None,
            priority: 3,
            kind: JobKind::Inference,
            recorded_start: Some(start),
            open_ended: deleted.is_none(),
            gpu_util: None,
            class: None,
            comm: None,
            checkpoint_gb: None,
        });
    }
    super::close_open_ended(&mut b.jobs[first..], trace_end);
    Ok(())
}
