//! A comparison's figures, from `compare.csv`, `compare_quantiles.csv` and
//! `compare.json`: one colour per policy pair (its row in `compare.csv`) in every figure.

use std::path::Path;

use serde_json::Value;

use super::draw::{Axis, Bar, Figure, Layer, LegendAt, Panel, Scale};
use super::run::{cdf_axes, cdf_line, read_json};
use super::table::Table;
use super::{Kind, PlotError, Section};

/// Headline figures drawn as bars: column, label, divisor.
const BARS: [(&str, &str, f64); 6] = [
    ("jct_mean_s", "mean JCT (h)", 3600.0),
    ("jct_p95_s", "p95 JCT (h)", 3600.0),
    ("wait_mean_s", "mean wait (h)", 3600.0),
    ("bounded_slowdown_mean", "mean bounded slowdown", 1.0),
    ("gpu_utilization", "GPU utilization (%)", 0.01),
    ("fairness_jain", "Jain's fairness index", 1.0),
];

pub(crate) fn section(dir: &Path) -> Result<Section, PlotError> {
    let c = Table::read(&dir.join("compare.csv"))?;
    let names: Vec<String> = c
        .text("name")
        .map(|v| v.iter().map(|s| s.to_string()).collect())
        .unwrap_or_else(|| (0..c.rows.len()).map(|i| format!("policy {}", i + 1)).collect());
    let mut about = Vec::new();
    let meta_path = dir.join("compare.json");
    if meta_path.is_file() {
        let meta = read_json(&meta_path)?;
        // In reading order (JSON objects come back sorted by key).
        for key in [
            "scenario",
            "description",
            "topology",
            "workload",
            "queue_policies",
            "placements",
            "replications",
            "seed",
            "dcsim_version",
        ] {
            let v = match meta.get(key) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string()))
                    .collect::<Vec<_>>()
                    .join(", "),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            if !v.is_empty() {
                about.push((key.replace('_', " "), v));
            }
        }
    }
    about.push(("policy pairs".into(), names.join(", ")));

    let mut figures = Vec::new();
    let mut missing = Vec::new();
    let q_path = dir.join("compare_quantiles.csv");
    if q_path.is_file() {
        figures.push(cdfs(&Table::read(&q_path)?, &names, &q_path)?);
    } else {
        missing.push("per-policy CDFs: compare_quantiles.csv absent (written by dcsim compare since the report was added)".to_string());
    }
    figures.push(bars(&c, &names));
    Ok(Section {
        kind: Kind::Compare,
        about,
        table: table(&c, &names),
        skipped: Vec::new(),
        figures,
        missing,
    })
}

/// One line per policy on the wait and JCT CDFs.
fn cdfs(q: &Table, names: &[String], path: &Path) -> Result<Figure, PlotError> {
    let (Some(name), Some(metric), Some(value)) = (q.text("name"), q.text("metric"), q.num("value_s")) else {
        return Err(PlotError::Bad {
            path: path.display().to_string(),
            message: "expected columns name, metric, value_s".into(),
        });
    };
    let mut panels = Vec::new();
    for (key, what, legend) in [
        ("wait", "wait", LegendAt::LowerRight),
        ("jct", "job completion time", LegendAt::UpperLeft),
    ] {
        let mut layers = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let v: Vec<f64> = (0..value.len())
                .filter(|&r| name[r] == n && metric[r] == key)
                .map(|r| value[r])
                .collect();
            if !v.is_empty() {
                layers.push(cdf_line(n.clone(), i, &v));
            }
        }
        let (x, y) = cdf_axes(what);
        panels.push(Panel {
            title: format!("CDF of {what}, one line per policy"),
            x,
            y,
            layers,
            legend,
        });
    }
    Ok(Figure {
        name: "compare_cdf".into(),
        title: "Waits and completion times by policy".into(),
        caption: "From compare_quantiles.csv: each policy's quantiles, averaged over replications quantile by quantile.".into(),
        panels,
        columns: 1,
    })
}

/// Bars with 95% intervals for the headline figures.
fn bars(c: &Table, names: &[String]) -> Figure {
    let cats = Scale::Categories(names.to_vec());
    let panels = BARS
        .iter()
        .filter_map(|&(col, label, div)| {
            let mean = c.num(col)?;
            if mean.iter().all(|v| v.is_nan()) {
                return None;
            }
            let ci = c.num(&format!("{col}_ci95")).unwrap_or_default();
            let layers = (0..names.len())
                .map(|i| Layer::Bars {
                    name: names[i].clone(),
                    colour: i,
                    bars: vec![Bar {
                        at: i as f64,
                        lo: 0.0,
                        hi: if mean[i].is_nan() { 0.0 } else { mean[i] / div },
                        ci: ci.get(i).copied().filter(|v| v.is_finite()).map(|v| v / div),
                    }],
                    horizontal: true,
                })
                .collect();
            Some(Panel {
                title: label.to_string(),
                x: Axis::linear(label),
                y: Axis {
                    label: "policy".into(),
                    scale: cats.clone(),
                    range: None,
                },
                layers,
                legend: LegendAt::None,
            })
        })
        .collect();
    Figure {
        name: "compare_bars".into(),
        title: "Headline figures by policy (whiskers: 95% CI)".into(),
        caption: "From compare.csv: mean over replications; whiskers span the 95% confidence interval (Student t) where there are several replications.".into(),
        columns: 2,
        panels,
    }
}

fn table(c: &Table, names: &[String]) -> Vec<Vec<String>> {
    let mut header = vec!["policy".to_string(), "replications".to_string()];
    header.extend(BARS.iter().map(|b| b.1.to_string()));
    let mut t = vec![header];
    let reps = c.text("replications").unwrap_or_default();
    for (i, n) in names.iter().enumerate() {
        let mut row = vec![n.clone(), reps.get(i).map(|s| s.to_string()).unwrap_or_default()];
        for &(col, _, div) in &BARS {
            let m = c.num(col).and_then(|v| v.get(i).copied()).unwrap_or(f64::NAN);
            let ci = c.num(&format!("{col}_ci95")).and_then(|v| v.get(i).copied());
            row.push(match (m.is_nan(), ci.filter(|c| c.is_finite())) {
                (true, _) => "—".into(),
                (false, Some(ci)) => format!("{:.3} ± {:.3}", m / div, ci / div),
                (false, None) => format!("{:.3}", m / div),
            });
        }
        t.push(row);
    }
    t
}
