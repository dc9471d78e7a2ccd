//! `plan_scale_up`: pending pods → equivalence classes → node options → packed plan.
//!
//! 1. Pending pods (no node, not ignored, not DaemonSet or mirror pods), sorted by key, are
//!    grouped into classes; classes are processed largest first.
//! 2. Every class first tries existing and in-flight capacity through `ClusterState` (every
//!    filter): those pods go to `fit_existing`.
//! 3. Then, round after round: each node option that statically fits some remaining class is
//!    estimated cheaply, the most promising ones (in the expander's order) are simulated in full
//!    (inter-pod classes through `ClusterState` on hypothetical nodes, resource-only classes
//!    through the packing engine), the expander picks one, and its nodes are committed. Rounds
//!    stop when no option can take any remaining pod.
//! 4. Every pod left carries the most relevant reason over all options (see `reason`).
//!
//! The work budget bounds the optional work (packing improvement, how many options are
//! simulated in full beyond the first); the baseline placement always completes.

use std::collections::{BTreeMap, BTreeSet};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::model::node::LABEL_HOSTNAME;
use crate::model::pod::WhenUnsatisfiable;
use crate::model::{ClusterSnapshot, Pod, Resources};
use crate::sched::filters::{node_affinity_fit, node_selector_fit, taints_fit};
use crate::sched::{ClusterState, NodeIdx, Unfit};

use super::bound;
use super::classes::{PodClass, build_classes};
use super::expander::{Candidate, ExpanderKind};
use super::options::{Cap, LimitBudget, NodeOption, build_options};
use super::packing::{ItemClass, PackOptions, PackProblem, ffd, pack};
use super::plan::{GroupIncrease, LowerBound, PodVerdict, ScaleUpOptions, ScaleUpPlan};
use super::reason::NoCapacityReason;

/// Options simulated in full per round before the expander chooses (more when none helps).
const SIMULATED_PER_ROUND: usize = 3;

/// Checks of one inter-pod pod that fail for reasons more pods could undo (spread skew, missing
/// affinity partner) before the simulation opens a fresh node for it instead.
const SOFT_SCAN_LIMIT: usize = 32;

/// Plans new capacity for the snapshot's pending pods. Deterministic: the same snapshot (in any
/// order of nodes and pods) and options give the same plan.
pub fn plan_scale_up(snapshot: &ClusterSnapshot, opts: &ScaleUpOptions) -> ScaleUpPlan {
    let mut pending: Vec<&Pod> = snapshot
        .pods
        .iter()
        .filter(|p| {
            p.node_name.is_none()
                && !p.is_daemonset_pod()
                && !p.is_mirror()
                && !opts.ignored_pods.contains(&p.key())
        })
        .collect();
    pending.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    pending.dedup_by(|a, b| a.namespace == b.namespace && a.name == b.name);
    let classes = build_classes(&pending, &snapshot.pods);
    let options = build_options(snapshot, &opts.blocked_groups);
    let mut planner = Planner::new(snapshot, opts, classes, options);
    planner.run();
    planner.finish()
}

/// Where the nodes of one committed option may move when right-sized.
#[derive(Debug)]
struct RightSizeTargets {
    /// Options cheaper per node, cheapest first.
    cheaper: Vec<usize>,
    /// The largest of their capacities: a node whose pods exceed it fits none of them.
    largest: Resources,
    /// Topology keys of every inter-pod term in use.
    topology_keys: BTreeSet<String>,
}

/// Resource dimensions of the packing vectors: the four core ones, then extended resources.
#[derive(Debug)]
struct Dims {
    extended: Vec<String>,
}

impl Dims {
    fn vector(&self, r: &Resources) -> Vec<i64> {
        (0..self.len()).map(|d| self.component(r, d)).collect()
    }

    /// Number of dimensions.
    fn len(&self) -> usize {
        4 + self.extended.len()
    }

    /// Dimension `d` of `r` (negative amounts count as zero).
    fn component(&self, r: &Resources, d: usize) -> i64 {
        let x = match d {
            0 => r.cpu_milli,
            1 => r.memory,
            2 => r.ephemeral_storage,
            3 => r.pods,
            _ => r.extended(&self.extended[d - 4]),
        };
        x.max(0)
    }
}

/// Why a simulation left a class's pods without a node on one option.
#[derive(Debug, Clone)]
enum SimFail {
    /// The option's room (group max or a cluster limit) ran out.
    Cap(Cap),
    /// A fresh node of the option refused the pod.
    Unfit(Unfit),
}

/// Per class: nodes of the known list that can never take it again (monotone failures).
#[derive(Debug, Clone, Default)]
struct Scan {
    dead: Vec<bool>,
    first_live: usize,
}

/// What one simulation of an option did.
#[derive(Debug)]
struct Outcome<'a> {
    /// Pods per added node (only nodes that got pods).
    nodes: Vec<Vec<&'a Pod>>,
    /// State nodes behind `nodes` (commit mode, and nodes opened for inter-pod classes).
    node_ids: Vec<NodeIdx>,
    pods: u32,
    /// Requests placed plus DaemonSet usage, over the added nodes.
    used: Resources,
    /// Commit mode: the pods in the order they were bound.
    order: Vec<&'a Pod>,
}

