//! Figures as data ([`Figure`] ▸ [`Panel`] ▸ [`Layer`]) and one drawing routine for any
//! `plotters` backend, so SVG and PNG come from the same code and tests can check a
//! figure's series without parsing pictures.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{PlotError, FAMILY};

/// Width of every figure, pixels (SVG user units).
pub const WIDTH: u32 = 960;
/// Height of one panel, pixels.
pub const PANEL_HEIGHT: u32 = 320;
/// Height of the figure title strip, pixels.
const TITLE_HEIGHT: u32 = 44;
/// Pixel columns of a panel's plotting area, about: time series are down-sampled to this.
pub const COLUMNS: usize = 800;

/// One figure: a title and panels stacked vertically, written as `plots/<name>.svg`.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File stem.
    pub name: String,
    /// Title drawn at the top (and used as the report's heading).
    pub title: String,
    /// A sentence for the report: what is drawn and how it was reduced.
    pub caption: String,
    /// Panels, left to right then top to bottom.
    pub panels: Vec<Panel>,
    /// Panels per row (1 or 2).
    pub columns: usize,
}

/// One chart: axes and the layers drawn on them.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Panel caption.
    pub title: String,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// Layers, drawn in order.
    pub layers: Vec<Layer>,
    /// Where the legend goes.
    pub legend: LegendAt,
}

/// Legend placement inside a panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegendAt {
    /// Top right.
    UpperRight,
    /// Top left.
    UpperLeft,
    /// Bottom right.
    LowerRight,
    /// No legend.
    None,
}

/// An axis: its label (with unit), how values are shown, and an optional fixed range.
#[derive(Debug, Clone)]
pub struct Axis {
    /// Label, with the unit in parentheses.
    pub label: String,
    /// How tick values are written.
    pub scale: Scale,
    /// Fixed range; otherwise the data's (from 0 for non-negative data).
    pub range: Option<(f64, f64)>,
}

impl Axis {
    /// A linear axis with an automatic range.
    pub fn linear(label: impl Into<String>) -> Axis {
        Axis {
            label: label.into(),
            scale: Scale::Linear,
            range: None,
        }
    }
}

/// How an axis's values are written.
#[derive(Debug, Clone, PartialEq)]
pub enum Scale {
    /// Numbers as they are.
    Linear,
    /// Values are log10 of seconds (plotted linearly); ticks read as durations.
    LogSeconds,
    /// Values are indices into these names (bars, heat-map rows).
    Categories(Vec<String>),
    /// Values are times in units of `div` seconds after `epoch` (the trace clock's
    /// reading at time 0); ticks read as calendar dates ([`super::calendar`]).
    Calendar {
        /// The trace clock at value 0.
        epoch: chrono::NaiveDateTime,
        /// Seconds per unit of value (3600 for hours, 86,400 for days).
        div: f64,
    },
}

/// One bar (vertical or horizontal): its category position and extent, and an optional
/// 95% interval half-width drawn as a whisker at `hi`.
#[derive(Debug, Clone, Copy)]
pub struct Bar {
    /// Category index.
    pub at: f64,
    /// Bottom (stacked bars start at the previous top).
    pub lo: f64,
    /// Top.
    pub hi: f64,
    /// Half-width of the 95% interval around `hi`.
    pub ci: Option<f64>,
}

