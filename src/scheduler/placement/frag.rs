//! GPU fragmentation as Weng et al. define it ("Beware of Fragmentation: Scheduling
//! GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC 2023, §3).
//!
//! A *target workload* is a distribution over task types m (GPUs asked for, share per
//! GPU, allowed GPU models, CPU and memory) with popularity p_m. For a node n with free
//! shares R_{n,g} on its GPUs g, the GPUs fragmented *for task m* are
//!
//! ```text
//! F_n(m) = Σ_g R_{n,g}                           if m cannot run on n (model not allowed,
//!                                                 not enough GPUs with the share free, or
//!                                                 not enough free CPU or memory)
//!        = Σ_{g : R_{n,g} < min(D_m, 1)} R_{n,g}  otherwise (free shares too small for m)
//! ```
//!
//! where D_m is m's share per GPU. The node's expected fragmentation is
//! F_n(M) = Σ_m p_m F_n(m), and the cluster's is Σ_n F_n(M), in GPUs: the free GPU
//! capacity the target workload is not expected to be able to use.
//!
//! This is the measure of the paper's simulator (hkust-adsl/kubernetes-scheduler-simulator,
//! `pkg/utils/frag.go`: `NodeGpuShareFragAmount` summed by `FragAmountSumExceptQ3`, with
//! the cases of `GetNodePodFrag`): a task type that fits the GPUs but not the free CPU
//! (`Q4LackCpu`), or neither (`Q1LackBoth`), or may not use the node's GPU model
//! (`NoAccess`), leaves all the node's idle GPUs fragmented; only a type that fits
//! (`Q3Satisfied`) leaves just the GPUs whose free share is too small for it (`Q2LackGpu`
//! part). That code checks CPU only; here memory counts like CPU (a node without the
//! memory cannot host the task either), which changes nothing where memory never binds.
//! CPU-only tasks are left out of the mix. The paper's simulator counts them in its
//! openb runs (`isInvolvedCpuPods: true`), where a CPU-only type leaves every idle GPU
//! fragmented on every node: that adds p_m × (free shares) to F_n, the same amount for
//! every candidate placement of a task, so it changes no FGD decision here (exact ΔF)
//! and would only inflate the reported figure.
//!
//! Evaluating F_n(M) costs O(GPUs on the node) plus the task types asking for more
//! memory than the node has free (usually none), whatever the number of task types:
//! types are grouped by CPU demand into cumulative levels (level i holds every type asking
//! for at most the i-th smallest CPU demand), so the types a node's free CPU admits are
//! one level; within a level, single-GPU types are held as a cumulative distribution over
//! their share (0..=1000), whole-GPU gangs as a cumulative distribution over their size,
//! per GPU model.

use std::collections::BTreeMap;

use crate::scheduler::free::HostRoom;
use crate::scheduler::traits::PlacementRequest;
use crate::topology::GpuModelId;
use crate::workload::{GpuDemand, HostDemand, MILLI_PER_GPU};

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

impl ModelTable {
    fn new() -> Self {
        ModelTable {
            other: 0.0,
            share_cdf: vec![0.0; FULL + 1],
            gang_cdf: vec![0.0; MAX_GANG + 1],
            general: Vec::new(),
        }
    }

    /// Adds a type of `weight` asking for `d`, `allowed` on this model or not.
    fn add(&mut self, d: GpuDemand, allowed: bool, weight: f64) {
        if !allowed {
            self.other += weight;
        } else if d.gpus == 1 {
            let s = (d.milli_per_gpu as usize).min(FULL);
            self.share_cdf[s..].iter_mut().for_each(|c| *c += weight);
        } else if d.is_whole() && d.gpus as usize <= MAX_GANG {
            self.gang_cdf[d.gpus as usize..]
                .iter_mut()
                .for_each(|c| *c += weight);
        } else {
            self.general.push((d, weight));
        }
    }

