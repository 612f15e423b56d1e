//! GPU fragmentation as Weng et al. define it ("Beware of Fragmentation: Scheduling
//! GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC 2023, §3).
//!
//! A *target workload* is a distribution over task types m (GPUs asked for, share per
//! GPU, allowed GPU models) with popularity p_m. For a node n with free shares R_{n,g}
//! on its GPUs g, the GPUs fragmented *for task m* are
//!
//! ```text
//! F_n(m) = Σ_g R_{n,g}                           if m cannot run on n (model not allowed,
//!                                                 or not enough GPUs with the share free)
//!        = Σ_{g : R_{n,g} < min(D_m, 1)} R_{n,g}  otherwise (free shares too small for m)
//! ```
//!
//! where D_m is m's share per GPU. The node's expected fragmentation is
//! F_n(M) = Σ_m p_m F_n(m), and the cluster's is Σ_n F_n(M), in GPUs: the free GPU
//! capacity the target workload is not expected to be able to use. CPU and memory are
//! not modelled here (the paper also counts a node whose CPUs are exhausted as fully
//! fragmented); CPU-only tasks carry no GPU demand and are left out of the mix.
//!
//! Evaluating F_n(M) costs O(GPUs on the node), whatever the number of task types:
//! single-GPU types are held as a cumulative distribution over their share (0..=1000),
//! whole-GPU gangs as a cumulative distribution over their size, per GPU model.

use std::collections::BTreeMap;

use crate::scheduler::traits::PlacementRequest;
use crate::topology::GpuModelId;
use crate::workload::{GpuDemand, MILLI_PER_GPU};

const FULL: usize = MILLI_PER_GPU as usize;
/// Whole-GPU gang sizes tracked by the cumulative table (nodes hold at most 64 GPUs).
const MAX_GANG: usize = 64;

/// The task-type mix of one GPU model: what the types allowed on it ask for.
#[derive(Debug, Clone)]
struct ModelTable {
    /// Weight of types that may not use this model.
    other: f64,
    /// `share_cdf[x]` = weight of single-GPU types asking for a share ≤ x thousandths.
    share_cdf: Vec<f64>,
    /// `gang_cdf[k]` = weight of whole-GPU gangs of 2..=k GPUs.
    gang_cdf: Vec<f64>,
    /// Multi-GPU types with a share below a whole GPU per GPU (rare), with weights.
    general: Vec<(GpuDemand, f64)>,
}

/// A target workload's distribution of task types, and the fragmentation it implies.
#[derive(Debug, Clone)]
pub struct TaskMix {
    tables: Vec<ModelTable>,
    total: f64,
}

impl TaskMix {
    /// An empty mix over `models` GPU models (ids `0..models`).
    pub fn new(models: usize) -> Self {
        TaskMix {
            tables: vec![
                ModelTable {
                    other: 0.0,
                    share_cdf: vec![0.0; FULL + 1],
                    gang_cdf: vec![0.0; MAX_GANG + 1],
                    general: Vec::new(),
                };
                models
            ],
            total: 0.0,
        }
    }

    /// The mix of `requests`, each counted once (popularity = share of the list).
    pub fn from_requests(models: usize, requests: impl IntoIterator<Item = PlacementRequest>) -> Self {
        let mut counts: BTreeMap<(GpuDemand, u64), u64> = BTreeMap::new();
        for r in requests {
            *counts.entry((r.demand, r.models.0)).or_insert(0) += 1;
        }
        let mut mix = TaskMix::new(models);
        for ((demand, mask), n) in counts {
            mix.add(
                &PlacementRequest {
                    demand,
                    models: crate::scheduler::ModelMask(mask),
                },
                n as f64,
            );
        }
        mix
    }

    /// Adds a task type with `weight`. Costs O(models × 1000) for a sharing type.
    pub fn add(&mut self, req: &PlacementRequest, weight: f64) {
        let d = req.demand;
        if d.gpus == 0 || weight <= 0.0 {
            return;
        }
        self.total += weight;
        for (m, t) in self.tables.iter_mut().enumerate() {
            if !req.models.allows(m) {
                t.other += weight;
            } else if d.gpus == 1 {
                let s = (d.milli_per_gpu as usize).min(FULL);
                t.share_cdf[s..].iter_mut().for_each(|c| *c += weight);
            } else if d.is_whole() && d.gpus as usize <= MAX_GANG {
                t.gang_cdf[d.gpus as usize..]
                    .iter_mut()
                    .for_each(|c| *c += weight);
            } else {
                t.general.push((d, weight));
            }
        }
    }

    /// Whether no task type was added.
    pub fn is_empty(&self) -> bool {
        self.total <= 0.0
    }

