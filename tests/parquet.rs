//! `--format parquet` (issue 17): every table a run writes as CSV is also written as
//! Parquet with the same columns and the same values. The oracle is the CSV of the same
//! run, read back with the `csv` crate; the Parquet is read back with the `parquet`
//! crate's own reader (a different code path from the writer's), cell by cell.

use std::fs;
use std::path::Path;
use std::process::Command;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use dcsim::columnar::{self, ColumnType, ROW_GROUP};

fn dcsim(args: &[&str], threads: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dcsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap()
}

/// Runs `scenario` with `extra` arguments into `dir`, asserting success.
fn run(scenario: &str, dir: &Path, extra: &[&str], threads: &str) {
    run_command("run", scenario, dir, extra, threads);
}

/// Runs the dcsim subcommand `command` (`run`, `budget`, `compare`) on `scenario` with
/// `extra` arguments into `dir`, asserting success.
fn run_command(command: &str, scenario: &str, dir: &Path, extra: &[&str], threads: &str) {
    let path = format!("scenarios/{scenario}.toml");
    let mut args = vec![command, &path, "--output", dir.to_str().unwrap(), "--no-report"];
    args.extend_from_slice(extra);
    let out = dcsim(&args, threads);
    assert!(
        out.status.success(),
        "{scenario}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `.csv` in `dir`, by stem.
fn tables(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".csv").map(str::to_string)
        })
        .collect();
    v.sort();
    v
}

/// Whether the Parquet cell `f` holds exactly what the CSV cell `cell` says.
fn same(f: &Field, cell: &str) -> bool {
    match f {
        Field::Null => cell.is_empty(),
        Field::Long(v) => v.to_string() == cell,
        Field::Str(s) => s == cell,
        Field::Double(d) if d.is_nan() => cell == "NaN",
        Field::Double(d) if d.is_infinite() => cell == if *d > 0.0 { "inf" } else { "-inf" },
        Field::Double(d) => {
            // The double prints back to the CSV's digits at the CSV's precision.
            let decimals = cell.split_once('.').map_or(0, |(_, frac)| frac.len());
            if cell.contains(['e', 'E']) {
                cell.parse::<f64>() == Ok(*d)
            } else {
                format!("{d:.decimals$}") == cell
            }
        }
        _ => false,
    }
}

/// The Parquet file holds the CSV's header, row count and every value; returns the
/// Parquet columns' physical types by name.
fn assert_same_table(csv_path: &Path, pq_path: &Path) -> Vec<(String, String)> {
    let mut csv = csv::Reader::from_path(csv_path).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_string).collect();
    let reader = SerializedFileReader::new(fs::File::open(pq_path).unwrap()).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let columns: Vec<(String, String)> = schema
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.physical_type().to_string()))
        .collect();
    let names: Vec<&String> = columns.iter().map(|(n, _)| n).collect();
    assert_eq!(names, header.iter().collect::<Vec<_>>(), "{}", pq_path.display());
    let mut rows = reader.get_row_iter(None).unwrap();
    for (n, rec) in csv.records().enumerate() {
        let rec = rec.unwrap();
        let row = rows
            .next()
            .unwrap_or_else(|| panic!("{}: fewer rows than the CSV", pq_path.display()))
            .unwrap();
        for ((name, f), cell) in row.get_column_iter().zip(rec.iter()) {
            assert!(
                same(f, cell),
                "{} row {n} column {name}: parquet {f:?}, csv `{cell}`",
                pq_path.display()
            );
        }
    }
    assert!(
        rows.next().is_none(),
        "{}: more rows than the CSV",
        pq_path.display()
    );
    columns
}

/// Runs `scenario` as CSV and as Parquet (twice: 1 and 4 threads), checks every table
/// holds the same values and the Parquet bytes do not change; returns the tables seen.
fn check(scenario: &str, extra: &[&str]) -> Vec<String> {
    check_command("run", scenario, extra)
}

