//! VPSieNode lifecycle: one table row per transition, including timeouts, plus matching and
//! orphan handling.

use vpsie_engine::autoscaler::{
    AutoscalerConfig, CloudErrorKind, FailureCause, LoopState, NodePhase, Observation, Purpose,
    VpsieNodeRecord,
};
use vpsie_engine::model::Node;

use super::fixtures::{MIN, actions_text, node, run, snapshot};

/// A state with one record `g-000001` of group `g` in `phase`, requested at t=0. From
/// Provisioning on, its worker `id-1` / `w1` is known.
fn one_record(phase: NodePhase) -> LoopState {
    let mut s = LoopState::new();
    let mut r = VpsieNodeRecord::requested("g-000001".into(), "g".into(), Purpose::PendingPods, 0);
    r.phase = phase;
    if phase != NodePhase::Pending {
        r.accepted = true;
    }
    if !matches!(phase, NodePhase::Pending | NodePhase::Provisioning) {
        r.identifier = Some("id-1".into());
        r.hostname = Some("w1".into());
    }
    if phase == NodePhase::Terminating {
        r.drain_started_ms = Some(0);
    }
    if phase == NodePhase::Deleting {
        r.delete_requested_ms = Some(0);
    }
    s.records.insert(r.name.clone(), r);
    s.next_sequence = 2;
    s
}

fn with_identifier(mut s: LoopState) -> LoopState {
    for r in s.records.values_mut() {
        r.identifier = Some("id-1".into());
        r.hostname = Some("w1".into());
    }
    s
}

struct Row {
    name: &'static str,
    start: LoopState,
    obs: Vec<Observation>,
    nodes: Vec<Node>,
    now: i64,
    /// Phase of g-000001 afterwards (`None`: forgotten).
    phase: Option<NodePhase>,
    actions: &'static [&'static str],
}

fn gone(id: &str) -> Observation {
    Observation::WorkerGone {
        identifier: id.into(),
    }
}

