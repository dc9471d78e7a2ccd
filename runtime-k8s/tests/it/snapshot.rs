//! The snapshot builder on k8s-openapi objects: conversions, defaults, determinism, bad input.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde_json::json;
use vpsie_autoscaler::snapshot::{BuildOptions, ClusterObjects, build};
use vpsie_engine::model::TaintEffect;
use vpsie_engine::model::pod::{Volume, WhenUnsatisfiable};
use vpsie_engine::model::snapshot::IntOrPercent;

use crate::fake_vpsie::sizes;
use crate::fixtures::*;

fn options() -> BuildOptions {
    BuildOptions {
        now_ms: 1_767_225_600_000,
        sizes: sizes(),
        system_reserved: Default::default(),
    }
}

#[test]
fn converts_a_pod_with_every_placement_feature() {
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web-1", "namespace": "shop", "creationTimestamp": "2026-01-01T00:00:10Z",
            "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"},
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "not-the-controller", "uid": "x"},
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "y", "controller": true}]},
        "spec": {
            "priority": 100,
            "terminationGracePeriodSeconds": 45,
            "overhead": {"cpu": "10m"},
            "initContainers": [
                {"name": "init", "resources": {"requests": {"cpu": "2"}}},
                {"name": "sidecar", "restartPolicy": "Always", "resources": {"requests": {"memory": "64Mi"}}}],
            "containers": [
                {"name": "app", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"nvidia.com/gpu": "1", "memory": "2Gi"}},
                 "ports": [{"containerPort": 80, "hostPort": 8080}]}],
            "nodeSelector": {"disk": "ssd"},
            "affinity": {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}],
                     "matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["bad-node"]}]}]}},
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}},
            "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}, "minDomains": 2}],
            "volumes": [{"name": "scratch", "emptyDir": {}}, {"name": "shm", "emptyDir": {"medium": "Memory"}},
                        {"name": "host", "hostPath": {"path": "/var"}}, {"name": "cfg", "configMap": {"name": "c"}}]
        },
        "status": {"phase": "Pending"}
    }))
    .unwrap();
    let objects = ClusterObjects {
        pods: vec![Arc::new(p)],
        ..Default::default()
    };
    let built = build(&objects, &options());
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);
    let pod = &built.snapshot.pods[0];
    assert_eq!(pod.key(), "shop/web-1");
    assert_eq!(pod.owner.as_ref().unwrap().kind, "ReplicaSet");
    assert_eq!(pod.priority, 100);
    assert_eq!(pod.termination_grace_period_seconds, Some(45));
    assert_eq!(pod.created_at_ms, Some(1_767_225_610_000));
    // A limit without a request defaults the request (nvidia.com/gpu); the memory request stays.
    let app = &pod.containers[0];
    assert_eq!(app.requests.extended("nvidia.com/gpu"), 1);
    assert_eq!(app.requests.memory, 1 << 30);
    assert_eq!(app.ports[0].host_port, Some(8080));
    // max(500m + sidecar, init 2 + sidecar) + overhead 10m = 2010m; memory 1Gi + 64Mi.
    let eff = pod.effective_requests();
    assert_eq!(eff.cpu_milli, 2010);
    assert_eq!(eff.memory, (1 << 30) + (64 << 20));
    assert_eq!(
        pod.node_selector.get("disk").map(String::as_str),
        Some("ssd")
    );
    let term = &pod.affinity.node_affinity[0];
    assert_eq!(term.match_expressions.len(), 2);
    assert_eq!(term.match_expressions[1].key, "kubernetes.io/hostname");
    assert_eq!(
        pod.affinity.pod_anti_affinity[0].topology_key,
        "kubernetes.io/hostname"
    );
    assert_eq!(pod.tolerations[0].effect, Some(TaintEffect::NoSchedule));
    let spread = &pod.topology_spread_constraints[0];
    assert_eq!(spread.when_unsatisfiable, WhenUnsatisfiable::DoNotSchedule);
    assert_eq!(spread.min_domains, Some(2));
    assert_eq!(
        pod.volumes,
        vec![
            Volume::EmptyDir {
                name: "scratch".into(),
                medium: None
            },
            Volume::EmptyDir {
                name: "shm".into(),
                medium: Some("Memory".into())
            },
            Volume::HostPath {
                name: "host".into()
            },
            Volume::Other { name: "cfg".into() },
        ]
    );
}

