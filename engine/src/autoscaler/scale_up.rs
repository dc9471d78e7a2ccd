//! Scale-up within the loop: in-flight capacity injected into the planner's snapshot, groups
//! blocked by backoff or creation, the new-pod delay, then the plan clipped to group max,
//! cluster limits and the concurrent scale-up cap, and turned into CreateGroup/AddWorker.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::model::{ClusterSnapshot, InFlightNode, Node, NodeGroup, VpsieSize};
use crate::scaleup::{GroupBlock, GroupIncrease};
use crate::sched::NameIndex;

use super::config::AutoscalerConfig;
use super::decision::{PodExplanation, Reason};
use super::io::Action;
use super::lifecycle::Out;
use super::planners;
use super::record::{NodePhase, Purpose, VpsieNodeRecord, host_key};
use super::state::{GroupCreation, LoopState};

/// The snapshot the scale-up planner sees: the loop's in-flight records as in-flight nodes
/// (replacing whatever the shell put there), nodes that registered but are not Ready or not
/// labelled yet replaced by their in-flight template, groups being created added, and nodes
/// being removed cordoned.
pub(crate) fn planner_snapshot<'a>(
    state: &LoopState,
    snapshot: &'a ClusterSnapshot,
) -> Cow<'a, ClusterSnapshot> {
    let mut in_flight: Vec<InFlightNode> = Vec::new();
    let mut substituted: BTreeSet<String> = BTreeSet::new();
    let mut removing: BTreeSet<String> = BTreeSet::new();
    let nodes = super::lifecycle::node_index(snapshot);
    for r in state.records.values() {
        let node = r
            .hostname
            .as_ref()
            .and_then(|h| nodes.get(&host_key(h)).copied());
        let unlabelled = |n: &Node| n.node_group.as_deref() != Some(r.group.as_str());
        let counts = match r.phase {
            NodePhase::Pending | NodePhase::Provisioning | NodePhase::Provisioned => true,
            NodePhase::Joining => node.is_some_and(|n| !n.ready || unlabelled(n)),
            // A Ready worker whose Node went NotReady is not capacity on its way: counting it
            // as in flight would hold back scale-up for pods evicted from it until it is
            // declared dead. Only a Ready node still waiting for its label stands in.
            NodePhase::Ready => node.is_some_and(|n| n.ready && unlabelled(n)),
            _ => false,
        };
        if counts {
            if let Some(n) = node {
                substituted.insert(n.name.clone());
            }
            in_flight.push(InFlightNode {
                name: r.name.clone(),
                node_group: r.group.clone(),
                requested_at_ms: Some(r.requested_at_ms),
            });
        }
        if r.phase.is_removing()
            && let Some(n) = node
            && !n.unschedulable
        {
            removing.insert(n.name.clone());
        }
    }
    let creating: Vec<(&String, &GroupCreation)> = state
        .groups
        .iter()
        .filter_map(|(name, g)| g.creating.as_ref().map(|c| (name, c)))
        .filter(|(name, _)| !snapshot.node_groups.iter().any(|g| &g.name == *name))
        .collect();
    let unchanged = in_flight == snapshot.in_flight
        && substituted.is_empty()
        && removing.is_empty()
        && creating.is_empty();
    if unchanged {
        return Cow::Borrowed(snapshot);
    }
    let mut s = snapshot.clone();
    s.in_flight = in_flight;
    if !substituted.is_empty() {
        s.nodes.retain(|n| !substituted.contains(&n.name));
        s.pods.retain(|p| {
            p.node_name
                .as_ref()
                .is_none_or(|n| !substituted.contains(n))
        });
    }
    for n in &mut s.nodes {
        if removing.contains(&n.name) {
            n.unschedulable = true;
        }
    }
    for (name, c) in creating {
        s.node_groups.push(NodeGroup {
            name: name.clone(),
            size: c.size.clone(),
            min: 0,
            max: u32::MAX,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            zone: c.zone.clone(),
            datacenter: None,
            priority: 0,
            system_reserved: None,
            scale_down_utilization_threshold: None,
            shared_max: None,
        });
    }
    Cow::Owned(s)
}

/// Totals the cluster limits are checked against: nodes, cores, memory of existing nodes and
/// nodes being provisioned.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    nodes: u64,
    cores: u64,
    memory: i64,
}

fn size_of<'a>(snapshot: &'a ClusterSnapshot, group: &str) -> Option<&'a VpsieSize> {
    let g = snapshot.node_groups.iter().find(|g| g.name == group)?;
    snapshot.sizes.iter().find(|s| s.name == g.size)
}

