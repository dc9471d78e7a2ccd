//! What a scale-down decision builds from a snapshot and the next decision can reuse: per-pod
//! facts and the placement state, brought up to date from the pods that changed.
//!
//! A loop that plans every few seconds sees a cluster where a handful of pods changed since the
//! last step, yet a decision built from scratch pays for every pod: its request, its node, its
//! PDBs, and a placement state with every binding. A shell that keeps its snapshot between
//! steps (the simulator) stamps each pod it adds or changes (`ClusterSnapshot::pod_revisions`).
//! The cache keeps the stamps and a copy of the pods it last saw and, at the next decision,
//! compares the stamps position by position (a shell that keeps its order differs in a few
//! positions), unbinds the pods that left or changed and binds their successors. Anything else
//! the facts depend on (a node, a PDB) differing sends it back to a full build. The decision
//! itself runs as before and leaves the state as it found it.
//!
//! A cached decision equals an uncached one: tests compare them over random changes, and compare
//! the kept state with a fresh build.

use std::sync::Mutex;

use crate::model::{ClusterSnapshot, Node, Pod, PodDisruptionBudget};
use crate::sched::{ClusterState, NameIndex};

use super::pdb::CoverCache;
use super::planner::{Inputs, decide, pod_order};
use super::types::{ScaleDownOptions, ScaleDownPlan};

/// Scale-down work kept between decisions; see the module documentation. A clone starts
/// empty (a cache is not part of any state's value), and all caches compare equal.
///
/// The mutex is never contended (planning takes `&mut self`): it only makes the cache, and so
/// the loop's state, shareable between threads, as the live runtime's tasks need.
#[derive(Default)]
pub struct ScaleDownCache {
    kept: Mutex<Option<Box<Kept>>>,
    stats: CacheStats,
}

/// How often the cache could be brought up to date, and how often it was built afresh.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Decisions that built the per-pod facts from scratch.
    pub full_builds: u64,
    /// Decisions that updated the facts from the changed pods.
    pub updates: u64,
    /// Pods (positions) updated in all.
    pub pods_updated: u64,
    /// Placement states dropped because they could not be brought up to date.
    pub states_dropped: u64,
    /// Decisions made without the cache (the snapshot's pods had no stamps).
    pub uncached: u64,
}

struct Kept {
    /// Copies of what the facts were computed from.
    nodes: Vec<Node>,
    pdbs: Vec<PodDisruptionBudget>,
    pods: Vec<Pod>,
    /// The snapshot's `pod_revisions` for `pods`, or empty.
    revisions: Vec<u64>,
    /// Node positions, PDB order, per-pod facts and per-node pod lists, as of `pods`.
    inputs: Inputs,
    /// The placement state of the pods, when a decision built one.
    state: Option<ClusterState>,
    /// Registered inter-pod terms when the state was built: terms stay after their pods leave,
    /// and every bind pays for each one.
    terms_at_build: usize,
}

impl Clone for ScaleDownCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for ScaleDownCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ScaleDownCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScaleDownCache")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Above this share of changed positions, a full build is cheaper than the updates.
const MAX_UPDATED_SHARE: usize = 4;

impl ScaleDownCache {
    /// What the cache did so far.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// The kept placement state (as of the last decision's snapshot), if any.
    pub fn state(&mut self) -> Option<&ClusterState> {
        self.kept().as_ref().and_then(|k| k.state.as_ref())
    }

    fn kept(&mut self) -> &mut Option<Box<Kept>> {
        // Nothing panics while holding it (it is never locked), but a poisoned mutex would
        // still hold a valid cache.
        self.kept.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    /// `plan_scale_down`, reusing and then keeping what the previous decision built. Only a
    /// snapshot whose pods carry stamps (`ClusterSnapshot::pod_revisions`) is cached: without
    /// them every pod would have to be compared field by field, and a shell that lists pods
    /// sorted by name moves every later pod at each arrival, so such a snapshot is decided
    /// afresh and nothing is kept (no copies, no cost over `plan_scale_down`).
    pub fn plan(&mut self, snapshot: &ClusterSnapshot, opts: &ScaleDownOptions) -> ScaleDownPlan {
        if snapshot.pods.is_empty() || stamps_of(snapshot).is_empty() {
            *self.kept() = None;
            self.stats.uncached += 1;
            return decide(snapshot, opts, &Inputs::new(snapshot), None, false).0;
        }
        let kept = self.refresh(snapshot);
        let had_state = kept.state.is_some();
        let state = kept.state.take();
        let (plan, state) = decide(snapshot, opts, &kept.inputs, state, true);
        // A state holding fewer pods than the facts bind skipped a duplicate key (the first
        // listed wins), which an update could not keep right: build afresh next time.
        let bound = kept.inputs.facts.node.iter().flatten().count();
        kept.state = state.filter(|s| s.bound_count() == bound);
        if !had_state && let Some(s) = &kept.state {
            kept.terms_at_build = s.term_count();
        }
        plan
    }

    /// Brings the kept facts (and state) up to date with `snapshot`.
    fn refresh(&mut self, snapshot: &ClusterSnapshot) -> &mut Kept {
        let Self { kept, stats } = self;
        let slot = kept.get_mut().unwrap_or_else(|e| e.into_inner());
        let reusable = slot
            .as_ref()
            .is_some_and(|k| k.nodes == snapshot.nodes && k.pdbs == snapshot.pdbs);
        let fresh = match slot.take() {
            Some(mut kept) if reusable => match kept.update(snapshot, stats) {
                Updated::Yes => {
                    stats.updates += 1;
                    kept
                }
                Updated::TooManyChanges => {
                    stats.full_builds += 1;
                    Box::new(Kept::build(snapshot))
                }
            },
            _ => {
                stats.full_builds += 1;
                Box::new(Kept::build(snapshot))
            }
        };
        slot.insert(fresh)
    }
}

/// The snapshot's pod stamps, when it has one per pod.
fn stamps_of(snapshot: &ClusterSnapshot) -> &[u64] {
    if snapshot.pod_revisions.len() == snapshot.pods.len() {
        &snapshot.pod_revisions
    } else {
        &[]
    }
}

enum Updated {
    Yes,
    TooManyChanges,
}

impl Kept {
    fn build(snapshot: &ClusterSnapshot) -> Self {
        Self {
            inputs: Inputs::new(snapshot),
            nodes: snapshot.nodes.clone(),
            pdbs: snapshot.pdbs.clone(),
            pods: snapshot.pods.clone(),
            revisions: stamps_of(snapshot).to_vec(),
            state: None,
            terms_at_build: 0,
        }
    }

