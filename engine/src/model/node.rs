//! Nodes and taints.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::resources::Resources;

/// Well-known label carrying the node's name.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// Well-known label carrying the node's zone.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
/// Label naming the autoscaler node group a node belongs to.
pub const LABEL_NODE_GROUP: &str = "autoscaler.vpsie.com/node-group";
/// Label or annotation that opts a node out of scale-down when set to "true".
pub const SCALE_DOWN_DISABLED: &str = "cluster-autoscaler.kubernetes.io/scale-down-disabled";

/// Effect of a taint.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum TaintEffect {
    NoSchedule,
    /// Soft: the scheduler prefers to avoid it; the autoscaler ignores it for feasibility.
    PreferNoSchedule,
    NoExecute,
}

/// A node taint.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Taint {
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    pub effect: TaintEffect,
}

/// A Kubernetes node as the autoscaler sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Node {
    /// Unique node name (also its `kubernetes.io/hostname` label).
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    /// Allocatable resources as the kubelet reports them (already net of system reservations).
    pub allocatable: Resources,
    /// Cordoned.
    #[serde(default)]
    pub unschedulable: bool,
    /// The Ready condition is True.
    #[serde(default = "default_true")]
    pub ready: bool,
    /// The node group this node belongs to; `None` for nodes the autoscaler does not manage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_group: Option<String>,
    /// Zone (also the `topology.kubernetes.io/zone` label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// When the node was created, in milliseconds of the snapshot's clock (anti-flap grace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<i64>,
}

fn default_true() -> bool {
    true
}

impl Node {
    /// The node's labels including the well-known hostname and zone labels derived from its
    /// fields, as the scheduler would see them.
    pub fn effective_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        labels
            .entry(LABEL_HOSTNAME.to_string())
            .or_insert_with(|| self.name.clone());
        if let Some(zone) = &self.zone {
            labels
                .entry(LABEL_ZONE.to_string())
                .or_insert_with(|| zone.clone());
        }
        if let Some(group) = &self.node_group {
            labels
                .entry(LABEL_NODE_GROUP.to_string())
                .or_insert_with(|| group.clone());
        }
        labels
    }

    /// Whether new pods may be scheduled here at all (ready and not cordoned).
    pub fn schedulable(&self) -> bool {
        self.ready && !self.unschedulable
    }
}
