//! A job's communication profile and the ring all-reduce time it implies.
//!
//! Data-parallel training all-reduces a gradient of `S` bytes every iteration. With a
//! ring over `n` ranks at bus bandwidth `B`, the all-reduce takes `2(n−1)/n · S/B`
//! (NCCL's own accounting: nccl-tests `doc/PERFORMANCE.md`, "AllReduce": bus bandwidth
//! = algorithm bandwidth × 2(n−1)/n). Communication overlaps the backward pass: up to
//! `overlap × compute` of it hides behind compute, the rest adds to the iteration.

use crate::workload::{CommHints, JobKind};

/// Default gradient size of a training job, bytes: a 1.3-billion-parameter model
/// (GPT-3 XL, Brown et al. 2020, Table 2.1) in 16-bit precision. An **assumption**
/// standing in for traces that give no model size.
pub const DEFAULT_GRADIENT_BYTES: f64 = 2.6e9;

/// Default compute time of one training iteration, ms: an **assumption** of the order
/// of the 1.53 s GPT iteration Crux measured (Cao et al., SIGCOMM 2024, §2).
pub const DEFAULT_COMPUTE_MS: f64 = 1000.0;

/// Default share of the compute time that communication can hide behind: an
/// **assumption** (gradient buckets all-reduce during the backward pass, about two
/// thirds of compute; half is taken).
pub const DEFAULT_OVERLAP: f64 = 0.5;

/// Default bytes crossing one pipeline-stage boundary per iteration in each direction:
/// `B·s·h` 16-bit values (Narayanan et al. SC'21 §3.2, [`super::pipeline`]) for the
/// default model, GPT-3 XL (Brown et al. 2020, Table 2.1: hidden size 2048, batch of
/// 1M tokens = 512 sequences of 2048): 512 · 2048 · 2048 · 2 bytes. Used only by jobs
/// with pipeline stages.
pub const DEFAULT_ACTIVATION_BYTES: f64 = 512.0 * 2048.0 * 2048.0 * 2.0;

/// What a job communicates each iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommProfile {
    /// Bytes all-reduced per iteration (the gradient).
    pub gradient_bytes: f64,
    /// Compute time of one iteration, ms.
    pub compute_ms: f64,
    /// Share of `compute_ms` that communication can hide behind, in [0, 1].
    pub overlap: f64,
    /// Bytes crossing each pipeline-stage boundary per iteration in each direction
    /// (activations forward, their gradients back), all replicas together.
    pub activation_bytes: f64,
}

/// Time of a ring all-reduce of `bytes` over `n` ranks at bus bandwidth `bus_bps`
/// (bytes/s), in ms: `2(n−1)/n · S/B`. One rank communicates nothing.
pub fn ring_allreduce_ms(n: u32, bytes: f64, bus_bps: f64) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let n = f64::from(n);
    2.0 * (n - 1.0) / n * bytes / bus_bps * 1000.0
}

impl CommProfile {
    /// The default profile of a job of `kind`: data-parallel training all-reduces
    /// [`DEFAULT_GRADIENT_BYTES`]; inference and evaluation jobs are taken not to
    /// communicate across nodes (none).
    pub fn default_for(kind: JobKind) -> Option<CommProfile> {
        match kind {
            JobKind::Training => Some(CommProfile {
                gradient_bytes: DEFAULT_GRADIENT_BYTES,
                compute_ms: DEFAULT_COMPUTE_MS,
                overlap: DEFAULT_OVERLAP,
                activation_bytes: DEFAULT_ACTIVATION_BYTES,
            }),
            JobKind::Inference | JobKind::Eval => None,
        }
    }

    /// This profile with a trace's `hints` applied: its gradient, compute and overlap
    /// where given, and the gradient split over the `pp` pipeline stages. Each stage
    /// runs `tp` data-parallel rings at once, one per tensor-parallel shard, over the
    /// same NICs, so together they carry the stage's whole gradient: the stage's traffic
    /// is one ring of `gradient / pp` over its `gpus / (tp × pp)` ranks.
    pub fn with_hints(&self, hints: &CommHints) -> CommProfile {
        let stages = f64::from(hints.pp.max(1));
        CommProfile {
            gradient_bytes: hints.gradient_gb.map_or(self.gradient_bytes, |g| g * 1e9) / stages,
            compute_ms: hints.compute_ms.unwrap_or(self.compute_ms),
            overlap: hints.overlap.unwrap_or(self.overlap),
            activation_bytes: self.activation_bytes,
        }
    }

    /// Communication time of one iteration over `n` ranks at `bus_bps`, ms.
    pub fn comm_ms(&self, n: u32, bus_bps: f64) -> f64 {
        ring_allreduce_ms(n, self.gradient_bytes, bus_bps)
    }