struct Planner<'a> {
    opts: &'a ScaleUpOptions,
    classes: Vec<PodClass<'a>>,
    options: Vec<NodeOption>,
    /// Filters that depend only on the class and the option (see [`Statics`]).
    statics: Statics,
    /// Classes in processing order (largest first).
    order: Vec<usize>,
    state: ClusterState,
    limits: LimitBudget,
    dims: Dims,
    /// Nodes pending pods may use outside a simulation: existing, in-flight, committed.
    known: Vec<NodeIdx>,
    scans: Vec<Scan>,
    fails: BTreeMap<(usize, usize), SimFail>,
    /// Pods placed on existing or in-flight nodes.
    fit_existing: Vec<String>,
    /// Pods per committed node.
    planned_pods: BTreeMap<NodeIdx, Vec<String>>,
    /// Per class: its pods placed on planned nodes (what the lower bound covers).
    helped: Vec<u64>,
    /// When `record_placement_order` asks: every pod placed (existing, in-flight or new nodes),
    /// in order; its node is read from the state when the plan is finished (right-sizing may
    /// have moved it).
    placement_order: Vec<&'a Pod>,
    rng: ChaCha8Rng,
    work: u64,
    /// Largest cpu and memory over the options (normalises `Candidate::volume`).
    norm: (f64, f64),
}

impl<'a> Planner<'a> {
    fn new(
        snapshot: &'a ClusterSnapshot,
        opts: &'a ScaleUpOptions,
        classes: Vec<PodClass<'a>>,
        options: Vec<NodeOption>,
    ) -> Self {
        let state = ClusterState::from_snapshot(snapshot);
        let mut extended: Vec<String> = classes
            .iter()
            .flat_map(|c| c.request.extended.iter().map(|(n, _)| n.clone()))
            .collect();
        extended.sort();
        extended.dedup();
        let dims = Dims { extended };
        let statics = Statics::new(&classes, &options);
        let order = processing_order(&classes, &options);
        let known: Vec<NodeIdx> = (0..state.node_count()).collect();
        let scans = vec![Scan::default(); classes.len()];
        let helped = vec![0; classes.len()];
        Self {
            opts,
            statics,
            order,
            limits: LimitBudget::new(snapshot, &opts.limits),
            dims,
            known,
            scans,
            fails: BTreeMap::new(),
            fit_existing: Vec::new(),
            planned_pods: BTreeMap::new(),
            helped,
            placement_order: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(opts.seed),
            work: 0,
            norm: (
                options
                    .iter()
                    .map(|o| o.capacity.cpu_milli)
                    .max()
                    .unwrap_or(1)
                    .max(1) as f64,
                options
                    .iter()
                    .map(|o| o.capacity.memory)
                    .max()
                    .unwrap_or(1)
                    .max(1) as f64,
            ),
            state,
            classes,
            options,
        }
    }

    fn budget_left(&self) -> u64 {
        self.opts.work_budget.saturating_sub(self.work)
    }

    fn run(&mut self) {
        loop {
            self.place_on_known();
            let active: Vec<usize> = self
                .order
                .iter()
                .copied()
                .filter(|&c| self.classes[c].remaining_count() > 0)
                .collect();
            if active.is_empty() {
                break;
            }
            // Pods with a single possible option go first: their nodes are needed whatever the
            // expander says, and other pods can fill the room they leave.
            if let Some((o, forced)) = self.forced_option(&active) {
                let outcome = self.simulate(o, &forced, true);
                if outcome.pods > 0 {
                    self.commit(o, outcome);
                    continue;
                }
            }
            let ranked = self.rank_options(&active);
            if ranked.is_empty() {
                break;
            }
            let per_round = if self.budget_left() > 0 && self.opts.expander != ExpanderKind::Random
            {
                SIMULATED_PER_ROUND
            } else {
                1
            };
            let mut simulated: Vec<(usize, Candidate)> = Vec::new();
            for chunk in ranked.chunks(per_round) {
                for &o in chunk {
                    let outcome = self.simulate(o, &active, false);
                    if outcome.pods > 0 {
                        simulated.push((o, self.candidate(o, &outcome)));
                    }
                }
                if !simulated.is_empty() {
                    break;
                }
            }
            if simulated.is_empty() {
                break;
            }
            let pool: Vec<Candidate> = simulated.iter().map(|(_, c)| c.clone()).collect();
            let pick = if self.opts.expander == ExpanderKind::Random {
                // The ranking already drew at random; the first option that helps is the pick.
                Some(0)
            } else {
                self.opts.expander.choose(&pool, &mut self.rng)
            };
            let Some(pick) = pick else {
                break;
            };
            let o = simulated[pick].0;
            let outcome = self.simulate(o, &active, true);
            if outcome.pods == 0 {
                break;
            }
            self.commit(o, outcome);
        }
    }

    /// Places remaining pods on known nodes (existing, in-flight, committed), first fit in node
    /// order, honouring every filter.
    fn place_on_known(&mut self) {
        for &c in &self.order {
            let class = &mut self.classes[c];
            if class.remaining_count() == 0 {
                continue;
            }
            let scan = &mut self.scans[c];
            scan.dead.resize(self.known.len(), false);
            while class.next < class.members.len() {
                let pod = class.members[class.next];
                while scan.first_live < self.known.len() && scan.dead[scan.first_live] {
                    scan.first_live += 1;
                }
                let mut found = None;
                for j in scan.first_live..self.known.len() {
                    if scan.dead[j] {
                        continue;
                    }
                    self.work += 1;
                    if !fits_free(&class.request, &self.state, self.known[j]) {
                        scan.dead[j] = true;
                        continue;
                    }
                    match self
                        .state
                        .check_with_request(pod, &class.request, self.known[j])
                    {
                        Ok(()) => {
                            found = Some(self.known[j]);
                            break;
                        }
                        Err(e) if monotone(&e) => scan.dead[j] = true,
                        Err(_) => {}
                    }
                }
                let Some(node) = found else {
                    break;
                };
                self.state.bind_with_request(pod, node, &class.request);
                class.next += 1;
                if self.opts.record_placement_order {
                    self.placement_order.push(pod);
                }
                match self.planned_pods.get_mut(&node) {
                    Some(list) => {
                        list.push(pod.key());
                        self.helped[c] += 1;
                    }
                    None => self.fit_existing.push(pod.key()),
                }
            }
        }
    }