fn totals(planner: &ClusterSnapshot) -> Totals {
    let mut t = Totals::default();
    for n in &planner.nodes {
        t.nodes += 1;
        match n.node_group.as_deref().and_then(|g| size_of(planner, g)) {
            Some(size) => {
                t.cores += u64::from(size.vcpu);
                t.memory = t.memory.saturating_add(size.capacity().memory);
            }
            None => {
                t.cores += u64::try_from(n.allocatable.cpu_milli.max(0))
                    .unwrap_or(0)
                    .div_ceil(1000);
                t.memory = t.memory.saturating_add(n.allocatable.memory.max(0));
            }
        }
    }
    for f in &planner.in_flight {
        t.nodes += 1;
        if let Some(size) = size_of(planner, &f.node_group) {
            t.cores += u64::from(size.vcpu);
            t.memory = t.memory.saturating_add(size.capacity().memory);
        }
    }
    t
}

/// Per group, the workers that count against its max: its Nodes, its in-flight workers, and
/// its failed or departing workers that VPSie may still list (deletion not yet seen) whose
/// Node is no longer in the snapshot, so a worker whose delete keeps failing is not replaced
/// beyond the max. One pass over nodes, in-flight workers and records.
fn workers_against_max(state: &LoopState, planner: &ClusterSnapshot) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for g in planner.group_members() {
        *out.entry(g.to_string()).or_default() += 1;
    }
    let nodes = super::lifecycle::node_index(planner);
    let lingering = state
        .records
        .values()
        .filter(|r| r.phase == NodePhase::Failed || r.phase.is_removing())
        .filter(|r| r.identifier.is_some() && !r.worker_gone)
        .filter(|r| {
            r.hostname
                .as_ref()
                .is_none_or(|h| !nodes.contains_key(&host_key(h)))
        });
    for r in lingering {
        *out.entry(r.group.clone()).or_default() += 1;
    }
    out
}

/// Runs scale-up: groups below their min first, then pending pods. Returns whether any worker
/// or group was requested.
pub(crate) fn run(
    state: &mut LoopState,
    snapshot: &ClusterSnapshot,
    now_ms: i64,
    config: &AutoscalerConfig,
    out: &mut Out,
) -> bool {
    let restored = restore_group_min(state, snapshot, now_ms, config, out);
    let planned = scale_up_for_pending(state, snapshot, now_ms, config, out);
    restored || planned
}

/// Pending pods: plan with in-flight capacity counted, then clip and issue.
fn scale_up_for_pending(
    state: &mut LoopState,
    snapshot: &ClusterSnapshot,
    now_ms: i64,
    config: &AutoscalerConfig,
    out: &mut Out,
) -> bool {
    let delay = config.scale_up.new_pod_delay.ms();
    let mut pending = 0usize;
    let mut ignored: BTreeSet<String> = BTreeSet::new();
    for p in snapshot.pods.iter().filter(|p| p.node_name.is_none()) {
        pending += 1;
        if p.created_at_ms.is_some_and(|c| now_ms - c < delay) {
            ignored.insert(p.key());
        }
    }
    if pending == 0 {
        return false;
    }
    if !ignored.is_empty() {
        out.decision.note(
            "scale-up",
            Reason::NewPodDelay {
                pods: ignored.len(),
            },
        );
    }
    if ignored.len() == pending {
        return false;
    }
    if state.in_flight().count() as u64 >= u64::from(config.scale_up.max_concurrent) {
        out.decision.note(
            "scale-up",
            Reason::MaxConcurrentScaleUps {
                limit: config.scale_up.max_concurrent,
            },
        );
        return false;
    }
    let blocked = blocked_groups(state, now_ms, out);
    let planner = planner_snapshot(state, snapshot);
    let plan = planners::scale_up(&planner, config, blocked.clone(), ignored);
    let d = &mut out.decision.scale_up;
    d.planned = true;
    d.fit_existing = plan.fit_existing.len();
    d.node_ratio = plan.bound.node_ratio;
    d.cost_ratio = plan.bound.cost_ratio;
    d.work_used = plan.work_used;
    d.plan_text = planners::render_up(&plan);
    d.unschedulable = plan
        .unschedulable
        .iter()
        .map(|v| PodExplanation {
            pod: v.pod.clone(),
            code: v.reason.code().to_string(),
            sentence: v.reason.to_string(),
        })
        .collect();

    issue(
        state,
        snapshot,
        &planner,
        &plan.increases,
        &blocked,
        now_ms,
        config,
        out,
    )
}

/// Groups that may not grow now (being created, backing off), each noted once in the decision.
fn blocked_groups(state: &LoopState, now_ms: i64, out: &mut Out) -> BTreeMap<String, GroupBlock> {
    let mut blocked: BTreeMap<String, GroupBlock> = BTreeMap::new();
    for (name, g) in &state.groups {
        if g.creating.is_some() {
            blocked.insert(name.clone(), GroupBlock::Creating);
        } else if let Some((until, failures)) = state.group_backoff(name, now_ms) {
            blocked.insert(name.clone(), GroupBlock::Backoff { until_ms: until });
            let subject = format!("group/{name}");
            if !out.decision.notes.iter().any(|n| n.subject == subject) {
                out.decision.note(
                    subject,
                    Reason::GroupBackoff {
                        group: name.clone(),
                        until_ms: until,
                        failures,
                    },
                );
            }
        }
    }
    blocked
}

