//! Synthetic workloads: Poisson or diurnal arrivals, with GPU counts and durations drawn
//! from parametric distributions or resampled from a real trace.
//!
//! # Model
//!
//! Jobs arrive by one of two processes (times in seconds from 0):
//!
//! - **Poisson**: inter-arrival times are i.i.d. exponential with rate λ, so the mean gap
//!   is 1/λ and its coefficient of variation is 1.
//! - **Diurnal**: a non-homogeneous Poisson process with rate
//!   `λ(t) = λ̄ · (1 + a · cos(2π (t/3600 − peak_hour) / 24))`, where
//!   `a = (r − 1) / (r + 1)` for `r = peak_to_trough`, so `λ_max / λ_min = r` and the
//!   daily mean is `λ̄`. Time 0 is midnight. It is sampled by thinning (Lewis & Shedler,
//!   "Simulation of nonhomogeneous Poisson processes by thinning", Naval Research
//!   Logistics Quarterly 26(3), 1979): candidates arrive at the constant rate
//!   `λ_max = λ̄ (1 + a)` and each is kept with probability `λ(t) / λ_max`.
//!
//! The rate is given directly (`rate_per_hour`) or derived from a target **offered load**
//! ρ, the fraction of the cluster's GPUs the arriving work would keep busy:
//!
//! ```text
//! ρ = λ · E[G·D] / C      ⇒      λ = ρ · C / E[G·D]
//! ```
//!
//! with `G` the GPUs a job asks for, `D` its duration in seconds and `C` the cluster's GPU
//! count. [`mean_gpu_seconds`] computes `E[G·D]` exactly from the parameters (see there).
//!
//! Each job's GPU count and duration are drawn independently unless both are `empirical`,
//! in which case one source job is drawn per synthetic job and its (GPUs, duration) pair
//! is copied, preserving the correlation between size and length that real traces show.
//!
//! # Determinism
//!
//! Every random number comes from a named [`RngStreams`] stream: `synthetic.arrivals`,
//! `synthetic.gpus`, `synthetic.durations`, `synthetic.pairs` (joint empirical draws) and
//! `synthetic.tenants` (uniform tenant assignment). Changing the duration distribution
//! therefore leaves arrival times unchanged, and the same seed and replication give the
//! same workload on one platform. The samplers also call the platform's `ln`, `exp` and
//! `cos`, so identical output across machines needs their math libraries to agree;
//! where two round differently, output differs only if some value falls within an ulp of
//! a millisecond rounding or of a sampler's accept/reject threshold.

use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, Exp1, LogNormal, WeightedIndex};
use serde::Deserialize;

use crate::engine::{RngStreams, SimTime};
use crate::workload::{
    GpuDemand, JobId, JobName, JobSpec, TenantId, Workload, WorkloadError, MAX_HELD_JOBS, MAX_JOBS,
};

/// Seconds in one hour.
const S_PER_HOUR: f64 = 3600.0;
/// Hours in one day: the period of the diurnal process.
const HOURS_PER_DAY: f64 = 24.0;

/// Parameters of a synthetic workload (the `[workload.synthetic]` table of a scenario).
///
/// Keys, units and defaults are documented in `docs/synthetic.md`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Number of jobs to generate (1 ..= 2³²−1).
    pub jobs: u64,
    /// The arrival process.
    pub arrival: ArrivalConfig,
    /// GPUs per job; one whole GPU per job when absent.
    #[serde(default)]
    pub gpus: GpuDist,
    /// Job duration at nominal speed.
    pub duration: DurationDist,
    /// Number of tenants, named `tenant-0` .. `tenant-{n-1}` (default 1).
    #[serde(default = "default_tenants")]
    pub tenants: u32,
    /// How jobs are spread over the tenants (default round-robin).
    #[serde(default)]
    pub tenant_assignment: TenantAssignment,
}

fn default_tenants() -> u32 {
    1
}

fn default_peak_hour() -> f64 {
    14.0
}

/// How jobs arrive. Exactly one of `rate_per_hour` and `offered_load` must be given.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "process", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArrivalConfig {
    /// Homogeneous Poisson arrivals.
    Poisson {
        /// Arrival rate in jobs per hour.
        rate_per_hour: Option<f64>,
        /// Target offered load ρ (fraction of cluster GPUs); the rate is derived from it.
        offered_load: Option<f64>,
    },
    /// Sinusoidal day/night Poisson arrivals (24-hour period, time 0 = midnight).
    Diurnal {
        /// Mean arrival rate over a day, in jobs per hour.
        rate_per_hour: Option<f64>,
        /// Target mean offered load ρ over a day; the mean rate is derived from it.
        offered_load: Option<f64>,
        /// Ratio of the peak rate to the trough rate (≥ 1; 1 is plain Poisson).
        peak_to_trough: f64,
        /// Hour of day (0 ≤ h < 24) at which the rate peaks (default 14.0).
        #[serde(default = "default_peak_hour")]
        peak_hour: f64,
    },
}

/// The GPUs each job asks for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum GpuDist {
    /// Every job asks for `value` whole GPUs.
    Constant {
        /// GPUs per job (≥ 1).
        value: u32,
    },
    /// `values[i]` whole GPUs with probability `weights[i] / Σ weights` (uniform when
    /// `weights` is absent).
    Choice {
        /// GPU counts (each ≥ 1).
        values: Vec<u32>,
        /// Non-negative relative weights, one per value.
        weights: Option<Vec<f64>>,
    },
    /// The GPU demand of a uniformly drawn job of the empirical source trace (copied as
    /// is, fractional shares included).
    Empirical,
}

impl Default for GpuDist {
    fn default() -> Self {
        GpuDist::Constant { value: 1 }
    }
}

