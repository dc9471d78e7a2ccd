//! Engine invariants on arbitrary small snapshots: the scale-up planner, the scale-down planner
//! and one step of the loop, each checked against the design's safety rules and run twice.
//!
//! The fuzzer's bytes drive `arbitrary` into a [`Spec`] (a few groups, nodes, pods with
//! requests, selectors, tolerations, affinities and spread constraints, PDBs, in-flight nodes,
//! limits); the spec becomes snapshot JSON that the real loader validates, so only snapshots a
//! user could write are planned. Any broken invariant panics with what broke.
//!
//! This file is compiled twice: by the fuzz crate and, through `#[path]`, by the simulator's
//! integration tests, which replay `fuzz/regressions/engine_invariants/` on stable Rust.

use std::collections::{BTreeMap, BTreeSet};

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{Value, json};
use vpsie_engine::autoscaler::{Action, AutoscalerConfig, LoopState, step};
use vpsie_engine::model::{ClusterSnapshot, NodeGroup, Pod};
use vpsie_engine::scaledown::pdb::disruptions_allowed;
use vpsie_engine::scaledown::{
    ConsolidationPolicy, RemovalKind, ScaleDownOptions, ScaleDownPlan, apply_removals,
    plan_scale_down,
};
use vpsie_engine::scaleup::{
    ClusterLimits, ExpanderKind, GroupBlock, ScaleUpOptions, ScaleUpPlan, candidate_groups,
    plan_scale_up,
};
use vpsie_engine::sched::{ClusterState, NodeTemplate, template_for};

/// Most of each list a spec keeps: small clusters find bugs as well as big ones, faster.
const MAX_GROUPS: usize = 3;
const MAX_NODES: usize = 8;
const MAX_PODS: usize = 24;
const MAX_PDBS: usize = 3;
const MAX_IN_FLIGHT: usize = 3;

/// The VPSie example catalogue: (name, vcpu, ram MiB, hourly price).
const CATALOGUE: [(&str, u32, u64, f64); 6] = [
    ("K8S-1C-2G", 1, 2048, 0.0068),
    ("K8S-2C-4G", 2, 4096, 0.0137),
    ("K8S-4C-8G", 4, 8192, 0.0274),
    ("K8S-8C-16G", 8, 16384, 0.0548),
    ("K8S-4C-16G", 4, 16384, 0.0438),
    ("K8S-16C-32G", 16, 32768, 0.1096),
];
const APPS: [&str; 4] = ["a", "b", "c", "d"];
const ZONES: [&str; 3] = ["z1", "z2", "z3"];

#[derive(Debug, Arbitrary)]
pub struct GroupSpec {
    size: u8,
    min: u8,
    max: u8,
    zone: Option<u8>,
    ssd: bool,
    tainted: bool,
    priority: u8,
    threshold: Option<u8>,
}

#[derive(Debug, Arbitrary)]
pub struct NodeSpec {
    /// An index into the groups; past their end the node is unmanaged.
    group: u8,
    zone: u8,
    not_ready: bool,
    cordoned: bool,
    ssd: bool,
    /// Allocatable of an unmanaged node, in half cores and GiB.
    cpu: u8,
    mem: u8,
}

#[derive(Debug, Arbitrary)]
pub struct PodSpec {
    /// Bound to this node index (modulo the node count), or pending.
    node: Option<u8>,
    /// Requests in 100m and 128 MiB steps.
    cpu: u8,
    mem: u8,
    app: u8,
    constraint: u8,
    owner: u8,
    high_priority: bool,
    tolerates: bool,
}

#[derive(Debug, Arbitrary)]
pub struct PdbSpec {
    app: u8,
    kind: u8,
    n: u8,
}

#[derive(Debug, Arbitrary)]
pub struct Spec {
    groups: Vec<GroupSpec>,
    nodes: Vec<NodeSpec>,
    pods: Vec<PodSpec>,
    pdbs: Vec<PdbSpec>,
    in_flight: Vec<u8>,
    zones: u8,
    unused_sizes: bool,
    max_nodes: Option<u8>,
    max_cores: Option<u8>,
    blocked_group: Option<u8>,
    expander: u8,
    down_max_nodes: u8,
    down_bulk: u8,
    consolidate: bool,
    k: u8,
    loop_scale_down: bool,
}

