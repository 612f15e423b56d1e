//! Reading output CSVs for figures: whole small tables as text, or chosen numeric
//! columns of large ones (empty cells read as NaN), tolerating absent columns.

use std::path::Path;

use rayon::prelude::*;

use super::PlotError;

/// A small CSV read whole: its header and rows of text.
#[derive(Debug, Clone)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Reads `path` whole.
    pub fn read(path: &Path) -> Result<Table, PlotError> {
        let mut rdr = reader(path)?;
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| csv_err(path, e))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| csv_err(path, e))?;
            rows.push(rec.iter().map(str::to_string).collect());
        }
        Ok(Table { header, rows })
    }

    /// Index of the column `name`.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Column `name` as text (None when absent).
    pub fn text(&self, name: &str) -> Option<Vec<&str>> {
        let i = self.col(name)?;
        Some(self.rows.iter().map(|r| r[i].as_str()).collect())
    }

    /// Column `name` as numbers, NaN where empty or not a number (None when absent).
    pub fn num(&self, name: &str) -> Option<Vec<f64>> {
        let i = self.col(name)?;
        Some(self.rows.iter().map(|r| parse(r[i].as_bytes())).collect())
    }
}

/// A number from a CSV cell; NaN for an empty or non-numeric cell.
fn parse(cell: &[u8]) -> f64 {
    std::str::from_utf8(cell)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

fn reader(path: &Path) -> Result<csv::Reader<std::fs::File>, PlotError> {
    csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| csv_err(path, e))
}

fn csv_err(path: &Path, e: csv::Error) -> PlotError {
    let line = e.position().map(|p| format!(":{}", p.line())).unwrap_or_default();
    PlotError::Bad {
        path: format!("{}{line}", path.display()),
        message: format!("not a readable CSV ({e})"),
    }
}

/// The header of `path`.
pub fn header(path: &Path) -> Result<Vec<String>, PlotError> {
    let mut rdr = reader(path)?;
    Ok(rdr
        .headers()
        .map_err(|e| csv_err(path, e))?
        .iter()
        .map(str::to_string)
        .collect())
}

/// Reads the columns `wanted` of `path` as numbers (NaN where empty); a column absent
/// from the header comes back as `None`. Only these columns are kept.
///
/// Output files of a million jobs run to hundreds of megabytes, so lines without quotes
/// (all of dcsim's numeric lines) are split on commas directly, in parallel chunks, and
/// their decimals parsed by [`parse_decimal`]; a line with a quote goes through the CSV
/// parser. Rows come back in file order whatever the number of threads.
pub fn columns(path: &Path, wanted: &[&str]) -> Result<Vec<Option<Vec<f64>>>, PlotError> {
    let bytes = std::fs::read(path).map_err(|source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let header_end = bytes.iter().position(|&b| b == b'\n').unwrap_or(bytes.len());
    let header = header(path)?;
    let idx: Vec<Option<usize>> = wanted
        .iter()
        .map(|w| header.iter().position(|h| h == w))
        .collect();
    let body = bytes.get(header_end + 1..).unwrap_or(&[]);
    // Chunks end at line ends, so each holds whole lines.
    let pieces = rayon::current_num_threads().max(1) * 4;
    let mut chunks = Vec::with_capacity(pieces);
    let mut from = 0;
    for k in 1..=pieces {
        let mut to = (body.len() * k / pieces).max(from);
        while to < body.len() && body[to - 1] != b'\n' {
            to += 1;
        }
        chunks.push(&body[from..to]);
        from = to;
    }
    let parsed: Vec<Result<Vec<Vec<f64>>, PlotError>> = chunks
        .par_iter()
        .map(|chunk| parse_chunk(chunk, &idx, header.len(), path))
        .collect();
    let mut out: Vec<Option<Vec<f64>>> = idx.iter().map(|i| i.map(|_| Vec::new())).collect();
    for part in parsed {
        for (col, vals) in out.iter_mut().zip(part?) {
            if let Some(col) = col.as_mut() {
                col.extend(vals);
            }
        }
    }
    Ok(out)
}

/// The wanted columns of the lines of `chunk` (empty vectors for absent columns).
fn parse_chunk(
    chunk: &[u8],
    idx: &[Option<usize>],
    width: usize,
    path: &Path,
) -> Result<Vec<Vec<f64>>, PlotError> {
    let mut out: Vec<Vec<f64>> = idx.iter().map(|_| Vec::new()).collect();
    let last = idx.iter().flatten().copied().max();
    let mut fields: Vec<&[u8]> = Vec::with_capacity(width);
    for line in chunk.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let push = |out: &mut Vec<Vec<f64>>, get: &dyn Fn(usize) -> Option<f64>| {
            for (col, i) in out.iter_mut().zip(idx) {
                if let Some(i) = i {
                    col.push(get(*i).unwrap_or(f64::NAN));
                }
            }
        };
        if line.contains(&b'"') {
            let mut rdr = csv::ReaderBuilder::new().has_headers(false).from_reader(line);
            let mut rec = csv::ByteRecord::new();
            rdr.read_byte_record(&mut rec).map_err(|e| csv_err(path, e))?;
            push(&mut out, &|i| rec.get(i).map(parse_decimal));
        } else {
            fields.clear();
            fields.extend(line.splitn(last.map_or(1, |l| l + 2), |&b| b == b',').take(width));
            push(&mut out, &|i| fields.get(i).map(|f| parse_decimal(f)));
        }
    }
    Ok(out)
}

