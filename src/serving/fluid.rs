//! Fluid mode: a service's requests as a per-interval arrival rate against capacity,
//! for runs whose request count (a day at 1,000 requests/s is 86.4 million) would make
//! the request-by-request simulator ([`super::replicas`]) too slow.
//!
//! Time is cut into the service's autoscaling intervals. In each, the requests arriving
//! are a count and their size moments ([`Load`]); capacity comes from the performance
//! model in closed form. With continuous batching a replica's iteration reads the
//! weights once (A seconds) and spends C on each admitted prompt (prefill compute,
//! attention, overhead) and D on each request's decode steps over its life, so at
//! λ_r requests/s per replica the iteration takes
//!
//! ```text
//! T = A / (1 − λ_r (C + D))        (λ_r T prompts per iteration, each resident o iterations)
//! ```
//!
//! and the replica saturates when λ_r T reaches k prompts per iteration, the least of
//! max_batch / E[o] (batch slots), max(max_batch_tokens / E[p], 1) (prefill tokens) and
//! KV capacity / E[o (p + o)] (KV cache reserved up front): μ_r = k / (A + k (C + D)).
//! Without a model (recorded execution times) a replica serves one request at a time:
//! μ_r = 1 / E[exec].
//!
//! Waiting has two parts. The deterministic part is Newell's cumulative-curve fluid
//! queue (G. F. Newell, *Applications of Queueing Theory*, 1982, ch. 2): arrivals A(t)
//! and entries into service D(t), with D rising at the capacity while a backlog exists
//! and following A otherwise; a request's wait is the horizontal distance between the
//! curves, so a burst above capacity builds a backlog that later intervals drain. The
//! stochastic part, while the interval is below capacity, is Erlang C's mean wait
//! (Kleinrock, *Queueing Systems* vol. 1, 1975, §3.5) on c = replicas × concurrent
//! requests per replica at saturation. Then, for the requests arriving in an interval,
//!
//! ```text
//! TTFT = W + u·T/2 + (T + C)        (wait, residual of the running iteration, its own)
//! TBT  = T                          e2e = TTFT + (E[o] − 1)·T
//! ```
//!
//! with u the replica's busy share, 1 − exp(−λ_r T E[o]) (the batch as an M/G/∞
//! population). Latency percentiles are over interval means weighted by requests: the
//! spread within an interval is not modelled, so fluid percentiles understate the
//! request-level tail. Peak power is the highest interval mean. Replicas asked for by autoscaling count from the moment their
//! load time ends; removed ones go at once. Cost grows with intervals, not requests.
//!
//! Beside a cluster with power on, [`FluidStepper`] runs one interval per step at the
//! speed and busy-power share the cluster's caps leave it (capacity and iteration times
//! scale with the speed) and reports the interval's demand to the power tree.

use std::borrow::Cow;

use super::autoscale::Observed;
use super::error::ServingError;
use super::generate::{Arrivals, Burst, Sizes};
use super::perf::{Batch, ReplicaPerf};
use super::replicas::ServiceSettings;
use super::report::{Drops, ServiceReport};
use super::request::Request;
use crate::metrics::Distribution;

/// Requests arriving in one interval: a count and the sums of their size moments.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Load {
    /// Requests (expected count; fractional for generated rates).
    pub requests: f64,
    /// Σ prompt tokens p.
    pub prompt: f64,
    /// Σ output tokens o.
    pub output: f64,
    /// Σ p², for prefill attention.
    pub prompt_sq: f64,
    /// Σ (o − 1)(p + o/2): context tokens read over each request's decode steps.
    pub decode_ctx: f64,
    /// Σ o (p + o): KV-cache tokens reserved × iterations held.
    pub kv_held: f64,
    /// Σ recorded execution time, seconds.
    pub exec_s: f64,
}

