//! Writes a run's outputs: `jobs.csv`, `timeseries.csv` and `summary.json`, and
//! `power.csv` and `power_levels.csv` when the run had power accounting on.
//!
//! A run directory is written by [`crate::output`]: whole into a temporary sibling and
//! renamed into place, so a reader never sees half a run; an existing run is only
//! replaced with `force`, and only if it is a run folder.
//! Column meanings and units are documented in `docs/outputs.md`.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::columnar::{self, TableFormat};
use crate::economics::{self, Bill};
use crate::engine::SimTime;
use crate::facility::FacilityPower;
use crate::metrics::{BinnedSeries, JobRecord, OutputLevel, Summary, TimeSeries, BASE_QUANTITIES};
use crate::power::{PowerLevels, PowerOutput};
use crate::sim::RunOutput;
use crate::workload::{JobKind, Workload, MILLI_PER_GPU};

mod stream;

pub use stream::StreamedTables;

/// Outputs are written by [`crate::output`]; its error and writer types, and
/// [`write_dir`], are re-exported here under the names the run and compare writers use.
pub use crate::output::{
    write_dir, write_dir_then, FileWriter, Finish, OnBytes, OutputError as ReportError, Staged,
};

/// What the run was, written at the top of `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Scenario name.
    pub scenario: String,
    /// Scenario seed.
    pub seed: u64,
    /// `queue` or `as-recorded`.
    pub mode: String,
    /// Queue policy name.
    pub queue_policy: String,
    /// Placement policy name.
    pub placement: String,
    /// The scenario's description (empty when it has none).
    pub description: String,
    /// Topology name.
    pub topology: String,
    /// The workload: trace format and file(s), or `synthetic`.
    pub workload: String,
    /// GPU model names, indexed like the per-model columns.
    pub gpu_models: Vec<String>,
    /// GPUs of each model in the cluster, indexed like `gpu_models`.
    pub gpu_model_counts: Vec<u64>,
    /// dcsim version that produced the run.
    pub dcsim_version: String,
}

#[derive(Serialize)]
struct SummaryFile<'a> {
    run: &'a RunInfo,
    events: u64,
    #[serde(flatten)]
    summary: &'a Summary,
    /// Inference services (`[[services]]`), when the scenario has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    serving: Option<&'a Vec<crate::serving::engine::ServiceOutput>>,
    /// Each service's cost at the bill's rates, when there are services and a bill.
    #[serde(skip_serializing_if = "Option::is_none")]
    serving_costs: Option<Vec<crate::serving::cost::ServiceCost>>,
}

/// Every file a run folder can hold (power's only with power on, failures' only with
/// reliability on, the network's only with the fabric on, costs only with `[economics]`;
/// the interval series instead of `timeseries.csv` with `--series-interval`): what marks
/// a folder as an earlier run that `--force` may replace.
pub const RUN_FILES: [&str; 15] = [
    "jobs.csv",
    "timeseries.csv",
    "power.csv",
    "power_levels.csv",
    "summary.json",
    "failures.csv",
    "job_failures.csv",
    "costs.csv",
    "tenants.csv",
    "job_costs.csv",
    "report.html",
    "plots",
    "timeseries_intervals.csv",
    "network_jobs.csv",
    "network_links.csv",
];

/// What a run folder is written from.
#[derive(Clone, Copy)]
pub struct RunData<'a> {
    /// The jobs as loaded.
    pub workload: &'a Workload,
    /// What the simulation produced.
    pub out: &'a RunOutput,
    /// The bill, when the scenario has `[economics]`.
    pub bill: Option<&'a Bill>,
}

/// Writes a run into `dir` atomically ([`write_dir`]); refuses to replace an existing
/// `dir` unless `force`; `on_bytes` hears of every buffer written (for progress).
/// `finish` (e.g. the report) runs on the complete files before they are moved into place.
/// `level` says which tables are written: the run must have kept them (its
/// [`crate::metrics::Recording`] had this level).
#[allow(clippy::too_many_arguments)]
pub fn write_run(
    dir: &Path,
    force: bool,
    info: &RunInfo,
    data: RunData<'_>,
    level: OutputLevel,
    on_bytes: &OnBytes,
    finish: Option<&Finish>,
) -> Result<(), ReportError> {
    write_run_with(dir, force, info, data, level, &[], on_bytes, finish)
}

