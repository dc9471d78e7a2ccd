//! The scale-down decision: candidates, blocking rules, greedy multi-node removal with
//! re-placement, consolidation by deletion, then N-to-M replacement.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::node::SCALE_DOWN_DISABLED;
use crate::model::pod::WhenUnsatisfiable;
use crate::model::{ClusterSnapshot, Node, NodeGroup, Pod, Resources};
use crate::sched::{ClusterState, NameIndex, NodeIdx, existing_node_positions};

use super::blocking::{PodDisposition, disposition};
use super::consolidation::disruption_units;
use super::pdb::{Cover, PdbLedger, PodFacts, ledger_order};
use super::place::LazyPlacer;
use super::replace::plan_replacement;
use super::types::{
    Eviction, KeepReason, NodeRemoval, NodeVerdict, PdbBudget, PodBlock, RemovalKind,
    ScaleDownOptions, ScaleDownPlan,
};

/// What the planner knows about one node before deciding.
#[derive(Debug)]
pub(crate) struct NodeInfo<'a> {
    pub idx: NodeIdx,
    pub node: &'a Node,
    pub group: Option<&'a NodeGroup>,
    pub price: f64,
    /// Every pod bound there (sorted by key).
    pub pods: Vec<&'a Pod>,
    /// Pods to evict, hardest to place first (largest cpu, then memory, then key), with their
    /// effective request and covering PDB indices.
    pub evict: Vec<(&'a Pod, Resources, Cover)>,
    pub cpu: f64,
    pub memory: f64,
    /// Disruptions per PDB that evicting every pod of the node consumes (sorted by PDB index).
    pub pdb_use: Vec<(usize, i32)>,
    /// Why the node can never go in this decision, when known before simulating.
    pub verdict: Option<KeepReason>,
    /// The node is empty (only DaemonSet and mirror pods).
    pub empty: bool,
    pub underutilized: bool,
}

impl NodeInfo<'_> {
    /// Priority-weighted evicted pods, in exact units (see `disruption_units`).
    pub fn disruption(&self) -> i64 {
        self.evict.iter().map(|(p, _, _)| disruption_units(p)).sum()
    }
}

fn fraction(used: i64, allocatable: i64) -> f64 {
    if allocatable <= 0 {
        return if used > 0 { 1.0 } else { 0.0 };
    }
    used as f64 / allocatable as f64
}

fn opted_out(node: &Node) -> bool {
    node.labels.get(SCALE_DOWN_DISABLED).map(String::as_str) == Some("true")
        || node
            .annotations
            .get(SCALE_DOWN_DISABLED)
            .map(String::as_str)
            == Some("true")
}

/// Shared context of one decision.
#[derive(Debug)]
pub(crate) struct Decision<'a> {
    pub snapshot: &'a ClusterSnapshot,
    pub opts: &'a ScaleDownOptions,
    pub placer: LazyPlacer<'a>,
    pub nodes: Vec<NodeInfo<'a>>,
    pub ledger: PdbLedger,
    /// Existing nodes per group, and how many this decision removes.
    pub group_size: BTreeMap<&'a str, u32>,
    pub group_removed: BTreeMap<&'a str, u32>,
    /// Nodes (state indices) that received pods of removed nodes.
    pub destinations: BTreeSet<NodeIdx>,
    /// Nodes (info indices) removed or replaced.
    pub gone: BTreeSet<usize>,
    /// Every pod the accepted removals move, with its destination, in plan order.
    pub moved: Vec<(&'a Pod, NodeIdx)>,
    pub cluster_cost: f64,
    /// Priority-weighted evictable pods of the cluster, computed when consolidation first
    /// needs it (most decisions never weigh disruption).
    cluster_disruption: Option<f64>,
}

