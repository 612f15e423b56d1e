//! The fleet as a [`Model`] of the run: drives [`FleetState`] from the engine's calls
//! and turns its actions into the engine's (drain a node, bring one back, schedule).

use super::rule::Order;
use super::state::{Action, FleetMonth, FleetState};
use crate::engine::SimTime;
use crate::metrics::{JobRecord, Summary};
use crate::model::{Model, ModelCtx, ModelOutputs, TakeOut};
use crate::scheduler::GpuGrant;
use crate::workload::{JobId, Workload};

/// What the fleet hands over at the end of a budget run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetOutput {
    /// One per month closed.
    pub months: Vec<FleetMonth>,
    /// Every order the capacity rule placed.
    pub orders: Vec<Order>,
}

/// The fleet model.
pub struct FleetModel {
    state: FleetState,
    actions: Vec<Action>,
}

impl FleetModel {
    /// The model driving `state`.
    pub fn new(state: FleetState) -> FleetModel {
        FleetModel {
            state,
            actions: Vec::new(),
        }
    }

    /// Hands the state's actions to the engine.
    fn flush(&mut self, ctx: &mut ModelCtx<'_>) {
        for a in self.actions.drain(..) {
            match a {
                Action::TakeOut(n) => ctx.take_out(n, TakeOut::Drain),
                Action::BringBack(n) => ctx.bring_back(n),
                Action::Schedule(at, token) => ctx.schedule(at, token),
            }
        }
    }
}

impl Model for FleetModel {
    fn name(&self) -> &'static str {
        "fleet"
    }

    fn horizon(&self) -> Option<SimTime> {
        Some(self.state.end())
    }

    fn on_begin(&mut self, ctx: &mut ModelCtx<'_>) {
        self.state.begin(&mut self.actions);
        self.flush(ctx);
    }

    fn on_start(&mut self, ctx: &mut ModelCtx<'_>, job: JobId, _grants: &[GpuGrant]) {
        let spec = &ctx.workload().jobs[job.0 as usize];
        let (submit, milli) = (spec.submit, spec.demand.total_milli());
        self.state.job_started(ctx.now(), job, submit, milli);
    }

    fn on_stop(&mut self, ctx: &mut ModelCtx<'_>, job: JobId) {
        self.state.job_stopped(ctx.now(), job);
    }

    fn on_event(&mut self, ctx: &mut ModelCtx<'_>, token: u64) {
        let now = ctx.now();
        self.state.on_event(now, token, ctx.workload(), &mut self.actions);
        self.flush(ctx);
    }

    fn finish(
        self: Box<Self>,
        _end: SimTime,
        _workload: &Workload,
        _jobs: &[JobRecord],
        _summary: &mut Summary,
        out: &mut ModelOutputs,
    ) {
        let (months, orders) = self.state.finish();
        out.fleet = Some(FleetOutput { months, orders });
    }
}