/// [`check`] for the subcommand `command`; every `.json` file is the same in both
/// formats.
fn check_command(command: &str, scenario: &str, extra: &[&str]) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let (c, p1, p4) = (
        tmp.path().join("csv"),
        tmp.path().join("p1"),
        tmp.path().join("p4"),
    );
    run_command(command, scenario, &c, extra, "4");
    let pq: Vec<&str> = extra.iter().copied().chain(["--format", "parquet"]).collect();
    run_command(command, scenario, &p1, &pq, "1");
    run_command(command, scenario, &p4, &pq, "4");
    let names = tables(&c);
    assert!(!names.is_empty());
    assert!(tables(&p1).is_empty(), "a Parquet run writes no CSV");
    for t in &names {
        let file = format!("{t}.parquet");
        assert_same_table(&c.join(format!("{t}.csv")), &p1.join(&file));
        assert_eq!(
            fs::read(p1.join(&file)).unwrap(),
            fs::read(p4.join(&file)).unwrap(),
            "{scenario}: {file} differs between 1 and 4 threads"
        );
    }
    let mut json = 0;
    for e in fs::read_dir(&c).unwrap() {
        let name = e.unwrap().file_name();
        if name.to_string_lossy().ends_with(".json") {
            json += 1;
            assert_eq!(
                fs::read(c.join(&name)).unwrap(),
                fs::read(p1.join(&name)).unwrap(),
                "{scenario}: {name:?} differs between the formats"
            );
        }
    }
    assert_eq!(json, 1, "{scenario}: one summary.json or compare.json");
    names
}

#[test]
fn jobs_and_series_hold_the_csv_values_with_documented_types() {
    let tmp = tempfile::tempdir().unwrap();
    let (c, p) = (tmp.path().join("csv"), tmp.path().join("pq"));
    run("default", &c, &[], "4");
    run("default", &p, &["--format", "parquet"], "4");
    let types = assert_same_table(&c.join("jobs.csv"), &p.join("jobs.parquet"));
    let ty = |name: &str| types.iter().find(|(n, _)| n == name).unwrap().1.clone();
    // docs/outputs.md, "Parquet": counts INT64, times and GPU figures DOUBLE, names text.
    assert_eq!(ty("id"), "INT64");
    assert_eq!(ty("gpus"), "INT64");
    assert_eq!(ty("submit_s"), "DOUBLE");
    assert_eq!(ty("wait_s"), "DOUBLE");
    assert_eq!(ty("name"), "BYTE_ARRAY");
    assert_eq!(ty("outcome"), "BYTE_ARRAY");
    let types = assert_same_table(&c.join("timeseries.csv"), &p.join("timeseries.parquet"));
    assert_eq!(types[0], ("time_s".into(), "DOUBLE".into()));
    assert!(types.contains(&("queued_jobs".into(), "INT64".into())));
}

#[test]
fn every_table_of_power_economics_and_intervals_runs_matches() {
    let names = check("budget-2026", &[]);
    for t in [
        "costs",
        "job_costs",
        "jobs",
        "power",
        "power_levels",
        "tenants",
        "timeseries",
    ] {
        assert!(names.contains(&t.to_string()), "{t} missing from {names:?}");
    }
    let names = check("philly-slice", &["--series-interval", "3600"]);
    assert!(names.contains(&"timeseries_intervals".to_string()), "{names:?}");
}

#[test]
fn failure_tables_match() {
    let names = check("llama3-54d", &["--outputs", "jobs"]);
    for t in ["failures", "job_failures", "jobs"] {
        assert!(names.contains(&t.to_string()), "{t} missing from {names:?}");
    }
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn network_table_matches() {
    let names = check("network-philly", &["--outputs", "jobs"]);
    assert!(names.contains(&"network_jobs".to_string()), "{names:?}");
}

/// A table longer than a row group (three groups, the last partial), with nulls, quoted
/// text and every type, written through the library and read back.
#[test]
fn long_tables_span_row_groups() {
    let rows = 2 * ROW_GROUP + 17;
    let table = |w: &mut dyn std::io::Write| -> std::io::Result<()> {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(["id", "name", "t_s", "empty"])?;
        for i in 0..rows {
            let t = if i % 7 == 0 {
                String::new()
            } else {
                format!("{}.{:03}", i, i % 1000)
            };
            csv.write_record([i.to_string(), format!("job, \"{i}\""), t, String::new()])?;
        }
        csv.flush()
    };
    let types = columnar::column_types(&table).unwrap();
    let kinds: Vec<ColumnType> = types.iter().map(|(_, t)| *t).collect();
    assert_eq!(
        kinds,
        [
            ColumnType::Int,
            ColumnType::Text,
            ColumnType::Float,
            ColumnType::Empty
        ]
    );
    let tmp = tempfile::tempdir().unwrap();
    let (c, p) = (tmp.path().join("t.csv"), tmp.path().join("t.parquet"));
    let mut f = fs::File::create(&c).unwrap();
    table(&mut f).unwrap();
    let mut f = fs::File::create(&p).unwrap();
    columnar::write_parquet(&table, &mut f).unwrap();
    drop(f);
    assert_same_table(&c, &p);
    let reader = SerializedFileReader::new(fs::File::open(&p).unwrap()).unwrap();
    assert_eq!(reader.metadata().num_row_groups(), 3);
    assert_eq!(reader.metadata().file_metadata().num_rows(), rows as i64);
}

/// Values that do not exist are refused before anything runs, naming the value and what
/// is expected.
#[test]
fn bad_format_outputs_and_resolution_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x");
    let d = dir.to_str().unwrap();
    for (args, says) in [
        (
            vec!["--format", "xml"],
            "unknown table format `xml`; expected csv or parquet",
        ),
        (
            vec!["--outputs", "everything"],
            "expected one of summary, jobs, full",
        ),
        (vec!["--series-interval", "0"], "expected a number of seconds > 0"),
    ] {
        let mut all = vec!["run", "scenarios/default.toml", "--output", d];
        all.extend(args);
        let out = dcsim(&all, "1");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{all:?}: {err}");
        assert!(!dir.exists());
    }
}

