//! Safe scale-down and consolidation: which nodes can go now, where each evicted pod goes,
//! how much PDB budget that takes, and for every node that stays, why.
//!
//! # The decision
//! 1. **Candidates.** Nodes of managed groups (the node names a group the snapshot has) that are
//!    not opted out (`cluster-autoscaler.kubernetes.io/scale-down-disabled: "true"` as label or
//!    annotation), not protected by the caller (`ScaleDownOptions::protected_nodes`), and not
//!    cordoned by someone else. Empty nodes (only DaemonSet and mirror pods) always qualify;
//!    others when requested cpu AND memory are below the threshold (the group's
//!    `scale_down_utilization_threshold`, else the option's). Requests include DaemonSet and
//!    mirror pods, as Cluster Autoscaler counts them by default.
//! 2. **Not-ready nodes** are candidates whatever their utilization: they give no capacity, and
//!    removing them is how a dead node goes away. They come right after empty nodes in the order
//!    and, like cordoned nodes, never receive evicted pods.
//! 3. **Blocking pods** ([`blocking::disposition`]): bare pods, local storage, kube-system without
//!    PDB, `safe-to-evict: "false"`, PDB budget, and pods no remaining node can take.
//! 4. **Greedy multi-node removal.** Candidates are tried in a fixed order (empty first, then
//!    not-ready, then least utilized, ties by name). Trying a node marks it unschedulable,
//!    unbinds all its pods, and re-places the evictable ones (largest first) on the tightest
//!    schedulable node with `ClusterState::check`. A node that received pods is a *destination*
//!    and is never removed in the same decision, so a stated destination always stays.
//!    Because each node is simulated on top of all earlier ones and later removals never touch
//!    earlier destinations, **every prefix of `removals` is safe on its own**: its pods fit at
//!    their destinations, PDB consumption only grows along the list, and group counts only fall.
//! 5. **Consolidation** (when enabled): nodes above the threshold whose pods fit elsewhere are
//!    removed when the savings-versus-disruption rule passes ([`consolidation`]), then at most
//!    one N-to-M replacement is planned on top of all removals ([`replace`]).
//!
//! Limits: `max_nodes` caps removals (empty or not) plus nodes a replacement removes;
//! `max_empty_bulk` caps empty removals. Nodes beyond the limit are reported with the limit as
//! reason without being simulated. A caller that needs every unneeded node (e.g. for an
//! unneeded-since timer) plans once with a large `max_nodes`, then acts on a prefix.
//!
//! Across decisions: [`ScaleDownCache::plan`] gives the same plan as [`plan_scale_down`] and
//! reuses what the previous decision built for the pods that did not change (see `cache`).
//!
//! Approximation: within one decision, a pod class (same controller, labels, request and
//! constraints) that found no place is assumed not to fit again until a removal is committed,
//! except on the node that was being emptied at the time. This can keep a removable node, never
//! remove an unsafe one: every placement that is kept was checked.

mod apply;
pub mod blocking;
mod cache;
pub mod consolidation;
pub mod pdb;
mod place;
mod planner;
mod render;
pub mod replace;
mod types;

pub use apply::apply_removals;
pub use cache::{CacheStats, ScaleDownCache};
pub use consolidation::ConsolidationPolicy;
pub use planner::plan_scale_down;
pub use types::{
    DEFAULT_MAX_EMPTY_BULK, DEFAULT_MAX_NODES, DEFAULT_UTILIZATION_THRESHOLD, Eviction, KeepReason,
    NewNodes, NodeRemoval, NodeVerdict, PdbBudget, PodBlock, RemovalKind, Replacement,
    ScaleDownOptions, ScaleDownPlan,
};