/// [`write_run`] with `extra` files written beside the run's, in the same atomic step
/// (e.g. `dcsim budget`'s `budget.csv`).
#[allow(clippy::too_many_arguments)]
pub fn write_run_with(
    dir: &Path,
    force: bool,
    info: &RunInfo,
    data: RunData<'_>,
    level: OutputLevel,
    extra: &[(&str, &FileWriter)],
    on_bytes: &OnBytes,
    finish: Option<&Finish>,
) -> Result<(), ReportError> {
    write_run_as(
        dir,
        force,
        info,
        data,
        (level, TableFormat::Csv),
        extra,
        on_bytes,
        finish,
    )
}

/// [`write_run_with`] with the tables in `format` (as Parquet, every CSV table is
/// written as a `.parquet` file of the same columns; `summary.json` stays JSON).
#[allow(clippy::too_many_arguments)]
pub fn write_run_as(
    dir: &Path,
    force: bool,
    info: &RunInfo,
    data: RunData<'_>,
    (level, format): (OutputLevel, TableFormat),
    extra: &[(&str, &FileWriter)],
    on_bytes: &OnBytes,
    finish: Option<&Finish>,
) -> Result<(), ReportError> {
    let staged = stage_run(dir, force, format, extra)?;
    commit_run(staged, &[], info, data, (level, format), extra, on_bytes, finish)
}

/// Opens the staged folder of a run at `dir` ([`Staged::open`]): one that may replace an
/// earlier run's folder (with `force`) written as CSV or as `format`, with `extra`.
pub fn stage_run(
    dir: &Path,
    force: bool,
    format: TableFormat,
    extra: &[(&str, &FileWriter)],
) -> Result<Staged, ReportError> {
    let mut names: Vec<String> = RUN_FILES.iter().map(|n| n.to_string()).collect();
    names.extend(RUN_FILES.iter().map(|n| columnar::as_format(n, format)));
    names.extend(extra.iter().map(|&(n, _)| n.to_string()));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Staged::open(dir, &names, force)
}

/// Writes a run into `staged` and commits it ([`columnar::commit_as`]): the tables named
/// in `streamed` were streamed into it as the run went ([`StreamedTables`]), as CSV;
/// the rest are written now, in `format`.
#[allow(clippy::too_many_arguments)]
pub fn commit_run(
    staged: Staged,
    streamed: &[&str],
    info: &RunInfo,
    data: RunData<'_>,
    (level, format): (OutputLevel, TableFormat),
    extra: &[(&str, &FileWriter)],
    on_bytes: &OnBytes,
    finish: Option<&Finish>,
) -> Result<(), ReportError> {
    let RunData { workload, out, bill } = data;
    let jobs = |w: &mut dyn Write| write_jobs(w, info, workload, &out.jobs, out.models.power.as_ref());
    let series = |w: &mut dyn Write| write_series(w, info, &out.series);
    let intervals = |w: &mut dyn Write| match &out.series_intervals {
        Some(b) => write_series_intervals(w, info, b),
        None => Ok(()),
    };
    let power = |w: &mut dyn Write| match &out.models.power {
        Some(p) => write_power(w, p, out.figures.end),
        None => Ok(()),
    };
    let levels = |w: &mut dyn Write| match &out.models.power {
        Some(p) => write_power_levels(w, &p.levels),
        None => Ok(()),
    };
    let summary = |w: &mut dyn Write| {
        let file = SummaryFile {
            run: info,
            events: out.events,
            summary: &out.summary,
            serving: out.models.serving.as_ref(),
            serving_costs: out.models.serving.as_ref().zip(bill).map(|(s, b)| {
                s.iter()
                    .filter_map(|o| crate::serving::cost::service_cost(&o.name, &o.report, b))
                    .collect()
            }),
        };
        serde_json::to_writer_pretty(&mut *w, &file)?;
        writeln!(w)
    };
    let failures = |w: &mut dyn Write| match &out.models.reliability {
        Some(r) => r.write_failures_csv(w),
        None => Ok(()),
    };
    let job_failures = |w: &mut dyn Write| match &out.models.reliability {
        Some(r) => r.write_jobs_csv(w, workload),
        None => Ok(()),
    };
    let network = |w: &mut dyn Write| match &out.models.network {
        Some(n) => write_network_jobs(w, workload, n),
        None => Ok(()),
    };
    let network_links = |w: &mut dyn Write| match &out.models.network {
        Some(n) => write_network_links(w, n),
        None => Ok(()),
    };
    let costs = |w: &mut dyn Write| bill.map_or(Ok(()), |b| economics::output::write_costs(w, b));
    let tenants = |w: &mut dyn Write| bill.map_or(Ok(()), |b| economics::output::write_tenants(w, b));
    let job_costs = |w: &mut dyn Write| {
        bill.map_or(Ok(()), |b| {
            economics::output::write_job_costs(w, b, workload, &out.jobs)
        })
    };
    let [j, t, p, l, s, f, jf, c, tn, jc, _, _, ti, n, nl] = RUN_FILES;
    let mut files: Vec<(&str, &FileWriter)> = Vec::new();
    if level.keeps_jobs() {
        files.push((j, &jobs));
        if out.models.reliability.is_some() {
            files.push((f, &failures));
            files.push((jf, &job_failures));
        }
        if out.models.network.is_some() {
            files.push((n, &network));
        }
        if bill.is_some() {
            files.push((jc, &job_costs));
        }
    }
    if level.keeps_series() {
        if out.series_intervals.is_some() {
            files.push((ti, &intervals));
        } else {
            files.push((t, &series));
        }
        if out.models.power.is_some() {
            files.push((p, &power));
            files.push((l, &levels));
        }
        if out.models.network.is_some() {
            files.push((nl, &network_links));
        }
    }
    if bill.is_some() {
        files.push((c, &costs));
        files.push((tn, &tenants));
    }
    files.push((s, &summary));
    files.extend_from_slice(extra);
    files.retain(|(name, _)| !streamed.contains(name));
    columnar::commit_as(staged, &files, streamed, format, on_bytes, finish)
}

