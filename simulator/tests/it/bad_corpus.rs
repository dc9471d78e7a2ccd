//! The bad-input corpus (`tests/bad-input/`): every snapshot, scenario, configuration and VPSie
//! API response there is rejected with an error that contains the key part listed in the
//! folder's `expected.txt` (and, for files, the file's name), never a panic, never a hang.
//! Inputs too big to commit (50 MB documents, 100,000 levels of nesting) are generated here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vpsie_engine::model::ClusterSnapshot;
use vpsie_sim::scenario::load_file;
use vpsie_sim::world::setup::load_config_file;

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bad-input")
}

/// `file => key part of the error` lines; `#` starts a comment.
fn expectations(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("expected.txt"))
        .unwrap_or_else(|e| panic!("{}/expected.txt: {e}", dir.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (file, needle) = l
                .split_once(" => ")
                .unwrap_or_else(|| panic!("expected.txt: `{l}` is not `file => text`"));
            (file.trim().to_string(), needle.trim().to_string())
        })
        .collect()
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name != "README.md" && name != "expected.txt"
        })
        .collect();
    files.sort();
    files
}

/// How a shell reads a snapshot file: the bytes must be UTF-8, then the loader decides.
fn load_snapshot(path: &Path) -> Result<(), String> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("{name}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| format!("{name}: not UTF-8: {e}"))?;
    ClusterSnapshot::from_text(&text, &name)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn load_scenario(path: &Path) -> Result<(), String> {
    load_file(path).map(|_| ()).map_err(|e| e.to_string())
}

fn load_config(path: &Path) -> Result<(), String> {
    load_config_file(path)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A response body file is named `<HTTP status>-<what>`; decoded as the node-group list.
fn decode_response(path: &Path) -> Result<(), String> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let status: u16 = name
        .split('-')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{name}: the name must start with the HTTP status"));
    let bytes = std::fs::read(path).unwrap();
    decode_body_bytes(status, &bytes)
}

fn decode_body_bytes(status: u16, bytes: &[u8]) -> Result<(), String> {
    vpsie_api::decode_envelope::<Vec<vpsie_api::NodeGroup>>(status, bytes)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "a wall-clock bound catches a hostile input that stalls a parser; the code under test never reads the clock"
)]
fn rejects_without_panic(what: &str, load: &dyn Fn() -> Result<(), String>) -> String {
    let started = std::time::Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(load));
    let took = started.elapsed();
    assert!(took.as_secs() < 20, "{what}: took {took:?}");
    match result {
        Err(_) => panic!("{what}: the loader panicked"),
        Ok(Ok(())) => panic!("{what}: bad input was accepted"),
        Ok(Err(message)) => {
            assert!(!message.trim().is_empty(), "{what}: empty error");
            assert!(
                message.len() <= 4096,
                "{what}: a {} byte error echoes the input",
                message.len()
            );
            message
        }
    }
}

/// Checks one corpus folder against its `expected.txt`; `names_file` says whether the error
/// must name the file (documents do; API responses have no file).
fn check_folder(folder: &str, load: fn(&Path) -> Result<(), String>, names_file: bool) {
    let dir = corpus_root().join(folder);
    let expected = expectations(&dir);
    let files = corpus_files(&dir);
    assert!(
        files.len() >= 15,
        "{}: the corpus went missing",
        dir.display()
    );
    let listed: Vec<&String> = expected.keys().collect();
    let present: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        listed,
        present.iter().collect::<Vec<_>>(),
        "{folder}: expected.txt and the files differ"
    );
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let message = rejects_without_panic(&format!("{folder}/{name}"), &|| load(path));
        let needle = &expected[&name];
        if !message.contains(needle.as_str()) {
            failures.push(format!("{name}: expected `{needle}` in: {message}"));
        }
        if names_file && !message.contains(&name) {
            failures.push(format!(
                "{name}: the error does not name the file: {message}"
            ));
        }
    }
    assert!(failures.is_empty(), "{folder}:\n{}", failures.join("\n"));
}

#[test]
fn bad_snapshots_give_their_expected_errors() {
    check_folder("snapshots", load_snapshot, true);
}

#[test]
fn bad_scenarios_give_their_expected_errors() {
    check_folder("scenarios", load_scenario, true);
}

#[test]
fn bad_configs_give_their_expected_errors() {
    check_folder("configs", load_config, true);
}

#[test]
fn bad_vpsie_responses_give_their_expected_errors() {
    check_folder("vpsie-responses", decode_response, false);
}

// ---------------------------------------------------------------------------------------------
// Generated inputs: too big to commit.

const DEEP: usize = 100_000;
const HUGE: usize = 50 * 1024 * 1024;

