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
//! Optional columns (the `multigpuNN` lists have only `name,cpu_milli,memory_mib,
//! num_gpu,gpu_milli`):
//! - no `gpu_spec` column: every pod runs on any GPU type;
//! - no `qos` column: every pod is priority 0, training (as `BE`);
//! - no time columns at all (`creation_time`, `scheduled_time`, `deletion_time`, which
//!   come as a set; a file with some but not all is a missing-column error): the pod
//!   list gives demands only. [`read_traces_keeping_cpu_only`] (the inflation
//!   experiment's draw, which uses no times) reads every pod as a job submitted at 0
//!   with no duration or recorded start, and no `never_scheduled` skip (there is
//!   nothing to tell); every other reader fails with a row error at the header line
//!   saying that a run needs submit times.
//!
//! [`HostDemand`]: crate::workload::HostDemand
//! [`read_traces_keeping_cpu_only`]: super::read_traces_keeping_cpu_only
//! [`GpuDemand::share`]: crate::workload::GpuDemand::share
//! [`GpuDemand::whole`]: crate::workload::GpuDemand::whole

use csv::StringRecord;

use super::reader::{demand, field, Col, Source};
use super::Builder;
use crate::engine::SimTime;
use crate::workload::{GpuDemand, GpuTypeSet, HostDemand, JobId, JobKind, JobSpec, WorkloadError};

/// The columns every openb pod list has.
const REQUIRED: &[&str] = &["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"];

/// The time columns, present all together or not at all.
const TIMES: &[&str] = &["creation_time", "scheduled_time", "deletion_time"];

/// Every column this adapter reads (for missing-column messages).
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

/// The time columns of a timed pod list.
struct Times {
    creation: Col,
    scheduled: Col,
    deletion: Col,
}

/// The time columns, `None` when the file has none of them (see the module docs).
fn time_columns(src: &Source) -> Result<Option<Times>, WorkloadError> {
    if TIMES.iter().all(|&c| src.optional_column(c).is_none()) {
        return Ok(None);
    }
    Ok(Some(Times {
        creation: src.column("creation_time", COLUMNS)?,
        scheduled: src.column("scheduled_time", COLUMNS)?,
        deletion: src.column("deletion_time", COLUMNS)?,
    }))
}

/// Reads one openb pod list into `b`.
pub(crate) fn read(src: &mut Source, b: &mut Builder) -> Result<(), WorkloadError> {
    let name = src.column(REQUIRED[0], COLUMNS)?;
    let cpu_milli = src.column(REQUIRED[1], COLUMNS)?;
    let memory_mib = src.column(REQUIRED[2], COLUMNS)?;
    let num_gpu = src.column(REQUIRED[3], COLUMNS)?;
    let gpu_milli = src.column(REQUIRED[4], COLUMNS)?;
    let gpu_spec = src.optional_column("gpu_spec");
    let qos = src.optional_column("qos");
    let times = time_columns(src)?;
    if times.is_none() && !b.keep_cpu_only {
        return Err(WorkloadError::Row {
            path: src.path().to_path_buf(),
            line: 1,
            message: format!(
                "no time columns ({}): this pod list gives demands only, which `dcsim inflate` \
                 draws from; a run needs submit times",
                TIMES.join(", ")
            ),
        });
    }
    let tenant = b.tenant("openb");

    let first = b.jobs.len();
    let mut trace_end = SimTime::ZERO;
    let mut rec = StringRecord::new();
    while src.next_row(&mut rec)? {
        let (created, sched, deleted) = match &times {
            Some(t) => (
                src.secs(&rec, t.creation)?,
                src.opt_secs(&rec, t.scheduled)?,
                src.opt_secs(&rec, t.deletion)?,
            ),
            // Untimed (inflation draw only): submitted and "started" at 0, no end.
            None => (SimTime::ZERO, Some(SimTime::ZERO), Some(SimTime::ZERO)),
        };
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
        let (priority, kind) = match qos {
            None => (0, JobKind::Training),
            Some(c) => match field(&rec, c) {
                "LS" => (3, JobKind::Inference),
                "Guaranteed" => (2, JobKind::Training),
                "Burstable" => (1, JobKind::Training),
                "BE" => (0, JobKind::Training),
                _ => return Err(src.bad(&rec, c, "one of LS, Guaranteed, Burstable, BE")),
            },
        };
        let gpu_types = match gpu_spec {
            Some(c) => b
                .gpu_types(field(&rec, c))
                .map_err(|m| src.error(&rec, format!("column `gpu_spec`: {m}")))?,
            None => GpuTypeSet::ANY,
        };

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
            name: src.job_id(&rec, name)?.into(),
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
            recorded_start: times.as_ref().map(|_| start),
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
