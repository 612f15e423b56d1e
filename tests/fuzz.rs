//! Machine-found bad input: every trace adapter, the scenario and topology parsers and
//! the weather reader are fed random bytes and valid rows with one field mutated (huge,
//! negative, NaN, empty, non-UTF-8, ...) and gzip streams cut short. None may panic,
//! abort or hang (inputs are small and every reader is a single streaming pass), and
//! every rejection of a file must name that file, and the line where the reader knows it.
//!
//! Case counts are bounded (`CASES` per property) so CI stays fast; raise
//! `PROPTEST_CASES` locally for a longer hunt.

use std::io::Write;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use dcsim::engine::SimTime;
use dcsim::facility::read_weather_csv;
use dcsim::scenario::Scenario;
use dcsim::workload::adapters::{read_trace, read_traces_keeping_cpu_only, TraceFormat};
use dcsim::workload::WorkloadError;

/// Cases per property: 9 properties × 48 cases keep this file to a few seconds.
const CASES: u32 = 48;

/// One valid header and rows per format (from the bundled data and the formats' docs).
fn sample(format: TraceFormat) -> &'static str {
    match format {
        TraceFormat::Openb => {
            "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n\
             openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0\n\
             openb-pod-0001,6000,12288,1,460,V100M16|V100M32,BE,Running,427061,12902960,427061\n\
             openb-pod-0002,4000,8192,0,0,,BE,Running,532583,12902960,532583\n"
        }
        TraceFormat::Philly => {
            "timestamp,duration,num_gpus,gpu_time,cluster\n\
             2017-10-09 07:01:55,66.0,1,66.0,11cb48\n\
             2017-10-09 06:13:03,2951.0,2,5902.0,6214e9\n"
        }
        TraceFormat::Itp => "job_id,submission_time,duration,num_gpu\nj1,0,600,1\nj2,5.5,1200,8\nj3,9,60,0\n",
        TraceFormat::Dlrm => {
            "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,creation_time,scheduled_time,deletion_time\n\
             i0,HN,app_a,12,12,1,1,25,25,120.0,120.0,640.0,800.0,8,,,\n\
             i1,HN,app_a,12,12,0.5,1,25,25,120.0,120.0,640.0,800.0,8,10.5,11.0000000000002,100\n"
        }
        TraceFormat::Genai => {
            "gmt_create,predict_status,exec_time_seconds,groupId,checkpoint_model_version_id\n\
             2025-01-01 00:00:00,SUCCEEDED,3.5,g1,m1\n\
             2025-01-01 00:00:07,FAILED,1.25,g2,m2\n"
        }
        _ => {
            "id,submit_s,duration_s,gpus,gpu_milli,tenant,priority,kind,open_ended\n\
             a,0,100,8,1000,alpha,1,training,false\n\
             b,10,50,1,500,beta,3,inference,false\n"
        }
    }
}

/// Hostile values for one field.
fn nasty() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"1e300".to_vec()),
        Just(b"-1".to_vec()),
        Just(b"-0".to_vec()),
        Just(b"NaN".to_vec()),
        Just(b"inf".to_vec()),
        Just(b"".to_vec()),
        Just(b"1e-300".to_vec()),
        Just(b"99999999999999999999999999".to_vec()),
        Just(b"4294967296".to_vec()),
        Just(b"18446744073709551616".to_vec()),
        Just(b"3000-01-01 00:00:00".to_vec()),
        Just(b"1969-12-31 23:59:59".to_vec()),
        Just(b"\xff\xfe\x00".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"a,b".to_vec()),
        // Random bytes, without line breaks (a break would move the rest of the row).
        prop::collection::vec(
            any::<u8>().prop_filter("no line break", |b| *b != b'\n' && *b != b'\r'),
            0..12
        ),
    ]
}

/// `text` with field `col` of data row `row` (0-based, after the header) replaced by
/// `value`; returns the bytes and the 1-based line of that row.
fn mutate(text: &str, row: usize, col: usize, value: &[u8]) -> (Vec<u8>, u64) {
    let lines: Vec<&str> = text.lines().collect();
    let data = lines.len() - 1;
    let row = 1 + row % data;
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if i == row {
            let fields: Vec<&str> = line.split(',').collect();
            let col = col % fields.len();
            for (j, f) in fields.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                if j == col {
                    out.extend_from_slice(value);
                } else {
                    out.extend_from_slice(f.as_bytes());
                }
            }
        } else {
            out.extend_from_slice(line.as_bytes());
        }
        out.push(b'\n');
    }
    (out, row as u64 + 1)
}

/// Reads `bytes` as a `format` trace from a fresh file, with both readers (run and
/// inflation draw), and checks that any error names the file.
fn read_bytes(
    format: TraceFormat,
    bytes: &[u8],
) -> (PathBuf, Vec<Result<(), WorkloadError>>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.csv");
    std::fs::write(&path, bytes).unwrap();
    let results: Vec<Result<(), WorkloadError>> = [
        read_trace(format, &path),
        read_traces_keeping_cpu_only(format, std::slice::from_ref(&path)),
    ]
    .into_iter()
    .map(|r| {
        r.map(|w| {
            // What loads holds only times within the documented horizon (before the
            // checked conversion, "1e300" loaded as u64::MAX ms).
            for j in &w.jobs {
                assert!(
                    j.submit <= SimTime::MAX_HORIZON && j.duration <= SimTime::MAX_HORIZON,
                    "{format}: job {} at {} for {}",
                    j.name,
                    j.submit,
                    j.duration
                );
            }
        })
    })
    .collect();
    for r in &results {
        if let Err(e) = r {
            let text = e.to_string();
            assert!(
                text.contains(&path.display().to_string()),
                "{format}: error without the file: {text}"
            );
        }
    }
    (path, results, dir)
}