impl Load {
    /// `n` requests of `p` prompt and `o` output tokens, with execution time `exec_s`.
    pub fn of(n: f64, p: f64, o: f64, exec_s: f64) -> Self {
        Load {
            requests: n,
            prompt: n * p,
            output: n * o,
            prompt_sq: n * p * p,
            decode_ctx: n * (o - 1.0).max(0.0) * (p + o / 2.0),
            kv_held: n * o * (p + o),
            exec_s: n * exec_s,
        }
    }

    fn add(&mut self, o: &Load) {
        self.requests += o.requests;
        self.prompt += o.prompt;
        self.output += o.output;
        self.prompt_sq += o.prompt_sq;
        self.decode_ctx += o.decode_ctx;
        self.kv_held += o.kv_held;
        self.exec_s += o.exec_s;
    }

    /// Per-request means (the sums divided by the count); `None` without requests.
    fn mean(&self) -> Option<Load> {
        if self.requests <= 0.0 {
            return None;
        }
        let n = self.requests;
        Some(Load {
            requests: 1.0,
            prompt: self.prompt / n,
            output: self.output / n,
            prompt_sq: self.prompt_sq / n,
            decode_ctx: self.decode_ctx / n,
            kv_held: self.kv_held / n,
            exec_s: self.exec_s / n,
        })
    }
}

/// A service's demand: one [`Load`] per interval, and the requests dropped on arrival.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Demand {
    /// Interval length, seconds.
    pub interval_s: f64,
    /// Loads of intervals 0, 1, ….
    pub loads: Vec<Load>,
    /// Requests dropped on arrival, by reason (a request no replica's KV cache holds).
    pub dropped: Drops,
}

fn too_big(p: f64, o: f64, perf: Option<&ReplicaPerf>) -> bool {
    perf.is_some_and(|m| p + o > m.kv_capacity_tokens as f64)
}

/// Bins a request trace (sorted by arrival) into intervals of `interval_s`.
pub fn demand_of_trace(trace: &[Request], perf: Option<&ReplicaPerf>, interval_s: f64) -> Demand {
    let mut d = Demand {
        interval_s,
        ..Demand::default()
    };
    for r in trace {
        let (p, o) = (f64::from(r.prompt_tokens), f64::from(r.output_tokens));
        if too_big(p, o, perf) {
            d.dropped.exceeds_kv_cache += 1;
            continue;
        }
        let k = (r.arrival_s.max(0.0) / interval_s) as usize;
        if d.loads.len() <= k {
            d.loads.resize(k + 1, Load::default());
        }
        d.loads[k].add(&Load::of(1.0, p, o, r.exec_s.unwrap_or(0.0)));
    }
    d
}

/// ∫ λ(t) dt over `[a, b)` of the base process, in closed form.
fn integral(arrivals: &Arrivals, a: f64, b: f64) -> f64 {
    match *arrivals {
        Arrivals::Poisson { rate_per_s } => rate_per_s * (b - a),
        Arrivals::Diurnal {
            mean_rate_per_s,
            amplitude,
            peak_hour,
        } => {
            let w = std::f64::consts::TAU / 86_400.0;
            let phase = |t: f64| w * (t - peak_hour * 3600.0);
            mean_rate_per_s * ((b - a) + amplitude * (phase(b).sin() - phase(a).sin()) / w)
        }
    }
}

