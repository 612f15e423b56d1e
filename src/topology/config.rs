//! The topology file format (`topologies/*.toml`): schema, validation, and the
//! builder that turns a file into a [`Cluster`].
//!
//! The format is documented key by key in `docs/topologies.md`. In short: a file
//! names the cluster and its sources, states how nodes are grouped into racks, rows
//! and halls (`[layout]`), may define GPU models the catalog lacks (`[[gpu_model]]`),
//! and lists nodes as groups of identical nodes (`[[nodes]]`) and/or real node lists
//! (`[[node_list]]`).
//!
//! Racking rule: `[[nodes]]` groups are placed first, in file order, then
//! `[[node_list]]` files, in file order. Every group, and every GPU model of a node
//! list, starts a new rack, so each rack holds one GPU model. Racks fill with
//! `nodes_per_rack` nodes, rows with `racks_per_row` racks, halls with
//! `rows_per_hall` rows. Nodes of a node list are grouped by GPU model (models in the
//! order they first appear, nodes in file order within a model), since real lists
//! interleave models row by row. CPU-only nodes (0 GPUs) are left out of the cluster
//! (the simulator is GPU-only) and counted in [`LoadReport::cpu_only_nodes`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use super::error::Issue;
use super::fabric::{Fabric, FabricKeys, SwitchPath};
use super::node_list::{self, ListedNode, NodeListFormat};
use super::{Cluster, GpuModelId, Hall, HallId, Node, Rack, RackId, Row, RowId, TopologyError};
use crate::hardware::{self, GpuSpec};

/// Most nodes a topology may hold: a guard against typos that would exhaust memory
/// (a design limit, not a measured figure: about 16.8 million nodes, far above the
/// ~100,000-GPU sites built as of 2025).
pub const MAX_NODES: u64 = 1 << 24;

/// Most GPUs one node may hold: the free-capacity index keeps a node's GPUs in one
/// 64-bit mask. Real single-node systems hold 1–16 GPUs.
pub const MAX_GPUS_PER_NODE: u32 = 64;

/// A topology file as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyFile {
    /// Cluster name.
    pub name: String,
    /// What the cluster is (free text).
    #[serde(default)]
    pub description: String,
    /// Where the figures come from (required: every topology names its sources).
    pub source: String,
    /// How nodes are grouped into racks, rows and halls.
    pub layout: Layout,
    /// GPU models the catalog lacks, or overrides of catalog entries (same name).
    #[serde(default, rename = "gpu_model")]
    pub gpu_models: Vec<GpuModelDef>,
    /// Groups of identical nodes.
    #[serde(default)]
    pub nodes: Vec<NodeGroup>,
    /// Real node lists.
    #[serde(default)]
    pub node_list: Vec<NodeListDef>,
    /// `[power]`: power caps and overheads of the power tree (all optional).
    #[serde(default)]
    pub power: PowerKeys,
    /// `[fabric]`: the network fabric (none: the network is not modelled).
    #[serde(default)]
    pub fabric: Option<FabricKeys>,
}

/// `[power]` of a topology: caps along feed ▸ hall ▸ row ▸ rack, and the power of
/// equipment that is not a node (documented in `docs/topologies.md`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerKeys {
    /// Power the site feed delivers to IT equipment, kW (none: no feed cap).
    pub feed_kw: Option<f64>,
    /// Cap of every hall, kW (none: no hall cap).
    pub hall_cap_kw: Option<f64>,
    /// Cap of every row (PDU lineup), kW (none: no row cap).
    pub row_cap_kw: Option<f64>,
    /// Cap of every rack, kW, unless its group sets `rack_cap_kw` (none: no rack cap).
    pub rack_cap_kw: Option<f64>,
    /// Constant power of each rack's own equipment (top-of-rack switches, PDUs), W.
    #[serde(default)]
    pub rack_overhead_w: f64,
    /// Constant power of each row's shared equipment (spine switches, storage), W.
    #[serde(default)]
    pub row_overhead_w: f64,
    /// Heat every rack's cooling can remove, kW, unless its group says otherwise (none:
    /// unlimited, or the default of `cooling`).
    pub rack_cooling_kw: Option<f64>,
    /// How every rack is cooled, unless its group says otherwise; sets the default of
    /// `rack_cooling_kw`.
    pub cooling: Option<Cooling>,
}

/// How a rack is cooled: each kind has a default heat capacity per rack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cooling {
    /// Air (CRAH/in-row units, containment): [`AIR_RACK_COOLING_KW`] per rack.
    Air,
    /// Direct-to-chip liquid cooling: [`LIQUID_RACK_COOLING_KW`] per rack.
    Liquid,
}

