//! PodDisruptionBudget accounting: disruptions allowed now, and what a decision consumes.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use crate::model::snapshot::IntOrPercent;
use crate::model::{ClusterSnapshot, Pod, PodDisruptionBudget, Resources};
use crate::sched::{NameIndex, existing_node_names};

/// Budgets of every PDB of a snapshot, with a running count of what the decision consumed.
#[derive(Debug, Clone)]
pub struct PdbLedger {
    /// Index in `snapshot.pdbs` of each ledger entry; entries are sorted by namespace/name so
    /// that the ledger does not depend on the snapshot's order.
    pub source: Vec<usize>,
    /// `namespace/name` per PDB.
    pub keys: Vec<String>,
    pub allowed: Vec<i32>,
    pub consumed: Vec<i32>,
}

/// Resolves an int-or-percent against `total`, rounding up (Kubernetes'
/// `GetScaledValueFromIntOrPercent(.., roundUp=true)` as the disruption controller uses it).
/// A malformed percentage resolves to `None` (treated as "no disruption allowed").
pub fn resolve(value: &IntOrPercent, total: i64) -> Option<i64> {
    match value {
        IntOrPercent::Int(n) => Some(i64::from(*n)),
        IntOrPercent::Percent(text) => {
            let digits = text.trim().strip_suffix('%')?;
            let pct: i64 = digits.trim().parse().ok()?;
            if pct < 0 {
                return None;
            }
            Some((pct.saturating_mul(total) + 99) / 100)
        }
    }
}

/// Whether `pdb` covers `pod` (same namespace, selector matches). As in policy/v1, an empty
/// selector matches every pod of the namespace.
pub fn covers(pdb: &PodDisruptionBudget, pod: &Pod) -> bool {
    pdb.namespace == pod.namespace && pdb.selector.matches(&pod.labels)
}

/// Disruptions a PDB allows now: its observed `status.disruptionsAllowed` when the snapshot has
/// it, otherwise computed like the disruption controller from the spec and the matching pods
/// (`expected` = matching pods, `healthy` = those bound to a Ready node).
pub fn disruptions_allowed(pdb: &PodDisruptionBudget, snapshot: &ClusterSnapshot) -> i32 {
    disruptions_allowed_with(pdb, snapshot, &ready_nodes(snapshot))
}

fn ready_nodes(snapshot: &ClusterSnapshot) -> BTreeSet<&str> {
    snapshot
        .nodes
        .iter()
        .filter(|n| n.ready)
        .map(|n| n.name.as_str())
        .collect()
}

fn disruptions_allowed_with(
    pdb: &PodDisruptionBudget,
    snapshot: &ClusterSnapshot,
    ready: &BTreeSet<&str>,
) -> i32 {
    if pdb.disruptions_allowed.is_some() {
        return allowed_from(pdb, 0, 0);
    }
    let mut expected: i64 = 0;
    let mut healthy: i64 = 0;
    for pod in snapshot.pods.iter().filter(|p| covers(pdb, p)) {
        expected += 1;
        if pod.node_name.as_deref().is_some_and(|n| ready.contains(n)) {
            healthy += 1;
        }
    }
    allowed_from(pdb, expected, healthy)
}

/// The disruption controller's arithmetic, from the matching (`expected`) and healthy pods.
fn allowed_from(pdb: &PodDisruptionBudget, expected: i64, healthy: i64) -> i32 {
    if let Some(observed) = pdb.disruptions_allowed {
        return observed.max(0);
    }
    let allowed = match (&pdb.min_available, &pdb.max_unavailable) {
        (_, Some(max_unavailable)) => match resolve(max_unavailable, expected) {
            Some(max) => max - (expected - healthy),
            None => 0,
        },
        (Some(min_available), None) => match resolve(min_available, expected) {
            Some(min) => healthy - min,
            None => 0,
        },
        // Neither field: the API server rejects this; allow nothing rather than everything.
        (None, None) => 0,
    };
    i32::try_from(allowed.max(0)).unwrap_or(i32::MAX)
}

/// Ledger indices (ascending) of the PDBs covering one pod, shared by every pod with the same
/// namespace and labels.
pub type Cover = Arc<[usize]>;

/// A pod's namespace and labels: what decides which PDBs cover it.
type LabelSet<'a> = (&'a str, &'a BTreeMap<String, String>);

/// PDBs (ledger indices) covering pods, cached by (namespace, labels): the pods of one
/// controller share both, so a snapshot of many pods needs few selector evaluations.
#[derive(Debug, Default)]
pub struct CoverCache<'a> {
    by_ns: BTreeMap<&'a str, Vec<usize>>,
    /// By a fingerprint of (namespace, labels), then compared in full: ordering whole label
    /// maps in a tree costs far more than hashing them once.
    cache: BTreeMap<u64, Vec<(LabelSet<'a>, Cover)>>,
    /// The answer for the namespace without any PDB (most pods of many clusters).
    none: Cover,
}

impl<'a> CoverCache<'a> {
    pub fn new(snapshot: &'a ClusterSnapshot, source: &[usize]) -> Self {
        let mut by_ns: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, &src) in source.iter().enumerate() {
            by_ns
                .entry(snapshot.pdbs[src].namespace.as_str())
                .or_default()
                .push(i);
        }
        Self {
            by_ns,
            cache: BTreeMap::new(),
            none: Arc::from(Vec::new()),
        }
    }

    /// Ledger indices of the PDBs covering `pod` (ascending).
    pub fn covering(
        &mut self,
        snapshot: &'a ClusterSnapshot,
        source: &[usize],
        pod: &'a Pod,
    ) -> Cover {
        let Some(candidates) = self.by_ns.get(pod.namespace.as_str()) else {
            return Arc::clone(&self.none);
        };
        let set: LabelSet<'a> = (pod.namespace.as_str(), &pod.labels);
        // DefaultHasher::new() has fixed keys: the same fingerprint on every run.
        let mut h = DefaultHasher::new();
        set.hash(&mut h);
        let same = self.cache.entry(h.finish()).or_default();
        if let Some((_, cover)) = same.iter().find(|(s, _)| *s == set) {
            return Arc::clone(cover);
        }
        let cover: Cover = candidates
            .iter()
            .copied()
            .filter(|i| snapshot.pdbs[source[*i]].selector.matches(&pod.labels))
            .collect();
        same.push((set, Arc::clone(&cover)));
        cover
    }
}

