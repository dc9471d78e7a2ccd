//! VPSieNode records: one per worker the loop asked for (or adopted), with its lifecycle phase.
//!
//! Phases follow the VPSie worker state machine (`vpsie-api.md` §6): add-worker is accepted
//! asynchronously without an id (Pending → Provisioning), the worker is discovered by diffing
//! the VPSie node list (identifier and hostname known), runs (Provisioned), its kubelet
//! registers a Node named like the hostname (Joining), the Node turns Ready and is labelled
//! (Ready). Removal is Terminating (cordon, drain) → Deleting (Node and worker deleted) → gone.
//! Any phase may end in Failed; Failed records are forgotten after a TTL once nothing of them
//! can still exist in VPSie.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Lifecycle phase of a VPSieNode.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum NodePhase {
    /// The loop decided to add a worker; add-worker was issued, not yet accepted.
    Pending,
    /// VPSie accepted the add; the worker is being created (identifier known once it appeared).
    Provisioning,
    /// The worker is running; its kubelet has not registered a Node yet.
    Provisioned,
    /// A Node named like the worker's hostname registered but is not Ready yet.
    Joining,
    /// The Node is Ready and carries the group's label.
    Ready,
    /// Being removed: cordoned, pods being evicted.
    Terminating,
    /// The Node and the worker are being deleted.
    Deleting,
    /// Given up or broken; the worker (if any) is deleted.
    Failed,
}

impl NodePhase {
    /// Counts as capacity being added (in-flight): its pods must not trigger another purchase.
    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            NodePhase::Pending
                | NodePhase::Provisioning
                | NodePhase::Provisioned
                | NodePhase::Joining
        )
    }

    /// Being removed.
    pub fn is_removing(self) -> bool {
        matches!(self, NodePhase::Terminating | NodePhase::Deleting)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NodePhase::Pending => "Pending",
            NodePhase::Provisioning => "Provisioning",
            NodePhase::Provisioned => "Provisioned",
            NodePhase::Joining => "Joining",
            NodePhase::Ready => "Ready",
            NodePhase::Terminating => "Terminating",
            NodePhase::Deleting => "Deleting",
            NodePhase::Failed => "Failed",
        }
    }
}

impl fmt::Display for NodePhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the worker was requested (anti-flap rules depend on it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Purpose {
    /// Added for pending pods by a scale-up plan.
    PendingPods,
    /// Added by a consolidation replacement (its id in `LoopState::replacements`).
    #[serde(rename_all = "camelCase")]
    Replacement { replacement: String },
    /// Found in VPSie without a request (existing before the autoscaler, or rebuilt).
    Adopted,
    /// A worker that matched no request (late materialisation): only deleted.
    Unrequested,
}

/// Why a record failed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum FailureCause {
    /// VPSie refused the add-worker call.
    AddRejected { message: String },
    /// Not a Ready node within the max provision time.
    ProvisionTimeout,
    /// The worker vanished from VPSie while the loop still needed it.
    WorkerVanished,
    /// The node group could not be created.
    GroupCreateFailed { message: String },
    /// The worker's Node was NotReady (or missing while VPSie still listed the worker) from
    /// `since_ms` for the whole unready node timeout: the VPS died or stopped.
    #[serde(rename_all = "camelCase")]
    NodeUnready { since_ms: i64, missing: bool },
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureCause::AddRejected { message } => {
                write!(f, "VPSie refused to add the worker: {message}")
            }
            FailureCause::ProvisionTimeout => {
                f.write_str("the worker was not a Ready node within the max provision time")
            }
            FailureCause::WorkerVanished => f.write_str("the worker disappeared from VPSie"),
            FailureCause::GroupCreateFailed { message } => {
                write!(f, "the node group could not be created: {message}")
            }
            FailureCause::NodeUnready { missing: false, .. } => f.write_str(
                "its Node stayed NotReady longer than the unready node timeout (the VPS died or stopped)",
            ),
            FailureCause::NodeUnready { missing: true, .. } => f.write_str(
                "its Node stayed missing longer than the unready node timeout while VPSie still listed the worker",
            ),
        }
    }
}

/// One VPSieNode: a worker the loop requested, adopted, or must delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpsieNodeRecord {
    /// Unique name (the VPSieNode object name; the `request` of `AddWorker`).
    pub name: String,
    pub group: String,
    pub phase: NodePhase,
    pub purpose: Purpose,
    /// When the worker was requested (or adopted).
    pub requested_at_ms: i64,
    /// When the record entered its current phase.
    pub phase_since_ms: i64,
    /// VPSie add-worker accepted the request.
    #[serde(default)]
    pub accepted: bool,
    /// Waiting for its node group to be created before add-worker is issued.
    #[serde(default)]
    pub awaiting_group: bool,
    /// VPSie worker identifier (UUID), known once the worker appeared in the node list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Worker hostname; the Kubernetes Node has this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The worker reported `running` by VPSie.
    #[serde(default)]
    pub running: bool,
    /// When the Node became Ready (anti-flap grace counts from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at_ms: Option<i64>,
    /// Since when the Node of a Ready (or adopted) worker has been NotReady or missing; cleared
    /// when it is Ready again. Persisted with the record, so a restart does not restart the
    /// unready node timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ready_since_ms: Option<i64>,
    /// Last time LabelNode was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labelled_at_ms: Option<i64>,
    /// Removal: when the node was cordoned; drain started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_started_ms: Option<i64>,
    /// Removal: the node had no pod to evict.
    #[serde(default)]
    pub empty_removal: bool,
    /// Last time DeleteWorker was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_requested_ms: Option<i64>,
    /// The worker is known to be gone from VPSie.
    #[serde(default)]
    pub worker_gone: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureCause>,
    /// Last error reported for this record (delete failures, ...), for status and events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl VpsieNodeRecord {
    /// A new request of `group` in phase Pending.
    pub fn requested(name: String, group: String, purpose: Purpose, now_ms: i64) -> Self {
        VpsieNodeRecord {
            name,
            group,
            phase: NodePhase::Pending,
            purpose,
            requested_at_ms: now_ms,
            phase_since_ms: now_ms,
            accepted: false,
            awaiting_group: false,
            identifier: None,
            hostname: None,
            running: false,
            ready_at_ms: None,
            not_ready_since_ms: None,
            labelled_at_ms: None,
            drain_started_ms: None,
            empty_removal: false,
            delete_requested_ms: None,
            worker_gone: false,
            failure: None,
            last_error: None,
        }
    }

    /// The Kubernetes Node name of this worker, once known.
    pub fn node_name(&self) -> Option<&str> {
        self.hostname.as_deref()
    }

    /// A request still waiting for its worker to appear (matchable by `WorkerAppeared`).
    pub fn is_unmatched_request(&self) -> bool {
        self.identifier.is_none()
            && matches!(self.phase, NodePhase::Pending | NodePhase::Provisioning)
            && !self.awaiting_group
    }
}

/// A node name or VPSie hostname as the loop compares them: ASCII case folded (VPSie may report
/// a hostname in another case than the Node's name). Names that are lower case already, as
/// Kubernetes node names are, are borrowed rather than copied.
pub(crate) fn host_key(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(name.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}
