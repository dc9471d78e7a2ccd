//! Consolidation policy: when a saving is worth the disruption of evicting pods.
//!
//! The rule (see docs/consolidation.md): a move that saves the fraction `s` of the cluster's
//! hourly cost while evicting the priority-weighted fraction `d` of its pods is worth it when
//! `s / d >= 1 / k`, i.e. `k * s >= d`. Moves that evict nothing always pass.

use serde::Serialize;

use crate::model::Pod;

/// Default `k` of the savings-versus-disruption rule (Karpenter's "Balanced" reference point).
pub const DEFAULT_K: f64 = 2.0;
/// Default cap on how many nodes one N-to-M replacement removes.
pub const DEFAULT_MAX_REPLACE_NODES: u32 = 10;

/// Whether and how eagerly the planner consolidates beyond plain utilization-based removal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsolidationPolicy {
    /// Off: only empty and under-utilized nodes are removed.
    pub enabled: bool,
    /// Savings-versus-disruption factor: a move passes when `k * savings >= disruption`
    /// (both as fractions of the cluster). Larger `k` consolidates more eagerly.
    pub k: f64,
    /// At most this many nodes are replaced by one N-to-M replacement.
    pub max_replace_nodes: u32,
}

impl Default for ConsolidationPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            k: DEFAULT_K,
            max_replace_nodes: DEFAULT_MAX_REPLACE_NODES,
        }
    }
}

/// Weight of one evicted pod in the disruption fraction: 1 for ordinary pods, growing linearly
/// with positive priority up to 11 for system-critical priorities (2e9 is capped at 1e9), so
/// evicting important pods costs more.
pub fn disruption_weight(pod: &Pod) -> f64 {
    disruption_units(pod) as f64 / DISRUPTION_UNITS_PER_POD as f64
}

/// Units of disruption weight per ordinary pod. Weights are summed as integers so that a sum
/// does not depend on the order of the pods (floating-point addition is not associative).
pub const DISRUPTION_UNITS_PER_POD: i64 = 100_000_000;

/// `disruption_weight` in exact integer units.
pub fn disruption_units(pod: &Pod) -> i64 {
    DISRUPTION_UNITS_PER_POD + i64::from(pod.priority.clamp(0, 1_000_000_000))
}

impl ConsolidationPolicy {
    /// The savings-versus-disruption rule.
    pub fn worth_it(&self, savings_fraction: f64, disruption_fraction: f64) -> bool {
        if disruption_fraction <= 0.0 {
            return savings_fraction > 0.0;
        }
        savings_fraction > 0.0 && self.k * savings_fraction >= disruption_fraction
    }
}
