//! Figures and report.html: every figure of a small run, a comparison and hand-made sweep
//! and budget files is valid SVG with its series and legend entries; the page references
//! nothing outside its folder; headless Chromium draws it (skipped, visibly, without
//! Chromium).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dcsim::plots::{self, Layer};

fn dcsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("dcsim runs")
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// 300 jobs of the bundled Philly slice (8 GPUs at most) on the 40-GPU tiny cluster,
/// with power accounting, cooling and a feed cap (see [`scenario`]): every run figure
/// has data.
const SCENARIO: &str = r#"
name = "small-power"
description = "300 Philly jobs on the tiny cluster, power on"
seed = 7
[topology]
path = "@TOPOLOGY@"
[workload]
format = "philly"
path = "@REPO@/scenarios/data/philly_slice.csv"
[workload.transform]
max_gpus = 8
max_jobs = 300
[scheduler]
queue = "fifo"
placement = "best-fit"
[power]
mode = "oversubscription"
capping = "proportional"
[power.facility]
climate = "temperate"
"#;

/// The scenario, with the tiny topology under a 20 kW feed (below its ~30 kW nameplate,
/// so caps bind and GPUs are throttled), a 25 kW hall cap, 15 kW row caps and 9 kW rack
/// caps.
fn scenario(dir: &Path) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let topo = dir.join("tiny-fed.toml");
    let tiny = fs::read_to_string(repo.join("topologies/tiny.toml")).unwrap();
    let caps = "hall_cap_kw = 25.0\nrow_cap_kw = 15.0\nrack_cap_kw = 9.0";
    fs::write(&topo, format!("{tiny}\n[power]\nfeed_kw = 20.0\n{caps}\n")).unwrap();
    let p = dir.join("s.toml");
    let text = SCENARIO
        .replace("@REPO@", env!("CARGO_MANIFEST_DIR"))
        .replace("@TOPOLOGY@", topo.to_str().unwrap());
    fs::write(&p, text).unwrap();
    p
}

fn run_into(tmp: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let s = scenario(tmp);
    let out = tmp.join(name);
    let mut args = vec!["run", s.to_str().unwrap(), "--output", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    ok(dcsim(&args));
    out
}

/// Every text node of an SVG file, after checking that it parses as XML with an `svg`
/// root.
fn svg_texts(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg", "{}", path.display());
    doc.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "text")
        .map(|n| {
            let text: String = n
                .descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect();
            text.trim().to_string()
        })
        .collect()
}

fn assert_has(texts: &[String], want: &str, file: &str) {
    assert!(
        texts.iter().any(|t| t == want),
        "{file}: no text `{want}` among {texts:?}"
    );
}

/// Legend names of a figure's layers, by figure name.
fn legends(dir: &Path) -> BTreeMap<String, Vec<String>> {
    plots::figures(dir)
        .unwrap()
        .into_iter()
        .map(|f| {
            let names = f
                .panels
                .iter()
                .flat_map(|p| p.layers.iter().flat_map(Layer::names))
                .collect();
            (f.name, names)
        })
        .collect()
}