/// The positions of the pods bound to each node index, sorted by namespace, name and position
/// (so of pods sharing a key the first listed comes first).
pub(crate) fn pods_by_node(snapshot: &ClusterSnapshot, facts: &PodFacts) -> Vec<Vec<usize>> {
    let mut lists: Vec<Vec<usize>> = vec![Vec::new(); facts.node_ready.len()];
    for (p, node) in facts.node.iter().enumerate() {
        if let Some(n) = node {
            lists[*n].push(p);
        }
    }
    for list in &mut lists {
        // Positions are ascending already: a stable sort by key keeps them so within a key.
        list.sort_by(|a, b| pod_order(snapshot, *a, *b));
    }
    lists
}

/// Order of pods in a node's list: namespace, name, then position.
pub(crate) fn pod_order(snapshot: &ClusterSnapshot, a: usize, b: usize) -> std::cmp::Ordering {
    let (x, y) = (&snapshot.pods[a], &snapshot.pods[b]);
    (&x.namespace, &x.name, a).cmp(&(&y.namespace, &y.name, b))
}

fn analyse<'a>(
    snapshot: &'a ClusterSnapshot,
    opts: &ScaleDownOptions,
    inputs: &Inputs,
) -> Vec<NodeInfo<'a>> {
    let facts = &inputs.facts;
    let groups: BTreeMap<&str, &NodeGroup> = snapshot
        .node_groups
        .iter()
        .map(|g| (g.name.as_str(), g))
        .collect();
    let prices: BTreeMap<&str, f64> = snapshot
        .sizes
        .iter()
        .map(|s| (s.name.as_str(), s.hourly_price))
        .collect();
    let mut infos = Vec::with_capacity(inputs.positions.len());
    for (idx, &position) in inputs.positions.iter().enumerate() {
        let node = &snapshot.nodes[position];
        let name = node.name.as_str();
        let group = node
            .node_group
            .as_deref()
            .and_then(|g| groups.get(g).copied());
        let price = group
            .and_then(|g| prices.get(g.size.as_str()).copied())
            .unwrap_or(0.0);
        let mut pods: Vec<(&Pod, usize)> = inputs.pods_by_node[idx]
            .iter()
            .map(|&p| (&snapshot.pods[p], p))
            .collect();
        if !inputs.distinct_keys {
            pods.dedup_by(|(a, _), (b, _)| a.namespace == b.namespace && a.name == b.name);
        }
        // What the placement state would hold for the node: every bound pod's request.
        let mut used = Resources::default();
        for &(_, p) in &pods {
            used.add_assign(&facts.request[p]);
        }
        let allocatable = &node.allocatable;
        let cpu = fraction(used.cpu_milli, allocatable.cpu_milli);
        let memory = fraction(used.memory, allocatable.memory);
        let threshold = group
            .and_then(|g| g.scale_down_utilization_threshold)
            .unwrap_or(opts.utilization_threshold);
        let mut info = NodeInfo {
            idx,
            node,
            group,
            price,
            pods: Vec::new(),
            evict: Vec::new(),
            cpu,
            memory,
            pdb_use: Vec::new(),
            verdict: None,
            empty: false,
            underutilized: !node.ready || (cpu < threshold && memory < threshold),
        };
        info.verdict = if group.is_none() {
            Some(KeepReason::NotManaged)
        } else if opted_out(node) {
            Some(KeepReason::ScaleDownDisabled)
        } else if let Some(why) = opts.protected_nodes.get(name) {
            Some(KeepReason::Protected { why: why.clone() })
        } else if node.unschedulable {
            Some(KeepReason::Cordoned)
        } else {
            None
        };
        if info.verdict.is_none() {
            let mut pdb_use: BTreeMap<usize, i32> = BTreeMap::new();
            for &(pod, p) in &pods {
                let covering = Cover::clone(&facts.cover[p]);
                match disposition(pod, !covering.is_empty()) {
                    PodDisposition::GoesWithNode => {}
                    PodDisposition::Evict => {
                        for i in covering.iter() {
                            *pdb_use.entry(*i).or_insert(0) += 1;
                        }
                        info.evict.push((pod, facts.request[p].clone(), covering));
                    }
                    PodDisposition::Blocks(block) => {
                        info.verdict.get_or_insert(KeepReason::PodBlocks {
                            pod: pod.key(),
                            block,
                        });
                    }
                }
            }
            info.empty = info.evict.is_empty() && info.verdict.is_none();
            info.pdb_use = pdb_use.into_iter().collect();
            info.evict.sort_by(|a, b| {
                (b.1.cpu_milli, b.1.memory)
                    .cmp(&(a.1.cpu_milli, a.1.memory))
                    .then_with(|| (&a.0.namespace, &a.0.name).cmp(&(&b.0.namespace, &b.0.name)))
            });
            // Empty nodes are removed whatever their DaemonSet usage.
            if info.empty {
                info.underutilized = true;
            }
        }
        info.pods = pods.into_iter().map(|(pod, _)| pod).collect();
        infos.push(info);
    }
    infos
}