/// Writes `network_jobs.csv`: one row per job that ran with the fabric on: leaves and
/// racks its last run spanned, whether it crossed the spine, its run time and the time
/// it lost to the network (s), and its network slowdown (lost / (run − lost)).
pub fn write_network_jobs(
    w: &mut dyn Write,
    workload: &Workload,
    net: &crate::network::NetworkOutput,
) -> io::Result<()> {
    writeln!(
        w,
        "job,name,leaves,racks,crossed_spine,run_s,network_lost_s,network_slowdown"
    )?;
    for (i, j) in net.jobs.iter().enumerate().filter(|(_, j)| j.run_s > 0.0) {
        let name = workload.jobs.get(i).map_or("", |s| s.name.as_str());
        writeln!(
            w,
            "{i},{name},{},{},{},{:.3},{:.3},{:.6}",
            j.leaves,
            j.racks,
            u8::from(j.crossed_spine),
            j.run_s,
            j.lost_s,
            j.slowdown()
        )?;
    }
    Ok(())
}

/// Writes `network_links.csv`: per bin and tier (node NICs, leaf uplinks, pod uplinks),
/// the link with the highest mean utilization in the bin, that mean and its peak.
pub fn write_network_links(w: &mut dyn Write, net: &crate::network::NetworkOutput) -> io::Result<()> {
    use crate::network::contention::Tier;
    writeln!(w, "start_s,tier,link,mean_utilization,peak_utilization")?;
    for r in &net.links {
        let tier = match r.tier {
            Tier::Node => "node",
            Tier::Leaf => "leaf",
            Tier::Pod => "pod",
        };
        let name = net.link_names.get(r.link as usize).map_or("", String::as_str);
        writeln!(
            w,
            "{:.3},{tier},{name},{:.6},{:.6}",
            r.start.as_secs_f64(),
            r.mean,
            r.peak
        )?;
    }
    Ok(())
}

/// Appends `value / 1000` with exactly three decimals (seconds from ms, GPUs from milli).
fn push_thousandths(buf: &mut String, value: u64) {
    let mut int = itoa::Buffer::new();
    buf.push_str(int.format(value / 1000));
    let frac = value % 1000;
    buf.push('.');
    if frac < 100 {
        buf.push('0');
    }
    if frac < 10 {
        buf.push('0');
    }
    buf.push_str(int.format(frac));
}

