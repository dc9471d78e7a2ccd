//! most-pods: most pending pods helped; ties → least-cost.

use super::{Candidate, best_by, least_cost};

/// Index of the candidate that helps the most pods.
pub fn choose(candidates: &[Candidate]) -> Option<usize> {
    best_by(candidates, |a, b| {
        b.pods.cmp(&a.pods).then_with(|| least_cost::order(a, b))
    })
}
