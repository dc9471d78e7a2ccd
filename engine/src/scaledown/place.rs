//! Fast re-placement of evicted pods: a best-fit index over free cpu, equivalence classes of
//! pods, and a per-decision cache of classes known not to fit anywhere.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{ClusterSnapshot, Pod, Resources};
use crate::sched::{ClusterState, NodeIdx, NodeKind, Unfit};

/// Pods that the scheduler cannot tell apart: same namespace, controller, labels, request and
/// placement constraints. If one does not fit anywhere, neither does the next.
/// (namespace, owner kind, owner name).
type OwnerKey<'a> = (&'a str, &'a str, &'a str);

#[derive(Debug, Default)]
pub struct ClassTable<'a> {
    by_owner: BTreeMap<OwnerKey<'a>, Vec<(&'a Pod, Resources, usize)>>,
    next: usize,
}

fn same_shape(a: &Pod, b: &Pod) -> bool {
    a.labels == b.labels
        && a.node_selector == b.node_selector
        && a.affinity == b.affinity
        && a.tolerations == b.tolerations
        && a.topology_spread_constraints == b.topology_spread_constraints
        && a.host_ports() == b.host_ports()
}

impl<'a> ClassTable<'a> {
    /// The class of `pod` whose effective request is `request`.
    pub fn class_of(&mut self, pod: &'a Pod, request: &Resources) -> usize {
        let (kind, name) = match &pod.owner {
            Some(o) => (o.kind.as_str(), o.name.as_str()),
            // A pod without controller is its own class.
            None => ("", pod.name.as_str()),
        };
        let variants = self
            .by_owner
            .entry((pod.namespace.as_str(), kind, name))
            .or_default();
        if let Some((_, _, id)) = variants
            .iter()
            .find(|(p, r, _)| r == request && same_shape(p, pod))
        {
            return *id;
        }
        let id = self.next;
        self.next += 1;
        variants.push((pod, request.clone(), id));
        id
    }
}

/// Why a pod found no node, summarised over the nodes that were tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoPlace {
    /// The most frequent reason (ties: the most fundamental).
    pub main: Unfit,
    /// `"<n> node(s): <sentence>"` for the most frequent reasons.
    pub detail: String,
}

impl NoPlace {
    fn from_counts(counts: &BTreeMap<Unfit, u32>) -> Self {
        let mut ranked: Vec<(&Unfit, u32)> = counts.iter().map(|(u, n)| (u, *n)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let main = ranked
            .first()
            .map(|(u, _)| (*u).clone())
            .unwrap_or(Unfit::NodeUnschedulable);
        let detail = if ranked.is_empty() {
            "no schedulable node remains".to_string()
        } else {
            ranked
                .iter()
                .take(3)
                .map(|(u, n)| format!("{n} node(s): {u}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        Self { main, detail }
    }
}

#[derive(Debug, Clone)]
struct FailRecord {
    epoch: u64,
    /// The node being removed when the class failed: the only node that may have been
    /// unavailable then and available now.
    excluded: NodeIdx,
    why: NoPlace,
}

/// A `ClusterState` plus the indexes that make finding a destination cheap.
#[derive(Debug)]
pub struct Placer<'a> {
    pub state: ClusterState,
    /// Schedulable destination nodes by (free cpu, index): a range scan from a pod's cpu request
    /// visits only nodes with enough cpu, tightest first (best fit packs nodes that stay).
    by_free_cpu: BTreeSet<(i64, NodeIdx)>,
    /// The key each node has in `by_free_cpu`, if any.
    indexed: Vec<Option<i64>>,
    pub classes: ClassTable<'a>,
    failures: BTreeMap<usize, FailRecord>,
    /// Bumped whenever a removal is committed: cached failures from before may no longer hold.
    epoch: u64,
    /// `check` calls made (work accounting for tests and benchmarks).
    pub checks: u64,
}

/// A `Placer` built on first use: most decisions of a settled cluster stop every candidate at
/// a check that needs no placement (group at min, not under-utilized), and building the
/// placement state is the largest fixed cost of a decision. A caller that kept the state of an
/// earlier decision, brought up to date, hands it in instead (`with_state`).
#[derive(Debug)]
pub struct LazyPlacer<'a> {
    snapshot: &'a ClusterSnapshot,
    /// Node index of each snapshot pod, as `ClusterState::existing_with_pod_facts` takes it.
    pod_nodes: &'a [Option<NodeIdx>],
    /// Effective request of each snapshot pod.
    pod_requests: &'a [Resources],
    placer: Option<Placer<'a>>,
}

impl<'a> LazyPlacer<'a> {
    pub fn new(
        snapshot: &'a ClusterSnapshot,
        pod_nodes: &'a [Option<NodeIdx>],
        pod_requests: &'a [Resources],
    ) -> Self {
        Self {
            snapshot,
            pod_nodes,
            pod_requests,
            placer: None,
        }
    }

    /// A placer over `state`, which must equal what `get` would build from the snapshot.
    pub fn with_state(
        snapshot: &'a ClusterSnapshot,
        pod_nodes: &'a [Option<NodeIdx>],
        pod_requests: &'a [Resources],
        state: Option<ClusterState>,
    ) -> Self {
        Self {
            placer: state.map(Placer::new),
            ..Self::new(snapshot, pod_nodes, pod_requests)
        }
    }

    /// The placer over the snapshot's existing nodes and bound pods.
    pub fn get(&mut self) -> &mut Placer<'a> {
        self.placer.get_or_insert_with(|| {
            Placer::new(ClusterState::existing_with_pod_facts(
                self.snapshot,
                self.pod_nodes,
                self.pod_requests,
            ))
        })
    }

    /// The placement state, if it was built.
    pub fn built(&mut self) -> Option<&mut Placer<'a>> {
        self.placer.as_mut()
    }