/// Default heat capacity of an air-cooled rack, kW: an **assumption**, the middle of the
/// 20–40 kW at which air-cooled racks commonly top out (`shared/reference/README.md`,
/// marked "check"; industry overviews found with search agree on "tens of kW").
pub const AIR_RACK_COOLING_KW: f64 = 30.0;

/// Default heat capacity of a liquid-cooled rack, kW: an **assumption**, the upper figure
/// quoted for a GB200 NVL72 rack, a rack-scale liquid-cooled design (~120–132 kW,
/// `shared/reference/README.md`, marked "check").
pub const LIQUID_RACK_COOLING_KW: f64 = 132.0;

impl Cooling {
    /// The default heat capacity of a rack cooled this way, kW.
    pub fn default_kw(self) -> f64 {
        match self {
            Cooling::Air => AIR_RACK_COOLING_KW,
            Cooling::Liquid => LIQUID_RACK_COOLING_KW,
        }
    }
}

/// Default non-GPU power of a GPU node (CPUs, memory, fans, NICs), as a share of the
/// total TDP of its GPUs: an **assumption**, used when a group sets no `node_base_w`.
/// For scale: NVIDIA quotes about 10.2 kW maximum for a DGX H100 with 8 × 700 W GPUs,
/// leaving up to about 4.6 kW (82% of GPU TDP) for the rest of the system at full load
/// (figure marked "check" in `shared/reference/README.md`, not confirmed); a constant
/// base well below that maximum is assumed because CPUs and fans rarely all peak with
/// the GPUs.
pub const DEFAULT_NODE_BASE_SHARE_OF_GPU_TDP: f64 = 0.25;

/// The power layout of a built cluster: per-node base power and the caps and
/// overheads of the power tree, in watts (`f64::INFINITY` where there is no cap).
#[derive(Debug, Clone, PartialEq)]
pub struct TopologyPower {
    /// Base (non-GPU) power of each node, W, indexed like `Cluster::nodes`.
    pub node_base_w: Vec<f64>,
    /// Cap of each rack, W, indexed like `Cluster::racks`.
    pub rack_cap_w: Vec<f64>,
    /// Heat each rack's cooling can remove, W (all of a rack's power becomes heat, so
    /// this caps its power like `rack_cap_w`), indexed like `Cluster::racks`.
    pub rack_cooling_w: Vec<f64>,
    /// Cap of every row, W.
    pub row_cap_w: f64,
    /// Cap of every hall, W.
    pub hall_cap_w: f64,
    /// The feed's cap, W.
    pub feed_w: f64,
    /// Constant power of each rack's own equipment, W.
    pub rack_overhead_w: f64,
    /// Constant power of each row's shared equipment, W.
    pub row_overhead_w: f64,
}

impl TopologyPower {
    /// No caps, no overheads, and the default base power for each node of `cluster`.
    pub fn uncapped(cluster: &Cluster) -> TopologyPower {
        TopologyPower {
            node_base_w: cluster
                .nodes
                .iter()
                .map(|n| default_node_base_w(cluster, n))
                .collect(),
            rack_cap_w: vec![f64::INFINITY; cluster.racks.len()],
            rack_cooling_w: vec![f64::INFINITY; cluster.racks.len()],
            row_cap_w: f64::INFINITY,
            hall_cap_w: f64::INFINITY,
            feed_w: f64::INFINITY,
            rack_overhead_w: 0.0,
            row_overhead_w: 0.0,
        }
    }
}

/// A rack's heat capacity, kW: the explicit figure, else the default of its cooling.
fn rack_cooling(kw: Option<f64>, cooling: Option<Cooling>) -> Option<f64> {
    kw.or(cooling.map(Cooling::default_kw))
}

/// The default base power of a node: [`DEFAULT_NODE_BASE_SHARE_OF_GPU_TDP`] of its
/// GPUs' total TDP.
fn default_node_base_w(cluster: &Cluster, node: &Node) -> f64 {
    let tdp = cluster.models.get(node.model.0 as usize).map_or(0.0, |m| m.tdp_w);
    DEFAULT_NODE_BASE_SHARE_OF_GPU_TDP * tdp * f64::from(node.gpus)
}

/// Kilowatts (optional) to watts, `f64::INFINITY` when absent.
fn cap_w(kw: Option<f64>) -> f64 {
    kw.map_or(f64::INFINITY, |k| k * 1000.0)
}

/// `[layout]`: the grouping rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// Nodes per rack (a group may override it).
    pub nodes_per_rack: u32,
    /// Racks per row.
    pub racks_per_row: u32,
    /// Rows per hall.
    pub rows_per_hall: u32,
}

