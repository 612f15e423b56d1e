//! End-to-end: the `dcsim` binary on the bundled scenarios, and its answers to bad input.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dcsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("dcsim runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Writes a scenario next to the bundled ones (so its relative paths resolve the same way).
fn scenario_file(dir: &tempfile::TempDir, body: &str) -> PathBuf {
    let p = dir.path().join("s.toml");
    fs::write(&p, body.replace("@REPO@", env!("CARGO_MANIFEST_DIR"))).unwrap();
    p
}

const GOOD: &str = r#"
name = "t"
seed = 1
[topology]
path = "@REPO@/topologies/tiny.toml"
[workload]
format = "generic"
path = "@REPO@/tests/data/generic_small.csv"
"#;

#[test]
fn same_scenario_and_seed_give_byte_identical_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for dir in [&a, &b] {
        let o = dcsim(&["run", "scenarios/default.toml", "--output", dir.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for f in ["jobs.csv", "timeseries.csv", "summary.json"] {
        let (x, y) = (fs::read(a.join(f)).unwrap(), fs::read(b.join(f)).unwrap());
        assert!(!x.is_empty(), "{f} is empty");
        assert!(
            x == y,
            "{f} differs between two runs of the same scenario and seed"
        );
    }
    // Busy + free = the openb cluster's 6,212 GPUs on every row (its node list's sum).
    let mut rdr = csv::Reader::from_path(a.join("timeseries.csv")).unwrap();
    for row in rdr.records() {
        let row = row.unwrap();
        let (busy, free): (f64, f64) = (row[1].parse().unwrap(), row[2].parse().unwrap());
        assert!((busy + free - 6212.0).abs() < 1e-9, "busy {busy} + free {free}");
    }
}

#[test]
fn an_existing_run_is_kept_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario_file(&tmp, GOOD);
    let out = tmp.path().join("out");
    let args = ["run", s.to_str().unwrap(), "--output", out.to_str().unwrap()];
    assert!(dcsim(&args).status.success());
    fs::write(out.join("marker"), "earlier run").unwrap();
    let o = dcsim(&args);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert!(out.join("marker").exists(), "the earlier run was touched");
    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(dcsim(&forced).status.success());
    assert!(!out.join("marker").exists() && out.join("summary.json").exists());
}

#[test]
fn an_unknown_config_key_is_named_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario_file(&tmp, &GOOD.replace("[workload]", "[workload]\nfromat = \"x\""));
    let o = dcsim(&["validate", s.to_str().unwrap()]);
    let e = stderr(&o);
    assert!(!o.status.success());
    assert!(e.contains("fromat") && e.contains(":7:"), "{e}");
}

#[test]
fn an_unknown_policy_lists_the_valid_names() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario_file(&tmp, &format!("{GOOD}\n[scheduler]\nqueue = \"lifo\"\n"));
    let e = stderr(&dcsim(&["validate", s.to_str().unwrap()]));
    assert!(e.contains("lifo") && e.contains("fifo-skip"), "{e}");
}

#[test]
fn a_missing_trace_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario_file(&tmp, &GOOD.replace("generic_small.csv", "nope.csv"));
    let o = dcsim(&[
        "run",
        s.to_str().unwrap(),
        "--output",
        tmp.path().join("o").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nope.csv"), "{}", stderr(&o));
    assert!(
        !tmp.path().join("o").exists(),
        "a failed run left an output directory"
    );
}

#[test]
fn an_unknown_format_lists_the_valid_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario_file(&tmp, &GOOD.replace("\"generic\"", "\"slurm\""));
    let e = stderr(&dcsim(&["validate", s.to_str().unwrap()]));
    assert!(
        e.contains("workload.format") && e.contains("slurm") && e.contains("philly"),
        "{e}"
    );
}