    /// Whether an option may add a node now.
    fn open(&self, o: usize) -> bool {
        let opt = &self.options[o];
        opt.blocked.is_none() && !opt.superseded && self.limits.room(opt).0 > 0
    }

    /// The first option that is the only possible one for some active classes, with them.
    fn forced_option(&self, active: &[usize]) -> Option<(usize, Vec<usize>)> {
        let open: Vec<usize> = (0..self.options.len()).filter(|&o| self.open(o)).collect();
        let mut forced: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &c in active {
            let mut fits = open.iter().filter(|&&o| self.statics.fits(c, o));
            if let (Some(&o), None) = (fits.next(), fits.next()) {
                forced.entry(o).or_default().push(c);
            }
        }
        forced.into_iter().next()
    }

    /// Options that may help some active class, best first by a cheap estimate in the
    /// expander's order (a seeded random order for `random`).
    fn rank_options(&mut self, active: &[usize]) -> Vec<usize> {
        let mut estimates: Vec<(usize, Candidate)> = Vec::new();
        for o in 0..self.options.len() {
            if !self.open(o) {
                continue;
            }
            let (room, _) = self.limits.room(&self.options[o]);
            if let Some(c) = self.estimate(o, active, room) {
                estimates.push((o, c));
            }
        }
        // The expander orders the first picks (all of them for `random`: a seeded shuffle);
        // the rest, only simulated when none of those helps, follow in least-cost order.
        let first = if self.opts.expander == ExpanderKind::Random {
            estimates.len()
        } else {
            SIMULATED_PER_ROUND.min(estimates.len())
        };
        // Proposals of one size in several zones look alike: only the best zone of a size is
        // among the first picks, so the simulated alternatives differ in size.
        let mut ranked = Vec::with_capacity(estimates.len());
        let mut deferred = Vec::new();
        let mut sizes_picked: Vec<&str> = Vec::new();
        let (mut pool_options, mut pool): (Vec<usize>, Vec<Candidate>) =
            estimates.into_iter().unzip();
        while ranked.len() < first && !pool.is_empty() {
            let Some(i) = self.opts.expander.choose(&pool, &mut self.rng) else {
                break;
            };
            let picked = (pool_options.remove(i), pool.remove(i));
            let opt = &self.options[picked.0];
            if self.opts.expander != ExpanderKind::Random && opt.new_group {
                if sizes_picked.contains(&opt.size.name.as_str()) {
                    deferred.push(picked);
                    continue;
                }
                sizes_picked.push(&opt.size.name);
            }
            ranked.push(picked.0);
        }
        let mut estimates: Vec<(usize, Candidate)> = pool_options.into_iter().zip(pool).collect();
        estimates.extend(deferred);
        estimates.sort_by(|a, b| super::expander::least_cost::order(&a.1, &b.1));
        ranked.extend(estimates.into_iter().map(|(o, _)| o));
        ranked
    }

    /// A cheap guess of what an option does for the active classes: per-dimension volume bound
    /// on nodes, capped by the room left.
    fn estimate(&self, o: usize, active: &[usize], room: u32) -> Option<Candidate> {
        let opt = &self.options[o];
        let mut demand = Resources::default();
        let mut pods: u64 = 0;
        for &c in active {
            if !self.statics.fits(c, o) {
                continue;
            }
            let n = self.classes[c].remaining_count() as u64;
            pods += n;
            demand.add_assign(
                &self.classes[c]
                    .request
                    .scaled(i64::try_from(n).unwrap_or(i64::MAX)),
            );
        }
        if pods == 0 {
            return None;
        }
        let mut nodes: u64 = 1;
        for d in 0..self.dims.len() {
            let c = self.dims.component(&opt.capacity, d);
            if c > 0 {
                let need = self.dims.component(&demand, d);
                nodes = nodes.max(u64::try_from(need).unwrap_or(0).div_ceil(c as u64));
            }
        }
        let room = u64::from(room);
        if nodes > room {
            pods = pods * room / nodes;
            nodes = room;
        }
        let nodes = u32::try_from(nodes).unwrap_or(u32::MAX);
        let used = demand.add(&opt.template.daemonset_usage.scaled(i64::from(nodes)));
        Some(Candidate {
            name: opt.name.clone(),
            nodes,
            volume: self.volume(&demand, pods),
            pods: u32::try_from(pods).unwrap_or(u32::MAX),
            hourly_cost: f64::from(nodes) * opt.size.hourly_price,
            waste: waste(&opt.template.allocatable, nodes, &used),
            priority: opt.priority,
        })
    }

    fn candidate(&self, o: usize, outcome: &Outcome) -> Candidate {
        let opt = &self.options[o];
        let nodes = u32::try_from(outcome.nodes.len()).unwrap_or(u32::MAX);
        let requested = outcome
            .used
            .sub(&opt.template.daemonset_usage.scaled(i64::from(nodes)));
        Candidate {
            name: opt.name.clone(),
            nodes,
            volume: self.volume(&requested, u64::from(outcome.pods)),
            pods: outcome.pods,
            hourly_cost: f64::from(nodes) * opt.size.hourly_price,
            waste: waste(&opt.template.allocatable, nodes, &outcome.used),
            priority: opt.priority,
        }
    }

    /// Size of what pods request, comparable across options: cpu and memory as shares of the
    /// largest option, plus a little per pod so that empty requests still count.
    fn volume(&self, requested: &Resources, pods: u64) -> f64 {
        requested.cpu_milli.max(0) as f64 / self.norm.0
            + requested.memory.max(0) as f64 / self.norm.1
            + pods as f64 * 1e-6
    }

    /// A node of option `o` to try: an idle one from its pool, or a new one.
    fn fresh_node(&mut self, o: usize) -> NodeIdx {
        let opt = &mut self.options[o];
        if let Some(n) = opt.pool.pop() {
            self.state.set_schedulable(n, true);
            return n;
        }
        let name = format!("{}-planned-{}", opt.name, opt.minted);
        opt.minted += 1;
        self.state.add_node_from_template(&opt.template, name)
    }

