//! `[reliability]`: failure causes, repairs, spares, cordoning and checkpoints, as
//! written in a scenario, and their validation.

use std::path::PathBuf;

use serde::Deserialize;

use super::checkpoint::CheckpointPolicy;
use super::component::ComponentKind;
use super::presets::{Preset, PRESET_REPAIR_H};
use crate::topology::Cluster;

/// Why a reliability set-up is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct ReliabilityError {
    /// Dotted scenario key (or `file:line` of a failure log).
    pub key: String,
    /// What was wrong and what was expected.
    pub message: String,
}

fn err(key: impl Into<String>, message: impl Into<String>) -> ReliabilityError {
    ReliabilityError {
        key: key.into(),
        message: message.into(),
    }
}

/// `[reliability]` as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReliabilityConfig {
    /// A published failure mix to start from (`llama3`, `kokolis-rsc1`, `kokolis-rsc2`).
    #[serde(default)]
    pub preset: Option<Preset>,
    /// Causes of failure, added to the preset's (`[[reliability.causes]]`).
    #[serde(default)]
    pub causes: Vec<CauseConfig>,
    /// A recorded failure log to replay instead of drawing failures (CSV: `time_s`,
    /// `component`, optional `index` and `cause`).
    #[serde(default)]
    pub log: Option<PathBuf>,
    /// How often jobs checkpoint and what it costs.
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// At most this many components under repair at once (0: no limit).
    #[serde(default)]
    pub max_concurrent_repairs: u32,
    /// Hot spare nodes.
    #[serde(default)]
    pub spares: Option<SpareConfig>,
    /// Cordoning of nodes that fail too often ("lemon" nodes).
    #[serde(default)]
    pub cordon: Option<CordonConfig>,
    /// Fault isolation: large jobs kept off nodes that failed recently.
    #[serde(default)]
    pub isolation: Option<IsolationConfig>,
    /// The storage tier checkpoints are written to; absent: a write takes the fixed
    /// `checkpoint.cost_s`.
    #[serde(default)]
    pub storage: Option<StorageConfig>,
    /// Checkpoint sizes from the model each workload class trains; jobs of other
    /// classes keep `checkpoint.size_gb` / `size_gb_per_gpu`.
    #[serde(default)]
    pub model_size: Option<ModelSizeConfig>,
    /// Failures a job survives (each time requeued from its last checkpoint); the next
    /// one ends it as `failed`. Absent: no limit.
    #[serde(default)]
    pub retry_limit: Option<u32>,
}

/// One cause of failure (`[[reliability.causes]]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CauseConfig {
    /// Name written in outputs.
    pub name: String,
    /// The component that fails.
    pub component: ComponentKind,
    /// Failures per component per day (the inverse of a component's MTTF in days).
    pub per_component_day: f64,
    /// Lifetime distribution.
    #[serde(default)]
    pub lifetime: Lifetime,
    /// Weibull shape k (with `lifetime = "weibull"`); k < 1: infant mortality.
    #[serde(default)]
    pub shape: Option<f64>,
    /// Mean time to repair, hours.
    #[serde(default = "default_repair_h")]
    pub repair_h: f64,
    /// Repair-time distribution.
    #[serde(default)]
    pub repair: RepairDist,
}

fn default_repair_h() -> f64 {
    PRESET_REPAIR_H
}

/// A component's lifetime distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lifetime {
    /// Memoryless: failures at a constant rate.
    #[default]
    Exponential,
    /// Weibull with the cause's `shape`, renewed at each failure.
    Weibull,
}

/// A repair-time distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RepairDist {
    /// Exponential with the cause's mean.
    #[default]
    Exponential,
    /// Always the cause's mean.
    Fixed,
}

