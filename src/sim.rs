//! The simulation: owns the state and the event loop, and dispatches to the models.
//!
//! Arrivals stay in the time-sorted workload and are merged with the event heap, which
//! holds only finishes and rate changes. All events at one instant are applied, then the
//! queue policy makes one scheduling pass, then the recorder notes the change point.

use serde::Serialize;

use crate::engine::{EventQueue, SimTime};
use crate::metrics::{JobRecord, Outcome, Summary, TimeSeries};
use crate::scheduler::{
    FreeCapacity, GpuGrant, ModelMask, Placement, PlacementRequest, QueuePolicy, QueuedJob, Starter,
};
use crate::topology::{Cluster, GpuModelId};
use crate::workload::{JobId, Workload};

/// How jobs get their start times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Jobs queue and the policies decide when and where they run.
    #[default]
    Queue,
    /// Each job starts at the start time its trace recorded, to check the simulator's
    /// accounting against the trace's own history. Jobs are placed when they fit; those
    /// that do not still run, unplaced, and are counted.
    AsRecorded,
}

/// Why a job in the workload cannot run on this cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The job names only GPU types the cluster lacks.
    NoMatchingGpuModel,
    /// The gang needs more GPUs than any allowed GPU model has in the whole cluster.
    LargerThanCluster,
    /// As-recorded mode: the trace recorded no start time for the job.
    NoRecordedStart,
}

impl SkipReason {
    /// The name written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NoMatchingGpuModel => "no_matching_gpu_model",
            SkipReason::LargerThanCluster => "larger_than_cluster",
            SkipReason::NoRecordedStart => "no_recorded_start",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Finish { job: u32, generation: u32 },
    RateChange { job: u32, rate_bits: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Waiting,
    Running,
    Done,
    Skipped(SkipReason),
}

#[derive(Debug, Clone, Copy)]
struct JobState {
    status: Status,
    models: ModelMask,
    start: SimTime,
    end: SimTime,
    /// Work left at the last rate change, in milliseconds at rate 1.0.
    remaining_ms: f64,
    rate: f64,
    last_update: SimTime,
    generation: u32,
    grant_offset: u32,
    grant_len: u32,
    model: Option<GpuModelId>,
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// One record per job, in job-id order.
    pub jobs: Vec<JobRecord>,
    /// The cluster state at every change point.
    pub series: TimeSeries,
    /// Headline statistics.
    pub summary: Summary,
    /// Every GPU grant made, in start order; job `r` holds
    /// `grants[r.first_grant..r.first_grant + r.nodes]`.
    pub grants: Vec<GpuGrant>,
    /// Events processed (arrivals, finishes, rate changes), stale ones excluded.
    pub events: u64,
}

/// Everything the scheduling pass touches, apart from the queue policy itself.
struct Core<'a> {
    workload: &'a Workload,
    free: FreeCapacity,
    placement: Box<dyn Placement>,
    jobs: Vec<JobState>,
    grants: Vec<GpuGrant>,
    scratch: Vec<GpuGrant>,
    events: EventQueue<Event>,
    now: SimTime,
    busy_milli: u64,
    busy_by_model: Vec<u64>,
    running: u32,
    mode: Mode,
}

/// One simulation run of a workload on a cluster under a queue and a placement policy.
pub struct Simulation<'a> {
    core: Core<'a>,
    queue: Box<dyn QueuePolicy>,
    /// (arrival time, job) in arrival order: submit order, or recorded start in
    /// as-recorded mode.
    arrivals: Vec<(SimTime, u32)>,
    cluster_gpus: u64,
}