/// `[[gpu_model]]`: a GPU model defined in the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuModelDef {
    /// Name nodes refer to it by.
    pub name: String,
    /// Other names (matched case-insensitively).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Maximum board power, W.
    pub tdp_w: f64,
    /// Idle power, W.
    pub idle_w: f64,
    /// Device memory, GiB (0 = not known); a reference figure the simulation does not
    /// read.
    #[serde(default)]
    pub memory_gib: f64,
    /// Dense FP16/BF16 peak, TFLOP/s (0 = not known); a reference figure the
    /// simulation does not read.
    #[serde(default)]
    pub fp16_tflops: f64,
    /// Peak memory bandwidth, TB/s (0 = not known); read by the serving model only.
    #[serde(default)]
    pub memory_bw_tbs: f64,
    /// Speed relative to trace-nominal speed (default 1.0).
    #[serde(default = "one")]
    pub relative_speed: f64,
    /// Speed per workload class (class name → speed, in any unit common to the
    /// cluster's models, e.g. Gavel's measured iterations per second); a job whose class
    /// is listed runs at this speed instead of `relative_speed`.
    #[serde(default)]
    pub speed_by_class: BTreeMap<String, f64>,
    /// Where the figures come from, or what was assumed.
    pub source: String,
}

/// Serde default for [`GpuModelDef::relative_speed`].
fn one() -> f64 {
    1.0
}

/// `[[nodes]]`: a group of identical nodes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeGroup {
    /// Group name; nodes are named `<name>-<n>`, n from 0.
    pub name: String,
    /// GPU model (catalog or `[[gpu_model]]` name or alias); required when `gpus` > 0.
    #[serde(default)]
    pub gpu: Option<String>,
    /// GPUs per node (0 = CPU-only nodes, counted but not built).
    pub gpus: u32,
    /// Number of nodes.
    pub count: u32,
    /// CPU cores per node (0 = not given).
    #[serde(default)]
    pub cpu_cores: u32,
    /// Host memory per node, GiB (0 = not given).
    #[serde(default)]
    pub memory_gib: u64,
    /// Overrides `layout.nodes_per_rack` for this group.
    #[serde(default)]
    pub nodes_per_rack: Option<u32>,
    /// Start this group in a new row (default: only a new rack).
    #[serde(default)]
    pub new_row: bool,
    /// Base (non-GPU) power per node, W (default: [`DEFAULT_NODE_BASE_SHARE_OF_GPU_TDP`]
    /// of the node's GPU TDP).
    #[serde(default)]
    pub node_base_w: Option<f64>,
    /// Cap of the racks this group fills, kW (default: `[power] rack_cap_kw`).
    #[serde(default)]
    pub rack_cap_kw: Option<f64>,
    /// Heat capacity of the racks this group fills, kW (default: from `cooling`, else
    /// `[power]`).
    #[serde(default)]
    pub rack_cooling_kw: Option<f64>,
    /// How the racks this group fills are cooled (default: `[power] cooling`).
    #[serde(default)]
    pub cooling: Option<Cooling>,
}

/// `[[node_list]]`: nodes read from a real node list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeListDef {
    /// Path of the list, relative to the topology file.
    pub path: String,
    /// Its format: `openb`, `spot-gpu` or `lingjun-topo`.
    pub format: NodeListFormat,
    /// GPU model of every node, for formats without GPU columns (`lingjun-topo`).
    #[serde(default)]
    pub gpu: Option<String>,
    /// GPUs of every node, for formats without GPU columns (`lingjun-topo`).
    #[serde(default)]
    pub gpus: Option<u32>,
    /// Overrides `layout.nodes_per_rack` for this list.
    #[serde(default)]
    pub nodes_per_rack: Option<u32>,
    /// Start each GPU model of this list in a new row (default: only a new rack).
    #[serde(default)]
    pub new_row: bool,
    /// Base (non-GPU) power per node, W (default as for `[[nodes]]`).
    #[serde(default)]
    pub node_base_w: Option<f64>,
    /// Cap of the racks this list fills, kW (default: `[power] rack_cap_kw`).
    #[serde(default)]
    pub rack_cap_kw: Option<f64>,
    /// Heat capacity of the racks this list fills, kW (as for `[[nodes]]`).
    #[serde(default)]
    pub rack_cooling_kw: Option<f64>,
    /// How the racks this list fills are cooled (as for `[[nodes]]`).
    #[serde(default)]
    pub cooling: Option<Cooling>,
}

/// A built cluster and what was left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// The GPU cluster.
    pub cluster: Cluster,
    /// CPU-only nodes (0 GPUs) named by the file or its node lists and left out.
    pub cpu_only_nodes: u64,
    /// Base power of each node and the caps of the power tree.
    pub power: TopologyPower,
    /// The network fabric, when the file has a `[fabric]`.
    pub fabric: Option<Fabric>,
}

