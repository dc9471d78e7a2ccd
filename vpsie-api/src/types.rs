//! JSON bodies of the VPSie API (specification §4-§5). Decoding is lenient: every field has a
//! default and unknown fields are ignored, because the live API omits and adds fields freely.

use serde::{Deserialize, Serialize};

/// §5.1 A managed Kubernetes cluster (list item; `nodes` only from get-by-id).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Cluster {
    pub identifier: String,
    pub cluster_name: String,
    pub user_id: i64,
    /// Total nodes (control plane + workers).
    pub count: i64,
    pub kube_version: String,
    pub nickname: String,
    pub cpu: i64,
    pub ram: i64,
    pub traffic: i64,
    pub price: f64,
    pub color: String,
    pub lock: i64,
    pub created_by: String,
    pub upgrade_version: String,
    pub lb_id: Option<i64>,
    #[serde(rename = "managerCount")]
    pub manager_count: i64,
    #[serde(rename = "slaveCount")]
    pub slave_count: i64,
    pub created_on: String,
    pub updated_on: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<ClusterNode>>,
}

/// §5.2 A node of a cluster (control plane or worker).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterNode {
    pub id: i64,
    pub identifier: String,
    pub hostname: String,
    pub default_ip: String,
    pub private_ip: String,
    pub ip: String,
    /// 1 = control plane, 2 = worker.
    pub node_type: i64,
    /// `master` or `slave`.
    pub role: String,
    /// `provisioning`, `running`, `deleting`, `stopped`.
    pub status: String,
    pub node_id: i64,
    pub user_id: i64,
    pub datacenter_id: i64,
    pub cpu: i64,
    pub ram: i64,
    pub disk: i64,
    pub created_on: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
}

impl ClusterNode {
    pub fn is_worker(&self) -> bool {
        self.role == "slave" || self.node_type == 2
    }
}

/// §5.3 A node group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeGroup {
    pub id: i64,
    pub identifier: String,
    pub group_name: String,
    pub user_id: i64,
    pub project_id: i64,
    pub cluster_id: i64,
    pub datacenter_id: i64,
    #[serde(rename = "dcIdentifier")]
    pub dc_identifier: String,
    /// The group's `KubeSizeID`.
    pub boxsize_id: i64,
    pub cpu: i64,
    pub ram: i64,
    pub ssd: i64,
    pub traffic: i64,
    pub nodes_count: i64,
    pub notes: String,
    pub is_active: i64,
    pub is_deleted: i64,
    pub created_on: String,
    pub last_updated: String,
    pub dropped_on: Option<String>,
}

/// §5.4 A Kubernetes size (`KubeSizeID`) with its prices.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct K8sOffer {
    pub id: i64,
    pub name: String,
    pub cpu: i64,
    /// MB.
    pub ram: i64,
    /// GB.
    pub disk: i64,
    /// USD per month.
    pub price: f64,
    /// USD per hour.
    pub hourly_price: f64,
}

/// §5.6 A datacenter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Datacenter {
    pub dc_name: String,
    pub dc_image: String,
    pub state: String,
    pub country: String,
    pub is_active: i64,
    pub identifier: String,
    pub default_selected: i64,
    pub is_deleted: i64,
    pub is_fip_available: i64,
    pub is_bucket_available: i64,
    pub is_private: i64,
}

/// §5.7 A project.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Project {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub created_on: String,
    pub updated_at: String,
    pub identifier: String,
    pub created_by: u64,
    pub is_default: i64,
}

/// §4.12 The projects list payload.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectList {
    pub rows: Vec<Project>,
    pub count: i64,
}

/// §5.8 A VM (the subset an autoscaler reads).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Vm {
    pub id: i64,
    pub identifier: String,
    pub hostname: String,
    pub name: String,
    pub default_ip: String,
    pub private_ip: String,
    pub cpu: i64,
    pub ram: i64,
    pub ssd: i64,
    pub traffic: i64,
    pub boxsize_id: i64,
    pub datacenter_id: i64,
    #[serde(rename = "dcIdentifier")]
    pub dc_identifier: String,
    #[serde(rename = "projectId")]
    pub project_id_new: String,
    pub project_id: i64,
    pub power: i64,
    pub is_active: i64,
    pub is_deleted: i64,
    pub created_on: String,
    pub status: String,
}

/// §4.1 Login request (also accepted form-encoded).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LoginRequest {
    #[serde(rename = "clientId")]
    pub client_id: String,
    #[serde(rename = "clientSecret")]
    pub client_secret: String,
}

/// A token with its expiry (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenInfo {
    pub token: String,
    pub expires: String,
}

/// The govpsie login shape: `token.access` / `token.refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenPair {
    pub access: TokenInfo,
    pub refresh: TokenInfo,
}

/// §4.1 Login response: both shapes at once, at the top level (no `data`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginResponse {
    pub error: bool,
    #[serde(rename = "accessToken", skip_serializing_if = "Option::is_none")]
    pub access_token: Option<TokenInfo>,
    #[serde(rename = "refreshToken", skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<TokenInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenPair>,
}

impl LoginResponse {
    /// The access token, whichever shape carried it.
    pub fn access(&self) -> Option<&TokenInfo> {
        self.access_token
            .as_ref()
            .filter(|t| !t.token.is_empty())
            .or_else(|| {
                self.token
                    .as_ref()
                    .map(|p| &p.access)
                    .filter(|t| !t.token.is_empty())
            })
    }
}

/// §4.5 Create-group request. Note the capital `K` of `KubeSizeID`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateGroupRequest {
    #[serde(rename = "clusterIdentifier")]
    pub cluster_identifier: String,
    #[serde(rename = "groupName")]
    pub group_name: String,
    #[serde(rename = "KubeSizeID")]
    pub kube_size_id: i64,
}

/// §4.5 Create-group payload (clients re-list instead of trusting it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateGroupData {
    #[serde(rename = "groupId")]
    pub group_id: String,
}

/// §4.6 Delete-group request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteGroupRequest {
    #[serde(rename = "deleteStatistic")]
    pub delete_statistic: DeleteStatistic,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteStatistic {
    pub reason: String,
    pub note: String,
}

/// §4.7 Add-worker payload: `true`, or (behind a switch) an object describing the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AddWorkerData {
    Accepted(bool),
    Worker(AddedWorker),
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AddedWorker {
    pub id: i64,
    pub identifier: String,
    pub status: String,
    pub hostname: String,
}

/// §4.8 Delete-worker request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeleteWorkerRequest {
    pub identifier: String,
}

/// §4.9 Reduce-group request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReduceRequest {
    #[serde(rename = "groupId")]
    pub group_id: i64,
}

/// §4.10 Offers request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OffersRequest {
    #[serde(rename = "dcIdentifier")]
    pub dc_identifier: String,
}
