//! The custom resources `NodeGroup` and `VPSieNode` (group `autoscaler.vpsie.com`, `v1alpha1`).
//!
//! These Rust types are the source of truth: `vpsie-autoscaler crdgen` renders them to
//! `deploy/crds/*.yaml`, and a test fails when the committed YAML is stale.
#![allow(
    clippy::duplicated_attributes,
    reason = "kube's printcolumn attributes legitimately repeat `type_ = \"integer\"`"
)]

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
pub use vpsie_engine::autoscaler::NodePhase;
use vpsie_engine::autoscaler::VpsieNodeRecord;

/// API group of the autoscaler's resources.
pub const GROUP: &str = "autoscaler.vpsie.com";
/// API version of the autoscaler's resources.
pub const VERSION: &str = "v1alpha1";
/// Finalizer that makes deleting a VPSieNode delete its VPS first.
pub const VPSIE_NODE_FINALIZER: &str = "autoscaler.vpsie.com/delete-worker";
/// Label on a VPSieNode naming the NodeGroup it belongs to.
pub const LABEL_NODE_GROUP_CR: &str = "autoscaler.vpsie.com/nodegroup";

/// A taint the autoscaler puts on the nodes of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeTaint {
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// Per-group overrides of the global scale-down policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaleDownPolicy {
    /// Never remove nodes of this group.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Requested cpu and memory over allocatable below which a node is a removal candidate
    /// (0..1); the global `scaleDownUtilizationThreshold` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization_threshold: Option<f64>,
}

/// A group of VPSie Kubernetes workers of one size (or one of several allowed sizes), with
/// bounds, and what its nodes look like.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "autoscaler.vpsie.com",
    version = "v1alpha1",
    kind = "NodeGroup",
    namespaced,
    status = "NodeGroupStatus",
    shortname = "vng",
    category = "vpsie",
    derive = "PartialEq",
    doc = "A VPSie node group managed by vpsie-autoscaler: bounds, size(s), labels and taints of its nodes.",
    printcolumn(name = "Min", type_ = "integer", json_path = ".spec.minNodes"),
    printcolumn(name = "Max", type_ = "integer", json_path = ".spec.maxNodes"),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".status.desiredNodes"
    ),
    printcolumn(
        name = "Current",
        type_ = "integer",
        json_path = ".status.currentNodes"
    ),
    printcolumn(name = "Ready", type_ = "integer", json_path = ".status.readyNodes"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct NodeGroupSpec {
    /// Fewest nodes the group keeps (scale-down never goes below).
    #[serde(default)]
    pub min_nodes: u32,
    /// Most nodes the group may have (scale-up never goes above).
    pub max_nodes: u32,
    /// VPSie datacenter identifier (UUID) of the group's nodes.
    pub datacenter: String,
    /// VPSie Kubernetes cluster identifier (UUID) the workers join.
    pub cluster_identifier: String,
    /// The VPSie size (`KubeSizeID`) of the group's nodes. Exactly one of `kubeSizeId` and
    /// `allowedSizes` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_size_id: Option<u32>,
    /// Several allowed sizes: the autoscaler picks per scale-up (VPSie allows one VPSie node
    /// group per size per cluster, so each size becomes a VPSie group of its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_sizes: Vec<u32>,
    /// Labels put on the group's nodes (besides `autoscaler.vpsie.com/node-group`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Taints put on the group's nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<NodeTaint>,
    /// Zone label value of the group's nodes, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Higher wins under the `priority` expander.
    #[serde(default)]
    pub priority: i32,
    /// Overrides of the global scale-down policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScaleDownPolicy>,
    /// An existing VPSie node group to adopt (numeric id), instead of creating one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpsie_group_id: Option<i64>,
}

/// One node of a group, as summarised in its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSummary {
    /// VPSieNode name.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    pub phase: NodePhase,
}

/// Observed state of a NodeGroup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeGroupStatus {
    /// Nodes the autoscaler wants (current plus requested minus being removed).
    #[serde(default)]
    pub desired_nodes: u32,
    /// Nodes that exist (VPSieNodes not yet gone).
    #[serde(default)]
    pub current_nodes: u32,
    /// Nodes whose Kubernetes Node is Ready.
    #[serde(default)]
    pub ready_nodes: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeSummary>,
    /// VPSie node group ids per size (`KubeSizeID` → numeric group id).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vpsie_group_ids: BTreeMap<String, i64>,
    /// `Ready`, `Scaling`, `Error`, `AtMinCapacity`, `AtMaxCapacity`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_up_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_down_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// One worker the autoscaler requested from VPSie.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "autoscaler.vpsie.com",
    version = "v1alpha1",
    kind = "VPSieNode",
    plural = "vpsienodes",
    namespaced,
    status = "VPSieNodeStatus",
    shortname = "vn",
    category = "vpsie",
    derive = "PartialEq",
    doc = "One VPSie worker requested by vpsie-autoscaler, tracked from request to deletion.",
    printcolumn(name = "Group", type_ = "string", json_path = ".spec.nodeGroup"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Node", type_ = "string", json_path = ".status.nodeName"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct VPSieNodeSpec {
    /// Name of the owning NodeGroup (same namespace).
    pub node_group: String,
    /// Name of the engine's node group (the NodeGroup, or NodeGroup and size for multi-size groups).
    pub engine_group: String,
    /// VPSie Kubernetes cluster identifier.
    pub cluster_identifier: String,
    /// The worker's size.
    pub kube_size_id: u32,
}

/// Observed state of a requested worker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VPSieNodeStatus {
    /// The engine's lifecycle phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<NodePhase>,
    /// Numeric VPSie node group id the worker was added to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpsie_group_id: Option<i64>,
    /// VPSie worker identifier (UUID), known once it appears in the cluster's node list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpsie_identifier: Option<String>,
    /// VPSie hostname (also the Kubernetes Node name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminating_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The loop's full record of this worker, from which its state is rebuilt after a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_object")]
    pub record: Option<VpsieNodeRecord>,
}

/// Schema of a free-form object kept as is by the API server.
fn preserve_unknown_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// The CRDs as YAML documents, one per file name (`nodegroups.yaml`, `vpsienodes.yaml`).
pub fn crd_yaml() -> Result<Vec<(&'static str, String)>, serde_yaml_ng::Error> {
    Ok(vec![
        ("nodegroups.yaml", render(&NodeGroup::crd())?),
        ("vpsienodes.yaml", render(&VPSieNode::crd())?),
    ])
}

fn render<T: Serialize>(value: &T) -> Result<String, serde_yaml_ng::Error> {
    let body = serde_yaml_ng::to_string(value)?;
    Ok(format!(
        "# Generated by `vpsie-autoscaler crdgen` from runtime-k8s/src/crd.rs; do not edit.\n{body}"
    ))
}