    /// F_n(M) of a node of `model` whose GPUs have `free` thousandths free, in
    /// thousandths of a GPU (0 for an empty mix or an unknown model).
    pub fn node_frag_milli(&self, model: GpuModelId, free: &[u16]) -> f64 {
        let Some(t) = self.tables.get(model.0 as usize) else {
            return 0.0;
        };
        if self.total <= 0.0 {
            return 0.0;
        }
        let mut total = 0.0;
        let mut partial = 0.0;
        let mut whole = 0usize;
        let mut fmax = 0usize;
        for &f in free {
            total += f64::from(f);
            fmax = fmax.max(f as usize);
            if f as usize >= FULL {
                whole += 1;
            } else {
                partial += f64::from(f);
            }
        }
        if total == 0.0 {
            return 0.0;
        }
        // Types that may not use the model: everything free is fragmented for them.
        let mut frag = t.other * total;
        // Single-GPU types of share s: fit iff s ≤ fmax; then GPUs with free < s are fragments.
        let c = &t.share_cdf;
        frag += (c[FULL] - c[fmax.min(FULL)]) * total;
        for &f in free {
            let f = (f as usize).min(FULL);
            frag += f as f64 * (c[fmax.min(FULL)] - c[f]);
        }
        // Whole gangs of k ≥ 2: fit iff k ≤ whole; then partial GPUs are fragments.
        let g = &t.gang_cdf;
        let fit = g[whole.min(MAX_GANG)];
        frag += fit * partial + (g[MAX_GANG] - fit) * total;
        for &(d, w) in &t.general {
            let usable = free.iter().filter(|&&f| u32::from(f) >= d.milli_per_gpu).count();
            frag += w * if usable >= d.gpus as usize {
                free.iter()
                    .filter(|&&f| u32::from(f) < d.milli_per_gpu)
                    .map(|&f| f64::from(f))
                    .sum::<f64>()
            } else {
                total
            };
        }
        frag / self.total
    }

    /// F_n(M) in millionths of a GPU, rounded: the integer unit the cluster total is kept in,
    /// so that sums over nodes are exact whatever the order of updates.
    pub fn node_frag_micro(&self, model: GpuModelId, free: &[u16]) -> u64 {
        (self.node_frag_milli(model, free) * 1000.0).round().max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::ModelMask;

    fn req(gpus: u32, milli: u32) -> PlacementRequest {
        PlacementRequest {
            demand: GpuDemand {
                gpus,
                milli_per_gpu: milli,
            },
            models: ModelMask(u64::MAX),
        }
    }

    /// Direct evaluation of the paper's F_n(M), one type at a time: the oracle.
    fn naive(types: &[(PlacementRequest, f64)], model: usize, free: &[u16]) -> f64 {
        let total_w: f64 = types.iter().map(|t| t.1).sum();
        let sum: f64 = free.iter().map(|&f| f64::from(f)).sum();
        types
            .iter()
            .map(|(r, w)| {
                let d = r.demand;
                let usable = free.iter().filter(|&&f| u32::from(f) >= d.milli_per_gpu).count();
                let fits = r.models.allows(model) && usable >= d.gpus as usize;
                w * if fits {
                    free.iter()
                        .filter(|&&f| u32::from(f) < d.milli_per_gpu)
                        .map(|&f| f64::from(f))
                        .sum::<f64>()
                } else {
                    sum
                }
            })
            .sum::<f64>()
            / total_w
    }

    #[test]
    fn matches_the_definition_on_a_worked_node() {
        // Mix: 1/2 of tasks want 0.5 GPU, 1/4 want 1 GPU, 1/4 want 2 GPUs.
        // Node: GPUs free [1000, 300, 600, 0].
        //   0.5-GPU task fits (600 ≥ 500); fragments: the 300 → 300.
        //   1-GPU task fits (one whole); fragments: 300 + 600 = 900.
        //   2-GPU task does not fit (one whole GPU): all 1900 free.
        // F = 0.5·300 + 0.25·900 + 0.25·1900 = 150 + 225 + 475 = 850 milli.
        let mut mix = TaskMix::new(1);
        mix.add(&req(1, 500), 2.0);
        mix.add(&req(1, 1000), 1.0);
        mix.add(&req(2, 1000), 1.0);
        let f = mix.node_frag_milli(GpuModelId(0), &[1000, 300, 600, 0]);
        assert!((f - 850.0).abs() < 1e-9, "{f}");
    }

    #[test]
    fn tables_equal_the_naive_sum() {
        let types = [
            (req(1, 120), 3.0),
            (req(1, 470), 2.0),
            (req(1, 1000), 5.0),
            (req(4, 1000), 1.0),
            (req(2, 600), 1.0),
            (
                PlacementRequest {
                    demand: GpuDemand::whole(1),
                    models: ModelMask(0b10),
                },
                2.0,
            ),
        ];
        let mut mix = TaskMix::new(2);
        for (r, w) in &types {
            mix.add(r, *w);
        }
        for free in [
            vec![1000u16, 1000, 1000, 1000],
            vec![0, 0, 0, 0],
            vec![880, 530, 1000, 0],
            vec![100, 700, 700, 1000, 1000, 1000, 1000, 20],
        ] {
            for m in 0..2 {
                let a = mix.node_frag_milli(GpuModelId(m as u16), &free);
                let b = naive(&types, m, &free);
                assert!((a - b).abs() < 1e-9, "{free:?} model {m}: {a} vs {b}");
            }
        }
    }
}
