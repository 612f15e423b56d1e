//! Facility model: fixed PUE, load and weather dependence of the plant model, annual PUE
//! of the built-in climates against published figures, the climate generator, and the
//! weather CSV reader. Figures and sources: docs/validation.md (Facility section).

use std::io::Write;
use std::path::Path;

use dcsim::engine::SimTime;
use dcsim::facility::{
    climate, monthly_means, Facility, FacilityConfig, FacilityError, HOURS_PER_YEAR, MS_PER_HOUR,
};

/// Design IT power used throughout (kW); the model scales with it.
const DESIGN_KW: f64 = 10_000.0;

/// "Typical load" for annual figures: 60% of design IT power. Google reports its fleet
/// PUE for sites above 5 MW of actual IT load; large GPU clusters run their IT at a
/// large share of nameplate, 60% is a middle value.
const TYPICAL_LOAD: f64 = 0.6;

fn hour(h: u64) -> SimTime {
    SimTime(h * MS_PER_HOUR)
}

fn plant_at(outdoor_c: f64) -> Facility {
    let cfg = FacilityConfig {
        constant_outdoor_c: Some(outdoor_c),
        design_it_kw: Some(DESIGN_KW),
        ..Default::default()
    };
    Facility::new(&cfg, Path::new("."), 1).expect("valid config")
}

fn climate_cfg(name: &str) -> FacilityConfig {
    FacilityConfig {
        climate: Some(name.to_string()),
        design_it_kw: Some(DESIGN_KW),
        ..Default::default()
    }
}

/// Energy-weighted annual PUE: Σ(IT + overhead) / ΣIT over the 8,760 hours of a year, at a
/// constant IT load (the way annual PUE is reported: energy ratio, not mean of ratios).
fn annual_pue(f: &Facility, it_kw: f64) -> f64 {
    let mut total = 0.0;
    for h in 0..HOURS_PER_YEAR as u64 {
        total += it_kw + f.overhead_kw(it_kw, hour(h)).total_kw();
    }
    total / (it_kw * HOURS_PER_YEAR as f64)
}

#[test]
fn fixed_pue_overhead_is_exact() {
    for pue in [1.0, 1.1, 1.58, 2.5] {
        let cfg = FacilityConfig {
            fixed_pue: Some(pue),
            ..Default::default()
        };
        let f = Facility::new(&cfg, Path::new("."), 7).expect("valid");
        for it in [0.0, 1.0, 123.4, 1e6] {
            let p = f.overhead_kw(it, SimTime(5_000));
            assert_eq!(p.total_kw(), (pue - 1.0) * it);
            assert_eq!(p.losses_kw, 0.0);
            assert!(p.outdoor_c.is_nan(), "no weather source");
        }
        assert_eq!(f.pue(500.0, SimTime::ZERO), pue);
        assert_eq!(f.next_change_after(SimTime::ZERO), SimTime::MAX);
    }
    // The simulator may fill design_it_kw from the cluster whatever the mode.
    let cfg = FacilityConfig {
        fixed_pue: Some(1.3),
        design_it_kw: Some(DESIGN_KW),
        ..Default::default()
    };
    assert!(Facility::new(&cfg, Path::new("."), 7).is_ok());
    // A fixed PUE may carry a climate, which is then only reported.
    let cfg = FacilityConfig {
        fixed_pue: Some(1.2),
        climate: Some("cold".into()),
        ..Default::default()
    };
    let f = Facility::new(&cfg, Path::new("."), 7).expect("valid");
    assert!(f.overhead_kw(10.0, SimTime::ZERO).outdoor_c.is_finite());
    assert!((f.overhead_kw(10.0, hour(4000)).total_kw() - 2.0).abs() < 1e-12);
}

