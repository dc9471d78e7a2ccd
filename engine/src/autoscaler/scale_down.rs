//! Scale-down within the loop: protections (in flight, grace, replacement window, drain
//! backoff), unneeded-since timers over the planner's full removable set, the cooldown gates
//! and health brake, then the longest safe prefix of the plan that is ripe and within the
//! parallelism limits and group minimums; consolidation replacements add first and drain later.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::model::ClusterSnapshot;
use crate::scaledown::{NodeRemoval, ScaleDownPlan};

use super::config::AutoscalerConfig;
use super::decision::Reason;
use super::io::{Action, PlannedEviction};
use super::lifecycle::{Out, request_delete};
use super::planners;
use super::record::{NodePhase, Purpose, host_key};
use super::scale_up::request_workers;
use super::state::{LoopState, ReplacementHistory, ReplacementStage, ReplacementState};

/// The health brake: too many nodes not ready (booting and dying nodes the loop knows about
/// are not counted).
pub(crate) fn health_brake(
    state: &LoopState,
    snapshot: &ClusterSnapshot,
    config: &AutoscalerConfig,
) -> Option<Reason> {
    let known: BTreeSet<Cow<'_, str>> = state
        .records
        .values()
        .filter(|r| r.phase != NodePhase::Ready)
        .filter_map(|r| r.hostname.as_deref().map(host_key))
        .collect();
    let total = snapshot.nodes.len();
    let unready = snapshot
        .nodes
        .iter()
        .filter(|n| !n.ready && !known.contains(&host_key(&n.name)))
        .count();
    let h = &config.health;
    let too_many = unready > h.max_unready_nodes as usize
        || (total > 0 && (unready as f64) * 100.0 > h.max_unready_percentage * total as f64);
    too_many.then_some(Reason::HealthBrake { unready, total })
}

/// Why the loop protects a node from scale-down, if it does.
fn protection(
    state: &LoopState,
    by_node: &BTreeMap<String, String>,
    in_replacement: &BTreeMap<String, String>,
    node: &str,
    group: &str,
    now_ms: i64,
    config: &AutoscalerConfig,
) -> Option<Reason> {
    let key = host_key(node);
    let Some(r) = by_node.get(key.as_ref()).and_then(|n| state.records.get(n)) else {
        return Some(Reason::Untracked);
    };
    match r.phase {
        p if p.is_in_flight() => return Some(Reason::InFlight { phase: p }),
        NodePhase::Terminating | NodePhase::Deleting | NodePhase::Failed => {
            return Some(Reason::Removing);
        }
        _ => {}
    }
    if let Some(id) = in_replacement.get(key.as_ref()) {
        return Some(Reason::InReplacement {
            replacement: id.clone(),
        });
    }
    match &r.purpose {
        Purpose::Replacement { .. } => {
            let until = r.requested_at_ms + config.consolidation.window.ms();
            if until > now_ms {
                return Some(Reason::ReplacementWindow { until_ms: until });
            }
        }
        Purpose::PendingPods => {
            let until = r.ready_at_ms.unwrap_or(r.requested_at_ms)
                + config.new_node_grace_period(group).ms();
            if until > now_ms {
                return Some(Reason::NewNodeGrace { until_ms: until });
            }
        }
        Purpose::Adopted | Purpose::Unrequested => {}
    }
    if let Some(until) = state
        .nodes
        .get(node)
        .and_then(|t| t.drain_backoff_until_ms)
        .filter(|u| *u > now_ms)
    {
        return Some(Reason::DrainBackoff { until_ms: until });
    }
    if !config.scale_down_enabled(group) {
        return Some(Reason::ScaleDownDisabled);
    }
    None
}