#[test]
fn run_report_draws_every_figure_with_its_series() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_into(tmp.path(), "run", &[]);
    let plots_dir = out.join("plots");
    let expect: [(&str, &[&str]); 5] = [
        (
            "utilization",
            &[
                "H100-SXM5",
                "A100-SXM4-80GB",
                "cluster (40 GPUs)",
                "queued jobs",
                "busy GPUs",
                "queued jobs",
            ],
        ),
        (
            "waits",
            &[
                "wait, 300 jobs that ran",
                "job completion time, 300 jobs that ran",
                "fraction of jobs ≤ x",
                "1 h",
            ],
        ),
        (
            "power",
            &[
                "IT",
                "cooling",
                "distribution losses",
                "PUE",
                "throttled GPUs",
                "power (kW)",
            ],
        ),
        ("rack_power", &["rack", "Mean IT power per rack and interval"]),
        ("tenants", &["GPU-hours by tenant", "energy (MWh) by tenant"]),
    ];
    for (name, wants) in expect {
        let file = plots_dir.join(format!("{name}.svg"));
        let texts = svg_texts(&file);
        for w in wants {
            assert_has(&texts, w, name);
        }
    }
    // The feed cap is drawn, with the scenario topology's feed from summary.json.
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let feed = summary["power"]["feed_kw"].as_f64().unwrap();
    assert_eq!(feed, 20.0);
    assert_has(
        &svg_texts(&plots_dir.join("power.svg")),
        "feed cap (20 kW, IT)",
        "power",
    );
    // The hall, row and rack caps (tiny: 1 hall, 2 rows, 3 racks) each get a panel
    // with the member closest to its cap and a legend entry for the cap.
    let power_texts = svg_texts(&plots_dir.join("power.svg"));
    for want in [
        "hall cap (25.0 kW)",
        "row cap (15.0 kW)",
        "rack cap (9.0 kW)",
        "(the only hall with a cap)",
        "(of 2 rows with caps)",
        "(of 3 racks with caps)",
    ] {
        assert!(
            power_texts.iter().any(|t| t.contains(want)),
            "power.svg lacks `{want}`"
        );
    }
    // Dates on time axes: the Philly slice's clock starts at its earliest timestamp,
    // 2017-09-07 09:57:50 (the file's own minimum); a month-long run gets weekly ticks
    // from the first midnight, Sep 8.
    assert_eq!(summary["epoch"]["start"], "2017-09-07T09:57:50.000");
    assert_eq!(summary["epoch"]["zone"], serde_json::Value::Null);
    let util = svg_texts(&plots_dir.join("utilization.svg"));
    assert_has(
        &util,
        "date, 2017 (the trace's local clock; time zone not published)",
        "utilization",
    );
    assert_has(&util, "Sep 8", "utilization");
    assert_has(&util, "Sep 15", "utilization");
    // The cap binds: the throttled-GPU panel has GPUs above zero.
    let figs = plots::figures(&out).unwrap();
    let power = figs.iter().find(|f| f.name == "power").unwrap();
    let Layer::Line { points, .. } = &power.panels[2].layers[0] else {
        panic!("throttled GPUs line")
    };
    assert!(points.iter().any(|p| p.1 > 0.0), "no throttling drawn");
    // The stacked busy-GPU areas are one per GPU model of the topology (tiny: 2).
    let l = legends(&out);
    assert_eq!(
        l["utilization"][..2],
        ["H100-SXM5".to_string(), "A100-SXM4-80GB".to_string()]
    );
    // The heat map's colour bins all carry a kW range.
    assert_eq!(l["rack_power"].len(), 5);
    assert!(
        l["rack_power"].iter().all(|b| b.ends_with(" kW")),
        "{:?}",
        l["rack_power"]
    );

    // Rendering is deterministic: `dcsim report` on the folder rewrites identical files.
    let before: Vec<Vec<u8>> = ["report.html", "plots/power.svg", "plots/waits.svg"]
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();
    ok(dcsim(&["report", out.to_str().unwrap()]));
    for (f, b) in ["report.html", "plots/power.svg", "plots/waits.svg"]
        .iter()
        .zip(before)
    {
        assert!(
            fs::read(out.join(f)).unwrap() == b,
            "{f} differs on a second rendering"
        );
    }
}

/// The CDF drawn equals the simulator's own percentiles: the quantiles the report reads
/// from jobs.csv at p = 0.5, 0.95, 0.99 are summary.json's nearest-rank `jct_s` p50, p95,
/// p99 (computed by `metrics::stats` from the records in memory, not from the CSV).
#[test]
fn cdf_quantiles_equal_the_summary_percentiles() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_into(tmp.path(), "run", &["--no-report"]);
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let figs = plots::figures(&out).unwrap();
    let waits = figs.iter().find(|f| f.name == "waits").unwrap();
    let Layer::Line { points, .. } = &waits.panels[1].layers[0] else {
        panic!("JCT panel is a line")
    };
    for (k, key) in [(500, "p50"), (950, "p95"), (990, "p99")] {
        let drawn = 10f64.powf(points[k].0);
        let want = summary["jct_s"][key].as_f64().unwrap();
        assert!(
            (drawn - want).abs() <= 1e-6 * want.max(1.0),
            "JCT {key}: drawn {drawn}, summary {want}"
        );
        assert!((points[k].1 - k as f64 / 1000.0).abs() < 1e-12);
    }
}

/// report.html holds its styles and figures inline; its only references are relative
/// links to files in the folder; it names the scenario and lists the skipped rows.
#[test]
fn html_references_nothing_outside_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_into(tmp.path(), "run", &[]);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    for bad in [
        "http:", "https:", "<script", "<link", "<img", "@import", "url(", "<iframe", "//",
    ] {
        // `//` would also be a protocol-relative URL; SVG's xmlns is the one exception.
        let hits = html.matches(bad).count();
        let allowed = if bad == "http:" || bad == "//" {
            html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
                + html
                    .matches("xmlns:xlink=\"http://www.w3.org/1999/xlink\"")
                    .count()
        } else {
            0
        };
        assert_eq!(hits, allowed, "report.html contains `{bad}`");
    }
    let mut links = 0;
    for part in html.split("href=\"").skip(1) {
        let target = &part[..part.find('"').unwrap()];
        assert!(!target.contains(':') && !target.starts_with('/'), "link {target}");
        assert!(
            out.join(target).is_file(),
            "link {target} is not a file of the folder"
        );
        links += 1;
    }
    assert!(links >= 5 + 3, "{links} links");
    assert!(html.contains("href=\"jobs.csv\"") && html.contains("href=\"power_levels.csv\""));
    assert_eq!(html.matches("<svg").count(), 5, "one inline SVG per figure");
    for want in [
        "small-power",
        "300 Philly jobs on the tiny cluster, power on",
        "philly: ",
        "queue fifo, placement best-fit",
        "dcsim version",
        "Skipped",
        "trace rows: max_jobs",
    ] {
        assert!(html.contains(want), "report.html lacks `{want}`");
    }
}

