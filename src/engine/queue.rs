//! The future-event list: a radix heap on event times with insertion order among ties.
//!
//! A discrete-event loop only ever schedules at or after the time it last popped, so the
//! queue is monotone and a radix heap fits (Ahuja, Mehlhorn, Orlin and Tarjan, "Faster
//! algorithms for the shortest path problem", JACM 1990): an event lies in the bucket
//! named by the highest bit in which its time differs from the last popped time. Pushing
//! is O(1); popping takes from bucket 0 (the events at the last popped time) and, when it
//! is empty, moves the first non-empty bucket's events down, each event moving at most
//! once per bit of its distance. The moves are sequential copies, where a binary heap's
//! pop walks log2(n) levels of scattered entries (n: the finish events of every running
//! job, about 100k on a 100k-GPU fleet).

use std::collections::VecDeque;

use super::SimTime;

/// An event popped from the queue, with the time it fires at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheduled<E> {
    /// When the event fires.
    pub time: SimTime,
    /// Insertion order: ties at equal `time` pop in the order they were pushed.
    pub seq: u64,
    /// The payload.
    pub event: E,
}

/// Buckets 0..64: bucket `b` holds times whose highest bit differing from `last` is
/// bit `b` (times equal to `last` are held apart, in insertion order).
const BUCKETS: usize = 64;

/// The most events [`EventQueue::peek_soon`] scans for the next.
const PEEK_SCAN: usize = 8;

