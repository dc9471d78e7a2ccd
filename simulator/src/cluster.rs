//! The simulated Kubernetes cluster: nodes, pods (pending and bound), PDBs and DaemonSet pods,
//! kept as one `ClusterSnapshot` the engine's loop reads directly, plus a placement state of
//! the engine's scheduler (`ClusterState`) updated incrementally for the binder.

use std::collections::{BTreeMap, BTreeSet};

use vpsie_engine::model::snapshot::IntOrPercent;
use vpsie_engine::model::{ClusterSnapshot, Node, OwnerRef, Pod, PodDisruptionBudget, Resources};
use vpsie_engine::sched::{ClusterState, NodeIdx, NodeTemplate, daemonset_lands};

use crate::des::SimTime;

/// Who created a pod, so the simulator knows what to do when it ends or is evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Controller {
    /// A bare pod: evicting it loses it.
    Bare,
    /// A pod with a controller that re-creates it elsewhere when evicted (explicit pods with an
    /// owner kind, generators); its remaining run time carries over.
    Recreated,
    /// A replica of the deployment with this index.
    Deployment(usize),
    /// A pod of the job with this index.
    Job(usize),
    /// A DaemonSet pod (never re-placed, removed with its node).
    DaemonSet,
}

/// Simulator-side facts about a pod.
#[derive(Debug, Clone, PartialEq)]
pub struct PodMeta {
    /// When the pod was created (pending from then on).
    pub arrived_at: SimTime,
    pub bound_at: Option<SimTime>,
    /// Run time once bound; `None` runs until the end (or until its controller removes it).
    pub run_for: Option<SimTime>,
    pub controller: Controller,
    /// Being evicted or deleted: still holds its resources until its grace period ends.
    pub terminating: bool,
    /// Equivalence class for the binder: pods of one class have identical constraints.
    pub shape: u64,
}

/// Simulator-side facts about a node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeMeta {
    /// VPSie identifier of the worker (none for static nodes).
    pub identifier: Option<String>,
    pub registered_at: SimTime,
    pub ready_at: Option<SimTime>,
    /// Index in the binder's placement state once the node was Ready.
    pub binder: Option<NodeIdx>,
}

/// Pending pods in kube-scheduler's queue order: higher priority first, then older first.
type QueueKey = (i32, SimTime, String);

/// The cluster.
#[derive(Debug)]
pub struct SimCluster {
    /// Nodes and pods exactly as the engine sees them (pending pods have no node).
    pub snapshot: ClusterSnapshot,
    pod_meta: Vec<PodMeta>,
    pod_pos: BTreeMap<String, usize>,
    node_meta: Vec<NodeMeta>,
    node_pos: BTreeMap<String, usize>,
    pods_on_node: BTreeMap<String, BTreeSet<String>>,
    pending: BTreeSet<QueueKey>,
    binder: ClusterState,
    /// Binder node indices that may take pods now.
    usable: BTreeSet<NodeIdx>,
    /// Set when something a failed pod waits for may have changed.
    capacity_changed: bool,
    /// Pods that arrived since the last pass.
    arrived: BTreeSet<QueueKey>,
    /// The last stamp given to a pod that was added or changed (`snapshot.pod_revisions`).
    last_revision: u64,
}

/// Why an eviction was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvictionRefused {
    pub pod: String,
    pub pdb: String,
}

impl SimCluster {
    /// A cluster with the snapshot's static parts (groups, sizes, PDBs, DaemonSets) and no
    /// nodes or pods yet.
    pub fn new(mut snapshot: ClusterSnapshot) -> Self {
        snapshot.nodes.clear();
        snapshot.pods.clear();
        snapshot.pod_revisions.clear();
        Self {
            snapshot,
            pod_meta: Vec::new(),
            pod_pos: BTreeMap::new(),
            node_meta: Vec::new(),
            node_pos: BTreeMap::new(),
            pods_on_node: BTreeMap::new(),
            pending: BTreeSet::new(),
            binder: ClusterState::empty(),
            usable: BTreeSet::new(),
            capacity_changed: true,
            arrived: BTreeSet::new(),
            last_revision: 0,
        }
    }