/// Order in which candidates are tried: empty nodes, then not-ready ones, then the least
/// utilized (max of cpu and memory fractions, then their sum), ties by name.
fn candidate_order(infos: &[NodeInfo<'_>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..infos.len())
        .filter(|i| infos[*i].verdict.is_none())
        .collect();
    order.sort_by(|a, b| {
        let key = |n: &NodeInfo<'_>| {
            let rank = if n.empty {
                0
            } else if !n.node.ready {
                1
            } else {
                2
            };
            (rank, n.cpu.max(n.memory), n.cpu + n.memory)
        };
        let (ra, ua, sa) = key(&infos[*a]);
        let (rb, ub, sb) = key(&infos[*b]);
        ra.cmp(&rb)
            .then(ua.total_cmp(&ub))
            .then(sa.total_cmp(&sb))
            .then_with(|| infos[*a].node.name.cmp(&infos[*b].node.name))
    });
    order
}

/// Result of trying to empty one node.
pub(crate) enum Trial {
    Placed(Vec<Eviction>, Vec<NodeIdx>),
    Failed(KeepReason),
}

impl<'a> Decision<'a> {
    /// Priority-weighted evictable pods of the cluster (see `disruption_units`).
    pub fn cluster_disruption(&mut self) -> f64 {
        let snapshot = self.snapshot;
        *self.cluster_disruption.get_or_insert_with(|| {
            snapshot
                .pods
                .iter()
                .filter(|p| p.node_name.is_some() && !p.is_mirror() && !p.is_daemonset_pod())
                .map(disruption_units)
                .sum::<i64>() as f64
        })
    }