/// `[reliability.checkpoint]`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// none, fixed, young or daly.
    #[serde(default)]
    pub policy: CheckpointPolicy,
    /// Work minutes between checkpoints, with `policy = "fixed"`.
    #[serde(default)]
    pub interval_min: f64,
    /// Seconds a checkpoint takes to write (δ), the job paused (without
    /// `[reliability.storage]`, where the write time follows from size and bandwidth).
    #[serde(default)]
    pub cost_s: f64,
    /// Size of every job's checkpoint, GB (with `[reliability.storage]`). From a model's
    /// size: parameters × bytes per parameter (about 14 with mixed-precision Adam: bf16
    /// weights, fp32 master weights and two fp32 moments), e.g. 405 B → 5,670 GB.
    #[serde(default)]
    pub size_gb: f64,
    /// Size of a job's checkpoint per GPU it holds, GB (instead of `size_gb`).
    #[serde(default)]
    pub size_gb_per_gpu: f64,
    /// Seconds a restarted job spends restoring its checkpoint (R), holding its GPUs.
    #[serde(default)]
    pub restart_s: f64,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            policy: CheckpointPolicy::None,
            interval_min: 0.0,
            cost_s: 0.0,
            size_gb: 0.0,
            size_gb_per_gpu: 0.0,
            restart_s: 0.0,
        }
    }
}

impl CheckpointConfig {
    /// A job's checkpoint size in GB, for a job holding `gpus` GPUs.
    pub fn size_gb(&self, gpus: u32) -> f64 {
        self.size_gb + self.size_gb_per_gpu * f64::from(gpus)
    }
}

/// `[reliability.storage]`: where checkpoints are written. Each job's write is a flow
/// bounded by its nodes' write bandwidth (`nodes × node_gbps`); on a shared tier the
/// writes in progress also share `shared_gbps` max-min fairly, through the solver the
/// network uses ([`crate::sharing`]), so a synchronous wave of checkpoints takes as
/// long as the tier makes it.
///
/// With `ssd_gbps` as well the write has two stages: the job pauses only while it
/// writes to its nodes' local SSDs (`nodes × ssd_gbps`), then the checkpoint drains to
/// the shared tier in the background, sharing it with the other drains. A failure that
/// takes down the node holding a copy not yet drained loses that copy (see
/// [`StorageConfig::keeps_local`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Write bandwidth of one node, GB/s: its local SSDs' (node-local tier) or its path
    /// to the shared tier.
    pub node_gbps: f64,
    /// Aggregate bandwidth of a shared parallel file system or object store, GB/s
    /// (Meta's Tectonic: 2,000 sustained, 7,000 peak). Absent: node-local SSDs only,
    /// nothing shared.
    #[serde(default)]
    pub shared_gbps: Option<f64>,
    /// Write bandwidth of one node's local SSDs, GB/s, for a two-stage write (local
    /// SSD, then a background drain to the shared tier at `node_gbps`). Absent: one
    /// stage, the job paused for the whole write.
    #[serde(default)]
    pub ssd_gbps: Option<f64>,
    /// Causes whose failure leaves the node's local SSD readable, so a job restores
    /// from its local copy even if it was not drained (e.g. a software bug). Without
    /// it, failures of a GPU, HBM, NIC or leaf switch keep the local copy and failures
    /// of a node or rack PDU lose it.
    #[serde(default)]
    pub keeps_local: Vec<String>,
}

/// `[reliability.model_size]`: a job's checkpoint size from its model, parameters ×
/// bytes per parameter. With mixed-precision Adam a checkpoint holds the fp16 weights
/// (2 bytes a parameter) and the optimizer state, fp32 master weights, momentum and
/// variance (K = 12 bytes; Rajbhandari et al., "ZeRO", SC 2020, section 3.1): 14 bytes a
/// parameter, gradients not saved.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSizeConfig {
    /// Bytes written per parameter (14: mixed-precision Adam).
    #[serde(default = "default_bytes_per_param")]
    pub bytes_per_param: f64,
    /// Billions of parameters of the model each workload class (by name) trains.
    pub params_b: std::collections::BTreeMap<String, f64>,
}

fn default_bytes_per_param() -> f64 {
    14.0
}

