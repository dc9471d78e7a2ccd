//! Small snapshots and helpers for the loop tests.

use serde_json::json;
use vpsie_engine::autoscaler::{
    Action, AutoscalerConfig, ListedWorker, LoopState, Observation, StepOutput, step,
};
use vpsie_engine::model::{ClusterSnapshot, Node, Pod};

pub const MIN: i64 = 60_000;

pub fn snapshot(groups: &[(&str, u32, u32)], nodes: Vec<Node>, pods: Vec<Pod>) -> ClusterSnapshot {
    let groups: Vec<_> = groups
        .iter()
        .map(|(name, min, max)| json!({"name": name, "size": "K8S-4C-8G", "min": min, "max": max}))
        .collect();
    let mut s: ClusterSnapshot = serde_json::from_value(json!({
        "version": 1,
        "nodeGroups": groups,
        "sizes": [
            {"id": 3, "name": "K8S-4C-8G", "vcpu": 4, "ramMb": 8192, "diskGb": 160, "hourlyPrice": 0.0274},
            {"id": 4, "name": "K8S-8C-16G", "vcpu": 8, "ramMb": 16384, "diskGb": 160, "hourlyPrice": 0.0548}
        ]
    }))
    .unwrap();
    s.nodes = nodes;
    s.pods = pods;
    s
}

/// A 4-core, 8 GiB node of `group` (labelled), Ready unless told otherwise.
pub fn node(name: &str, group: Option<&str>, ready: bool) -> Node {
    let mut v = json!({
        "name": name,
        "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        "ready": ready
    });
    if let Some(g) = group {
        v["nodeGroup"] = json!(g);
    }
    serde_json::from_value(v).unwrap()
}

/// A ReplicaSet pod requesting `cpu_m` millicores and `mem_mi` MiB.
pub fn pod(name: &str, cpu_m: i64, mem_mi: i64, node: Option<&str>) -> Pod {
    let mut v = json!({
        "name": name,
        "containers": [{"requests": {"cpu": format!("{cpu_m}m"), "memory": format!("{mem_mi}Mi")}}],
        "owner": {"kind": "ReplicaSet", "name": "rs"}
    });
    if let Some(n) = node {
        v["nodeName"] = json!(n);
    }
    serde_json::from_value(v).unwrap()
}

/// A state that tracks every labelled node of `snapshot` as an adopted, running worker.
pub fn adopted_state(snapshot: &ClusterSnapshot) -> LoopState {
    let workers: Vec<ListedWorker> = snapshot
        .nodes
        .iter()
        .filter_map(|n| {
            n.node_group.as_ref().map(|g| ListedWorker {
                group: g.clone(),
                identifier: format!("id-{}", n.name),
                hostname: n.name.clone(),
                status: "running".to_string(),
                created_at_ms: Some(0),
            })
        })
        .collect();
    LoopState::rebuild(Vec::new(), &workers, 0)
}

/// Config with defaults except as the closure changes it.
pub fn config(f: impl FnOnce(&mut AutoscalerConfig)) -> AutoscalerConfig {
    let mut c = AutoscalerConfig::default();
    f(&mut c);
    c.validate().unwrap();
    c
}

pub fn run(
    state: LoopState,
    snapshot: &ClusterSnapshot,
    obs: &[Observation],
    now: i64,
    config: &AutoscalerConfig,
) -> (LoopState, StepOutput) {
    step(state, snapshot, obs, now, config)
}

/// Actions rendered one per line (compact, for assertions).
pub fn actions_text(out: &StepOutput) -> Vec<String> {
    out.actions.iter().map(Action::to_string).collect()
}