    /// Returns an unused node to its option's pool.
    fn retire(&mut self, o: usize, node: NodeIdx) {
        self.state.set_schedulable(node, false);
        self.options[o].pool.push(node);
    }

    /// Simulates adding nodes of option `o` for the active classes. With `commit`, the pods stay
    /// bound to the new nodes; without, the state is restored exactly.
    fn simulate(&mut self, o: usize, active: &[usize], commit: bool) -> Outcome<'a> {
        let (room, cap) = self.limits.room(&self.options[o]);
        let room = room as usize;
        let mut opened: Vec<NodeIdx> = Vec::new();
        let mut node_pods: Vec<Vec<&'a Pod>> = Vec::new();
        let mut bound: Vec<(&'a Pod, NodeIdx)> = Vec::new();
        let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
        let eligible: Vec<usize> = active
            .iter()
            .copied()
            .filter(|&c| self.statics.fits(c, o))
            .collect();
        for &c in &eligible {
            self.fails.remove(&(c, o));
        }
        // Inter-pod classes: next fit over this simulation's nodes (from where the class last
        // fitted, wrapping around), else a fresh node. Failures that adding pods cannot undo
        // retire a node for the class; after `SOFT_SCAN_LIMIT` other failures for one pod a
        // fresh node is opened instead of checking further (bounded work per pod).
        let constrained: Vec<usize> = eligible
            .iter()
            .copied()
            .filter(|&c| !self.classes[c].free)
            .collect();
        for &c in &constrained {
            let class = &self.classes[c];
            let request = class.request.clone();
            let members: Vec<&'a Pod> = class.remaining().to_vec();
            let mut dead: Vec<bool> = Vec::new();
            let mut live = 0usize;
            let mut hint = 0usize;
            let mut count = 0;
            for pod in members {
                live += opened.len() - dead.len();
                dead.resize(opened.len(), false);
                let mut slot = None;
                let mut soft = 0;
                let total = opened.len();
                let mut k = 0;
                while k < total && live > 0 {
                    let j = (hint + k) % total;
                    k += 1;
                    if dead[j] {
                        continue;
                    }
                    self.work += 1;
                    if !fits_free(&request, &self.state, opened[j]) {
                        dead[j] = true;
                        live -= 1;
                        continue;
                    }
                    match self.state.check_with_request(pod, &request, opened[j]) {
                        Ok(()) => {
                            slot = Some(j);
                            break;
                        }
                        Err(e) if monotone(&e) => {
                            dead[j] = true;
                            live -= 1;
                        }
                        Err(_) => {
                            soft += 1;
                            if soft >= SOFT_SCAN_LIMIT && opened.len() < room {
                                break;
                            }
                        }
                    }
                }
                if slot.is_none() {
                    if opened.len() >= room {
                        self.fails.insert((c, o), SimFail::Cap(cap));
                        break;
                    }
                    let n = self.fresh_node(o);
                    self.work += 1;
                    if let Err(e) = self.state.check_with_request(pod, &request, n) {
                        self.retire(o, n);
                        self.fails.insert((c, o), SimFail::Unfit(e));
                        break;
                    }
                    opened.push(n);
                    node_pods.push(Vec::new());
                    slot = Some(opened.len() - 1);
                }
                if let Some(j) = slot {
                    hint = j;
                    self.state.bind_with_request(pod, opened[j], &request);
                    bound.push((pod, opened[j]));
                    node_pods[j].push(pod);
                    count += 1;
                }
            }
            taken.insert(c, count);
        }
        // Resource-only classes: fill the gaps of the nodes opened above, in order.
        let free: Vec<usize> = eligible
            .iter()
            .copied()
            .filter(|&c| self.classes[c].free)
            .collect();
        for &c in &free {
            let class = &self.classes[c];
            let request = class.request.clone();
            let members: Vec<&'a Pod> = class.remaining().to_vec();
            let mut j = 0;
            let mut count = 0;
            for pod in members {
                while j < opened.len() {
                    self.work += 1;
                    if fits_free(&request, &self.state, opened[j])
                        && self
                            .state
                            .check_with_request(pod, &request, opened[j])
                            .is_ok()
                    {
                        break;
                    }
                    j += 1;
                }
                if j == opened.len() {
                    break;
                }
                self.state.bind_with_request(pod, opened[j], &request);
                bound.push((pod, opened[j]));
                node_pods[j].push(pod);
                count += 1;
            }
            taken.insert(c, count);
        }
        // ... then pack the rest onto fresh nodes.
        let opt_capacity = self.options[o].capacity.clone();
        let problem = PackProblem {
            capacity: self.dims.vector(&opt_capacity),
            classes: free
                .iter()
                .filter_map(|&c| {
                    let left = self.classes[c].remaining_count() - taken[&c];
                    (left > 0).then(|| {
                        ItemClass::new(
                            c as u32,
                            self.dims.vector(&self.classes[c].request),
                            u32::try_from(left).unwrap_or(u32::MAX),
                        )
                    })
                })
                .collect(),
        };
        let mut used = Resources::default();
        if !problem.classes.is_empty() {
            let packing = if commit {
                pack(
                    &problem,
                    &PackOptions {
                        work_budget: self.budget_left(),
                        seed: self.opts.seed,
                    },
                )
            } else {
                ffd(&problem)
            };
            match packing {
                Ok(packing) => {
                    self.work += packing.work_used;
                    let room_left = room - opened.len();
                    for (b, bin) in packing.bins.iter().enumerate() {
                        if b >= room_left {
                            for &(c, _) in &bin.items {
                                self.fails.insert((c as usize, o), SimFail::Cap(cap));
                            }
                            continue;
                        }
                        let mut pods: Vec<&'a Pod> = Vec::new();
                        let n = commit.then(|| self.fresh_node(o));
                        for &(c, k) in &bin.items {
                            let c = c as usize;
                            let start = self.classes[c].next + taken[&c];
                            let members = &self.classes[c].members[start..start + k as usize];
                            if let Some(n) = n {
                                for pod in members {
                                    self.state
                                        .bind_with_request(pod, n, &self.classes[c].request);
                                    bound.push((pod, n));
                                }
                            }
                            pods.extend_from_slice(members);
                            if let Some(t) = taken.get_mut(&c) {
                                *t += k as usize;
                            }
                            if !commit {
                                used.add_assign(&self.classes[c].request.scaled(i64::from(k)));
                            }
                        }
                        if let Some(n) = n {
                            opened.push(n);
                        }
                        node_pods.push(pods);
                    }
                    for &(c, _) in &packing.unplaceable {
                        let c = c as usize;
                        let e = Unfit::ExceedsNodeSize {
                            resources: self.classes[c].request.exceeding(&opt_capacity),
                        };
                        self.fails.insert((c, o), SimFail::Unfit(e));
                    }
                }
                Err(_) => {
                    // Cannot happen with vectors built by `Dims`; treat as "nothing packed".
                }
            }
        }
        for &n in &opened {
            used.add_assign(self.state.used(n));
        }
        let pods: usize = node_pods.iter().map(Vec::len).sum();
        if commit {
            for (&c, &k) in &taken {
                self.classes[c].next += k;
                self.helped[c] += k as u64;
            }
        } else {
            for &(pod, _) in bound.iter().rev() {
                self.state.unbind(pod);
            }
            for &n in &opened {
                self.retire(o, n);
            }
        }
        // Packed bins that were not materialised count their DaemonSets too.
        let virtual_bins = node_pods.len() - opened.len().min(node_pods.len());
        used.add_assign(
            &self.options[o]
                .template
                .daemonset_usage
                .scaled(i64::try_from(virtual_bins).unwrap_or(0)),
        );
        Outcome {
            nodes: node_pods,
            node_ids: if commit { opened } else { Vec::new() },
            pods: u32::try_from(pods).unwrap_or(u32::MAX),
            used,
            order: if commit {
                bound.into_iter().map(|(pod, _)| pod).collect()
            } else {
                Vec::new()
            },
        }
    }