/// How long each job runs at nominal speed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum DurationDist {
    /// Exponential with mean `mean_s` seconds.
    Exponential {
        /// Mean duration in seconds (> 0).
        mean_s: f64,
    },
    /// Log-normal: `ln(D / 1 s)` is normal with mean `mu` and standard deviation `sigma`.
    #[serde(rename = "lognormal")]
    LogNormal {
        /// Mean of `ln(duration in seconds)`.
        mu: f64,
        /// Standard deviation of `ln(duration in seconds)` (≥ 0).
        sigma: f64,
    },
    /// Every job runs `value_s` seconds.
    Constant {
        /// Duration in seconds (> 0).
        value_s: f64,
    },
    /// The duration of a uniformly drawn job of the empirical source trace.
    Empirical,
}

/// How synthetic jobs are assigned to tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantAssignment {
    /// Job `i` (in submit order) goes to tenant `i mod tenants`.
    #[default]
    RoundRobin,
    /// Each job goes to a tenant drawn uniformly at random (stream `synthetic.tenants`).
    Uniform,
}

/// Builds the `Invalid` error for key `synthetic.<key>`.
fn invalid(key: &str, message: impl Into<String>) -> WorkloadError {
    WorkloadError::Invalid {
        key: format!("synthetic.{key}"),
        message: message.into(),
    }
}

/// Checks that `x` is finite and > 0.
fn positive(key: &str, x: f64) -> Result<f64, WorkloadError> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(invalid(key, format!("must be a finite number > 0, got {x}")))
    }
}

/// A duration in seconds as generated: rounded to the millisecond, at least 1 ms; one
/// past [`SimTime::MAX_HORIZON`] is an error naming `synthetic.duration`.
fn duration_of(seconds: f64) -> Result<SimTime, WorkloadError> {
    SimTime::try_from_secs_f64(seconds)
        .map(|d| d.max(SimTime(1)))
        .map_err(|e| invalid("duration", format!("a generated duration: {e}")))
}

/// Source jobs for the empirical distributions, or an error naming `key`.
fn source<'a>(empirical: Option<&'a Workload>, key: &str) -> Result<&'a [JobSpec], WorkloadError> {
    match empirical {
        None => Err(invalid(
            key,
            "`empirical` needs a source trace (set the workload's empirical source)",
        )),
        Some(w) if w.jobs.is_empty() => Err(invalid(key, "the empirical source trace has no jobs")),
        Some(w) => Ok(&w.jobs),
    }
}

/// The weights of a `Choice` GPU distribution, validated (uniform when absent).
fn choice_weights(values: &[u32], weights: Option<&[f64]>) -> Result<Vec<f64>, WorkloadError> {
    if values.is_empty() {
        return Err(invalid("gpus.values", "must list at least one GPU count"));
    }
    if let Some(v) = values.iter().find(|&&v| v == 0) {
        return Err(invalid("gpus.values", format!("GPU counts must be ≥ 1, got {v}")));
    }
    let Some(w) = weights else {
        return Ok(vec![1.0; values.len()]);
    };
    if w.len() != values.len() {
        return Err(invalid(
            "gpus.weights",
            format!("has {} entries but gpus.values has {}", w.len(), values.len()),
        ));
    }
    if let Some(x) = w.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
        return Err(invalid(
            "gpus.weights",
            format!("weights must be finite and ≥ 0, got {x}"),
        ));
    }
    let total: f64 = w.iter().sum();
    if !(total.is_finite() && total > 0.0) {
        return Err(invalid(
            "gpus.weights",
            format!("must have a finite positive sum, got {total}"),
        ));
    }
    Ok(w.to_vec())
}

/// Uniform index into a non-empty slice of length `len`, drawn as a `u64` so the result
/// does not depend on the platform's pointer width.
fn uniform_index(rng: &mut ChaCha12Rng, len: usize) -> usize {
    rng.gen_range(0..len as u64) as usize
}

/// Validated lognormal distribution of durations in seconds, and its mean.
fn lognormal(mu: f64, sigma: f64) -> Result<(LogNormal<f64>, f64), WorkloadError> {
    if !mu.is_finite() {
        return Err(invalid("duration.mu", format!("must be finite, got {mu}")));
    }
    if !(sigma.is_finite() && sigma >= 0.0) {
        return Err(invalid(
            "duration.sigma",
            format!("must be finite and ≥ 0, got {sigma}"),
        ));
    }
    // Mean of a lognormal: E[D] = exp(μ + σ²/2) (Johnson, Kotz & Balakrishnan,
    // Continuous Univariate Distributions vol. 1, 2nd ed., ch. 14).
    let mean = (mu + sigma * sigma / 2.0).exp();
    if !(mean.is_finite() && mean > 0.0) {
        return Err(invalid(
            "duration",
            format!("lognormal mean exp(mu + sigma²/2) = {mean} s is out of range"),
        ));
    }
    let dist = LogNormal::new(mu, sigma).map_err(|e| invalid("duration.sigma", e.to_string()))?;
    Ok((dist, mean))
}

/// Validates the scalar keys common to every mode.
fn validate_scalars(cfg: &SyntheticConfig) -> Result<(), WorkloadError> {
    if cfg.jobs == 0 {
        return Err(invalid("jobs", "must be ≥ 1"));
    }
    if cfg.jobs > MAX_JOBS {
        return Err(invalid(
            "jobs",
            format!(
                "{} jobs exceeds the limit of {} (job ids are 32-bit)",
                cfg.jobs, MAX_JOBS
            ),
        ));
    }
    if cfg.tenants == 0 {
        return Err(invalid("tenants", "must be ≥ 1"));
    }
    Ok(())
}