/// Loads and builds a topology file.
pub fn load(path: &Path) -> Result<Cluster, TopologyError> {
    load_report(path).map(|r| r.cluster)
}

/// Parses and builds topology text; `origin` is the file it came from (named in
/// errors; node list paths are relative to its folder).
pub fn parse(text: &str, origin: &Path) -> Result<Cluster, TopologyError> {
    parse_report(text, origin).map(|r| r.cluster)
}

/// Like [`load`], also reporting the CPU-only nodes left out.
pub fn load_report(path: &Path) -> Result<LoadReport, TopologyError> {
    let text = std::fs::read_to_string(path).map_err(|source| TopologyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_report(&text, path)
}

/// Like [`parse`], also reporting the CPU-only nodes left out.
pub fn parse_report(text: &str, origin: &Path) -> Result<LoadReport, TopologyError> {
    let file = TopologyFile::parse(text, origin)?;
    let issues = file.validate();
    if !issues.is_empty() {
        return Err(TopologyError::Invalid {
            path: origin.to_path_buf(),
            issues,
        });
    }
    file.build(origin)
}

/// Converts a byte offset into a 1-based (line, column).
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Adds an issue.
fn issue(issues: &mut Vec<Issue>, key: impl Into<String>, message: impl Into<String>) {
    issues.push(Issue {
        key: key.into(),
        message: message.into(),
    });
}

impl TopologyFile {
    /// Parses topology text without validating it; errors carry line, column and the
    /// dotted key path.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, TopologyError> {
        let de = toml::Deserializer::new(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let (line, column) = inner.span().map(|s| line_column(text, s.start)).unzip();
            TopologyError::Parse {
                path: origin.to_path_buf(),
                line,
                column,
                key,
                message: inner.message().trim().to_owned(),
            }
        })
    }

    /// Every problem with the file's values, each with its dotted key. GPU model
    /// names are resolved when building (see [`TopologyError::UnknownGpu`]).
    pub fn validate(&self) -> Vec<Issue> {
        let mut out = Vec::new();
        if self.name.trim().is_empty() {
            issue(&mut out, "name", "must not be empty");
        }
        if self.source.trim().is_empty() {
            issue(&mut out, "source", "must say where the figures come from");
        }
        for (key, v) in [
            ("layout.nodes_per_rack", self.layout.nodes_per_rack),
            ("layout.racks_per_row", self.layout.racks_per_row),
            ("layout.rows_per_hall", self.layout.rows_per_hall),
        ] {
            if v == 0 {
                issue(&mut out, key, "must be at least 1");
            }
        }
        self.validate_models(&mut out);
        if self.nodes.is_empty() && self.node_list.is_empty() {
            issue(
                &mut out,
                "nodes",
                "a topology needs at least one [[nodes]] group or [[node_list]]",
            );
        }
        let mut names = HashSet::new();
        let mut total: u64 = 0;
        for (i, g) in self.nodes.iter().enumerate() {
            let k = |f: &str| format!("nodes[{i}].{f}");
            if g.name.trim().is_empty() {
                issue(&mut out, k("name"), "must not be empty");
            } else if !names.insert(g.name.as_str()) {
                issue(&mut out, k("name"), format!("duplicate group name `{}`", g.name));
            }
            if g.count == 0 {
                issue(&mut out, k("count"), "must be at least 1");
            }
            if g.gpus > MAX_GPUS_PER_NODE {
                issue(
                    &mut out,
                    k("gpus"),
                    format!("at most {MAX_GPUS_PER_NODE} GPUs per node"),
                );
            }
            match (&g.gpu, g.gpus) {
                (None, n) if n > 0 => issue(&mut out, k("gpu"), "required when gpus > 0"),
                (Some(m), _) if m.trim().is_empty() => issue(&mut out, k("gpu"), "must not be empty"),
                _ => {}
            }
            if g.nodes_per_rack == Some(0) {
                issue(&mut out, k("nodes_per_rack"), "must be at least 1");
            }
            total += u64::from(g.count);
        }
        if total > MAX_NODES {
            issue(
                &mut out,
                "nodes",
                format!("{total} nodes in all; at most {MAX_NODES}"),
            );
        }
        self.validate_power(&mut out);
        if let Some(f) = &self.fabric {
            f.validate(&mut out);
        }
        for (i, l) in self.node_list.iter().enumerate() {
            let needs = !l.format.has_gpu_columns();
            if needs && (l.gpu.is_none() || l.gpus.is_none_or(|g| g == 0)) {
                issue(
                    &mut out,
                    format!("node_list[{i}].gpus"),
                    "this format has no GPU columns: set `gpu` and `gpus` (>= 1)",
                );
            }
            if !needs && (l.gpu.is_some() || l.gpus.is_some()) {
                issue(
                    &mut out,
                    format!("node_list[{i}].gpu"),
                    "only for formats without GPU columns (the list gives them)",
                );
            }
            if needs && l.gpus.is_some_and(|g| g > MAX_GPUS_PER_NODE) {
                issue(
                    &mut out,
                    format!("node_list[{i}].gpus"),
                    format!("at most {MAX_GPUS_PER_NODE}"),
                );
            }
        }
        for (i, l) in self.node_list.iter().enumerate() {
            if l.path.trim().is_empty() {
                issue(&mut out, format!("node_list[{i}].path"), "must not be empty");
            }
            if l.nodes_per_rack == Some(0) {
                issue(
                    &mut out,
                    format!("node_list[{i}].nodes_per_rack"),
                    "must be at least 1",
                );
            }
        }
        out
    }

    /// Checks the power keys: caps positive, overheads and base powers non-negative.
    fn validate_power(&self, out: &mut Vec<Issue>) {
        let p = &self.power;
        let mut caps: Vec<(String, Option<f64>)> = vec![
            ("power.feed_kw".into(), p.feed_kw),
            ("power.hall_cap_kw".into(), p.hall_cap_kw),
            ("power.row_cap_kw".into(), p.row_cap_kw),
            ("power.rack_cap_kw".into(), p.rack_cap_kw),
            ("power.rack_cooling_kw".into(), p.rack_cooling_kw),
        ];
        let mut watts: Vec<(String, Option<f64>)> = vec![
            ("power.rack_overhead_w".into(), Some(p.rack_overhead_w)),
            ("power.row_overhead_w".into(), Some(p.row_overhead_w)),
        ];
        for (i, g) in self.nodes.iter().enumerate() {
            caps.push((format!("nodes[{i}].rack_cap_kw"), g.rack_cap_kw));
            caps.push((format!("nodes[{i}].rack_cooling_kw"), g.rack_cooling_kw));
            watts.push((format!("nodes[{i}].node_base_w"), g.node_base_w));
        }
        for (i, l) in self.node_list.iter().enumerate() {
            caps.push((format!("node_list[{i}].rack_cap_kw"), l.rack_cap_kw));
            caps.push((format!("node_list[{i}].rack_cooling_kw"), l.rack_cooling_kw));
            watts.push((format!("node_list[{i}].node_base_w"), l.node_base_w));
        }
        for (key, v) in caps {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    issue(out, key, "must be a positive number of kW");
                }
            }
        }
        for (key, v) in watts {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    issue(out, key, "must be a non-negative number of watts");
                }
            }
        }
    }

    /// Checks `[[gpu_model]]` entries.
    fn validate_models(&self, out: &mut Vec<Issue>) {
        let mut seen = HashSet::new();
        for (i, m) in self.gpu_models.iter().enumerate() {
            let k = |f: &str| format!("gpu_model[{i}].{f}");
            if m.name.trim().is_empty() {
                issue(out, k("name"), "must not be empty");
            }
            for n in std::iter::once(&m.name).chain(&m.aliases) {
                if !n.trim().is_empty() && !seen.insert(n.to_ascii_lowercase()) {
                    issue(out, k("name"), format!("`{n}` names two [[gpu_model]] entries"));
                }
            }
            let finite_pos = |v: f64| v.is_finite() && v > 0.0;
            if !finite_pos(m.tdp_w) {
                issue(out, k("tdp_w"), "must be a positive number of watts");
            }
            if !(m.idle_w.is_finite() && m.idle_w >= 0.0) {
                issue(out, k("idle_w"), "must be a non-negative number of watts");
            } else if m.idle_w >= m.tdp_w {
                issue(out, k("idle_w"), format!("must be below tdp_w ({} W)", m.tdp_w));
            }
            if !(m.memory_gib.is_finite() && m.memory_gib >= 0.0) {
                issue(out, k("memory_gib"), "must be a non-negative number of GiB");
            }
            if !(m.fp16_tflops.is_finite() && m.fp16_tflops >= 0.0) {
                issue(out, k("fp16_tflops"), "must be a non-negative number");
            }
            if !(m.memory_bw_tbs.is_finite() && m.memory_bw_tbs >= 0.0) {
                issue(out, k("memory_bw_tbs"), "must be a non-negative number");
            }
            if !finite_pos(m.relative_speed) {
                issue(out, k("relative_speed"), "must be positive");
            }
            for (class, &v) in &m.speed_by_class {
                if !finite_pos(v) {
                    issue(out, k(&format!("speed_by_class.{class}")), "must be positive");
                }
            }
            if m.source.trim().is_empty() {
                issue(
                    out,
                    k("source"),
                    "must say where the figures come from or what was assumed",
                );
            }
        }
    }

    /// Builds the cluster (the file must be valid: see [`TopologyFile::validate`]).
    /// Node list paths are resolved against `origin`'s folder.
    pub fn build(&self, origin: &Path) -> Result<LoadReport, TopologyError> {
        let mut b = Builder::new(self, origin);
        for (i, g) in self.nodes.iter().enumerate() {
            if g.gpus == 0 {
                b.cpu_only += u64::from(g.count);
                continue;
            }
            let key = format!("nodes[{i}].gpu");
            let name = g.gpu.as_deref().unwrap_or("");
            let model = b.model(name, &key)?;
            let per_rack = g.nodes_per_rack.unwrap_or(self.layout.nodes_per_rack);
            b.start_segment(per_rack, g.new_row);
            b.segment_power(
                g.node_base_w,
                g.rack_cap_kw,
                rack_cooling(g.rack_cooling_kw, g.cooling),
            );
            for n in 0..g.count {
                b.push(
                    Node {
                        name: format!("{}-{n}", g.name),
                        model,
                        gpus: g.gpus,
                        cpu_milli: u64::from(g.cpu_cores) * 1000,
                        memory_mib: g.memory_gib.saturating_mul(1024),
                        rack: RackId(0),
                    },
                    &key,
                )?;
            }
        }
        for (i, l) in self.node_list.iter().enumerate() {
            let path = origin.parent().unwrap_or(Path::new("")).join(&l.path);
            let mut listed = node_list::read(&path, l.format)?;
            if let (Some(gpu), Some(gpus)) = (&l.gpu, l.gpus) {
                for n in &mut listed {
                    n.model.clone_from(gpu);
                    n.gpus = gpus;
                }
            }
            b.add_list(&path, &format!("node_list[{i}]"), listed, l)?;
        }
        b.finish()
    }
}

