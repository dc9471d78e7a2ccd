//! The scale-down cache: a decision that reuses the previous one's work must equal a decision
//! from scratch, after any sequence of changes to the snapshot, and the placement state it
//! keeps must equal a fresh build.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use vpsie_engine::model::ClusterSnapshot;
use vpsie_engine::scaledown::{ScaleDownCache, ScaleDownOptions, plan_scale_down};
use vpsie_engine::sched::ClusterState;

use super::scaledown::{options_strategy, snapshot_strategy};

/// One change between two decisions: (kind, a, b) picks what changes and where.
type Edit = (u8, usize, usize);

/// Applies an edit the way a cluster changes between two loop steps. `pool` supplies pods to
/// add; `serial` makes their names unique.
fn apply(snap: &mut ClusterSnapshot, pool: &ClusterSnapshot, (kind, a, b): Edit, serial: usize) {
    let pods = snap.pods.len();
    let nodes = snap.nodes.len();
    match kind % 11 {
        // A pod leaves (the simulator removes by swapping the last pod in).
        0 if pods > 0 => {
            snap.pods.swap_remove(a % pods);
        }
        // A pod arrives, bound or pending.
        1 if !pool.pods.is_empty() => {
            let mut p = pool.pods[a % pool.pods.len()].clone();
            p.name = format!("new-{serial}");
            if b % 3 == 0 {
                p.node_name = None;
            } else if nodes > 0 {
                p.node_name = Some(snap.nodes[b % nodes].name.clone());
            }
            snap.pods.push(p);
        }
        // A pod is bound elsewhere, or becomes pending.
        2 if pods > 0 && nodes > 0 => {
            let p = &mut snap.pods[a % pods];
            p.node_name = (b % 4 != 0).then(|| snap.nodes[b % nodes].name.clone());
        }
        // A pod's labels change (PDB coverage and inter-pod counters follow).
        3 if pods > 0 => {
            let apps = ["a", "b", "c", "d"];
            snap.pods[a % pods]
                .labels
                .insert("app".into(), apps[b % apps.len()].into());
        }
        // A second pod with an existing key (the first listed wins).
        4 if pods > 0 && nodes > 0 => {
            let mut p = snap.pods[a % pods].clone();
            p.node_name = Some(snap.nodes[b % nodes].name.clone());
            snap.pods.push(p);
        }
        // Two pods change places in the list.
        5 if pods > 1 => snap.pods.swap(a % pods, b % pods),
        // A node's readiness or schedulability changes.
        6 if nodes > 0 => {
            let n = &mut snap.nodes[a % nodes];
            if b % 2 == 0 {
                n.ready = !n.ready;
            } else {
                n.unschedulable = !n.unschedulable;
            }
        }
        // A node goes (its pods stay listed with a node that no longer exists).
        7 if nodes > 1 => {
            snap.nodes.swap_remove(a % nodes);
        }
        // A node arrives.
        8 if !pool.nodes.is_empty() => {
            let mut n = pool.nodes[a % pool.nodes.len()].clone();
            n.name = format!("node-new-{serial}");
            snap.nodes.push(n);
        }
        // A pod's request changes (a new version of it).
        9 if pods > 0 => {
            let p = &mut snap.pods[a % pods];
            if let Some(c) = p.containers.first_mut() {
                c.requests.cpu_milli = 100 * (1 + (b % 15) as i64);
            }
        }
        // Nothing changed since the last step.
        _ => {}
    }
}

/// Stamps the pods as a shell that keeps its snapshot does: a pod that is new or differs
/// from the pod at its position before gets a stamp never used, the others keep theirs.
pub(crate) fn restamp(
    snap: &mut ClusterSnapshot,
    before: Option<&ClusterSnapshot>,
    last: &mut u64,
) {
    let mut stamps = Vec::with_capacity(snap.pods.len());
    for (i, pod) in snap.pods.iter().enumerate() {
        let kept = before.and_then(|b| {
            (b.pods.get(i) == Some(pod))
                .then(|| b.pod_revisions.get(i).copied())
                .flatten()
        });
        stamps.push(kept.unwrap_or_else(|| {
            *last += 1;
            *last
        }));
    }
    snap.pod_revisions = stamps;
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec((0u8..11, 0usize..64, 0usize..64), 1..14)
}