/// Something drawn on a panel. Every named layer gets a legend entry.
#[derive(Debug, Clone)]
pub enum Layer {
    /// A polyline.
    Line {
        /// Legend entry.
        name: String,
        /// Colour index ([`colour`]).
        colour: usize,
        /// Points in data coordinates.
        points: Vec<(f64, f64)>,
        /// Dashed (caps, targets) or solid.
        dashed: bool,
    },
    /// A filled region between two polylines (stacked areas, confidence bands).
    Band {
        /// Legend entry.
        name: String,
        /// Colour index.
        colour: usize,
        /// Upper boundary, left to right.
        upper: Vec<(f64, f64)>,
        /// Lower boundary, left to right.
        lower: Vec<(f64, f64)>,
        /// Fill opacity, 0..1.
        opacity: f64,
    },
    /// Bars of one series.
    Bars {
        /// Legend entry.
        name: String,
        /// Colour index.
        colour: usize,
        /// The bars.
        bars: Vec<Bar>,
        /// Categories on the vertical axis (bars grow to the right).
        horizontal: bool,
    },
    /// A marked point (e.g. a plan's answer).
    Marker {
        /// Legend entry.
        name: String,
        /// Colour index.
        colour: usize,
        /// Where.
        at: (f64, f64),
    },
    /// Heat-map cells `(x0, x1, row, bin)`: bin indexes `bins` (colours of a sequential
    /// scale, one legend entry each).
    Heat {
        /// Cells.
        cells: Vec<(f64, f64, usize, usize)>,
        /// Legend text of each colour bin, lowest first.
        bins: Vec<String>,
    },
}

impl Layer {
    /// The legend entries this layer adds.
    pub fn names(&self) -> Vec<String> {
        match self {
            Layer::Line { name, .. }
            | Layer::Band { name, .. }
            | Layer::Bars { name, .. }
            | Layer::Marker { name, .. } => vec![name.clone()],
            Layer::Heat { bins, .. } => bins.clone(),
        }
    }
}

/// Qualitative palette (colour-blind-safe hues): series `i` is `PALETTE[i % len]`, so a
/// policy keeps its colour in every figure.
const PALETTE: [(u8, u8, u8); 10] = [
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (213, 94, 0),
    (120, 120, 120),
    (240, 228, 66),
    (60, 60, 60),
    (150, 86, 200),
];

/// Colour of series `i`.
pub fn colour(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// Sequential scale for heat maps, light to dark (low to high power).
const HEAT: [(u8, u8, u8); 5] = [
    (255, 247, 188),
    (254, 196, 79),
    (236, 112, 20),
    (204, 76, 2),
    (102, 37, 6),
];

/// Number of heat-map colour bins.
pub const HEAT_BINS: usize = HEAT.len();

fn heat(i: usize) -> RGBColor {
    let (r, g, b) = HEAT[i.min(HEAT.len() - 1)];
    RGBColor(r, g, b)
}

/// Draws `fig` as an SVG document.
pub fn svg(fig: &Figure) -> Result<String, PlotError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height(fig))).into_drawing_area();
        draw(fig, &root)?;
    }
    Ok(out)
}

/// Draws `fig` as a PNG file (text drawn with the embedded font).
pub fn png(fig: &Figure, path: &Path) -> Result<(), PlotError> {
    let root = BitMapBackend::new(path, (WIDTH, height(fig))).into_drawing_area();
    draw(fig, &root)
}

fn rows(fig: &Figure) -> usize {
    fig.panels.len().max(1).div_ceil(fig.columns.max(1))
}

fn height(fig: &Figure) -> u32 {
    TITLE_HEIGHT + PANEL_HEIGHT * rows(fig) as u32
}

fn draw<DB: DrawingBackend>(fig: &Figure, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| PlotError::Draw {
        figure: fig.name.clone(),
        message: e.to_string(),
    };
    root.fill(&WHITE).map_err(err)?;
    let body = root
        .titled(&fig.title, (FAMILY, 22).into_font().color(&BLACK))
        .map_err(err)?;
    let areas = body.split_evenly((rows(fig), fig.columns.max(1)));
    for (p, area) in fig.panels.iter().zip(&areas) {
        panel(p, area).map_err(err)?;
    }
    root.present().map_err(err)
}

