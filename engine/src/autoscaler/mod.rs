//! The stateful autoscaling loop shared by the simulator and the live runtime.
//!
//! [`step`] is a pure function `(state, snapshot, observations, now, config) -> (state, output)`:
//! the shells report what happened ([`Observation`]), carry out what the loop asks
//! ([`Action`]), and persist [`LoopState`] (or rebuild it with [`LoopState::rebuild`]). The
//! loop owns the VPSieNode lifecycle ([`NodePhase`]), timers, in-flight accounting, backoff,
//! limits and anti-flap rules; the planners (`scaleup`, `scaledown`) decide what to add and
//! what can go. Configuration: [`AutoscalerConfig`], documented in docs/configuration.md.

pub mod config;
pub mod decision;
pub mod duration;
pub mod io;
mod lifecycle;
pub mod planners;
pub mod record;
mod scale_down;
mod scale_up;
pub mod state;
mod step;

pub use config::{AutoscalerConfig, ConfigError};
pub use decision::{Decision, Note, Reason, StepOutput, Transition};
pub use duration::DurationMs;
pub use io::{Action, CloudErrorKind, Observation, PlannedEviction};
pub use record::{FailureCause, NodePhase, Purpose, VpsieNodeRecord};
pub use state::{ListedWorker, LoopState};
pub use step::step;
