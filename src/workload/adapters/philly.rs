//! Microsoft Philly job-level extract used by Pollux (`philly.csv`, 2017).
//!
//! Mapping, one job per row (rows are not in time order):
//! - submit = `timestamp` (`YYYY-MM-DD HH:MM:SS`, wall clock, no zone) as seconds since
//!   the earliest timestamp read (over all files of one read).
//! - duration = `duration` (float seconds); GPUs = `num_gpus`, whole GPUs; tenant =
//!   `cluster` (the virtual cluster); kind training, priority 0; no user, GPU type or
//!   recorded start. The name is `philly:LINE` (the trace has no job id).
//! - `num_gpus` = 0 is skipped as `cpu_only` (the extract has none).
//! - `gpu_time` (GPU-seconds), when present, must equal `duration × num_gpus` (it does
//!   for every row of the published file). A mismatch is a row error, not a skip: the
//!   column is a checksum, so a mismatch means a damaged or different file.

use csv::StringRecord;

use super::reader::{field, line, Source};
use super::{line_name, Builder};
use crate::workload::{GpuDemand, JobSpec, WorkloadError};

/// The columns this adapter reads (`gpu_time` is optional and only checked).
const COLUMNS: &[&str] = &["timestamp", "duration", "num_gpus", "cluster"];

/// Reads one Philly extract into `b`.
pub(crate) fn read(src: &mut Source, b: &mut Builder) -> Result<(), WorkloadError> {
    let timestamp = src.column("timestamp", COLUMNS)?;
    let duration = src.column("duration", COLUMNS)?;
    let num_gpus = src.column("num_gpus", COLUMNS)?;
    let cluster = src.column("cluster", COLUMNS)?;
    let gpu_time = src.optional_column("gpu_time");
    b.wall_clock = true;

    let mut rec = StringRecord::new();
    while src.next_row(&mut rec)? {
        let submit = src.datetime(&rec, timestamp)?;
        let dur = src.secs(&rec, duration)?;
        let gpus = src.count(&rec, num_gpus)?;
        if let Some(gt) = gpu_time {
            let expected = dur.as_secs_f64() * f64::from(gpus);
            let found: f64 = field(&rec, gt)
                .parse()
                .map_err(|_| src.bad(&rec, gt, "GPU-seconds (a number)"))?;
            if (found - expected).abs() > 1e-6 * expected.max(1.0) {
                return Err(src.error(
                    &rec,
                    format!("column `gpu_time`: expected duration × num_gpus = {expected}, found `{found}`"),
                ));
            }
        }
        if gpus == 0 {
            src.skip("cpu_only", &rec);
            continue;
        }
        let vc = field(&rec, cluster);
        if vc.is_empty() {
            return Err(src.bad(&rec, cluster, "a virtual-cluster name"));
        }
        let tenant = b.tenant(vc);
        let name = line_name("philly", line(&rec));
        b.jobs
            .push(JobSpec::new(name, submit, dur, GpuDemand::whole(gpus), tenant));
    }
    Ok(())
}
