//! The hardware catalog: GPU models with datasheet figures, each naming its source.
//!
//! Topologies refer to GPUs by catalog name or alias; a topology may also define
//! models the catalog lacks (for example openb's undisclosed `G1`–`G3` types).

use serde::Serialize;

/// One GPU model and the figures the models above use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuSpec {
    /// Canonical name, e.g. `H100-SXM5`.
    pub name: String,
    /// Other names traces and node lists use for it (matched case-insensitively).
    pub aliases: Vec<String>,
    /// Maximum board power (TDP), in watts.
    pub tdp_w: f64,
    /// Power when idle, in watts.
    pub idle_w: f64,
    /// Device memory, in GiB.
    pub memory_gib: f64,
    /// Dense FP16/BF16 tensor throughput, in TFLOP/s (0 where the vendor gives none).
    pub fp16_tflops: f64,
    /// Speed relative to the nominal speed trace durations were measured at (1.0).
    pub relative_speed: f64,
    /// Where the figures come from.
    pub source: String,
}

impl GpuSpec {
    /// Whether `name` is this model's name or one of its aliases (case-insensitive).
    pub fn matches(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// The built-in catalog.
pub fn catalog() -> Vec<GpuSpec> {
    Vec::new()
}

/// Looks a model up in the built-in catalog by name or alias.
pub fn lookup(name: &str) -> Option<GpuSpec> {
    catalog().into_iter().find(|g| g.matches(name))
}