impl ModelSizeConfig {
    /// Checkpoint size (GB) per workload class of `classes` (`None`: not listed), or
    /// the key of a listed class the workload does not have.
    pub fn per_class_gb(&self, classes: &[String]) -> Result<Vec<Option<f64>>, ReliabilityError> {
        if let Some(name) = self.params_b.keys().find(|n| !classes.contains(n)) {
            return Err(err(
                format!("reliability.model_size.params_b.{name}"),
                format!("no workload class `{name}`; the workload's classes: {classes:?}"),
            ));
        }
        Ok(classes
            .iter()
            .map(|c| self.params_b.get(c).map(|b| b * self.bytes_per_param))
            .collect())
    }
}

/// Where hot spares sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SparePer {
    /// `count` spare nodes in each rack.
    Rack,
    /// `count` spare nodes in each row.
    Row,
}

/// `[reliability.spares]`: nodes held out of service that swap in for a failed one.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpareConfig {
    /// Rack or row.
    pub per: SparePer,
    /// Spare nodes per rack or row.
    pub count: u32,
    /// Minutes from a failure until a spare is in service.
    #[serde(default)]
    pub swap_min: f64,
}

/// `[reliability.cordon]`: a node failing `failures` times within `window_h` is removed
/// for good.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CordonConfig {
    /// Failures that cordon a node.
    pub failures: u32,
    /// Window, hours.
    pub window_h: f64,
}

/// `[reliability.isolation]`: a job of at least `large_job_gpus` GPUs is not placed on
/// a "noisy" node, one with `failures` or more node-level failures (GPU, HBM, node, NIC)
/// in the last `window_h` hours; placement is asked again with the noisy nodes hidden,
/// and the job waits if it fits nowhere else. Kokolis et al. (HPCA 2025) report that
/// keeping large jobs off such nodes cut their failure rate. With `separate`, small and
/// large jobs never share a node either, so a node failure under a small job does not
/// stop a large one; `separate_per = "rack"` keeps them in different racks, so a leaf
/// switch or rack PDU failure under small jobs does not reach large ones either.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsolationConfig {
    /// GPUs from which a job counts as large.
    pub large_job_gpus: u32,
    /// Failures within the window that make a node noisy.
    #[serde(default = "one")]
    pub failures: u32,
    /// Window, hours.
    pub window_h: f64,
    /// Pack small jobs away from large ones: no node holds both (a job waits if it
    /// fits only beside the other kind).
    #[serde(default)]
    pub separate: bool,
    /// What `separate` keeps apart: nodes (absent) or racks.
    #[serde(default)]
    pub separate_per: Option<SeparatePer>,
}

/// The unit `isolation.separate` keeps small and large jobs apart in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeparatePer {
    /// No node holds both kinds.
    #[default]
    Node,
    /// No rack holds both kinds.
    Rack,
}

fn one() -> u32 {
    1
}

/// A validated cause of failure (a preset's or the file's).
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// Name written in outputs.
    pub name: String,
    /// The component that fails.
    pub component: ComponentKind,
    /// Failures per component per day.
    pub per_component_day: f64,
    /// Lifetime distribution.
    pub lifetime: Lifetime,
    /// Weibull shape (1.0 for exponential).
    pub shape: f64,
    /// Mean time to repair, hours.
    pub repair_h: f64,
    /// Repair-time distribution.
    pub repair: RepairDist,
}

fn positive(key: &str, v: f64, what: &str) -> Result<(), ReliabilityError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(err(
            key,
            format!("{v} is not a valid {what}; expected a number > 0"),
        ))
    }
}

fn non_negative(key: &str, v: f64) -> Result<(), ReliabilityError> {
    if (0.0..1e9).contains(&v) {
        Ok(())
    } else {
        Err(err(key, format!("{v}: expected a finite number ≥ 0")))
    }
}