#[test]
fn validate_and_trace_stats_work_on_the_bundled_data() {
    let o = dcsim(&["validate", "scenarios/default.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("topology") && text.contains("workload"), "{text}");
    let o = dcsim(&[
        "trace",
        "stats",
        "scenarios/data/openb_pod_list_default.csv",
        "--format",
        "openb",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(repo("scenarios/data/openb_pod_list_default.csv").exists());
}

/// Validates every bundled scenario that does (`true`) or does not read `../shared`.
fn validate_bundled(reading_shared: bool) {
    let mut n = 0;
    for entry in fs::read_dir(repo("scenarios")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = fs::read_to_string(&p).unwrap();
        if text.contains("../shared/") != reading_shared {
            continue;
        }
        let o = dcsim(&["validate", p.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {}", p.display(), stderr(&o));
        n += 1;
    }
    assert!(n > 0, "no scenario checked");
}

#[test]
fn every_bundled_scenario_validates() {
    validate_bundled(false);
}

#[test]
#[cfg_attr(not(dcsim_shared), ignore = "needs ../shared")]
fn every_bundled_scenario_reading_shared_validates() {
    validate_bundled(true);
}

#[test]
fn an_unknown_policy_parameter_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario_file(
        &tmp,
        &format!("{GOOD}\n[scheduler]\nqueue = \"fifo\"\n[scheduler.params.fifo]\ndepth = 3\n"),
    );
    let o = dcsim(&["validate", s.to_str().unwrap()]);
    let e = stderr(&o);
    assert!(!o.status.success());
    assert!(
        e.contains("scheduler.params.fifo.depth") && e.contains("unknown parameter"),
        "{e}"
    );
}

#[test]
fn a_quota_for_a_tenant_the_workload_lacks_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let body = format!("{GOOD}\n[scheduler]\nqueue = \"quota\"\n[scheduler.params.quota]\nquotas = {{ alpha = 8, gamma = 4 }}\n");
    let s = scenario_file(&tmp, &body);
    let o = dcsim(&["validate", s.to_str().unwrap()]);
    let e = stderr(&o);
    assert!(!o.status.success());
    assert!(
        e.contains("scheduler.params.quota") && e.contains("gamma") && e.contains("beta"),
        "{e}"
    );
}

/// `--queue` and `--placement` run a scenario under other policies (recorded in
/// `summary.json`); an unknown name is refused with the valid ones listed.
#[test]
fn policies_can_be_overridden_on_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario_file(&tmp, GOOD);
    let out = tmp.path().join("run");
    let o = dcsim(&[
        "run",
        s.to_str().unwrap(),
        "--queue",
        "sjf",
        "--placement",
        "worst-fit",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(
        summary.contains("\"queue_policy\": \"sjf\"") && summary.contains("\"placement\": \"worst-fit\""),
        "{summary}"
    );
    let o = dcsim(&[
        "run",
        s.to_str().unwrap(),
        "--queue",
        "lifo",
        "--output",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("fifo-skip"),
        "{}",
        stderr(&o)
    );
}

/// A one-node cluster (8 × H100-SXM5) with every rack capped at `rack_cap_kw`, and a
/// scenario running two 1-GPU jobs on it in admission mode.
fn admission_scenario(tmp: &tempfile::TempDir, rack_cap_kw: f64) -> PathBuf {
    let topo = tmp.path().join("one.toml");
    fs::write(
        &topo,
        format!(
            "name = \"one\"\ndescription = \"d\"\nsource = \"s\"\n[layout]\nnodes_per_rack = 1\nracks_per_row = 1\nrows_per_hall = 1\n\
             [[nodes]]\nname = \"h\"\ngpu = \"H100-SXM5\"\ngpus = 8\ncount = 1\n\
             [power]\nrack_cap_kw = {rack_cap_kw}\n"
        ),
    )
    .unwrap();
    let trace = tmp.path().join("jobs.csv");
    fs::write(&trace, "id,submit_s,duration_s,gpus\na,0,100,1\nb,10,100,1\n").unwrap();
    scenario_file(
        tmp,
        &format!(
            "name = \"adm\"\n[topology]\npath = \"{}\"\n[workload]\nformat = \"generic\"\npath = \"{}\"\n\
             [power]\nmode = \"admission\"\n",
            topo.display(),
            trace.display()
        ),
    )
}

#[test]
fn admission_caps_below_idle_draw_fail_validate_and_run() {
    // Before: exit 0, every job unfinished, "wait 0.000" in the summary.
    let tmp = tempfile::tempdir().unwrap();
    let s = admission_scenario(&tmp, 0.1);
    let out = tmp.path().join("out");
    let (s, out) = (s.to_str().unwrap(), out.to_str().unwrap());
    for args in [vec!["validate", s], vec!["run", s, "--output", out]] {
        let o = dcsim(&args);
        let (e, cmd) = (stderr(&o), args[0]);
        assert!(!o.status.success(), "{cmd}: {e}");
        assert!(
            e.contains("cap 0.100 kW is below the") && e.contains("no job could ever start"),
            "{cmd}: {e}"
        );
    }
}

#[test]
fn a_run_where_no_job_can_start_says_so_in_its_summary() {
    // The rack's idle draw is what validate reports for a too-low cap; 10 W above it a
    // rack is admissible, but no 1-GPU job (TDP − idle, hundreds of W) ever fits.
    let tmp = tempfile::tempdir().unwrap();
    let o = dcsim(&["validate", admission_scenario(&tmp, 0.1).to_str().unwrap()]);
    let e = stderr(&o);
    let idle_kw: f64 = e
        .split("is below the ")
        .nth(1)
        .and_then(|t| t.split(" kW").next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{e}"));
    let s = admission_scenario(&tmp, idle_kw + 0.01);
    let out = tmp.path().join("out");
    let o = dcsim(&["run", s.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    // FIFO tries only its head job, so one of the two was refused for power.
    assert!(
        text.contains(
            "2 jobs never finished: still waiting when the run ended; 1 jobs were refused for power"
        ),
        "{text}"
    );
    assert!(
        text.contains("no job ran: there is no wait, JCT or slowdown to report"),
        "{text}"
    );
    assert!(!text.contains("wait (h)"), "{text}");
}

#[test]
fn validate_rejects_overflowing_times_and_sizes_with_their_keys() {
    // Before: `validate` said ok to load_scale = 1e-300 (every submit at u64::MAX ms)
    // and tile = 1000000000 aborted on a 360 GB allocation.
    let tmp = tempfile::tempdir().unwrap();
    for (transform, needle) in [
        ("load_scale = 1e-300", "transform.load_scale"),
        ("tile = 1000000000", "exceeds the limit of 50000000 jobs"),
    ] {
        let s = scenario_file(&tmp, &format!("{GOOD}[workload.transform]\n{transform}\n"));
        let o = dcsim(&["validate", s.to_str().unwrap()]);
        let e = stderr(&o);
        assert!(!o.status.success() && e.contains(needle), "{transform}: {e}");
    }
}

/// Job counts (issue 17): a synthetic workload may have up to 2³² − 1 jobs (32-bit ids)
/// when generated as the run reads it; a run that holds the workload whole (here, one
/// with a transform) refuses more than 50 million before generating any, naming the key
/// and the way to run it streamed. `validate` checks a large streamed workload
/// job by job without holding it.
#[test]
fn job_counts_past_the_limits_are_refused_with_their_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let synthetic = |jobs: u64| {
        format!(
            r#"name = "t"
[topology]
path = "@REPO@/topologies/tiny.toml"
[workload]
format = "synthetic"
[workload.synthetic]
jobs = {jobs}
arrival = {{ process = "poisson", rate_per_hour = 3600000.0 }}
duration = {{ dist = "constant", value_s = 1.0 }}
"#
        )
    };
    let s = scenario_file(&tmp, &synthetic(5_000_000_000));
    let e = stderr(&dcsim(&["validate", s.to_str().unwrap()]));
    assert!(
        e.contains("workload.synthetic.jobs") && e.contains("job ids are 32-bit"),
        "{e}"
    );
    let held = format!("{}[workload.transform]\nmax_gpus = 8\n", synthetic(60_000_000));
    let s = scenario_file(&tmp, &held);
    let out = tmp.path().join("out");
    let o = dcsim(&[
        "run",
        s.to_str().unwrap(),
        "--no-report",
        "-o",
        out.to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(
        !o.status.success()
            && e.contains("workload.synthetic.jobs")
            && e.contains("held whole")
            && e.contains("without power, reliability, network, services, economics or transforms"),
        "{e}"
    );
    let s = scenario_file(&tmp, &synthetic(2_000_000));
    let o = dcsim(&["validate", s.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success() && text.contains("2000000 jobs"),
        "{text}{}",
        stderr(&o)
    );
}