#[test]
fn converts_nodes_with_readiness_taints_and_groups() {
    let mut cordoned = node_json("n2", None, "3900m", "7Gi", false);
    cordoned["spec"] = json!({"unschedulable": true,
        "taints": [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]});
    cordoned["metadata"]["labels"]["topology.kubernetes.io/zone"] = json!("hel1");
    let objects = ClusterObjects {
        nodes: vec![
            Arc::new(serde_json::from_value(cordoned).unwrap()),
            node("n1", Some("general"), "4", "8Gi", true),
        ],
        ..Default::default()
    };
    let built = build(&objects, &options());
    let s = &built.snapshot;
    assert_eq!(s.nodes[0].name, "n1", "nodes sorted by name");
    assert!(s.nodes[0].ready);
    assert_eq!(s.nodes[0].node_group.as_deref(), Some("general"));
    assert_eq!(s.nodes[0].allocatable.cpu_milli, 4000);
    assert_eq!(s.nodes[0].allocatable.pods, 110);
    let n2 = &s.nodes[1];
    assert!(!n2.ready && n2.unschedulable);
    assert_eq!(n2.zone.as_deref(), Some("hel1"));
    assert_eq!(n2.taints[0].effect, TaintEffect::NoExecute);
    assert_eq!(n2.allocatable.cpu_milli, 3900);
}

#[test]
fn only_the_label_puts_a_node_in_a_group_so_the_loop_labels_new_nodes() {
    let vn = vpsie_node(json!({
        "apiVersion": "autoscaler.vpsie.com/v1alpha1", "kind": "VPSieNode",
        "metadata": {"name": "req-000001", "namespace": "vpsie-system"},
        "spec": {"nodeGroup": "general", "engineGroup": "general", "clusterIdentifier": "c", "kubeSizeId": 3},
        "status": {"phase": "Joining", "nodeName": "w1"}
    }));
    let objects = ClusterObjects {
        nodes: vec![node("w1", None, "4", "8Gi", false)],
        vpsie_nodes: vec![vn],
        node_groups: vec![node_group("general", 0, 5, 3, Some(1))],
        ..Default::default()
    };
    let built = build(&objects, &options());
    assert_eq!(built.snapshot.nodes[0].node_group, None);
    assert!(
        built.snapshot.in_flight.is_empty(),
        "a node that exists is not in flight"
    );
}

#[test]
fn node_groups_become_engine_groups_one_per_size() {
    let mut multi = node_group_json("mem", 1, 4, 5, None);
    multi["spec"]["allowedSizes"] = json!([4]);
    multi["spec"]["taints"] =
        json!([{"key": "workload", "value": "memory", "effect": "NoSchedule"}]);
    multi["spec"]["scaleDown"] = json!({"utilizationThreshold": 0.3});
    let mut unknown = node_group_json("ghost", 0, 2, 99, None);
    unknown["metadata"]["name"] = json!("ghost");
    let mut inverted = node_group_json("bad", 3, 1, 3, None);
    inverted["metadata"]["name"] = json!("bad");
    let objects = ClusterObjects {
        node_groups: vec![
            node_group("general", 1, 10, 3, Some(1187)),
            Arc::new(serde_json::from_value(multi).unwrap()),
            Arc::new(serde_json::from_value(unknown).unwrap()),
            Arc::new(serde_json::from_value(inverted).unwrap()),
        ],
        ..Default::default()
    };
    let built = build(&objects, &options());
    let names: Vec<&str> = built
        .snapshot
        .node_groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(names, ["general", "mem-k8s-4c-16g", "mem-k8s-8c-16g"]);
    let general = &built.snapshot.node_groups[0];
    assert_eq!(
        (general.min, general.max, general.size.as_str()),
        (1, 10, "K8S-4C-8G")
    );
    let mem_first = &built.snapshot.node_groups[1];
    assert_eq!(mem_first.min, 1, "min applies to the first allowed size");
    assert_eq!(built.snapshot.node_groups[2].min, 0);
    assert_eq!(mem_first.taints[0].key, "workload");
    assert_eq!(mem_first.scale_down_utilization_threshold, Some(0.3));
    // The NodeGroup's maxNodes is one total over its sizes; a single-size group has none.
    let shared = vpsie_engine::model::SharedMax {
        name: "vpsie-system/mem".into(),
        max: 4,
    };
    assert_eq!(mem_first.shared_max.as_ref(), Some(&shared));
    assert_eq!(
        built.snapshot.node_groups[2].shared_max.as_ref(),
        Some(&shared)
    );
    assert_eq!(general.shared_max, None);
    assert_eq!(built.group("general").unwrap().vpsie_group_id, Some(1187));
    let warnings = built.warnings.join("\n");
    assert!(
        warnings.contains("size 99 is not in the VPSie size catalogue"),
        "{warnings}"
    );
    assert!(
        warnings.contains("NodeGroup vpsie-system/bad: field `spec.minNodes`"),
        "{warnings}"
    );
}

