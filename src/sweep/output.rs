//! `sweep.csv` and `sweep_summary.csv`, written from one or more journals (one for a
//! sweep on one machine, one per shard for `dcsim merge`), so both ways give the same
//! bytes. With `--format parquet` the same two tables are written as `sweep.parquet` and
//! `sweep_summary.parquet` ([`crate::columnar`]: the CSV's columns and values, typed).
//!
//! Rows are written in run order whatever order the runs finished in: a first pass
//! indexes the journals (16 bytes per run, plus the figure names), a second reads each
//! run's line back by its offset. Memory is bounded by that index and one point's
//! replications, never by the rows.
//!
//! - `sweep.csv`: one row per run: `point`, `replication`, `run_seed`, one column per swept
//!   key, then every figure (the union of the runs' figure names, sorted).
//! - `sweep_summary.csv`: one row per point: `point`, the swept keys, `runs`, then per
//!   figure `<figure>_mean`, `<figure>_std` (sample standard deviation) and
//!   `<figure>_ci95` (half-width of the 95% Student-t interval, as in `dcsim compare`),
//!   each empty where undefined (no value, or fewer than two runs).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::columnar::{self, TableFormat};
use crate::compare::Estimate;

use super::journal::{Header, Index, JournalError, Row};
use super::SweepError;

/// The per-run file.
pub const RUNS_FILE: &str = "sweep.csv";
/// The per-point file.
pub const SUMMARY_FILE: &str = "sweep_summary.csv";
/// The per-run file as Parquet.
pub const RUNS_PARQUET: &str = "sweep.parquet";
/// The per-point file as Parquet.
pub const SUMMARY_PARQUET: &str = "sweep_summary.parquet";

/// The per-run and per-point file names in `format`.
pub fn file_names(format: TableFormat) -> [&'static str; 2] {
    match format {
        TableFormat::Csv => [RUNS_FILE, SUMMARY_FILE],
        TableFormat::Parquet => [RUNS_PARQUET, SUMMARY_PARQUET],
    }
}

/// Whether `dir` holds a sweep's result files, in either format.
pub fn has_results(dir: &Path) -> bool {
    [TableFormat::Csv, TableFormat::Parquet]
        .iter()
        .flat_map(|&f| file_names(f))
        .any(|n| dir.join(n).exists())
}

/// Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn push_num(line: &mut String, x: Option<f64>) {
    line.push(',');
    if let Some(x) = x {
        let _ = write!(line, "{x}");
    }
}

/// Where each run of the whole grid is: `(journal, offset, length)` by run index.
pub struct Assembled {
    /// The journals' common header (shard removed).
    pub header: Header,
    /// Figure names, sorted.
    pub figures: Vec<String>,
    /// Per run, in run order: which journal and where.
    runs: Vec<(usize, u64, u32)>,
    journals: Vec<Index>,
}

