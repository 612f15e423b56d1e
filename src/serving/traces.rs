//! Readers of real request traces.
//!
//! - Azure LLM inference 2023 (Splitwise; `AzureLLMInferenceTrace_{code,conv}.csv`):
//!   `TIMESTAMP` (wall clock, 100 ns digits), `ContextTokens`, `GeneratedTokens`. Arrival
//!   is the time since the earliest row.
//! - Alibaba GenAI 2026 (`lora_request_trace.csv`): `gmt_create` (wall clock, seconds),
//!   `predict_status`, `exec_time_seconds`, `prompt_length`. Each request keeps its recorded
//!   execution time (one diffusion run); rows whose status is `PENDING` or `PROCESSING`
//!   never ran and are skipped as `not_finished` (counted, not dropped silently).

use std::path::Path;

use chrono::NaiveDateTime;

use super::error::ServingError;
use super::request::{Request, RequestTrace};

/// Reads an Azure LLM inference 2023 trace (code or conversation).
pub fn read_azure(path: &Path) -> Result<RequestTrace, ServingError> {
    let mut rdr = open(path)?;
    let cols = columns(&mut rdr, path, &["TIMESTAMP", "ContextTokens", "GeneratedTokens"])?;
    let mut stamps = Vec::new();
    let mut trace = RequestTrace::default();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = line_of(&rec);
        let get = |i: usize| rec.get(cols[i]).unwrap_or("").trim();
        let at = parse_time(get(0), "%Y-%m-%d %H:%M:%S%.f").ok_or_else(|| {
            row(
                path,
                line,
                format!("TIMESTAMP `{}`: expected YYYY-MM-DD HH:MM:SS.fffffff", get(0)),
            )
        })?;
        let prompt =
            parse_tokens(get(1)).ok_or_else(|| row(path, line, tokens_msg("ContextTokens", get(1))))?;
        let output =
            parse_tokens(get(2)).ok_or_else(|| row(path, line, tokens_msg("GeneratedTokens", get(2))))?;
        stamps.push(at);
        trace.requests.push(Request {
            arrival_s: 0.0,
            prompt_tokens: prompt,
            output_tokens: output,
            exec_s: None,
        });
    }
    set_arrivals(&mut trace, &stamps);
    Ok(trace)
}

/// Reads the Alibaba GenAI 2026 request trace; each request keeps its recorded
/// execution time and prompt length (output tokens 0: images, not text).
pub fn read_genai(path: &Path) -> Result<RequestTrace, ServingError> {
    let mut rdr = open(path)?;
    let cols = columns(
        &mut rdr,
        path,
        &[
            "gmt_create",
            "predict_status",
            "exec_time_seconds",
            "prompt_length",
        ],
    )?;
    let mut stamps = Vec::new();
    let mut trace = RequestTrace::default();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = line_of(&rec);
        let get = |i: usize| rec.get(cols[i]).unwrap_or("").trim();
        if matches!(get(1), "PENDING" | "PROCESSING") {
            *trace.skipped.entry("not_finished").or_default() += 1;
            continue;
        }
        let at = parse_time(get(0), "%Y-%m-%d %H:%M:%S").ok_or_else(|| {
            row(
                path,
                line,
                format!("gmt_create `{}`: expected YYYY-MM-DD HH:MM:SS", get(0)),
            )
        })?;
        let exec = get(2)
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| {
                row(
                    path,
                    line,
                    format!("exec_time_seconds `{}`: expected seconds >= 0", get(2)),
                )
            })?;
        // prompt_length is a float column ("63.0"); empty means not recorded (0 tokens).
        let prompt = match get(3) {
            "" => 0,
            s => s
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0 && *x <= f64::from(u32::MAX))
                .ok_or_else(|| row(path, line, format!("prompt_length `{s}`: expected tokens >= 0")))?
                as u32,
        };
        stamps.push(at);
        trace.requests.push(Request {
            arrival_s: 0.0,
            prompt_tokens: prompt,
            output_tokens: 0,
            exec_s: Some(exec),
        });
    }
    set_arrivals(&mut trace, &stamps);
    Ok(trace)
}

fn open(path: &Path) -> Result<csv::Reader<std::fs::File>, ServingError> {
    let file = std::fs::File::open(path).map_err(|source| ServingError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(file))
}

/// Positions of `names` in the header, or an error naming the missing column.
fn columns<R: std::io::Read>(
    rdr: &mut csv::Reader<R>,
    path: &Path,
    names: &[&str],
) -> Result<Vec<usize>, ServingError> {
    let header = rdr.headers().map_err(|e| csv_error(path, e))?.clone();
    names
        .iter()
        .map(|n| {
            header.iter().position(|h| h == *n).ok_or_else(|| {
                row(
                    path,
                    1,
                    format!("missing column `{n}` (expected columns: {})", names.join(", ")),
                )
            })
        })
        .collect()
}

/// Arrivals relative to the earliest stamp, then sorted by arrival.
fn set_arrivals(trace: &mut RequestTrace, stamps: &[NaiveDateTime]) {
    if let Some(first) = stamps.iter().min() {
        for (r, t) in trace.requests.iter_mut().zip(stamps) {
            let d = *t - *first;
            r.arrival_s = d
                .num_microseconds()
                .map_or(d.num_seconds() as f64, |us| us as f64 / 1e6);
        }
    }
    trace.sort();
}

fn parse_time(s: &str, fmt: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, fmt).ok()
}

fn parse_tokens(s: &str) -> Option<u32> {
    s.parse().ok()
}

fn tokens_msg(col: &str, v: &str) -> String {
    format!("{col} `{v}`: expected a whole number of tokens >= 0")
}

fn line_of(rec: &csv::StringRecord) -> u64 {
    rec.position().map_or(0, |p| p.line())
}

fn row(path: &Path, line: u64, msg: String) -> ServingError {
    ServingError::Row {
        path: path.to_owned(),
        line,
        msg,
    }
}

fn csv_error(path: &Path, e: csv::Error) -> ServingError {
    let line = e.position().map_or(0, |p| p.line());
    row(path, line, format!("malformed CSV: {e}"))
}
