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
mod scaledown_cache;
mod scaleup;
mod tidy;

/// Proptest settings with a fixed seed: every run checks the same cases, so a failure is
/// reproducible and never depends on the machine. Set `PROPTEST_RNG_SEED` to explore others.
pub fn seeded(cases: u32) -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, RngSeed};
    let mut config = Config {
        cases,
        ..Config::default()
    };
    if matches!(config.rng_seed, RngSeed::Random) {
        config.rng_seed = RngSeed::Fixed(0x5eed_0001);
    }
    config
}