#[test]
fn pue_falls_toward_its_asymptote_as_load_rises() {
    // PUE(IT) = 1 + (a_fix + b_fix)·D/IT + (a_prop + b_prop) in free cooling: decreasing
    // in IT toward 1 + a_prop + b_prop = 1.07 with the defaults.
    let f = plant_at(10.0);
    let loads: Vec<f64> = (1..=10).map(|i| DESIGN_KW * i as f64 / 10.0).collect();
    let pues: Vec<f64> = loads.iter().map(|&it| f.pue(it, SimTime::ZERO)).collect();
    for w in pues.windows(2) {
        assert!(w[1] < w[0], "PUE must fall with load: {pues:?}");
    }
    let asymptote = 1.0 + 0.03 + 0.04;
    assert!(
        (pues[9] - (asymptote + 0.02)).abs() < 1e-12,
        "full load: 1.07 + 0.02·D/D"
    );
    assert!(f.pue(1e9, SimTime::ZERO) - asymptote < 1e-4);
    assert!(
        pues[0] > 1.25,
        "10% load carries the fixed overheads: {}",
        pues[0]
    );
    // Same in the mechanical region.
    let hot = plant_at(40.0);
    assert!(hot.pue(0.2 * DESIGN_KW, SimTime::ZERO) > hot.pue(0.8 * DESIGN_KW, SimTime::ZERO));
    assert_eq!(f.pue(0.0, SimTime::ZERO), f64::INFINITY);
}

#[test]
fn pue_is_flat_in_free_cooling_and_rises_above_the_changeover() {
    let it = TYPICAL_LOAD * DESIGN_KW;
    let pue = |t: f64| plant_at(t).pue(it, SimTime::ZERO);
    // Free cooling: no chiller, PUE independent of temperature.
    let free = pue(-20.0);
    for t in [-5.0, 0.0, 10.0, 18.0] {
        assert!((pue(t) - free).abs() < 1e-12, "free cooling at {t} °C");
    }
    // Above the changeover PUE rises strictly with temperature.
    let temps = [19.0, 22.0, 25.0, 27.0, 30.0, 35.0, 40.0, 45.0];
    for w in temps.windows(2) {
        assert!(pue(w[1]) > pue(w[0]), "PUE({}) > PUE({})", w[1], w[0]);
    }
    // No jump at the changeover: at 18.001 °C the chiller carries 0.01% of the load.
    assert!(pue(18.001) - free < 1e-3);
    assert!(pue(45.0) > 1.3, "hot afternoon on a chiller: {}", pue(45.0));
}

#[test]
fn annual_pue_of_built_in_climates_lies_in_published_ranges() {
    // Every bound is a published figure (docs/validation.md, Facility section; site
    // trailing-twelve-month PUEs of Oct 2025 from Google's and Microsoft's efficiency
    // pages; Uptime Institute Global Data Center Survey average 1.58 in 2023):
    // - cold (Stockholm-like): between Google's Nordic sites' lowest (Fredericia 1.07)
    //   and Azure Sweden (1.16);
    // - temperate (Dublin-like): between Google Dublin (1.08) and Azure Ireland (1.18);
    // - hot-dry (Phoenix-like): above every published hot-dry site (Azure Arizona 1.13,
    //   Google Nevada 1.09 and 1.14), whose plants cool evaporatively on the wet bulb,
    //   while ours is an air-cooled chiller on the dry bulb; and below the survey average
    //   1.58 of mostly enterprise sites without economizers.
    let it = TYPICAL_LOAD * DESIGN_KW;
    let mut results = Vec::new();
    for (name, lo, hi) in [
        ("cold", 1.07, 1.16),
        ("temperate", 1.08, 1.18),
        ("hot-dry", 1.14, 1.58),
    ] {
        let f = Facility::new(&climate_cfg(name), Path::new("."), 42).expect("valid");
        let pue = annual_pue(&f, it);
        results.push((name, pue));
        assert!(
            (lo..=hi).contains(&pue),
            "{name}: annual PUE {pue:.3} outside {lo}..={hi}"
        );
    }
    eprintln!("annual PUE at {TYPICAL_LOAD} load: {results:?}");
    let get = |n: &str| {
        results
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, p)| *p)
            .expect("computed")
    };
    // Stockholm's summer afternoons pass the 18 °C changeover more often than Dublin's,
    // so "cold" need not beat "temperate"; both must beat "hot-dry".
    assert!(get("cold") < get("hot-dry") && get("temperate") < get("hot-dry"));
}

