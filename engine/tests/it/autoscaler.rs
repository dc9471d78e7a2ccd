//! Tests of the stateful loop: configuration, lifecycle transitions, timers, properties.

// Test helpers outside #[test] functions unwrap fixtures that are known to be valid.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod config;
mod fixtures;
mod flows;
mod lifecycle;
mod props;
mod timers;
mod unready;