    /// One iteration, ms: compute plus the communication that does not fit behind
    /// `overlap × compute`.
    pub fn iteration_ms(&self, n: u32, bus_bps: f64) -> f64 {
        self.iteration_ms_with(n, bus_bps, 0.0)
    }

    /// One iteration, ms, when `p2p_bytes` of pipeline traffic are also sent at
    /// `bus_bps` (after the ring, in the same communication time).
    pub fn iteration_ms_with(&self, n: u32, bus_bps: f64, p2p_bytes: f64) -> f64 {
        let mut comm = self.comm_ms(n, bus_bps);
        if p2p_bytes > 0.0 {
            comm += p2p_bytes / bus_bps * 1000.0;
        }
        self.compute_ms + (comm - self.overlap * self.compute_ms).max(0.0)
    }
}

/// One configuration of Megatron-LM's weak-scaling study (Narayanan et al., "Efficient
/// Large-Scale Language Model Training on GPU Clusters Using Megatron-LM", SC'21,
/// Table 1): GPT models of vocabulary 51,200 and sequence length 2,048 trained on
/// `gpus` A100 GPUs with tensor-parallel size `tp` and pipeline-parallel size `pp`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizedModel {
    /// GPUs of the configuration.
    pub gpus: u32,
    /// Parameters as the table prints them, billions.
    pub label_billions: f64,
    /// Hidden size `h`.
    pub hidden: u32,
    /// Transformer layers `l`.
    pub layers: u32,
    /// Tensor-parallel size.
    pub tp: u32,
    /// Pipeline-parallel size.
    pub pp: u32,
    /// Global batch, sequences.
    pub batch: u32,
}

/// Vocabulary of the Megatron-LM weak-scaling models.
const MEGATRON_VOCAB: f64 = 51_200.0;
/// Sequence length of the Megatron-LM weak-scaling models.
const MEGATRON_SEQ: f64 = 2_048.0;

/// Megatron-LM's weak-scaling configurations (Narayanan et al. SC'21, Table 1), by GPU
/// count. The rows were entered from the paper as recalled, not re-read in this
/// session; `tests`' `megatron_rows_match_their_parameter_counts` checks each row's
/// hidden size and layers against its printed parameter count through the paper's own
/// formula, which catches a wrong shape but not a wrong batch.
#[rustfmt::skip]
pub const MEGATRON_WEAK_SCALING: [SizedModel; 10] = [
    SizedModel { gpus: 32, label_billions: 1.7, hidden: 2304, layers: 24, tp: 1, pp: 1, batch: 512 },
    SizedModel { gpus: 64, label_billions: 3.6, hidden: 3072, layers: 30, tp: 2, pp: 1, batch: 512 },
    SizedModel { gpus: 128, label_billions: 7.5, hidden: 4096, layers: 36, tp: 4, pp: 1, batch: 512 },
    SizedModel { gpus: 256, label_billions: 18.4, hidden: 6144, layers: 40, tp: 8, pp: 1, batch: 1024 },
    SizedModel { gpus: 512, label_billions: 39.1, hidden: 8192, layers: 48, tp: 8, pp: 2, batch: 1536 },
    SizedModel { gpus: 1024, label_billions: 76.1, hidden: 10240, layers: 60, tp: 8, pp: 4, batch: 1792 },
    SizedModel { gpus: 1536, label_billions: 145.6, hidden: 12288, layers: 80, tp: 8, pp: 8, batch: 2304 },
    SizedModel { gpus: 1920, label_billions: 310.1, hidden: 16384, layers: 96, tp: 8, pp: 16, batch: 2160 },
    SizedModel { gpus: 2520, label_billions: 529.6, hidden: 20480, layers: 105, tp: 8, pp: 35, batch: 2520 },
    SizedModel { gpus: 3072, label_billions: 1008.0, hidden: 25600, layers: 128, tp: 8, pp: 64, batch: 3072 },
];

impl SizedModel {
    /// Parameters, by the paper's count for a GPT model (§5.1):
    /// `12·l·h²·(1 + 13/(12h) + (V + s)/(12·l·h))`.
    pub fn params(&self) -> f64 {
        let (l, h) = (f64::from(self.layers), f64::from(self.hidden));
        12.0 * l * h * h * (1.0 + 13.0 / (12.0 * h) + (MEGATRON_VOCAB + MEGATRON_SEQ) / (12.0 * l * h))
    }

