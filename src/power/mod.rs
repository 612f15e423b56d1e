//! Power: a GPU power model, the power tree (feed ▸ hall ▸ row ▸ rack) with caps,
//! admission control or oversubscription with throttling, and exact energy accounting.
//!
//! - [`model`]: GPU power at utilization u, idle + (TDP − idle)·f(u), f linear or the
//!   empirical 2u − u^1.4 of Fan, Weber and Barroso (ISCA 2007); a capped GPU's speed.
//! - [`tree`]: the static power tree built from a cluster and its topology's power keys.
//! - [`run`]: the state during a run: job power, caps, throttling, energy integrals.
//! - [`levels`]: per-interval mean and peak power of every hall, row and rack.
//! - [`loads`]: inference services' replicas, drawing power under the caps beside jobs.
//! - [`output`]: the `power` section of `summary.json` and the `power.csv` series.
//!
//! Power is off unless a scenario has a `[power]` section with `mode` other than
//! `off`; with it off nothing in a run or its outputs changes.
//!
//! Attribution rule (per-job energy): a job is charged, on every node it holds, the
//! node's base power and its GPUs' idle power in proportion to the GPU share it holds
//! there (its thousandths of a GPU over the node's), plus the dynamic power (above idle)
//! of its own GPU shares. Whatever no job holds is idle energy; rack and row equipment
//! is overhead energy; IT energy = Σ jobs + idle + overheads, exactly (to float rounding).
//! A GPU shared by several jobs draws idle + Σ share·(P(u_job) − idle): linear in the
//! shares, an approximation of the non-linear curve at the GPU's summed utilization.

mod hooks;
pub mod levels;
pub mod loads;
pub mod model;
pub mod output;
pub mod run;
pub mod tree;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::facility::FacilityConfig;
use crate::workload::JobKind;

pub use levels::{LevelRow, PowerLevels};
pub use loads::{LoadChange, LoadFactor, LoadLink};
pub use model::Curve;
pub use output::{PowerOutput, PowerSeries, PowerSummary, TenantEnergy};
pub use run::PowerRun;
pub use tree::{Level, PowerError, PowerTree};

/// What the power model does in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PowerMode {
    /// No power accounting (the default; outputs are those of a run without `[power]`).
    #[default]
    Off,
    /// A job starts only if, with its GPUs at full power (TDP), no cap along its
    /// racks' path would be exceeded; otherwise it waits.
    Admission,
    /// Jobs start regardless of power; where demand exceeds a cap, GPUs under it are
    /// throttled by the capping policy and slowed jobs finish later.
    Oversubscription,
}

impl PowerMode {
    /// The name written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerMode::Off => "off",
            PowerMode::Admission => "admission",
            PowerMode::Oversubscription => "oversubscription",
        }
    }
}

/// How an oversubscribed level's budget is shared among the GPUs under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capping {
    /// Every GPU is capped at `static_gpu_cap_share` × TDP at all times; where a level
    /// still exceeds its cap, proportional throttling applies on top.
    Static,
    /// Each level's budget is shared in proportion to its children's throttleable
    /// demand; within a rack every GPU gives up the same share of its throttleable power.
    #[default]
    Proportional,
    /// Wherever a cap binds, the budget beneath it goes to jobs class by class across
    /// all its racks: inference before training and eval, then higher job priority
    /// first; only the class where it runs out is throttled, proportionally.
    Priority,
}

impl Capping {
    /// The name written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Capping::Static => "static",
            Capping::Proportional => "proportional",
            Capping::Priority => "priority",
        }
    }
}

/// Default GPU utilization of a training job: an **assumption** (dense training keeps
/// GPUs near full power; POLCA, Patel et al. 2024, reports training power close to the
/// GPUs' limits and inference well below).
pub const DEFAULT_UTIL_TRAINING: f64 = 0.9;
/// Default GPU utilization of an inference job: an **assumption** (POLCA, Patel et al.
/// 2024: inference power stays well below peak, leaving headroom to oversubscribe).
pub const DEFAULT_UTIL_INFERENCE: f64 = 0.5;
/// Default GPU utilization of an eval job: an **assumption** between the two.
pub const DEFAULT_UTIL_EVAL: f64 = 0.7;
/// Default lowest cap a throttled GPU can be set to, as a share of TDP: an
/// **assumption** (NVIDIA data-center GPUs accept power limits down to roughly a third
/// of TDP via `nvidia-smi -pl`; not confirmed per model).
pub const DEFAULT_MIN_GPU_CAP_SHARE: f64 = 0.3;
/// Default per-GPU cap of the `static` policy, share of TDP: an **assumption**.
pub const DEFAULT_STATIC_GPU_CAP_SHARE: f64 = 0.8;

