//! VPSieNode lifecycle as pure transitions: observations move records between phases, the
//! snapshot shows Nodes registering and turning Ready, and timeouts give up on workers that take
//! too long. Idempotent actions whose effect is not seen are re-issued after a retry interval.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::model::{ClusterSnapshot, Node};

use super::config::AutoscalerConfig;
use super::decision::{Decision, Transition};
use super::io::{Action, CloudErrorKind, Observation};
use super::record::{FailureCause, NodePhase, Purpose, VpsieNodeRecord, host_key};
use super::state::{LoopState, ReplacementStage};

/// Collects actions and the decision while a step runs.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub actions: Vec<Action>,
    pub decision: Decision,
}

impl Out {
    pub fn transition(
        &mut self,
        record: &mut VpsieNodeRecord,
        to: NodePhase,
        now_ms: i64,
        why: impl Into<String>,
    ) {
        if record.phase == to {
            return;
        }
        self.decision.transitions.push(Transition {
            record: record.name.clone(),
            group: record.group.clone(),
            from: Some(record.phase),
            to: Some(to),
            why: why.into(),
        });
        record.phase = to;
        record.phase_since_ms = now_ms;
    }

    pub fn created(&mut self, record: &VpsieNodeRecord, why: impl Into<String>) {
        self.decision.transitions.push(Transition {
            record: record.name.clone(),
            group: record.group.clone(),
            from: None,
            to: Some(record.phase),
            why: why.into(),
        });
    }

    pub fn forgotten(&mut self, record: &VpsieNodeRecord, why: impl Into<String>) {
        self.decision.transitions.push(Transition {
            record: record.name.clone(),
            group: record.group.clone(),
            from: Some(record.phase),
            to: None,
            why: why.into(),
        });
    }
}

/// Nodes of the snapshot by lower-cased name (VPSie hostnames may differ in case).
pub(crate) fn node_index(snapshot: &ClusterSnapshot) -> BTreeMap<Cow<'_, str>, &Node> {
    snapshot
        .nodes
        .iter()
        .map(|n| (host_key(&n.name), n))
        .collect()
}

fn find_by_identifier<'a>(
    state: &'a mut LoopState,
    identifier: &str,
) -> Option<&'a mut VpsieNodeRecord> {
    state
        .records
        .values_mut()
        .find(|r| r.identifier.as_deref() == Some(identifier))
}

fn find_by_node<'a>(state: &'a mut LoopState, node: &str) -> Option<&'a mut VpsieNodeRecord> {
    state.records.values_mut().find(|r| {
        r.hostname
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(node))
    })
}

/// Issues the deletion of a record's worker (and Node, if it has one).
pub(crate) fn request_delete(record: &mut VpsieNodeRecord, now_ms: i64, out: &mut Out) {
    if let Some(id) = &record.identifier {
        out.actions.push(Action::DeleteWorker {
            identifier: id.clone(),
            node: record.hostname.clone(),
        });
        record.delete_requested_ms = Some(now_ms);
    }
}

/// Marks a record Failed; deletes its worker if one is known.
pub(crate) fn fail(record: &mut VpsieNodeRecord, cause: FailureCause, now_ms: i64, out: &mut Out) {
    let why = cause.to_string();
    record.failure = Some(cause);
    out.transition(record, NodePhase::Failed, now_ms, why);
    if record.identifier.is_some() && !record.worker_gone {
        request_delete(record, now_ms, out);
    } else if record.identifier.is_none() && !record.accepted {
        // Never accepted: nothing can exist in VPSie... unless the call timed out after
        // VPSie took it; a late worker then appears unmatched and is deleted.
    }
}