impl<'a> Simulation<'a> {
    /// Prepares a run. Jobs the cluster can never host are marked skipped (with a
    /// reason) rather than failing the run.
    pub fn new(
        cluster: &Cluster,
        workload: &'a Workload,
        queue: Box<dyn QueuePolicy>,
        placement: Box<dyn Placement>,
        mode: Mode,
    ) -> Self {
        let free = FreeCapacity::new(cluster, workload.jobs.iter().any(|j| !j.demand.is_whole()));
        let model_of_type: Vec<Option<GpuModelId>> = workload
            .gpu_types
            .iter()
            .map(|t| cluster.model_by_name(t))
            .collect();
        let all_models = ModelMask(free.models().fold(0, |m, id| m | 1 << id.0));
        let jobs: Vec<JobState> = workload
            .jobs
            .iter()
            .map(|spec| {
                let models = if spec.gpu_types.is_any() {
                    all_models
                } else {
                    ModelMask(
                        spec.gpu_types
                            .indices()
                            .filter_map(|i| model_of_type.get(i).copied().flatten())
                            .fold(0, |m, id| m | 1 << id.0)
                            & all_models.0,
                    )
                };
                let fits_somewhere = free
                    .models()
                    .filter(|m| models.allows(m.0 as usize))
                    .any(|m| free.capacity(m) >= u64::from(spec.demand.gpus));
                let status = if models.0 == 0 {
                    Status::Skipped(SkipReason::NoMatchingGpuModel)
                } else if !fits_somewhere {
                    Status::Skipped(SkipReason::LargerThanCluster)
                } else if mode == Mode::AsRecorded && spec.recorded_start.is_none() {
                    Status::Skipped(SkipReason::NoRecordedStart)
                } else {
                    Status::Pending
                };
                JobState {
                    status,
                    models,
                    start: SimTime::ZERO,
                    end: SimTime::ZERO,
                    remaining_ms: spec.duration.as_ms() as f64,
                    rate: 1.0,
                    last_update: SimTime::ZERO,
                    generation: 0,
                    grant_offset: 0,
                    grant_len: 0,
                    model: None,
                }
            })
            .collect();
        let mut arrivals: Vec<(SimTime, u32)> = workload
            .jobs
            .iter()
            .zip(&jobs)
            .filter(|(_, s)| s.status == Status::Pending)
            .map(|(spec, _)| match mode {
                Mode::Queue => (spec.submit, spec.id.0),
                Mode::AsRecorded => (spec.recorded_start.unwrap_or(spec.submit), spec.id.0),
            })
            .collect();
        arrivals.sort_by_key(|&(t, _)| t); // stable: ties keep submit order
        let models = cluster.models.len();
        Simulation {
            core: Core {
                workload,
                free,
                placement,
                jobs,
                grants: Vec::with_capacity(workload.jobs.len()),
                scratch: Vec::new(),
                events: EventQueue::new(),
                now: SimTime::ZERO,
                busy_milli: 0,
                busy_by_model: vec![0; models],
                running: 0,
                mode,
            },
            queue,
            arrivals,
            cluster_gpus: cluster.total_gpus(),
        }
    }

