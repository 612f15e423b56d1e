//! The seam through which models beside the scheduler (power today; network,
//! reliability, serving and fleet changes as they come) take part in a run.
//!
//! The core owns time, the event queue, the free-capacity index and job state. A model
//! implements [`Model`]: it hears about starts and stops, gets its own timed events, may
//! veto a placement, settles what changed after each batch of simultaneous events, and
//! hands its outputs over at the end. What a model may see and do during a call is
//! [`ModelCtx`]: read-only views of the cluster and the running jobs, and a few actions
//! (set its own rate factor, schedule its own event, fail a job, take a node out of
//! service) that the core applies right after the call returns, in the order issued.
//! This is SimGrid's split between the engine and its resource models, and its energy
//! plugin's subscriptions: adding a model adds a module and one registration line
//! ([`crate::scenario::Scenario::policies`]), and `sim.rs` does not grow.

use crate::engine::SimTime;
use crate::metrics::{JobRecord, Summary};
use crate::power::PowerOutput;
use crate::rate::Factor;
use crate::scheduler::{FreeCapacity, GpuGrant, QueuedJob, RunningJob};
use crate::topology::NodeId;
use crate::workload::{JobId, Workload};

/// A model's answer when asked whether a job may start on proposed grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The job may start there.
    Admit,
    /// The job may not start now, wherever it is placed; it waits.
    Refuse,
    /// Not there: the model has named nodes to avoid, and placement is asked again with
    /// them hidden.
    Reroute,
}

/// How a node leaves service ([`ModelCtx::take_out`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeOut {
    /// No new placements; jobs running there finish first (a retirement).
    Drain,
    /// At once: jobs still running there are stopped and requeued, at the cost
    /// [`Model::stop_loss`] gives (else the scenario's preemption rule), unless the
    /// model failed them first.
    Now,
}

/// What stopping a run early costs a job ([`Model::stop_loss`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StopLoss {
    /// Work of this run to redo (done since the last checkpoint), milliseconds at rate 1.
    pub lost_ms: f64,
    /// Restore time added before the job resumes, milliseconds at rate 1.
    pub restore_ms: f64,
}

/// What becomes of a job a failure stops ([`ModelCtx::fail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// It waits in the queue to resume from its last checkpoint.
    Requeue,
    /// It has hit its retry limit: it ends, failed ([`crate::metrics::Outcome::Failed`]).
    GiveUp,
}

/// A model that takes part in a run beside the scheduler.
///
/// Every method but [`Model::name`] and [`Model::finish`] has a default that does
/// nothing, so a model implements only the calls it needs.
pub trait Model {
    /// Short name, for errors and outputs.
    fn name(&self) -> &'static str;