/// Appends `v` with `digits` decimals (at most 9), as `format!("{v:.digits$}")` would
/// (but for the sign of a negative value that rounds to zero), without the cost of exact
/// float formatting in the common case.
fn push_fixed(buf: &mut String, v: f64, digits: u32) {
    let scale = 10u64.pow(digits);
    let x = v.abs() * scale as f64;
    // The standard path where the fast one could differ: beyond 2^53 (integers no longer
    // exact), NaN and infinity, and within an ulp of a rounding tie, where the error of
    // the multiplication could decide the side.
    if x.is_nan() || x >= 9.0e15 || ((x - x.floor()) - 0.5).abs() <= x * f64::EPSILON {
        use std::fmt::Write as _;
        let _ = write!(buf, "{v:.*}", digits as usize);
        return;
    }
    let n = x.round() as u64;
    if v < 0.0 && n > 0 {
        buf.push('-');
    }
    let mut int = itoa::Buffer::new();
    buf.push_str(int.format(n / scale));
    if digits > 0 {
        buf.push('.');
        let frac = int.format(n % scale);
        for _ in frac.len()..digits as usize {
            buf.push('0');
        }
        buf.push_str(frac);
    }
}

/// Appends `t` as seconds with millisecond digits.
fn push_secs(buf: &mut String, t: SimTime) {
    push_thousandths(buf, t.as_ms());
}

/// Appends an integer.
fn push_int(buf: &mut String, v: impl itoa::Integer) {
    buf.push_str(itoa::Buffer::new().format(v));
}

/// Writes `jobs.csv`: one row per job, in job-id (submit) order. With `power`, two
/// more columns: `energy_kwh` and `power_wait_s` (without it the file is unchanged).
/// `skip_reason` is written only when some job was skipped (otherwise it would be an
/// all-empty column).
pub fn write_jobs(
    w: &mut dyn Write,
    info: &RunInfo,
    workload: &Workload,
    jobs: &[JobRecord],
    power: Option<&PowerOutput>,
) -> io::Result<()> {
    let skips = jobs.iter().any(|r| r.skip_reason.is_some());
    let mut rows = JobRows::new(info, &workload.tenants, skips, power);
    for r in jobs {
        let spec = &workload.jobs[r.id.0 as usize];
        rows.push(r, &spec.name, spec.kind, w)?;
    }
    rows.end(w)
}

/// `jobs.csv` formatted a row at a time, straight into one buffer written out in blocks
/// (numbers never need quoting, and text cells are quoted as the `csv` crate quotes
/// them): [`write_jobs`] writes kept records through it, and [`StreamedTables`] the
/// records of a run as its jobs end.
struct JobRows<'a> {
    info: &'a RunInfo,
    /// Tenant names by id.
    tenants: &'a [String],
    skips: bool,
    power: Option<&'a PowerOutput>,
    out: String,
}

impl<'a> JobRows<'a> {
    /// The header, with `skip_reason` when `skips` and the power columns with `power`.
    fn new(info: &'a RunInfo, tenants: &'a [String], skips: bool, power: Option<&'a PowerOutput>) -> Self {
        let columns = if skips {
            &JOB_COLUMNS[..]
        } else {
            &JOB_COLUMNS[..JOB_COLUMNS.len() - 1]
        };
        let power_columns = if power.is_some() {
            &POWER_JOB_COLUMNS[..]
        } else {
            &[]
        };
        let mut out = String::with_capacity(ROW_BLOCK + 512);
        for (i, c) in columns.iter().chain(power_columns).enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_text(&mut out, c);
        }
        out.push('\n');
        JobRows {
            info,
            tenants,
            skips,
            power,
            out,
        }
    }

    /// Formats the row of record `r` of the job named `name`, writing the buffer to `w`
    /// once it holds a block.
    fn push<W: Write + ?Sized>(
        &mut self,
        r: &JobRecord,
        name: &str,
        kind: JobKind,
        w: &mut W,
    ) -> io::Result<()> {
        let out = &mut self.out;
        let opt = |out: &mut String, t: Option<SimTime>| {
            out.push(',');
            if let Some(t) = t {
                push_secs(out, t);
            }
        };
        push_int(out, r.id.0);
        for text in [name, &self.tenants[r.tenant.0 as usize], kind.as_str()] {
            out.push(',');
            push_text(out, text);
        }
        out.push(',');
        push_secs(out, r.submit);
        for t in [r.start, r.end, r.wait(), r.jct(), r.run_time(), r.not_running()] {
            opt(out, t);
        }
        for v in [r.demand.gpus, r.demand.milli_per_gpu, r.nodes, r.preemptions] {
            out.push(',');
            push_int(out, v);
        }
        out.push(',');
        push_secs(out, r.lost_work);
        out.push(',');
        push_text(
            out,
            r.gpu_model
                .map(|m| self.info.gpu_models[m as usize].as_str())
                .unwrap_or(""),
        );
        out.push(',');
        push_text(out, r.outcome.as_str());
        if self.skips {
            out.push(',');
            push_text(out, r.skip_reason.unwrap_or(""));
        }
        if let Some(p) = self.power {
            let i = r.id.0 as usize;
            let kwh = p.job_energy_j.get(i).copied().unwrap_or(0.0) / 3.6e6;
            out.push(',');
            push_fixed(out, kwh, 6);
            out.push(',');
            push_secs(out, p.job_power_wait.get(i).copied().unwrap_or(SimTime::ZERO));
        }
        out.push('\n');
        if out.len() >= ROW_BLOCK {
            w.write_all(out.as_bytes())?;
            out.clear();
        }
        Ok(())
    }

    /// Writes what is left in the buffer.
    fn end<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(self.out.as_bytes())?;
        self.out.clear();
        Ok(())
    }
}

