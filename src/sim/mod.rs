//! The simulation: owns the state and the event loop, and dispatches to the models.
//!
//! Arrivals stay in the time-sorted workload and are merged with the event heap, which
//! holds only finishes, rate changes and policy wake-ups. All events at one instant are applied, then the
//! queue policy makes one scheduling pass, then the recorder notes the change point.

mod streamed;

use std::collections::BTreeMap;
use std::io;

use serde::Serialize;

use crate::engine::{prefetch, EventQueue, IdWindow, SimTime, Slab};
use crate::metrics::{
    BinnedSeries, JobRecord, Outcome, Recording, Segment, SeriesFigures, SeriesRecorder, Summary,
    SummaryBuilder, TableSink, TimeSeries,
};
use crate::model::{Action, Admission, AfterFailure, EngineView, Model, ModelCtx, ModelOutputs, TakeOut};
use crate::rate::{Factor, Rate};
use crate::scheduler::placement::TaskMix;
use crate::scheduler::whatif::{Held, WhatIf};
use crate::scheduler::{
    FinishedJob, FreeCapacity, GpuGrant, GrantStore, ModelMask, Placement, PlacementRequest, QueuePolicy,
    QueuedJob, RunningJob, SchedContext,
};
use crate::speed::SpeedTable;
use crate::topology::{Cluster, GpuModelId, NodeId};
use crate::workload::{
    ArrivalTime, Arrivals, GpuDemand, HostDemand, JobFeed, JobId, JobView, Workload, MILLI_PER_GPU,
};
use streamed::{screen, survey_key, Facts};

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
    /// Queue mode: no node (or set of nodes, for a gang larger than a node) that could
    /// hold the job's GPUs has the CPU or memory it asks for, even when empty.
    LargerThanNodes,
    /// As-recorded mode: the trace recorded no start time for the job.
    NoRecordedStart,
}

impl SkipReason {
    /// The name written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NoMatchingGpuModel => "no_matching_gpu_model",
            SkipReason::LargerThanCluster => "larger_than_cluster",
            SkipReason::LargerThanNodes => "larger_than_nodes",
            SkipReason::NoRecordedStart => "no_recorded_start",
        }
    }
}

/// What preemption costs (Tiresias, NSDI 2019, and Gandiva, OSDI 2018, model it as a
/// checkpoint-and-restore; the defaults make it free, so set both for realism).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreemptionCost {
    /// Jobs checkpoint every this many seconds of work; a preempted job loses the work
    /// done since its last checkpoint. 0: it checkpoints when preempted and loses nothing.
    #[serde(default)]
    pub checkpoint_interval_s: f64,
    /// Seconds a restarted job spends restoring its checkpoint, holding its GPUs.
    #[serde(default)]
    pub restore_s: f64,
}

/// Which GPU model a job is placed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelChoice {
    /// The placement policy chooses among the job's allowed models.
    #[default]
    Placement,
    /// Heterogeneity-aware: the job's allowed models are tried fastest first for its
    /// class ([`SpeedTable::fastest_first`]), the placement policy choosing the GPUs
    /// within each, as Gavel (OSDI 2020) makes a policy heterogeneity-aware by using
    /// each job's throughput on each GPU type.
    Fastest,
}

/// Settings of one run that are not policies.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SimConfig {
    /// How jobs get their start times.
    pub mode: Mode,
    /// What preemption costs.
    pub preemption: PreemptionCost,
    /// Which GPU model a job is placed on.
    pub model_choice: ModelChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Finish {
        job: u32,
        generation: u32,
    },
    FactorChange {
        job: u32,
        factor: Factor,
        value_bits: u64,
    },
    Wake,
    /// One of a model's own events.
    Model {
        model: u16,
        token: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Waiting,
    Running,
    Done,
    /// Ended by a failure at its retry limit.
    Failed,
    Skipped(SkipReason),
}

/// Not running: the sentinel in [`JobState::running_pos`].
const NOT_RUNNING: u32 = u32::MAX;

/// A job's GPU model in two bytes: [`GpuModelId`], or none ([`LastModel::NONE`]; a
/// cluster has at most 64 models, [`ModelMask`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LastModel(u16);

impl LastModel {
    /// No model: the job never ran, or ran unplaced.
    const NONE: LastModel = LastModel(u16::MAX);

    fn of(model: Option<GpuModelId>) -> Self {
        model.map_or(LastModel::NONE, |m| LastModel(m.0))
    }

    fn get(self) -> Option<GpuModelId> {
        (self != LastModel::NONE).then_some(GpuModelId(self.0))
    }
}

/// Aligned to a cache line, which it fills: a finish reads one line of a job's state,
/// not two (the window of jobs is far larger than the cache, so each is a miss).
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct JobState {
    status: Status,
    models: ModelMask,
    first_start: SimTime,
    /// Work left at `last_update`, in milliseconds at rate 1.0.
    remaining_ms: f64,
    /// While running: the slot of its current run in [`Core::runs`].
    run: u32,
    /// When work was last charged; for a finished job, its end.
    last_update: SimTime,
    generation: u32,
    /// Grants of its last run (0 if it never ran, or ran unplaced).
    grant_len: u32,
    model: LastModel,
    busy_ms: u64,
    preemptions: u32,
    /// While running: its index in [`Core::running`]; else [`NOT_RUNNING`]. Kept here,
    /// not in its [`Run`], so that moving another job in `running` touches one record.
    running_pos: u32,
}

// Every job in the window holds one: kept small (issue 17's memory per job in flight).
const _: () = assert!(std::mem::size_of::<JobState>() == 64);

/// What stopping early cost a job, kept only for jobs that were stopped early
/// ([`Core::setbacks`]).
#[derive(Debug, Clone, Copy, Default)]
struct Setback {
    /// Work lost so far (to be redone), in milliseconds at rate 1.0.
    lost_work_ms: f64,
    /// Restore time to add when the job next starts.
    restore_ms: f64,
}

/// The state of a job's current run, held only while it runs ([`Core::runs`]): per-job
/// state of every job in the workload stays small. Aligned to a cache line, which it
/// fits: a finish reads one line of its run.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct Run {
    /// When the run started.
    start: SimTime,
    /// Work left when the run started (to measure progress since then).
    work_at_start: f64,
    /// The run's rate: a product of factors, each owned by one model.
    rate: Rate,
    /// Offset of its grants in [`Core::grants`].
    grants: u32,
}

const _: () = assert!(std::mem::size_of::<Run>() == 64);

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// One record per job, in job-id order (empty unless the [`Recording`] keeps jobs).
    pub jobs: Vec<JobRecord>,
    /// Every stretch of time a job held GPUs, in the order they ended (empty unless the
    /// [`Recording`] keeps segments).
    pub segments: Vec<Segment>,
    /// The GPU grants the segments index (one per node; empty when the segments are).
    pub grants: Vec<GpuGrant>,
    /// The cluster state at every change point (empty unless the [`Recording`] keeps
    /// change points).
    pub series: TimeSeries,
    /// The cluster state binned into fixed intervals, when the [`Recording`] asks so.
    pub series_intervals: Option<BinnedSeries>,
    /// The series' figures, kept whatever the [`Recording`]: its integrals and end.
    pub figures: SeriesFigures,
    /// Headline statistics.
    pub summary: Summary,
    /// Events processed (arrivals, finishes, rate changes, wake-ups), stale ones excluded.
    pub events: u64,
    /// What the models that ran (power, ...) handed over.
    pub models: ModelOutputs,
}

