//! The cost model (`[economics]`): tariffs billed to the cent on hand-worked loads, the
//! real ERCOT 2023 series against its own statistics, DST, demand charges and ratchets,
//! amortization, conservation, and bad input.

mod common;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use dcsim::economics::bill::{cents, month_rows};
use dcsim::economics::{bill, EconError, Economics, EconomicsConfig, MonthBill};
use dcsim::engine::SimTime;
use dcsim::facility::{Facility, FacilityConfig};
use dcsim::power::{self, Curve, PowerConfig, PowerMode, PowerSeries};
use dcsim::sim::{SimConfig, Simulation};
use dcsim::topology::config::TopologyPower;
use dcsim::workload::TenantId;
use rust_decimal::Decimal;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn econ_in(toml_text: &str, dir: &Path) -> Result<Economics, EconError> {
    let cfg: EconomicsConfig = toml::from_str(toml_text).expect("valid [economics] TOML");
    Economics::new(&cfg, dir, &common::cluster(&[("A", 2, 8)]))
}

fn econ(toml_text: &str) -> Economics {
    econ_in(toml_text, &root().join("scenarios")).expect("valid economics")
}

fn facility(pue: f64) -> Facility {
    let cfg = FacilityConfig {
        fixed_pue: Some(pue),
        ..FacilityConfig::default()
    };
    Facility::new(&cfg, Path::new("."), 0).unwrap()
}

/// A power series from (seconds, IT watts) change points.
fn series(points: &[(u64, f64)]) -> PowerSeries {
    PowerSeries {
        halls: vec![],
        time: points.iter().map(|p| SimTime::from_secs(p.0)).collect(),
        it_w: points.iter().map(|p| p.1).collect(),
        hall_w: vec![],
        throttled_gpus: vec![0; points.len()],
    }
}

fn rows(e: &Economics, points: &[(u64, f64)], end_s: u64, pue: f64) -> Vec<MonthBill> {
    month_rows(e, &series(points), &facility(pue), SimTime::from_secs(end_s))
        .expect("billable")
        .1
}

fn total(rows: &[MonthBill], f: fn(&MonthBill) -> Decimal) -> Decimal {
    rows.iter().map(f).sum()
}

const H: u64 = 3600;

/// Hand-worked: 2 kW IT at PUE 1.5 for 10 h is 30 kWh facility (20 kWh IT); at 0.10 +
/// 0.02 adder = 0.12 $/kWh that is $3.60 on facility energy and $2.40 on IT only.
#[test]
fn flat_tariff_by_hand_facility_and_it() {
    let base = r#"start = "2023-01-01T00:00:00Z"
[electricity]
flat_per_kwh = 0.10
retail_adder_per_kwh = 0.02
"#;
    let r = rows(&econ(base), &[(0, 2000.0)], 10 * H, 1.5);
    assert_eq!(r.len(), 1);
    assert_eq!(cents(r[0].energy_cost), d("3.60"));
    assert!((r[0].facility_kwh - 30.0).abs() < 1e-9);
    let it = base.replace("[electricity]", "[electricity]\nbilled_on = \"it\"");
    let r = rows(&econ(&it), &[(0, 2000.0)], 10 * H, 1.5);
    assert_eq!(cents(r[0].energy_cost), d("2.40"));
}

/// Hand-worked: summer (June–September) 0.20, otherwise 0.10 $/kWh; 1 kW from
/// 31 May 20:00 UTC for 8 h: 4 kWh in May at 0.10 ($0.40) and 4 kWh in June at 0.20
/// ($0.80), billed to their months.
#[test]
fn time_of_use_across_a_season_change() {
    let e = econ(
        r#"start = "2023-05-31T20:00:00Z"
[electricity]
tou_default_per_kwh = 0.10
[[electricity.tou]]
name = "summer"
per_kwh = 0.20
hours = [0, 24]
months = [6, 9]
"#,
    );
    let r = rows(&e, &[(0, 1000.0)], 8 * H, 1.0);
    assert_eq!(
        r.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(),
        ["2023-05", "2023-06"]
    );
    assert_eq!(cents(r[0].energy_cost), d("0.40"));
    assert_eq!(cents(r[1].energy_cost), d("0.80"));
}

