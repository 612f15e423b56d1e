//! Loads beside jobs: inference services' replicas hold whole nodes outside the
//! scheduler ([`crate::serving::engine`]), yet they draw power under the same caps.
//! A service reports each node's draw through a [`LoadLink`]; the power model takes it
//! in as a job of the highest class (so under `priority` capping replicas keep their
//! power until every training, eval and inference job beneath the binding cap is at its
//! lowest cap) and hands back the speed and busy-power share the caps leave each load.
//!
//! The link is shared by the two models of one run (both single-threaded); the power
//! model reads pending changes at its next settle, and the service reads the factors
//! after it.

use std::cell::RefCell;
use std::rc::Rc;

use crate::topology::NodeId;

/// A change of one load, applied at the power model's next settle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadChange {
    /// Load `id` now draws, on `gpus` GPUs of `node`, `share` (0-1) of their
    /// idle-to-TDP range (replacing what it drew before, if anything).
    Start {
        /// The load (a service's node slot).
        id: u32,
        /// Its node.
        node: NodeId,
        /// GPUs drawing.
        gpus: u32,
        /// Share of the idle-to-TDP range.
        share: f64,
    },
    /// Load `id` stops drawing (its node is given back).
    Stop {
        /// The load.
        id: u32,
    },
}

/// What the caps leave a load, from the last settle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadFactor {
    /// Speed, 1 unthrottled: (cap / demand)^α as for jobs.
    pub rate: f64,
    /// Share of its busy power (above idle) it may draw.
    pub busy_scale: f64,
}

impl LoadFactor {
    /// No throttling.
    pub const FULL: LoadFactor = LoadFactor {
        rate: 1.0,
        busy_scale: 1.0,
    };
}

#[derive(Debug, Default)]
struct Shared {
    pending: Vec<LoadChange>,
    factors: Vec<LoadFactor>,
}

/// The link between a run's power model and its services (cheap to clone: one
/// shared state).
#[derive(Debug, Clone, Default)]
pub struct LoadLink(Rc<RefCell<Shared>>);

impl LoadLink {
    /// A link with no loads.
    pub fn new() -> LoadLink {
        LoadLink::default()
    }

    /// Queues a change for the power model's next settle.
    pub fn push(&self, change: LoadChange) {
        self.0.borrow_mut().pending.push(change);
    }

    /// What the caps left load `id` at the last settle (full speed if never throttled).
    pub fn factor(&self, id: u32) -> LoadFactor {
        self.0
            .borrow()
            .factors
            .get(id as usize)
            .copied()
            .unwrap_or(LoadFactor::FULL)
    }

    /// The changes queued since the last call, in the order pushed.
    pub(super) fn take_pending(&self) -> Vec<LoadChange> {
        std::mem::take(&mut self.0.borrow_mut().pending)
    }

    /// Records what the caps leave load `id`.
    pub(super) fn set_factor(&self, id: u32, f: LoadFactor) {
        let mut s = self.0.borrow_mut();
        let i = id as usize;
        if s.factors.len() <= i {
            s.factors.resize(i + 1, LoadFactor::FULL);
        }
        s.factors[i] = f;
    }
}