#[test]
fn legacy_enterprise_plant_reaches_the_survey_average() {
    // An enterprise-style plant: no economizer (changeover far below any outdoor
    // temperature), 7 °C chilled water (evaporating at 2 °C), a less efficient chiller,
    // a 2N UPS lightly loaded (large no-load loss), constant-speed fans, 40% IT load.
    // Such sites make up much of the Uptime survey, whose average is 1.55–1.58.
    let cfg = FacilityConfig {
        climate: Some("temperate".into()),
        design_it_kw: Some(DESIGN_KW),
        free_cooling_below_c: Some(-60.0),
        mechanical_above_c: Some(-50.0),
        evaporator_c: Some(2.0),
        carnot_fraction: Some(0.35),
        max_cop: Some(6.0),
        loss_fixed_fraction: Some(0.05),
        loss_proportional_fraction: Some(0.06),
        fan_pump_fixed_fraction: Some(0.05),
        fan_pump_proportional_fraction: Some(0.04),
        ..Default::default()
    };
    let f = Facility::new(&cfg, Path::new("."), 42).expect("valid");
    let pue = annual_pue(&f, 0.4 * DESIGN_KW);
    eprintln!("legacy enterprise plant, temperate, 40% load: annual PUE {pue:.3}");
    assert!((1.45..=1.75).contains(&pue), "annual PUE {pue:.3}");
}

/// Consistency of the generator with its own input, not validation of the weather: the
/// generated monthly means must equal the encoded normals (which are copied from the
/// tables named in docs/facility.md, Dublin's recalled: an assumption).
#[test]
fn climate_monthly_means_match_the_normals() {
    for name in dcsim::facility::climate_names() {
        let normals = climate(name).expect("built in").monthly_mean_c();
        for seed in [1, 2, 3] {
            let f = Facility::new(&climate_cfg(name), Path::new("."), seed).expect("valid");
            let series: Vec<f64> = (0..HOURS_PER_YEAR as u64).map(|h| f.outdoor_c(hour(h))).collect();
            let means = monthly_means(&series);
            for m in 0..12 {
                assert!(
                    (means[m] - normals[m]).abs() <= 1.0,
                    "{name} seed {seed} month {}: {:.2} vs normal {:.2}",
                    m + 1,
                    means[m],
                    normals[m]
                );
            }
            // The noise is there: hour-to-hour values are not just the smooth cycle.
            let spread = series.iter().cloned().fold(f64::MIN, f64::max)
                - series.iter().cloned().fold(f64::MAX, f64::min);
            assert!(spread > 15.0, "{name}: annual range {spread}");
        }
    }
}

#[test]
fn climate_is_deterministic_per_seed() {
    let series = |seed: u64| -> Vec<f64> {
        let f = Facility::new(&climate_cfg("temperate"), Path::new("."), seed).expect("valid");
        (0..HOURS_PER_YEAR as u64).map(|h| f.outdoor_c(hour(h))).collect()
    };
    assert_eq!(series(42), series(42));
    assert_ne!(series(42), series(43));
}

#[test]
fn start_day_shifts_the_year_and_weather_steps_hourly() {
    let jan = Facility::new(&climate_cfg("cold"), Path::new("."), 5).expect("valid");
    let mut cfg = climate_cfg("cold");
    cfg.start_day_of_year = Some(182);
    let jul = Facility::new(&cfg, Path::new("."), 5).expect("valid");
    // Same seed, same year: day 182 of one is hour 0 of the other.
    assert_eq!(jul.outdoor_c(SimTime::ZERO), jan.outdoor_c(hour(181 * 24)));
    assert!(jul.outdoor_c(SimTime::ZERO) > jan.outdoor_c(SimTime::ZERO) + 5.0);
    // Piecewise constant per hour; next_change_after gives the next hour boundary.
    assert_eq!(jan.outdoor_c(SimTime(1)), jan.outdoor_c(SimTime(MS_PER_HOUR - 1)));
    assert_eq!(jan.next_change_after(SimTime::ZERO), hour(1));
    assert_eq!(jan.next_change_after(SimTime(MS_PER_HOUR - 1)), hour(1));
    assert_eq!(jan.next_change_after(hour(1)), hour(2));
    assert!(jan.next_change_after(SimTime::MAX) >= SimTime::MAX - SimTime(MS_PER_HOUR));
    // The year cycles.
    assert_eq!(
        jan.outdoor_c(hour(HOURS_PER_YEAR as u64 + 3)),
        jan.outdoor_c(hour(3))
    );
    // Constant weather never changes.
    assert_eq!(plant_at(20.0).next_change_after(SimTime::ZERO), SimTime::MAX);
}

