//! Tiresias's discretized 2D-Gittins-index policy (Gu et al., NSDI 2019, §3.2), for
//! when the distribution of job service (GPUs × duration) is known: here it is learned
//! online from the jobs that have finished, never from the future.
//!
//! The queues, thresholds, preemption, demotion and starvation guard are those of
//! [`super::Tiresias`]; only the order within a queue differs. A job with attained service
//! `a` in a queue whose upper threshold is `θ` (∞ in the last queue) gets the Gittins index
//! with the quantum ending at `θ`, as Tiresias does:
//!
//! ```text
//! G(a) = P(S ≤ θ | S > a) / E[min(S, θ) − a | S > a]
//! ```
//!
//! (the chance to finish within the queue per unit of service spent trying); higher index
//! first. **Estimator**: finished jobs' GPU-service `S` (their final `attained_gpu_ms`) is
//! kept in a histogram of log-spaced bins, [`BINS_PER_DECADE`] per decade of GPU-ms, each
//! with its count and sum; a bin stands for all its members at their mean. `S > a` takes
//! the bins whose mean exceeds `a`. Waiting jobs are ranked with a copy of the histogram
//! refreshed after 1, 2, 4, 8, … finished jobs, when every waiting job is ranked again, so
//! jobs of equal attained service always share one index. Before any job has finished,
//! or when no finished job served more than `a`, the index is unknown and the job goes
//! first in its queue (FIFO among such jobs).

use crate::scheduler::params::{PolicyError, PolicyParams};

use super::tiresias::Tiresias;

/// Histogram resolution: bins per decade of GPU-milliseconds.
pub const BINS_PER_DECADE: f64 = 16.0;

/// Bins: GPU-service from 1 ms to 10¹³ GPU-ms (≈ 317 GPU-years).
const BINS: usize = 13 * BINS_PER_DECADE as usize;

/// The histogram bin of a service of `x` ≥ 1 GPU-ms.
fn bin(x: f64) -> usize {
    ((x.log10() * BINS_PER_DECADE) as usize).min(BINS - 1)
}

/// The learned service distribution; see the module docs.
#[derive(Debug, Clone)]
pub struct GittinsEstimator {
    count: Vec<u64>,
    sum_ms: Vec<f64>,
    /// `sum_ms / count` per bin, kept as jobs are recorded: ranking reads it for every
    /// bin of every waiting job, far more often than jobs finish.
    mean_ms: Vec<f64>,
    /// The bins holding any job, ascending: ranking visits only these.
    occupied: Vec<u16>,
}

impl Default for GittinsEstimator {
    fn default() -> Self {
        GittinsEstimator {
            count: vec![0; BINS],
            sum_ms: vec![0.0; BINS],
            mean_ms: vec![0.0; BINS],
            occupied: Vec::new(),
        }
    }
}

impl GittinsEstimator {
    /// Notes a finished job's total GPU-service, in GPU-ms.
    pub fn record(&mut self, service_gpu_ms: u64) {
        let x = service_gpu_ms.max(1) as f64;
        let b = bin(x);
        if self.count[b] == 0 {
            let at = self.occupied.partition_point(|&o| usize::from(o) < b);
            self.occupied.insert(at, b as u16);
        }
        self.count[b] += 1;
        self.sum_ms[b] += x;
        self.mean_ms[b] = self.sum_ms[b] / self.count[b] as f64;
    }

    /// The Gittins index of attained service `a` with the quantum ending at `theta`
    /// (None: no end), per GPU-ms; None when no finished job served more than `a`.
    pub fn index(&self, a: u64, theta: Option<u64>) -> Option<f64> {
        let a = a as f64;
        let theta = theta.map_or(f64::INFINITY, |t| t as f64);
        let (mut above, mut finish, mut spent) = (0u64, 0u64, 0.0f64);
        // Bins are ordered by value: every member of a bin below `a`'s (less one, for
        // rounding at the edge) is below `a`, and so is its mean.
        let first = bin(a.max(1.0)).saturating_sub(1);
        let from = self.occupied.partition_point(|&o| usize::from(o) < first);
        for &b in &self.occupied[from..] {
            let (n, mean) = (self.count[usize::from(b)], self.mean_ms[usize::from(b)]);
            if mean <= a {
                continue;
            }
            above += n;
            if mean <= theta {
                finish += n;
            }
            spent += n as f64 * (mean.min(theta) - a);
        }
        (above > 0 && spent > 0.0).then(|| finish as f64 / spent)
    }

    /// A sort key: higher index first, unknown index before all.
    pub fn rank(&self, a: u64, theta: Option<u64>) -> u64 {
        match self.index(a, theta) {
            None => 0,
            Some(g) => u64::MAX - g.to_bits(),
        }
    }
}

/// The `gittins` policy: [`Tiresias`] queues ordered by the learned Gittins index; same
/// parameters as `tiresias`.
pub fn from_params(p: &mut PolicyParams) -> Result<Tiresias, PolicyError> {
    Tiresias::from_params(p, "gittins", Some(GittinsEstimator::default()))
}
