//! Integration tests of the simulator: shipped scenarios (snapshots and determinism), bad
//! input, the command line, trace importers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly too"
)]

mod bad_corpus;
mod bad_input;
mod chaos;
mod cli;
mod fuzz_regressions;
mod import;
mod plan_cli;
mod quality;
mod scenarios;