/// The snapshot the scale-down planner sees: configured per-group utilization thresholds
/// applied where the group itself sets none.
fn planner_snapshot<'a>(
    snapshot: &'a ClusterSnapshot,
    config: &AutoscalerConfig,
) -> Cow<'a, ClusterSnapshot> {
    let needs = snapshot.node_groups.iter().any(|g| {
        g.scale_down_utilization_threshold.is_none()
            && config
                .node_groups
                .get(&g.name)
                .is_some_and(|o| o.utilization_threshold.is_some())
    });
    if !needs {
        return Cow::Borrowed(snapshot);
    }
    let mut s = snapshot.clone();
    for g in &mut s.node_groups {
        if g.scale_down_utilization_threshold.is_none() {
            g.scale_down_utilization_threshold = config
                .node_groups
                .get(&g.name)
                .and_then(|o| o.utilization_threshold);
        }
    }
    Cow::Owned(s)
}

/// Pods to evict from `node` (everything but DaemonSet and mirror pods).
fn evictions_on(snapshot: &ClusterSnapshot, node: &str) -> Vec<PlannedEviction> {
    let mut v: Vec<PlannedEviction> = snapshot
        .pods
        .iter()
        .filter(|p| p.node_name.as_deref() == Some(node))
        .filter(|p| !p.is_daemonset_pod() && !p.is_mirror())
        .map(|p| PlannedEviction {
            pod: p.key(),
            destination: String::new(),
        })
        .collect();
    v.sort();
    v
}

struct Budget {
    removing: u32,
    draining: u32,
    empties: u32,
    /// Nodes each group may still lose before reaching its min.
    group_left: BTreeMap<String, i64>,
}

