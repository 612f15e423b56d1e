//! The per-leaf free-GPU index that topology-aware placement queries: per GPU model,
//! every fabric leaf's (ToR's, or rail group's) fully free GPUs, ordered by that count
//! overall and within each pod, so that "the tightest leaf that holds k GPUs" and "a pod's
//! leaves, most free first" cost O(log leaves) per leaf yielded, never a scan of the
//! nodes. Kept up to date by [`super::FreeCapacity`] on every allocation that changes a
//! node's count of fully free GPUs.

use std::collections::BTreeSet;

use crate::topology::fabric::Fabric;
use crate::topology::{GpuModelId, NodeId};

/// Which leaf each node hangs off and which pod each leaf belongs to: the part of a
/// fabric placement needs. Built from a topology's [`Fabric`], or from its racks (one
/// leaf per rack, one pod) when the topology has no `[fabric]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafGroups {
    /// Leaf of each node, indexed like `Cluster::nodes`.
    pub node_leaf: Vec<u32>,
    /// Pod of each leaf.
    pub leaf_pod: Vec<u32>,
}

impl LeafGroups {
    /// The leaves and pods of a built fabric.
    pub fn of_fabric(fabric: &Fabric) -> Self {
        LeafGroups {
            node_leaf: fabric.node_leaf.iter().map(|l| l.0).collect(),
            leaf_pod: fabric.leaf_pod.iter().map(|p| p.0).collect(),
        }
    }

    /// One leaf per rack (`node_rack[n]` is node `n`'s rack), all in one pod.
    pub fn of_racks(node_rack: &[u32]) -> Self {
        let racks = node_rack.iter().map(|&r| r as usize + 1).max().unwrap_or(0);
        LeafGroups {
            node_leaf: node_rack.to_vec(),
            leaf_pod: vec![0; racks],
        }
    }

    /// Number of pods.
    pub fn pods(&self) -> usize {
        self.leaf_pod.iter().map(|&p| p as usize + 1).max().unwrap_or(0)
    }
}

/// One GPU model's leaves.
#[derive(Debug, Clone, Default)]
struct LeafPool {
    /// Fully free GPUs of the model on each leaf.
    free: Vec<u32>,
    /// The model's nodes on each leaf, in id order.
    nodes: Vec<Vec<NodeId>>,
    /// (free, leaf) of every leaf with a free GPU of the model.
    by_free: BTreeSet<(u32, u32)>,
    /// (pod, free, leaf) of every leaf with a free GPU of the model.
    by_pod: BTreeSet<(u32, u32, u32)>,
    /// Fully free GPUs of the model in each pod.
    pod_free: Vec<u64>,
    /// The model's GPUs on its `i + 1` largest leaves, summed (largest leaf first): the
    /// fewest leaves a gang could span on an idle fabric.
    largest_prefix: Vec<u64>,
}

/// Free GPUs per leaf and per pod, per GPU model.
#[derive(Debug, Clone)]
pub struct LeafIndex {
    groups: LeafGroups,
    pools: Vec<LeafPool>,
}

impl LeafIndex {
    /// The index over `models` GPU models, node `n` being of model `node_model[n]` with
    /// `node_gpus[n]` GPUs of which `node_free[n]` are fully free now.
    pub(super) fn new(
        groups: LeafGroups,
        models: usize,
        node_model: &[GpuModelId],
        node_gpus: &[u8],
        node_free: &[u32],
    ) -> Self {
        let leaves = groups.leaf_pod.len();
        let pods = groups.pods();
        let mut pools = vec![
            LeafPool {
                free: vec![0; leaves],
                nodes: vec![Vec::new(); leaves],
                pod_free: vec![0; pods],
                ..LeafPool::default()
            };
            models
        ];
        let mut size = vec![vec![0u64; leaves]; models];
        for (n, &m) in node_model.iter().enumerate() {
            let leaf = groups.node_leaf[n] as usize;
            let p = &mut pools[m.0 as usize];
            p.free[leaf] += node_free[n];
            p.nodes[leaf].push(NodeId(n as u32));
            p.pod_free[groups.leaf_pod[leaf] as usize] += u64::from(node_free[n]);
            size[m.0 as usize][leaf] += u64::from(node_gpus[n]);
        }
        for (p, size) in pools.iter_mut().zip(size) {
            for (leaf, &f) in p.free.iter().enumerate() {
                if f > 0 {
                    p.by_free.insert((f, leaf as u32));
                    p.by_pod.insert((groups.leaf_pod[leaf], f, leaf as u32));
                }
            }
            let mut sizes: Vec<u64> = size.into_iter().filter(|&f| f > 0).collect();
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            let mut sum = 0;
            p.largest_prefix = sizes
                .iter()
                .map(|s| {
                    sum += s;
                    sum
                })
                .collect();
        }
        LeafIndex { groups, pools }
    }

    /// Node `node` of `model` went from `old` to `new` fully free GPUs.
    pub(super) fn update(&mut self, model: GpuModelId, node: NodeId, old: u32, new: u32) {
        let leaf = self.groups.node_leaf[node.0 as usize];
        let pod = self.groups.leaf_pod[leaf as usize];
        let p = &mut self.pools[model.0 as usize];
        let before = p.free[leaf as usize];
        let after = before + new - old;
        if before > 0 {
            p.by_free.remove(&(before, leaf));
            p.by_pod.remove(&(pod, before, leaf));
        }
        if after > 0 {
            p.by_free.insert((after, leaf));
            p.by_pod.insert((pod, after, leaf));
        }
        p.free[leaf as usize] = after;
        p.pod_free[pod as usize] = p.pod_free[pod as usize] + u64::from(new) - u64::from(old);
    }