/// A min-queue of future events ordered by `(time, seq)`.
///
/// Simultaneous events pop in insertion order, so a run is deterministic. Cancellation
/// is by generation: the payload carries the generation it was scheduled under and the
/// owner ignores a popped event whose generation is stale, which keeps cancel O(1).
///
/// Events are expected at or after the last popped time (a simulation never schedules
/// into its past); one scheduled earlier is still popped in order, at the cost of
/// re-bucketing every pending event once.
#[derive(Debug)]
pub struct EventQueue<E> {
    /// Events at time `last`, in insertion order.
    now: VecDeque<Scheduled<E>>,
    /// Events after `last`, bucketed by the highest bit their time differs in.
    buckets: Vec<Vec<Scheduled<E>>>,
    /// Earliest time in each bucket (`u64::MAX` when empty).
    bucket_min: [u64; BUCKETS],
    /// Bit `b` set when bucket `b` is non-empty.
    nonempty: u64,
    /// The time buckets are relative to: the last popped time (or earlier).
    last: u64,
    len: usize,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            now: VecDeque::new(),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            bucket_min: [u64::MAX; BUCKETS],
            nonempty: 0,
            last: 0,
            len: 0,
            next_seq: 0,
        }
    }

    /// Schedules `event` at `time`.
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if time.0 < self.last {
            self.rebase(time.0);
        }
        self.len += 1;
        self.put(Scheduled { time, seq, event });
    }

    /// Files `s` (at or after `last`) into its bucket.
    fn put(&mut self, s: Scheduled<E>) {
        let t = s.time.0;
        if t == self.last {
            // Later than every event already at `last`: `seq` only grows, and moved
            // events are sorted as they arrive here.
            self.now.push_back(s);
            return;
        }
        let b = (63 - (t ^ self.last).leading_zeros()) as usize;
        self.buckets[b].push(s);
        self.nonempty |= 1 << b;
        if t < self.bucket_min[b] {
            self.bucket_min[b] = t;
        }
    }

    /// Makes `time` (below `last`) the base: every pending event is filed again.
    fn rebase(&mut self, time: u64) {
        let mut all: Vec<Scheduled<E>> = self.now.drain(..).collect();
        for b in 0..BUCKETS {
            all.append(&mut self.buckets[b]);
        }
        self.bucket_min = [u64::MAX; BUCKETS];
        self.nonempty = 0;
        self.last = time;
        for s in all {
            self.put(s);
        }
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<SimTime> {
        if !self.now.is_empty() {
            return Some(SimTime(self.last));
        }
        (self.nonempty != 0).then(|| SimTime(self.bucket_min[self.nonempty.trailing_zeros() as usize]))
    }

    /// The event [`EventQueue::pop`] returns next, where that is known without moving
    /// events between buckets (the next at the current time, or the earliest of a lowest
    /// bucket of a few events, `PEEK_SCAN`); `None` otherwise. A hint, so that the
    /// caller can fetch what the next event will touch before it pops it.
    pub fn peek_soon(&self) -> Option<&E> {
        if let Some(s) = self.now.front() {
            return Some(&s.event);
        }
        if self.nonempty == 0 {
            return None;
        }
        let bucket = &self.buckets[self.nonempty.trailing_zeros() as usize];
        if bucket.len() > PEEK_SCAN {
            return None;
        }
        bucket.iter().min_by_key(|s| (s.time, s.seq)).map(|s| &s.event)
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        if self.now.is_empty() {
            if self.nonempty == 0 {
                return None;
            }
            let b = self.nonempty.trailing_zeros() as usize;
            self.last = self.bucket_min[b];
            self.bucket_min[b] = u64::MAX;
            self.nonempty &= !(1 << b);
            // Every event of bucket b moves to a lower bucket (they share the bits above
            // b with the new `last`); those at `last` itself pop in insertion order.
            let mut moving = std::mem::take(&mut self.buckets[b]);
            for s in moving.drain(..) {
                self.put(s);
            }
            self.buckets[b] = moving;
            self.now.make_contiguous().sort_unstable_by_key(|s| s.seq);
        }
        let s = self.now.pop_front()?;
        self.len -= 1;
        Some(s)
    }

    /// Pending events, stale ones included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[test]
    fn pops_by_time_then_insertion_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 'a');
        q.push(SimTime(1), 'b');
        q.push(SimTime(5), 'c');
        q.push(SimTime(1), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|s| s.event)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }

    proptest! {
        /// Differential test against a binary heap ordered by `(time, seq)`, the
        /// obvious model: pushes at or after the last pop (some at exactly it, some far
        /// ahead), now and then one before it, interleaved with pops and peeks; and
        /// [`EventQueue::peek_soon`], where it answers, names the next pop.
        #[test]
        fn pops_as_a_binary_heap_does(ops in prop::collection::vec((0u8..10, 0u64..1 << 40, 0u64..4), 0..600)) {
            let mut ours = EventQueue::new();
            let mut model: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
            let (mut last, mut seq) = (0u64, 0u64);
            for (op, far, near) in ops {
                match op {
                    0..=3 => {
                        let popped = ours.pop().map(|s| (s.time.0, s.seq));
                        let want = model.pop().map(|Reverse(k)| k);
                        prop_assert_eq!(popped, want);
                        if let Some((t, _)) = want {
                            last = t;
                        }
                    }
                    4 => {
                        let t = last.saturating_sub(near);
                        ours.push(SimTime(t), seq);
                        model.push(Reverse((t, seq)));
                        seq += 1;
                    }
                    5..=6 => {
                        let t = last + near;
                        ours.push(SimTime(t), seq);
                        model.push(Reverse((t, seq)));
                        seq += 1;
                    }
                    _ => {
                        let t = last + far;
                        ours.push(SimTime(t), seq);
                        model.push(Reverse((t, seq)));
                        seq += 1;
                    }
                }
                prop_assert_eq!(ours.peek_time().map(|t| t.0), model.peek().map(|Reverse(k)| k.0));
                // When the hint answers, it names the event popped next (its payload is its seq).
                if let Some(&e) = ours.peek_soon() {
                    prop_assert_eq!(Some(e), model.peek().map(|Reverse(k)| k.1));
                }
                prop_assert_eq!(ours.len(), model.len());
            }
        }
    }
}