    /// Updates the facts and the state for the pods that differ from the kept copies; the
    /// nodes and PDBs are the same.
    fn update(&mut self, snapshot: &ClusterSnapshot, stats: &mut CacheStats) -> Updated {
        let new = &snapshot.pods;
        let old_len = self.pods.len();
        let left = old_len.saturating_sub(new.len());
        // Stop comparing as soon as the update would cost more than a build (a shell that
        // reorders its pods changes most positions).
        let limit = new.len().max(16) / MAX_UPDATED_SHARE;
        let stamps = stamps_of(snapshot);
        let mut changed: Vec<usize> = Vec::new();
        for (i, pod) in new.iter().enumerate() {
            let unchanged = self.revisions.get(i).is_some_and(|old| *old == stamps[i]);
            debug_assert!(
                !unchanged || self.pods[i] == *pod,
                "pod {} at position {i} changed but kept its stamp {}",
                pod.key(),
                stamps[i]
            );
            if !unchanged {
                changed.push(i);
                if changed.len() + left > limit {
                    return Updated::TooManyChanges;
                }
            }
        }
        if changed.len() + left > limit {
            return Updated::TooManyChanges;
        }
        stats.pods_updated += (changed.len() + left) as u64;
        let had_state = self.state.is_some();
        // Out with the old pods first, so that a pod that moved position is not a duplicate.
        let gone = changed
            .iter()
            .copied()
            .filter(|&i| i < old_len)
            .chain(new.len()..old_len);
        let inputs = &mut self.inputs;
        for i in gone.clone() {
            if let Some(node) = inputs.facts.node[i] {
                inputs.pods_by_node[node].retain(|&p| p != i);
            }
        }
        if let Some(state) = &mut self.state {
            for i in gone {
                let Some(node) = inputs.facts.node[i] else {
                    continue;
                };
                if state.unbind(&self.pods[i]) != Some(node) {
                    // Not bound where the facts said: the state is no longer the pods'.
                    self.state = None;
                    break;
                }
            }
        }
        // The facts of the new pods (the name index only when some pod changed: most steps
        // of a quiet cluster change none).
        let names: Vec<&str> = if changed.is_empty() {
            Vec::new()
        } else {
            inputs
                .positions
                .iter()
                .map(|&i| snapshot.nodes[i].name.as_str())
                .collect()
        };
        let index = NameIndex::new(&names);
        let mut covers = CoverCache::new(snapshot, &inputs.source);
        let facts = &mut inputs.facts;
        facts.node.truncate(new.len());
        facts.request.truncate(new.len());
        facts.cover.truncate(new.len());
        for &i in &changed {
            let pod = &new[i];
            let node = pod.node_name.as_deref().and_then(|n| index.find(n));
            let request = pod.effective_requests();
            let cover = covers.covering(snapshot, &inputs.source, pod);
            if i < facts.node.len() {
                facts.node[i] = node;
                facts.request[i] = request;
                facts.cover[i] = cover;
            } else {
                facts.node.push(node);
                facts.request.push(request);
                facts.cover.push(cover);
            }
        }
        for &i in &changed {
            if let Some(node) = facts.node[i] {
                let list = &mut inputs.pods_by_node[node];
                let at = list.partition_point(|&p| pod_order(snapshot, p, i).is_lt());
                // A neighbour with the same key: the lists now hold a duplicate.
                let same_key = |p: usize| {
                    let (a, b) = (&snapshot.pods[p], &new[i]);
                    a.namespace == b.namespace && a.name == b.name
                };
                if (at > 0 && same_key(list[at - 1])) || list.get(at).is_some_and(|&p| same_key(p))
                {
                    inputs.distinct_keys = false;
                }
                list.insert(at, i);
            }
        }
        if let Some(state) = &mut self.state {
            for &i in &changed {
                let Some(node) = facts.node[i] else {
                    continue;
                };
                let pod = &new[i];
                if state.node_of(&pod.key()).is_some() {
                    // Two bound pods with one key: only a full build keeps the first listed.
                    self.state = None;
                    break;
                }
                state.bind_with_request(pod, node, &facts.request[i]);
            }
        }
        if self
            .state
            .as_ref()
            .is_some_and(|s| s.term_count() > 2 * self.terms_at_build + 64)
        {
            self.state = None;
        }
        if had_state && self.state.is_none() {
            stats.states_dropped += 1;
        }
        self.revisions = stamps.to_vec();
        self.pods.truncate(new.len());
        for &i in &changed {
            if i < self.pods.len() {
                self.pods[i] = new[i].clone();
            } else {
                self.pods.push(new[i].clone());
            }
        }
        Updated::Yes
    }
}
