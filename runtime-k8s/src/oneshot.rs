//! One-shot commands against a live cluster: `plan` (one what-if decision, acting on nothing)
//! and `record` (the cluster as a snapshot, plus a scenario the simulator can replay).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ListParams};
use serde::de::DeserializeOwned;
use vpsie_engine::autoscaler::{AutoscalerConfig, LoopState, StepOutput, step};
use vpsie_engine::model::{ClusterSnapshot, Resources, VpsieSize};

use crate::crd::{NodeGroup, VPSieNode};
use crate::reflectors::slim_pod;
use crate::snapshot::{self, BuildOptions, BuiltSnapshot, ClusterObjects};

/// Lists every object of a kind; a kind whose API is not installed (404, e.g. the CRDs) is
/// empty.
async fn list_all<K>(client: &kube::Client) -> Result<Vec<Arc<K>>, kube::Error>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let api: Api<K> = Api::all(client.clone());
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(list.items.into_iter().map(Arc::new).collect()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Lists everything the snapshot needs.
pub async fn list_objects(client: &kube::Client) -> Result<ClusterObjects, kube::Error> {
    let mut pods: Vec<Arc<Pod>> = list_all(client).await?;
    for p in &mut pods {
        if let Some(p) = Arc::get_mut(p) {
            slim_pod(p);
        }
    }
    Ok(ClusterObjects {
        pods,
        nodes: list_all::<Node>(client).await?,
        pdbs: list_all::<PodDisruptionBudget>(client).await?,
        daemon_sets: list_all::<DaemonSet>(client).await?,
        node_groups: list_all::<NodeGroup>(client).await?,
        vpsie_nodes: list_all::<VPSieNode>(client).await?,
    })
}

/// Builds the snapshot of listed objects.
pub fn snapshot_of(
    objects: &ClusterObjects,
    sizes: Vec<VpsieSize>,
    system_reserved: Resources,
    now_ms: i64,
) -> BuiltSnapshot {
    snapshot::build(
        objects,
        &BuildOptions {
            now_ms,
            sizes,
            system_reserved,
        },
    )
}

/// One dry-run step from the loop state the VPSieNodes carry (timers start from zero, as
/// after a restart), for `plan`.
pub fn what_if(
    objects: &ClusterObjects,
    built: &BuiltSnapshot,
    config: &AutoscalerConfig,
    now_ms: i64,
) -> StepOutput {
    let mut state = LoopState::new();
    for v in &objects.vpsie_nodes {
        if let Some(r) = v.status.as_ref().and_then(|s| s.record.clone()) {
            state.records.insert(r.name.clone(), r);
        }
    }
    for b in &built.groups {
        if let Some(id) = b.vpsie_group_id {
            state
                .groups
                .entry(b.engine_group.clone())
                .or_default()
                .vpsie_group_id = Some(id);
        }
    }
    let mut config = config.clone();
    config.dry_run = true;
    step(state, &built.snapshot, &[], now_ms, &config).1
}

/// The text `plan` prints: the snapshot summary, the decision, and the planners' own texts.
pub fn render_plan(built: &BuiltSnapshot, output: &StepOutput) -> String {
    let s = &built.snapshot;
    let pending = s.pods.iter().filter(|p| p.node_name.is_none()).count();
    let mut out = format!(
        "nodes {} (schedulable {}), pods {} (pending {}), nodeGroups {}, sizes {}, daemonSets {}, pdbs {}, inFlight {}\n",
        s.nodes.len(),
        s.nodes.iter().filter(|n| n.schedulable()).count(),
        s.pods.len(),
        pending,
        s.node_groups.len(),
        s.sizes.len(),
        s.daemon_sets.len(),
        s.pdbs.len(),
        s.in_flight.len()
    );
    for w in &built.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out.push_str(&output.decision.render_text());
    for a in &output.actions {
        out.push_str(&format!("would: {a}\n"));
    }
    if !output.decision.scale_up.plan_text.is_empty() {
        out.push_str("--- scale-up plan\n");
        out.push_str(&output.decision.scale_up.plan_text);
    }
    if !output.decision.scale_down.plan_text.is_empty() {
        out.push_str("--- scale-down plan\n");
        out.push_str(&output.decision.scale_down.plan_text);
    }
    out
}

/// A scenario (the simulator's format) reproducing the recorded cluster at time zero: its
/// groups with their current node counts, unmanaged nodes as static nodes, DaemonSets, PDBs,
/// and the pods as arrivals at 0s (identical pods of one controller collapsed with `count`).
pub fn scenario_of(
    snapshot: &ClusterSnapshot,
    config: &AutoscalerConfig,
    name: &str,
) -> serde_json::Value {
    let mut initial: BTreeMap<String, u32> = BTreeMap::new();
    for n in &snapshot.nodes {
        if let Some(g) = &n.node_group
            && snapshot.node_groups.iter().any(|ng| &ng.name == g)
        {
            *initial.entry(g.clone()).or_default() += 1;
        }
    }
    let static_nodes: Vec<&vpsie_engine::model::Node> = snapshot
        .nodes
        .iter()
        .filter(|n| {
            n.node_group
                .as_ref()
                .is_none_or(|g| !snapshot.node_groups.iter().any(|ng| &ng.name == g))
        })
        .collect();
    // Pods: bucket by (namespace, owner, requests) so a 30,000-pod cluster stays readable.
    let mut buckets: BTreeMap<(String, String, String), (u32, serde_json::Value)> = BTreeMap::new();
    for p in &snapshot.pods {
        if p.is_daemonset_pod() || p.is_mirror() {
            continue;
        }
        let owner = p.owner.as_ref().map_or_else(
            || format!("pod-{}", p.name),
            |o| format!("{}-{}", o.kind.to_lowercase(), o.name),
        );
        let requests = p.effective_requests();
        let mut req = requests.clone();
        req.pods = 0;
        let key = (p.namespace.clone(), owner.clone(), req.to_string());
        let entry = buckets.entry(key).or_insert_with(|| {
            let mut arrival = serde_json::json!({
                "name": format!("{}-{}", p.namespace, owner),
                "at": "0s",
                "requests": req,
            });
            if let Some(o) = &p.owner {
                arrival["ownerKind"] = serde_json::Value::String(o.kind.clone());
            }
            (0, arrival)
        });
        entry.0 += 1;
    }
    let mut pods = Vec::new();
    let mut used_names: BTreeMap<String, u32> = BTreeMap::new();
    for (_, (count, mut arrival)) in buckets {
        let base = arrival["name"].as_str().unwrap_or("pod").to_string();
        let n = used_names.entry(base.clone()).or_default();
        if *n > 0 {
            arrival["name"] = serde_json::Value::String(format!("{base}-{n}"));
        }
        *n += 1;
        if count > 1 {
            arrival["count"] = serde_json::json!(count);
        }
        pods.push(arrival);
    }
    serde_json::json!({
        "version": 1,
        "name": name,
        "description": "Recorded from a live cluster by `vpsie-autoscaler record`: the cluster at time zero, every pod arriving at 0s.",
        "duration": "1h",
        "cluster": {
            "sizes": snapshot.sizes,
            "nodeGroups": snapshot.node_groups,
            "initialNodes": initial,
            "staticNodes": static_nodes,
            "daemonSets": snapshot.daemon_sets,
            "pdbs": snapshot.pdbs,
            "systemReserved": snapshot.system_reserved,
        },
        "workload": { "pods": pods },
        "autoscaler": { "config": serde_json::to_value(config).unwrap_or(serde_json::Value::Null) },
    })
}

/// The example size catalogue of the VPSie API notes, used when no catalogue is given.
pub fn example_sizes() -> Vec<VpsieSize> {
    let s =
        |id: u32, name: &str, vcpu: u32, ram_mb: u64, disk_gb: u64, hourly_price: f64| VpsieSize {
            id,
            name: name.to_string(),
            vcpu,
            ram_mb,
            disk_gb,
            gpu: 0,
            hourly_price,
            max_pods: vpsie_engine::model::group::DEFAULT_MAX_PODS,
        };
    vec![
        s(1, "K8S-1C-2G", 1, 2048, 40, 0.0068),
        s(2, "K8S-2C-4G", 2, 4096, 80, 0.0137),
        s(3, "K8S-4C-8G", 4, 8192, 160, 0.0274),
        s(4, "K8S-8C-16G", 8, 16384, 160, 0.0548),
        s(5, "K8S-4C-16G", 4, 16384, 160, 0.0438),
        s(6, "K8S-16C-32G", 16, 32768, 320, 0.1096),
    ]
}
