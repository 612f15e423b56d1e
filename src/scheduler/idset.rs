//! A set of small integers (node positions) with O(1) insert and remove and a fast
//! lowest-member query: a bitmap plus a summary bitmap of its non-empty words.
//!
//! Placement asks "lowest-numbered node with k free GPUs" on every decision; a
//! `BTreeSet` answers in O(log n) with pointer chasing, this in a few word scans
//! (n / 4096 summary words), which keeps the cost flat as clusters grow.

/// A set of integers in `0..capacity`.
#[derive(Debug, Clone, Default)]
pub struct IdSet {
    words: Vec<u64>,
    summary: Vec<u64>,
}

impl IdSet {
    /// An empty set able to hold `0..capacity`.
    pub fn with_capacity(capacity: usize) -> Self {
        let words = capacity.div_ceil(64);
        IdSet {
            words: vec![0; words],
            summary: vec![0; words.div_ceil(64)],
        }
    }

    /// Adds `i`.
    pub fn insert(&mut self, i: usize) {
        let (w, b) = (i / 64, i % 64);
        if self.words[w] >> b & 1 == 0 {
            self.words[w] |= 1 << b;
            self.summary[w / 64] |= 1 << (w % 64);
        }
    }

    /// Removes `i`.
    pub fn remove(&mut self, i: usize) {
        let (w, b) = (i / 64, i % 64);
        if self.words[w] >> b & 1 == 1 {
            self.words[w] &= !(1 << b);
            if self.words[w] == 0 {
                self.summary[w / 64] &= !(1 << (w % 64));
            }
        }
    }

    /// The smallest member at or above `from`.
    pub fn first_from(&self, from: usize) -> Option<usize> {
        let mut w = from / 64;
        if w >= self.words.len() {
            return None;
        }
        let bits = self.words[w] & (u64::MAX << (from % 64));
        if bits != 0 {
            return Some(w * 64 + bits.trailing_zeros() as usize);
        }
        w += 1;
        let mut s = w / 64;
        let mut mask = if w % 64 == 0 {
            u64::MAX
        } else {
            u64::MAX << (w % 64)
        };
        while s < self.summary.len() {
            let nonempty = self.summary[s] & mask;
            if nonempty != 0 {
                let w = s * 64 + nonempty.trailing_zeros() as usize;
                return Some(w * 64 + self.words[w].trailing_zeros() as usize);
            }
            s += 1;
            mask = u64::MAX;
        }
        None
    }

    /// The smallest member.
    pub fn first(&self) -> Option<usize> {
        self.first_from(0)
    }

    /// Members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let mut next = self.first();
        std::iter::from_fn(move || {
            let i = next?;
            next = self.first_from(i + 1);
            Some(i)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Differential test against `BTreeSet`, the obvious model.
        #[test]
        fn behaves_like_a_btreeset(ops in prop::collection::vec((any::<bool>(), 0usize..5000), 0..400), from in 0usize..5100) {
            let mut ours = IdSet::with_capacity(5000);
            let mut model = std::collections::BTreeSet::new();
            for (add, i) in ops {
                if add { ours.insert(i); model.insert(i); } else { ours.remove(i); model.remove(&i); }
            }
            prop_assert_eq!(ours.first(), model.iter().next().copied());
            prop_assert_eq!(ours.first_from(from), model.range(from..).next().copied());
            prop_assert_eq!(ours.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
        }
    }
}