    /// The placement state, if it was built or handed in.
    pub fn into_state(self) -> Option<ClusterState> {
        self.placer.map(|p| p.state)
    }
}

impl<'a> Placer<'a> {
    pub fn new(state: ClusterState) -> Self {
        let mut placer = Self {
            indexed: vec![None; state.node_count()],
            state,
            by_free_cpu: BTreeSet::new(),
            classes: ClassTable::default(),
            failures: BTreeMap::new(),
            epoch: 0,
            checks: 0,
        };
        for i in 0..placer.state.node_count() {
            placer.refresh(i);
        }
        placer
    }

    /// Re-indexes one node after its free capacity or schedulability changed.
    fn refresh(&mut self, node: NodeIdx) {
        if self.indexed.len() <= node {
            self.indexed.resize(node + 1, None);
        }
        if let Some(old) = self.indexed[node].take() {
            self.by_free_cpu.remove(&(old, node));
        }
        let destination = self.state.is_schedulable(node)
            && matches!(
                self.state.node_kind(node),
                NodeKind::Existing | NodeKind::New
            );
        if destination {
            let free = self.state.allocatable(node).cpu_milli - self.state.used(node).cpu_milli;
            self.by_free_cpu.insert((free, node));
            self.indexed[node] = Some(free);
        }
    }

    pub fn bind(&mut self, pod: &Pod, node: NodeIdx) {
        self.state.bind(pod, node);
        self.refresh(node);
    }

    /// `bind` with the pod's effective request already known.
    pub fn bind_with_request(&mut self, pod: &Pod, node: NodeIdx, request: &Resources) {
        self.state.bind_with_request(pod, node, request);
        self.refresh(node);
    }

    pub fn unbind(&mut self, pod: &Pod) {
        if let Some(node) = self.state.unbind(pod) {
            self.refresh(node);
        }
    }

    pub fn set_schedulable(&mut self, node: NodeIdx, schedulable: bool) {
        self.state.set_schedulable(node, schedulable);
        self.refresh(node);
    }

    /// A committed removal changes what fits: forget cached failures.
    pub fn commit(&mut self) {
        self.epoch += 1;
    }

    /// The tightest (least free cpu, then lowest index) node that takes `pod` now, or why none
    /// does. `removing` is the node being emptied (it is unschedulable meanwhile); with
    /// `use_cache`, a class that failed since the last commit fails again unless the node that
    /// was being emptied then takes it now.
    pub fn find_place(
        &mut self,
        pod: &'a Pod,
        request: &Resources,
        removing: NodeIdx,
        use_cache: bool,
    ) -> Result<NodeIdx, NoPlace> {
        let class = self.classes.class_of(pod, request);
        if let Some(rec) = self
            .failures
            .get(&class)
            .filter(|r| use_cache && r.epoch == self.epoch)
        {
            let retry = rec.excluded;
            let why = rec.why.clone();
            self.checks += 1;
            if retry != removing && self.state.check_with_request(pod, request, retry).is_ok() {
                return Ok(retry);
            }
            return Err(why);
        }
        let mut reasons: BTreeMap<Unfit, u32> = BTreeMap::new();
        let low = (request.cpu_milli, 0);
        for &(_, node) in self.by_free_cpu.range(low..) {
            self.checks += 1;
            match self.state.check_with_request(pod, request, node) {
                Ok(()) => return Ok(node),
                Err(why) => *reasons.entry(why).or_insert(0) += 1,
            }
        }
        let short_of_cpu = self.by_free_cpu.range(..low).count();
        if short_of_cpu > 0 {
            *reasons
                .entry(Unfit::InsufficientResources {
                    resources: vec![crate::model::resources::CPU.to_string()],
                })
                .or_insert(0) += u32::try_from(short_of_cpu).unwrap_or(u32::MAX);
        }
        let why = NoPlace::from_counts(&reasons);
        if use_cache {
            self.failures.insert(
                class,
                FailRecord {
                    epoch: self.epoch,
                    excluded: removing,
                    why: why.clone(),
                },
            );
        }
        Err(why)
    }
}
