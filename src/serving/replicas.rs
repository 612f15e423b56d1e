//! Request-level simulator of one service's replicas.
//!
//! Events are iteration ends, replica load completions, autoscaling ticks and arrivals
//! (read in order from the trace, never queued as events). Waiting requests sit in one
//! FIFO; a replica admits from its head at the start of each iteration while it has
//! batch slots and KV cache for the request's prompt plus output (reserved up front, so
//! no request is ever evicted). Admitted prompts are prefilled in that iteration and get
//! their first token at its end; sequences already decoding get one token per
//! iteration (continuous batching with mixed prefill and decode, Splitwise's baseline).
//! Requests with a recorded execution time (no performance model) run alone on a
//! replica for that time: with exponential times and one slot that is M/M/c.
//!
//! Per-request state lives in arrays sized once; the hot loop allocates nothing.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::autoscale::{Observed, ScalePolicy};
use super::error::ServingError;
use super::kvlink::PsLink;
use super::perf::{power_share, Batch, ReplicaPerf};
use super::report::{Drops, ServiceReport, Slo};
use super::request::Request;
use crate::metrics::Distribution;

/// How one service runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSettings {
    /// Most sequences in one iteration of a replica.
    pub max_batch: u32,
    /// Most prompt tokens prefilled in one iteration (vLLM's `max_num_batched_tokens`);
    /// a longer prompt still runs, alone among the prompts of its iteration.
    pub max_batch_tokens: u32,
    /// Replica count policy.
    pub scaling: ScalePolicy,
    /// Seconds between autoscaling decisions.
    pub interval_s: f64,
    /// Seconds from asking for a replica to its serving (model load time).
    pub load_time_s: f64,
    /// Latency objectives.
    pub slo: Slo,
    /// Speed factor of every replica (1 = full speed; a power cap lowers it).
    pub speed: f64,
    /// GPUs per replica (for GPU-hours).
    pub gpus_per_replica: u32,
    /// Idle and full power of one GPU, in watts.
    pub gpu_idle_w: f64,
    /// Full (TDP) power of one GPU, in watts.
    pub gpu_tdp_w: f64,
    /// Share of the busy power range a decode-only iteration draws (prefill draws all).
    pub decode_power_share: f64,
    /// Cap on the service's GPU power, W (`None`: uncapped). An iteration that would
    /// take the draw over it runs at a lower clock ([`MIN_CLOCK`] at least).
    pub power_cap_w: Option<f64>,
}

/// Lowest clock, as a share of the highest, a power cap may set: an assumption (H100
/// SXM clocks range about 1.1-1.98 GHz under load); below it the cap is exceeded.
pub const MIN_CLOCK: f64 = 0.5;

/// Time in microseconds, the simulator's clock.
type Us = u64;

fn us(s: f64) -> Us {
    (s * 1e6).round().max(0.0) as Us
}

const UNSET: Us = Us::MAX;

/// Window of the peak power: the highest one-second mean draw (a breaker or a PDU's
/// meter sees means over seconds, not one iteration's draw).
const PEAK_WINDOW_US: Us = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Loading,
    Serving,
    Draining,
    Gone,
}

/// Splitwise's phase split (Patel et al., ISCA 2024): a pool of replicas only prefills,
/// the rest only decode; a prompt's KV cache moves from one to the other over the
/// interconnect after its first token, sharing its prefill replica's link with the
/// hand-overs in flight ([`super::kvlink`]). Under autoscaling each pool keeps its share
/// of the count (`prefill_replicas` of the initial count, rounded, at least one each).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    /// Replicas of the prefill pool among the initial ones (the first ones); the
    /// others decode.
    pub prefill_replicas: u32,
    /// Bandwidth of a prefill replica's link to the decode pool, bytes/s.
    pub kv_link_bytes_per_s: f64,
}

/// What a replica's iterations do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Role {
    /// Prefill and decode batched together (continuous batching).
    Mixed,
    /// Prefill only, then hand the sequence to the decode pool.
    Prefill,
    /// Decode only, sequences handed over from the prefill pool.
    Decode,
}

/// One replica: the sequences it holds and its iteration in progress.
#[derive(Debug)]
struct Replica {
    state: State,
    role: Role,
    /// Indices of the requests in its batch.
    seqs: Vec<u32>,
    /// How many of `seqs` (a prefix) are prefilled in the running iteration.
    prefilling: usize,
    kv_used: u64,
    running: bool,
    iter_start: Us,
    busy_us: u64,
    /// Power of the running iteration, W per GPU.
    iter_w: f64,
    /// What it asks for: `iter_w` before the cluster cap's busy scale.
    iter_demand_w: f64,
}