/// DST: 12 March 2023 in Chicago has 23 local hours. 1 kW over that whole local day is
/// 23 kWh; with a 16:00–21:00 peak at 0.30 and 0.10 otherwise the bill is
/// 5 × 0.30 + 18 × 0.10 = $3.30 (the skipped hour is an off-peak 02:00).
#[test]
fn time_of_use_on_the_spring_dst_day() {
    let e = econ(
        r#"start = "2023-03-12T00:00:00-06:00"
time_zone = "America/Chicago"
[electricity]
tou_default_per_kwh = 0.10
[[electricity.tou]]
name = "peak"
per_kwh = 0.30
hours = [16, 21]
"#,
    );
    let r = rows(&e, &[(0, 1000.0)], 23 * H, 1.0);
    assert!((r[0].billed_kwh - 23.0).abs() < 1e-9);
    assert_eq!(cents(r[0].energy_cost), d("3.30"));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Hand-worked hourly series with a negative price: 1 MW for three hours at 10, −20 and
/// 30 $/MWh costs 10 − 20 + 30 = $20.00 (negative prices are allowed and lower the bill).
#[test]
fn hourly_series_with_a_negative_price() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "p.csv",
        "Datetime,Price (USD/MWh)\n2023-01-01 00:00:00,10\n2023-01-01 01:00:00,-20\n2023-01-01 02:00:00,30\n",
    );
    let e = econ_in(
        "start = \"2023-01-01T00:00:00Z\"\n[electricity]\nseries = { path = \"p.csv\" }\n",
        dir.path(),
    )
    .unwrap();
    let r = rows(&e, &[(0, 1_000_000.0)], 3 * H, 1.0);
    assert_eq!(cents(r[0].energy_cost), d("20.00"));
}

/// Naive local time series (as the DE-LU 2023 file): the non-existent 02:00 of the
/// spring change is dropped, and a file listing the autumn 02:00 once leaves the second
/// 02:00 a gap: `fill = "error"` refuses to bill it, `fill = "hold"` repeats 1.0.
#[test]
fn naive_local_series_over_both_dst_changes() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "spring.csv",
        "Datetime,Price (EUR/MWh)\n2023-03-26 01:00:00,1\n2023-03-26 02:00:00,99\n2023-03-26 03:00:00,3\n2023-03-26 04:00:00,4\n",
    );
    write(
        dir.path(),
        "autumn.csv",
        "Datetime,Price (EUR/MWh)\n2023-10-29 01:00:00,1\n2023-10-29 02:00:00,2\n2023-10-29 03:00:00,3\n",
    );
    let cfg = |file: &str, fill: &str, start: &str| {
        format!(
            "currency = \"EUR\"\nstart = \"{start}\"\n[electricity]\nseries = {{ path = \"{file}\", time_zone = \"Europe/Berlin\", fill = \"{fill}\" }}\n"
        )
    };
    // Spring: 01:00 CET = 00:00Z, 03:00 CEST = 01:00Z, 04:00 CEST = 02:00Z: three hours at 1, 3, 4.
    let e = econ_in(&cfg("spring.csv", "error", "2023-03-26T00:00:00Z"), dir.path()).unwrap();
    let r = rows(&e, &[(0, 1_000_000.0)], 3 * H, 1.0);
    assert_eq!(cents(r[0].energy_cost), d("8.00"));
    // Autumn: 01:00 CEST = 23:00Z, 02:00 CEST = 00:00Z, (02:00 CET = 01:00Z missing), 03:00 CET = 02:00Z.
    let e = econ_in(&cfg("autumn.csv", "error", "2023-10-28T23:00:00Z"), dir.path()).unwrap();
    let err = month_rows(
        &e,
        &series(&[(0, 1_000_000.0)]),
        &facility(1.0),
        SimTime::from_secs(4 * H),
    )
    .unwrap_err();
    assert!(matches!(err, EconError::Coverage { .. }), "{err}");
    assert!(err.to_string().contains("2023-10-29 01:00"), "{err}");
    let e = econ_in(&cfg("autumn.csv", "hold", "2023-10-28T23:00:00Z"), dir.path()).unwrap();
    let r = rows(&e, &[(0, 1_000_000.0)], 4 * H, 1.0);
    assert_eq!(total(&r, |m| m.energy_cost), d("1") + d("2") + d("2") + d("3"));
}

/// Hand-worked demand charge: 1,000 kW with one 15-minute spike to 3,000 kW. The
/// 15-minute peak is 3,000 kW ($45,000 at $15/kW-month); an hourly average would see only
/// (3,000 + 3 × 1,000) / 4 = 1,500 kW ($22,500).
#[test]
fn demand_charge_sees_a_15_minute_peak_an_hour_misses() {
    let cfg = |interval: u32| {
        format!(
            "start = \"2023-01-01T00:00:00Z\"\n[electricity]\nflat_per_kwh = 0\n[demand]\nper_kw_month = 15\ninterval_min = {interval}\n"
        )
    };
    let load = [(0, 1_000_000.0), (H, 3_000_000.0), (H + 900, 1_000_000.0)];
    let r = rows(&econ(&cfg(15)), &load, 3 * H, 1.0);
    assert!((r[0].demand_kw - 3000.0).abs() < 1e-6);
    assert_eq!(cents(r[0].demand_cost), d("45000.00"));
    let r = rows(&econ(&cfg(60)), &load, 3 * H, 1.0);
    assert!((r[0].demand_kw - 1500.0).abs() < 1e-6);
    assert_eq!(cents(r[0].demand_cost), d("22500.00"));
}