    /// Σ_m w_m F_n(m) over this table's types, for a node with `free` shares.
    fn frag(&self, free: &[u16], sum: &FreeSum) -> f64 {
        // Types that may not use the model: everything free is fragmented for them.
        let mut frag = self.other * sum.total;
        // Single-GPU types of share s: fit iff s ≤ fmax; then GPUs with free < s are fragments.
        let c = &self.share_cdf;
        let fmax = sum.fmax.min(FULL);
        frag += (c[FULL] - c[fmax]) * sum.total;
        for &f in free {
            let f = (f as usize).min(FULL);
            frag += f as f64 * (c[fmax] - c[f]);
        }
        // Whole gangs of k ≥ 2: fit iff k ≤ whole; then partial GPUs are fragments.
        let g = &self.gang_cdf;
        let fit = g[sum.whole.min(MAX_GANG)];
        frag += fit * sum.partial + (g[MAX_GANG] - fit) * sum.total;
        for &(d, w) in &self.general {
            frag += w * gpu_frag(d, free, sum.total);
        }
        frag
    }
}

/// F_n(m) of one type whose GPU model the node has, counting GPUs only: the free shares
/// too small for it if enough GPUs have its share free, else everything free (`total`).
fn gpu_frag(d: GpuDemand, free: &[u16], total: f64) -> f64 {
    let usable = free.iter().filter(|&&f| u32::from(f) >= d.milli_per_gpu).count();
    if usable >= d.gpus as usize {
        free.iter()
            .filter(|&&f| u32::from(f) < d.milli_per_gpu)
            .map(|&f| f64::from(f))
            .sum()
    } else {
        total
    }
}

/// Sums over a node's free shares that every table reads.
struct FreeSum {
    /// Free thousandths in all.
    total: f64,
    /// Free thousandths on partially used GPUs.
    partial: f64,
    /// Fully free GPUs.
    whole: usize,
    /// The largest free share.
    fmax: usize,
}

/// The types asking for at most `cpu_milli` CPU, per GPU model.
#[derive(Debug, Clone)]
struct Level {
    cpu_milli: u32,
    /// Weight of the types in the level.
    weight: f64,
    tables: Vec<ModelTable>,
}

/// A type that asks for memory, checked one by one against a node's free memory.
#[derive(Debug, Clone)]
struct MemoryType {
    req: PlacementRequest,
    weight: f64,
}

/// A target workload's distribution of task types, and the fragmentation it implies.
#[derive(Debug, Clone)]
pub struct TaskMix {
    models: usize,
    /// Cumulative CPU levels, by CPU demand ascending.
    levels: Vec<Level>,
    /// Types asking for memory, most memory first.
    by_memory: Vec<MemoryType>,
    total: f64,
}

impl TaskMix {
    /// An empty mix over `models` GPU models (ids `0..models`).
    pub fn new(models: usize) -> Self {
        TaskMix {
            models,
            levels: Vec::new(),
            by_memory: Vec::new(),
            total: 0.0,
        }
    }

    /// The mix of `requests`, each counted once (popularity = share of the list).
    pub fn from_requests(models: usize, requests: impl IntoIterator<Item = PlacementRequest>) -> Self {
        TaskMix::from_counts(models, requests.into_iter().map(|r| (r, 1)))
    }

    /// The mix of requests given with how often each occurs: the same mix as
    /// [`TaskMix::from_requests`] over a list holding each request that many times.
    pub fn from_counts(models: usize, requests: impl IntoIterator<Item = (PlacementRequest, u64)>) -> Self {
        let mut counts: BTreeMap<(GpuDemand, u64, HostDemand), u64> = BTreeMap::new();
        for (r, n) in requests {
            *counts.entry((r.demand, r.models.0, r.host)).or_insert(0) += n;
        }
        let mut mix = TaskMix::new(models);
        for ((demand, mask, host), n) in counts {
            mix.add(
                &PlacementRequest {
                    tp: 1,
                    demand,
                    models: crate::scheduler::ModelMask(mask),
                    host,
                },
                n as f64,
            );
        }
        mix
    }