/// The expected arrivals of a generated service per interval: the rate × bursts
/// integrated in closed form, no request drawn (a fluid run is deterministic).
pub fn demand_of_rate(
    arrivals: &Arrivals,
    bursts: &[Burst],
    sizes: &Sizes,
    duration_s: f64,
    perf: Option<&ReplicaPerf>,
    interval_s: f64,
) -> Demand {
    let (p, o, exec) = match *sizes {
        Sizes::Fixed {
            prompt_tokens,
            output_tokens,
        } => (f64::from(prompt_tokens), f64::from(output_tokens), 0.0),
        Sizes::ExponentialExec { mean_s } => (0.0, 0.0, mean_s),
    };
    let mut cuts: Vec<f64> = bursts
        .iter()
        .flat_map(|b| [b.start_s, b.start_s + b.duration_s])
        .filter(|&t| t > 0.0 && t < duration_s)
        .collect();
    let n = (duration_s / interval_s).ceil() as usize;
    cuts.extend((1..n).map(|k| k as f64 * interval_s));
    cuts.push(duration_s);
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let mut d = Demand {
        interval_s,
        loads: vec![Load::default(); n],
        dropped: Drops::default(),
    };
    let mut from = 0.0;
    let mut dropped = 0.0;
    for &to in &cuts {
        let mid = (from + to) / 2.0;
        let factor: f64 = bursts
            .iter()
            .filter(|b| mid >= b.start_s && mid < b.start_s + b.duration_s)
            .map(|b| b.factor)
            .product();
        let count = integral(arrivals, from, to) * factor;
        if too_big(p, o, perf) {
            dropped += count;
        } else {
            let k = ((mid / interval_s) as usize).min(n - 1);
            d.loads[k].add(&Load::of(count, p, o, exec));
        }
        from = to;
    }
    d.dropped.exceeds_kv_cache = dropped.round() as u64;
    d
}

/// Capacity of one replica for a request mix (seconds and requests per second).
#[derive(Debug, Clone, Copy)]
struct Capacity {
    /// Weight read per iteration, A.
    a: f64,
    /// Per prompt in its prefill iteration, C.
    c: f64,
    /// Per request over its decode steps, D.
    d: f64,
    /// Requests per second at saturation, μ_r.
    mu: f64,
    /// Concurrent requests at saturation.
    slots: f64,
    /// Prefill compute seconds per request (drives power by load).
    compute: f64,
    /// Mean output tokens.
    o: f64,
    /// Mean execution time (no model).
    exec: f64,
}

impl Capacity {
    fn new(mix: &Load, perf: Option<&ReplicaPerf>, s: &ServiceSettings, speed: f64) -> Self {
        let Some(m) = perf else {
            let exec = mix.exec_s / speed;
            return Capacity {
                a: 0.0,
                c: 0.0,
                d: 0.0,
                mu: if exec > 0.0 { 1.0 / exec } else { f64::INFINITY },
                slots: 1.0,
                compute: exec,
                o: 1.0,
                exec,
            };
        };
        let l = &m.llm;
        let bw = m.bytes_per_s * m.eff.bandwidth * speed;
        let fl = m.flops * m.eff.compute * speed;
        let seq = m.eff.per_seq_ms / 1e3 / speed;
        let compute = 2.0 * l.params * mix.prompt / fl;
        let attn = m.eff.attn_passes * f64::from(l.layers) * f64::from(l.heads) * 2.0 * mix.prompt_sq;
        let a = l.weight_bytes() / bw;
        // With a measured prefill profile, one prompt's prefill is the profile's
        // (perf::ReplicaPerf::prefill_part_ms), its compute share kept for power.
        let (compute, c) = if m.prefill_profile.is_some() && mix.prompt > 0.0 {
            let one = Batch {
                prefill_seqs: 1,
                prefill_tokens: mix.prompt,
                prefill_sq_tokens: mix.prompt_sq,
                ..Batch::default()
            };
            let part = m.prefill_part_ms(&one) / 1e3 / speed;
            (part * compute / (compute + attn / bw), part + seq)
        } else {
            (compute, compute + attn / bw + seq)
        };
        let o = mix.output.max(1.0);
        let d = l.kv_bytes_per_token() * mix.decode_ctx / bw + seq * (o - 1.0);
        let by_slots = f64::from(s.max_batch) / o;
        let by_tokens = (f64::from(s.max_batch_tokens) / mix.prompt.max(1.0)).max(1.0);
        let by_kv = m.kv_capacity_tokens as f64 / mix.kv_held.max(1.0);
        let k = by_slots.min(by_tokens).min(by_kv);
        Capacity {
            a,
            c,
            d,
            mu: k / (a + k * (c + d)),
            slots: (k * o).max(1.0),
            compute,
            o,
            exec: 0.0,
        }
    }