/// Runs `trace` (sorted by arrival) through the service until every request is done, or
/// until `horizon_s` if given. `perf` is the performance model; `None` serves requests
/// by their recorded execution time.
pub fn simulate(
    trace: &[Request],
    perf: Option<&ReplicaPerf>,
    s: &ServiceSettings,
    horizon_s: Option<f64>,
) -> Result<ServiceReport, ServingError> {
    check(trace, perf, s)?;
    Sim::new(Cow::Borrowed(trace), perf.map(Cow::Borrowed), Cow::Borrowed(s)).run(horizon_s.map(us))
}

/// As [`simulate`], with the replicas split into a prefill and a decode pool
/// ([`Split`]). Needs a performance model and a scaling policy that never goes below 2
/// replicas, and 1 to initial − 1 prefill replicas.
pub fn simulate_split(
    trace: &[Request],
    perf: &ReplicaPerf,
    s: &ServiceSettings,
    split: Split,
) -> Result<ServiceReport, ServingError> {
    check(trace, Some(perf), s)?;
    check_split(Some(perf), s, split)?;
    let mut sim = Sim::new(Cow::Borrowed(trace), Some(Cow::Borrowed(perf)), Cow::Borrowed(s));
    sim.split = Some(split);
    sim.run(None)
}

/// A service simulated step by step beside a cluster run, so that the cluster's power
/// cap can slow it: the run advances it to each of its power steps, reads its mean
/// draw, and sets the speed the cap leaves it ([`crate::serving::engine`]). Run with
/// no throttle to the end it gives the same report as [`simulate`] (to float rounding:
/// the clock stops at every step).
pub struct Stepper {
    sim: Sim<'static>,
}

impl std::fmt::Debug for Stepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stepper")
            .field("now_us", &self.sim.now)
            .field("requests", &self.sim.trace.len())
            .finish()
    }
}

impl Stepper {
    /// A service at time 0 with its initial replicas, split into pools if `split`;
    /// checks as [`simulate`] and [`simulate_split`] do.
    pub fn new(
        trace: Vec<Request>,
        perf: Option<ReplicaPerf>,
        s: ServiceSettings,
        split: Option<Split>,
    ) -> Result<Stepper, ServingError> {
        check(&trace, perf.as_ref(), &s)?;
        if let Some(sp) = split {
            check_split(perf.as_ref(), &s, sp)?;
        }
        let mut sim = Sim::new(Cow::Owned(trace), perf.map(Cow::Owned), Cow::Owned(s));
        sim.split = split;
        sim.begin();
        Ok(Stepper { sim })
    }

    /// Handles everything up to and including `t_s` seconds; while work is left the
    /// clock then stands at `t_s`.
    pub fn run_until(&mut self, t_s: f64) {
        let t = us(t_s);
        self.sim.step_until(Some(t));
        if self.sim.work_left() && t > self.sim.now {
            self.sim.advance(t);
        }
    }

    /// Whether a request is still to arrive or to finish.
    pub fn work_left(&self) -> bool {
        self.sim.work_left()
    }

    /// Arrival of the last request, s (0 without requests).
    pub fn last_arrival_s(&self) -> f64 {
        self.sim.trace.last().map_or(0.0, |r| r.arrival_s)
    }

    /// Replicas held now (loading, serving or draining).
    pub fn held_replicas(&self) -> u32 {
        self.sim
            .replicas
            .iter()
            .filter(|r| r.state != State::Gone)
            .count() as u32
    }

    /// Mean demand of the service's GPUs from the last call (or time 0) to `t_s`, W:
    /// what they drew with their busy power (above idle) unscaled by the cluster cap
    /// ([`Stepper::set_throttle`]), what the service asks of the power tree. After the
    /// last event the demand is what the GPUs held then ask for.
    pub fn take_mean_demand_w(&mut self, t_s: f64) -> f64 {
        let t = us(t_s).max(self.sim.now);
        let now_w = self.sim.idle_w + self.sim.busy_demand_w;
        let tail = now_w * (t - self.sim.now) as f64 / 1e6;
        let span = (t - self.sim.chunk_start.min(t)) as f64 / 1e6;
        let mean = if span > 0.0 {
            (self.sim.chunk_j + tail) / span
        } else {
            now_w
        };
        // The clock stays at the last event once work is done, so the next window's
        // energy from there on starts less what this one already counted.
        self.sim.chunk_j = -tail;
        self.sim.chunk_start = t;
        mean
    }

    /// Iterations starting from now run at `speed` (0 < speed ≤ 1) of the settings'
    /// speed and draw `busy_scale` of their busy power (above idle): what the cluster's
    /// power cap leaves the service.
    pub fn set_throttle(&mut self, speed: f64, busy_scale: f64) {
        self.sim.speed = self.sim.s.speed * speed.clamp(f64::MIN_POSITIVE, 1.0);
        self.sim.busy_scale = busy_scale.clamp(0.0, 1.0);
    }

