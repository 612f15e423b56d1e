//! The free-capacity index placement queries: per GPU model, nodes bucketed by their
//! number of fully free GPUs (bitsets, lowest id first), a max-tree of the largest free
//! share per node for first-fit sharing, and partially shared GPUs ordered by free share
//! for best-fit sharing.
//!
//! Every query is O(log nodes) or O(GPUs per node), never a scan of the cluster.
//!
//! Optionally it also keeps each node's free CPU and memory ([`FreeCapacity::track_host`]),
//! when the workload asks for them and the cluster gives them; queries then skip nodes
//! that lack them for the job (a scan of the candidates rather than a bucket lookup).
//!
//! Optionally it also keeps the cluster's GPU fragmentation with respect to a target
//! workload ([`TaskMix`], Weng et al., ATC 2023): one contribution per node, updated when
//! that node's allocation changes, so the total is exact and never recomputed.

use std::collections::BTreeSet;

use super::idset::IdSet;
use super::leaves::{LeafGroups, LeafIndex};
use super::placement::TaskMix;
use super::traits::{ModelMask, PlacementRequest};
use crate::topology::{Cluster, GpuModelId, NodeId};
use crate::workload::{HostDemand, MILLI_PER_GPU};

/// CPU and memory free (or installed) on a node; `u64::MAX` where the node is
/// unconstrained (no capacity given, or host resources not tracked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostRoom {
    /// CPU in thousandths of a core.
    pub cpu_milli: u64,
    /// Memory in MiB.
    pub memory_mib: u64,
}

impl HostRoom {
    /// Room for anything.
    pub const UNLIMITED: HostRoom = HostRoom {
        cpu_milli: u64::MAX,
        memory_mib: u64::MAX,
    };

    /// Whether `d` fits in this room.
    pub fn holds(self, d: HostDemand) -> bool {
        u64::from(d.cpu_milli) <= self.cpu_milli && u64::from(d.memory_mib) <= self.memory_mib
    }

    /// The room left after taking `d` (which must fit); unconstrained stays unconstrained.
    pub fn minus(self, d: HostDemand) -> HostRoom {
        let sub = |room: u64, v: u32| {
            if room == u64::MAX {
                room
            } else {
                room - u64::from(v)
            }
        };
        HostRoom {
            cpu_milli: sub(self.cpu_milli, d.cpu_milli),
            memory_mib: sub(self.memory_mib, d.memory_mib),
        }
    }
}

/// Free and installed CPU and memory per node, by node id.
#[derive(Debug, Clone)]
struct HostIndex {
    room: Vec<HostRoom>,
    capacity: Vec<HostRoom>,
}
/// GPUs granted to a job on one node: a bit per GPU index on that node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuGrant {
    /// The node.
    pub node: NodeId,
    /// Bit `i` set = the node's GPU `i`.
    pub gpus: u64,
}

/// A max segment tree over a pool's nodes, answering "leftmost node with value ≥ k".
#[derive(Debug, Clone)]
struct MaxTree {
    size: usize,
    tree: Vec<u16>,
}

impl MaxTree {
    fn new(values: &[u16]) -> Self {
        let size = values.len().next_power_of_two().max(1);
        let mut tree = vec![0u16; 2 * size];
        tree[size..size + values.len()].copy_from_slice(values);
        for i in (1..size).rev() {
            tree[i] = tree[2 * i].max(tree[2 * i + 1]);
        }
        MaxTree { size, tree }
    }

    fn set(&mut self, pos: usize, value: u16) {
        let mut i = pos + self.size;
        if self.tree[i] == value {
            return;
        }
        self.tree[i] = value;
        while i > 1 {
            i /= 2;
            let v = self.tree[2 * i].max(self.tree[2 * i + 1]);
            if self.tree[i] == v {
                break;
            }
            self.tree[i] = v;
        }
    }