    /// Adds a task type with `weight`. Costs O(CPU levels × models × 1000) for a sharing type.
    pub fn add(&mut self, req: &PlacementRequest, weight: f64) {
        let d = req.demand;
        if d.gpus == 0 || weight <= 0.0 {
            return;
        }
        self.total += weight;
        let cpu = req.host.cpu_milli;
        let i = self.levels.partition_point(|l| l.cpu_milli < cpu);
        if self.levels.get(i).is_none_or(|l| l.cpu_milli != cpu) {
            // The new level admits what the one below it admits (no type asked for a CPU
            // demand in between), this type aside.
            let level = match i.checked_sub(1) {
                Some(below) => Level {
                    cpu_milli: cpu,
                    ..self.levels[below].clone()
                },
                None => Level {
                    cpu_milli: cpu,
                    weight: 0.0,
                    tables: vec![ModelTable::new(); self.models],
                },
            };
            self.levels.insert(i, level);
        }
        for level in &mut self.levels[i..] {
            level.weight += weight;
            for (m, t) in level.tables.iter_mut().enumerate() {
                t.add(d, req.models.allows(m), weight);
            }
        }
        if req.host.memory_mib > 0 {
            let at = self
                .by_memory
                .partition_point(|t| t.req.host.memory_mib >= req.host.memory_mib);
            self.by_memory.insert(at, MemoryType { req: *req, weight });
        }
    }

    /// Whether no task type was added.
    pub fn is_empty(&self) -> bool {
        self.total <= 0.0
    }

    /// F_n(M) of a node of `model` whose GPUs have `free` thousandths free and with
    /// `room` CPU and memory free, in thousandths of a GPU (0 for an empty mix or an
    /// unknown model).
    pub fn node_frag_milli(&self, model: GpuModelId, free: &[u16], room: HostRoom) -> f64 {
        let m = model.0 as usize;
        if self.total <= 0.0 || m >= self.models {
            return 0.0;
        }
        let mut sum = FreeSum {
            total: 0.0,
            partial: 0.0,
            whole: 0,
            fmax: 0,
        };
        for &f in free {
            sum.total += f64::from(f);
            sum.fmax = sum.fmax.max(f as usize);
            if f as usize >= FULL {
                sum.whole += 1;
            } else {
                sum.partial += f64::from(f);
            }
        }
        if sum.total == 0.0 {
            return 0.0;
        }
        // Types the free CPU admits: one level. The others leave everything fragmented.
        let admitted = self
            .levels
            .partition_point(|l| u64::from(l.cpu_milli) <= room.cpu_milli);
        let (mut frag, weight) = match admitted.checked_sub(1) {
            Some(i) => (self.levels[i].tables[m].frag(free, &sum), self.levels[i].weight),
            None => (0.0, 0.0),
        };
        frag += (self.total - weight) * sum.total;
        // Admitted types that lack memory: everything free, not just the small shares.
        for t in &self.by_memory {
            let h = t.req.host;
            if u64::from(h.memory_mib) <= room.memory_mib {
                break;
            }
            if u64::from(h.cpu_milli) <= room.cpu_milli {
                let counted = if t.req.models.allows(m) {
                    gpu_frag(t.req.demand, free, sum.total)
                } else {
                    sum.total
                };
                frag += t.weight * (sum.total - counted);
            }
        }
        frag / self.total
    }