/// Plans with the cache and from scratch, and compares the plans and the kept state.
fn check_step(
    cache: &mut ScaleDownCache,
    snap: &ClusterSnapshot,
    opts: &ScaleDownOptions,
) -> Result<(), TestCaseError> {
    let uncached = cache.stats().uncached;
    let cached = cache.plan(snap, opts);
    let fresh = plan_scale_down(snap, opts);
    prop_assert_eq!(cached.render_text(), fresh.render_text());
    prop_assert_eq!(&cached, &fresh);
    if snap.pod_revisions.len() != snap.pods.len() || snap.pods.is_empty() {
        // Without stamps nothing is kept.
        prop_assert_eq!(cache.stats().uncached, uncached + 1);
        prop_assert!(cache.state().is_none());
    }
    if let Some(state) = cache.state() {
        let built = ClusterState::existing_only(snap);
        prop_assert_eq!(state.placement_digest(), built.placement_digest());
        prop_assert!(state.counters_consistent());
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::seeded(160))]

    /// After every change, the cached decision equals the decision from scratch and the kept
    /// placement state equals a fresh build (including after duplicates, reorders, node
    /// changes and consolidation's hypothetical nodes).
    #[test]
    fn cached_decisions_equal_fresh_ones(
        snap in snapshot_strategy(),
        pool in snapshot_strategy(),
        opts in options_strategy(),
        edits in edits(),
        stamped in any::<bool>(),
    ) {
        let mut snap = snap;
        let mut last_stamp = 0;
        if stamped {
            restamp(&mut snap, None, &mut last_stamp);
        }
        let mut cache = ScaleDownCache::default();
        check_step(&mut cache, &snap, &opts)?;
        for (serial, edit) in edits.into_iter().enumerate() {
            let before = snap.clone();
            apply(&mut snap, &pool, edit, serial);
            if stamped {
                restamp(&mut snap, Some(&before), &mut last_stamp);
            }
            check_step(&mut cache, &snap, &opts)?;
        }
    }
}

/// A step where one pod changed updates the kept facts and state instead of building them
/// again; a node change builds them again.
#[test]
fn one_changed_pod_is_an_update_and_a_changed_node_a_full_build() {
    let mut runner = proptest::test_runner::TestRunner::new(crate::seeded(1));
    let mut snap = loop {
        let s = snapshot_strategy().new_tree(&mut runner).unwrap().current();
        if s.pods.len() >= 8 {
            break s;
        }
    };
    // Every node under the threshold, so the decision needs the placement state.
    let opts = ScaleDownOptions {
        utilization_threshold: 1.0,
        ..ScaleDownOptions::default()
    };
    let mut cache = ScaleDownCache::default();
    check_step(&mut cache, &snap, &opts).unwrap();
    assert_eq!(cache.stats().uncached, 1, "no stamps, no cache");
    snap.pod_revisions = (1..=snap.pods.len() as u64).collect();
    check_step(&mut cache, &snap, &opts).unwrap();
    assert_eq!(cache.stats().full_builds, 1);
    let had_state = cache.state().is_some();

    let moved = snap.pods.len() - 1;
    snap.pods.swap_remove(0);
    snap.pod_revisions.swap_remove(0);
    check_step(&mut cache, &snap, &opts).unwrap();
    let stats = cache.stats();
    assert_eq!((stats.full_builds, stats.updates), (1, 1), "{stats:?}");
    assert_eq!(
        stats.pods_updated, 2,
        "position 0 and the last position: {moved}"
    );
    assert_eq!(cache.state().is_some(), had_state);

    snap.nodes[0].unschedulable = !snap.nodes[0].unschedulable;
    check_step(&mut cache, &snap, &opts).unwrap();
    assert_eq!(cache.stats().full_builds, 2);
}

/// A shell that changes a pod but keeps its stamp breaks the rule the cache relies on; debug
/// builds (the tests) catch it instead of planning from a stale pod.
#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "changed but kept its stamp")]
fn a_changed_pod_with_an_old_stamp_is_caught_in_debug_builds() {
    let mut runner = proptest::test_runner::TestRunner::new(crate::seeded(1));
    let mut snap = loop {
        let s = snapshot_strategy().new_tree(&mut runner).unwrap().current();
        if !s.pods.is_empty() {
            break s;
        }
    };
    snap.pod_revisions = (1..=snap.pods.len() as u64).collect();
    let opts = ScaleDownOptions::default();
    let mut cache = ScaleDownCache::default();
    cache.plan(&snap, &opts);
    snap.pods[0].labels.insert("app".into(), "changed".into());
    cache.plan(&snap, &opts);
}
