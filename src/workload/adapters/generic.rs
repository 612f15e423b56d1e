//! dcsim's generic job CSV: the format `dcsim trace convert` writes and any tool can
//! produce. The full spec is in `docs/trace-formats.md`; in short:
//!
//! `id,submit_s,duration_s,gpus,gpu_milli,gpu_types,tenant,user,priority,kind,recorded_start_s,open_ended[,cpu_milli,memory_mib][,gpu_util][,class][,gradient_gb,compute_ms,overlap,tp,pp][,checkpoint_gb]`
//!
//! - Required: `id`, `submit_s`, `duration_s`, `gpus` (at least 1). The other columns
//!   may be missing, and an empty cell means the default: `gpu_milli` 1000, any GPU
//!   type, tenant `default`, no user, priority 0, kind training, no recorded start,
//!   `open_ended` false, no CPU (`cpu_milli`, thousandths of a core) or memory
//!   (`memory_mib`) demand, no measured GPU utilization (`gpu_util`, in [0, 1]; power
//!   models then assume one per job kind), no workload class (`class`, a name such as
//!   `resnet50` that topologies' `speed_by_class` keys on), and no communication profile
//!   (`gradient_gb`, `compute_ms`, `overlap` in [0, 1]: the network model's defaults;
//!   `tp`, `pp`: tensor-parallel and pipeline degrees, 1, whose product must divide
//!   `gpus`), and no checkpoint size of its own (`checkpoint_gb`, > 0: the size the
//!   reliability model writes for the job, ahead of its class's model size). The writer
//!   emits the optional columns only when some job has them.
//! - Times are seconds, decimals allowed; they are rounded to the millisecond (the
//!   writer emits at most 3 decimals, so writing and reading back is exact).
//! - `gpu_types` lists allowed GPU type names separated by `|` (empty = any).
//! - A column not in the list above is an error naming it (catches typos such as
//!   `submit` for `submit_s`).

use std::io::Write;

use csv::StringRecord;

use super::reader::{demand, field, Col, Source};
use super::Builder;
use crate::engine::SimTime;
use crate::workload::{
    CommHints, HostDemand, JobId, JobKind, JobSpec, Workload, WorkloadError, MILLI_PER_GPU,
};

/// Every column of the format, in the order the writer emits them.
const COLUMNS: &[&str] = &[
    "id",
    "submit_s",
    "duration_s",
    "gpus",
    "gpu_milli",
    "gpu_types",
    "tenant",
    "user",
    "priority",
    "kind",
    "recorded_start_s",
    "open_ended",
    "cpu_milli",
    "memory_mib",
    "gpu_util",
    "class",
    "gradient_gb",
    "compute_ms",
    "overlap",
    "tp",
    "pp",
    "checkpoint_gb",
];

/// Columns the writer emits for every workload (the host-demand columns follow only
/// when some job asks for CPU or memory, `gpu_util` and `class` only when some job has
/// one).
const BASE_COLUMNS: usize = 12;

/// The tenant of rows with no `tenant` column or an empty cell.
const DEFAULT_TENANT: &str = "default";