/// Hand-worked ratchet: January peaks at 1,000 kW, February at 400 kW; with an 80%
/// ratchet February is billed on 800 kW: $10,000 and $8,000 at $10/kW-month.
#[test]
fn ratchet_bills_a_share_of_the_years_peak() {
    let e = econ(
        "start = \"2023-01-01T00:00:00Z\"\n[electricity]\nflat_per_kwh = 0\n[demand]\nper_kw_month = 10\nratchet = 0.8\n",
    );
    let feb = 31 * 24 * H;
    let r = rows(&e, &[(0, 1_000_000.0), (feb, 400_000.0)], feb + 28 * 24 * H, 1.0);
    assert_eq!(r.len(), 2);
    assert_eq!(cents(r[0].demand_cost), d("10000.00"));
    assert_eq!(cents(r[1].demand_cost), d("8000.00"));
}

/// Amortization by hand over 2023 (UTC months): 2 nodes at $100,000, residual $4,000,
/// 4 years: (100,000 − 4,000) / 48 = $2,000 per node-month, $4,000 a month. A second
/// group of 2 such nodes enters service on 1 July: +$4,000 a month from July. One rack
/// (the test cluster's) of network+storage at $6,000 over 5 years: $100 a month; opex
/// $500 per rack-month. Year: 12 × 4,000 + 6 × 4,000 + 12 × 100 = $73,200 capex,
/// $6,000 opex.
#[test]
fn amortization_by_hand_with_a_mid_year_group() {
    let e = econ(
        r#"start = "2023-01-01T00:00:00Z"
[electricity]
flat_per_kwh = 0
[[capex]]
gpu_model = "A"
price_per_node = 100000
residual_per_node = 4000
life_years = 4
[[capex]]
gpu_model = "A"
price_per_node = 100000
residual_per_node = 4000
life_years = 4
nodes = 2
in_service = "2023-07-01"
[racks]
network_storage_price = 6000
opex_per_month = 500
"#,
    );
    let r = rows(&e, &[(0, 0.0)], 365 * 24 * H, 1.0);
    assert_eq!(r.len(), 12);
    assert_eq!(r[5].capex, d("4100"));
    assert_eq!(r[6].capex, d("8100"));
    assert_eq!(total(&r, |m| m.capex), d("73200"));
    assert_eq!(total(&r, |m| m.opex), d("6000"));
}

/// Sum of a price file's second column, parsed here without the library.
fn column_sum(path: &Path) -> (Decimal, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let vals: Vec<Decimal> = text
        .lines()
        .skip(1)
        .map(|l| d(l.rsplit(',').next().unwrap()))
        .collect();
    (vals.iter().sum(), vals.len())
}

/// The real ERCOT 2023 series (day-ahead, hub average): a constant 1 MW for the 8,760
/// hours of 2023 (Central time) costs exactly the sum of the hourly prices, i.e.
/// 8,760 × the series mean, which `STATS.txt` gives as 55.94 $/MWh.
#[test]
fn ercot_2023_constant_megawatt_costs_8760_times_the_mean() {
    let e = econ(
        r#"start = "2023-01-01T00:00:00-06:00"
time_zone = "America/Chicago"
[electricity]
series = { path = "data/ercot_prices_2023.csv" }
"#,
    );
    let r = rows(&e, &[(0, 1_000_000.0)], 8760 * H, 1.0);
    let (sum, n) = column_sum(&root().join("scenarios/data/ercot_prices_2023.csv"));
    assert_eq!(n, 8760);
    assert_eq!(r.len(), 12);
    assert_eq!(total(&r, |m| m.energy_cost), sum);
    let mean = sum / Decimal::from(8760);
    assert_eq!(mean.round_dp(2), d("55.94"));
    // A run one hour longer than the series is refused (fill = "error").
    let err = month_rows(
        &e,
        &series(&[(0, 1.0)]),
        &facility(1.0),
        SimTime::from_secs(8761 * H),
    )
    .unwrap_err();
    assert!(matches!(err, EconError::Coverage { .. }), "{err}");
}