#[test]
fn compare_report_gives_each_policy_one_colour_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path());
    let out = tmp.path().join("cmp");
    ok(dcsim(&[
        "compare",
        s.to_str().unwrap(),
        "--policies",
        "fifo,sjf,easy",
        "--replications",
        "2",
        "--output",
        out.to_str().unwrap(),
    ]));
    let names = ["fifo/best-fit", "sjf/best-fit", "easy/best-fit"];
    for f in ["compare_cdf", "compare_bars"] {
        let texts = svg_texts(&out.join("plots").join(format!("{f}.svg")));
        for n in names {
            assert_has(&texts, n, f);
        }
    }
    let mut colour: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen = 0;
    for f in plots::figures(&out).unwrap() {
        for p in &f.panels {
            for l in &p.layers {
                let (name, c) = match l {
                    Layer::Line { name, colour, .. } | Layer::Bars { name, colour, .. } => (name, *colour),
                    _ => continue,
                };
                seen += 1;
                assert_eq!(
                    *colour.entry(name.clone()).or_insert(c),
                    c,
                    "{name} changes colour in {}",
                    f.name
                );
            }
        }
    }
    // 2 CDF panels + 6 bar panels (fairness included: tenants exist), 3 policies each.
    assert_eq!(seen, 3 * 8);
    assert_eq!(colour.len(), 3);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("compare_quantiles.csv") && html.contains("small-power"));
}

#[test]
fn no_report_writes_neither_figures_nor_page() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_into(tmp.path(), "run", &["--no-report"]);
    assert!(out.join("summary.json").is_file());
    assert!(!out.join("plots").exists() && !out.join("report.html").exists());
}

/// An old or partial folder: no jobs.csv, a time series without per-model columns. The
/// report draws what it can and says what it could not.
#[test]
fn partial_folder_draws_what_it_can() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_into(tmp.path(), "run", &["--no-report"]);
    fs::remove_file(out.join("jobs.csv")).unwrap();
    for f in ["power.csv", "power_levels.csv"] {
        fs::remove_file(out.join(f)).unwrap();
    }
    let ts = fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let cut: String = ts
        .lines()
        .map(|l| l.split(',').take(4).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    fs::write(out.join("timeseries.csv"), cut).unwrap();
    let stdout = ok(dcsim(&["report", out.to_str().unwrap()]));
    assert!(
        stdout.contains("not drawn: wait and JCT CDFs: jobs.csv absent"),
        "{stdout}"
    );
    assert_has(
        &svg_texts(&out.join("plots/utilization.svg")),
        "all GPUs",
        "utilization",
    );
    assert!(!out.join("plots/power.svg").exists());
}

#[test]
fn a_folder_without_outputs_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let o = dcsim(&["report", tmp.path().to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not a dcsim output folder"), "{err}");
}

/// Sweep summary written by hand: a metric with `_ci95`, one line per policy, a target
/// and an answer. The band is mean ± ci95 (read from the file); the swept key is on x;
/// the answer is marked on its row's line.
#[test]
fn sweep_summary_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("sweep_summary.csv"),
        "gpus,policy,n,wait_mean_s,wait_mean_s_std,wait_mean_s_ci95,wait_mean_s_target,answer\n\
         64,fifo,5,7200,100,120,3600,0\n\
         128,fifo,5,3000,80,90,3600,0\n\
         64,sjf,5,5000,90,100,3600,0\n\
         128,sjf,5,1000,40,50,3600,1\n",
    )
    .unwrap();
    plots::render(dir, plots::Options::default()).unwrap();
    let texts = svg_texts(&dir.join("plots/sweep.svg"));
    for w in [
        "policy=fifo",
        "policy=sjf",
        "policy=fifo: 95% CI",
        "target 3600",
        "answer: policy=sjf, gpus = 128",
        "gpus",
        "wait_mean_s",
    ] {
        assert_has(&texts, w, "sweep");
    }
    let figs = plots::figures(dir).unwrap();
    let p = &figs[0].panels[0];
    let Layer::Band { upper, lower, .. } = &p.layers[0] else {
        panic!("first layer is fifo's band")
    };
    assert_eq!(upper, &vec![(64.0, 7320.0), (128.0, 3090.0)]);
    assert_eq!(lower, &vec![(64.0, 7080.0), (128.0, 2910.0)]);
    // The answer is marked on its own line (sjf at 128 GPUs), not the first line there.
    let marks: Vec<(f64, f64)> = p
        .layers
        .iter()
        .filter_map(|l| match l {
            Layer::Marker { at, .. } => Some(*at),
            _ => None,
        })
        .collect();
    assert_eq!(marks, vec![(128.0, 1000.0)]);
}

