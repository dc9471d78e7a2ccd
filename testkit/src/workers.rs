//! What the kubelet stand-in needs to know about the mock's workers, read from the simulated
//! cloud: one [`WorkerView`] per worker whose VPS has booted.

use vpsie_engine::model::Resources;
use vpsie_sim::cloud::{Cloud, WorkerStatus};

/// What the worker's kubelet would be doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KubeletState {
    /// Booted: the kubelet registers its Node and reports NotReady.
    NotReady,
    /// The Node is Ready: the kubelet heartbeats and runs the pods bound to it.
    Ready,
    /// The VPS is stopped or being deleted: no kubelet answers, nothing is updated.
    Silent,
}

/// One worker of the mock, as its kubelet sees itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerView {
    /// VPSie node identifier.
    pub identifier: String,
    /// The Node name: the hostname, lowercased as a kubelet does.
    pub node_name: String,
    pub state: KubeletState,
    pub internal_ip: String,
    pub external_ip: String,
    /// The VPSie size name (the `node.kubernetes.io/instance-type` label).
    pub size_name: String,
    /// The size's raw capacity (also reported as allocatable).
    pub capacity: Resources,
    /// VPSie cluster and node group, for the Node's annotations.
    pub cluster: String,
    pub group: String,
}

/// Every worker of every cluster whose VPS has booted (provisioning and unlisted ones have no
/// kubelet yet), sorted by Node name.
pub fn workers_of(cloud: &Cloud) -> Vec<WorkerView> {
    let mut out = Vec::new();
    for cluster in cloud.clusters() {
        for w in cluster.workers.values() {
            let state = match w.status {
                WorkerStatus::Accepted | WorkerStatus::Provisioning => continue,
                WorkerStatus::Running => KubeletState::NotReady,
                WorkerStatus::Ready => KubeletState::Ready,
                WorkerStatus::Deleting | WorkerStatus::Dead => KubeletState::Silent,
            };
            let size = cloud.size(w.size_id);
            out.push(WorkerView {
                identifier: w.identifier.clone(),
                node_name: w.hostname.to_lowercase(),
                state,
                internal_ip: w.private_ip.clone(),
                external_ip: w.public_ip.clone(),
                size_name: size.map(|s| s.name.clone()).unwrap_or_default(),
                capacity: size
                    .map(|s| s.to_vpsie_size().capacity())
                    .unwrap_or_default(),
                cluster: cluster.name.clone(),
                group: cluster
                    .group(w.group_id)
                    .map(|g| g.name.clone())
                    .unwrap_or_default(),
            });
        }
    }
    out.sort_by(|a, b| a.node_name.cmp(&b.node_name));
    out
}
