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
    /// Summarises `values` (sorted in place). An empty sample gives all zeros.
    pub fn of(values: &mut [f64]) -> Self {
        if values.is_empty() {
            return Distribution::default();
        }
        values.sort_by(f64::total_cmp);
        let pct = |p| percentile(values, p).unwrap_or(0.0);
        Distribution {
            count: values.len() as u64,
            mean: values.iter().sum::<f64>() / values.len() as f64,
            p50: pct(50.0),
            p95: pct(95.0),
            p99: pct(99.0),
            max: values[values.len() - 1],
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
    }
}
