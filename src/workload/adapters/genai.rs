//! Alibaba GenAI text-to-image (LoRA) request trace (`lora_request_trace.csv`,
//! cluster-trace-v2026-GenAI).
//!
//! Mapping, one inference request per row, modelled as a job on one whole GPU
//! (an assumption: the trace does not say how many GPUs served a request):
//! - submit = `gmt_create` (`YYYY-MM-DD HH:MM:SS`, wall clock) as seconds since the
//!   earliest request read; duration = `exec_time_seconds` (GPU execution time).
//! - tenant = `checkpoint_model_version_id` (the base model, i.e. the serving
//!   deployment a request needs; `unknown` when empty), user = `groupId` (the
//!   requesting group). Kind inference, priority 3 (latency-sensitive, the scale of
//!   openb's `qos`); no GPU type or recorded start. Name = `genai:LINE`.
//! - FAILED and PROCESSING requests are kept: they used GPU time. PENDING requests
//!   never ran (their execution time is 0) and are skipped as `never_executed`; an
//!   empty `exec_time_seconds` is skipped as `no_exec_time`.

use csv::StringRecord;

use super::reader::{field, line, Source};
use super::{line_name, Builder};
use crate::workload::{GpuDemand, HostDemand, JobId, JobKind, JobSpec, WorkloadError};

/// The columns this adapter reads.
const COLUMNS: &[&str] = &[
    "gmt_create",
    "predict_status",
    "exec_time_seconds",
    "groupId",
    "checkpoint_model_version_id",
];

/// Reads one GenAI request trace into `b`.
pub(crate) fn read(src: &mut Source, b: &mut Builder) -> Result<(), WorkloadError> {
    let created = src.column("gmt_create", COLUMNS)?;
    let status = src.column("predict_status", COLUMNS)?;
    let exec = src.column("exec_time_seconds", COLUMNS)?;
    let group = src.column("groupId", COLUMNS)?;
    let model = src.column("checkpoint_model_version_id", COLUMNS)?;
    b.wall_clock = true;

    let mut rec = StringRecord::new();
    while src.next_row(&mut rec)? {
        let submit = src.datetime(&rec, created)?;
        if field(&rec, status) == "PENDING" {
            src.skip("never_executed", &rec);
            continue;
        }
        let Some(dur) = src.opt_secs(&rec, exec)? else {
            src.skip("no_exec_time", &rec);
            continue;
        };
        let tenant = match field(&rec, model) {
            "" => b.tenant("unknown"),
            m => b.tenant(m),
        };
        let user = match field(&rec, group) {
            "" => None,
            g => Some(b.user(g)),
        };
        b.jobs.push(JobSpec {
            id: JobId::default(),
            name: line_name("genai", line(&rec)).into(),
            submit,
            duration: dur,
            demand: GpuDemand::whole(1),
            host: HostDemand::NONE,
            gpu_types: Default::default(),
            tenant,
            user,
            priority: 3,
            kind: JobKind::Inference,
            recorded_start: None,
            open_ended: false,
            gpu_util: None,
            class: None,
            comm: None,
            checkpoint_gb: None,
        });
    }
    Ok(())
}
