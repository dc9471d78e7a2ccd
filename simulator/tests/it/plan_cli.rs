//! `vpsie-sim plan` and `vpsie-sim schema` as a user meets them: text, JSON and YAML input,
//! `--config`, and exit code 2 with a located message (never a panic) on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn vpsie_sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpsie-sim"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("the vpsie-sim binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A scratch file under the target directory's temp folder, unique per test.
fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vpsie-sim-plan-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn plan_prints_the_scale_up_plan_as_text() {
    let out = vpsie_sim(&["plan", "examples/snapshots/minimal.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("increase default K8S-4C-8G: +1 nodes"),
        "{text}"
    );
    assert!(text.contains("node 1: default/hello"), "{text}");
    // Deterministic: a second run prints the same bytes.
    let again = vpsie_sim(&["plan", "examples/snapshots/minimal.json"]);
    assert_eq!(out.stdout, again.stdout);
}

#[test]
fn plan_prints_json_on_request() {
    let out = vpsie_sim(&[
        "plan",
        "examples/snapshots/mixed-workload.json",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(!plan["increases"].as_array().unwrap().is_empty());
    assert!(plan["unschedulable"].as_array().is_some());
    assert!(plan["bound"].is_object());
}

#[test]
fn plan_reads_yaml() {
    let out = vpsie_sim(&["plan", "examples/snapshots/gpu-training.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("plan: "), "{}", stdout(&out));
}

#[test]
fn plan_applies_the_configuration_limits_and_expander() {
    let config = scratch(
        "limits.yaml",
        "scaleUp:\n  expander: most-pods\nlimits:\n  maxNodesTotal: 6\n",
    );
    let limited = vpsie_sim(&[
        "plan",
        "examples/snapshots/mixed-workload.json",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(limited.status.code(), Some(0), "{}", stderr(&limited));
    let free = vpsie_sim(&["plan", "examples/snapshots/mixed-workload.json"]);
    assert_ne!(limited.stdout, free.stdout);
    // 3 nodes and 1 in-flight exist: at most 2 more under a 6-node limit.
    let first = stdout(&limited).lines().next().unwrap().to_string();
    assert!(
        first.starts_with("plan: +2 nodes") || first.starts_with("plan: +1 nodes"),
        "{first}"
    );
}

#[test]
fn a_bad_configuration_exits_2_naming_file_and_field() {
    let config = scratch("bad.yaml", "scaleUp:\n  expander: cheapest\n");
    let out = vpsie_sim(&[
        "plan",
        "examples/snapshots/minimal.json",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("bad.yaml") && err.contains("scaleUp.expander"),
        "{err}"
    );
}

#[test]
fn invalid_snapshot_exits_2_naming_file_object_and_field() {
    let out = vpsie_sim(&[
        "plan",
        "engine/tests/it/bad_snapshots/pod_on_missing_node.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(
            "pod_on_missing_node.json: pod default/web-2: field nodeName: bound to node \"worker-9\""
        ),
        "{err}"
    );
}

#[test]
fn every_bad_snapshot_exits_2_without_panicking() {
    let dir = workspace_root().join("engine/tests/it/bad_snapshots");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "{}", dir.display());
    for file in files {
        let out = vpsie_sim(&["plan", file.to_str().unwrap()]);
        let err = stderr(&out);
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(
            err.contains(&name),
            "{name}: the error names the file: {err}"
        );
    }
}

#[test]
fn unreadable_input_and_bad_flags_exit_2() {
    let missing = vpsie_sim(&["plan", "examples/snapshots/does-not-exist.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("does-not-exist.json"),
        "{}",
        stderr(&missing)
    );
    let not_utf8 = scratch("binary.json", "");
    std::fs::write(&not_utf8, [0xff, 0xfe, 0x7b]).unwrap();
    let binary = vpsie_sim(&["plan", not_utf8.to_str().unwrap()]);
    assert_eq!(binary.status.code(), Some(2), "{}", stderr(&binary));
    let directory = vpsie_sim(&["plan", "examples/snapshots"]);
    assert_eq!(directory.status.code(), Some(2));
    let bad_format = vpsie_sim(&["plan", "examples/snapshots/minimal.json", "--format", "xml"]);
    assert_eq!(bad_format.status.code(), Some(2));
    let bad_kind = vpsie_sim(&["schema", "nonsense"]);
    assert_eq!(bad_kind.status.code(), Some(2));
}

#[test]
fn schema_snapshot_prints_the_engine_schema() {
    let out = vpsie_sim(&["schema", "snapshot"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), vpsie_engine::model::snapshot_json_schema());
    let schema: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(schema["title"], "ClusterSnapshot");
}
