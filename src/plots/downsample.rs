//! Down-sampling piecewise-constant series for drawing without changing their shape.
//!
//! A series with more change points than a figure has pixel columns is reduced per
//! column to four points: the value in force where the column starts, the column's
//! minimum and maximum (at their times) and its last value: the M4 aggregation of Jugel
//! et al., "M4: A Visualization-Oriented Time Series Data Aggregation" (VLDB 2014), who
//! show a line drawn through those four points per column is pixel-identical to the full
//! series. Every column therefore keeps its exact extremes. Shorter series are drawn
//! exactly, as steps.

/// Points to draw for the step function `values[i]` holding over `[times[i], times[i+1])`
/// (the last until `end`), with at most about four points per column of `columns`.
pub fn step_points(times: &[f64], values: &[f64], end: f64, columns: usize) -> Vec<(f64, f64)> {
    let n = times.len().min(values.len());
    if n == 0 {
        return Vec::new();
    }
    let start = times[0];
    let end = end.max(times[n - 1]);
    if n <= 2 * columns || end <= start {
        let mut pts = Vec::with_capacity(2 * n + 1);
        for i in 0..n {
            if i > 0 {
                pts.push((times[i], values[i - 1]));
            }
            pts.push((times[i], values[i]));
        }
        pts.push((end, values[n - 1]));
        return pts;
    }
    let width = (end - start) / columns as f64;
    let mut pts = Vec::with_capacity(4 * columns + 1);
    let mut i = 0;
    let mut current = values[0];
    for c in 0..columns {
        let a = start + width * c as f64;
        let b = if c + 1 == columns {
            f64::INFINITY
        } else {
            a + width
        };
        while i < n && times[i] <= a {
            current = values[i];
            i += 1;
        }
        let first = (a, current);
        let (mut lo, mut hi) = (first, first);
        while i < n && times[i] < b {
            let v = values[i];
            if v < lo.1 {
                lo = (times[i], v);
            }
            if v > hi.1 {
                hi = (times[i], v);
            }
            current = v;
            i += 1;
        }
        let last_t = if i > 0 { times[i - 1].max(a) } else { a };
        let mut four = [first, lo, hi, (last_t, current)];
        four.sort_by(|p, q| p.0.total_cmp(&q.0));
        for p in four {
            if pts.last() != Some(&p) {
                pts.push(p);
            }
        }
    }
    pts.push((end, current));
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small series are drawn exactly as steps.
    #[test]
    fn short_series_are_exact_steps() {
        let p = step_points(&[0.0, 1.0, 3.0], &[2.0, 5.0, 1.0], 4.0, 10);
        assert_eq!(
            p,
            vec![
                (0.0, 2.0),
                (1.0, 2.0),
                (1.0, 5.0),
                (3.0, 5.0),
                (3.0, 1.0),
                (4.0, 1.0)
            ]
        );
    }

    /// A long series keeps, in every column, the exact minimum and maximum of the step
    /// function over that column (the M4 property), with at most 4 points per column.
    #[test]
    fn columns_keep_their_extremes() {
        let n = 100_000;
        let times: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut x: u64 = 12345;
        let values: Vec<f64> = (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 40) as f64
            })
            .collect();
        let columns = 100;
        let end = n as f64;
        let pts = step_points(&times, &values, end, columns);
        assert!(pts.len() <= 4 * columns + 1, "{} points", pts.len());
        let width = end / columns as f64;
        for c in 0..columns {
            let (a, b) = (c as f64 * width, (c + 1) as f64 * width);
            // True extremes: a row starts at every integer, so the value in force at `a`
            // is the row starting there and the column holds exactly the rows in [a, b).
            let in_col: Vec<f64> = (0..n)
                .filter(|&i| times[i] >= a && times[i] < b)
                .map(|i| values[i])
                .collect();
            let max = in_col.iter().copied().fold(f64::MIN, f64::max);
            let min = in_col.iter().copied().fold(f64::MAX, f64::min);
            let drawn: Vec<f64> = pts.iter().filter(|p| p.0 >= a && p.0 < b).map(|p| p.1).collect();
            assert_eq!(drawn.iter().copied().fold(f64::MIN, f64::max), max, "column {c}");
            assert_eq!(drawn.iter().copied().fold(f64::MAX, f64::min), min, "column {c}");
        }
    }
}