    /// The leaves and pods indexed.
    pub fn groups(&self) -> &LeafGroups {
        &self.groups
    }

    /// Leaf of a node.
    pub fn leaf_of(&self, node: NodeId) -> u32 {
        self.groups.node_leaf[node.0 as usize]
    }

    /// Pod of a leaf.
    pub fn pod_of(&self, leaf: u32) -> u32 {
        self.groups.leaf_pod[leaf as usize]
    }

    /// Number of pods.
    pub fn pods(&self) -> u32 {
        self.pools.first().map_or(0, |p| p.pod_free.len() as u32)
    }

    /// Fully free GPUs of `model` on `leaf`.
    pub fn leaf_free(&self, model: GpuModelId, leaf: u32) -> u32 {
        self.pools[model.0 as usize].free[leaf as usize]
    }

    /// Fully free GPUs of `model` in `pod`.
    pub fn pod_free(&self, model: GpuModelId, pod: u32) -> u64 {
        self.pools[model.0 as usize].pod_free[pod as usize]
    }

    /// Nodes of `model` on `leaf`, in id order.
    pub fn leaf_nodes(&self, model: GpuModelId, leaf: u32) -> &[NodeId] {
        &self.pools[model.0 as usize].nodes[leaf as usize]
    }

    /// Leaves of `model` with at least `k` fully free GPUs, tightest first (lowest id on
    /// ties), as (free, leaf).
    pub fn leaves_with(&self, model: GpuModelId, k: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.pools[model.0 as usize]
            .by_free
            .range((k.max(1), 0)..)
            .copied()
    }

    /// Leaves of `model` with a free GPU, most free first (highest id on ties), as
    /// (free, leaf).
    pub fn leaves_desc(&self, model: GpuModelId) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.pools[model.0 as usize].by_free.iter().rev().copied()
    }

    /// Leaves of `model` in `pod` with a free GPU, most free first (highest id on ties),
    /// as (free, leaf).
    pub fn pod_leaves_desc(&self, model: GpuModelId, pod: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.pools[model.0 as usize]
            .by_pod
            .range((pod, 0, 0)..(pod + 1, 0, 0))
            .rev()
            .map(|&(_, f, l)| (f, l))
    }

    /// Leaves of `model` in `pod` with at least `k` fully free GPUs, tightest first
    /// (lowest id on ties), as (free, leaf).
    pub fn pod_leaves_with(
        &self,
        model: GpuModelId,
        pod: u32,
        k: u32,
    ) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.pools[model.0 as usize]
            .by_pod
            .range((pod, k.max(1), 0)..(pod + 1, 0, 0))
            .map(|&(_, f, l)| (f, l))
    }

    /// The fewest leaves a gang of `gpus` GPUs of `model` could span on an idle fabric
    /// (None: more GPUs than the model has).
    pub fn fewest_leaves(&self, model: GpuModelId, gpus: u32) -> Option<u32> {
        let prefix = &self.pools[model.0 as usize].largest_prefix;
        prefix
            .iter()
            .position(|&s| s >= u64::from(gpus))
            .map(|i| i as u32 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four 8-GPU nodes of one model, two leaves of two nodes in two pods: queries by
    /// hand before and after taking GPUs.
    #[test]
    fn counts_follow_allocations() {
        let groups = LeafGroups {
            node_leaf: vec![0, 0, 1, 1],
            leaf_pod: vec![0, 1],
        };
        let mut ix = LeafIndex::new(groups, 1, &[GpuModelId(0); 4], &[8; 4], &[8; 4]);
        let m = GpuModelId(0);
        assert_eq!(ix.fewest_leaves(m, 16), Some(1));
        assert_eq!(ix.fewest_leaves(m, 17), Some(2));
        assert_eq!(ix.fewest_leaves(m, 33), None);
        ix.update(m, NodeId(1), 8, 2); // leaf 0 now holds 10 free
        assert_eq!(ix.leaf_free(m, 0), 10);
        assert_eq!(ix.pod_free(m, 0), 10);
        assert_eq!(ix.leaves_with(m, 11).collect::<Vec<_>>(), vec![(16, 1)]);
        assert_eq!(ix.leaves_with(m, 1).collect::<Vec<_>>(), vec![(10, 0), (16, 1)]);
        assert_eq!(ix.leaves_desc(m).collect::<Vec<_>>(), vec![(16, 1), (10, 0)]);
        assert_eq!(ix.pod_leaves_desc(m, 1).collect::<Vec<_>>(), vec![(16, 1)]);
        ix.update(m, NodeId(0), 8, 0);
        ix.update(m, NodeId(1), 2, 0);
        assert_eq!(ix.leaves_with(m, 1).collect::<Vec<_>>(), vec![(16, 1)]);
        assert_eq!(ix.pod_leaves_with(m, 0, 1).count(), 0);
        // The idle-fabric bound does not move with allocations.
        assert_eq!(ix.fewest_leaves(m, 16), Some(1));
    }

    /// Without a fabric, racks are leaves in one pod.
    #[test]
    fn racks_as_leaves() {
        let g = LeafGroups::of_racks(&[0, 0, 1, 2, 2]);
        assert_eq!(g.leaf_pod, vec![0, 0, 0]);
        assert_eq!(g.pods(), 1);
    }
}
