//! Empirical distributions drawn from a fixed number of quantiles, so a CDF of a million
//! jobs costs as much to draw as one of a thousand.

/// Quantiles kept per distribution: probabilities 0, 1/(N−1), …, 1.
pub const QUANTILES: usize = 1001;

/// The probability of quantile `k` of [`QUANTILES`].
pub fn probability(k: usize) -> f64 {
    k as f64 / (QUANTILES - 1) as f64
}

/// Nearest-rank quantiles of `values` at the [`probability`] grid (the smallest value
/// with at least a fraction p of the values at or below it; p = 0 gives the minimum).
/// Sorts `values`; NaNs are dropped. Empty input gives an empty vector.
pub fn quantiles(values: &mut Vec<f64>) -> Vec<f64> {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return Vec::new();
    }
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    (0..QUANTILES)
        .map(|k| {
            let rank = (probability(k) * n as f64).ceil() as usize;
            values[rank.clamp(1, n) - 1]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-worked: for 1..=4 the nearest-rank median is 2 and the 0.75 quantile 3.
    #[test]
    fn nearest_rank() {
        let q = quantiles(&mut vec![4.0, f64::NAN, 2.0, 1.0, 3.0]);
        assert_eq!(q.len(), QUANTILES);
        assert_eq!(q[0], 1.0);
        assert_eq!(q[500], 2.0);
        assert_eq!(q[750], 3.0);
        assert_eq!(q[751], 4.0);
        assert_eq!(q[1000], 4.0);
        assert!(quantiles(&mut Vec::new()).is_empty());
    }
}
