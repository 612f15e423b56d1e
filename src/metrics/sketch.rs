//! A streaming quantile sketch with a relative-error guarantee: the summary's
//! percentiles once a run has more jobs than it keeps exactly (issue 17).
//!
//! # Model
//!
//! The log-bucketed histogram of DDSketch (Masson, Rim & Lee, "DDSketch: A Fast and
//! Fully-Mergeable Quantile Sketch with Relative-Error Guarantees", PVLDB 12(12), 2019,
//! §2): with `γ = (1 + α) / (1 − α)`, a value `x > 0` is counted in bucket
//! `k = ⌈log_γ x⌉`, which holds the values in `(γ^(k−1), γ^k]`; zeros are counted apart.
//! A quantile is read by walking the buckets in order to the one where the cumulative
//! count first reaches the wanted rank, and answered with that bucket's midpoint in
//! relative terms, `2γ^k / (γ + 1)`. Every value of the bucket, the exact one included,
//! lies within a factor `1 ± α` of it, so the answer `v̂` to a nearest-rank percentile
//! whose exact value is `v` obeys `|v̂ − v| ≤ α·v` (Masson et al., Proposition 3), up to
//! the rounding of `ln` at a bucket's edge (a few ulps). Zeros come back exactly.
//!
//! Buckets are a dense array from the smallest to the largest index seen: values in
//! `[1 ms, 10⁹ s]` at `α` = 0.5 % span about 3,000 buckets (24 KB), whatever the count.

/// Relative accuracy `α` of [`LogSketch`] percentiles as the summary uses them: 0.5 %.
pub const RELATIVE_ERROR: f64 = 0.005;

/// Counts of non-negative values in logarithmic buckets ([module docs](self)).
#[derive(Debug, Clone)]
pub struct LogSketch {
    /// `ln γ`.
    ln_gamma: f64,
    /// `γ`.
    gamma: f64,
    /// Values equal to 0.
    zeros: u64,
    /// Index of `counts[0]`.
    offset: i32,
    /// Values per bucket, from index `offset` up.
    counts: Vec<u64>,
    /// Values counted, zeros included.
    total: u64,
}

impl LogSketch {
    /// An empty sketch with relative accuracy `alpha` (0 < α < 1).
    pub fn new(alpha: f64) -> Self {
        assert!(
            alpha > 0.0 && alpha < 1.0,
            "relative accuracy must be in (0, 1), got {alpha}"
        );
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        LogSketch {
            ln_gamma: gamma.ln(),
            gamma,
            zeros: 0,
            offset: 0,
            counts: Vec::new(),
            total: 0,
        }
    }

    /// Counts `x` (finite and ≥ 0; anything else is a caller's bug).
    pub fn add(&mut self, x: f64) {
        debug_assert!(x.is_finite() && x >= 0.0, "sketched value {x}");
        self.total += 1;
        if x <= 0.0 {
            self.zeros += 1;
            return;
        }
        let k = (x.ln() / self.ln_gamma).ceil() as i32;
        if self.counts.is_empty() {
            self.offset = k;
        } else if k < self.offset {
            let grow = (self.offset - k) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = k;
        }
        let i = (k - self.offset) as usize;
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The nearest-rank `p`-th percentile (`p` in 0..=100: the value of rank
    /// `⌈p/100 · n⌉`, at least 1), within a relative `α` of the exact one; None when
    /// empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = (((p / 100.0) * self.total as f64).ceil() as u64).clamp(1, self.total);
        if rank <= self.zeros {
            return Some(0.0);
        }
        let mut seen = self.zeros;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let k = self.offset + i as i32;
                return Some(2.0 * (f64::from(k) * self.ln_gamma).exp() / (self.gamma + 1.0));
            }
        }
        unreachable!("bucket counts sum to the total")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::percentile;

    /// Against exact nearest-rank percentiles (`metrics::percentile` over the sorted
    /// sample) on samples spanning nine decades with zeros and repeats, every answer is
    /// within the proven bound α·v (plus a few ulps of rounding).
    #[test]
    fn percentiles_are_within_the_relative_error_bound() {
        let mut rng = crate::engine::XorShift(0x2545_F491_4F6C_DD1D);
        let mut next = || rng.next_u64();
        for alpha in [0.005, 0.01, 0.05] {
            let mut values: Vec<f64> = (0..50_000)
                .map(|_| match next() % 10 {
                    0 => 0.0,
                    1 => 60.0,
                    // Log-uniform over 1 ms .. 10⁶ s, in whole milliseconds.
                    _ => {
                        ((next() % 1_000_000) as f64 / 1e6 * 9.0 * std::f64::consts::LN_10)
                            .exp()
                            .round()
                            / 1000.0
                    }
                })
                .collect();
            let mut s = LogSketch::new(alpha);
            values.iter().for_each(|&v| s.add(v));
            values.sort_by(f64::total_cmp);
            assert_eq!(s.count(), values.len() as u64);
            for p in [0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 100.0] {
                let exact = percentile(&values, p).unwrap();
                let got = s.percentile(p).unwrap();
                assert!(
                    (got - exact).abs() <= alpha * exact * (1.0 + 1e-9),
                    "α {alpha}, p{p}: sketch {got}, exact {exact}"
                );
            }
        }
    }

    /// Hand-worked: with α = 1/3, γ = 2, so 3 falls in bucket ⌈log₂ 3⌉ = 2, (2, 4],
    /// answered as 2·4/3; 1 in bucket 0, (1/2, 1], answered as 2/3; zeros exactly.
    #[test]
    fn hand_worked_buckets() {
        let mut s = LogSketch::new(1.0 / 3.0);
        for v in [0.0, 1.0, 3.0, 3.5] {
            s.add(v);
        }
        assert_eq!(s.percentile(25.0), Some(0.0));
        assert!((s.percentile(50.0).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.percentile(100.0).unwrap() - 8.0 / 3.0).abs() < 1e-12);
        assert_eq!(LogSketch::new(0.01).percentile(50.0), None);
    }
}
