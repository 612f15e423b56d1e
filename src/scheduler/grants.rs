//! Where the GPU grants of running jobs live.
//!
//! Each run of a job holds a contiguous range of grants (one per node), named by its
//! offset and length. When the run's segments are kept (the economics bill and the
//! invariant tests read every run's grants afterwards), the store is an append-only
//! history. When nothing reads them afterwards, a range is handed back as its run ends
//! and reused by the next run of the same length, so the store holds about as many
//! grants as ever ran at once, not as many as the run started (issue 17: memory
//! bounded by what is in flight).

use super::GpuGrant;

/// The grants of every run in flight, and of every ended run when history is kept.
#[derive(Debug, Clone)]
pub struct GrantStore {
    grants: Vec<GpuGrant>,
    /// Ranges of ended runs free for reuse, by length (index = length); `None` when the
    /// store keeps history.
    free: Option<Vec<Vec<u32>>>,
}

impl GrantStore {
    /// A store that keeps every run's grants (`keep_history`), sized for `expected`
    /// grants, or one that reuses the ranges of ended runs.
    pub fn new(keep_history: bool, expected: usize) -> Self {
        if keep_history {
            GrantStore {
                grants: Vec::with_capacity(expected),
                free: None,
            }
        } else {
            GrantStore {
                grants: Vec::new(),
                free: Some(Vec::new()),
            }
        }
    }

    /// Stores `grants` for a run that starts and returns their offset.
    pub fn push(&mut self, grants: &[GpuGrant]) -> u32 {
        let reused = self
            .free
            .as_mut()
            .and_then(|free| free.get_mut(grants.len()))
            .and_then(Vec::pop);
        match reused {
            Some(offset) => {
                let at = offset as usize;
                self.grants[at..at + grants.len()].copy_from_slice(grants);
                offset
            }
            None => {
                let offset = self.grants.len() as u32;
                self.grants.extend_from_slice(grants);
                offset
            }
        }
    }

    /// The grants of the run stored at `offset` with length `len`.
    pub fn get(&self, offset: u32, len: u32) -> &[GpuGrant] {
        &self.grants[offset as usize..(offset + len) as usize]
    }

    /// The run at `offset` with length `len` has ended: its range may be reused (kept
    /// as history otherwise).
    pub fn release(&mut self, offset: u32, len: u32) {
        let Some(free) = self.free.as_mut() else { return };
        if len == 0 {
            return;
        }
        let len = len as usize;
        if free.len() <= len {
            free.resize_with(len + 1, Vec::new);
        }
        free[len].push(offset);
    }

    /// Every grant stored, indexed by the offsets [`GrantStore::push`] returned.
    pub fn all(&self) -> &[GpuGrant] {
        &self.grants
    }

    /// The stored grants: every run's when history is kept; otherwise nothing (the
    /// ranges left belong to no run a caller can name).
    pub fn into_history(self) -> Vec<GpuGrant> {
        match self.free {
            None => self.grants,
            Some(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::NodeId;

    fn grant(node: u32, gpus: u64) -> GpuGrant {
        GpuGrant {
            node: NodeId(node),
            gpus,
        }
    }

    #[test]
    fn history_keeps_every_run() {
        let mut s = GrantStore::new(true, 4);
        let a = s.push(&[grant(0, 1), grant(1, 3)]);
        s.release(a, 2);
        let b = s.push(&[grant(2, 1), grant(3, 1)]);
        assert_ne!(a, b);
        assert_eq!(s.get(a, 2), &[grant(0, 1), grant(1, 3)]);
        assert_eq!(s.into_history().len(), 4);
    }

    /// Without history, a store fed runs that never overlap holds one run's grants,
    /// however many runs pass through; overlapping runs never share a range.
    #[test]
    fn without_history_memory_follows_what_runs() {
        let mut s = GrantStore::new(false, 0);
        for k in 0..1000 {
            let a = s.push(&[grant(k, 1), grant(k + 1, 1)]);
            let b = s.push(&[grant(k + 2, 7)]);
            assert_eq!(s.get(a, 2), &[grant(k, 1), grant(k + 1, 1)]);
            assert_eq!(s.get(b, 1), &[grant(k + 2, 7)]);
            s.release(a, 2);
            s.release(b, 1);
            s.release(0, 0);
        }
        assert_eq!(s.all().len(), 3);
        assert!(s.into_history().is_empty());
    }
}
