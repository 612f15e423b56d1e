//! Shared plumbing for the adapters: opening plain or gzip files, looking columns up by
//! header name, streaming rows with their line numbers, and parsing fields into values
//! with errors that name the file, the line, the column and the offending value.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use csv::StringRecord;
use flate2::read::MultiGzDecoder;

use crate::engine::{SimTime, TimeError};
use crate::workload::{GpuDemand, SkipReport, WorkloadError, MILLI_PER_GPU};

/// The two magic bytes every gzip member starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` for reading, transparently decompressing gzip (detected by its magic
/// bytes, whatever the extension; concatenated members are read as one stream).
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read>, WorkloadError> {
    let io = |source| WorkloadError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is a folder; expected a trace file (plain or .gz)",
        )));
    }
    let file = File::open(path).map_err(io)?;
    let mut buf = BufReader::with_capacity(1 << 16, file);
    let head = buf.fill_buf().map_err(io)?;
    if head.starts_with(&GZIP_MAGIC) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(buf),
        )))
    } else {
        Ok(Box::new(buf))
    }
}

/// A column located in the header: its index and its name (for error messages).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col {
    /// Position in the record.
    pub idx: usize,
    /// Header name.
    pub name: &'static str,
}

/// One CSV source being streamed: the reader, its header, and the per-file row count
/// and skip report that the caller merges into the workload.
pub(crate) struct Source {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read>>,
    headers: StringRecord,
    /// Data rows read so far (the header is not a row).
    pub rows: u64,
    /// Rows of this file not turned into jobs.
    pub skipped: SkipReport,
    /// The job ids this file has given so far, with the line of each.
    ids: HashMap<String, u64>,
}

