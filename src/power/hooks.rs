//! Power accounting as a model of the run ([`crate::model`]): admission vetoes
//! placements that would exceed a cap, starts and stops move power through the tree,
//! and each batch settles throttling into the jobs' power factor.

use crate::engine::SimTime;
use crate::metrics::{JobRecord, Summary};
use crate::model::{Admission, Model, ModelCtx, ModelOutputs};
use crate::rate::Factor;
use crate::scheduler::{GpuGrant, QueuedJob};
use crate::topology::NodeId;
use crate::workload::{JobId, Workload};

use super::PowerRun;

impl Model for PowerRun {
    fn name(&self) -> &'static str {
        "power"
    }

    /// Admission mode: a placement over the feed's cap is refused; one over a hall's,
    /// row's or rack's is rerouted away from that part of the tree.
    fn admits(&mut self, job: &QueuedJob, grants: &[GpuGrant], avoid: &mut Vec<NodeId>) -> Admission {
        match self.over_cap(grants, job.request.demand.milli_per_gpu) {
            None => Admission::Admit,
            Some(0) => Admission::Refuse,
            Some(level) => {
                let mut under = std::mem::take(&mut self.under);
                under.clear();
                self.nodes_under(level, &mut under);
                avoid.extend(under.iter().map(|&n| NodeId(n)));
                self.under = under;
                Admission::Reroute
            }
        }
    }

    fn on_refused(&mut self, now: SimTime, job: JobId) {
        self.refuse(now, job.0);
    }

    fn on_start(&mut self, ctx: &mut ModelCtx<'_>, job: JobId, grants: &[GpuGrant]) {
        // Every run starts unthrottled (its power factor is 1); throttling lowers it at
        // the next settle.
        let spec = &ctx.workload().jobs[job.0 as usize];
        self.start(ctx.now(), job.0, grants, spec);
    }

    fn on_stop(&mut self, ctx: &mut ModelCtx<'_>, job: JobId) {
        self.stop(ctx.now(), job.0);
    }

    fn after_batch(&mut self, ctx: &mut ModelCtx<'_>) {
        let mut changes = std::mem::take(&mut self.changes);
        self.apply_loads(ctx.now());
        self.settle(ctx.now(), &mut changes);
        // Services' loads are not the core's jobs: their speeds go back by the link.
        self.route_loads(&mut changes);
        for &(job, factor) in &changes {
            ctx.set_factor(JobId(job), Factor::Power, factor);
        }
        changes.clear();
        self.changes = changes;
    }

    fn finish(
        self: Box<Self>,
        end: SimTime,
        workload: &Workload,
        _jobs: &[JobRecord],
        summary: &mut Summary,
        out: &mut ModelOutputs,
    ) {
        let power = (*self).finish(end, workload);
        summary.power = Some(power.summary.clone());
        out.power = Some(power);
    }
}
