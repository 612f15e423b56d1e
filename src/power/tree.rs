//! The power tree: feed ▸ halls ▸ rows ▸ racks, each with a cap and the constant power
//! of its own equipment, plus per-node and per-GPU-model figures the run needs.
//!
//! Tree nodes are numbered level by level: 0 is the feed, then halls, rows and racks in
//! cluster order, so a parent's index is always below its children's.

use crate::topology::config::TopologyPower;
use crate::topology::Cluster;

use super::model::{gpu_power_w, perf_at_cap};
use super::{Capping, PowerConfig, PowerMode};

/// Why a power set-up is invalid for its cluster.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct PowerError {
    /// Dotted key or tree node.
    pub key: String,
    /// What was wrong.
    pub message: String,
}

/// A level of the power tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The site feed (the root).
    Feed,
    /// A hall.
    Hall,
    /// A row (PDU).
    Row,
    /// A rack.
    Rack,
}

impl Level {
    /// The name written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Feed => "feed",
            Level::Hall => "hall",
            Level::Row => "row",
            Level::Rack => "rack",
        }
    }
}

/// Per-GPU-model figures, W.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPower {
    /// Idle power, W.
    pub idle_w: f64,
    /// TDP, W.
    pub tdp_w: f64,
    /// Lowest cap a throttled GPU of this model is set to, W (at least idle).
    pub min_cap_w: f64,
    /// Static per-GPU cap (`capping = "static"`), W; TDP for other policies.
    pub static_cap_w: f64,
    /// α of the performance-vs-cap curve.
    pub alpha: f64,
}

/// The static power tree of one cluster under one power configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerTree {
    /// Parent of each tree node (`u32::MAX` for the feed).
    pub parent: Vec<u32>,
    /// Children of each tree node.
    pub children: Vec<Vec<u32>>,
    /// Cap of each tree node, W (`f64::INFINITY`: none); for a rack the lower of its
    /// electrical cap and its cooling capacity.
    pub cap_w: Vec<f64>,
    /// Cooling capacity of each rack, W (`f64::INFINITY` for other nodes and racks
    /// without one).
    pub cooling_w: Vec<f64>,
    /// Constant power of each tree node's own equipment, W: row and rack overheads,
    /// and for a rack also its nodes' base power and its GPUs' idle power.
    pub own_w: Vec<f64>,
    /// Power of each subtree with every GPU at its lowest cap (the throttling floor), W.
    pub floor_w: Vec<f64>,
    /// Power of each subtree at nameplate (every GPU at TDP), W.
    pub nameplate_w: Vec<f64>,
    /// Names of the tree nodes (`feed`, hall, row and rack names).
    pub names: Vec<String>,
    /// Index of the first hall, row and rack.
    pub first_hall: u32,
    /// Index of the first row.
    pub first_row: u32,
    /// Index of the first rack.
    pub first_rack: u32,
    /// Tree index of each cluster node's rack.
    pub node_rack: Vec<u32>,
    /// Base power of each cluster node, W.
    pub node_base_w: Vec<f64>,
    /// GPUs of each cluster node.
    pub node_gpus: Vec<u32>,
    /// GPU model index of each cluster node.
    pub node_model: Vec<u16>,
    /// Per GPU model figures.
    pub models: Vec<ModelPower>,
    /// Overhead power (rack and row equipment), W.
    pub overhead_w: f64,
    /// Base power of all nodes plus idle power of all GPUs, W.
    pub static_nodes_w: f64,
}

