//! Microsoft ITP training jobs, ElasticFlow release (`raw/clusterNN.csv` and the
//! `elasticflow/clusterNN.csv` variant with extra generated columns).
//!
//! Mapping, one job per row (columns are looked up by header name, so both variants
//! read the same):
//! - submit = `submission_time` (seconds since the start of the release's single
//!   collection window; kept as written, not shifted per file, so several clusters read
//!   together stay on one clock); duration = `duration`; GPUs = `num_gpu`, whole GPUs.
//! - tenant = the file stem (`cluster01`): the cluster is the only grouping known.
//! - kind training, priority 0; no user, GPU type or recorded start; name = `job_id`.
//! - `num_gpu` = 0 is skipped as `cpu_only` (the release has none). The generated
//!   `elasticflow/` columns (`deadline`, `model_name`, ...) are ignored.

use csv::StringRecord;

use super::reader::Source;
use super::Builder;
use crate::workload::{GpuDemand, JobSpec, WorkloadError};

/// The columns this adapter reads.
const COLUMNS: &[&str] = &["job_id", "submission_time", "duration", "num_gpu"];

/// Reads one ITP cluster file into `b`.
pub(crate) fn read(src: &mut Source, b: &mut Builder) -> Result<(), WorkloadError> {
    let job_id = src.column("job_id", COLUMNS)?;
    let submission = src.column("submission_time", COLUMNS)?;
    let duration = src.column("duration", COLUMNS)?;
    let num_gpu = src.column("num_gpu", COLUMNS)?;
    let stem = src
        .path()
        .file_stem()
        .map_or_else(|| "itp".to_string(), |s| s.to_string_lossy().into_owned());
    // `clusterNN.csv.gz` has stem `clusterNN.csv`: drop the inner extension too.
    let stem = stem.strip_suffix(".csv").unwrap_or(&stem);
    let tenant = b.tenant(stem);

    let mut rec = StringRecord::new();
    while src.next_row(&mut rec)? {
        let submit = src.secs(&rec, submission)?;
        let dur = src.secs(&rec, duration)?;
        let gpus = src.count(&rec, num_gpu)?;
        if gpus == 0 {
            src.skip("cpu_only", &rec);
            continue;
        }
        let name = src.job_id(&rec, job_id)?;
        b.jobs
            .push(JobSpec::new(name, submit, dur, GpuDemand::whole(gpus), tenant));
    }
    Ok(())
}
