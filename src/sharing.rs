//! Max-min fair sharing of capacitated resources among flows (progressive filling).
//!
//! One solver for every model that shares a bandwidth: the network fabric (jobs' traffic
//! over links) and the storage tier (checkpoint writes over a shared file system).
//!
//! # The problem
//!
//! Resources `i` have capacities `C_i >= 0`. Flows `j` have a weight `w_j > 0`, an optional
//! bound `b_j`, and a usage `a_ij >= 0` of each resource they cross: a flow at rate `x_j`
//! consumes `a_ij · x_j` of resource `i`. The solver finds the weighted max-min fair rates:
//!
//! ```text
//!   for every resource i:  Σ_j a_ij · x_j <= C_i
//!   for every flow j:      0 <= x_j <= b_j
//! ```
//!
//! such that no flow's normalised rate `x_j / w_j` can grow without lowering the
//! normalised rate of a flow that already has an equal or smaller one. This is the
//! system SimGrid's LMM solver (`src/kernel/lmm/maxmin.cpp`) solves, without its
//! penalties or concurrency limits.
//!
//! # The algorithm
//!
//! Progressive filling: every unfixed flow runs at `w_j · t` for a common level `t`.
//! Each resource saturates at level `remaining_i / Σ_unfixed a_ij w_j`, each bounded flow
//! reaches its bound at `b_j / w_j`. The smallest such level fixes the flows of that
//! resource (or that bound); their consumption is taken off every resource they cross,
//! and filling resumes. Each round fixes at least one flow, so a system of `F` flows and
//! `R` resources takes at most `F` rounds of `O(R + nnz)` each; the model keeps systems
//! small by solving only the flows connected to what changed.
//!
//! A flow that crosses no resource with a positive usage and has no bound is unconstrained:
//! its rate is `f64::INFINITY`.
//!
//! # Example
//!
//! ```
//! use dcsim::sharing::Sharing;
//! // SimGrid teshsuite/models/lmm_usage test1: links of capacity 1, 10, 1, one flow
//! // across all three and one flow on each.
//! let mut s = Sharing::new();
//! let (l1, l2, l3) = (s.add_resource(1.0), s.add_resource(10.0), s.add_resource(1.0));
//! let all = s.add_flow(1.0, None, &[(l1, 1.0), (l2, 1.0), (l3, 1.0)]);
//! let f1 = s.add_flow(1.0, None, &[(l1, 1.0)]);
//! let f2 = s.add_flow(1.0, None, &[(l2, 1.0)]);
//! let f3 = s.add_flow(1.0, None, &[(l3, 1.0)]);
//! s.solve();
//! assert_eq!((s.rate(f1), s.rate(f3)), (0.5, 0.5));
//! assert_eq!(s.rate(all), 0.5);
//! assert_eq!(s.rate(f2), 9.5);
//! ```

/// A resource of a [`Sharing`] system (a link, a storage tier), numbered from 0 in the
/// order added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(pub u32);

/// A flow of a [`Sharing`] system (a job's traffic), numbered from 0 in the order added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u32);

/// Relative tolerance under which two levels count as equal, so that flows saturating a
/// resource at the same level are fixed in the same round regardless of rounding.
const LEVEL_TOLERANCE: f64 = 1e-12;

/// A max-min fair sharing system: add resources and flows, [`Sharing::solve`], read the
/// rates. [`Sharing::clear`] empties it while keeping its buffers, so a model that solves
/// often allocates only while its systems grow.
#[derive(Debug, Default, Clone)]
pub struct Sharing {
    capacity: Vec<f64>,
    weight: Vec<f64>,
    bound: Vec<f64>,
    /// Flow `j`'s usages are `usage[usage_start[j]..usage_start[j + 1]]`.
    usage_start: Vec<usize>,
    usage: Vec<(u32, f64)>,
    rate: Vec<f64>,
    // Working buffers of `solve`.
    remaining: Vec<f64>,
    load: Vec<f64>,
    fixed: Vec<bool>,
    /// Resource `i`'s flows are `by_resource[res_start[i]..res_start[i + 1]]`.
    res_start: Vec<usize>,
    by_resource: Vec<(u32, f64)>,
}

