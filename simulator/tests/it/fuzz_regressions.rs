//! Replays every committed fuzz input (`fuzz/regressions/<target>/`) through the very code its
//! cargo-fuzz target runs, on stable Rust, so a crash once found stays fixed. The target bodies
//! live in `fuzz/src/` and are compiled into this test as modules.

use std::path::{Path, PathBuf};

#[path = "../../../fuzz/src/engine_invariants.rs"]
mod engine_invariants;
#[path = "../../../fuzz/src/parsers.rs"]
mod parsers;
#[path = "../../../fuzz/src/simulator_ops.rs"]
mod simulator_ops;

fn regressions(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "{}: every target keeps at least one input",
        dir.display()
    );
    files
}

/// Runs `body` on every input of `target`, naming the input that fails.
fn replay(target: &str, body: fn(&[u8])) {
    for path in regressions(target) {
        let bytes = std::fs::read(&path).unwrap();
        if std::panic::catch_unwind(|| body(&bytes)).is_err() {
            panic!("{target}: {} fails again", path.display());
        }
    }
}

#[test]
fn snapshot_parse_regressions() {
    replay("snapshot_parse", parsers::snapshot_parse);
}

#[test]
fn config_parse_regressions() {
    replay("config_parse", parsers::config_parse);
}

#[test]
fn scenario_parse_regressions() {
    replay("scenario_parse", parsers::scenario_parse);
}

#[test]
fn vpsie_decode_regressions() {
    replay("vpsie_decode", parsers::vpsie_decode);
}

#[test]
fn engine_invariants_regressions() {
    replay("engine_invariants", engine_invariants::run);
}

#[test]
fn simulator_ops_regressions() {
    replay("simulator_ops", simulator_ops::run);
}

/// Every fuzz target declared in fuzz/Cargo.toml has a regression folder replayed above.
#[test]
fn every_target_is_replayed() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/Cargo.toml"))
            .unwrap();
    let targets: Vec<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|section| {
            let line = section
                .lines()
                .find(|l| l.trim_start().starts_with("name"))?;
            line.split('"').nth(1)
        })
        .collect();
    assert_eq!(
        targets,
        [
            "snapshot_parse",
            "config_parse",
            "vpsie_decode",
            "scenario_parse",
            "engine_invariants",
            "simulator_ops"
        ]
    );
    for t in targets {
        assert!(!regressions(t).is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// The checkers themselves: a plan broken by hand must be caught, or the target proves nothing.

fn two_node_snapshot(pdbs: serde_json::Value) -> vpsie_engine::model::ClusterSnapshot {
    let node = |name: &str| {
        serde_json::json!({"name": name, "nodeGroup": "g",
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": 110}})
    };
    let pod = |name: &str, node: &str| {
        serde_json::json!({"name": name, "nodeName": node, "labels": {"app": "web"},
            "owner": {"kind": "ReplicaSet", "name": "web"},
            "containers": [{"requests": {"cpu": "1", "memory": "1Gi"}}]})
    };
    let text = serde_json::json!({
        "version": 1,
        "sizes": [{"id": 1, "name": "K8S-4C-8G", "vcpu": 4, "ramMb": 8192, "diskGb": 80, "hourlyPrice": 0.03}],
        "nodeGroups": [{"name": "g", "size": "K8S-4C-8G", "min": 0, "max": 5}],
        "nodes": [node("n1"), node("n2")],
        "pods": [pod("p1", "n1"), pod("p2", "n2")],
        "pdbs": pdbs,
    })
    .to_string();
    vpsie_engine::model::ClusterSnapshot::from_text(&text, "two-nodes.json").unwrap()
}

#[test]
fn the_scale_down_checker_catches_broken_plans() {
    use vpsie_engine::scaledown::{ScaleDownOptions, plan_scale_down};
    let s = two_node_snapshot(serde_json::json!([]));
    let plan = plan_scale_down(&s, &ScaleDownOptions::default());
    assert_eq!(plan.removals.len(), 1, "{}", plan.render_text());
    assert_eq!(plan.removals[0].evictions.len(), 1);
    engine_invariants::verify_scale_down(&s, &plan).unwrap();

    let removed = plan.removals[0].node.clone();
    let mut to_removed_node = plan.clone();
    to_removed_node.removals[0].evictions[0].destination = removed;
    assert!(engine_invariants::verify_scale_down(&s, &to_removed_node).is_err());

    let mut to_nowhere = plan.clone();
    to_nowhere.removals[0].evictions[0].destination = "ghost".into();
    assert!(engine_invariants::verify_scale_down(&s, &to_nowhere).is_err());

    // The same plan under a PDB that allows no disruption overdraws it.
    let strict = two_node_snapshot(serde_json::json!([
        {"name": "web", "selector": {"matchLabels": {"app": "web"}}, "maxUnavailable": 0}
    ]));
    let err = engine_invariants::verify_scale_down(&strict, &plan).unwrap_err();
    assert!(err.contains("PDB"), "{err}");

    // A group minimum of 2 forbids removing either node.
    let mut with_min = s.clone();
    with_min.node_groups[0].min = 2;
    let err = engine_invariants::verify_scale_down(&with_min, &plan).unwrap_err();
    assert!(err.contains("min"), "{err}");
}

#[test]
fn the_scale_up_checker_catches_an_overcommitted_node() {
    use vpsie_engine::scaleup::{ScaleUpOptions, plan_scale_up};
    let pod = |name: &str| {
        serde_json::json!({"name": name, "owner": {"kind": "ReplicaSet", "name": "web"},
            "containers": [{"requests": {"cpu": "1500m", "memory": "1Gi"}}]})
    };
    let text = serde_json::json!({
        "version": 1,
        "sizes": [{"id": 1, "name": "K8S-2C-4G", "vcpu": 2, "ramMb": 4096, "diskGb": 80, "hourlyPrice": 0.01}],
        "nodeGroups": [{"name": "g", "size": "K8S-2C-4G", "min": 0, "max": 5}],
        "pods": [pod("a-0"), pod("a-1"), pod("a-2")],
    })
    .to_string();
    let s = vpsie_engine::model::ClusterSnapshot::from_text(&text, "pending.json").unwrap();
    // The recheck replays the planner's placement order, which is recorded on request.
    let opts = ScaleUpOptions {
        record_placement_order: true,
        ..ScaleUpOptions::default()
    };
    let plan = plan_scale_up(&s, &opts);
    assert_eq!(plan.node_count(), 3, "{}", plan.render_text());
    engine_invariants::recheck_planned_nodes(&s, &plan).unwrap();

    let mut packed = plan.clone();
    let all: Vec<String> = packed.increases[0].nodes.concat();
    packed.increases[0].nodes = vec![all];
    packed.increases[0].count = 1;
    let err = engine_invariants::recheck_planned_nodes(&s, &packed).unwrap_err();
    assert!(err.contains("does not fit"), "{err}");
}
