//! Trace adapters: read public cluster traces (and dcsim's own generic CSV) into a
//! [`Workload`].
//!
//! Every adapter streams its file row by row with the `csv` crate (plain or gzip,
//! detected by magic bytes), looks its columns up by header name, and either turns a row
//! into a [`JobSpec`], counts it in the [`SkipReport`] under a named reason (valid rows
//! the simulator cannot use, e.g. CPU-only pods), or fails with a
//! [`WorkloadError::Row`] naming the file, the 1-based line, the column and the value.
//! Nothing is dropped silently: `rows_read == jobs + skipped` for every workload read
//! here. The mapping of each format is documented in its module and in
//! `docs/trace-formats.md`.

mod dlrm;
mod genai;
mod generic;
mod itp;
mod openb;
mod philly;
mod reader;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::engine::SimTime;
use crate::workload::{GpuTypeSet, Interner, JobSpec, SkipReport, TraceEpoch, Workload, WorkloadError};

pub use generic::write_generic;

/// The trace formats dcsim can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceFormat {
    /// Alibaba GPU-sharing cluster pod lists (`openb_pod_list_*.csv`, 2023).
    Openb,
    /// Microsoft Philly job-level extract used by Pollux (`philly.csv`, 2017).
    Philly,
    /// Microsoft ITP clusters, ElasticFlow release (`clusterNN.csv`, raw or elasticflow).
    Itp,
    /// Alibaba GPU-disaggregated DLRM inference instances (2025).
    Dlrm,
    /// Alibaba GenAI LoRA text-to-image request trace (2026).
    Genai,
    /// dcsim's own CSV format, written by `dcsim trace convert`.
    Generic,
}

impl TraceFormat {
    /// Every format, in the order they are listed to users.
    pub const ALL: &'static [TraceFormat] = &[
        TraceFormat::Openb,
        TraceFormat::Philly,
        TraceFormat::Itp,
        TraceFormat::Dlrm,
        TraceFormat::Genai,
        TraceFormat::Generic,
    ];

    /// The name used on the command line and in configs.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Openb => "openb",
            TraceFormat::Philly => "philly",
            TraceFormat::Itp => "itp",
            TraceFormat::Dlrm => "dlrm",
            TraceFormat::Genai => "genai",
            TraceFormat::Generic => "generic",
        }
    }

    /// The format called `s` (case-insensitive), if any.
    pub fn parse(s: &str) -> Option<TraceFormat> {
        let s = s.trim();
        TraceFormat::ALL
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TraceFormat {
    type Err = String;

    /// Parses a format name; the error lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TraceFormat::parse(s).ok_or_else(|| {
            let names: Vec<&str> = TraceFormat::ALL.iter().map(|f| f.name()).collect();
            format!(
                "unknown trace format `{s}` (expected one of: {})",
                names.join(", ")
            )
        })
    }
}

/// Reads one trace file of `format` into a finished workload (sorted by submit time,
/// dense ids). A file that yields no job is [`WorkloadError::Empty`].
pub fn read_trace(format: TraceFormat, path: &Path) -> Result<Workload, WorkloadError> {
    read_traces(format, std::slice::from_ref(&path.to_path_buf()))
}

/// Reads several files of one format into one workload (e.g. the ITP release, one file
/// per cluster). Tenants, users and GPU types are interned across files, skip reports
/// are merged, and times are kept as written (the files share one clock; wall-clock
/// formats are shifted by the minimum over all files). Each file must yield a job.
pub fn read_traces(format: TraceFormat, paths: &[PathBuf]) -> Result<Workload, WorkloadError> {
    read(format, paths, false)
}

/// Like [`read_traces`], but openb's CPU-only pods become jobs asking for no GPU
/// ([`GpuDemand::whole`]`(0)`, with their CPU and memory) instead of `cpu_only` skips:
/// the inflation experiment draws them as the FGD paper's simulator does. The other
/// formats give CPU-only rows no CPU or memory demand and still skip them.
///
/// [`GpuDemand::whole`]: crate::workload::GpuDemand::whole
pub fn read_traces_keeping_cpu_only(
    format: TraceFormat,
    paths: &[PathBuf],
) -> Result<Workload, WorkloadError> {
    read(format, paths, true)
}

fn read(format: TraceFormat, paths: &[PathBuf], keep_cpu_only: bool) -> Result<Workload, WorkloadError> {
    let mut b = Builder {
        keep_cpu_only,
        ..Builder::default()
    };
    for path in paths {
        let before = b.jobs.len();
        let mut src = reader::Source::open(path)?;
        match format {
            TraceFormat::Openb => openb::read(&mut src, &mut b)?,
            TraceFormat::Philly => philly::read(&mut src, &mut b)?,
            TraceFormat::Itp => itp::read(&mut src, &mut b)?,
            TraceFormat::Dlrm => dlrm::read(&mut src, &mut b)?,
            TraceFormat::Genai => genai::read(&mut src, &mut b)?,
            TraceFormat::Generic => generic::read(&mut src, &mut b)?,
        }
        if b.jobs.len() == before {
            return Err(WorkloadError::Empty {
                path: path.clone(),
                detail: empty_detail(src.rows, &src.skipped),
            });
        }
        b.rows_read += src.rows;
        b.skipped.merge(src.skipped);
    }
    if b.jobs.is_empty() {
        return Err(WorkloadError::Invalid {
            key: "trace files".into(),
            message: "no trace file given".into(),
        });
    }
    Ok(b.finish())
}