/// Nodes `group` has or is getting, as far as its min is concerned: records in flight or
/// Ready (a Ready one whose Node is NotReady still counts until it is declared dead), and
/// Nodes of the group the loop has no record of. Failed and departing workers do not count.
fn live_members<'a>(state: &'a LoopState, snapshot: &'a ClusterSnapshot) -> BTreeMap<&'a str, u64> {
    let mut count: BTreeMap<&str, u64> = BTreeMap::new();
    let mut hostnames: Vec<Cow<'_, str>> = Vec::with_capacity(state.records.len());
    for r in state.records.values() {
        if let Some(h) = &r.hostname {
            hostnames.push(host_key(h));
        }
        if r.purpose != Purpose::Unrequested
            && (r.phase.is_in_flight() || r.phase == NodePhase::Ready)
        {
            *count.entry(r.group.as_str()).or_default() += 1;
        }
    }
    // Node names of one cluster share long prefixes: find them by fingerprint, not by
    // ordering whole names.
    let hostnames: Vec<&str> = hostnames.iter().map(AsRef::as_ref).collect();
    let known = NameIndex::new(&hostnames);
    for n in &snapshot.nodes {
        if let Some(group) = &n.node_group
            && known.find(&host_key(&n.name)).is_none()
        {
            *count.entry(group.as_str()).or_default() += 1;
        }
    }
    count
}

/// Brings every group back up to its min (after dead workers were deleted, or a group whose
/// min was raised), within its max, backoff and the cluster limits, as Cluster Autoscaler's
/// `--enforce-node-group-min-count` does.
fn restore_group_min(
    state: &mut LoopState,
    snapshot: &ClusterSnapshot,
    now_ms: i64,
    config: &AutoscalerConfig,
    out: &mut Out,
) -> bool {
    if snapshot.node_groups.iter().all(|g| g.min == 0) {
        return false;
    }
    let live = live_members(state, snapshot);
    let increases: Vec<GroupIncrease> = snapshot
        .node_groups
        .iter()
        .filter(|g| g.min > 0)
        .filter_map(|g| {
            let members = live.get(g.name.as_str()).copied().unwrap_or(0);
            let missing = u64::from(g.min).saturating_sub(members);
            (missing > 0).then(|| GroupIncrease {
                group: g.name.clone(),
                size: g.size.clone(),
                new_group: false,
                zone: g.zone.clone(),
                count: u32::try_from(missing).unwrap_or(u32::MAX),
                hourly_cost: 0.0,
                nodes: Vec::new(),
            })
        })
        .collect();
    if increases.is_empty() {
        return false;
    }
    for inc in &increases {
        out.decision.note(
            format!("group/{}", inc.group),
            Reason::BelowGroupMin {
                group: inc.group.clone(),
                missing: inc.count,
            },
        );
    }
    let blocked = blocked_groups(state, now_ms, out);
    let planner = planner_snapshot(state, snapshot);
    issue(
        state, snapshot, &planner, &increases, &blocked, now_ms, config, out,
    )
}

