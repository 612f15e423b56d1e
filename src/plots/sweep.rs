//! A sweep's or plan's figures: each metric against the swept key, with its 95% CI band,
//! a target line and the answer marked where the files give them.
//!
//! Read generically from the header (conventions in `docs/reports.md`):
//! `sweep_summary.csv` (one row per point): a metric `X` is a column with a companion
//! `X_ci95` (its mean is `X_mean` when present, else `X`); `X_std`, `n`, `runs`,
//! `replications` and `seeds` are not keys; the other columns are the swept keys, the
//! first numeric one on the horizontal axis and any others naming one line each.
//! `sweep.csv` (one row per run, used when there is no summary): the columns before
//! `seed` are the keys and the numeric columns after it the metrics, averaged per point
//! here with a Student-t 95% interval. A plan's probes file (`plan.csv`) reads like
//! `sweep.csv`; a column `X_target` draws the target of metric `X`, and a column `answer`
//! (1 or `true`) marks the answer.

use std::collections::BTreeMap;
use std::path::Path;

use super::draw::{Axis, Figure, Layer, LegendAt, Panel};
use super::table::Table;
use super::{Kind, PlotError, Section};
use crate::compare::Estimate;

/// Columns that count or number runs, never keys or metrics (`point` and `probe` number
/// a sweep's points and a plan's probes; `meets` is a plan's verdict).
const COUNTS: [&str; 8] = [
    "n",
    "runs",
    "replications",
    "seeds",
    "seed",
    "point",
    "probe",
    "meets",
];
/// The figures a planner reads first, drawn first when a file has them (a sweep's
/// summary holds every summary figure; the panels are limited to [`MAX_METRICS`]).
const PREFERRED: [&str; 8] = [
    "wait_s.p95",
    "wait_s.mean",
    "jct_s.mean",
    "not_running_s.mean",
    "gpu_utilization_window",
    "power.peak_facility_kw",
    "power.facility_energy_mwh",
    "bounded_slowdown.mean",
];
/// Metrics drawn at most (one panel each).
const MAX_METRICS: usize = 8;

/// One sweep point of one line: key value, mean, CI half-width.
type Point = (f64, f64, Option<f64>);

/// Points per metric and line, in key order.
struct Sweep {
    key: String,
    metrics: Vec<String>,
    /// metric → line label → points.
    lines: Vec<BTreeMap<String, Vec<Point>>>,
    /// metric → target.
    targets: Vec<Option<f64>>,
    /// Names of the keys that name the lines.
    line_keys: Vec<String>,
    /// (line label, key value) of the answer.
    answer: Option<(String, f64)>,
    source: String,
}

pub(crate) fn section(dir: &Path) -> Result<Section, PlotError> {
    let summary = dir.join("sweep_summary.csv");
    let plan = ["plan.csv", "plan_probes.csv"]
        .map(|f| dir.join(f))
        .into_iter()
        .find(|p| p.is_file());
    let runs = dir.join("sweep.csv");
    let (path, t) = if summary.is_file() {
        (summary.clone(), Table::read(&summary)?)
    } else if runs.is_file() {
        (runs.clone(), Table::read(&runs)?)
    } else {
        let p = plan
            .clone()
            .ok_or_else(|| PlotError::NotAnOutput(dir.to_path_buf()))?;
        (p.clone(), Table::read(&p)?)
    };
    // A plan's probes carry `X_ci95` columns as a sweep's summary does.
    let mut sweep = if path == summary || t.header.iter().any(|c| c.ends_with("_ci95")) {
        from_summary(&t, &path)?
    } else {
        from_runs(&t, &path)?
    };
    let is_plan = plan.as_ref() == Some(&path);
    if let Some(plan) = plan.filter(|p| *p != path) {
        let p = Table::read(&plan)?;
        mark(&mut sweep, &p);
    } else {
        mark(&mut sweep, &t);
    }
    let mut table = vec![t.header.clone()];
    table.extend(
        t.rows
            .iter()
            .take(60)
            .map(|r| r.iter().map(|c| short_number(c)).collect()),
    );
    Ok(Section {
        kind: if is_plan { Kind::Plan } else { Kind::Sweep },
        about: vec![
            (
                if is_plan { "key varied" } else { "swept key" }.into(),
                sweep.key.clone(),
            ),
            ("metrics".into(), sweep.metrics.join(", ")),
            ("points from".into(), sweep.source.clone()),
        ],
        table,
        skipped: Vec::new(),
        figures: vec![figure(&sweep)],
        missing: Vec::new(),
    })
}

fn is_num(t: &Table, col: usize) -> bool {
    t.rows
        .iter()
        .all(|r| r[col].is_empty() || r[col].trim().parse::<f64>().is_ok())
        && t.rows.iter().any(|r| !r[col].is_empty())
}

