//! Integration tests of the trace adapters: the real traces in `../shared/traces` (when
//! present), the committed slices in `scenarios/data`, and hand-written bad inputs in
//! `tests/data`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use dcsim::engine::SimTime;
use dcsim::workload::adapters::{
    read_trace, read_traces, read_traces_keeping_cpu_only, write_generic, TraceFormat,
};
use dcsim::workload::stats::TraceStats;
use dcsim::workload::{GpuDemand, JobKind, Workload, WorkloadError};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The shared trace folder. Tests that call this are marked
/// `cfg_attr(not(dcsim_shared), ignore = "needs ../shared")` (see build.rs), so without
/// the folder they are reported as ignored, never passed silently.
fn traces() -> PathBuf {
    let dir = repo().join("../shared/traces");
    assert!(
        dir.is_dir(),
        "{} is missing: rebuild so build.rs sees it",
        dir.display()
    );
    dir
}

fn data(name: &str) -> PathBuf {
    repo().join("tests/data").join(name)
}

/// Every CSV record of `path` as a map from column name to value (test-side reference
/// reader, independent of the adapters).
fn raw_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap()
}

fn gpu_hours(w: &Workload) -> f64 {
    w.jobs
        .iter()
        .map(|j| j.duration.as_secs_f64() * j.demand.gpus_f64())
        .sum::<f64>()
        / 3600.0
}

/// The invariants every adapter promises.
fn check_invariants(w: &Workload, rows: usize) {
    assert_eq!(w.rows_read, rows as u64, "rows_read");
    assert_eq!(
        w.jobs.len() as u64 + w.skipped.total(),
        w.rows_read,
        "jobs + skipped = rows"
    );
    for (i, j) in w.jobs.iter().enumerate() {
        assert_eq!(j.id.0 as usize, i, "dense ids");
        assert!((j.tenant.0 as usize) < w.tenants.len());
        assert!(j.user.is_none_or(|u| (u.0 as usize) < w.users.len()));
        assert!(j.gpu_types.indices().all(|t| t < w.gpu_types.len()));
        assert!(j.demand.gpus >= 1 && (1..=1000).contains(&j.demand.milli_per_gpu));
    }
    assert!(
        w.jobs.windows(2).all(|p| p[0].submit <= p[1].submit),
        "sorted by submit"
    );
}

fn assert_close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} != {b}");
}

/// Reference GPU-hours of an openb pod list, computed from the raw columns: pods with
/// GPUs and a scheduled time, (deletion − scheduled) × (num_gpu, or gpu_milli / 1000 for
/// a 1-GPU share).
fn openb_reference(path: &Path) -> (usize, f64) {
    let rows = raw_rows(path);
    let hours = rows
        .iter()
        .filter(|r| r["num_gpu"] != "0" && !r["scheduled_time"].is_empty())
        .map(|r| {
            let gpus = if r["gpu_milli"] == "1000" {
                num(r, "num_gpu")
            } else {
                num(r, "gpu_milli") / 1000.0
            };
            (num(r, "deletion_time") - num(r, "scheduled_time")) * gpus
        })
        .sum::<f64>()
        / 3600.0;
    (rows.len(), hours)
}

