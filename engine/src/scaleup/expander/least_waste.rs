//! least-waste: least unused cpu + memory fraction on the added nodes; ties → least-cost.

use super::{Candidate, best_by, least_cost};

/// Index of the candidate leaving the least cpu and memory unused on its new nodes.
pub fn choose(candidates: &[Candidate]) -> Option<usize> {
    best_by(candidates, |a, b| {
        a.waste
            .total_cmp(&b.waste)
            .then_with(|| least_cost::order(a, b))
    })
}