impl ReliabilityConfig {
    /// Checks what needs no cluster; keys are dotted from the scenario root.
    pub fn validate(&self) -> Result<(), ReliabilityError> {
        self.causes()?;
        let c = &self.checkpoint;
        non_negative("reliability.checkpoint.cost_s", c.cost_s)?;
        non_negative("reliability.checkpoint.restart_s", c.restart_s)?;
        non_negative("reliability.checkpoint.size_gb", c.size_gb)?;
        non_negative("reliability.checkpoint.size_gb_per_gpu", c.size_gb_per_gpu)?;
        let sized = c.size_gb > 0.0 || c.size_gb_per_gpu > 0.0;
        if let Some(m) = &self.model_size {
            positive(
                "reliability.model_size.bytes_per_param",
                m.bytes_per_param,
                "size",
            )?;
            for (name, b) in &m.params_b {
                positive(
                    &format!("reliability.model_size.params_b.{name}"),
                    *b,
                    "parameter count",
                )?;
            }
            if self.storage.is_none() {
                return Err(err(
                    "reliability.model_size",
                    "a checkpoint size needs a [reliability.storage] tier to write it to",
                ));
            }
        }
        match &self.storage {
            Some(st) => {
                positive("reliability.storage.node_gbps", st.node_gbps, "bandwidth")?;
                if let Some(g) = st.shared_gbps {
                    positive("reliability.storage.shared_gbps", g, "bandwidth")?;
                }
                if let Some(g) = st.ssd_gbps {
                    positive("reliability.storage.ssd_gbps", g, "bandwidth")?;
                    if st.shared_gbps.is_none() {
                        return Err(err(
                            "reliability.storage.ssd_gbps",
                            "a two-stage write drains to a shared tier: expected shared_gbps as well",
                        ));
                    }
                }
                if !st.keeps_local.is_empty() && st.ssd_gbps.is_none() {
                    return Err(err(
                        "reliability.storage.keeps_local",
                        "only used with a two-stage write (ssd_gbps)",
                    ));
                }
                if self.log.is_none() {
                    let names = self.causes()?;
                    if let Some(n) = st
                        .keeps_local
                        .iter()
                        .find(|n| !names.iter().any(|c| c.name == **n))
                    {
                        return Err(err(
                            "reliability.storage.keeps_local",
                            format!("`{n}` is not a configured cause"),
                        ));
                    }
                }
                if c.size_gb > 0.0 && c.size_gb_per_gpu > 0.0 {
                    return Err(err(
                        "reliability.checkpoint.size_gb_per_gpu",
                        "give `size_gb` or `size_gb_per_gpu`, not both",
                    ));
                }
                if c.policy != CheckpointPolicy::None && !sized {
                    return Err(err(
                        "reliability.checkpoint.size_gb",
                        "with [reliability.storage] a checkpoint's size sets its write time: expected size_gb or size_gb_per_gpu > 0",
                    ));
                }
                if c.cost_s != 0.0 {
                    return Err(err(
                        "reliability.checkpoint.cost_s",
                        "with [reliability.storage] the write time follows from the size and the tier's bandwidth; remove cost_s",
                    ));
                }
            }
            None if sized => {
                return Err(err(
                    "reliability.checkpoint.size_gb",
                    "a checkpoint size needs a [reliability.storage] tier to write it to",
                ))
            }
            None => {}
        }
        if c.policy == CheckpointPolicy::Fixed {
            positive("reliability.checkpoint.interval_min", c.interval_min, "interval")?;
        } else if c.interval_min != 0.0 {
            return Err(err(
                "reliability.checkpoint.interval_min",
                "only used with policy = \"fixed\"; young and daly derive the interval",
            ));
        }
        if matches!(c.policy, CheckpointPolicy::Young | CheckpointPolicy::Daly) && self.storage.is_none() {
            positive(
                "reliability.checkpoint.cost_s",
                c.cost_s,
                "checkpoint cost for young/daly",
            )?;
        }
        if let Some(s) = &self.spares {
            non_negative("reliability.spares.swap_min", s.swap_min)?;
        }
        if let Some(i) = &self.isolation {
            if i.large_job_gpus == 0 || i.failures == 0 {
                return Err(err(
                    "reliability.isolation",
                    "large_job_gpus and failures: expected at least 1",
                ));
            }
            positive("reliability.isolation.window_h", i.window_h, "window")?;
            if i.separate_per.is_some() && !i.separate {
                return Err(err(
                    "reliability.isolation.separate_per",
                    "only used with separate = true",
                ));
            }
        }
        if let Some(k) = &self.cordon {
            if k.failures == 0 {
                return Err(err("reliability.cordon.failures", "expected at least 1"));
            }
            positive("reliability.cordon.window_h", k.window_h, "window")?;
        }
        if self.preset.is_none() && self.causes.is_empty() && self.log.is_none() {
            return Err(err(
                "reliability",
                "no failures configured: give a `preset`, `[[reliability.causes]]` or a `log`",
            ));
        }
        Ok(())
    }