/// What a decision needs to know about every pod of the snapshot, computed in one pass: the
/// node it is bound to (index in the decision's `ClusterState`), its effective request and the
/// PDBs covering it.
#[derive(Debug)]
pub struct PodFacts {
    /// Per pod of `snapshot.pods` (same order): its node, when that node exists.
    pub node: Vec<Option<usize>>,
    /// Per pod of `snapshot.pods` (same order): `Pod::effective_requests`, computed once for
    /// the utilizations, the evictions and the placement state.
    pub request: Vec<Resources>,
    /// Per pod of `snapshot.pods` (same order): the PDBs (ledger indices) covering it.
    pub cover: Vec<Cover>,
    /// Per node index: some node of the snapshot with that name is Ready.
    pub node_ready: Vec<bool>,
}

impl PodFacts {
    /// `node_index` maps a node name to its index (`node_count` indices in all).
    pub fn new(
        snapshot: &ClusterSnapshot,
        source: &[usize],
        node_count: usize,
        node_index: impl Fn(&str) -> Option<usize>,
    ) -> Self {
        let mut node_ready = vec![false; node_count];
        for n in &snapshot.nodes {
            if let Some(i) = node_index(&n.name)
                && let Some(ready) = node_ready.get_mut(i)
            {
                *ready |= n.ready;
            }
        }
        let mut cover = CoverCache::new(snapshot, source);
        // Pods are often listed node by node: remember the last lookup.
        let mut last: Option<(&str, Option<usize>)> = None;
        let mut nodes = Vec::with_capacity(snapshot.pods.len());
        let mut covers = Vec::with_capacity(snapshot.pods.len());
        let mut requests = Vec::with_capacity(snapshot.pods.len());
        for pod in &snapshot.pods {
            requests.push(pod.effective_requests());
            let node = pod.node_name.as_deref().and_then(|name| match last {
                Some((n, i)) if n == name => i,
                _ => {
                    let i = node_index(name);
                    last = Some((name, i));
                    i
                }
            });
            nodes.push(node);
            covers.push(cover.covering(snapshot, source, pod));
        }
        Self {
            node: nodes,
            request: requests,
            cover: covers,
            node_ready,
        }
    }

    /// Whether pod `i` is bound to a Ready node (the disruption controller's "healthy").
    pub fn healthy(&self, i: usize) -> bool {
        self.node[i]
            .and_then(|n| self.node_ready.get(n).copied())
            .unwrap_or(false)
    }
}

/// PDBs sorted by namespace/name: indices into `snapshot.pdbs`.
pub fn ledger_order(snapshot: &ClusterSnapshot) -> Vec<usize> {
    let mut source: Vec<usize> = (0..snapshot.pdbs.len()).collect();
    source.sort_by(|a, b| {
        let (x, y) = (&snapshot.pdbs[*a], &snapshot.pdbs[*b]);
        (&x.namespace, &x.name).cmp(&(&y.namespace, &y.name))
    });
    source
}

impl PdbLedger {
    pub fn new(snapshot: &ClusterSnapshot) -> Self {
        let names = existing_node_names(snapshot);
        let source = ledger_order(snapshot);
        let index = NameIndex::new(&names);
        let facts = PodFacts::new(snapshot, &source, names.len(), |name| index.find(name));
        Self::with_facts(snapshot, source, &facts)
    }

    /// The ledger from per-pod facts already computed for the decision; `source` is
    /// [`ledger_order`].
    pub fn with_facts(snapshot: &ClusterSnapshot, source: Vec<usize>, facts: &PodFacts) -> Self {
        let keys = source
            .iter()
            .map(|i| format!("{}/{}", snapshot.pdbs[*i].namespace, snapshot.pdbs[*i].name))
            .collect();
        // Matching and healthy pods per PDB.
        let mut expected = vec![0i64; source.len()];
        let mut healthy = vec![0i64; source.len()];
        for (p, cover) in facts.cover.iter().enumerate() {
            if cover.is_empty() {
                continue;
            }
            let is_healthy = facts.healthy(p);
            for &i in cover.iter() {
                expected[i] += 1;
                healthy[i] += i64::from(is_healthy);
            }
        }
        let allowed = source
            .iter()
            .enumerate()
            .map(|(i, src)| allowed_from(&snapshot.pdbs[*src], expected[i], healthy[i]))
            .collect();
        Self {
            source,
            keys,
            allowed,
            consumed: vec![0; snapshot.pdbs.len()],
        }
    }

    /// The first PDB (in ledger order) that cannot take `extra[i]` more disruptions, if any.
    pub fn first_exhausted(&self, extra: &[(usize, i32)]) -> Option<usize> {
        extra
            .iter()
            .find(|(i, n)| self.consumed[*i] + n > self.allowed[*i])
            .map(|(i, _)| *i)
    }

    pub fn consume(&mut self, extra: &[(usize, i32)]) {
        for (i, n) in extra {
            self.consumed[*i] += n;
        }
    }
}