#[test]
fn bad_objects_are_skipped_with_a_warning_naming_the_field() {
    let mut bad = pod_json("default", "bad", None, "1", "1Gi");
    bad["spec"]["containers"][0]["resources"]["requests"]["memory"] = json!("12Qi");
    let mut bad_taint = node_json("n-bad", None, "4", "8Gi", true);
    bad_taint["spec"] = json!({"taints": [{"key": "k", "effect": "Sometimes"}]});
    let objects = ClusterObjects {
        pods: vec![
            Arc::new(serde_json::from_value(bad).unwrap()),
            pod("default", "good", None, "1", "1Gi"),
        ],
        nodes: vec![Arc::new(serde_json::from_value(bad_taint).unwrap())],
        ..Default::default()
    };
    let built = build(&objects, &options());
    assert_eq!(built.snapshot.pods.len(), 1);
    assert!(built.snapshot.nodes.is_empty());
    let w = built.warnings.join("\n");
    assert!(
        w.contains("Pod default/bad: field `spec.containers[0].resources.requests`"),
        "{w}"
    );
    assert!(
        w.contains("Node n-bad: field `spec.taints[0].effect`: unknown taint effect `Sometimes`"),
        "{w}"
    );
}

#[test]
fn finished_pods_and_deleted_pending_pods_are_left_out() {
    let mut done = pod_json("default", "done", Some("n1"), "1", "1Gi");
    done["status"]["phase"] = json!("Succeeded");
    let mut deleting = pod_json("default", "deleting", None, "1", "1Gi");
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let mut terminating_bound = pod_json("default", "terminating", Some("n1"), "1", "1Gi");
    terminating_bound["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let objects = ClusterObjects {
        pods: [done, deleting, terminating_bound]
            .into_iter()
            .map(|v| Arc::new(serde_json::from_value(v).unwrap()))
            .collect(),
        ..Default::default()
    };
    let built = build(&objects, &options());
    let names: Vec<&str> = built
        .snapshot
        .pods
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["terminating"],
        "a terminating bound pod still occupies its node"
    );
}

#[test]
fn pdbs_and_daemonsets_are_converted() {
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"maxUnavailable": "25%", "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}},
        "status": {"disruptionsAllowed": 1, "currentHealthy": 4, "desiredHealthy": 3, "expectedPods": 4}
    }))
    .unwrap();
    let ds: DaemonSet = serde_json::from_value(json!({
        "metadata": {"name": "logs", "namespace": "kube-system"},
        "spec": {"selector": {}, "template": {"spec": {
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}],
            "tolerations": [{"operator": "Exists"}]}}}
    }))
    .unwrap();
    let objects = ClusterObjects {
        pdbs: vec![Arc::new(pdb)],
        daemon_sets: vec![Arc::new(ds)],
        ..Default::default()
    };
    let built = build(&objects, &options());
    let p = &built.snapshot.pdbs[0];
    assert_eq!(p.max_unavailable, Some(IntOrPercent::Percent("25%".into())));
    assert_eq!(p.disruptions_allowed, Some(1));
    assert_eq!(p.selector.match_expressions[0].key, "app");
    let d = &built.snapshot.daemon_sets[0];
    assert_eq!(d.containers[0].requests.cpu_milli, 100);
    assert_eq!(d.tolerations.len(), 1);
}

#[test]
fn the_snapshot_does_not_depend_on_watch_order() {
    let mut objects = ClusterObjects {
        pods: (0..40)
            .map(|i| {
                pod(
                    &format!("ns{}", i % 3),
                    &format!("p{i}"),
                    (i % 2 == 0).then_some("n1"),
                    "100m",
                    "128Mi",
                )
            })
            .collect(),
        nodes: (0..7)
            .map(|i| node(&format!("n{i}"), Some("general"), "4", "8Gi", true))
            .collect(),
        node_groups: vec![
            node_group("general", 0, 10, 3, Some(1)),
            node_group("alpha", 0, 3, 2, None),
        ],
        ..Default::default()
    };
    let first = build(&objects, &options());
    objects.pods.reverse();
    objects.nodes.rotate_left(3);
    objects.node_groups.reverse();
    let second = build(&objects, &options());
    assert_eq!(
        serde_json::to_string(&first.snapshot).unwrap(),
        serde_json::to_string(&second.snapshot).unwrap()
    );
    assert_eq!(first.groups, second.groups);
}
