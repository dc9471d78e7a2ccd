//! What the shells report to the loop (observations) and what the loop asks them to do
//! (actions). Actions are idempotent intents: a shell may repeat one after a crash, and the loop
//! re-issues one whose effect it does not see.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Kind of a failed VPSie API call, as the client classifies it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum CloudErrorKind {
    /// HTTP 429.
    RateLimited,
    /// HTTP 5xx or a 200 with `error: true` that looks transient.
    Server,
    /// Connection failed or timed out: the call may or may not have taken effect.
    Network,
    /// The cluster's worker limit is reached ("exceeds the allowed limit").
    WorkerLimit,
    /// The size is out of stock or unavailable.
    OutOfStock,
    /// A group of that size already exists ("has same selected Size").
    SizeConflict,
    /// The object does not exist.
    NotFound,
    /// Credentials rejected.
    Unauthorized,
    /// Any other refusal (bad request, ...).
    Other,
}

impl CloudErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            CloudErrorKind::RateLimited => "rate_limited",
            CloudErrorKind::Server => "server_error",
            CloudErrorKind::Network => "network",
            CloudErrorKind::WorkerLimit => "worker_limit",
            CloudErrorKind::OutOfStock => "out_of_stock",
            CloudErrorKind::SizeConflict => "size_conflict",
            CloudErrorKind::NotFound => "not_found",
            CloudErrorKind::Unauthorized => "unauthorized",
            CloudErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for CloudErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What the shell saw happen since the last step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Observation {
    /// VPSie accepted `AddWorker { request }` (asynchronously, no id yet).
    AddWorkerAccepted { request: String },
    /// VPSie refused `AddWorker { request }`. With `Network` the add may still have happened:
    /// a worker that later appears unmatched is deleted.
    AddWorkerFailed {
        request: String,
        error: CloudErrorKind,
        message: String,
    },
    /// A worker not seen before is in the VPSie node list of `group` (found by diffing it).
    WorkerAppeared {
        group: String,
        identifier: String,
        hostname: String,
    },
    /// The worker's VPSie status is `running`.
    WorkerRunning { identifier: String },
    /// The worker is no longer in the VPSie node list (or delete returned 404).
    WorkerGone { identifier: String },
    /// `CreateGroup { group }` succeeded; `vpsie_group_id` is the numeric id for add-worker.
    GroupCreated { group: String, vpsie_group_id: i64 },
    GroupCreateFailed {
        group: String,
        error: CloudErrorKind,
        message: String,
    },
    /// Every pod of the node was evicted (or the node had none to evict).
    DrainFinished { node: String },
    /// Eviction failed or timed out (a PDB refused, a pod would not terminate).
    DrainFailed { node: String, message: String },
    DeleteWorkerFailed {
        identifier: String,
        error: CloudErrorKind,
        message: String,
    },
}

/// A pod to evict while draining, and where the plan expects it to land.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedEviction {
    /// `namespace/name`.
    pub pod: String,
    /// Node the plan re-places it on (informational; the scheduler decides).
    pub destination: String,
}

/// An intent for the shell to carry out, then report back as observations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Action {
    /// Create a VPSie node group of size `size_id` (KubeSizeID) named `group`.
    CreateGroup {
        group: String,
        size_id: u32,
    },
    /// Persist the VPSieNode `request` (phase Pending) first, then call add-worker on `group`.
    AddWorker {
        group: String,
        request: String,
    },
    /// Label (and taint) the Node as a member of `group`.
    LabelNode {
        node: String,
        group: String,
    },
    Cordon {
        node: String,
    },
    /// Evict these pods through the Eviction API (PDBs respected), then report the outcome.
    Drain {
        node: String,
        evictions: Vec<PlannedEviction>,
    },
    Uncordon {
        node: String,
    },
    /// Delete the Kubernetes Node object.
    DeleteNode {
        node: String,
    },
    /// Delete the VPSie worker by identifier (404 counts as success: report `WorkerGone`).
    DeleteWorker {
        identifier: String,
        node: Option<String>,
    },
}

impl Action {
    /// Short kind name for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::CreateGroup { .. } => "create_group",
            Action::AddWorker { .. } => "add_worker",
            Action::LabelNode { .. } => "label_node",
            Action::Cordon { .. } => "cordon",
            Action::Drain { .. } => "drain",
            Action::Uncordon { .. } => "uncordon",
            Action::DeleteNode { .. } => "delete_node",
            Action::DeleteWorker { .. } => "delete_worker",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::CreateGroup { group, size_id } => {
                write!(f, "create-group {group} size={size_id}")
            }
            Action::AddWorker { group, request } => write!(f, "add-worker {group} {request}"),
            Action::LabelNode { node, group } => write!(f, "label {node} group={group}"),
            Action::Cordon { node } => write!(f, "cordon {node}"),
            Action::Drain { node, evictions } => {
                write!(f, "drain {node} evictions={}", evictions.len())
            }
            Action::Uncordon { node } => write!(f, "uncordon {node}"),
            Action::DeleteNode { node } => write!(f, "delete-node {node}"),
            Action::DeleteWorker { identifier, node } => match node {
                Some(n) => write!(f, "delete-worker {identifier} node={n}"),
                None => write!(f, "delete-worker {identifier}"),
            },
        }
    }
}