    /// Checks against the cluster: spares must leave nodes to run on.
    pub fn validate_for(&self, cluster: &Cluster) -> Result<(), ReliabilityError> {
        self.validate()?;
        if let Some(s) = &self.spares {
            let groups = match s.per {
                SparePer::Rack => group_sizes(
                    cluster.nodes.iter().map(|n| n.rack.0 as usize),
                    cluster.racks.len(),
                ),
                SparePer::Row => group_sizes(
                    cluster
                        .nodes
                        .iter()
                        .map(|n| cluster.racks[n.rack.0 as usize].row.0 as usize),
                    cluster.rows.len(),
                ),
            };
            let smallest = groups.iter().copied().filter(|&n| n > 0).min().unwrap_or(0);
            if u64::from(s.count) >= smallest as u64 {
                return Err(err(
                    "reliability.spares.count",
                    format!(
                        "{} spare nodes per {:?} leave no node in service: the smallest has {smallest} nodes",
                        s.count, s.per
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The preset's causes followed by the file's, validated.
    pub fn causes(&self) -> Result<Vec<Cause>, ReliabilityError> {
        let mut out: Vec<Cause> = self
            .preset
            .map(|p| p.causes())
            .unwrap_or_default()
            .into_iter()
            .map(|(name, component, rate)| Cause {
                name,
                component,
                per_component_day: rate,
                lifetime: Lifetime::Exponential,
                shape: 1.0,
                repair_h: PRESET_REPAIR_H,
                repair: RepairDist::Exponential,
            })
            .collect();
        for (i, c) in self.causes.iter().enumerate() {
            let key = |k: &str| format!("reliability.causes[{i}].{k}");
            positive(&key("per_component_day"), c.per_component_day, "failure rate")?;
            non_negative(&key("repair_h"), c.repair_h)?;
            let shape = match (c.lifetime, c.shape) {
                (Lifetime::Weibull, Some(k)) => {
                    positive(&key("shape"), k, "Weibull shape")?;
                    k
                }
                (Lifetime::Weibull, None) => {
                    return Err(err(key("shape"), "lifetime = \"weibull\" needs a shape"))
                }
                (Lifetime::Exponential, Some(_)) => {
                    return Err(err(key("shape"), "only used with lifetime = \"weibull\""))
                }
                (Lifetime::Exponential, None) => 1.0,
            };
            if c.name.is_empty() || out.iter().any(|o| o.name == c.name) {
                return Err(err(
                    key("name"),
                    format!("{:?}: expected a non-empty name used once", c.name),
                ));
            }
            out.push(Cause {
                name: c.name.clone(),
                component: c.component,
                per_component_day: c.per_component_day,
                lifetime: c.lifetime,
                shape,
                repair_h: c.repair_h,
                repair: c.repair,
            });
        }
        Ok(out)
    }
}

fn group_sizes(of: impl Iterator<Item = usize>, groups: usize) -> Vec<usize> {
    let mut n = vec![0; groups];
    for g in of {
        n[g] += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ReliabilityConfig {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn bad_rates_and_shapes_name_their_key() {
        for (text, key) in [
            ("[[causes]]\nname = \"x\"\ncomponent = \"gpu\"\nper_component_day = 0.0", "reliability.causes[0].per_component_day"),
            ("[[causes]]\nname = \"x\"\ncomponent = \"gpu\"\nper_component_day = -1.0", "reliability.causes[0].per_component_day"),
            ("[[causes]]\nname = \"x\"\ncomponent = \"gpu\"\nper_component_day = 1.0\nlifetime = \"weibull\"", "reliability.causes[0].shape"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"fixed\"", "reliability.checkpoint.interval_min"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"daly\"", "reliability.checkpoint.cost_s"),
            ("[checkpoint]\npolicy = \"none\"", "reliability"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"fixed\"\ninterval_min = 60.0\nsize_gb = 10.0", "reliability.checkpoint.size_gb"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"fixed\"\ninterval_min = 60.0\n[storage]\nnode_gbps = 1.0", "reliability.checkpoint.size_gb"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"daly\"\nsize_gb = 10.0\ncost_s = 5.0\n[storage]\nnode_gbps = 1.0", "reliability.checkpoint.cost_s"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"daly\"\nsize_gb = 10.0\n[storage]\nnode_gbps = 0.0", "reliability.storage.node_gbps"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"daly\"\nsize_gb = 10.0\n[storage]\nnode_gbps = 1.0\nshared_gbps = -2.0", "reliability.storage.shared_gbps"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"daly\"\nsize_gb = 10.0\n[storage]\nnode_gbps = 1.0\n[model_size]\nparams_b = { gpt = -1.0 }", "reliability.model_size.params_b.gpt"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"daly\"\ncost_s = 5.0\n[model_size]\nparams_b = { gpt = 7.0 }", "reliability.model_size"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"daly\"\nsize_gb = 10.0\n[storage]\nnode_gbps = 1.0\nssd_gbps = 5.0", "reliability.storage.ssd_gbps"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"daly\"\nsize_gb = 10.0\n[storage]\nnode_gbps = 1.0\nshared_gbps = 10.0\nssd_gbps = 0.0", "reliability.storage.ssd_gbps"),
            ("preset = \"llama3\"\n[checkpoint]\npolicy = \"daly\"\nsize_gb = 10.0\n[storage]\nnode_gbps = 1.0\nshared_gbps = 10.0\nssd_gbps = 5.0\nkeeps_local = [\"toaster\"]", "reliability.storage.keeps_local"),
            ("preset = \"llama3\"\n[isolation]\nlarge_job_gpus = 8\nwindow_h = 24.0\nseparate_per = \"rack\"", "reliability.isolation.separate_per"),
        ] {
            let e = parse(text).validate().unwrap_err();
            assert_eq!(e.key, key, "{text}: {e}");
        }
        parse("preset = \"llama3\"\n[checkpoint]\npolicy = \"daly\"\nsize_gb_per_gpu = 2.0\n[storage]\nnode_gbps = 1.0")
            .validate()
            .unwrap();
        assert!(toml::from_str::<ReliabilityConfig>(
            "[[causes]]\nname = \"x\"\ncomponent = \"toaster\"\nper_component_day = 1.0"
        )
        .is_err());
    }

    #[test]
    fn spare_pool_larger_than_its_rack_is_an_error() {
        let text = "name = \"t\"\nsource = \"test\"\n[layout]\nnodes_per_rack = 2\nracks_per_row = 2\nrows_per_hall = 2\n\
                    [[nodes]]\nname = \"n\"\ngpu = \"H100-SXM5\"\ngpus = 8\ncount = 8\ncpu_cores = 112\nmemory_gib = 2048\n";
        let cluster = crate::topology::parse(text, std::path::Path::new("t.toml")).unwrap();
        let ok = parse("preset = \"llama3\"\n[spares]\nper = \"row\"\ncount = 3");
        ok.validate_for(&cluster).unwrap();
        let e = parse("preset = \"llama3\"\n[spares]\nper = \"rack\"\ncount = 2")
            .validate_for(&cluster)
            .unwrap_err();
        assert_eq!(e.key, "reliability.spares.count");
        assert!(e.message.contains("smallest has 2 nodes"), "{e}");
    }
}
