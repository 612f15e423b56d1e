//! A run's figures, from `timeseries.csv`, `jobs.csv`, `summary.json`, `power.csv` and
//! `power_levels.csv` (each optional but `summary.json`).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::downsample::step_points;
use super::draw::{Axis, Bar, Figure, Layer, LegendAt, Panel, Scale, COLUMNS, HEAT_BINS};
use super::table::{self, Table};
use super::{calendar, cdf};
use super::{Kind, PlotError, Section};
use crate::workload::EPOCH_FORMAT;

/// Racks shown in the heat map (the hottest by peak power).
const HOT_RACKS: usize = 20;
/// Time bins of the heat map at most (intervals are merged, keeping each bin's peak).
const HEAT_COLUMNS: usize = 240;
/// Tenants shown by name; the rest are summed as "other".
const TOP_TENANTS: usize = 12;

/// The trace clock at time 0, from `summary.json`'s `epoch` (traces with real timestamps).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Clock {
    start: NaiveDateTime,
    zone: Option<String>,
}

impl Clock {
    /// The clock of a run's summary, if it has a readable `epoch`.
    pub(crate) fn of(summary: &Value) -> Option<Clock> {
        let epoch = summary.get("epoch")?;
        let start = NaiveDateTime::parse_from_str(epoch.get("start")?.as_str()?, EPOCH_FORMAT).ok()?;
        let zone = epoch.get("zone").and_then(Value::as_str).map(str::to_string);
        Some(Clock { start, zone })
    }
}

/// How a time axis is written: seconds divided by `div`, labelled with `unit`, and as
/// calendar dates when the trace's clock is known.
#[derive(Clone)]
pub(crate) struct TimeUnit {
    div: f64,
    unit: &'static str,
    clock: Option<Clock>,
}

impl TimeUnit {
    /// Days for spans over three days, else hours; dates on the axis when `clock` is known.
    pub(crate) fn for_span(span_s: f64, clock: Option<&Clock>) -> TimeUnit {
        let (div, unit) = if span_s > 3.0 * 86_400.0 {
            (86_400.0, "days")
        } else {
            (3600.0, "hours")
        };
        TimeUnit {
            div,
            unit,
            clock: clock.cloned(),
        }
    }

    /// The axis of times up to `end_s` seconds.
    fn axis(&self, end_s: f64) -> Axis {
        match &self.clock {
            Some(c) => {
                let end = c.start + chrono::TimeDelta::milliseconds((end_s * 1000.0) as i64);
                Axis {
                    label: calendar::axis_label(c.start, c.zone.as_deref(), end),
                    scale: Scale::Calendar {
                        epoch: c.start,
                        div: self.div,
                    },
                    range: None,
                }
            }
            None => Axis::linear(format!("time since trace start ({})", self.unit)),
        }
    }

    fn scale(&self, t: &[f64]) -> Vec<f64> {
        t.iter().map(|v| v / self.div).collect()
    }
}

/// Reads `summary.json`.
pub(crate) fn read_json(path: &Path) -> Result<Value, PlotError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| PlotError::Bad {
        path: format!("{}:{}", path.display(), e.line()),
        message: format!("not valid JSON ({e})"),
    })
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

/// Stacked areas: layer k fills between the running sums of series 0..k and 0..=k.
pub(crate) fn stacked(t: &[f64], end: f64, series: &[(String, Vec<f64>)]) -> Vec<Layer> {
    let mut below = vec![0.0; t.len()];
    let mut lower = step_points(t, &below, end, COLUMNS);
    let mut layers = Vec::new();
    for (k, (name, v)) in series.iter().enumerate() {
        for (b, x) in below.iter_mut().zip(v) {
            if x.is_finite() {
                *b += x;
            }
        }
        let upper = step_points(t, &below, end, COLUMNS);
        layers.push(Layer::Band {
            name: name.clone(),
            colour: k,
            upper: upper.clone(),
            lower,
            opacity: 0.75,
        });
        lower = upper;
    }
    layers
}

