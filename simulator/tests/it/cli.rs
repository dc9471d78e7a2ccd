//! The `vpsie-sim` binary: exit codes and outputs.

use std::process::Command;

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vpsie-sim"))
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vpsie-sim-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn run_without_a_scenario_runs_the_quickstart_and_writes_the_reports() {
    let dir = temp_dir("run");
    let out = sim()
        .args(["run", "--quiet", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["scenario"], "quickstart");
    assert_eq!(report["vpsOrphaned"], 0);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script") && !html.contains("http://cdn"));
    let csv = std::fs::read_to_string(dir.join("timeline.csv")).unwrap();
    assert!(csv.starts_with("time_s,nodes,"));
}

#[test]
fn a_bad_scenario_exits_2_naming_file_line_and_field() {
    let dir = temp_dir("bad");
    let path = dir.join("broken.yaml");
    std::fs::write(&path, "version: 1\nname: b\nduration: 1h\ncluster:\n  nodeGroups:\n    - name: g\n      size: NOPE\n      max: 1\n").unwrap();
    let out = sim().arg("run").arg(&path).arg("--quiet").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.yaml:7"), "{err}");
    assert!(err.contains("cluster.nodeGroups[0].size"), "{err}");
    let out = sim().args(["run", "/nonexistent/x.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn compare_puts_two_configurations_on_one_page() {
    let dir = temp_dir("compare");
    let a = dir.join("eager.yaml");
    let b = dir.join("patient.yaml");
    std::fs::write(&a, "scaleDown:\n  unneededTime: 2m\n").unwrap();
    std::fs::write(&b, "scaleDown:\n  unneededTime: 30m\n").unwrap();
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/quickstart.yaml");
    let out = sim()
        .args(["compare", scenario, "--config"])
        .arg(&a)
        .arg("--config")
        .arg(&b)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("eager") && text.contains("patient"), "{text}");
    let html = std::fs::read_to_string(dir.join("compare.html")).unwrap();
    assert!(
        html.contains("eager") && html.contains("patient") && html.matches("<svg").count() == 4
    );
    let out = sim()
        .args(["compare", scenario, "--config"])
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