impl Assembled {
    /// Checks that the journals are of one sweep and together hold every run, once.
    pub fn new(journals: Vec<Index>) -> Result<Assembled, SweepError> {
        let first = journals
            .first()
            .ok_or_else(|| SweepError::Merge("no journals to merge".into()))?;
        let base = Header {
            shard: None,
            ..first.header.clone()
        };
        let mut shards_seen: BTreeMap<u64, &Path> = BTreeMap::new();
        for j in &journals {
            let h = &j.header;
            if h.sweep != base.sweep || h.keys != base.keys || h.points != base.points {
                if let Some(change) = super::inputs::first_change(&base.inputs, &h.inputs) {
                    return Err(SweepError::Merge(format!(
                        "{} is from another sweep than {}: {change} between the two \
                         (shards merge only when every input file is the same)",
                        j.path.display(),
                        first.path.display(),
                    )));
                }
                return Err(SweepError::Merge(format!(
                    "{} is from another sweep than {} (scenario `{}` vs `{}`, sweep hash {} vs {}): \
                     shards merge only when scenario, topology, grid and --set are the same",
                    j.path.display(),
                    first.path.display(),
                    h.scenario,
                    base.scenario,
                    h.sweep,
                    base.sweep
                )));
            }
            if let Some((i, n)) = h.shard {
                if first.header.shard.map(|s| s.1) != Some(n) {
                    return Err(SweepError::Merge(format!(
                        "{} is shard {i}/{n}, but {} is {}",
                        j.path.display(),
                        first.path.display(),
                        first
                            .header
                            .shard
                            .map_or("not a shard".to_string(), |(a, b)| format!("shard {a}/{b}"))
                    )));
                }
                if let Some(other) = shards_seen.insert(i, &j.path) {
                    return Err(SweepError::Merge(format!(
                        "shard {i}/{n} is given twice: {} and {}",
                        other.display(),
                        j.path.display()
                    )));
                }
            }
        }
        if let Some((_, n)) = first.header.shard {
            if let Some(missing) = (0..n).find(|i| !shards_seen.contains_key(i)) {
                return Err(SweepError::Merge(format!(
                    "shard {missing}/{n} is missing ({} of {n} shards given)",
                    shards_seen.len()
                )));
            }
        }
        let total = base.points.saturating_mul(u64::from(base.replications));
        let mut all: Vec<(u64, usize, u64, u32)> = journals
            .iter()
            .enumerate()
            .flat_map(|(j, ix)| ix.runs.iter().map(move |&(r, o, l)| (r, j, o, l)))
            .collect();
        all.sort_by_key(|r| (r.0, r.1));
        all.dedup_by_key(|r| r.0);
        if let Some(r) = all.iter().find(|r| r.0 >= total) {
            return Err(SweepError::Merge(format!(
                "run {} is outside the grid of {total} runs",
                r.0
            )));
        }
        if (all.len() as u64) < total {
            let missing = (0..total)
                .zip(all.iter().map(|r| r.0).chain(std::iter::repeat(u64::MAX)))
                .find(|(want, have)| want != have)
                .map_or(0, |x| x.0);
            return Err(SweepError::Incomplete {
                done: all.len() as u64,
                total,
                first_missing: missing,
            });
        }
        let figures = journals
            .iter()
            .flat_map(|j| j.figures.iter().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        Ok(Assembled {
            header: base,
            figures,
            runs: all.into_iter().map(|(_, j, o, l)| (j, o, l)).collect(),
            journals,
        })
    }

    /// Writes `sweep.csv` and `sweep_summary.csv` (or their Parquet forms) into `dir`,
    /// each under a temporary name renamed into place once both are written; then
    /// removes the other format's files, so `dir` never holds tables of two sweeps.
    pub fn write(&self, dir: &Path, format: TableFormat) -> Result<(), SweepError> {
        let names = file_names(format);
        let tmps = names.map(|n| dir.join(format!("{n}.tmp")));
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source: io::Error| SweepError::Io { path: p, source }
        };
        let mut runs_w = BufWriter::new(File::create(&tmps[0]).map_err(io(&tmps[0]))?);
        let mut sum_w = BufWriter::new(File::create(&tmps[1]).map_err(io(&tmps[1]))?);
        let written = match format {
            TableFormat::Csv => self.write_to(&mut runs_w, &mut sum_w),
            TableFormat::Parquet => self
                .parquet(&mut runs_w, |s, w| s.write_to(w, &mut io::sink()))
                .and_then(|()| self.parquet(&mut sum_w, |s, w| s.write_to(&mut io::sink(), w))),
        };
        written.map_err(|e| match e {
            WriteError::Io(source) => SweepError::Io {
                path: dir.to_path_buf(),
                source,
            },
            WriteError::Journal(j) => SweepError::Journal(j),
        })?;
        runs_w.flush().map_err(io(&tmps[0]))?;
        sum_w.flush().map_err(io(&tmps[1]))?;
        drop((runs_w, sum_w));
        for (tmp, name) in tmps.into_iter().zip(names) {
            let to: PathBuf = dir.join(name);
            std::fs::rename(&tmp, &to).map_err(io(&to))?;
        }
        let other = match format {
            TableFormat::Csv => TableFormat::Parquet,
            TableFormat::Parquet => TableFormat::Csv,
        };
        for name in file_names(other) {
            let stale = dir.join(name);
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(io(&stale))?;
            }
        }
        Ok(())
    }

    /// Writes one table, as `table` writes it in CSV, as Parquet into `w`. A journal that
    /// fails to read mid-table comes back as [`WriteError::Journal`].
    fn parquet(
        &self,
        w: &mut dyn Write,
        table: impl Fn(&Self, &mut dyn Write) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        let failed: Cell<Option<JournalError>> = Cell::new(None);
        let csv = |w: &mut dyn Write| {
            table(self, w).map_err(|e| match e {
                WriteError::Io(e) => e,
                WriteError::Journal(j) => {
                    let message = j.to_string();
                    failed.set(Some(j));
                    io::Error::other(message)
                }
            })
        };
        columnar::write_parquet(&csv, w).map_err(|e| match failed.take() {
            Some(j) => WriteError::Journal(j),
            None => WriteError::Io(e),
        })
    }

    fn write_to(&self, runs_w: &mut dyn Write, sum_w: &mut dyn Write) -> Result<(), WriteError> {
        let keys: Vec<String> = self.header.keys.iter().map(|k| field(k)).collect();
        let mut line = String::from("point,replication,run_seed");
        for k in &keys {
            let _ = write!(line, ",{k}");
        }
        for f in &self.figures {
            let _ = write!(line, ",{}", field(f));
        }
        writeln!(runs_w, "{line}")?;
        line = String::from("point");
        for k in &keys {
            let _ = write!(line, ",{k}");
        }
        line.push_str(",runs");
        for f in &self.figures {
            let f = field(f);
            let _ = write!(line, ",{f}_mean,{f}_std,{f}_ci95");
        }
        writeln!(sum_w, "{line}")?;

        let mut files: Vec<Option<File>> = self.journals.iter().map(|_| None).collect();
        let reps = self.header.replications as usize;
        let mut point_rows: Vec<Row> = Vec::with_capacity(reps);
        let col: BTreeMap<&str, usize> = self
            .figures
            .iter()
            .enumerate()
            .map(|(i, f)| (f.as_str(), i))
            .collect();
        for &(j, offset, len) in &self.runs {
            let file = match &mut files[j] {
                Some(f) => f,
                slot => slot.insert(File::open(&self.journals[j].path)?),
            };
            let row = self.journals[j].row(file, offset, len)?;
            line.clear();
            let _ = write!(line, "{},{},{}", row.point, row.replication, row.seed);
            for v in &row.values {
                let _ = write!(line, ",{}", field(v));
            }
            let mut cells = vec![""; self.figures.len()];
            for (name, value) in &row.figures {
                if let Some(&i) = col.get(name.as_str()) {
                    cells[i] = value;
                }
            }
            for c in cells {
                line.push(',');
                line.push_str(c);
            }
            writeln!(runs_w, "{line}")?;
            point_rows.push(row);
            if point_rows.len() == reps {
                self.summary_row(&mut line, &point_rows, &col);
                writeln!(sum_w, "{line}")?;
                point_rows.clear();
            }
        }
        Ok(())
    }

    fn summary_row(&self, line: &mut String, rows: &[Row], col: &BTreeMap<&str, usize>) {
        line.clear();
        let _ = write!(line, "{}", rows[0].point);
        for v in &rows[0].values {
            let _ = write!(line, ",{}", field(v));
        }
        let _ = write!(line, ",{}", rows.len());
        let mut values: Vec<Vec<f64>> = vec![Vec::with_capacity(rows.len()); self.figures.len()];
        for row in rows {
            for (name, value) in &row.figures {
                if let (Some(&i), Ok(x)) = (col.get(name.as_str()), value.parse::<f64>()) {
                    values[i].push(x);
                }
            }
        }
        for v in &values {
            let e = Estimate::of(v);
            push_num(line, e.mean);
            push_num(line, e.std);
            push_num(line, e.ci95);
        }
    }
}

enum WriteError {
    Io(io::Error),
    Journal(JournalError),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Io(e)
    }
}

impl From<JournalError> for WriteError {
    fn from(e: JournalError) -> Self {
        WriteError::Journal(e)
    }
}