proptest::proptest! {
    /// Universal truths of the plant model: overheads are finite and non-negative, PUE ≥ 1,
    /// total overhead never falls as IT rises, and it never falls as the outdoor air warms.
    #[test]
    fn plant_overheads_are_sane(
        t_c in -60.0f64..55.0,
        dt in 0.0f64..20.0,
        it in 0.0f64..2.0 * DESIGN_KW,
        dit in 0.0f64..DESIGN_KW,
    ) {
        let f = plant_at(t_c);
        let p = f.overhead_kw(it, SimTime::ZERO);
        proptest::prop_assert!(p.cooling_kw.is_finite() && p.cooling_kw >= 0.0);
        proptest::prop_assert!(p.losses_kw.is_finite() && p.losses_kw >= 0.0);
        if it > 0.0 {
            proptest::prop_assert!(f.pue(it, SimTime::ZERO) >= 1.0);
        }
        proptest::prop_assert!(f.overhead_kw(it + dit, SimTime::ZERO).total_kw() >= p.total_kw());
        let warmer = plant_at((t_c + dt).min(60.0));
        proptest::prop_assert!(warmer.overhead_kw(it, SimTime::ZERO).total_kw() >= p.total_kw() - 1e-9);
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    let mut f = std::fs::File::create(dir.join(name)).expect("create");
    f.write_all(text.as_bytes()).expect("write");
}

fn csv_cfg(name: &str) -> FacilityConfig {
    FacilityConfig {
        weather_csv: Some(name.into()),
        design_it_kw: Some(DESIGN_KW),
        ..Default::default()
    }
}

#[test]
fn weather_csv_round_trip_and_cycle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let temps = [3.5, -1.25, 12.0, 30.0, 25.5];
    let mut text = String::from("# test weather\nhour,temp_c\n");
    for (h, t) in temps.iter().enumerate() {
        text.push_str(&format!("{h},{t}\n"));
    }
    write(dir.path(), "w.csv", &text);
    let f = Facility::new(&csv_cfg("w.csv"), dir.path(), 0).expect("valid");
    for (h, t) in temps.iter().enumerate() {
        assert_eq!(f.outdoor_c(hour(h as u64)), *t);
        assert_eq!(f.outdoor_c(hour(h as u64 + temps.len() as u64)), *t, "cycles");
        assert_eq!(f.overhead_kw(1.0, hour(h as u64)).outdoor_c, *t);
    }
    // The hot hours cost more than the cold ones.
    assert!(f.pue(5000.0, hour(3)) > f.pue(5000.0, hour(0)));
}

#[test]
fn weather_csv_errors_name_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("bad_temp.csv", "hour,temp_c\n0,1.0\n1,warm\n", 3, "temp_c `warm`"),
        ("gap.csv", "hour,temp_c\n0,1.0\n2,1.0\n", 3, "out of sequence"),
        ("header.csv", "h,t\n0,1.0\n", 1, "expected header"),
        ("fields.csv", "hour,temp_c\n0,1.0,7\n", 2, "3 fields"),
        ("unit.csv", "hour,temp_c\n0,1.0\n1,290.0\n", 3, "wrong unit"),
    ];
    for (name, text, line, needle) in cases {
        write(dir.path(), name, text);
        let err = Facility::new(&csv_cfg(name), dir.path(), 0).expect_err(name);
        let msg = err.to_string();
        assert!(
            matches!(err, FacilityError::Row { line: l, .. } if l == line),
            "{name}: {msg}"
        );
        assert!(
            msg.contains(name) && msg.contains(&format!(":{line}:")),
            "{name}: {msg}"
        );
        assert!(msg.contains(needle), "{name}: {msg}");
    }
}

