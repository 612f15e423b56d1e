//! Figures and one self-contained `report.html` for any output folder.
//!
//! [`render`] reads the files a run, comparison, sweep or budget wrote (so it works on
//! old folders too), decides what the folder holds from the files present, builds the
//! figures as plain data ([`Figure`]), draws them with `plotters` to SVG (and PNG when
//! asked) and writes `report.html` with the SVGs inline. Text is measured with an
//! embedded font (DejaVu Sans, `assets/fonts/`), so nothing is looked up on the machine.
//! Column conventions and down-sampling are documented in `docs/reports.md`.

mod budget;
mod calendar;
pub mod cdf;
mod compare;
pub mod downsample;
mod draw;
mod html;
mod run;
mod sweep;
mod table;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Once;

use crate::scenario::ScenarioConfig;

pub use draw::{Axis, Bar, Figure, Layer, LegendAt, Panel, Scale};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The folder holds none of the files a report is made from.
    #[error("{0}: not a dcsim output folder (expected summary.json with timeseries.csv or jobs.csv, compare.csv, sweep_summary.csv, sweep.csv, plan.csv or costs.csv)")]
    NotAnOutput(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file's contents are not what the report expects.
    #[error("{path}: {message}")]
    Bad {
        /// The file (with a line where known).
        path: String,
        /// What was expected.
        message: String,
    },
    /// Drawing a figure failed.
    #[error("drawing {figure}: {message}")]
    Draw {
        /// The figure's file name.
        figure: String,
        /// The backend's error.
        message: String,
    },
}

/// What a folder holds, detected from the files present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `dcsim run`: `summary.json` with `timeseries.csv` and/or `jobs.csv`.
    Run,
    /// `dcsim compare`: `compare.csv`.
    Compare,
    /// `dcsim sweep`: `sweep_summary.csv` or `sweep.csv`.
    Sweep,
    /// `dcsim plan`: `plan.csv` (or `plan_probes.csv`) without a sweep's files; drawn
    /// like a sweep, named a plan.
    Plan,
    /// `dcsim budget`: `budget.csv` (or a bill's `costs.csv`).
    Budget,
}

impl Kind {
    /// A word for headings.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::Compare => "comparison",
            Kind::Sweep => "sweep",
            Kind::Plan => "plan",
            Kind::Budget => "budget",
        }
    }
}

/// The kinds of output `dir` holds, in the order their sections appear in the report.
pub fn detect(dir: &Path) -> Vec<Kind> {
    let has = |f: &str| dir.join(f).is_file();
    let mut kinds = Vec::new();
    if has("summary.json") && (has("timeseries.csv") || has("jobs.csv")) {
        kinds.push(Kind::Run);
    }
    if has("compare.csv") {
        kinds.push(Kind::Compare);
    }
    if has("sweep_summary.csv") || has("sweep.csv") {
        kinds.push(Kind::Sweep);
    } else if has("plan.csv") || has("plan_probes.csv") {
        kinds.push(Kind::Plan);
    }
    if has("budget.csv") || has("costs.csv") {
        kinds.push(Kind::Budget);
    }
    kinds
}

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Also write each figure as PNG.
    pub png: bool,
}

/// What [`render`] wrote.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The kinds found.
    pub kinds: Vec<Kind>,
    /// Figure files written, relative to the folder (`plots/<name>.svg`, `.png`).
    pub files: Vec<String>,
    /// Figures that could not be made from this folder, with the reason (e.g. a file a
    /// figure needs is absent); the report lists them too.
    pub missing: Vec<String>,
}

/// Subdirectory of the output folder that holds the figures.
pub const PLOTS_DIR: &str = "plots";

/// Embedded font (DejaVu Sans, Bitstream Vera license, `assets/fonts/`): used to measure
/// and, for PNG, draw text, so no system font is needed.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Font family name the figures use (registered from [`FONT`]).
pub(crate) const FAMILY: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and known to parse (tests render with it).
        let _ = plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, FONT);
    });
}

/// The figures and report sections of one kind.
pub(crate) struct Section {
    pub kind: Kind,
    /// Key–value lines describing what ran (scenario, topology, …).
    pub about: Vec<(String, String)>,
    /// A table of headline figures: header row then rows.
    pub table: Vec<Vec<String>>,
    /// Skipped rows and jobs by reason (runs only).
    pub skipped: Vec<(String, String)>,
    pub figures: Vec<Figure>,
    pub missing: Vec<String>,
}

/// Builds the figures of `dir` without drawing them (what tests inspect, and what
/// [`render`] draws).
pub fn figures(dir: &Path) -> Result<Vec<Figure>, PlotError> {
    Ok(sections(dir)?.into_iter().flat_map(|s| s.figures).collect())
}

fn sections(dir: &Path) -> Result<Vec<Section>, PlotError> {
    let kinds = detect(dir);
    if kinds.is_empty() {
        return Err(PlotError::NotAnOutput(dir.to_path_buf()));
    }
    kinds
        .iter()
        .map(|k| match k {
            Kind::Run => run::section(dir),
            Kind::Compare => compare::section(dir),
            Kind::Sweep | Kind::Plan => sweep::section(dir),
            Kind::Budget => budget::section(dir),
        })
        .collect()
}

/// Renders every figure of `dir` into `dir/plots/` and writes `dir/report.html`.
/// Replaces an earlier report in the same folder (a report is derived, never results).
pub fn render(dir: &Path, opts: Options) -> Result<Rendered, PlotError> {
    register_font();
    let sections = sections(dir)?;
    let plots = dir.join(PLOTS_DIR);
    fs::create_dir_all(&plots).map_err(|source| PlotError::Io {
        path: plots.clone(),
        source,
    })?;
    let mut files = Vec::new();
    let mut svgs = Vec::new();
    for s in &sections {
        let mut drawn = Vec::new();
        for f in &s.figures {
            let svg = draw::svg(f)?;
            let path = plots.join(format!("{}.svg", f.name));
            write(&path, svg.as_bytes())?;
            files.push(format!("{PLOTS_DIR}/{}.svg", f.name));
            if opts.png {
                let png = plots.join(format!("{}.png", f.name));
                draw::png(f, &png)?;
                files.push(format!("{PLOTS_DIR}/{}.png", f.name));
            }
            drawn.push(svg);
        }
        svgs.push(drawn);
    }
    let page = html::page(dir, &sections, &svgs);
    write(&dir.join("report.html"), page.as_bytes())?;
    Ok(Rendered {
        kinds: sections.iter().map(|s| s.kind).collect(),
        files,
        missing: sections.into_iter().flat_map(|s| s.missing).collect(),
    })
}

/// The workload of a scenario in a few words, for reports: `format: file, …` for a
/// trace, `synthetic` (with the trace it resamples from) for a generated one.
pub fn workload_label(cfg: &ScenarioConfig) -> String {
    let w = &cfg.workload;
    let mut files: Vec<String> = w
        .path
        .iter()
        .chain(&w.paths)
        .map(|p| p.display().to_string())
        .collect();
    if let Some(e) = &w.empirical {
        files.push(format!("resampled from {} {}", e.format, e.path.display()));
    }
    if files.is_empty() {
        w.format.clone()
    } else {
        format!("{}: {}", w.format, files.join(", "))
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    fs::write(path, bytes).map_err(|source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    })
}