/// A load only in ERCOT's evening (16:00–20:00 local) pays far more per MWh than a flat
/// one, and one at night (01:00–04:00) far less: STATS.txt's hour-of-day means are
/// 139.8–200.6 $/MWh in 16:00–19:00 and 17.4–18.3 in 01:00–04:00. Rows are placed on
/// local hours with chrono-tz, so DST does not shift them.
#[test]
fn ercot_evening_load_pays_more_night_load_less() {
    use chrono::TimeZone;
    let tz: chrono_tz::Tz = "America/Chicago".parse().unwrap();
    let start = tz.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap().timestamp();
    let e = econ(
        r#"start = "2023-01-01T00:00:00-06:00"
time_zone = "America/Chicago"
[electricity]
series = { path = "data/ercot_prices_2023.csv" }
"#,
    );
    let per_mwh = |from_h: u32, to_h: u32| {
        let mut pts = Vec::new();
        let mut day = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        while day.format("%Y").to_string() == "2023" {
            let at = |h: u32| {
                (tz.from_local_datetime(&day.and_hms_opt(h, 0, 0).unwrap())
                    .earliest()
                    .unwrap()
                    .timestamp()
                    - start) as u64
            };
            pts.push((at(from_h), 1_000_000.0));
            pts.push((at(to_h), 0.0));
            day = day.succ_opt().unwrap();
        }
        let r = rows(&e, &pts, 8760 * H, 1.0);
        let cost: Decimal = total(&r, |m| m.energy_cost);
        let mwh: f64 = r.iter().map(|m| m.billed_kwh).sum::<f64>() / 1000.0;
        dcsim::economics::bill::to_f64(cost) / mwh
    };
    let evening = per_mwh(16, 20);
    let night = per_mwh(1, 4);
    assert!(evening > 120.0, "{evening}");
    assert!(night < 25.0, "{night}");
    assert!(evening > 55.94 && night < 55.94);
}

/// Carbon from a region of the bundled Azure table: `useast` is 397 g/kWh, so 1,000 kWh
/// of facility energy (1 MW for 1 h) is 0.397 t.
#[test]
fn region_carbon_from_the_azure_table() {
    let e = econ(
        "start = \"2023-01-01T00:00:00Z\"\n[electricity]\nflat_per_kwh = 0.1\n[carbon]\nregion = \"useast\"\n",
    );
    let r = rows(&e, &[(0, 1_000_000.0)], H, 1.0);
    assert!((r[0].co2_t - 0.397).abs() < 1e-12, "{}", r[0].co2_t);
}