    /// The configuration a training job of `gpus` GPUs takes when its trace gives no
    /// model: the largest one of at most `gpus` GPUs (the smallest for smaller jobs).
    pub fn for_gpus(gpus: u32) -> SizedModel {
        MEGATRON_WEAK_SCALING
            .iter()
            .rev()
            .find(|m| m.gpus <= gpus)
            .copied()
            .unwrap_or(MEGATRON_WEAK_SCALING[0])
    }

    /// The profile of this model: its 16-bit gradient (2 bytes per parameter) and its
    /// pipeline traffic (`B·s·h` 16-bit values per boundary and direction), with
    /// `base`'s compute time and overlap.
    pub fn profile(&self, base: &CommProfile) -> CommProfile {
        CommProfile {
            gradient_bytes: 2.0 * self.params(),
            compute_ms: base.compute_ms,
            overlap: base.overlap,
            activation_bytes: f64::from(self.batch) * MEGATRON_SEQ * f64::from(self.hidden) * 2.0,
        }
    }

    /// (tp, pp) of this model for a job of `gpus` GPUs whose tensor-parallel groups must
    /// fit in `domain_gpus` GPUs: `tp` halved until it fits and divides the GPUs, then
    /// the largest `pp` up to the model's that divides the GPUs left.
    pub fn parallelism(&self, gpus: u32, domain_gpus: u32) -> (u32, u32) {
        let mut tp = self.tp.max(1);
        while tp > 1 && (tp > domain_gpus || gpus % tp != 0) {
            tp /= 2;
        }
        let per = gpus / tp;
        let pp = (1..=self.pp.max(1)).rev().find(|p| per % p == 0).unwrap_or(1);
        (tp, pp)
    }
}

/// Where the profile of a training job whose trace gives none comes from
/// (`[network] default_profile`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultProfile {
    /// One profile for every training job ([`DEFAULT_GRADIENT_BYTES`], no model
    /// parallelism, or the `[network]` keys).
    #[default]
    Fixed,
    /// By the job's GPU count, from [`MEGATRON_WEAK_SCALING`].
    MegatronBySize,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row's hidden size and layers give, through the paper's parameter count, the
    /// parameters the table prints (to its one decimal).
    #[test]
    fn megatron_rows_match_their_parameter_counts() {
        for m in MEGATRON_WEAK_SCALING {
            let billions = m.params() / 1e9;
            assert!(
                ((billions * 10.0).round() / 10.0 - m.label_billions).abs() < 0.051,
                "{m:?}: {billions}"
            );
        }
    }

    /// By hand: 48 GPUs take the 32-GPU row (1.7B, tp 1, pp 1); 600 GPUs the 512-GPU
    /// row (tp 8, pp 2: 600/8 = 75 is odd, so pp 1); 1024 GPUs on 2-GPU domains: tp 2,
    /// pp 4; 2520 GPUs keep tp 8, pp 35.
    #[test]
    fn sized_parallelism_by_hand() {
        assert_eq!(SizedModel::for_gpus(8).gpus, 32);
        assert_eq!(SizedModel::for_gpus(48).parallelism(48, 8), (1, 1));
        assert_eq!(SizedModel::for_gpus(600).gpus, 512);
        assert_eq!(SizedModel::for_gpus(600).parallelism(600, 8), (8, 1));
        assert_eq!(SizedModel::for_gpus(1024).parallelism(1024, 2), (2, 4));
        assert_eq!(SizedModel::for_gpus(2520).parallelism(2520, 8), (8, 35));
    }

    /// nccl-tests PERFORMANCE.md: 2(n−1)/n · S/B. By hand for n = 4, S = 1 GB,
    /// B = 10 GB/s: 2 · 3/4 · 0.1 s = 150 ms.
    #[test]
    fn ring_formula_by_hand() {
        assert!((ring_allreduce_ms(4, 1e9, 1e10) - 150.0).abs() < 1e-9);
        assert_eq!(ring_allreduce_ms(1, 1e9, 1e10), 0.0);
    }

    /// Compute 1000 ms, overlap 0.5: 300 ms of communication hides entirely; 800 ms
    /// leaves 300 ms exposed.
    #[test]
    fn overlap_hides_up_to_its_share_of_compute() {
        let p = CommProfile {
            gradient_bytes: 1e9,
            compute_ms: 1000.0,
            overlap: 0.5,
            activation_bytes: 0.0,
        };
        // n = 2: comm = S/B; B = 1e9/0.3 → 300 ms; B = 1e9/0.8 → 800 ms.
        assert!((p.iteration_ms(2, 1e9 / 0.3) - 1000.0).abs() < 1e-9);
        assert!((p.iteration_ms(2, 1e9 / 0.8) - 1300.0).abs() < 1e-9);
    }
}