#[test]
fn lifecycle_transitions() {
    use NodePhase::*;
    let rows = vec![
        Row {
            name: "accepted",
            start: one_record(Pending),
            obs: vec![Observation::AddWorkerAccepted {
                request: "g-000001".into(),
            }],
            nodes: vec![],
            now: 1000,
            phase: Some(Provisioning),
            actions: &[],
        },
        Row {
            name: "add refused",
            start: one_record(Pending),
            obs: vec![Observation::AddWorkerFailed {
                request: "g-000001".into(),
                error: CloudErrorKind::WorkerLimit,
                message: "exceeds the allowed limit".into(),
            }],
            nodes: vec![],
            now: 1000,
            phase: Some(Failed),
            actions: &[],
        },
        Row {
            name: "worker appeared",
            start: one_record(Provisioning),
            obs: vec![Observation::WorkerAppeared {
                group: "g".into(),
                identifier: "id-1".into(),
                hostname: "w1".into(),
            }],
            nodes: vec![],
            now: 60_000,
            phase: Some(Provisioning),
            actions: &[],
        },
        Row {
            name: "worker running",
            start: with_identifier(one_record(Provisioning)),
            obs: vec![Observation::WorkerRunning {
                identifier: "id-1".into(),
            }],
            nodes: vec![],
            now: 120_000,
            phase: Some(Provisioned),
            actions: &[],
        },
        Row {
            name: "node registered, not ready",
            start: one_record(Provisioned),
            obs: vec![],
            nodes: vec![node("w1", None, false)],
            now: 150_000,
            phase: Some(Joining),
            actions: &["label w1 group=g"],
        },
        Row {
            name: "node ready",
            start: one_record(Joining),
            obs: vec![],
            nodes: vec![node("w1", Some("g"), true)],
            now: 160_000,
            phase: Some(Ready),
            actions: &[],
        },
        Row {
            name: "node registers ready at once, unlabelled",
            start: one_record(Provisioned),
            obs: vec![],
            nodes: vec![node("W1", None, true)],
            now: 160_000,
            phase: Some(Ready),
            actions: &["label W1 group=g"],
        },
        Row {
            name: "ready worker vanishes",
            start: one_record(Ready),
            obs: vec![gone("id-1")],
            nodes: vec![node("w1", Some("g"), false)],
            now: 200_000,
            phase: Some(Failed),
            actions: &["delete-node w1"],
        },
        Row {
            name: "drain finished",
            start: one_record(Terminating),
            obs: vec![Observation::DrainFinished { node: "w1".into() }],
            nodes: vec![node("w1", Some("g"), true)],
            now: 60_000,
            phase: Some(Deleting),
            actions: &["delete-node w1", "delete-worker id-1 node=w1"],
        },
        Row {
            name: "drain failed",
            start: one_record(Terminating),
            obs: vec![Observation::DrainFailed {
                node: "w1".into(),
                message: "PDB refused".into(),
            }],
            nodes: vec![node("w1", Some("g"), true)],
            now: 60_000,
            phase: Some(Ready),
            actions: &["uncordon w1"],
        },
        Row {
            name: "drain timeout",
            start: one_record(Terminating),
            obs: vec![],
            nodes: vec![node("w1", Some("g"), true)],
            now: 20 * MIN,
            phase: Some(Ready),
            actions: &["uncordon w1"],
        },
        Row {
            name: "drain still within its time",
            start: one_record(Terminating),
            obs: vec![],
            nodes: vec![node("w1", Some("g"), true)],
            now: 20 * MIN - 1,
            phase: Some(Terminating),
            actions: &[],
        },
        Row {
            name: "deleted worker gone",
            start: one_record(Deleting),
            obs: vec![gone("id-1")],
            nodes: vec![],
            now: 60_000,
            phase: None,
            actions: &[],
        },
        Row {
            name: "delete 404 counts as gone",
            start: one_record(Deleting),
            obs: vec![Observation::DeleteWorkerFailed {
                identifier: "id-1".into(),
                error: CloudErrorKind::NotFound,
                message: "not found".into(),
            }],
            nodes: vec![],
            now: 10_000,
            phase: None,
            actions: &[],
        },
        Row {
            name: "delete failure retried after the retry interval",
            start: one_record(Deleting),
            obs: vec![Observation::DeleteWorkerFailed {
                identifier: "id-1".into(),
                error: CloudErrorKind::Server,
                message: "503".into(),
            }],
            nodes: vec![],
            now: MIN,
            phase: Some(Deleting),
            actions: &["delete-worker id-1 node=w1"],
        },
        Row {
            name: "delete not retried before the interval",
            start: one_record(Deleting),
            obs: vec![],
            nodes: vec![],
            now: MIN - 1,
            phase: Some(Deleting),
            actions: &[],
        },
        Row {
            name: "provision timeout without identifier",
            start: one_record(Provisioning),
            obs: vec![],
            nodes: vec![],
            now: 15 * MIN,
            phase: Some(Failed),
            actions: &[],
        },
        Row {
            name: "no timeout a millisecond earlier",
            start: one_record(Provisioning),
            obs: vec![],
            nodes: vec![],
            now: 15 * MIN - 1,
            phase: Some(Provisioning),
            actions: &[],
        },
        Row {
            name: "provision timeout with identifier deletes the worker",
            start: one_record(Provisioned),
            obs: vec![],
            nodes: vec![],
            now: 15 * MIN,
            phase: Some(Failed),
            actions: &["delete-worker id-1 node=w1"],
        },
        Row {
            name: "joining node that never turns ready times out",
            start: one_record(Joining),
            obs: vec![],
            nodes: vec![node("w1", None, false)],
            now: 15 * MIN,
            phase: Some(Failed),
            actions: &["delete-worker id-1 node=w1"],
        },
    ];
    let config = AutoscalerConfig::default();
    for row in rows {
        let snap = snapshot(&[("g", 0, 10)], row.nodes, vec![]);
        let (state, out) = run(row.start, &snap, &row.obs, row.now, &config);
        let phase = state.records.get("g-000001").map(|r| r.phase);
        assert_eq!(
            phase,
            row.phase,
            "{}: {}",
            row.name,
            out.decision.render_text()
        );
        assert_eq!(actions_text(&out), row.actions, "{}", row.name);
    }
}

#[test]
fn add_failure_backs_the_group_off_exponentially_and_resets() {
    let config = AutoscalerConfig::default();
    let snap = snapshot(&[("g", 0, 10)], vec![], vec![]);
    let mut state = LoopState::new();
    let mut now = 0;
    let mut seen = Vec::new();
    for i in 0..6 {
        let name = format!("g-{i:06}");
        let r = VpsieNodeRecord::requested(name.clone(), "g".into(), Purpose::PendingPods, now);
        state.records.insert(name.clone(), r);
        let fail = Observation::AddWorkerFailed {
            request: name,
            error: CloudErrorKind::Server,
            message: "500".into(),
        };
        let (s, _) = run(state, &snap, &[fail], now, &config);
        state = s;
        let (until, failures) = state.group_backoff("g", now).unwrap();
        seen.push(((until - now) / MIN, failures));
        now = until;
    }
    assert_eq!(
        seen,
        vec![(5, 1), (10, 2), (20, 3), (30, 4), (30, 5), (30, 6)]
    );
    // Three quiet hours reset the count.
    now += 3 * 60 * MIN;
    let r = VpsieNodeRecord::requested("g-000099".into(), "g".into(), Purpose::PendingPods, now);
    state.records.insert(r.name.clone(), r);
    let fail = Observation::AddWorkerFailed {
        request: "g-000099".into(),
        error: CloudErrorKind::Server,
        message: "500".into(),
    };
    let (state, _) = run(state, &snap, &[fail], now, &config);
    assert_eq!(state.group_backoff("g", now), Some((now + 5 * MIN, 1)));
    assert_eq!(state.group_backoff("g", now + 5 * MIN), None);
}