    /// The leftmost position at or after `from` with value ≥ k: O(log n).
    fn first_at_least_from(&self, k: u16, from: usize) -> Option<usize> {
        self.search(1, 0, self.size, k, from)
    }

    fn search(&self, i: usize, lo: usize, hi: usize, k: u16, from: usize) -> Option<usize> {
        if hi <= from || self.tree[i] < k {
            return None;
        }
        if i >= self.size {
            return Some(lo);
        }
        let mid = (lo + hi) / 2;
        self.search(2 * i, lo, mid, k, from)
            .or_else(|| self.search(2 * i + 1, mid, hi, k, from))
    }

    fn leftmost_at_least(&self, k: u16) -> Option<usize> {
        if self.tree[1] < k {
            return None;
        }
        let mut i = 1;
        while i < self.size {
            i = if self.tree[2 * i] >= k { 2 * i } else { 2 * i + 1 };
        }
        Some(i - self.size)
    }
}

/// The free capacity of one GPU model's nodes.
#[derive(Debug, Clone)]
struct Pool {
    /// Nodes of this model, in node-id order; a node's position here indexes the trees.
    nodes: Vec<NodeId>,
    /// `buckets[k]` = positions of nodes with exactly `k` fully free GPUs.
    buckets: Vec<IdSet>,
    /// Largest free share on any one GPU per node position (first-fit on shares).
    /// Absent when the workload has no sharing job: then nothing asks, and whole-GPU
    /// runs skip its upkeep (a tree update per allocation).
    share_tree: Option<MaxTree>,
    /// Partially used GPUs as (free milli, node, GPU index): best-fit on shares.
    partial: BTreeSet<(u16, NodeId, u8)>,
    /// Fully free GPUs in the pool.
    free_whole: u64,
    /// Free thousandths of a GPU in the pool.
    free_milli: u64,
    /// GPUs in the pool.
    capacity: u64,
    /// The most GPUs on one node of the pool.
    max_node_gpus: u32,
    /// Local rack index of each node position (racks of this pool, in node order).
    rack_of_pos: Vec<u32>,
    /// Positions `start..end` of each local rack's nodes (a rack's nodes are contiguous).
    rack_span: Vec<(u32, u32)>,
    /// Fully free GPUs per local rack.
    rack_free: Vec<u32>,
    /// The same, saturated to u16, as a max-tree: racks with ≥ k free, in order. Built
    /// only for placements that ask ([`FreeCapacity::track_racks`]); without it, rack
    /// queries scan `rack_free`.
    rack_tree: Option<MaxTree>,
}

/// The fragmentation index: per-node contributions in millionths of a GPU.
#[derive(Debug, Clone)]
struct FragIndex {
    mix: TaskMix,
    node: Vec<u64>,
    total: u64,
}

/// `v` capped at `u16::MAX` (for the max-trees).
fn saturate(v: u32) -> u16 {
    v.min(u32::from(u16::MAX)) as u16
}

/// Free capacity of the whole cluster, indexed per GPU model.
#[derive(Debug, Clone)]
pub struct FreeCapacity {
    pools: Vec<Pool>,
    node_model: Vec<GpuModelId>,
    node_pos: Vec<u32>,
    node_gpus: Vec<u8>,
    /// Fully free GPUs per node, kept with `gpu_free` (read on every placement query
    /// and update, so never recounted).
    node_whole: Vec<u8>,
    gpu_base: Vec<u32>,
    /// Free thousandths per GPU, flattened; node `n`'s GPUs start at `gpu_base[n]`.
    gpu_free: Vec<u16>,
    /// Models ordered cheapest first: (relative speed, TDP, id) ascending.
    models_by_cost: Vec<GpuModelId>,
    /// Free CPU and memory per node, when tracked ([`FreeCapacity::track_host`]).
    host: Option<HostIndex>,
    frag: Option<FragIndex>,
    /// Rack of each node (the leaves when no fabric names them).
    node_rack: Vec<u32>,
    /// Free GPUs per fabric leaf and pod, when tracked ([`FreeCapacity::track_leaves`]).
    leaves: Option<LeafIndex>,
}