/// Mean GPU-seconds per job, `E[G·D]`, for this configuration: the work one job brings,
/// in GPU-seconds at nominal speed. Used to derive the arrival rate from an offered load.
///
/// Exact, from the parameters:
/// - `E[G]`: `value` for `constant`; `Σ wᵢ vᵢ / Σ wᵢ` for `choice`; the source mean of
///   GPUs (fractional shares count as fractions) for `empirical`.
/// - `E[D]`: `mean_s` for `exponential`; `value_s` for `constant`; `exp(μ + σ²/2)` for
///   `lognormal`; the source mean duration for `empirical`.
/// - Independent draws: `E[G·D] = E[G] · E[D]`. Both empirical (joint draws): the source
///   mean of `Gᵢ · Dᵢ` over its jobs, which keeps their covariance.
///
/// Source durations are taken at least 1 ms, as generated. Parametric durations are
/// rounded to the millisecond when generated; that shifts the mean by less than 0.5 ms.
///
/// Errors name the offending key, as [`generate`] does.
pub fn mean_gpu_seconds(cfg: &SyntheticConfig, empirical: Option<&Workload>) -> Result<f64, WorkloadError> {
    let gpu_secs = |j: &JobSpec| j.demand.gpus_f64() * j.duration.max(SimTime(1)).as_secs_f64();
    if let (GpuDist::Empirical, DurationDist::Empirical) = (&cfg.gpus, &cfg.duration) {
        let jobs = source(empirical, "gpus")?;
        return Ok(jobs.iter().map(gpu_secs).sum::<f64>() / jobs.len() as f64);
    }
    let mean_gpus = match &cfg.gpus {
        GpuDist::Constant { value: 0 } => return Err(invalid("gpus.value", "must be ≥ 1")),
        GpuDist::Constant { value } => f64::from(*value),
        GpuDist::Choice { values, weights } => {
            let w = choice_weights(values, weights.as_deref())?;
            let total: f64 = w.iter().sum();
            values
                .iter()
                .zip(&w)
                .map(|(&v, &w)| f64::from(v) * w)
                .sum::<f64>()
                / total
        }
        GpuDist::Empirical => {
            let jobs = source(empirical, "gpus")?;
            jobs.iter().map(|j| j.demand.gpus_f64()).sum::<f64>() / jobs.len() as f64
        }
    };
    let mean_duration = match &cfg.duration {
        DurationDist::Exponential { mean_s } => positive("duration.mean_s", *mean_s)?,
        DurationDist::Constant { value_s } => positive("duration.value_s", *value_s)?,
        DurationDist::LogNormal { mu, sigma } => lognormal(*mu, *sigma)?.1,
        DurationDist::Empirical => {
            let jobs = source(empirical, "duration")?;
            jobs.iter()
                .map(|j| j.duration.max(SimTime(1)).as_secs_f64())
                .sum::<f64>()
                / jobs.len() as f64
        }
    };
    Ok(mean_gpus * mean_duration)
}

/// The mean arrival rate in jobs per second: `rate_per_hour / 3600`, or
/// `ρ · capacity_gpus / E[G·D]` when `offered_load` is given (see [`mean_gpu_seconds`]).
/// For the diurnal process this is the daily mean `λ̄`.
pub fn mean_rate_per_s(
    cfg: &SyntheticConfig,
    empirical: Option<&Workload>,
    capacity_gpus: u64,
) -> Result<f64, WorkloadError> {
    let (rate_per_hour, offered_load) = match &cfg.arrival {
        ArrivalConfig::Poisson {
            rate_per_hour,
            offered_load,
        }
        | ArrivalConfig::Diurnal {
            rate_per_hour,
            offered_load,
            ..
        } => (*rate_per_hour, *offered_load),
    };
    match (rate_per_hour, offered_load) {
        (Some(_), Some(_)) => Err(invalid(
            "arrival",
            "give either rate_per_hour or offered_load, not both",
        )),
        (None, None) => Err(invalid("arrival", "needs rate_per_hour or offered_load")),
        (Some(r), None) => Ok(positive("arrival.rate_per_hour", r)? / S_PER_HOUR),
        (None, Some(rho)) => {
            let rho = positive("arrival.offered_load", rho)?;
            if capacity_gpus == 0 {
                return Err(invalid(
                    "arrival.offered_load",
                    "needs a cluster with GPUs (capacity is 0)",
                ));
            }
            let work = mean_gpu_seconds(cfg, empirical)?;
            let rate = rho * capacity_gpus as f64 / work;
            if rate.is_finite() && rate > 0.0 {
                Ok(rate)
            } else {
                Err(invalid(
                    "arrival.offered_load",
                    format!("gives an unusable arrival rate {rate}/s (mean job work {work} GPU-s)"),
                ))
            }
        }
    }
}

/// The name of synthetic job `i`: `s{i}`, written into a stack buffer and stored inline
/// in the [`JobName`] (at most 21 bytes), so no job's name touches the heap.
fn job_name(i: usize) -> JobName {
    let mut digits = [0u8; 21];
    let mut start = digits.len();
    let mut n = i;
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    start -= 1;
    digits[start] = b's';
    let name = std::str::from_utf8(&digits[start..]).expect("ASCII digits");
    JobName::new(name)
}

/// Arrival-time generator state.
#[derive(Debug, Clone)]
enum Arrivals {
    /// Poisson with mean gap `mean_gap_s`.
    Poisson { mean_gap_s: f64 },
    /// Thinned Poisson: candidates every `Exp(λ_max)`, kept with `(1 + a cos(..)) / (1 + a)`.
    Diurnal {
        mean_gap_max_s: f64,
        amplitude: f64,
        peak_hour: f64,
    },
}

