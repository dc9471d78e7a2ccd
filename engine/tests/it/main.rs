//! Integration tests of vpsie-engine (one binary, one module per area).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly too"
)]

mod autoscaler;
mod bad_input;
mod load;
mod packing;
mod plan_examples;
mod scaledown;
mod scaleup;
mod tidy;
