//! Request generators: Poisson, diurnal and bursts (× k over a window), for traces
//! and for synthetic services.
//!
//! A time-varying rate λ(t) is sampled by thinning (Lewis & Shedler, "Simulation of
//! nonhomogeneous Poisson processes by thinning", 1979): candidates at the peak rate,
//! each kept with probability λ(t)/peak. Random draws come from the caller's stream.

use rand::Rng;
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution as _, Exp};
use serde::Deserialize;

use super::error::ServingError;
use super::request::{Request, RequestTrace};

/// The base arrival process of a generated service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "process", rename_all = "snake_case", deny_unknown_fields)]
pub enum Arrivals {
    /// Constant rate.
    Poisson {
        /// Requests per second.
        rate_per_s: f64,
    },
    /// A daily cycle: λ(t) = mean · (1 + amplitude · cos(2π (hour(t) − peak_hour) / 24)).
    Diurnal {
        /// Mean requests per second over a day.
        mean_rate_per_s: f64,
        /// Relative swing, 0 (flat) to 1 (zero at the trough).
        amplitude: f64,
        /// Hour of day (0–24) of the peak; t = 0 is midnight.
        peak_hour: f64,
    },
}

/// Sizes of generated requests.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Sizes {
    /// Every request has the same prompt and output.
    Fixed {
        /// Prompt tokens.
        prompt_tokens: u32,
        /// Output tokens.
        output_tokens: u32,
    },
    /// A recorded execution time, exponential with this mean (no tokens): the M/M/c case.
    ExponentialExec {
        /// Mean execution time, in seconds.
        mean_s: f64,
    },
}

/// A window in which arrivals are multiplied by `factor` ("usage triples for 2 h").
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    /// Multiplier of the arrival rate, >= 1.
    pub factor: f64,
    /// Start of the window, seconds from the start of the run.
    pub start_s: f64,
    /// Length of the window, in seconds.
    pub duration_s: f64,
}

impl Burst {
    fn contains(&self, t: f64) -> bool {
        t >= self.start_s && t < self.start_s + self.duration_s
    }

    /// Checks the fields; `key` names the burst in errors.
    pub fn validate(&self, key: &str) -> Result<(), ServingError> {
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return Err(ServingError::config(
                format!("{key}.factor"),
                "expected a number >= 1",
            ));
        }
        if !(self.start_s.is_finite() && self.start_s >= 0.0) {
            return Err(ServingError::config(
                format!("{key}.start_s"),
                "expected seconds >= 0",
            ));
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0) {
            return Err(ServingError::config(
                format!("{key}.duration_s"),
                "expected seconds > 0",
            ));
        }
        Ok(())
    }
}

impl Arrivals {
    /// Rate at time `t` (seconds), in requests per second.
    pub fn rate_at(&self, t: f64) -> f64 {
        match *self {
            Arrivals::Poisson { rate_per_s } => rate_per_s,
            Arrivals::Diurnal {
                mean_rate_per_s,
                amplitude,
                peak_hour,
            } => {
                let hour = t / 3600.0;
                mean_rate_per_s
                    * (1.0 + amplitude * (std::f64::consts::TAU * (hour - peak_hour) / 24.0).cos())
            }
        }
    }

    fn peak(&self) -> f64 {
        match *self {
            Arrivals::Poisson { rate_per_s } => rate_per_s,
            Arrivals::Diurnal {
                mean_rate_per_s,
                amplitude,
                ..
            } => mean_rate_per_s * (1.0 + amplitude),
        }
    }

    /// Checks the fields; `key` names the process in errors.
    pub fn validate(&self, key: &str) -> Result<(), ServingError> {
        let ok = |x: f64| x.is_finite() && x > 0.0;
        match *self {
            Arrivals::Poisson { rate_per_s } if !ok(rate_per_s) => Err(ServingError::config(
                format!("{key}.rate_per_s"),
                "expected requests/s > 0",
            )),
            Arrivals::Diurnal { mean_rate_per_s, .. } if !ok(mean_rate_per_s) => Err(ServingError::config(
                format!("{key}.mean_rate_per_s"),
                "expected requests/s > 0",
            )),
            Arrivals::Diurnal { amplitude, .. } if !(0.0..=1.0).contains(&amplitude) => Err(
                ServingError::config(format!("{key}.amplitude"), "expected 0 to 1"),
            ),
            Arrivals::Diurnal { peak_hour, .. } if !(0.0..=24.0).contains(&peak_hour) => Err(
                ServingError::config(format!("{key}.peak_hour"), "expected an hour 0 to 24"),
            ),
            _ => Ok(()),
        }
    }
}

/// Burst multiplier at `t`: the product of the factors of the windows holding `t`.
fn burst_factor(bursts: &[Burst], t: f64) -> f64 {
    bursts
        .iter()
        .filter(|b| b.contains(t))
        .map(|b| b.factor)
        .product()
}

/// Generates requests over `[0, duration_s)` from `arrivals` × `bursts`, sized by `sizes`.
pub fn generate(
    arrivals: &Arrivals,
    bursts: &[Burst],
    sizes: &Sizes,
    duration_s: f64,
    rng: &mut ChaCha12Rng,
) -> RequestTrace {
    let peak = arrivals.peak() * bursts.iter().map(|b| b.factor).product::<f64>();
    let gap = Exp::new(peak).expect("validated rates are > 0");
    let mut trace = RequestTrace::default();
    let mut t = 0.0;
    loop {
        t += gap.sample(rng);
        if t >= duration_s {
            break;
        }
        let keep = arrivals.rate_at(t) * burst_factor(bursts, t) / peak;
        if keep < 1.0 && rng.gen::<f64>() >= keep {
            continue;
        }
        let (prompt_tokens, output_tokens, exec_s) = match *sizes {
            Sizes::Fixed {
                prompt_tokens,
                output_tokens,
            } => (prompt_tokens, output_tokens, None),
            Sizes::ExponentialExec { mean_s } => (
                0,
                0,
                Some(Exp::new(1.0 / mean_s).expect("validated mean > 0").sample(rng)),
            ),
        };
        trace.requests.push(Request {
            arrival_s: t,
            prompt_tokens,
            output_tokens,
            exec_s,
        });
    }
    trace
}

/// Multiplies a recorded trace's arrivals by each burst's factor within its window:
/// every request in the window gets `factor − 1` copies on average (the whole part
/// always, the fraction with that probability), each at a uniform time in the window
/// and with the original's sizes, so the window's rate is × factor and its size mix kept.
pub fn apply_bursts(trace: &mut RequestTrace, bursts: &[Burst], rng: &mut ChaCha12Rng) {
    let mut extra = Vec::new();
    for b in bursts {
        for r in trace.requests.iter().filter(|r| b.contains(r.arrival_s)) {
            let copies = b.factor - 1.0;
            let n = copies.floor() as u32 + u32::from(rng.gen::<f64>() < copies.fract());
            for _ in 0..n {
                let at = b.start_s + rng.gen::<f64>() * b.duration_s;
                extra.push(Request { arrival_s: at, ..*r });
            }
        }
    }
    trace.requests.extend(extra);
    trace.sort();
}