/// The data range of a panel's layers along one axis (`x` or `y`).
fn extent(p: &Panel, along_x: bool) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut see = |v: f64| {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    };
    for l in &p.layers {
        match l {
            Layer::Line { points, .. } => points.iter().for_each(|&(x, y)| see(if along_x { x } else { y })),
            Layer::Band { upper, lower, .. } => upper
                .iter()
                .chain(lower)
                .for_each(|&(x, y)| see(if along_x { x } else { y })),
            Layer::Marker { at, .. } => see(if along_x { at.0 } else { at.1 }),
            Layer::Bars { bars, horizontal, .. } => {
                for b in bars {
                    if along_x == *horizontal {
                        see(b.lo);
                        see(b.hi + b.ci.unwrap_or(0.0));
                    } else {
                        see(b.at);
                    }
                }
            }
            Layer::Heat { cells, .. } => {
                for &(x0, x1, row, _) in cells {
                    if along_x {
                        see(x0);
                        see(x1);
                    } else {
                        see(row as f64);
                    }
                }
            }
        }
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    (lo, hi)
}

/// The drawn range of an axis: fixed, or the data's, from 0 when the data are
/// non-negative, with `headroom` (a fraction of the span) above; categories span their
/// whole slots.
fn range(axis: &Axis, (lo, hi): (f64, f64), headroom: f64) -> (f64, f64) {
    if let Some(r) = axis.range {
        return r;
    }
    match &axis.scale {
        Scale::Categories(names) => (-0.5, names.len().max(1) as f64 - 0.5),
        Scale::LogSeconds => (lo.min(0.0), hi.max(lo + 1.0)),
        Scale::Linear | Scale::Calendar { .. } => {
            let lo = if lo >= 0.0 { 0.0 } else { lo };
            let hi = if hi > lo {
                hi + (hi - lo) * headroom
            } else {
                lo + 1.0
            };
            (lo, hi)
        }
    }
}

/// Headroom above the data (a fraction of the data's span) that leaves a legend in an
/// upper corner clear of it: the legend box takes about 14 px plus 18 px per entry of a
/// plotting area about 230 px high.
fn legend_room(p: &Panel) -> f64 {
    let entries = p.layers.iter().map(|l| l.names().len()).sum::<usize>() as f64;
    let share = ((14.0 + 18.0 * entries) / 230.0).min(0.6);
    share / (1.0 - share)
}

/// Tick positions of a log-seconds axis, with their labels.
const ROUND_DURATIONS: [(f64, &str); 10] = [
    (1.0, "1 s"),
    (10.0, "10 s"),
    (60.0, "1 min"),
    (600.0, "10 min"),
    (3600.0, "1 h"),
    (36_000.0, "10 h"),
    (86_400.0, "1 d"),
    (604_800.0, "1 wk"),
    (2_592_000.0, "30 d"),
    (31_536_000.0, "1 y"),
];