/// Clips increases to the concurrent scale-up cap, group max and cluster limits, and issues
/// what is left. Returns whether anything was requested.
#[allow(clippy::too_many_arguments)]
fn issue(
    state: &mut LoopState,
    snapshot: &ClusterSnapshot,
    planner: &ClusterSnapshot,
    increases: &[GroupIncrease],
    blocked: &BTreeMap<String, GroupBlock>,
    now_ms: i64,
    config: &AutoscalerConfig,
    out: &mut Out,
) -> bool {
    let in_flight_now = state.in_flight().count() as u64;
    let max_concurrent = u64::from(config.scale_up.max_concurrent);
    let mut totals = totals(planner);
    let limits = &config.limits;
    let mut concurrency_left = max_concurrent.saturating_sub(in_flight_now);
    let mut issued = false;
    let mut shared_issued: BTreeMap<String, u64> = BTreeMap::new();
    let against_max = workers_against_max(state, planner);
    for inc in increases {
        if let Some(b) = blocked.get(&inc.group) {
            if matches!(b, GroupBlock::Creating) {
                out.decision.note(
                    format!("group/{}", inc.group),
                    Reason::GroupCreating {
                        group: inc.group.clone(),
                    },
                );
            }
            continue;
        }
        let Some(size) = snapshot.sizes.iter().find(|s| s.name == inc.size) else {
            out.decision.note(
                format!("group/{}", inc.group),
                Reason::UnknownSize {
                    size: inc.size.clone(),
                },
            );
            continue;
        };
        let mut count = u64::from(inc.count);
        let mut clip = |count: &mut u64, allowed: u64, reason: Reason| {
            if *count > allowed {
                *count = allowed;
                out.decision.note(format!("group/{}", inc.group), reason);
            }
        };
        clip(
            &mut count,
            concurrency_left,
            Reason::MaxConcurrentScaleUps {
                limit: config.scale_up.max_concurrent,
            },
        );
        let mut shared = None;
        if let Some(g) = planner.node_groups.iter().find(|g| g.name == inc.group) {
            let have = against_max.get(&g.name).copied().unwrap_or(0);
            clip(
                &mut count,
                u64::from(g.max).saturating_sub(have),
                Reason::GroupMax {
                    group: g.name.clone(),
                    max: g.max,
                },
            );
            if let Some(m) = &g.shared_max {
                // Every group sharing the maximum, plus what this decision already asked for.
                let have: u64 = planner
                    .node_groups
                    .iter()
                    .filter(|o| o.shared_max.as_ref().is_some_and(|o| o.name == m.name))
                    .map(|o| against_max.get(&o.name).copied().unwrap_or(0))
                    .sum::<u64>()
                    + shared_issued.get(&m.name).copied().unwrap_or(0);
                clip(
                    &mut count,
                    u64::from(m.max).saturating_sub(have),
                    Reason::GroupMax {
                        group: m.name.clone(),
                        max: m.max,
                    },
                );
                shared = Some(m.name.clone());
            }
        }
        if let Some(max) = limits.max_nodes_total {
            clip(
                &mut count,
                u64::from(max).saturating_sub(totals.nodes),
                Reason::MaxNodesTotal { limit: max },
            );
        }
        if let Some(max) = limits.max_total_cores {
            let per = u64::from(size.vcpu).max(1);
            clip(
                &mut count,
                max.saturating_sub(totals.cores) / per,
                Reason::MaxTotalCores { limit: max },
            );
        }
        if let Some(max) = limits.max_total_memory {
            let per = size.capacity().memory.max(1);
            let left = (max.0.saturating_sub(totals.memory)).max(0) / per;
            clip(
                &mut count,
                u64::try_from(left).unwrap_or(0),
                Reason::MaxTotalMemory { limit: max.0 },
            );
        }
        if count == 0 {
            continue;
        }
        if let Some(name) = shared {
            *shared_issued.entry(name).or_default() += count;
        }
        concurrency_left -= count;
        totals.nodes += count;
        totals.cores += u64::from(size.vcpu) * count;
        totals.memory = totals
            .memory
            .saturating_add(size.capacity().memory.saturating_mul(count as i64));
        let count32 = u32::try_from(count).unwrap_or(u32::MAX);
        let names = request_workers(
            state,
            &inc.group,
            size,
            inc.new_group,
            inc.zone.clone(),
            count32,
            Purpose::PendingPods,
            now_ms,
            out,
        );
        if !names.is_empty() {
            issued = true;
            out.decision
                .scale_up
                .requested
                .push((inc.group.clone(), count32));
        }
    }
    if issued {
        state.last_scale_up_ms = Some(now_ms);
    }
    issued
}

/// Creates `count` Pending records of `group` and issues AddWorker for each, or CreateGroup
/// first when the group does not exist yet (the adds follow `GroupCreated`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn request_workers(
    state: &mut LoopState,
    group: &str,
    size: &VpsieSize,
    new_group: bool,
    zone: Option<String>,
    count: u32,
    purpose: Purpose,
    now_ms: i64,
    out: &mut Out,
) -> Vec<String> {
    let awaiting = if new_group {
        let g = state.groups.entry(group.to_string()).or_default();
        if g.creating.is_some() {
            return Vec::new();
        }
        g.creating = Some(GroupCreation {
            size: size.name.clone(),
            size_id: size.id,
            zone,
            requested_at_ms: now_ms,
        });
        out.actions.push(Action::CreateGroup {
            group: group.to_string(),
            size_id: size.id,
        });
        out.decision.scale_up.created_groups.push(group.to_string());
        true
    } else {
        false
    };
    let mut names = Vec::new();
    for _ in 0..count {
        let name = state.next_name(group);
        let mut r =
            VpsieNodeRecord::requested(name.clone(), group.to_string(), purpose.clone(), now_ms);
        r.awaiting_group = awaiting;
        out.created(
            &r,
            if awaiting {
                "requested; waiting for its group to be created"
            } else {
                "requested"
            },
        );
        if !awaiting {
            out.actions.push(Action::AddWorker {
                group: group.to_string(),
                request: name.clone(),
            });
        }
        state.records.insert(name.clone(), r);
        names.push(name);
    }
    state.last_scale_up_ms = Some(now_ms);
    names
}
