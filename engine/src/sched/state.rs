//! `ClusterState`: nodes with their used resources, bound pods, host ports and inter-pod
//! counters; answers "can this pod go on that node" and records placements.
//!
//! Node indices are stable: existing nodes sorted by name, then in-flight nodes sorted by name,
//! then nodes added from templates in the order they are added. So any permutation of a
//! snapshot gives the same indices and the same answers.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::model::node::LABEL_HOSTNAME;
use crate::model::pod::WhenUnsatisfiable;
use crate::model::{ClusterSnapshot, Pod, Resources, Taint};

use super::Unfit;
use super::filters::{
    node_affinity_fit, node_matches, node_selector_fit, resources_fit, taints_fit,
};
use super::interpod::{DomainCounts, TermKey, anti_affinity_keys, lookup_keys};
use super::template::{NodeTemplate, template_for};

/// Index of a node in a `ClusterState`.
pub type NodeIdx = usize;

/// Where a node of the state comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeKind {
    /// A node of the snapshot.
    Existing,
    /// A node being provisioned (counts as capacity).
    InFlight,
    /// A hypothetical node a planner added.
    New,
}

#[derive(Debug, Clone)]
struct NodeSlot {
    name: String,
    labels: BTreeMap<String, String>,
    taints: Vec<Taint>,
    allocatable: Resources,
    used: Resources,
    ready: bool,
    schedulable: bool,
    host_ports: Vec<(String, String, u16)>,
    kind: NodeKind,
    group: Option<String>,
}

/// What the state remembers of a bound pod (to unbind it and to count it for new terms).
#[derive(Debug, Clone)]
struct BoundPod {
    node: NodeIdx,
    /// Its namespace and labels, in `LabelSets`.
    labels: u32,
    /// The request it added to its node, which unbinding takes off again.
    request: Resources,
}

/// The distinct (namespace, labels) of bound pods, each stored once: the pods of one
/// controller share them, and copying them per bound pod cost more than finding them here.
#[derive(Debug, Clone, Default)]
struct LabelSets {
    sets: Vec<(String, BTreeMap<String, String>)>,
    /// Ids by a fingerprint of (namespace, labels), compared in full on lookup.
    by_fingerprint: BTreeMap<u64, Vec<u32>>,
    /// The set interned last.
    last: Option<u32>,
}

impl LabelSets {
    fn intern(&mut self, namespace: &str, labels: &BTreeMap<String, String>) -> u32 {
        // Pods are mostly bound a controller at a time: try the last set first, which costs
        // a comparison instead of a hash.
        if let Some(last) = self.last {
            let (ns, l) = &self.sets[last as usize];
            if ns == namespace && l == labels {
                return last;
            }
        }
        let id = self.lookup_or_insert(namespace, labels);
        self.last = Some(id);
        id
    }

    fn lookup_or_insert(&mut self, namespace: &str, labels: &BTreeMap<String, String>) -> u32 {
        let ids = self
            .by_fingerprint
            .entry(fingerprint(&(namespace, labels)))
            .or_default();
        for &id in ids.iter() {
            let (ns, l) = &self.sets[id as usize];
            if ns == namespace && l == labels {
                return id;
            }
        }
        let id = u32::try_from(self.sets.len()).unwrap_or(u32::MAX);
        self.sets.push((namespace.to_string(), labels.clone()));
        ids.push(id);
        id
    }

    fn get(&self, id: u32) -> (&str, &BTreeMap<String, String>) {
        let (ns, labels) = &self.sets[id as usize];
        (ns, labels)
    }
}

/// Cached eligible topology domains of a (node-affinity signature, topology key) with how many
/// eligible nodes each has, as of one version of the node set. Brought up to date by replaying
/// the node changes since then, so adding one node costs one node check, not a rescan.
#[derive(Debug, Clone, Default)]
struct DomainCache {
    nodes_version: u64,
    domains: BTreeMap<String, u32>,
}