#[test]
fn openb_default_slice() {
    // The whole openb default pod list is committed (CC BY 4.0, see ATTRIBUTION.md).
    let path = repo().join("scenarios/data/openb_pod_list_default.csv");
    let w = read_trace(TraceFormat::Openb, &path).unwrap();
    let (rows, hours) = openb_reference(&path);
    assert_eq!(rows, 8152); // README: 8,152 tasks
    check_invariants(&w, rows);
    assert_eq!(w.skipped.reasons["cpu_only"].count, 1088);
    assert_eq!(w.skipped.reasons["never_scheduled"].count, 861); // Pending GPU pods
    assert_eq!(w.skipped.total(), 1088 + 861);
    assert_eq!(w.jobs.len(), 6203);
    assert_close(gpu_hours(&w), hours);
    assert_eq!(w.tenants, ["openb"]);
    let shares = w.jobs.iter().filter(|j| !j.demand.is_whole()).count();
    assert_eq!(shares, 2573, "share pods that were scheduled");
    // CPU and memory of those 6,203 pods, summed from the raw columns.
    let cpu: u64 = w.jobs.iter().map(|j| u64::from(j.host.cpu_milli)).sum();
    let mem: u64 = w.jobs.iter().map(|j| u64::from(j.host.memory_mib)).sum();
    assert_eq!((cpu, mem), (57_761_316, 216_410_618));
    let ls = w.jobs.iter().filter(|j| j.kind == JobKind::Inference).count();
    assert!(
        ls > 0
            && w.jobs
                .iter()
                .all(|j| (j.kind == JobKind::Inference) == (j.priority == 3))
    );
    assert!(w
        .jobs
        .iter()
        .all(|j| j.recorded_start.is_some_and(|s| s >= j.submit)));
    // For the inflation experiment: the 1,052 scheduled CPU-only pods become 0-GPU jobs
    // (the other 36 were never scheduled).
    let k = read_traces_keeping_cpu_only(TraceFormat::Openb, &[path]).unwrap();
    let cpu_only = k.jobs.iter().filter(|j| j.demand == GpuDemand::whole(0)).count();
    assert_eq!((cpu_only, k.jobs.len()), (1052, 6203 + 1052));
    assert_eq!(k.skipped.reasons["never_scheduled"].count, 861 + 36);
    assert!(!k.skipped.reasons.contains_key("cpu_only"));
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn openb_gpu_spec_all_lists() {
    let t = traces();
    let dir = t.join("alibaba-openb-2023");
    let w = read_trace(TraceFormat::Openb, &dir.join("openb_pod_list_gpuspec25.csv")).unwrap();
    let (rows, hours) = openb_reference(&dir.join("openb_pod_list_gpuspec25.csv"));
    check_invariants(&w, rows);
    assert_close(gpu_hours(&w), hours);
    let mut types = w.gpu_types.clone();
    types.sort();
    assert_eq!(types, ["A10", "G2", "G3", "P100", "T4", "V100M16", "V100M32"]);
    // The widest spec, `A10|G2|P100|T4|V100M16|V100M32|V100M32`, repeats V100M32: 6 types.
    assert_eq!(
        w.jobs.iter().map(|j| j.gpu_types.indices().count()).max(),
        Some(6)
    );
    // Every timed pod list reads for a run; the multigpu lists have no time columns, so
    // a run is refused at their header (the inflation draw reads them: tests/inflate_cli.rs).
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("openb_pod_list_") {
            continue;
        }
        let r = read_trace(TraceFormat::Openb, &path);
        if name.contains("multigpu") {
            let (_, line, msg) = row_error(r);
            assert_eq!(line, 1, "{name}");
            assert!(
                msg.contains("no time columns") && msg.contains("dcsim inflate"),
                "{msg}"
            );
        } else {
            let w = r.unwrap();
            check_invariants(&w, openb_reference(&path).0);
        }
    }
}

/// Reference rows and GPU-hours (Σ `gpu_time`) of a Philly extract.
fn philly_reference(path: &Path) -> (usize, f64) {
    let rows = raw_rows(path);
    let hours = rows.iter().map(|r| num(r, "gpu_time")).sum::<f64>() / 3600.0;
    (rows.len(), hours)
}

#[test]
fn philly_slice() {
    // First 2,000 rows of philly.csv, committed (CC BY 4.0, see ATTRIBUTION.md).
    let path = repo().join("scenarios/data/philly_slice.csv");
    let w = read_trace(TraceFormat::Philly, &path).unwrap();
    let (rows, hours) = philly_reference(&path);
    assert_eq!(rows, 2000);
    check_invariants(&w, rows);
    assert_eq!(w.jobs.len(), 2000);
    assert_close(gpu_hours(&w), hours);
    assert_eq!(w.jobs[0].submit, SimTime::ZERO);
    // Row 2 of the file (line 3) was submitted 2017-10-09 06:13:03; check its offset
    // against the earliest timestamp of the slice, computed here.
    let raw = raw_rows(&path);
    let secs = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp()
    };
    let min = raw.iter().map(|r| secs(&r["timestamp"])).min().unwrap();
    let j = w.jobs.iter().find(|j| j.name == "philly:3").unwrap();
    assert_eq!(
        j.submit,
        SimTime::from_secs((secs("2017-10-09 06:13:03") - min) as u64)
    );
    assert_eq!(j.duration, SimTime::from_secs(2951));
    assert_eq!(w.tenant_name(j.tenant), "6214e9");
}

/// The earliest `timestamp` of a Philly file, read independently of the adapter.
fn philly_earliest(path: &Path) -> chrono::NaiveDateTime {
    raw_rows(path)
        .iter()
        .map(|r| chrono::NaiveDateTime::parse_from_str(&r["timestamp"], "%Y-%m-%d %H:%M:%S").unwrap())
        .min()
        .unwrap()
}