fn snapshot_text(text: &str, name: &str) -> Result<(), String> {
    ClusterSnapshot::from_text(text, name)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn scenario_text(text: &str, name: &str) -> Result<(), String> {
    vpsie_sim::scenario::parse_str(text, name, PathBuf::new())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn config_text(text: &str, name: &str) -> Result<(), String> {
    vpsie_engine::autoscaler::AutoscalerConfig::from_text(text, name)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

type TextLoader = fn(&str, &str) -> Result<(), String>;
const LOADERS: [(&str, TextLoader); 3] = [
    ("snapshot", snapshot_text),
    ("scenario", scenario_text),
    ("config", config_text),
];

/// 100,000 levels of nesting in every syntax each loader reads: JSON arrays and objects, YAML
/// flow and block collections. A recursive parser without a limit would overflow the stack.
#[test]
fn nesting_100k_levels_deep_is_an_error_not_a_stack_overflow() {
    let json_arrays = format!("{{\"version\": {}{}}}", "[".repeat(DEEP), "]".repeat(DEEP));
    let json_objects = format!(
        "{{\"version\": {}1{}}}",
        "{\"a\":".repeat(DEEP),
        "}".repeat(DEEP)
    );
    let yaml_flow = format!("version: {}\n", "[".repeat(DEEP));
    let yaml_block = format!("version:\n{}x\n", "- ".repeat(DEEP));
    let yaml_block_maps: String = (0..2_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    for (kind, load) in LOADERS {
        for (shape, text, name) in [
            ("json arrays", &json_arrays, "deep.json"),
            ("json objects", &json_objects, "deep.json"),
            ("yaml flow", &yaml_flow, "deep.yaml"),
            ("yaml block sequences", &yaml_block, "deep.yaml"),
            ("yaml block mappings", &yaml_block_maps, "deep.yaml"),
        ] {
            let message = rejects_without_panic(&format!("{kind}: {shape}"), &|| load(text, name));
            assert!(message.contains(name), "{kind}: {shape}: {message}");
        }
    }
    let deep_body = format!(
        "{{\"error\": false, \"data\": {}{}}}",
        "[".repeat(DEEP),
        "]".repeat(DEEP)
    );
    let message = rejects_without_panic("response: json arrays", &|| {
        decode_body_bytes(200, deep_body.as_bytes())
    });
    assert!(message.contains("recursion limit"), "{message}");
}

/// 50 MB documents: a huge string where a short value belongs, and a huge run of padding before
/// a syntax error. Each is an error (no panic, bounded time) whose text stays short.
#[test]
fn fifty_megabyte_inputs_give_short_errors() {
    let long = "x".repeat(HUGE);
    let cases: Vec<(&str, TextLoader, String, &str)> = vec![
        (
            "snapshot: huge quantity",
            snapshot_text,
            format!(
                "{{\"version\": 1, \"nodes\": [{{\"name\": \"n\", \"allocatable\": {{\"cpu\": \"{long}\"}}}}]}}"
            ),
            "huge.json",
        ),
        (
            "snapshot: huge node name, bad field",
            snapshot_text,
            format!(
                "{{\"version\": 1, \"nodes\": [{{\"name\": \"{long}\", \"allocatable\": {{\"cpu\": []}}}}]}}"
            ),
            "huge.json",
        ),
        (
            "snapshot: padding then truncation",
            snapshot_text,
            format!("{{\"version\": 1,{}", " ".repeat(HUGE)),
            "huge.json",
        ),
        (
            "scenario: huge unknown field",
            scenario_text,
            format!("{{\"version\": 1, \"{long}\": 1}}"),
            "huge.json",
        ),
        (
            "scenario: huge duration",
            scenario_text,
            format!("version: 1\nname: t\nduration: {long}\n"),
            "huge.yaml",
        ),
    ];
    for (what, load, text, name) in &cases {
        let message = rejects_without_panic(what, &|| load(text, name));
        assert!(message.contains(name), "{what}: {message}");
    }
    let body = format!("{{\"error\": false, \"data\": [{{\"id\": \"{long}\"}}]}}");
    rejects_without_panic("response: huge field", &|| {
        decode_body_bytes(200, body.as_bytes())
    });
}

/// The configuration loader has the snapshot loader's guards: 100,000 levels of YAML flow
/// nesting are refused before the (quadratic) YAML parser sees them, and an unknown 50 MB
/// expander name is not echoed back whole.
#[test]
fn config_loader_refuses_deep_nesting_and_clips_quotes() {
    let yaml_flow = format!("scanInterval: {}\n", "[".repeat(DEEP));
    let message = rejects_without_panic("config: yaml flow", &|| {
        config_text(&yaml_flow, "deep.yaml")
    });
    assert!(
        message.contains("deep.yaml") && message.contains("nested deeper"),
        "{message}"
    );
    let long = "x".repeat(HUGE);
    let huge_expander = format!("{{\"scaleUp\": {{\"expander\": \"{long}\"}}}}");
    let message = rejects_without_panic("config: huge expander", &|| {
        config_text(&huge_expander, "huge.json")
    });
    assert!(
        message.contains("huge.json") && message.contains("expander"),
        "{message}"
    );
}
