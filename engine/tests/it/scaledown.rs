//! Scale-down planner: blocking rules, PDB budgets, multi-node removal, consolidation, and
//! properties on random snapshots (every prefix safe, PDBs, group minimum, order independence).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::{Value, json};
use vpsie_engine::model::{ClusterSnapshot, Pod};
use vpsie_engine::scaledown::pdb::{
    PdbLedger, PodFacts, covers, disruptions_allowed, ledger_order,
};
use vpsie_engine::scaledown::{
    ConsolidationPolicy, KeepReason, RemovalKind, ScaleDownOptions, ScaleDownPlan, apply_removals,
    plan_scale_down,
};
use vpsie_engine::sched::{ClusterState, template_for};

fn node(name: &str, group: &str, cpu: i64, mem_gi: i64) -> Value {
    json!({"name": name, "nodeGroup": group, "allocatable": {"cpu": format!("{cpu}m"), "memory": format!("{mem_gi}Gi"), "pods": 110}})
}

fn pod(name: &str, node: &str, cpu: i64, mem_mi: i64) -> Value {
    json!({"name": name, "nodeName": node, "labels": {"app": "web"},
           "owner": {"kind": "ReplicaSet", "name": "web"},
           "containers": [{"requests": {"cpu": format!("{cpu}m"), "memory": format!("{mem_mi}Mi")}}]})
}

fn with(mut v: Value, patch: Value) -> Value {
    if let (Some(o), Some(p)) = (v.as_object_mut(), patch.as_object()) {
        for (k, x) in p {
            if x.is_null() {
                o.remove(k);
            } else {
                o.insert(k.clone(), x.clone());
            }
        }
    }
    v
}

fn snapshot(
    nodes: Vec<Value>,
    pods: Vec<Value>,
    pdbs: Vec<Value>,
    groups: Vec<Value>,
) -> ClusterSnapshot {
    serde_json::from_value(json!({
        "version": 1,
        "nodes": nodes,
        "pods": pods,
        "pdbs": pdbs,
        "nodeGroups": groups,
        "sizes": [
            {"id": 1, "name": "K8S-4C-8G", "vcpu": 4, "ramMb": 8192, "diskGb": 80, "hourlyPrice": 0.10},
            {"id": 2, "name": "K8S-8C-16G", "vcpu": 8, "ramMb": 16384, "diskGb": 160, "hourlyPrice": 0.12},
            {"id": 3, "name": "K8S-2C-4G", "vcpu": 2, "ramMb": 4096, "diskGb": 40, "hourlyPrice": 0.05}
        ]
    }))
    .expect("test snapshot")
}

fn group(name: &str, min: u32) -> Value {
    json!({"name": name, "size": "K8S-4C-8G", "min": min, "max": 100})
}

fn no_consolidation() -> ScaleDownOptions {
    ScaleDownOptions {
        consolidation: ConsolidationPolicy {
            enabled: false,
            ..ConsolidationPolicy::default()
        },
        ..ScaleDownOptions::default()
    }
}

fn kept_code(plan: &ScaleDownPlan, node: &str) -> Option<String> {
    plan.kept
        .iter()
        .find(|k| k.node == node)
        .map(|k| k.reason.code().to_string())
}

fn removed(plan: &ScaleDownPlan) -> Vec<String> {
    plan.removals.iter().map(|r| r.node.clone()).collect()
}