    /// Runs what is left (at the last throttle) and reports.
    pub fn finish(mut self) -> ServiceReport {
        self.sim.step_until(None);
        let end = self.sim.now;
        self.sim.advance(end);
        self.sim.report()
    }
}

fn check_split(perf: Option<&ReplicaPerf>, s: &ServiceSettings, split: Split) -> Result<(), ServingError> {
    if perf.is_none() {
        return Err(ServingError::config(
            "split",
            "a split service needs a model to time its phases",
        ));
    }
    if s.scaling.min() < 2 {
        return Err(ServingError::config(
            "scaling",
            "a split service needs at least 2 replicas at all times (one per pool)",
        ));
    }
    let replicas = s.scaling.initial();
    if split.prefill_replicas == 0 || split.prefill_replicas >= replicas {
        return Err(ServingError::config(
            "split.prefill_replicas",
            format!(
                "expected 1 to {} prefill replicas of {replicas}",
                replicas.saturating_sub(1)
            ),
        ));
    }
    if !(split.kv_link_bytes_per_s.is_finite() && split.kv_link_bytes_per_s > 0.0) {
        return Err(ServingError::config(
            "split.kv_link_gb_s",
            "expected a bandwidth > 0",
        ));
    }
    Ok(())
}

fn check(trace: &[Request], perf: Option<&ReplicaPerf>, s: &ServiceSettings) -> Result<(), ServingError> {
    s.scaling.validate("scaling")?;
    if s.max_batch == 0 || s.max_batch_tokens == 0 {
        return Err(ServingError::config(
            "max_batch",
            "expected max_batch and max_batch_tokens of at least 1",
        ));
    }
    if !(s.speed > 0.0 && s.speed <= 1.0) {
        return Err(ServingError::config("speed", "expected a factor in (0, 1]"));
    }
    if !(s.interval_s > 0.0 && s.load_time_s >= 0.0) {
        return Err(ServingError::config(
            "interval_s",
            "expected interval_s > 0 and load_time_s >= 0",
        ));
    }
    if !trace.is_empty() && s.scaling.max() == 0 {
        return Err(ServingError::config(
            "scaling",
            format!(
                "{} requests but the service can never have a replica (max 0)",
                trace.len()
            ),
        ));
    }
    if perf.is_none() {
        if let Some(i) = trace.iter().position(|r| r.exec_s.is_none()) {
            return Err(ServingError::config(
                "model",
                format!(
                    "request {i} has no recorded execution time and the service names no model to time it"
                ),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// Replica finishes its iteration.
    IterEnd(u32),
    /// Replica finishes loading.
    Loaded(u32),
    /// Split: the next KV-cache transfer over a prefill replica's link may be done
    /// (link, generation: a stale one is skipped).
    KvDone(u32, u32),
    /// Autoscaling decision.
    Tick,
}

struct Sim<'a> {
    trace: Cow<'a, [Request]>,
    perf: Option<Cow<'a, ReplicaPerf>>,
    s: Cow<'a, ServiceSettings>,
    /// Speed factor of the iterations starting now: the settings' speed times the
    /// cluster power cap's factor ([`Stepper::set_throttle`]).
    speed: f64,
    /// Share of an iteration's busy power (above idle) the cluster power cap leaves.
    busy_scale: f64,
    /// Demand integrated since the last [`Stepper::take_mean_demand_w`], J, and its start.
    chunk_j: f64,
    chunk_start: Us,
    /// Prefill and decode pools, if split.
    split: Option<Split>,
    /// Split: each replica's link to the decode pool (a prefill replica's is used),
    /// shared by the transfers in flight over it, and the generation of its scheduled
    /// [`Ev::KvDone`].
    links: Vec<(PsLink, u32)>,
    /// Split: prefilled requests waiting for a decode replica, and idle decode replicas.
    decode_queue: VecDeque<u32>,
    idle_decode: Vec<u32>,
    now: Us,
    heap: BinaryHeap<Reverse<(Us, u64, Ev)>>,
    seq: u64,
    next_arrival: usize,
    queue: VecDeque<u32>,
    replicas: Vec<Replica>,
    idle: Vec<u32>,
    generated: Vec<u32>,
    first_token: Vec<Us>,
    ttft_s: Vec<f64>,
    e2e_s: Vec<f64>,
    attained: u64,
    tbt: Vec<(f64, u32)>,
    drops: Drops,
    served: u64,
    tokens_served: f64,
    in_system: u64,
    area_in_system: f64,
    last_area: Us,
    gpu_seconds: f64,
    energy_j: f64,
    /// Excess over idle of the iterations running now, W.
    busy_w: f64,
    /// The same before the cluster cap's busy scale (what they ask for), W.
    busy_demand_w: f64,
    /// Idle draw of the GPUs held at the last event, W.
    idle_w: f64,
    /// Iterations started, and those slowed by the power cap.
    iterations: u64,
    throttled: u64,
    /// Energy of the current one-second window so far, J.
    window_j: f64,
    /// Highest one-second mean draw so far, W.
    peak_w: f64,
    replicas_over_time: Vec<(f64, u32)>,
    interval_first_tokens: Vec<f64>,
    interval_busy_us: u64,
}

impl<'a> Sim<'a> {
    fn new(
        trace: Cow<'a, [Request]>,
        perf: Option<Cow<'a, ReplicaPerf>>,
        s: Cow<'a, ServiceSettings>,
    ) -> Self {
        let n = trace.len();
        Sim {
            speed: s.speed,
            busy_scale: 1.0,
            chunk_j: 0.0,
            chunk_start: 0,
            split: None,
            links: Vec::new(),
            decode_queue: VecDeque::new(),
            idle_decode: Vec::new(),
            trace,
            perf,
            s,
            now: 0,
            heap: BinaryHeap::new(),
            seq: 0,
            next_arrival: 0,
            queue: VecDeque::with_capacity(n.min(1 << 20)),
            replicas: Vec::new(),
            idle: Vec::new(),
            generated: vec![0; n],
            first_token: vec![UNSET; n],
            ttft_s: Vec::with_capacity(n),
            e2e_s: Vec::with_capacity(n),
            attained: 0,
            tbt: Vec::new(),
            drops: Drops::default(),
            served: 0,
            tokens_served: 0.0,
            in_system: 0,
            area_in_system: 0.0,
            last_area: 0,
            gpu_seconds: 0.0,
            energy_j: 0.0,
            busy_w: 0.0,
            busy_demand_w: 0.0,
            idle_w: 0.0,
            iterations: 0,
            throttled: 0,
            window_j: 0.0,
            peak_w: 0.0,
            replicas_over_time: Vec::new(),
            interval_first_tokens: Vec::new(),
            interval_busy_us: 0,
        }
    }

    fn push(&mut self, at: Us, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, ev)));
    }

    fn run(mut self, horizon: Option<Us>) -> Result<ServiceReport, ServingError> {
        self.begin();
        self.step_until(horizon);
        let end = horizon.map_or(self.now, |h| h.max(self.now));
        self.advance(end);
        Ok(self.report())
    }

    /// Places the initial replicas and the first autoscaling tick.
    fn begin(&mut self) {
        let start = self.s.scaling.initial();
        let prefill = self.prefill_target(start);
        for i in 0..start {
            let role = match self.split {
                None => Role::Mixed,
                Some(_) if i < prefill => Role::Prefill,
                Some(_) => Role::Decode,
            };
            self.add_replica(true, role);
        }
        self.note_replicas();
        self.push(us(self.s.interval_s), Ev::Tick);
    }

    /// Whether a request is still to arrive or to finish.
    fn work_left(&self) -> bool {
        self.next_arrival < self.trace.len() || self.in_system > 0
    }

    /// Handles every arrival and event at or before `limit` (all of them if `None`)
    /// while work is left.
    fn step_until(&mut self, limit: Option<Us>) {
        let end_of = |t: Us| limit.is_some_and(|h| t > h);
        loop {
            let arrival = self.trace.get(self.next_arrival).map(|r| us(r.arrival_s));
            let event = self.heap.peek().map(|Reverse((t, _, _))| *t);
            let t = match (arrival, event) {
                (Some(a), Some(e)) if a <= e => a,
                (Some(a), None) => a,
                (_, Some(e)) => e,
                (None, None) => break,
            };
            if !self.work_left() || end_of(t) {
                break;
            }
            self.advance(t);
            if arrival == Some(t) && event.is_none_or(|e| t <= e) {
                self.arrive();
            } else {
                let Reverse((_, _, ev)) = self.heap.pop().expect("peeked");
                match ev {
                    Ev::IterEnd(r) => self.iteration_end(r),
                    Ev::Loaded(r) => self.loaded(r),
                    Ev::KvDone(link, generation) => self.kv_done(link, generation),
                    Ev::Tick => self.tick(),
                }
            }
        }
    }

    /// Moves the clock, integrating requests in the system, GPU-time and idle energy.
    fn advance(&mut self, t: Us) {
        let dt = (t - self.last_area) as f64 / 1e6;
        self.area_in_system += self.in_system as f64 * dt;
        let held = self.replicas.iter().filter(|r| r.state != State::Gone).count() as f64;
        let g = f64::from(self.s.gpus_per_replica);
        self.gpu_seconds += held * g * dt;
        // Idle power for every held GPU; busy iterations add their excess at their end.
        self.energy_j += held * g * self.s.gpu_idle_w * dt;
        self.idle_w = held * g * self.s.gpu_idle_w;
        self.window(t, self.idle_w + self.busy_w, self.idle_w + self.busy_demand_w);
        self.last_area = t;
        self.now = t;
    }

    /// Adds a draw of `watts` (a demand of `demand_w`) from the last event to `t` to the
    /// one-second windows, closing each full window into the peak.
    fn window(&mut self, t: Us, watts: f64, demand_w: f64) {
        let mut from = self.last_area;
        while from < t {
            let end = (from / PEAK_WINDOW_US + 1) * PEAK_WINDOW_US;
            let to = end.min(t);
            self.window_j += watts * (to - from) as f64 / 1e6;
            self.chunk_j += demand_w * (to - from) as f64 / 1e6;
            if to == end {
                self.peak_w = self.peak_w.max(self.window_j / (PEAK_WINDOW_US as f64 / 1e6));
                self.window_j = 0.0;
            }
            from = to;
        }
    }

    fn add_replica(&mut self, ready: bool, role: Role) {
        let id = self.replicas.len() as u32;
        if let Some(sp) = self.split {
            self.links.push((PsLink::new(sp.kv_link_bytes_per_s), 0));
        }
        self.replicas.push(Replica {
            role,
            state: if ready { State::Serving } else { State::Loading },
            seqs: Vec::with_capacity(self.s.max_batch as usize),
            prefilling: 0,
            kv_used: 0,
            running: false,
            iter_start: 0,
            busy_us: 0,
            iter_w: 0.0,
            iter_demand_w: 0.0,
        });
        if ready {
            self.park(id);
        } else {
            self.push(self.now + us(self.s.load_time_s), Ev::Loaded(id));
        }
    }

    fn note_replicas(&mut self) {
        let n = self.replicas.iter().filter(|r| r.state != State::Gone).count() as u32;
        let t = self.now as f64 / 1e6;
        match self.replicas_over_time.last_mut() {
            Some(last) if last.0 == t => last.1 = n,
            Some(last) if last.1 == n => {}
            _ => self.replicas_over_time.push((t, n)),
        }
    }

    fn arrive(&mut self) {
        let i = self.next_arrival as u32;
        self.next_arrival += 1;
        let r = &self.trace[i as usize];
        if let Some(p) = self.perf.as_deref() {
            if u64::from(r.prompt_tokens) + u64::from(r.output_tokens) > p.kv_capacity_tokens {
                self.drops.exceeds_kv_cache += 1;
                return;
            }
        }
        self.in_system += 1;
        self.queue.push_back(i);
        if let Some(id) = self.idle.pop() {
            self.start_iteration(id);
        }
    }

    /// Admits from the queue and starts an iteration if the replica has work.
    fn start_iteration(&mut self, id: u32) {
        let rep = &mut self.replicas[id as usize];
        debug_assert!(!rep.running);
        // Admit new prompts in front of the decoding sequences (a decode replica admits
        // handed-over sequences, which decode at once).
        let mut admitted = 0usize;
        let mut prompt_tokens = 0u64;
        let role = rep.role;
        let queue = if role == Role::Decode {
            &mut self.decode_queue
        } else {
            &mut self.queue
        };
        if rep.state == State::Serving {
            while let Some(&q) = queue.front() {
                let r = &self.trace[q as usize];
                let exec = r.exec_s.is_some() && self.perf.is_none();
                let limit = if exec { 1 } else { self.s.max_batch as usize };
                let need = kv_need(role, r);
                let kv_ok = self
                    .perf
                    .as_deref()
                    .is_none_or(|p| rep.kv_used + need <= p.kv_capacity_tokens);
                let tokens_ok = role == Role::Decode
                    || admitted == 0
                    || prompt_tokens + u64::from(r.prompt_tokens) <= u64::from(self.s.max_batch_tokens);
                if rep.seqs.len() >= limit || !kv_ok || !tokens_ok {
                    break;
                }
                prompt_tokens += u64::from(r.prompt_tokens);
                queue.pop_front();
                rep.seqs.push(q);
                let last = rep.seqs.len() - 1;
                rep.seqs.swap(admitted, last);
                admitted += 1;
                rep.kv_used += need;
            }
        }
        rep.prefilling = if role == Role::Decode { 0 } else { admitted };
        if rep.seqs.is_empty() {
            if rep.state == State::Draining {
                rep.state = State::Gone;
                self.note_replicas();
            } else if rep.state == State::Serving {
                self.park(id);
            }
            return;
        }
        let admitted = rep.prefilling;
        let (ms, share) = match self.perf.as_deref() {
            None => (self.trace[rep.seqs[0] as usize].exec_s.unwrap_or(0.0) * 1e3, 1.0),
            Some(p) => {
                let mut b = Batch::default();
                for (k, &q) in rep.seqs.iter().enumerate() {
                    let r = &self.trace[q as usize];
                    if k < admitted {
                        let pt = f64::from(r.prompt_tokens);
                        b.prefill_seqs += 1;
                        b.prefill_tokens += pt;
                        b.prefill_sq_tokens += pt * pt;
                    } else {
                        b.decode_seqs += 1;
                        b.decode_ctx_tokens += f64::from(r.prompt_tokens + self.generated[q as usize]);
                    }
                }
                (p.iteration_ms(&b), p.compute_share(&b))
            }
        };
        let g = f64::from(self.s.gpus_per_replica);
        let mut demand =
            (self.s.gpu_tdp_w - self.s.gpu_idle_w) * power_share(share, self.s.decode_power_share);
        let mut watts = demand * self.busy_scale;
        let mut stretch = 1.0;
        let mut slowed = self.speed < self.s.speed;
        if let Some(cap) = self.s.power_cap_w {
            // Frequency capping: the busy power above idle scales with the clock f, the
            // compute-bound share of the iteration takes 1/f as long, the memory-bound
            // rest is unchanged (POLCA's observation for decode).
            let room = (cap - self.idle_w - self.busy_w) / g;
            if watts > room {
                let f = (room / watts).max(MIN_CLOCK);
                watts *= f;
                demand *= f;
                stretch = share / f + (1.0 - share);
                slowed = true;
            }
        }
        if slowed {
            self.throttled += 1;
        }
        self.iterations += 1;
        let dur = us(ms * stretch / 1e3 / self.speed).max(1);
        rep.iter_w = watts;
        rep.iter_demand_w = demand;
        self.busy_w += rep.iter_w * g;
        self.busy_demand_w += rep.iter_demand_w * g;
        rep.running = true;
        rep.iter_start = self.now;
        let at = self.now + dur;
        self.push(at, Ev::IterEnd(id));
    }

    fn iteration_end(&mut self, id: u32) {
        let now = self.now;
        let rep = &mut self.replicas[id as usize];
        rep.running = false;
        let dur = now - rep.iter_start;
        rep.busy_us += dur;
        self.interval_busy_us += dur;
        self.energy_j += rep.iter_w * f64::from(self.s.gpus_per_replica) * dur as f64 / 1e6;
        self.busy_w -= rep.iter_w * f64::from(self.s.gpus_per_replica);
        self.busy_demand_w -= rep.iter_demand_w * f64::from(self.s.gpus_per_replica);
        let decoding = (rep.seqs.len() - rep.prefilling) as u32;
        if decoding > 0 {
            self.tbt.push((dur as f64 / 1e6, decoding));
        }
        let mut k = 0;
        while k < rep.seqs.len() {
            let q = rep.seqs[k] as usize;
            let r = &self.trace[q];
            self.generated[q] += 1;
            if self.first_token[q] == UNSET {
                self.first_token[q] = now;
                let ttft = (now - us(r.arrival_s)) as f64 / 1e6;
                self.interval_first_tokens.push(ttft);
            }
            let exec = r.exec_s.is_some() && self.perf.is_none();
            if exec || self.generated[q] >= r.output_tokens {
                let arrival = us(r.arrival_s);
                let ttft = (self.first_token[q] - arrival) as f64 / 1e6;
                let e2e = (now - arrival) as f64 / 1e6;
                let mean_tbt = if r.output_tokens > 1 {
                    (e2e - ttft) / f64::from(r.output_tokens - 1)
                } else {
                    0.0
                };
                if ttft <= self.s.slo.ttft_s && mean_tbt <= self.s.slo.tbt_s {
                    self.attained += 1;
                }
                self.ttft_s.push(ttft);
                self.e2e_s.push(e2e);
                self.served += 1;
                self.tokens_served += f64::from(r.prompt_tokens) + f64::from(r.output_tokens);
                self.in_system -= 1;
                rep.kv_used -= kv_need(rep.role, r);
                rep.seqs.swap_remove(k);
            } else {
                k += 1;
            }
        }
        if rep.role == Role::Prefill {
            // Prefilled: each sequence's KV cache (prompt and first token) leaves for
            // the decode pool.
            let per_token = self.perf.as_deref().map_or(0.0, |p| p.llm.kv_bytes_per_token());
            // They share the replica's link with the transfers already in flight.
            let mut seqs = std::mem::take(&mut self.replicas[id as usize].seqs);
            let now_s = now as f64 / 1e6;
            for &q in &seqs {
                let r = self.trace[q as usize];
                self.replicas[id as usize].kv_used -= kv_need(Role::Prefill, &r);
                let bytes = per_token * f64::from(r.prompt_tokens + 1);
                self.links[id as usize].0.start(now_s, bytes, q);
            }
            seqs.clear();
            self.replicas[id as usize].seqs = seqs;
            self.schedule_link(id);
        }
        self.start_iteration(id);
    }

    /// An idle serving replica waits for work in its pool.
    fn park(&mut self, id: u32) {
        if self.replicas[id as usize].role == Role::Decode {
            self.idle_decode.push(id);
        } else {
            self.idle.push(id);
        }
    }

    /// Split: replicas of the prefill pool when the service holds `total`: the share
    /// `prefill_replicas` of the initial count, rounded, at least one in each pool
    /// (with a fixed count, `prefill_replicas` itself). 0 unsplit.
    fn prefill_target(&self, total: u32) -> u32 {
        self.split.map_or(0, |sp| {
            prefill_pool(total, sp.prefill_replicas, self.s.scaling.initial())
        })
    }

    /// Schedules the next finish on prefill replica `link`'s link (the one scheduled
    /// before, if any, goes stale).
    fn schedule_link(&mut self, link: u32) {
        let (l, generation) = &mut self.links[link as usize];
        let Some(done_s) = l.next_done_s() else { return };
        *generation += 1;
        let ev = Ev::KvDone(link, *generation);
        let at = ((done_s * 1e6).ceil().max(0.0) as Us).max(self.now);
        self.push(at, ev);
    }

    /// Split: the transfers over `link` done by now hand their requests to the decode
    /// pool.
    fn kv_done(&mut self, link: u32, generation: u32) {
        if self.links[link as usize].1 != generation {
            return;
        }
        let now_s = self.now as f64 / 1e6;
        while let Some(q) = self.links[link as usize].0.pop_done(now_s, 1e-6) {
            self.handed(q);
        }
        self.schedule_link(link);
    }

    /// Split: request `q`'s KV cache reached the decode pool.
    fn handed(&mut self, q: u32) {
        self.decode_queue.push_back(q);
        if let Some(id) = self.idle_decode.pop() {
            self.start_iteration(id);
        }
    }

    fn loaded(&mut self, id: u32) {
        let rep = &mut self.replicas[id as usize];
        if rep.state == State::Loading {
            rep.state = State::Serving;
            self.start_iteration(id);
        }
    }

    fn tick(&mut self) {
        let interval = us(self.s.interval_s);
        let n_serving = self.replicas.iter().filter(|r| r.state == State::Serving).count() as u32;
        let mut ft = std::mem::take(&mut self.interval_first_tokens);
        let p90 = if ft.is_empty() {
            0.0
        } else {
            let k = ((0.9 * ft.len() as f64).ceil() as usize).clamp(1, ft.len()) - 1;
            *ft.select_nth_unstable_by(k, f64::total_cmp).1
        };
        ft.clear();
        self.interval_first_tokens = ft;
        let busy = std::mem::take(&mut self.interval_busy_us);
        let o = Observed {
            now_s: self.now as f64 / 1e6,
            replicas: n_serving,
            utilization: if n_serving == 0 {
                1.0
            } else {
                busy as f64 / (f64::from(n_serving) * interval as f64)
            },
            outstanding: self.in_system,
            ttft_p90_s: p90,
        };
        let want = self.s.scaling.desired(&o);
        // Each pool (one unsplit) grows or shrinks to its share of the count wanted.
        let prefill = self.prefill_target(want);
        let pools = match self.split {
            // Unsplit, the prefill pool is empty.
            None => [(Role::Mixed, want), (Role::Prefill, 0)],
            Some(_) => [
                (Role::Prefill, prefill),
                (Role::Decode, want.saturating_sub(prefill)),
            ],
        };
        let mut excess = [0u32; 3];
        for (role, wanted) in pools {
            let have = self
                .replicas
                .iter()
                .filter(|r| r.role == role && matches!(r.state, State::Serving | State::Loading))
                .count() as u32;
            if wanted > have {
                for _ in have..wanted {
                    self.add_replica(false, role);
                }
            } else {
                excess[role as usize] = have - wanted;
            }
        }
        // Drain the newest replicas of each pool first: loading ones go at once.
        for id in (0..self.replicas.len()).rev() {
            if excess == [0; 3] {
                break;
            }
            let rep = &mut self.replicas[id];
            let role = rep.role as usize;
            if excess[role] == 0 {
                continue;
            }
            match rep.state {
                State::Loading => rep.state = State::Gone,
                State::Serving => {
                    rep.state = State::Draining;
                    if !rep.running {
                        self.idle.retain(|&i| i as usize != id);
                        self.idle_decode.retain(|&i| i as usize != id);
                        self.replicas[id].state = if self.replicas[id].seqs.is_empty() {
                            State::Gone
                        } else {
                            State::Draining
                        };
                    }
                }
                _ => continue,
            }
            excess[role] -= 1;
        }
        self.note_replicas();
        let more = self.next_arrival < self.trace.len() || self.in_system > 0;
        if more {
            self.push(self.now + interval, Ev::Tick);
        }
    }

    fn report(mut self) -> ServiceReport {
        let duration_s = self.now as f64 / 1e6;
        let arrived = self.next_arrival as u64;
        let mut tbt = std::mem::take(&mut self.tbt);
        let tbt_p99 = weighted_percentile(&mut tbt, 0.99);
        let tbt_p50 = weighted_percentile(&mut tbt, 0.50);
        let tbt_p95 = weighted_percentile(&mut tbt, 0.95);
        let ttft = Distribution::of(&mut self.ttft_s);
        let e2e = Distribution::of(&mut self.e2e_s);
        let mut sorted_ttft = self.ttft_s;
        sorted_ttft.sort_by(f64::total_cmp);
        let ttft_p90 = crate::metrics::percentile(&sorted_ttft, 90.0).unwrap_or(0.0);
        let energy_kwh = self.energy_j / 3.6e6;
        let gpu_hours = self.gpu_seconds / 3600.0;
        let per_k = |x: f64| {
            if self.served > 0 {
                x * 1000.0 / self.served as f64
            } else {
                0.0
            }
        };
        ServiceReport {
            requests: self.trace.len() as u64,
            arrived,
            served: self.served,
            dropped: self.drops,
            in_system_at_end: self.in_system,
            not_arrived: self.trace.len() as u64 - arrived,
            ttft_s: ttft,
            ttft_p90_s: ttft_p90,
            tbt_s: [tbt_p50, tbt_p95, tbt_p99],
            e2e_s: e2e,
            slo: self.s.slo,
            slo_attainment: if self.served > 0 {
                self.attained as f64 / self.served as f64
            } else {
                0.0
            },
            slo_met: ttft_p90 <= self.s.slo.ttft_p90_s && tbt_p99 <= self.s.slo.tbt_p99_s,
            mean_in_system: if duration_s > 0.0 {
                self.area_in_system / duration_s
            } else {
                0.0
            },
            duration_s,
            gpu_hours,
            energy_kwh,
            peak_kw: self.peak_w / 1e3,
            tokens_served: self.tokens_served,
            throttled_share: if self.iterations > 0 {
                self.throttled as f64 / self.iterations as f64
            } else {
                0.0
            },
            gpu_hours_per_1000: per_k(gpu_hours),
            energy_kwh_per_1000: per_k(energy_kwh),
            replicas_over_time: self.replicas_over_time,
        }
    }
}

