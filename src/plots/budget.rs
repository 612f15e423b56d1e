//! A budget's figures (one row per month; conventions in `docs/reports.md`): monthly cost
//! stacked by component (the `*_usd` columns but `total_usd`) and peak power against the
//! feed (`peak_kw`, `feed_kw`) from the bill's `costs.csv`, and GPUs installed
//! (`gpus_installed`) from `dcsim budget`'s `budget.csv`; either file alone serves for both.

use std::path::Path;

use super::draw::{Axis, Bar, Figure, Layer, LegendAt, Panel, Scale};
use super::table::Table;
use super::{Kind, PlotError, Section};

pub(crate) fn section(dir: &Path) -> Result<Section, PlotError> {
    let pick = |first: &'static str, second: &'static str| {
        if dir.join(first).is_file() {
            first
        } else {
            second
        }
    };
    let (file, fleet_file) = (pick("costs.csv", "budget.csv"), pick("budget.csv", "costs.csv"));
    let t = Table::read(&dir.join(file))?;
    let fleet = if fleet_file == file {
        None
    } else {
        Some(Table::read(&dir.join(fleet_file))?)
    };
    let months_of = |t: &Table| -> Vec<String> {
        t.text("month")
            .map(|v| v.iter().map(|s| s.to_string()).collect())
            .unwrap_or_else(|| (1..=t.rows.len()).map(|i| i.to_string()).collect())
    };
    let months = months_of(&t);
    let month_axis_of = |months: Vec<String>| Axis {
        label: "month".into(),
        scale: Scale::Categories(months),
        range: None,
    };
    let month_axis = || month_axis_of(months.clone());
    let components: Vec<&String> = t
        .header
        .iter()
        .filter(|h| h.ends_with("_usd") && !h.starts_with("total"))
        .collect();
    let mut panels = Vec::new();
    let mut missing = Vec::new();
    if components.is_empty() {
        missing.push(format!("monthly cost: {file} has no <component>_usd columns"));
    } else {
        let mut below = vec![0.0; months.len()];
        let mut layers = Vec::new();
        for (k, c) in components.iter().enumerate() {
            let v = t.num(c).unwrap_or_default();
            let bars = (0..months.len())
                .map(|i| {
                    let lo = below[i];
                    if v[i].is_finite() {
                        below[i] += v[i];
                    }
                    Bar {
                        at: i as f64,
                        lo: lo / 1e3,
                        hi: below[i] / 1e3,
                        ci: None,
                    }
                })
                .collect();
            layers.push(Layer::Bars {
                name: c.trim_end_matches("_usd").replace('_', " "),
                colour: k,
                bars,
                horizontal: false,
            });
        }
        panels.push(Panel {
            title: "Monthly cost by component (stacked)".into(),
            x: month_axis(),
            y: Axis::linear("cost (thousand $)"),
            layers,
            legend: LegendAt::UpperLeft,
        });
    }
    let line_of = |t: &Table, col: &str, name: &str, colour: usize, dashed: bool| {
        t.num(col).map(|v| Layer::Line {
            name: name.to_string(),
            colour,
            points: v
                .iter()
                .enumerate()
                .filter(|(_, y)| y.is_finite())
                .map(|(i, &y)| (i as f64, y))
                .collect(),
            dashed,
        })
    };
    let line = |col: &str, name: &str, colour: usize, dashed: bool| line_of(&t, col, name, colour, dashed);
    let ft = fleet.as_ref().unwrap_or(&t);
    match line_of(ft, "gpus_installed", "GPUs installed", 0, false) {
        Some(l) => panels.push(Panel {
            title: "GPUs installed".into(),
            x: month_axis_of(months_of(ft)),
            y: Axis::linear("GPUs"),
            layers: vec![l],
            legend: LegendAt::UpperLeft,
        }),
        None => missing.push(format!(
            "GPUs installed: {fleet_file} has no gpus_installed column"
        )),
    }
    let power: Vec<Layer> = [
        line("peak_kw", "peak IT power", 5, false),
        line("feed_kw", "feed", 8, true),
    ]
    .into_iter()
    .flatten()
    .collect();
    if power.is_empty() {
        missing.push(format!("peak power: {file} has no peak_kw column"));
    } else {
        panels.push(Panel {
            title: "Peak power against the feed".into(),
            x: month_axis(),
            y: Axis::linear("power (kW)"),
            layers: power,
            legend: LegendAt::UpperLeft,
        });
    }
    let mut table = vec![ft.header.clone()];
    table.extend(ft.rows.iter().take(120).cloned());
    let figures = if panels.is_empty() {
        Vec::new()
    } else {
        vec![Figure {
            name: "budget".into(),
            title: "Budget by month".into(),
            caption: if fleet.is_some() {
                format!("From {file} (cost, power) and {fleet_file} (GPUs).")
            } else {
                format!("From {file}.")
            },
            columns: 1,
            panels,
        }]
    };
    Ok(Section {
        kind: Kind::Budget,
        about: vec![("months".into(), months.len().to_string())],
        table,
        skipped: Vec::new(),
        figures,
        missing,
    })
}