pub(crate) fn section(dir: &Path) -> Result<Section, PlotError> {
    let summary = read_json(&dir.join("summary.json"))?;
    let run = summary.get("run").cloned().unwrap_or(Value::Null);
    let get = |k: &str| run.get(k).map(text).unwrap_or_else(|| "—".into());
    let mut about = vec![
        ("scenario".to_string(), get("scenario")),
        ("description".into(), get("description")),
        ("topology".into(), get("topology")),
        ("workload".into(), get("workload")),
        (
            "policies".into(),
            format!("queue {}, placement {}", get("queue_policy"), get("placement")),
        ),
        ("mode".into(), get("mode")),
        ("seed".into(), get("seed")),
        ("dcsim version".into(), get("dcsim_version")),
    ];
    if let (Some(models), Some(counts)) = (
        run.get("gpu_models").and_then(Value::as_array),
        run.get("gpu_model_counts").and_then(Value::as_array),
    ) {
        let gpus: Vec<String> = models
            .iter()
            .zip(counts)
            .map(|(m, c)| format!("{} × {}", text(c), text(m)))
            .collect();
        about.push(("GPUs".into(), gpus.join(", ")));
    }
    about.retain(|(_, v)| v != "—");

    let mut figures = Vec::new();
    let mut missing = Vec::new();
    let ts_path = dir.join("timeseries.csv");
    let jobs_path = dir.join("jobs.csv");
    let (ts, jobs) = rayon::join(
        || ts_path.is_file().then(|| timeseries(&ts_path)),
        || jobs_path.is_file().then(|| waits(&jobs_path)),
    );
    let cluster_gpus = num(&summary, &["cluster_gpus"]);
    let clock = Clock::of(&summary);
    match ts {
        Some(ts) => figures.push(utilization(ts?, cluster_gpus, clock.as_ref())?),
        None => missing.push("busy GPUs and queue: timeseries.csv absent".to_string()),
    }
    match jobs {
        Some(j) => figures.push(j?),
        None => missing.push("wait and JCT CDFs: jobs.csv absent".to_string()),
    }
    let levels_path = dir.join("power_levels.csv");
    let levels = if levels_path.is_file() {
        Some(Table::read(&levels_path)?)
    } else {
        None
    };
    let power_path = dir.join("power.csv");
    if power_path.is_file() {
        let feed = num(&summary, &["power", "feed_kw"]);
        figures.push(power(&power_path, feed, levels.as_ref(), clock.as_ref())?);
    }
    if let Some(f) = tenants(&summary) {
        figures.push(f);
    }
    if let Some(levels) = &levels {
        if let Some(f) = rack_heat(levels, clock.as_ref()) {
            figures.push(f);
        }
    }
    Ok(Section {
        kind: Kind::Run,
        about,
        table: headline(&summary),
        skipped: skipped(&summary),
        figures,
        missing,
    })
}

/// Busy GPUs per model (stacked) and the queue over time.
struct Series {
    time: Vec<f64>,
    busy: Vec<(String, Vec<f64>)>,
    queued: Vec<f64>,
}

fn timeseries(path: &Path) -> Result<Series, PlotError> {
    let header = table::header(path)?;
    let models: Vec<String> = header
        .iter()
        .filter_map(|h| h.strip_prefix("busy_gpus_").map(str::to_string))
        .collect();
    let mut wanted = vec!["time_s".to_string(), "busy_gpus".into(), "queued_jobs".into()];
    wanted.extend(models.iter().map(|m| format!("busy_gpus_{m}")));
    let names: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let mut cols = table::columns(path, &names)?;
    let time = cols[0].take().ok_or_else(|| PlotError::Bad {
        path: path.display().to_string(),
        message: "no time_s column".into(),
    })?;
    let total = cols[1].take();
    let queued = cols[2].take().unwrap_or_default();
    let mut busy: Vec<(String, Vec<f64>)> = models
        .into_iter()
        .zip(cols.drain(3..))
        .filter_map(|(m, c)| c.map(|c| (m, c)))
        .collect();
    if busy.is_empty() {
        if let Some(t) = total {
            busy.push(("all GPUs".into(), t));
        }
    }
    Ok(Series { time, busy, queued })
}