    /// Jobs that cannot run on this cluster, counted by reason.
    pub fn unrunnable(&self) -> std::collections::BTreeMap<&'static str, u64> {
        let mut out = std::collections::BTreeMap::new();
        for s in &self.core.jobs {
            if let Status::Skipped(r) = s.status {
                *out.entry(r.as_str()).or_insert(0) += 1;
            }
        }
        out
    }

    /// Schedules a change of a job's rate (work done per unit of time) at `at`.
    ///
    /// The elapsed time is charged at the old rate and the finish is rescheduled; a job
    /// not running at `at` is unaffected. Power capping, contention and failures all act
    /// through this one mechanism.
    pub fn schedule_rate_change(&mut self, at: SimTime, job: JobId, rate: f64) {
        self.core.events.push(
            at,
            Event::RateChange {
                job: job.0,
                rate_bits: rate.to_bits(),
            },
        );
    }

    /// Runs to the end: until every job has finished. `progress` is called now and then
    /// with the number of jobs started so far.
    pub fn run(mut self, progress: &mut dyn FnMut(u64)) -> RunOutput {
        let mut series = TimeSeries::new(self.core.busy_by_model.len());
        let mut next_arrival = 0usize;
        let mut events = 0u64;
        let mut started = 0u64;
        let workload = self.core.workload;
        loop {
            let t_arrival = self.arrivals.get(next_arrival).map(|a| a.0);
            let t_event = self.core.events.peek_time();
            let now = match (t_arrival, t_event) {
                (None, None) => break,
                (Some(a), None) => a,
                (None, Some(e)) => e,
                (Some(a), Some(e)) => a.min(e),
            };
            self.core.now = now;
            while self.core.events.peek_time() == Some(now) {
                let Some(ev) = self.core.events.pop() else { break };
                if self.core.apply(ev.event) {
                    events += 1;
                }
            }
            while let Some(&(t, job)) = self.arrivals.get(next_arrival) {
                if t != now {
                    break;
                }
                next_arrival += 1;
                events += 1;
                match self.core.mode {
                    Mode::Queue => {
                        self.core.jobs[job as usize].status = Status::Waiting;
                        self.queue.enqueue(self.core.queued(job));
                    }
                    Mode::AsRecorded => self.core.start_as_recorded(job),
                }
            }
            if !self.queue.is_empty() {
                self.queue.schedule(now, &mut self.core);
            }
            let c = &self.core;
            series.record(
                now,
                c.busy_milli,
                &c.busy_by_model,
                self.queue.len() as u32,
                c.running,
            );
            if events.wrapping_sub(started) >= 1 << 16 {
                started = events;
                progress(next_arrival as u64);
            }
        }
        progress(next_arrival as u64);
        let jobs = self.core.records();
        let summary = Summary::compute(workload, &jobs, &series, self.cluster_gpus);
        RunOutput {
            jobs,
            series,
            summary,
            grants: self.core.grants,
            events,
        }
    }
}