impl Arrivals {
    /// The next arrival after `t` seconds.
    fn next(&self, t: f64, rng: &mut ChaCha12Rng) -> f64 {
        match *self {
            Arrivals::Poisson { mean_gap_s } => {
                let e: f64 = rng.sample(Exp1);
                t + e * mean_gap_s
            }
            Arrivals::Diurnal {
                mean_gap_max_s,
                amplitude,
                peak_hour,
            } => {
                let mut t = t;
                loop {
                    let e: f64 = rng.sample(Exp1);
                    t += e * mean_gap_max_s;
                    let phase = std::f64::consts::TAU * (t / S_PER_HOUR - peak_hour) / HOURS_PER_DAY;
                    let accept = (1.0 + amplitude * phase.cos()) / (1.0 + amplitude);
                    let u: f64 = rng.gen();
                    if u < accept {
                        return t;
                    }
                }
            }
        }
    }
}

/// GPU-demand sampler for independent draws.
#[derive(Debug, Clone)]
enum GpuSampler<'a> {
    Constant(GpuDemand),
    Choice(&'a [u32], WeightedIndex<f64>),
    /// The source jobs' demands, in source order.
    Empirical(Arc<[GpuDemand]>),
}

/// Duration sampler (seconds) for independent draws.
#[derive(Debug, Clone)]
enum DurationSampler {
    Constant(SimTime),
    Exponential(f64),
    LogNormal(LogNormal<f64>),
    /// The source jobs' durations (at least 1 ms), in source order.
    Empirical(Arc<[SimTime]>),
}

/// The one field of each source job an empirical draw reads, copied out of the source
/// in its order: a draw then reads a small dense table rather than a whole job spec,
/// whose random reads missed the cache on every generated job.
fn column<T>(src: &[JobSpec], field: impl Fn(&JobSpec) -> T) -> Arc<[T]> {
    src.iter().map(field).collect()
}

/// Source pairs read ahead per refill of [`Pairs`].
const PAIRS_AHEAD: usize = 32;

/// Joint empirical draws: the source jobs' (demand, duration ≥ 1 ms) pairs, copied out
/// of the source in its order, and the `synthetic.pairs` stream that picks one per job.
///
/// Pairs are drawn [`PAIRS_AHEAD`] at a time, so that their reads of the table (which
/// outgrows the core's cache) overlap rather than each stalling one job; the stream's
/// numbers are the same, drawn in the same order, so the jobs are the same.
#[derive(Debug, Clone)]
struct Pairs {
    table: Arc<[(GpuDemand, SimTime)]>,
    rng: ChaCha12Rng,
    ahead: [(GpuDemand, SimTime); PAIRS_AHEAD],
    /// The next of `ahead` to hand out; [`PAIRS_AHEAD`] when all are handed out.
    next: usize,
}

impl Pairs {
    fn new(src: &[JobSpec], rng: ChaCha12Rng) -> Self {
        Pairs {
            table: column(src, |j| (j.demand, j.duration.max(SimTime(1)))),
            rng,
            ahead: [(GpuDemand::whole(1), SimTime(1)); PAIRS_AHEAD],
            next: PAIRS_AHEAD,
        }
    }

    /// The next job's pair.
    fn draw(&mut self) -> (GpuDemand, SimTime) {
        if self.next == PAIRS_AHEAD {
            // The indices first, then the reads: with nothing between them, the reads
            // are all in flight at once.
            let mut at = [0usize; PAIRS_AHEAD];
            for i in &mut at {
                *i = uniform_index(&mut self.rng, self.table.len());
            }
            for (slot, &i) in self.ahead.iter_mut().zip(&at) {
                *slot = self.table[i];
            }
            self.next = 0;
        }
        self.next += 1;
        self.ahead[self.next - 1]
    }
}

/// What varies between generated jobs; the rest of a generated job's spec is the same
/// for all ([`JobSpec::new`]'s defaults) but its name, `s{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drawn {
    /// When the job is submitted.
    pub submit: SimTime,
    /// Its work at nominal speed.
    pub duration: SimTime,
    /// GPUs it asks for.
    pub demand: GpuDemand,
    /// Its tenant.
    pub tenant: TenantId,
}

impl Drawn {
    /// The whole spec of generated job `id`.
    pub fn spec(self, id: u64) -> JobSpec {
        JobSpec {
            id: JobId(id as u32),
            ..JobSpec::new(
                job_name(id as usize),
                self.submit,
                self.duration,
                self.demand,
                self.tenant,
            )
        }
    }
}

/// The jobs of a synthetic workload one at a time, in submit (= id) order: what
/// [`generate`] collects, and what a run reads as jobs arrive when it need not hold the
/// whole workload (issue 17). A clone continues the same sequence from the same point,
/// so a run can read the jobs ahead (to learn facts of the whole workload) and again.
///
/// Each call to [`Iterator::next`] draws exactly what one job of [`generate`] draws, from
/// the same streams, so the `i`-th job is the same whichever way it is read.
#[derive(Debug, Clone)]
pub struct Generator<'a> {
    cfg: &'a SyntheticConfig,
    arrivals: Arrivals,
    /// Both empirical: the pairs drawn jointly.
    joint: Option<Pairs>,
    gpu_sampler: GpuSampler<'a>,
    duration_sampler: DurationSampler,
    arrival_rng: ChaCha12Rng,
    gpu_rng: ChaCha12Rng,
    duration_rng: ChaCha12Rng,
    tenant_rng: ChaCha12Rng,
    /// The last arrival, seconds.
    t: f64,
    /// Id of the next job.
    next: u64,
}