    /// Iteration time at `lambda` requests/s per replica (at most μ_r).
    fn iteration(&self, lambda: f64) -> f64 {
        self.a / (1.0 - lambda.min(self.mu) * (self.c + self.d))
    }

    /// Busy share of a replica at `lambda`.
    fn busy(&self, lambda: f64) -> f64 {
        if self.exec > 0.0 || self.a == 0.0 {
            return (lambda * self.exec).min(1.0);
        }
        1.0 - (-lambda * self.iteration(lambda) * self.o).exp()
    }
}

/// Erlang C mean wait of M/M/c with `c` servers, offered load `a` = λ/μ_slot, slot
/// rate `mu_slot` (Kleinrock 1975, §3.5), by the stable Erlang B recursion.
fn erlang_c_wait(c: f64, a: f64, mu_slot: f64) -> f64 {
    let c = c.floor().max(1.0);
    if a <= 0.0 {
        return 0.0;
    }
    if a >= c {
        return f64::INFINITY;
    }
    let mut b = 1.0;
    for k in 1..=(c as u64) {
        b = a * b / (k as f64 + a * b);
    }
    let p_wait = c * b / (c - a * (1.0 - b));
    p_wait / (c * mu_slot - a * mu_slot)
}

/// One interval's outcome for the requests that arrived in it.
#[derive(Debug, Clone, Copy, Default)]
struct Step {
    arrived: f64,
    mix: Load,
    erlang_wait: f64,
    iteration: f64,
    prefill: f64,
    busy: f64,
    /// Speed of the interval (the settings' times the cluster cap's factor).
    speed: f64,
}

/// Runs `demand` through the service until every request is served (or a week past
/// the last arrival without capacity to drain the backlog).
pub fn simulate_fluid(
    demand: &Demand,
    perf: Option<&ReplicaPerf>,
    s: &ServiceSettings,
) -> Result<ServiceReport, ServingError> {
    check(demand, perf, s)?;
    let mut f = Fluid::new(Cow::Borrowed(demand), perf.map(Cow::Borrowed), Cow::Borrowed(s));
    while f.work_left() {
        f.interval();
    }
    Ok(f.report())
}

fn check(demand: &Demand, perf: Option<&ReplicaPerf>, s: &ServiceSettings) -> Result<(), ServingError> {
    let arrived: f64 = demand.loads.iter().map(|l| l.requests).sum();
    if arrived > 0.0 && s.scaling.max() == 0 {
        return Err(ServingError::config(
            "scaling",
            format!(
                "{:.0} requests but the service can never have a replica (max 0)",
                arrived
            ),
        ));
    }
    if s.power_cap_w.is_some() {
        return Err(ServingError::config(
            "power_cap_kw",
            "a service power cap is simulated request by request only; use mode = \"requests\"",
        ));
    }
    if perf.is_none() && demand.loads.iter().any(|l| l.requests > 0.0 && l.exec_s <= 0.0) {
        return Err(ServingError::config(
            "model",
            "requests have no recorded execution time and the service names no model to time them",
        ));
    }
    Ok(())
}

/// A fluid service run one interval at a time beside a cluster run, so that the
/// cluster's power caps can slow it ([`crate::serving::engine`]): each
/// [`FluidStepper::step`] runs the next interval at the speed and busy power the caps
/// leave it and returns the draw it asks for. Run with no throttle to the end it gives
/// exactly the report of [`simulate_fluid`].
pub struct FluidStepper {
    fluid: Fluid<'static>,
}

impl std::fmt::Debug for FluidStepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluidStepper")
            .field("interval", &self.fluid.k)
            .field("intervals", &self.fluid.demand.loads.len())
            .finish()
    }
}

impl FluidStepper {
    /// A service at time 0 with its initial replicas; checks as [`simulate_fluid`] does.
    pub fn new(demand: Demand, perf: Option<ReplicaPerf>, s: ServiceSettings) -> Result<Self, ServingError> {
        check(&demand, perf.as_ref(), &s)?;
        Ok(FluidStepper {
            fluid: Fluid::new(Cow::Owned(demand), perf.map(Cow::Owned), Cow::Owned(s)),
        })
    }

