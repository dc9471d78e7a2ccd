//! The cluster snapshot: everything the engine needs to decide, in one versioned document.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::group::{DaemonSet, InFlightNode, NodeGroup, VpsieSize};
use super::node::Node;
use super::pod::Pod;
use super::resources::Resources;
use super::selector::LabelSelector;

/// The only snapshot format version this build reads and writes.
pub const SNAPSHOT_VERSION: u32 = 1;

/// An integer or a percentage (`"50%"`), as in a PDB's minAvailable/maxUnavailable.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(untagged)]
pub enum IntOrPercent {
    Int(i32),
    Percent(String),
}

/// A PodDisruptionBudget (policy/v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDisruptionBudget {
    pub name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    #[serde(default)]
    pub selector: LabelSelector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrPercent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
    /// `status.disruptionsAllowed` as observed; computed from the spec when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruptions_allowed: Option<i32>,
}

fn default_namespace() -> String {
    "default".to_string()
}

/// Everything the engine decides from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSnapshot {
    /// Format version; must be 1.
    pub version: u32,
    /// Milliseconds of the snapshot's clock at which it was taken (timers compare against it).
    #[serde(default)]
    pub now_ms: i64,
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub pods: Vec<Pod>,
    #[serde(default)]
    pub pdbs: Vec<PodDisruptionBudget>,
    #[serde(default)]
    pub node_groups: Vec<NodeGroup>,
    /// The VPSie size catalogue. Sizes no group uses may be proposed as a new group.
    #[serde(default)]
    pub sizes: Vec<VpsieSize>,
    #[serde(default)]
    pub daemon_sets: Vec<DaemonSet>,
    /// Nodes being provisioned right now.
    #[serde(default)]
    pub in_flight: Vec<InFlightNode>,
    /// System and kube reservations subtracted from every new node's capacity (may be zero).
    #[serde(default)]
    pub system_reserved: Resources,
    /// Zones new groups may be created in (for sizes not used by any group yet). Empty means
    /// one new group without a zone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// Change stamps of `pods` (one per pod, same order), or empty. Not part of the file
    /// format. A shell that keeps its snapshot from one loop step to the next (the simulator)
    /// gives every pod it adds or changes a stamp it never used before, as Kubernetes'
    /// `resourceVersion` does; the scale-down cache then takes a pod whose stamp it saw at the
    /// same position as unchanged without comparing it field by field (debug builds still
    /// compare, to catch a shell that breaks the rule).
    #[serde(skip)]
    #[schemars(skip)]
    pub pod_revisions: Vec<u64>,
}

impl ClusterSnapshot {
    /// The group of every node and every in-flight node that has one, once per node: what a
    /// group's size counts.
    pub fn group_members(&self) -> impl Iterator<Item = &str> {
        self.nodes
            .iter()
            .filter_map(|n| n.node_group.as_deref())
            .chain(self.in_flight.iter().map(|f| f.node_group.as_str()))
    }
}
