//! The snapshot builder: Kubernetes objects + NodeGroup/VPSieNode resources + the VPSie size
//! catalogue → the engine's `ClusterSnapshot`, sorted so the result does not depend on the order
//! the watchers delivered objects in.
//!
//! Objects that cannot be converted are skipped and reported as warnings (failure is data);
//! the builder itself never fails.

pub mod convert;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::DaemonSet as K8sDaemonSet;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::policy::v1::PodDisruptionBudget as K8sPdb;
use kube::ResourceExt;
use vpsie_engine::model::node::SCALE_DOWN_DISABLED;
use vpsie_engine::model::{
    ClusterSnapshot, InFlightNode, NodeGroup as EngineGroup, Resources, SNAPSHOT_VERSION,
    SharedMax, Taint, VpsieSize,
};

use crate::crd::{NodeGroup, NodePhase, VPSieNode};

pub use convert::ConvertError;

/// Everything the reflectors hold, as shared pointers (what `reflector::Store::state` returns).
#[derive(Debug, Clone, Default)]
pub struct ClusterObjects {
    pub pods: Vec<Arc<core::Pod>>,
    pub nodes: Vec<Arc<core::Node>>,
    pub pdbs: Vec<Arc<K8sPdb>>,
    pub daemon_sets: Vec<Arc<K8sDaemonSet>>,
    pub node_groups: Vec<Arc<NodeGroup>>,
    pub vpsie_nodes: Vec<Arc<VPSieNode>>,
}

/// Inputs that do not come from the cluster.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Wall-clock milliseconds since the Unix epoch at which the snapshot is taken.
    pub now_ms: i64,
    /// The VPSie size catalogue (`KubeSizeID` → size).
    pub sizes: Vec<VpsieSize>,
    /// System and kube reservations subtracted from a new node's capacity.
    pub system_reserved: Resources,
}

/// Where an engine node group comes from: which NodeGroup resource and which VPSie size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBinding {
    /// Engine group name (the NodeGroup name, or `<name>-<size>` for multi-size NodeGroups).
    pub engine_group: String,
    pub namespace: String,
    pub node_group: String,
    pub kube_size_id: u32,
    pub cluster_identifier: String,
    /// Known numeric VPSie group id for this size, if the group exists.
    pub vpsie_group_id: Option<i64>,
    /// Labels and taints the group's nodes get.
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// Largest total of nodes of the NodeGroup (all its sizes together).
    pub max_nodes: u32,
}

/// The built snapshot, how its groups map to resources, and what was skipped.
#[derive(Debug, Clone)]
pub struct BuiltSnapshot {
    pub snapshot: ClusterSnapshot,
    pub groups: Vec<GroupBinding>,
    pub warnings: Vec<String>,
}

impl BuiltSnapshot {
    /// The binding of an engine group.
    pub fn group(&self, engine_group: &str) -> Option<&GroupBinding> {
        self.groups.iter().find(|g| g.engine_group == engine_group)
    }
}

/// Name of the engine group of a NodeGroup resource and one of its sizes.
pub fn engine_group_name(node_group: &str, size: &VpsieSize, multi_size: bool) -> String {
    if multi_size {
        format!("{node_group}-{}", size.name.to_ascii_lowercase())
    } else {
        node_group.to_string()
    }
}

fn sizes_of(ng: &NodeGroup) -> Vec<u32> {
    let mut ids: Vec<u32> = ng.spec.kube_size_id.into_iter().collect();
    ids.extend(ng.spec.allowed_sizes.iter().copied());
    let mut seen = BTreeSet::new();
    ids.retain(|id| seen.insert(*id));
    ids
}

