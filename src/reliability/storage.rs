//! Checkpoint writes on a storage tier: each write in progress is a flow bounded by its
//! job's nodes' write bandwidth, and on a shared tier the writes share the tier's
//! aggregate bandwidth max-min fairly, solved by [`crate::sharing`] (the solver the
//! network model uses). A write's rate changes whenever another starts or ends; the
//! model re-solves and reschedules the ends then.

use super::config::StorageConfig;
use crate::engine::SimTime;
use crate::sharing::Sharing;

/// Bytes left (GB) under which a write counts as done: far below a checkpoint's size,
/// far above the rounding of a rate times a time.
const DONE_GB: f64 = 1e-6;

/// One write in progress.
#[derive(Debug, Clone, Copy)]
struct Write {
    job: u32,
    left_gb: f64,
    bound_gbps: f64,
    rate_gbps: f64,
    since: SimTime,
}

/// The checkpoint writes in progress on one storage tier.
#[derive(Debug, Clone)]
pub struct Writes {
    node_gbps: f64,
    shared_gbps: Option<f64>,
    active: Vec<Write>,
    sharing: Sharing,
}

impl Writes {
    /// No write in progress yet on the tier `cfg` describes.
    pub fn new(cfg: StorageConfig) -> Self {
        Writes {
            node_gbps: cfg.node_gbps,
            shared_gbps: cfg.shared_gbps,
            active: Vec::new(),
            sharing: Sharing::new(),
        }
    }

    /// Seconds a job on `nodes` nodes takes to write `gb` with the tier to itself: the
    /// δ of Young's and Daly's intervals.
    pub fn alone_s(&self, gb: f64, nodes: u32) -> f64 {
        let rate = self.bound(nodes).min(self.shared_gbps.unwrap_or(f64::INFINITY));
        gb / rate
    }

    fn bound(&self, nodes: u32) -> f64 {
        self.node_gbps * f64::from(nodes.max(1))
    }

    /// Charges every write its progress up to `now`.
    fn charge(&mut self, now: SimTime) {
        for w in &mut self.active {
            w.left_gb -= w.rate_gbps * (now - w.since).as_secs_f64();
            w.since = now;
        }
    }

    /// Job `job` on `nodes` nodes starts writing `gb` at `now`.
    pub fn begin(&mut self, now: SimTime, job: u32, gb: f64, nodes: u32) {
        self.charge(now);
        self.active.push(Write {
            job,
            left_gb: gb,
            bound_gbps: self.bound(nodes),
            rate_gbps: 0.0,
            since: now,
        });
    }

    /// Job `job`'s write, if it has one, is abandoned at `now` (the job stopped);
    /// whether it had one.
    pub fn abandon(&mut self, now: SimTime, job: u32) -> bool {
        self.charge(now);
        let before = self.active.len();
        self.active.retain(|w| w.job != job);
        self.active.len() != before
    }

    /// Charges every write up to `now` and moves the jobs whose write is complete to
    /// `done`, in the order they started.
    pub fn complete(&mut self, now: SimTime, done: &mut Vec<u32>) {
        self.charge(now);
        done.extend(self.active.iter().filter(|w| w.left_gb <= DONE_GB).map(|w| w.job));
        self.active.retain(|w| w.left_gb > DONE_GB);
    }

    /// Shares the tier among the writes in progress at `now` (charged by the call that
    /// changed them) and hands each job's expected end to `end`.
    pub fn solve(&mut self, now: SimTime, mut end: impl FnMut(u32, SimTime)) {
        self.sharing.clear();
        let tier = self.shared_gbps.map(|c| self.sharing.add_resource(c));
        let usage: Vec<_> = tier.into_iter().map(|t| (t, 1.0)).collect();
        for w in &self.active {
            self.sharing.add_flow(1.0, Some(w.bound_gbps), &usage);
        }
        self.sharing.solve();
        for (i, w) in self.active.iter_mut().enumerate() {
            w.rate_gbps = self.sharing.rates()[i];
            // Rounded up to the next millisecond, but not for rounding noise: 1000 GB at
            // 10/3 GB/s ends at 300,000 ms, not 300,001.
            let ms = (w.left_gb.max(0.0) / w.rate_gbps * 1000.0 - 1e-6).ceil().max(0.0);
            end(w.job, now + SimTime(ms as u64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-worked: three writes of 100 GB on a 30 GB/s tier, each bounded at 20 GB/s.
    /// Together each gets 10 GB/s and they end at 10 s; alone one ends at 5 s (its
    /// bound); a second started at 0 s beside it gets 15 GB/s, both end at 6.667 s.
    #[test]
    fn writes_share_the_tier() {
        let cfg = StorageConfig {
            node_gbps: 10.0,
            shared_gbps: Some(30.0),
            ..StorageConfig::default()
        };
        let mut w = Writes::new(cfg.clone());
        for j in 0..3 {
            w.begin(SimTime::ZERO, j, 100.0, 2);
        }
        let mut ends = Vec::new();
        w.solve(SimTime::ZERO, |j, t| ends.push((j, t)));
        assert_eq!(ends, (0..3).map(|j| (j, SimTime(10_000))).collect::<Vec<_>>());
        let mut done = Vec::new();
        w.complete(SimTime(10_000), &mut done);
        assert_eq!(done, vec![0, 1, 2]);
        assert_eq!(w.alone_s(100.0, 2), 5.0);
        let mut two = Writes::new(cfg);
        two.begin(SimTime::ZERO, 0, 100.0, 2);
        two.begin(SimTime::ZERO, 1, 100.0, 2);
        ends.clear();
        two.solve(SimTime::ZERO, |j, t| ends.push((j, t)));
        assert_eq!(ends, vec![(0, SimTime(6667)), (1, SimTime(6667))]);
        // One abandoned at 2 s (30 GB written): the other writes its last 70 GB at its
        // bound, 20 GB/s, ending at 5.5 s.
        assert!(two.abandon(SimTime(2000), 0));
        ends.clear();
        two.solve(SimTime(2000), |j, t| ends.push((j, t)));
        assert_eq!(ends, vec![(1, SimTime(5500))]);
    }
}
