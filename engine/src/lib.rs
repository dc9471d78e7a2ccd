//! vpsie-engine: the pure planning core of the autoscaler.
//!
//! Everything here is a deterministic function of its inputs: a [`model::ClusterSnapshot`],
//! a configuration, the loop's explicit state and `now` (milliseconds). No IO, no clock, no
//! OS randomness, no hash-ordered iteration. The simulator and the live runtime are two shells
//! that feed this crate observations and carry out the actions it returns.

pub mod autoscaler;
pub mod model;
pub mod scaledown;
pub mod scaleup;
pub mod sched;
