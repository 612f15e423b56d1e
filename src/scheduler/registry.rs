//! Name → policy. Adding a policy is one file plus one line here.

use super::placement::{BestFit, FirstFit, Pooled};
use super::queue::{Fifo, FifoSkip};
use super::traits::{Placement, QueuePolicy};

/// A policy name no registry entry matches.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} policy `{name}`; expected one of: {valid}")]
pub struct UnknownPolicy {
    /// `queue` or `placement`.
    pub kind: &'static str,
    /// The name asked for.
    pub name: String,
    /// The valid names, comma-separated.
    pub valid: String,
}

/// One registry entry: name, one-line description with its source, constructor.
pub struct Entry<T: ?Sized> {
    /// Registry name.
    pub name: &'static str,
    /// What it does and where it comes from.
    pub about: &'static str,
    /// Makes a fresh instance.
    pub make: fn() -> Box<T>,
}

/// Queue policies.
pub const QUEUE_POLICIES: &[Entry<dyn QueuePolicy>] = &[
    Entry {
        name: "fifo",
        about: "strict first-in first-out; the head blocks the queue",
        make: || Box::new(Fifo::default()),
    },
    Entry {
        name: "fifo-skip",
        about: "FIFO order, skipping jobs that do not fit (greedy, no reservation)",
        make: || Box::new(FifoSkip::default()),
    },
];

/// Placement policies.
pub const PLACEMENTS: &[Entry<dyn Placement>] = &[
    Entry {
        name: "first-fit",
        about:
            "lowest-numbered node that holds the job; gangs larger than a node spread over the fewest nodes",
        make: || Box::new(FirstFit),
    },
    Entry {
        name: "best-fit",
        about: "node (or shared GPU) left with the least free capacity; gangs larger than a node spread",
        make: || Box::new(BestFit),
    },
    Entry {
        name: "pooled",
        about: "any free GPUs of the model count, across node boundaries (peer simulators' rule; M/M/c)",
        make: || Box::new(Pooled),
    },
];

fn find<T: ?Sized>(table: &[Entry<T>], kind: &'static str, name: &str) -> Result<Box<T>, UnknownPolicy> {
    table
        .iter()
        .find(|e| e.name == name)
        .map(|e| (e.make)())
        .ok_or_else(|| UnknownPolicy {
            kind,
            name: name.to_string(),
            valid: table.iter().map(|e| e.name).collect::<Vec<_>>().join(", "),
        })
}

/// The queue policy called `name`.
pub fn queue_policy(name: &str) -> Result<Box<dyn QueuePolicy>, UnknownPolicy> {
    find(QUEUE_POLICIES, "queue", name)
}

/// The placement policy called `name`.
pub fn placement(name: &str) -> Result<Box<dyn Placement>, UnknownPolicy> {
    find(PLACEMENTS, "placement", name)
}