/// Independent check of a plan: for every prefix of the removals (and then the replacement),
/// rebuild a state without the removed nodes and bind every evicted pod at its destination
/// with `check`, in the plan's order. Also checks PDB budgets and group minimums.
fn verify(snap: &ClusterSnapshot, plan: &ScaleDownPlan) {
    let pods: BTreeMap<String, &Pod> = snap.pods.iter().map(|p| (p.key(), p)).collect();
    let removed_nodes: Vec<&str> = plan.removals.iter().map(|r| r.node.as_str()).collect();
    // Each node at most once, destinations never removed in the same decision.
    let all_removed: BTreeSet<&str> = removed_nodes
        .iter()
        .copied()
        .chain(
            plan.replacements
                .iter()
                .flat_map(|r| r.remove.iter().map(String::as_str)),
        )
        .collect();
    assert_eq!(
        all_removed.len(),
        removed_nodes.len()
            + plan
                .replacements
                .iter()
                .map(|r| r.remove.len())
                .sum::<usize>()
    );
    for r in &plan.removals {
        for e in &r.evictions {
            assert!(
                !all_removed.contains(e.destination.as_str()),
                "{e:?} goes to a removed node"
            );
        }
    }
    // Every node is either removed or kept, exactly once.
    let kept: BTreeSet<&str> = plan.kept.iter().map(|k| k.node.as_str()).collect();
    assert_eq!(kept.len(), plan.kept.len());
    for n in &snap.nodes {
        assert!(
            kept.contains(n.name.as_str()) != all_removed.contains(n.name.as_str()),
            "{}",
            n.name
        );
    }
    for k in 0..=plan.removals.len() {
        let prefix = &plan.removals[..k];
        let gone: BTreeSet<&str> = prefix.iter().map(|r| r.node.as_str()).collect();
        let mut after = snap.clone();
        after.nodes.retain(|n| !gone.contains(n.name.as_str()));
        after
            .pods
            .retain(|p| !p.node_name.as_deref().is_some_and(|n| gone.contains(n)));
        let mut state = ClusterState::existing_only(&after);
        for r in prefix {
            // The snapshot's pod must have been on the removed node and be evictable.
            for e in &r.evictions {
                let pod = pods[&e.pod];
                assert_eq!(pod.node_name.as_deref(), Some(r.node.as_str()));
                let dest = state.find_node(&e.destination).expect("destination exists");
                state.check(pod, dest).unwrap_or_else(|u| {
                    panic!(
                        "prefix {k}: {} does not fit on {}: {u}",
                        e.pod, e.destination
                    )
                });
                state.bind(pod, dest);
            }
        }
        // PDB budgets of the prefix.
        for pdb in &snap.pdbs {
            let key = format!("{}/{}", pdb.namespace, pdb.name);
            let used = prefix
                .iter()
                .flat_map(|r| r.evictions.iter())
                .filter(|e| {
                    let p = pods[&e.pod];
                    p.namespace == pdb.namespace && pdb.selector.matches(&p.labels)
                })
                .count() as i32;
            assert!(
                used <= disruptions_allowed(pdb, snap),
                "prefix {k} overdraws {key}"
            );
        }
    }
    // Group minimums, counting replacements' removals and additions.
    for g in &snap.node_groups {
        let size = snap
            .nodes
            .iter()
            .filter(|n| n.node_group.as_deref() == Some(&g.name))
            .count() as i64;
        let gone = snap
            .nodes
            .iter()
            .filter(|n| {
                n.node_group.as_deref() == Some(&g.name) && all_removed.contains(n.name.as_str())
            })
            .count() as i64;
        let added: i64 = plan
            .replacements
            .iter()
            .flat_map(|r| r.add.iter())
            .filter(|a| a.group == g.name)
            .map(|a| i64::from(a.count))
            .sum();
        assert!(
            size - gone + added >= i64::from(g.min).min(size),
            "group {} below min",
            g.name
        );
    }
    // The replacement on top of every removal: its new nodes exist, every pod fits.
    if !plan.replacements.is_empty() {
        let mut after = apply_removals(snap, &plan.removals);
        for r in &plan.replacements {
            let gone: BTreeSet<&str> = r.remove.iter().map(String::as_str).collect();
            after.nodes.retain(|n| !gone.contains(n.name.as_str()));
            after
                .pods
                .retain(|p| !p.node_name.as_deref().is_some_and(|n| gone.contains(n)));
        }
        let mut state = ClusterState::existing_only(&after);
        for r in &plan.replacements {
            for a in &r.add {
                let size = snap.sizes.iter().find(|s| s.name == a.size).expect("size");
                let group = snap
                    .node_groups
                    .iter()
                    .find(|g| g.name == a.group)
                    .cloned()
                    .unwrap_or_else(|| {
                        serde_json::from_value(
                            json!({"name": a.group, "size": a.size, "max": 1000}),
                        )
                        .unwrap()
                    });
                let t = template_for(snap, &group, size);
                for i in 1..=a.count {
                    state.add_node_from_template(&t, format!("new:{}#{i}", a.group));
                }
            }
            for e in &r.evictions {
                let pod = pods[&e.pod];
                let dest = state.find_node(&e.destination).expect("destination exists");
                state
                    .check(pod, dest)
                    .unwrap_or_else(|u| panic!("replacement: {} on {}: {u}", e.pod, e.destination));
                state.bind(pod, dest);
            }
        }
    }
}

#[test]
fn smoke_multi_node_removal_packs_onto_nodes_that_stay() {
    let nodes = (1..=4)
        .map(|i| node(&format!("n{i}"), "g", 1000, 8))
        .collect();
    let pods = (1..=4)
        .map(|i| pod(&format!("p{i}"), &format!("n{i}"), 200, 100))
        .collect();
    let snap = snapshot(nodes, pods, vec![], vec![group("g", 0)]);
    let plan = plan_scale_down(&snap, &no_consolidation());
    verify(&snap, &plan);
    assert_eq!(
        removed(&plan),
        vec!["n1", "n3", "n4"],
        "{}",
        plan.render_text()
    );
    assert_eq!(kept_code(&plan, "n2").as_deref(), Some("destination"));
}

/// One blocking-rule case: n1 (10% used by the pod under test) and n2 (30% used, opted out of
/// scale-down) in group g.
struct Case {
    name: &'static str,
    n1: Value,
    n2: Value,
    pod: Value,
    extra_pods: Vec<Value>,
    pdbs: Vec<Value>,
    min: u32,
    tweak: fn(&mut ScaleDownOptions),
    /// The code n1 stays with, or "removed:<kind>".
    expect: &'static str,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            name: "",
            n1: json!({}),
            n2: json!({}),
            pod: json!({}),
            extra_pods: vec![],
            pdbs: vec![],
            min: 0,
            tweak: |_| {},
            expect: "",
        }
    }
}

fn run_case(c: &Case) -> (ClusterSnapshot, ScaleDownPlan, String) {
    let n1 = with(node("n1", "g", 1000, 8), c.n1.clone());
    // n2 opts out so that it only ever receives pods.
    let n2 = with(
        with(
            node("n2", "g", 1000, 8),
            json!({"annotations": {"cluster-autoscaler.kubernetes.io/scale-down-disabled": "true"}}),
        ),
        c.n2.clone(),
    );
    let pod_under_test = with(pod("p1", "n1", 100, 100), c.pod.clone());
    let mut pods = vec![pod_under_test, pod("p2", "n2", 300, 100)];
    pods.extend(c.extra_pods.iter().cloned());
    let mut g = group("g", c.min);
    if c.name == "group threshold override" {
        g = with(g, json!({"scaleDownUtilizationThreshold": 0.05}));
    }
    let snap = snapshot(vec![n1, n2], pods, c.pdbs.clone(), vec![g]);
    let mut opts = no_consolidation();
    (c.tweak)(&mut opts);
    let plan = plan_scale_down(&snap, &opts);
    let outcome = match plan.removals.iter().find(|r| r.node == "n1") {
        Some(r) => format!("removed:{}", r.kind.code()),
        None => kept_code(&plan, "n1").unwrap_or_default(),
    };
    (snap, plan, outcome)
}

