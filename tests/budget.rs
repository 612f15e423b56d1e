//! `dcsim budget`: demand growth counted by hand, the fleet over the months, and the
//! command end to end.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dcsim::budget::run;
use dcsim::scenario::Scenario;

fn dcsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("dcsim runs")
}

/// A trace of one 1-GPU, 60-second job per hour for a day (submits 0, 1, ..., 23 h): its
/// tile span is 23 h · 24 / 23 = 24 h, so tiled it has exactly one arrival per hour.
fn hourly_trace(dir: &Path) -> PathBuf {
    hourly_jobs(dir, 1, 60)
}

/// Like [`hourly_trace`], with `gpus` GPUs per job running `duration_s` seconds.
fn hourly_jobs(dir: &Path, gpus: u32, duration_s: u32) -> PathBuf {
    let mut text = String::from("id,submit_s,duration_s,gpus,gpu_milli,tenant\n");
    for h in 0..24 {
        text.push_str(&format!("j{h},{},{duration_s},{gpus},1000,alpha\n", h * 3600));
    }
    let p = dir.join("hourly.csv");
    fs::write(&p, text).unwrap();
    p
}

/// A scenario on topologies/tiny.toml (40 GPUs) with the hourly trace and `budget`
/// (the `[budget]` table's body).
fn scenario(dir: &Path, budget: &str) -> PathBuf {
    scenario_with(dir, &hourly_trace(dir), budget)
}

/// [`scenario`] with another trace.
fn scenario_with(dir: &Path, trace: &Path, budget: &str) -> PathBuf {
    let text = format!(
        r#"
name = "b"
seed = 1
[topology]
path = "{repo}/topologies/tiny.toml"
[workload]
format = "generic"
path = "{trace}"
[budget]
{budget}
"#,
        repo = env!("CARGO_MANIFEST_DIR"),
        trace = trace.display()
    );
    let p = dir.join("s.toml");
    fs::write(&p, text).unwrap();
    p
}

/// Jobs submitted in each month of the setup's calendar.
fn per_month(setup: &run::BudgetSetup) -> Vec<usize> {
    let mut n = vec![0; setup.calendar.months()];
    for j in &setup.prepared.workload.jobs {
        n[setup.calendar.month_of(j.submit).unwrap()] += 1;
    }
    n
}

#[test]
fn growth_counts_per_month_by_hand() {
    // Linear ×1 → ×3 over 3 months gives ×1, ×2, ×3. One pattern arrival per hour:
    // January 744 h × 1 = 744, February 2026 672 h × 2 = 1,344, March 744 h × 3 = 2,232.
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(
        dir.path(),
        "start = \"2026-01-01\"\nmonths = 3\n[budget.growth]\nkind = \"linear\"\nfrom = 1.0\nto = 3.0",
    );
    let setup = run::prepare(&Scenario::load(&s).unwrap(), 1, None).unwrap();
    assert_eq!(setup.multipliers, [1.0, 2.0, 3.0]);
    assert_eq!(per_month(&setup), [744, 1344, 2232]);
    // A per-month table, and --months overriding the scenario's months: ×0.5 in
    // January thins to ⌊744 · 0.5⌋ = 372 jobs, ×1.25 in February gives ⌊672 · 1.25⌋ = 840.
    let s = scenario(
        dir.path(),
        "start = \"2026-01-01\"\nmonths = 3\n[budget.growth]\nkind = \"table\"\nmultipliers = [0.5, 1.25, 9.0]",
    );
    let setup = run::prepare(&Scenario::load(&s).unwrap(), 1, Some(2)).unwrap();
    assert_eq!(per_month(&setup), [372, 840]);
    assert_eq!(
        setup.prepared.workload.skipped.reasons["growth.thinned"].count,
        372
    );
}

