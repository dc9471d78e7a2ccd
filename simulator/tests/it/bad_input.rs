//! Bad scenario files give errors naming the file, the line and the field; never a panic.

use vpsie_sim::scenario::{ScenarioError, parse_str};

fn error_of(text: &str, name: &str) -> ScenarioError {
    match parse_str(text, name, std::path::PathBuf::new()) {
        Ok(_) => panic!("{name} should be rejected"),
        Err(e) => e,
    }
}

const GOOD: &str = "version: 1
name: t
duration: 1h
cluster:
  nodeGroups:
    - name: g
      size: K8S-4C-8G
      max: 3
workload:
  jobs:
    - name: j
      at: 0s
      completions: 2
      duration: 5m
";

#[test]
fn the_base_document_is_valid() {
    parse_str(GOOD, "good.yaml", std::path::PathBuf::new()).unwrap();
}

#[test]
fn errors_name_file_line_and_field() {
    // (mutation, expected line, expected field fragment, expected message fragment)
    let cases: &[(&str, &str, usize, &str, &str)] = &[
        (
            "duration: 1h",
            "duration: soon",
            3,
            "duration",
            "not a duration",
        ),
        ("      max: 3", "      max: -3", 8, "max", "expected u32"),
        (
            "      size: K8S-4C-8G",
            "      size: K8S-99C",
            7,
            "size",
            "not in the catalogue",
        ),
        (
            "      completions: 2",
            "      completions: 0",
            13,
            "completions",
            "at least 1",
        ),
        (
            "      at: 0s",
            "      at: 0s\n      colour: red",
            13,
            "colour",
            "unknown field",
        ),
        (
            "version: 1",
            "version: 2",
            1,
            "version",
            "unsupported scenario version",
        ),
        (
            "      duration: 5m",
            "      duration: { min: 9m, max: 1m }",
            14,
            "duration",
            "exceeds max",
        ),
    ];
    for (from, to, line, field, message) in cases {
        let text = GOOD.replacen(from, to, 1);
        let e = error_of(&text, "bad.yaml");
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("bad.yaml:{line}")),
            "{to}: {shown}"
        );
        assert!(shown.contains(field), "{to}: {shown}");
        assert!(shown.contains(message), "{to}: {shown}");
    }
}

#[test]
fn json_errors_have_lines_too() {
    let text = "{\n  \"version\": 1,\n  \"name\": \"t\",\n  \"duration\": \"1h\",\n  \"cluster\": {\"nodeGroups\": []}\n}\n";
    let e = error_of(text, "bad.json");
    assert_eq!(
        e.to_string(),
        "bad.json:5: field `cluster.nodeGroups`: at least one node group is needed"
    );
    let e = error_of("{\"version\": 1,\n \"name\": 3}", "x.json");
    assert!(e.to_string().starts_with("x.json:2:"), "{e}");
}

#[test]
fn garbage_never_panics() {
    for text in [
        "",
        "{",
        "[]",
        "version: [",
        "\u{0}\u{1}",
        "name: x\nversion: 1\nduration: 1h\ncluster: 3",
    ] {
        let _ = parse_str(text, "junk.yaml", std::path::PathBuf::new());
        let _ = parse_str(text, "junk.json", std::path::PathBuf::new());
    }
}