    fn commit(&mut self, o: usize, outcome: Outcome<'a>) {
        let targets = self.right_size_targets(o);
        for (&n, pods) in outcome.node_ids.iter().zip(outcome.nodes.iter()) {
            let (target, node) = match &targets {
                Some(t) => self.right_size(o, n, pods, t),
                None => (o, n),
            };
            self.commit_node(target, node, pods);
        }
        if self.opts.record_placement_order {
            self.placement_order.extend_from_slice(&outcome.order);
        }
    }

    /// Where a node of `o` may move when right-sized, or `None` when it cannot (an expander
    /// that keeps its choice, or no cheaper option).
    fn right_size_targets(&self, o: usize) -> Option<RightSizeTargets> {
        if !matches!(
            self.opts.expander,
            ExpanderKind::LeastCost | ExpanderKind::LeastWaste
        ) {
            return None;
        }
        let price = self.options[o].size.hourly_price;
        let mut cheaper: Vec<usize> = (0..self.options.len())
            .filter(|&x| x != o && self.options[x].size.hourly_price < price - 1e-12)
            .collect();
        if cheaper.is_empty() {
            return None;
        }
        cheaper.sort_by(|&a, &b| {
            self.options[a]
                .size
                .hourly_price
                .total_cmp(&self.options[b].size.hourly_price)
                .then(a.cmp(&b))
        });
        let mut largest = Resources::default();
        for &x in &cheaper {
            largest = largest.elementwise_max(&self.options[x].capacity);
        }
        Some(RightSizeTargets {
            cheaper,
            largest,
            topology_keys: self.state.topology_keys(),
        })
    }