/// Runs scale-down.
pub(crate) fn run(
    state: &mut LoopState,
    snapshot: &ClusterSnapshot,
    now_ms: i64,
    config: &AutoscalerConfig,
    scaled_up_now: bool,
    out: &mut Out,
) {
    let down = &config.scale_down;
    if !down.enabled {
        out.decision.scale_down.blocked = Some(Reason::ScaleDownDisabled);
        for t in state.nodes.values_mut() {
            t.unneeded_since_ms = None;
        }
        state.prune_node_timers();
        return;
    }
    let by_node: BTreeMap<String, String> = state
        .records
        .values()
        .filter_map(|r| {
            r.hostname
                .as_ref()
                .map(|h| (h.to_ascii_lowercase(), r.name.clone()))
        })
        .collect();
    let in_replacement: BTreeMap<String, String> = state
        .replacements
        .values()
        .flat_map(|rep| {
            rep.remove
                .iter()
                .map(|n| (n.to_ascii_lowercase(), rep.id.clone()))
        })
        .collect();
    let mut protected: BTreeMap<String, String> = BTreeMap::new();
    let mut protected_reasons: BTreeMap<String, Reason> = BTreeMap::new();
    for n in &snapshot.nodes {
        let Some(group) = &n.node_group else { continue };
        if let Some(reason) = protection(
            state,
            &by_node,
            &in_replacement,
            &n.name,
            group,
            now_ms,
            config,
        ) {
            protected.insert(n.name.clone(), reason.sentence(now_ms));
            protected_reasons.insert(n.name.clone(), reason);
        }
    }

    let brake = health_brake(state, snapshot, config);
    let mut budget = budget(state, snapshot, config);
    drain_replacements(
        state,
        snapshot,
        now_ms,
        config,
        brake.is_some(),
        &mut budget,
        out,
    );

    let planner = planner_snapshot(snapshot, config);
    let plan = planners::scale_down(
        &planner,
        config,
        protected.clone(),
        true,
        &mut state.scale_down_cache,
    );
    let unneeded: BTreeSet<String> = plan
        .removals
        .iter()
        .map(|r| r.node.clone())
        .chain(
            plan.replacements
                .iter()
                .flat_map(|r| r.remove.iter().cloned()),
        )
        .collect();
    for name in &unneeded {
        state
            .nodes
            .entry(name.clone())
            .or_default()
            .unneeded_since_ms
            .get_or_insert(now_ms);
    }
    for (name, t) in state.nodes.iter_mut() {
        if !unneeded.contains(name) {
            t.unneeded_since_ms = None;
        }
    }
    state.prune_node_timers();
    {
        let d = &mut out.decision.scale_down;
        d.planned = true;
        d.unneeded = unneeded.iter().cloned().collect();
        d.plan_text = plan.render_text();
    }
    for k in &plan.kept {
        let reason = protected_reasons
            .remove(&k.node)
            .unwrap_or_else(|| Reason::Planner {
                code: k.reason.code().to_string(),
                sentence: k.reason.to_string(),
            });
        out.decision.note(format!("node/{}", k.node), reason);
    }

    let gate = if scaled_up_now {
        Some(Reason::CooldownAfterAdd {
            until_ms: now_ms + down.delay_after_add.ms(),
        })
    } else if let Some(until) = state
        .last_scale_up_ms
        .map(|t| t + down.delay_after_add.ms())
        .filter(|u| *u > now_ms)
    {
        Some(Reason::CooldownAfterAdd { until_ms: until })
    } else if let Some(until) = state
        .last_scale_down_ms
        .map(|t| t + down.delay_after_delete.ms())
        .filter(|u| *u > now_ms)
    {
        Some(Reason::CooldownAfterDelete { until_ms: until })
    } else if let Some(until) = state
        .last_scale_down_failure_ms
        .map(|t| t + down.delay_after_failure.ms())
        .filter(|u| *u > now_ms)
    {
        Some(Reason::CooldownAfterFailure { until_ms: until })
    } else {
        brake
    };
    if let Some(g) = gate {
        for rem in &plan.removals {
            note_unneeded(state, rem, now_ms, config, out);
        }
        out.decision.scale_down.blocked = Some(g);
        return;
    }

    let ripe = |state: &LoopState, rem: &NodeRemoval| -> bool {
        state
            .nodes
            .get(&rem.node)
            .and_then(|t| t.unneeded_since_ms)
            .is_some_and(|s| now_ms - s >= config.unneeded_time(&rem.group).ms())
    };
    // Only prefixes of a plan are known safe. When an unripe node sits before ripe ones, plan
    // again with the unripe nodes protected, so the ripe ones form a prefix.
    let first_unripe = plan.removals.iter().position(|r| !ripe(state, r));
    let ripe_after =
        first_unripe.is_some_and(|i| plan.removals[i..].iter().any(|r| ripe(state, r)));
    let replanned: Option<ScaleDownPlan> = if ripe_after {
        let mut more = protected.clone();
        for rem in plan.removals.iter().filter(|r| !ripe(state, r)) {
            more.insert(
                rem.node.clone(),
                "unneeded for less than the unneeded time".to_string(),
            );
        }
        Some(planners::scale_down(
            &planner,
            config,
            more,
            false,
            &mut state.scale_down_cache,
        ))
    } else {
        None
    };
    let acting = replanned.as_ref().unwrap_or(&plan);

    let mut chosen: Vec<&NodeRemoval> = Vec::new();
    let mut stop: Option<(String, Reason)> = None;
    for rem in &acting.removals {
        if let Some((blocker, _)) = &stop {
            if ripe(state, rem) {
                out.decision.note(
                    format!("node/{}", rem.node),
                    Reason::AfterBlockedNode {
                        node: blocker.clone(),
                    },
                );
            } else {
                note_unneeded(state, rem, now_ms, config, out);
            }
            continue;
        }
        let left = budget.group_left.get(&rem.group).copied().unwrap_or(0);
        let min = snapshot
            .node_groups
            .iter()
            .find(|g| g.name == rem.group)
            .map_or(0, |g| g.min);
        let tracked = by_node
            .get(&rem.node.to_ascii_lowercase())
            .and_then(|n| state.records.get(n))
            .is_some_and(|r| r.phase == NodePhase::Ready && r.identifier.is_some());
        let blocked = if !ripe(state, rem) {
            note_unneeded(state, rem, now_ms, config, out);
            Some(None)
        } else if budget.removing >= down.max_parallelism {
            Some(Some(Reason::ScaleDownParallelism {
                limit: down.max_parallelism,
            }))
        } else if left <= 0 {
            Some(Some(Reason::GroupMin {
                group: rem.group.clone(),
                min,
            }))
        } else if rem.empty && budget.empties >= down.max_empty_bulk_delete {
            Some(Some(Reason::EmptyBulkLimit {
                limit: down.max_empty_bulk_delete,
            }))
        } else if !rem.empty && budget.draining >= down.max_drain_parallelism {
            Some(Some(Reason::DrainParallelism {
                limit: down.max_drain_parallelism,
            }))
        } else if !tracked {
            Some(Some(Reason::Untracked))
        } else {
            None
        };
        match blocked {
            Some(reason) => {
                if let Some(reason) = reason {
                    out.decision
                        .note(format!("node/{}", rem.node), reason.clone());
                    stop = Some((rem.node.clone(), reason));
                } else {
                    stop = Some((rem.node.clone(), Reason::Removing));
                }
            }
            None => {
                budget.removing += 1;
                if rem.empty {
                    budget.empties += 1;
                } else {
                    budget.draining += 1;
                }
                if let Some(l) = budget.group_left.get_mut(&rem.group) {
                    *l -= 1;
                }
                chosen.push(rem);
            }
        }
    }
    for rem in &chosen {
        let Some(r) = by_node
            .get(&rem.node.to_ascii_lowercase())
            .and_then(|n| state.records.get_mut(n))
        else {
            continue;
        };
        let since = state
            .nodes
            .get(&rem.node)
            .and_then(|t| t.unneeded_since_ms)
            .unwrap_or(now_ms);
        let why = format!(
            "{} for {}",
            rem.kind.code(),
            super::duration::DurationMs(now_ms - since)
        );
        out.actions.push(Action::Cordon {
            node: rem.node.clone(),
        });
        if rem.empty {
            r.empty_removal = true;
            out.transition(r, NodePhase::Deleting, now_ms, why);
            out.actions.push(Action::DeleteNode {
                node: rem.node.clone(),
            });
            request_delete(r, now_ms, out);
        } else {
            r.drain_started_ms = Some(now_ms);
            out.transition(r, NodePhase::Terminating, now_ms, why);
            out.actions.push(Action::Drain {
                node: rem.node.clone(),
                evictions: rem
                    .evictions
                    .iter()
                    .map(|e| PlannedEviction {
                        pod: e.pod.clone(),
                        destination: e.destination.clone(),
                    })
                    .collect(),
            });
        }
        state.nodes.remove(&rem.node);
        out.decision.scale_down.started.push(rem.node.clone());
    }
    start_replacement(state, snapshot, &plan, now_ms, config, budget.removing, out);
}

