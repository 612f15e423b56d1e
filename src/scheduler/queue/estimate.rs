//! Run-time estimates for the policies that order or reserve by duration (SJF, SRTF,
//! EASY and conservative backfilling).
//!
//! Two models, chosen by the policy parameter `estimate`:
//!
//! - `"oracle"` (default): the trace's own duration, i.e. perfect knowledge. The usual
//!   assumption of SJF/SRTF upper-bound studies and of backfilling papers that use
//!   "accurate estimates" (e.g. Mu'alem & Feitelson, IEEE TPDS 2001).
//! - `"noisy"`: the true duration times a multiplicative lognormal error
//!   `exp(error_sigma · Z)`, `Z ~ N(0, 1)`, drawn once per job (at its first arrival) from
//!   the policy's `estimate` random stream, so runs are deterministic for a seed. Median
//!   error 1; with `error_sigma = 1` a third of the estimates are off by more than a
//!   factor e. A symmetric stand-in for estimate error: real user estimates are mostly
//!   overestimates (Tsafrir, Etsion & Feitelson, IEEE TPDS 18(6), 2007).
//!
//! A waiting job's estimated remaining time is its factor times its true remaining work;
//! a running job's estimated end is fixed when its run starts (see
//! [`Estimator::running_end`]). Estimates are views of the oracle, never fed back to the
//! simulator.

use rand::Rng;
use rand_chacha::ChaCha12Rng;
use rand_distr::StandardNormal;

use crate::engine::SimTime;
use crate::scheduler::params::{ParamDoc, PolicyError, PolicyParams};
use crate::scheduler::traits::{QueuedJob, RunningJob};
use crate::workload::JobId;

/// The parameters every estimate-using policy takes, as listed by `dcsim policies`.
pub const ESTIMATE_PARAMS: [ParamDoc; 2] = [
    ParamDoc {
        key: "estimate",
        default: "\"oracle\"",
        about: "run-time estimate: \"oracle\" (the trace's duration) or \"noisy\" (lognormal error per job)",
    },
    ParamDoc {
        key: "error_sigma",
        default: "1.0",
        about: "with estimate = \"noisy\": σ of the multiplicative lognormal error (0 = exact)",
    },
];

/// Per-job estimate factors (1.0 under the oracle).
#[derive(Debug)]
pub(crate) struct Estimator {
    /// σ of the lognormal error; None under the oracle.
    sigma: Option<f64>,
    rng: ChaCha12Rng,
    /// Factor per job id; NaN until drawn.
    factor: Vec<f64>,
}

impl Estimator {
    /// Reads `estimate` and `error_sigma` from the policy's parameters.
    pub(crate) fn from_params(p: &mut PolicyParams) -> Result<Self, PolicyError> {
        let kind = p.string("estimate", "oracle")?;
        let sigma = p.f64("error_sigma", 1.0)?;
        if sigma < 0.0 {
            return Err(p.error("error_sigma", format!("must be ≥ 0, got {sigma}")));
        }
        let sigma = match kind.as_str() {
            "oracle" => None,
            "noisy" => Some(sigma),
            other => {
                return Err(p.error(
                    "estimate",
                    format!("expected \"oracle\" or \"noisy\", found \"{other}\""),
                ))
            }
        };
        Ok(Estimator {
            sigma,
            rng: p.rng("estimate"),
            factor: Vec::new(),
        })
    }

    /// The job's error factor, drawn on first sight.
    fn factor(&mut self, id: JobId) -> f64 {
        let Some(sigma) = self.sigma else { return 1.0 };
        let i = id.0 as usize;
        if i >= self.factor.len() {
            self.factor.resize(i + 1, f64::NAN);
        }
        if self.factor[i].is_nan() {
            let z: f64 = self.rng.sample(StandardNormal);
            self.factor[i] = (sigma * z).exp();
        }
        self.factor[i]
    }

    /// Estimated remaining run time of a waiting job, in milliseconds.
    pub(crate) fn waiting(&mut self, job: &QueuedJob) -> u64 {
        scale(job.remaining.as_ms(), self.factor(job.id))
    }

    /// Estimated end of a running job: its current run's start plus its factor times the
    /// run's length at its current rate (so the estimate stays put from pass to pass, as
    /// a user's would); an overrunning job is expected to end now. Under the oracle this
    /// is `expected_end`.
    pub(crate) fn running_end(&mut self, r: &RunningJob, now: SimTime) -> SimTime {
        let f = self.factor(r.job.id);
        if f == 1.0 {
            return r.expected_end;
        }
        let run = scale(r.expected_end.saturating_sub(r.started).as_ms(), f);
        SimTime(r.started.as_ms().saturating_add(run)).max(now)
    }
}

/// `ms × f`, rounded, saturating.
fn scale(ms: u64, f: f64) -> u64 {
    if f == 1.0 {
        ms
    } else {
        (ms as f64 * f).round().min(u64::MAX as f64) as u64
    }
}