/// Bad input is refused with the key and what was expected.
#[test]
fn bad_input_is_refused_naming_the_key() {
    let tou = |a: &str, b: &str| {
        format!(
            "start = \"2023-01-01T00:00:00Z\"\n[electricity]\n[[electricity.tou]]\nname = \"day\"\nper_kwh = 0.2\nhours = {a}\n[[electricity.tou]]\nname = \"night\"\nper_kwh = 0.1\nhours = {b}\n"
        )
    };
    let err = econ_in(&tou("[8, 20]", "[19, 24]"), Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("overlap") && err.contains("day") && err.contains("night"),
        "{err}"
    );
    let err = econ_in(&tou("[8, 20]", "[20, 24]"), Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tou_default_per_kwh") && err.contains("hour 0"),
        "{err}"
    );
    assert!(econ_in(&tou("[0, 8]", "[8, 24]"), Path::new(".")).is_ok());
    // Currency mix: a USD series in a EUR bill.
    let err = econ_in(
        "currency = \"EUR\"\nstart = \"2023-01-01T00:00:00-06:00\"\n[electricity]\nseries = { path = \"data/ercot_prices_2023.csv\" }\n",
        &root().join("scenarios"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("USD") && err.contains("EUR"), "{err}");
    let err = econ_in(
        "start = \"2023-01-01\"\n[electricity]\nflat_per_kwh = 0.1\n",
        Path::new("."),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("economics.start"), "{err}");
    let err = econ_in(
        "start = \"2023-01-01T00:00:00Z\"\n[electricity]\nflat_per_kwh = 0.1\n[demand]\nper_kw_month = 1\ninterval_min = 7\n",
        Path::new("."),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("demand.interval_min"), "{err}");
    let err =
        toml::from_str::<EconomicsConfig>("start = \"x\"\n[electricity]\nflat_per_kwh = 0.1\nflat = 2\n")
            .unwrap_err()
            .to_string();
    assert!(err.contains("flat"), "{err}");
}

/// Conservation on a simulated run: two tenants' jobs on 2 × 8 test GPUs (400 W TDP,
/// 50 W idle, no node base), flat $0.10/kWh at PUE 1.2, $15/kW demand, capex. Months sum
/// to the totals exactly; tenant cents sum to the total rounded to the cent exactly;
/// energy $ recomputed here from the power series rows (Σ W × Δt × PUE × price) agrees;
/// job costs sum to the total.
#[test]
fn conservation_on_a_simulated_run() {
    let c = common::cluster(&[("A", 2, 8)]);
    let mut jobs = Vec::new();
    for i in 0..40u32 {
        let mut j = common::job(f64::from(i) * 1800.0, 7200.0 + f64::from(i % 5) * 3600.0, 8, 1000);
        j.tenant = TenantId(i % 2);
        jobs.push(j);
    }
    let mut w = common::workload(jobs);
    w.tenants = vec!["a".into(), "b".into()];
    let mut topo = TopologyPower::uncapped(&c);
    topo.node_base_w.iter_mut().for_each(|b| *b = 0.0);
    let mut pcfg = PowerConfig {
        mode: PowerMode::Oversubscription,
        curve: Curve::Linear,
        ..PowerConfig::default()
    };
    pcfg.facility.fixed_pue = Some(1.2);
    let p = power::setup(&pcfg, &c, &topo, w.jobs.len(), Path::new("."), 0)
        .unwrap()
        .unwrap();
    let (q, pl) = (
        dcsim::scheduler::registry::queue_policy("fifo").unwrap(),
        dcsim::scheduler::registry::placement("best-fit").unwrap(),
    );
    let out = Simulation::new(&c, &w, q, pl, SimConfig::default())
        .with_model(Box::new(p))
        .run(&mut |_| {});
    let cfg: EconomicsConfig = toml::from_str(
        r#"start = "2023-01-31T12:00:00Z"
[electricity]
flat_per_kwh = 0.10
[demand]
per_kw_month = 15
[[capex]]
gpu_model = "A"
price_per_node = 120000
life_years = 4
[carbon]
g_per_kwh = 367
"#,
    )
    .unwrap();
    let e = Economics::new(&cfg, Path::new("."), &c).unwrap();
    let b = bill(&e, &out, &w, &c).unwrap();
    assert_eq!(b.months.len(), 2, "the run crosses 1 February");
    let sum: Decimal = b.months.iter().map(|m| m.total).sum();
    assert_eq!(sum, b.totals.total);
    let tenant_cents: Decimal = b.tenants.iter().map(|t| t.cost_cents).sum();
    assert_eq!(tenant_cents, cents(b.totals.total));
    assert_eq!(b.tenants.len(), 2, "every month had jobs: no idle row");
    let jobs: Decimal = b.jobs.iter().map(|j| j.cost).sum();
    assert!(
        (jobs - b.totals.total).abs() < d("0.000001"),
        "{jobs} vs {}",
        b.totals.total
    );
    // Independent recomputation from the power series rows.
    let s = &out.models.power.as_ref().unwrap().series;
    let end = out.series.time.last().unwrap().as_secs_f64();
    let mut kwh = 0.0;
    for i in 0..s.len() {
        let to = s.time.get(i + 1).map_or(end, |t| t.as_secs_f64());
        kwh += s.it_w[i] * 1.2 * (to - s.time[i].as_secs_f64()) / 3.6e6;
    }
    let ours = dcsim::economics::bill::to_f64(b.totals.energy_cost);
    assert!(
        (ours - kwh * 0.10).abs() < 1e-6 * ours.max(1.0),
        "{ours} vs {}",
        kwh * 0.10
    );
    assert!((b.totals.co2_t - kwh * 367.0 / 1e6).abs() < 1e-9 * kwh.max(1.0));
    let co2: f64 = b.tenants.iter().map(|t| t.co2_t).sum();
    assert!((co2 - b.totals.co2_t).abs() < 1e-9, "{co2} vs {}", b.totals.co2_t);
}

/// The real ERCOT 2023 carbon series (Electricity Maps, direct, naive UTC): 1 MW for the
/// 8,760 hours of 2023 UTC emits Σ g/kWh × 1,000 kWh = 8,760 × the mean (316.72 g/kWh in
/// STATS.txt) / 1,000 tonnes.
#[test]
fn ercot_2023_carbon_constant_megawatt() {
    let e = econ(
        r#"start = "2023-01-01T00:00:00Z"
[electricity]
flat_per_kwh = 0.1
[carbon]
series = { path = "data/ercot_carbon_2023.csv", column = "gCO2eq/kWh direct" }
"#,
    );
    let r = rows(&e, &[(0, 1_000_000.0)], 8760 * H, 1.0);
    let text = std::fs::read_to_string(root().join("scenarios/data/ercot_carbon_2023.csv")).unwrap();
    let g: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let mean = g.iter().sum::<f64>() / g.len() as f64;
    assert_eq!(format!("{mean:.2}"), "316.72");
    let t: f64 = r.iter().map(|m| m.co2_t).sum();
    assert!((t - mean * 8760.0 / 1000.0).abs() < 1e-6, "{t}");
}

/// Runs `w` on 2 × 8 test GPUs under queue policy `queue` with power on (PUE 1.0) and
/// bills it with `econ_toml`.
fn run_and_bill(
    w: &dcsim::workload::Workload,
    queue: &str,
    econ_toml: &str,
) -> (dcsim::economics::Bill, f64) {
    run_and_bill_with(
        w,
        dcsim::scheduler::registry::queue_policy(queue).unwrap(),
        econ_toml,
    )
}

/// [`run_and_bill`] with a queue policy built by the caller.
fn run_and_bill_with(
    w: &dcsim::workload::Workload,
    queue: Box<dyn dcsim::scheduler::QueuePolicy>,
    econ_toml: &str,
) -> (dcsim::economics::Bill, f64) {
    let c = common::cluster(&[("A", 2, 8)]);
    let mut topo = TopologyPower::uncapped(&c);
    topo.node_base_w.iter_mut().for_each(|b| *b = 0.0);
    let pcfg = PowerConfig {
        mode: PowerMode::Oversubscription,
        curve: Curve::Linear,
        ..PowerConfig::default()
    };
    let p = power::setup(&pcfg, &c, &topo, w.jobs.len(), Path::new("."), 0)
        .unwrap()
        .unwrap();
    let out = Simulation::new(
        &c,
        w,
        queue,
        dcsim::scheduler::registry::placement("best-fit").unwrap(),
        SimConfig::default(),
    )
    .with_model(Box::new(p))
    .run(&mut |_| {});
    let cfg: EconomicsConfig = toml::from_str(econ_toml).unwrap();
    let e = Economics::new(&cfg, &root().join("scenarios"), &c).unwrap();
    let waits: Vec<f64> = out
        .jobs
        .iter()
        .filter_map(|j| j.wait())
        .map(|t| t.as_secs_f64())
        .collect();
    let mean_wait = waits.iter().sum::<f64>() / waits.len() as f64;
    (bill(&e, &out, w, &c).unwrap(), mean_wait)
}

/// Hand-built: a deferrable job (priority −1) submitted at 07:00 and a normal one at
/// 23:00, 1 h each on 8 GPUs; energy costs 0.05 $/kWh from 22:00 to 06:00 and 0.50
/// otherwise. FIFO runs the deferrable job at 07:00 (expensive); `cheap-hours` (window
/// 22–06) holds it until 22:00. Both runs end at 24:00 using the same energy, so the
/// policy saves the job's moved energy × (0.50 − 0.05), and its wait is 15 h.
/// With `fifo` in place of `cheap-hours` the saving is 0 and the test fails.
#[test]
fn cheap_hours_policy_lowers_the_bill_on_a_hand_built_case() {
    let mut a = common::job(7.0 * 3600.0, 3600.0, 8, 1000);
    a.priority = -1;
    let b = common::job(23.0 * 3600.0, 3600.0, 8, 1000);
    let w = common::workload(vec![a, b]);
    let tariff = r#"start = "2023-01-02T00:00:00Z"
[electricity]
tou_default_per_kwh = 0.50
[[electricity.tou]]
name = "late"
per_kwh = 0.05
hours = [22, 24]
[[electricity.tou]]
name = "early"
per_kwh = 0.05
hours = [0, 6]
"#;
    let (fifo, fifo_wait) = run_and_bill(&w, "fifo", tariff);
    let (cheap, cheap_wait) = run_and_bill(&w, "cheap-hours", tariff);
    assert_eq!(fifo_wait, 0.0);
    assert_eq!(cheap_wait, 15.0 * 3600.0 / 2.0, "job a waits 15 h, job b 0");
    assert!((fifo.totals.facility_kwh - cheap.totals.facility_kwh).abs() < 1e-9);
    // The saving is at most the price gap times the job's whole facility energy (its
    // attributed IT energy, half the tenant's, times the run's PUE); less, since its
    // GPUs' idle power is paid at either hour.
    let pue = fifo.totals.facility_kwh / fifo.totals.it_kwh;
    let job_kwh = fifo.tenants[0].energy_kwh / 2.0 * pue;
    let saved = dcsim::economics::bill::to_f64(fifo.totals.energy_cost - cheap.totals.energy_cost);
    assert!(
        saved > 0.0 && saved < job_kwh * 0.45,
        "saved {saved}, job {job_kwh} kWh"
    );
}

/// A queueing workload on ERCOT August 2023 (day-ahead prices, Electricity Maps
/// carbon): 120 one- to three-hour 8-GPU jobs over four days, a third deferrable. The
/// figures are printed (`--nocapture`) for the report; the policy must lower the bill.
#[test]
fn cheap_hours_policy_against_fifo_on_ercot_august() {
    let mut jobs = Vec::new();
    for i in 0..120u32 {
        let mut j = common::job(f64::from(i) * 2880.0, 3600.0 * f64::from(1 + i % 3), 8, 1000);
        if i % 3 == 0 {
            j.priority = -1;
        }
        jobs.push(j);
    }
    let w = common::workload(jobs);
    let tariff = r#"start = "2023-08-01T00:00:00-05:00"
time_zone = "America/Chicago"
[electricity]
series = { path = "data/ercot_prices_2023.csv" }
[carbon]
series = { path = "data/ercot_carbon_2023.csv", column = "gCO2eq/kWh direct" }
"#;
    let (fifo, fifo_wait) = run_and_bill(&w, "fifo", tariff);
    let (cheap, cheap_wait) = run_and_bill(&w, "cheap-hours", tariff);
    let per_mwh = |b: &dcsim::economics::Bill| {
        dcsim::economics::bill::to_f64(b.totals.energy_cost) / b.totals.billed_kwh * 1000.0
    };
    eprintln!(
        "fifo: ${} ({:.2} $/MWh), {:.4} t, mean wait {:.2} h; cheap-hours: ${} ({:.2} $/MWh), {:.4} t, mean wait {:.2} h",
        cents(fifo.totals.energy_cost),
        per_mwh(&fifo),
        fifo.totals.co2_t,
        fifo_wait / 3600.0,
        cents(cheap.totals.energy_cost),
        per_mwh(&cheap),
        cheap.totals.co2_t,
        cheap_wait / 3600.0
    );
    assert!(per_mwh(&cheap) < per_mwh(&fifo));
}

/// One calendar for a budget: t = 0 is local midnight of the budget's first day
/// (2026-01-01 in Texas), and `series_year = 2023` reads ERCOT's 2023 prices at the same
/// local date and hour. A constant 1 MW over August 2026 (no DST change in August)
/// therefore costs exactly the sum of the 744 hourly prices of August 2023, summed here
/// from the file's rows; the bill over the budget's year has its 12 months, not 13.
#[test]
fn series_year_replays_2023_prices_on_the_2026_calendar() {
    let cfg: EconomicsConfig = toml::from_str(
        r#"time_zone = "America/Chicago"
series_year = 2023
[electricity]
series = { path = "data/ercot_prices_2023.csv" }
"#,
    )
    .unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let e = Economics::with_start(
        &cfg,
        &root().join("scenarios"),
        &common::cluster(&[("A", 2, 8)]),
        Some(day),
    )
    .unwrap();
    let cal = &e.calendar;
    let local = |y, mo, d, h| {
        use chrono::TimeZone;
        chrono_tz::America::Chicago
            .with_ymd_and_hms(y, mo, d, h, 0, 0)
            .earliest()
            .unwrap()
            .timestamp_millis()
    };
    assert_eq!(cal.start_ms, local(2026, 1, 1, 0));
    assert_eq!(cal.series_ms(local(2026, 8, 15, 17)), local(2023, 8, 15, 17));
    // 12 March 2026 02:00 exists (DST began on 8 March); in 2023 it is the spring gap:
    // read one hour later.
    assert_eq!(cal.series_ms(local(2026, 3, 12, 2)), local(2023, 3, 12, 3));
    let h = |ms: i64| ((ms - cal.start_ms) / 1000) as u64;
    let (aug, sep, end) = (
        h(local(2026, 8, 1, 0)),
        h(local(2026, 9, 1, 0)),
        h(local(2027, 1, 1, 0)),
    );
    let r = rows(&e, &[(0, 0.0), (aug, 1_000_000.0), (sep, 0.0)], end, 1.0);
    let labels: Vec<&str> = r.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels.len(), 12);
    assert_eq!((labels[0], labels[11]), ("2026-01", "2026-12"));
    let text = std::fs::read_to_string(root().join("scenarios/data/ercot_prices_2023.csv")).unwrap();
    let august: Vec<Decimal> = text
        .lines()
        .filter(|l| l.starts_with("2023-08-"))
        .map(|l| d(l.rsplit(',').next().unwrap()))
        .collect();
    assert_eq!(august.len(), 744);
    assert_eq!(r[7].energy_cost, august.iter().sum::<Decimal>());
    assert_eq!(total(&r, |m| m.energy_cost), r[7].energy_cost);
    // Coverage before the run: the 2023 series covers the 2026 year exactly; a 13th
    // month is refused, naming the file and the span.
    assert!(e.check_coverage(SimTime::ZERO, SimTime::from_secs(end)).is_ok());
    let err = e
        .check_coverage(SimTime::ZERO, SimTime::from_secs(end + 24 * H))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ercot_prices_2023.csv")
            && err.contains("from 2027-01-01 00:00 CST to 2027-01-02 00:00 CST")
            && err.contains("24 of the run's 8784 steps"),
        "{err}"
    );
}

