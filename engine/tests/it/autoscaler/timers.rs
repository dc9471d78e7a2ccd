//! Timers and gates of scale-down and scale-up, one table row each, on a small cluster whose
//! empty nodes the scale-down planner finds removable.

use vpsie_engine::autoscaler::config::GroupOverrides;
use vpsie_engine::autoscaler::{
    AutoscalerConfig, DurationMs, LoopState, NodePhase, Observation, Purpose,
};
use vpsie_engine::model::ClusterSnapshot;

use super::fixtures::{MIN, actions_text, adopted_state, config, node, pod, run, snapshot};

/// Group g (min 0): n1 empty, n2 busy (3 of 4 cores requested).
fn cluster() -> ClusterSnapshot {
    snapshot(
        &[("g", 0, 10)],
        vec![node("n1", Some("g"), true), node("n2", Some("g"), true)],
        vec![pod("busy", 3000, 1024, Some("n2"))],
    )
}

const REMOVE_N1: &[&str] = &["cordon n1", "delete-node n1", "delete-worker id-n1 node=n1"];

struct Row {
    name: &'static str,
    config: AutoscalerConfig,
    prepare: fn(&mut LoopState),
    /// (time, expected actions) after the first step at t=0.
    checks: Vec<(i64, &'static [&'static str])>,
}

fn nothing(_: &mut LoopState) {}

#[test]
fn scale_down_timers() {
    let rows = vec![
        Row {
            name: "unneeded time",
            config: AutoscalerConfig::default(),
            prepare: nothing,
            checks: vec![(10 * MIN - 1, &[]), (10 * MIN, REMOVE_N1)],
        },
        Row {
            name: "per-group unneeded time",
            config: config(|c| {
                c.node_groups.insert(
                    "g".into(),
                    GroupOverrides {
                        unneeded_time: Some(DurationMs::from_mins(30)),
                        ..GroupOverrides::default()
                    },
                );
            }),
            prepare: nothing,
            checks: vec![(10 * MIN, &[]), (30 * MIN, REMOVE_N1)],
        },
        Row {
            name: "delay after add",
            config: AutoscalerConfig::default(),
            prepare: |s| s.last_scale_up_ms = Some(5 * MIN),
            checks: vec![(10 * MIN, &[]), (15 * MIN - 1, &[]), (15 * MIN, REMOVE_N1)],
        },
        Row {
            name: "delay after delete",
            config: config(|c| c.scale_down.delay_after_delete = DurationMs::from_mins(5)),
            prepare: |s| s.last_scale_down_ms = Some(8 * MIN),
            checks: vec![(10 * MIN, &[]), (13 * MIN, REMOVE_N1)],
        },
        Row {
            name: "delay after failure",
            config: AutoscalerConfig::default(),
            prepare: |s| s.last_scale_down_failure_ms = Some(9 * MIN),
            checks: vec![(12 * MIN - 1, &[]), (12 * MIN, REMOVE_N1)],
        },
        Row {
            name: "new node grace period",
            config: AutoscalerConfig::default(),
            prepare: |s| {
                let r = s.records.get_mut("adopted-n1").unwrap();
                r.purpose = Purpose::PendingPods;
                r.ready_at_ms = Some(0);
            },
            // Protected until 10m, then unneeded for another 10m.
            checks: vec![(10 * MIN, &[]), (20 * MIN - 1, &[]), (20 * MIN, REMOVE_N1)],
        },
        Row {
            name: "drain backoff",
            config: AutoscalerConfig::default(),
            prepare: |s| {
                s.nodes
                    .entry("n1".into())
                    .or_default()
                    .drain_backoff_until_ms = Some(5 * MIN)
            },
            checks: vec![(5 * MIN, &[]), (15 * MIN - 1, &[]), (15 * MIN, REMOVE_N1)],
        },
        Row {
            name: "scale-down disabled for the group",
            config: config(|c| {
                c.node_groups.insert(
                    "g".into(),
                    GroupOverrides {
                        scale_down_enabled: Some(false),
                        ..GroupOverrides::default()
                    },
                );
            }),
            prepare: nothing,
            checks: vec![(60 * MIN, &[])],
        },
        Row {
            name: "scale-down disabled",
            config: config(|c| c.scale_down.enabled = false),
            prepare: nothing,
            checks: vec![(60 * MIN, &[])],
        },
    ];
    for row in rows {
        let snap = cluster();
        let mut state = adopted_state(&snap);
        (row.prepare)(&mut state);
        let (mut state, _) = run(state, &snap, &[], 0, &row.config);
        assert_eq!(
            state.records["adopted-n1"].phase,
            NodePhase::Ready,
            "{}",
            row.name
        );
        for (t, expected) in row.checks {
            let (s, out) = run(state, &snap, &[], t, &row.config);
            assert_eq!(
                actions_text(&out),
                expected,
                "{} at {}:\n{}",
                row.name,
                DurationMs(t),
                out.decision.render_text()
            );
            state = s;
        }
    }
}