fn utilization(s: Series, cluster_gpus: Option<f64>, clock: Option<&Clock>) -> Result<Figure, PlotError> {
    let end = s.time.last().copied().unwrap_or(0.0);
    let unit = TimeUnit::for_span(end - s.time.first().copied().unwrap_or(0.0), clock);
    let t = unit.scale(&s.time);
    let end_u = end / unit.div;
    let mut busy = stacked(&t, end_u, &s.busy);
    if let Some(g) = cluster_gpus.filter(|g| *g > 0.0) {
        busy.push(Layer::Line {
            name: format!("cluster ({g:.0} GPUs)"),
            colour: 8,
            points: vec![(t.first().copied().unwrap_or(0.0), g), (end_u, g)],
            dashed: true,
        });
    }
    let mut panels = vec![Panel {
        title: "Busy GPUs by model (stacked)".into(),
        x: unit.axis(end),
        y: Axis::linear("busy GPUs"),
        layers: busy,
        legend: LegendAt::UpperRight,
    }];
    if !s.queued.is_empty() {
        panels.push(Panel {
            title: "Jobs waiting in the queue".into(),
            x: unit.axis(end),
            y: Axis::linear("queued jobs"),
            layers: vec![Layer::Line {
                name: "queued jobs".into(),
                colour: 5,
                points: step_points(&t, &s.queued, end_u, COLUMNS),
                dashed: false,
            }],
            legend: LegendAt::UpperRight,
        });
    }
    Ok(Figure {
        name: "utilization".into(),
        columns: 1,
        title: "Cluster occupancy over time".into(),
        caption: format!(
            "From timeseries.csv ({} change points); series longer than {} columns are drawn with min/max per pixel column (M4), which keeps every column's extremes.",
            s.time.len(),
            COLUMNS
        ),
        panels,
    })
}

/// A CDF line from quantiles, on a log-seconds axis (values below 1 s drawn at 1 s).
pub(crate) fn cdf_line(name: String, colour: usize, q: &[f64]) -> Layer {
    Layer::Line {
        name,
        colour,
        points: q
            .iter()
            .enumerate()
            .map(|(k, &v)| (v.max(1.0).log10(), cdf::probability(k)))
            .collect(),
        dashed: false,
    }
}

/// The axes of a wait/JCT CDF panel.
pub(crate) fn cdf_axes(what: &str) -> (Axis, Axis) {
    (
        Axis {
            label: format!("{what} (log scale; 0 drawn at 1 s)"),
            scale: Scale::LogSeconds,
            range: None,
        },
        Axis {
            label: "fraction of jobs ≤ x".into(),
            scale: Scale::Linear,
            range: Some((0.0, 1.0)),
        },
    )
}

fn waits(path: &Path) -> Result<Figure, PlotError> {
    let mut cols = table::columns(path, &["wait_s", "jct_s"])?;
    let mut wait = cols[0].take().unwrap_or_default();
    let mut jct = cols[1].take().unwrap_or_default();
    let (qw, qj) = rayon::join(|| cdf::quantiles(&mut wait), || cdf::quantiles(&mut jct));
    let mut panels = Vec::new();
    // Legends where the curves are not: bottom right for waits (curves end near 1),
    // top left for JCTs (curves start near 0).
    for (what, q, n, colour, legend) in [
        ("wait", &qw, wait.len(), 0, LegendAt::LowerRight),
        ("job completion time", &qj, jct.len(), 1, LegendAt::UpperLeft),
    ] {
        let (x, y) = cdf_axes(what);
        panels.push(Panel {
            title: format!("CDF of {what}"),
            x,
            y,
            layers: vec![cdf_line(format!("{what}, {n} jobs that ran"), colour, q)],
            legend,
        });
    }
    Ok(Figure {
        name: "waits".into(),
        columns: 1,
        title: "Waits and job completion times".into(),
        caption: format!(
            "From jobs.csv: {} nearest-rank quantiles per distribution, of the jobs that started.",
            cdf::QUANTILES
        ),
        panels,
    })
}