    /// At time 0, before the first event: take nodes out of service that are not
    /// there yet, schedule the model's own timed events.
    fn on_begin(&mut self, _ctx: &mut ModelCtx<'_>) {}

    /// Until when the model's own events keep the run going once no job is left to
    /// arrive, run or wait (a budget's last month close); `None`: they never do (an
    /// endless failure process must not keep a finished run alive).
    fn horizon(&self) -> Option<SimTime> {
        None
    }

    /// Whether `job` may start on `grants`. On [`Admission::Reroute`] the model has
    /// pushed the nodes to avoid into `avoid`.
    fn admits(&mut self, _job: &QueuedJob, _grants: &[GpuGrant], _avoid: &mut Vec<NodeId>) -> Admission {
        Admission::Admit
    }

    /// This model kept `job` from starting at `now` (it waits).
    fn on_refused(&mut self, _now: SimTime, _job: JobId) {}

    /// A run of `job` started on `grants` (empty: as-recorded and unplaced).
    fn on_start(&mut self, _ctx: &mut ModelCtx<'_>, _job: JobId, _grants: &[GpuGrant]) {}

    /// A run of `job` ended: it finished, was preempted or was interrupted.
    fn on_stop(&mut self, _ctx: &mut ModelCtx<'_>, _job: JobId) {}

    /// A run of `job` is ending early (a failure, a preemption, its node taken out),
    /// `done_ms` of work into the run: what the stop costs it under this model's
    /// checkpoints, or `None` when the model keeps none for the job. Called once per
    /// such stop, just before [`Model::on_stop`]; the first model to answer decides,
    /// and without an answer the scenario's preemption rule does. Failures and
    /// preemptions share this one accounting.
    fn stop_loss(&mut self, _job: JobId, _done_ms: f64) -> Option<StopLoss> {
        None
    }

    /// One of this model's own events ([`ModelCtx::schedule`]) fell due.
    fn on_event(&mut self, _ctx: &mut ModelCtx<'_>, _token: u64) {}

    /// After each batch of simultaneous events and the scheduling pass that followed:
    /// settle what changed (throttling, link shares, ...).
    fn after_batch(&mut self, _ctx: &mut ModelCtx<'_>) {}

    /// End of the run at `end`: adds the model's figures to `summary` and its outputs to
    /// `out`.
    fn finish(
        self: Box<Self>,
        end: SimTime,
        workload: &Workload,
        jobs: &[JobRecord],
        summary: &mut Summary,
        out: &mut ModelOutputs,
    );
}

/// What the models that ran handed over at the end: one field per model.
#[derive(Debug, Clone, Default)]
pub struct ModelOutputs {
    /// Power accounting, when the run had it on.
    pub power: Option<PowerOutput>,
    /// Failures, interruptions and checkpoints, when the run had `[reliability]`.
    pub reliability: Option<crate::reliability::ReliabilityOutput>,
    /// Network accounting, when the run had the fabric on.
    pub network: Option<crate::network::NetworkOutput>,
    /// Inference services, when the scenario has `[[services]]`.
    pub serving: Option<Vec<crate::serving::engine::ServiceOutput>>,
    /// The fleet's months, when `dcsim budget` ran it.
    pub fleet: Option<crate::budget::model::FleetOutput>,
}

/// The engine state a model may read during a call (implemented by the core).
pub(crate) trait EngineView {
    fn now(&self) -> SimTime;
    fn workload(&self) -> &Workload;
    fn free(&self) -> &FreeCapacity;
    fn running(&self) -> &[RunningJob];
    fn grants(&self, job: JobId) -> &[GpuGrant];
    fn work_done_in_run_ms(&self, job: JobId) -> f64;
    fn run_work_ms(&self, job: JobId) -> f64;
}

/// A change a model asked for, applied by the core after the model's call returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Action {
    SetFactor { job: JobId, factor: Factor, value: f64 },
    Schedule { at: SimTime, token: u64 },
    Fail { job: JobId, then: AfterFailure },
    TakeOut { node: NodeId, how: TakeOut },
    BringBack { node: NodeId },
}

/// What a model sees and may do during one of its calls.
pub struct ModelCtx<'a> {
    view: &'a dyn EngineView,
    actions: &'a mut Vec<Action>,
}

impl<'a> ModelCtx<'a> {
    pub(crate) fn new(view: &'a dyn EngineView, actions: &'a mut Vec<Action>) -> Self {
        ModelCtx { view, actions }
    }

    /// The simulated time.
    pub fn now(&self) -> SimTime {
        self.view.now()
    }

    /// The workload being run.
    pub fn workload(&self) -> &Workload {
        self.view.workload()
    }

    /// Free capacity, as placement sees it.
    pub fn free(&self) -> &FreeCapacity {
        self.view.free()
    }

    /// The jobs running now.
    pub fn running(&self) -> &[RunningJob] {
        self.view.running()
    }

    /// A running job's grants, one per node; empty when it is not running.
    pub fn grants(&self, job: JobId) -> &[GpuGrant] {
        self.view.grants(job)
    }

    /// Work done since `job`'s current run started, in milliseconds at rate 1 (0 when
    /// it is not running).
    pub fn work_done_in_run_ms(&self, job: JobId) -> f64 {
        self.view.work_done_in_run_ms(job)
    }

    /// Work `job`'s current run must do to finish, in milliseconds at rate 1: what was
    /// left when it started, restore included (0 when it is not running). A model need
    /// not time anything for after a run's end.
    pub fn run_work_ms(&self, job: JobId) -> f64 {
        self.view.run_work_ms(job)
    }

    /// Sets the model's own `factor` of running `job`'s rate (ignored if the job has
    /// stopped by then). A model sets only the factor it owns.
    pub fn set_factor(&mut self, job: JobId, factor: Factor, value: f64) {
        self.actions.push(Action::SetFactor { job, factor, value });
    }

    /// Schedules one of the model's own events at `at` (not before now); it comes back
    /// through [`Model::on_event`] with `token`.
    pub fn schedule(&mut self, at: SimTime, token: u64) {
        self.actions.push(Action::Schedule { at, token });
    }

    /// A failure stops running `job` now: the work since its last checkpoint is lost
    /// and a restore added, as the models' [`Model::stop_loss`] says (the accounting
    /// preemption uses too), and the job is requeued or, at its retry limit, ends
    /// failed. Ignored if the job has stopped by then.
    pub fn fail(&mut self, job: JobId, then: AfterFailure) {
        self.actions.push(Action::Fail { job, then });
    }

    /// Takes `node` out of service: nothing new is placed on it until
    /// [`ModelCtx::bring_back`].
    pub fn take_out(&mut self, node: NodeId, how: TakeOut) {
        self.actions.push(Action::TakeOut { node, how });
    }

    /// Puts a node taken out back in service.
    pub fn bring_back(&mut self, node: NodeId) {
        self.actions.push(Action::BringBack { node });
    }
}