#[test]
fn months_sum_to_the_run() {
    // Σ months = year: every job of the run starts in exactly one month row (the 60 s
    // jobs on 40 idle GPUs all start at once), and the rows' counts add up to them all.
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "start = \"2026-01-01\"\nmonths = 12");
    let out = dir.path().join("out");
    let o = dcsim(&[
        "budget",
        s.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-report",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = fs::read_to_string(out.join("budget.csv")).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[0][0], "2026-01");
    assert_eq!(rows[11][0], "2026-12");
    // 2026 has 365 days: 8,760 hourly arrivals at ×1.
    let started: u64 = rows.iter().map(|r| r[3].parse::<u64>().unwrap()).sum();
    assert_eq!(started, 8760);
    assert!(rows.iter().all(|r| r[1] == "40"), "{text}");
    // The run's own files sit beside it.
    for f in ["jobs.csv", "summary.json", "timeseries.csv"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // Without --force an existing budget folder is kept.
    let again = dcsim(&[
        "budget",
        s.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-report",
    ]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn bad_budget_input_names_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for (budget, want) in [
        (
            "start = \"2026-01-01\"\n[[budget.fleet]]\nnodes = \"h100\"\nin_service = \"2026-06-01\"\nretire = \"2026-02-01\"",
            "`budget.fleet[0].retire`: (2026-02-01) must be after in_service (2026-06-01)",
        ),
        ("start = \"2026-02-30\"", "`budget.start`"),
        (
            "start = \"2026-01-01\"\n[[budget.fleet]]\nnodes = \"h200\"",
            "no `[[nodes]]` group `h200` in topology tiny (groups: a100, h100)",
        ),
    ] {
        let s = scenario(dir.path(), budget);
        let o = dcsim(&["budget", s.to_str().unwrap(), "-o", dir.path().join("o").to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(want), "{budget}: {err}");
    }
    // A scenario without [budget] says what `dcsim budget` needs.
    let s = dir.path().join("plain.toml");
    fs::write(
        &s,
        format!(
            "name = \"p\"\n[topology]\npath = \"{0}/topologies/tiny.toml\"\n[workload]\nformat = \"generic\"\npath = \"{0}/tests/data/generic_small.csv\"\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let o = dcsim(&["budget", s.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs a [budget] table"));
}

/// Runs `dcsim budget` on `s` and returns budget.csv's rows (header left out).
fn budget_rows(dir: &Path, s: &Path) -> Vec<Vec<String>> {
    let out = dir.join("out-rows");
    let o = dcsim(&[
        "budget",
        s.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-report",
        "--force",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = csv::Reader::from_path(out.join("budget.csv")).unwrap();
    r.records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect()
}

#[test]
fn dated_groups_enter_and_leave_service() {
    // tiny.toml: group h100 = 4 nodes × 8 GPUs, a100 = 2 nodes × 4 GPUs. h100 enters on
    // February 1, a100 retires on March 1: 8 GPUs in January, 40 in February, 32 in March.
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(
        dir.path(),
        "start = \"2026-01-01\"\nmonths = 3\n[[budget.fleet]]\nnodes = \"h100\"\nin_service = \"2026-02-01\"\n[[budget.fleet]]\nnodes = \"a100\"\nretire = \"2026-03-01\"",
    );
    let rows = budget_rows(dir.path(), &s);
    let gpus: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(gpus, ["8", "40", "32"]);
}

#[test]
fn the_capacity_rule_orders_at_the_hand_worked_month_and_racks_arrive_after_the_lead() {
    // In service: the 2 A100 nodes (8 GPUs); reserve: group h100, 2 racks of 2 nodes
    // (16 GPUs each). One 2-GPU, 1-hour job per pattern hour, grown by the table
    // ×1, ×2, ×3.5, ×3.5, ×3.5, ×3.5: a month's busy GPU-hours ≈ 2 · g per hour, so
    // utilization ≈ 2g / 8 = 0.25, 0.5, 0.875, ... The rule (above 0.8, 1 rack, lead 1
    // month) first fires at March's end (month 3); the rack enters service on May 1
    // (March + 1 + lead 1). April is still above 0.8 but the order is in transit; from
    // May, 24 GPUs carry 7 busy ones on average (≈ 0.29): no further order.
    let dir = tempfile::tempdir().unwrap();
    let trace = hourly_jobs(dir.path(), 2, 3600);
    let s = scenario_with(
        dir.path(),
        &trace,
        "start = \"2026-01-01\"\nmonths = 6\n[budget.growth]\nkind = \"table\"\nmultipliers = [1.0, 2.0, 3.5, 3.5, 3.5, 3.5]\n[budget.rule]\nmetric = \"utilization\"\nabove = 0.8\nracks = 1\nfrom_group = \"h100\"\nlead_months = 1",
    );
    let rows = budget_rows(dir.path(), &s);
    let gpus: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(gpus, ["8", "8", "8", "8", "24", "24"]);
    let util: Vec<f64> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    assert!(
        (util[0] - 0.25).abs() < 0.01 && (util[1] - 0.5).abs() < 0.01,
        "{util:?}"
    );
    assert!(util[2] > 0.8 && util[3] > 0.8 && util[4] < 0.35, "{util:?}");
    let fired: Vec<usize> = (0..6).filter(|&m| !rows[m][6].is_empty()).collect();
    assert_eq!(fired, [2], "{rows:?}");
    assert!(
        rows[2][6].contains("ordered 1 rack(s)") && rows[2][6].contains("in service 2026-05"),
        "{}",
        rows[2][6]
    );
    let delivered: Vec<&str> = rows.iter().map(|r| r[5].as_str()).collect();
    assert_eq!(delivered, ["0", "0", "0", "0", "1", "0"]);
}

#[test]
fn the_bundled_budget_scenario_runs_without_shared_data() {
    // Two months of scenarios/budget-2026.toml: 384 GPUs in service (12 racks of 4 DGX
    // H100; the 4 reserve racks wait for the rule), rows labelled by calendar month.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b26");
    let o = dcsim(&[
        "budget",
        "scenarios/budget-2026.toml",
        "--months",
        "2",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = csv::Reader::from_path(out.join("budget.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let months: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(months, ["2026-01", "2026-02"]);
    assert_eq!(&rows[0][1], "384");
    // The report draws the budget figure from budget.csv.
    assert!(out.join("plots/budget.svg").is_file());
    // Billed against ERCOT 2023 ([economics]): costs.csv lies beside budget.csv and the
    // figure stacks its cost components over the fleet's GPUs.
    assert!(out.join("costs.csv").is_file() && out.join("tenants.csv").is_file());
    let svg = std::fs::read_to_string(out.join("plots/budget.svg")).unwrap();
    for text in [
        "Monthly cost by component",
        "GPUs installed",
        "Peak power against the feed",
        "energy",
        "demand",
        "capex",
    ] {
        assert!(svg.contains(text), "budget.svg lacks {text}");
    }
}
