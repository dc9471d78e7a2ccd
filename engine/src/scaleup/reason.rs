//! Why a pending pod gets no new capacity: one reason enum, rendered as a sentence.
//!
//! A pod is judged against every node option (existing group or proposed new group). Each
//! option yields its own reason; the pod carries the most relevant one, the one from the
//! option that came closest to taking the pod. Precedence, most relevant first:
//!
//! 1. the group is blocked (backoff, cooldown, being created): it would take the pod otherwise;
//! 2. the group is at its max;
//! 3. a cluster-wide limit (nodes, cores, memory) leaves no room for one more node;
//! 4. an inter-pod rule (anti-affinity, pod affinity, topology spread, host port) fails on a
//!    new node although the node would statically fit;
//! 5. the pod requests more than the node offers (the option matches but is too small);
//! 6. the option lacks the topology label a hard spread constraint needs;
//! 7. a taint of the option is not tolerated;
//! 8. the option's labels fail the pod's required node affinity;
//! 9. the option's labels fail the pod's nodeSelector.
//!
//! Ties between options are broken by option name, so the choice is deterministic.

use std::fmt;

use serde::Serialize;

use super::plan::GroupBlock;

/// Why a pending pod gets no capacity from the plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase", tag = "code")]
pub enum NoCapacityReason {
    /// No node group exists and the catalogue has no size to propose.
    NoNodeOptions,
    /// The option's labels fail the nodeSelector entry `key=value`.
    NodeSelectorMismatch { selector: String },
    /// The option's labels fail the pod's required node affinity.
    NodeAffinityMismatch,
    /// The option carries a taint the pod does not tolerate (`key=value:Effect`).
    TaintNotTolerated { taint: String },
    /// The pod requests more of `resource` than an empty node of the largest matching option
    /// offers after reservations and DaemonSets.
    ExceedsLargestSize {
        resource: String,
        requested: String,
        largest: String,
    },
    /// Host port already taken everywhere the pod could go.
    HostPortConflict { port: u16 },
    /// Required topology spread cannot be met on a new node.
    TopologySpread { topology_key: String },
    /// Required pod affinity cannot be met on a new node.
    PodAffinityUnsatisfied { topology_key: String },
    /// Required pod anti-affinity conflicts on every new node.
    PodAntiAffinityConflict { topology_key: String },
    /// The cluster's memory limit leaves no room for one more node that would fit.
    ClusterMemoryLimit { limit: String },
    /// The cluster's cpu limit leaves no room for one more node that would fit.
    ClusterCpuLimit { cores: u64 },
    /// The cluster's node limit is reached.
    ClusterNodeLimit { nodes: u32 },
    /// The group that would take the pod is at its max.
    GroupAtMax { group: String, max: u32 },
    /// The group that would take the pod may not grow now.
    GroupBlocked { group: String, block: GroupBlock },
    /// No option carries the label a hard topology spread constraint spreads over.
    MissingTopologyLabel { topology_key: String },
    /// Options could take the pod but the plan did not place it (should not happen; kept so
    /// that every pod still carries a reason).
    NotPlaced,
}

impl NoCapacityReason {
    /// Stable snake_case code for metrics, events and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoNodeOptions => "no_node_options",
            Self::NodeSelectorMismatch { .. } => "node_selector_mismatch",
            Self::NodeAffinityMismatch => "node_affinity_mismatch",
            Self::TaintNotTolerated { .. } => "taint_not_tolerated",
            Self::ExceedsLargestSize { .. } => "exceeds_largest_size",
            Self::HostPortConflict { .. } => "host_port_conflict",
            Self::TopologySpread { .. } => "topology_spread",
            Self::PodAffinityUnsatisfied { .. } => "pod_affinity_unsatisfied",
            Self::PodAntiAffinityConflict { .. } => "pod_anti_affinity_conflict",
            Self::ClusterMemoryLimit { .. } => "cluster_memory_limit",
            Self::ClusterCpuLimit { .. } => "cluster_cpu_limit",
            Self::ClusterNodeLimit { .. } => "cluster_node_limit",
            Self::GroupAtMax { .. } => "group_at_max",
            Self::GroupBlocked { .. } => "group_blocked",
            Self::MissingTopologyLabel { .. } => "missing_topology_label",
            Self::NotPlaced => "not_placed",
        }
    }

    /// Relevance rank: higher means the option came closer to taking the pod (see module docs).
    pub fn relevance(&self) -> u8 {
        match self {
            Self::NoNodeOptions | Self::NotPlaced => 0,
            Self::NodeSelectorMismatch { .. } => 1,
            Self::NodeAffinityMismatch => 2,
            Self::TaintNotTolerated { .. } => 3,
            Self::MissingTopologyLabel { .. } => 4,
            Self::ExceedsLargestSize { .. } => 5,
            Self::HostPortConflict { .. }
            | Self::TopologySpread { .. }
            | Self::PodAffinityUnsatisfied { .. }
            | Self::PodAntiAffinityConflict { .. } => 6,
            Self::ClusterMemoryLimit { .. }
            | Self::ClusterCpuLimit { .. }
            | Self::ClusterNodeLimit { .. } => 7,
            Self::GroupAtMax { .. } => 8,
            Self::GroupBlocked { .. } => 9,
        }
    }
}

impl fmt::Display for NoCapacityReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoNodeOptions => {
                f.write_str("no node group exists and the catalogue has no size to propose")
            }
            Self::NodeSelectorMismatch { selector } => {
                write!(f, "no node group matches nodeSelector {selector}")
            }
            Self::NodeAffinityMismatch => {
                f.write_str("no node group matches the pod's required node affinity")
            }
            Self::TaintNotTolerated { taint } => {
                write!(f, "taint {taint} is not tolerated by any group")
            }
            Self::ExceedsLargestSize {
                resource,
                requested,
                largest,
            } => write!(
                f,
                "requests {requested} {resource}, more than the largest size ({largest})"
            ),
            Self::HostPortConflict { port } => {
                write!(
                    f,
                    "host port {port} is taken on every node that could host the pod"
                )
            }
            Self::TopologySpread { topology_key } => write!(
                f,
                "topology spread on {topology_key} cannot be satisfied on any new node"
            ),
            Self::PodAffinityUnsatisfied { topology_key } => write!(
                f,
                "required pod affinity on {topology_key} cannot be satisfied on any new node"
            ),
            Self::PodAntiAffinityConflict { topology_key } => write!(
                f,
                "pod anti-affinity on {topology_key} conflicts on every new node"
            ),
            Self::ClusterMemoryLimit { limit } => {
                write!(f, "cluster memory limit ({limit}) reached")
            }
            Self::ClusterCpuLimit { cores } => {
                write!(f, "cluster cpu limit ({cores} cores) reached")
            }
            Self::ClusterNodeLimit { nodes } => {
                write!(f, "cluster node limit ({nodes} nodes) reached")
            }
            Self::GroupAtMax { group, max } => {
                write!(f, "node group {group} is at its max ({max})")
            }
            Self::GroupBlocked { group, block } => write!(f, "node group {group} {block}"),
            Self::MissingTopologyLabel { topology_key } => write!(
                f,
                "no node group carries the {topology_key} label its topology spread needs"
            ),
            Self::NotPlaced => f.write_str("no node option took the pod in this plan"),
        }
    }
}
