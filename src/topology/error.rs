//! (to be written)
/// Placeholder.
#[derive(Debug)]
pub struct TopologyError;