/// Everything the scheduling pass touches, apart from the queue policy itself.
struct Core<'a> {
    /// The workload (for a streamed run, its frame: tenants and names, no jobs).
    workload: &'a Workload,
    /// The jobs' specs by id.
    feed: JobFeed<'a>,
    config: SimConfig,
    free: FreeCapacity,
    placement: Box<dyn Placement>,
    /// Each job's status before the run: pending, or skipped and why (empty for a
    /// streamed run, which looks it up in `screened` as each job is created).
    initial: Vec<Status>,
    /// A streamed run's status before the run of generated jobs, by demand (the only
    /// field of their [`SurveyKey`] that varies).
    screened: BTreeMap<GpuDemand, Status>,
    /// The cluster's GPU model of each of the workload's GPU types, and every model:
    /// what a job's allowed models are resolved from.
    model_of_type: Vec<Option<GpuModelId>>,
    all_models: ModelMask,
    /// The state of the jobs in flight: created as jobs arrive (in id order, with those
    /// skipped before them), retired in id order once ended ([`Simulation::retire`]).
    jobs: IdWindow<JobState>,
    /// The current run of each running job ([`JobState::run`]).
    runs: Slab<Run>,
    /// What stopping early cost each job in the window that was stopped early.
    setbacks: BTreeMap<u32, Setback>,
    grants: GrantStore,
    /// Ended runs, when the [`Recording`] keeps them (`keep_segments`).
    segments: Vec<Segment>,
    keep_segments: bool,
    scratch: Vec<GpuGrant>,
    /// Victims of the eviction being weighed ([`SchedContext::start_preempting`]).
    held: Vec<Held>,
    /// Victims released for the asks about one waiting job, until the policy ends them
    /// ([`SchedContext::end_preempting`]).
    whatif: WhatIf,
    events: EventQueue<Event>,
    now: SimTime,
    busy_milli: u64,
    busy_by_model: Vec<u64>,
    running: Vec<RunningJob>,
    finished: Vec<QueuedJob>,
    wake: bool,
    /// The models beside the scheduler ([`Simulation::with_model`]).
    models: Vec<Box<dyn Model>>,
    /// Actions the models asked for, with the asking model's index, not yet applied.
    pending: Vec<(u16, Action)>,
    /// Scratch: the actions of one model call.
    asked: Vec<Action>,
    /// Jobs stopped by a failure or a node taken out, to hand back to the queue policy.
    requeued: Vec<QueuedJob>,
    /// Whether a model's action changed what can run (an interruption, a node taken out
    /// or brought back), so the scheduler must look again at this instant.
    reshaped: bool,
    /// Per node: whether it is out of service, and the free capacity hidden from
    /// placement meanwhile.
    out_of_service: Vec<bool>,
    out_hidden: Vec<Vec<(GpuGrant, u32)>>,
    /// Running jobs whose rate changed since the queue policy was last told (it may
    /// hold their expected ends, as EASY's reservation does).
    rate_changed: Vec<u32>,
    /// GPU speeds per class and model: the speed factor of each run.
    speeds: SpeedTable,
    /// Admission rerouting: free capacity hidden from placement (grant, thousandths
    /// per GPU), and the nodes a model asked to avoid.
    hidden: Vec<(GpuGrant, u32)>,
    avoid: Vec<NodeId>,
    /// The earliest wake-up placement asked for and not yet passed (a job held back for
    /// locality relaxes then), so that one pending wake-up serves every such job.
    placement_wake: SimTime,
}

/// Where retired jobs' records go: the summary always, the table sink when the level
/// writes them, and the run's output when kept ([`Simulation::run_into`]).
struct Retired {
    summary: SummaryBuilder,
    jobs: Vec<JobRecord>,
    keep_jobs: bool,
    write_jobs: bool,
}

impl Retired {
    fn take(
        &mut self,
        r: JobRecord,
        feed: &JobFeed,
        tables: Option<&mut (dyn TableSink + '_)>,
    ) -> io::Result<()> {
        self.summary.add(&r);
        if let Some(t) = tables.filter(|_| self.write_jobs) {
            t.job(&r, &feed.spec(r.id.0))?;
        }
        if self.keep_jobs {
            self.jobs.push(r);
        }
        Ok(())
    }
}

/// Final change-point rows a run streaming its tables holds before handing them over.
const SERIES_BLOCK: usize = 4096;

/// How many times admission asks placement again, each time hiding the nodes a model
/// asked to avoid (power: the part of the tree whose cap the last proposal would
/// exceed), before the job waits.
pub const REROUTES: u32 = 8;

/// Hides node `n`'s free capacity from placement by allocating it, recording what was
/// taken in `hidden` so it can be given back.
fn hide_node(free: &mut FreeCapacity, n: NodeId, hidden: &mut Vec<(GpuGrant, u32)>) {
    let gpus = free.node_gpus(n) as usize;
    let full = MILLI_PER_GPU as u16;
    let whole = (0..gpus)
        .filter(|&g| free.node_gpu_free(n)[g] == full)
        .fold(0u64, |m, g| m | 1 << g);
    if whole != 0 {
        let grant = GpuGrant { node: n, gpus: whole };
        free.allocate(grant, MILLI_PER_GPU);
        hidden.push((grant, MILLI_PER_GPU));
    }
    // What remains free is partial shares, one GPU at a time.
    for g in 0..gpus {
        let f = u32::from(free.node_gpu_free(n)[g]);
        if f > 0 {
            let grant = GpuGrant {
                node: n,
                gpus: 1 << g,
            };
            free.allocate(grant, f);
            hidden.push((grant, f));
        }
    }
}

/// What [`Simulation::assemble`] puts together.
struct Parts<'a, 'c> {
    cluster: &'c Cluster,
    workload: &'a Workload,
    feed: JobFeed<'a>,
    queue: Box<dyn QueuePolicy>,
    placement: Box<dyn Placement>,
    config: SimConfig,
    free: FreeCapacity,
    speeds: SpeedTable,
    initial: Vec<Status>,
    screened: BTreeMap<GpuDemand, Status>,
    model_of_type: Vec<Option<GpuModelId>>,
    all_models: ModelMask,
    arrivals: Arrivals,
    facts: Option<Facts>,
}

/// One simulation run of a workload on a cluster under a queue and a placement policy.
pub struct Simulation<'a> {
    core: Core<'a>,
    queue: Box<dyn QueuePolicy>,
    /// The jobs not skipped, in arrival order: submit order, or recorded start in
    /// as-recorded mode.
    arrivals: Arrivals,
    /// The whole workload's facts, for a streamed run.
    facts: Option<Facts>,
    /// A streamed run's next arrival, as last found (valid while the cursor is there).
    peeked: Option<(SimTime, u32)>,
    cluster_gpus: u64,
    /// What the run keeps (see [`Simulation::with_recording`]).
    recording: Recording,
}