    /// F_n(M) in millionths of a GPU, rounded: the integer unit the cluster total is kept in,
    /// so that sums over nodes are exact whatever the order of updates.
    pub fn node_frag_micro(&self, model: GpuModelId, free: &[u16], room: HostRoom) -> u64 {
        (self.node_frag_milli(model, free, room) * 1000.0)
            .round()
            .max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::ModelMask;

    fn req(gpus: u32, milli: u32) -> PlacementRequest {
        PlacementRequest {
            tp: 1,
            demand: GpuDemand {
                gpus,
                milli_per_gpu: milli,
            },
            models: ModelMask(u64::MAX),
            host: HostDemand::NONE,
        }
    }

    fn hreq(gpus: u32, milli: u32, cpu_milli: u32, memory_mib: u32) -> PlacementRequest {
        PlacementRequest {
            tp: 1,
            host: HostDemand {
                cpu_milli,
                memory_mib,
            },
            ..req(gpus, milli)
        }
    }

    /// Direct evaluation of the paper's F_n(M), one type at a time: the oracle.
    fn naive(types: &[(PlacementRequest, f64)], model: usize, free: &[u16], room: HostRoom) -> f64 {
        let total_w: f64 = types.iter().map(|t| t.1).sum();
        let sum: f64 = free.iter().map(|&f| f64::from(f)).sum();
        types
            .iter()
            .map(|(r, w)| {
                let d = r.demand;
                let usable = free.iter().filter(|&&f| u32::from(f) >= d.milli_per_gpu).count();
                let fits = r.models.allows(model) && usable >= d.gpus as usize && room.holds(r.host);
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
        let f = mix.node_frag_milli(GpuModelId(0), &[1000, 300, 600, 0], HostRoom::UNLIMITED);
        assert!((f - 850.0).abs() < 1e-9, "{f}");
    }

    #[test]
    fn a_node_short_of_cpu_strands_all_its_gpus() {
        // 1/2 of tasks want 1 GPU and 8 CPUs, 1/2 want 0.5 GPU and 2 CPUs. A node with
        // GPUs free [1000, 1000] and 4 CPUs free fits only the second: fragments for
        // the first are all 2000, for the second none. F = 0.5·2000 = 1000 milli.
        let mut mix = TaskMix::new(1);
        mix.add(&hreq(1, 1000, 8000, 0), 1.0);
        mix.add(&hreq(1, 500, 2000, 0), 1.0);
        let room = |cpu_milli| HostRoom {
            cpu_milli,
            memory_mib: u64::MAX,
        };
        let f = |cpu| mix.node_frag_milli(GpuModelId(0), &[1000, 1000], room(cpu));
        assert!((f(4000) - 1000.0).abs() < 1e-9, "{}", f(4000));
        assert!((f(1000) - 2000.0).abs() < 1e-9, "{}", f(1000));
        assert!(f(8000).abs() < 1e-9, "{}", f(8000));
    }

    #[test]
    fn tables_equal_the_naive_sum() {
        let types = [
            (req(1, 120), 3.0),
            (req(1, 470), 2.0),
            (req(1, 1000), 5.0),
            (req(4, 1000), 1.0),
            (req(2, 600), 1.0),
            (hreq(1, 470, 4000, 0), 1.5),
            (hreq(1, 1000, 12000, 64), 2.5),
            (hreq(2, 1000, 4000, 512), 1.0),
            (hreq(1, 250, 0, 128), 0.5),
            (
                PlacementRequest {
                    tp: 1,
                    demand: GpuDemand::whole(1),
                    models: ModelMask(0b10),
                    host: HostDemand::NONE,
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
                for (cpu_milli, memory_mib) in [
                    (u64::MAX, u64::MAX),
                    (0, 0),
                    (4000, 100),
                    (12000, 1000),
                    (5000, 64),
                ] {
                    let room = HostRoom {
                        cpu_milli,
                        memory_mib,
                    };
                    let a = mix.node_frag_milli(GpuModelId(m as u16), &free, room);
                    let b = naive(&types, m, &free, room);
                    assert!((a - b).abs() < 1e-9, "{free:?} model {m} {room:?}: {a} vs {b}");
                }
            }
        }
    }
}