/// Without a `[budget]`, `economics.start` is required; with one, a different start is
/// a second calendar and is refused.
#[test]
fn the_bill_has_one_calendar() {
    let cfg: EconomicsConfig = toml::from_str("[electricity]\nflat_per_kwh = 0.1\n").unwrap();
    let c = common::cluster(&[("A", 2, 8)]);
    let err = Economics::new(&cfg, Path::new("."), &c).unwrap_err().to_string();
    assert!(
        err.contains("economics.start") && err.contains("missing"),
        "{err}"
    );
    let cfg: EconomicsConfig =
        toml::from_str("start = \"2026-01-01T00:00:00Z\"\ntime_zone = \"America/Chicago\"\n[electricity]\nflat_per_kwh = 0.1\n").unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1);
    let err = Economics::with_start(&cfg, Path::new("."), &c, day)
        .unwrap_err()
        .to_string();
    assert!(err.contains("one calendar"), "{err}");
}

/// `cheap-hours` following the series themselves (`signal = "price"` / `"carbon"`: each
/// local day's 8 lowest hours) against FIFO on ERCOT August 2023 (a lighter workload
/// than the one above, whose queue leaves no room to move work):
/// dollars per MWh, grams per kWh and mean wait, printed (`--nocapture`) for
/// docs/validation.md. Following the price must pay less per MWh than FIFO, following
/// carbon must emit less per kWh, and both make deferrable jobs wait longer.
#[test]
fn signal_aware_cheap_hours_against_fifo_on_ercot_august() {
    // 96 one- to three-hour 8-GPU jobs, one every 2 hours over 8 days from 1 August, a
    // third deferrable: mean load 0.5 on the 16 GPUs, so there is room to move work.
    let mut jobs = Vec::new();
    for i in 0..96u32 {
        let mut j = common::job(f64::from(i) * 7200.0, 3600.0 * f64::from(1 + i % 3), 8, 1000);
        if i % 3 == 0 {
            j.priority = -1;
        }
        jobs.push(j);
    }
    let w = common::workload(jobs);
    let tariff = r#"start = "2023-08-01T00:00:00-05:00"
time_zone = "America/Chicago"
[electricity]
series = { path = "data/ercot_prices_2023.csv" }
[carbon]
series = { path = "data/ercot_carbon_2023.csv", column = "gCO2eq/kWh direct" }
"#;
    let cfg: EconomicsConfig = toml::from_str(tariff).unwrap();
    let policy = |signal: &str| {
        let params: toml::Table = toml::from_str(&format!("signal = \"{signal}\"")).unwrap();
        let mut q = dcsim::scheduler::registry::build_queue("cheap-hours", &params, 0).unwrap();
        let kind = q
            .wants_signal()
            .expect("a signal-aware policy asks for its signal");
        let s = dcsim::economics::signal::hourly(&cfg, &root().join("scenarios"), None, kind).unwrap();
        q.bind_signal(&s);
        q
    };
    let per_mwh = |b: &dcsim::economics::Bill| {
        dcsim::economics::bill::to_f64(b.totals.energy_cost) / b.totals.billed_kwh * 1000.0
    };
    let g_per_kwh = |b: &dcsim::economics::Bill| b.totals.co2_t * 1e6 / b.totals.facility_kwh;
    let (fifo, fifo_wait) = run_and_bill(&w, "fifo", tariff);
    let (price, price_wait) = run_and_bill_with(&w, policy("price"), tariff);
    let (carbon, carbon_wait) = run_and_bill_with(&w, policy("carbon"), tariff);
    let (clock, clock_wait) = run_and_bill(&w, "cheap-hours", tariff);
    for (name, b, wait) in [
        ("fifo", &fifo, fifo_wait),
        ("cheap-hours clock 22-06", &clock, clock_wait),
        ("cheap-hours signal=price", &price, price_wait),
        ("cheap-hours signal=carbon", &carbon, carbon_wait),
    ] {
        eprintln!(
            "{name}: ${} energy, {:.2} $/MWh, {:.4} t, {:.1} g/kWh, mean wait {:.2} h",
            cents(b.totals.energy_cost),
            per_mwh(b),
            b.totals.co2_t,
            g_per_kwh(b),
            wait / 3600.0
        );
    }
    assert!(per_mwh(&price) < per_mwh(&fifo));
    assert!(g_per_kwh(&carbon) < g_per_kwh(&fifo));
    assert!(price_wait > fifo_wait && carbon_wait > fifo_wait);
}