/// Writes a tick value for `scale` (log-seconds axes get their own ticks, see
/// [`ROUND_DURATIONS`]).
pub fn tick(scale: &Scale, v: f64, span: f64) -> String {
    match scale {
        Scale::Linear => number(v, span),
        Scale::LogSeconds | Scale::Calendar { .. } => String::new(),
        Scale::Categories(names) => {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
    }
}

/// A tick value on an axis spanning `span`, with the decimals that tell ticks about a
/// tenth of the span apart (so 1.12 and 1.13 do not both read 1.1).
pub fn number(v: f64, span: f64) -> String {
    let a = v.abs();
    if a < span * 1e-9 {
        return "0".into();
    }
    if a >= 1e6 && span >= 1e5 {
        return format!("{:.1}M", v / 1e6);
    }
    if a >= 1e4 && span >= 1e4 {
        return format!("{:.0}k", v / 1e3);
    }
    let step = span / 10.0;
    let decimals = if step > 0.0 {
        (-step.log10()).ceil().clamp(0.0, 6.0) as usize
    } else {
        0
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn panel<DB: DrawingBackend>(
    p: &Panel,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    // Room above the data for a legend in an upper corner, so it covers none of it.
    let upper = matches!(p.legend, LegendAt::UpperRight | LegendAt::UpperLeft);
    // Time runs edge to edge; values along x (horizontal bars) get a margin.
    let bars_x = p
        .layers
        .iter()
        .any(|l| matches!(l, Layer::Bars { horizontal: true, .. }));
    let (x0, mut x1) = range(&p.x, extent(p, true), if bars_x { 0.05 } else { 0.0 });
    let data_x1 = x1;
    let (y0, y1) = range(&p.y, extent(p, false), if upper { legend_room(p) } else { 0.05 });
    let has_heat = p.layers.iter().any(|l| matches!(l, Layer::Heat { .. }));
    if has_heat {
        // A heat map fills its rows: its legend goes in a strip to the right instead.
        x1 += (x1 - x0) * 0.25;
    }
    let y_label_width = match &p.y.scale {
        Scale::Categories(names) => {
            24 + 8 * names.iter().map(|n| n.chars().count()).max().unwrap_or(4) as u32
        }
        _ => 72,
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FAMILY, 17))
        .margin(8)
        .margin_right(24)
        .x_label_area_size(46)
        .y_label_area_size(y_label_width.min(260))
        .build_cartesian_2d(x0..x1, y0..y1)?;
    // Categories on the vertical axis read top to bottom: index i is drawn at n − 1 − i.
    let flip = match &p.y.scale {
        Scale::Categories(names) => Some(names.len() as f64 - 1.0),
        _ => None,
    };
    let row = |i: f64| flip.map_or(i, |top| top - i);
    let xfmt = |v: &f64| {
        if *v > data_x1 + 1e-9 {
            String::new()
        } else {
            tick(&p.x.scale, *v, x1 - x0)
        }
    };
    let yfmt = |v: &f64| tick(&p.y.scale, row(*v), y1 - y0);
    let labels = |s: &Scale, default: usize| match s {
        Scale::Categories(names) => names.len() + 2,
        _ => default,
    };
    // Ticks drawn here rather than by plotters: round durations on log-seconds axes
    // (plotters would put them at powers of ten of seconds), round calendar instants on
    // date axes.
    let own_ticks: Option<Vec<(f64, String)>> = match &p.x.scale {
        Scale::LogSeconds => Some(
            ROUND_DURATIONS
                .iter()
                .map(|&(s, text)| (s.log10(), text.to_string()))
                .collect(),
        ),
        Scale::Calendar { epoch, div } => Some(super::calendar::ticks(*epoch, *div, x0, data_x1)),
        _ => None,
    };
    let mut mesh = chart.configure_mesh();
    if own_ticks.is_some() {
        mesh.disable_x_mesh();
    }
    mesh.x_desc(p.x.label.as_str())
        .y_desc(p.y.label.as_str())
        .x_labels(labels(&p.x.scale, 10))
        .y_labels(labels(&p.y.scale, 8))
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    let base = area.get_base_pixel();
    for (x, text) in own_ticks.iter().flatten() {
        let x = *x;
        if x < x0 || x > x1 {
            continue;
        }
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, y0), (x, y1)],
            RGBColor(215, 215, 215),
        )))?;
        let (px, py) = chart.backend_coord(&(x, y0));
        let style = TextStyle::from((FAMILY, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(text.as_str(), (px - base.0, py - base.1 + 8), style))?;
    }
    for layer in &p.layers {
        match layer {
            Layer::Line {
                name,
                colour: c,
                points,
                dashed,
            } => {
                let style = colour(*c).stroke_width(2);
                let anno = if *dashed {
                    chart.draw_series(DashedLineSeries::new(points.iter().copied(), 8, 5, style))?
                } else {
                    chart.draw_series(LineSeries::new(points.iter().copied(), style))?
                };
                anno.label(name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            }
            Layer::Band {
                name,
                colour: c,
                upper,
                lower,
                opacity,
            } => {
                let fill = colour(*c).mix(*opacity).filled();
                let poly: Vec<(f64, f64)> = upper.iter().chain(lower.iter().rev()).copied().collect();
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, fill)))?
                    .label(name.as_str())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], fill));
            }
            Layer::Bars {
                name,
                colour: c,
                bars,
                horizontal,
            } => {
                let fill = colour(*c).filled();
                let h = *horizontal;
                let rect = |b: &Bar| {
                    let at = if h { row(b.at) } else { b.at };
                    let (a0, a1) = (at - 0.35, at + 0.35);
                    if h {
                        Rectangle::new([(b.lo, a0), (b.hi, a1)], fill)
                    } else {
                        Rectangle::new([(a0, b.lo), (a1, b.hi)], fill)
                    }
                };
                chart
                    .draw_series(bars.iter().map(rect))?
                    .label(name.as_str())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], fill));
                let whisker = |b: &Bar| {
                    let ci = b.ci.unwrap_or(0.0);
                    let (v0, v1) = (b.hi - ci, b.hi + ci);
                    let cap = 0.15;
                    let pts = if h {
                        let at = row(b.at);
                        vec![
                            (v0, at - cap),
                            (v0, at + cap),
                            (v0, at),
                            (v1, at),
                            (v1, at - cap),
                            (v1, at + cap),
                        ]
                    } else {
                        vec![
                            (b.at - cap, v0),
                            (b.at + cap, v0),
                            (b.at, v0),
                            (b.at, v1),
                            (b.at - cap, v1),
                            (b.at + cap, v1),
                        ]
                    };
                    PathElement::new(pts, BLACK.stroke_width(1))
                };
                chart.draw_series(bars.iter().filter(|b| b.ci.is_some_and(|c| c > 0.0)).map(whisker))?;
            }
            Layer::Marker { name, colour: c, at } => {
                let style = colour(*c).filled();
                chart
                    .draw_series(std::iter::once(Circle::new(*at, 7, style)))?
                    .label(name.as_str())
                    .legend(move |(x, y)| Circle::new((x + 9, y), 5, style));
            }
            Layer::Heat { cells, bins } => {
                chart.draw_series(cells.iter().map(|&(a, b, i, bin)| {
                    let r = row(i as f64);
                    Rectangle::new([(a, r - 0.5), (b, r + 0.5)], heat(bin).filled())
                }))?;
                for (i, text) in bins.iter().enumerate() {
                    // Legend entries for the colour bins: an empty series carries each.
                    let fill = heat(i).filled();
                    chart
                        .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                        .label(text.as_str())
                        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], fill));
                }
            }
        }
    }
    let position = match p.legend {
        LegendAt::UpperRight => Some(SeriesLabelPosition::UpperRight),
        LegendAt::UpperLeft => Some(SeriesLabelPosition::UpperLeft),
        LegendAt::LowerRight => Some(SeriesLabelPosition::LowerRight),
        LegendAt::None => None,
    };
    if let Some(position) = position {
        chart
            .configure_series_labels()
            .position(position)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font((FAMILY, 13))
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tick text: categories label only whole indices; numbers carry the decimals their
    /// axis's span needs.
    #[test]
    fn tick_text() {
        let cats = Scale::Categories(vec!["a".into(), "b".into()]);
        assert_eq!(tick(&cats, 1.0, 2.0), "b");
        assert_eq!(tick(&cats, 0.5, 2.0), "");
        assert_eq!(tick(&Scale::LogSeconds, 2.0, 4.0), "");
        assert_eq!(number(12_400.0, 50_000.0), "12k");
        assert_eq!(number(0.25, 0.5), "0.25");
        assert_eq!(number(1.125, 0.05), "1.125");
        assert_eq!(number(1.13, 0.05), "1.13");
        assert_eq!(number(400.0, 1000.0), "400");
    }
}