    /// A stamp no pod had before: every pod added or changed gets one, so the engine can tell
    /// unchanged pods from their stamps alone.
    fn next_revision(&mut self) -> u64 {
        self.last_revision += 1;
        self.last_revision
    }

    // ----- queries -----

    pub fn pod(&self, key: &str) -> Option<(&Pod, &PodMeta)> {
        let i = *self.pod_pos.get(key)?;
        Some((&self.snapshot.pods[i], &self.pod_meta[i]))
    }

    pub fn node(&self, name: &str) -> Option<(&Node, &NodeMeta)> {
        let i = *self.node_pos.get(name)?;
        Some((&self.snapshot.nodes[i], &self.node_meta[i]))
    }

    pub fn pods_on(&self, node: &str) -> Vec<String> {
        self.pods_on_node
            .get(node)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Pending pods with their arrival time (for the final accounting).
    pub fn pending_pods(&self) -> Vec<(String, SimTime)> {
        self.pending
            .iter()
            .filter_map(|(_, _, k)| self.pod(k).map(|(_, m)| (k.clone(), m.arrived_at)))
            .collect()
    }

    pub fn nodes(&self) -> impl Iterator<Item = (&Node, &NodeMeta)> {
        self.snapshot.nodes.iter().zip(self.node_meta.iter())
    }

    pub fn pods(&self) -> impl Iterator<Item = (&Pod, &PodMeta)> {
        self.snapshot.pods.iter().zip(self.pod_meta.iter())
    }

    /// Requested and allocatable resources over Ready nodes (for utilization).
    pub fn usage(&self) -> (Resources, Resources) {
        let mut used = Resources::default();
        let mut alloc = Resources::default();
        for &i in &self.usable {
            used.cpu_milli += self.binder.used(i).cpu_milli;
            used.memory += self.binder.used(i).memory;
            alloc.cpu_milli += self.binder.allocatable(i).cpu_milli;
            alloc.memory += self.binder.allocatable(i).memory;
        }
        (used, alloc)
    }

    // ----- pods -----

    /// Adds a pending pod.
    pub fn add_pod(&mut self, pod: Pod, meta: PodMeta) {
        let key = pod.key();
        if self.pod_pos.contains_key(&key) {
            return;
        }
        let qk = (-pod.priority, meta.arrived_at, key.clone());
        self.binder.register_terms(&pod);
        self.pod_pos.insert(key, self.snapshot.pods.len());
        self.snapshot.pods.push(pod);
        let revision = self.next_revision();
        self.snapshot.pod_revisions.push(revision);
        self.pod_meta.push(meta);
        self.pending.insert(qk.clone());
        self.arrived.insert(qk);
    }

    /// Binds a pod to a node without checking (DaemonSet pods, initial placement).
    fn bind_unchecked(&mut self, key: &str, node: &str, now: SimTime) {
        let (Some(&i), Some(&n)) = (self.pod_pos.get(key), self.node_pos.get(node)) else {
            return;
        };
        let Some(b) = self.node_meta[n].binder else {
            return;
        };
        let revision = self.next_revision();
        self.snapshot.pod_revisions[i] = revision;
        let pod = &mut self.snapshot.pods[i];
        let qk = (-pod.priority, self.pod_meta[i].arrived_at, key.to_string());
        self.pending.remove(&qk);
        self.arrived.remove(&qk);
        pod.node_name = Some(node.to_string());
        self.binder.bind(pod, b);
        self.pod_meta[i].bound_at = Some(now);
        self.pods_on_node
            .entry(node.to_string())
            .or_default()
            .insert(key.to_string());
    }

    /// Removes a pod (finished, deleted, or done terminating). Returns it with its meta.
    pub fn remove_pod(&mut self, key: &str) -> Option<(Pod, PodMeta)> {
        let i = self.pod_pos.remove(key)?;
        let pod = self.snapshot.pods.swap_remove(i);
        self.snapshot.pod_revisions.swap_remove(i);
        let meta = self.pod_meta.swap_remove(i);
        if let Some(moved) = self.snapshot.pods.get(i) {
            self.pod_pos.insert(moved.key(), i);
        }
        let qk = (-pod.priority, meta.arrived_at, key.to_string());
        self.pending.remove(&qk);
        self.arrived.remove(&qk);
        if let Some(node) = &pod.node_name {
            self.binder.unbind(&pod);
            if let Some(set) = self.pods_on_node.get_mut(node) {
                set.remove(key);
            }
            self.capacity_changed = true;
        }
        Some((pod, meta))
    }

    pub fn set_terminating(&mut self, key: &str) {
        if let Some(&i) = self.pod_pos.get(key) {
            self.pod_meta[i].terminating = true;
        }
    }

    /// Whether evicting `key` now is allowed by every PDB that selects it.
    pub fn eviction_allowed(&self, key: &str) -> Result<(), EvictionRefused> {
        let Some((pod, _)) = self.pod(key) else {
            return Ok(());
        };
        for pdb in &self.snapshot.pdbs {
            if pdb.namespace != pod.namespace || !pdb.selector.matches(&pod.labels) {
                continue;
            }
            if self.disruptions_allowed(pdb) < 1 {
                return Err(EvictionRefused {
                    pod: key.to_string(),
                    pdb: format!("{}/{}", pdb.namespace, pdb.name),
                });
            }
        }
        Ok(())
    }

    /// `status.disruptionsAllowed` as the disruption controller computes it: healthy (bound,
    /// not terminating) selected pods minus the required minimum.
    fn disruptions_allowed(&self, pdb: &PodDisruptionBudget) -> i64 {
        let mut expected = 0i64;
        let mut healthy = 0i64;
        for (p, m) in self.pods() {
            if m.terminating || p.namespace != pdb.namespace || !pdb.selector.matches(&p.labels) {
                continue;
            }
            expected += 1;
            let on_ready = p
                .node_name
                .as_ref()
                .and_then(|n| self.node(n))
                .is_some_and(|(n, _)| n.ready);
            if on_ready {
                healthy += 1;
            }
        }
        let resolve = |v: &IntOrPercent, round_up: bool| -> i64 {
            match v {
                IntOrPercent::Int(n) => i64::from(*n),
                IntOrPercent::Percent(text) => {
                    let pct: f64 = text.trim_end_matches('%').trim().parse().unwrap_or(0.0);
                    let x = expected as f64 * pct / 100.0;
                    if round_up {
                        x.ceil() as i64
                    } else {
                        x.floor() as i64
                    }
                }
            }
        };
        if let Some(min) = &pdb.min_available {
            healthy - resolve(min, true)
        } else if let Some(max) = &pdb.max_unavailable {
            resolve(max, true) - (expected - healthy)
        } else {
            i64::MAX
        }
    }

    // ----- nodes -----

    /// Registers a Node (NotReady until `set_ready`).
    pub fn add_node(&mut self, node: Node, meta: NodeMeta) {
        if self.node_pos.contains_key(&node.name) {
            return;
        }
        self.node_pos
            .insert(node.name.clone(), self.snapshot.nodes.len());
        self.snapshot.nodes.push(node);
        self.node_meta.push(meta);
    }

    /// The Node became Ready: it joins the binder and its DaemonSet pods land.
    pub fn set_ready(&mut self, name: &str, now: SimTime) {
        let Some(&i) = self.node_pos.get(name) else {
            return;
        };
        self.snapshot.nodes[i].ready = true;
        self.node_meta[i].ready_at.get_or_insert(now);
        if self.node_meta[i].binder.is_none() {
            let node = &self.snapshot.nodes[i];
            let template = NodeTemplate {
                group: node.node_group.clone().unwrap_or_default(),
                size: String::new(),
                labels: node.effective_labels(),
                taints: node.taints.clone(),
                zone: node.zone.clone(),
                allocatable: node.allocatable.clone(),
                daemonset_usage: Resources::default(),
                hourly_price: 0.0,
            };
            let idx = self
                .binder
                .add_node_from_template(&template, name.to_string());
            self.node_meta[i].binder = Some(idx);
            self.land_daemonsets(name, now);
        }
        self.refresh_usable(name);
    }

    fn land_daemonsets(&mut self, name: &str, now: SimTime) {
        let Some(&i) = self.node_pos.get(name) else {
            return;
        };
        let labels = self.snapshot.nodes[i].effective_labels();
        let taints = self.snapshot.nodes[i].taints.clone();
        let daemonsets = self.snapshot.daemon_sets.clone();
        for ds in daemonsets {
            if !daemonset_lands(&ds, &labels, &taints) {
                continue;
            }
            let pod = Pod {
                name: format!("{}-{}", ds.name, name),
                namespace: ds.namespace.clone(),
                labels: BTreeMap::new(),
                annotations: BTreeMap::new(),
                containers: ds.containers.clone(),
                init_containers: ds.init_containers.clone(),
                overhead: ds.overhead.clone(),
                node_name: None,
                node_selector: BTreeMap::new(),
                affinity: Default::default(),
                tolerations: ds.tolerations.clone(),
                topology_spread_constraints: Vec::new(),
                owner: Some(OwnerRef {
                    kind: "DaemonSet".to_string(),
                    name: ds.name.clone(),
                }),
                priority: 0,
                volumes: Vec::new(),
                created_at_ms: Some(now),
                termination_grace_period_seconds: None,
            };
            let key = pod.key();
            self.add_pod(
                pod,
                PodMeta {
                    arrived_at: now,
                    bound_at: None,
                    run_for: None,
                    controller: Controller::DaemonSet,
                    terminating: false,
                    shape: 0,
                },
            );
            self.bind_unchecked(&key, name, now);
        }
    }

    /// The Node went NotReady (its VPS died).
    pub fn set_not_ready(&mut self, name: &str) {
        if let Some(&i) = self.node_pos.get(name) {
            self.snapshot.nodes[i].ready = false;
        }
        self.refresh_usable(name);
    }

    pub fn set_cordoned(&mut self, name: &str, cordoned: bool) {
        if let Some(&i) = self.node_pos.get(name) {
            self.snapshot.nodes[i].unschedulable = cordoned;
        }
        self.refresh_usable(name);
    }

    /// Labels the node as a member of `group`. A node already known to the binder gets its
    /// placement state rebuilt (labels are part of every filter).
    pub fn label_node(&mut self, name: &str, group: &str) {
        let Some(&i) = self.node_pos.get(name) else {
            return;
        };
        let node = &mut self.snapshot.nodes[i];
        if node.node_group.as_deref() == Some(group) {
            return;
        }
        node.node_group = Some(group.to_string());
        node.labels.insert(
            vpsie_engine::model::node::LABEL_NODE_GROUP.to_string(),
            group.to_string(),
        );
        if let Some(g) = self.snapshot.node_groups.iter().find(|g| g.name == group) {
            for (k, v) in &g.labels {
                node.labels.insert(k.clone(), v.clone());
            }
            for t in &g.taints {
                if !node.taints.contains(t) {
                    node.taints.push(t.clone());
                }
            }
            if node.zone.is_none() {
                node.zone = g.zone.clone();
            }
        }
        if self.node_meta[i].binder.is_some() {
            self.rebuild_binder();
        }
    }

    /// Deletes the Node object; returns the keys of the pods that were on it (still present:
    /// the caller removes or re-creates them).
    pub fn remove_node(&mut self, name: &str) -> Vec<String> {
        let pods = self.pods_on(name);
        let Some(i) = self.node_pos.remove(name) else {
            return pods;
        };
        if let Some(b) = self.node_meta[i].binder {
            self.binder.set_schedulable(b, false);
            self.usable.remove(&b);
        }
        self.snapshot.nodes.swap_remove(i);
        self.node_meta.swap_remove(i);
        if let Some(moved) = self.snapshot.nodes.get(i) {
            self.node_pos.insert(moved.name.clone(), i);
        }
        pods
    }

    fn refresh_usable(&mut self, name: &str) {
        let Some(&i) = self.node_pos.get(name) else {
            return;
        };
        let Some(b) = self.node_meta[i].binder else {
            return;
        };
        let ok = self.snapshot.nodes[i].schedulable();
        self.binder.set_schedulable(b, ok);
        if ok {
            if self.usable.insert(b) {
                self.capacity_changed = true;
            }
        } else {
            self.usable.remove(&b);
        }
    }

    /// Rebuilds the placement state from the snapshot (after a label change).
    fn rebuild_binder(&mut self) {
        self.binder = ClusterState::existing_only(&self.snapshot);
        self.usable.clear();
        for i in 0..self.snapshot.nodes.len() {
            let name = self.snapshot.nodes[i].name.clone();
            let idx = self.binder.find_node(&name);
            self.node_meta[i].binder = if self.node_meta[i].ready_at.is_some() {
                idx
            } else {
                None
            };
            if let (Some(b), true) = (
                self.node_meta[i].binder,
                self.snapshot.nodes[i].schedulable(),
            ) {
                self.usable.insert(b);
            }
        }
        self.capacity_changed = true;
    }

    // ----- the binder -----

    /// One scheduling pass (see `binder`). Returns the pods bound, with the node.
    pub fn schedule_pending(&mut self, now: SimTime) -> Vec<(String, String)> {
        let retry_all = std::mem::take(&mut self.capacity_changed);
        let queue: Vec<QueueKey> = if retry_all {
            self.pending.iter().cloned().collect()
        } else {
            // Nothing was freed: pods that failed before still fail; only new arrivals and
            // pods with pod affinity (satisfiable by a new neighbour) are tried.
            let mut q: Vec<QueueKey> = self.arrived.iter().cloned().collect();
            for k in &self.pending {
                if !self.arrived.contains(k)
                    && let Some((p, _)) = self.pod(&k.2)
                    && !p.affinity.pod_affinity.is_empty()
                {
                    q.push(k.clone());
                }
            }
            q.sort();
            q
        };
        self.arrived.clear();
        let mut bound = Vec::new();
        let mut failed_shapes: BTreeSet<u64> = BTreeSet::new();
        let mut candidates: Vec<(i64, NodeIdx)> = Vec::new();
        for (_, _, key) in queue {
            let Some(&i) = self.pod_pos.get(&key) else {
                continue;
            };
            let pod = &self.snapshot.pods[i];
            let shape = self.pod_meta[i].shape;
            let affine = !pod.affinity.pod_affinity.is_empty();
            if shape != 0 && !affine && failed_shapes.contains(&shape) {
                continue;
            }
            let choice =
                crate::binder::choose_node(&self.binder, &self.usable, pod, &mut candidates);
            match choice {
                Some(b) => {
                    let node = self.binder.node_name(b).to_string();
                    self.bind_unchecked(&key, &node, now);
                    bound.push((key, node));
                }
                None => {
                    if shape != 0 {
                        failed_shapes.insert(shape);
                    }
                }
            }
        }
        bound
    }

    /// Marks that capacity may have appeared (a pass retries every pending pod).
    pub fn mark_capacity_changed(&mut self) {
        self.capacity_changed = true;
    }

    /// Whether a pass has anything to try.
    pub fn wants_pass(&self) -> bool {
        !self.pending.is_empty() && (self.capacity_changed || !self.arrived.is_empty())
    }
}
