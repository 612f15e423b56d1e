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
    /// where given, and the gradient split over the `tp × pp` model-parallel shards
    /// (each data-parallel ring all-reduces one shard).
    pub fn with_hints(&self, hints: &CommHints) -> CommProfile {
        let group = f64::from((hints.tp * hints.pp).max(1));
        CommProfile {
            gradient_bytes: hints.gradient_gb.map_or(self.gradient_bytes, |g| g * 1e9) / group,
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

#[cfg(test)]
mod tests {
    use super::*;

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
