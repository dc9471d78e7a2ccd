//! Integration tests of the simulator: shipped scenarios (snapshots and determinism), bad
//! input, the command line, trace importers.

mod bad_input;
mod cli;
mod scenarios;
