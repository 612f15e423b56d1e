//! A sliding window over densely numbered items: values for ids `base..end`, added at
//! the end and retired from the front, so that what is held follows the items in
//! flight, not every item there ever was (a run's per-job state: jobs are numbered
//! in arrival order, created as they arrive and retired once ended).

use std::collections::VecDeque;
use std::ops::{Index, IndexMut};

/// Values for the ids `base()..end()`.
#[derive(Debug, Clone)]
pub struct IdWindow<T> {
    base: u32,
    items: VecDeque<T>,
}

impl<T> Default for IdWindow<T> {
    fn default() -> Self {
        IdWindow {
            base: 0,
            items: VecDeque::new(),
        }
    }
}

impl<T> IdWindow<T> {
    /// The first id still held.
    pub fn base(&self) -> u32 {
        self.base
    }

    /// One past the last id added.
    pub fn end(&self) -> u32 {
        self.base + self.items.len() as u32
    }

    /// Adds the value of id [`IdWindow::end`].
    pub fn push(&mut self, value: T) {
        self.items.push_back(value);
    }

    /// The value of `id`, if held (not yet retired and already added).
    pub fn get(&self, id: u32) -> Option<&T> {
        self.items.get(id.checked_sub(self.base)? as usize)
    }

    /// The value of `id`, mutably, if held.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        self.items.get_mut(id.checked_sub(self.base)? as usize)
    }

    /// The value of the first id held.
    pub fn front(&self) -> Option<&T> {
        self.items.front()
    }

    /// Retires the first id held, returning its value.
    pub fn pop_front(&mut self) -> Option<T> {
        let v = self.items.pop_front()?;
        self.base += 1;
        Some(v)
    }

    /// Values held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl<T> Index<u32> for IdWindow<T> {
    type Output = T;

    fn index(&self, id: u32) -> &T {
        match self.get(id) {
            Some(v) => v,
            None => panic!("id {id} is outside the window {}..{}", self.base, self.end()),
        }
    }
}

impl<T> IndexMut<u32> for IdWindow<T> {
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
}
