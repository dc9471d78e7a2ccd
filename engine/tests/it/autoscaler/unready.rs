//! Dead workers: a Ready node that goes NotReady (or disappears while its worker is still
//! listed) for the unready node timeout is failed, deleted with its Node, and replaced; one that
//! recovers in time is left alone. The timer lives in the record and survives a rebuild.

use vpsie_engine::autoscaler::{
    Action, AutoscalerConfig, DurationMs, FailureCause, ListedWorker, LoopState, NodePhase,
    Observation, Purpose, VpsieNodeRecord,
};

use super::fixtures::{MIN, actions_text, config, node, pod, run, snapshot};

/// One record `g-000001` of group `g` for worker `id-1` / Node `w1`, in `phase`.
fn tracked(phase: NodePhase, purpose: Purpose) -> LoopState {
    let mut s = LoopState::new();
    let mut r = VpsieNodeRecord::requested("g-000001".into(), "g".into(), purpose, 0);
    r.phase = phase;
    r.accepted = true;
    r.running = true;
    r.identifier = Some("id-1".into());
    r.hostname = Some("w1".into());
    if phase == NodePhase::Ready {
        r.ready_at_ms = Some(0);
    }
    s.records.insert(r.name.clone(), r);
    s.next_sequence = 2;
    s
}

/// What the Node `w1` looks like at one step: Ready, NotReady, or not in the snapshot.
#[derive(Clone, Copy)]
enum Seen {
    Up,
    Down,
    Gone,
}

struct Row {
    name: &'static str,
    start: LoopState,
    timeout_mins: i64,
    /// (minute, what the Node looks like), stepped in order.
    steps: &'static [(i64, Seen)],
    /// Phase of the record after the last step.
    phase: NodePhase,
    /// `not_ready_since_ms` after the last step, in minutes.
    since_min: Option<i64>,
    /// Actions of the last step.
    actions: &'static [&'static str],
}