fn db(extra: Value) -> Value {
    with(
        json!({"labels": {"app": "db"}, "owner": {"kind": "StatefulSet", "name": "db"}}),
        extra,
    )
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "baseline",
            expect: "removed:underutilized",
            ..Case::default()
        },
        Case {
            name: "bare pod",
            pod: json!({"owner": null}),
            expect: "bare_pod",
            ..Case::default()
        },
        Case {
            name: "hostPath",
            pod: json!({"volumes": [{"type": "hostPath", "name": "data"}]}),
            expect: "local_storage",
            ..Case::default()
        },
        Case {
            name: "emptyDir on disk",
            pod: json!({"volumes": [{"type": "emptyDir", "name": "scratch"}]}),
            expect: "local_storage",
            ..Case::default()
        },
        Case {
            name: "emptyDir in memory",
            pod: json!({"volumes": [{"type": "emptyDir", "name": "scratch", "medium": "Memory"}]}),
            expect: "removed:underutilized",
            ..Case::default()
        },
        Case {
            name: "local storage but safe to evict",
            pod: json!({"volumes": [{"type": "hostPath", "name": "d"}], "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}}),
            expect: "removed:underutilized",
            ..Case::default()
        },
        Case {
            name: "bare pod but safe to evict",
            pod: json!({"owner": null, "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}}),
            expect: "removed:underutilized",
            ..Case::default()
        },
        Case {
            name: "safe-to-evict false",
            pod: json!({"annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}}),
            expect: "not_safe_to_evict",
            ..Case::default()
        },
        Case {
            name: "kube-system without pdb",
            pod: json!({"namespace": "kube-system"}),
            expect: "kube_system_without_pdb",
            ..Case::default()
        },
        Case {
            name: "kube-system with pdb",
            pod: json!({"namespace": "kube-system"}),
            pdbs: vec![
                json!({"name": "dns", "namespace": "kube-system", "selector": {"matchLabels": {"app": "web"}}, "maxUnavailable": 1}),
            ],
            expect: "removed:underutilized",
            ..Case::default()
        },
        Case {
            name: "pdb status says zero",
            pod: db(json!({})),
            pdbs: vec![
                json!({"name": "db", "selector": {"matchLabels": {"app": "db"}}, "maxUnavailable": 1, "disruptionsAllowed": 0}),
            ],
            expect: "pdb_exhausted",
            ..Case::default()
        },
        Case {
            name: "pdb minAvailable equals healthy",
            pod: db(json!({})),
            pdbs: vec![
                json!({"name": "db", "selector": {"matchLabels": {"app": "db"}}, "minAvailable": 1}),
            ],
            expect: "pdb_exhausted",
            ..Case::default()
        },
        Case {
            name: "pdb minAvailable percent rounds up",
            pod: db(json!({})),
            pdbs: vec![
                json!({"name": "db", "selector": {"matchLabels": {"app": "db"}}, "minAvailable": "50%"}),
            ],
            expect: "pdb_exhausted",
            ..Case::default()
        },
        Case {
            name: "pdb maxUnavailable percent rounds up",
            pod: db(json!({})),
            pdbs: vec![
                json!({"name": "db", "selector": {"matchLabels": {"app": "db"}}, "maxUnavailable": "50%"}),
            ],
            expect: "removed:underutilized",
            ..Case::default()
        },
        Case {
            name: "pdb of another namespace does not apply",
            pod: db(json!({})),
            pdbs: vec![
                json!({"name": "db", "namespace": "other", "selector": {"matchLabels": {"app": "db"}}, "disruptionsAllowed": 0}),
            ],
            expect: "removed:underutilized",
            ..Case::default()
        },
        Case {
            name: "daemonset pod only",
            pod: json!({"owner": {"kind": "DaemonSet", "name": "agent"}}),
            expect: "removed:empty",
            ..Case::default()
        },
        Case {
            name: "mirror pod only",
            pod: json!({"owner": null, "annotations": {"kubernetes.io/config.mirror": "x"}}),
            expect: "removed:empty",
            ..Case::default()
        },
        Case {
            name: "daemonset pod safe-to-evict false",
            pod: json!({"owner": {"kind": "DaemonSet", "name": "agent"}, "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}}),
            expect: "removed:empty",
            ..Case::default()
        },
        Case {
            name: "opt-out label",
            n1: json!({"labels": {"cluster-autoscaler.kubernetes.io/scale-down-disabled": "true"}}),
            expect: "scale_down_disabled",
            ..Case::default()
        },
        Case {
            name: "opt-out annotation",
            n1: json!({"annotations": {"cluster-autoscaler.kubernetes.io/scale-down-disabled": "true"}}),
            expect: "scale_down_disabled",
            ..Case::default()
        },
        Case {
            name: "opt-out false is no opt-out",
            n1: json!({"annotations": {"cluster-autoscaler.kubernetes.io/scale-down-disabled": "false"}}),
            expect: "removed:underutilized",
            ..Case::default()
        },
        Case {
            name: "protected",
            tweak: |o| {
                o.protected_nodes
                    .insert("n1".into(), "added 3m ago for pending pods".into());
            },
            expect: "protected",
            ..Case::default()
        },
        Case {
            name: "cordoned",
            n1: json!({"unschedulable": true}),
            expect: "cordoned",
            ..Case::default()
        },
        Case {
            name: "no node group",
            n1: json!({"nodeGroup": null}),
            expect: "not_managed",
            ..Case::default()
        },
        Case {
            name: "unknown node group",
            n1: json!({"nodeGroup": "zzz"}),
            expect: "not_managed",
            ..Case::default()
        },
        Case {
            name: "group at min",
            min: 2,
            expect: "group_at_min",
            ..Case::default()
        },
        Case {
            name: "above threshold",
            pod: json!({"containers": [{"requests": {"cpu": "600m"}}]}),
            expect: "not_underutilized",
            ..Case::default()
        },
        Case {
            name: "memory above threshold",
            pod: json!({"containers": [{"requests": {"cpu": "100m", "memory": "5Gi"}}]}),
            expect: "not_underutilized",
            ..Case::default()
        },
        Case {
            name: "group threshold override",
            expect: "not_underutilized",
            ..Case::default()
        },
        Case {
            name: "node selector has no other match",
            n1: json!({"labels": {"disk": "ssd"}}),
            pod: json!({"nodeSelector": {"disk": "ssd"}}),
            expect: "no_place_for_pod",
            ..Case::default()
        },
        Case {
            name: "anti-affinity with the pod on n2",
            pod: db(
                json!({"affinity": {"podAntiAffinity": [{"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}),
            ),
            expect: "no_place_for_pod",
            ..Case::default()
        },
        Case {
            name: "pod affinity to a pod on n1 only",
            pod: json!({"affinity": {"podAffinity": [{"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "kubernetes.io/hostname"}]}}),
            extra_pods: vec![with(
                pod("cache", "n1", 10, 10),
                json!({"labels": {"app": "cache"}, "owner": {"kind": "DaemonSet", "name": "cache"}}),
            )],
            expect: "no_place_for_pod",
            ..Case::default()
        },
        Case {
            name: "host port taken on n2",
            pod: json!({"containers": [{"requests": {"cpu": "100m"}, "ports": [{"hostPort": 8080}]}]}),
            extra_pods: vec![with(
                pod("port", "n2", 10, 10),
                json!({"containers": [{"ports": [{"hostPort": 8080}]}]}),
            )],
            expect: "no_place_for_pod",
            ..Case::default()
        },
        Case {
            name: "no room on n2",
            pod: json!({"containers": [{"requests": {"cpu": "450m"}}]}),
            extra_pods: vec![pod("big", "n2", 300, 10)],
            expect: "no_place_for_pod",
            ..Case::default()
        },
        Case {
            name: "taint on n2 not tolerated",
            n2: json!({"taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]}),
            expect: "no_place_for_pod",
            ..Case::default()
        },
        Case {
            name: "taint on n2 tolerated",
            n2: json!({"taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]}),
            pod: json!({"tolerations": [{"key": "dedicated", "operator": "Exists"}]}),
            expect: "removed:underutilized",
            ..Case::default()
        },
        Case {
            name: "n2 not ready",
            n2: json!({"ready": false}),
            expect: "no_place_for_pod",
            ..Case::default()
        },
        Case {
            name: "not-ready node is a candidate whatever its use",
            n1: json!({"ready": false}),
            pod: json!({"containers": [{"requests": {"cpu": "600m"}}]}),
            expect: "removed:underutilized",
            ..Case::default()
        },
        Case {
            name: "zone spread with minDomains",
            n1: json!({"zone": "a"}),
            n2: json!({"zone": "b"}),
            pod: db(
                json!({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule", "minDomains": 2, "labelSelector": {"matchLabels": {"app": "db"}}}]}),
            ),
            extra_pods: vec![with(pod("db-2", "n2", 10, 10), db(json!({})))],
            expect: "no_place_for_pod",
            ..Case::default()
        },
        Case {
            name: "parallelism limit zero",
            tweak: |o| o.max_nodes = 0,
            expect: "parallelism_limit",
            ..Case::default()
        },
        Case {
            name: "empty bulk limit zero",
            pod: json!({"owner": {"kind": "DaemonSet", "name": "agent"}}),
            tweak: |o| o.max_empty_bulk = 0,
            expect: "empty_bulk_limit",
            ..Case::default()
        },
    ]
}

#[test]
fn each_blocking_rule_keeps_the_node_with_its_reason() {
    let mut failures = Vec::new();
    for c in cases() {
        let (snap, plan, outcome) = run_case(&c);
        verify(&snap, &plan);
        if outcome != c.expect {
            failures.push(format!(
                "{}: expected {}, got {}\n{}",
                c.name,
                c.expect,
                outcome,
                plan.render_text()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn explanations_of_blocking_rules() {
    let mut out = String::new();
    for c in cases() {
        let (_, plan, _) = run_case(&c);
        let line = match plan.kept.iter().find(|k| k.node == "n1") {
            Some(k) => format!("{}: {}: {}\n", c.name, k.reason.code(), k.reason),
            None => format!("{}: removed\n", c.name),
        };
        out.push_str(&line);
    }
    insta::assert_snapshot!(out);
}

/// A random node: (group 0/1/unmanaged, zone, ready, cordoned, ssd label).
type NodeSpec = (u8, bool, bool, bool, bool);
/// A random pod: (node, cpu step, mem step, app, constraint kind, owner kind).
type PodSpec = (usize, i64, i64, u8, u8, u8);

fn random_snapshot(
    nodes: &[NodeSpec],
    pods: &[PodSpec],
    pdbs: &[(u8, u8, i32)],
    mins: (u32, u32),
) -> ClusterSnapshot {
    let apps = ["a", "b", "c", "d"];
    let node_values: Vec<Value> = nodes
        .iter()
        .enumerate()
        .map(|(i, (g, zone_b, ready, cordoned, ssd))| {
            let group = match g {
                0 => json!("g0"),
                1 => json!("g1"),
                _ => Value::Null,
            };
            let mut labels = json!({});
            if *ssd {
                labels = json!({"disk": "ssd"});
            }
            json!({"name": format!("node-{i:02}"), "nodeGroup": group, "zone": if *zone_b {"b"} else {"a"},
                   "ready": ready, "unschedulable": cordoned, "labels": labels,
                   "allocatable": {"cpu": "2", "memory": "4Gi", "pods": 20}})
        })
        .collect();
    let pod_values: Vec<Value> = pods
        .iter()
        .enumerate()
        .map(|(i, (n, cpu, mem, app, constraint, owner))| {
            let app = apps[*app as usize % apps.len()];
            let mut p = json!({
                "name": format!("pod-{i:03}"),
                "nodeName": format!("node-{:02}", n % nodes.len()),
                "labels": {"app": app},
                "owner": {"kind": "ReplicaSet", "name": app},
                "priority": if *owner == 3 { 1000 } else { 0 },
                "containers": [{"requests": {"cpu": format!("{}m", cpu * 100), "memory": format!("{}Mi", mem * 128)}}]
            });
            let o = p.as_object_mut().unwrap();
            match owner {
                0 => {
                    o.insert("owner".into(), json!({"kind": "DaemonSet", "name": "agent"}));
                }
                1 if i % 7 == 0 => {
                    o.remove("owner");
                }
                _ => {}
            }
            match constraint {
                0 => {
                    o.insert("affinity".into(), json!({"podAntiAffinity": [{"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "kubernetes.io/hostname"}]}));
                }
                1 => {
                    o.insert("topologySpreadConstraints".into(), json!([{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": app}}}]));
                }
                2 => {
                    o.insert("nodeSelector".into(), json!({"disk": "ssd"}));
                }
                3 => {
                    o.insert("affinity".into(), json!({"podAffinity": [{"labelSelector": {"matchLabels": {"app": "a"}}, "topologyKey": "topology.kubernetes.io/zone"}]}));
                }
                4 => {
                    o.insert("containers".into(), json!([{"requests": {"cpu": "100m"}, "ports": [{"hostPort": 9100}]}]));
                }
                _ => {}
            }
            p
        })
        .collect();
    let pdb_values: Vec<Value> = pdbs
        .iter()
        .enumerate()
        .map(|(i, (app, kind, n))| {
            let sel = json!({"matchLabels": {"app": apps[*app as usize % apps.len()]}});
            match kind % 4 {
                0 => json!({"name": format!("pdb-{i}"), "selector": sel, "maxUnavailable": n}),
                1 => json!({"name": format!("pdb-{i}"), "selector": sel, "minAvailable": n}),
                2 => json!({"name": format!("pdb-{i}"), "selector": sel, "maxUnavailable": format!("{}%", n * 20)}),
                _ => json!({"name": format!("pdb-{i}"), "selector": sel, "maxUnavailable": 5, "disruptionsAllowed": n}),
            }
        })
        .collect();
    let groups = vec![
        json!({"name": "g0", "size": "K8S-4C-8G", "min": mins.0, "max": 50}),
        json!({"name": "g1", "size": "K8S-2C-4G", "min": mins.1, "max": 50, "scaleDownUtilizationThreshold": 0.7}),
    ];
    snapshot(node_values, pod_values, pdb_values, groups)
}

pub(crate) fn snapshot_strategy() -> impl Strategy<Value = ClusterSnapshot> {
    (
        prop::collection::vec(
            (
                0u8..3,
                any::<bool>(),
                prop::bool::weighted(0.9),
                prop::bool::weighted(0.1),
                any::<bool>(),
            ),
            2..10,
        ),
        prop::collection::vec(
            (0usize..10, 1i64..8, 1i64..8, 0u8..4, 0u8..12, 0u8..6),
            0..40,
        ),
        prop::collection::vec((0u8..4, 0u8..4, 0i32..3), 0..4),
        (0u32..3, 0u32..3),
    )
        .prop_map(|(nodes, pods, pdbs, mins)| random_snapshot(&nodes, &pods, &pdbs, mins))
}

pub(crate) fn options_strategy() -> impl Strategy<Value = ScaleDownOptions> {
    (1u32..8, 0u32..4, any::<bool>(), 1u32..4).prop_map(|(max_nodes, bulk, consolidate, k)| {
        ScaleDownOptions {
            max_nodes,
            max_empty_bulk: bulk,
            consolidation: ConsolidationPolicy {
                enabled: consolidate,
                k: f64::from(k),
                max_replace_nodes: 4,
            },
            ..ScaleDownOptions::default()
        }
    })
}

fn permuted(snap: &ClusterSnapshot, seed: u64) -> ClusterSnapshot {
    // A deterministic shuffle (xorshift) of every list.
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = snap.clone();
    for i in (1..out.nodes.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        out.nodes.swap(i, j);
    }
    for i in (1..out.pods.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        out.pods.swap(i, j);
    }
    for i in (1..out.pdbs.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        out.pdbs.swap(i, j);
    }
    out.node_groups.reverse();
    out
}

proptest! {
    #![proptest_config(crate::seeded(96))]

    /// Every prefix of the removals fits, within PDB budgets and group minimums; replacements
    /// fit on their new nodes; every node is accounted for once.
    #[test]
    fn plans_are_safe(snap in snapshot_strategy(), opts in options_strategy()) {
        let plan = plan_scale_down(&snap, &opts);
        verify(&snap, &plan);
        prop_assert!(plan.removals.len() + plan.replacements.iter().map(|r| r.remove.len()).sum::<usize>() <= opts.max_nodes as usize);
        prop_assert!(plan.removals.iter().filter(|r| r.kind == RemovalKind::Empty).count() <= opts.max_empty_bulk as usize);
        for b in &plan.pdb_budgets {
            prop_assert!(b.consumed <= b.allowed);
        }
    }

    /// Any permutation of the snapshot's lists gives the same plan.
    #[test]
    fn plans_do_not_depend_on_input_order(snap in snapshot_strategy(), opts in options_strategy(), seed in any::<u64>()) {
        let a = plan_scale_down(&snap, &opts);
        let b = plan_scale_down(&permuted(&snap, seed), &opts);
        prop_assert_eq!(a.render_text(), b.render_text());
        prop_assert_eq!(a, b);
    }

    /// Carrying out a removal that the planner called safe and planning again never finds a
    /// pod without a place: every pod of the new snapshot is on a node that exists.
    #[test]
    fn removing_then_rescheduling_binds_every_pod(snap in snapshot_strategy(), opts in options_strategy()) {
        let plan = plan_scale_down(&snap, &opts);
        let after = apply_removals(&snap, &plan.removals);
        let names: BTreeSet<&str> = after.nodes.iter().map(|n| n.name.as_str()).collect();
        for p in &after.pods {
            if let Some(n) = &p.node_name {
                prop_assert!(names.contains(n.as_str()) || !snap.nodes.iter().any(|x| &x.name == n));
            }
        }
        let evicted: usize = plan.removals.iter().map(|r| r.evictions.len()).sum();
        let before_bound = snap.pods.iter().filter(|p| p.node_name.is_some() && !p.is_daemonset_pod() && !p.is_mirror()).count();
        let after_bound = after.pods.iter().filter(|p| p.node_name.is_some() && !p.is_daemonset_pod() && !p.is_mirror()).count();
        prop_assert_eq!(before_bound, after_bound, "{} evictions lost pods", evicted);
    }
}

/// Moves some pods to another namespace or to a node that does not exist, and marks some
/// nodes not ready, so PDB coverage and health have every case.
fn scrambled(snap: &ClusterSnapshot, seed: u64) -> ClusterSnapshot {
    let mut out = permuted(snap, seed);
    for (i, p) in out.pods.iter_mut().enumerate() {
        match (seed as usize).wrapping_add(i) % 7 {
            0 => p.namespace = "other".into(),
            1 => p.node_name = Some("gone".into()),
            _ => {}
        }
    }
    for (i, n) in out.nodes.iter_mut().enumerate() {
        if (seed as usize).wrapping_add(i).is_multiple_of(5) {
            n.ready = !n.ready;
        }
    }
    out
}

proptest! {
    #![proptest_config(crate::seeded(64))]

    /// The one-pass per-pod facts (node, covering PDBs, health) and the ledger built from them
    /// agree with the direct definitions, pod by pod and PDB by PDB.
    #[test]
    fn pod_facts_and_ledger_agree_with_the_direct_definitions(snap in snapshot_strategy(), seed in any::<u64>()) {
        let snap = scrambled(&snap, seed);
        let state = ClusterState::existing_only(&snap);
        let source = ledger_order(&snap);
        let facts = PodFacts::new(&snap, &source, state.node_count(), |n| state.find_node(n));
        for (i, pod) in snap.pods.iter().enumerate() {
            let node = pod.node_name.as_deref().and_then(|n| state.find_node(n));
            prop_assert_eq!(facts.node[i], node, "{}", pod.key());
            let expected: Vec<usize> = (0..source.len())
                .filter(|l| covers(&snap.pdbs[source[*l]], pod))
                .collect();
            prop_assert_eq!(&facts.cover[i][..], &expected[..], "{}", pod.key());
            let healthy = pod
                .node_name
                .as_deref()
                .is_some_and(|n| snap.nodes.iter().any(|x| x.name == n && x.ready));
            prop_assert_eq!(facts.healthy(i), healthy, "{}", pod.key());
        }
        let ledger = PdbLedger::with_facts(&snap, source.clone(), &facts);
        let direct = PdbLedger::new(&snap);
        for (l, src) in source.iter().enumerate() {
            prop_assert_eq!(ledger.allowed[l], disruptions_allowed(&snap.pdbs[*src], &snap));
            prop_assert_eq!(direct.allowed[l], ledger.allowed[l]);
        }
    }
}

#[test]
fn pdb_budget_is_shared_across_the_nodes_of_one_decision() {
    let nodes = vec![
        node("n1", "g", 1000, 8),
        node("n2", "g", 1000, 8),
        node("n3", "g", 1000, 8),
        node("big", "g", 4000, 32),
    ];
    // The db pods repel each other, so they can only move to `big`.
    let spread = json!({"affinity": {"podAntiAffinity": [{"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}});
    let mut pods: Vec<Value> = (1..=3)
        .map(|i| {
            with(
                pod(&format!("db-{i}"), &format!("n{i}"), 100, 100),
                db(spread.clone()),
            )
        })
        .collect();
    pods.push(pod("filler", "big", 2500, 100));
    let pdbs = vec![
        json!({"name": "db", "selector": {"matchLabels": {"app": "db"}}, "maxUnavailable": 1}),
    ];
    let snap = snapshot(nodes, pods, pdbs, vec![group("g", 0)]);
    let plan = plan_scale_down(&snap, &no_consolidation());
    verify(&snap, &plan);
    assert_eq!(removed(&plan), vec!["n1"], "{}", plan.render_text());
    assert_eq!(kept_code(&plan, "n2").as_deref(), Some("pdb_exhausted"));
    assert_eq!(kept_code(&plan, "n3").as_deref(), Some("pdb_exhausted"));
    assert_eq!(plan.pdb_budgets.len(), 1);
    assert_eq!(
        (plan.pdb_budgets[0].allowed, plan.pdb_budgets[0].consumed),
        (1, 1)
    );
}

#[test]
fn group_minimum_counts_every_removal_of_the_decision() {
    let nodes = (1..=5)
        .map(|i| node(&format!("n{i}"), "g", 1000, 8))
        .collect();
    let snap = snapshot(nodes, vec![], vec![], vec![group("g", 3)]);
    let plan = plan_scale_down(&snap, &no_consolidation());
    verify(&snap, &plan);
    assert_eq!(removed(&plan), vec!["n1", "n2"]);
    assert!(plan.removals.iter().all(|r| r.kind == RemovalKind::Empty));
    assert_eq!(kept_code(&plan, "n3").as_deref(), Some("group_at_min"));
}

/// Zone spread (DoNotSchedule) across removals. Destinations d-a (zone a) and d-b (zone b,
/// holding p3) stay; n1 (zone b) and n2 (zone a) are not ready, so n1 is tried first. p1 of n1
/// goes to d-b while n2's p0 still counts in zone a. If n2 then goes too and p0 matches the
/// spread, zone a is empty when both removals are carried out at once, and d-b no longer takes
/// p1 within a skew of 1: n2 must stay. Otherwise both go.
#[test]
fn a_later_removal_never_breaks_an_earlier_spread_placement() {
    // (case, max skew of the spread pods, app label of n2's pod, p1's destination, removed,
    // n2's verdict code)
    type Row = (
        &'static str,
        i32,
        &'static str,
        &'static str,
        &'static [&'static str],
        Option<&'static str>,
    );
    let rows: [Row; 3] = [
        (
            "n2's pod holds up zone a",
            1,
            "a",
            "d-b",
            &["n1"],
            Some("no_place_for_pod"),
        ),
        (
            "n2's pod does not match the spread",
            1,
            "b",
            "d-a",
            &["n1", "n2"],
            None,
        ),
        (
            "a skew of 2 tolerates the empty zone",
            2,
            "a",
            "d-b",
            &["n1", "n2"],
            None,
        ),
    ];
    for (case, max_skew, n2_app, p1_to, expect_removed, n2_kept) in rows {
        let spread = |app: &str, skew: i32| {
            json!({"labels": {"app": app}, "owner": {"kind": "ReplicaSet", "name": app},
                   "topologySpreadConstraints": [{"maxSkew": skew, "topologyKey": "topology.kubernetes.io/zone",
                       "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "a"}}}]})
        };
        let zone = |name: &str, group: &str, zone: &str, ready: bool| {
            let n = with(
                node(name, group, 2000, 4),
                json!({"zone": zone, "ready": ready}),
            );
            if group.is_empty() {
                with(n, json!({"nodeGroup": null}))
            } else {
                n
            }
        };
        let nodes = vec![
            zone("d-a", "", "a", true),
            zone("d-b", "", "b", true),
            zone("n1", "g", "b", false),
            zone("n2", "g", "a", false),
        ];
        let pods = vec![
            with(pod("p0", "n2", 100, 128), spread(n2_app, max_skew)),
            with(pod("p1", "n1", 100, 128), spread("a", max_skew)),
            with(pod("p3", "d-b", 100, 128), spread("a", max_skew)),
        ];
        let snap = snapshot(nodes, pods, vec![], vec![group("g", 0)]);
        let plan = plan_scale_down(&snap, &no_consolidation());
        verify(&snap, &plan);
        assert_eq!(
            removed(&plan),
            expect_removed,
            "{case}\n{}",
            plan.render_text()
        );
        assert_eq!(
            plan.removals[0].evictions[0].destination, p1_to,
            "{case}: where p1 goes"
        );
        if let Some(code) = n2_kept {
            assert_eq!(kept_code(&plan, "n2").as_deref(), Some(code), "{case}");
            let why = plan.kept.iter().find(|k| k.node == "n2").unwrap();
            assert!(
                why.reason.to_string().contains("default/p1"),
                "{case}: {}",
                why.reason
            );
        }
    }
}

#[test]
fn limits_cap_the_decision_and_prefixes_stay_safe() {
    let nodes = (1..=12)
        .map(|i| node(&format!("n{i:02}"), "g", 1000, 8))
        .collect();
    let pods = (1..=12)
        .map(|i| pod(&format!("p{i:02}"), &format!("n{i:02}"), 100, 100))
        .collect();
    let snap = snapshot(nodes, pods, vec![], vec![group("g", 0)]);
    let mut opts = no_consolidation();
    opts.max_nodes = 4;
    let plan = plan_scale_down(&snap, &opts);
    verify(&snap, &plan);
    assert_eq!(plan.removals.len(), 4);
    assert!(
        plan.kept
            .iter()
            .any(|k| matches!(k.reason, KeepReason::ParallelismLimit { limit: 4 }))
    );
}

#[test]
fn consolidation_removes_a_node_above_the_threshold_when_worth_it() {
    // Two nodes at 60% and 20%, threshold 10%: not under-utilized, but the 20% node fits on the
    // other one, saving half the cost for a quarter of the pods.
    let nodes = vec![node("a", "g", 1000, 8), node("b", "g", 1000, 8)];
    let pods = vec![
        pod("a1", "a", 300, 10),
        pod("a2", "a", 300, 10),
        pod("a3", "a", 0, 10),
        pod("b1", "b", 200, 10),
    ];
    let snap = snapshot(nodes, pods, vec![], vec![group("g", 0)]);
    let mut opts = ScaleDownOptions {
        utilization_threshold: 0.1,
        ..ScaleDownOptions::default()
    };
    let plan = plan_scale_down(&snap, &opts);
    verify(&snap, &plan);
    assert_eq!(removed(&plan), vec!["b"], "{}", plan.render_text());
    assert_eq!(plan.removals[0].kind, RemovalKind::Consolidated);
    // Disabled: nothing goes.
    opts.consolidation.enabled = false;
    let plan = plan_scale_down(&snap, &opts);
    assert!(plan.removals.is_empty());
    assert_eq!(kept_code(&plan, "b").as_deref(), Some("not_underutilized"));
    // A tiny k: saving 50% is not worth disrupting 25% of the pods.
    opts.consolidation = ConsolidationPolicy {
        enabled: true,
        k: 0.25,
        ..ConsolidationPolicy::default()
    };
    let plan = plan_scale_down(&snap, &opts);
    assert!(plan.removals.is_empty(), "{}", plan.render_text());
    assert_eq!(
        kept_code(&plan, "b").as_deref(),
        Some("not_worth_disruption")
    );
}

#[test]
fn consolidation_replaces_two_busy_nodes_by_one_bigger_cheaper_node() {
    // Two 4-cpu nodes ($0.10 each) at 60% cannot absorb each other; one 8-cpu node ($0.12)
    // takes both. A third, full node (not removable) holds most of the cluster's pods.
    let nodes = vec![
        node("a", "g", 4000, 8),
        node("b", "g", 4000, 8),
        node("full", "g", 4000, 8),
    ];
    let mut pods = vec![pod("a1", "a", 2400, 100), pod("b1", "b", 2400, 100)];
    pods.extend((0..8).map(|i| pod(&format!("f{i}"), "full", 500, 100)));
    let snap = snapshot(nodes, pods, vec![], vec![group("g", 0)]);
    let plan = plan_scale_down(&snap, &ScaleDownOptions::default());
    verify(&snap, &plan);
    assert!(plan.removals.is_empty());
    assert_eq!(plan.replacements.len(), 1, "{}", plan.render_text());
    let r = &plan.replacements[0];
    assert_eq!(r.remove, vec!["a", "b"]);
    assert_eq!(
        (r.add[0].size.as_str(), r.add[0].count, r.add[0].new_group),
        ("K8S-8C-16G", 1, true)
    );
    assert!((r.hourly_saving - 0.08).abs() < 1e-9);
    insta::assert_snapshot!(plan.render_text());
}

/// Cluster Autoscaler's scale-down shape, scaled to `nodes`: 40 pods of 1% per node (40% use),
/// over 8 deployments each with a PDB of 5% unavailable. The optimum keeps 40% of the nodes.
fn ca_shape(nodes: usize) -> ClusterSnapshot {
    let node_values: Vec<Value> = (0..nodes)
        .map(|i| json!({"name": format!("node-{i:04}"), "nodeGroup": "g", "allocatable": {"cpu": "4", "memory": "4000Mi", "pods": 110}}))
        .collect();
    let pod_values: Vec<Value> = (0..nodes * 40)
        .map(|j| {
            let dep = j % 8;
            json!({"name": format!("pod-{j:06}"), "nodeName": format!("node-{:04}", j / 40),
                   "labels": {"app": format!("app-{dep}")}, "owner": {"kind": "ReplicaSet", "name": format!("app-{dep}")},
                   "containers": [{"requests": {"cpu": "40m", "memory": "40Mi"}}]})
        })
        .collect();
    let pdbs: Vec<Value> = (0..8)
        .map(|d| json!({"name": format!("app-{d}"), "selector": {"matchLabels": {"app": format!("app-{d}")}}, "maxUnavailable": "5%"}))
        .collect();
    snapshot(node_values, pod_values, pdbs, vec![group("g", 0)])
}

#[test]
fn decisions_iterated_at_the_parallelism_limit_reach_the_optimum() {
    let mut snap = ca_shape(200);
    let opts = ScaleDownOptions::default();
    let (mut removed_total, mut decisions) = (0, 0);
    loop {
        let plan = plan_scale_down(&snap, &opts);
        decisions += 1;
        if plan.removals.is_empty() {
            break;
        }
        assert!(plan.removals.len() <= 10);
        for pdb in &snap.pdbs {
            let key = format!("{}/{}", pdb.namespace, pdb.name);
            let used = plan
                .removals
                .iter()
                .flat_map(|r| &r.evictions)
                .filter(|e| e.pdbs.contains(&key))
                .count();
            assert!(
                used as i32 <= disruptions_allowed(pdb, &snap),
                "{key} overdrawn"
            );
        }
        if decisions == 1 {
            verify(&snap, &plan);
        }
        removed_total += plan.removals.len();
        snap = apply_removals(&snap, &plan.removals);
    }
    assert_eq!(removed_total, 120, "after {decisions} decisions");
    assert_eq!(snap.nodes.len(), 80);
}
