//! Properties of the loop over random decision sequences: a small fake world (VPSie cloud with
//! faults, kubelets, a naive binder, drains) driven by the loop, with invariants checked at
//! every step. Also determinism and state serialization round trips.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use vpsie_engine::autoscaler::{
    Action, AutoscalerConfig, CloudErrorKind, DurationMs, ListedWorker, LoopState, NodePhase,
    Observation, Purpose, step,
};
use vpsie_engine::model::{ClusterSnapshot, Node, Pod};

use super::fixtures::{MIN, pod};

const STEP_MS: i64 = 30_000;

#[derive(Debug, Clone)]
struct Worker {
    group: String,
    hostname: String,
    /// Appears in the VPSie list at this time.
    appear_at: i64,
    running_at: i64,
    registered_at: i64,
    ready_at: i64,
    gone_at: Option<i64>,
    reported: bool,
    reported_running: bool,
}

/// The fake world: cloud, nodes, pods. Faults come from its own seeded generator.
struct World {
    rng: ChaCha8Rng,
    now: i64,
    workers: BTreeMap<String, Worker>,
    next_worker: u64,
    labelled: BTreeMap<String, String>,
    cordoned: BTreeSet<String>,
    deleted_nodes: BTreeSet<String>,
    pods: Vec<Pod>,
    next_pod: u64,
    pending_obs: Vec<Observation>,
    drains: Vec<String>,
    groups: Vec<(String, String, u32, u32)>,
    fault_rate: f64,
}

impl World {
    fn new(seed: u64, fault_rate: f64) -> Self {
        let mut w = World {
            rng: ChaCha8Rng::seed_from_u64(seed),
            now: 0,
            workers: BTreeMap::new(),
            next_worker: 0,
            labelled: BTreeMap::new(),
            cordoned: BTreeSet::new(),
            deleted_nodes: BTreeSet::new(),
            pods: Vec::new(),
            next_pod: 0,
            pending_obs: Vec::new(),
            drains: Vec::new(),
            groups: vec![
                ("small".into(), "K8S-4C-8G".into(), 1, 6),
                ("big".into(), "K8S-8C-16G".into(), 0, 4),
            ],
            fault_rate,
        };
        for g in ["small", "small"] {
            let id = w.spawn(g, -10 * MIN);
            let host = w.workers[&id].hostname.clone();
            w.labelled.insert(host, g.to_string());
        }
        w
    }

    fn spawn(&mut self, group: &str, at: i64) -> String {
        self.next_worker += 1;
        let id = format!("wid-{:04}", self.next_worker);
        let boot = self.rng.random_range(60_000..180_000);
        self.workers.insert(
            id.clone(),
            Worker {
                group: group.to_string(),
                hostname: format!("host-{:04}", self.next_worker),
                appear_at: at,
                running_at: at + boot,
                registered_at: at + boot + 30_000,
                ready_at: at + boot + 60_000,
                gone_at: None,
                reported: at < 0,
                reported_running: at < 0,
            },
        );
        id
    }

    fn listed(&self) -> Vec<ListedWorker> {
        self.workers
            .iter()
            .filter(|(_, w)| w.appear_at <= self.now && w.gone_at.is_none_or(|g| g > self.now))
            .map(|(id, w)| ListedWorker {
                group: w.group.clone(),
                identifier: id.clone(),
                hostname: w.hostname.clone(),
                status: "running".into(),
                created_at_ms: Some(w.appear_at),
            })
            .collect()
    }

    fn node_list(&self) -> Vec<Node> {
        let mut nodes = Vec::new();
        for w in self.workers.values() {
            if w.registered_at > self.now
                || w.gone_at.is_some_and(|g| g <= self.now)
                || self.deleted_nodes.contains(&w.hostname)
            {
                continue;
            }
            let (cpu, mem) = if w.group == "big" {
                ("8", "16Gi")
            } else {
                ("4", "8Gi")
            };
            let mut v = json!({
                "name": w.hostname,
                "allocatable": {"cpu": cpu, "memory": mem, "pods": "110"},
                "ready": w.ready_at <= self.now,
                "unschedulable": self.cordoned.contains(&w.hostname),
            });
            if let Some(g) = self.labelled.get(&w.hostname) {
                v["nodeGroup"] = json!(g);
            }
            nodes.push(serde_json::from_value(v).unwrap());
        }
        nodes
    }

