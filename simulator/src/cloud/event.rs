//! What changed in the cloud: events returned by `Cloud::advance`.

use serde::Serialize;

/// A worker as events report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerRef {
    pub cluster: String,
    pub group_id: i64,
    pub group: String,
    pub size_id: u32,
    /// VPSie node UUID (what the targeted delete takes).
    pub identifier: String,
    /// Also the Kubernetes Node name once the kubelet registers.
    pub hostname: String,
    pub private_ip: String,
    pub public_ip: String,
}

/// A state change that became due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudEvent {
    /// When it happened (virtual milliseconds); never later than the `now` given to `advance`.
    pub at_ms: i64,
    pub kind: CloudEventKind,
    pub worker: WorkerRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CloudEventKind {
    /// The accepted add materialised: listed with status `provisioning`, billing starts.
    Provisioning,
    /// Status `running`: the kubelet registers a NotReady Node named after the hostname.
    Running,
    /// The Node became Ready.
    NodeReady,
    /// A targeted delete finished: the worker is no longer listed, billing stops.
    Gone,
    /// A targeted delete silently failed: the worker is back in its previous status.
    DeleteFailed,
    /// The VPS died (status `stopped`): its Node goes NotReady; it stays billed until deleted.
    Died,
}
