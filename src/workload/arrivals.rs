//! The order in which a run's jobs arrive, without a copy of the workload when it can
//! be avoided.
//!
//! A run takes its jobs in arrival-time order, ties in id order. A loaded workload is
//! sorted by submit time with ids in that order ([`Workload::finish`]), so in queue mode
//! the workload is its own arrival list and a cursor over it is all a run needs: no
//! list of every job's (time, id) (16 bytes a job; issue 17). Other orders (recorded
//! starts, or workloads built out of order) are listed and sorted once.
//!
//! [`Workload::finish`]: super::Workload::finish

use crate::engine::SimTime;

use super::JobSpec;

/// When a job arrives: its submission, or its recorded start.
pub type ArrivalTime = fn(&JobSpec) -> SimTime;

/// A cursor over the jobs that arrive, in arrival order.
#[derive(Debug, Clone)]
pub struct Arrivals {
    time_of: ArrivalTime,
    /// (time, job) sorted by time, ties in id order; `None` when that is id order.
    listed: Option<Vec<(SimTime, u32)>>,
    /// The next position: an index into `listed`, or a job id.
    next: usize,
    count: usize,
}

impl Arrivals {
    /// The jobs `arrives` accepts, arriving at `time_of`.
    pub fn new(jobs: &[JobSpec], arrives: impl Fn(usize) -> bool, time_of: ArrivalTime) -> Self {
        let arriving = || (0..jobs.len()).filter(|&i| arrives(i));
        let count = arriving().count();
        let in_id_order = arriving().map(|i| time_of(&jobs[i])).is_sorted();
        let listed = (!in_id_order).then(|| {
            let mut list: Vec<(SimTime, u32)> = arriving().map(|i| (time_of(&jobs[i]), i as u32)).collect();
            list.sort_by_key(|&(t, _)| t); // stable: ties keep id order
            list
        });
        Arrivals {
            time_of,
            listed,
            next: 0,
            count,
        }
    }

    /// A cursor over `count` jobs known to arrive in id order (a streamed run's:
    /// [`crate::sim::Simulation::streamed`]), whose caller reads times and passes over
    /// jobs that do not arrive itself, through [`Arrivals::position`] and
    /// [`Arrivals::take`].
    pub fn in_id_order(count: usize) -> Self {
        Arrivals {
            time_of: |spec| spec.submit,
            listed: None,
            next: 0,
            count,
        }
    }

    /// The next job to arrive and its time, if any; `arrives` must say what it said to
    /// [`Arrivals::new`] for the jobs not yet taken.
    pub fn peek(&mut self, jobs: &[JobSpec], arrives: impl Fn(usize) -> bool) -> Option<(SimTime, u32)> {
        match &self.listed {
            Some(list) => list.get(self.next).copied(),
            None => {
                while self.next < jobs.len() && !arrives(self.next) {
                    self.next += 1;
                }
                jobs.get(self.next).map(|j| ((self.time_of)(j), self.next as u32))
            }
        }
    }

    /// Takes the job [`Arrivals::peek`] returned.
    pub fn take(&mut self) {
        self.next += 1;
    }

    /// How many jobs arrive in all.
    pub fn count(&self) -> usize {
        self.count
    }

    /// How far the cursor is: jobs taken (or passed over) so far.
    pub fn position(&self) -> usize {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{GpuDemand, TenantId};

    fn job(submit: u64, recorded: Option<u64>) -> JobSpec {
        JobSpec {
            recorded_start: recorded.map(SimTime),
            ..JobSpec::new("j", SimTime(submit), SimTime(1), GpuDemand::whole(1), TenantId(0))
        }
    }

    fn drain(a: &mut Arrivals, jobs: &[JobSpec], arrives: impl Fn(usize) -> bool + Copy) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        while let Some((t, j)) = a.peek(jobs, arrives) {
            out.push((t.as_ms(), j));
            a.take();
        }
        out
    }

    /// The cursor yields what sorting a list of every arriving job by time (stably)
    /// yields, whether or not the times follow id order; skipped jobs never arrive.
    #[test]
    fn the_cursor_equals_a_stable_sort() {
        let jobs: Vec<JobSpec> = [(0, Some(5)), (3, None), (3, Some(1)), (7, Some(4)), (9, Some(4))]
            .iter()
            .map(|&(s, r)| job(s, r))
            .collect();
        let arrives = |i: usize| i != 1;
        let submit: ArrivalTime = |j| j.submit;
        let recorded: ArrivalTime = |j| j.recorded_start.unwrap_or(j.submit);
        for time_of in [submit, recorded] {
            let mut expected: Vec<(u64, u32)> = (0..jobs.len())
                .filter(|&i| arrives(i))
                .map(|i| (time_of(&jobs[i]).as_ms(), i as u32))
                .collect();
            expected.sort_by_key(|&(t, _)| t);
            let mut a = Arrivals::new(&jobs, arrives, time_of);
            assert_eq!(a.count(), 4);
            assert_eq!(drain(&mut a, &jobs, arrives), expected);
        }
        // Submit order is id order: no list is made.
        assert!(Arrivals::new(&jobs, arrives, submit).listed.is_none());
        assert!(Arrivals::new(&jobs, arrives, recorded).listed.is_some());
    }
}
