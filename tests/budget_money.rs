//! `dcsim budget` with `[economics]`: one calendar for the budget and its bill, capex
//! and opex paid by the fleet as it was (dated groups, racks the rule ordered, from
//! delivery), money columns in `budget.csv`, and series coverage checked before the run.

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

/// One 2-GPU, 1-hour job per hour for a day (its tile span is 24 h: one arrival per
/// hour once tiled).
fn hourly_jobs(dir: &Path) -> PathBuf {
    let mut text = String::from("id,submit_s,duration_s,gpus,gpu_milli,tenant\n");
    for h in 0..24 {
        text.push_str(&format!("j{h},{},3600,2,1000,alpha\n", h * 3600));
    }
    let p = dir.join("hourly.csv");
    fs::write(&p, text).unwrap();
    p
}

/// A hall of three groups, two nodes per rack: `a100` (2 nodes × 4 GPUs, one rack, in
/// service from the start), `h100` (4 nodes × 8 GPUs, two racks: the rule's reserve),
/// `late` (2 nodes × 4 A100, one rack, dated).
const TOPOLOGY: &str = r#"
name = "money"
source = "hand-made test hall"
[layout]
nodes_per_rack = 2
racks_per_row = 4
rows_per_hall = 2
[[nodes]]
name = "a100"
gpu = "A100-SXM4-80GB"
gpus = 4
count = 2
[[nodes]]
name = "h100"
gpu = "H100-SXM5"
gpus = 8
count = 4
[[nodes]]
name = "late"
gpu = "A100-SXM4-80GB"
gpus = 4
count = 2
"#;

/// The capacity rule's hand-worked case of `tests/budget.rs` (2 GPU-hours per pattern
/// hour grown ×1, ×2, ×3.5, ...; utilization 0.25, 0.5, 0.875 on 8 GPUs, so a rack of
/// h100 is ordered at March's end and enters service on May 1), plus group `late`
/// entering service mid-June and a bill: flat 0.10 $/kWh, 367 gCO₂/kWh, capex per node,
/// network, storage and opex per rack. `extra` is appended to `[economics]`.
fn scenario(dir: &Path, extra: &str) -> PathBuf {
    let topo = dir.join("money.toml");
    fs::write(&topo, TOPOLOGY).unwrap();
    let text = format!(
        r#"
name = "money"
seed = 1
[topology]
path = "{topo}"
[workload]
format = "generic"
path = "{trace}"
[power]
mode = "oversubscription"
[budget]
start = "2026-01-01"
months = 6
[[budget.fleet]]
nodes = "late"
in_service = "2026-06-16"
[budget.growth]
kind = "table"
multipliers = [1.0, 2.0, 3.5, 3.5, 3.5, 3.5]
[budget.rule]
metric = "utilization"
above = 0.8
racks = 1
from_group = "h100"
lead_months = 1
[economics]
currency = "USD"
{extra}
[economics.electricity]
flat_per_kwh = 0.10
[economics.carbon]
g_per_kwh = 367
[[economics.capex]]
gpu_model = "A100-SXM4-80GB"
price_per_node = 120000
life_years = 4
[[economics.capex]]
gpu_model = "H100-SXM5"
price_per_node = 240000
residual_per_node = 24000
life_years = 3
[economics.racks]
network_storage_price = 12000
opex_per_month = 1000
"#,
        topo = topo.display(),
        trace = hourly_jobs(dir).display()
    );
    let p = dir.join("s.toml");
    fs::write(&p, text).unwrap();
    p
}