fn group_name(i: usize) -> String {
    format!("g{i}")
}

impl Spec {
    /// The snapshot document this spec describes (it may still be invalid, e.g. min > max).
    pub fn snapshot_json(&self) -> Value {
        let groups = &self.groups[..self.groups.len().min(MAX_GROUPS)];
        let nodes = &self.nodes[..self.nodes.len().min(MAX_NODES)];
        let pods = &self.pods[..self.pods.len().min(MAX_PODS)];
        let pdbs = &self.pdbs[..self.pdbs.len().min(MAX_PDBS)];
        let zone_count = usize::from(self.zones % 4);
        let zones: Vec<&str> = ZONES[..zone_count].to_vec();
        let mut used_sizes = BTreeSet::new();
        let group_values: Vec<Value> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let size = CATALOGUE[usize::from(g.size) % CATALOGUE.len()];
                used_sizes.insert(size.0);
                let mut v = json!({
                    "name": group_name(i),
                    "size": size.0,
                    "min": g.min % 3,
                    "max": g.max % 7,
                    "priority": i32::from(g.priority % 4),
                });
                if let Some(z) = g.zone
                    && zone_count > 0
                {
                    v["zone"] = json!(zones[usize::from(z) % zone_count]);
                }
                if g.ssd {
                    v["labels"] = json!({"disk": "ssd"});
                }
                if g.tainted {
                    v["taints"] =
                        json!([{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]);
                }
                if let Some(t) = g.threshold {
                    v["scaleDownUtilizationThreshold"] = json!(f64::from(t % 10) / 10.0);
                }
                v
            })
            .collect();
        let sizes: Vec<Value> = CATALOGUE
            .iter()
            .enumerate()
            .filter(|(_, s)| self.unused_sizes || used_sizes.contains(s.0))
            .map(|(i, (name, vcpu, ram, price))| {
                json!({"id": i + 1, "name": name, "vcpu": vcpu, "ramMb": ram,
                       "diskGb": 80, "hourlyPrice": price})
            })
            .collect();
        let node_values: Vec<Value> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut v = json!({
                    "name": format!("node-{i}"),
                    "ready": !n.not_ready,
                    "unschedulable": n.cordoned,
                });
                let group = usize::from(n.group);
                if let Some(g) = groups.get(group) {
                    let size = CATALOGUE[usize::from(g.size) % CATALOGUE.len()];
                    v["nodeGroup"] = json!(group_name(group));
                    v["allocatable"] =
                        json!({"cpu": size.1, "memory": format!("{}Mi", size.2), "pods": 110});
                    if g.tainted {
                        v["taints"] =
                            json!([{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]);
                    }
                    if g.ssd || n.ssd {
                        v["labels"] = json!({"disk": "ssd"});
                    }
                } else {
                    v["allocatable"] = json!({
                        "cpu": format!("{}m", 500 * (1 + u64::from(n.cpu % 16))),
                        "memory": format!("{}Gi", 1 + n.mem % 16),
                        "pods": 110,
                    });
                    if n.ssd {
                        v["labels"] = json!({"disk": "ssd"});
                    }
                }
                if zone_count > 0 {
                    let zone = groups
                        .get(group)
                        .and_then(|g| g.zone)
                        .map_or(usize::from(n.zone), usize::from);
                    v["zone"] = json!(zones[zone % zone_count]);
                }
                v
            })
            .collect();
        let pod_values: Vec<Value> = pods
            .iter()
            .enumerate()
            .map(|(i, p)| pod_json(i, p, nodes.len()))
            .collect();
        let pdb_values: Vec<Value> = pdbs
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let selector = json!({"matchLabels": {"app": APPS[usize::from(p.app) % APPS.len()]}});
                let n = i32::from(p.n % 4);
                match p.kind % 4 {
                    0 => json!({"name": format!("pdb-{i}"), "selector": selector, "maxUnavailable": n}),
                    1 => json!({"name": format!("pdb-{i}"), "selector": selector, "minAvailable": n}),
                    2 => json!({"name": format!("pdb-{i}"), "selector": selector,
                                "maxUnavailable": format!("{}%", n * 25)}),
                    _ => json!({"name": format!("pdb-{i}"), "selector": selector,
                                "minAvailable": 1, "disruptionsAllowed": n}),
                }
            })
            .collect();
        let in_flight: Vec<Value> = self
            .in_flight
            .iter()
            .take(MAX_IN_FLIGHT)
            .enumerate()
            .filter(|(_, g)| usize::from(**g) < groups.len())
            .map(|(i, g)| {
                json!({"name": format!("pending-{i}"), "nodeGroup": group_name(usize::from(*g)),
                       "requestedAtMs": 0})
            })
            .collect();
        json!({
            "version": 1,
            "nowMs": 600_000,
            "zones": zones,
            "sizes": sizes,
            "nodeGroups": group_values,
            "nodes": node_values,
            "pods": pod_values,
            "pdbs": pdb_values,
            "inFlight": in_flight,
        })
    }

    fn scale_up_options(&self, s: &ClusterSnapshot) -> ScaleUpOptions {
        let mut blocked_groups = BTreeMap::new();
        if let Some(b) = self.blocked_group
            && let Some(g) = s
                .node_groups
                .get(usize::from(b) % s.node_groups.len().max(1))
        {
            blocked_groups.insert(g.name.clone(), GroupBlock::Backoff { until_ms: 900_000 });
        }
        ScaleUpOptions {
            expander: ExpanderKind::ALL[usize::from(self.expander) % ExpanderKind::ALL.len()],
            seed: u64::from(self.expander),
            work_budget: 200_000,
            limits: ClusterLimits {
                max_nodes: self.max_nodes.map(|n| u32::from(n % 16)),
                max_cores: self.max_cores.map(|c| u64::from(c % 64)),
                max_memory_bytes: None,
            },
            blocked_groups,
            ignored_pods: BTreeSet::new(),
            record_placement_order: true,
        }
    }

    fn scale_down_options(&self) -> ScaleDownOptions {
        ScaleDownOptions {
            max_nodes: 1 + u32::from(self.down_max_nodes % 8),
            max_empty_bulk: u32::from(self.down_bulk % 4),
            consolidation: ConsolidationPolicy {
                enabled: self.consolidate,
                k: f64::from(1 + self.k % 4),
                max_replace_nodes: 4,
            },
            ..ScaleDownOptions::default()
        }
    }

    /// A loop configuration that lets one step both scale up and start removals.
    fn loop_config(&self) -> Option<AutoscalerConfig> {
        let mut limits = serde_json::Map::new();
        if let Some(n) = self.max_nodes {
            limits.insert("maxNodesTotal".into(), json!(n % 16));
        }
        if let Some(c) = self.max_cores {
            limits.insert("maxTotalCores".into(), json!(c % 64));
        }
        let text = json!({
            "scaleUp": {"expander": ExpanderKind::ALL[usize::from(self.expander) % ExpanderKind::ALL.len()].to_string(),
                        "workBudget": 200_000},
            "scaleDown": {"enabled": self.loop_scale_down, "unneededTime": "0s", "delayAfterAdd": "0s",
                          "newNodeGracePeriod": "0s", "maxParallelism": 1 + self.down_max_nodes % 8,
                          "maxEmptyBulkDelete": self.down_bulk % 4, "maxDrainParallelism": 3},
            "consolidation": {"enabled": self.consolidate},
            "limits": limits,
            "health": {"maxUnreadyPercentage": 100.0, "maxUnreadyNodes": 100},
        })
        .to_string();
        AutoscalerConfig::from_text(&text, "fuzz-config.json").ok()
    }
}