/// SIGTERM while the Parquet tables stream out: the temporary is removed, nothing
/// partial is left, and dcsim exits with 130 (the same rule as the CSV writers, checked
/// for CSV in `tests/outputs.rs`).
#[cfg(unix)]
#[test]
fn an_interrupt_while_streaming_parquet_leaves_nothing() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let tmp = tempfile::tempdir().unwrap();
    // 400,000 jobs: two tables of several row groups each, over a second to write here.
    let body = r#"name = "big"
seed = 1
[topology]
path = "@REPO@/topologies/tiny.toml"
[workload]
format = "synthetic"
[workload.synthetic]
jobs = 400000
arrival = { process = "poisson", offered_load = 0.5 }
gpus = { dist = "choice", values = [1, 2, 4] }
duration = { dist = "exponential", mean_s = 600.0 }
"#;
    let s = tmp.path().join("s.toml");
    fs::write(&s, body.replace("@REPO@", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcsim"))
        .args(["run", s.to_str().unwrap(), "-o", "big", "--format", "parquet"])
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let temp = tmp.path().join(format!(".big.tmp-{}", child.id()));
    let t0 = Instant::now();
    // Wait for the first row group's bytes: the conversion is streaming by then.
    while !fs::metadata(temp.join("jobs.parquet")).is_ok_and(|m| m.len() > 0) {
        assert!(child.try_wait().unwrap().is_none(), "dcsim ended before it wrote");
        assert!(t0.elapsed() < Duration::from_secs(120), "no temporary appeared");
        std::thread::sleep(Duration::from_millis(1));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    let left: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["s.toml"], "a temporary or a partial run was left");
}

/// `budget` and `compare` write their own tables (budget.csv; compare.csv and its
/// tenant and quantile tables) through the same columnar path as `run`.
#[test]
fn budget_and_compare_tables_match() {
    let budget = check_command("budget", "budget-2026", &[]);
    for t in ["budget", "jobs", "timeseries"] {
        assert!(budget.iter().any(|n| n == t), "budget wrote {budget:?}");
    }
    let compare = check_command(
        "compare",
        "philly-slice",
        &[
            "--policies",
            "fifo,fifo-skip",
            "--placements",
            "best-fit,first-fit",
        ],
    );
    assert_eq!(compare, ["compare", "compare_quantiles", "compare_tenants"]);
}

/// `dcsim sweep`, `dcsim merge` and `dcsim plan` with `--format parquet`: sweep.parquet,
/// sweep_summary.parquet and plan.parquet hold the values of the CSV the same command
/// writes (the oracle), are byte-identical at 1 and 4 worker threads, and merged shards
/// give the bytes of the sweep on one machine.
#[test]
fn sweep_merge_and_plan_tables_match() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    fs::write(
        t.join("servers.toml"),
        "name = \"servers\"\nsource = \"test\"\n[layout]\nnodes_per_rack = 8\nracks_per_row = 8\n\
         rows_per_hall = 40\n[[nodes]]\nname = \"server\"\ngpu = \"H100-SXM5\"\ngpus = 1\ncount = 30\n",
    )
    .unwrap();
    // Two swept keys, one of them text (the queue policy), two replications per point.
    let scenario = r#"name = "t"
seed = 7
[topology]
path = "servers.toml"
[workload]
format = "synthetic"
[workload.synthetic]
jobs = 300
arrival = { process = "poisson", rate_per_hour = 20.0 }
gpus = { dist = "constant", value = 1 }
duration = { dist = "exponential", mean_s = 3600.0 }
[scheduler]
queue = "fifo"
placement = "pooled"
[sweep]
replications = 2
[[sweep.axis]]
key = "topology.nodes.server.count"
range = { from = 22, to = 26, step = 2 }
[[sweep.axis]]
key = "scheduler.queue"
values = ["fifo", "fifo-skip"]
"#;
    let s = t.join("s.toml");
    fs::write(&s, scenario).unwrap();
    let s = s.to_str().unwrap();
    let ok = |args: &[&str], threads: &str| {
        let out = dcsim(args, threads);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let dir = |name: &str| t.join(name).to_str().unwrap().to_string();
    ok(&["sweep", s, "-o", &dir("csv"), "--no-report"], "4");
    for (name, jobs) in [("p1", "1"), ("p4", "4")] {
        ok(
            &[
                "sweep",
                s,
                "-o",
                &dir(name),
                "--jobs",
                jobs,
                "--format",
                "parquet",
            ],
            jobs,
        );
    }
    for shard in ["0/2", "1/2"] {
        let d = dir(&format!("shard{}", &shard[..1]));
        ok(&["sweep", s, "-o", &d, "--shard", shard], "2");
    }
    let m = dir("merged");
    ok(
        &[
            "merge",
            &dir("shard0"),
            &dir("shard1"),
            "-o",
            &m,
            "--format",
            "parquet",
        ],
        "2",
    );
    for table in ["sweep", "sweep_summary"] {
        let file = format!("{table}.parquet");
        let types = assert_same_table(
            &t.join("csv").join(format!("{table}.csv")),
            &t.join("p1").join(&file),
        );
        let ty = |name: &str| types.iter().find(|(n, _)| n == name).unwrap().1.clone();
        // docs/sweeps.md: point (and run_seed) are integers, the queue policy text.
        assert_eq!(ty("point"), "INT64");
        assert_eq!(ty("scheduler.queue"), "BYTE_ARRAY");
        assert_eq!(ty("topology.nodes.server.count"), "INT64");
        let bytes = fs::read(t.join("p1").join(&file)).unwrap();
        for other in ["p4", "merged"] {
            assert!(
                bytes == fs::read(t.join(other).join(&file)).unwrap(),
                "{file} differs between p1 and {other}"
            );
        }
        assert!(!t.join("p1").join(format!("{table}.csv")).exists());
    }

    // The Slurm scripts' merge job writes CSV: asking for Parquet there is refused with
    // the way to get it; an unknown format is refused before anything runs.
    for (args, says) in [
        (
            vec![
                "sweep",
                s,
                "-o",
                &dir("emit"),
                "--emit",
                "slurm",
                "--format",
                "parquet",
            ],
            "merge --format parquet",
        ),
        (
            vec!["sweep", s, "-o", &dir("bad"), "--format", "xml"],
            "unknown table format `xml`",
        ),
    ] {
        let out = dcsim(&args, "1");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{args:?}: {err}");
    }
    assert!(!t.join("bad").exists());

    let plan = |name: &str, extra: &[&str]| {
        let d = dir(name);
        let mut args = vec![
            "plan",
            s,
            "--vary",
            "topology.nodes.server.count",
            "--from",
            "20",
            "--to",
            "30",
            "--target",
            "wait_s.mean <= 600",
            "--replications",
            "2",
            "-o",
            &d,
            "--no-report",
        ];
        args.extend_from_slice(extra);
        ok(&args, "2");
    };
    plan("plan-csv", &[]);
    plan("plan-pq", &["--format", "parquet"]);
    let types = assert_same_table(
        &t.join("plan-csv").join("plan.csv"),
        &t.join("plan-pq").join("plan.parquet"),
    );
    assert!(types.contains(&("meets".into(), "INT64".into())), "{types:?}");
    assert!(!t.join("plan-pq").join("plan.csv").exists());
}
