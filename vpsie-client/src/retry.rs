//! Exponential backoff with jitter from a seeded generator.

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    rng: ChaCha8Rng,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration, seed: u64) -> Self {
        Backoff {
            base,
            max,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Delay before retry number `retry` (0-based): `min(max, base·2^retry)` scaled by a random
    /// factor in [0.5, 1.0] ("equal jitter"), so replicas do not retry in lockstep.
    pub fn delay(&mut self, retry: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX));
        let capped = exp.min(self.max);
        let factor: f64 = self.rng.random_range(0.5..=1.0);
        capped.mul_f64(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1), 1);
        for retry in 0..10 {
            let d = b.delay(retry);
            let nominal =
                Duration::from_millis(100 * (1 << retry.min(4))).min(Duration::from_secs(1));
            assert!(d >= nominal / 2 && d <= nominal, "{retry}: {d:?}");
        }
    }
}