#[test]
fn the_unready_timer() {
    use NodePhase::*;
    use Seen::*;
    let rows = vec![
        Row {
            name: "NotReady just under the timeout: kept",
            start: tracked(Ready, Purpose::PendingPods),
            timeout_mins: 15,
            steps: &[(0, Up), (1, Down), (15, Down)],
            phase: Ready,
            since_min: Some(1),
            actions: &[],
        },
        Row {
            name: "NotReady for the timeout: failed, worker and Node deleted",
            start: tracked(Ready, Purpose::PendingPods),
            timeout_mins: 15,
            steps: &[(0, Up), (1, Down), (16, Down)],
            phase: Failed,
            since_min: Some(1),
            actions: &["delete-worker id-1 node=w1", "delete-node w1"],
        },
        Row {
            name: "Ready again before the timeout: the timer starts over",
            start: tracked(Ready, Purpose::PendingPods),
            timeout_mins: 15,
            steps: &[(0, Down), (14, Up), (20, Down), (34, Down)],
            phase: Ready,
            since_min: Some(20),
            actions: &[],
        },
        Row {
            name: "recovered and stays Ready: nothing happens",
            start: tracked(Ready, Purpose::PendingPods),
            timeout_mins: 15,
            steps: &[(0, Down), (10, Up), (40, Up)],
            phase: Ready,
            since_min: None,
            actions: &[],
        },
        Row {
            name: "Node missing while the worker is listed: failed, worker deleted",
            start: tracked(Ready, Purpose::PendingPods),
            timeout_mins: 15,
            steps: &[(0, Gone), (15, Gone)],
            phase: Failed,
            since_min: Some(0),
            actions: &["delete-worker id-1 node=w1"],
        },
        Row {
            name: "a shorter configured timeout",
            start: tracked(Ready, Purpose::PendingPods),
            timeout_mins: 3,
            steps: &[(0, Down), (3, Down)],
            phase: Failed,
            since_min: Some(0),
            actions: &["delete-worker id-1 node=w1", "delete-node w1"],
        },
        Row {
            name: "adopted worker whose Node never turns Ready",
            start: tracked(Provisioned, Purpose::Adopted),
            timeout_mins: 15,
            steps: &[(0, Down), (15, Down)],
            phase: Failed,
            since_min: Some(0),
            actions: &["delete-worker id-1 node=w1", "delete-node w1"],
        },
        Row {
            name: "adopted worker that joins in time",
            start: tracked(Provisioned, Purpose::Adopted),
            timeout_mins: 15,
            steps: &[(0, Down), (14, Up)],
            phase: Ready,
            since_min: None,
            actions: &[],
        },
        Row {
            name: "a node being drained is not timed",
            start: {
                let mut s = tracked(Terminating, Purpose::PendingPods);
                s.records.get_mut("g-000001").unwrap().drain_started_ms = Some(0);
                s
            },
            timeout_mins: 15,
            steps: &[(0, Down), (16, Down)],
            phase: Terminating,
            since_min: None,
            actions: &[],
        },
    ];
    for row in rows {
        let config = config(|c| {
            c.lifecycle.unready_node_timeout = DurationMs::from_mins(row.timeout_mins);
        });
        let mut state = row.start;
        let mut last = None;
        for (minute, seen) in row.steps {
            let nodes = match seen {
                Up => vec![node("w1", Some("g"), true)],
                Down => vec![node("w1", Some("g"), false)],
                Gone => vec![],
            };
            // A busy node, so scale-down leaves it alone.
            let pods = if nodes.is_empty() {
                vec![]
            } else {
                vec![pod("busy", 3000, 1024, Some("w1"))]
            };
            let snap = snapshot(&[("g", 0, 10)], nodes, pods);
            let (s, out) = run(state, &snap, &[], minute * MIN, &config);
            state = s;
            last = Some(out);
        }
        let out = last.unwrap();
        let r = &state.records["g-000001"];
        assert_eq!(
            r.phase,
            row.phase,
            "{}: {}",
            row.name,
            out.decision.render_text()
        );
        assert_eq!(
            r.not_ready_since_ms,
            row.since_min.map(|m| m * MIN),
            "{}",
            row.name
        );
        assert_eq!(actions_text(&out), row.actions, "{}", row.name);
        if row.phase == Failed {
            assert!(
                matches!(r.failure, Some(FailureCause::NodeUnready { .. })),
                "{}: {:?}",
                row.name,
                r.failure
            );
        }
    }
}

fn listed(id: &str, host: &str, status: &str) -> ListedWorker {
    ListedWorker {
        group: "g".into(),
        identifier: id.into(),
        hostname: host.into(),
        status: status.into(),
        created_at_ms: Some(0),
    }
}