/// KV-cache tokens a replica of `role` reserves for `r` on admission: a prefill
/// replica holds only the prompt (the decode replica reserves the rest).
fn kv_need(role: Role, r: &Request) -> u64 {
    match role {
        Role::Prefill => u64::from(r.prompt_tokens),
        Role::Mixed | Role::Decode => u64::from(r.prompt_tokens) + u64::from(r.output_tokens),
    }
}

/// Percentile `q` (0–1) of values weighted by counts (nearest rank); 0 when empty.
fn weighted_percentile(v: &mut [(f64, u32)], q: f64) -> f64 {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: u64 = v.iter().map(|x| u64::from(x.1)).sum();
    if total == 0 {
        return 0.0;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for &(x, w) in v.iter() {
        seen += u64::from(w);
        if seen >= rank {
            return x;
        }
    }
    v[v.len() - 1].0
}

/// Prefill replicas of `total` when `prefill` of `initial` prefill: the share rounded
/// half up, at least one in each pool.
fn prefill_pool(total: u32, prefill: u32, initial: u32) -> u32 {
    let initial = u64::from(initial.max(1));
    let share = (2 * u64::from(total) * u64::from(prefill) + initial) / (2 * initial);
    (share as u32).clamp(1, total.saturating_sub(1).max(1))
}

#[cfg(test)]
mod tests {
    use super::prefill_pool;

    /// 3 of 4 prefilling: of 8, 6; of 5, 3.75 → 4; of 2, 1.5 → 2 but one must decode → 1;
    /// 1 of 2: of 3, 1.5 → 2; of 7, 3.5 → 4. A fixed count keeps its own split.
    #[test]
    fn pools_keep_their_initial_share() {
        assert_eq!(prefill_pool(4, 3, 4), 3);
        assert_eq!(prefill_pool(8, 3, 4), 6);
        assert_eq!(prefill_pool(5, 3, 4), 4);
        assert_eq!(prefill_pool(2, 3, 4), 1);
        assert_eq!(prefill_pool(3, 1, 2), 2);
        assert_eq!(prefill_pool(7, 1, 2), 4);
        assert_eq!(prefill_pool(6, 1, 6), 1);
    }
}