    fn snapshot(&self) -> ClusterSnapshot {
        let groups: Vec<_> = self
            .groups
            .iter()
            .map(|(n, s, min, max)| json!({"name": n, "size": s, "min": min, "max": max}))
            .collect();
        let mut s: ClusterSnapshot = serde_json::from_value(json!({
            "version": 1,
            "nowMs": self.now,
            "nodeGroups": groups,
            "sizes": [
                {"id": 3, "name": "K8S-4C-8G", "vcpu": 4, "ramMb": 8192, "diskGb": 160, "hourlyPrice": 0.0274},
                {"id": 4, "name": "K8S-8C-16G", "vcpu": 8, "ramMb": 16384, "diskGb": 160, "hourlyPrice": 0.0548}
            ]
        }))
        .unwrap();
        s.nodes = self.node_list();
        s.pods = self.pods.clone();
        s
    }

    /// Binds pending pods first-fit onto ready, schedulable nodes; unbinds pods of vanished nodes.
    fn bind(&mut self) {
        let nodes = self.node_list();
        let alive: BTreeSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        for p in &mut self.pods {
            if p.node_name.as_deref().is_some_and(|n| !alive.contains(n)) {
                p.node_name = None;
            }
        }
        let mut used: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for p in &self.pods {
            if let Some(n) = &p.node_name {
                let r = p.effective_requests();
                let e = used.entry(n.clone()).or_default();
                e.0 += r.cpu_milli;
                e.1 += r.memory;
            }
        }
        for p in self.pods.iter_mut().filter(|p| p.node_name.is_none()) {
            let r = p.effective_requests();
            for n in nodes.iter().filter(|n| n.schedulable()) {
                let e = used.entry(n.name.clone()).or_default();
                if e.0 + r.cpu_milli <= n.allocatable.cpu_milli
                    && e.1 + r.memory <= n.allocatable.memory
                {
                    e.0 += r.cpu_milli;
                    e.1 += r.memory;
                    p.node_name = Some(n.name.clone());
                    break;
                }
            }
        }
    }

    fn workload(&mut self, quiet: bool) {
        // Pods finish...
        let keep = if quiet { 0.0 } else { 0.97 };
        let rng = &mut self.rng;
        self.pods.retain(|_| rng.random_bool(keep));
        // ...and arrive in bursts.
        if !quiet && self.rng.random_bool(0.3) {
            for _ in 0..self.rng.random_range(1..8) {
                self.next_pod += 1;
                let cpu = self.rng.random_range(100..3500);
                let mem = self.rng.random_range(64..6000);
                let mut p = pod(&format!("p{:05}", self.next_pod), cpu, mem, None);
                p.created_at_ms = Some(self.now);
                self.pods.push(p);
            }
        }
    }