/// Two Ready workers with a pod each; `w2` dies. The loop waits out the timeout (across a
/// restart), deletes the dead worker and its Node, buys a replacement for the pod the Node's
/// deletion sets free, and forgets the dead record once its worker is gone.
#[test]
fn a_dead_worker_is_deleted_and_replaced_across_a_restart() {
    let config = AutoscalerConfig::default();
    let workers = [
        listed("id-1", "w1", "running"),
        listed("id-2", "w2", "running"),
    ];
    let healthy = snapshot(
        &[("g", 1, 3)],
        vec![node("w1", Some("g"), true), node("w2", Some("g"), true)],
        vec![
            pod("a", 3000, 1024, Some("w1")),
            pod("b", 3000, 1024, Some("w2")),
        ],
    );
    let state = LoopState::rebuild(Vec::new(), &workers, 0);
    let (state, _) = run(state, &healthy, &[], 0, &config);
    let dead_w2 = {
        let mut s = healthy.clone();
        s.nodes[1].ready = false;
        s
    };
    let (state, out) = run(state, &dead_w2, &[], MIN, &config);
    assert!(out.actions.is_empty(), "{:?}", actions_text(&out));
    assert_eq!(
        state.record_by_node("w2").unwrap().not_ready_since_ms,
        Some(MIN)
    );
    // The controller restarts; VPSie lists the dead worker as stopped. The timer survives.
    let records = state.records.values().cloned().collect();
    let state = LoopState::rebuild(
        records,
        &[
            listed("id-1", "w1", "running"),
            listed("id-2", "w2", "stopped"),
        ],
        10 * MIN,
    );
    let (state, out) = run(state, &dead_w2, &[], 10 * MIN, &config);
    assert!(out.actions.is_empty(), "{:?}", actions_text(&out));
    let (state, out) = run(state, &dead_w2, &[], 16 * MIN, &config);
    assert_eq!(
        actions_text(&out),
        ["delete-worker id-2 node=w2", "delete-node w2"]
    );
    assert_eq!(state.record_by_node("w2").unwrap().phase, NodePhase::Failed);
    // The shell deleted the Node: its pod is pending again, and a replacement is bought.
    let freed = snapshot(
        &[("g", 1, 3)],
        vec![node("w1", Some("g"), true)],
        vec![pod("a", 3000, 1024, Some("w1")), pod("b", 3000, 1024, None)],
    );
    let (state, out) = run(state, &freed, &[], 16 * MIN + 10_000, &config);
    let adds: Vec<&Action> = out
        .actions
        .iter()
        .filter(|a| matches!(a, Action::AddWorker { group, .. } if group == "g"))
        .collect();
    assert_eq!(adds.len(), 1, "{:?}", actions_text(&out));
    // The dead worker goes; its record is forgotten after the failed-record TTL.
    let gone = Observation::WorkerGone {
        identifier: "id-2".into(),
    };
    let (state, _) = run(state, &freed, &[gone], 17 * MIN, &config);
    assert!(state.record_by_node("w2").unwrap().worker_gone);
    let (state, _) = run(state, &freed, &[], 16 * MIN + 60 * MIN, &config);
    assert!(state.record_by_node("w2").is_none());
}

/// Adds a second record `g-000002` of group `g`: worker `id-2`, Node `w2`, Ready.
fn add_ready_w2(state: &mut LoopState) {
    let mut other =
        VpsieNodeRecord::requested("g-000002".into(), "g".into(), Purpose::PendingPods, 0);
    other.phase = NodePhase::Ready;
    other.accepted = true;
    other.identifier = Some("id-2".into());
    other.hostname = Some("w2".into());
    state.records.insert(other.name.clone(), other);
}

/// A dead worker whose deletion keeps failing still counts against its group's max: the
/// replacement waits until VPSie no longer lists it.
#[test]
fn a_dead_worker_not_yet_deleted_counts_against_the_group_max() {
    let config = AutoscalerConfig::default();
    let mut state = tracked(NodePhase::Ready, Purpose::PendingPods);
    add_ready_w2(&mut state);
    let dead = snapshot(
        &[("g", 0, 2)],
        vec![node("w1", Some("g"), false), node("w2", Some("g"), true)],
        vec![pod("a", 3000, 1024, Some("w2"))],
    );
    let (state, _) = run(state, &dead, &[], 0, &config);
    let (state, out) = run(state, &dead, &[], 15 * MIN, &config);
    assert!(actions_text(&out).contains(&"delete-node w1".to_string()));
    let delete_failed = Observation::DeleteWorkerFailed {
        identifier: "id-1".into(),
        error: vpsie_engine::autoscaler::CloudErrorKind::Server,
        message: "503".into(),
    };
    replacement_waits_until_id1_is_gone(state, &[delete_failed], 15 * MIN + 10_000, &config);
}

fn adds_of(out: &vpsie_engine::autoscaler::StepOutput) -> usize {
    out.actions
        .iter()
        .filter(|a| matches!(a, Action::AddWorker { .. }))
        .count()
}