#[test]
fn provision_timeout_backs_off_and_a_late_worker_is_deleted() {
    let config = AutoscalerConfig::default();
    let snap = snapshot(&[("g", 0, 10)], vec![], vec![]);
    let (state, _) = run(
        one_record(NodePhase::Provisioning),
        &snap,
        &[],
        15 * MIN,
        &config,
    );
    let r = &state.records["g-000001"];
    assert_eq!(r.failure, Some(FailureCause::ProvisionTimeout));
    assert!(state.group_backoff("g", 15 * MIN).is_some());
    // The worker materialises after the give-up: it matches no request and is deleted.
    let late = Observation::WorkerAppeared {
        group: "g".into(),
        identifier: "late-1".into(),
        hostname: "w-late".into(),
    };
    let (state, out) = run(state, &snap, &[late], 20 * MIN, &config);
    assert_eq!(actions_text(&out), ["delete-worker late-1 node=w-late"]);
    let orphan = state.record_by_identifier("late-1").unwrap();
    assert_eq!(
        (orphan.phase, orphan.purpose.clone()),
        (NodePhase::Deleting, Purpose::Unrequested)
    );
    let (state, _) = run(state, &snap, &[gone("late-1")], 21 * MIN, &config);
    assert!(state.record_by_identifier("late-1").is_none());
}

#[test]
fn appearing_workers_match_the_oldest_request_of_their_group() {
    let config = AutoscalerConfig::default();
    let snap = snapshot(&[("g", 0, 10), ("h", 0, 10)], vec![], vec![]);
    let mut state = LoopState::new();
    for (name, group, at) in [
        ("g-000003", "g", 3000),
        ("g-000001", "g", 1000),
        ("h-000002", "h", 500),
    ] {
        let r = VpsieNodeRecord::requested(name.into(), group.into(), Purpose::PendingPods, at);
        state.records.insert(name.into(), r);
    }
    let appear = |id: &str, host: &str| Observation::WorkerAppeared {
        group: "g".into(),
        identifier: id.into(),
        hostname: host.into(),
    };
    let (state, _) = run(
        state,
        &snap,
        &[appear("a", "wa"), appear("b", "wb")],
        5000,
        &config,
    );
    assert_eq!(state.records["g-000001"].identifier.as_deref(), Some("a"));
    assert_eq!(state.records["g-000003"].identifier.as_deref(), Some("b"));
    assert_eq!(state.records["h-000002"].identifier, None);
    // Reported twice (a shell restart re-diffs): no second match, no deletion.
    let (state, out) = run(state, &snap, &[appear("a", "wa")], 6000, &config);
    assert!(out.actions.is_empty());
    assert_eq!(state.records.len(), 3);
}

#[test]
fn failed_records_are_forgotten_after_their_ttl_once_nothing_exists() {
    let config = AutoscalerConfig::default();
    let snap = snapshot(&[("g", 0, 10)], vec![], vec![]);
    // Without identifier: nothing to delete; forgotten after the TTL from failure.
    let (state, _) = run(
        one_record(NodePhase::Provisioning),
        &snap,
        &[],
        15 * MIN,
        &config,
    );
    let (state, _) = run(state, &snap, &[], 15 * MIN + 60 * MIN - 1, &config);
    assert!(state.records.contains_key("g-000001"));
    let (state, _) = run(state, &snap, &[], 15 * MIN + 60 * MIN, &config);
    assert!(!state.records.contains_key("g-000001"));
    // With an identifier whose deletion never succeeds: kept (and retried) past the TTL.
    let (state, _) = run(
        one_record(NodePhase::Provisioned),
        &snap,
        &[],
        15 * MIN,
        &config,
    );
    let (state, out) = run(state, &snap, &[], 200 * MIN, &config);
    assert!(state.records.contains_key("g-000001"));
    assert_eq!(actions_text(&out), ["delete-worker id-1 node=w1"]);
    let (state, _) = run(state, &snap, &[gone("id-1")], 201 * MIN, &config);
    let (state, _) = run(state, &snap, &[], 202 * MIN, &config);
    assert!(!state.records.contains_key("g-000001"));
}

