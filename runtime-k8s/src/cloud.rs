//! The VPSie operations the executor needs, as a trait, so the controller can run against the
//! HTTP client in production and against an in-process fake or the mock server in tests.

use std::future::Future;

pub use vpsie_engine::autoscaler::CloudErrorKind;
use vpsie_engine::model::VpsieSize;

/// A failed VPSie call, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("VPSie {kind}: {message}")]
pub struct CloudError {
    pub kind: CloudErrorKind,
    pub message: String,
}

impl CloudError {
    pub fn new(kind: CloudErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// A worker in the VPSie cluster's node list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    pub identifier: String,
    pub hostname: String,
    /// `provisioning`, `running` or `deleting`.
    pub status: String,
    /// Numeric VPSie node group id, when VPSie reports it.
    pub group_id: Option<i64>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    /// `created_on` in milliseconds since the Unix epoch, when known.
    pub created_at_ms: Option<i64>,
}

/// A VPSie node group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpsieGroup {
    pub id: i64,
    pub name: String,
    pub kube_size_id: u32,
}

/// The VPSie API as the runtime uses it. Implementations retry transient errors themselves;
/// a returned error is final for this call.
pub trait Vpsie: Send + Sync + 'static {
    /// Workers of a cluster (masters excluded).
    fn list_workers(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<Worker>, CloudError>> + Send;
    /// Node groups of a cluster.
    fn list_groups(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<VpsieGroup>, CloudError>> + Send;
    /// Creates a node group of a size; the id is found by listing groups afterwards.
    fn create_group(
        &self,
        cluster: &str,
        name: &str,
        kube_size_id: u32,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Asks for one more worker in a group (asynchronous and anonymous).
    fn add_worker(
        &self,
        cluster: &str,
        group_id: i64,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Deletes a worker by identifier; an unknown worker (404) is success.
    fn delete_worker(
        &self,
        cluster: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// The Kubernetes size catalogue of a datacenter.
    fn list_sizes(
        &self,
        datacenter: &str,
    ) -> impl Future<Output = Result<Vec<VpsieSize>, CloudError>> + Send;
}