impl Source {
    /// Opens `path` and reads its header line. A file without a header line (zero bytes
    /// or only blank lines) is [`WorkloadError::Empty`].
    pub fn open(path: &Path) -> Result<Source, WorkloadError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .buffer_capacity(1 << 16)
            .from_reader(open(path)?);
        let mut headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
        headers.trim();
        if headers.iter().all(str::is_empty) {
            return Err(WorkloadError::Empty {
                path: path.to_path_buf(),
                detail: "the file has no header line".into(),
            });
        }
        Ok(Source {
            path: path.to_path_buf(),
            reader,
            headers,
            rows: 0,
            skipped: SkipReport::default(),
            ids: HashMap::new(),
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header's column names.
    pub fn headers(&self) -> &StringRecord {
        &self.headers
    }

    /// The required column `name`, or [`WorkloadError::MissingColumn`] listing
    /// `expected` (every column the format needs).
    pub fn column(&self, name: &'static str, expected: &[&str]) -> Result<Col, WorkloadError> {
        self.optional_column(name)
            .ok_or_else(|| WorkloadError::MissingColumn {
                path: self.path.clone(),
                column: name.to_string(),
                expected: expected.join(","),
            })
    }

    /// The column `name`, if the header has it.
    pub fn optional_column(&self, name: &'static str) -> Option<Col> {
        self.headers
            .iter()
            .position(|h| h == name)
            .map(|idx| Col { idx, name })
    }

    /// Reads the next data row into `rec` (reusing its buffers); false at end of file.
    /// Counts the row. Malformed CSV (wrong field count, bad UTF-8) is a row error.
    pub fn next_row(&mut self, rec: &mut StringRecord) -> Result<bool, WorkloadError> {
        match self.reader.read_record(rec) {
            Ok(true) => {
                self.rows += 1;
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(e) => Err(csv_error(&self.path, e)),
        }
    }

    /// The job id in column `c` of a row that becomes a job. An id an earlier job of
    /// this file already has is a row error naming both lines: outputs key jobs by
    /// their id, and no published trace dcsim reads repeats one, so a repeat means a
    /// broken or concatenated file rather than data to keep.
    pub fn job_id(&mut self, rec: &StringRecord, c: Col) -> Result<String, WorkloadError> {
        let id = field(rec, c);
        if let Some(&first) = self.ids.get(id) {
            return Err(self.error(
                rec,
                format!(
                    "column `{}`: job id `{id}` repeats the job on line {first}; ids must be unique within a file",
                    c.name
                ),
            ));
        }
        self.ids.insert(id.to_string(), line(rec));
        Ok(id.to_string())
    }

    /// Counts `rec` as skipped for `reason`.
    pub fn skip(&mut self, reason: &str, rec: &StringRecord) {
        let path = &self.path;
        self.skipped
            .skip(reason, || format!("{}:{}", path.display(), line(rec)));
    }

    /// A [`WorkloadError::Row`] at `rec`'s line.
    pub fn error(&self, rec: &StringRecord, message: String) -> WorkloadError {
        WorkloadError::Row {
            path: self.path.clone(),
            line: line(rec),
            message,
        }
    }

    /// A row error for column `c` holding `value`, which should have been `expected`.
    pub fn bad(&self, rec: &StringRecord, c: Col, expected: &str) -> WorkloadError {
        self.error(
            rec,
            format!(
                "column `{}`: expected {}, found `{}`",
                c.name,
                expected,
                field(rec, c)
            ),
        )
    }

    /// A non-negative whole number (`3` or `3.0`) that fits a `u32`; a larger one is
    /// an out-of-range error that gives the range.
    pub fn count(&self, rec: &StringRecord, c: Col) -> Result<u32, WorkloadError> {
        parse_count(field(rec, c)).map_err(|m| self.found(rec, c, &m))
    }

    /// Seconds (integer or decimal, in `0..=`[`SimTime::MAX_HORIZON`]) as time, rounded
    /// to the millisecond; anything else names the column and the value.
    pub fn secs(&self, rec: &StringRecord, c: Col) -> Result<SimTime, WorkloadError> {
        parse_secs(field(rec, c)).map_err(|m| self.found(rec, c, &m))
    }

    /// Like [`Source::secs`], but an empty cell is `None`.
    pub fn opt_secs(&self, rec: &StringRecord, c: Col) -> Result<Option<SimTime>, WorkloadError> {
        if field(rec, c).is_empty() {
            Ok(None)
        } else {
            self.secs(rec, c).map(Some)
        }
    }

    /// A `YYYY-MM-DD HH:MM:SS` wall-clock time (no time zone) as time since 1970,
    /// checked like every other time: before 1970 or past [`SimTime::MAX_HORIZON`] is an
    /// error naming the column and value.
    pub fn datetime(&self, rec: &StringRecord, c: Col) -> Result<SimTime, WorkloadError> {
        let ms = NaiveDateTime::parse_from_str(field(rec, c), "%Y-%m-%d %H:%M:%S")
            .map(|t| t.and_utc().timestamp_millis())
            .map_err(|_| self.bad(rec, c, "a time `YYYY-MM-DD HH:MM:SS`"))?;
        let ms = u64::try_from(ms).map_err(|_| self.bad(rec, c, "a time in 1970 or later"))?;
        SimTime::try_from_ms(ms).map_err(|e| self.found(rec, c, &e.to_string()))
    }

    /// A row error for column `c`: `message`, then the value found.
    fn found(&self, rec: &StringRecord, c: Col, message: &str) -> WorkloadError {
        self.error(
            rec,
            format!("column `{}`: {message}, found `{}`", c.name, field(rec, c)),
        )
    }
}

/// The trimmed text of column `c` in `rec` (empty if the row is short).
pub(crate) fn field(rec: &StringRecord, c: Col) -> &str {
    rec.get(c.idx).unwrap_or("").trim()
}

/// The 1-based line `rec` started on (the header is line 1).
pub(crate) fn line(rec: &StringRecord) -> u64 {
    rec.position().map_or(0, csv::Position::line)
}

/// Maps a csv error to a row error (with its line) or an I/O error.
fn csv_error(path: &Path, e: csv::Error) -> WorkloadError {
    let line = e.position().map_or(0, csv::Position::line);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => WorkloadError::Io {
            path: path.to_path_buf(),
            source,
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => WorkloadError::Row {
            path: path.to_path_buf(),
            line,
            message: format!("expected {expected_len} fields like the header, found {len}"),
        },
        csv::ErrorKind::Utf8 { err, .. } => WorkloadError::Row {
            path: path.to_path_buf(),
            line,
            message: format!("invalid UTF-8 in field {}", err.field() + 1),
        },
        other => WorkloadError::Row {
            path: path.to_path_buf(),
            line,
            message: format!("{other:?}"),
        },
    }
}

/// Parses a non-negative whole number, allowing a zero fraction (`4.0`); the error
/// says what was expected (and the range, for a number too large for a `u32`).
pub(crate) fn parse_count(s: &str) -> Result<u32, String> {
    const EXPECTED: &str = "expected a non-negative whole number";
    if let Ok(n) = s.parse::<u32>() {
        return Ok(n);
    }
    let x: f64 = s.parse().map_err(|_| EXPECTED.to_string())?;
    if !(x.is_finite() && x >= 0.0 && x.fract() == 0.0) {
        return Err(EXPECTED.into());
    }
    if x > f64::from(u32::MAX) {
        return Err(format!(
            "out of range: expected a whole number in 0..={}",
            u32::MAX
        ));
    }
    Ok(x as u32)
}

/// Parses non-negative seconds to milliseconds. Plain decimals are parsed exactly
/// (digits past the third decimal round half up); other float syntax goes through
/// [`SimTime::try_from_secs_f64`]. Either way the result must lie within
/// [`SimTime::MAX_HORIZON`]; the error says what was expected.
pub(crate) fn parse_secs(s: &str) -> Result<SimTime, String> {
    if let Some(ms) = parse_decimal_ms(s) {
        return SimTime::try_from_ms(ms).map_err(|e| e.to_string());
    }
    const EXPECTED: &str = "expected seconds (a number >= 0)";
    let x: f64 = s.parse().map_err(|_| EXPECTED.to_string())?;
    SimTime::try_from_secs_f64(x).map_err(|e| match e {
        TimeError::TooLarge(_) => e.to_string(),
        TimeError::NotFinite(_) | TimeError::Negative(_) => EXPECTED.to_string(),
    })
}

/// Exact parse of `digits[.digits]` seconds to milliseconds; `None` for anything else.
fn parse_decimal_ms(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut ms = 0u64;
    let fb = frac.as_bytes();
    for i in 0..3 {
        ms = ms * 10 + fb.get(i).map_or(0, |b| u64::from(b - b'0'));
    }
    if fb.get(3).is_some_and(|&b| b >= b'5') {
        ms += 1;
    }
    whole.checked_mul(SimTime::MS_PER_S)?.checked_add(ms)
}

/// Validates a `(gpus, milli per GPU)` pair: at least one GPU, milli in 1..=1000, and
/// only single-GPU jobs may take a share of a GPU. Returns what was wrong otherwise.
pub(crate) fn demand(gpus: u32, milli: u32) -> Result<GpuDemand, String> {
    if gpus == 0 {
        return Err("a job needs at least 1 GPU".into());
    }
    if milli == 0 || milli > MILLI_PER_GPU {
        return Err(format!(
            "GPU share must be in 1..=1000 thousandths, found {milli}"
        ));
    }
    if milli < MILLI_PER_GPU {
        if gpus > 1 {
            return Err(format!(
                "a GPU share ({milli} thousandths) is only valid for a 1-GPU job, found {gpus} GPUs"
            ));
        }
        return Ok(GpuDemand::share(milli));
    }
    Ok(GpuDemand::whole(gpus))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_exactly_to_milliseconds() {
        let ok = |s: &str| parse_secs(s).ok();
        assert_eq!(ok("12"), Some(SimTime(12_000)));
        assert_eq!(ok("12.5"), Some(SimTime(12_500)));
        assert_eq!(ok("0.001"), Some(SimTime(1)));
        assert_eq!(ok("3973.0000000000005"), Some(SimTime(3_973_000)));
        assert_eq!(ok("1.0005"), Some(SimTime(1_001)));
        assert_eq!(ok(".25"), Some(SimTime(250)));
        assert_eq!(ok("1e3"), Some(SimTime(1_000_000)));
        assert_eq!(ok("-1"), None);
        assert_eq!(ok("abc"), None);
        assert_eq!(ok(""), None);
        assert_eq!(ok("."), None);
        assert_eq!(ok("inf"), None);
    }

    #[test]
    fn seconds_past_the_horizon_are_out_of_range_not_clamped() {
        // Before: "1e300" became u64::MAX ms (584 million years) and a 25-digit decimal
        // fell through to the same clamp.
        for s in ["1e300", "31557600000.001", "99999999999999999999999"] {
            let err = parse_secs(s).unwrap_err();
            assert!(err.contains("out of range"), "{s}: {err}");
        }
        assert_eq!(parse_secs("31557600000"), Ok(SimTime::MAX_HORIZON));
    }

    #[test]
    fn counts_allow_zero_fraction_only() {
        assert_eq!(parse_count("8"), Ok(8));
        assert_eq!(parse_count("8.0"), Ok(8));
        assert_eq!(parse_count("4294967295"), Ok(u32::MAX));
        for s in ["8.5", "-1", "x", "NaN", "inf", ""] {
            let err = parse_count(s).unwrap_err();
            assert_eq!(err, "expected a non-negative whole number", "{s}");
        }
    }

    #[test]
    fn counts_too_large_for_u32_say_out_of_range_and_give_the_range() {
        // Before: "expected a non-negative whole number" for a non-negative whole number.
        for s in ["1000000000000", "4294967296", "1e12"] {
            let err = parse_count(s).unwrap_err();
            assert_eq!(
                err, "out of range: expected a whole number in 0..=4294967295",
                "{s}"
            );
        }
    }

    #[test]
    fn demand_rules() {
        assert_eq!(demand(4, 1000), Ok(GpuDemand::whole(4)));
        assert_eq!(demand(1, 250), Ok(GpuDemand::share(250)));
        assert!(demand(0, 1000).is_err());
        assert!(demand(1, 0).is_err());
        assert!(demand(1, 1001).is_err());
        assert!(demand(2, 500).is_err());
    }
}