fn power(
    path: &Path,
    feed_kw: Option<f64>,
    levels: Option<&Table>,
    clock: Option<&Clock>,
) -> Result<Figure, PlotError> {
    let mut c = table::columns(
        path,
        &[
            "time_s",
            "it_kw",
            "cooling_kw",
            "losses_kw",
            "pue",
            "throttled_gpus",
        ],
    )?;
    let time = c[0].take().ok_or_else(|| PlotError::Bad {
        path: path.display().to_string(),
        message: "no time_s column".into(),
    })?;
    let end = time.last().copied().unwrap_or(0.0);
    let unit = TimeUnit::for_span(end - time.first().copied().unwrap_or(0.0), clock);
    let t = unit.scale(&time);
    let end_u = end / unit.div;
    let parts: Vec<(String, Vec<f64>)> = [("IT", 1), ("cooling", 2), ("distribution losses", 3)]
        .into_iter()
        .filter_map(|(n, i)| c[i].take().map(|v| (n.to_string(), v)))
        .collect();
    let mut layers = stacked(&t, end_u, &parts);
    if let Some(feed) = feed_kw.filter(|f| f.is_finite() && *f > 0.0) {
        layers.push(Layer::Line {
            name: format!("feed cap ({feed:.0} kW, IT)"),
            colour: 5,
            points: vec![(t.first().copied().unwrap_or(0.0), feed), (end_u, feed)],
            dashed: true,
        });
    }
    let mut panels = vec![Panel {
        title: "Facility power (stacked)".into(),
        x: unit.axis(end),
        y: Axis::linear("power (kW)"),
        layers,
        legend: LegendAt::UpperRight,
    }];
    if let Some(pue) = c[4].take() {
        panels.push(Panel {
            title: "Power usage effectiveness".into(),
            x: unit.axis(end),
            y: Axis {
                range: Some(tight(&pue)),
                ..Axis::linear("PUE (facility / IT)")
            },
            layers: vec![Layer::Line {
                name: "PUE".into(),
                colour: 2,
                points: step_points(&t, &pue, end_u, COLUMNS),
                dashed: false,
            }],
            legend: LegendAt::UpperRight,
        });
    }
    if let Some(thr) = c[5].take() {
        panels.push(Panel {
            title: "GPUs of throttled jobs".into(),
            x: unit.axis(end),
            y: Axis::linear("throttled GPUs"),
            layers: vec![Layer::Line {
                name: "throttled GPUs".into(),
                colour: 5,
                points: step_points(&t, &thr, end_u, COLUMNS),
                dashed: false,
            }],
            legend: LegendAt::UpperRight,
        });
    }
    let capped = levels.map(|l| cap_panels(l, &unit, end)).unwrap_or_default();
    let levels_note = if capped.is_empty() {
        String::new()
    } else {
        " For each of hall, row and rack with caps, the one whose interval peak came closest to its cap is drawn against that cap (power_levels.csv).".into()
    };
    panels.extend(capped);
    Ok(Figure {
        name: "power".into(),
        columns: 1,
        title: "Power over time".into(),
        caption: format!(
            "From power.csv ({} change points), M4 down-sampled per pixel column; the feed cap (from summary.json) bounds IT power.{levels_note}",
            time.len()
        ),
        panels,
    })
}