    /// Accounts one planned node of option `o` holding `pods`.
    fn commit_node(&mut self, o: usize, n: NodeIdx, pods: &[&'a Pod]) {
        self.limits.take(&self.options[o], 1);
        let opt = &mut self.options[o];
        opt.group_room = opt.group_room.saturating_sub(1);
        opt.planned.push(n);
        self.known.push(n);
        self.planned_pods
            .insert(n, pods.iter().map(|p| p.key()).collect());
        if opt.new_group {
            let size = opt.size.name.clone();
            for other in &mut self.options {
                if other.new_group && other.size.name == size && other.planned.is_empty() {
                    other.superseded = true;
                }
            }
        }
    }

    /// Moves the pods of node `n` (of option `o`) onto one node of the cheapest open option that
    /// is cheaper than `o` and takes them all under every filter; returns where they ended.
    ///
    /// A round packs every active pod onto one option, so its last node is often part-full:
    /// four 1.5-core pods on 4-core nodes leave one pod alone on a node a 2-core size would
    /// serve at half the price. Only the cost-minded expanders right-size; the others keep the
    /// choice they made.
    fn right_size(
        &mut self,
        o: usize,
        n: NodeIdx,
        pods: &[&'a Pod],
        targets: &RightSizeTargets,
    ) -> (usize, NodeIdx) {
        let requested = self
            .state
            .used(n)
            .sub(&self.options[o].template.daemonset_usage);
        if pods.is_empty() || !requested.fits_in(&targets.largest) {
            return (o, n);
        }
        // Pods elsewhere may have been placed against this node's topology domains (a zone
        // affinity or spread): only a node in the same domain of every key in use may take
        // its place. The hostname domain moves whole with the pods.
        let same_domains = |a: &NodeOption, b: &NodeOption| {
            targets
                .topology_keys
                .iter()
                .filter(|k| k.as_str() != LABEL_HOSTNAME)
                .all(|k| a.static_labels.get(k) == b.static_labels.get(k))
        };
        for &x in &targets.cheaper {
            if !requested.fits_in(&self.options[x].capacity)
                || !self.open(x)
                || !same_domains(&self.options[o], &self.options[x])
            {
                continue;
            }
            for pod in pods {
                self.state.unbind(pod);
            }
            let m = self.fresh_node(x);
            let mut moved = 0;
            for pod in pods {
                self.work += 1;
                let request = pod.effective_requests();
                if self.state.check_with_request(pod, &request, m).is_err() {
                    break;
                }
                self.state.bind_with_request(pod, m, &request);
                moved += 1;
            }
            if moved == pods.len() {
                self.retire(o, n);
                return (x, m);
            }
            for pod in pods[..moved].iter().rev() {
                self.state.unbind(pod);
            }
            self.retire(x, m);
            for pod in pods {
                self.state.bind(pod, n);
            }
        }
        (o, n)
    }

    fn finish(mut self) -> ScaleUpPlan {
        let mut planned_pods = std::mem::take(&mut self.planned_pods);
        let mut increases = Vec::new();
        for opt in &self.options {
            if opt.planned.is_empty() {
                continue;
            }
            let nodes: Vec<Vec<String>> = opt
                .planned
                .iter()
                .map(|n| {
                    let mut pods = planned_pods.remove(n).unwrap_or_default();
                    pods.sort();
                    pods
                })
                .collect();
            let count = u32::try_from(nodes.len()).unwrap_or(u32::MAX);
            increases.push(GroupIncrease {
                group: opt.name.clone(),
                size: opt.size.name.clone(),
                new_group: opt.new_group,
                zone: opt.template.zone.clone(),
                count,
                hourly_cost: f64::from(count) * opt.size.hourly_price,
                nodes,
            });
        }
        increases.sort_by(|a, b| a.group.cmp(&b.group));
        let mut unschedulable = Vec::new();
        for c in 0..self.classes.len() {
            if self.classes[c].remaining_count() == 0 {
                continue;
            }
            let reason = self.explain(c);
            for pod in self.classes[c].remaining() {
                unschedulable.push(PodVerdict {
                    pod: pod.key(),
                    reason: reason.clone(),
                });
            }
        }
        unschedulable.sort_by(|a, b| a.pod.cmp(&b.pod));
        let mut fit_existing = std::mem::take(&mut self.fit_existing);
        fit_existing.sort();
        let bound = self.lower_bound(&increases);
        // Empty unless asked for: nothing was recorded then.
        let placement_order = self
            .placement_order
            .iter()
            .filter_map(|pod| {
                let key = pod.key();
                let node = self.state.node_of(&key)?;
                Some((key, self.state.node_name(node).to_string()))
            })
            .collect();
        ScaleUpPlan {
            increases,
            unschedulable,
            fit_existing,
            bound,
            work_used: self.work,
            placement_order,
        }
    }

    /// The most relevant reason over all options (precedence in `reason`), ties by option name.
    fn explain(&self, c: usize) -> NoCapacityReason {
        let mut best: Option<NoCapacityReason> = None;
        for o in 0..self.options.len() {
            let opt = &self.options[o];
            if opt.superseded {
                continue;
            }
            let reason = match &self.statics.check(c, o) {
                Err(unfit) => self.static_reason(c, unfit),
                Ok(()) => match (&opt.blocked, self.limits.room(opt)) {
                    (Some(block), _) => NoCapacityReason::GroupBlocked {
                        group: opt.name.clone(),
                        block: block.clone(),
                    },
                    (None, (0, cap)) => self.cap_reason(o, cap),
                    (None, _) => match self.fails.get(&(c, o)) {
                        Some(SimFail::Cap(cap)) => self.cap_reason(o, *cap),
                        Some(SimFail::Unfit(unfit)) => self.static_reason(c, unfit),
                        None => NoCapacityReason::NotPlaced,
                    },
                },
            };
            if best
                .as_ref()
                .is_none_or(|b| reason.relevance() > b.relevance())
            {
                best = Some(reason);
            }
        }
        best.unwrap_or(NoCapacityReason::NoNodeOptions)
    }

    fn cap_reason(&self, o: usize, cap: Cap) -> NoCapacityReason {
        let limits = &self.limits.limits;
        match cap {
            Cap::GroupMax => NoCapacityReason::GroupAtMax {
                group: self.options[o].name.clone(),
                max: self.options[o].max,
            },
            Cap::ClusterNodes => NoCapacityReason::ClusterNodeLimit {
                nodes: limits.max_nodes.unwrap_or(0),
            },
            Cap::ClusterCores => NoCapacityReason::ClusterCpuLimit {
                cores: limits.max_cores.unwrap_or(0),
            },
            Cap::ClusterMemory => NoCapacityReason::ClusterMemoryLimit {
                limit: crate::model::quantity::format_bytes(limits.max_memory_bytes.unwrap_or(0)),
            },
        }
    }

    fn static_reason(&self, c: usize, unfit: &Unfit) -> NoCapacityReason {
        let rep = self.classes[c].rep();
        match unfit {
            Unfit::NodeSelectorMismatch { key, value } => NoCapacityReason::NodeSelectorMismatch {
                selector: format!("{key}={value}"),
            },
            Unfit::NodeAffinityMismatch => NoCapacityReason::NodeAffinityMismatch,
            Unfit::TaintNotTolerated { taint } => NoCapacityReason::TaintNotTolerated {
                taint: taint.clone(),
            },
            Unfit::MissingTopologyLabel { topology_key } => {
                NoCapacityReason::MissingTopologyLabel {
                    topology_key: topology_key.clone(),
                }
            }
            Unfit::ExceedsNodeSize { resources } | Unfit::InsufficientResources { resources } => {
                let resource = resources
                    .first()
                    .cloned()
                    .unwrap_or_else(|| crate::model::resources::PODS.to_string());
                // The largest offer among options whose labels and taints accept the pod.
                let matching = self.options.iter().filter(|o| {
                    node_selector_fit(&rep.node_selector, &o.static_labels).is_ok()
                        && node_affinity_fit(&rep.affinity, &o.static_labels).is_ok()
                        && taints_fit(&rep.tolerations, &o.template.taints).is_ok()
                });
                let largest = matching
                    .map(|o| o.capacity.get(&resource))
                    .max()
                    .unwrap_or(0);
                NoCapacityReason::ExceedsLargestSize {
                    requested: format_amount(&resource, self.classes[c].request.get(&resource)),
                    largest: format_amount(&resource, largest),
                    resource,
                }
            }
            Unfit::TooManyPods => NoCapacityReason::ExceedsLargestSize {
                resource: crate::model::resources::PODS.to_string(),
                requested: "1".to_string(),
                largest: "0".to_string(),
            },
            Unfit::HostPortConflict { port } => NoCapacityReason::HostPortConflict { port: *port },
            Unfit::PodAffinityUnsatisfied { topology_key } => {
                NoCapacityReason::PodAffinityUnsatisfied {
                    topology_key: topology_key.clone(),
                }
            }
            Unfit::PodAntiAffinityConflict { topology_key } => {
                NoCapacityReason::PodAntiAffinityConflict {
                    topology_key: topology_key.clone(),
                }
            }
            Unfit::TopologySpread { topology_key } => NoCapacityReason::TopologySpread {
                topology_key: topology_key.clone(),
            },
            Unfit::NodeNotReady | Unfit::NodeUnschedulable => NoCapacityReason::NotPlaced,
        }
    }

    /// Lower bound on new nodes and their cost for the pods the plan places on new nodes.
    fn lower_bound(&self, increases: &[GroupIncrease]) -> LowerBound {
        // Pods of each class on the plan's new nodes, counted as they were placed.
        let helped: BTreeMap<usize, u64> = self
            .helped
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| (c, *n))
            .collect();
        let planned_nodes: u32 = increases.iter().map(|i| i.count).sum();
        let planned_cost: f64 = increases.iter().map(|i| i.hourly_cost).sum();
        if helped.is_empty() {
            return LowerBound::default();
        }
        // Offers: every option (not blocked) that statically accepts some helped class.
        let offers: Vec<usize> = (0..self.options.len())
            .filter(|&o| {
                self.options[o].blocked.is_none() && helped.keys().any(|&c| self.statics.fits(c, o))
            })
            .collect();
        let vectors: Vec<Vec<i64>> = offers
            .iter()
            .map(|&o| self.dims.vector(&self.options[o].capacity))
            .collect();
        let dims = self.dims.vector(&Resources::default()).len();
        let mut max_cap = vec![0i64; dims];
        for v in &vectors {
            for (d, x) in v.iter().enumerate() {
                max_cap[d] = max_cap[d].max(*x);
            }
        }
        let sizes: Vec<(Vec<i64>, u64)> = helped
            .iter()
            .map(|(&c, &n)| (self.dims.vector(&self.classes[c].request), n))
            .collect();
        let items: Vec<(&[i64], u64, Option<u64>)> = sizes
            .iter()
            .map(|(v, n)| (v.as_slice(), *n, None))
            .collect();
        let mut nodes = bound::vector_bound(&max_cap, &items);
        // Pods anti-affine to each other by hostname need one node each.
        let mut anti: BTreeMap<&crate::sched::interpod::TermKey, u64> = BTreeMap::new();
        for (&c, &n) in &helped {
            if let Some(t) = &self.classes[c].self_anti_hostname {
                *anti.entry(t).or_insert(0) += n;
            }
        }
        nodes = nodes.max(anti.values().copied().max().unwrap_or(0));
        let mut demand = vec![0i64; dims];
        for (v, n) in &sizes {
            for (d, x) in v.iter().enumerate() {
                demand[d] =
                    demand[d].saturating_add(x.saturating_mul(i64::try_from(*n).unwrap_or(0)));
            }
        }
        let priced: Vec<(Vec<i64>, f64)> = offers
            .iter()
            .zip(vectors)
            .map(|(&o, v)| (v, self.options[o].size.hourly_price))
            .collect();
        let mut cost = bound::fractional_cost_bound(&demand, &priced);
        // At least `nodes` nodes, each at least the cheapest offer.
        let cheapest = priced.iter().map(|(_, p)| *p).fold(f64::INFINITY, f64::min);
        if cheapest.is_finite() {
            cost = cost.max(nodes as f64 * cheapest);
        }
        let nodes = u32::try_from(nodes).unwrap_or(u32::MAX);
        LowerBound {
            nodes,
            cost_per_hour: cost,
            node_ratio: (nodes > 0).then(|| f64::from(planned_nodes) / f64::from(nodes)),
            cost_ratio: (cost > 0.0).then(|| planned_cost / cost),
        }
    }
}

/// Whether `request` fits what node `n` has left, without allocating. When it does not, the
/// placement check would fail on resources, a failure more pods never undo.
fn fits_free(request: &Resources, state: &ClusterState, n: NodeIdx) -> bool {
    let (a, u) = (state.allocatable(n), state.used(n));
    request.cpu_milli <= a.cpu_milli - u.cpu_milli
        && request.memory <= a.memory - u.memory
        && request.ephemeral_storage <= a.ephemeral_storage - u.ephemeral_storage
        && request.pods <= a.pods - u.pods
        && request
            .extended
            .iter()
            .all(|(name, v)| *v <= a.extended(name) - u.extended(name))
}

/// Failures that stay failures while pods are only added to the state.
fn monotone(e: &Unfit) -> bool {
    !matches!(
        e,
        Unfit::PodAffinityUnsatisfied { .. } | Unfit::TopologySpread { .. }
    )
}

/// Unused fraction of cpu plus unused fraction of memory of `nodes` nodes of `allocatable`.
fn waste(allocatable: &Resources, nodes: u32, used: &Resources) -> f64 {
    let n = f64::from(nodes);
    let part = |cap: i64, used: i64| -> f64 {
        if cap <= 0 || nodes == 0 {
            0.0
        } else {
            (1.0 - used as f64 / (cap as f64 * n)).max(0.0)
        }
    };
    part(allocatable.cpu_milli, used.cpu_milli) + part(allocatable.memory, used.memory)
}

fn format_amount(resource: &str, amount: i64) -> String {
    use crate::model::quantity::{format_bytes, format_milli};
    use crate::model::resources::{CPU, EPHEMERAL_STORAGE, MEMORY};
    match resource {
        CPU => format_milli(amount),
        MEMORY | EPHEMERAL_STORAGE => format_bytes(amount),
        _ => amount.to_string(),
    }
}

/// Static filters of every class against every option. Selector, affinity, taints and spread
/// labels depend on the class's shape only (computed once per distinct shape); the request is
/// compared with the option's capacity on demand, so nothing is stored per class and option.
#[derive(Debug)]
struct Statics {
    /// Per shape, per option: the shape filters' verdict.
    shapes: Vec<Vec<Result<(), Unfit>>>,
    /// Per class: its shape, request and the options' capacities.
    class_shape: Vec<usize>,
    requests: Vec<Resources>,
    capacities: Vec<Resources>,
}

impl Statics {
    fn new(classes: &[PodClass], options: &[NodeOption]) -> Self {
        let mut index: BTreeMap<ShapeSig, usize> = BTreeMap::new();
        let mut shapes: Vec<Vec<Result<(), Unfit>>> = Vec::new();
        let mut class_shape = Vec::with_capacity(classes.len());
        for class in classes {
            let rep = class.rep();
            let sig = ShapeSig::of(rep);
            let s = match index.get(&sig) {
                Some(&s) => s,
                None => {
                    index.insert(sig, shapes.len());
                    shapes.push(options.iter().map(|o| shape_fit(rep, o)).collect());
                    shapes.len() - 1
                }
            };
            class_shape.push(s);
        }
        Self {
            shapes,
            class_shape,
            requests: classes.iter().map(|c| c.request.clone()).collect(),
            capacities: options.iter().map(|o| o.capacity.clone()).collect(),
        }
    }