/// GPU utilization per job kind, each in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Utilization {
    /// Training jobs.
    #[serde(default = "util_training")]
    pub training: f64,
    /// Inference jobs.
    #[serde(default = "util_inference")]
    pub inference: f64,
    /// Eval jobs.
    #[serde(default = "util_eval")]
    pub eval: f64,
}

fn util_training() -> f64 {
    DEFAULT_UTIL_TRAINING
}
fn util_inference() -> f64 {
    DEFAULT_UTIL_INFERENCE
}
fn util_eval() -> f64 {
    DEFAULT_UTIL_EVAL
}

impl Default for Utilization {
    fn default() -> Self {
        Utilization {
            training: DEFAULT_UTIL_TRAINING,
            inference: DEFAULT_UTIL_INFERENCE,
            eval: DEFAULT_UTIL_EVAL,
        }
    }
}

impl Utilization {
    /// The utilization of a job of `kind`.
    pub fn of(&self, kind: JobKind) -> f64 {
        match kind {
            JobKind::Training => self.training,
            JobKind::Inference => self.inference,
            JobKind::Eval => self.eval,
        }
    }
}

/// `[power]` of a scenario (keys documented in `docs/topologies.md`, "Power").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerConfig {
    /// `off`, `admission` or `oversubscription`.
    #[serde(default)]
    pub mode: PowerMode,
    /// `static`, `proportional` or `priority` (oversubscription only).
    #[serde(default)]
    pub capping: Capping,
    /// `linear` or `fan2007`.
    #[serde(default)]
    pub curve: Curve,
    /// GPU utilization per job kind.
    #[serde(default)]
    pub utilization: Utilization,
    /// Lowest cap of a throttled GPU, share of TDP.
    #[serde(default = "min_cap")]
    pub min_gpu_cap_share: f64,
    /// Per-GPU cap of the `static` policy, share of TDP.
    #[serde(default = "static_cap")]
    pub static_gpu_cap_share: f64,
    /// α in speed = (cap / demand)^α for every GPU model.
    #[serde(default = "perf_exponent")]
    pub perf_exponent: f64,
    /// α per GPU model name, overriding `perf_exponent`.
    #[serde(default)]
    pub perf_exponent_by_model: BTreeMap<String, f64>,
    /// The facility model (cooling, distribution losses). When the scenario has no
    /// `[power.facility]`, a fixed PUE of [`DEFAULT_PUE`].
    #[serde(default = "default_facility")]
    pub facility: FacilityConfig,
    /// Length of the intervals of `power_levels.csv` (per-level mean and peak), s.
    #[serde(default = "levels_interval_s")]
    pub levels_interval_s: f64,
}

/// Default interval of `power_levels.csv`: an hour, the grain of the weather data and
/// of most energy tariffs (demand-charge studies may set 900 s).
pub const DEFAULT_LEVELS_INTERVAL_S: f64 = 3600.0;

fn levels_interval_s() -> f64 {
    DEFAULT_LEVELS_INTERVAL_S
}

/// PUE assumed when a scenario does not describe its facility: the Uptime Institute
/// Global Data Center Survey 2023 average, 1.58 (confirmed; docs/validation.md, Facility).
pub const DEFAULT_PUE: f64 = 1.58;

fn default_facility() -> FacilityConfig {
    FacilityConfig {
        fixed_pue: Some(DEFAULT_PUE),
        ..FacilityConfig::default()
    }
}

fn min_cap() -> f64 {
    DEFAULT_MIN_GPU_CAP_SHARE
}
fn static_cap() -> f64 {
    DEFAULT_STATIC_GPU_CAP_SHARE
}
fn perf_exponent() -> f64 {
    model::DEFAULT_PERF_EXPONENT
}

