//! Loading snapshots: every bad snapshot in `bad_snapshots/` is rejected with an error naming
//! file, object and field; every example in `examples/snapshots/` loads and round-trips.

use std::path::{Path, PathBuf};

use vpsie_engine::model::{ClusterSnapshot, SnapshotError, SnapshotFormat, snapshot_json_schema};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> Result<ClusterSnapshot, SnapshotError> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    ClusterSnapshot::from_text(&text, &name)
}

/// Every file of `bad_snapshots/`, with the lines its error must contain (each as a substring
/// of one line, in order) and how many lines the error has.
const BAD: &[(&str, usize, &[&str])] = &[
    (
        "unknown_version.json",
        1,
        &["unknown_version.json: snapshot: field version: unknown snapshot version 2"],
    ),
    (
        "unknown_field.json",
        1,
        &[
            "unknown_field.json:35:19: pod default/web-2: field nodeSelectr: unknown field `nodeSelectr`",
        ],
    ),
    (
        "unknown_top_level_field.json",
        1,
        &["unknown_top_level_field.json:37:15: snapshot: field clusterName: unknown field"],
    ),
    (
        "bad_quantity.json",
        1,
        &[
            "bad_quantity.json:34:68: pod default/web-2: field containers[0].requests: resource `memory`: unknown suffix `Qi` in quantity `12Qi`",
        ],
    ),
    (
        "bad_quantity.yaml",
        1,
        &[
            "bad_quantity.yaml:3:5: node worker-1: field allocatable: resource `memory`: unknown suffix `Qi`",
        ],
    ),
    (
        "negative_quantity.json",
        1,
        &[
            "negative_quantity.json:11:72: node worker-1: field allocatable: resource `cpu`: quantity `-500m` is negative",
        ],
    ),
    (
        "garbage_quantity.json",
        1,
        &[
            "garbage_quantity.json:19:50: daemonSet kube-system/kube-proxy: field containers[0].requests: resource `cpu`: `lots` is not a Kubernetes quantity",
        ],
    ),
    (
        "wrong_type.json",
        1,
        &["wrong_type.json:7:81: nodeGroup general: field max: invalid type: string \"five\""],
    ),
    (
        "wrong_type.yaml",
        1,
        &["wrong_type.yaml:8:15: pod default/web-1: field priority: invalid type: string \"high\""],
    ),
    (
        "missing_field.json",
        1,
        &["missing_field.json:8:56: node worker-1: field allocatable: missing field `allocatable`"],
    ),
    (
        "trailing_comma.json",
        1,
        &["trailing_comma.json:14:3: snapshot: field nodes: trailing comma"],
    ),
    (
        "bad_indentation.yaml",
        1,
        &["bad_indentation.yaml:4:4: snapshot: field pods: did not find expected '-' indicator"],
    ),
    (
        "not_a_snapshot.json",
        1,
        &["not_a_snapshot.json: the document is not a JSON object"],
    ),
    (
        "sequence.yaml",
        1,
        &["sequence.yaml: the document is not a YAML mapping"],
    ),
    (
        "comment_only.yaml",
        1,
        &["comment_only.yaml: the document is not a YAML mapping"],
    ),
    ("empty.json", 1, &["empty.json: the document is empty"]),
    (
        "pod_on_missing_node.json",
        1,
        &[
            "pod_on_missing_node.json: pod default/web-2: field nodeName: bound to node \"worker-9\" which is not in the snapshot",
        ],
    ),
    (
        "duplicate_node.json",
        1,
        &[
            "duplicate_node.json: node worker-1: field name: duplicate node name (first at nodes[0])",
        ],
    ),
    (
        "duplicate_pod.json",
        1,
        &["duplicate_pod.json: pod default/web-2: field name: duplicate pod default/web-2"],
    ),
    (
        "duplicate_pod.yaml",
        1,
        &[
            "duplicate_pod.yaml: pod shop/web-1: field name: duplicate pod shop/web-1 (first at pods[0])",
        ],
    ),
    (
        "duplicate_group.json",
        1,
        &["duplicate_group.json: nodeGroup general: field name: duplicate node group name"],
    ),
    (
        "shared_max_mismatch.json",
        1,
        &[
            "shared_max_mismatch.json: nodeGroup general-big: field sharedMax.max: 8 differs from the max 5 nodeGroups[0] gives the shared maximum \"general\"",
        ],
    ),
    (
        "duplicate_size_name.json",
        1,
        &["duplicate_size_name.json: size K8S-4C-8G: field name: duplicate size name"],
    ),
    (
        "duplicate_size_id.json",
        1,
        &["duplicate_size_id.json: size K8S-2C-4G: field id: duplicate size id 3"],
    ),
    (
        "duplicate_pdb.json",
        1,
        &["duplicate_pdb.json: pdb default/web: field name: duplicate PodDisruptionBudget"],
    ),
    (
        "duplicate_daemon_set.json",
        1,
        &[
            "duplicate_daemon_set.json: daemonSet kube-system/kube-proxy: field name: duplicate DaemonSet",
        ],
    ),
    (
        "duplicate_in_flight.json",
        1,
        &[
            "duplicate_in_flight.json: inFlight vpsienode-general-abcde: field name: duplicate in-flight",
        ],
    ),
    (
        "group_unknown_size.json",
        1,
        &[
            "group_unknown_size.json: nodeGroup general: field size: size \"K8S-64C-256G\" is not in the size catalogue",
        ],
    ),
    (
        "min_greater_than_max.json",
        1,
        &["min_greater_than_max.json: nodeGroup general: field min: min 6 is greater than max 5"],
    ),
    (
        "in_flight_unknown_group.json",
        1,
        &[
            "in_flight_unknown_group.json: inFlight vpsienode-general-abcde: field nodeGroup: node group \"gpu\" is not in nodeGroups",
        ],
    ),
    (
        "node_unknown_group.json",
        1,
        &["node_unknown_group.json: node worker-1: field nodeGroup: node group \"legacy\""],
    ),
    (
        "negative_price.json",
        1,
        &[
            "negative_price.json: size K8S-8C-16G: field hourlyPrice: price -0.05 is not a non-negative",
        ],
    ),
    (
        "zero_max_skew.json",
        1,
        &[
            "zero_max_skew.json: pod default/web-2: field topologySpreadConstraints[0].maxSkew: must be at least 1, got 0",
        ],
    ),
    (
        "gt_not_an_integer.json",
        1,
        &[
            "gt_not_an_integer.json: pod default/web-2: field affinity.nodeAffinity[0].matchExpressions[0].values: operator Gt needs an integer value, got \"16Gi\"",
        ],
    ),
    (
        "empty_name.json",
        2,
        &[
            "empty_name.json: node nodes[0]: field name: empty name",
            // The pod bound to the renamed node now points nowhere: reported too.
            "empty_name.json: pod default/web-1: field nodeName: bound to node \"worker-1\"",
        ],
    ),
    (
        "in_without_values.json",
        1,
        &[
            "in_without_values.json: daemonSet kube-system/kube-proxy: field affinity.nodeAffinity[0].matchExpressions[0].values: operator In needs at least one value",
        ],
    ),
    (
        "toleration_exists_with_value.json",
        1,
        &[
            "toleration_exists_with_value.json: pod default/web-2: field tolerations[0].value: operator Exists takes no value",
        ],
    ),
    (
        "pdb_both_bounds.json",
        2,
        &[
            "pdb_both_bounds.json: pdb default/web: field maxUnavailable: minAvailable and maxUnavailable are mutually exclusive",
            "pdb_both_bounds.json: pdb default/web: field maxUnavailable: \"150%\" is neither an integer nor a percentage",
        ],
    ),
    (
        "empty_topology_key.json",
        1,
        &[
            "empty_topology_key.json: pod default/web-2: field affinity.podAntiAffinity[0].topologyKey: empty topology key",
        ],
    ),
    (
        "many_problems.json",
        4,
        &[
            "many_problems.json: size K8S-4C-8G: field hourlyPrice: price -1",
            "many_problems.json: nodeGroup general: field min: min 9 is greater than max 5",
            "many_problems.json: pod default/web-1: field nodeName: bound to node \"worker-7\"",
            "many_problems.json: inFlight vpsienode-general-abcde: field nodeGroup: node group \"gone\"",
        ],
    ),
];