/// "0 data rows" or "N rows read, all skipped: reason × count, ...".
fn empty_detail(rows: u64, skipped: &SkipReport) -> String {
    if rows == 0 {
        return "0 data rows".into();
    }
    let reasons: Vec<String> = skipped
        .reasons
        .iter()
        .map(|(r, c)| format!("{r} × {}", c.count))
        .collect();
    format!("{rows} rows read, all skipped: {}", reasons.join(", "))
}

/// A workload under construction, shared by the files of one [`read_traces`] call.
#[derive(Default)]
pub(crate) struct Builder {
    /// Jobs in source order (ids assigned by [`Builder::finish`]).
    jobs: Vec<JobSpec>,
    /// Tenant names.
    tenants: Interner,
    /// User names.
    users: Interner,
    /// GPU type names, at most 64 (the bits of [`GpuTypeSet`]).
    gpu_types: Interner,
    /// Workload class names.
    classes: Interner,
    /// Rows of finished files.
    rows_read: u64,
    /// Skips of finished files.
    skipped: SkipReport,
    /// Set by wall-clock adapters: job times are milliseconds since 1970 and are shifted
    /// so the earliest submit over all files is zero; that instant becomes the
    /// workload's [`TraceEpoch`] (zone unknown: no trace read here publishes one).
    wall_clock: bool,
    /// openb's CPU-only pods become 0-GPU jobs ([`read_traces_keeping_cpu_only`]).
    keep_cpu_only: bool,
}

impl Builder {
    /// Interns a tenant name.
    fn tenant(&mut self, name: &str) -> crate::workload::TenantId {
        crate::workload::TenantId(self.tenants.intern(name))
    }

    /// Interns a workload class name.
    fn class(&mut self, name: &str) -> crate::workload::ClassId {
        crate::workload::ClassId(self.classes.intern(name))
    }

    /// Interns a user name.
    fn user(&mut self, name: &str) -> crate::workload::UserId {
        crate::workload::UserId(self.users.intern(name))
    }

    /// The set of GPU types named in `list` (names separated by `|`; empty = any),
    /// or an error message when it would exceed 64 distinct names.
    fn gpu_types(&mut self, list: &str) -> Result<GpuTypeSet, String> {
        let mut bits = 0u64;
        for name in list.split('|').map(str::trim).filter(|n| !n.is_empty()) {
            let i = self.gpu_types.intern(name);
            if i >= 64 {
                return Err(format!(
                    "GPU type `{name}` is the 65th distinct type; at most 64 are supported"
                ));
            }
            bits |= 1 << i;
        }
        Ok(GpuTypeSet(bits))
    }

    /// Sorts, numbers and packages the jobs.
    fn finish(mut self) -> Workload {
        let mut epoch = None;
        if self.wall_clock {
            let origin = self.jobs.iter().map(|j| j.submit).min().unwrap_or(SimTime::ZERO);
            for j in &mut self.jobs {
                j.submit = j.submit - origin;
                j.recorded_start = j.recorded_start.map(|s| s - origin);
            }
            // Wall-clock times were read as milliseconds since 1970 on the trace's clock.
            epoch = chrono::DateTime::from_timestamp_millis(origin.as_ms() as i64).map(|t| TraceEpoch {
                start: t.naive_utc(),
                zone: None,
            });
        }
        let mut w = Workload {
            jobs: self.jobs,
            tenants: self.tenants.into_names(),
            users: self.users.into_names(),
            gpu_types: self.gpu_types.into_names(),
            classes: self.classes.into_names(),
            rows_read: self.rows_read,
            skipped: self.skipped,
            measured_on: None,
            epoch,
        };
        w.finish();
        w
    }
}

/// Sets the duration of each open-ended job to run from its recorded start (or its
/// submit) to `trace_end`, the end of the file it came from.
fn close_open_ended(jobs: &mut [JobSpec], trace_end: SimTime) {
    for j in jobs.iter_mut().filter(|j| j.open_ended) {
        j.duration = trace_end - j.recorded_start.unwrap_or(j.submit);
    }
}

/// The job's name: the file stem and the 1-based line, for traces without a job id.
fn line_name(prefix: &str, line: u64) -> String {
    format!("{prefix}:{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for &f in TraceFormat::ALL {
            assert_eq!(TraceFormat::parse(f.name()), Some(f));
            assert_eq!(f.name().parse::<TraceFormat>(), Ok(f));
        }
        assert_eq!(TraceFormat::parse("Philly"), Some(TraceFormat::Philly));
        let err = "nope".parse::<TraceFormat>().unwrap_err();
        assert!(err.contains("openb, philly, itp, dlrm, genai, generic"), "{err}");
    }

    #[test]
    fn gpu_type_sets_intern_names() {
        let mut b = Builder::default();
        assert_eq!(b.gpu_types(""), Ok(GpuTypeSet::ANY));
        assert_eq!(b.gpu_types("V100M16|V100M32"), Ok(GpuTypeSet(0b11)));
        assert_eq!(b.gpu_types("V100M32|T4|V100M32"), Ok(GpuTypeSet(0b110)));
        for i in 0..61 {
            assert!(b.gpu_types(&format!("X{i}")).is_ok());
        }
        assert!(b.gpu_types("one-too-many").is_err());
    }
}