/// Group `g` (max 2) with Node `w2` full and one pod waiting, worker `id-1` (Node `w1`, gone
/// from the snapshot) still listed by VPSie: with `observations` at `at_ms` no worker is added,
/// and one is once VPSie reports `id-1` gone.
fn replacement_waits_until_id1_is_gone(
    state: LoopState,
    observations: &[Observation],
    at_ms: i64,
    config: &AutoscalerConfig,
) {
    let waiting = snapshot(
        &[("g", 0, 2)],
        vec![node("w2", Some("g"), true)],
        vec![pod("a", 3000, 1024, Some("w2")), pod("b", 3000, 1024, None)],
    );
    let (state, out) = run(state, &waiting, observations, at_ms, config);
    assert_eq!(adds_of(&out), 0, "{:?}", actions_text(&out));
    let gone = Observation::WorkerGone {
        identifier: "id-1".into(),
    };
    let (_, out) = run(state, &waiting, &[gone], at_ms + 10_000, config);
    assert!(adds_of(&out) > 0, "{:?}", actions_text(&out));
}

/// A group short of its min gets workers without any pending pod, counting workers in flight
/// and Ready ones whose Node is NotReady (not yet declared dead), never during a backoff.
#[test]
fn a_group_below_its_min_is_brought_back_up() {
    let config = AutoscalerConfig::default();
    let one_node = snapshot(&[("g", 3, 5)], vec![node("w1", Some("g"), false)], vec![]);
    let state = tracked(NodePhase::Ready, Purpose::PendingPods);
    let (state, out) = run(state, &one_node, &[], MIN, &config);
    assert_eq!(adds_of(&out), 2, "{}", out.decision.render_text());
    assert!(
        out.decision
            .notes
            .iter()
            .any(|n| n.reason.code() == "below_group_min"),
        "{}",
        out.decision.render_text()
    );
    // The requests in flight count: nothing more is asked for.
    let (state, out) = run(state, &one_node, &[], 2 * MIN, &config);
    assert_eq!(adds_of(&out), 0, "{:?}", actions_text(&out));
    // Both adds are refused: the group backs off and is not grown meanwhile.
    let refused: Vec<Observation> = state
        .records
        .values()
        .filter(|r| r.phase == NodePhase::Pending)
        .map(|r| Observation::AddWorkerFailed {
            request: r.name.clone(),
            error: vpsie_engine::autoscaler::CloudErrorKind::OutOfStock,
            message: "out of stock".into(),
        })
        .collect();
    assert_eq!(refused.len(), 2);
    let (state, out) = run(state, &one_node, &refused, 3 * MIN, &config);
    assert_eq!(adds_of(&out), 0, "{:?}", actions_text(&out));
    let (until, _) = state.group_backoff("g", 3 * MIN).unwrap();
    let (_, out) = run(state, &one_node, &[], until, &config);
    assert_eq!(adds_of(&out), 2, "{}", out.decision.render_text());
}

/// A group at its min with every worker healthy asks for nothing.
#[test]
fn a_group_at_its_min_asks_for_nothing() {
    let config = AutoscalerConfig::default();
    let snap = snapshot(&[("g", 1, 5)], vec![node("w1", Some("g"), true)], vec![]);
    let (_, out) = run(
        tracked(NodePhase::Ready, Purpose::PendingPods),
        &snap,
        &[],
        MIN,
        &config,
    );
    assert!(out.actions.is_empty(), "{:?}", actions_text(&out));
}

/// Likewise a worker being deleted after a scale-down: its Node is gone, VPSie still lists it
/// while the delete keeps failing, and it counts against the max until it is gone (found by
/// the simulator_ops fuzz target: a group grew to 6 workers with a max of 4).
#[test]
fn a_departing_worker_still_listed_counts_against_the_group_max() {
    let config = AutoscalerConfig::default();
    let mut state = tracked(NodePhase::Deleting, Purpose::PendingPods);
    state
        .records
        .get_mut("g-000001")
        .unwrap()
        .delete_requested_ms = Some(0);
    add_ready_w2(&mut state);
    // w1's Node is already deleted; w2 is full; one pod waits.
    replacement_waits_until_id1_is_gone(state, &[], MIN, &config);
}