/// Applies the shell's observations, in order.
pub(crate) fn apply_observations(
    state: &mut LoopState,
    observations: &[Observation],
    now_ms: i64,
    config: &AutoscalerConfig,
    out: &mut Out,
) {
    for obs in observations {
        match obs {
            Observation::AddWorkerAccepted { request } => {
                if let Some(r) = state.records.get_mut(request) {
                    r.accepted = true;
                    if r.phase == NodePhase::Pending {
                        out.transition(
                            r,
                            NodePhase::Provisioning,
                            now_ms,
                            "VPSie accepted the add",
                        );
                    }
                }
            }
            Observation::AddWorkerFailed {
                request,
                error,
                message,
            } => {
                let Some(r) = state.records.get_mut(request) else {
                    continue;
                };
                if r.identifier.is_some() || !r.phase.is_in_flight() {
                    continue;
                }
                let group = r.group.clone();
                r.last_error = Some(format!("{error}: {message}"));
                fail(
                    r,
                    FailureCause::AddRejected {
                        message: format!("{error}: {message}"),
                    },
                    now_ms,
                    out,
                );
                // Nothing was created (unless a network error hid an accepted add, which a
                // late WorkerAppeared catches): the record only documents the failure.
                if *error != CloudErrorKind::Network {
                    r.worker_gone = true;
                }
                state.group_failed(&group, now_ms, config);
            }
            Observation::WorkerAppeared {
                group,
                identifier,
                hostname,
            } => worker_appeared(state, group, identifier, hostname, now_ms, out),
            Observation::WorkerRunning { identifier } => {
                if let Some(r) = find_by_identifier(state, identifier) {
                    r.running = true;
                    if r.phase == NodePhase::Provisioning || r.phase == NodePhase::Pending {
                        out.transition(r, NodePhase::Provisioned, now_ms, "the worker is running");
                    }
                }
            }
            Observation::WorkerGone { identifier } => {
                let Some(r) = find_by_identifier(state, identifier) else {
                    continue;
                };
                r.worker_gone = true;
                match r.phase {
                    NodePhase::Deleting | NodePhase::Terminating => {
                        let name = r.name.clone();
                        if let Some(r) = state.records.remove(&name) {
                            out.forgotten(&r, "the worker is gone");
                            state.nodes.remove(&r.hostname.clone().unwrap_or_default());
                        }
                        state.last_scale_down_ms = Some(now_ms);
                    }
                    NodePhase::Failed => {}
                    _ => {
                        r.failure = Some(FailureCause::WorkerVanished);
                        let node = r.hostname.clone();
                        out.transition(
                            r,
                            NodePhase::Failed,
                            now_ms,
                            FailureCause::WorkerVanished.to_string(),
                        );
                        if let Some(node) = node {
                            out.actions.push(Action::DeleteNode { node });
                        }
                    }
                }
            }
            Observation::GroupCreated {
                group,
                vpsie_group_id,
            } => {
                let g = state.groups.entry(group.clone()).or_default();
                g.creating = None;
                g.vpsie_group_id = Some(*vpsie_group_id);
                for r in state.records.values_mut() {
                    if r.group == *group && r.awaiting_group && r.phase == NodePhase::Pending {
                        r.awaiting_group = false;
                        r.requested_at_ms = now_ms;
                        r.phase_since_ms = now_ms;
                        out.actions.push(Action::AddWorker {
                            group: group.clone(),
                            request: r.name.clone(),
                        });
                    }
                }
            }
            Observation::GroupCreateFailed {
                group,
                error,
                message,
            } => {
                if let Some(g) = state.groups.get_mut(group) {
                    g.creating = None;
                }
                for r in state.records.values_mut() {
                    if r.group == *group && r.awaiting_group {
                        r.awaiting_group = false;
                        r.worker_gone = true;
                        fail(
                            r,
                            FailureCause::GroupCreateFailed {
                                message: format!("{error}: {message}"),
                            },
                            now_ms,
                            out,
                        );
                    }
                }
                state.group_failed(group, now_ms, config);
            }
            Observation::DrainFinished { node } => {
                let Some(r) = find_by_node(state, node) else {
                    continue;
                };
                if r.phase != NodePhase::Terminating {
                    continue;
                }
                out.transition(r, NodePhase::Deleting, now_ms, "drained");
                out.actions.push(Action::DeleteNode { node: node.clone() });
                request_delete(r, now_ms, out);
                state.last_scale_down_ms = Some(now_ms);
            }
            Observation::DrainFailed { node, message } => {
                drain_failed(state, node, message, now_ms, config, out);
            }
            Observation::DeleteWorkerFailed {
                identifier,
                error,
                message,
            } => {
                let Some(r) = find_by_identifier(state, identifier) else {
                    continue;
                };
                if *error == CloudErrorKind::NotFound {
                    // 404 on delete means it is already gone.
                    let id = identifier.clone();
                    apply_observations(
                        state,
                        &[Observation::WorkerGone { identifier: id }],
                        now_ms,
                        config,
                        out,
                    );
                    continue;
                }
                r.last_error = Some(format!("delete failed: {error}: {message}"));
                if r.purpose != Purpose::Unrequested && r.phase == NodePhase::Deleting {
                    state.last_scale_down_failure_ms = Some(now_ms);
                }
            }
        }
    }
}