/// State while placing nodes into racks, rows and halls.
struct Builder<'a> {
    file: &'a TopologyFile,
    origin: &'a Path,
    cluster: Cluster,
    cpu_only: u64,
    /// Model name as written (lower case) → id in `cluster.models`.
    model_ids: HashMap<String, GpuModelId>,
    node_names: HashMap<String, String>,
    per_rack: u32,
    /// The next node opens a new rack (and, if set, a new row).
    open_rack: bool,
    open_row: bool,
    racks_in_row: u32,
    rows_in_hall: u32,
    nodes_in_rack: u32,
    /// Base power of each node placed so far (None: the default).
    node_base_w: Vec<Option<f64>>,
    /// Cap of each rack opened so far, kW (None: the topology-wide default).
    rack_cap_kw: Vec<Option<f64>>,
    /// Heat capacity of each rack placed so far, kW (None: the `[power]` default).
    rack_cooling_kw: Vec<Option<f64>>,
    /// The current segment's base power and rack cap.
    seg_base_w: Option<f64>,
    seg_rack_cap_kw: Option<f64>,
    seg_rack_cooling_kw: Option<f64>,
    /// Switch labels of each node placed so far, where its list names them.
    switches: Vec<Option<SwitchPath>>,
}

impl<'a> Builder<'a> {
    fn new(file: &'a TopologyFile, origin: &'a Path) -> Self {
        Self {
            file,
            origin,
            cluster: Cluster {
                name: file.name.clone(),
                models: Vec::new(),
                nodes: Vec::new(),
                racks: Vec::new(),
                rows: Vec::new(),
                halls: Vec::new(),
            },
            cpu_only: 0,
            model_ids: HashMap::new(),
            node_names: HashMap::new(),
            per_rack: file.layout.nodes_per_rack,
            open_rack: true,
            open_row: false,
            racks_in_row: 0,
            rows_in_hall: 0,
            nodes_in_rack: 0,
            node_base_w: Vec::new(),
            rack_cap_kw: Vec::new(),
            rack_cooling_kw: Vec::new(),
            seg_base_w: None,
            seg_rack_cap_kw: None,
            seg_rack_cooling_kw: None,
            switches: Vec::new(),
        }
    }