/// Cached minimum count over the eligible domains of one spread term, valid for one version of
/// the node set and of the placements (a first-fit scan checks many nodes for one pod without
/// binding anything, so the minimum is computed once per scan, not once per node).
#[derive(Debug, Clone, Copy)]
struct SpreadMin {
    nodes_version: u64,
    bindings_version: u64,
    min: u32,
    domains: usize,
}

/// The snapshot's node names sorted, a duplicate once: position `i` is the `NodeIdx` that
/// `ClusterState::existing_only` gives the node.
pub fn existing_node_names(snapshot: &ClusterSnapshot) -> Vec<&str> {
    existing_node_positions(snapshot)
        .into_iter()
        .map(|i| snapshot.nodes[i].name.as_str())
        .collect()
}

/// The position in `snapshot.nodes` of the node of each `NodeIdx` (see `existing_node_names`):
/// of nodes sharing a name, the first listed, as `ClusterState` keeps it.
pub fn existing_node_positions(snapshot: &ClusterSnapshot) -> Vec<usize> {
    let nodes = &snapshot.nodes;
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    // Stable, so of nodes sharing a name the first listed stays.
    order.sort_by(|a, b| nodes[*a].name.cmp(&nodes[*b].name));
    order.dedup_by(|a, b| nodes[*a].name == nodes[*b].name);
    order
}

/// Finds a name's position in a sorted, deduplicated list of names by a fingerprint of the
/// name first: node names of one cluster share long prefixes, so a binary search over the
/// names compares many bytes per step, and a scale-down decision looks up every pod's node.
#[derive(Debug)]
pub struct NameIndex<'a> {
    names: &'a [&'a str],
    /// (fingerprint, position), sorted.
    by_fingerprint: Vec<(u64, usize)>,
}

impl<'a> NameIndex<'a> {
    pub fn new(names: &'a [&'a str]) -> Self {
        let mut by_fingerprint: Vec<(u64, usize)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (fingerprint(n), i))
            .collect();
        by_fingerprint.sort_unstable();
        Self {
            names,
            by_fingerprint,
        }
    }

    /// Position of `name` in the list, if it is there.
    pub fn find(&self, name: &str) -> Option<usize> {
        let f = fingerprint(&name);
        let start = self.by_fingerprint.partition_point(|(x, _)| *x < f);
        self.by_fingerprint[start..]
            .iter()
            .take_while(|(x, _)| *x == f)
            .map(|(_, i)| *i)
            .find(|&i| self.names[i] == name)
    }
}

/// Placement state. See the module documentation.
#[derive(Debug, Clone)]
pub struct ClusterState {
    nodes: Vec<NodeSlot>,
    by_name: BTreeMap<String, NodeIdx>,
    bound: BTreeMap<String, BoundPod>,
    label_sets: LabelSets,
    /// Pods matching each registered term, per domain.
    matching: BTreeMap<TermKey, DomainCounts>,
    /// Pods owning each anti-affinity term, per domain (for the symmetric check).
    owners: BTreeMap<TermKey, DomainCounts>,
    nodes_version: u64,
    /// Every change of the set of placeable nodes, oldest first: a node added (`true`) or made
    /// schedulable (`true`) or unschedulable (`false`). `nodes_version` is its length.
    node_log: Vec<(NodeIdx, bool)>,
    /// Bumped on every bind and unbind.
    bindings_version: u64,
    domain_cache: RefCell<BTreeMap<(u64, u64), DomainCache>>,
    spread_min_cache: RefCell<BTreeMap<(u64, u64), SpreadMin>>,
}

