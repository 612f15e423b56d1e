//! Where a run reads its jobs' specs: a workload held whole, or a synthetic generator
//! read as the run reaches each job, holding only the specs of jobs in flight
//! (issue 17: a 100M-job workload held whole is ~13.5 GB; in flight it is the jobs that
//! arrived while the oldest unfinished one ran).

use crate::engine::IdWindow;

use super::synthetic::Generator;
use super::JobSpec;

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
    held: IdWindow<JobSpec>,
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

    /// Whether specs are generated as they are reached.
    pub fn is_streamed(&self) -> bool {
        matches!(self, JobFeed::Stream(_))
    }

    /// Makes job `id`'s spec available to [`JobFeed::spec`] (generating the jobs up
    /// to it); false if there is no such job.
    pub fn reach(&mut self, id: u32) -> bool {
        match self {
            JobFeed::Whole(jobs) => (id as usize) < jobs.len(),
            JobFeed::Stream(s) => {
                while s.held.end() <= id {
                    match s.generator.next() {
                        Some(job) => s
                            .held
                            .push(job.expect("the generator was surveyed without error and draws the same jobs")),
                        None => return false,
                    }
                }
                true
            }
        }
    }

    /// Job `id`'s spec: one of the workload, or reached and not yet released.
    ///
    /// # Panics
    ///
    /// If a streamed job was not reached or was already released (a bug in the run).
    pub fn spec(&self, id: u32) -> &JobSpec {
        match self {
            JobFeed::Whole(jobs) => &jobs[id as usize],
            JobFeed::Stream(s) => &s.held[id],
        }
    }

    /// Drops the specs of jobs up to `id` (streamed feeds: the run has retired them).
    pub fn release(&mut self, id: u32) {
        if let JobFeed::Stream(s) = self {
            while s.held.base() <= id && s.held.pop_front().is_some() {}
        }
    }

    /// Specs held now (0 for a workload held whole): what the stream costs in memory.
    pub fn held(&self) -> usize {
        match self {
            JobFeed::Whole(_) => 0,
            JobFeed::Stream(s) => s.held.len(),
        }
    }
}
