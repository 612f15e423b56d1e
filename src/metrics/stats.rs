use serde::Serialize;

/// The nearest-rank percentile of sorted values (`p` in 0..=100): the smallest value
/// with at least p% of the values at or below it. None for no values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Mean and percentiles of a sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Distribution {
    /// Values in the sample.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

impl Distribution {
    /// Summarises `values` (reordered in place). An empty sample gives all zeros.
    ///
    /// Percentiles by selection, O(n): each rank is selected within the part above the
    /// previous one, which yields the same values as sorting.
    pub fn of(values: &mut [f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return Distribution::default();
        }
        let rank = |p: f64| (((p / 100.0) * n as f64).ceil() as usize).clamp(1, n) - 1;
        let mut picked = [0.0; 4];
        let mut lo = 0;
        for (slot, r) in [rank(50.0), rank(95.0), rank(99.0), n - 1]
            .into_iter()
            .enumerate()
        {
            let (_, v, _) = values[lo..].select_nth_unstable_by(r - lo, f64::total_cmp);
            picked[slot] = *v;
            lo = r;
        }
        Distribution {
            count: n as u64,
            mean: values.iter().sum::<f64>() / n as f64,
            p50: picked[0],
            p95: picked[1],
            p99: picked[2],
            max: picked[3],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        // Nearest-rank definition (NIST / Wikipedia "Percentile"): for 1..=10, p50 = 5, p95 = 10.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 95.0), Some(10.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 50.0), None);
        let d = Distribution::of(&mut [3.0, 1.0, 2.0]);
        assert_eq!((d.mean, d.p50, d.max), (2.0, 2.0, 3.0));
        // Selection gives what sorting gives, on a shuffled sample.
        let mut shuffled: Vec<f64> = (0..1000).map(|i| f64::from((i * 7919) % 1000)).collect();
        let d = Distribution::of(&mut shuffled);
        let sorted: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(d.p50, percentile(&sorted, 50.0).unwrap());
        assert_eq!(d.p95, percentile(&sorted, 95.0).unwrap());
        assert_eq!(d.p99, percentile(&sorted, 99.0).unwrap());
        assert_eq!(d.max, 999.0);
    }
}