impl<'a> Simulation<'a> {
    /// Prepares a run. Jobs the cluster can never host are marked skipped (with a
    /// reason) rather than failing the run.
    ///
    /// # Panics
    ///
    /// If the workload's speeds cannot be set up on the cluster ([`SpeedTable::new`]
    /// fails): `Scenario::prepare` checks this first and reports it.
    pub fn new(
        cluster: &Cluster,
        workload: &'a Workload,
        mut queue: Box<dyn QueuePolicy>,
        placement: Box<dyn Placement>,
        config: SimConfig,
    ) -> Self {
        queue.bind_tenants(&workload.tenants);
        let speeds = SpeedTable::new(cluster, workload).unwrap_or_else(|e| panic!("{e}"));
        let mut free = FreeCapacity::new(cluster, workload.jobs.iter().any(|j| !j.demand.is_whole()));
        if workload.jobs.iter().any(|j| !j.host.is_none()) {
            free.track_host(cluster);
        }
        placement.prepare(&mut free);
        let mut hostable: BTreeMap<(u64, u32, HostDemand), bool> = BTreeMap::new();
        let model_of_type: Vec<Option<GpuModelId>> = workload
            .gpu_types
            .iter()
            .map(|t| cluster.model_by_name(t))
            .collect();
        let all_models = ModelMask(free.models().fold(0, |m, id| m | 1 << id.0));
        let initial: Vec<Status> = workload
            .jobs
            .iter()
            .map(|spec| {
                let models = ModelMask::resolve(spec.gpu_types, &model_of_type, all_models);
                screen(&survey_key(spec), models, &free, config.mode, &mut hostable)
            })
            .collect();
        // Fragmentation (FGD's measure) is kept for GPU-sharing workloads, where it is
        // what the measure was defined for, and for policies that score by it; its upkeep
        // is about a fifth of a whole-GPU replay's time, so other runs skip it.
        let track_frag = workload.jobs.iter().any(|j| !j.demand.is_whole()) || placement.uses_task_mix();
        if track_frag {
            free.track_fragmentation(TaskMix::from_requests(
                cluster.models.len(),
                workload
                    .jobs
                    .iter()
                    .zip(&initial)
                    .filter(|&(_, &s)| s == Status::Pending)
                    .map(|(spec, _)| PlacementRequest {
                        tp: 1,
                        demand: spec.demand,
                        models: ModelMask::resolve(spec.gpu_types, &model_of_type, all_models),
                        host: spec.host,
                    }),
            ));
        }
        let arrival_time: ArrivalTime = match config.mode {
            Mode::Queue => |spec| spec.submit,
            Mode::AsRecorded => |spec| spec.recorded_start.unwrap_or(spec.submit),
        };
        let arrivals = Arrivals::new(&workload.jobs, |i| initial[i] == Status::Pending, arrival_time);
        Simulation::assemble(Parts {
            cluster,
            workload,
            feed: JobFeed::Whole(&workload.jobs),
            queue,
            placement,
            config,
            free,
            speeds,
            initial,
            screened: BTreeMap::new(),
            model_of_type,
            all_models,
            arrivals,
            facts: None,
        })
    }

    /// The simulation of a run whose set-up is done.
    fn assemble(p: Parts<'a, '_>) -> Self {
        let models = p.cluster.models.len();
        Simulation {
            core: Core {
                workload: p.workload,
                feed: p.feed,
                config: p.config,
                free: p.free,
                placement: p.placement,
                initial: p.initial,
                screened: p.screened,
                model_of_type: p.model_of_type,
                all_models: p.all_models,
                jobs: IdWindow::default(),
                runs: Slab::default(),
                setbacks: BTreeMap::new(),
                // Sized by `run`, once the recording says what is kept.
                grants: GrantStore::new(true, 0),
                segments: Vec::new(),
                keep_segments: true,
                scratch: Vec::new(),
                held: Vec::new(),
                whatif: WhatIf::default(),
                events: EventQueue::new(),
                now: SimTime::ZERO,
                busy_milli: 0,
                busy_by_model: vec![0; models],
                running: Vec::new(),
                finished: Vec::new(),
                wake: false,
                placement_wake: SimTime::ZERO,
                models: Vec::new(),
                pending: Vec::new(),
                asked: Vec::new(),
                requeued: Vec::new(),
                reshaped: false,
                out_of_service: vec![false; p.cluster.nodes.len()],
                out_hidden: vec![Vec::new(); p.cluster.nodes.len()],
                rate_changed: Vec::new(),
                speeds: p.speeds,
                hidden: Vec::new(),
                avoid: Vec::new(),
            },
            queue: p.queue,
            arrivals: p.arrivals,
            facts: p.facts,
            peeked: None,
            cluster_gpus: p.cluster.total_gpus(),
            recording: Recording::default(),
        }
    }