#[test]
fn weather_csv_missing_and_empty_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Facility::new(&csv_cfg("absent.csv"), dir.path(), 0).expect_err("missing");
    assert!(matches!(err, FacilityError::Io { .. }));
    assert!(err.to_string().contains("absent.csv"), "{err}");
    for (name, text) in [
        ("empty.csv", ""),
        ("only_header.csv", "hour,temp_c\n"),
        ("comments.csv", "# nothing\n"),
    ] {
        write(dir.path(), name, text);
        let err = Facility::new(&csv_cfg(name), dir.path(), 0).expect_err(name);
        assert!(matches!(err, FacilityError::Empty { .. }), "{name}: {err}");
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn config_errors_name_the_key() {
    let check = |cfg: FacilityConfig, key: &str| {
        let err = Facility::new(&cfg, Path::new("."), 0).expect_err(key);
        assert!(
            matches!(&err, FacilityError::Config { key: k, .. } if k == key),
            "expected facility.{key}, got {err}"
        );
        assert!(err.to_string().starts_with(&format!("facility.{key}:")), "{err}");
    };
    check(
        FacilityConfig {
            fixed_pue: Some(0.9),
            ..Default::default()
        },
        "fixed_pue",
    );
    check(
        FacilityConfig {
            fixed_pue: Some(f64::NAN),
            ..Default::default()
        },
        "fixed_pue",
    );
    check(
        FacilityConfig {
            fixed_pue: Some(1.2),
            max_cop: Some(5.0),
            ..Default::default()
        },
        "max_cop",
    );
    check(
        FacilityConfig {
            design_it_kw: Some(100.0),
            ..Default::default()
        },
        "climate",
    );
    check(
        FacilityConfig {
            climate: Some("cold".into()),
            ..Default::default()
        },
        "design_it_kw",
    );
    let mut c = climate_cfg("tropical");
    check(c.clone(), "climate");
    c.climate = Some("cold".into());
    c.weather_csv = Some("x.csv".into());
    check(c, "weather_csv");
    let mut c = climate_cfg("cold");
    c.start_day_of_year = Some(366);
    check(c, "start_day_of_year");
    let mut c = climate_cfg("cold");
    c.mechanical_above_c = Some(10.0);
    check(c, "mechanical_above_c");
    let mut c = climate_cfg("cold");
    c.carnot_fraction = Some(0.0);
    check(c, "carnot_fraction");
    let mut c = csv_cfg("w.csv");
    c.start_day_of_year = Some(3);
    check(c, "start_day_of_year");
    check(
        FacilityConfig {
            constant_outdoor_c: Some(500.0),
            design_it_kw: Some(1.0),
            ..Default::default()
        },
        "constant_outdoor_c",
    );
}

#[test]
fn config_parses_from_toml_and_rejects_unknown_keys() {
    let cfg: FacilityConfig =
        toml::from_str("climate = \"hot-dry\"\ndesign_it_kw = 5000.0\nstart_day_of_year = 100\n")
            .expect("valid toml");
    assert_eq!(cfg.climate.as_deref(), Some("hot-dry"));
    assert!(Facility::new(&cfg, Path::new("."), 0).is_ok());
    let err = toml::from_str::<FacilityConfig>("fixed_pue = 1.2\nfixed_pu = 1.3\n").expect_err("typo");
    assert!(err.to_string().contains("fixed_pu"), "{err}");
}

/// The affine form the simulator integrates with equals the overhead computed directly,
/// for both models, across free cooling, the changeover band and full mechanical cooling.
#[test]
fn affine_overheads_equal_the_direct_computation() {
    let fixed = Facility::new(
        &FacilityConfig {
            fixed_pue: Some(1.4),
            ..FacilityConfig::default()
        },
        Path::new("."),
        0,
    )
    .unwrap();
    let mut models = vec![fixed];
    models.extend([5.0, 20.0, 24.0, 35.0].map(plant_at));
    for f in &models {
        for it in [0.0, 1.0, 250.0, 1000.0, 4321.5] {
            let t = hour(7);
            let a = f.affine(t);
            let d = f.overhead_kw(it, t);
            let (cool, loss) = (
                a.cooling_kw + a.cooling_per_it * it,
                a.losses_kw + a.losses_per_it * it,
            );
            assert!(
                (cool - d.cooling_kw).abs() <= 1e-9 * d.cooling_kw.max(1.0),
                "{cool} vs {}",
                d.cooling_kw
            );
            assert!(
                (loss - d.losses_kw).abs() <= 1e-9 * d.losses_kw.max(1.0),
                "{loss} vs {}",
                d.losses_kw
            );
        }
    }
}