impl<'a> Generator<'a> {
    /// A generator of `cfg.jobs` jobs. Arguments and errors as for [`generate`], except
    /// that no count limit for workloads held whole applies (ids still fit in 32 bits:
    /// [`MAX_JOBS`]); errors found in a job (a duration or
    /// submission past the horizon) come with that job.
    pub fn new(
        cfg: &'a SyntheticConfig,
        streams: &RngStreams,
        rep: u64,
        empirical: Option<&'a Workload>,
        capacity_gpus: u64,
    ) -> Result<Self, WorkloadError> {
        validate_scalars(cfg)?;
        let rate = mean_rate_per_s(cfg, empirical, capacity_gpus)?;
        let arrivals = match &cfg.arrival {
            ArrivalConfig::Poisson { .. } => Arrivals::Poisson {
                mean_gap_s: 1.0 / rate,
            },
            ArrivalConfig::Diurnal {
                peak_to_trough,
                peak_hour,
                ..
            } => {
                let r = *peak_to_trough;
                if !(r.is_finite() && r >= 1.0) {
                    return Err(invalid(
                        "arrival.peak_to_trough",
                        format!("must be finite and ≥ 1, got {r}"),
                    ));
                }
                if !(peak_hour.is_finite() && (0.0..HOURS_PER_DAY).contains(peak_hour)) {
                    return Err(invalid(
                        "arrival.peak_hour",
                        format!("must be in [0, 24), got {peak_hour}"),
                    ));
                }
                let amplitude = (r - 1.0) / (r + 1.0);
                Arrivals::Diurnal {
                    mean_gap_max_s: 1.0 / (rate * (1.0 + amplitude)),
                    amplitude,
                    peak_hour: *peak_hour,
                }
            }
        };

        let joint = match (&cfg.gpus, &cfg.duration) {
            (GpuDist::Empirical, DurationDist::Empirical) => Some(Pairs::new(
                source(empirical, "gpus")?,
                streams.stream("synthetic.pairs", rep),
            )),
            _ => None,
        };
        let gpu_sampler = match &cfg.gpus {
            GpuDist::Constant { value: 0 } => return Err(invalid("gpus.value", "must be ≥ 1")),
            GpuDist::Constant { value } => GpuSampler::Constant(GpuDemand::whole(*value)),
            GpuDist::Choice { values, weights } => {
                let w = choice_weights(values, weights.as_deref())?;
                let index = WeightedIndex::new(w).map_err(|e| invalid("gpus.weights", e.to_string()))?;
                GpuSampler::Choice(values, index)
            }
            GpuDist::Empirical => GpuSampler::Empirical(column(source(empirical, "gpus")?, |j| j.demand)),
        };
        let duration_sampler = match &cfg.duration {
            DurationDist::Exponential { mean_s } => {
                DurationSampler::Exponential(positive("duration.mean_s", *mean_s)?)
            }
            DurationDist::Constant { value_s } => {
                DurationSampler::Constant(duration_of(positive("duration.value_s", *value_s)?)?)
            }
            DurationDist::LogNormal { mu, sigma } => DurationSampler::LogNormal(lognormal(*mu, *sigma)?.0),
            DurationDist::Empirical => {
                DurationSampler::Empirical(column(source(empirical, "duration")?, |j| {
                    j.duration.max(SimTime(1))
                }))
            }
        };

        Ok(Generator {
            cfg,
            arrivals,
            joint,
            gpu_sampler,
            duration_sampler,
            arrival_rng: streams.stream("synthetic.arrivals", rep),
            gpu_rng: streams.stream("synthetic.gpus", rep),
            duration_rng: streams.stream("synthetic.durations", rep),
            tenant_rng: streams.stream("synthetic.tenants", rep),
            t: 0.0,
            next: 0,
        })
    }

    /// Jobs the generator yields in all.
    pub fn jobs(&self) -> u64 {
        self.cfg.jobs
    }

    /// The workload around the jobs: tenant names and row count, no jobs.
    pub fn frame(&self) -> Workload {
        Workload {
            tenants: (0..self.cfg.tenants).map(|k| format!("tenant-{k}")).collect(),
            rows_read: self.cfg.jobs,
            ..Default::default()
        }
    }

    /// Job `self.next`, drawn.
    fn draw(&mut self) -> Result<Drawn, WorkloadError> {
        let i = self.next;
        self.next += 1;
        self.t = self.arrivals.next(self.t, &mut self.arrival_rng);
        let (demand, duration) = if let Some(pairs) = &mut self.joint {
            pairs.draw()
        } else {
            let demand = self.draw_demand();
            (demand, self.draw_duration()?)
        };
        let tenant = match self.cfg.tenant_assignment {
            TenantAssignment::RoundRobin => (i % u64::from(self.cfg.tenants)) as u32,
            TenantAssignment::Uniform => self.tenant_rng.gen_range(0..self.cfg.tenants),
        };
        Ok(Drawn {
            submit: self.submit_of(i)?,
            duration,
            demand,
            tenant: TenantId(tenant),
        })
    }

    /// The next job's varying part ([`Drawn`]), without building its spec: what a
    /// streamed run holds of a job in flight. [`Iterator::next`] gives the same job
    /// whole ([`Drawn::spec`]).
    pub fn next_drawn(&mut self) -> Option<Result<Drawn, WorkloadError>> {
        (self.next < self.cfg.jobs).then(|| self.draw())
    }

    /// The next GPU demand of independent draws.
    fn draw_demand(&mut self) -> GpuDemand {
        match &self.gpu_sampler {
            GpuSampler::Constant(d) => *d,
            GpuSampler::Choice(values, index) => GpuDemand::whole(values[index.sample(&mut self.gpu_rng)]),
            GpuSampler::Empirical(src) => src[uniform_index(&mut self.gpu_rng, src.len())],
        }
    }

    /// The next duration of independent draws.
    fn draw_duration(&mut self) -> Result<SimTime, WorkloadError> {
        Ok(match &self.duration_sampler {
            DurationSampler::Constant(d) => *d,
            DurationSampler::Exponential(mean) => {
                let e: f64 = self.duration_rng.sample(Exp1);
                duration_of(e * mean)?
            }
            DurationSampler::LogNormal(dist) => duration_of(dist.sample(&mut self.duration_rng))?,
            DurationSampler::Empirical(src) => src[uniform_index(&mut self.duration_rng, src.len())],
        })
    }

