//! Scale-up benchmark workloads: Karpenter's "diverse" scheduling benchmark shape and Cluster
//! Autoscaler's RunOnce shape, as engine snapshots, generated from a seeded ChaCha8 generator.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use vpsie_engine::model::{ClusterSnapshot, Pod};

/// Karpenter's benchmark seed.
pub const SEED: u64 = 42;

/// Zones new groups may be created in.
pub const ZONES: [&str; 3] = ["z1", "z2", "z3"];

const CPU_MILLI: [i64; 5] = [100, 250, 500, 1000, 1500];
const MEMORY_MI: [i64; 6] = [100, 256, 512, 1024, 2048, 4096];
const LABEL_VALUES: [&str; 7] = ["a", "b", "c", "d", "e", "f", "g"];

/// The VPSie example catalogue (vpsie-api.md §7).
pub fn vpsie_catalogue() -> Value {
    json!([
        {"id": 1, "name": "K8S-1C-2G", "vcpu": 1, "ramMb": 2048, "diskGb": 40, "hourlyPrice": 0.0068},
        {"id": 2, "name": "K8S-2C-4G", "vcpu": 2, "ramMb": 4096, "diskGb": 80, "hourlyPrice": 0.0137},
        {"id": 3, "name": "K8S-4C-8G", "vcpu": 4, "ramMb": 8192, "diskGb": 160, "hourlyPrice": 0.0274},
        {"id": 4, "name": "K8S-8C-16G", "vcpu": 8, "ramMb": 16384, "diskGb": 160, "hourlyPrice": 0.0548},
        {"id": 5, "name": "K8S-4C-16G", "vcpu": 4, "ramMb": 16384, "diskGb": 160, "hourlyPrice": 0.0438},
        {"id": 6, "name": "K8S-16C-32G", "vcpu": 16, "ramMb": 32768, "diskGb": 320, "hourlyPrice": 0.1096}
    ])
}

/// A synthetic catalogue of 400 sizes: 1..=50 vCPUs × 8 memory ratios, priced per vCPU and GiB
/// with a small deterministic discount for larger sizes.
pub fn synthetic_catalogue() -> Value {
    let ratios = [1u64, 2, 3, 4, 6, 8, 12, 16];
    let mut sizes = Vec::new();
    let mut id = 100u32;
    for vcpu in 1u64..=50 {
        for ratio in ratios {
            let gb = vcpu * ratio;
            let price = (0.006 * vcpu as f64 + 0.0015 * gb as f64) * (1.0 - 0.001 * vcpu as f64);
            sizes.push(json!({"id": id, "name": format!("S-{vcpu}C-{gb}G"), "vcpu": vcpu,
                "ramMb": gb * 1024, "diskGb": 40 + 10 * vcpu, "hourlyPrice": price, "maxPods": 250}));
            id += 1;
        }
    }
    Value::Array(sizes)
}

/// Which kinds of pods to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Resource requests only.
    Generic,
    /// One fifth each: generic, zonal spread, hostname spread, zonal pod affinity, hostname
    /// pod anti-affinity (Karpenter's `makeDiversePods`).
    Diverse,
}

fn resources(rng: &mut ChaCha8Rng) -> Value {
    let cpu = CPU_MILLI[rng.random_range(0..CPU_MILLI.len())];
    let mem = MEMORY_MI[rng.random_range(0..MEMORY_MI.len())];
    json!([{"requests": {"cpu": format!("{cpu}m"), "memory": format!("{mem}Mi")}}])
}

fn label(rng: &mut ChaCha8Rng) -> &'static str {
    LABEL_VALUES[rng.random_range(0..LABEL_VALUES.len())]
}

fn generic(i: usize, rng: &mut ChaCha8Rng) -> Value {
    let l = label(rng);
    json!({"name": format!("generic-{i}"), "labels": {"my-label": l}, "containers": resources(rng)})
}

fn spread(i: usize, key: &str, rng: &mut ChaCha8Rng) -> Value {
    let own = label(rng);
    let selected = label(rng);
    let kind = if key.contains("zone") { "zone" } else { "host" };
    json!({"name": format!("spread-{kind}-{i}"), "labels": {"my-label": own},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"my-label": selected}}}],
        "containers": resources(rng)})
}