    /// Jobs that cannot run on this cluster, counted by reason.
    pub fn unrunnable(&self) -> std::collections::BTreeMap<&'static str, u64> {
        if let Some(f) = &self.facts {
            return f.skipped.clone();
        }
        let mut out = std::collections::BTreeMap::new();
        for s in &self.core.initial {
            if let Status::Skipped(r) = s {
                *out.entry(r.as_str()).or_insert(0) += 1;
            }
        }
        out
    }

    /// Adds a model beside the scheduler (power, ...; see [`crate::model`]). Models
    /// are called in the order they were added.
    pub fn with_model(mut self, model: Box<dyn Model>) -> Self {
        self.core.models.push(model);
        self
    }

    /// Adds models in order ([`Simulation::with_model`]).
    pub fn with_models(mut self, models: Vec<Box<dyn Model>>) -> Self {
        self.core.models.extend(models);
        self
    }

    /// Schedules a change of one factor of a job's rate (work done per unit of time)
    /// at `at`; the other factors keep their values.
    ///
    /// The elapsed time is charged at the old rate and the finish is rescheduled; a job
    /// not running at `at` is unaffected. Every model that changes a job's pace acts
    /// through this one mechanism, each on its own [`Factor`].
    pub fn schedule_factor_change(&mut self, at: SimTime, job: JobId, factor: Factor, value: f64) {
        self.core.events.push(
            at,
            Event::FactorChange {
                job: job.0,
                factor,
                value_bits: value.to_bits(),
            },
        );
    }

    /// Keeps only what `recording` asks for (default: every record and change point), and
    /// measures its utilization window.
    pub fn with_recording(mut self, recording: Recording) -> Self {
        self.recording = recording;
        self
    }

    /// The first and last submission of the jobs that run (those not skipped): the
    /// window utilization is measured over by default. With none, the first submission
    /// of any job (or 0), twice.
    fn arrival_window(&self) -> (SimTime, SimTime) {
        if let Some(f) = &self.facts {
            let first = f.first_submit.unwrap_or(SimTime::ZERO);
            return f.window.unwrap_or((first, first));
        }
        let submits = (self.core.workload.jobs.iter())
            .zip(&self.core.initial)
            .filter(|&(_, &s)| s == Status::Pending)
            .map(|(spec, _)| spec.submit);
        let window = submits.fold(None, |w: Option<(SimTime, SimTime)>, t| {
            Some(w.map_or((t, t), |(a, b)| (a.min(t), b.max(t))))
        });
        window.unwrap_or_else(|| {
            let first = self.core.workload.jobs.iter().map(|j| j.submit).min();
            let first = first.unwrap_or(SimTime::ZERO);
            (first, first)
        })
    }

    /// Runs to the end: until every job has finished. `progress` is called now and then
    /// with the number of jobs that have arrived.
    pub fn run(self, progress: &mut dyn FnMut(u64)) -> RunOutput {
        match self.run_into(progress, None) {
            Ok(out) => out,
            Err(e) => unreachable!("a run without a table sink writes nothing: {e}"),
        }
    }

    /// [`Simulation::run`], handing the job records and change-point rows the
    /// [`Recording`] keeps to `tables` as they become final instead of keeping them in
    /// the [`RunOutput`] (whose `jobs` and `series` are then empty), so memory follows the
    /// jobs in flight. Records a model reads at its finish are kept all the same. The
    /// first error `tables` returns stops the run and is returned.
    pub fn run_into(
        mut self,
        progress: &mut dyn FnMut(u64),
        mut tables: Option<&mut dyn TableSink>,
    ) -> io::Result<RunOutput> {
        let mut series = SeriesRecorder::new(
            self.core.busy_by_model.len(),
            self.core.free.tracks_fragmentation(),
            &self.recording,
            self.arrival_window(),
            2 * self.arrivals.count() + 1,
        );
        let keep_segments = self.recording.keep_segments;
        let expected = if keep_segments { self.arrivals.count() } else { 0 };
        self.core.keep_segments = keep_segments;
        self.core.grants = GrantStore::new(keep_segments, expected);
        self.core.segments = Vec::with_capacity(expected);
        let mut events = 0u64;
        let mut last_progress = 0u64;
        let workload = self.core.workload;
        let n = self.core.feed.len();
        // Records go to the summary as jobs retire, in id order, and to the table sink
        // when the level writes them; models read them when they finish, so they are
        // kept whenever a model runs.
        let write_jobs = self.recording.level.keeps_jobs();
        let keep_jobs = (write_jobs && tables.is_none()) || !self.core.models.is_empty();
        let mut sink = Retired {
            summary: SummaryBuilder::new(workload.tenants.len(), n),
            jobs: Vec::with_capacity(if keep_jobs { n } else { 0 }),
            keep_jobs,
            write_jobs,
        };
        self.core.notify(|m, ctx| m.on_begin(ctx));
        self.settle_actions();
        let horizon = (self.core.models.iter())
            .filter_map(|m| m.horizon())
            .max()
            .unwrap_or(SimTime::ZERO);
        loop {
            let t_arrival = self.next_arrival().map(|a| a.0);
            let idle = t_arrival.is_none() && self.core.running.is_empty() && self.queue.is_empty();
            if idle && self.core.events.peek_time().is_none_or(|t| t > horizon) {
                // Models' own timers (failures, repairs) keep a run alive only up to the
                // models' horizon: past it, it ends when no job is left to arrive, run
                // or wait.
                break;
            }
            let t_event = self.core.events.peek_time();
            let now = match (t_arrival, t_event) {
                (None, None) => break,
                (Some(a), None) => a,
                (None, Some(e)) => e,
                (Some(a), Some(e)) => a.min(e),
            };
            self.core.now = now;
            let events_before = events;
            while self.core.events.peek_time() == Some(now) {
                let Some(ev) = self.core.events.pop() else { break };
                if self.core.apply(ev.event) {
                    events += 1;
                }
                self.settle_actions();
            }
            for &job in &self.core.finished {
                self.queue.on_finish(&FinishedJob { job, end: now });
            }
            self.core.finished.clear();
            self.core.tell_rate_changes(&mut *self.queue);
            while let Some((t, job)) = self.next_arrival() {
                if t != now {
                    break;
                }
                self.arrivals.take();
                events += 1;
                self.core.ensure(job);
                match self.core.config.mode {
                    Mode::Queue => {
                        self.core.jobs[job].status = Status::Waiting;
                        self.queue.enqueue(self.core.queued(job));
                    }
                    Mode::AsRecorded => self.core.start_as_recorded(job),
                }
            }
            if !self.queue.is_empty() || std::mem::take(&mut self.core.wake) {
                self.queue.schedule(&mut self.core);
                // A policy that left an eviction's victims released (it never called
                // end_preempting) cannot carry them past its pass.
                self.core.end_preempting();
                self.settle_actions();
            }
            if events != events_before && !self.core.models.is_empty() {
                self.core.notify(|m, ctx| m.after_batch(ctx));
                self.settle_actions();
            }
            if std::mem::take(&mut self.core.reshaped) {
                // Capacity changed under the scheduler: it looks again at this instant.
                self.core.events.push(now, Event::Wake);
            }
            let c = &self.core;
            let running = c.running.len() as u32;
            series.record(
                now,
                c.busy_milli,
                &c.busy_by_model,
                self.queue.len() as u32,
                running,
                c.free.frag_micro() / 1000,
            );
            self.retire(false, &mut sink, tables.as_deref_mut())?;
            if let Some(t) = tables.as_deref_mut() {
                series.hand_over(SERIES_BLOCK, |rows| t.series(rows))?;
            }
            if events - last_progress >= 1 << 16 {
                if let Some(t) = tables.as_deref_mut() {
                    t.check()?;
                }
                last_progress = events;
                progress(self.arrivals.position() as u64);
            }
        }
        progress(self.arrivals.position() as u64);
        let (figures, series, series_intervals) = series.finish();
        if let Some(last) = (n as u32).checked_sub(1) {
            self.core.ensure(last);
        }
        self.retire(true, &mut sink, tables.as_deref_mut())?;
        let series = match tables {
            Some(t) if self.recording.level.keeps_series() => {
                let empty = TimeSeries::new(series.models, series.frag_tracked);
                t.series(series)?;
                empty
            }
            _ => series,
        };
        let Retired { summary, jobs, .. } = sink;
        let mut summary = summary.finish(workload, &figures, self.cluster_gpus);
        // The last change point: stale finish events can pop later and change nothing.
        let end = figures.end.unwrap_or(self.core.now);
        let mut models = ModelOutputs::default();
        for m in std::mem::take(&mut self.core.models) {
            m.finish(end, workload, &jobs, &mut summary, &mut models);
        }
        Ok(RunOutput {
            jobs,
            segments: self.core.segments,
            grants: self.core.grants.into_history(),
            series,
            series_intervals,
            figures,
            summary,
            events,
            models,
        })
    }

    /// Hands the record of each job at the front of the window whose state is final
    /// (ended, failed or skipped), or of every job created when `all`, to `sink` in id
    /// order, and forgets its state: per-job state follows the jobs in flight.
    fn retire(
        &mut self,
        all: bool,
        sink: &mut Retired,
        mut tables: Option<&mut (dyn TableSink + '_)>,
    ) -> io::Result<()> {
        while let Some(s) = self.core.jobs.front() {
            if !all && !matches!(s.status, Status::Done | Status::Failed | Status::Skipped(_)) {
                break;
            }
            let id = self.core.jobs.base();
            if let Some(s) = self.core.jobs.pop_front() {
                sink.take(self.core.record(id, &s), &self.core.feed, tables.as_deref_mut())?;
                self.core.setbacks.remove(&id);
                self.core.feed.release(id);
            }
        }
        Ok(())
    }

    /// The next job to arrive and its arrival time, if any.
    fn next_arrival(&mut self) -> Option<(SimTime, u32)> {
        let core = &mut self.core;
        match &core.feed {
            JobFeed::Whole(jobs) => (self.arrivals).peek(jobs, |i| core.initial[i] == Status::Pending),
            // Streamed: queue mode, so jobs arrive in id order at their submission. The
            // answer is kept until the cursor moves: the loop asks several times an event.
            JobFeed::Stream(_) => {
                if let Some(p) = self.peeked.filter(|p| p.1 as usize == self.arrivals.position()) {
                    return Some(p);
                }
                loop {
                    let id = self.arrivals.position() as u32;
                    if !core.feed.reach(id) {
                        return None;
                    }
                    let job = core.feed.view(id);
                    if core.screened[&job.demand] == Status::Pending {
                        self.peeked = Some((job.submit, id));
                        return self.peeked;
                    }
                    self.arrivals.take();
                }
            }
        }
    }

    /// Applies the actions the models asked for and hands jobs they interrupted back to
    /// the queue policy.
    fn settle_actions(&mut self) {
        self.core.apply_actions();
        for job in self.core.requeued.drain(..) {
            self.queue.enqueue(job);
        }
    }
}