    /// Whether class `c` passes every static filter of option `o`.
    fn fits(&self, c: usize, o: usize) -> bool {
        self.shapes[self.class_shape[c]][o].is_ok() && self.requests[c].fits_in(&self.capacities[o])
    }

    /// The first static filter class `c` fails on option `o`.
    fn check(&self, c: usize, o: usize) -> Result<(), Unfit> {
        self.shapes[self.class_shape[c]][o].clone()?;
        if self.requests[c].fits_in(&self.capacities[o]) {
            return Ok(());
        }
        let mut resources = self.requests[c].exceeding(&self.capacities[o]);
        if resources.is_empty() {
            resources.push(crate::model::resources::PODS.to_string());
        }
        Err(Unfit::ExceedsNodeSize { resources })
    }
}

/// Selector, node affinity, taints, and the labels hard spread constraints need.
fn shape_fit(rep: &Pod, o: &NodeOption) -> Result<(), Unfit> {
    node_selector_fit(&rep.node_selector, &o.static_labels)?;
    node_affinity_fit(&rep.affinity, &o.static_labels)?;
    taints_fit(&rep.tolerations, &o.template.taints)?;
    for c in &rep.topology_spread_constraints {
        if c.when_unsatisfiable == WhenUnsatisfiable::DoNotSchedule
            && c.topology_key != LABEL_HOSTNAME
            && !o.static_labels.contains_key(&c.topology_key)
        {
            return Err(Unfit::MissingTopologyLabel {
                topology_key: c.topology_key.clone(),
            });
        }
    }
    Ok(())
}

/// What the static filters read from a pod besides its request.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ShapeSig {
    node_selector: Vec<(String, String)>,
    node_affinity: Vec<crate::model::NodeSelectorTerm>,
    tolerations: Vec<crate::model::Toleration>,
    spread_keys: Vec<String>,
}