    /// Job `i`'s submission: the last arrival, or an error past the horizon.
    fn submit_of(&self, i: u64) -> Result<SimTime, WorkloadError> {
        let t = self.t;
        SimTime::try_from_secs_f64(t).map_err(|e| {
            invalid(
                "jobs",
                format!("job {i} would be submitted at {t} s, past the horizon ({e}); ask for fewer jobs or a higher rate"),
            )
        })
    }

    /// Reads the jobs not yet read for what a run's set-up needs of them: calls `each`
    /// with every job's submission and GPU demand, in id order. They are drawn from the
    /// same streams as [`Iterator::next`] draws them (each stream is its own sequence,
    /// so the values are the same), skipping what set-up does not need (names, tenants,
    /// and durations that cannot fail); the first error a job would raise is returned,
    /// as reading the jobs would return it. Every generated job takes any GPU model, asks
    /// for no CPU or memory and has no recorded start ([`JobSpec::new`]).
    pub fn survey(mut self, mut each: impl FnMut(SimTime, GpuDemand)) -> Result<(), WorkloadError> {
        let durations_can_fail = matches!(
            self.duration_sampler,
            DurationSampler::Exponential(_) | DurationSampler::LogNormal(_)
        );
        while self.next < self.cfg.jobs {
            let i = self.next;
            self.next += 1;
            self.t = self.arrivals.next(self.t, &mut self.arrival_rng);
            let demand = if let Some(pairs) = &mut self.joint {
                pairs.draw().0
            } else {
                let demand = self.draw_demand();
                if durations_can_fail {
                    self.draw_duration()?;
                }
                demand
            };
            each(self.submit_of(i)?, demand);
        }
        Ok(())
    }
}

impl Iterator for Generator<'_> {
    type Item = Result<JobSpec, WorkloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let id = self.next;
        self.next_drawn().map(|d| d.map(|d| d.spec(id)))
    }
}