fn note_unneeded(
    state: &LoopState,
    rem: &NodeRemoval,
    _now_ms: i64,
    config: &AutoscalerConfig,
    out: &mut Out,
) {
    if let Some(since) = state.nodes.get(&rem.node).and_then(|t| t.unneeded_since_ms) {
        out.decision.note(
            format!("node/{}", rem.node),
            Reason::Unneeded {
                since_ms: since,
                ripe_at_ms: since + config.unneeded_time(&rem.group).ms(),
            },
        );
    }
}

fn budget(state: &LoopState, snapshot: &ClusterSnapshot, _config: &AutoscalerConfig) -> Budget {
    let mut removing = 0u32;
    let mut draining = 0u32;
    let mut leaving: BTreeMap<String, i64> = BTreeMap::new();
    let present: BTreeSet<Cow<'_, str>> =
        snapshot.nodes.iter().map(|n| host_key(&n.name)).collect();
    for r in state.records.values() {
        if r.purpose == Purpose::Unrequested {
            continue;
        }
        if r.phase.is_removing() {
            removing += 1;
            if r.phase == NodePhase::Terminating && !r.empty_removal {
                draining += 1;
            }
        }
        let on_its_way_out = r.phase.is_removing() || r.phase == NodePhase::Failed;
        if on_its_way_out
            && r.hostname
                .as_ref()
                .is_some_and(|h| present.contains(&host_key(h)))
        {
            *leaving.entry(r.group.clone()).or_default() += 1;
        }
    }
    let mut group_left = BTreeMap::new();
    for g in &snapshot.node_groups {
        let have = snapshot
            .nodes
            .iter()
            .filter(|n| n.node_group.as_deref() == Some(g.name.as_str()))
            .count() as i64;
        let left = have - leaving.get(&g.name).copied().unwrap_or(0) - i64::from(g.min);
        group_left.insert(g.name.clone(), left);
    }
    Budget {
        removing,
        draining,
        empties: 0,
        group_left,
    }
}