/// A wall-clock trace keeps its calendar epoch: time 0 is the earliest timestamp read,
/// on the trace's clock (Philly publishes no zone); relative-time traces have none.
#[test]
fn epochs_of_the_committed_slices() {
    let path = repo().join("scenarios/data/philly_slice.csv");
    let w = read_trace(TraceFormat::Philly, &path).unwrap();
    let epoch = w.epoch.expect("Philly has wall-clock timestamps");
    assert_eq!(epoch.start, philly_earliest(&path));
    assert_eq!(epoch.zone, None);
    let openb = read_trace(
        TraceFormat::Openb,
        &repo().join("scenarios/data/openb_pod_list_default.csv"),
    )
    .unwrap();
    assert_eq!(
        openb.epoch, None,
        "openb times are seconds from an unpublished start"
    );
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn philly_full() {
    let t = traces();
    let path = t.join("philly-2017-pollux/philly.csv");
    let start = std::time::Instant::now();
    let w = read_trace(TraceFormat::Philly, &path).unwrap();
    eprintln!("philly: {} jobs in {:?}", w.jobs.len(), start.elapsed());
    let (rows, hours) = philly_reference(&path);
    assert_eq!(rows, 82_247); // README
    check_invariants(&w, rows);
    assert_eq!(w.skipped.total(), 0);
    assert_close(gpu_hours(&w), hours); // README: ≈ 978,078 GPU-hours
    assert!((hours - 978_078.0).abs() < 1.0);
    assert_eq!(w.tenants.len(), 15); // README: 15 virtual clusters
                                     // README: submitted 2017-09-04 10:30:41 to 2017-12-22 08:02:11.
    let span = chrono::NaiveDate::from_ymd_opt(2017, 12, 22)
        .unwrap()
        .and_hms_opt(8, 2, 11)
        .unwrap()
        - chrono::NaiveDate::from_ymd_opt(2017, 9, 4)
            .unwrap()
            .and_hms_opt(10, 30, 41)
            .unwrap();
    assert_eq!(
        w.jobs.last().unwrap().submit,
        SimTime::from_secs(span.num_seconds() as u64)
    );
    // README: the first submission is 2017-09-04 10:30:41, no time zone published.
    let epoch = w.epoch.unwrap();
    assert_eq!(epoch.start.to_string(), "2017-09-04 10:30:41");
    assert_eq!(epoch.zone, None);
    let big = w
        .jobs
        .iter()
        .filter(|j| j.demand == GpuDemand::whole(128))
        .count();
    assert_eq!(big, 3);
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn itp_all_clusters() {
    let t = traces();
    for variant in ["raw", "elasticflow"] {
        let dir = t.join("microsoft-itp-2021-elasticflow").join(variant);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("cluster"))
            .collect();
        paths.sort();
        assert_eq!(paths.len(), 9);
        let w = read_traces(TraceFormat::Itp, &paths).unwrap();
        let mut rows = 0;
        let mut ref_hours = 0.0;
        for p in &paths {
            for r in raw_rows(p) {
                rows += 1;
                ref_hours += num(&r, "duration") * num(&r, "num_gpu") / 3600.0;
            }
        }
        check_invariants(&w, rows);
        // README: the nine files hold 66,340 jobs and about 1,467,277 GPU-hours.
        assert_eq!(w.jobs.len(), 66_340);
        assert_close(gpu_hours(&w), ref_hours);
        assert!((gpu_hours(&w) - 1_467_277.0).abs() < 1.0, "{}", gpu_hours(&w));
        assert_eq!(w.tenants.len(), 9);
        // README: the window's start instant is not published, so no calendar epoch.
        assert_eq!(w.epoch, None);
        // README: submit times share one window; cluster01 starts at 1,932,025 s.
        let c01 = w.tenants.iter().position(|t| t == "cluster01").unwrap() as u32;
        let first = w.jobs.iter().find(|j| j.tenant.0 == c01).unwrap();
        assert_eq!(first.submit, SimTime::from_secs(1_932_025));
        // README: the longest job runs 1,573,360 s (cluster08).
        let longest = w.jobs.iter().max_by_key(|j| j.duration).unwrap();
        assert_eq!(longest.duration, SimTime::from_secs(1_573_360));
        assert_eq!(w.tenant_name(longest.tenant), "cluster08");
        let stats = TraceStats::compute(&w);
        assert_eq!(
            stats.gang_sizes.keys().copied().collect::<Vec<_>>(),
            [1, 2, 4, 8, 16, 32, 64]
        );
    }
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn dlrm_full() {
    let t = traces();
    let path = t.join("alibaba-dlrm-2025/disaggregated_DLRM_trace.csv");
    let w = read_trace(TraceFormat::Dlrm, &path).unwrap();
    let raw = raw_rows(&path);
    assert_eq!(raw.len(), 23_871); // README
    check_invariants(&w, raw.len());
    // Reference: trace end = the largest time anywhere; HN rows run from scheduled
    // (empty = 0) to deletion (empty = trace end).
    let t = |r: &HashMap<String, String>, c: &str| (!r[c].is_empty()).then(|| num(r, c));
    let end = raw
        .iter()
        .flat_map(|r| ["creation_time", "scheduled_time", "deletion_time"].map(|c| t(r, c)))
        .flatten()
        .fold(0.0, f64::max);
    let hn: Vec<_> = raw.iter().filter(|r| r["role"] == "HN").collect();
    assert_eq!(hn.len(), 7_386); // README
    let hours: f64 = hn
        .iter()
        .map(|r| {
            (t(r, "deletion_time").unwrap_or(end) - t(r, "scheduled_time").unwrap_or(0.0))
                * num(r, "gpu_request")
        })
        .sum::<f64>()
        / 3600.0;
    assert_eq!(w.jobs.len(), 7_386);
    assert_eq!(w.skipped.reasons["cpu_only"].count, 16_485);
    assert!(
        (gpu_hours(&w) - hours).abs() < 1e-6 * hours,
        "{} vs {hours}",
        gpu_hours(&w)
    );
    let open = hn.iter().filter(|r| r["deletion_time"].is_empty()).count();
    assert_eq!(w.jobs.iter().filter(|j| j.open_ended).count(), open);
    assert!(w.jobs.iter().all(|j| j.kind == JobKind::Inference));
    assert_eq!(
        w.tenants.len(),
        hn.iter()
            .map(|r| &r["app_name"])
            .collect::<std::collections::HashSet<_>>()
            .len()
    );
}

#[test]
fn dlrm_small_rules() {
    let w = read_trace(TraceFormat::Dlrm, &data("dlrm_small.csv")).unwrap();
    check_invariants(&w, 5);
    assert_eq!(w.skipped.reasons["cpu_only"].count, 1);
    assert_eq!(w.skipped.reasons["never_scheduled"].count, 1);
    let by = |n: &str| w.jobs.iter().find(|j| j.name == n).unwrap();
    // Trace end = 500 s, the CPU row's deletion time.
    let i0 = by("i0");
    assert!(i0.open_ended);
    assert_eq!(
        (i0.submit, i0.recorded_start, i0.duration),
        (SimTime::ZERO, Some(SimTime::ZERO), SimTime::from_secs(500))
    );
    let i1 = by("i1");
    assert_eq!(i1.demand, GpuDemand::share(500));
    assert_eq!(
        (i1.submit, i1.recorded_start, i1.duration),
        (SimTime(10_500), Some(SimTime(11_000)), SimTime(89_000))
    );
    let i3 = by("i3");
    assert_eq!(
        (i3.demand, i3.duration, i3.open_ended),
        (GpuDemand::whole(2), SimTime::from_secs(460), true)
    );
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn genai_full() {
    let t = traces();
    let path = t.join("alibaba-genai-2026/lora_request_trace.csv");
    let w = read_trace(TraceFormat::Genai, &path).unwrap();
    let raw = raw_rows(&path);
    check_invariants(&w, raw.len());
    let kept: Vec<_> = raw.iter().filter(|r| r["predict_status"] != "PENDING").collect();
    let hours = kept.iter().map(|r| num(r, "exec_time_seconds")).sum::<f64>() / 3600.0;
    assert_eq!(w.jobs.len(), kept.len());
    assert_eq!(
        w.skipped.reasons["never_executed"].count as usize,
        raw.len() - kept.len()
    );
    assert_close(gpu_hours(&w), hours);
    // Time 0 is the earliest `gmt_create` of the requests kept.
    let earliest = kept
        .iter()
        .map(|r| chrono::NaiveDateTime::parse_from_str(&r["gmt_create"], "%Y-%m-%d %H:%M:%S").unwrap())
        .min()
        .unwrap();
    assert_eq!(w.epoch.map(|e| e.start), Some(earliest));
    assert!(w
        .jobs
        .iter()
        .all(|j| j.demand == GpuDemand::whole(1) && j.user.is_some()));
    assert_eq!(w.jobs[0].submit, SimTime::ZERO);
}

#[test]
fn generic_round_trip_of_real_traces() {
    let sources = vec![
        (
            TraceFormat::Openb,
            repo().join("scenarios/data/openb_pod_list_default.csv"),
        ),
        (
            TraceFormat::Philly,
            repo().join("scenarios/data/philly_slice.csv"),
        ),
        (TraceFormat::Dlrm, data("dlrm_small.csv")),
    ];
    round_trip(sources);
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn generic_round_trip_of_shared_traces() {
    let t = traces();
    round_trip(vec![
        (
            TraceFormat::Openb,
            t.join("alibaba-openb-2023/openb_pod_list_gpuspec25.csv"),
        ),
        (
            TraceFormat::Genai,
            t.join("alibaba-genai-2026/lora_request_trace.csv"),
        ),
    ]);
}

/// Each source read, written as generic CSV and read back gives the same jobs; a second
/// round trip is byte-identical.
fn round_trip(sources: Vec<(TraceFormat, PathBuf)>) {
    for (format, path) in sources {
        let w = read_trace(format, &path).unwrap();
        let mut buf = Vec::new();
        write_generic(&w, &mut buf).unwrap();
        // CPU and memory columns only where the source has them (openb).
        let header = buf.split(|&b| b == b'\n').next().unwrap();
        assert_eq!(
            header.ends_with(b",open_ended,cpu_milli,memory_mib"),
            format == TraceFormat::Openb,
            "{}",
            String::from_utf8_lossy(header)
        );
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("w.csv");
        std::fs::write(&out, &buf).unwrap();
        let back = read_trace(TraceFormat::Generic, &out).unwrap();
        assert_same_jobs(&w, &back);
        // A second round trip is byte-identical, and the workload identical.
        let mut buf2 = Vec::new();
        write_generic(&back, &mut buf2).unwrap();
        assert_eq!(buf, buf2);
        std::fs::write(&out, &buf2).unwrap();
        let again = read_trace(TraceFormat::Generic, &out).unwrap();
        assert_eq!(again.jobs, back.jobs);
        assert_eq!(
            (&again.tenants, &again.users, &again.gpu_types),
            (&back.tenants, &back.users, &back.gpu_types)
        );
    }
}

/// Same jobs in the same order, names resolved (tables may be interned differently).
fn assert_same_jobs(a: &Workload, b: &Workload) {
    assert_eq!(a.jobs.len(), b.jobs.len());
    let types = |w: &Workload, s: dcsim::workload::GpuTypeSet| {
        let mut v: Vec<String> = s.indices().map(|i| w.gpu_types[i].clone()).collect();
        v.sort();
        v
    };
    for (x, y) in a.jobs.iter().zip(&b.jobs) {
        assert_eq!(
            (
                x.id,
                &x.name,
                x.submit,
                x.duration,
                x.demand,
                x.host,
                x.priority,
                x.kind,
                x.recorded_start,
                x.open_ended
            ),
            (
                y.id,
                &y.name,
                y.submit,
                y.duration,
                y.demand,
                y.host,
                y.priority,
                y.kind,
                y.recorded_start,
                y.open_ended
            )
        );
        assert_eq!(a.tenant_name(x.tenant), b.tenant_name(y.tenant));
        assert_eq!(
            x.user.map(|u| &a.users[u.0 as usize]),
            y.user.map(|u| &b.users[u.0 as usize])
        );
        assert_eq!(types(a, x.gpu_types), types(b, y.gpu_types));
    }
}

#[test]
fn generic_defaults_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.csv");
    std::fs::write(
        &p,
        "gpus,id,submit_s,duration_s,gpu_milli,kind,gpu_types,user,open_ended\n\
         1,a,1.5,2.0005,,,,,\n\
         1,b,0,10,250,Inference,T4|A10,alice,true\n",
    )
    .unwrap();
    let w = read_trace(TraceFormat::Generic, &p).unwrap();
    check_invariants(&w, 2);
    let (b, a) = (&w.jobs[0], &w.jobs[1]);
    assert_eq!(
        (b.name.as_str(), b.demand, b.kind, b.open_ended),
        ("b", GpuDemand::share(250), JobKind::Inference, true)
    );
    assert_eq!(w.users[b.user.unwrap().0 as usize], "alice");
    assert_eq!(
        b.gpu_types
            .indices()
            .map(|i| w.gpu_types[i].as_str())
            .collect::<Vec<_>>(),
        ["T4", "A10"]
    );
    assert_eq!(
        (a.submit, a.duration, a.demand, a.priority),
        (SimTime(1_500), SimTime(2_001), GpuDemand::whole(1), 0)
    );
    assert!(a.gpu_types.is_any() && a.user.is_none() && a.recorded_start.is_none());
    assert_eq!(w.tenant_name(a.tenant), "default");
}

#[test]
fn gzip_round_trip() {
    let src = repo().join("scenarios/data/philly_slice.csv");
    let plain = read_trace(TraceFormat::Philly, &src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&src).unwrap();
    // Magic bytes, not the extension, select gzip; two members are read as one stream.
    for name in ["philly.csv.gz", "philly-no-extension.csv"] {
        let gz = dir.path().join(name);
        let mut out = Vec::new();
        let (head, tail) = bytes.split_at(bytes.len() / 2);
        for part in [head, tail] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            out.extend(e.finish().unwrap());
        }
        std::fs::write(&gz, out).unwrap();
        let w = read_trace(TraceFormat::Philly, &gz).unwrap();
        assert_eq!(w.jobs, plain.jobs, "{name}");
        assert_eq!(w.rows_read, plain.rows_read);
    }
}

fn row_error(r: Result<Workload, WorkloadError>) -> (PathBuf, u64, String) {
    match r {
        Err(WorkloadError::Row { path, line, message }) => (path, line, message),
        other => panic!("expected a row error, got {other:?}"),
    }
}

#[test]
fn malformed_value_names_file_line_and_column() {
    let path = data("generic_bad_gpus.csv");
    let (p, line, msg) = row_error(read_trace(TraceFormat::Generic, &path));
    assert_eq!(p, path);
    assert_eq!(line, 5, "the row after a two-line quoted field starts on line 5");
    assert!(msg.contains("`gpus`") && msg.contains("`two`"), "{msg}");

    let path = data("philly_bad_timestamp.csv");
    let (_, line, msg) = row_error(read_trace(TraceFormat::Philly, &path));
    assert_eq!(line, 3);
    assert!(
        msg.contains("`timestamp`") && msg.contains("2017-10-09 7:1"),
        "{msg}"
    );

    let (_, line, msg) = row_error(read_trace(
        TraceFormat::Philly,
        &data("philly_gpu_time_mismatch.csv"),
    ));
    assert_eq!(line, 2);
    assert!(msg.contains("gpu_time"), "{msg}");

    let (_, line, msg) = row_error(read_trace(TraceFormat::Openb, &data("openb_share_multi_gpu.csv")));
    assert_eq!(line, 3);
    assert!(msg.contains("gpu_milli") && msg.contains("500"), "{msg}");

    let (_, line, msg) = row_error(read_trace(
        TraceFormat::Generic,
        &data("generic_unknown_column.csv"),
    ));
    assert_eq!(line, 1);
    assert!(msg.contains("`submit`") && msg.contains("submit_s"), "{msg}");
}

#[test]
fn wrong_field_count_is_a_row_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("short.csv");
    std::fs::write(
        &p,
        "job_id,submission_time,duration,num_gpu\na,1,600,1\nb,2,600\n",
    )
    .unwrap();
    let (_, line, msg) = row_error(read_trace(TraceFormat::Itp, &p));
    assert_eq!(line, 3);
    assert!(msg.contains("fields"), "{msg}");
}

#[test]
fn missing_file_is_io_error_with_path() {
    let path = data("does-not-exist.csv");
    match read_trace(TraceFormat::Openb, &path) {
        Err(e @ WorkloadError::Io { .. }) => assert!(e.to_string().contains("does-not-exist.csv"), "{e}"),
        other => panic!("expected Io, got {other:?}"),
    }
}

/// A trace path that is a folder says so (before: "Is a directory (os error 21)" from
/// the operating system, and only once reading began).
#[test]
fn a_folder_given_as_a_trace_says_it_is_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    match read_trace(TraceFormat::Philly, dir.path()) {
        Err(e @ WorkloadError::Io { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("is a folder; expected a trace file"), "{msg}");
            assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        }
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn missing_column_lists_expected() {
    // `qos` and `gpu_spec` are optional (the multigpu pod lists lack them): priority 0,
    // training, any GPU type, as documented in the openb adapter.
    let w = read_trace(TraceFormat::Openb, &data("openb_missing_qos.csv")).unwrap();
    assert!(w
        .jobs
        .iter()
        .all(|j| j.priority == 0 && j.kind == JobKind::Training));
    // The time columns come as a set: one without the others is a missing column.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pods.csv");
    std::fs::write(
        &p,
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time
p0,1000,1024,1,1000,0
",
    )
    .unwrap();
    match read_trace(TraceFormat::Openb, &p) {
        Err(WorkloadError::MissingColumn { column, expected, .. }) => {
            assert_eq!(column, "scheduled_time");
            assert!(
                expected.contains("gpu_milli") && expected.contains("deletion_time"),
                "{expected}"
            );
        }
        other => panic!("expected MissingColumn, got {other:?}"),
    }
    std::fs::write(
        &p,
        "name,cpu_milli,memory_mib,num_gpu
p0,1000,1024,1
",
    )
    .unwrap();
    assert!(matches!(
        read_trace(TraceFormat::Openb, &p),
        Err(WorkloadError::MissingColumn { column, .. }) if column == "gpu_milli"
    ));
    // The ITP file looks columns up by name: a philly file lacks `job_id`.
    let r = read_trace(TraceFormat::Itp, &repo().join("scenarios/data/philly_slice.csv"));
    assert!(matches!(r, Err(WorkloadError::MissingColumn { column, .. }) if column == "job_id"));
}

#[test]
fn empty_inputs_are_empty_errors() {
    for (format, name) in [
        (TraceFormat::Generic, "empty.csv"),
        (TraceFormat::Philly, "philly_header_only.csv"),
        (TraceFormat::Openb, "openb_all_skipped.csv"),
    ] {
        match read_trace(format, &data(name)) {
            Err(e @ WorkloadError::Empty { .. }) => {
                let text = e.to_string();
                assert!(text.contains(name), "{text}");
                if name == "openb_all_skipped.csv" {
                    assert!(
                        text.contains("cpu_only") && text.contains("never_scheduled"),
                        "{text}"
                    );
                }
            }
            other => panic!("{name}: expected Empty, got {other:?}"),
        }
    }
    assert!(matches!(
        read_traces(TraceFormat::Itp, &[]),
        Err(WorkloadError::Invalid { .. })
    ));
}

#[test]
fn read_traces_interns_across_files() {
    let slice = repo().join("scenarios/data/philly_slice.csv");
    let one = read_trace(TraceFormat::Philly, &slice).unwrap();
    let two = read_traces(TraceFormat::Philly, &[slice.clone(), slice]).unwrap();
    assert_eq!(two.jobs.len(), 2 * one.jobs.len());
    assert_eq!(two.rows_read, 2 * one.rows_read);
    assert_eq!(two.tenants, one.tenants);
    check_invariants(&two, 4000);
}

#[test]
fn stats_display_of_openb() {
    let w = read_trace(
        TraceFormat::Openb,
        &repo().join("scenarios/data/openb_pod_list_default.csv"),
    )
    .unwrap();
    let s = TraceStats::compute(&w);
    assert_eq!(s.jobs, 6203);
    assert_eq!(s.shared_gpu_jobs + s.gang_sizes.values().sum::<u64>(), s.jobs);
    assert!(s.duration.p50_s <= s.duration.p90_s && s.duration.p90_s <= s.duration.p99_s);
    let text = s.to_string();
    assert!(
        text.contains("never_scheduled") && text.contains("openb"),
        "{text}"
    );
    serde_json::to_string(&s).unwrap();
}

/// A measured GPU utilization: read where given (empty = none), written back only when
/// some job has one and read back as the same value; outside [0, 1] it is an error
/// naming the line and column.
#[test]
fn generic_gpu_util_round_trips_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("u.csv");
    std::fs::write(
        &p,
        "id,submit_s,duration_s,gpus,gpu_util\na,0,10,1,0.37\nb,1,10,2,\n",
    )
    .unwrap();
    let w = read_trace(TraceFormat::Generic, &p).unwrap();
    assert_eq!((w.jobs[0].gpu_util, w.jobs[1].gpu_util), (Some(0.37), None));
    let mut out = Vec::new();
    write_generic(&w, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.lines().next().unwrap().ends_with(",open_ended,gpu_util"),
        "{text}"
    );
    let q = dir.path().join("back.csv");
    std::fs::write(&q, &text).unwrap();
    assert_eq!(read_trace(TraceFormat::Generic, &q).unwrap().jobs, w.jobs);

    std::fs::write(&p, "id,submit_s,duration_s,gpus,gpu_util\na,0,10,1,1.5\n").unwrap();
    let (_, line, msg) = row_error(read_trace(TraceFormat::Generic, &p));
    assert_eq!(line, 2);
    assert!(msg.contains("`gpu_util`") && msg.contains("1.5"), "{msg}");
}

#[test]
fn out_of_range_values_are_row_errors_that_give_the_range() {
    // Before: a duration of 1e300 s was clamped to u64::MAX ms (584 million years) and
    // `gpus = 1000000000000` was reported as "expected a non-negative whole number".
    let dir = tempfile::tempdir().unwrap();
    let header = "id,submit_s,duration_s,gpus\n";
    for (row, column, needle) in [
        (
            "a,0,1e300,1",
            "duration_s",
            "out of range: times must lie in 0..=31557600000 s",
        ),
        ("a,99999999999,60,1", "submit_s", "out of range"),
        (
            "a,0,60,1000000000000",
            "gpus",
            "out of range: expected a whole number in 0..=4294967295",
        ),
        ("a,0,-5,1", "duration_s", "expected seconds"),
    ] {
        let p = dir.path().join("t.csv");
        std::fs::write(&p, format!("{header}ok,0,60,1\n{row}\n")).unwrap();
        let (path, line, msg) = row_error(read_trace(TraceFormat::Generic, &p));
        assert_eq!((path, line), (p.clone(), 3), "{row}");
        assert!(
            msg.contains(&format!("`{column}`")) && msg.contains(needle),
            "{row}: {msg}"
        );
    }
    // DLRM's `gpu_request` is a float: a whole number too large is out of range too.
    let p = dir.path().join("dlrm.csv");
    let text = std::fs::read_to_string(data("dlrm_small.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[2] = lines[2].replacen(",0.5,", ",1e12,", 1);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let (_, line, msg) = row_error(read_trace(TraceFormat::Dlrm, &p));
    assert_eq!(line, 3);
    assert!(
        msg.contains("`gpu_request`") && msg.contains("in range 0..=4294967295"),
        "{msg}"
    );
    // Wall-clock formats: a date past the horizon (year 3000 > 1970 + 1,000 years).
    let p = dir.path().join("philly.csv");
    std::fs::write(
        &p,
        "timestamp,duration,num_gpus,cluster\n2017-10-03 00:00:00,60,1,vc\n3000-01-01 00:00:00,60,1,vc\n",
    )
    .unwrap();
    let (_, line, msg) = row_error(read_trace(TraceFormat::Philly, &p));
    assert_eq!(line, 3);
    assert!(
        msg.contains("`timestamp`") && msg.contains("out of range"),
        "{msg}"
    );
}

#[test]
fn untimed_openb_pod_lists_are_read_by_the_inflation_draw_only() {
    // The shape of openb's multigpuNN lists: five columns, no times, no qos, no gpu_spec.
    // Before: "missing column `gpu_spec`" for every reader.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("openb_pod_list_multigpu.csv");
    std::fs::write(
        &p,
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli
p0,12000,16384,1,1000
p1,6000,12288,1,460
p2,4000,1024,0,0
p3,8000,2048,8,1000
",
    )
    .unwrap();
    let w = read_traces_keeping_cpu_only(TraceFormat::Openb, std::slice::from_ref(&p)).unwrap();
    assert_eq!((w.rows_read, w.jobs.len()), (4, 4));
    let demands: Vec<GpuDemand> = w.jobs.iter().map(|j| j.demand).collect();
    assert_eq!(
        demands,
        [
            GpuDemand::whole(1),
            GpuDemand::share(460),
            GpuDemand::whole(0),
            GpuDemand::whole(8)
        ]
    );
    assert!(w
        .jobs
        .iter()
        .all(|j| j.gpu_types.is_any() && j.recorded_start.is_none()));
    assert_eq!(w.jobs[1].host.cpu_milli, 6000);
    // A run needs submit times: refused at the header, naming the file.
    let (path, line, msg) = row_error(read_trace(TraceFormat::Openb, &p));
    assert_eq!((path, line), (p, 1));
    assert!(msg.contains("no time columns"), "{msg}");
}

#[test]
fn duplicate_job_ids_are_rejected_naming_both_lines() {
    // Before: accepted without a word. No published trace dcsim reads repeats an id
    // (checked over openb, ITP and DLRM), so a repeat is rejected, as documented.
    let dir = tempfile::tempdir().unwrap();
    for (format, text) in [
        (TraceFormat::Generic, "id,submit_s,duration_s,gpus\na,0,10,1\nb,1,10,1\na,2,10,1\n"),
        (TraceFormat::Itp, "job_id,submission_time,duration,num_gpu\na,0,10,1\nb,1,10,1\na,2,10,1\n"),
        (
            TraceFormat::Openb,
            "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,creation_time,scheduled_time,deletion_time\n\
             a,1,1,1,1000,,BE,0,0,10\nb,1,1,1,1000,,BE,1,1,10\na,1,1,1,1000,,BE,2,2,10\n",
        ),
    ] {
        let p = dir.path().join("dup.csv");
        std::fs::write(&p, text).unwrap();
        let (_, line, msg) = row_error(read_trace(format, &p));
        assert_eq!(line, 4, "{format}");
        assert!(msg.contains("job id `a` repeats the job on line 2"), "{format}: {msg}");
    }
}