    fn group_of(&self, i: usize) -> &'a str {
        self.nodes[i].group.map(|g| g.name.as_str()).unwrap_or("")
    }

    /// Whether one more node of node `i`'s group may go.
    fn group_allows(&self, i: usize, extra: u32) -> Option<KeepReason> {
        let group = self.nodes[i].group?;
        let size = self
            .group_size
            .get(group.name.as_str())
            .copied()
            .unwrap_or(0);
        let removed = self
            .group_removed
            .get(group.name.as_str())
            .copied()
            .unwrap_or(0);
        if size < removed + extra + group.min {
            return Some(KeepReason::GroupAtMin {
                group: group.name.clone(),
                min: group.min,
            });
        }
        None
    }

    fn pdb_block(&self, i: usize) -> Option<KeepReason> {
        let info = &self.nodes[i];
        let pdb = self.ledger.first_exhausted(&info.pdb_use)?;
        let pod = info
            .evict
            .iter()
            .filter(|(_, _, covering)| covering.contains(&pdb))
            .map(|(p, _, _)| p.key())
            .min()
            .unwrap_or_default();
        Some(KeepReason::PodBlocks {
            pod,
            block: PodBlock::PdbExhausted {
                pdb: self.ledger.keys[pdb].clone(),
                allowed: self.ledger.allowed[pdb],
                used: self.ledger.consumed[pdb],
            },
        })
    }

    /// Takes node `i` out (unschedulable, every pod unbound) and re-places its evictable pods on
    /// nodes that stay. On failure everything is restored.
    pub fn try_empty(&mut self, i: usize, use_cache: bool) -> Trial {
        let idx = self.nodes[i].idx;
        self.placer.get().set_schedulable(idx, false);
        for pod in &self.nodes[i].pods {
            self.placer.get().unbind(pod);
        }
        let mut placed: Vec<(usize, NodeIdx)> = Vec::new();
        let mut failure = None;
        for k in 0..self.nodes[i].evict.len() {
            let (pod, request) = (self.nodes[i].evict[k].0, self.nodes[i].evict[k].1.clone());
            match self.placer.get().find_place(pod, &request, idx, use_cache) {
                Ok(dest) => {
                    self.placer.get().bind_with_request(pod, dest, &request);
                    placed.push((k, dest));
                }
                Err(why) => {
                    failure = Some(KeepReason::PodBlocks {
                        pod: pod.key(),
                        block: PodBlock::NoPlace {
                            unfit: why.main.code().to_string(),
                            detail: why.detail,
                        },
                    });
                    break;
                }
            }
        }
        if let Some(reason) = failure {
            self.restore(i, &placed);
            return Trial::Failed(reason);
        }
        let evictions: Vec<Eviction> = placed
            .iter()
            .map(|(k, dest)| {
                let (pod, _, covering) = &self.nodes[i].evict[*k];
                Eviction {
                    pod: pod.key(),
                    destination: self.placer.get().state.node_name(*dest).to_string(),
                    pdbs: covering
                        .iter()
                        .map(|c| self.ledger.keys[*c].clone())
                        .collect(),
                }
            })
            .collect();

        Trial::Placed(evictions, placed.iter().map(|(_, d)| *d).collect())
    }

    /// Undoes a trial of node `i` whose pods `placed` were bound elsewhere.
    pub fn restore(&mut self, i: usize, placed: &[(usize, NodeIdx)]) {
        for (k, _) in placed {
            let pod = self.nodes[i].evict[*k].0;
            self.placer.get().unbind(pod);
        }
        self.put_back(i);
    }

    /// Binds every pod of node `i` on it again and makes it schedulable; those of its pods
    /// that were placed elsewhere must have been unbound first.
    pub fn put_back(&mut self, i: usize) {
        let idx = self.nodes[i].idx;
        let placer = self.placer.get();
        for pod in &self.nodes[i].pods {
            placer.state.bind(pod, idx);
        }
        placer.set_schedulable(idx, true);
    }

    /// Checks that the pods earlier removals moved still fit where they go once node `i`
    /// (whose trial just placed `dests`) goes too, and returns why not otherwise.
    ///
    /// Each earlier pod was placed while the pods of nodes removed later in the list were still
    /// bound. A plan must be safe for every prefix of its removals carried out at once, and then
    /// a removed node's pods no longer count (kube-scheduler counts only bound pods): fewer
    /// matching pods can lower a topology spread's minimum, so a destination that kept the skew
    /// then exceeds it, or take away the pod a required pod affinity relied on. Everything else
    /// a placement depends on is on its destination, which never loses pods, or only gets
    /// easier with fewer pods (anti-affinity). So the moves are replayed in plan order from the
    /// state without them, checking the pods with spread or affinity constraints. The bindings
    /// end as they were, so a failure is undone by `restore`.
    fn moved_pod_broken_by(&mut self, i: usize, dests: &[NodeIdx]) -> Option<KeepReason> {
        let sensitive = |p: &Pod| {
            !p.affinity.pod_affinity.is_empty()
                || p.topology_spread_constraints
                    .iter()
                    .any(|c| c.when_unsatisfiable == WhenUnsatisfiable::DoNotSchedule)
        };
        if !self.moved.iter().any(|(p, _)| sensitive(p)) {
            return None;
        }
        let mut replay = self.moved.clone();
        for (k, dest) in dests.iter().enumerate() {
            replay.push((self.nodes[i].evict[k].0, *dest));
        }
        for (pod, _) in &replay {
            self.placer.get().unbind(pod);
        }
        let mut broken = None;
        for &(pod, dest) in &replay {
            if broken.is_none()
                && sensitive(pod)
                && let Err(unfit) = self.placer.get().state.check(pod, dest)
            {
                broken = Some(KeepReason::PodBlocks {
                    pod: pod.key(),
                    block: PodBlock::NoPlace {
                        unfit: unfit.code().to_string(),
                        detail: format!(
                            "with this node's pods gone too, {} where an earlier removal moves it: {unfit}",
                            self.placer.get().state.node_name(dest)
                        ),
                    },
                });
            }
            // Bound even when it no longer fits, so that `restore` finds the state it left.
            self.placer.get().bind(pod, dest);
        }
        broken
    }

    fn record_removal(
        &mut self,
        i: usize,
        kind: RemovalKind,
        evictions: Vec<Eviction>,
        dests: &[NodeIdx],
    ) -> NodeRemoval {
        let info = &self.nodes[i];
        let removal = NodeRemoval {
            node: info.node.name.clone(),
            group: self.group_of(i).to_string(),
            empty: info.evict.is_empty(),
            kind,
            evictions,
            hourly_saving: info.price,
            cpu_utilization: info.cpu,
            memory_utilization: info.memory,
        };
        let use_ = info.pdb_use.clone();
        self.ledger.consume(&use_);
        *self.group_removed.entry(self.group_of(i)).or_insert(0) += 1;
        self.destinations.extend(dests.iter().copied());
        // `dests[k]` is where `evict[k]` went (a successful trial places every pod in order).
        for (k, dest) in dests.iter().enumerate() {
            self.moved.push((self.nodes[i].evict[k].0, *dest));
        }
        self.gone.insert(i);
        self.placer.get().commit();
        removal
    }
}

