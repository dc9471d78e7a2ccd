//! `NodeTemplate`: what a new node of a group would look like once it joins, DaemonSets included.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::node::{LABEL_NODE_GROUP, LABEL_ZONE};
use crate::model::{ClusterSnapshot, DaemonSet, NodeGroup, Pod, Resources, Taint, VpsieSize};

use super::Unfit;
use super::filters::{node_affinity_fit, node_selector_fit, static_fit_parts, taints_fit};

/// A hypothetical node of a group (or of a catalogue size proposed as a new group).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeTemplate {
    pub group: String,
    pub size: String,
    /// Labels the node will carry (group labels, zone, node-group label; hostname is added per node).
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub zone: Option<String>,
    /// Capacity of the size minus system reservations.
    pub allocatable: Resources,
    /// What the DaemonSet pods that land on such a node request.
    pub daemonset_usage: Resources,
    pub hourly_price: f64,
}

impl NodeTemplate {
    /// What is left for workload pods on an empty node of this template.
    pub fn workload_capacity(&self) -> Resources {
        self.allocatable.sub(&self.daemonset_usage)
    }
}

/// The effective request of one pod of a DaemonSet.
pub fn daemonset_pod_request(ds: &DaemonSet) -> Resources {
    daemonset_pod(ds).effective_requests()
}

fn daemonset_pod(ds: &DaemonSet) -> Pod {
    Pod {
        name: ds.name.clone(),
        namespace: ds.namespace.clone(),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        containers: ds.containers.clone(),
        init_containers: ds.init_containers.clone(),
        overhead: ds.overhead.clone(),
        node_name: None,
        node_selector: ds.node_selector.clone(),
        affinity: ds.affinity.clone(),
        tolerations: ds.tolerations.clone(),
        topology_spread_constraints: Vec::new(),
        owner: None,
        priority: 0,
        volumes: Vec::new(),
        created_at_ms: None,
        termination_grace_period_seconds: None,
    }
}

/// Whether a DaemonSet's pod lands on a node with these labels and taints.
pub fn daemonset_lands(
    ds: &DaemonSet,
    labels: &BTreeMap<String, String>,
    taints: &[Taint],
) -> bool {
    node_selector_fit(&ds.node_selector, labels).is_ok()
        && node_affinity_fit(&ds.affinity, labels).is_ok()
        && taints_fit(&ds.tolerations, taints).is_ok()
}

/// The template of a new node of `group` with `size`, net of reservations and DaemonSets.
pub fn template_for(
    snapshot: &ClusterSnapshot,
    group: &NodeGroup,
    size: &VpsieSize,
) -> NodeTemplate {
    let mut labels = group.labels.clone();
    labels.insert(LABEL_NODE_GROUP.to_string(), group.name.clone());
    if let Some(zone) = &group.zone {
        labels.insert(LABEL_ZONE.to_string(), zone.clone());
    }
    labels.insert(
        "node.kubernetes.io/instance-type".to_string(),
        size.name.clone(),
    );
    let reserved = group
        .system_reserved
        .as_ref()
        .unwrap_or(&snapshot.system_reserved);
    let mut allocatable = size.capacity().sub(reserved);
    // A reservation larger than the size leaves nothing, never a negative capacity.
    for v in [
        &mut allocatable.cpu_milli,
        &mut allocatable.memory,
        &mut allocatable.ephemeral_storage,
        &mut allocatable.pods,
    ] {
        *v = (*v).max(0);
    }
    let mut daemonset_usage = Resources::default();
    for ds in &snapshot.daemon_sets {
        if daemonset_lands(ds, &labels, &group.taints) {
            daemonset_usage.add_assign(&daemonset_pod_request(ds));
        }
    }
    NodeTemplate {
        group: group.name.clone(),
        size: size.name.clone(),
        labels,
        taints: group.taints.clone(),
        zone: group.zone.clone(),
        allocatable,
        daemonset_usage,
        hourly_price: size.hourly_price,
    }
}

/// Filters that depend only on the pod and the template: selectors, node affinity, taints, and
/// the request against an empty node (after DaemonSets). Used to prune options and to explain.
pub fn static_fit(pod: &Pod, template: &NodeTemplate) -> Result<(), Unfit> {
    static_fit_request(pod, &pod.effective_requests(), template)
}

/// `static_fit` with a precomputed effective request (hot paths compute it once per class).
pub fn static_fit_request(
    pod: &Pod,
    request: &Resources,
    template: &NodeTemplate,
) -> Result<(), Unfit> {
    let mut labels = template.labels.clone();
    // The hostname label exists on every real node; selectors on it cannot match a future name,
    // but `Exists` must.
    labels
        .entry(crate::model::node::LABEL_HOSTNAME.to_string())
        .or_insert_with(|| format!("{}-new", template.group));
    static_fit_parts(
        pod,
        request,
        &labels,
        &template.taints,
        &template.workload_capacity(),
    )
}