pub(crate) fn drain_failed(
    state: &mut LoopState,
    node: &str,
    message: &str,
    now_ms: i64,
    config: &AutoscalerConfig,
    out: &mut Out,
) {
    let Some(r) = find_by_node(state, node) else {
        return;
    };
    if r.phase != NodePhase::Terminating {
        return;
    }
    r.last_error = Some(format!("drain failed: {message}"));
    r.drain_started_ms = None;
    out.transition(
        r,
        NodePhase::Ready,
        now_ms,
        format!("drain failed: {message}"),
    );
    out.actions.push(Action::Uncordon {
        node: node.to_string(),
    });
    let timers = state.nodes.entry(node.to_string()).or_default();
    timers.drain_backoff_until_ms = Some(now_ms + config.scale_down.drain_failure_backoff.ms());
    timers.unneeded_since_ms = None;
    state.last_scale_down_failure_ms = Some(now_ms);
}

fn worker_appeared(
    state: &mut LoopState,
    group: &str,
    identifier: &str,
    hostname: &str,
    now_ms: i64,
    out: &mut Out,
) {
    if state.record_by_identifier(identifier).is_some() {
        return;
    }
    // The oldest unmatched request of the group: VPSie creates workers in request order, and
    // matching oldest-first never depends on which Node registers first.
    let oldest = state
        .records
        .values()
        .filter(|r| r.group == group && r.is_unmatched_request())
        .min_by(|a, b| (a.requested_at_ms, &a.name).cmp(&(b.requested_at_ms, &b.name)))
        .map(|r| r.name.clone());
    match oldest.and_then(|name| state.records.get_mut(&name)) {
        Some(r) => {
            r.identifier = Some(identifier.to_string());
            r.hostname = Some(hostname.to_string());
            r.accepted = true;
            if r.phase == NodePhase::Pending {
                out.transition(r, NodePhase::Provisioning, now_ms, "the worker appeared");
            } else {
                out.decision.transitions.push(Transition {
                    record: r.name.clone(),
                    group: r.group.clone(),
                    from: Some(r.phase),
                    to: Some(r.phase),
                    why: format!("matched worker {identifier} ({hostname})"),
                });
            }
        }
        None => {
            // No request waits for it: a late materialisation after give-up, or an add that
            // failed on our side but happened. Never leave it running unaccounted.
            let name = format!("unrequested-{}", identifier.to_ascii_lowercase());
            let mut r = VpsieNodeRecord::requested(
                name.clone(),
                group.to_string(),
                Purpose::Unrequested,
                now_ms,
            );
            r.accepted = true;
            r.identifier = Some(identifier.to_string());
            r.hostname = Some(hostname.to_string());
            r.phase = NodePhase::Deleting;
            out.created(&r, "a worker appeared that matches no request: deleting it");
            request_delete(&mut r, now_ms, out);
            state.records.insert(name, r);
        }
    }
}