fn formats() -> impl Strategy<Value = TraceFormat> {
    prop::sample::select(TraceFormat::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(CASES)
    ))]

    /// Random bytes, raw or after a valid header: no panic; errors name the file.
    #[test]
    fn adapters_survive_random_bytes(
        format in formats(),
        with_header in any::<bool>(),
        bytes in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut input = Vec::new();
        if with_header {
            input.extend_from_slice(sample(format).lines().next().unwrap().as_bytes());
            input.push(b'\n');
        }
        input.extend_from_slice(&bytes);
        read_bytes(format, &input);
    }

    /// A valid file with one field made hostile: read or rejected at exactly that line.
    #[test]
    fn adapters_reject_mutated_rows_at_their_line(
        format in formats(),
        row in 0usize..8,
        col in 0usize..20,
        value in nasty(),
    ) {
        let (bytes, line) = mutate(sample(format), row, col, &value);
        let (_, results, _dir) = read_bytes(format, &bytes);
        for r in results {
            if let Err(WorkloadError::Row { line: at, message, .. }) = r {
                // A quote opens a field that runs to the end of the file: the csv crate
                // then reports the line where that record started, the mutated one.
                prop_assert_eq!(at, line, "{}: {}", format, message);
            }
        }
    }

    /// A gzip stream cut anywhere: read (if the cut left whole rows) or an error naming
    /// the file, never a panic.
    #[test]
    fn adapters_survive_truncated_gzip(format in formats(), keep in 0.0f64..1.0) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(sample(format).as_bytes()).unwrap();
        let full = gz.finish().unwrap();
        let cut = ((full.len() as f64) * keep) as usize;
        read_bytes(format, &full[..cut]);
    }

    /// Random text and mutated valid scenarios: parsed or rejected, never a panic.
    #[test]
    fn scenario_parser_survives_bad_text(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        row in 0usize..12,
        value in nasty(),
    ) {
        let origin = Path::new("fuzz.toml");
        let _ = Scenario::parse(&String::from_utf8_lossy(&bytes), origin);
        let good = "name = \"t\"\nseed = 1\nmode = \"queue\"\n[topology]\npath = \"t.toml\"\n[workload]\n\
                    format = \"generic\"\npath = \"w.csv\"\n[workload.transform]\nload_scale = 2.0\ntile = 2\n\
                    [scheduler.preemption]\nrestore_s = 5.0\n";
        let lines: Vec<&str> = good.lines().collect();
        let i = row % lines.len();
        let Some((key, _)) = lines[i].split_once(" = ") else { return Ok(()) };
        let mut text = String::new();
        for (j, l) in lines.iter().enumerate() {
            if j == i {
                text.push_str(&format!("{key} = {}\n", String::from_utf8_lossy(&value)));
            } else {
                text.push_str(l);
                text.push('\n');
            }
        }
        if let Err(e) = Scenario::parse(&text, origin) {
            prop_assert!(e.to_string().contains("fuzz.toml"), "{}", e);
        }
    }

    /// Random text and mutated valid topologies: parsed or rejected, never a panic.
    #[test]
    fn topology_parser_survives_bad_text(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        row in 0usize..40,
        value in nasty(),
    ) {
        let origin = Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/fuzz.toml");
        let _ = dcsim::topology::parse(&String::from_utf8_lossy(&bytes), &origin);
        let good = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("topologies/tiny.toml"),
        ).unwrap();
        let lines: Vec<&str> = good.lines().collect();
        let i = row % lines.len();
        let Some((key, _)) = lines[i].split_once(" = ") else { return Ok(()) };
        let mut text = String::new();
        for (j, l) in lines.iter().enumerate() {
            if j == i {
                text.push_str(&format!("{key} = {}\n", String::from_utf8_lossy(&value)));
            } else {
                text.push_str(l);
                text.push('\n');
            }
        }
        let _ = dcsim::topology::parse(&text, &origin);
    }

    /// Random bytes and mutated rows for the weather CSV: read or rejected naming the
    /// file (and the mutated line, for a row error), never a panic.
    #[test]
    fn weather_reader_survives_bad_input(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        row in 0usize..4,
        col in 0usize..2,
        value in nasty(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weather.csv");
        for input in [bytes.clone(), mutate("hour,temp_c\n0,11.5\n1,11.2\n2,10.9\n", row, col, &value).0] {
            std::fs::write(&path, &input).unwrap();
            if let Err(e) = read_weather_csv(&path) {
                let text = e.to_string();
                prop_assert!(text.contains(&path.display().to_string()), "{}", text);
            }
        }
    }
}