impl FreeCapacity {
    /// An all-free index for `cluster`; `track_shares` keeps the first-fit index for
    /// GPU-sharing jobs (without it, share queries scan the pool).
    ///
    /// Panics if a node has more than 64 GPUs (topology validation rejects that).
    pub fn new(cluster: &Cluster, track_shares: bool) -> Self {
        let mut pools: Vec<Pool> = Vec::with_capacity(cluster.models.len());
        let mut per_pool_nodes: Vec<Vec<NodeId>> = vec![Vec::new(); cluster.models.len()];
        let mut node_pos = Vec::with_capacity(cluster.nodes.len());
        let mut gpu_base = Vec::with_capacity(cluster.nodes.len());
        let mut node_gpus = Vec::with_capacity(cluster.nodes.len());
        let mut total = 0u32;
        for (i, n) in cluster.nodes.iter().enumerate() {
            assert!(
                n.gpus <= 64,
                "node {} has {} GPUs; at most 64 supported",
                n.name,
                n.gpus
            );
            let list = &mut per_pool_nodes[n.model.0 as usize];
            node_pos.push(list.len() as u32);
            list.push(NodeId(i as u32));
            gpu_base.push(total);
            node_gpus.push(n.gpus as u8);
            total += n.gpus;
        }
        for nodes in per_pool_nodes {
            let max_node_gpus = nodes
                .iter()
                .map(|n| cluster.nodes[n.0 as usize].gpus)
                .max()
                .unwrap_or(0);
            let mut buckets = vec![IdSet::with_capacity(nodes.len()); max_node_gpus as usize + 1];
            let mut share = Vec::with_capacity(nodes.len());
            let mut capacity = 0u64;
            let mut rack_of_pos = Vec::with_capacity(nodes.len());
            let mut rack_span: Vec<(u32, u32)> = Vec::new();
            let mut rack_free: Vec<u32> = Vec::new();
            let mut last_rack = None;
            for (pos, &id) in nodes.iter().enumerate() {
                let node = &cluster.nodes[id.0 as usize];
                let g = node.gpus;
                buckets[g as usize].insert(pos);
                share.push(if g > 0 { MILLI_PER_GPU as u16 } else { 0 });
                capacity += u64::from(g);
                if last_rack != Some(node.rack) {
                    last_rack = Some(node.rack);
                    rack_span.push((pos as u32, pos as u32));
                    rack_free.push(0);
                }
                let r = rack_span.len() - 1;
                rack_span[r].1 = pos as u32 + 1;
                rack_free[r] += g;
                rack_of_pos.push(r as u32);
            }
            pools.push(Pool {
                share_tree: track_shares.then(|| MaxTree::new(&share)),
                nodes,
                buckets,
                partial: BTreeSet::new(),
                free_whole: capacity,
                free_milli: capacity * u64::from(MILLI_PER_GPU),
                capacity,
                max_node_gpus,
                rack_of_pos,
                rack_span,
                rack_free,
                rack_tree: None,
            });
        }
        let mut models_by_cost: Vec<GpuModelId> =
            (0..cluster.models.len()).map(|i| GpuModelId(i as u16)).collect();
        models_by_cost.sort_by(|a, b| {
            let (x, y) = (&cluster.models[a.0 as usize], &cluster.models[b.0 as usize]);
            x.relative_speed
                .total_cmp(&y.relative_speed)
                .then(x.tdp_w.total_cmp(&y.tdp_w))
                .then(a.cmp(b))
        });
        FreeCapacity {
            models_by_cost,
            host: None,
            frag: None,
            pools,
            node_model: cluster.nodes.iter().map(|n| n.model).collect(),
            node_pos,
            node_whole: node_gpus.clone(),
            node_gpus,
            gpu_base,
            gpu_free: vec![MILLI_PER_GPU as u16; total as usize],
            node_rack: cluster.nodes.iter().map(|n| n.rack.0).collect(),
            leaves: None,
        }
    }