#[test]
fn group_min_counts_removals_in_progress() {
    let snap = snapshot(
        &[("g", 2, 10)],
        vec![
            node("n1", Some("g"), true),
            node("n2", Some("g"), true),
            node("n3", Some("g"), true),
        ],
        vec![],
    );
    let config = AutoscalerConfig::default();
    let (state, _) = run(adopted_state(&snap), &snap, &[], 0, &config);
    let (state, out) = run(state, &snap, &[], 10 * MIN, &config);
    assert_eq!(out.decision.scale_down.started, ["n1"]);
    // n1 is still in the snapshot (being deleted): the group is at min counting it.
    let (_, out) = run(state, &snap, &[], 11 * MIN, &config);
    assert!(
        out.decision.scale_down.started.is_empty(),
        "{}",
        out.decision.render_text()
    );
}

#[test]
fn empty_bulk_and_parallelism_limits() {
    let nodes = (0..14)
        .map(|i| node(&format!("n{i:02}"), Some("g"), true))
        .collect();
    let snap = snapshot(&[("g", 0, 20)], nodes, vec![]);
    let config = AutoscalerConfig::default();
    let (state, _) = run(adopted_state(&snap), &snap, &[], 0, &config);
    let (state, out) = run(state, &snap, &[], 10 * MIN, &config);
    assert_eq!(
        out.decision.scale_down.started.len(),
        10,
        "max empty bulk delete"
    );
    let (_, out) = run(state, &snap, &[], 11 * MIN, &config);
    assert!(
        out.decision.scale_down.started.is_empty(),
        "10 removals in progress fill the parallelism"
    );
}

#[test]
fn health_brake_stops_scale_down() {
    let mut nodes = vec![node("n1", Some("g"), true), node("n2", Some("g"), true)];
    for i in 0..4 {
        nodes.push(node(&format!("sick{i}"), None, false));
    }
    let snap = snapshot(&[("g", 0, 10)], nodes, vec![]);
    let config = AutoscalerConfig::default();
    let (state, _) = run(adopted_state(&snap), &snap, &[], 0, &config);
    let (_, out) = run(state, &snap, &[], 10 * MIN, &config);
    assert!(out.actions.is_empty());
    let blocked = out.decision.scale_down.blocked.unwrap();
    assert_eq!(blocked.code(), "health_brake");
}

#[test]
fn new_pod_delay_holds_back_young_pods() {
    let mut young = pod("young", 500, 256, None);
    young.created_at_ms = Some(100_000);
    let snap = snapshot(&[("g", 0, 10)], vec![], vec![young]);
    let config = config(|c| c.scale_up.new_pod_delay = DurationMs::from_secs(30));
    let (_, out) = run(LoopState::new(), &snap, &[], 120_000, &config);
    assert!(!out.decision.scale_up.planned);
    assert_eq!(out.decision.notes[0].reason.code(), "new_pod_delay");
    let (_, out) = run(LoopState::new(), &snap, &[], 130_000, &config);
    assert!(out.decision.scale_up.planned);
}

#[test]
fn drain_failure_uncordons_and_backs_off() {
    let snap = snapshot(
        &[("g", 0, 10)],
        vec![node("n1", Some("g"), true), node("n2", Some("g"), true)],
        vec![
            pod("light", 200, 256, Some("n1")),
            pod("busy", 3000, 1024, Some("n2")),
        ],
    );
    let config = AutoscalerConfig::default();
    let (state, _) = run(adopted_state(&snap), &snap, &[], 0, &config);
    let (state, out) = run(state, &snap, &[], 10 * MIN, &config);
    let drained = out.decision.scale_down.started.clone();
    assert_eq!(drained.len(), 1, "{}", out.decision.render_text());
    assert!(actions_text(&out).iter().any(|a| a.starts_with("drain ")));
    let node = drained[0].clone();
    let failed = Observation::DrainFailed {
        node: node.clone(),
        message: "PDB refused".into(),
    };
    let (state, out) = run(state, &snap, &[failed], 11 * MIN, &config);
    assert_eq!(actions_text(&out), [format!("uncordon {node}")]);
    assert!(state.nodes[&node].drain_backoff_until_ms == Some(16 * MIN));
    // Cooldown after failure (3m), then the node's own backoff (5m), then the unneeded time.
    let (_, out) = run(state, &snap, &[], 15 * MIN, &config);
    assert!(!out.decision.scale_down.started.contains(&node));
}