    /// Sets the base power and rack cap of the nodes and racks of the current segment.
    fn segment_power(
        &mut self,
        node_base_w: Option<f64>,
        rack_cap_kw: Option<f64>,
        rack_cooling_kw: Option<f64>,
    ) {
        self.seg_rack_cooling_kw = rack_cooling_kw;
        self.seg_base_w = node_base_w;
        self.seg_rack_cap_kw = rack_cap_kw;
    }

    /// Resolves a model name (custom models first, then the catalog) to an id,
    /// adding the model to the cluster on first use.
    fn model(&mut self, name: &str, key: &str) -> Result<GpuModelId, TopologyError> {
        let lower = name.to_ascii_lowercase();
        if let Some(&id) = self.model_ids.get(&lower) {
            return Ok(id);
        }
        let spec = self
            .file
            .gpu_models
            .iter()
            .find(|m| {
                m.name.eq_ignore_ascii_case(name) || m.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
            })
            .map(|m| GpuSpec {
                name: m.name.clone(),
                aliases: m.aliases.clone(),
                tdp_w: m.tdp_w,
                idle_w: m.idle_w,
                memory_gib: m.memory_gib,
                fp16_tflops: m.fp16_tflops,
                memory_bw_tbs: m.memory_bw_tbs,
                relative_speed: m.relative_speed,
                speed_by_class: m.speed_by_class.clone(),
                source: m.source.clone(),
            })
            .or_else(|| hardware::lookup(name))
            .ok_or_else(|| TopologyError::UnknownGpu {
                path: self.origin.to_path_buf(),
                key: key.to_owned(),
                name: name.to_owned(),
                known: self
                    .file
                    .gpu_models
                    .iter()
                    .map(|m| m.name.clone())
                    .chain(hardware::catalog().iter().map(|g| g.name.clone()))
                    .collect(),
            })?;
        // Two spellings of one model share an id.
        let id = match self.cluster.models.iter().position(|m| m.name == spec.name) {
            Some(i) => GpuModelId(u16::try_from(i).unwrap_or(u16::MAX)),
            None => {
                let id = u16::try_from(self.cluster.models.len())
                    .map_err(|_| self.invalid(key, "too many GPU models"))?;
                self.cluster.models.push(spec);
                GpuModelId(id)
            }
        };
        self.model_ids.insert(lower, id);
        Ok(id)
    }

