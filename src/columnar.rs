//! Any CSV table dcsim writes, as Parquet (`--format parquet`): the same columns, the
//! same values and units, one typed column each.
//!
//! The CSV writers stay the one place a table's columns and values are decided; this
//! module re-reads what they write, as they write it, and never keeps the table. It calls
//! a table's writer twice: the first pass only types the columns (see [`ColumnType`]),
//! the second fills row groups of [`ROW_GROUP`] rows and writes each as it fills, so
//! memory is bounded by one row group whatever the table's length. Both passes see the
//! same bytes (the writers are deterministic), and the Parquet bytes depend on nothing
//! else: no timestamp, no thread count.

use std::io::{self, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, ConvertedType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, Type};

use crate::output::{self, FileWriter, Finish, OnBytes, OutputError, Staged};

/// Rows per Parquet row group (a fixed number, so the file does not depend on how the
/// CSV writer cut its buffers).
pub const ROW_GROUP: usize = 65_536;

/// Columns that hold text whatever their values look like (a job named `007` stays
/// `007`, not the number 7).
pub const TEXT_COLUMNS: [&str; 7] = [
    "name",
    "tenant",
    "kind",
    "gpu_model",
    "outcome",
    "skip_reason",
    "level",
];

/// A column's Parquet type, the narrowest that holds every non-empty cell exactly as
/// written. Empty cells are nulls (every column is optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ColumnType {
    /// Every cell is empty (or there are no rows): written as text.
    Empty,
    /// Every cell is an integer written without sign clutter, leading zeros or a decimal
    /// point: `INT64`.
    Int,
    /// Every cell is a decimal number (or `inf`, `-inf`, `NaN`): `DOUBLE`, the nearest
    /// double to the text, which prints back to the same digits.
    Float,
    /// Anything else: `BYTE_ARRAY` annotated as UTF-8 text.
    Text,
}

impl ColumnType {
    /// The narrowest type of one non-empty cell.
    fn of(cell: &[u8]) -> ColumnType {
        if is_int(cell) {
            ColumnType::Int
        } else if is_decimal(cell) {
            ColumnType::Float
        } else {
            ColumnType::Text
        }
    }

    /// The name docs and errors use.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Int => "INT64",
            ColumnType::Float => "DOUBLE",
            ColumnType::Empty | ColumnType::Text => "UTF8",
        }
    }
}

/// `0`, or an optional `-` then digits not starting with `0`, within `i64`.
fn is_int(cell: &[u8]) -> bool {
    let digits = cell.strip_prefix(b"-").unwrap_or(cell);
    let canonical = match digits {
        [] => false,
        [b'0'] => cell.len() == 1,
        [first, ..] => *first != b'0' && digits.iter().all(u8::is_ascii_digit),
    };
    canonical && std::str::from_utf8(cell).is_ok_and(|s| s.parse::<i64>().is_ok())
}

/// `-?D+(.D+)?([eE][-+]?D+)?`, or `inf`, `-inf`, `NaN` (what Rust's float formatting
/// writes).
fn is_decimal(cell: &[u8]) -> bool {
    if matches!(cell, b"inf" | b"-inf" | b"NaN") {
        return true;
    }
    let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut s = cell.strip_prefix(b"-").unwrap_or(cell);
    let n = digits(s);
    if n == 0 {
        return false;
    }
    s = &s[n..];
    if let Some(rest) = s.strip_prefix(b".") {
        let n = digits(rest);
        if n == 0 {
            return false;
        }
        s = &rest[n..];
    }
    if let Some(rest) = s.strip_prefix(b"e").or_else(|| s.strip_prefix(b"E")) {
        let rest = rest
            .strip_prefix(b"-")
            .or_else(|| rest.strip_prefix(b"+"))
            .unwrap_or(rest);
        let n = digits(rest);
        if n == 0 {
            return false;
        }
        s = &rest[n..];
    }
    s.is_empty()
}

/// Receives a CSV table one record at a time.
trait Records {
    /// One record's fields; the first call is the header.
    fn record(&mut self, fields: &[&[u8]]) -> io::Result<()>;
}