/// Drains the replaced nodes of replacements whose new nodes are Ready. Cooldowns do not
/// apply (this is the second half of one operation); the health brake and the drain
/// parallelism do.
fn drain_replacements(
    state: &mut LoopState,
    snapshot: &ClusterSnapshot,
    now_ms: i64,
    config: &AutoscalerConfig,
    braked: bool,
    budget: &mut Budget,
    out: &mut Out,
) {
    let draining: Vec<(String, Vec<String>)> = state
        .replacements
        .values()
        .filter(|r| r.stage == ReplacementStage::Draining)
        .map(|r| (r.id.clone(), r.remove.clone()))
        .collect();
    for (id, nodes) in draining {
        for node in nodes {
            let Some(name) = state
                .record_by_node(&node)
                .filter(|r| r.phase == NodePhase::Ready)
                .map(|r| r.name.clone())
            else {
                continue;
            };
            if state
                .nodes
                .get(&node)
                .and_then(|t| t.drain_backoff_until_ms)
                .is_some_and(|u| u > now_ms)
            {
                continue;
            }
            let group = state
                .records
                .get(&name)
                .map(|r| r.group.clone())
                .unwrap_or_default();
            let reason = if braked {
                health_brake(state, snapshot, config)
            } else if budget.draining >= config.scale_down.max_drain_parallelism {
                Some(Reason::DrainParallelism {
                    limit: config.scale_down.max_drain_parallelism,
                })
            } else if budget.group_left.get(&group).copied().unwrap_or(0) <= 0 {
                Some(Reason::GroupMin {
                    min: snapshot
                        .node_groups
                        .iter()
                        .find(|g| g.name == group)
                        .map_or(0, |g| g.min),
                    group: group.clone(),
                })
            } else {
                None
            };
            if let Some(reason) = reason {
                out.decision.note(format!("node/{node}"), reason);
                continue;
            }
            let Some(r) = state.records.get_mut(&name) else {
                continue;
            };
            budget.removing += 1;
            budget.draining += 1;
            if let Some(l) = budget.group_left.get_mut(&group) {
                *l -= 1;
            }
            r.drain_started_ms = Some(now_ms);
            out.transition(
                r,
                NodePhase::Terminating,
                now_ms,
                format!("replaced by {id}"),
            );
            out.actions.push(Action::Cordon { node: node.clone() });
            out.actions.push(Action::Drain {
                node: node.clone(),
                evictions: evictions_on(snapshot, &node),
            });
            out.decision.scale_down.started.push(node.clone());
        }
    }
}

