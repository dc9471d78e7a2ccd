//! The discrete-event core: integer-millisecond virtual time, an event queue ordered by
//! `(time, sequence)`, and the simulation's one seeded random number generator.
//!
//! Nothing here reads a clock or the OS entropy pool: the same schedule of events and the same
//! seed always give the same order of events and the same draws.

mod queue;
mod rng;

pub use queue::{EventQueue, Scheduled};
pub use rng::SimRng;

/// Virtual time in milliseconds since the start of the simulation.
pub type SimTime = i64;

/// Milliseconds in one second.
pub const SECOND: SimTime = 1_000;
/// Milliseconds in one minute.
pub const MINUTE: SimTime = 60 * SECOND;
/// Milliseconds in one hour.
pub const HOUR: SimTime = 60 * MINUTE;
