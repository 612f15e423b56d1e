//! A slab: values in numbered slots that are reused once freed, for state that lives
//! only while something is in flight (a job's current run), so that memory follows
//! what is in flight rather than everything that ever was.

use std::ops::{Index, IndexMut};

/// Values in reusable slots, named by `u32` slot numbers. A freed slot is handed out
/// again by the next [`Slab::insert`] (last freed, first reused: deterministic).
#[derive(Debug, Clone)]
pub struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Stores `value` in a free slot (or a new one) and returns the slot.
    pub fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.items[slot as usize] = value;
                slot
            }
            None => {
                self.items.push(value);
                (self.items.len() - 1) as u32
            }
        }
    }

    /// Frees `slot` for reuse. Its value stays readable until the slot is reused; the
    /// caller must not free a slot twice.
    pub fn remove(&mut self, slot: u32) {
        debug_assert!(!self.free.contains(&slot), "slot {slot} freed twice");
        self.free.push(slot);
    }

    /// Slots ever used: the most values held at once.
    pub fn slots(&self) -> usize {
        self.items.len()
    }
}

impl<T> Index<u32> for Slab<T> {
    type Output = T;

    fn index(&self, slot: u32) -> &T {
        &self.items[slot as usize]
    }
}

impl<T> IndexMut<u32> for Slab<T> {
    fn index_mut(&mut self, slot: u32) -> &mut T {
        &mut self.items[slot as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// However many values pass through, the slab holds as many slots as were ever
    /// live at once, and each live value reads back as stored.
    #[test]
    fn slots_follow_the_most_live_at_once() {
        let mut s = Slab::default();
        let mut live = Vec::new();
        for i in 0..10_000u32 {
            live.push((s.insert(i), i));
            if live.len() == 3 {
                let (slot, _) = live.remove(i as usize % 3);
                s.remove(slot);
            }
            for &(slot, v) in &live {
                assert_eq!(s[slot], v);
            }
        }
        assert_eq!(s.slots(), 3);
    }
}