/// Level-triggered progress from the snapshot and the clock: registration, readiness,
/// labelling, timeouts, retries, TTL cleanup, replacement stages.
pub(crate) fn advance(
    state: &mut LoopState,
    snapshot: &ClusterSnapshot,
    now_ms: i64,
    config: &AutoscalerConfig,
    out: &mut Out,
) {
    let nodes = node_index(snapshot);
    let retry = config.lifecycle.action_retry_interval.ms();
    let mut failed_groups: Vec<String> = Vec::new();
    let mut forget: Vec<String> = Vec::new();
    let mut drain_timeouts: Vec<String> = Vec::new();
    let groups = &state.groups;
    for r in state.records.values_mut() {
        let node = r
            .hostname
            .as_ref()
            .and_then(|h| nodes.get(&host_key(h)).copied());
        // A request waiting for its group's creation whose answer was lost (a restart between
        // CreateGroup and GroupCreated). Once the group's VPSie id is known, the worker is
        // added now. With neither an id nor a creation under way nothing will answer, so the
        // request fails at the provision timeout like one whose worker never came.
        if r.awaiting_group && r.phase == NodePhase::Pending {
            let group = groups.get(&r.group);
            if group.is_some_and(|g| g.vpsie_group_id.is_some() && g.creating.is_none()) {
                r.awaiting_group = false;
                r.requested_at_ms = now_ms;
                r.phase_since_ms = now_ms;
                out.decision.transitions.push(Transition {
                    record: r.name.clone(),
                    group: r.group.clone(),
                    from: Some(r.phase),
                    to: Some(r.phase),
                    why: "its group exists: adding the worker".to_string(),
                });
                out.actions.push(Action::AddWorker {
                    group: r.group.clone(),
                    request: r.name.clone(),
                });
                continue;
            }
            if group.is_none_or(|g| g.creating.is_none())
                && now_ms - r.requested_at_ms >= config.max_node_provision_time(&r.group).ms()
            {
                fail(r, FailureCause::ProvisionTimeout, now_ms, out);
                failed_groups.push(r.group.clone());
                continue;
            }
        }
        // Registration and readiness.
        if let Some(n) = node {
            if matches!(
                r.phase,
                NodePhase::Pending | NodePhase::Provisioning | NodePhase::Provisioned
            ) {
                out.transition(r, NodePhase::Joining, now_ms, "its Node registered");
            }
            if r.phase == NodePhase::Joining && n.ready {
                r.ready_at_ms = Some(now_ms);
                out.transition(r, NodePhase::Ready, now_ms, "its Node is Ready");
            }
        }
        // A dead worker: its Node NotReady (or gone while the worker is still listed) for the
        // whole unready node timeout.
        if let Some(cause) = unready_timeout(r, node, now_ms, config) {
            fail(r, cause, now_ms, out);
            if let Some(n) = node {
                // Deleting the Node frees its pods (their controllers recreate them), which
                // is what the replacement is bought for.
                out.actions.push(Action::DeleteNode {
                    node: n.name.clone(),
                });
            }
            continue;
        }
        // Provision timeout (adopted workers are not timed: they were not ours to wait for).
        if r.phase.is_in_flight()
            && !r.awaiting_group
            && r.purpose != Purpose::Adopted
            && now_ms - r.requested_at_ms >= config.max_node_provision_time(&r.group).ms()
        {
            fail(r, FailureCause::ProvisionTimeout, now_ms, out);
            failed_groups.push(r.group.clone());
            continue;
        }
        // Labelling, re-issued until the snapshot shows the label.
        if let Some(n) = node
            && matches!(r.phase, NodePhase::Joining | NodePhase::Ready)
            && n.node_group.as_deref() != Some(r.group.as_str())
            && r.labelled_at_ms.is_none_or(|t| now_ms - t >= retry)
        {
            out.actions.push(Action::LabelNode {
                node: n.name.clone(),
                group: r.group.clone(),
            });
            r.labelled_at_ms = Some(now_ms);
        }
        match r.phase {
            NodePhase::Terminating
                if r.drain_started_ms
                    .is_some_and(|t| now_ms - t >= config.scale_down.max_drain_time.ms()) =>
            {
                if let Some(h) = &r.hostname {
                    drain_timeouts.push(h.clone());
                }
            }
            NodePhase::Deleting | NodePhase::Failed => {
                if r.identifier.is_some()
                    && !r.worker_gone
                    && r.delete_requested_ms.is_none_or(|t| now_ms - t >= retry)
                {
                    request_delete(r, now_ms, out);
                }
                if r.phase == NodePhase::Failed
                    && (r.worker_gone || r.identifier.is_none())
                    && now_ms - r.phase_since_ms >= config.lifecycle.failed_node_ttl.ms()
                {
                    forget.push(r.name.clone());
                }
            }
            _ => {}
        }
    }
    for g in failed_groups {
        state.group_failed(&g, now_ms, config);
    }
    for node in drain_timeouts {
        drain_failed(
            state,
            &node,
            "the drain did not finish within maxDrainTime",
            now_ms,
            config,
            out,
        );
    }
    for name in forget {
        if let Some(r) = state.records.remove(&name) {
            out.forgotten(&r, "failed record past its TTL");
        }
    }
    advance_replacements(state, now_ms, config);
}