    fn invalid(&self, key: &str, message: &str) -> TopologyError {
        TopologyError::Invalid {
            path: self.origin.to_path_buf(),
            issues: vec![Issue {
                key: key.to_owned(),
                message: message.to_owned(),
            }],
        }
    }

    /// Starts a new segment (group, or one model of a node list): the next node
    /// opens a new rack, and a new row if `new_row`.
    fn start_segment(&mut self, per_rack: u32, new_row: bool) {
        self.per_rack = per_rack;
        self.open_rack = true;
        self.open_row = new_row;
    }

    /// Places one node, opening racks, rows and halls as they fill.
    fn push(&mut self, mut node: Node, key: &str) -> Result<(), TopologyError> {
        if self.cluster.nodes.len() as u64 >= MAX_NODES {
            return Err(self.invalid(key, &format!("more than {MAX_NODES} nodes")));
        }
        if let Some(first) = self.node_names.get(&node.name) {
            let message = format!("duplicate node name `{}` (first from {first})", node.name);
            return Err(self.invalid(key, &message));
        }
        self.node_names.insert(node.name.clone(), key.to_owned());
        if self.open_rack || self.nodes_in_rack >= self.per_rack || self.cluster.racks.is_empty() {
            self.new_rack();
        }
        // Racks and nodes are bounded by MAX_NODES (< u32::MAX), checked above.
        node.rack = RackId((self.cluster.racks.len() - 1) as u32);
        self.nodes_in_rack += 1;
        self.cluster.nodes.push(node);
        self.node_base_w.push(self.seg_base_w);
        self.switches.push(None);
        Ok(())
    }

    fn new_rack(&mut self) {
        let layout = &self.file.layout;
        let need_row = self.cluster.rows.is_empty()
            || self.racks_in_row >= layout.racks_per_row
            || (self.open_row && self.racks_in_row > 0);
        if need_row {
            if self.cluster.halls.is_empty() || self.rows_in_hall >= layout.rows_per_hall {
                let h = self.cluster.halls.len();
                self.cluster.halls.push(Hall {
                    name: format!("hall{h}"),
                });
                self.rows_in_hall = 0;
            }
            let hall = HallId((self.cluster.halls.len() - 1) as u32);
            self.cluster.rows.push(Row {
                name: format!("hall{}-row{}", hall.0, self.rows_in_hall),
                hall,
            });
            self.rows_in_hall += 1;
            self.racks_in_row = 0;
        }
        let row = RowId((self.cluster.rows.len() - 1) as u32);
        let row_name = &self.cluster.rows[row.0 as usize].name;
        self.cluster.racks.push(Rack {
            name: format!("{row_name}-rack{:02}", self.racks_in_row),
            row,
        });
        self.rack_cap_kw.push(self.seg_rack_cap_kw);
        self.rack_cooling_kw.push(self.seg_rack_cooling_kw);
        self.racks_in_row += 1;
        self.nodes_in_rack = 0;
        self.open_rack = false;
        self.open_row = false;
    }