fn fingerprint<T: Hash>(value: &T) -> u64 {
    // DefaultHasher::new() uses fixed keys: deterministic across runs and machines.
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

impl ClusterState {
    /// An empty state.
    pub fn empty() -> Self {
        Self {
            nodes: Vec::new(),
            by_name: BTreeMap::new(),
            bound: BTreeMap::new(),
            label_sets: LabelSets::default(),
            matching: BTreeMap::new(),
            owners: BTreeMap::new(),
            nodes_version: 0,
            node_log: Vec::new(),
            bindings_version: 0,
            domain_cache: RefCell::new(BTreeMap::new()),
            spread_min_cache: RefCell::new(BTreeMap::new()),
        }
    }

    /// Existing nodes with their bound pods, plus in-flight nodes as capacity of their group.
    pub fn from_snapshot(snapshot: &ClusterSnapshot) -> Self {
        let mut state = Self::existing_only(snapshot);
        let mut in_flight: Vec<_> = snapshot.in_flight.iter().collect();
        in_flight.sort_by(|a, b| a.name.cmp(&b.name));
        for f in in_flight {
            let Some(group) = snapshot.node_groups.iter().find(|g| g.name == f.node_group) else {
                continue;
            };
            let Some(size) = snapshot.sizes.iter().find(|s| s.name == group.size) else {
                continue;
            };
            let template = template_for(snapshot, group, size);
            let idx = state.add_node_from_template(&template, f.name.clone());
            state.nodes[idx].kind = NodeKind::InFlight;
        }
        state
    }

    /// Existing nodes and their bound pods only (scale-down never re-places onto in-flight nodes).
    pub fn existing_only(snapshot: &ClusterSnapshot) -> Self {
        let names = existing_node_names(snapshot);
        let pod_nodes: Vec<Option<NodeIdx>> = snapshot
            .pods
            .iter()
            .map(|p| {
                p.node_name
                    .as_deref()
                    .and_then(|n| names.binary_search(&n).ok())
            })
            .collect();
        Self::existing_with_pod_nodes(snapshot, &pod_nodes)
    }

    /// `existing_only` when the caller already knows each pod's node index (`pod_nodes[i]` for
    /// `snapshot.pods[i]`, indices of the node names sorted, duplicates once).
    ///
    /// Built in bulk, which is what a scale-down decision pays for on every loop step: bound
    /// pods go into the map in one sorted pass instead of one keyed insert each.
    pub fn existing_with_pod_nodes(
        snapshot: &ClusterSnapshot,
        pod_nodes: &[Option<NodeIdx>],
    ) -> Self {
        let requests: Vec<Resources> = snapshot
            .pods
            .iter()
            .zip(pod_nodes)
            .map(|(p, n)| match n {
                Some(_) => p.effective_requests(),
                None => Resources::default(),
            })
            .collect();
        Self::existing_with_pod_facts(snapshot, pod_nodes, &requests)
    }

    /// `existing_with_pod_nodes` when the caller also knows each bound pod's effective request
    /// (`requests[i]` for `snapshot.pods[i]`).
    pub fn existing_with_pod_facts(
        snapshot: &ClusterSnapshot,
        pod_nodes: &[Option<NodeIdx>],
        requests: &[Resources],
    ) -> Self {
        let mut state = Self::empty();
        let mut nodes: Vec<_> = snapshot.nodes.iter().collect();
        // Stable: of nodes sharing a name, the first listed is the one kept.
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        nodes.dedup_by(|a, b| a.name == b.name);
        state.by_name = nodes
            .iter()
            .enumerate()
            .map(|(idx, n)| (n.name.clone(), idx))
            .collect();
        state.nodes = nodes
            .into_iter()
            .map(|n| NodeSlot {
                name: n.name.clone(),
                labels: n.effective_labels(),
                taints: n.taints.clone(),
                allocatable: n.allocatable.clone(),
                used: Resources::default(),
                ready: n.ready,
                schedulable: !n.unschedulable,
                host_ports: Vec::new(),
                kind: NodeKind::Existing,
                group: n.node_group.clone(),
            })
            .collect();
        let mut pods: Vec<usize> = (0..snapshot.pods.len()).collect();
        pods.sort_by_key(|&i| {
            let p = &snapshot.pods[i];
            (p.namespace.as_str(), p.name.as_str())
        });
        // Register every pod's terms first so counts include all bound pods from the start.
        for &i in &pods {
            state.register_terms(&snapshot.pods[i]);
        }
        let mut bound: Vec<(String, BoundPod)> = Vec::with_capacity(pods.len());
        let mut last: Option<&Pod> = None;
        for i in pods {
            let Some(node) = pod_nodes.get(i).copied().flatten() else {
                continue;
            };
            let pod = &snapshot.pods[i];
            // Of bound pods sharing a key (adjacent once sorted, the sort being stable), the
            // first listed is the one kept, as `bind` keeps the first.
            if last.is_some_and(|l| l.namespace == pod.namespace && l.name == pod.name) {
                continue;
            }
            last = Some(pod);
            let request = match requests.get(i) {
                Some(request) => request.clone(),
                None => pod.effective_requests(),
            };
            state.add_to_node(pod, node, &request);
            let labels = state.label_sets.intern(&pod.namespace, &pod.labels);
            bound.push((
                pod.key(),
                BoundPod {
                    node,
                    labels,
                    request,
                },
            ));
        }
        state.bindings_version += bound.len() as u64;
        state.bound = bound.into_iter().collect();
        state
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn node_name(&self, i: NodeIdx) -> &str {
        &self.nodes[i].name
    }

    pub fn find_node(&self, name: &str) -> Option<NodeIdx> {
        self.by_name.get(name).copied()
    }

    pub fn node_kind(&self, i: NodeIdx) -> NodeKind {
        self.nodes[i].kind
    }

    pub fn node_group(&self, i: NodeIdx) -> Option<&str> {
        self.nodes[i].group.as_deref()
    }

    pub fn labels(&self, i: NodeIdx) -> &BTreeMap<String, String> {
        &self.nodes[i].labels
    }

    pub fn allocatable(&self, i: NodeIdx) -> &Resources {
        &self.nodes[i].allocatable
    }

    pub fn used(&self, i: NodeIdx) -> &Resources {
        &self.nodes[i].used
    }

    pub fn free(&self, i: NodeIdx) -> Resources {
        self.nodes[i].allocatable.sub(&self.nodes[i].used)
    }

    pub fn is_schedulable(&self, i: NodeIdx) -> bool {
        self.nodes[i].schedulable && self.nodes[i].ready
    }

    /// Topology keys of every registered inter-pod term (affinity, anti-affinity, spread).
    pub fn topology_keys(&self) -> BTreeSet<String> {
        self.matching
            .keys()
            .chain(self.owners.keys())
            .map(|t| t.topology_key.clone())
            .collect()
    }

    /// Node of a bound pod, by `namespace/name`.
    pub fn node_of(&self, pod_key: &str) -> Option<NodeIdx> {
        self.bound.get(pod_key).map(|b| b.node)
    }

    /// Number of pods bound to a node (DaemonSet and mirror pods included).
    pub fn pod_count(&self, i: NodeIdx) -> i64 {
        self.nodes[i].used.pods
    }

    /// Number of bound pods.
    pub fn bound_count(&self) -> usize {
        self.bound.len()
    }

    /// Number of inter-pod terms with counters (registered terms stay after their pods leave).
    pub fn term_count(&self) -> usize {
        self.matching.len() + self.owners.len()
    }

    /// Drops the nodes from index `len` on, which a planner added from templates. Their pods
    /// must have been unbound first.
    pub fn truncate_nodes(&mut self, len: NodeIdx) {
        debug_assert!(self.bound.values().all(|b| b.node < len));
        for slot in self.nodes.drain(len.min(self.nodes.len())..) {
            self.by_name.remove(&slot.name);
        }
        self.forget_node_history();
    }

    /// Forgets the log of node changes and the caches built on it, as a fresh state has none:
    /// a state kept across decisions would otherwise grow its log with every trial.
    fn forget_node_history(&mut self) {
        self.node_log.clear();
        self.nodes_version = 0;
        self.domain_cache.get_mut().clear();
        self.spread_min_cache.get_mut().clear();
    }

    /// The placements in a canonical text: nodes with their schedulability and used resources,
    /// bound pods with their node, and the anti-affinity owners. Two states with the same digest
    /// and consistent counters answer every `check` alike (tests compare a state brought up to
    /// date change by change with one built afresh).
    pub fn placement_digest(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let mut ports = n.host_ports.clone();
            ports.sort();
            let _ = writeln!(
                out,
                "node {i} {} {:?} ready={} schedulable={} used={:?} ports={ports:?} labels={:?} taints={:?} alloc={:?}",
                n.name, n.kind, n.ready, n.schedulable, n.used, n.labels, n.taints, n.allocatable
            );
        }
        for (key, b) in &self.bound {
            let (ns, labels) = self.label_sets.get(b.labels);
            let _ = writeln!(out, "pod {key} on {} labels {ns} {labels:?}", b.node);
        }
        // Registered terms depend on which pods were ever seen, not only on the placements;
        // their counts are checked by `counters_consistent`.
        for (term, counts) in &self.owners {
            let _ = writeln!(
                out,
                "owner {term:?} {} {:?}",
                counts.total, counts.per_domain
            );
        }
        out
    }

    /// Whether every registered term's counters equal a recount over the bound pods.
    pub fn counters_consistent(&self) -> bool {
        self.matching.iter().all(|(term, counts)| {
            let recount = self.count_matching(term);
            recount.total == counts.total && recount.per_domain == counts.per_domain
        })
    }

    /// Adds a hypothetical node built from a template; `name` must be unique.
    pub fn add_node_from_template(&mut self, t: &NodeTemplate, name: String) -> NodeIdx {
        let idx = self.nodes.len();
        let mut labels = t.labels.clone();
        labels.insert(LABEL_HOSTNAME.to_string(), name.clone());
        self.by_name.insert(name.clone(), idx);
        self.nodes.push(NodeSlot {
            name,
            labels,
            taints: t.taints.clone(),
            allocatable: t.allocatable.clone(),
            used: t.daemonset_usage.clone(),
            ready: true,
            schedulable: true,
            host_ports: Vec::new(),
            kind: NodeKind::New,
            group: Some(t.group.clone()),
        });
        self.node_log.push((idx, true));
        self.nodes_version += 1;
        idx
    }

    /// Includes or excludes a node from placement (planners exclude nodes they remove).
    pub fn set_schedulable(&mut self, node: NodeIdx, schedulable: bool) {
        if self.nodes[node].schedulable != schedulable {
            self.nodes[node].schedulable = schedulable;
            self.node_log.push((node, schedulable));
            self.nodes_version += 1;
        }
    }

    /// Makes sure the counters for every term `pod` looks up exist. `from_snapshot` registers the
    /// snapshot's pods; call this for pods that arrive later (e.g. in a simulation) so `check`
    /// stays fast. `check` is correct without it, only slower.
    pub fn register_terms(&mut self, pod: &Pod) {
        for key in lookup_keys(pod) {
            if !self.matching.contains_key(&key) {
                let counts = self.count_matching(&key);
                self.matching.insert(key, counts);
            }
        }
    }

    fn count_matching(&self, key: &TermKey) -> DomainCounts {
        let mut counts = DomainCounts::default();
        for b in self.bound.values() {
            let (namespace, labels) = self.label_sets.get(b.labels);
            if key.selects(namespace, labels) {
                counts.add(
                    self.nodes[b.node]
                        .labels
                        .get(&key.topology_key)
                        .map(String::as_str),
                );
            }
        }
        counts
    }

    fn matching_counts(&self, key: &TermKey) -> std::borrow::Cow<'_, DomainCounts> {
        match self.matching.get(key) {
            Some(c) => std::borrow::Cow::Borrowed(c),
            None => std::borrow::Cow::Owned(self.count_matching(key)),
        }
    }

    /// Records `pod` on `node`. The caller has checked it fits (binding an unfit pod overcommits).
    pub fn bind(&mut self, pod: &Pod, node: NodeIdx) {
        self.bind_with_request(pod, node, &pod.effective_requests());
    }

    /// `bind` when the caller already knows the pod's effective request (a planner's class).
    pub fn bind_with_request(&mut self, pod: &Pod, node: NodeIdx, request: &Resources) {
        // Counters first, while `bound` does not hold the pod yet (a new counter counts the
        // bound pods); for a pod already bound they exist already, so this changes nothing.
        self.register_terms(pod);
        let labels = self.label_sets.intern(&pod.namespace, &pod.labels);
        match self.bound.entry(pod.key()) {
            std::collections::btree_map::Entry::Occupied(_) => return,
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(BoundPod {
                    node,
                    labels,
                    request: request.clone(),
                });
            }
        }
        self.bindings_version += 1;
        self.add_to_node(pod, node, request);
    }

    /// The node side of a bind of `pod`, whose effective request is `request`: the node's used
    /// resources, host ports and the inter-pod counters.
    fn add_to_node(&mut self, pod: &Pod, node: NodeIdx, request: &Resources) {
        let slot = &mut self.nodes[node];
        slot.used.add_assign(request);
        slot.host_ports.extend(pod.host_ports());
        let labels = &self.nodes[node].labels;
        for (term, counts) in self.matching.iter_mut() {
            if term.selects(&pod.namespace, &pod.labels) {
                counts.add(labels.get(&term.topology_key).map(String::as_str));
            }
        }
        for term in anti_affinity_keys(pod) {
            let domain = labels.get(&term.topology_key).cloned();
            self.owners.entry(term).or_default().add(domain.as_deref());
        }
    }

    /// Removes `pod` from its node (no-op when it is not bound) and says which node that was.
    pub fn unbind(&mut self, pod: &Pod) -> Option<NodeIdx> {
        let b = self.bound.remove(&pod.key())?;
        let node = b.node;
        self.bindings_version += 1;
        let slot = &mut self.nodes[node];
        slot.used.sub_assign(&b.request);
        for port in pod.host_ports() {
            if let Some(i) = slot.host_ports.iter().position(|p| *p == port) {
                slot.host_ports.swap_remove(i);
            }
        }
        let labels = &self.nodes[node].labels;
        for (term, counts) in self.matching.iter_mut() {
            if term.selects(&pod.namespace, &pod.labels) {
                counts.remove(labels.get(&term.topology_key).map(String::as_str));
            }
        }
        for term in anti_affinity_keys(pod) {
            let domain = labels.get(&term.topology_key).cloned();
            if let Some(c) = self.owners.get_mut(&term) {
                c.remove(domain.as_deref());
                if c.total == 0 {
                    self.owners.remove(&term);
                }
            }
        }
        Some(node)
    }

    /// Every filter, in kube-scheduler's spirit: the first failure is returned.
    pub fn check(&self, pod: &Pod, node: NodeIdx) -> Result<(), Unfit> {
        self.check_with_request(pod, &pod.effective_requests(), node)
    }

    /// `check` with a precomputed effective request (hot paths compute it once per class).
    pub fn check_with_request(
        &self,
        pod: &Pod,
        request: &Resources,
        node: NodeIdx,
    ) -> Result<(), Unfit> {
        let slot = &self.nodes[node];
        if !slot.ready {
            return Err(Unfit::NodeNotReady);
        }
        if !slot.schedulable {
            return Err(Unfit::NodeUnschedulable);
        }
        node_selector_fit(&pod.node_selector, &slot.labels)?;
        node_affinity_fit(&pod.affinity, &slot.labels)?;
        taints_fit(&pod.tolerations, &slot.taints)?;
        resources_fit(
            request,
            &slot.allocatable.sub(&slot.used),
            &slot.allocatable,
        )?;
        self.check_ports(pod, slot)?;
        self.check_interpod(pod, node)
    }

    /// Filters that do not depend on other pods (selectors, affinity, taints, readiness).
    pub fn check_shape(&self, pod: &Pod, node: NodeIdx) -> Result<(), Unfit> {
        let slot = &self.nodes[node];
        if !slot.ready {
            return Err(Unfit::NodeNotReady);
        }
        if !slot.schedulable {
            return Err(Unfit::NodeUnschedulable);
        }
        node_selector_fit(&pod.node_selector, &slot.labels)?;
        node_affinity_fit(&pod.affinity, &slot.labels)?;
        taints_fit(&pod.tolerations, &slot.taints)
    }

    fn check_ports(&self, pod: &Pod, slot: &NodeSlot) -> Result<(), Unfit> {
        if slot.host_ports.is_empty() {
            return Ok(());
        }
        for (proto, ip, port) in pod.host_ports() {
            let clash = slot.host_ports.iter().any(|(p2, ip2, port2)| {
                *port2 == port
                    && *p2 == proto
                    && (ip == "0.0.0.0" || ip2 == "0.0.0.0" || *ip2 == ip)
            });
            if clash {
                return Err(Unfit::HostPortConflict { port });
            }
        }
        Ok(())
    }

    /// Pod affinity, anti-affinity (own terms and existing pods' terms) and topology spread.
    pub fn check_interpod(&self, pod: &Pod, node: NodeIdx) -> Result<(), Unfit> {
        let labels = &self.nodes[node].labels;
        for term in &pod.affinity.pod_affinity {
            let key = TermKey::from_affinity_term(pod, term);
            let counts = self.matching_counts(&key);
            let satisfied = match labels.get(&key.topology_key) {
                Some(domain) => counts.in_domain(domain) > 0,
                None => false,
            };
            // kube-scheduler lets the first pod of a self-affine group go anywhere.
            let first_of_group = counts.total == 0 && key.selects(&pod.namespace, &pod.labels);
            if !satisfied && !first_of_group {
                return Err(Unfit::PodAffinityUnsatisfied {
                    topology_key: key.topology_key,
                });
            }
        }
        for term in &pod.affinity.pod_anti_affinity {
            let key = TermKey::from_affinity_term(pod, term);
            if let Some(domain) = labels.get(&key.topology_key)
                && self.matching_counts(&key).in_domain(domain) > 0
            {
                return Err(Unfit::PodAntiAffinityConflict {
                    topology_key: key.topology_key,
                });
            }
        }
        for (key, owners) in &self.owners {
            if owners.total == 0 || !key.selects(&pod.namespace, &pod.labels) {
                continue;
            }
            if let Some(domain) = labels.get(&key.topology_key)
                && owners.in_domain(domain) > 0
            {
                return Err(Unfit::PodAntiAffinityConflict {
                    topology_key: key.topology_key.clone(),
                });
            }
        }
        for c in &pod.topology_spread_constraints {
            if c.when_unsatisfiable != WhenUnsatisfiable::DoNotSchedule {
                continue;
            }
            let Some(domain) = labels.get(&c.topology_key) else {
                return Err(Unfit::MissingTopologyLabel {
                    topology_key: c.topology_key.clone(),
                });
            };
            let key = TermKey::for_spread(pod, &c.label_selector, &c.topology_key);
            let counts = self.matching_counts(&key);
            let (mut min, domain_count) = self.spread_min(pod, &key, &counts);
            if let Some(min_domains) = c.min_domains
                && (domain_count as i64) < i64::from(min_domains)
            {
                min = 0;
            }
            let self_match = u32::from(c.label_selector.matches(&pod.labels));
            let skew = i64::from(counts.in_domain(domain)) + i64::from(self_match) - i64::from(min);
            if skew > i64::from(c.max_skew) {
                return Err(Unfit::TopologySpread {
                    topology_key: c.topology_key.clone(),
                });
            }
        }
        Ok(())
    }

    /// The minimum number of matching pods over the domains a spread term counts for `pod`, and
    /// how many such domains there are. Cached until a node or a placement changes.
    fn spread_min(&self, pod: &Pod, key: &TermKey, counts: &DomainCounts) -> (u32, usize) {
        let signature = fingerprint(&(&pod.node_selector, &pod.affinity.node_affinity));
        let cache_key = (signature, fingerprint(key));
        if let Some(c) = self.spread_min_cache.borrow().get(&cache_key)
            && c.nodes_version == self.nodes_version
            && c.bindings_version == self.bindings_version
        {
            return (c.min, c.domains);
        }
        let (min, domain_count) =
            self.with_eligible_domains(signature, pod, &key.topology_key, |domains| {
                // Every counted domain holds at least one pod: when there are more eligible domains
                // than counted ones, some eligible domain holds none (no scan over thousands of
                // hostnames).
                let min = if domains.len() > counts.per_domain.len() {
                    0
                } else {
                    let mut min = u32::MAX;
                    for d in domains.keys() {
                        min = min.min(counts.in_domain(d));
                        if min == 0 {
                            break;
                        }
                    }
                    if domains.is_empty() { 0 } else { min }
                };
                (min, domains.len())
            });
        self.spread_min_cache.borrow_mut().insert(
            cache_key,
            SpreadMin {
                nodes_version: self.nodes_version,
                bindings_version: self.bindings_version,
                min,
                domains: domain_count,
            },
        );
        (min, domain_count)
    }

    /// Calls `f` with the topology domains a spread constraint counts for `pod`: the values of
    /// `topology_key` on schedulable nodes that pass the pod's nodeSelector and node affinity
    /// (kube-scheduler's default `nodeAffinityPolicy: Honor`, `nodeTaintsPolicy: Ignore`), each
    /// with its number of such nodes. Cached per (signature, key) and updated incrementally.
    fn with_eligible_domains<R>(
        &self,
        signature: u64,
        pod: &Pod,
        topology_key: &str,
        f: impl FnOnce(&BTreeMap<String, u32>) -> R,
    ) -> R {
        let cache_key = (signature, fingerprint(&topology_key));
        let mut caches = self.domain_cache.borrow_mut();
        let cache = caches.entry(cache_key).or_insert_with(|| {
            let mut domains: BTreeMap<String, u32> = BTreeMap::new();
            for n in &self.nodes {
                if n.schedulable
                    && n.ready
                    && node_matches(pod, &n.labels)
                    && let Some(d) = n.labels.get(topology_key)
                {
                    *domains.entry(d.clone()).or_insert(0) += 1;
                }
            }
            DomainCache {
                nodes_version: self.nodes_version,
                domains,
            }
        });
        let from = usize::try_from(cache.nodes_version).unwrap_or(usize::MAX);
        for &(i, now_placeable) in self.node_log.get(from..).unwrap_or(&[]) {
            let n = &self.nodes[i];
            if !n.ready || !node_matches(pod, &n.labels) {
                continue;
            }
            let Some(d) = n.labels.get(topology_key) else {
                continue;
            };
            if now_placeable {
                *cache.domains.entry(d.clone()).or_insert(0) += 1;
            } else if let Some(c) = cache.domains.get_mut(d.as_str()) {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    cache.domains.remove(d.as_str());
                }
            }
        }
        cache.nodes_version = self.nodes_version;
        f(&cache.domains)
    }

    /// The first schedulable node (in index order) that passes every filter, or the reasons
    /// per node for an explanation.
    pub fn first_fit(&self, pod: &Pod) -> Result<NodeIdx, BTreeMap<Unfit, u32>> {
        let request = pod.effective_requests();
        let mut reasons: BTreeMap<Unfit, u32> = BTreeMap::new();
        for i in 0..self.nodes.len() {
            match self.check_with_request(pod, &request, i) {
                Ok(()) => return Ok(i),
                Err(r) => *reasons.entry(r).or_insert(0) += 1,
            }
        }
        Err(reasons)
    }
}
