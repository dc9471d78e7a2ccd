//! least-cost: lowest hourly cost per unit of cpu+memory requested by the pods helped; ties → fewer nodes → cheaper → name.

use std::cmp::Ordering;

use super::{Candidate, best_by, fewer_nodes_then_cheaper_then_name};

/// Index of the candidate with the lowest hourly cost per unit of volume helped.
pub fn choose(candidates: &[Candidate]) -> Option<usize> {
    best_by(candidates, order)
}

/// The least-cost order (`Less` means `a` is preferred); other expanders break ties with it.
pub fn order(a: &Candidate, b: &Candidate) -> Ordering {
    // Compare cost_a / volume_a with cost_b / volume_b without dividing.
    let lhs = a.hourly_cost * b.volume.max(0.0);
    let rhs = b.hourly_cost * a.volume.max(0.0);
    lhs.total_cmp(&rhs)
        .then_with(|| fewer_nodes_then_cheaper_then_name(a, b))
}