fn bad(path: &Path, message: &str) -> PlotError {
    PlotError::Bad {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// The line label of a row: its non-first keys, `k=v` joined.
fn label(t: &Table, row: &[String], keys: &[usize]) -> String {
    let parts: Vec<String> = keys
        .iter()
        .map(|&k| format!("{}={}", t.header[k], row[k]))
        .collect();
    if parts.is_empty() {
        "mean".into()
    } else {
        parts.join(", ")
    }
}

fn from_summary(t: &Table, path: &Path) -> Result<Sweep, PlotError> {
    let h = &t.header;
    let metrics: Vec<String> = h
        .iter()
        .filter_map(|c| c.strip_suffix("_ci95"))
        .filter(|m| h.iter().any(|c| c == m || *c == format!("{m}_mean")))
        .map(str::to_string)
        .collect();
    let family = |c: &str| {
        metrics
            .iter()
            .any(|m| c == m || c.strip_prefix(m.as_str()).is_some_and(|s| s.starts_with('_')))
    };
    let keys: Vec<usize> = (0..h.len())
        .filter(|&i| !family(&h[i]) && !COUNTS.contains(&h[i].as_str()) && h[i] != "answer")
        .collect();
    let x = keys
        .iter()
        .copied()
        .find(|&k| is_num(t, k))
        .ok_or_else(|| bad(path, "no numeric swept key column"))?;
    let others: Vec<usize> = keys.into_iter().filter(|&k| k != x).collect();
    let mut lines = Vec::new();
    for m in &metrics {
        let mean_col = t.col(&format!("{m}_mean")).or_else(|| t.col(m)).unwrap_or(0);
        let ci_col = t.col(&format!("{m}_ci95"));
        let mut by: BTreeMap<String, Vec<Point>> = BTreeMap::new();
        for r in &t.rows {
            let (Ok(xv), Ok(mv)) = (r[x].trim().parse::<f64>(), r[mean_col].trim().parse::<f64>()) else {
                continue;
            };
            let ci = ci_col.and_then(|c| r[c].trim().parse::<f64>().ok());
            by.entry(label(t, r, &others)).or_default().push((xv, mv, ci));
        }
        for v in by.values_mut() {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        lines.push(by);
    }
    if metrics.is_empty() {
        return Err(bad(
            path,
            "no metric columns (a metric X needs a companion X_ci95)",
        ));
    }
    let line_keys = others.iter().map(|&k| h[k].clone()).collect();
    Ok(finish(h[x].clone(), line_keys, metrics, lines, path))
}

fn from_runs(t: &Table, path: &Path) -> Result<Sweep, PlotError> {
    let h = &t.header;
    let seed = t
        .col("seed")
        .ok_or_else(|| bad(path, "expected a seed column after the swept keys"))?;
    let keys: Vec<usize> = (0..seed).collect();
    let x = keys
        .iter()
        .copied()
        .find(|&k| is_num(t, k))
        .ok_or_else(|| bad(path, "no numeric swept key column before seed"))?;
    let others: Vec<usize> = keys.into_iter().filter(|&k| k != x).collect();
    let metrics: Vec<usize> = (seed + 1..h.len())
        .filter(|&i| {
            is_num(t, i) && !h[i].ends_with("_target") && h[i] != "answer" && !COUNTS.contains(&h[i].as_str())
        })
        .collect();
    if metrics.is_empty() {
        return Err(bad(path, "no numeric metric columns after seed"));
    }
    let mut lines = Vec::new();
    for &m in &metrics {
        let mut groups: BTreeMap<(String, u64), Vec<f64>> = BTreeMap::new();
        for r in &t.rows {
            let (Ok(xv), Ok(v)) = (r[x].trim().parse::<f64>(), r[m].trim().parse::<f64>()) else {
                continue;
            };
            groups
                .entry((label(t, r, &others), xv.to_bits()))
                .or_default()
                .push(v);
        }
        let mut by: BTreeMap<String, Vec<Point>> = BTreeMap::new();
        for ((l, xb), v) in groups {
            let e = Estimate::of(&v);
            if let Some(mean) = e.mean {
                by.entry(l).or_default().push((f64::from_bits(xb), mean, e.ci95));
            }
        }
        for v in by.values_mut() {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        lines.push(by);
    }
    let names = metrics.iter().map(|&i| h[i].clone()).collect();
    let line_keys = others.iter().map(|&k| h[k].clone()).collect();
    Ok(finish(h[x].clone(), line_keys, names, lines, path))
}

fn finish(
    key: String,
    line_keys: Vec<String>,
    mut metrics: Vec<String>,
    mut lines: Vec<BTreeMap<String, Vec<Point>>>,
    path: &Path,
) -> Sweep {
    let rank = |m: &str| PREFERRED.iter().position(|p| *p == m).unwrap_or(PREFERRED.len());
    let mut order: Vec<usize> = (0..metrics.len()).collect();
    order.sort_by_key(|&i| rank(&metrics[i]));
    order.truncate(MAX_METRICS);
    let mut taken: Vec<Option<BTreeMap<String, Vec<Point>>>> = lines.drain(..).map(Some).collect();
    lines = order
        .iter()
        .map(|&i| taken[i].take().unwrap_or_default())
        .collect();
    metrics = order.iter().map(|&i| metrics[i].clone()).collect();
    Sweep {
        key,
        targets: vec![None; metrics.len()],
        line_keys,
        metrics,
        lines,
        answer: None,
        source: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// Targets (`X_target` columns) and the answer (`answer` column) from `t`.
fn mark(s: &mut Sweep, t: &Table) {
    for (m, target) in s.metrics.iter().zip(s.targets.iter_mut()) {
        *target = t
            .num(&format!("{m}_target"))
            .and_then(|v| v.into_iter().find(|x| x.is_finite()));
    }
    let (Some(ans), Some(x)) = (t.text("answer"), t.num(&s.key)) else {
        return;
    };
    if let Some(i) = ans.iter().position(|a| matches!(a.trim(), "1" | "true" | "yes")) {
        // The answer's line: its row's values of the line keys, as `label` writes them.
        let parts: Vec<String> = s
            .line_keys
            .iter()
            .filter_map(|k| t.text(k).map(|v| format!("{k}={}", v[i])))
            .collect();
        let line = if parts.is_empty() {
            "mean".to_string()
        } else {
            parts.join(", ")
        };
        s.answer = Some((line, x[i]));
    }
}

fn figure(s: &Sweep) -> Figure {
    let panels: Vec<Panel> = s
        .metrics
        .iter()
        .enumerate()
        .map(|(m, name)| {
            let mut layers = Vec::new();
            let mut all = Vec::new();
            for (i, (l, pts)) in s.lines[m].iter().enumerate() {
                if pts.iter().any(|p| p.2.is_some()) {
                    let ci = |p: &Point| p.2.unwrap_or(0.0);
                    layers.push(Layer::Band {
                        name: format!("{l}: 95% CI"),
                        colour: i,
                        upper: pts.iter().map(|p| (p.0, p.1 + ci(p))).collect(),
                        lower: pts.iter().map(|p| (p.0, p.1 - ci(p))).collect(),
                        opacity: 0.25,
                    });
                }
                layers.push(Layer::Line {
                    name: l.clone(),
                    colour: i,
                    points: pts.iter().map(|p| (p.0, p.1)).collect(),
                    dashed: false,
                });
                all.extend(pts.iter().map(|p| p.0));
            }
            let (lo, hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
            if let Some(target) = s.targets[m] {
                layers.push(Layer::Line {
                    name: format!("target {target}"),
                    colour: 5,
                    points: vec![(lo, target), (hi, target)],
                    dashed: true,
                });
            }
            if let Some((line, x)) = &s.answer {
                if let Some(y) = s.lines[m]
                    .get(line)
                    .and_then(|v| v.iter().find(|p| p.0 == *x))
                    .map(|p| p.1)
                {
                    layers.push(Layer::Marker {
                        name: format!("answer: {line}, {} = {x}", s.key),
                        colour: 8,
                        at: (*x, y),
                    });
                }
            }
            Panel {
                title: format!("{name} against {}", s.key),
                x: Axis {
                    label: s.key.clone(),
                    scale: super::draw::Scale::Linear,
                    range: (lo < hi).then_some((lo, hi)),
                },
                y: Axis::linear(name.clone()),
                layers,
                legend: LegendAt::UpperRight,
            }
        })
        .collect();
    Figure {
        name: "sweep".into(),
        title: format!("Metrics against {}", s.key),
        caption: format!(
            "From {}: mean per point with its 95% confidence band; a dashed line is the target, a dot the answer.",
            s.source
        ),
        columns: if panels.len() > 2 { 2 } else { 1 },
        panels,
    }
}

/// A table cell as shown on the page: a number with more than six significant digits
/// (`30616.608333333334`) rounded to six (`30616.6`); anything else as written. The CSV
/// files keep every digit.
fn short_number(cell: &str) -> String {
    let Ok(v) = cell.trim().parse::<f64>() else {
        return cell.to_string();
    };
    if !v.is_finite() || v == 0.0 || cell.trim().len() <= 8 {
        return cell.to_string();
    }
    let decimals = (5 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::short_number;

    /// Hand-worked: six significant digits; short cells, text and integers unchanged.
    #[test]
    fn long_numbers_are_shortened_for_the_page() {
        assert_eq!(short_number("30616.608333333334"), "30616.6");
        assert_eq!(short_number("0.0016043219876"), "0.00160432");
        assert_eq!(short_number("3600"), "3600");
        assert_eq!(short_number("12345678901"), "12345678901");
        assert_eq!(short_number("fifo"), "fifo");
        assert_eq!(short_number("1.5"), "1.5");
    }
}