#[test]
fn every_bad_snapshot_is_rejected_naming_file_object_and_field() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/bad_snapshots");
    let files = files_in(&dir);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    for name in &names {
        assert!(
            BAD.iter().any(|(file, _, _)| file == name),
            "{name} has no expectation in the BAD table"
        );
    }
    for (file, line_count, expected) in BAD {
        assert!(
            names.iter().any(|n| n == file),
            "{file} is in the table but not in {}",
            dir.display()
        );
        let err = match load(&dir.join(file)) {
            Ok(_) => panic!("{file}: a bad snapshot was accepted"),
            Err(e) => e,
        };
        assert_eq!(err.file(), *file);
        let text = err.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            *line_count,
            "{file}: expected {line_count} error lines, got:\n{text}"
        );
        for line in &lines {
            assert!(
                line.starts_with(file),
                "{file}: every line names the file:\n{text}"
            );
        }
        for (line, want) in lines.iter().zip(expected.iter()) {
            assert!(
                line.contains(want),
                "{file}: expected a line containing\n  {want}\ngot\n  {line}"
            );
        }
    }
}

#[test]
fn parse_errors_carry_line_column_object_and_field_separately() {
    let text = r#"{"version": 1, "pods": [{"name": "web-1", "namespace": "shop",
        "containers": [{"requests": {"cpu": "12Qi"}}]}]}"#;
    let Err(SnapshotError::Parse(e)) = ClusterSnapshot::from_text(text, "inline.json") else {
        panic!("expected a parse error");
    };
    assert_eq!(e.file, "inline.json");
    assert_eq!(e.line, Some(2));
    assert!(e.column.is_some());
    assert_eq!(e.object.as_deref(), Some("pod shop/web-1"));
    assert_eq!(e.field.as_deref(), Some("containers[0].requests"));
    assert!(e.message.contains("`12Qi`"), "{}", e.message);
}