impl Core<'_> {
    /// Creates the state of each job up to `job` not yet created: jobs arrive in id
    /// order (those skipped before them included), except as recorded.
    fn ensure(&mut self, job: u32) {
        while self.jobs.end() <= job {
            let id = self.jobs.end();
            self.feed.reach(id);
            let spec = self.feed.view(id);
            let status = match self.feed {
                JobFeed::Whole(_) => self.initial[id as usize],
                JobFeed::Stream(_) => self.screened[&spec.demand],
            };
            self.jobs.push(JobState {
                status,
                models: ModelMask::resolve(spec.gpu_types, &self.model_of_type, self.all_models),
                first_start: SimTime::MAX,
                remaining_ms: spec.duration.as_ms() as f64,
                run: 0,
                last_update: SimTime::ZERO,
                generation: 0,
                grant_len: 0,
                model: LastModel::NONE,
                busy_ms: 0,
                preemptions: 0,
                running_pos: NOT_RUNNING,
            });
        }
    }

    /// What placement is asked for `job`.
    fn request(&self, job: u32) -> PlacementRequest {
        self.request_of(job, &self.feed.view(job))
    }

    /// [`Core::request`], given `job`'s spec.
    fn request_of(&self, job: u32, spec: &JobView) -> PlacementRequest {
        PlacementRequest {
            tp: spec.tp,
            demand: spec.demand,
            models: self.jobs[job].models,
            host: spec.host,
        }
    }

    fn queued(&self, job: u32) -> QueuedJob {
        self.queued_of(job, &self.feed.view(job))
    }

    /// [`Core::queued`], given `job`'s spec.
    fn queued_of(&self, job: u32, spec: &JobView) -> QueuedJob {
        let s = &self.jobs[job];
        QueuedJob {
            id: spec.id,
            submit: spec.submit,
            request: self.request_of(job, spec),
            tenant: spec.tenant,
            user: spec.user,
            priority: spec.priority,
            duration: spec.duration,
            remaining: SimTime(s.remaining_ms.ceil() as u64),
            attained_gpu_ms: attained_gpu_ms(s.busy_ms, spec.demand),
            preemptions: s.preemptions,
        }
    }

    /// Applies one popped event; false if it was stale.
    fn apply(&mut self, event: Event) -> bool {
        match event {
            Event::Finish { job, generation } => {
                // The next finish's job state is most likely far back in the window and
                // cold: fetched while this one is handled.
                if let Some(&Event::Finish { job: next, .. }) = self.events.peek_soon() {
                    self.jobs.prefetch(next);
                }
                // A job retired has ended: its events are stale.
                let Some(s) = self.jobs.get(job) else { return false };
                if s.status != Status::Running || s.generation != generation {
                    return false;
                }
                // What stopping reads next, fetched together rather than one after another.
                prefetch(&self.runs[s.run]);
                prefetch(&self.running[s.running_pos as usize]);
                let queued = self.stop(job);
                self.jobs[job].status = Status::Done;
                self.finished.push(queued);
                true
            }
            Event::FactorChange {
                job,
                factor,
                value_bits,
            } => {
                if self.jobs.get(job).map(|s| s.status) != Some(Status::Running) {
                    return false;
                }
                self.set_factor(job, factor, f64::from_bits(value_bits));
                true
            }
            Event::Wake => {
                self.wake = true;
                true
            }
            Event::Model { model, token } => {
                self.notify_one(usize::from(model), |m, ctx| m.on_event(ctx, token));
                true
            }
        }
    }

    /// Charges the work done since the last update at the current rate.
    fn charge(&mut self, job: u32) {
        let now = self.now;
        let s = &mut self.jobs[job];
        let elapsed = (now - s.last_update).as_ms() as f64;
        s.remaining_ms = (s.remaining_ms - elapsed * self.runs[s.run].rate.get()).max(0.0);
        s.last_update = now;
    }

    /// Sets one factor of running `job`'s rate: charges the work done so far at the old
    /// rate, and if the product changed, reschedules the finish and notes the change
    /// for the queue policy.
    fn set_factor(&mut self, job: u32, factor: Factor, value: f64) {
        self.charge(job);
        let run = self.jobs[job].run;
        if self.runs[run].rate.set(factor, value) {
            self.schedule_finish(job);
            self.rate_changed.push(job);
        }
    }

    /// Tells the queue policy the new expected end of each job whose rate changed
    /// since it was last told and that still runs.
    fn tell_rate_changes(&mut self, queue: &mut dyn QueuePolicy) {
        for &job in &self.rate_changed {
            let pos = self.jobs.get(job).map_or(NOT_RUNNING, |s| s.running_pos);
            if pos != NOT_RUNNING {
                queue.on_rate_change(&self.running[pos as usize]);
            }
        }
        self.rate_changed.clear();
    }

    fn schedule_finish(&mut self, job: u32) {
        let now = self.now;
        let s = &mut self.jobs[job];
        s.generation += 1;
        let rate = self.runs[s.run].rate.get();
        let end = if rate > 0.0 {
            let end = now + SimTime((s.remaining_ms / rate).ceil() as u64);
            self.events.push(
                end,
                Event::Finish {
                    job,
                    generation: s.generation,
                },
            );
            end
        } else {
            SimTime::MAX
        };
        let pos = self.jobs[job].running_pos;
        if pos != NOT_RUNNING {
            self.running[pos as usize].expected_end = end;
        }
    }

    /// Marks `job` running with the grants in `scratch` (may be empty: unplaced).
    fn begin(&mut self, job: u32) {
        let spec = self.feed.view(job);
        let demand = spec.demand;
        let model = self.scratch.first().map(|g| self.free.node_model(g.node));
        self.free
            .allocate_job(&self.scratch, &self.request_of(job, &spec));
        let offset = self.grants.push(&self.scratch);
        if let Some(m) = model {
            self.busy_by_model[m.0 as usize] += demand.total_milli();
        }
        self.busy_milli += demand.total_milli();
        let now = self.now;
        let speed = model.map_or(1.0, |m| self.speeds.factor(spec.class, m));
        // Every run starts with all factors nominal but its GPU's speed (unplaced: 1);
        // the models set their own factors (power: at the next settle).
        let mut rate = Rate::NOMINAL;
        rate.set(Factor::Speed, speed);
        let restore = (self.setbacks.get_mut(&job)).map_or(0.0, |b| std::mem::take(&mut b.restore_ms));
        let s = &mut self.jobs[job];
        s.remaining_ms += restore;
        s.status = Status::Running;
        s.first_start = s.first_start.min(now);
        s.run = self.runs.insert(Run {
            start: now,
            work_at_start: s.remaining_ms,
            rate,
            grants: offset,
        });
        s.last_update = now;
        s.grant_len = self.scratch.len() as u32;
        s.model = LastModel::of(model);
        let grants = std::mem::take(&mut self.scratch);
        self.notify(|m, ctx| m.on_start(ctx, JobId(job), &grants));
        self.scratch = grants;
        self.jobs[job].running_pos = self.running.len() as u32;
        let snapshot = self.queued_of(job, &spec);
        self.running.push(RunningJob {
            job: snapshot,
            started: now,
            expected_end: SimTime::MAX,
            model,
        });
        self.schedule_finish(job);
    }

    /// Ends the current run of `job`: releases its GPUs and records the segment.
    /// `job` stops (finishes or is preempted): its GPUs are released. Returns the job as
    /// it stands now, built from its running entry, not from the workload (whose record
    /// is cold by the time a job ends).
    fn stop(&mut self, job: u32) -> QueuedJob {
        self.charge(job);
        self.notify(|m, ctx| m.on_stop(ctx, JobId(job)));
        let pos = std::mem::replace(&mut self.jobs[job].running_pos, NOT_RUNNING) as usize;
        let mut queued = self.running.swap_remove(pos).job;
        if let Some(moved) = self.running.get(pos) {
            self.jobs[moved.job.id.0].running_pos = pos as u32;
        }
        let demand = queued.request.demand;
        let now = self.now;
        let s = &mut self.jobs[job];
        let Run {
            start,
            grants: offset,
            ..
        } = self.runs[s.run];
        let (len, model) = (s.grant_len, s.model.get());
        self.runs.remove(s.run);
        s.busy_ms += (now - start).as_ms();
        s.generation += 1;
        if self.keep_segments {
            self.segments.push(Segment {
                job: JobId(job),
                start,
                end: now,
                first_grant: offset,
                grants: len,
                milli_per_gpu: demand.milli_per_gpu,
            });
        }
        queued.remaining = SimTime(s.remaining_ms.ceil() as u64);
        queued.attained_gpu_ms = attained_gpu_ms(s.busy_ms, demand);
        queued.preemptions = s.preemptions;
        self.free
            .release_job(self.grants.get(offset, len), &queued.request);
        for g in self.grants.get(offset, len) {
            let n = g.node.0 as usize;
            if self.out_of_service[n] {
                hide_node(&mut self.free, g.node, &mut self.out_hidden[n]);
            }
        }
        self.grants.release(offset, len);
        if let Some(m) = model {
            self.busy_by_model[m.0 as usize] -= demand.total_milli();
        }
        self.busy_milli -= demand.total_milli();
        queued
    }

    /// Asks placement for `req` (job `job`'s request, perhaps with part of the cluster
    /// hidden) on the model [`ModelChoice`] picks; the grants land in `scratch`.
    fn place(&mut self, job: u32, req: &PlacementRequest) -> bool {
        self.scratch.clear();
        let waited = self.now.saturating_sub(self.feed.view(job).submit);
        let mut retry = None;
        let placed = self.place_on_model(job, req, waited, &mut retry);
        if let Some(after) = retry.filter(|_| !placed) {
            let at = self.now + after.max(SimTime(1));
            if self.placement_wake <= self.now || at < self.placement_wake {
                self.placement_wake = at;
                self.events.push(at, Event::Wake);
            }
        }
        placed
    }

    /// [`Core::place`] on the model [`ModelChoice`] picks, for a job that has waited
    /// `waited`; `retry` as [`Placement::place_waited`] sets it.
    fn place_on_model(
        &mut self,
        job: u32,
        req: &PlacementRequest,
        waited: SimTime,
        retry: &mut Option<SimTime>,
    ) -> bool {
        match self.config.model_choice {
            ModelChoice::Placement => {
                self.placement
                    .place_waited(req, waited, &self.free, &mut self.scratch, retry)
            }
            ModelChoice::Fastest => {
                let class = self.feed.view(job).class;
                for &m in self.speeds.fastest_first(class) {
                    if !req.models.allows(usize::from(m.0)) || self.free.capacity(m) == 0 {
                        continue;
                    }
                    let one = PlacementRequest {
                        models: ModelMask(1 << m.0),
                        ..*req
                    };
                    if self
                        .placement
                        .place_waited(&one, waited, &self.free, &mut self.scratch, retry)
                    {
                        return true;
                    }
                    self.scratch.clear();
                }
                false
            }
        }
    }

    fn start_as_recorded(&mut self, job: u32) {
        let req = self.queued(job).request;
        if !self.place(job, &req) {
            self.scratch.clear();
        }
        self.begin(job);
    }

    /// Job `id`'s record, from its final state `s`.
    fn record(&self, id: u32, s: &JobState) -> JobRecord {
        let spec = self.feed.view(id);
        let ran = matches!(s.status, Status::Done | Status::Failed);
        JobRecord {
            id: spec.id,
            submit: spec.submit,
            start: ran.then_some(s.first_start),
            end: ran.then_some(s.last_update),
            busy: SimTime(s.busy_ms),
            demand: spec.demand,
            nodes: s.grant_len,
            gpu_model: s.model.get().map(|m| m.0),
            tenant: spec.tenant,
            preemptions: s.preemptions,
            lost_work: SimTime(self.setbacks.get(&id).map_or(0.0, |b| b.lost_work_ms).round() as u64),
            outcome: match s.status {
                Status::Skipped(_) => Outcome::Skipped,
                Status::Done if spec.open_ended => Outcome::Censored,
                Status::Done => Outcome::Completed,
                Status::Failed => Outcome::Failed,
                Status::Pending | Status::Waiting | Status::Running => Outcome::Unfinished,
            },
            skip_reason: match s.status {
                Status::Skipped(r) => Some(r.as_str()),
                _ => None,
            },
        }
    }
}

