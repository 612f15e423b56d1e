//! A link shared by the transfers in flight over it: processor sharing.
//!
//! A split service's KV caches leave a prefill replica over its link (its NICs); the
//! transfers in flight share the link's bandwidth equally, as the max-min solver
//! ([`crate::sharing`]) shares a single resource among unbounded flows of equal weight.
//! With `n` transfers in flight each moves at B / n, so the link is a processor-sharing
//! server (Kleinrock, *Queueing Systems* vol. 2, 1976, §4.4): with Poisson arrivals a
//! transfer's mean time is (S / B) / (1 − ρ) for mean size S and load ρ.
//!
//! The link keeps a virtual clock `v`, the bytes each transfer in flight has moved since
//! the link was last empty, growing at B / n: a transfer of `size` bytes joining at `v₀`
//! is done when `v` reaches `v₀ + size`. Joining and finishing cost O(log n); only the
//! next finish is ever scheduled.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One link: its bandwidth and the transfers in flight over it.
#[derive(Debug, Clone)]
pub struct PsLink {
    bytes_per_s: f64,
    /// Virtual clock: bytes moved per transfer in flight, since the link was last empty.
    v: f64,
    /// Time `v` was last brought up to date, s.
    at_s: f64,
    /// Transfers in flight: (virtual finish as bits of a non-negative f64, which order
    /// like the numbers; id).
    flight: BinaryHeap<Reverse<(u64, u32)>>,
}

impl PsLink {
    /// An idle link of `bytes_per_s` (> 0).
    pub fn new(bytes_per_s: f64) -> PsLink {
        PsLink {
            bytes_per_s,
            v: 0.0,
            at_s: 0.0,
            flight: BinaryHeap::new(),
        }
    }

    /// Transfers in flight.
    pub fn in_flight(&self) -> usize {
        self.flight.len()
    }

    /// Brings the virtual clock to `t_s`.
    fn advance(&mut self, t_s: f64) {
        let n = self.flight.len();
        if n > 0 && t_s > self.at_s {
            self.v += (t_s - self.at_s) * self.bytes_per_s / n as f64;
        }
        self.at_s = self.at_s.max(t_s);
    }

    /// Transfer `id` of `size` bytes joins at `t_s` (not before the last call's time).
    pub fn start(&mut self, t_s: f64, size: f64, id: u32) {
        self.advance(t_s);
        if self.flight.is_empty() {
            self.v = 0.0;
        }
        let finish = self.v + size.max(0.0);
        self.flight.push(Reverse((finish.to_bits(), id)));
    }

    /// When the next transfer finishes if nothing joins before, s; `None` when idle.
    pub fn next_done_s(&self) -> Option<f64> {
        let Reverse((bits, _)) = self.flight.peek()?;
        let left = (f64::from_bits(*bits) - self.v).max(0.0);
        Some(self.at_s + left * self.flight.len() as f64 / self.bytes_per_s)
    }

    /// Takes a transfer done by `t_s`, or due within `tolerance_s` after it (a caller's
    /// clock resolution), if any: call until `None`.
    pub fn pop_done(&mut self, t_s: f64, tolerance_s: f64) -> Option<u32> {
        self.advance(t_s);
        let due = self.next_done_s()?;
        if due <= t_s + tolerance_s {
            let Reverse((_, id)) = self.flight.pop()?;
            Some(id)
        } else {
            None
        }
    }
}