fn pod_json(i: usize, p: &PodSpec, node_count: usize) -> Value {
    let app = APPS[usize::from(p.app) % APPS.len()];
    let mut v = json!({
        "name": format!("pod-{i}"),
        "labels": {"app": app},
        "owner": {"kind": "ReplicaSet", "name": app},
        "priority": if p.high_priority { 1000 } else { 0 },
        "containers": [{"requests": {
            "cpu": format!("{}m", 100 * (1 + u64::from(p.cpu % 48))),
            "memory": format!("{}Mi", 128 * (1 + u64::from(p.mem % 64))),
        }}],
    });
    if let Some(n) = p.node
        && node_count > 0
    {
        v["nodeName"] = json!(format!("node-{}", usize::from(n) % node_count));
    }
    match p.owner % 6 {
        0 => v["owner"] = json!({"kind": "DaemonSet", "name": "agent"}),
        1 => {
            if let Some(o) = v.as_object_mut() {
                o.remove("owner");
            }
        }
        2 => v["owner"] = json!({"kind": "Job", "name": app}),
        _ => {}
    }
    if p.tolerates {
        v["tolerations"] = json!([{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}]);
    }
    let by_app = json!({"matchLabels": {"app": app}});
    match p.constraint % 10 {
        0 => {
            v["affinity"] = json!({"podAntiAffinity": [{"labelSelector": by_app,
                "topologyKey": "kubernetes.io/hostname"}]})
        }
        1 => {
            v["topologySpreadConstraints"] = json!([{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule", "labelSelector": by_app}])
        }
        2 => v["nodeSelector"] = json!({"disk": "ssd"}),
        3 => {
            v["affinity"] = json!({"podAffinity": [{"labelSelector": {"matchLabels": {"app": "a"}},
                "topologyKey": "topology.kubernetes.io/zone"}]})
        }
        4 => {
            v["containers"] = json!([{"requests": {"cpu": "100m"}, "ports": [{"hostPort": 9100}]}]);
        }
        5 => {
            v["affinity"] = json!({"nodeAffinity": [{"matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["z1", "z2"]}]}]})
        }
        6 => {
            v["topologySpreadConstraints"] = json!([{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "DoNotSchedule", "labelSelector": by_app}])
        }
        _ => {}
    }
    v
}

/// Runs the target on fuzzer bytes: builds a snapshot, plans, checks every invariant.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(spec) = Spec::arbitrary(&mut u) else {
        return;
    };
    let text = spec.snapshot_json().to_string();
    // Only what the loader accepts is planned: the planners trust validated snapshots.
    let Ok(snapshot) = ClusterSnapshot::from_text(&text, "fuzz.json") else {
        return;
    };
    check_scale_up(&spec, &snapshot);
    check_scale_down(&spec, &snapshot);
    check_loop_step(&spec, &snapshot);
}

/// Nodes and cores the cluster has or has asked for (the limits' starting point).
fn cluster_totals(s: &ClusterSnapshot) -> (u64, u64) {
    let size_of_group = |g: &str| {
        let g = s.node_groups.iter().find(|x| x.name == g)?;
        s.sizes.iter().find(|x| x.name == g.size)
    };
    let mut nodes = 0u64;
    let mut cores = 0u64;
    for n in &s.nodes {
        nodes += 1;
        cores += match n.node_group.as_deref().and_then(size_of_group) {
            Some(size) => u64::from(size.vcpu),
            None => u64::try_from(n.allocatable.cpu_milli)
                .unwrap_or(0)
                .div_ceil(1000),
        };
    }
    for f in &s.in_flight {
        nodes += 1;
        cores += size_of_group(&f.node_group).map_or(0, |x| u64::from(x.vcpu));
    }
    (nodes, cores)
}

fn group_count(s: &ClusterSnapshot, group: &str) -> u64 {
    let nodes = s
        .nodes
        .iter()
        .filter(|n| n.node_group.as_deref() == Some(group))
        .count();
    let in_flight = s.in_flight.iter().filter(|f| f.node_group == group).count();
    (nodes + in_flight) as u64
}

/// Binds every pod the plan puts on a new node onto a fresh node of its template, with the
/// scheduler's own check: any overcommit or broken constraint is an error.
///
/// Pods are bound in the order the planner placed them (`placement_order`), a node coming up
/// with the first pod placed on it: spreads and self-affine groups are checked against the
/// pods placed so far, so replaying in another order (by name, or every node up at once) can
/// fail where the planner's own sequence holds. Pods the plan fits on existing or in-flight
/// nodes are bound there in the same sequence; a pod that does not fit yet is retried after
/// each bind.
pub fn recheck_planned_nodes(s: &ClusterSnapshot, plan: &ScaleUpPlan) -> Result<(), String> {
    let mut state = ClusterState::from_snapshot(s);
    let pods: BTreeMap<String, &Pod> = s.pods.iter().map(|p| (p.key(), p)).collect();
    let candidates = candidate_groups(s);
    // Where the plan lists each pod: (template, node name).
    let mut listed: BTreeMap<&str, (&NodeTemplate, String)> = BTreeMap::new();
    for inc in &plan.increases {
        let template = &candidates
            .iter()
            .find(|c| c.group.name == inc.group)
            .ok_or(format!("unknown group {}", inc.group))?
            .template;
        if inc.nodes.len() != inc.count as usize {
            return Err(format!(
                "{} lists {} nodes for a count of {}",
                inc.group,
                inc.nodes.len(),
                inc.count
            ));
        }
        for (k, node) in inc.nodes.iter().enumerate() {
            if node.is_empty() {
                return Err(format!("{} node {k} is empty", inc.group));
            }
            for key in node {
                let name = format!("{}-check-{k}", inc.group);
                if listed.insert(key.as_str(), (template, name)).is_some() {
                    return Err(format!("{key} is listed twice"));
                }
            }
        }
    }
    if plan.placement_order.is_empty() && !listed.is_empty() {
        return Err(
            "the plan has no placement order (plan with `record_placement_order`)".to_string(),
        );
    }
    let mut on_new: Vec<&str> = plan
        .placement_order
        .iter()
        .map(|(pod, _)| pod.as_str())
        .filter(|pod| listed.contains_key(pod))
        .collect();
    on_new.sort_unstable();
    if on_new.iter().copied().ne(listed.keys().copied()) {
        return Err("the placement order and the listed pods differ".to_string());
    }
    let mut nodes: BTreeMap<String, usize> = BTreeMap::new();
    let mut todo: Vec<(usize, &Pod)> = Vec::new();
    for (key, placed_on) in &plan.placement_order {
        let node = match listed.get(key.as_str()) {
            Some((template, name)) => match nodes.get(name) {
                Some(&n) => n,
                None => {
                    let n = state.add_node_from_template(template, name.clone());
                    nodes.insert(name.clone(), n);
                    n
                }
            },
            // A pod the plan fits on an existing or in-flight node.
            None => state
                .find_node(placed_on)
                .ok_or(format!("{key} placed on unknown node {placed_on}"))?,
        };
        let pod = *pods.get(key).ok_or(format!("unknown pod {key}"))?;
        todo.push((node, pod));
        todo = bind_what_fits(&mut state, todo);
    }
    match todo.first() {
        None => Ok(()),
        Some(&(n, p)) => Err(format!(
            "{} does not fit planned node {}: {:?}",
            p.key(),
            state.node_name(n),
            state.check(p, n)
        )),
    }
}

/// Binds each pod that fits its node, again while that makes progress; returns the rest.
fn bind_what_fits<'p>(
    state: &mut ClusterState,
    mut todo: Vec<(usize, &'p Pod)>,
) -> Vec<(usize, &'p Pod)> {
    loop {
        let before = todo.len();
        let mut rest = Vec::new();
        for (n, p) in todo {
            if state.check(p, n).is_ok() {
                state.bind(p, n);
            } else {
                rest.push((n, p));
            }
        }
        if rest.is_empty() || rest.len() == before {
            return rest;
        }
        todo = rest;
    }
}

fn reversed(s: &ClusterSnapshot) -> ClusterSnapshot {
    let mut t = s.clone();
    t.nodes.reverse();
    t.pods.reverse();
    t.node_groups.reverse();
    t.sizes.reverse();
    t.pdbs.reverse();
    t.in_flight.reverse();
    t
}

fn check_scale_up(spec: &Spec, s: &ClusterSnapshot) {
    let opts = spec.scale_up_options(s);
    let plan = plan_scale_up(s, &opts);
    let text = plan.render_text();
    if let Err(e) = recheck_planned_nodes(s, &plan) {
        panic!("scale-up overcommits or breaks a constraint: {e}\n{text}");
    }
    // DaemonSet and mirror pods are never helped by new nodes: the planner leaves them out.
    let pending = s
        .pods
        .iter()
        .filter(|p| p.node_name.is_none() && !p.is_daemonset_pod() && !p.is_mirror())
        .count();
    let on_new: usize = plan
        .increases
        .iter()
        .flat_map(|i| i.nodes.iter())
        .map(Vec::len)
        .sum();
    assert_eq!(
        on_new + plan.fit_existing.len() + plan.unschedulable.len(),
        pending,
        "every pending pod is placed, fits existing capacity or is explained exactly once\n{text}"
    );
    for inc in &plan.increases {
        assert!(
            !opts.blocked_groups.contains_key(&inc.group),
            "blocked group {} grew\n{text}",
            inc.group
        );
        if let Some(g) = s.node_groups.iter().find(|g| g.name == inc.group) {
            assert!(
                group_count(s, &g.name) + u64::from(inc.count) <= u64::from(g.max),
                "group {} grows past its max {}\n{text}",
                g.name,
                g.max
            );
        }
    }
    let (nodes, cores) = cluster_totals(s);
    let added_cores: u64 = plan
        .increases
        .iter()
        .map(|i| {
            let vcpu = s
                .sizes
                .iter()
                .find(|x| x.name == i.size)
                .map_or(0, |x| u64::from(x.vcpu));
            vcpu * u64::from(i.count)
        })
        .sum();
    if let Some(max) = opts.limits.max_nodes {
        assert!(
            plan.node_count() == 0 || nodes + u64::from(plan.node_count()) <= u64::from(max),
            "cluster node limit {max} exceeded\n{text}"
        );
    }
    if let Some(max) = opts.limits.max_cores {
        assert!(
            added_cores == 0 || cores + added_cores <= max,
            "cluster core limit {max} exceeded\n{text}"
        );
    }
    let again = plan_scale_up(s, &opts);
    assert_eq!(again, plan, "scale-up is not deterministic");
    let other_order = plan_scale_up(&reversed(s), &opts);
    assert_eq!(
        other_order.render_text(),
        text,
        "scale-up depends on the order of the snapshot's lists"
    );
}

fn check_scale_down(spec: &Spec, s: &ClusterSnapshot) {
    let opts = spec.scale_down_options();
    let plan = plan_scale_down(s, &opts);
    if let Err(e) = verify_scale_down(s, &plan) {
        panic!("unsafe scale-down: {e}\n{}", plan.render_text());
    }
    let removed = plan.removals.len()
        + plan
            .replacements
            .iter()
            .map(|r| r.remove.len())
            .sum::<usize>();
    assert!(
        removed <= opts.max_nodes as usize,
        "{removed} removals over the limit {}",
        opts.max_nodes
    );
    let empty = plan
        .removals
        .iter()
        .filter(|r| r.kind == RemovalKind::Empty)
        .count();
    assert!(empty <= opts.max_empty_bulk as usize);
    for b in &plan.pdb_budgets {
        assert!(b.consumed <= b.allowed, "PDB budget overdrawn: {b:?}");
    }
    // Carrying the removals out loses no pod.
    let after = apply_removals(s, &plan.removals);
    let bound = |snap: &ClusterSnapshot| {
        snap.pods
            .iter()
            .filter(|p| p.node_name.is_some() && !p.is_daemonset_pod() && !p.is_mirror())
            .count()
    };
    assert_eq!(bound(s), bound(&after), "applying the removals lost pods");
    let again = plan_scale_down(s, &opts);
    assert_eq!(again, plan, "scale-down is not deterministic");
    let other_order = plan_scale_down(&reversed(s), &opts);
    assert_eq!(
        other_order.render_text(),
        plan.render_text(),
        "scale-down depends on the order of the snapshot's lists"
    );
}

/// Independent check of a scale-down plan: every prefix of the removals re-places its evicted
/// pods at their destinations (nodes that stay) with the scheduler's check, within every PDB's
/// budget; no group goes below its min; replacements fit on their new nodes.
pub fn verify_scale_down(s: &ClusterSnapshot, plan: &ScaleDownPlan) -> Result<(), String> {
    let pods: BTreeMap<String, &Pod> = s.pods.iter().map(|p| (p.key(), p)).collect();
    let mut all_removed: BTreeSet<&str> = BTreeSet::new();
    let mut removal_count = 0usize;
    for name in plan.removals.iter().map(|r| r.node.as_str()).chain(
        plan.replacements
            .iter()
            .flat_map(|r| r.remove.iter().map(String::as_str)),
    ) {
        all_removed.insert(name);
        removal_count += 1;
    }
    if all_removed.len() != removal_count {
        return Err("a node is removed twice".into());
    }
    for r in &plan.removals {
        for e in &r.evictions {
            if all_removed.contains(e.destination.as_str()) {
                return Err(format!(
                    "{} goes to {}, which is removed",
                    e.pod, e.destination
                ));
            }
        }
    }
    let kept: BTreeSet<&str> = plan.kept.iter().map(|k| k.node.as_str()).collect();
    if kept.len() != plan.kept.len() {
        return Err("a node is kept twice".into());
    }
    for n in &s.nodes {
        if kept.contains(n.name.as_str()) == all_removed.contains(n.name.as_str()) {
            return Err(format!("node {} is not accounted for exactly once", n.name));
        }
    }
    for k in 0..=plan.removals.len() {
        let prefix = &plan.removals[..k];
        let gone: BTreeSet<&str> = prefix.iter().map(|r| r.node.as_str()).collect();
        let mut after = s.clone();
        after.nodes.retain(|n| !gone.contains(n.name.as_str()));
        after
            .pods
            .retain(|p| !p.node_name.as_deref().is_some_and(|n| gone.contains(n)));
        let mut state = ClusterState::existing_only(&after);
        for r in prefix {
            for e in &r.evictions {
                let pod = *pods.get(&e.pod).ok_or(format!("unknown pod {}", e.pod))?;
                if pod.node_name.as_deref() != Some(r.node.as_str()) {
                    return Err(format!("{} is not on {}", e.pod, r.node));
                }
                let dest = state
                    .find_node(&e.destination)
                    .ok_or(format!("destination {} does not exist", e.destination))?;
                state.check(pod, dest).map_err(|u| {
                    format!(
                        "prefix {k}: {} does not fit on {}: {u}",
                        e.pod, e.destination
                    )
                })?;
                state.bind(pod, dest);
            }
        }
        for pdb in &s.pdbs {
            let used = prefix
                .iter()
                .flat_map(|r| r.evictions.iter())
                .filter(|e| {
                    pods.get(&e.pod).is_some_and(|p| {
                        p.namespace == pdb.namespace && pdb.selector.matches(&p.labels)
                    })
                })
                .count();
            let allowed = disruptions_allowed(pdb, s);
            if i64::try_from(used).unwrap_or(i64::MAX) > i64::from(allowed) {
                return Err(format!(
                    "prefix {k} evicts {used} pods of PDB {}/{} which allows {allowed}",
                    pdb.namespace, pdb.name
                ));
            }
        }
    }
    for g in &s.node_groups {
        let size = s
            .nodes
            .iter()
            .filter(|n| n.node_group.as_deref() == Some(&g.name))
            .count() as i64;
        let gone = s
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
        if size - gone + added < i64::from(g.min).min(size) {
            return Err(format!("group {} goes below its min {}", g.name, g.min));
        }
    }
    if !plan.replacements.is_empty() {
        let mut after = apply_removals(s, &plan.removals);
        for r in &plan.replacements {
            let gone: BTreeSet<&str> = r.remove.iter().map(String::as_str).collect();
            after.nodes.retain(|n| !gone.contains(n.name.as_str()));
            after
                .pods
                .retain(|p| !p.node_name.as_deref().is_some_and(|n| gone.contains(n)));
        }
        let mut state = ClusterState::existing_only(&after);
        let candidates = candidate_groups(s);
        for r in &plan.replacements {
            for a in &r.add {
                let template = match candidates.iter().find(|c| c.group.name == a.group) {
                    Some(c) => c.template.clone(),
                    None => {
                        // A replacement may name a new group of a size already in use.
                        let size = s
                            .sizes
                            .iter()
                            .find(|x| x.name == a.size)
                            .ok_or(format!("unknown size {}", a.size))?;
                        let group = NodeGroup {
                            name: a.group.clone(),
                            size: a.size.clone(),
                            min: 0,
                            max: u32::MAX,
                            labels: BTreeMap::new(),
                            taints: Vec::new(),
                            zone: None,
                            datacenter: None,
                            priority: 0,
                            system_reserved: None,
                            scale_down_utilization_threshold: None,
                            shared_max: None,
                        };
                        template_for(s, &group, size)
                    }
                };
                for i in 1..=a.count {
                    state.add_node_from_template(&template, format!("new:{}#{i}", a.group));
                }
            }
            for e in &r.evictions {
                let pod = *pods.get(&e.pod).ok_or(format!("unknown pod {}", e.pod))?;
                let dest = state
                    .find_node(&e.destination)
                    .ok_or(format!("replacement destination {} missing", e.destination))?;
                state
                    .check(pod, dest)
                    .map_err(|u| format!("replacement: {} on {}: {u}", e.pod, e.destination))?;
                state.bind(pod, dest);
            }
        }
    }
    Ok(())
}

fn check_loop_step(spec: &Spec, snapshot: &ClusterSnapshot) {
    let Some(config) = spec.loop_config() else {
        return;
    };
    // The loop replaces the snapshot's in-flight list with its own records (a fresh state has
    // none), so its bounds are checked against the snapshot without that list.
    let mut loop_view = snapshot.clone();
    loop_view.in_flight.clear();
    let s = &loop_view;
    let now = s.now_ms;
    let (state, output) = step(LoopState::new(), s, &[], now, &config);
    let (state_again, output_again) = step(LoopState::new(), s, &[], now, &config);
    assert_eq!(output, output_again, "the loop step is not deterministic");
    assert_eq!(state, state_again, "the loop state is not deterministic");
    let text = output.decision.render_text();

    let mut adds: BTreeMap<&str, u64> = BTreeMap::new();
    let mut removed: BTreeSet<&str> = BTreeSet::new();
    let mut evictions = Vec::new();
    for a in &output.actions {
        match a {
            Action::AddWorker { group, .. } => *adds.entry(group.as_str()).or_default() += 1,
            Action::Drain { node, evictions: e } => {
                removed.insert(node.as_str());
                evictions.extend(e.iter().map(|e| (node.as_str(), e)));
            }
            Action::DeleteNode { node } => {
                removed.insert(node.as_str());
            }
            _ => {}
        }
    }
    for (group, n) in &adds {
        if let Some(g) = s.node_groups.iter().find(|g| g.name == *group) {
            assert!(
                group_count(s, group) + n <= u64::from(g.max),
                "the loop grows {group} past its max {}\n{text}",
                g.max
            );
        }
    }
    let total_adds: u64 = adds.values().sum();
    let (nodes, cores) = cluster_totals(s);
    if let Some(max) = config.limits.max_nodes_total {
        assert!(
            total_adds == 0 || nodes + total_adds <= u64::from(max),
            "the loop exceeds the node limit {max}\n{text}"
        );
    }
    if let Some(max) = config.limits.max_total_cores {
        let added_cores: u64 = adds
            .iter()
            .map(|(group, n)| {
                let vcpu = s
                    .node_groups
                    .iter()
                    .find(|g| g.name == *group)
                    .map(|g| g.size.clone())
                    .or_else(|| {
                        output.actions.iter().find_map(|a| match a {
                            Action::CreateGroup { group: g, size_id } if g == group => s
                                .sizes
                                .iter()
                                .find(|z| z.id == *size_id)
                                .map(|z| z.name.clone()),
                            _ => None,
                        })
                    })
                    .and_then(|size| s.sizes.iter().find(|z| z.name == size))
                    .map_or(0, |z| u64::from(z.vcpu));
                vcpu * n
            })
            .sum();
        assert!(
            added_cores == 0 || cores + added_cores <= max,
            "the loop exceeds the core limit {max}\n{text}"
        );
    }
    let pods: BTreeMap<String, &Pod> = s.pods.iter().map(|p| (p.key(), p)).collect();
    for (node, e) in &evictions {
        assert!(
            !removed.contains(e.destination.as_str()),
            "{} from {node} is sent to {}, which is removed too\n{text}",
            e.pod,
            e.destination
        );
    }
    for pdb in &s.pdbs {
        let used = evictions
            .iter()
            .filter(|(_, e)| {
                pods.get(&e.pod).is_some_and(|p| {
                    p.namespace == pdb.namespace && pdb.selector.matches(&p.labels)
                })
            })
            .count();
        let allowed = disruptions_allowed(pdb, s);
        assert!(
            i64::try_from(used).unwrap_or(i64::MAX) <= i64::from(allowed),
            "the loop evicts {used} pods of PDB {} which allows {allowed}\n{text}",
            pdb.name
        );
    }
    for g in &s.node_groups {
        let size = s
            .nodes
            .iter()
            .filter(|n| n.node_group.as_deref() == Some(&g.name))
            .count();
        let gone = s
            .nodes
            .iter()
            .filter(|n| {
                n.node_group.as_deref() == Some(&g.name) && removed.contains(n.name.as_str())
            })
            .count();
        assert!(
            size - gone >= (g.min as usize).min(size),
            "the loop takes {} below its min {}\n{text}",
            g.name,
            g.min
        );
    }
}