/// A `Write` that parses the CSV written into it (RFC 4180, as the `csv` crate writes)
/// and hands each record to `R` as soon as it is complete.
struct CsvSink<'a, R> {
    reader: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Bytes of `out` and entries of `ends` used by the record being read.
    used: (usize, usize),
    records: &'a mut R,
}

impl<'a, R: Records> CsvSink<'a, R> {
    fn new(records: &'a mut R) -> Self {
        CsvSink {
            reader: csv_core::Reader::new(),
            out: vec![0; 1024],
            ends: vec![0; 64],
            used: (0, 0),
            records,
        }
    }

    /// Parses `input`; an empty `input` ends the table (a last record without a line
    /// end is completed).
    fn feed(&mut self, mut input: &[u8]) -> io::Result<()> {
        use csv_core::ReadRecordResult as R;
        loop {
            let (o, e) = self.used;
            let (res, nin, nout, nend) =
                self.reader
                    .read_record(input, &mut self.out[o..], &mut self.ends[e..]);
            input = &input[nin..];
            self.used = (o + nout, e + nend);
            match res {
                R::InputEmpty => return Ok(()),
                R::OutputFull => {
                    let n = self.out.len() * 2;
                    self.out.resize(n, 0);
                }
                R::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                R::Record => {
                    let (_, e) = self.used;
                    let mut fields: Vec<&[u8]> = Vec::with_capacity(e);
                    let mut start = 0;
                    for &end in &self.ends[..e] {
                        fields.push(&self.out[start..end]);
                        start = end;
                    }
                    self.used = (0, 0);
                    self.records.record(&fields)?;
                }
                R::End => return Ok(()),
            }
        }
    }

    /// Ends the table.
    fn finish(mut self) -> io::Result<()> {
        self.feed(&[])
    }
}