fn affinity(i: usize, rng: &mut ChaCha8Rng) -> Value {
    let l = label(rng);
    json!({"name": format!("affinity-{i}"), "labels": {"my-affinity": l},
        "affinity": {"podAffinity": [{"labelSelector": {"matchLabels": {"my-affinity": l}},
            "topologyKey": "topology.kubernetes.io/zone"}]},
        "containers": resources(rng)})
}

fn anti_affinity(i: usize, rng: &mut ChaCha8Rng) -> Value {
    json!({"name": format!("anti-{i}"), "labels": {"app": "nginx"},
        "affinity": {"podAntiAffinity": [{"labelSelector": {"matchLabels": {"app": "nginx"}},
            "topologyKey": "kubernetes.io/hostname"}]},
        "containers": resources(rng)})
}

/// `count` pending pods of `mix`, seeded with [`SEED`].
pub fn pods(count: usize, mix: Mix) -> Vec<Pod> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let values: Vec<Value> = match mix {
        Mix::Generic => (0..count).map(|i| generic(i, &mut rng)).collect(),
        Mix::Diverse => {
            let fifth = count / 5;
            let mut v = Vec::with_capacity(count);
            v.extend((0..count - 4 * fifth).map(|i| generic(i, &mut rng)));
            v.extend((0..fifth).map(|i| spread(i, "topology.kubernetes.io/zone", &mut rng)));
            v.extend((0..fifth).map(|i| spread(i, "kubernetes.io/hostname", &mut rng)));
            v.extend((0..fifth).map(|i| affinity(i, &mut rng)));
            v.extend((0..fifth).map(|i| anti_affinity(i, &mut rng)));
            v
        }
    };
    values
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect()
}

/// An empty cluster with `catalogue` proposed in three zones and `pods` pending.
pub fn karpenter_snapshot(pods: Vec<Pod>, catalogue: Value) -> ClusterSnapshot {
    let mut s: ClusterSnapshot = serde_json::from_value(json!({
        "version": 1, "sizes": catalogue, "zones": ZONES,
    }))
    .unwrap_or_else(|e| unreachable_snapshot(&e));
    s.pods = pods;
    s
}

/// Cluster Autoscaler's RunOnce shape: `nodes` existing nodes of one group, each with room for
/// one more pod, and `pending` identical pending pods of one Deployment; the catalogue holds only
/// the group's size, so the group is the one option.
pub fn run_once_snapshot(nodes: usize, pending: usize) -> ClusterSnapshot {
    let mut doc = json!({
        "version": 1,
        "sizes": [{"id": 3, "name": "K8S-4C-8G", "vcpu": 4, "ramMb": 8192, "diskGb": 160, "hourlyPrice": 0.0274}],
        "nodeGroups": [{"name": "workers", "size": "K8S-4C-8G", "max": 10_000}],
    });
    let node_list: Vec<Value> = (0..nodes)
        .map(|i| {
            json!({"name": format!("node-{i:05}"), "nodeGroup": "workers",
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": 110}})
        })
        .collect();
    let mut pod_list: Vec<Value> = (0..nodes)
        .map(|i| {
            json!({"name": format!("busy-{i:05}"), "nodeName": format!("node-{i:05}"),
            "labels": {"app": "busy"}, "owner": {"kind": "ReplicaSet", "name": "busy-1"},
            "containers": [{"requests": {"cpu": "3500m", "memory": "6Gi"}}]})
        })
        .collect();
    pod_list.extend((0..pending).map(|i| {
        json!({"name": format!("web-{i:05}"),
        "labels": {"app": "web"}, "owner": {"kind": "ReplicaSet", "name": "web-1"},
        "containers": [{"requests": {"cpu": "500m", "memory": "512Mi"}}]})
    }));
    doc["nodes"] = Value::Array(node_list);
    doc["pods"] = Value::Array(pod_list);
    serde_json::from_value(doc).unwrap_or_else(|e| unreachable_snapshot(&e))
}

/// The documents above are built in code; a failure is a bug in this file.
#[allow(clippy::panic)]
fn unreachable_snapshot(e: &serde_json::Error) -> ClusterSnapshot {
    panic!("benchmark snapshot does not parse: {e}")
}