impl PowerTree {
    /// Builds the tree and checks that every cap can be met: in admission mode at least
    /// its subtree's idle draw (else no job could ever be admitted under it), in
    /// oversubscription mode at least its subtree's floor (so throttling can always
    /// bring demand under the cap).
    pub fn build(
        cluster: &Cluster,
        topo: &TopologyPower,
        cfg: &PowerConfig,
    ) -> Result<PowerTree, PowerError> {
        let halls = cluster.halls.len() as u32;
        let rows = cluster.rows.len() as u32;
        let racks = cluster.racks.len() as u32;
        let first_hall = 1;
        let first_row = first_hall + halls;
        let first_rack = first_row + rows;
        let n = (first_rack + racks) as usize;
        let mut parent = vec![u32::MAX; n];
        let mut cap_w = vec![f64::INFINITY; n];
        let mut cooling_w = vec![f64::INFINITY; n];
        let mut own_w = vec![0.0; n];
        let mut names = vec![String::new(); n];
        names[0] = "feed".into();
        cap_w[0] = topo.feed_w;
        for (h, hall) in cluster.halls.iter().enumerate() {
            let i = first_hall as usize + h;
            parent[i] = 0;
            cap_w[i] = topo.hall_cap_w;
            names[i] = hall.name.clone();
        }
        for (r, row) in cluster.rows.iter().enumerate() {
            let i = first_row as usize + r;
            parent[i] = first_hall + row.hall.0;
            cap_w[i] = topo.row_cap_w;
            own_w[i] = topo.row_overhead_w;
            names[i] = row.name.clone();
        }
        for (k, rack) in cluster.racks.iter().enumerate() {
            let i = first_rack as usize + k;
            parent[i] = first_row + rack.row.0;
            // All of a rack's power becomes heat: its cooling caps it as its PDU does.
            let electrical = topo.rack_cap_w.get(k).copied().unwrap_or(f64::INFINITY);
            let cooling = topo.rack_cooling_w.get(k).copied().unwrap_or(f64::INFINITY);
            cap_w[i] = electrical.min(cooling);
            cooling_w[i] = cooling;
            own_w[i] = topo.rack_overhead_w;
            names[i] = rack.name.clone();
        }
        let overhead_w = own_w.iter().sum();
        let models: Vec<ModelPower> = cluster
            .models
            .iter()
            .map(|m| {
                let alpha = cfg
                    .perf_exponent_by_model
                    .iter()
                    .find(|(name, _)| m.matches(name))
                    .map_or(cfg.perf_exponent, |(_, &a)| a);
                ModelPower {
                    idle_w: m.idle_w,
                    tdp_w: m.tdp_w,
                    min_cap_w: (cfg.min_gpu_cap_share * m.tdp_w).max(m.idle_w),
                    static_cap_w: match cfg.capping {
                        Capping::Static => (cfg.static_gpu_cap_share * m.tdp_w).max(m.idle_w),
                        _ => m.tdp_w,
                    },
                    alpha,
                }
            })
            .collect();
        let mut floor_w = own_w.clone();
        let mut nameplate_w = own_w.clone();
        let mut node_rack = Vec::with_capacity(cluster.nodes.len());
        let mut static_nodes_w = 0.0;
        for (i, node) in cluster.nodes.iter().enumerate() {
            let r = first_rack + node.rack.0;
            node_rack.push(r);
            let m = &models[node.model.0 as usize];
            let g = f64::from(node.gpus);
            let base = topo.node_base_w.get(i).copied().unwrap_or(0.0);
            own_w[r as usize] += base + g * m.idle_w;
            floor_w[r as usize] += base + g * m.min_cap_w;
            nameplate_w[r as usize] += base + g * m.tdp_w;
            static_nodes_w += base + g * m.idle_w;
        }
        let mut children = vec![Vec::new(); n];
        for i in (1..n).rev() {
            let p = parent[i] as usize;
            floor_w[p] += floor_w[i];
            nameplate_w[p] += nameplate_w[i];
        }
        for i in 1..n {
            children[parent[i] as usize].push(i as u32);
        }
        let tree = PowerTree {
            parent,
            children,
            cap_w,
            cooling_w,
            own_w,
            floor_w,
            nameplate_w,
            names,
            first_hall,
            first_row,
            first_rack,
            node_rack,
            node_base_w: topo.node_base_w.clone(),
            node_gpus: cluster.nodes.iter().map(|n| n.gpus).collect(),
            node_model: cluster.nodes.iter().map(|n| n.model.0).collect(),
            models,
            overhead_w,
            static_nodes_w,
        };
        if cfg.mode == PowerMode::Admission {
            // Admission reserves the static draw (everything idle) up front; a cap below
            // it refuses every job under it, forever.
            let mut idle_w = tree.own_w.clone();
            for i in (1..n).rev() {
                idle_w[tree.parent[i] as usize] += idle_w[i];
            }
            for (i, &idle) in idle_w.iter().enumerate() {
                if idle > tree.cap_w[i] + 1e-9 {
                    return Err(PowerError {
                        key: tree.names[i].clone(),
                        message: format!(
                            "cap {:.3} kW is below the {:.3} kW this part of the tree draws with every GPU \
                             idle; in admission mode no job could ever start under it",
                            tree.cap_w[i] / 1000.0,
                            idle / 1000.0
                        ),
                    });
                }
            }
        }
        if cfg.mode == PowerMode::Oversubscription {
            for i in 0..n {
                if tree.floor_w[i] > tree.cap_w[i] {
                    return Err(PowerError {
                        key: tree.names[i].clone(),
                        message: format!(
                            "cap {:.3} kW is below the {:.3} kW this part of the tree draws with every GPU \
                             at its lowest cap (min_gpu_cap_share); oversubscription could not keep under it",
                            tree.cap_w[i] / 1000.0,
                            tree.floor_w[i] / 1000.0
                        ),
                    });
                }
            }
        }
        Ok(tree)
    }

