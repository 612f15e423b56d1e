//! Where a run reads its jobs' specs: a workload held whole, or a synthetic generator
//! read as the run reaches each job, holding only the varying part of the jobs in
//! flight (issue 17: a 100M-job workload held whole is ~15 GB; in flight, a generated
//! job's [`Drawn`] is 32 bytes).

use std::borrow::Cow;

use crate::engine::{IdWindow, SimTime};

use super::synthetic::{Drawn, Generator};
use super::{ClassId, GpuDemand, GpuTypeSet, HostDemand, JobId, JobSpec, TenantId, UserId};

/// What a run reads of a job's spec, by value: a streamed feed does not hold specs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobView {
    /// Dense id.
    pub id: JobId,
    /// When the job is submitted.
    pub submit: SimTime,
    /// Work at nominal speed.
    pub duration: SimTime,
    /// GPUs requested.
    pub demand: GpuDemand,
    /// CPU and memory requested.
    pub host: HostDemand,
    /// GPU models the job may run on.
    pub gpu_types: GpuTypeSet,
    /// Tenant.
    pub tenant: TenantId,
    /// Submitting user.
    pub user: Option<UserId>,
    /// Priority (higher first).
    pub priority: i32,
    /// Workload class.
    pub class: Option<ClassId>,
    /// Tensor-parallel degree (1: none).
    pub tp: u32,
    /// Whether the trace recorded no end.
    pub open_ended: bool,
}

impl JobView {
    /// The view of `spec`.
    pub fn of(spec: &JobSpec) -> Self {
        JobView {
            id: spec.id,
            submit: spec.submit,
            duration: spec.duration,
            demand: spec.demand,
            host: spec.host,
            gpu_types: spec.gpu_types,
            tenant: spec.tenant,
            user: spec.user,
            priority: spec.priority,
            class: spec.class,
            tp: spec.comm.as_deref().map_or(1, |h| h.tp.max(1)),
            open_ended: spec.open_ended,
        }
    }

    /// The view of generated job `id`, from what varies ([`Drawn::spec`] has the rest).
    pub fn generated(id: u32, d: Drawn) -> Self {
        JobView {
            id: JobId(id),
            submit: d.submit,
            duration: d.duration,
            demand: d.demand,
            host: HostDemand::NONE,
            gpu_types: GpuTypeSet::ANY,
            tenant: d.tenant,
            user: None,
            priority: 0,
            class: None,
            tp: 1,
            open_ended: false,
        }
    }
}

/// The specs of a run's jobs, by id.
pub enum JobFeed<'a> {
    /// Every job, held by the workload.
    Whole(&'a [JobSpec]),
    /// Jobs generated in id order as the run reaches them ([`JobFeed::reach`]) and
    /// dropped once the run retires them ([`JobFeed::release`]).
    Stream(Box<Stream<'a>>),
}

/// The state of a streamed feed.
pub struct Stream<'a> {
    generator: Generator<'a>,
    held: IdWindow<Drawn>,
    len: usize,
}

impl<'a> JobFeed<'a> {
    /// A feed that generates its jobs as they are reached. A clone of the generator
    /// must already have been surveyed to its end without error
    /// ([`Generator::survey`]), as `Simulation::streamed` does: the jobs are drawn
    /// again from the same streams, so no error can occur the second time.
    pub fn stream(generator: Generator<'a>) -> Self {
        let len = generator.jobs() as usize;
        JobFeed::Stream(Box::new(Stream {
            generator,
            held: IdWindow::default(),
            len,
        }))
    }

    /// Jobs in the workload.
    pub fn len(&self) -> usize {
        match self {
            JobFeed::Whole(jobs) => jobs.len(),
            JobFeed::Stream(s) => s.len,
        }
    }

    /// Whether the workload has no job.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes job `id` available to [`JobFeed::view`] (generating the jobs up to it);
    /// false if there is no such job.
    pub fn reach(&mut self, id: u32) -> bool {
        match self {
            JobFeed::Whole(jobs) => (id as usize) < jobs.len(),
            JobFeed::Stream(s) => {
                while s.held.end() <= id {
                    match s.generator.next_drawn() {
                        Some(job) => s.held.push(
                            job.expect("the generator was surveyed without error and draws the same jobs"),
                        ),
                        None => return false,
                    }
                }
                true
            }
        }
    }

    /// What the run reads of job `id`: a job of the workload, or one reached and not
    /// yet released.
    ///
    /// # Panics
    ///
    /// If a streamed job was not reached or was already released (a bug in the run).
    pub fn view(&self, id: u32) -> JobView {
        match self {
            JobFeed::Whole(jobs) => JobView::of(&jobs[id as usize]),
            JobFeed::Stream(s) => JobView::generated(id, s.held[id]),
        }
    }

    /// Job `id`'s whole spec (a streamed job's is rebuilt from what is held), for the
    /// writer of its record. Same conditions as [`JobFeed::view`].
    pub fn spec(&self, id: u32) -> Cow<'a, JobSpec> {
        match self {
            JobFeed::Whole(jobs) => Cow::Borrowed(&jobs[id as usize]),
            JobFeed::Stream(s) => Cow::Owned(s.held[id].spec(u64::from(id))),
        }
    }

    /// Drops what is held of the jobs up to `id` (streamed feeds: the run has retired
    /// them).
    pub fn release(&mut self, id: u32) {
        if let JobFeed::Stream(s) = self {
            while s.held.base() <= id && s.held.pop_front().is_some() {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;
    use crate::workload::synthetic::SyntheticConfig;

    /// A streamed feed shows each job exactly as the generated spec's view, for a
    /// configuration where every varying field varies (choice of GPUs, lognormal
    /// durations, uniform tenants), and holds only what was reached and not released.
    #[test]
    fn streamed_views_equal_the_generated_specs() {
        let cfg: SyntheticConfig = toml::from_str(
            r#"jobs = 2000
               arrival = { process = "diurnal", rate_per_hour = 600.0, peak_to_trough = 3.0 }
               gpus = { dist = "choice", values = [1, 2, 8] }
               duration = { dist = "lognormal", mu = 6.0, sigma = 2.0 }
               tenants = 5
               tenant_assignment = "uniform""#,
        )
        .unwrap();
        let streams = RngStreams::new(9);
        let whole = crate::workload::synthetic::generate(&cfg, &streams, 0, None, 0).unwrap();
        let mut feed = JobFeed::stream(Generator::new(&cfg, &streams, 0, None, 0).unwrap());
        assert_eq!(feed.len(), 2000);
        for (i, spec) in whole.jobs.iter().enumerate() {
            let id = i as u32;
            assert!(feed.reach(id));
            assert_eq!(feed.view(id), JobView::of(spec));
            if i % 3 == 2 {
                feed.release(id);
            }
        }
        assert!(!feed.reach(2000));
        let JobFeed::Stream(s) = &feed else { unreachable!() };
        assert_eq!((s.held.base(), s.held.len()), (1998, 2));
    }
}