    /// Length of an interval (a step), s.
    pub fn interval_s(&self) -> f64 {
        self.fluid.demand.interval_s
    }

    /// Start of the next interval, s.
    pub fn now_s(&self) -> f64 {
        self.fluid.k as f64 * self.fluid.demand.interval_s
    }

    /// End of the last interval with arrivals, s.
    pub fn last_arrival_s(&self) -> f64 {
        self.fluid.demand.loads.len() as f64 * self.fluid.demand.interval_s
    }

    /// Whether an interval is left to run (arrivals to come or a backlog to drain).
    pub fn work_left(&self) -> bool {
        self.fluid.work_left()
    }

    /// Replicas held (serving or loading) in the interval run last (after the last
    /// interval: those autoscaling asked for at its end).
    pub fn held_replicas(&self) -> u32 {
        self.fluid.replicas.len() as u32
    }

    /// Runs the next interval at `speed` (0 < speed ≤ 1) of the settings' speed, its
    /// busy power (above idle) scaled by `busy_scale`; returns the mean draw of its GPUs
    /// over the interval before that scale (what it asks of the power tree), W. `None`
    /// when no interval is left: the replicas autoscaling last asked for are then held
    /// ([`FluidStepper::held_replicas`]) and idle.
    pub fn step(&mut self, speed: f64, busy_scale: f64) -> Option<f64> {
        if !self.fluid.work_left() {
            self.fluid.apply_pending();
            return None;
        }
        self.fluid.speed = self.fluid.s.speed * speed.clamp(f64::MIN_POSITIVE, 1.0);
        self.fluid.busy_scale = busy_scale.clamp(0.0, 1.0);
        Some(self.fluid.interval())
    }

    /// Reports (nothing is left to run, or the backlog is given up).
    pub fn finish(self) -> ServiceReport {
        self.fluid.report()
    }
}

struct Fluid<'a> {
    demand: Cow<'a, Demand>,
    perf: Option<Cow<'a, ReplicaPerf>>,
    s: Cow<'a, ServiceSettings>,
    /// Speed factor of the next interval: the settings' speed times the cluster power
    /// cap's factor ([`FluidStepper::step`]).
    speed: f64,
    /// Share of its busy power (above idle) the cluster power cap leaves the next interval.
    busy_scale: f64,
    /// Next interval to run.
    k: usize,
    /// The last interval run after the demand's while a backlog is left.
    give_up: usize,
    /// Replicas autoscaling asked for at the end of the last interval, from when.
    pending: Option<(f64, u32)>,
    /// Iterations run, and those slowed by the cluster's power cap.
    iterations: f64,
    throttled: f64,
    /// Ready times of replicas held (serving or loading), seconds.
    replicas: Vec<f64>,
    backlog: f64,
    /// Cumulative entries into service: (time, count) at each change of slope.
    entries: Vec<(f64, f64)>,
    steps: Vec<Step>,
    last_mix: Load,
    gpu_seconds: f64,
    energy_j: f64,
    peak_w: f64,
    replicas_over_time: Vec<(f64, u32)>,
}

impl<'a> Fluid<'a> {
    fn new(demand: Cow<'a, Demand>, perf: Option<Cow<'a, ReplicaPerf>>, s: Cow<'a, ServiceSettings>) -> Self {
        let give_up = demand.loads.len() + (7.0 * 86_400.0 / demand.interval_s).ceil() as usize;
        let mut f = Fluid {
            speed: s.speed,
            busy_scale: 1.0,
            k: 0,
            give_up,
            pending: None,
            iterations: 0.0,
            throttled: 0.0,
            replicas: vec![0.0; s.scaling.initial() as usize],
            backlog: 0.0,
            entries: vec![(0.0, 0.0)],
            steps: Vec::with_capacity(demand.loads.len()),
            last_mix: demand
                .loads
                .iter()
                .find_map(Load::mean)
                .unwrap_or_else(|| Load::of(1.0, 1.0, 1.0, 1.0)),
            gpu_seconds: 0.0,
            energy_j: 0.0,
            peak_w: 0.0,
            replicas_over_time: Vec::new(),
            demand,
            perf,
            s,
        };
        f.note_replicas(0.0);
        f
    }