impl ShapeSig {
    fn of(pod: &Pod) -> Self {
        let mut spread_keys: Vec<String> = pod
            .topology_spread_constraints
            .iter()
            .filter(|c| c.when_unsatisfiable == WhenUnsatisfiable::DoNotSchedule)
            .map(|c| c.topology_key.clone())
            .collect();
        spread_keys.sort();
        spread_keys.dedup();
        Self {
            node_selector: pod
                .node_selector
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            node_affinity: pod.affinity.node_affinity.clone(),
            tolerations: pod.tolerations.clone(),
            spread_keys,
        }
    }
}

/// Classes largest first: by the sum of their cpu and memory shares of the largest option,
/// ties by the first member's key (the class index).
fn processing_order(classes: &[PodClass], options: &[NodeOption]) -> Vec<usize> {
    let max_cpu = options
        .iter()
        .map(|o| o.capacity.cpu_milli)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let max_mem = options
        .iter()
        .map(|o| o.capacity.memory)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let score =
        |c: &PodClass| c.request.cpu_milli as f64 / max_cpu + c.request.memory as f64 / max_mem;
    let mut order: Vec<usize> = (0..classes.len()).collect();
    order.sort_by(|&a, &b| {
        score(&classes[b])
            .total_cmp(&score(&classes[a]))
            .then(a.cmp(&b))
    });
    order
}