/// Reads one generic CSV into `b`.
pub(crate) fn read(src: &mut Source, b: &mut Builder) -> Result<(), WorkloadError> {
    let unknown: Vec<&str> = src.headers().iter().filter(|h| !COLUMNS.contains(h)).collect();
    if !unknown.is_empty() {
        return Err(WorkloadError::Row {
            path: src.path().to_path_buf(),
            line: 1,
            message: format!(
                "unknown column(s) `{}` (expected columns: {}; required: id,submit_s,duration_s,gpus)",
                unknown.join("`, `"),
                COLUMNS.join(",")
            ),
        });
    }
    let required: &[&str] = &COLUMNS[..4];
    let id = src.column("id", required)?;
    let submit_s = src.column("submit_s", required)?;
    let duration_s = src.column("duration_s", required)?;
    let gpus = src.column("gpus", required)?;
    let gpu_milli = src.optional_column("gpu_milli");
    let gpu_types = src.optional_column("gpu_types");
    let tenant = src.optional_column("tenant");
    let user = src.optional_column("user");
    let priority = src.optional_column("priority");
    let kind = src.optional_column("kind");
    let recorded_start = src.optional_column("recorded_start_s");
    let open_ended = src.optional_column("open_ended");
    let cpu_milli = src.optional_column("cpu_milli");
    let memory_mib = src.optional_column("memory_mib");
    let gpu_util = src.optional_column("gpu_util");
    let class = src.optional_column("class");
    let comm_cols = [
        src.optional_column("gradient_gb"),
        src.optional_column("compute_ms"),
        src.optional_column("overlap"),
        src.optional_column("tp"),
        src.optional_column("pp"),
    ];
    let checkpoint_gb = src.optional_column("checkpoint_gb");

    let mut rec = StringRecord::new();
    while src.next_row(&mut rec)? {
        let submit = src.secs(&rec, submit_s)?;
        let duration = src.secs(&rec, duration_s)?;
        let n = src.count(&rec, gpus)?;
        let milli = match gpu_milli {
            Some(c) if !field(&rec, c).is_empty() => src.count(&rec, c)?,
            _ => MILLI_PER_GPU,
        };
        let demand =
            demand(n, milli).map_err(|m| src.error(&rec, format!("columns `gpus`/`gpu_milli`: {m}")))?;
        let types = b
            .gpu_types(opt(&rec, gpu_types))
            .map_err(|m| src.error(&rec, format!("column `gpu_types`: {m}")))?;
        let tenant = match opt(&rec, tenant) {
            "" => b.tenant(DEFAULT_TENANT),
            t => b.tenant(t),
        };
        let user = match opt(&rec, user) {
            "" => None,
            u => Some(b.user(u)),
        };
        let priority = match priority {
            Some(c) if !field(&rec, c).is_empty() => field(&rec, c)
                .parse::<i32>()
                .map_err(|_| src.bad(&rec, c, "an integer priority"))?,
            _ => 0,
        };
        let kind = match kind {
            Some(c) if !field(&rec, c).is_empty() => JobKind::parse(field(&rec, c))
                .ok_or_else(|| src.bad(&rec, c, "training, inference or eval"))?,
            _ => JobKind::Training,
        };
        let recorded_start = match recorded_start {
            Some(c) => src.opt_secs(&rec, c)?,
            None => None,
        };
        let open_ended = match open_ended {
            Some(c) => match field(&rec, c).to_ascii_lowercase().as_str() {
                "" | "false" | "0" => false,
                "true" | "1" => true,
                _ => return Err(src.bad(&rec, c, "true or false")),
            },
            None => false,
        };
        let amount = |c: Option<Col>| match c {
            Some(c) if !field(&rec, c).is_empty() => src.count(&rec, c),
            _ => Ok(0),
        };
        let gpu_util = match gpu_util {
            Some(c) if !field(&rec, c).is_empty() => Some(
                field(&rec, c)
                    .parse::<f64>()
                    .ok()
                    .filter(|u| (0.0..=1.0).contains(u))
                    .ok_or_else(|| src.bad(&rec, c, "a utilization between 0 and 1"))?,
            ),
            _ => None,
        };
        let class = match opt(&rec, class).trim() {
            "" => None,
            c => Some(b.class(c)),
        };
        let host = HostDemand {
            cpu_milli: amount(cpu_milli)?,
            memory_mib: amount(memory_mib)?,
        };
        let comm = comm_hints(src, &rec, comm_cols, n)?;
        let checkpoint_gb = match checkpoint_gb {
            Some(c) if !field(&rec, c).is_empty() => Some(
                field(&rec, c)
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v > 0.0)
                    .ok_or_else(|| src.bad(&rec, c, "a checkpoint size in GB, > 0"))?,
            ),
            _ => None,
        };
        b.jobs.push(JobSpec {
            id: JobId::default(),
            name: src.job_id(&rec, id)?.into(),
            submit,
            duration,
            demand,
            host,
            gpu_types: types,
            tenant,
            user,
            priority,
            kind,
            recorded_start,
            open_ended,
            gpu_util,
            class,
            comm,
            checkpoint_gb,
        });
    }
    Ok(())
}

/// The communication columns of one row (gradient_gb, compute_ms, overlap, tp, pp), or
/// None when every cell is empty or absent; `gpus` is the row's GPU count.
fn comm_hints(
    src: &Source,
    rec: &StringRecord,
    [gradient, compute, overlap, tp, pp]: [Option<Col>; 5],
    gpus: u32,
) -> Result<Option<Box<CommHints>>, WorkloadError> {
    let cells = [gradient, compute, overlap, tp, pp];
    if cells.iter().all(|c| opt(rec, *c).is_empty()) {
        return Ok(None);
    }
    let number = |c: Option<Col>, ok: fn(f64) -> bool, expected: &str| match c {
        Some(c) if !field(rec, c).is_empty() => field(rec, c)
            .parse::<f64>()
            .ok()
            .filter(|&v| ok(v))
            .map(Some)
            .ok_or_else(|| src.bad(rec, c, expected)),
        _ => Ok(None),
    };
    let degree = |c: Option<Col>| match c {
        Some(c) if !field(rec, c).is_empty() => field(rec, c)
            .parse::<u32>()
            .ok()
            .filter(|&d| d >= 1)
            .ok_or_else(|| src.bad(rec, c, "an integer degree of at least 1")),
        _ => Ok(1),
    };
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let hints = CommHints {
        gradient_gb: number(gradient, positive, "a positive gradient size, GB")?,
        compute_ms: number(compute, positive, "a positive compute time, ms")?,
        overlap: number(
            overlap,
            |v| (0.0..=1.0).contains(&v),
            "an overlap between 0 and 1",
        )?,
        tp: degree(tp)?,
        pp: degree(pp)?,
    };
    let group = u64::from(hints.tp) * u64::from(hints.pp);
    if u64::from(gpus) % group != 0 {
        return Err(src.error(
            rec,
            format!("columns `tp`/`pp`: tp × pp = {group} must divide the job's {gpus} GPUs"),
        ));
    }
    Ok(Some(Box::new(hints)))
}