/// The model seam: calls into the models and the actions they ask for.
impl Core<'_> {
    /// Calls every model in turn, collecting the actions each asks for (applied later
    /// by [`Core::apply_actions`], outside the scheduling pass).
    fn notify(&mut self, mut call: impl FnMut(&mut dyn Model, &mut ModelCtx<'_>)) {
        if self.models.is_empty() {
            return;
        }
        let mut models = std::mem::take(&mut self.models);
        for (i, m) in models.iter_mut().enumerate() {
            self.call_model(i, m.as_mut(), &mut call);
        }
        self.models = models;
    }

    /// Calls model `i` alone.
    fn notify_one(&mut self, i: usize, mut call: impl FnMut(&mut dyn Model, &mut ModelCtx<'_>)) {
        let mut models = std::mem::take(&mut self.models);
        if let Some(m) = models.get_mut(i) {
            self.call_model(i, m.as_mut(), &mut call);
        }
        self.models = models;
    }

    fn call_model(
        &mut self,
        i: usize,
        model: &mut dyn Model,
        call: &mut impl FnMut(&mut dyn Model, &mut ModelCtx<'_>),
    ) {
        let mut asked = std::mem::take(&mut self.asked);
        call(model, &mut ModelCtx::new(&*self, &mut asked));
        self.pending.extend(asked.drain(..).map(|a| (i as u16, a)));
        self.asked = asked;
    }

    /// Applies the models' pending actions in the order asked, including those the
    /// applied ones lead to (a stop tells the models, who may ask for more).
    fn apply_actions(&mut self) {
        let mut k = 0;
        while let Some(&(model, action)) = self.pending.get(k) {
            k += 1;
            match action {
                Action::SetFactor { job, factor, value } => {
                    if self.jobs.get(job.0).map(|s| s.status) == Some(Status::Running) {
                        self.set_factor(job.0, factor, value);
                    }
                }
                Action::Schedule { at, token } => {
                    self.events.push(at.max(self.now), Event::Model { model, token });
                }
                Action::Fail { job, then } => self.fail(job.0, then),
                Action::TakeOut { node, how } => self.take_out(node, how),
                Action::BringBack { node } => self.bring_back(node),
            }
        }
        self.pending.clear();
    }

    /// A failure stops running `job` (see [`ModelCtx::fail`]): requeued at the cost of
    /// [`Core::preemption_loss`], or ended as failed.
    fn fail(&mut self, job: u32, then: AfterFailure) {
        if self.jobs.get(job).map(|s| s.status) != Some(Status::Running) {
            return;
        }
        let (lost, restore) = self.preemption_loss(job);
        let queued = self.requeue(job, lost, restore);
        match then {
            AfterFailure::Requeue => self.requeued.push(queued),
            AfterFailure::GiveUp => {
                self.jobs[job].status = Status::Failed;
                self.finished.push(queued);
            }
        }
        self.reshaped = true;
    }

    /// The one path by which a run ends early (preemption or interruption): stops
    /// `job`, charges up to `lost_ms` of this run's work as lost (to be redone), notes
    /// `restore_ms` to add when it resumes, and returns the job as it now waits.
    fn requeue(&mut self, job: u32, lost_ms: f64, restore_ms: f64) -> QueuedJob {
        // Progress is read while the run is held (`stop` charges again, adding nothing).
        self.charge(job);
        let s = &self.jobs[job];
        let progress = (self.runs[s.run].work_at_start - s.remaining_ms).max(0.0);
        self.stop(job);
        let s = &mut self.jobs[job];
        let lost = lost_ms.clamp(0.0, progress);
        s.remaining_ms += lost;
        let setback = self.setbacks.entry(job).or_default();
        setback.lost_work_ms += lost;
        setback.restore_ms = restore_ms.max(0.0);
        s.status = Status::Waiting;
        self.queued(job)
    }

    /// Work lost and restore time when running `job` stops early (preempted, failed,
    /// its node taken out): what the first model keeping checkpoints for it says
    /// ([`Model::stop_loss`]), else the scenario's preemption rule ([`PreemptionCost`]).
    fn preemption_loss(&mut self, job: u32) -> (f64, f64) {
        let done = self.view_work_done(job);
        let loss = (self.models.iter_mut()).find_map(|m| m.stop_loss(JobId(job), done));
        if let Some(l) = loss {
            return (l.lost_ms, l.restore_ms);
        }
        let cost = self.config.preemption;
        let interval_ms = cost.checkpoint_interval_s * 1000.0;
        let lost = if interval_ms > 0.0 {
            done % interval_ms
        } else {
            0.0
        };
        (lost, cost.restore_s * 1000.0)
    }

    /// Work done in `job`'s current run, charged up to now.
    fn view_work_done(&self, job: u32) -> f64 {
        let Some(s) = self.jobs.get(job).filter(|s| s.status == Status::Running) else {
            return 0.0;
        };
        let run = &self.runs[s.run];
        let elapsed = (self.now - s.last_update).as_ms() as f64;
        let remaining = (s.remaining_ms - elapsed * run.rate.get()).max(0.0);
        (run.work_at_start - remaining).max(0.0)
    }

    /// Takes `node` out of service (see [`ModelCtx::take_out`]).
    fn take_out(&mut self, node: NodeId, how: TakeOut) {
        let n = node.0 as usize;
        if n >= self.out_of_service.len() || self.out_of_service[n] {
            return;
        }
        self.out_of_service[n] = true;
        if how == TakeOut::Now {
            let on_node: Vec<u32> = self
                .running
                .iter()
                .map(|r| r.job.id.0)
                .filter(|&j| self.view_grants(j).iter().any(|g| g.node == node))
                .collect();
            for job in on_node {
                let (lost, restore) = self.preemption_loss(job);
                let queued = self.requeue(job, lost, restore);
                self.requeued.push(queued);
            }
        }
        hide_node(&mut self.free, node, &mut self.out_hidden[n]);
        self.reshaped = true;
    }

    /// Puts a node taken out back in service.
    fn bring_back(&mut self, node: NodeId) {
        let n = node.0 as usize;
        if n >= self.out_of_service.len() || !self.out_of_service[n] {
            return;
        }
        self.out_of_service[n] = false;
        for (g, m) in std::mem::take(&mut self.out_hidden[n]) {
            self.free.release(g, m);
        }
        self.reshaped = true;
    }

    fn view_grants(&self, job: u32) -> &[GpuGrant] {
        match self.jobs.get(job) {
            Some(s) if s.status == Status::Running => self.grants.get(self.runs[s.run].grants, s.grant_len),
            _ => &[],
        }
    }

    /// Whether every model admits `job` on the grants in `scratch` or, when one asks
    /// to reroute, on grants placement finds with the nodes it named hidden (up to
    /// [`REROUTES`] times); `scratch` then holds them. A job no model lets start is
    /// refused and waits, the refusing model told.
    fn admits(&mut self, job: &QueuedJob) -> bool {
        if self.models.is_empty() {
            return true;
        }
        // Taken out while placement is asked again (which borrows the whole core).
        let mut models = std::mem::take(&mut self.models);
        let mut ok = false;
        let mut refuser = 0;
        'attempts: for attempt in 0..=REROUTES {
            let mut reroute = false;
            for (i, m) in models.iter_mut().enumerate() {
                match m.admits(job, &self.scratch, &mut self.avoid) {
                    Admission::Admit => {}
                    Admission::Refuse => {
                        refuser = i;
                        break 'attempts;
                    }
                    Admission::Reroute => {
                        refuser = i;
                        reroute = true;
                        break;
                    }
                }
            }
            if !reroute {
                ok = true;
                break;
            }
            if attempt == REROUTES {
                break;
            }
            for k in 0..self.avoid.len() {
                hide_node(&mut self.free, self.avoid[k], &mut self.hidden);
            }
            self.avoid.clear();
            if !self.place(job.id.0, &job.request) {
                break;
            }
            self.check_contract(job);
        }
        self.avoid.clear();
        for &(g, m) in self.hidden.iter().rev() {
            self.free.release(g, m);
        }
        self.hidden.clear();
        if !ok {
            models[refuser].on_refused(self.now, job.id);
        }
        self.models = models;
        ok
    }

    /// Panics if the grants placement just proposed in `scratch` break its contract (an
    /// internal bug of the placement policy, never a user error).
    fn check_contract(&self, job: &QueuedJob) {
        assert!(
            grants_valid(&self.scratch, &self.free, job),
            "placement `{}` broke its contract for job {}: {:?}",
            self.placement.name(),
            job.id.0,
            self.scratch
        );
    }
}

impl EngineView for Core<'_> {
    fn now(&self) -> SimTime {
        self.now
    }

    fn workload(&self) -> &Workload {
        self.workload
    }

    fn free(&self) -> &FreeCapacity {
        &self.free
    }

    fn running(&self) -> &[RunningJob] {
        &self.running
    }

    fn grants(&self, job: JobId) -> &[GpuGrant] {
        self.view_grants(job.0)
    }

    fn work_done_in_run_ms(&self, job: JobId) -> f64 {
        self.view_work_done(job.0)
    }

    fn run_work_ms(&self, job: JobId) -> f64 {
        match self.jobs.get(job.0) {
            Some(s) if s.status == Status::Running => self.runs[s.run].work_at_start,
            _ => 0.0,
        }
    }
}