    /// Carries out the loop's actions; results come back as observations next step.
    fn act(&mut self, actions: &[Action]) {
        for a in actions {
            match a {
                Action::CreateGroup { group, .. } => {
                    self.pending_obs.push(Observation::GroupCreated {
                        group: group.clone(),
                        vpsie_group_id: 7,
                    })
                }
                Action::AddWorker { group, request } => {
                    let roll: f64 = self.rng.random_range(0.0..1.0);
                    let f = self.fault_rate;
                    if roll < f {
                        self.pending_obs.push(Observation::AddWorkerFailed {
                            request: request.clone(),
                            error: CloudErrorKind::Server,
                            message: "500".into(),
                        });
                    } else if roll < 2.0 * f {
                        // Accepted, then lost: never materialises.
                        self.pending_obs.push(Observation::AddWorkerAccepted {
                            request: request.clone(),
                        });
                    } else if roll < 3.0 * f {
                        // Accepted, materialises after the provision timeout.
                        self.pending_obs.push(Observation::AddWorkerAccepted {
                            request: request.clone(),
                        });
                        self.spawn(group, self.now + 20 * MIN);
                    } else if roll < 4.0 * f {
                        // Network error, but the add happened.
                        self.pending_obs.push(Observation::AddWorkerFailed {
                            request: request.clone(),
                            error: CloudErrorKind::Network,
                            message: "timeout".into(),
                        });
                        self.spawn(group, self.now + 60_000);
                    } else {
                        self.pending_obs.push(Observation::AddWorkerAccepted {
                            request: request.clone(),
                        });
                        let at = self.now + self.rng.random_range(10_000..90_000);
                        self.spawn(group, at);
                    }
                }
                Action::LabelNode { node, group } => {
                    self.labelled.insert(node.clone(), group.clone());
                }
                Action::Cordon { node } => {
                    self.cordoned.insert(node.clone());
                }
                Action::Uncordon { node } => {
                    self.cordoned.remove(node);
                }
                Action::Drain { node, .. } => self.drains.push(node.clone()),
                Action::DeleteNode { node } => {
                    self.deleted_nodes.insert(node.clone());
                }
                Action::DeleteWorker { identifier, .. } => {
                    if self.rng.random_bool(self.fault_rate) {
                        self.pending_obs.push(Observation::DeleteWorkerFailed {
                            identifier: identifier.clone(),
                            error: CloudErrorKind::Server,
                            message: "503".into(),
                        });
                        continue;
                    }
                    match self.workers.get_mut(identifier) {
                        Some(w) if w.gone_at.is_none() => w.gone_at = Some(self.now + 40_000),
                        Some(_) => {}
                        None => self.pending_obs.push(Observation::WorkerGone {
                            identifier: identifier.clone(),
                        }),
                    }
                }
            }
        }
    }

    /// Advances to `now`: drains complete, workers appear, run, go.
    fn advance(&mut self, now: i64) -> Vec<Observation> {
        self.now = now;
        for node in std::mem::take(&mut self.drains) {
            if self.rng.random_bool(self.fault_rate) {
                self.pending_obs.push(Observation::DrainFailed {
                    node,
                    message: "PDB refused".into(),
                });
            } else {
                for p in &mut self.pods {
                    if p.node_name.as_deref() == Some(node.as_str()) {
                        p.node_name = None;
                    }
                }
                self.pending_obs.push(Observation::DrainFinished { node });
            }
        }
        let mut obs = std::mem::take(&mut self.pending_obs);
        for (id, w) in &mut self.workers {
            if w.gone_at.is_some_and(|g| g <= now) {
                if w.reported {
                    obs.push(Observation::WorkerGone {
                        identifier: id.clone(),
                    });
                    w.reported = false;
                }
                continue;
            }
            if !w.reported && w.appear_at <= now && w.gone_at.is_none() {
                w.reported = true;
                obs.push(Observation::WorkerAppeared {
                    group: w.group.clone(),
                    identifier: id.clone(),
                    hostname: w.hostname.clone(),
                });
            }
            if w.reported && !w.reported_running && w.running_at <= now {
                w.reported_running = true;
                obs.push(Observation::WorkerRunning {
                    identifier: id.clone(),
                });
            }
        }
        obs
    }
}

fn prop_config() -> AutoscalerConfig {
    let mut c = AutoscalerConfig::default();
    c.scale_down.unneeded_time = DurationMs::from_mins(3);
    c.scale_down.delay_after_add = DurationMs::from_mins(2);
    c.scale_down.new_node_grace_period = DurationMs::from_mins(5);
    c.consolidation.window = DurationMs::from_mins(30);
    c.scale_up.max_concurrent = 4;
    c.limits.max_nodes_total = Some(9);
    c.validate().unwrap();
    c
}