    /// Adds the nodes of one node list, grouped by GPU model.
    fn add_list(
        &mut self,
        path: &Path,
        key: &str,
        listed: Vec<ListedNode>,
        def: &NodeListDef,
    ) -> Result<(), TopologyError> {
        let mut order: Vec<String> = Vec::new();
        let mut by_model: HashMap<String, Vec<ListedNode>> = HashMap::new();
        for n in listed {
            if n.gpus == 0 {
                self.cpu_only += 1;
                continue;
            }
            let m = n.model.clone();
            by_model
                .entry(m.clone())
                .or_insert_with(|| {
                    order.push(m);
                    Vec::new()
                })
                .push(n);
        }
        let per_rack = def.nodes_per_rack.unwrap_or(self.file.layout.nodes_per_rack);
        for m in order {
            let nodes = by_model.remove(&m).unwrap_or_default();
            let first_line = nodes.first().map_or(0, |n| n.line);
            let at = format!("{key} ({}, line {first_line})", path.display());
            let model = self.model(&m, &at)?;
            self.start_segment(per_rack, def.new_row);
            self.segment_power(
                def.node_base_w,
                def.rack_cap_kw,
                rack_cooling(def.rack_cooling_kw, def.cooling),
            );
            for n in nodes {
                let at = format!("{key} ({}, line {})", path.display(), n.line);
                let switches = n.switches;
                self.push(
                    Node {
                        name: n.name,
                        model,
                        gpus: n.gpus,
                        cpu_milli: n.cpu_milli,
                        memory_mib: n.memory_mib,
                        rack: RackId(0),
                    },
                    &at,
                )?;
                if let Some(slot) = self.switches.last_mut() {
                    *slot = switches;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<LoadReport, TopologyError> {
        if self.cluster.nodes.is_empty() {
            return Err(self.invalid("nodes", "the topology has no GPU nodes"));
        }
        let keys = &self.file.power;
        let power = TopologyPower {
            node_base_w: self
                .cluster
                .nodes
                .iter()
                .zip(&self.node_base_w)
                .map(|(n, b)| b.unwrap_or_else(|| default_node_base_w(&self.cluster, n)))
                .collect(),
            rack_cap_w: self
                .rack_cap_kw
                .iter()
                .map(|c| cap_w(c.or(keys.rack_cap_kw)))
                .collect(),
            rack_cooling_w: self
                .rack_cooling_kw
                .iter()
                .map(|c| cap_w(c.or(rack_cooling(keys.rack_cooling_kw, keys.cooling))))
                .collect(),
            row_cap_w: cap_w(keys.row_cap_kw),
            hall_cap_w: cap_w(keys.hall_cap_kw),
            feed_w: cap_w(keys.feed_kw),
            rack_overhead_w: keys.rack_overhead_w,
            row_overhead_w: keys.row_overhead_w,
        };
        let fabric = match self.file.fabric.as_ref() {
            Some(keys) => Some(
                Fabric::build(&self.cluster, keys, &self.switches)
                    .map_err(|e| self.invalid("fabric", &e.to_string()))?,
            ),
            None => None,
        };
        Ok(LoadReport {
            cluster: self.cluster,
            cpu_only_nodes: self.cpu_only,
            power,
            fabric,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = r#"
name = "t"
source = "test"
[layout]
nodes_per_rack = 2
racks_per_row = 2
rows_per_hall = 2
[[nodes]]
name = "a"
gpu = "H100"
gpus = 8
count = 5
[[nodes]]
name = "b"
gpu = "A100"
gpus = 4
count = 2
new_row = true
[[nodes]]
name = "cpu"
gpus = 0
count = 3
"#;

    #[test]
    fn racks_rows_halls_fill_in_order() {
        let r = parse_report(TINY, Path::new("t.toml")).expect("valid");
        let c = &r.cluster;
        assert_eq!(r.cpu_only_nodes, 3);
        assert_eq!(c.nodes.len(), 7);
        assert_eq!(c.total_gpus(), 48);
        // a: 5 nodes in racks of 2 → 3 racks (2 rows: 2 + 1); b starts a new row.
        assert_eq!(c.racks.len(), 4);
        assert_eq!(c.rows.len(), 3);
        assert_eq!(c.halls.len(), 2);
        assert_eq!(c.racks[3].name, "hall1-row0-rack00");
        assert_eq!(c.nodes[4].rack, RackId(2));
        assert_eq!(c.nodes[5].name, "b-0");
        assert_eq!(c.nodes[5].rack, RackId(3));
    }

    #[test]
    fn line_column_is_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