impl Core<'_> {
    fn queued(&self, job: u32) -> QueuedJob {
        let spec = &self.workload.jobs[job as usize];
        QueuedJob {
            id: spec.id,
            submit: spec.submit,
            request: PlacementRequest {
                demand: spec.demand,
                models: self.jobs[job as usize].models,
            },
            priority: spec.priority,
            duration: spec.duration,
        }
    }

    /// Applies one popped event; false if it was stale.
    fn apply(&mut self, event: Event) -> bool {
        match event {
            Event::Finish { job, generation } => {
                let s = &self.jobs[job as usize];
                if s.status != Status::Running || s.generation != generation {
                    return false;
                }
                self.finish(job);
                true
            }
            Event::RateChange { job, rate_bits } => {
                if self.jobs[job as usize].status != Status::Running {
                    return false;
                }
                self.set_rate(job, f64::from_bits(rate_bits));
                true
            }
        }
    }

    fn set_rate(&mut self, job: u32, rate: f64) {
        let now = self.now;
        let s = &mut self.jobs[job as usize];
        let elapsed = (now - s.last_update).as_ms() as f64;
        s.remaining_ms = (s.remaining_ms - elapsed * s.rate).max(0.0);
        s.last_update = now;
        s.rate = rate;
        self.schedule_finish(job);
    }

    fn schedule_finish(&mut self, job: u32) {
        let now = self.now;
        let s = &mut self.jobs[job as usize];
        s.generation += 1;
        if s.rate > 0.0 {
            let left = SimTime((s.remaining_ms / s.rate).ceil() as u64);
            self.events.push(
                now + left,
                Event::Finish {
                    job,
                    generation: s.generation,
                },
            );
        }
    }

    /// Marks `job` running with the grants in `scratch` (may be empty: unplaced).
    fn begin(&mut self, job: u32) {
        let milli = self.workload.jobs[job as usize].demand.milli_per_gpu;
        let total = self.workload.jobs[job as usize].demand.total_milli();
        let offset = self.grants.len() as u32;
        let model = self.scratch.first().map(|g| self.free.node_model(g.node));
        for &g in &self.scratch {
            self.free.allocate(g, milli);
        }
        self.grants.extend_from_slice(&self.scratch);
        if let Some(m) = model {
            self.busy_by_model[m.0 as usize] += total;
        }
        self.busy_milli += total;
        self.running += 1;
        let now = self.now;
        let s = &mut self.jobs[job as usize];
        s.status = Status::Running;
        s.start = now;
        s.last_update = now;
        s.grant_offset = offset;
        s.grant_len = self.scratch.len() as u32;
        s.model = model;
        self.schedule_finish(job);
    }

    fn finish(&mut self, job: u32) {
        let demand = self.workload.jobs[job as usize].demand;
        let s = &self.jobs[job as usize];
        let (offset, len, model) = (s.grant_offset as usize, s.grant_len as usize, s.model);
        for &g in &self.grants[offset..offset + len] {
            self.free.release(g, demand.milli_per_gpu);
        }
        if let Some(m) = model {
            self.busy_by_model[m.0 as usize] -= demand.total_milli();
        }
        self.busy_milli -= demand.total_milli();
        self.running -= 1;
        let s = &mut self.jobs[job as usize];
        s.status = Status::Done;
        s.end = self.now;
    }

    fn start_as_recorded(&mut self, job: u32) {
        self.scratch.clear();
        let req = self.queued(job).request;
        if !self.placement.place(&req, &self.free, &mut self.scratch) {
            self.scratch.clear();
        }
        self.begin(job);
    }

    fn records(&self) -> Vec<JobRecord> {
        self.workload
            .jobs
            .iter()
            .zip(&self.jobs)
            .map(|(spec, s)| {
                let ran = s.status == Status::Done;
                JobRecord {
                    id: spec.id,
                    submit: spec.submit,
                    start: ran.then_some(s.start),
                    end: ran.then_some(s.end),
                    demand: spec.demand,
                    nodes: s.grant_len,
                    first_grant: s.grant_offset,
                    gpu_model: s.model.map(|m| m.0),
                    tenant: spec.tenant,
                    outcome: match s.status {
                        Status::Skipped(_) => Outcome::Skipped,
                        _ if spec.open_ended => Outcome::Censored,
                        _ => Outcome::Completed,
                    },
                    skip_reason: match s.status {
                        Status::Skipped(r) => Some(r.as_str()),
                        _ => None,
                    },
                }
            })
            .collect()
    }
}

impl Starter for Core<'_> {
    fn try_start(&mut self, job: &QueuedJob) -> bool {
        self.scratch.clear();
        if !self.placement.place(&job.request, &self.free, &mut self.scratch) {
            return false;
        }
        assert!(
            grants_valid(&self.scratch, &self.free, job),
            "placement `{}` broke its contract for job {}: {:?}",
            self.placement.name(),
            job.id.0,
            self.scratch
        );
        self.begin(job.id.0);
        true
    }
}

/// The placement contract: exactly the GPUs asked for, one model, each with the share free.
fn grants_valid(grants: &[GpuGrant], free: &FreeCapacity, job: &QueuedJob) -> bool {
    let d = job.request.demand;
    let count: u32 = grants.iter().map(|g| g.gpus.count_ones()).sum();
    let model = grants.first().map(|g| free.node_model(g.node));
    let distinct = grants
        .iter()
        .enumerate()
        .all(|(i, g)| grants[..i].iter().all(|h| h.node != g.node));
    count == d.gpus
        && distinct
        && grants.iter().all(|g| {
            Some(free.node_model(g.node)) == model
                && job.request.models.allows(free.node_model(g.node).0 as usize)
                && free
                    .node_gpu_free(g.node)
                    .iter()
                    .enumerate()
                    .all(|(i, &f)| g.gpus >> i & 1 == 0 || u32::from(f) >= d.milli_per_gpu)
        })
}