/// An optional column's cell, or "" when the column is absent.
fn opt(rec: &StringRecord, c: Option<Col>) -> &str {
    c.map_or("", |c| field(rec, c))
}

/// Writes `workload` as generic CSV (header plus one row per job, in id order), the
/// output of `dcsim trace convert`. Reading the result back with the generic adapter
/// gives the same jobs (names, times to the millisecond, demand, GPU type names,
/// tenant and user names, priority, kind, recorded start, open-endedness, CPU and
/// memory demand, GPU utilization, class, communication profile, checkpoint size); the skip report and the source's row count are not
/// carried.
pub fn write_generic(workload: &Workload, out: impl Write) -> Result<(), std::io::Error> {
    let mut w = csv::Writer::from_writer(out);
    let with_host = workload.jobs.iter().any(|j| !j.host.is_none());
    let with_util = workload.jobs.iter().any(|j| j.gpu_util.is_some());
    let with_class = workload.jobs.iter().any(|j| j.class.is_some());
    let with_comm = workload.jobs.iter().any(|j| j.comm.is_some());
    let with_ckpt = workload.jobs.iter().any(|j| j.checkpoint_gb.is_some());
    let mut columns = COLUMNS[..BASE_COLUMNS].to_vec();
    if with_host {
        columns.extend(["cpu_milli", "memory_mib"]);
    }
    if with_util {
        columns.push("gpu_util");
    }
    if with_class {
        columns.push("class");
    }
    if with_comm {
        columns.extend(["gradient_gb", "compute_ms", "overlap", "tp", "pp"]);
    }
    if with_ckpt {
        columns.push("checkpoint_gb");
    }
    w.write_record(&columns)?;
    let mut row: Vec<String> = Vec::with_capacity(COLUMNS.len());
    let mut types = String::new();
    for j in &workload.jobs {
        types.clear();
        for i in j.gpu_types.indices() {
            if !types.is_empty() {
                types.push('|');
            }
            types.push_str(workload.gpu_types.get(i).map_or("", String::as_str));
        }
        let user = j
            .user
            .and_then(|u| workload.users.get(u.0 as usize))
            .map_or("", String::as_str);
        let tenant = workload
            .tenants
            .get(j.tenant.0 as usize)
            .map_or("", String::as_str);
        row.clear();
        row.extend([
            j.name.to_string(),
            secs(j.submit),
            secs(j.duration),
            j.demand.gpus.to_string(),
            j.demand.milli_per_gpu.to_string(),
            types.clone(),
            tenant.to_string(),
            user.to_string(),
            j.priority.to_string(),
            j.kind.as_str().to_string(),
            j.recorded_start.map_or(String::new(), secs),
            j.open_ended.to_string(),
        ]);
        if with_host {
            row.push(j.host.cpu_milli.to_string());
            row.push(j.host.memory_mib.to_string());
        }
        if with_util {
            // Shortest decimal that reads back as the same f64.
            row.push(j.gpu_util.map_or(String::new(), |u| u.to_string()));
        }
        if with_class {
            let name = j.class.and_then(|c| workload.classes.get(c.0 as usize));
            row.push(name.map_or(String::new(), String::clone));
        }
        if with_comm {
            let num = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
            match j.comm.as_deref() {
                Some(h) => row.extend([
                    num(h.gradient_gb),
                    num(h.compute_ms),
                    num(h.overlap),
                    h.tp.to_string(),
                    h.pp.to_string(),
                ]),
                // No profile: every cell empty, read back as none.
                None => row.extend(std::iter::repeat_n(String::new(), 5)),
            }
        }
        if with_ckpt {
            row.push(j.checkpoint_gb.map_or(String::new(), |v| v.to_string()));
        }
        w.write_record(&row)?;
    }
    w.flush()
}

/// Seconds with the fewest decimals that keep every millisecond (`12`, `12.5`, `0.001`).
fn secs(t: SimTime) -> String {
    let (s, ms) = (t.as_ms() / 1000, t.as_ms() % 1000);
    if ms == 0 {
        s.to_string()
    } else {
        let frac = format!("{ms:03}");
        format!("{s}.{}", frac.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_written_minimally_and_exactly() {
        assert_eq!(secs(SimTime(12_000)), "12");
        assert_eq!(secs(SimTime(12_500)), "12.5");
        assert_eq!(secs(SimTime(1)), "0.001");
        assert_eq!(secs(SimTime(1_230)), "1.23");
        for ms in [0, 1, 10, 999, 1_000, 123_456_789] {
            assert_eq!(
                super::super::reader::parse_secs(&secs(SimTime(ms))),
                Ok(SimTime(ms))
            );
        }
    }
}