/// One panel per level of the power tree below the feed (hall, row, rack) whose members
/// have caps: the member whose interval peak IT power came closest to its own cap
/// (highest peak / cap; ties to the first name), its interval peaks as steps, and its
/// cap dashed. Drawing every rack would bury the one that matters; the heat map shows
/// the rest.
fn cap_panels(t: &Table, unit: &TimeUnit, end_s: f64) -> Vec<Panel> {
    let (Some(level), Some(name), Some(start), Some(peak), Some(cap)) = (
        t.text("level"),
        t.text("name"),
        t.num("start_s"),
        t.num("peak_kw"),
        t.num("cap_kw"),
    ) else {
        return Vec::new();
    };
    let mut panels = Vec::new();
    for (kind, title) in [("hall", "Hall"), ("row", "Row"), ("rack", "Rack")] {
        // Rows of each capped member, by name, in file order.
        let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for i in (0..level.len()).filter(|&i| level[i] == kind && cap[i].is_finite() && cap[i] > 0.0) {
            members.entry(name[i]).or_default().push(i);
        }
        let ratio = |rows: &Vec<usize>| {
            let top = rows
                .iter()
                .map(|&i| peak[i])
                .filter(|p| p.is_finite())
                .fold(0.0, f64::max);
            top / cap[rows[0]]
        };
        let mut best: Option<(&str, &Vec<usize>, f64)> = None;
        for (n, rows) in &members {
            let r = ratio(rows);
            if best.is_none_or(|(_, _, b)| r > b) {
                best = Some((n, rows, r));
            }
        }
        let Some((n, rows, r)) = best else { continue };
        let times: Vec<f64> = rows.iter().map(|&i| start[i]).collect();
        let peaks: Vec<f64> = rows.iter().map(|&i| peak[i]).collect();
        let cap_kw = cap[rows[0]];
        let t = unit.scale(&times);
        let end_u = end_s / unit.div;
        panels.push(Panel {
            title: match members.len() {
                1 => format!(
                    "{title} {n} (the only {kind} with a cap): peak at {:.0}% of its cap",
                    100.0 * r
                ),
                m => format!(
                    "{title} closest to its cap: {n} (of {m} {kind}s with caps), peak at {:.0}% of cap",
                    100.0 * r
                ),
            },
            x: unit.axis(end_s),
            y: Axis::linear("IT power (kW)"),
            layers: vec![
                Layer::Line {
                    name: format!("{kind} {n}: interval peak IT power"),
                    colour: 0,
                    points: step_points(&t, &peaks, end_u, COLUMNS),
                    dashed: false,
                },
                Layer::Line {
                    name: format!("{kind} cap ({cap_kw:.1} kW)"),
                    colour: 5,
                    points: vec![(t.first().copied().unwrap_or(0.0), cap_kw), (end_u, cap_kw)],
                    dashed: true,
                },
            ],
            legend: LegendAt::UpperRight,
        });
    }
    panels
}

/// A range around the finite values of `v` with 10% margins above and 30% (legend room)
/// above, for series far from zero (PUE).
fn tight(v: &[f64]) -> (f64, f64) {
    let (lo, hi) = v
        .iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(0.02);
    (lo - 0.1 * span, hi + 0.3 * span)
}

/// One per-tenant figure: its value for a tenant (by name and summary entry).
type TenantFigure = Box<dyn Fn(&str, &Value) -> Option<f64>>;