/// Starts at most one replacement: all its nodes ripe, no other replacement or removal in
/// progress, not reverting a recent replacement, within limits. New nodes are requested first;
/// the replaced nodes are drained once they are Ready.
fn start_replacement(
    state: &mut LoopState,
    snapshot: &ClusterSnapshot,
    plan: &ScaleDownPlan,
    now_ms: i64,
    config: &AutoscalerConfig,
    removing: u32,
    out: &mut Out,
) {
    let Some(rep) = plan.replacements.first() else {
        return;
    };
    let subject = format!("replacement/{}", rep.remove.join(","));
    let refuse = |out: &mut Out, reason: Reason| out.decision.note(subject.clone(), reason);
    if !config.consolidation.enabled {
        return refuse(out, Reason::ConsolidationDisabled);
    }
    if !state.replacements.is_empty() {
        return refuse(out, Reason::ReplacementInProgress);
    }
    if removing > 0 {
        return refuse(out, Reason::RemovalsInProgress);
    }
    if rep.hourly_saving < config.consolidation.min_hourly_saving {
        return;
    }
    for node in &rep.remove {
        let group = snapshot
            .nodes
            .iter()
            .find(|n| &n.name == node)
            .and_then(|n| n.node_group.clone())
            .unwrap_or_default();
        let since = state.nodes.get(node).and_then(|t| t.unneeded_since_ms);
        let ripe_at = since.map(|s| s + config.unneeded_time(&group).ms());
        if ripe_at.is_none_or(|r| r > now_ms) {
            return refuse(
                out,
                Reason::Unneeded {
                    since_ms: since.unwrap_or(now_ms),
                    ripe_at_ms: ripe_at.unwrap_or(now_ms),
                },
            );
        }
    }
    for add in &rep.add {
        if let Some(h) = state
            .recent_replacements
            .iter()
            .find(|h| h.removed_groups.contains(&add.group))
        {
            return refuse(
                out,
                Reason::WouldRevertReplacement {
                    group: add.group.clone(),
                    until_ms: h.at_ms + config.consolidation.window.ms(),
                },
            );
        }
    }
    let adding: u64 = rep.add.iter().map(|a| u64::from(a.count)).sum();
    let in_flight = state.in_flight().count() as u64;
    if in_flight + adding > u64::from(config.scale_up.max_concurrent) {
        return refuse(
            out,
            Reason::MaxConcurrentScaleUps {
                limit: config.scale_up.max_concurrent,
            },
        );
    }
    if let Some(max) = config.limits.max_nodes_total
        && snapshot.nodes.len() as u64 + in_flight + adding > u64::from(max)
    {
        return refuse(out, Reason::MaxNodesTotal { limit: max });
    }
    for add in &rep.add {
        if let Some(g) = snapshot.node_groups.iter().find(|g| g.name == add.group) {
            let have = snapshot
                .nodes
                .iter()
                .filter(|n| n.node_group.as_deref() == Some(g.name.as_str()))
                .count() as u64
                + state.in_flight().filter(|r| r.group == g.name).count() as u64;
            if have + u64::from(add.count) > u64::from(g.max) {
                return refuse(
                    out,
                    Reason::GroupMax {
                        group: g.name.clone(),
                        max: g.max,
                    },
                );
            }
        }
        if add.new_group
            && state
                .groups
                .get(&add.group)
                .is_some_and(|g| g.creating.is_some())
        {
            return refuse(
                out,
                Reason::GroupCreating {
                    group: add.group.clone(),
                },
            );
        }
        if !snapshot.sizes.iter().any(|s| s.name == add.size) {
            return refuse(
                out,
                Reason::UnknownSize {
                    size: add.size.clone(),
                },
            );
        }
    }
    let id = state.next_name("replacement");
    let mut requests = Vec::new();
    for add in &rep.add {
        let Some(size) = snapshot.sizes.iter().find(|s| s.name == add.size) else {
            continue;
        };
        requests.extend(request_workers(
            state,
            &add.group,
            size,
            add.new_group,
            None,
            add.count,
            Purpose::Replacement {
                replacement: id.clone(),
            },
            now_ms,
            out,
        ));
    }
    if requests.is_empty() {
        return;
    }
    let removed_groups: BTreeSet<String> = rep
        .remove
        .iter()
        .filter_map(|n| snapshot.nodes.iter().find(|x| &x.name == n))
        .filter_map(|n| n.node_group.clone())
        .collect();
    state.recent_replacements.push(ReplacementHistory {
        id: id.clone(),
        at_ms: now_ms,
        removed_groups,
        added_groups: rep.add.iter().map(|a| a.group.clone()).collect(),
    });
    state.replacements.insert(
        id.clone(),
        ReplacementState {
            id: id.clone(),
            started_at_ms: now_ms,
            stage: ReplacementStage::Adding,
            remove: rep.remove.clone(),
            requests,
        },
    );
    out.decision.scale_down.replacements_started.push(id);
}