/// Converts the NodeGroup resources into engine groups (one per size) and their bindings.
fn groups(
    objects: &ClusterObjects,
    options: &BuildOptions,
    warnings: &mut Vec<String>,
) -> (Vec<EngineGroup>, Vec<GroupBinding>) {
    let mut engine = Vec::new();
    let mut bindings = Vec::new();
    let mut crs: Vec<&Arc<NodeGroup>> = objects.node_groups.iter().collect();
    crs.sort_by_key(|ng| (ng.namespace().unwrap_or_default(), ng.name_any()));
    let mut taken = BTreeSet::new();
    for ng in crs {
        let name = ng.name_any();
        let namespace = ng.namespace().unwrap_or_default();
        let ids = sizes_of(ng);
        if ids.is_empty() {
            warnings.push(format!(
                "NodeGroup {namespace}/{name}: field `spec.kubeSizeId`: neither kubeSizeId nor allowedSizes is set; group ignored"
            ));
            continue;
        }
        if ng.spec.min_nodes > ng.spec.max_nodes {
            warnings.push(format!(
                "NodeGroup {namespace}/{name}: field `spec.minNodes`: {} is above maxNodes {}; group ignored",
                ng.spec.min_nodes, ng.spec.max_nodes
            ));
            continue;
        }
        let mut taints = Vec::new();
        let mut bad_taint = None;
        for (i, t) in ng.spec.taints.iter().enumerate() {
            let k = k8s_openapi::api::core::v1::Taint {
                key: t.key.clone(),
                value: Some(t.value.clone()),
                effect: t.effect.clone(),
                time_added: None,
            };
            match convert::taint(&k, &name, i) {
                Ok(t) => taints.push(t),
                Err(e) => bad_taint = Some(e),
            }
        }
        if let Some(e) = bad_taint {
            warnings.push(format!(
                "NodeGroup {namespace}/{name}: {}; group ignored",
                e.message
            ));
            continue;
        }
        let multi = ids.len() > 1;
        for (index, id) in ids.iter().enumerate() {
            let Some(size) = options.sizes.iter().find(|s| s.id == *id) else {
                warnings.push(format!(
                    "NodeGroup {namespace}/{name}: size {id} is not in the VPSie size catalogue; size ignored"
                ));
                continue;
            };
            let group_name = engine_group_name(&name, size, multi);
            if !taken.insert(group_name.clone()) {
                warnings.push(format!(
                    "NodeGroup {namespace}/{name}: engine group name `{group_name}` is already used by another NodeGroup; ignored"
                ));
                continue;
            }
            let vpsie_group_id = ng
                .status
                .as_ref()
                .and_then(|s| s.vpsie_group_ids.get(&id.to_string()).copied())
                .or(if index == 0 {
                    ng.spec.vpsie_group_id
                } else {
                    None
                });
            // With several sizes, the NodeGroup's min applies to its first size; its max is a
            // total over the sizes, which the engine holds through the shared maximum.
            engine.push(EngineGroup {
                name: group_name.clone(),
                size: size.name.clone(),
                min: if index == 0 { ng.spec.min_nodes } else { 0 },
                max: ng.spec.max_nodes,
                labels: ng.spec.labels.clone(),
                taints: taints.clone(),
                zone: ng.spec.zone.clone(),
                datacenter: Some(ng.spec.datacenter.clone()),
                priority: ng.spec.priority,
                system_reserved: None,
                scale_down_utilization_threshold: ng
                    .spec
                    .scale_down
                    .as_ref()
                    .and_then(|p| p.utilization_threshold),
                shared_max: multi.then(|| SharedMax {
                    name: format!("{namespace}/{name}"),
                    max: ng.spec.max_nodes,
                }),
            });
            bindings.push(GroupBinding {
                engine_group: group_name,
                namespace: namespace.clone(),
                node_group: name.clone(),
                kube_size_id: *id,
                cluster_identifier: ng.spec.cluster_identifier.clone(),
                vpsie_group_id,
                labels: ng.spec.labels.clone(),
                taints: taints.clone(),
                max_nodes: ng.spec.max_nodes,
            });
        }
    }
    engine.sort_by(|a, b| a.name.cmp(&b.name));
    bindings.sort_by(|a, b| a.engine_group.cmp(&b.engine_group));
    (engine, bindings)
}

/// Whether a VPSieNode still stands for capacity being provisioned (no Node object yet).
fn is_in_flight(phase: Option<NodePhase>) -> bool {
    matches!(
        phase,
        None | Some(NodePhase::Pending | NodePhase::Provisioning | NodePhase::Provisioned)
    )
}