/// Advances a record's unready timer and returns the failure once it has run out.
///
/// Watched: Ready records, and adopted records still booting (the provision timeout does not
/// apply to them). A watched record is unhealthy while its Node is NotReady, or missing while
/// its worker was not reported gone; the timer starts at the first unhealthy step, persists in
/// the record across restarts, and is cleared as soon as the Node is Ready again.
fn unready_timeout(
    r: &mut VpsieNodeRecord,
    node: Option<&Node>,
    now_ms: i64,
    config: &AutoscalerConfig,
) -> Option<FailureCause> {
    let watched = !r.worker_gone
        && r.identifier.is_some()
        && (r.phase == NodePhase::Ready
            || (r.purpose == Purpose::Adopted && r.phase.is_in_flight()));
    if !watched || node.is_some_and(|n| n.ready) {
        r.not_ready_since_ms = None;
        return None;
    }
    let since = *r.not_ready_since_ms.get_or_insert(now_ms);
    (now_ms - since >= config.lifecycle.unready_node_timeout.ms()).then_some(
        FailureCause::NodeUnready {
            since_ms: since,
            missing: node.is_none(),
        },
    )
}

/// A replacement whose replaced nodes are still not gone after this long is dropped from the
/// in-progress list (its nodes become ordinary scale-down candidates again).
const REPLACEMENT_GIVE_UP_MS: i64 = 6 * 3_600_000;

fn advance_replacements(state: &mut LoopState, now_ms: i64, config: &AutoscalerConfig) {
    let mut done: Vec<String> = Vec::new();
    for rep in state.replacements.values_mut() {
        match rep.stage {
            ReplacementStage::Adding => {
                let records: Vec<Option<&VpsieNodeRecord>> =
                    rep.requests.iter().map(|n| state.records.get(n)).collect();
                let failed = records
                    .iter()
                    .any(|r| r.is_none_or(|r| r.phase == NodePhase::Failed));
                if failed {
                    // The new capacity did not come: keep the old nodes; whatever new nodes
                    // did come are ordinary capacity now.
                    done.push(rep.id.clone());
                } else if records
                    .iter()
                    .all(|r| r.is_some_and(|r| r.phase == NodePhase::Ready))
                {
                    rep.stage = ReplacementStage::Draining;
                }
            }
            ReplacementStage::Draining => {
                // Finished once none of the replaced nodes is still tracked as live.
                let live = rep.remove.iter().any(|n| {
                    state.records.values().any(|r| {
                        r.hostname
                            .as_deref()
                            .is_some_and(|h| h.eq_ignore_ascii_case(n))
                            && !matches!(r.phase, NodePhase::Failed)
                    })
                });
                if !live || now_ms - rep.started_at_ms >= REPLACEMENT_GIVE_UP_MS {
                    done.push(rep.id.clone());
                }
            }
        }
    }
    for id in done {
        state.replacements.remove(&id);
    }
    let window = config.consolidation.window.ms();
    state
        .recent_replacements
        .retain(|h| now_ms - h.at_ms < window);
}