impl Sharing {
    /// An empty system.
    pub fn new() -> Self {
        Sharing {
            usage_start: vec![0],
            ..Sharing::default()
        }
    }

    /// Removes every resource and flow, keeping the allocated buffers.
    pub fn clear(&mut self) {
        self.capacity.clear();
        self.weight.clear();
        self.bound.clear();
        self.usage_start.clear();
        self.usage_start.push(0);
        self.usage.clear();
        self.rate.clear();
    }

    /// Adds a resource of `capacity` (units per time, e.g. bytes/s; 0 blocks its flows).
    /// A negative or NaN capacity is a caller bug.
    pub fn add_resource(&mut self, capacity: f64) -> ResourceId {
        debug_assert!(capacity >= 0.0, "capacity {capacity} must be >= 0");
        self.capacity.push(capacity);
        ResourceId(self.capacity.len() as u32 - 1)
    }

    /// Adds a flow with share `weight` (> 0; a flow of weight 2 gets twice the share of a
    /// flow of weight 1 on a common bottleneck), an optional upper `bound` on its rate,
    /// and its `usages`: `(resource, a)` meaning rate `x` consumes `a · x` of the
    /// resource. A resource listed twice counts with the sum of its usages.
    pub fn add_flow(&mut self, weight: f64, bound: Option<f64>, usages: &[(ResourceId, f64)]) -> FlowId {
        debug_assert!(weight > 0.0, "weight {weight} must be > 0");
        self.weight.push(weight);
        self.bound.push(bound.unwrap_or(f64::INFINITY));
        for &(r, a) in usages {
            debug_assert!((r.0 as usize) < self.capacity.len(), "unknown resource");
            debug_assert!(a >= 0.0, "usage {a} must be >= 0");
            if a > 0.0 {
                self.usage.push((r.0, a));
            }
        }
        self.usage_start.push(self.usage.len());
        FlowId(self.weight.len() as u32 - 1)
    }

    /// Number of flows.
    pub fn flow_count(&self) -> usize {
        self.weight.len()
    }

    /// Number of resources.
    pub fn resource_count(&self) -> usize {
        self.capacity.len()
    }

    /// A flow's rate found by the last [`Sharing::solve`].
    pub fn rate(&self, flow: FlowId) -> f64 {
        self.rate[flow.0 as usize]
    }

    /// All flows' rates, indexed by [`FlowId`].
    pub fn rates(&self) -> &[f64] {
        &self.rate
    }

    /// How much of `resource` the solved rates use (`Σ_j a_ij x_j`).
    pub fn used(&self, resource: ResourceId) -> f64 {
        let i = resource.0;
        let mut sum = 0.0;
        for j in 0..self.flow_count() {
            for &(r, a) in self.usages(j) {
                if r == i {
                    sum += a * self.rate[j];
                }
            }
        }
        sum
    }

    fn usages(&self, flow: usize) -> &[(u32, f64)] {
        &self.usage[self.usage_start[flow]..self.usage_start[flow + 1]]
    }