/// One row per run (`sweep.csv`): the report averages runs per point with a Student-t
/// interval. Hand-worked: 1, 2, 3 → mean 2, s = 1, half-width t(0.975, 2) / √3 =
/// 4.302653 / 1.732051 = 2.484138.
#[test]
fn sweep_runs_fixture_is_averaged_with_a_t_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("sweep.csv"),
        "load,seed,jct_mean_s,gpu_utilization\n0.5,1,1,0.5\n0.5,2,2,0.5\n0.5,3,3,0.5\n0.9,1,10,0.9\n0.9,2,10,0.9\n",
    )
    .unwrap();
    plots::render(dir, plots::Options::default()).unwrap();
    assert_has(&svg_texts(&dir.join("plots/sweep.svg")), "load", "sweep");
    let figs = plots::figures(dir).unwrap();
    assert_eq!(figs[0].panels.len(), 2, "two metrics");
    let Layer::Band { upper, .. } = &figs[0].panels[0].layers[0] else {
        panic!("band first")
    };
    assert!((upper[0].1 - (2.0 + 2.484138)).abs() < 1e-5, "{upper:?}");
    assert_eq!(upper[1], (0.9, 10.0));
}

/// costs.csv written by hand: components stacked per month, GPUs installed, peak power
/// and the feed.
#[test]
fn budget_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("costs.csv"),
        "month,gpus_installed,peak_kw,feed_kw,capex_usd,energy_usd,total_usd\n\
         2027-01,512,400,1000,50000,20000,70000\n\
         2027-02,1024,800,1000,50000,40000,90000\n",
    )
    .unwrap();
    plots::render(dir, plots::Options::default()).unwrap();
    let texts = svg_texts(&dir.join("plots/budget.svg"));
    for w in [
        "capex",
        "energy",
        "GPUs installed",
        "peak IT power",
        "feed",
        "2027-02",
        "cost (thousand $)",
    ] {
        assert_has(&texts, w, "budget");
    }
    let figs = plots::figures(dir).unwrap();
    let Layer::Bars { bars, .. } = &figs[0].panels[0].layers[1] else {
        panic!("energy bars")
    };
    // Energy sits on capex: month 2 spans 50 to 90 thousand dollars.
    assert_eq!((bars[1].lo, bars[1].hi), (50.0, 90.0));
    assert!(!figs[0].panels[0]
        .layers
        .iter()
        .flat_map(Layer::names)
        .any(|n| n == "total"));
}

/// `--png` draws each figure as PNG with the embedded font: decodable, with ink.
#[test]
fn png_figures_decode_and_have_ink() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_into(tmp.path(), "run", &["--no-report"]);
    ok(dcsim(&["report", out.to_str().unwrap(), "--png"]));
    let (w, h, ink) = ink(&out.join("plots/utilization.png"));
    assert_eq!(w, 960);
    assert!(ink > (w * h) as usize / 50, "{ink} non-white pixels of {}", w * h);
}

/// Width, height and the number of non-white pixels of an RGB(A) PNG.
fn ink(path: &Path) -> (u32, u32, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let ink = buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|px| px[..3].iter().any(|&c| c < 235))
        .count();
    (info.width, info.height, ink)
}

/// Headless Chromium draws report.html: the screenshot is not blank and shows the
/// figures' colours (the first GPU model's blue, palette entry 0 = rgb(0, 114, 178)).
#[test]
fn chromium_draws_the_report() {
    let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        eprintln!("SKIPPED chromium_draws_the_report: no chromium on PATH (.ci/run installs it)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = run_into(tmp.path(), "run", &[]);
    let shot = tmp.path().join("shot.png");
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1100,2400",
            &format!("--screenshot={}", shot.display()),
            &format!("file://{}", out.join("report.html").display()),
        ])
        .output()
        .unwrap();
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (w, h, ink) = ink(&shot);
    assert!(ink > (w * h) as usize / 20, "{ink} non-white pixels of {}", w * h);
    let decoder = png::Decoder::new(std::io::BufReader::new(fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let blue = buf[..info.buffer_size()]
        .chunks(ch)
        .filter(|px| px[0] < 60 && (90..150).contains(&px[1]) && px[2] > 150)
        .count();
    assert!(blue > 1000, "{blue} blue pixels: the figures did not draw");
}