    /// Number of tree nodes.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether the tree has only its feed.
    pub fn is_empty(&self) -> bool {
        self.parent.len() <= 1
    }

    /// The level of tree node `i`.
    pub fn level(&self, i: u32) -> Level {
        if i >= self.first_rack {
            Level::Rack
        } else if i >= self.first_row {
            Level::Row
        } else if i >= self.first_hall {
            Level::Hall
        } else {
            Level::Feed
        }
    }

    /// Whether tree node `i` is a rack.
    pub fn is_rack(&self, i: u32) -> bool {
        i >= self.first_rack
    }

    /// Number of halls.
    pub fn halls(&self) -> usize {
        (self.first_row - self.first_hall) as usize
    }

    /// The hall (0-based) holding tree node `i` (a hall, row or rack).
    pub fn hall_of(&self, mut i: u32) -> usize {
        while i >= self.first_row {
            i = self.parent[i as usize];
        }
        (i - self.first_hall) as usize
    }
}

/// Per-GPU power figures of one job on one GPU model, W.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobGpuPower {
    /// Power its work would draw unthrottled: idle + (TDP − idle)·f(u).
    pub demand_w: f64,
    /// Demand after the static cap (equal to `demand_w` unless `capping = "static"`).
    pub capped_w: f64,
    /// The lowest it can be throttled to: min(capped, model's lowest cap).
    pub min_w: f64,
}

impl JobGpuPower {
    /// Figures for utilization `u` on model `m`.
    pub fn new(cfg: &PowerConfig, m: &ModelPower, u: f64) -> JobGpuPower {
        let demand_w = gpu_power_w(cfg.curve, m.idle_w, m.tdp_w, u);
        let capped_w = demand_w.min(m.static_cap_w);
        JobGpuPower {
            demand_w,
            capped_w,
            min_w: capped_w.min(m.min_cap_w),
        }
    }

    /// Figures for a GPU drawing `share` (0-1) of its idle-to-TDP range (a service's
    /// replica, whose draw the service's own model gives), under `m`'s caps.
    pub fn at_share(m: &ModelPower, share: f64) -> JobGpuPower {
        let demand_w = m.idle_w + (m.tdp_w - m.idle_w) * share.clamp(0.0, 1.0);
        let capped_w = demand_w.min(m.static_cap_w);
        JobGpuPower {
            demand_w,
            capped_w,
            min_w: capped_w.min(m.min_cap_w),
        }
    }

    /// Speed when its throttleable share (capped − min) is kept at fraction `x`.
    pub fn rate(&self, x: f64, alpha: f64) -> f64 {
        let cap = if x >= 1.0 {
            self.capped_w
        } else {
            self.min_w + x * (self.capped_w - self.min_w)
        };
        perf_at_cap(cap, self.demand_w, alpha)
    }
}
