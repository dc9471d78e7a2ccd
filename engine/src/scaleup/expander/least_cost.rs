//! least-cost: lowest hourly cost per pod helped; ties → fewer nodes → cheaper → name.

use std::cmp::Ordering;

use super::{Candidate, best_by, fewer_nodes_then_cheaper_then_name};

/// Index of the candidate with the lowest hourly cost per pod helped.
pub fn choose(candidates: &[Candidate]) -> Option<usize> {
    best_by(candidates, order)
}

/// The least-cost order (`Less` means `a` is preferred); other expanders break ties with it.
pub fn order(a: &Candidate, b: &Candidate) -> Ordering {
    // Compare cost_a / pods_a with cost_b / pods_b without dividing.
    let lhs = a.hourly_cost * f64::from(b.pods.max(1));
    let rhs = b.hourly_cost * f64::from(a.pods.max(1));
    lhs.total_cmp(&rhs)
        .then_with(|| fewer_nodes_then_cheaper_then_name(a, b))
}