/// Builds the engine's snapshot from the cluster's objects. Never fails: objects that cannot be
/// converted are skipped and named in `warnings`.
pub fn build(objects: &ClusterObjects, options: &BuildOptions) -> BuiltSnapshot {
    let mut warnings = Vec::new();
    let (node_groups, bindings) = groups(objects, options, &mut warnings);

    let scale_down_disabled: BTreeSet<String> = objects
        .node_groups
        .iter()
        .filter(|ng| ng.spec.scale_down.as_ref().is_some_and(|p| p.disabled))
        .flat_map(|ng| {
            bindings
                .iter()
                .filter(move |b| b.node_group == ng.name_any())
                .map(|b| b.engine_group.clone())
        })
        .collect();

    let mut nodes = Vec::with_capacity(objects.nodes.len());
    for n in &objects.nodes {
        // The group label is the only truth: the loop re-labels a node until the label shows.
        match convert::node(n, None) {
            Ok(mut node) => {
                if node
                    .node_group
                    .as_ref()
                    .is_some_and(|g| scale_down_disabled.contains(g))
                {
                    node.annotations
                        .insert(SCALE_DOWN_DISABLED.to_string(), "true".to_string());
                }
                nodes.push(node);
            }
            Err(e) => warnings.push(format!("{e}; node ignored")),
        }
    }
    nodes.sort_by(|a, b| a.name.cmp(&b.name));

    let mut pods = Vec::with_capacity(objects.pods.len());
    for p in &objects.pods {
        if !convert::pod_is_active(p) {
            continue;
        }
        // A pending pod already being deleted will never need capacity.
        let unbound = p.spec.as_ref().is_none_or(|s| s.node_name.is_none());
        if unbound && p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        match convert::pod(p) {
            Ok(pod) => pods.push(pod),
            Err(e) => warnings.push(format!("{e}; pod ignored")),
        }
    }
    pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));

    let mut pdbs = Vec::new();
    for p in &objects.pdbs {
        match convert::pdb(p) {
            Ok(pdb) => pdbs.push(pdb),
            Err(e) => warnings.push(format!("{e}; PDB ignored")),
        }
    }
    pdbs.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));

    let mut daemon_sets = Vec::new();
    for d in &objects.daemon_sets {
        match convert::daemon_set(d) {
            Ok(ds) => daemon_sets.push(ds),
            Err(e) => warnings.push(format!("{e}; DaemonSet ignored")),
        }
    }
    daemon_sets.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));

    let node_names: BTreeSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    let mut in_flight: Vec<InFlightNode> = objects
        .vpsie_nodes
        .iter()
        .filter(|vn| vn.metadata.deletion_timestamp.is_none())
        .filter(|vn| {
            let status = vn.status.clone().unwrap_or_default();
            is_in_flight(status.phase)
                && status
                    .node_name
                    .as_deref()
                    .is_none_or(|n| !node_names.contains(n))
        })
        .filter(|vn| {
            bindings
                .iter()
                .any(|b| b.engine_group == vn.spec.engine_group)
        })
        .map(|vn| InFlightNode {
            name: vn.name_any(),
            node_group: vn.spec.engine_group.clone(),
            requested_at_ms: vn
                .status
                .as_ref()
                .and_then(|s| s.requested_at.as_ref())
                .or(vn.metadata.creation_timestamp.as_ref())
                .map(convert::time_ms),
        })
        .collect();
    in_flight.sort_by(|a, b| a.name.cmp(&b.name));

    let mut sizes = options.sizes.clone();
    sizes.sort_by_key(|s| s.id);
    let mut zones: Vec<String> = node_groups.iter().filter_map(|g| g.zone.clone()).collect();
    zones.sort();
    zones.dedup();

    BuiltSnapshot {
        snapshot: ClusterSnapshot {
            version: SNAPSHOT_VERSION,
            now_ms: options.now_ms,
            nodes,
            pods,
            pdbs,
            node_groups,
            sizes,
            daemon_sets,
            in_flight,
            system_reserved: options.system_reserved.clone(),
            zones,
            // Pods are listed sorted by name: positions move with every arrival, so stamps
            // per position would not help the scale-down cache.
            pod_revisions: Vec::new(),
        },
        groups: bindings,
        warnings,
    }
}
