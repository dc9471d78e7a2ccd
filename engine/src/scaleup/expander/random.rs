//! random: uniformly at random from a ChaCha8 generator seeded by the caller.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::Candidate;

/// Index of a uniformly drawn candidate. Candidates arrive in a stable order (by name), so the
/// same seed gives the same pick.
pub fn choose(candidates: &[Candidate], rng: &mut ChaCha8Rng) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    Some(rng.random_range(0..candidates.len()))
}
