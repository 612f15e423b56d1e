//! The busiest links per tier over time (`network_links.csv`): each link's utilization
//! (traffic over capacity) is piecewise constant between the batches that re-solve it;
//! per bin of fixed width and per tier, the link with the highest mean utilization in
//! the bin is kept, with that mean and its peak. Only links whose utilization changes
//! are touched, plus one step per bin a loaded link stays loaded.

use crate::engine::SimTime;

use super::contention::Tier;

/// One row of `network_links.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkRow {
    /// Start of the bin.
    pub start: SimTime,
    /// The tier.
    pub tier: Tier,
    /// The busiest link of the tier in the bin (index in the fabric's link order).
    pub link: u32,
    /// Its mean utilization over the bin, in [0, 1].
    pub mean: f64,
    /// Its highest utilization in the bin.
    pub peak: f64,
}

/// Per link: utilization now and since when, and the current bin's integral and peak.
#[derive(Debug, Clone, Copy, Default)]
struct LinkState {
    util: f64,
    since: SimTime,
    /// ∫ utilization dt over the part of bin `bin` before `since`, in ms.
    integral: f64,
    peak: f64,
    bin: u64,
}

/// Accumulates the busiest links per tier, bin by bin.
#[derive(Debug, Clone)]
pub struct LinkSeries {
    width: SimTime,
    tiers: Vec<Tier>,
    links: Vec<LinkState>,
    /// Per bin, per tier (Node, Leaf, Pod): the busiest link so far as (mean, peak, link).
    best: Vec<[Option<(f64, f64, u32)>; 3]>,
}

fn tier_index(t: Tier) -> usize {
    match t {
        Tier::Node => 0,
        Tier::Leaf => 1,
        Tier::Pod => 2,
    }
}

impl LinkSeries {
    /// Idle links of tiers `tiers` (one per link), binned every `width` (> 0).
    pub fn new(width: SimTime, tiers: Vec<Tier>) -> Self {
        LinkSeries {
            width: width.max(SimTime(1)),
            links: vec![LinkState::default(); tiers.len()],
            tiers,
            best: Vec::new(),
        }
    }

    fn bin_of(&self, t: SimTime) -> u64 {
        t.0 / self.width.0
    }

    /// Closes link `l`'s bins up to `now`, accruing its current utilization.
    fn advance(&mut self, l: usize, now: SimTime) {
        let width = self.width.0;
        let target = self.bin_of(now);
        loop {
            let s = self.links[l];
            if s.bin == target {
                let dt = now.0.saturating_sub(s.since.0) as f64;
                let st = &mut self.links[l];
                st.integral += s.util * dt;
                st.since = now;
                return;
            }
            // Close bin `s.bin`.
            let end = (s.bin + 1) * width;
            let integral = s.integral + s.util * end.saturating_sub(s.since.0) as f64;
            let mean = integral / width as f64;
            if mean > 0.0 || s.peak > 0.0 {
                self.offer(s.bin, l, mean, s.peak);
            }
            // Whole bins at a constant utilization, then the bin holding `now`.
            let next = if s.util > 0.0 { s.bin + 1 } else { target };
            let st = &mut self.links[l];
            st.bin = next;
            st.since = SimTime(next * width);
            st.integral = 0.0;
            st.peak = s.util;
        }
    }

    fn offer(&mut self, bin: u64, l: usize, mean: f64, peak: f64) {
        let b = bin as usize;
        if self.best.len() <= b {
            self.best.resize(b + 1, [None; 3]);
        }
        let slot = &mut self.best[b][tier_index(self.tiers[l])];
        if slot.is_none_or(|(m, _, k)| mean > m || (mean == m && (l as u32) < k)) {
            *slot = Some((mean, peak, l as u32));
        }
    }

    /// Link `link`'s utilization is `util` from `now` on.
    pub fn set(&mut self, link: u32, util: f64, now: SimTime) {
        let l = link as usize;
        self.advance(l, now);
        let st = &mut self.links[l];
        st.util = util;
        st.peak = st.peak.max(util);
    }

    /// The rows up to `end`, by bin then tier (node, leaf, pod).
    pub fn finish(mut self, end: SimTime) -> Vec<LinkRow> {
        for l in 0..self.links.len() {
            let s = self.links[l];
            if s.util > 0.0 || s.integral > 0.0 || s.peak > 0.0 {
                // Close the bin holding `end` as if it ended there.
                self.advance(l, end);
                let s = self.links[l];
                let span = end.0.saturating_sub(s.bin * self.width.0);
                let mean = s.integral / span.max(1) as f64;
                if span > 0 && (mean > 0.0 || s.peak > 0.0) {
                    self.offer(s.bin, l, mean, s.peak);
                }
            }
        }
        let tiers = [Tier::Node, Tier::Leaf, Tier::Pod];
        let mut rows = Vec::new();
        for (b, per_tier) in self.best.iter().enumerate() {
            for (t, slot) in per_tier.iter().enumerate() {
                if let Some((mean, peak, link)) = *slot {
                    rows.push(LinkRow {
                        start: SimTime(b as u64 * self.width.0),
                        tier: tiers[t],
                        link,
                        mean,
                        peak,
                    });
                }
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bins of 10 ms. Leaf link 1 at 0.5 from 5 to 25 ms: bin 0 mean 0.25, bin 1 mean
    /// 0.5, bin 2 mean 0.25. Leaf link 2 at 1.0 from 12 to 14 ms: bin 1 mean 0.2 (peak 1),
    /// below link 1's 0.5, so link 1 stays the busiest. Node link 0 at 0.1 over the last
    /// bin, which the run ends at 35 ms (mean over 5 ms).
    #[test]
    fn by_hand() {
        let mut s = LinkSeries::new(SimTime(10), vec![Tier::Node, Tier::Leaf, Tier::Leaf]);
        s.set(1, 0.5, SimTime(5));
        s.set(2, 1.0, SimTime(12));
        s.set(2, 0.0, SimTime(14));
        s.set(1, 0.0, SimTime(25));
        s.set(0, 0.1, SimTime(30));
        let rows = s.finish(SimTime(35));
        let got: Vec<(u64, Tier, u32, f64, f64)> = rows
            .iter()
            .map(|r| (r.start.0, r.tier, r.link, r.mean, r.peak))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, Tier::Leaf, 1, 0.25, 0.5),
                (10, Tier::Leaf, 1, 0.5, 0.5),
                (20, Tier::Leaf, 1, 0.25, 0.5),
                (30, Tier::Node, 0, 0.1, 0.1),
            ]
        );
    }
}
