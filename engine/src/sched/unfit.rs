//! `Unfit`: why a pod cannot go on a node, as data that renders as a sentence.

use std::fmt;

use serde::Serialize;

/// The first filter a pod failed on a node. Ordered by how fundamental the mismatch is, so the
/// smallest reason over several nodes is the most useful one to explain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Unfit {
    /// The node is not Ready.
    NodeNotReady,
    /// The node is cordoned (or being removed).
    NodeUnschedulable,
    /// A `nodeSelector` entry does not match the node's labels.
    NodeSelectorMismatch { key: String, value: String },
    /// No required node-affinity term matches the node's labels.
    NodeAffinityMismatch,
    /// A NoSchedule/NoExecute taint of the node is not tolerated.
    TaintNotTolerated { taint: String },
    /// The pod needs more than the node's allocatable even when the node is empty.
    ExceedsNodeSize { resources: Vec<String> },
    /// Not enough free resources left on the node.
    InsufficientResources { resources: Vec<String> },
    /// The node has no free pod slot.
    TooManyPods,
    /// A host port the pod needs is already bound on the node.
    HostPortConflict { port: u16 },
    /// No pod matching a required pod-affinity term runs in the node's topology domain.
    PodAffinityUnsatisfied { topology_key: String },
    /// A pod-anti-affinity term (the pod's own, or an existing pod's) forbids this domain.
    PodAntiAffinityConflict { topology_key: String },
    /// Placing the pod here would exceed a topology spread constraint's maxSkew.
    TopologySpread { topology_key: String },
    /// The node lacks the label a topology spread constraint spreads over.
    MissingTopologyLabel { topology_key: String },
}

impl Unfit {
    /// Stable snake_case code (metrics labels, JSON).
    pub fn code(&self) -> &'static str {
        match self {
            Unfit::NodeNotReady => "node_not_ready",
            Unfit::NodeUnschedulable => "node_unschedulable",
            Unfit::NodeSelectorMismatch { .. } => "node_selector_mismatch",
            Unfit::NodeAffinityMismatch => "node_affinity_mismatch",
            Unfit::TaintNotTolerated { .. } => "taint_not_tolerated",
            Unfit::ExceedsNodeSize { .. } => "exceeds_node_size",
            Unfit::InsufficientResources { .. } => "insufficient_resources",
            Unfit::TooManyPods => "too_many_pods",
            Unfit::HostPortConflict { .. } => "host_port_conflict",
            Unfit::PodAffinityUnsatisfied { .. } => "pod_affinity_unsatisfied",
            Unfit::PodAntiAffinityConflict { .. } => "pod_anti_affinity_conflict",
            Unfit::TopologySpread { .. } => "topology_spread",
            Unfit::MissingTopologyLabel { .. } => "missing_topology_label",
        }
    }

    /// Whether the reason depends only on the pod and the node's shape (labels, taints, size),
    /// not on what else runs there. Such reasons hold for every node of a group.
    pub fn is_static(&self) -> bool {
        matches!(
            self,
            Unfit::NodeSelectorMismatch { .. }
                | Unfit::NodeAffinityMismatch
                | Unfit::TaintNotTolerated { .. }
                | Unfit::ExceedsNodeSize { .. }
                | Unfit::MissingTopologyLabel { .. }
        )
    }
}

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unfit::NodeNotReady => write!(f, "the node is not ready"),
            Unfit::NodeUnschedulable => write!(f, "the node is cordoned"),
            Unfit::NodeSelectorMismatch { key, value } => {
                write!(
                    f,
                    "the node does not have label {key}={value} required by nodeSelector"
                )
            }
            Unfit::NodeAffinityMismatch => {
                write!(f, "the node matches no required node-affinity term")
            }
            Unfit::TaintNotTolerated { taint } => write!(f, "taint {taint} is not tolerated"),
            Unfit::ExceedsNodeSize { resources } => {
                write!(
                    f,
                    "requests more {} than the node's allocatable",
                    resources.join(", ")
                )
            }
            Unfit::InsufficientResources { resources } => {
                write!(f, "insufficient free {}", resources.join(", "))
            }
            Unfit::TooManyPods => write!(f, "the node has no free pod slot"),
            Unfit::HostPortConflict { port } => write!(f, "host port {port} is already in use"),
            Unfit::PodAffinityUnsatisfied { topology_key } => {
                write!(
                    f,
                    "no pod required by pod affinity runs in the same {topology_key} domain"
                )
            }
            Unfit::PodAntiAffinityConflict { topology_key } => {
                write!(
                    f,
                    "pod anti-affinity forbids sharing the {topology_key} domain with a running pod"
                )
            }
            Unfit::TopologySpread { topology_key } => {
                write!(
                    f,
                    "placing it would exceed the maxSkew of its {topology_key} spread constraint"
                )
            }
            Unfit::MissingTopologyLabel { topology_key } => {
                write!(
                    f,
                    "the node has no {topology_key} label required by its spread constraint"
                )
            }
        }
    }
}
