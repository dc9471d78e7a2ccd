//! The loop's only contact with the scale-up and scale-down planners: builds their options from
//! the configuration and the loop's state, and calls them. Kept small so a planner API change
//! touches this file alone.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::ClusterSnapshot;
use crate::scaledown::{ConsolidationPolicy, ScaleDownCache, ScaleDownOptions, ScaleDownPlan};
use crate::scaleup::{
    ClusterLimits, ExpanderKind, GroupBlock, ScaleUpOptions, ScaleUpPlan, plan_scale_up,
};

use super::config::AutoscalerConfig;

/// Resolves an expander name; the error message lists the known ones.
pub fn parse_expander(name: &str) -> Result<ExpanderKind, String> {
    name.parse::<ExpanderKind>().map_err(|e| e.to_string())
}

/// Runs the scale-up planner.
pub(crate) fn scale_up(
    snapshot: &ClusterSnapshot,
    config: &AutoscalerConfig,
    blocked_groups: BTreeMap<String, GroupBlock>,
    ignored_pods: BTreeSet<String>,
) -> ScaleUpPlan {
    let up = &config.scale_up;
    let opts = ScaleUpOptions {
        expander: parse_expander(&up.expander).unwrap_or_default(),
        seed: up.expander_seed,
        work_budget: up.work_budget,
        limits: ClusterLimits {
            max_nodes: config.limits.max_nodes_total,
            max_cores: config.limits.max_total_cores,
            max_memory_bytes: config.limits.max_total_memory.map(|m| m.0),
        },
        blocked_groups,
        ignored_pods,
        record_placement_order: false,
    };
    plan_scale_up(snapshot, &opts)
}

/// Runs the scale-down planner, asking for every removable node (`max_nodes` = all nodes) so
/// the loop can run unneeded-since timers on all of them and act on a prefix. `cache` carries
/// the decision's per-pod work from one step to the next.
pub(crate) fn scale_down(
    snapshot: &ClusterSnapshot,
    config: &AutoscalerConfig,
    protected_nodes: BTreeMap<String, String>,
    consolidate: bool,
    cache: &mut ScaleDownCache,
) -> ScaleDownPlan {
    let down = &config.scale_down;
    let opts = ScaleDownOptions {
        utilization_threshold: down.utilization_threshold,
        max_empty_bulk: u32::try_from(snapshot.nodes.len())
            .unwrap_or(u32::MAX)
            .max(1),
        max_nodes: u32::try_from(snapshot.nodes.len())
            .unwrap_or(u32::MAX)
            .max(1),
        consolidation: ConsolidationPolicy {
            enabled: consolidate && config.consolidation.enabled,
            k: config.consolidation.balance,
            ..ConsolidationPolicy::default()
        },
        protected_nodes,
    };
    cache.plan(snapshot, &opts)
}

/// Line-oriented rendering of a scale-up plan for the decision.
pub(crate) fn render_up(plan: &ScaleUpPlan) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for inc in &plan.increases {
        let _ = writeln!(
            out,
            "increase {} +{} size={}{} cost/h={:.4}",
            inc.group,
            inc.count,
            inc.size,
            if inc.new_group { " (new group)" } else { "" },
            inc.hourly_cost
        );
    }
    for v in &plan.unschedulable {
        let _ = writeln!(
            out,
            "unschedulable {} [{}]: {}",
            v.pod,
            v.reason.code(),
            v.reason
        );
    }
    out
}