    fn note_replicas(&mut self, t: f64) {
        let n = self.replicas.len() as u32;
        match self.replicas_over_time.last_mut() {
            Some(last) if last.0 == t => last.1 = n,
            Some(last) if last.1 == n => {}
            _ => self.replicas_over_time.push((t, n)),
        }
    }

    /// Whether an interval is left: arrivals to come, or a backlog to drain (for at
    /// most a week past the last arrival).
    fn work_left(&self) -> bool {
        self.k < self.demand.loads.len() || (self.backlog > 1e-9 && self.k < self.give_up)
    }

    /// Applies autoscaling's last decision at the end of the interval it watched.
    fn apply_pending(&mut self) {
        if let Some((t, want)) = self.pending.take() {
            self.scale(t, want);
            self.note_replicas(t);
        }
    }

    /// Runs the next interval with the replicas autoscaling left it and takes the next
    /// decision (applied when the following interval starts); returns the interval's
    /// mean GPU draw before the cluster cap's busy scale, W.
    fn interval(&mut self) -> f64 {
        self.apply_pending();
        let dt = self.demand.interval_s;
        let load = self.demand.loads.get(self.k).copied().unwrap_or_default();
        let t0 = self.k as f64 * dt;
        let (o, demand_w) = self.run_interval(t0, dt, &load);
        let want = self.s.scaling.desired(&o);
        self.pending = Some((t0 + dt, want));
        self.k += 1;
        demand_w
    }

    /// Runs `[t0, t0 + dt)`; returns what autoscaling observes at its end and the
    /// interval's mean GPU draw before the busy scale, W.
    fn run_interval(&mut self, t0: f64, dt: f64, load: &Load) -> (Observed, f64) {
        let t1 = t0 + dt;
        let serving: f64 = self
            .replicas
            .iter()
            .map(|&ready| ((t1 - ready.max(t0)) / dt).clamp(0.0, 1.0))
            .sum();
        let held = self.replicas.len() as f64;
        if let Some(m) = load.mean() {
            self.last_mix = m;
        }
        let cap = Capacity::new(&self.last_mix, self.perf.as_deref(), &self.s, self.speed);
        let mu = cap.mu * serving;
        let lambda = load.requests / dt;
        // Newell's fluid queue over the interval: saturated until the backlog clears.
        let q0 = self.backlog;
        let saturated_s = if lambda >= mu {
            dt
        } else {
            (q0 / (mu - lambda)).min(dt)
        };
        let entered_sat = mu * saturated_s;
        let entered = entered_sat + lambda * (dt - saturated_s);
        self.backlog = (q0 + load.requests - entered).max(0.0);
        let d0 = self.entries.last().map_or(0.0, |e| e.1);
        if saturated_s > 0.0 && saturated_s < dt {
            self.entries.push((t0 + saturated_s, d0 + entered_sat));
        }
        self.entries.push((t1, d0 + entered));
        // Per replica: the rate it serves, its iteration, busy share and power.
        let rate = if serving > 0.0 {
            entered / dt / serving
        } else {
            0.0
        };
        let iteration = cap.iteration(rate);
        let busy = if serving > 0.0 { cap.busy(rate) } else { 0.0 };
        let erlang_wait = if saturated_s < dt && serving > 0.0 {
            let c = serving * cap.slots;
            let mu_slot = mu / c;
            let w = erlang_c_wait(c, lambda / mu_slot, mu_slot);
            if w.is_finite() {
                w
            } else {
                0.0
            }
        } else {
            0.0
        };
        let g = f64::from(self.s.gpus_per_replica);
        self.gpu_seconds += held * g * dt;
        let prefill_share = (rate * cap.compute).min(busy);
        let share = prefill_share + (busy - prefill_share) * self.s.decode_power_share;
        let busy_w = serving * g * (self.s.gpu_tdp_w - self.s.gpu_idle_w) * share;
        let watts = held * g * self.s.gpu_idle_w + busy_w * self.busy_scale;
        let demand_w = held * g * self.s.gpu_idle_w + busy_w;
        self.energy_j += watts * dt;
        // Iterations of the interval (one per request without a model).
        let step_s = if self.perf.is_some() { iteration } else { cap.exec };
        if busy > 0.0 && step_s > 0.0 {
            let n = busy * serving * dt / step_s;
            self.iterations += n;
            if self.speed < self.s.speed {
                self.throttled += n;
            }
        }
        self.peak_w = self.peak_w.max(watts);
        self.steps.push(Step {
            arrived: load.requests,
            mix: self.last_mix,
            erlang_wait,
            iteration,
            prefill: cap.c,
            busy,
            speed: self.speed,
        });
        let ttft_now = self.backlog / mu.max(f64::MIN_POSITIVE) + erlang_wait + iteration + cap.c;
        let observed = Observed {
            now_s: t1,
            replicas: self.replicas.iter().filter(|&&r| r <= t1).count() as u32,
            utilization: busy,
            outstanding: (self.backlog + rate * serving * iteration * cap.o).round() as u64,
            ttft_p90_s: if load.requests > 0.0 { ttft_now } else { 0.0 },
        };
        (observed, demand_w)
    }