impl<R: Records> Write for CsvSink<'_, R> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty() {
            self.feed(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn bad(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// The first pass: the header and each column's type.
#[derive(Default)]
struct Typing {
    header: Option<Vec<String>>,
    types: Vec<ColumnType>,
    rows: u64,
}

impl Records for Typing {
    fn record(&mut self, fields: &[&[u8]]) -> io::Result<()> {
        let Some(header) = &self.header else {
            let names = fields
                .iter()
                .map(|f| String::from_utf8(f.to_vec()).map_err(|_| bad("a column name is not UTF-8".into())))
                .collect::<io::Result<Vec<_>>>()?;
            self.types = names
                .iter()
                .map(|n| {
                    if TEXT_COLUMNS.contains(&n.as_str()) {
                        ColumnType::Text
                    } else {
                        ColumnType::Empty
                    }
                })
                .collect();
            self.header = Some(names);
            return Ok(());
        };
        self.rows += 1;
        if fields.len() != header.len() {
            return Err(bad(format!(
                "row {} has {} fields, the header {}",
                self.rows,
                fields.len(),
                header.len()
            )));
        }
        for (t, f) in self.types.iter_mut().zip(fields) {
            if *t != ColumnType::Text && !f.is_empty() {
                *t = (*t).max(ColumnType::of(f));
            }
        }
        Ok(())
    }
}

/// One column's values in the row group being filled (text as one byte buffer and each
/// value's end, so a cell costs no allocation of its own).
enum Values {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Text { bytes: Vec<u8>, ends: Vec<usize> },
}

/// The second pass: fills row groups and writes each one through.
struct Filling<'w> {
    /// Writes into a buffer that [`Filling::drain`] empties into `out`.
    writer: SerializedFileWriter<Vec<u8>>,
    out: &'w mut dyn Write,
    types: Vec<ColumnType>,
    values: Vec<Values>,
    defined: Vec<Vec<i16>>,
    rows: usize,
    header_seen: bool,
}

fn to_io(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(e)
}

impl<'w> Filling<'w> {
    fn new(header: &[String], types: &[ColumnType], out: &'w mut dyn Write) -> io::Result<Self> {
        let fields = header
            .iter()
            .zip(types)
            .map(|(name, t)| {
                let b = match t {
                    ColumnType::Int => Type::primitive_type_builder(name, PhysicalType::INT64),
                    ColumnType::Float => Type::primitive_type_builder(name, PhysicalType::DOUBLE),
                    ColumnType::Empty | ColumnType::Text => {
                        Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
                            .with_converted_type(ConvertedType::UTF8)
                    }
                };
                b.with_repetition(Repetition::OPTIONAL).build().map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(to_io)?;
        let schema = Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .map_err(to_io)?;
        // Decimals (times, kW) rarely repeat: a dictionary would only be tried and
        // dropped in every row group, so they go plain.
        let props = header
            .iter()
            .zip(types)
            .filter(|(_, t)| **t == ColumnType::Float)
            .fold(
                WriterProperties::builder()
                    .set_created_by(format!("dcsim {}", env!("CARGO_PKG_VERSION")))
                    .set_compression(Compression::SNAPPY),
                |b, (name, _)| b.set_column_dictionary_enabled(ColumnPath::from(name.as_str()), false),
            );
        let props = props.build();
        let writer =
            SerializedFileWriter::new(Vec::new(), Arc::new(schema), Arc::new(props)).map_err(to_io)?;
        let mut f = Filling {
            writer,
            out,
            types: types.to_vec(),
            values: Vec::new(),
            defined: vec![Vec::with_capacity(ROW_GROUP); types.len()],
            rows: 0,
            header_seen: false,
        };
        f.values = f.fresh_values();
        Ok(f)
    }

    fn fresh_values(&self) -> Vec<Values> {
        self.types
            .iter()
            .map(|t| match t {
                ColumnType::Int => Values::Int(Vec::with_capacity(ROW_GROUP)),
                ColumnType::Float => Values::Float(Vec::with_capacity(ROW_GROUP)),
                ColumnType::Empty | ColumnType::Text => Values::Text {
                    bytes: Vec::new(),
                    ends: Vec::with_capacity(ROW_GROUP),
                },
            })
            .collect()
    }

    /// Writes the rows held as one row group, and moves the bytes to the output.
    fn flush_group(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group().map_err(to_io)?;
        for (v, d) in self.values.iter_mut().zip(&mut self.defined) {
            let mut col = group
                .next_column()
                .map_err(to_io)?
                .ok_or_else(|| io::Error::other("parquet: fewer columns than the schema"))?;
            match v {
                Values::Int(x) => col.typed::<Int64Type>().write_batch(x, Some(d), None),
                Values::Float(x) => col.typed::<DoubleType>().write_batch(x, Some(d), None),
                Values::Text { bytes, ends } => {
                    let all = Bytes::from(std::mem::take(bytes));
                    let mut start = 0;
                    let values: Vec<ByteArray> = ends
                        .iter()
                        .map(|&end| {
                            let b = ByteArray::from(all.slice(start..end));
                            start = end;
                            b
                        })
                        .collect();
                    col.typed::<ByteArrayType>().write_batch(&values, Some(d), None)
                }
            }
            .map_err(to_io)?;
            col.close().map_err(to_io)?;
            match v {
                Values::Int(x) => x.clear(),
                Values::Float(x) => x.clear(),
                Values::Text { ends, .. } => ends.clear(),
            }
            d.clear();
        }
        group.close().map_err(to_io)?;
        self.rows = 0;
        self.drain()
    }

    /// Moves the bytes the Parquet writer has written so far to the output (it tracks
    /// its own offsets, so emptying its buffer changes nothing it writes later).
    fn drain(&mut self) -> io::Result<()> {
        self.writer.flush()?;
        let buf = self.writer.inner_mut();
        self.out.write_all(buf)?;
        buf.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.flush_group()?;
        self.writer.finish().map_err(to_io)?;
        self.drain()
    }
}

impl Records for Filling<'_> {
    fn record(&mut self, fields: &[&[u8]]) -> io::Result<()> {
        if !self.header_seen {
            self.header_seen = true;
            return Ok(());
        }
        if fields.len() != self.types.len() {
            return Err(bad("the table changed between its two passes".into()));
        }
        let changed = || bad("the table changed between its two passes".into());
        for ((v, d), f) in self.values.iter_mut().zip(&mut self.defined).zip(fields) {
            if f.is_empty() {
                d.push(0);
                continue;
            }
            d.push(1);
            let text = || std::str::from_utf8(f).map_err(|_| changed());
            match v {
                Values::Int(x) => x.push(text()?.parse().map_err(|_| changed())?),
                Values::Float(x) => x.push(text()?.parse().map_err(|_| changed())?),
                Values::Text { bytes, ends } => {
                    bytes.extend_from_slice(f);
                    ends.push(bytes.len());
                }
            }
        }
        self.rows += 1;
        if self.rows == ROW_GROUP {
            self.flush_group()?;
        }
        Ok(())
    }
}

/// Writes, as Parquet into `w`, the CSV table `table` writes (calling it twice; see the
/// module doc). A table with no header (the writer wrote nothing) is an error.
pub fn write_parquet(table: &dyn Fn(&mut dyn Write) -> io::Result<()>, w: &mut dyn Write) -> io::Result<()> {
    let mut typing = Typing::default();
    let mut sink = CsvSink::new(&mut typing);
    table(&mut sink)?;
    sink.finish()?;
    let header = typing
        .header
        .ok_or_else(|| bad("the table has no header row".into()))?;
    let mut filling = Filling::new(&header, &typing.types, w)?;
    let mut sink = CsvSink::new(&mut filling);
    table(&mut sink)?;
    sink.finish()?;
    filling.finish()
}

/// The types [`write_parquet`] gives the columns of a CSV table, by name (for docs and
/// tests).
pub fn column_types(
    table: &dyn Fn(&mut dyn Write) -> io::Result<()>,
) -> io::Result<Vec<(String, ColumnType)>> {
    let mut typing = Typing::default();
    let mut sink = CsvSink::new(&mut typing);
    table(&mut sink)?;
    sink.finish()?;
    let header = typing.header.unwrap_or_default();
    Ok(header.into_iter().zip(typing.types).collect())
}

/// How a command writes its tables: `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableFormat {
    /// CSV files (`jobs.csv`, ...).
    #[default]
    Csv,
    /// Parquet files of the same names and columns (`jobs.parquet`, ...).
    Parquet,
}

/// A `--format` value that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown table format `{0}`; expected csv or parquet")]
pub struct UnknownFormat(pub String);

impl FromStr for TableFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(TableFormat::Csv),
            "parquet" => Ok(TableFormat::Parquet),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// [`output::write_dir_then`] in `format`: as Parquet, every `.csv` file is written as
/// a `.parquet` file of the same stem ([`write_parquet`]); other files as they are.
pub fn write_dir_as(
    dir: &Path,
    force: bool,
    files: &[(&str, &FileWriter)],
    format: TableFormat,
    on_bytes: &OnBytes,
    finish: Option<&Finish>,
) -> Result<(), OutputError> {
    if format == TableFormat::Csv {
        return output::write_dir_then(dir, force, files, on_bytes, finish);
    }
    let mut names: Vec<String> = files.iter().map(|&(n, _)| as_format(n, format)).collect();
    if finish.is_some() {
        names.extend(["report.html", "plots"].map(String::from));
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    commit_as(
        Staged::open(dir, &names, force)?,
        files,
        &[],
        format,
        on_bytes,
        finish,
    )
}

/// The name table file `name` has in `format` (`jobs.csv` as Parquet: `jobs.parquet`).
pub fn as_format(name: &str, format: TableFormat) -> String {
    match (format, name.strip_suffix(".csv")) {
        (TableFormat::Parquet, Some(stem)) => format!("{stem}.parquet"),
        _ => name.to_string(),
    }
}

/// Commits `staged` ([`Staged::commit`]) with `files` written in `format`, and the CSV
/// tables named in `streamed`, already streamed into it, converted to `format`: as
/// Parquet, each is read back from its CSV, written as `.parquet`, and the CSV removed.
pub fn commit_as(
    staged: Staged,
    files: &[(&str, &FileWriter)],
    streamed: &[&str],
    format: TableFormat,
    on_bytes: &OnBytes,
    finish: Option<&Finish>,
) -> Result<(), OutputError> {
    if format == TableFormat::Csv {
        return staged.commit(files, on_bytes, finish);
    }
    let dir = staged.path().to_path_buf();
    let read_back = |name: &str| -> Box<FileWriter> {
        let path = dir.join(name);
        Box::new(move |w: &mut dyn Write| io::copy(&mut std::fs::File::open(&path)?, w).map(drop))
    };
    let streamed_tables: Vec<(&str, Box<FileWriter>)> = streamed.iter().map(|&n| (n, read_back(n))).collect();
    let converted: Vec<(String, Box<FileWriter>)> =
        (files.iter().map(|&(n, f)| (n, Box::new(f) as Box<FileWriter>)))
            .chain(streamed_tables)
            .map(|(name, f)| match name.strip_suffix(".csv") {
                Some(_) => {
                    let w: Box<FileWriter> = Box::new(move |w: &mut dyn Write| write_parquet(&*f, w));
                    (as_format(name, format), w)
                }
                None => (name.to_string(), f),
            })
            .collect();
    let files: Vec<(&str, &FileWriter)> = converted.iter().map(|(n, f)| (n.as_str(), f.as_ref())).collect();
    let tidy = |folder: &Path| {
        for n in streamed {
            std::fs::remove_file(folder.join(n))?;
        }
        finish.map_or(Ok(()), |f| f(folder))
    };
    staged.commit(&files, on_bytes, Some(&tidy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_get_the_narrowest_exact_type() {
        for c in ["0", "7", "-12", "9223372036854775807"] {
            assert_eq!(ColumnType::of(c.as_bytes()), ColumnType::Int, "{c}");
        }
        for c in [
            "0.000",
            "12.5",
            "-3.25",
            "1e9",
            "2.5E-3",
            "inf",
            "-inf",
            "NaN",
            "007",
            "9223372036854775808",
        ] {
            assert_eq!(ColumnType::of(c.as_bytes()), ColumnType::Float, "{c}");
        }
        for c in ["-", "1.", ".5", "1e", "abc", "1,2", "+1", "1 ", "0x10"] {
            assert_eq!(ColumnType::of(c.as_bytes()), ColumnType::Text, "{c}");
        }
    }

    /// Quoted fields (commas, quotes and line ends inside), a missing last line end and
    /// writes cut mid-field all come through as the `csv` crate reads them.
    #[test]
    fn the_sink_reads_what_the_csv_crate_writes() {
        struct Keep(Vec<Vec<String>>);
        impl Records for Keep {
            fn record(&mut self, fields: &[&[u8]]) -> io::Result<()> {
                self.0.push(
                    fields
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect(),
                );
                Ok(())
            }
        }
        let rows = vec![
            vec!["a".to_string(), "b".into()],
            vec!["x, \"y\"\nz".into(), "".into()],
            vec!["1".into(), "2.5".into()],
        ];
        let mut csv = csv::Writer::from_writer(Vec::new());
        for r in &rows {
            csv.write_record(r).unwrap();
        }
        let mut bytes = csv.into_inner().unwrap();
        bytes.pop(); // no final line end
        let mut keep = Keep(Vec::new());
        let mut sink = CsvSink::new(&mut keep);
        for chunk in bytes.chunks(3) {
            sink.write_all(chunk).unwrap();
        }
        sink.finish().unwrap();
        assert_eq!(keep.0, rows);
    }

    #[test]
    fn columns_widen_to_what_every_cell_needs() {
        let table = |w: &mut dyn Write| w.write_all(b"id,t,name,mixed,none\n1,2.000,7,3,\n2,,8,x,\n");
        let types = column_types(&table).unwrap();
        let t: Vec<ColumnType> = types.iter().map(|(_, t)| *t).collect();
        assert_eq!(
            t,
            [
                ColumnType::Int,
                ColumnType::Float,
                ColumnType::Text,
                ColumnType::Text,
                ColumnType::Empty
            ]
        );
    }

    #[test]
    fn a_ragged_table_is_refused() {
        let table = |w: &mut dyn Write| w.write_all(b"a,b\n1,2\n3\n");
        let e = write_parquet(&table, &mut Vec::new()).unwrap_err().to_string();
        assert!(e.contains("row 2 has 1 fields, the header 2"), "{e}");
    }
}
