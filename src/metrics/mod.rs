//! What a run measured: one record per job, piecewise-constant time series written at
//! change points, and the summary statistics computed from them.

mod binned;
mod config;
mod durations;
mod figures;
mod recorder;
mod records;
mod series;
mod sink;
mod sketch;
mod stats;
mod summary;

pub use binned::{BinnedSeries, Stat, BASE_QUANTITIES};
pub use config::MetricsConfig;
pub use durations::Durations;
pub use figures::{FigureDistributions, JobFigures, EXACT_JOBS};
pub use recorder::{
    OutputLevel, Recording, RecordingError, SeriesFigures, SeriesRecorder, SeriesResolution, WindowIntegral,
};
pub use records::{JobRecord, Outcome, Segment};
pub use series::TimeSeries;
pub use sink::TableSink;
pub use sketch::{LogSketch, RELATIVE_ERROR};
pub use stats::{percentile, Distribution};
pub use summary::{Summary, SummaryBuilder, TenantSummary, UtilizationWindow};
