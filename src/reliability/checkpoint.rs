//! Checkpoint intervals and the expected run time of a checkpointed job under failures.
//!
//! Young (1974) gives the first-order optimum interval τ = √(2δM) for a checkpoint cost δ
//! and a mean time between failures M; Daly ("A higher order estimate of the optimum
//! checkpoint interval for restart dumps", FGCS 22(3), 2006) gives the higher-order one
//! and the expected wall time of a job, both used here as written in that paper. All
//! times are in one unit of the caller's choosing (the model uses seconds).

use serde::Deserialize;

/// How often a job writes a checkpoint (`[reliability.checkpoint] policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckpointPolicy {
    /// Never: a failure loses all the work of the run.
    #[default]
    None,
    /// Every `interval_min` minutes of work.
    Fixed,
    /// Young's first-order interval √(2δM), M the job's own MTTF on its GPUs.
    Young,
    /// Daly's higher-order interval, M the job's own MTTF on its GPUs.
    Daly,
}

/// Young's interval √(2δM) (work time between checkpoints).
pub fn young_interval(delta: f64, mttf: f64) -> f64 {
    (2.0 * delta * mttf).sqrt()
}

/// Daly's higher-order optimum interval (work time between checkpoints, eq. 37 of the
/// paper): √(2δM)·[1 + ⅓·√(δ/2M) + (1/9)·(δ/2M)] − δ for δ < 2M, and M otherwise.
pub fn daly_interval(delta: f64, mttf: f64) -> f64 {
    if delta >= 2.0 * mttf {
        return mttf;
    }
    let x = delta / (2.0 * mttf);
    (2.0 * delta * mttf).sqrt() * (1.0 + x.sqrt() / 3.0 + x / 9.0) - delta
}

/// Daly's expected wall time of a job of `work` solve time, checkpointing every `tau` of
/// work at cost `delta`, restarting at cost `restart`, under exponential failures of mean
/// `mttf` (eq. 20 of the paper): M·e^{R/M}·(e^{(τ+δ)/M} − 1)·T_s/τ.
pub fn daly_expected_wall(work: f64, tau: f64, delta: f64, restart: f64, mttf: f64) -> f64 {
    mttf * (restart / mttf).exp() * (((tau + delta) / mttf).exp_m1()) * work / tau
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Daly 2006's worked cases: a 500 h job, R = 10 min, δ = 5 min; the optimum
    /// intervals the paper gives are 117 min at M = 24 h, 57 min at M = 6 h and 9.1 min
    /// at M = 15 min (figures as quoted in ../shared/reference/README.md).
    #[test]
    fn daly_worked_cases() {
        for (m, want, tol) in [(24.0 * 60.0, 117.0, 0.5), (360.0, 57.0, 0.5), (15.0, 9.1, 0.05)] {
            let got = daly_interval(5.0, m);
            assert!((got - want).abs() <= tol, "M = {m} min: {got} vs {want}");
        }
    }

    /// The interval minimises the expected wall time: Daly's τ beats its neighbours and
    /// Young's τ, in the 500 h case at M = 6 h (closed form against itself at ±10%).
    #[test]
    fn daly_interval_minimises_expected_wall_time() {
        let (ts, r, d, m) = (500.0 * 60.0, 10.0, 5.0, 360.0);
        let opt = daly_interval(d, m);
        let best = daly_expected_wall(ts, opt, d, r, m);
        for tau in [
            opt * 0.9,
            opt * 1.1,
            young_interval(d, m) * 0.5,
            young_interval(d, m) * 2.0,
        ] {
            assert!(daly_expected_wall(ts, tau, d, r, m) > best, "tau {tau}");
        }
        // Without failures (M → ∞) the wall time tends to T_s·(1 + δ/τ).
        let w = daly_expected_wall(ts, 60.0, d, r, 1e12);
        assert!((w / (ts * (1.0 + d / 60.0)) - 1.0).abs() < 1e-6);
    }

    /// Young's interval: √(2·5·1440) = 120 min, by hand.
    #[test]
    fn young_by_hand() {
        assert!((young_interval(5.0, 1440.0) - 120.0).abs() < 1e-9);
        assert_eq!(daly_interval(30.0, 10.0), 10.0);
    }
}