    /// Holds `want` replicas from `t`: new ones ready after the load time; the newest
    /// (loading first) go when there are too many.
    fn scale(&mut self, t: f64, want: u32) {
        let want = want as usize;
        if want > self.replicas.len() {
            let ready = t + self.s.load_time_s;
            self.replicas.resize(want, ready);
        } else {
            self.replicas.sort_by(f64::total_cmp);
            self.replicas.truncate(want);
        }
    }

    /// Mean entry time into service of the requests numbered `x0..x1` (D⁻¹ averaged).
    fn mean_entry(&self, from: &mut usize, x0: f64, x1: f64) -> f64 {
        let e = &self.entries;
        let mut sum = 0.0;
        let mut i = *from;
        while i + 1 < e.len() {
            let ((ta, da), (tb, db)) = (e[i], e[i + 1]);
            if db <= x0 {
                i += 1;
                continue;
            }
            let (u, v) = (x0.max(da), x1.min(db));
            if v > u {
                let mid = (u + v) / 2.0;
                sum += (v - u) * (ta + (mid - da) / (db - da) * (tb - ta));
            }
            if db >= x1 {
                break;
            }
            i += 1;
        }
        *from = i;
        sum / (x1 - x0)
    }

    fn report(mut self) -> ServiceReport {
        self.apply_pending();
        let dt = self.demand.interval_s;
        let end_s = self.k as f64 * dt;
        let mut from = 0;
        let mut cum = 0.0;
        let mut ttft = Vec::with_capacity(self.steps.len());
        let mut e2e = Vec::with_capacity(self.steps.len());
        let mut tbt = Vec::with_capacity(self.steps.len());
        let (mut attained, mut area, mut tokens) = (0.0, 0.0, 0.0);
        let served_total = self.entries.last().map_or(0.0, |e| e.1);
        for (k, st) in self.steps.iter().enumerate() {
            if st.arrived <= 0.0 {
                continue;
            }
            let (x0, x1) = (cum, (cum + st.arrived).min(served_total));
            cum += st.arrived;
            if x1 <= x0 {
                continue;
            }
            let arrival = k as f64 * dt + dt / 2.0;
            let fluid_wait = (self.mean_entry(&mut from, x0, x1) - arrival).max(0.0);
            // Timed at the interval they enter service in.
            let at = ((arrival + fluid_wait) / dt) as usize;
            let sv = self.steps.get(at).copied().unwrap_or(*st);
            let (first, step_s) = if self.perf.is_some() {
                (
                    st.erlang_wait + sv.busy * sv.iteration / 2.0 + sv.iteration + st.prefill,
                    sv.iteration,
                )
            } else {
                (st.erlang_wait + st.mix.exec_s / sv.speed, 0.0)
            };
            let t = fluid_wait + first;
            let decode = if self.perf.is_some() {
                (st.mix.output - 1.0).max(0.0) * step_s
            } else {
                0.0
            };
            let n = x1 - x0;
            ttft.push((t, n));
            e2e.push((t + decode, n));
            if decode > 0.0 {
                tbt.push((step_s, n * (st.mix.output - 1.0)));
            }
            if t <= self.s.slo.ttft_s && step_s <= self.s.slo.tbt_s {
                attained += n;
            }
            area += n * (t + decode);
            tokens += n * (st.mix.prompt + st.mix.output);
        }
        let arrived = cum.round() as u64;
        let in_system = self.backlog.round() as u64;
        let served = arrived.saturating_sub(in_system);
        let dropped = self.demand.dropped;
        let ttft_d = weighted(&mut ttft);
        let e2e_d = weighted(&mut e2e);
        let tbt_d = weighted(&mut tbt);
        let ttft_p90 = weighted_quantile(&ttft, 0.90);
        let tbt_p99 = tbt_d.p99;
        let energy_kwh = self.energy_j / 3.6e6;
        let gpu_hours = self.gpu_seconds / 3600.0;
        let per_k = |x: f64| {
            if served > 0 {
                x * 1000.0 / served as f64
            } else {
                0.0
            }
        };
        let total = arrived + dropped.total();
        ServiceReport {
            requests: total,
            arrived: total,
            served,
            dropped,
            in_system_at_end: in_system,
            not_arrived: 0,
            ttft_s: ttft_d,
            ttft_p90_s: ttft_p90,
            tbt_s: [tbt_d.p50, tbt_d.p95, tbt_d.p99],
            e2e_s: e2e_d,
            slo: self.s.slo,
            slo_attainment: if served_total > 0.0 {
                attained / served_total
            } else {
                0.0
            },
            slo_met: ttft_p90 <= self.s.slo.ttft_p90_s && tbt_p99 <= self.s.slo.tbt_p99_s,
            mean_in_system: if end_s > 0.0 { area / end_s } else { 0.0 },
            duration_s: end_s,
            gpu_hours,
            energy_kwh,
            peak_kw: self.peak_w / 1e3,
            tokens_served: tokens,
            throttled_share: if self.iterations > 0.0 {
                self.throttled / self.iterations
            } else {
                0.0
            },
            gpu_hours_per_1000: per_k(gpu_hours),
            energy_kwh_per_1000: per_k(energy_kwh),
            replicas_over_time: std::mem::take(&mut self.replicas_over_time),
        }
    }
}

/// Nearest-rank quantile `q` (0–1) of values weighted by `(value, weight)`; expects
/// the slice sorted by value. 0 when empty.
fn weighted_quantile(v: &[(f64, f64)], q: f64) -> f64 {
    let total: f64 = v.iter().map(|x| x.1).sum();
    let rank = q * total;
    let mut seen = 0.0;
    for &(x, w) in v {
        seen += w;
        if seen >= rank {
            return x;
        }
    }
    v.last().map_or(0.0, |x| x.0)
}

/// Summary of weighted values (sorted in place); count is the rounded total weight.
fn weighted(v: &mut [(f64, f64)]) -> Distribution {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|x| x.1).sum();
    if total <= 0.0 {
        return Distribution::default();
    }
    Distribution {
        count: total.round() as u64,
        mean: v.iter().map(|x| x.0 * x.1).sum::<f64>() / total,
        p50: weighted_quantile(v, 0.50),
        p95: weighted_quantile(v, 0.95),
        p99: weighted_quantile(v, 0.99),
        max: v.last().map_or(0.0, |x| x.0),
    }
}