    /// Solves the system by progressive filling (see the module doc).
    pub fn solve(&mut self) {
        let (nr, nf) = (self.capacity.len(), self.weight.len());
        self.index_by_resource();
        self.rate.clear();
        self.rate.resize(nf, f64::INFINITY);
        self.fixed.clear();
        self.fixed.resize(nf, false);
        self.remaining.clear();
        self.remaining.extend_from_slice(&self.capacity);
        self.load.clear();
        self.load.resize(nr, 0.0);
        let mut unfixed = 0;
        for j in 0..nf {
            if self.usage_start[j] == self.usage_start[j + 1] && self.bound[j].is_infinite() {
                self.fixed[j] = true; // unconstrained: rate stays infinite
                continue;
            }
            unfixed += 1;
            for k in self.usage_start[j]..self.usage_start[j + 1] {
                let (r, a) = self.usage[k];
                self.load[r as usize] += a * self.weight[j];
            }
        }
        while unfixed > 0 {
            let level = self.lowest_level();
            let cut = level + level.abs() * LEVEL_TOLERANCE;
            for i in 0..nr {
                if self.load[i] > 0.0 && self.resource_level(i) <= cut {
                    for k in self.res_start[i]..self.res_start[i + 1] {
                        let j = self.by_resource[k].0 as usize;
                        if !self.fixed[j] {
                            self.fix(j, level);
                            unfixed -= 1;
                        }
                    }
                }
            }
            for j in 0..nf {
                if !self.fixed[j] && self.bound[j] / self.weight[j] <= cut {
                    self.fix(j, self.bound[j] / self.weight[j]);
                    unfixed -= 1;
                }
            }
        }
    }

    /// The level at which resource `i` saturates, given its unfixed load.
    fn resource_level(&self, i: usize) -> f64 {
        (self.remaining[i] / self.load[i]).max(0.0)
    }

    /// The smallest level at which a resource saturates or a flow reaches its bound.
    fn lowest_level(&self) -> f64 {
        let mut level = f64::INFINITY;
        for i in 0..self.capacity.len() {
            if self.load[i] > 0.0 {
                level = level.min(self.resource_level(i));
            }
        }
        for j in 0..self.weight.len() {
            if !self.fixed[j] {
                level = level.min(self.bound[j] / self.weight[j]);
            }
        }
        level
    }

    /// Fixes flow `j` at normalised `level` and takes its use off its resources.
    fn fix(&mut self, j: usize, level: f64) {
        let x = (level * self.weight[j]).min(self.bound[j]);
        self.rate[j] = x;
        self.fixed[j] = true;
        for k in self.usage_start[j]..self.usage_start[j + 1] {
            let (r, a) = self.usage[k];
            let r = r as usize;
            self.remaining[r] -= a * x;
            self.load[r] -= a * self.weight[j];
            if self.load[r] < 1e-15 * self.weight[j] {
                self.load[r] = 0.0; // rounding residue: no unfixed flow left here
            }
        }
    }