    /// GPU models with at least one GPU, as ids.
    pub fn models(&self) -> impl Iterator<Item = GpuModelId> + '_ {
        (0..self.pools.len())
            .filter(|&i| self.pools[i].capacity > 0)
            .map(|i| GpuModelId(i as u16))
    }

    /// GPUs of a model.
    pub fn capacity(&self, model: GpuModelId) -> u64 {
        self.pools[model.0 as usize].capacity
    }

    /// Fully free GPUs of a model.
    pub fn free_whole(&self, model: GpuModelId) -> u64 {
        self.pools[model.0 as usize].free_whole
    }

    /// Free thousandths of a GPU of a model, partial shares included.
    pub fn free_milli(&self, model: GpuModelId) -> u64 {
        self.pools[model.0 as usize].free_milli
    }

    /// The most GPUs on one node of a model.
    pub fn max_node_gpus(&self, model: GpuModelId) -> u32 {
        self.pools[model.0 as usize].max_node_gpus
    }

    /// The GPU model of a node.
    pub fn node_model(&self, node: NodeId) -> GpuModelId {
        self.node_model[node.0 as usize]
    }

    /// Free share of each GPU of a node, in thousandths.
    pub fn node_gpu_free(&self, node: NodeId) -> &[u16] {
        let b = self.gpu_base[node.0 as usize] as usize;
        &self.gpu_free[b..b + self.node_gpus[node.0 as usize] as usize]
    }

    /// Fully free GPUs on a node.
    pub fn node_free_whole(&self, node: NodeId) -> u32 {
        u32::from(self.node_whole[node.0 as usize])
    }

    /// Lowest-id node of `model` with at least `k` fully free GPUs and room for `host`.
    pub fn first_node_with_whole(&self, model: GpuModelId, k: u32, host: HostDemand) -> Option<NodeId> {
        let p = &self.pools[model.0 as usize];
        let buckets = p.buckets.iter().skip(k as usize);
        if self.host_filters(host) {
            buckets
                .filter_map(|b| b.iter().find(|&pos| self.hosts(p.nodes[pos], host)))
                .min()
                .map(|pos| p.nodes[pos])
        } else {
            buckets.filter_map(IdSet::first).min().map(|pos| p.nodes[pos])
        }
    }

    /// The node of `model` with the fewest fully free GPUs that still has `k` and room
    /// for `host` (lowest id on ties).
    pub fn best_node_with_whole(&self, model: GpuModelId, k: u32, host: HostDemand) -> Option<NodeId> {
        let p = &self.pools[model.0 as usize];
        let mut buckets = p.buckets.iter().skip(k as usize);
        if self.host_filters(host) {
            buckets
                .find_map(|b| b.iter().find(|&pos| self.hosts(p.nodes[pos], host)))
                .map(|pos| p.nodes[pos])
        } else {
            buckets.find_map(IdSet::first).map(|pos| p.nodes[pos])
        }
    }

    /// Nodes of `model` with at least one fully free GPU, most free first (lowest id on ties).
    pub fn nodes_by_free_desc(&self, model: GpuModelId) -> impl Iterator<Item = NodeId> + '_ {
        let p = &self.pools[model.0 as usize];
        p.buckets
            .iter()
            .skip(1)
            .rev()
            .flat_map(|b| b.iter())
            .map(|pos| p.nodes[pos])
    }

    /// Nodes of `model` with exactly `k` fully free GPUs, lowest id first.
    pub fn nodes_with_free(&self, model: GpuModelId, k: u32) -> impl Iterator<Item = NodeId> + '_ {
        let p = &self.pools[model.0 as usize];
        p.buckets
            .get(k as usize)
            .into_iter()
            .flat_map(|b| b.iter())
            .map(|pos| p.nodes[pos])
    }

    /// Lowest-id node of `model` with a GPU whose free share is at least `milli` and room
    /// for `host`, and that GPU.
    pub fn first_gpu_with_share(
        &self,
        model: GpuModelId,
        milli: u32,
        host: HostDemand,
    ) -> Option<(NodeId, u8)> {
        let p = &self.pools[model.0 as usize];
        let node = match &p.share_tree {
            Some(tree) if !self.host_filters(host) => p.nodes[tree.leftmost_at_least(milli as u16)?],
            _ => *p.nodes.iter().find(|&&n| {
                self.hosts(n, host) && self.node_gpu_free(n).iter().any(|&f| u32::from(f) >= milli)
            })?,
        };
        let gpu = self
            .node_gpu_free(node)
            .iter()
            .position(|&f| u32::from(f) >= milli)?;
        Some((node, gpu as u8))
    }

    /// The partially used GPU of `model` with the least free share that still fits
    /// `milli`, on a node with room for `host`.
    pub fn best_partial_gpu(
        &self,
        model: GpuModelId,
        milli: u32,
        host: HostDemand,
    ) -> Option<(NodeId, u8, u16)> {
        let p = &self.pools[model.0 as usize];
        p.partial
            .range((milli as u16, NodeId(0), 0)..)
            .find(|&&(_, node, _)| self.hosts(node, host))
            .map(|&(free, node, gpu)| (node, gpu, free))
    }

    /// Nodes of `model`, in node-id order.
    pub fn pool_nodes(&self, model: GpuModelId) -> &[NodeId] {
        &self.pools[model.0 as usize].nodes
    }

    /// GPUs on a node.
    pub fn node_gpus(&self, node: NodeId) -> u32 {
        u32::from(self.node_gpus[node.0 as usize])
    }

    /// The partially used GPU of `model` with the most free share, on a node with room
    /// for `host`.
    pub fn largest_partial_gpu(&self, model: GpuModelId, host: HostDemand) -> Option<(NodeId, u8, u16)> {
        let p = &self.pools[model.0 as usize];
        p.partial
            .iter()
            .rev()
            .find(|&&(_, node, _)| self.hosts(node, host))
            .map(|&(free, node, gpu)| (node, gpu, free))
    }

    /// Starts keeping each node's free CPU and memory, from the capacities `cluster`
    /// gives (a node with 0 for one is unconstrained in it); nothing is kept if no node
    /// gives any. Call it on an all-free index, when the workload asks for CPU or memory.
    pub fn track_host(&mut self, cluster: &Cluster) {
        let given = |v: u64| if v == 0 { u64::MAX } else { v };
        let capacity: Vec<HostRoom> = cluster
            .nodes
            .iter()
            .map(|n| HostRoom {
                cpu_milli: given(n.cpu_milli),
                memory_mib: given(n.memory_mib),
            })
            .collect();
        if capacity.iter().all(|&c| c == HostRoom::UNLIMITED) {
            return;
        }
        self.host = Some(HostIndex {
            room: capacity.clone(),
            capacity,
        });
        if let Some(mix) = self.frag.take().map(|f| f.mix) {
            self.track_fragmentation(mix);
        }
    }

    /// Whether free CPU and memory are kept ([`FreeCapacity::track_host`]).
    pub fn tracks_host(&self) -> bool {
        self.host.is_some()
    }

    /// Free CPU and memory on a node ([`HostRoom::UNLIMITED`] when not tracked).
    pub fn host_room(&self, node: NodeId) -> HostRoom {
        self.host
            .as_ref()
            .map_or(HostRoom::UNLIMITED, |h| h.room[node.0 as usize])
    }

    /// CPU and memory installed on a node ([`HostRoom::UNLIMITED`] when not tracked).
    pub fn host_capacity(&self, node: NodeId) -> HostRoom {
        self.host
            .as_ref()
            .map_or(HostRoom::UNLIMITED, |h| h.capacity[node.0 as usize])
    }

    /// Whether an empty cluster could hold `gpus` whole GPUs of one of `models` with
    /// `host` (each node its part, [`HostDemand::part`]): one node with the GPUs and the
    /// host capacity, or, for a gang larger than every node of a model, enough GPUs on
    /// nodes whose capacity holds their part. O(nodes of the allowed models).
    pub fn could_host(&self, models: ModelMask, gpus: u32, host: HostDemand) -> bool {
        self.models().filter(|m| models.allows(m.0 as usize)).any(|m| {
            let nodes = self.pool_nodes(m);
            let cap = |n: NodeId, g: u32| self.host_capacity(n).holds(host.part(g, gpus));
            if gpus <= self.max_node_gpus(m) {
                nodes.iter().any(|&n| self.node_gpus(n) >= gpus && cap(n, gpus))
            } else {
                let usable: u64 = nodes
                    .iter()
                    .filter(|&&n| cap(n, self.node_gpus(n)))
                    .map(|&n| u64::from(self.node_gpus(n)))
                    .sum();
                usable >= u64::from(gpus)
            }
        })
    }

    /// Whether a node has the CPU and memory free for `d`.
    pub fn hosts(&self, node: NodeId, d: HostDemand) -> bool {
        self.host_room(node).holds(d)
    }

    /// Whether `host` can rule a node out, i.e. queries must check nodes one by one.
    fn host_filters(&self, host: HostDemand) -> bool {
        self.host.is_some() && !host.is_none()
    }

    /// Keeps a max-tree of free GPUs per rack, so rack queries cost O(log racks) rather
    /// than a scan; placements that query racks ask for it (its upkeep is one tree update
    /// per allocation that changes a rack's free count).
    pub fn track_racks(&mut self) {
        for p in &mut self.pools {
            let free: Vec<u16> = p.rack_free.iter().map(|&f| saturate(f)).collect();
            p.rack_tree = Some(MaxTree::new(&free));
        }
    }

    /// Racks of `model` with at least `k` fully free GPUs, lowest-numbered first: each as
    /// (free GPUs, its nodes of `model` in id order). O(log racks) per rack yielded.
    pub fn racks_with_whole(&self, model: GpuModelId, k: u32) -> impl Iterator<Item = (u32, &[NodeId])> + '_ {
        let p = &self.pools[model.0 as usize];
        let mut from = 0;
        std::iter::from_fn(move || loop {
            let r = match &p.rack_tree {
                Some(tree) => tree.first_at_least_from(saturate(k), from),
                None => (from..p.rack_free.len()).find(|&r| p.rack_free[r] >= k),
            }
            .filter(|&r| r < p.rack_span.len())?;
            from = r + 1;
            if p.rack_free[r] >= k {
                let (a, b) = p.rack_span[r];
                return Some((p.rack_free[r], &p.nodes[a as usize..b as usize]));
            }
        })
    }

    /// Keeps free GPUs per fabric leaf and pod ([`LeafIndex`]) for topology-aware
    /// placement: over `groups`, or one leaf per rack in one pod when None. Its upkeep is
    /// O(log leaves) per allocation that changes a node's count of fully free GPUs.
    pub fn track_leaves(&mut self, groups: Option<LeafGroups>) {
        let groups = groups.unwrap_or_else(|| LeafGroups::of_racks(&self.node_rack));
        let free: Vec<u32> = (0..self.node_model.len())
            .map(|n| self.node_free_whole(NodeId(n as u32)))
            .collect();
        self.leaves = Some(LeafIndex::new(
            groups,
            self.pools.len(),
            &self.node_model,
            &self.node_gpus,
            &free,
        ));
    }

    /// The per-leaf index, when tracked.
    pub fn leaves(&self) -> Option<&LeafIndex> {
        self.leaves.as_ref()
    }

    /// GPU models ordered cheapest first: by relative speed, then TDP, then id (the
    /// order `model-affinity` tries them in).
    pub fn models_by_cost(&self) -> &[GpuModelId] {
        &self.models_by_cost
    }

    /// Whether the fragmentation index is kept ([`FreeCapacity::track_fragmentation`]).
    pub fn tracks_fragmentation(&self) -> bool {
        self.frag.is_some()
    }

    /// Starts keeping the cluster's fragmentation with respect to `mix` (replacing any
    /// earlier mix): every node's contribution is computed once here, then updated on
    /// each allocation and release of that node.
    pub fn track_fragmentation(&mut self, mix: TaskMix) {
        let node: Vec<u64> = (0..self.node_model.len())
            .map(|n| {
                let id = NodeId(n as u32);
                mix.node_frag_micro(self.node_model[n], self.node_gpu_free(id), self.host_room(id))
            })
            .collect();
        let total = node.iter().sum();
        self.frag = Some(FragIndex { mix, node, total });
    }

    /// The target workload fragmentation is measured against, if one is tracked.
    pub fn task_mix(&self) -> Option<&TaskMix> {
        self.frag.as_ref().map(|f| &f.mix)
    }

    /// Expected fragmented GPUs of the cluster, Σ_n F_n(M), in millionths of a GPU
    /// (0 when no mix is tracked).
    pub fn frag_micro(&self) -> u64 {
        self.frag.as_ref().map_or(0, |f| f.total)
    }

    /// One node's fragmentation contribution F_n(M), in millionths of a GPU.
    pub fn node_frag_micro(&self, node: NodeId) -> u64 {
        self.frag.as_ref().map_or(0, |f| f.node[node.0 as usize])
    }

    /// The first `k` fully free GPUs of a node, as a bit mask.
    pub fn free_mask(&self, node: NodeId, k: u32) -> u64 {
        let mut mask = 0u64;
        let mut left = k;
        for (i, &f) in self.node_gpu_free(node).iter().enumerate() {
            if left == 0 {
                break;
            }
            if f == MILLI_PER_GPU as u16 {
                mask |= 1 << i;
                left -= 1;
            }
        }
        mask
    }

    /// Takes `milli` thousandths from each GPU in `grant` (GPUs only; a job's CPU and
    /// memory go with [`FreeCapacity::allocate_job`]).
    ///
    /// Panics if a GPU lacks that share: placement must only grant what is free.
    pub fn allocate(&mut self, grant: GpuGrant, milli: u32) {
        self.apply(grant, milli as i32);
    }

    /// Returns `milli` thousandths to each GPU in `grant`.
    pub fn release(&mut self, grant: GpuGrant, milli: u32) {
        self.apply(grant, -(milli as i32));
    }

    /// Takes what `req` asks for on `grants`: its share of each GPU, and on each node its
    /// part of the CPU and memory ([`HostDemand::part`]). Panics on over-allocation.
    pub fn allocate_job(&mut self, grants: &[GpuGrant], req: &PlacementRequest) {
        for &g in grants {
            self.apply_host(g, req, true);
            self.apply(g, req.demand.milli_per_gpu as i32);
        }
    }

    /// Returns what [`FreeCapacity::allocate_job`] took for the same grants and request.
    pub fn release_job(&mut self, grants: &[GpuGrant], req: &PlacementRequest) {
        for &g in grants {
            self.apply_host(g, req, false);
            self.apply(g, -(req.demand.milli_per_gpu as i32));
        }
    }

    /// Takes (or returns) the CPU and memory of `req`'s part on `grant`'s node, where
    /// tracked; the node's fragmentation is refreshed by the GPU update that follows.
    fn apply_host(&mut self, grant: GpuGrant, req: &PlacementRequest, take: bool) {
        let Some(h) = &mut self.host else {
            return;
        };
        let d = req.host.part(grant.gpus.count_ones(), req.demand.gpus);
        let n = grant.node.0 as usize;
        let (room, cap) = (&mut h.room[n], h.capacity[n]);
        let step = |free: &mut u64, cap: u64, v: u32, what: &str| {
            if cap == u64::MAX {
                return;
            }
            let v = u64::from(v);
            *free = if take {
                free.checked_sub(v)
            } else {
                free.checked_add(v).filter(|&f| f <= cap)
            }
            .unwrap_or_else(|| panic!("node {n} {what} over-allocated: free {free}, change {v}"));
        };
        step(&mut room.cpu_milli, cap.cpu_milli, d.cpu_milli, "CPU");
        step(&mut room.memory_mib, cap.memory_mib, d.memory_mib, "memory");
    }

    fn apply(&mut self, grant: GpuGrant, delta: i32) {
        let n = grant.node.0 as usize;
        let model = self.node_model[n].0 as usize;
        let base = self.gpu_base[n] as usize;
        let count = self.node_gpus[n] as usize;
        let old_whole = u32::from(self.node_whole[n]);
        let mut new_whole = old_whole;
        let pool = &mut self.pools[model];
        let full = MILLI_PER_GPU as u16;
        // The granted GPUs only, lowest first (a grant's bits lie below the node's count).
        let mut bits = if count == 0 {
            0
        } else {
            grant.gpus & (u64::MAX >> (64 - count))
        };
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let old = self.gpu_free[base + i];
            let new = i32::from(old) - delta;
            assert!(
                (0..=i32::from(full)).contains(&new),
                "GPU {i} of node {n} over-allocated: free {old}, change {delta}"
            );
            let new = new as u16;
            if old > 0 && old < full {
                pool.partial.remove(&(old, grant.node, i as u8));
            }
            if new > 0 && new < full {
                pool.partial.insert((new, grant.node, i as u8));
            }
            new_whole = new_whole + u32::from(new == full) - u32::from(old == full);
            self.gpu_free[base + i] = new;
            pool.free_milli = (pool.free_milli as i64 - i64::from(delta)) as u64;
        }
        self.node_whole[n] = new_whole as u8;
        let gpus = &self.gpu_free[base..base + count];
        let pos = self.node_pos[n] as usize;
        if new_whole != old_whole {
            pool.buckets[old_whole as usize].remove(pos);
            pool.buckets[new_whole as usize].insert(pos);
            pool.free_whole = pool.free_whole + u64::from(new_whole) - u64::from(old_whole);
            let r = pool.rack_of_pos[pos] as usize;
            pool.rack_free[r] = pool.rack_free[r] + new_whole - old_whole;
            if let Some(tree) = &mut pool.rack_tree {
                tree.set(r, saturate(pool.rack_free[r]));
            }
            if let Some(ix) = &mut self.leaves {
                ix.update(GpuModelId(model as u16), grant.node, old_whole, new_whole);
            }
        }
        if let Some(tree) = &mut pool.share_tree {
            tree.set(pos, gpus.iter().copied().max().unwrap_or(0));
        }
        if let Some(f) = &mut self.frag {
            let room = self.host.as_ref().map_or(HostRoom::UNLIMITED, |h| h.room[n]);
            let v = f.mix.node_frag_micro(GpuModelId(model as u16), gpus, room);
            f.total = f.total - f.node[n] + v;
            f.node[n] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_tree_finds_leftmost() {
        let mut t = MaxTree::new(&[1, 0, 4, 2, 4]);
        assert_eq!(t.leftmost_at_least(3), Some(2));
        assert_eq!(t.leftmost_at_least(5), None);
        t.set(2, 0);
        assert_eq!(t.leftmost_at_least(3), Some(4));
        assert_eq!(t.leftmost_at_least(1), Some(0));
        // Values now [1, 0, 0, 2, 4]: those ≥ 2 from position 0, 4 and 5.
        assert_eq!(t.first_at_least_from(2, 0), Some(3));
        assert_eq!(t.first_at_least_from(2, 4), Some(4));
        assert_eq!(t.first_at_least_from(2, 5), None);
    }
}
