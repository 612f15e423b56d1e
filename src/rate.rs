//! A running job's rate as a product of factors, each owned by one model.
//!
//! A job's rate is the work it does per unit of time (1.0: its trace duration's pace).
//! Each model that slows or speeds a job owns one factor and changes only that one
//! (DESIGN.md, "Running jobs advance at a rate"): the GPU's speed for the job's class,
//! power throttling, fabric contention and checkpoint writing. The rate is their product,
//! so the models compose instead of overwriting each other.

/// Who owns a factor of a job's rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Factor {
    /// The speed of the GPU model the job runs on, for its class, relative to the
    /// speed its duration was measured at (see [`crate::speed`]); set when a run starts.
    Speed,
    /// Power throttling (see [`crate::power`]): 1.0 unthrottled, lower under a cap.
    Power,
    /// Fabric contention: 1.0 when the job's communication runs at its isolated pace,
    /// lower when links it shares with other jobs slow it.
    Network,
    /// Checkpoint writing: the share of the job's pace left while it saves its state
    /// (0 when training pauses for a synchronous checkpoint).
    Checkpoint,
}

impl Factor {
    /// How many factors there are.
    pub const COUNT: usize = 4;

    /// The factor's slot in [`Rate`].
    const fn index(self) -> usize {
        self as usize
    }
}

/// A job's rate: its factors and their product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    factors: [f64; Factor::COUNT],
    product: f64,
}

impl Default for Rate {
    fn default() -> Self {
        Rate::NOMINAL
    }
}

impl Rate {
    /// Every factor 1.0: the job runs at its trace duration's pace.
    pub const NOMINAL: Rate = Rate {
        factors: [1.0; Factor::COUNT],
        product: 1.0,
    };

    /// The rate: the product of the factors, multiplied in [`Factor`] order so that the
    /// result does not depend on the order the factors were set in.
    pub fn get(&self) -> f64 {
        self.product
    }

    /// One factor.
    pub fn factor(&self, f: Factor) -> f64 {
        self.factors[f.index()]
    }

    /// Sets one factor and recomputes the product; returns whether the rate changed.
    pub fn set(&mut self, f: Factor, value: f64) -> bool {
        self.factors[f.index()] = value;
        let product = self.factors.iter().product();
        let changed = product != self.product;
        self.product = product;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_multiply_and_each_keeps_its_own_value() {
        let mut r = Rate::NOMINAL;
        assert!(r.set(Factor::Speed, 2.0));
        assert!(r.set(Factor::Power, 0.25));
        assert_eq!(r.get(), 0.5);
        // Power returning to full speed leaves the GPU speed in place.
        assert!(r.set(Factor::Power, 1.0));
        assert_eq!((r.get(), r.factor(Factor::Speed)), (2.0, 2.0));
        assert!(!r.set(Factor::Power, 1.0));
    }
}