/// A CSV file's rows as header → value maps.
fn read(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Amortization and opex by hand, from the fleet as it was:
///
/// - A100 nodes: (120,000 − 0) / 48 months = 2,500 per node-month. Group `a100` (2
///   nodes) pays 5,000 every month; group `late` (2 nodes) enters on 16 June, so pays
///   15 of June's 30 days: 2 × 2,500 × 0.5 = 2,500.
/// - H100 nodes: (240,000 − 24,000) / 36 = 6,000 per node-month, only for the rack the
///   rule ordered (2 nodes), from its delivery on 1 May: 12,000 in May and June. The
///   reserve rack nobody ordered costs nothing.
/// - Racks: network and storage 12,000 over the default 5 years = 200 per rack-month,
///   opex 1,000 per rack-month, while a rack is in service: the `a100` rack all along,
///   the delivered `h100` rack from May, the `late` rack half of June.
///
/// So capex is 5,200 a month from January to April, 17,400 in May and 20,000 in June;
/// opex 1,000, then 2,000, then 2,500. `budget.csv` carries the same money as
/// `costs.csv`, to the cent, and both have exactly the budget's 6 months; the energy
/// bill and the tonnes agree with `power.csv` recomputed here.
#[test]
fn capex_and_opex_follow_the_fleet_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "");
    let out = dir.path().join("out");
    let o = dcsim(&[
        "budget",
        s.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-report",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let budget = read(&out.join("budget.csv"));
    let costs = read(&out.join("costs.csv"));
    let months: Vec<&str> = budget.iter().map(|r| r["month"].as_str()).collect();
    assert_eq!(
        months,
        ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    );
    let cost_months: Vec<&str> = costs.iter().map(|r| r["month"].as_str()).collect();
    assert_eq!(
        cost_months, months,
        "one calendar: the bill has the budget's months"
    );
    let gpus: Vec<&str> = budget.iter().map(|r| r["gpus_installed"].as_str()).collect();
    assert_eq!(gpus, ["8", "8", "8", "8", "24", "32"]);
    let col = |rows: &[std::collections::HashMap<String, String>], k: &str| -> Vec<String> {
        rows.iter().map(|r| r[k].clone()).collect()
    };
    assert_eq!(
        col(&budget, "capex_usd"),
        ["5200.00", "5200.00", "5200.00", "5200.00", "17400.00", "20000.00"]
    );
    assert_eq!(
        col(&budget, "opex_usd"),
        ["1000.00", "1000.00", "1000.00", "1000.00", "2000.00", "2500.00"]
    );
    for k in ["energy_usd", "demand_usd", "capex_usd", "opex_usd", "total_usd"] {
        assert_eq!(col(&budget, k), col(&costs, k), "{k}");
    }
    // Energy: flat 0.10 $/kWh on facility kWh, to the cent.
    for r in &costs {
        let kwh: f64 = r["facility_kwh"].parse().unwrap();
        let usd: f64 = r["energy_usd"].parse().unwrap();
        assert!((usd - kwh * 0.10).abs() <= 0.005 + 1e-9, "{r:?}");
    }
    // Independently from power.csv (rows of facility kW from their time to the next):
    // the year's energy at 0.10 $/kWh over the budget's 181 days equals the bill's.
    let end_s = 181.0 * 86_400.0;
    let power = read(&out.join("power.csv"));
    let mut kwh = 0.0;
    for (i, r) in power.iter().enumerate() {
        let t: f64 = r["time_s"].parse().unwrap();
        let next = power
            .get(i + 1)
            .map_or(end_s, |n| n["time_s"].parse::<f64>().unwrap())
            .min(end_s);
        kwh += r["facility_kw"].parse::<f64>().unwrap() * (next - t).max(0.0) / 3600.0;
    }
    let billed: f64 = costs
        .iter()
        .map(|r| r["energy_usd"].parse::<f64>().unwrap())
        .sum();
    assert!(
        (billed - kwh * 0.10).abs() < 1e-4 * billed,
        "bill {billed} vs power.csv {}",
        kwh * 0.10
    );
    // Carbon likewise: 367 g per facility kWh (EIA's 2023 US mean, as a constant).
    let tonnes: f64 = costs.iter().map(|r| r["co2_t"].parse::<f64>().unwrap()).sum();
    assert!(
        (tonnes - kwh * 367e-6).abs() < 1e-4 * tonnes,
        "{tonnes} t vs power.csv {}",
        kwh * 367e-6
    );
    // The printed table shows the money, currency labelled.
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("capex USD") && stdout.contains("17400.00"),
        "{stdout}"
    );
}

/// A series that does not cover the budget is refused before the run, naming the file
/// and the uncovered span; `fill = "hold"` is the explicit way to bill past its end.
#[test]
fn a_series_that_does_not_cover_the_budget_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    // Hourly prices for January to March 2026 only (UTC).
    let mut text = String::from("Datetime,Price (USD/MWh)\n");
    let mut t = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let end = chrono::NaiveDate::from_ymd_opt(2026, 4, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    while t < end {
        text.push_str(&format!("{}+00:00,40.0\n", t.format("%Y-%m-%d %H:%M:%S")));
        t += chrono::Duration::hours(1);
    }
    let prices = dir.path().join("prices_q1.csv");
    fs::write(&prices, text).unwrap();
    let with_series = |fill: &str| {
        let s = scenario(dir.path(), "");
        let t = fs::read_to_string(&s).unwrap().replace(
            "flat_per_kwh = 0.10",
            &format!("series = {{ path = \"{}\"{fill} }}", prices.display()),
        );
        fs::write(&s, t).unwrap();
        s
    };
    let s = with_series("");
    let out = dir.path().join("out");
    let o = dcsim(&[
        "budget",
        s.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-report",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    // The run is 181 days (4,344 hours); April to June (91 days, 2,184 hours) lack prices.
    assert!(
        err.contains("prices_q1.csv")
            && err.contains("does not cover the run")
            && err.contains("from 2026-04-01 00:00 UTC to 2026-07-01 00:00 UTC")
            && err.contains("2184 of the run's 4344 steps"),
        "{err}"
    );
    assert!(!out.exists(), "refused before the run: nothing written");
    // The explicit fill rule bills the rest at the last price.
    let s = with_series(", fill = \"hold\"");
    let o = dcsim(&[
        "budget",
        s.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-report",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read(&out.join("costs.csv")).len(), 6);
}

/// `economics.start` must be the budget's start when both are given (one calendar).
#[test]
fn a_second_calendar_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "start = \"2023-01-01T00:00:00Z\"");
    let o = dcsim(&[
        "budget",
        s.to_str().unwrap(),
        "-o",
        dir.path().join("o").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("economics.start") && err.contains("one calendar"),
        "{err}"
    );
}

/// A price- or carbon-aware queue policy gets its signal from `[economics]` through the
/// scenario: the run works with the price, and a carbon signal without
/// `[economics.carbon]` is refused naming the key.
#[test]
fn the_signal_aware_policy_reads_the_scenarios_series() {
    let dir = tempfile::tempdir().unwrap();
    let with_policy = |signal: &str, drop_carbon: bool| {
        let s = scenario(dir.path(), "");
        let mut t = fs::read_to_string(&s).unwrap().replace(
            "[power]",
            &format!("[scheduler]\nqueue = \"cheap-hours\"\n[scheduler.params.cheap-hours]\nsignal = \"{signal}\"\nbelow_priority = 1\n[power]"),
        );
        if drop_carbon {
            t = t.replace("[economics.carbon]\ng_per_kwh = 367\n", "");
        }
        fs::write(&s, t).unwrap();
        s
    };
    let out = dir.path().join("out");
    let s = with_policy("price", false);
    let o = dcsim(&[
        "budget",
        s.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-report",
        "--force",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = with_policy("carbon", true);
    let o = dcsim(&[
        "budget",
        s.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-report",
        "--force",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("economics.carbon"), "{err}");
}