/// Bytes of formatted rows [`write_jobs`] collects before writing them.
const ROW_BLOCK: usize = 1 << 15;

/// Appends a text cell as the `csv` crate writes it: in double quotes, each quote
/// doubled, when it holds a comma, a quote or a line break; as it is otherwise.
fn push_text(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        for c in s.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Column names of `jobs.csv` (documented in `docs/outputs.md`); `skip_reason`, last,
/// only when a job was skipped.
const JOB_COLUMNS: [&str; 19] = [
    "id",
    "name",
    "tenant",
    "kind",
    "submit_s",
    "start_s",
    "end_s",
    "wait_s",
    "jct_s",
    "run_s",
    "not_running_s",
    "gpus",
    "gpu_milli",
    "nodes",
    "preemptions",
    "lost_work_s",
    "gpu_model",
    "outcome",
    "skip_reason",
];

/// Extra `jobs.csv` columns when power is on (documented in `docs/outputs.md`).
const POWER_JOB_COLUMNS: [&str; 2] = ["energy_kwh", "power_wait_s"];

/// Writes `power.csv`: a row wherever IT power, throttling or the facility's overhead
/// changes, holding until the next row; a last row at `end` closes the series. The run
/// records IT changes only; cooling and losses come from the facility model at each
/// row's IT power and time, with rows added where the weather changes them.
pub fn write_power(w: &mut dyn Write, p: &PowerOutput, end: Option<SimTime>) -> io::Result<()> {
    let s = &p.series;
    write!(w, "time_s,it_kw")?;
    for h in &s.halls {
        write!(w, ",{h}_kw")?;
    }
    writeln!(w, ",cooling_kw,losses_kw,facility_kw,pue,throttled_gpus")?;
    let mut line = String::with_capacity(128);
    let mut row = |line: &mut String, i: usize, t: SimTime, ov: &FacilityPower| -> io::Result<()> {
        line.clear();
        push_secs(line, t);
        let it = s.it_w[i] / 1000.0;
        let facility = it + ov.cooling_kw + ov.losses_kw;
        line.push(',');
        push_fixed(line, it, 3);
        for h in 0..s.halls.len() {
            line.push(',');
            push_fixed(line, s.hall(i, h) / 1000.0, 3);
        }
        let pue = if it > 0.0 { facility / it } else { 1.0 };
        for (v, digits) in [(ov.cooling_kw, 3), (ov.losses_kw, 3), (facility, 3), (pue, 4)] {
            line.push(',');
            push_fixed(line, v, digits);
        }
        line.push(',');
        push_int(line, s.throttled_gpus[i]);
        line.push('\n');
        w.write_all(line.as_bytes())
    };
    let mut last = None;
    for i in 0..s.len() {
        let until = s.time.get(i + 1).copied().or(end).unwrap_or(s.time[i]);
        let mut t = s.time[i];
        let mut shown: Option<(f64, f64)> = None;
        loop {
            let ov = p.facility.overhead_kw(s.it_w[i] / 1000.0, t);
            if shown != Some((ov.cooling_kw, ov.losses_kw)) {
                shown = Some((ov.cooling_kw, ov.losses_kw));
                row(&mut line, i, t, &ov)?;
                last = Some((i, ov));
            }
            t = p.facility.next_change_after(t);
            if t >= until {
                break;
            }
        }
    }
    if let (Some(end), Some(&t), Some((i, ov))) = (end, s.time.last(), last) {
        if end > t {
            row(&mut line, i, end, &ov)?;
        }
    }
    Ok(())
}

/// Writes `power_levels.csv`: for every interval, one row per tree node (feed, halls,
/// rows, racks) with its mean and peak power and its cap.
///
/// `cap_kw` and `cooling_kw` are empty for levels without one, and left out whole when
/// no level of the tree has one (an all-empty column reads as NaN or text).
pub fn write_power_levels(w: &mut dyn Write, l: &PowerLevels) -> io::Result<()> {
    let has_cap = l.cap_w.iter().any(|c| c.is_finite());
    let has_cooling = l.cooling_w.iter().any(|c| c.is_finite());
    write!(w, "start_s,end_s,level,name,mean_kw,peak_kw")?;
    if has_cap {
        write!(w, ",cap_kw")?;
    }
    if has_cooling {
        write!(w, ",cooling_kw")?;
    }
    writeln!(w)?;
    let mut line = String::with_capacity(128);
    for r in l.rows() {
        let k = r.node as usize;
        line.clear();
        push_secs(&mut line, r.start);
        line.push(',');
        push_secs(&mut line, r.end);
        line.push(',');
        line.push_str(l.level[k].as_str());
        line.push(',');
        line.push_str(&l.names[k]);
        line.push(',');
        push_fixed(&mut line, r.mean_w / 1000.0, 3);
        line.push(',');
        push_fixed(&mut line, r.peak_w / 1000.0, 3);
        let kw = |line: &mut String, w: f64| {
            line.push(',');
            if w.is_finite() {
                push_fixed(line, w / 1000.0, 3);
            }
        };
        if has_cap {
            kw(&mut line, l.cap_w[k]);
        }
        if has_cooling {
            kw(&mut line, l.cooling_w[k]);
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Writes `timeseries.csv`: one row per change point, holding until the next row. The
/// `frag_gpus` column is written only when the run measured fragmentation.
pub fn write_series(w: &mut dyn Write, info: &RunInfo, s: &TimeSeries) -> io::Result<()> {
    SeriesRows::new(info).write(w, s, s.len())
}

/// `timeseries.csv` formatted a block of rows at a time: the header before the first.
struct SeriesRows<'a> {
    info: &'a RunInfo,
    header: bool,
    line: String,
}

impl<'a> SeriesRows<'a> {
    fn new(info: &'a RunInfo) -> Self {
        SeriesRows {
            info,
            header: false,
            line: String::with_capacity(128),
        }
    }

    /// Writes the first `count` rows of `s` (and the header, the first time).
    fn write<W: Write + ?Sized>(&mut self, w: &mut W, s: &TimeSeries, count: usize) -> io::Result<()> {
        let info = self.info;
        if !std::mem::replace(&mut self.header, true) {
            write!(w, "time_s,busy_gpus,free_gpus,queued_jobs,running_jobs")?;
            for m in &info.gpu_models {
                write!(w, ",busy_gpus_{m}")?;
            }
            for m in &info.gpu_models {
                write!(w, ",free_gpus_{m}")?;
            }
            if s.frag_tracked {
                write!(w, ",frag_gpus")?;
            }
            writeln!(w)?;
        }
        let capacity_milli = info.gpu_model_counts.iter().sum::<u64>() * u64::from(MILLI_PER_GPU);
        let line = &mut self.line;
        for i in 0..count {
            line.clear();
            push_secs(line, s.time[i]);
            line.push(',');
            push_thousandths(line, s.busy_milli[i]);
            line.push(',');
            push_thousandths(line, capacity_milli.saturating_sub(s.busy_milli[i]));
            line.push(',');
            push_int(line, s.queued[i]);
            line.push(',');
            push_int(line, s.running[i]);
            let by_model = &s.busy_milli_by_model[i * s.models..(i + 1) * s.models];
            for &b in by_model {
                line.push(',');
                push_thousandths(line, b);
            }
            for (&b, &gpus) in by_model.iter().zip(&info.gpu_model_counts) {
                line.push(',');
                push_thousandths(line, (gpus * u64::from(MILLI_PER_GPU)).saturating_sub(b));
            }
            if s.frag_tracked {
                line.push(',');
                push_thousandths(line, s.frag_milli[i]);
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

/// Writes `timeseries_intervals.csv`: one row per fixed interval, `[start_s, end_s)`
/// (cut to the run's span), with each quantity's minimum, time-weighted mean and maximum
/// over it: busy GPUs, queued and running jobs, busy GPUs per model, and fragmented GPUs
/// when measured. Min and max are over the values held for a positive time.
pub fn write_series_intervals(w: &mut dyn Write, info: &RunInfo, b: &BinnedSeries) -> io::Result<()> {
    let mut names: Vec<String> = ["busy_gpus", "queued_jobs", "running_jobs"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    names.extend(info.gpu_models.iter().map(|m| format!("busy_gpus_{m}")));
    if b.frag_tracked {
        names.push("frag_gpus".into());
    }
    write!(w, "start_s,end_s")?;
    for n in &names {
        write!(w, ",{n}_min,{n}_mean,{n}_max")?;
    }
    writeln!(w)?;
    // Stat order in a row: busy, queued, running, frag, then per model; written as
    // busy, queued, running, per model, frag. `true` marks thousandths (GPUs).
    let mut order: Vec<(usize, bool)> = vec![(0, true), (1, false), (2, false)];
    order.extend((0..b.models).map(|m| (BASE_QUANTITIES + m, true)));
    if b.frag_tracked {
        order.push((3, true));
    }
    let mut line = String::with_capacity(256);
    for i in 0..b.len() {
        line.clear();
        push_secs(&mut line, b.start[i]);
        line.push(',');
        push_secs(&mut line, b.end[i]);
        let row = b.row(i);
        for &(k, milli) in &order {
            let st = &row[k];
            let (min, max, mean) = (st.min, st.max, b.mean(i, st));
            line.push(',');
            if milli {
                push_thousandths(&mut line, min);
                line.push(',');
                push_fixed(&mut line, mean / 1000.0, 3);
                line.push(',');
                push_thousandths(&mut line, max);
            } else {
                push_int(&mut line, min);
                line.push(',');
                push_fixed(&mut line, mean, 3);
                line.push(',');
                push_int(&mut line, max);
            }
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{push_fixed, push_text};

    /// Text cells come out as the `csv` crate writes them (the writer `jobs.csv` used
    /// before, and what every reader of the file expects): plain, or quoted with quotes
    /// doubled when a comma, quote or line break is inside.
    #[test]
    fn text_cells_are_quoted_as_the_csv_crate_quotes_them() {
        let cells = [
            "job-1",
            "",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "cr\rhere",
            "é,ü\"",
            "#x",
            " lead",
        ];
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(cells).unwrap();
        let want = String::from_utf8(csv.into_inner().unwrap()).unwrap();
        let mut ours = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                ours.push(',');
            }
            push_text(&mut ours, c);
        }
        ours.push('\n');
        assert_eq!(ours, want);
    }

    /// The fast path writes what `format!("{v:.d$}")` writes, for the decimals outputs use
    /// (kW with 3, PUE with 4, kWh with 6) over a deterministic spread of magnitudes up to
    /// 10^9, including values whose scaled form lands near a rounding tie.
    #[test]
    fn fixed_point_matches_standard_formatting() {
        let mut rng = crate::engine::XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let x = rng.next_u64();
            let v = (x >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((x % 10) as i32);
            for digits in [0, 3, 4, 6] {
                let mut ours = String::new();
                push_fixed(&mut ours, v, digits);
                assert_eq!(ours, format!("{v:.*}", digits as usize), "{v} to {digits}");
            }
        }
        let mut s = String::new();
        push_fixed(&mut s, f64::INFINITY, 4);
        assert_eq!(s, "inf");
        s.clear();
        push_fixed(&mut s, -2.5e-7, 3);
        assert_eq!(s, "0.000");
    }
}
