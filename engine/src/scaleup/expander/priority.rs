//! priority: highest node-group priority (proposed new groups rank last); ties → least-cost.

use super::{Candidate, best_by, least_cost};

/// Index of the candidate whose group has the highest priority.
pub fn choose(candidates: &[Candidate]) -> Option<usize> {
    best_by(candidates, |a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| least_cost::order(a, b))
    })
}
