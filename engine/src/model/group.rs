//! Node groups, the VPSie size catalogue, DaemonSets and in-flight nodes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::node::Taint;
use super::pod::{Affinity, Container, Toleration};
use super::resources::{NVIDIA_GPU, Resources};

/// Pod slots of a new node when the size does not say otherwise (kubelet default).
pub const DEFAULT_MAX_PODS: i64 = 110;

/// A VPSie Kubernetes size (a `KubeSizeID` of the offers catalogue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VpsieSize {
    /// VPSie `KubeSizeID`.
    pub id: u32,
    /// Unique display name, e.g. `K8S-4C-8G`.
    pub name: String,
    pub vcpu: u32,
    pub ram_mb: u64,
    pub disk_gb: u64,
    #[serde(default)]
    pub gpu: u32,
    /// USD per hour.
    pub hourly_price: f64,
    /// Pod slots of a node of this size.
    #[serde(default = "default_max_pods")]
    pub max_pods: i64,
}

fn default_max_pods() -> i64 {
    DEFAULT_MAX_PODS
}

impl VpsieSize {
    /// Raw capacity of a node of this size, before system reservations.
    pub fn capacity(&self) -> Resources {
        let mut r = Resources {
            cpu_milli: i64::from(self.vcpu) * 1000,
            memory: i64::try_from(self.ram_mb)
                .unwrap_or(i64::MAX / (1 << 20))
                .saturating_mul(1 << 20),
            ephemeral_storage: i64::try_from(self.disk_gb)
                .unwrap_or(i64::MAX / (1 << 30))
                .saturating_mul(1 << 30),
            pods: self.max_pods,
            extended: Vec::new(),
        };
        r.set_extended(NVIDIA_GPU, i64::from(self.gpu));
        r
    }
}

/// A node group: one VPSie size, bounds, and what its new nodes look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeGroup {
    pub name: String,
    /// Name of the group's size in the catalogue (`sizes`).
    pub size: String,
    #[serde(default)]
    pub min: u32,
    pub max: u32,
    /// Labels applied to the group's new nodes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Taints applied to the group's new nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacenter: Option<String>,
    /// Higher wins under the `priority` expander.
    #[serde(default)]
    pub priority: i32,
    /// Per-group system reservation overriding the snapshot's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_reserved: Option<Resources>,
    /// Per-group scale-down utilization threshold overriding the configuration's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_utilization_threshold: Option<f64>,
    /// A node budget this group shares with others (the sizes of one multi-size NodeGroup):
    /// the nodes of all groups naming it, existing and being provisioned, stay within `max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_max: Option<SharedMax>,
}

/// A maximum several node groups share. Every group naming it must give the same `max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SharedMax {
    /// Name of the budget (for example the NodeGroup resource the groups come from).
    pub name: String,
    /// Largest total of nodes over the groups sharing it.
    pub max: u32,
}

/// A DaemonSet: one pod of it lands on every node that matches its selector and tolerations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DaemonSet {
    pub name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Resources::is_zero")]
    pub overhead: Resources,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Affinity::is_empty")]
    pub affinity: Affinity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

fn default_namespace() -> String {
    "default".to_string()
}

/// A node the cloud is already provisioning: it counts as capacity of its group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InFlightNode {
    /// Stable identifier (VPSieNode name or VPSie identifier).
    pub name: String,
    pub node_group: String,
    /// When the worker was requested (milliseconds of the snapshot's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at_ms: Option<i64>,
}
