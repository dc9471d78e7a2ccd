//! The simulation's one random number generator: ChaCha8, explicitly seeded, counting its draws.
//!
//! A named algorithm (not `StdRng`) keeps reports reproducible across crate upgrades; the draw
//! counter goes into the report so two runs can be compared cheaply.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::SimTime;

/// Seeded ChaCha8 with helpers for the draws the simulator makes.
#[derive(Debug, Clone)]
pub struct SimRng {
    rng: ChaCha8Rng,
    draws: u64,
}

impl SimRng {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            draws: 0,
        }
    }

    /// Number of draws made so far.
    pub fn draws(&self) -> u64 {
        self.draws
    }

    /// A fresh 64-bit value (e.g. to seed a sub-model such as the simulated cloud).
    pub fn next_u64(&mut self) -> u64 {
        self.draws += 1;
        self.rng.next_u64()
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.draws += 1;
        self.rng.random::<f64>()
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        self.unit() < p
    }

    /// Uniform integer in `[lo, hi]` (returns `lo` when the range is empty).
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        self.draws += 1;
        self.rng.random_range(lo..=hi)
    }

    /// Exponentially distributed delay with the given mean, in whole milliseconds.
    pub fn exponential_ms(&mut self, mean_ms: f64) -> SimTime {
        if mean_ms <= 0.0 {
            return 0;
        }
        let u = self.unit();
        // 1 - u is in (0, 1], so the logarithm is finite.
        let x = -(1.0 - u).ln() * mean_ms;
        x.min(i64::MAX as f64 / 2.0) as SimTime
    }

    /// Poisson-distributed count with the given mean (Knuth's method for small means, a rounded
    /// normal approximation above 30).
    pub fn poisson(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            // Box-Muller normal approximation.
            let u1 = self.unit().max(f64::MIN_POSITIVE);
            let u2 = self.unit();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            return (mean + z * mean.sqrt()).round().max(0.0) as u64;
        }
        let limit = (-mean).exp();
        let mut k = 0;
        let mut p = 1.0;
        loop {
            p *= self.unit();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws() {
        let mut a = SimRng::new(7);
        let mut b = SimRng::new(7);
        let xs: Vec<i64> = (0..50).map(|_| a.between(0, 1000)).collect();
        let ys: Vec<i64> = (0..50).map(|_| b.between(0, 1000)).collect();
        assert_eq!(xs, ys);
        assert_eq!(a.draws(), 50);
        let mut c = SimRng::new(8);
        let zs: Vec<i64> = (0..50).map(|_| c.between(0, 1000)).collect();
        assert_ne!(xs, zs);
    }

    #[test]
    fn poisson_mean_is_roughly_right() {
        let mut r = SimRng::new(1);
        let n = 2000;
        let total: u64 = (0..n).map(|_| r.poisson(4.0)).sum();
        let mean = total as f64 / n as f64;
        assert!((3.7..4.3).contains(&mean), "mean {mean}");
        let big: u64 = (0..n).map(|_| r.poisson(100.0)).sum();
        let mean = big as f64 / n as f64;
        assert!((97.0..103.0).contains(&mean), "mean {mean}");
    }
}