impl SchedContext for Core<'_> {
    fn now(&self) -> SimTime {
        self.now
    }

    fn try_start(&mut self, job: &QueuedJob) -> bool {
        self.end_preempting();
        if !self.place(job.id.0, &job.request) {
            return false;
        }
        self.check_contract(job);
        if !self.admits(job) {
            return false;
        }
        self.begin(job.id.0);
        true
    }

    fn preempt(&mut self, job: JobId) -> Option<QueuedJob> {
        self.end_preempting();
        if self.jobs.get(job.0)?.status != Status::Running {
            return None;
        }
        let (lost, restore) = self.preemption_loss(job.0);
        self.jobs[job.0].preemptions += 1;
        Some(self.requeue(job.0, lost, restore))
    }

    fn start_preempting(&mut self, job: &QueuedJob, victims: &[JobId], evicted: &mut Vec<QueuedJob>) -> bool {
        let done = self.whatif.reuse(victims, &mut self.free, self.grants.all());
        for &v in &victims[done..] {
            if self.jobs.get(v.0).map(|s| s.status) == Some(Status::Running) {
                let s = &self.jobs[v.0];
                let held = Held {
                    id: v,
                    first_grant: self.runs[s.run].grants,
                    grants: s.grant_len,
                    request: self.request(v.0),
                };
                self.whatif.release(held, &mut self.free, self.grants.all());
            }
        }
        let (placement, free) = (&mut *self.placement, &mut self.free);
        if !self.whatif.place(
            placement,
            free,
            self.grants.all(),
            &job.request,
            &mut self.held,
            &mut self.scratch,
        ) {
            return false;
        }
        // The models are asked before anyone stops, with the victims still running (power:
        // still drawing): grants admitted now stay admissible once the victims are gone.
        let mut models = std::mem::take(&mut self.models);
        let admitted = models
            .iter_mut()
            .all(|m| m.admits(job, &self.scratch, &mut self.avoid) == Admission::Admit);
        self.avoid.clear();
        self.models = models;
        if !admitted {
            return false;
        }
        for i in 0..self.held.len() {
            let v = self.held[i].id;
            evicted.extend(self.preempt(v));
        }
        self.check_contract(job);
        self.begin(job.id.0);
        true
    }

    fn end_preempting(&mut self) {
        self.whatif.restore(&mut self.free, self.grants.all());
    }

    fn running(&self) -> &[RunningJob] {
        &self.running
    }

    fn free(&self) -> &FreeCapacity {
        &self.free
    }

    fn wake_at(&mut self, at: SimTime) {
        self.events.push(at.max(self.now + SimTime(1)), Event::Wake);
    }
}

