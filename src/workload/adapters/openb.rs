//! Alibaba "openb" GPU-sharing pod lists (`openb_pod_list_*.csv`, cluster-trace-gpu-v2023).
//!
//! Mapping, one pod per row:
//! - submit = `creation_time`; `recorded_start` = `scheduled_time`;
//!   duration = `deletion_time − scheduled_time` (seconds from the trace start).
//! - `num_gpu` = 0 → skipped as `cpu_only` (kept as a 0-GPU job by
//!   [`read_traces_keeping_cpu_only`], for the inflation experiment).
//! - `num_gpu` = 1 with `gpu_milli` < 1000 → [`GpuDemand::share`]; otherwise
//!   [`GpuDemand::whole`]`(num_gpu)`. `gpu_milli` outside 1..=1000, or a share with
//!   `num_gpu` > 1, is a row error.
//! - `cpu_milli` and `memory_mib` → [`HostDemand`] (the pod's CPU and memory).
//! - `gpu_spec` `A|B` → the set of those GPU types (names as written); empty = any.
//! - One tenant, `openb` (the trace has none). `qos` → priority and kind: LS 3
//!   (inference), Guaranteed 2, Burstable 1, BE 0 (training).
//! - Pods with an empty `scheduled_time` (Pending: never placed) are skipped as
//!   `never_scheduled`; `scheduled_time < creation_time` as `scheduled_before_creation`;
//!   `deletion_time < scheduled_time` as `negative_duration`. An empty `deletion_time`
//!   makes the job open-ended, running to the trace end (the largest time in the file).
//!   Zero-duration pods are kept. Failed pods are kept: they held their GPUs.
//!
//! The `multigpuNN` pod lists carry no time columns and fail with a missing column.
//!
//! [`HostDemand`]: crate::workload::HostDemand
//! [`read_traces_keeping_cpu_only`]: super::read_traces_keeping_cpu_only
//! [`GpuDemand::share`]: crate::workload::GpuDemand::share
//! [`GpuDemand::whole`]: crate::workload::GpuDemand::whole

use csv::StringRecord;

use super::reader::{demand, field, Source};
use super::Builder;
use crate::engine::SimTime;
use crate::workload::{GpuDemand, HostDemand, JobId, JobKind, JobSpec, WorkloadError};

/// The columns this adapter reads.
const COLUMNS: &[&str] = &[
    "name",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "qos",
    "creation_time",
    "scheduled_time",
    "deletion_time",
];

/// Reads one openb pod list into `b`.
pub(crate) fn read(src: &mut Source, b: &mut Builder) -> Result<(), WorkloadError> {
    let name = src.column("name", COLUMNS)?;
    let num_gpu = src.column("num_gpu", COLUMNS)?;
    let gpu_milli = src.column("gpu_milli", COLUMNS)?;
    let cpu_milli = src.column("cpu_milli", COLUMNS)?;
    let memory_mib = src.column("memory_mib", COLUMNS)?;
    let gpu_spec = src.column("gpu_spec", COLUMNS)?;
    let qos = src.column("qos", COLUMNS)?;
    let creation = src.column("creation_time", COLUMNS)?;
    let scheduled = src.column("scheduled_time", COLUMNS)?;
    let deletion = src.column("deletion_time", COLUMNS)?;
    let tenant = b.tenant("openb");

    let first = b.jobs.len();
    let mut trace_end = SimTime::ZERO;
    let mut rec = StringRecord::new();
    while src.next_row(&mut rec)? {
        let created = src.secs(&rec, creation)?;
        let sched = src.opt_secs(&rec, scheduled)?;
        let deleted = src.opt_secs(&rec, deletion)?;
        trace_end = trace_end.max(created).max(sched.unwrap_or_default());
        trace_end = trace_end.max(deleted.unwrap_or_default());

        let gpus = src.count(&rec, num_gpu)?;
        let demand = if gpus > 0 {
            let milli = src.count(&rec, gpu_milli)?;
            demand(gpus, milli).map_err(|m| src.error(&rec, format!("column `gpu_milli`: {m}")))?
        } else if b.keep_cpu_only {
            GpuDemand::whole(0)
        } else {
            src.skip("cpu_only", &rec);
            continue;
        };
        let host = HostDemand {
            cpu_milli: src.count(&rec, cpu_milli)?,
            memory_mib: src.count(&rec, memory_mib)?,
        };
        let (priority, kind) = match field(&rec, qos) {
            "LS" => (3, JobKind::Inference),
            "Guaranteed" => (2, JobKind::Training),
            "Burstable" => (1, JobKind::Training),
            "BE" => (0, JobKind::Training),
            _ => return Err(src.bad(&rec, qos, "one of LS, Guaranteed, Burstable, BE")),
        };
        let gpu_types = b
            .gpu_types(field(&rec, gpu_spec))
            .map_err(|m| src.error(&rec, format!("column `gpu_spec`: {m}")))?;

        let Some(start) = sched else {
            src.skip("never_scheduled", &rec);
            continue;
        };
        if start < created {
            src.skip("scheduled_before_creation", &rec);
            continue;
        }
        if deleted.is_some_and(|d| d < start) {
            src.skip("negative_duration", &rec);
            continue;
        }
        b.jobs.push(JobSpec {
            id: JobId::default(),
            name: field(&rec, name).to_string(),
            submit: created,
            // Open-ended jobs hold their start here until the trace end is known.
            duration: deleted.map_or(SimTime::ZERO, |d| d - start),
            demand,
            host,
            gpu_types,
            tenant,
            user: None,
            priority,
            kind,
            recorded_start: Some(start),
            open_ended: deleted.is_none(),
            gpu_util: None,
            class: None,
        });
    }
    super::close_open_ended(&mut b.jobs[first..], trace_end);
    Ok(())
}
