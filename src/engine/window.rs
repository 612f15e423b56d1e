//! A sliding window over densely numbered items: values for ids `base..end`, added at
//! the end and retired from the front, so that what is held follows the items in
//! flight, not every item there ever was (a run's per-job state: jobs are numbered
//! in arrival order, created as they arrive and retired once ended).

use std::collections::VecDeque;
use std::ops::{Index, IndexMut};

use super::prefetch;

/// Values per chunk of storage.
const CHUNK: usize = 4096;

/// Values for the ids `base()..end()`.
///
/// Stored in fixed chunks of 4,096 values, so that a window of `n` values holds at
/// most `n + 2·CHUNK` slots whatever its history: a ring buffer that doubles would hold up
/// to twice the largest window it has seen, for the rest of the run (issue 17: a
/// year-long run's window spans millions of jobs). One emptied chunk is kept for reuse,
/// so a window that slides allocates nothing.
#[derive(Debug, Clone)]
pub struct IdWindow<T> {
    base: u32,
    /// Slots of the first chunk before `base`'s value (retired).
    head: usize,
    len: usize,
    chunks: VecDeque<Vec<T>>,
    spare: Option<Vec<T>>,
}

impl<T> Default for IdWindow<T> {
    fn default() -> Self {
        IdWindow {
            base: 0,
            head: 0,
            len: 0,
            chunks: VecDeque::new(),
            spare: None,
        }
    }
}

impl<T: Copy> IdWindow<T> {
    /// The first id still held.
    pub fn base(&self) -> u32 {
        self.base
    }

    /// One past the last id added.
    pub fn end(&self) -> u32 {
        self.base + self.len as u32
    }

    /// Adds the value of id [`IdWindow::end`].
    pub fn push(&mut self, value: T) {
        if self.chunks.back().is_none_or(|c| c.len() == CHUNK) {
            let mut chunk = self.spare.take().unwrap_or_else(|| Vec::with_capacity(CHUNK));
            chunk.clear();
            self.chunks.push_back(chunk);
        }
        if let Some(chunk) = self.chunks.back_mut() {
            chunk.push(value);
        }
        self.len += 1;
    }

    /// The value of `id`, if held (not yet retired and already added).
    pub fn get(&self, id: u32) -> Option<&T> {
        let i = id.checked_sub(self.base)? as usize;
        if i >= self.len {
            return None;
        }
        let j = self.head + i;
        Some(&self.chunks[j / CHUNK][j % CHUNK])
    }

    /// The value of `id`, mutably, if held.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        let i = id.checked_sub(self.base)? as usize;
        if i >= self.len {
            return None;
        }
        let j = self.head + i;
        Some(&mut self.chunks[j / CHUNK][j % CHUNK])
    }

    /// Asks the CPU to bring the value of `id` (if held) into cache without waiting
    /// ([`prefetch`]): a value far back in a large window is cold (a run's finish events
    /// reach jobs that started long ago).
    pub fn prefetch(&self, id: u32) {
        if let Some(v) = self.get(id) {
            prefetch(v);
        }
    }

    /// The value of the first id held.
    pub fn front(&self) -> Option<&T> {
        self.get(self.base)
    }

    /// Retires the first id held, returning its value.
    pub fn pop_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let v = self.chunks[0][self.head];
        self.head += 1;
        self.len -= 1;
        self.base += 1;
        if self.head == CHUNK {
            self.spare = self.chunks.pop_front();
            self.head = 0;
        }
        Some(v)
    }

    /// Values held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots allocated (values held, retired slots of the first chunk, room in the
    /// last, and the spare chunk): what the window costs.
    pub fn slots(&self) -> usize {
        (self.chunks.len() + usize::from(self.spare.is_some())) * CHUNK
    }
}

impl<T: Copy> Index<u32> for IdWindow<T> {
    type Output = T;

    fn index(&self, id: u32) -> &T {
        match self.get(id) {
            Some(v) => v,
            None => panic!("id {id} is outside the window {}..{}", self.base, self.end()),
        }
    }
}

impl<T: Copy> IndexMut<u32> for IdWindow<T> {
    fn index_mut(&mut self, id: u32) -> &mut T {
        let (base, end) = (self.base, self.end());
        match self.get_mut(id) {
            Some(v) => v,
            None => panic!("id {id} is outside the window {base}..{end}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids keep their values as the window slides: added at the end, retired at the
    /// front, absent on either side.
    #[test]
    fn ids_keep_their_values_as_the_window_slides() {
        let mut w = IdWindow::default();
        for id in 0..100u32 {
            w.push(id * 10);
            if id % 3 == 2 {
                let first = w.base();
                assert_eq!(w.pop_front(), Some(first * 10));
            }
        }
        assert_eq!(w.end(), 100);
        assert_eq!(w.base(), 33);
        assert_eq!(w.get(32), None);
        assert_eq!(w.get(100), None);
        assert_eq!(w[33], 330);
        w[99] += 1;
        assert_eq!(w.get(99), Some(&991));
        assert_eq!(w.len(), 67);
    }

    /// Across chunk boundaries, and through emptying and refilling, ids keep their
    /// values; the storage follows the values held (at most two chunks beyond them),
    /// not the most ever held.
    #[test]
    fn storage_follows_the_values_held() {
        let mut w = IdWindow::default();
        let mut next = 0u32;
        for round in 0..4 {
            // Grow to 3.5 chunks, then shrink to a few values.
            while w.len() < 3 * CHUNK + CHUNK / 2 {
                w.push(u64::from(next) * 7);
                next += 1;
            }
            assert!(w.slots() <= w.len() + 2 * CHUNK, "round {round}");
            for id in w.base()..w.end() {
                assert_eq!(w[id], u64::from(id) * 7);
            }
            while w.len() > 3 {
                let id = w.base();
                assert_eq!(w.pop_front(), Some(u64::from(id) * 7));
            }
            assert!(
                w.slots() <= 3 * CHUNK,
                "round {round}: {} slots for 3 values",
                w.slots()
            );
        }
        while w.pop_front().is_some() {}
        assert!(w.is_empty() && w.front().is_none());
        w.push(1);
        assert_eq!(w[next], 1);
    }
}