/// Generates `cfg.jobs` jobs, sorted by submit time with dense ids.
///
/// `empirical` is the source trace for `empirical` distributions; `capacity_gpus` the
/// cluster's GPU count, used only when the rate is given as `offered_load`. `rep` selects
/// the replication's random streams. Jobs are named `s0`, `s1`, … in submit order, take
/// any GPU model, have priority 0 and kind training. `rows_read` is the job count.
///
/// Errors ([`WorkloadError::Invalid`], naming the `synthetic.*` key) on out-of-range
/// parameters, more jobs than a workload held whole may have
/// ([`MAX_HELD_JOBS`](crate::workload::MAX_HELD_JOBS)), an `empirical` distribution
/// without a (non-empty) source, or an `offered_load` with zero capacity.
pub fn generate(
    cfg: &SyntheticConfig,
    streams: &RngStreams,
    rep: u64,
    empirical: Option<&Workload>,
    capacity_gpus: u64,
) -> Result<Workload, WorkloadError> {
    let generator = Generator::new(cfg, streams, rep, empirical, capacity_gpus)?;
    if cfg.jobs > MAX_HELD_JOBS {
        return Err(invalid(
            "jobs",
            format!(
                "{} jobs exceeds the limit of {MAX_HELD_JOBS} jobs for a workload held whole; a run \
                 without power, reliability, network, services, economics or transforms generates \
                 its jobs as they arrive and allows up to {MAX_JOBS}",
                cfg.jobs
            ),
        ));
    }
    let n = cfg.jobs as usize;
    let mut workload = generator.frame();
    workload
        .jobs
        .try_reserve_exact(n)
        .map_err(|e| invalid("jobs", format!("cannot allocate {n} jobs: {e}")))?;
    for job in generator {
        workload.jobs.push(job?);
    }
    workload.finish();
    Ok(workload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> SyntheticConfig {
        toml::from_str(s).expect("config parses")
    }

    fn key_of(e: WorkloadError) -> String {
        match e {
            WorkloadError::Invalid { key, .. } => key,
            other => panic!("expected Invalid, got {other}"),
        }
    }

    /// A hand-built source trace: (GPU demand, duration in seconds) per job.
    fn source_trace(pairs: &[(GpuDemand, u64)]) -> Workload {
        let mut w = Workload {
            tenants: vec!["vc".into()],
            ..Default::default()
        };
        for (i, &(demand, secs)) in pairs.iter().enumerate() {
            let (submit, duration) = (SimTime::from_secs(i as u64), SimTime::from_secs(secs));
            w.jobs.push(JobSpec {
                id: JobId(i as u32),
                ..JobSpec::new(format!("j{i}"), submit, duration, demand, TenantId(0))
            });
        }
        w.rows_read = pairs.len() as u64;
        w
    }

    #[test]
    fn job_names_match_format() {
        for i in [0, 7, 10, 99, 1_000_000, usize::MAX] {
            assert_eq!(job_name(i), format!("s{i}"));
        }
    }

    #[test]
    fn every_documented_form_parses() {
        for s in [
            r#"jobs = 10
               arrival = { process = "poisson", rate_per_hour = 3600.0 }
               duration = { dist = "exponential", mean_s = 3600.0 }"#,
            r#"jobs = 10
               arrival = { process = "poisson", offered_load = 0.9 }
               gpus = { dist = "choice", values = [1, 2, 4, 8], weights = [4, 3, 2, 1] }
               duration = { dist = "lognormal", mu = 7.0, sigma = 1.5 }
               tenants = 3
               tenant_assignment = "uniform""#,
            r#"jobs = 10
               arrival = { process = "diurnal", rate_per_hour = 100.0, peak_to_trough = 3.0, peak_hour = 14.0 }
               gpus = { dist = "empirical" }
               duration = { dist = "empirical" }"#,
            r#"jobs = 10
               arrival = { process = "diurnal", offered_load = 0.5, peak_to_trough = 2.0 }
               gpus = { dist = "constant", value = 8 }
               duration = { dist = "constant", value_s = 60.0 }"#,
        ] {
            parse(s);
        }
        let c = parse(
            r#"jobs = 1
               arrival = { process = "diurnal", rate_per_hour = 1.0, peak_to_trough = 2.0 }
               duration = { dist = "constant", value_s = 1.0 }"#,
        );
        assert_eq!(c.gpus, GpuDist::Constant { value: 1 });
        assert_eq!(c.tenants, 1);
        assert_eq!(c.tenant_assignment, TenantAssignment::RoundRobin);
        assert!(matches!(c.arrival, ArrivalConfig::Diurnal { peak_hour, .. } if peak_hour == 14.0));
    }

    #[test]
    fn unknown_keys_are_rejected_at_every_level() {
        for s in [
            r#"jobs = 1
               arrival = { process = "poisson", rate_per_hour = 1.0 }
               duration = { dist = "constant", value_s = 1.0 }
               tenant = 2"#,
            r#"jobs = 1
               arrival = { process = "poisson", rate_per_hr = 1.0 }
               duration = { dist = "constant", value_s = 1.0 }"#,
            r#"jobs = 1
               arrival = { process = "poisson", rate_per_hour = 1.0 }
               duration = { dist = "exponential", mean = 1.0 }"#,
            r#"jobs = 1
               arrival = { process = "poisson", rate_per_hour = 1.0 }
               gpus = { dist = "constant", values = 1 }
               duration = { dist = "constant", value_s = 1.0 }"#,
            r#"jobs = 1
               arrival = { process = "bursty", rate_per_hour = 1.0 }
               duration = { dist = "constant", value_s = 1.0 }"#,
        ] {
            assert!(toml::from_str::<SyntheticConfig>(s).is_err(), "accepted: {s}");
        }
    }

    #[test]
    fn mean_gpu_seconds_uses_the_closed_forms() {
        let c = parse(
            r#"jobs = 1
               arrival = { process = "poisson", rate_per_hour = 1.0 }
               gpus = { dist = "choice", values = [1, 2, 4, 8], weights = [4, 3, 2, 1] }
               duration = { dist = "exponential", mean_s = 100.0 }"#,
        );
        // E[G] = (1·4 + 2·3 + 4·2 + 8·1) / 10 = 2.6; E[D] = mean_s.
        assert!((mean_gpu_seconds(&c, None).unwrap() - 260.0).abs() < 1e-9);
        let c = parse(
            r#"jobs = 1
               arrival = { process = "poisson", rate_per_hour = 1.0 }
               gpus = { dist = "constant", value = 4 }
               duration = { dist = "lognormal", mu = 2.0, sigma = 0.5 }"#,
        );
        // Lognormal mean exp(μ + σ²/2) = exp(2.125).
        assert!((mean_gpu_seconds(&c, None).unwrap() - 4.0 * 2.125f64.exp()).abs() < 1e-9);
    }

    #[test]
    fn empirical_mean_is_joint_or_product_of_marginals() {
        let src = source_trace(&[(GpuDemand::whole(1), 10), (GpuDemand::whole(3), 30)]);
        let joint = parse(
            r#"jobs = 1
               arrival = { process = "poisson", rate_per_hour = 1.0 }
               gpus = { dist = "empirical" }
               duration = { dist = "empirical" }"#,
        );
        // Joint: (1·10 + 3·30) / 2 = 50; independent: E[G]·E[D] = 2 · 20 = 40.
        assert!((mean_gpu_seconds(&joint, Some(&src)).unwrap() - 50.0).abs() < 1e-9);
        let marginal = parse(
            r#"jobs = 1
               arrival = { process = "poisson", rate_per_hour = 1.0 }
               gpus = { dist = "empirical" }
               duration = { dist = "constant", value_s = 20.0 }"#,
        );
        assert!((mean_gpu_seconds(&marginal, Some(&src)).unwrap() - 40.0).abs() < 1e-9);
    }

    #[test]
    fn offered_load_sets_the_rate() {
        let c = parse(
            r#"jobs = 1
               arrival = { process = "poisson", offered_load = 0.5 }
               gpus = { dist = "constant", value = 2 }
               duration = { dist = "constant", value_s = 100.0 }"#,
        );
        // λ = ρ C / E[G·D] = 0.5 · 400 / 200 = 1 job/s.
        assert!((mean_rate_per_s(&c, None, 400).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn arrival_stream_is_independent_of_the_duration_model() {
        let a = parse(
            r#"jobs = 1000
               arrival = { process = "poisson", rate_per_hour = 60.0 }
               duration = { dist = "exponential", mean_s = 10.0 }"#,
        );
        let mut b = a.clone();
        b.duration = DurationDist::LogNormal { mu: 1.0, sigma: 2.0 };
        b.gpus = GpuDist::Choice {
            values: vec![1, 8],
            weights: None,
        };
        let s = RngStreams::new(7);
        let wa = generate(&a, &s, 0, None, 0).unwrap();
        let wb = generate(&b, &s, 0, None, 0).unwrap();
        assert!(wa.jobs.iter().zip(&wb.jobs).all(|(x, y)| x.submit == y.submit));
        assert!(wa
            .jobs
            .iter()
            .zip(&wb.jobs)
            .any(|(x, y)| x.duration != y.duration));
    }

    #[test]
    fn durations_are_at_least_one_millisecond_and_jobs_well_formed() {
        let c = parse(
            r#"jobs = 100
               arrival = { process = "poisson", rate_per_hour = 3600.0 }
               duration = { dist = "constant", value_s = 0.0001 }
               tenants = 3"#,
        );
        let w = generate(&c, &RngStreams::new(1), 0, None, 0).unwrap();
        assert_eq!(w.jobs.len(), 100);
        assert_eq!(w.rows_read, 100);
        assert_eq!(w.tenants, ["tenant-0", "tenant-1", "tenant-2"]);
        for (i, j) in w.jobs.iter().enumerate() {
            assert_eq!(j.id, JobId(i as u32));
            assert_eq!(j.name, format!("s{i}"));
            assert_eq!(j.duration, SimTime(1));
            assert_eq!(j.tenant, TenantId(i as u32 % 3));
        }
        assert!(w.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
    }

    #[test]
    fn uniform_tenants_cover_all_tenants() {
        let c = parse(
            r#"jobs = 3000
               arrival = { process = "poisson", rate_per_hour = 3600.0 }
               duration = { dist = "constant", value_s = 1.0 }
               tenants = 3
               tenant_assignment = "uniform""#,
        );
        let w = generate(&c, &RngStreams::new(1), 0, None, 0).unwrap();
        let mut counts = [0u32; 3];
        for j in &w.jobs {
            counts[j.tenant.0 as usize] += 1;
        }
        // Binomial(3000, 1/3): mean 1000, sd ≈ 26; 850 is more than 5 sd away.
        assert!(counts.iter().all(|&c| c > 850), "{counts:?}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let base = r#"arrival = { process = "poisson", rate_per_hour = 10.0 }
                      duration = { dist = "exponential", mean_s = 10.0 }"#;
        let src = source_trace(&[(GpuDemand::whole(1), 10)]);
        let empty = Workload::default();
        let cases: Vec<(String, Option<&Workload>, u64, &str)> = vec![
            (format!("jobs = 0\n{base}"), None, 0, "synthetic.jobs"),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", rate_per_hour = 0.0 }
                   duration = { dist = "exponential", mean_s = 10.0 }"#
                    .into(),
                None,
                0,
                "synthetic.arrival.rate_per_hour",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", offered_load = -1.0 }
                   duration = { dist = "exponential", mean_s = 10.0 }"#
                    .into(),
                None,
                10,
                "synthetic.arrival.offered_load",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", offered_load = 0.5 }
                   duration = { dist = "exponential", mean_s = 10.0 }"#
                    .into(),
                None,
                0,
                "synthetic.arrival.offered_load",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", offered_load = 0.5, rate_per_hour = 1.0 }
                   duration = { dist = "exponential", mean_s = 10.0 }"#
                    .into(),
                None,
                10,
                "synthetic.arrival",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson" }
                   duration = { dist = "exponential", mean_s = 10.0 }"#
                    .into(),
                None,
                10,
                "synthetic.arrival",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", rate_per_hour = 1.0 }
                   duration = { dist = "exponential", mean_s = -3.0 }"#
                    .into(),
                None,
                0,
                "synthetic.duration.mean_s",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", rate_per_hour = 1.0 }
                   duration = { dist = "constant", value_s = 0.0 }"#
                    .into(),
                None,
                0,
                "synthetic.duration.value_s",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", rate_per_hour = 1.0 }
                   duration = { dist = "lognormal", mu = 1.0, sigma = -1.0 }"#
                    .into(),
                None,
                0,
                "synthetic.duration.sigma",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", rate_per_hour = 1.0 }
                   gpus = { dist = "choice", values = [1, 2], weights = [1.0] }
                   duration = { dist = "exponential", mean_s = 10.0 }"#
                    .into(),
                None,
                0,
                "synthetic.gpus.weights",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", rate_per_hour = 1.0 }
                   gpus = { dist = "choice", values = [1, 2], weights = [0.0, 0.0] }
                   duration = { dist = "exponential", mean_s = 10.0 }"#
                    .into(),
                None,
                0,
                "synthetic.gpus.weights",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", rate_per_hour = 1.0 }
                   gpus = { dist = "choice", values = [0, 2] }
                   duration = { dist = "exponential", mean_s = 10.0 }"#
                    .into(),
                None,
                0,
                "synthetic.gpus.values",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", rate_per_hour = 1.0 }
                   gpus = { dist = "constant", value = 0 }
                   duration = { dist = "exponential", mean_s = 10.0 }"#
                    .into(),
                None,
                0,
                "synthetic.gpus.value",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", rate_per_hour = 1.0 }
                   gpus = { dist = "empirical" }
                   duration = { dist = "exponential", mean_s = 10.0 }"#
                    .into(),
                None,
                0,
                "synthetic.gpus",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "poisson", rate_per_hour = 1.0 }
                   duration = { dist = "empirical" }"#
                    .into(),
                Some(&empty),
                0,
                "synthetic.duration",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "diurnal", rate_per_hour = 1.0, peak_to_trough = 0.5 }
                   duration = { dist = "empirical" }"#
                    .into(),
                Some(&src),
                0,
                "synthetic.arrival.peak_to_trough",
            ),
            (
                r#"jobs = 1
                   arrival = { process = "diurnal", rate_per_hour = 1.0, peak_to_trough = 2.0, peak_hour = 24.0 }
                   duration = { dist = "empirical" }"#
                    .into(),
                Some(&src),
                0,
                "synthetic.arrival.peak_hour",
            ),
            (format!("jobs = 1\ntenants = 0\n{base}"), None, 0, "synthetic.tenants"),
        ];
        for (text, empirical, capacity, key) in cases {
            let c = parse(&text);
            let err = generate(&c, &RngStreams::new(0), 0, empirical, capacity).unwrap_err();
            assert_eq!(key_of(err), key, "config:\n{text}");
        }
    }
}