/// What a decision computes from the snapshot's nodes, pods and PDBs before deciding.
pub(crate) struct Inputs {
    /// [`existing_node_positions`]: the node of each node index.
    pub positions: Vec<usize>,
    /// [`ledger_order`].
    pub source: Vec<usize>,
    pub facts: PodFacts,
    /// [`pods_by_node`].
    pub pods_by_node: Vec<Vec<usize>>,
    /// No two pods of one node's list share a key (false when unsure).
    pub distinct_keys: bool,
}

impl Inputs {
    pub fn new(snapshot: &ClusterSnapshot) -> Self {
        // Node indices as the placer, built later if at all, numbers them.
        let positions = existing_node_positions(snapshot);
        let names: Vec<&str> = positions
            .iter()
            .map(|&i| snapshot.nodes[i].name.as_str())
            .collect();
        let source = ledger_order(snapshot);
        let index = NameIndex::new(&names);
        let facts = PodFacts::new(snapshot, &source, names.len(), |name| index.find(name));
        let pods_by_node = pods_by_node(snapshot, &facts);
        let distinct_keys = pods_by_node.iter().all(|list| {
            list.windows(2).all(|w| {
                let (a, b) = (&snapshot.pods[w[0]], &snapshot.pods[w[1]]);
                a.namespace != b.namespace || a.name != b.name
            })
        });
        Self {
            positions,
            source,
            facts,
            pods_by_node,
            distinct_keys,
        }
    }
}

/// Computes the scale-down decision for a snapshot. Pure and deterministic: any permutation
/// of the snapshot's lists gives the same plan.
pub fn plan_scale_down(snapshot: &ClusterSnapshot, opts: &ScaleDownOptions) -> ScaleDownPlan {
    decide(snapshot, opts, &Inputs::new(snapshot), None, false).0
}