/// GPU-milliseconds of service a job has had: time held × its GPU share (a 0.1-GPU job
/// accrues a tenth of a whole GPU's), as LAS policies rank by.
fn attained_gpu_ms(busy_ms: u64, demand: GpuDemand) -> u64 {
    busy_ms * demand.total_milli() / u64::from(MILLI_PER_GPU)
}

/// Whether no node appears twice in `grants`, in time linear in their number: pairwise
/// for a few grants, else a bitmap over node ids (a 16,384-GPU job has 2,048 grants,
/// which pairwise would be about two million comparisons at every placement).
fn distinct_nodes(grants: &[GpuGrant]) -> bool {
    const PAIRWISE: usize = 8;
    if grants.len() <= PAIRWISE {
        return grants
            .iter()
            .enumerate()
            .all(|(i, g)| grants[..i].iter().all(|h| h.node != g.node));
    }
    let top = grants.iter().map(|g| g.node.0 as usize).max().unwrap_or(0);
    let mut seen = vec![0u64; top / 64 + 1];
    grants.iter().all(|g| {
        let (word, bit) = (g.node.0 as usize / 64, 1u64 << (g.node.0 % 64));
        let fresh = seen[word] & bit == 0;
        seen[word] |= bit;
        fresh
    })
}

/// The placement contract: exactly the GPUs asked for, one model, each with the share
/// free, on nodes with the CPU and memory free for their part of the job.
fn grants_valid(grants: &[GpuGrant], free: &FreeCapacity, job: &QueuedJob) -> bool {
    let d = job.request.demand;
    let host = job.request.host;
    let count: u32 = grants.iter().map(|g| g.gpus.count_ones()).sum();
    let model = grants.first().map(|g| free.node_model(g.node));
    count == d.gpus
        && distinct_nodes(grants)
        && grants.iter().all(|g| {
            Some(free.node_model(g.node)) == model
                && job.request.models.allows(free.node_model(g.node).0 as usize)
                && free.hosts(g.node, host.part(g.gpus.count_ones(), d.gpus))
                && free
                    .node_gpu_free(g.node)
                    .iter()
                    .enumerate()
                    .all(|(i, &f)| g.gpus >> i & 1 == 0 || u32::from(f) >= d.milli_per_gpu)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(nodes: &[u32]) -> Vec<GpuGrant> {
        nodes
            .iter()
            .map(|&n| GpuGrant {
                node: NodeId(n),
                gpus: 0xff,
            })
            .collect()
    }

    /// The contract's one-grant-per-node check, pairwise and through the bitmap: a
    /// repeat is caught wherever it sits, and 2,048 distinct nodes pass.
    #[test]
    fn distinct_nodes_catches_repeats_at_any_size() {
        assert!(distinct_nodes(&grants(&[])));
        assert!(distinct_nodes(&grants(&[3, 1, 2])));
        assert!(!distinct_nodes(&grants(&[3, 1, 3])));
        let mut big: Vec<u32> = (0..2048).rev().collect();
        assert!(distinct_nodes(&grants(&big)));
        big.push(2047);
        assert!(!distinct_nodes(&grants(&big)));
        assert!(!distinct_nodes(&grants(&[64, 0, 1, 2, 3, 4, 5, 6, 7, 8, 64])));
        assert!(distinct_nodes(&grants(&[
            64, 0, 1, 2, 3, 4, 5, 6, 7, 8, 63, 65, 100_000
        ])));
    }
}