    /// Builds the resource → flows index from the flows' usages (counting sort).
    fn index_by_resource(&mut self) {
        let nr = self.capacity.len();
        self.res_start.clear();
        self.res_start.resize(nr + 1, 0);
        for &(r, _) in &self.usage {
            self.res_start[r as usize + 1] += 1;
        }
        for i in 0..nr {
            self.res_start[i + 1] += self.res_start[i];
        }
        self.by_resource.clear();
        self.by_resource.resize(self.usage.len(), (0, 0.0));
        let mut next = self.res_start[..nr].to_vec();
        for j in 0..self.weight.len() {
            for k in self.usage_start[j]..self.usage_start[j + 1] {
                let (r, a) = self.usage[k];
                self.by_resource[next[r as usize]] = (j as u32, a);
                next[r as usize] += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    /// SimGrid `teshsuite/models/lmm_usage/lmm_usage.cpp` test1: links L1, L2, L3 of
    /// capacity 1, 10, 1; flow R_1_2_3 crosses all three, R_1, R_2, R_3 one each, all
    /// with usage 1. By hand: L1 (and L3) saturate first at level 0.5, fixing R_1_2_3,
    /// R_1 and R_3 at 0.5; L2 then has 10 - 0.5 = 9.5 left for R_2.
    #[test]
    fn simgrid_lmm_usage_test1() {
        let mut s = Sharing::new();
        let l1 = s.add_resource(1.0);
        let l2 = s.add_resource(10.0);
        let l3 = s.add_resource(1.0);
        let r123 = s.add_flow(1.0, None, &[(l1, 1.0), (l2, 1.0), (l3, 1.0)]);
        let r1 = s.add_flow(1.0, None, &[(l1, 1.0)]);
        let r2 = s.add_flow(1.0, None, &[(l2, 1.0)]);
        let r3 = s.add_flow(1.0, None, &[(l3, 1.0)]);
        s.solve();
        assert_eq!(
            [s.rate(r123), s.rate(r1), s.rate(r2), s.rate(r3)],
            [0.5, 0.5, 9.5, 0.5]
        );
    }

    /// SimGrid lmm_usage test2: two independent CPUs of 200 and 100, one task each:
    /// each task gets its whole CPU.
    #[test]
    fn simgrid_lmm_usage_test2() {
        let mut s = Sharing::new();
        let c1 = s.add_resource(200.0);
        let c2 = s.add_resource(100.0);
        let t1 = s.add_flow(1.0, None, &[(c1, 1.0)]);
        let t2 = s.add_flow(1.0, None, &[(c2, 1.0)]);
        s.solve();
        assert_eq!([s.rate(t1), s.rate(t2)], [200.0, 100.0]);
    }

    /// Hand case: weights, bounds and usages. One link of 12; flow A weight 2, flow B
    /// weight 1 bounded at 1, flow C weight 1 with usage 2 (it crosses the link twice).
    /// Level t: A = 2t, B = t, C = t using 2t. B's bound is reached at t = 1 (link use
    /// 2 + 1 + 2 = 5 < 12). Then A = 2t, C uses 2t: 1 + 4t = 12 → t = 2.75: A = 5.5, C = 2.75.
    #[test]
    fn weights_bounds_and_usages() {
        let mut s = Sharing::new();
        let l = s.add_resource(12.0);
        let a = s.add_flow(2.0, None, &[(l, 1.0)]);
        let b = s.add_flow(1.0, Some(1.0), &[(l, 1.0)]);
        let c = s.add_flow(1.0, None, &[(l, 2.0)]);
        s.solve();
        assert!(close(s.rate(a), 5.5), "{}", s.rate(a));
        assert!(close(s.rate(b), 1.0));
        assert!(close(s.rate(c), 2.75), "{}", s.rate(c));
        assert!(close(s.used(l), 12.0));
    }

    /// A flow on no resource is unconstrained unless bounded; a zero-capacity link stops
    /// its flows without stopping the others; `clear` leaves an empty reusable system.
    #[test]
    fn edge_cases() {
        let mut s = Sharing::new();
        let dead = s.add_resource(0.0);
        let ok = s.add_resource(4.0);
        let free = s.add_flow(1.0, None, &[]);
        let capped = s.add_flow(1.0, Some(3.0), &[]);
        let blocked = s.add_flow(1.0, None, &[(dead, 1.0), (ok, 1.0)]);
        let other = s.add_flow(1.0, None, &[(ok, 1.0)]);
        s.solve();
        assert_eq!(s.rate(free), f64::INFINITY);
        assert_eq!(s.rate(capped), 3.0);
        assert_eq!(s.rate(blocked), 0.0);
        assert_eq!(s.rate(other), 4.0);
        s.clear();
        assert_eq!((s.flow_count(), s.resource_count()), (0, 0));
        let l = s.add_resource(1.0);
        let f = s.add_flow(1.0, None, &[(l, 1.0)]);
        s.solve();
        assert_eq!(s.rate(f), 1.0);
    }

    /// A test flow: (weight, bound, (resource, usage) pairs).
    type TestFlow = (f64, f64, Vec<(usize, f64)>);

    /// An independent slow solver: progressive filling by bisection on the common level
    /// (no closed-form saturation levels), freezing after each step the flows that touch
    /// a saturated resource or reached their bound.
    fn slow_solve(cap: &[f64], flows: &[TestFlow]) -> Vec<f64> {
        let mut x = vec![0.0; flows.len()];
        let mut frozen = vec![false; flows.len()];
        let feasible = |x: &[f64]| {
            cap.iter().enumerate().all(|(i, &c)| {
                let used: f64 = flows
                    .iter()
                    .zip(x)
                    .flat_map(|((_, _, u), xj)| u.iter().filter(|(r, _)| *r == i).map(move |(_, a)| a * xj))
                    .sum();
                used <= c * (1.0 + 1e-12) + 1e-12
            }) && flows
                .iter()
                .zip(x)
                .all(|((_, b, _), xj)| *xj <= b * (1.0 + 1e-12))
        };
        while frozen.iter().any(|f| !f) {
            let at = |t: f64, x: &[f64], frozen: &[bool]| -> Vec<f64> {
                (0..flows.len())
                    .map(|j| if frozen[j] { x[j] } else { flows[j].0 * t })
                    .collect()
            };
            let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
            while feasible(&at(hi, &x, &frozen)) {
                hi *= 2.0;
            }
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if feasible(&at(mid, &x, &frozen)) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            x = at(lo, &x, &frozen);
            for (j, (_, b, u)) in flows.iter().enumerate() {
                if frozen[j] {
                    continue;
                }
                let at_bound = x[j] >= b * (1.0 - 1e-9);
                let saturated = u.iter().any(|&(i, _)| {
                    let used: f64 = flows
                        .iter()
                        .zip(&x)
                        .flat_map(|((_, _, u), xj)| {
                            u.iter().filter(|(r, _)| *r == i).map(move |(_, a)| a * xj)
                        })
                        .sum();
                    used >= cap[i] * (1.0 - 1e-9)
                });
                if at_bound || saturated {
                    frozen[j] = true;
                }
            }
        }
        x
    }

    fn system() -> impl Strategy<Value = (Vec<f64>, Vec<TestFlow>)> {
        (1usize..8).prop_flat_map(|nr| {
            let caps = prop::collection::vec(0.5f64..100.0, nr);
            let flow = (
                prop::sample::select(vec![1.0, 2.0, 0.5]),
                prop::option::of(0.1f64..50.0),
                prop::collection::vec((0..nr, prop::sample::select(vec![1.0, 2.0, 0.5])), 1..4),
            )
                .prop_map(|(w, b, u)| (w, b.unwrap_or(f64::INFINITY), u));
            (caps, prop::collection::vec(flow, 1..10))
        })
    }

    proptest! {
        /// Random systems: rates match the slow solver, every resource is within its
        /// capacity, and every flow is bottlenecked: at its bound, or on a saturated
        /// resource where no flow has a higher normalised rate (the max-min condition).
        #[test]
        fn matches_slow_solver_and_is_max_min_fair((cap, flows) in system()) {
            let mut s = Sharing::new();
            let res: Vec<_> = cap.iter().map(|&c| s.add_resource(c)).collect();
            for (w, b, u) in &flows {
                let usages: Vec<_> = u.iter().map(|&(r, a)| (res[r], a)).collect();
                s.add_flow(*w, b.is_finite().then_some(*b), &usages);
            }
            s.solve();
            let slow = slow_solve(&cap, &flows);
            for (j, want) in slow.iter().enumerate() {
                let got = s.rates()[j];
                prop_assert!((got - want).abs() <= 1e-6 * (1.0 + want), "flow {j}: {got} vs slow {want}");
            }
            for (i, r) in res.iter().enumerate() {
                prop_assert!(s.used(*r) <= cap[i] * (1.0 + 1e-9));
            }
            for (j, (w, b, u)) in flows.iter().enumerate() {
                let x = s.rates()[j];
                let at_bound = x >= b * (1.0 - 1e-9);
                let bottleneck = u.iter().any(|&(i, _)| {
                    s.used(res[i]) >= cap[i] * (1.0 - 1e-9)
                        && flows.iter().enumerate().all(|(k, (wk, _, uk))| {
                            !uk.iter().any(|&(r, _)| r == i) || s.rates()[k] / wk <= x / w * (1.0 + 1e-9)
                        })
                });
                prop_assert!(at_bound || bottleneck, "flow {j} at {x} has no bottleneck");
            }
        }
    }
}