/// Per-tenant bars: GPU-hours, and energy, cost and emissions where the summary has them.
fn tenants(summary: &Value) -> Option<Figure> {
    let list = summary.get("tenants")?.as_array()?;
    if list.is_empty() {
        return None;
    }
    let mut rows: Vec<(String, &Value)> = list
        .iter()
        .map(|t| (t.get("tenant").map(text).unwrap_or_default(), t))
        .collect();
    let gpu_h = |t: &Value| t.get("gpu_hours").and_then(Value::as_f64).unwrap_or(0.0);
    rows.sort_by(|a, b| gpu_h(b.1).total_cmp(&gpu_h(a.1)).then(a.0.cmp(&b.0)));
    let energy: BTreeMap<String, f64> = summary
        .pointer("/power/tenants")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .filter_map(|t| {
                    let name = t.get("tenant").map(text)?;
                    let e = t
                        .as_object()?
                        .iter()
                        .find(|(k, _)| k.contains("energy") && k.ends_with("mwh"))?
                        .1
                        .as_f64()?;
                    Some((name, e))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut metrics: Vec<(String, TenantFigure)> =
        vec![("GPU-hours".into(), Box::new(move |_, t| Some(gpu_h(t))))];
    if !energy.is_empty() {
        metrics.push((
            "energy (MWh)".into(),
            Box::new(move |n, _| energy.get(n).copied()),
        ));
    }
    // Cost and emissions, once the summary carries them per tenant.
    for (key, label) in [("cost_usd", "cost ($)"), ("co2_t", "emissions (tCO₂)")] {
        if list.iter().any(|t| t.get(key).is_some()) {
            metrics.push((
                label.into(),
                Box::new(move |_, t| t.get(key).and_then(Value::as_f64)),
            ));
        }
    }
    let shown = rows.len().min(TOP_TENANTS);
    let mut names: Vec<String> = rows[..shown].iter().map(|r| r.0.clone()).collect();
    let others = rows.len() - shown;
    if others > 0 {
        names.push(format!("{others} others"));
    }
    let panels = metrics
        .iter()
        .enumerate()
        .map(|(m, (label, f))| {
            let mut bars: Vec<Bar> = rows[..shown]
                .iter()
                .enumerate()
                .map(|(i, (n, t))| Bar {
                    at: i as f64,
                    lo: 0.0,
                    hi: f(n, t).unwrap_or(0.0),
                    ci: None,
                })
                .collect();
            if others > 0 {
                let rest: f64 = rows[shown..].iter().filter_map(|(n, t)| f(n, t)).sum();
                bars.push(Bar {
                    at: shown as f64,
                    lo: 0.0,
                    hi: rest,
                    ci: None,
                });
            }
            Panel {
                title: format!("{label} by tenant"),
                x: Axis::linear(label.clone()),
                y: Axis {
                    label: "tenant".into(),
                    scale: Scale::Categories(names.clone()),
                    range: None,
                },
                layers: vec![Layer::Bars {
                    name: label.clone(),
                    colour: m,
                    bars,
                    horizontal: true,
                }],
                legend: LegendAt::None,
            }
        })
        .collect();
    Some(Figure {
        name: "tenants".into(),
        title: "Tenants".into(),
        columns: if metrics.len() > 1 { 2 } else { 1 },
        caption: format!(
            "From summary.json: the {shown} largest tenants by GPU-hours{}.",
            if others > 0 { ", the rest summed" } else { "" }
        ),
        panels,
    })
}

/// Rack power as a heat map over time for the hottest racks (by peak), from
/// `power_levels.csv`; intervals are merged into at most [`HEAT_COLUMNS`] bins, each
/// showing the highest interval mean it covers.
fn rack_heat(t: &Table, clock: Option<&Clock>) -> Option<Figure> {
    let (Some(level), Some(name), Some(start), Some(end), Some(mean), Some(peak)) = (
        t.text("level"),
        t.text("name"),
        t.num("start_s"),
        t.num("end_s"),
        t.num("mean_kw"),
        t.num("peak_kw"),
    ) else {
        return None;
    };
    let mut racks: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in level.iter().enumerate() {
        if *l == "rack" {
            racks.entry(name[i]).or_default().push(i);
        }
    }
    if racks.is_empty() {
        return None;
    }
    let peak_of = |rows: &Vec<usize>| rows.iter().map(|&i| peak[i]).fold(0.0, f64::max);
    let mut hot: Vec<(&str, f64)> = racks.iter().map(|(n, r)| (*n, peak_of(r))).collect();
    hot.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    hot.truncate(HOT_RACKS);
    let t0 = start.iter().copied().fold(f64::INFINITY, f64::min);
    let t1 = end.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let unit = TimeUnit::for_span(t1 - t0, clock);
    let width = ((t1 - t0) / HEAT_COLUMNS as f64).max(1e-9);
    let vmax = hot
        .iter()
        .flat_map(|(n, _)| racks[n].iter().map(|&i| mean[i]))
        .fold(0.0, f64::max)
        .max(1e-9);
    let mut cells = Vec::new();
    for (row, (n, _)) in hot.iter().enumerate() {
        let mut bins: BTreeMap<usize, (f64, f64, f64)> = BTreeMap::new();
        for &i in &racks[n] {
            let b = (((start[i] - t0) / width) as usize).min(HEAT_COLUMNS - 1);
            let e = bins.entry(b).or_insert((start[i], end[i], 0.0));
            e.0 = e.0.min(start[i]);
            e.1 = e.1.max(end[i]);
            e.2 = e.2.max(mean[i]);
        }
        for (_, (a, b, v)) in bins {
            let bin = ((v / vmax) * HEAT_BINS as f64) as usize;
            cells.push((a / unit.div, b / unit.div, row, bin.min(HEAT_BINS - 1)));
        }
    }
    let step = vmax / HEAT_BINS as f64;
    let legend = (0..HEAT_BINS)
        .map(|i| format!("{:.1}–{:.1} kW", step * i as f64, step * (i + 1) as f64))
        .collect();
    let names: Vec<String> = hot.iter().map(|(n, _)| n.to_string()).collect();
    Some(Figure {
        name: "rack_power".into(),
        title: format!("Power of the {} hottest racks", names.len()),
        caption: format!(
            "From power_levels.csv: racks ranked by peak power; colour is the interval mean IT power, the highest of the intervals each of at most {HEAT_COLUMNS} time bins covers."
        ),
        columns: 1,
        panels: vec![Panel {
            title: "Mean IT power per rack and interval".into(),
            x: unit.axis(t1),
            y: Axis {
                label: "rack".into(),
                scale: Scale::Categories(names),
                range: None,
            },
            layers: vec![Layer::Heat { cells, bins: legend }],
            legend: LegendAt::UpperRight,
        }],
    })
}

/// The headline figures of `summary.json` as a two-column table.
fn headline(s: &Value) -> Vec<Vec<String>> {
    let mut t = vec![vec!["figure".to_string(), "value".to_string()]];
    let mut row = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            t.push(vec![name.to_string(), v]);
        }
    };
    let f =
        |path: &[&str], scale: f64, digits: usize| num(s, path).map(|v| format!("{:.*}", digits, v / scale));
    row("jobs", f(&["jobs"], 1.0, 0));
    row("completed", f(&["completed"], 1.0, 0));
    row("unfinished", f(&["unfinished"], 1.0, 0));
    row("makespan (h)", f(&["makespan_s"], 3600.0, 1));
    row("cluster GPUs", f(&["cluster_gpus"], 1.0, 0));
    row("GPU utilization (%)", f(&["gpu_utilization"], 0.01, 1));
    row("allocated GPU-hours", f(&["allocated_gpu_hours"], 1.0, 0));
    row("peak busy GPUs", f(&["peak_busy_gpus"], 1.0, 1));
    for (what, key) in [("wait", "wait_s"), ("JCT", "jct_s")] {
        for p in ["mean", "p50", "p95", "p99"] {
            row(&format!("{what} {p} (h)"), f(&[key, p], 3600.0, 3));
        }
    }
    row("bounded slowdown, mean", f(&["bounded_slowdown", "mean"], 1.0, 3));
    row("throughput (jobs/h)", f(&["throughput_jobs_per_hour"], 1.0, 1));
    row("mean queue length", f(&["mean_queue_length"], 1.0, 2));
    row("preemptions", f(&["preemptions"], 1.0, 0));
    row("IT energy (MWh)", f(&["power", "it_energy_mwh"], 1.0, 1));
    row(
        "facility energy (MWh)",
        f(&["power", "facility_energy_mwh"], 1.0, 1),
    );
    row("mean PUE", f(&["power", "mean_pue"], 1.0, 3));
    row("peak IT power (kW)", f(&["power", "peak_it_kw"], 1.0, 1));
    row("feed (kW)", f(&["power", "feed_kw"], 1.0, 1));
    row("hours at cap", f(&["power", "hours_at_cap"], 1.0, 1));
    t
}

/// Trace rows and jobs skipped, by reason (`summary.json`'s `rows_skipped` and
/// `jobs_skipped`); an explicit zero line when none were.
fn skipped(s: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(reasons) = s.pointer("/rows_skipped/reasons").and_then(Value::as_object) {
        for (reason, c) in reasons {
            let count = c.get("count").map(text).unwrap_or_default();
            let first = c.get("first").map(text).unwrap_or_default();
            out.push((
                format!("trace rows: {reason}"),
                format!("{count} (first at {first})"),
            ));
        }
    }
    if let Some(jobs) = s.get("jobs_skipped").and_then(Value::as_object) {
        for (reason, n) in jobs {
            out.push((format!("jobs: {reason}"), text(n)));
        }
    }
    if out.is_empty() {
        out.push(("trace rows and jobs skipped".into(), "0".into()));
    }
    out
}