impl Default for PowerConfig {
    fn default() -> Self {
        PowerConfig {
            mode: PowerMode::Off,
            capping: Capping::default(),
            curve: Curve::default(),
            utilization: Utilization::default(),
            min_gpu_cap_share: DEFAULT_MIN_GPU_CAP_SHARE,
            static_gpu_cap_share: DEFAULT_STATIC_GPU_CAP_SHARE,
            perf_exponent: model::DEFAULT_PERF_EXPONENT,
            perf_exponent_by_model: BTreeMap::new(),
            facility: default_facility(),
            levels_interval_s: DEFAULT_LEVELS_INTERVAL_S,
        }
    }
}

impl PowerConfig {
    /// The interval of `power_levels.csv`. [`PowerConfig::validate`] rejects a
    /// `levels_interval_s` that is not a time; such a value gives the horizon here.
    pub fn levels_interval(&self) -> crate::engine::SimTime {
        use crate::engine::SimTime;
        SimTime::try_from_secs_f64(self.levels_interval_s).unwrap_or(SimTime::MAX_HORIZON)
    }

    /// Every problem with the values, as (dotted key under `power.`, message).
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let unit = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        for (k, v) in [
            ("utilization.training", self.utilization.training),
            ("utilization.inference", self.utilization.inference),
            ("utilization.eval", self.utilization.eval),
            ("static_gpu_cap_share", self.static_gpu_cap_share),
        ] {
            if !unit(v) {
                out.push((format!("power.{k}"), "must be a number in [0, 1]".into()));
            }
        }
        if !(unit(self.min_gpu_cap_share) && self.min_gpu_cap_share > 0.0) {
            out.push((
                "power.min_gpu_cap_share".into(),
                "must be a number in (0, 1] (a GPU capped at 0 W would never finish)".into(),
            ));
        }
        if self.static_gpu_cap_share < self.min_gpu_cap_share {
            out.push((
                "power.static_gpu_cap_share".into(),
                "must be at least min_gpu_cap_share".into(),
            ));
        }
        let alphas = std::iter::once(("perf_exponent".to_string(), self.perf_exponent)).chain(
            self.perf_exponent_by_model
                .iter()
                .map(|(m, &a)| (format!("perf_exponent_by_model.{m}"), a)),
        );
        for (k, a) in alphas {
            if !(a.is_finite() && a > 0.0 && a <= 4.0) {
                out.push((format!("power.{k}"), "must be a number in (0, 4]".into()));
            }
        }
        if !(self.levels_interval_s.is_finite() && self.levels_interval_s >= 1.0) {
            out.push((
                "power.levels_interval_s".into(),
                "must be a number of seconds ≥ 1".into(),
            ));
        } else if let Err(e) = crate::engine::SimTime::try_from_secs_f64(self.levels_interval_s) {
            out.push(("power.levels_interval_s".into(), e.to_string()));
        }
        if let Some(p) = self.facility.fixed_pue {
            if !(p.is_finite() && p >= 1.0) {
                out.push(("power.facility.fixed_pue".into(), "must be a number ≥ 1".into()));
            }
        }
        out
    }
}

/// Builds the power state of one run of `jobs` jobs on `cluster`, or None when `cfg`
/// is off. `base_dir` anchors the facility model's relative paths; `seed` seeds it.
pub fn setup(
    cfg: &PowerConfig,
    cluster: &crate::topology::Cluster,
    topo: &crate::topology::config::TopologyPower,
    jobs: usize,
    base_dir: &std::path::Path,
    seed: u64,
) -> Result<Option<PowerRun>, PowerError> {
    if cfg.mode == PowerMode::Off {
        return Ok(None);
    }
    let tree = PowerTree::build(cluster, topo, cfg)?;
    // The plant model sizes its fixed overheads by the design IT load: the cluster's
    // nameplate unless the scenario says otherwise.
    let mut facility_cfg = cfg.facility.clone();
    if facility_cfg.fixed_pue.is_none() && facility_cfg.design_it_kw.is_none() {
        facility_cfg.design_it_kw = Some(tree.nameplate_w[0] / 1000.0);
    }
    let facility = crate::facility::Facility::new(&facility_cfg, base_dir, seed).map_err(|e| PowerError {
        key: "power.facility".into(),
        message: e.to_string(),
    })?;
    let halls = cluster.halls.iter().map(|h| h.name.clone()).collect();
    Ok(Some(PowerRun::new(cfg.clone(), tree, facility, jobs, halls)))
}