/// The decision from what was computed before deciding (`Inputs`). `state`, when given, is
/// the placement state of the snapshot (what `LazyPlacer` would build). With `keep_state`, the
/// placement state, if the decision built or was given one, is returned as it was before the
/// decision's simulations.
pub(crate) fn decide(
    snapshot: &ClusterSnapshot,
    opts: &ScaleDownOptions,
    inputs: &Inputs,
    state: Option<ClusterState>,
    keep_state: bool,
) -> (ScaleDownPlan, Option<ClusterState>) {
    let facts = &inputs.facts;
    let ledger = PdbLedger::with_facts(snapshot, inputs.source.clone(), facts);
    let nodes = analyse(snapshot, opts, inputs);
    let mut group_size: BTreeMap<&str, u32> = BTreeMap::new();
    for info in &nodes {
        if let Some(g) = info.group {
            *group_size.entry(g.name.as_str()).or_insert(0) += 1;
        }
    }
    let cluster_cost: f64 = nodes.iter().map(|n| n.price).sum();
    let mut d = Decision {
        snapshot,
        opts,
        placer: LazyPlacer::with_state(snapshot, &facts.node, &facts.request, state),
        nodes,
        ledger,
        group_size,
        group_removed: BTreeMap::new(),
        destinations: BTreeSet::new(),
        gone: BTreeSet::new(),
        moved: Vec::new(),
        cluster_cost,
        cluster_disruption: None,
    };
    let plan = d.plan();
    let state = if keep_state {
        d.into_base_state(inputs.positions.len())
    } else {
        None
    };
    (plan, state)
}