/// Runs the world for `steps` busy steps and `settle` quiet ones, checking invariants at every
/// step; returns the rendered action log (for determinism checks).
fn run_world(seed: u64, fault_rate: f64, steps: usize, settle: usize) -> Vec<String> {
    let config = prop_config();
    let mut world = World::new(seed, fault_rate);
    let mut state = LoopState::rebuild(Vec::new(), &world.listed(), 0);
    let mut log = Vec::new();
    let mut replacements: Vec<(i64, BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    let window = config.consolidation.window.ms();
    // Pod stamps as a shell that keeps its snapshot gives them (a pod that differs from the
    // pod at its position the step before gets a new one), so the scale-down cache is used.
    let mut last_snap: Option<ClusterSnapshot> = None;
    let mut last_stamp = 0u64;
    for i in 0..steps + settle {
        let now = i as i64 * STEP_MS;
        let obs = world.advance(now);
        world.workload(i >= steps);
        world.bind();
        let mut snap = world.snapshot();
        crate::scaledown_cache::restamp(&mut snap, last_snap.as_ref(), &mut last_stamp);
        last_snap = Some(snap.clone());
        // A clone of the state starts without the planners' caches: the step from scratch
        // must decide exactly as the step that reuses the previous one's work.
        let (cold_next, cold_out) = step(state.clone(), &snap, &obs, now, &config);
        let (next, out) = step(state, &snap, &obs, now, &config);
        assert_eq!(out, cold_out, "seed {seed}: cached step differs at {now}");
        assert_eq!(
            next, cold_next,
            "seed {seed}: cached state differs at {now}"
        );
        state = next;

        // Serialization round trip of the whole state.
        let text = serde_json::to_string(&state).unwrap();
        let back: LoopState = serde_json::from_str(&text).unwrap();
        assert_eq!(back, state, "state round trip at {now}");

        // Every worker VPSie has shown us is tracked by a record.
        for (id, w) in &world.workers {
            if w.reported {
                assert!(
                    state.record_by_identifier(id).is_some(),
                    "seed {seed}: worker {id} is untracked at {now}"
                );
            }
        }
        // Group max and the node limit hold for what the loop keeps.
        let mut live: BTreeMap<&str, u32> = BTreeMap::new();
        for r in state.records.values() {
            if r.purpose != Purpose::Unrequested
                && (r.phase.is_in_flight() || r.phase == NodePhase::Ready)
            {
                *live.entry(r.group.as_str()).or_default() += 1;
            }
        }
        for (g, _, min, max) in &world.groups {
            let n = live.get(g.as_str()).copied().unwrap_or(0);
            assert!(
                n <= *max,
                "seed {seed}: group {g} has {n} > max {max} at {now}"
            );
            let standing = state
                .records
                .values()
                .filter(|r| {
                    &r.group == g && matches!(r.phase, NodePhase::Ready | NodePhase::Joining)
                })
                .count() as u32;
            assert!(
                standing >= *min,
                "seed {seed}: group {g} below min at {now}:\n{}",
                out.decision.render_text()
            );
        }
        let total: u32 = live.values().sum();
        assert!(total <= 9, "seed {seed}: {total} nodes > limit 9 at {now}");
        // Anti-flap: no cordon of a node within its grace or replacement window.
        for a in &out.actions {
            if let Action::Cordon { node } = a {
                let r = state.record_by_node(node).unwrap();
                match &r.purpose {
                    Purpose::Replacement { .. } => assert!(
                        now - r.requested_at_ms >= window,
                        "seed {seed}: replacement node {node} removed within the window"
                    ),
                    Purpose::PendingPods => assert!(
                        r.ready_at_ms.is_some_and(|t| now - t >= 5 * MIN),
                        "seed {seed}: node {node} removed within its grace period"
                    ),
                    _ => {}
                }
            }
        }
        // No replace-then-revert within the window.
        for id in &out.decision.scale_down.replacements_started {
            let h = state
                .recent_replacements
                .iter()
                .find(|h| &h.id == id)
                .unwrap();
            for (at, removed, _) in &replacements {
                if now - at < window {
                    assert!(
                        h.added_groups.is_disjoint(removed),
                        "seed {seed}: replacement {id} re-creates nodes of {removed:?} within the window"
                    );
                }
            }
            replacements.push((now, h.removed_groups.clone(), h.added_groups.clone()));
        }
        for a in &out.actions {
            log.push(format!("{now} {a}"));
        }
        world.act(&out.actions);
    }
    // Settled: every worker still in VPSie is a Ready node the loop tracks; nothing leaks.
    for (id, w) in &world.workers {
        if w.gone_at.is_some_and(|g| g <= world.now) || w.appear_at > world.now {
            continue;
        }
        let r = state.record_by_identifier(id);
        assert!(
            r.is_some_and(|r| r.phase == NodePhase::Ready),
            "seed {seed}: worker {id} left as {:?} after settling",
            r.map(|r| (r.phase, r.purpose.clone()))
        );
    }
    log
}

proptest! {
    #![proptest_config(crate::seeded(12))]

    #[test]
    fn random_sequences_keep_the_invariants(seed in any::<u64>(), faults in 0u8..3) {
        run_world(seed, f64::from(faults) * 0.05, 240, 300);
    }
}

#[test]
fn same_inputs_give_identical_actions() {
    let a = run_world(7, 0.05, 240, 300);
    let b = run_world(7, 0.05, 240, 300);
    assert_eq!(a, b);
    // The run exercises both directions, not just the idle loop.
    let kinds = [
        "add-worker",
        "label",
        "cordon",
        "delete-node",
        "delete-worker",
    ];
    for kind in kinds {
        assert!(
            a.iter().any(|line| line.split(' ').nth(1) == Some(kind)),
            "no {kind} in the action log"
        );
    }
}

#[test]
fn rebuilt_state_continues_without_double_create_or_orphans() {
    // Two pending requests of `small`: one whose worker exists (created after the request),
    // one that never reached VPSie. A worker nobody asked for is adopted, not deleted.
    let mut state = LoopState::new();
    for (name, at) in [("small-000004", 1000), ("small-000005", 2000)] {
        let mut r = vpsie_engine::autoscaler::VpsieNodeRecord::requested(
            name.into(),
            "small".into(),
            Purpose::PendingPods,
            at,
        );
        r.accepted = true;
        r.phase = NodePhase::Provisioning;
        state.records.insert(name.into(), r);
    }
    let records: Vec<_> = state.records.values().cloned().collect();
    let workers = vec![
        ListedWorker {
            group: "small".into(),
            identifier: "old".into(),
            hostname: "host-old".into(),
            status: "running".into(),
            created_at_ms: Some(0),
        },
        ListedWorker {
            group: "small".into(),
            identifier: "new".into(),
            hostname: "host-new".into(),
            status: "provisioning".into(),
            created_at_ms: Some(1500),
        },
    ];
    let rebuilt = LoopState::rebuild(records, &workers, 5000);
    assert_eq!(
        rebuilt.records["small-000004"].identifier.as_deref(),
        Some("new")
    );
    assert_eq!(rebuilt.records["small-000005"].identifier, None);
    let adopted = rebuilt.record_by_identifier("old").unwrap();
    assert_eq!(adopted.purpose, Purpose::Adopted);
    assert!(rebuilt.next_sequence > 5, "names are never reused");
    // Stepping the rebuilt state issues no AddWorker for the unmatched request.
    let world = World::new(1, 0.0);
    let (_, out) = step(rebuilt, &world.snapshot(), &[], 6000, &prop_config());
    assert!(
        !out.actions
            .iter()
            .any(|a| matches!(a, Action::AddWorker { request, .. } if request == "small-000005")),
        "a request is never re-issued"
    );
}