/// A cell as a number: plain decimals (`-12.345`, up to 15 digits) exactly as the
/// standard parser would read them (an integer of at most 15 digits and a power of ten
/// are both exact in f64, so their quotient is correctly rounded); anything else through
/// the standard parser; NaN for an empty or non-numeric cell.
pub fn parse_decimal(cell: &[u8]) -> f64 {
    let (neg, digits) = match cell.first() {
        Some(b'-') => (true, &cell[1..]),
        _ => (false, cell),
    };
    let mut mantissa: u64 = 0;
    let mut n = 0;
    let mut frac: Option<usize> = None;
    for (k, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' if n < 15 => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                n += 1;
            }
            b'.' if frac.is_none() => frac = Some(digits.len() - k - 1),
            _ => return parse(cell),
        }
    }
    if n == 0 {
        return parse(cell);
    }
    let v = mantissa as f64 / 10f64.powi(frac.unwrap_or(0) as i32);
    if neg {
        -v
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::parse_decimal;

    /// The fast path reads what `str::parse::<f64>` reads, on fixed-point values like
    /// the outputs' (3 and 4 decimals) over many magnitudes, and falls back for others.
    #[test]
    fn decimals_parse_like_the_standard_parser() {
        let mut rng = crate::engine::XorShift(0x2545_F491_4F6C_DD1D);
        for _ in 0..50_000 {
            let x = rng.next_u64();
            for digits in [0usize, 3, 4, 6] {
                let v = (x % 10_000_000_000) as f64 / 10f64.powi(digits as i32);
                let s = format!("{v:.digits$}");
                assert_eq!(parse_decimal(s.as_bytes()), s.parse::<f64>().unwrap(), "{s}");
                let neg = format!("-{s}");
                assert_eq!(
                    parse_decimal(neg.as_bytes()),
                    neg.parse::<f64>().unwrap(),
                    "{neg}"
                );
            }
        }
        for s in ["1e3", "12345678901234567.5", "inf"] {
            assert_eq!(parse_decimal(s.as_bytes()), s.parse::<f64>().unwrap(), "{s}");
        }
        assert!(parse_decimal(b"").is_nan());
        assert!(parse_decimal(b"abc").is_nan());
        assert!(parse_decimal(b".").is_nan());
    }
}