impl Decision<'_> {
    /// Undoes the removals and the replacement this decision committed (pods back on their
    /// nodes, the nodes schedulable again, nodes added from templates dropped) and returns the
    /// placement state, if it was built. `existing` is the number of existing nodes.
    fn into_base_state(mut self, existing: usize) -> Option<ClusterState> {
        let placer = self.placer.built()?;
        for &i in &self.gone {
            for pod in &self.nodes[i].pods {
                placer.state.unbind(pod);
            }
        }
        let gone: Vec<usize> = self.gone.iter().copied().collect();
        for i in gone {
            self.put_back(i);
        }
        self.placer.get().state.truncate_nodes(existing);
        self.placer.into_state()
    }

    /// The greedy passes and the replacement (see the module documentation).
    fn plan(&mut self) -> ScaleDownPlan {
        let d = self;
        let opts = d.opts;
        let mut removals: Vec<NodeRemoval> = Vec::new();
        let mut verdicts: BTreeMap<usize, KeepReason> = BTreeMap::new();
        let mut empties_removed: u32 = 0;
        let order = candidate_order(&d.nodes);

        // Pass 1: empty and under-utilized nodes (Cluster Autoscaler's rules); pass 2: nodes above
        // the threshold whose removal passes the consolidation rule.
        for consolidating in [false, true] {
            if consolidating && !opts.consolidation.enabled {
                break;
            }
            for &i in &order {
                if d.gone.contains(&i) || (!consolidating && verdicts.contains_key(&i)) {
                    continue;
                }
                if consolidating {
                    // Only nodes that pass 1 kept for utilization get a second chance.
                    if !matches!(verdicts.get(&i), Some(KeepReason::NotUnderutilized { .. })) {
                        continue;
                    }
                } else if !d.nodes[i].underutilized {
                    let threshold = d.nodes[i]
                        .group
                        .and_then(|g| g.scale_down_utilization_threshold)
                        .unwrap_or(opts.utilization_threshold);
                    verdicts.insert(
                        i,
                        KeepReason::NotUnderutilized {
                            cpu: d.nodes[i].cpu,
                            memory: d.nodes[i].memory,
                            threshold,
                        },
                    );
                    continue;
                }
                if let Some(reason) = gate(d, i, removals.len(), empties_removed) {
                    verdicts.insert(i, reason);
                    continue;
                }
                match d.try_empty(i, true) {
                    Trial::Failed(reason) => {
                        verdicts.insert(i, reason);
                    }
                    Trial::Placed(evictions, dests) => {
                        let kind = if d.nodes[i].empty {
                            RemovalKind::Empty
                        } else if consolidating {
                            RemovalKind::Consolidated
                        } else {
                            RemovalKind::Underutilized
                        };
                        if consolidating {
                            let savings = safe_div(d.nodes[i].price, d.cluster_cost);
                            let disruption =
                                safe_div(d.nodes[i].disruption() as f64, d.cluster_disruption());
                            if !opts.consolidation.worth_it(savings, disruption) {
                                let placed: Vec<(usize, NodeIdx)> =
                                    dests.iter().copied().enumerate().collect();
                                d.restore(i, &placed);
                                verdicts.insert(
                                    i,
                                    KeepReason::NotWorthDisruption {
                                        savings_fraction: savings,
                                        disruption_fraction: disruption,
                                    },
                                );
                                continue;
                            }
                        }
                        if let Some(reason) = d.moved_pod_broken_by(i, &dests) {
                            let placed: Vec<(usize, NodeIdx)> =
                                dests.iter().copied().enumerate().collect();
                            d.restore(i, &placed);
                            verdicts.insert(i, reason);
                            continue;
                        }
                        if d.nodes[i].empty {
                            empties_removed += 1;
                        }
                        verdicts.remove(&i);
                        removals.push(d.record_removal(i, kind, evictions, &dests));
                    }
                }
            }
        }

        let mut replacements = Vec::new();
        if opts.consolidation.enabled && removals.len() < opts.max_nodes as usize {
            let budget = opts.max_nodes as usize - removals.len();
            if let Some(r) = plan_replacement(d, &verdicts, budget) {
                replacements.push(r);
            }
        }

        let kept = d
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| !d.gone.contains(i))
            .map(|(i, info)| {
                let reason = match (&info.verdict, verdicts.get(&i)) {
                    (Some(r), _) => r.clone(),
                    _ if d.destinations.contains(&info.idx) => KeepReason::Destination,
                    (None, Some(r)) => r.clone(),
                    (None, None) => KeepReason::Destination,
                };
                NodeVerdict {
                    node: info.node.name.clone(),
                    reason,
                }
            })
            .collect();
        let pdb_budgets = pdb_budgets(d);
        ScaleDownPlan {
            removals,
            replacements,
            kept,
            pdb_budgets,
        }
    }
}

/// Checks that do not need a simulation: limits, group minimum, PDB budget.
fn gate(d: &Decision<'_>, i: usize, removed: usize, empties_removed: u32) -> Option<KeepReason> {
    if d.destinations.contains(&d.nodes[i].idx) {
        return Some(KeepReason::Destination);
    }
    if removed >= d.opts.max_nodes as usize {
        return Some(KeepReason::ParallelismLimit {
            limit: d.opts.max_nodes,
        });
    }
    if d.nodes[i].empty && empties_removed >= d.opts.max_empty_bulk {
        return Some(KeepReason::EmptyBulkLimit {
            limit: d.opts.max_empty_bulk,
        });
    }
    if let Some(r) = d.group_allows(i, 1) {
        return Some(r);
    }
    d.pdb_block(i)
}

pub(crate) fn safe_div(a: f64, b: f64) -> f64 {
    if b <= 0.0 { 0.0 } else { a / b }
}

fn pdb_budgets(d: &Decision<'_>) -> Vec<PdbBudget> {
    let mut out: Vec<PdbBudget> = (0..d.ledger.keys.len())
        .filter(|i| d.ledger.consumed[*i] > 0)
        .map(|i| PdbBudget {
            pdb: d.ledger.keys[i].clone(),
            allowed: d.ledger.allowed[i],
            consumed: d.ledger.consumed[i],
        })
        .collect();
    out.sort_by(|a, b| a.pdb.cmp(&b.pdb));
    out
}