#[test]
fn new_group_is_created_before_workers_are_added() {
    let config = AutoscalerConfig::default();
    let snap = snapshot(&[("g", 0, 10)], vec![], vec![]);
    let mut state = LoopState::new();
    let mut r = VpsieNodeRecord::requested(
        "k8s-8c-16g-000001".into(),
        "k8s-8c-16g".into(),
        Purpose::PendingPods,
        0,
    );
    r.awaiting_group = true;
    state.records.insert(r.name.clone(), r);
    state
        .groups
        .entry("k8s-8c-16g".into())
        .or_default()
        .creating = Some(vpsie_engine::autoscaler::state::GroupCreation {
        size: "K8S-8C-16G".into(),
        size_id: 4,
        zone: None,
        requested_at_ms: 0,
    });
    // The provision timer does not run while the group is being created.
    let (state, out) = run(state, &snap, &[], 20 * MIN, &config);
    assert!(out.actions.is_empty());
    let created = Observation::GroupCreated {
        group: "k8s-8c-16g".into(),
        vpsie_group_id: 1188,
    };
    let (ok, out) = run(state.clone(), &snap, &[created], 21 * MIN, &config);
    assert_eq!(
        actions_text(&out),
        ["add-worker k8s-8c-16g k8s-8c-16g-000001"]
    );
    assert_eq!(ok.groups["k8s-8c-16g"].vpsie_group_id, Some(1188));
    let failed = Observation::GroupCreateFailed {
        group: "k8s-8c-16g".into(),
        error: CloudErrorKind::SizeConflict,
        message: "has same selected Size".into(),
    };
    let (bad, out) = run(state, &snap, &[failed], 21 * MIN, &config);
    assert!(out.actions.is_empty());
    assert_eq!(bad.records["k8s-8c-16g-000001"].phase, NodePhase::Failed);
    assert!(bad.group_backoff("k8s-8c-16g", 21 * MIN).is_some());
}

/// A restart between CreateGroup and GroupCreated loses the answer: the rebuilt state knows the
/// group's id (from the cluster) but the request still waits. The worker is added at once;
/// without an id it fails at the provision timeout instead of being capacity forever.
#[test]
fn a_request_whose_group_answer_was_lost_in_a_restart_is_resumed_or_failed() {
    let config = AutoscalerConfig::default();
    let snap = snapshot(&[("g", 0, 10)], vec![], vec![]);
    let mut r = VpsieNodeRecord::requested(
        "k8s-8c-16g-000001".into(),
        "k8s-8c-16g".into(),
        Purpose::PendingPods,
        0,
    );
    r.awaiting_group = true;
    let rebuilt = LoopState::rebuild(vec![r], &[], MIN);
    assert!(rebuilt.records["k8s-8c-16g-000001"].awaiting_group);

    let mut known = rebuilt.clone();
    known
        .groups
        .entry("k8s-8c-16g".into())
        .or_default()
        .vpsie_group_id = Some(1188);
    let (state, out) = run(known, &snap, &[], MIN, &config);
    assert_eq!(
        actions_text(&out),
        ["add-worker k8s-8c-16g k8s-8c-16g-000001"],
        "{}",
        out.decision.render_text()
    );
    let record = &state.records["k8s-8c-16g-000001"];
    assert!(!record.awaiting_group);
    assert_eq!(record.requested_at_ms, MIN);
    // Issued once: the next step waits for the worker.
    let (_, out) = run(state, &snap, &[], 2 * MIN, &config);
    assert!(
        actions_text(&out)
            .iter()
            .all(|a| !a.starts_with("add-worker"))
    );

    // No id and no creation under way: waiting until the provision timeout, then failed.
    let provision = config.max_node_provision_time("k8s-8c-16g").ms();
    let (state, out) = run(rebuilt.clone(), &snap, &[], provision - 1, &config);
    assert!(out.actions.is_empty());
    assert_eq!(state.records["k8s-8c-16g-000001"].phase, NodePhase::Pending);
    let (state, _) = run(rebuilt, &snap, &[], provision, &config);
    assert_eq!(state.records["k8s-8c-16g-000001"].phase, NodePhase::Failed);
    assert!(state.group_backoff("k8s-8c-16g", provision).is_some());
}