#[test]
fn validation_lists_every_problem_in_document_order() {
    let text = r#"{"version": 1,
        "sizes": [{"id": 1, "name": "s", "vcpu": 0, "ramMb": 1024, "diskGb": 10, "hourlyPrice": 1}],
        "nodeGroups": [{"name": "g", "size": "nope", "min": 3, "max": 1}],
        "pods": [{"name": "a", "nodeName": "n1"}, {"name": "b", "nodeName": "n2"}]}"#;
    let Err(SnapshotError::Invalid { file, problems }) =
        ClusterSnapshot::from_text(text, "inline.json")
    else {
        panic!("expected validation problems");
    };
    assert_eq!(file, "inline.json");
    let got: Vec<(String, String)> = problems
        .iter()
        .map(|p| (p.object.clone(), p.field.clone()))
        .collect();
    let want = [
        ("size s", "vcpu"),
        ("nodeGroup g", "size"),
        ("nodeGroup g", "min"),
        ("pod default/a", "nodeName"),
        ("pod default/b", "nodeName"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(o, f)| (o.to_string(), f.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn quantities_in_every_kubernetes_spelling_load() {
    let cases: &[(&str, i64, i64)] = &[
        // cpu as written, expected millicores; memory as written, expected bytes.
        ("\"500m\"", 500, 0),
        ("\"1.5\"", 1500, 0),
        ("2", 2000, 0),
        ("0.25", 250, 0),
        ("\"1e3\"", 1_000_000, 0),
        ("\"100n\"", 1, 0),
    ];
    for (cpu, milli, _) in cases {
        let text = format!(
            r#"{{"version": 1, "pods": [{{"name": "p", "containers": [{{"requests": {{"cpu": {cpu}}}}}]}}]}}"#
        );
        let s = ClusterSnapshot::from_text(&text, "q.json").unwrap();
        assert_eq!(
            s.pods[0].effective_requests().cpu_milli,
            *milli,
            "cpu {cpu}"
        );
    }
    let memory: &[(&str, i64)] = &[
        ("\"2Gi\"", 2 << 30),
        ("\"128974848\"", 128_974_848),
        ("\"129e6\"", 129_000_000),
        ("\"123Mi\"", 123 << 20),
        ("\"1k\"", 1000),
        ("\"1.5Gi\"", 3 << 29),
    ];
    for (mem, bytes) in memory {
        let text = format!(
            r#"{{"version": 1, "pods": [{{"name": "p", "containers": [{{"requests": {{"memory": {mem}}}}}]}}]}}"#
        );
        let s = ClusterSnapshot::from_text(&text, "q.json").unwrap();
        assert_eq!(
            s.pods[0].effective_requests().memory,
            *bytes,
            "memory {mem}"
        );
    }
    for bad in [
        "\"12Qi\"", "\"-1\"", "\"1..2\"", "\"\"", "\"1 Gi\"", "-3", "true",
    ] {
        let text = format!(
            r#"{{"version": 1, "pods": [{{"name": "p", "containers": [{{"requests": {{"memory": {bad}}}}}]}}]}}"#
        );
        let err = ClusterSnapshot::from_text(&text, "q.json").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("q.json:1:")
                && msg.contains("pod default/p: field containers[0].requests"),
            "memory {bad}: {msg}"
        );
    }
}

#[test]
fn format_is_detected_by_extension_then_content() {
    let cases: &[(&str, &str, SnapshotFormat)] = &[
        ("version: 1", "a.yaml", SnapshotFormat::Yaml),
        ("version: 1", "a.YML", SnapshotFormat::Yaml),
        ("{\"version\": 1}", "a.yaml", SnapshotFormat::Yaml),
        ("{\"version\": 1}", "a.json", SnapshotFormat::Json),
        ("  \n{\"version\": 1}", "-", SnapshotFormat::Json),
        ("version: 1", "stdin", SnapshotFormat::Yaml),
        ("version: 1", "a.json", SnapshotFormat::Json),
    ];
    for (text, name, want) in cases {
        assert_eq!(SnapshotFormat::detect(text, name), *want, "{name}: {text}");
    }
    // JSON is YAML too: a .yaml file holding JSON loads.
    let s = ClusterSnapshot::from_text("{\"version\": 1}", "a.yaml").unwrap();
    assert_eq!(s.version, 1);
}

fn example_files() -> Vec<PathBuf> {
    let dir = workspace_root().join("examples/snapshots");
    let files = files_in(&dir);
    assert!(
        files.len() >= 3,
        "expected example snapshots in {}",
        dir.display()
    );
    files
}

#[test]
fn every_example_loads_and_round_trips_through_canonical_json() {
    for path in example_files() {
        let snapshot = load(&path).unwrap_or_else(|e| panic!("{e}"));
        let json = snapshot.to_json_pretty();
        let again = ClusterSnapshot::from_text(&json, "canonical.json")
            .unwrap_or_else(|e| panic!("{}: canonical form does not load: {e}", path.display()));
        assert_eq!(again, snapshot, "{}", path.display());
        assert_eq!(again.to_json_pretty(), json, "{}", path.display());
    }
}

#[test]
fn yaml_and_json_of_the_same_snapshot_are_equal() {
    let json = workspace_root().join("examples/snapshots/mixed-workload.json");
    let snapshot = load(&json).unwrap();
    let yaml = serde_yaml_ng::to_string(&snapshot).unwrap();
    let from_yaml = ClusterSnapshot::from_text(&yaml, "mixed-workload.yaml").unwrap();
    assert_eq!(from_yaml, snapshot);
}

#[test]
fn example_requests_follow_the_documented_rules() {
    let path = workspace_root().join("examples/snapshots/gpu-training.yaml");
    let snapshot = load(&path).unwrap();
    let pod = |name: &str| {
        snapshot
            .pods
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .effective_requests()
    };
    // trainer 6 cpu / 24Gi / 1 GPU plus the sidecar (100m, 128Mi) beats the init peak
    // (fetch-weights 2 cpu / 8Gi).
    let finetune = pod("finetune-llm-1");
    assert_eq!(finetune.cpu_milli, 6100);
    assert_eq!(finetune.memory, (24 << 30) + (128 << 20));
    assert_eq!(finetune.extended("nvidia.com/gpu"), 1);
    assert_eq!(finetune.pods, 1);
    // loader 500m / 2Gi plus overhead 100m / 64Mi.
    let loader = pod("data-loader-0");
    assert_eq!(loader.cpu_milli, 600);
    assert_eq!(loader.memory, (2 << 30) + (64 << 20));
}

#[test]
fn the_schema_is_deterministic_and_describes_every_top_level_field() {
    let schema = snapshot_json_schema();
    assert_eq!(schema, snapshot_json_schema());
    let value: serde_json::Value = serde_json::from_str(&schema).unwrap();
    let properties = value["properties"].as_object().unwrap();
    for field in [
        "version",
        "nowMs",
        "nodes",
        "pods",
        "pdbs",
        "nodeGroups",
        "sizes",
        "daemonSets",
        "inFlight",
        "systemReserved",
        "zones",
    ] {
        assert!(properties.contains_key(field), "schema lacks {field}");
    }
    assert_eq!(value["additionalProperties"], serde_json::json!(false));
}
