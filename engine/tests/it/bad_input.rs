//! Hostile and malformed snapshots (tests/bad-input/snapshots) and fuzz regression inputs
//! (fuzz/regressions/snapshot_parse): each is rejected with an error naming the file, never a
//! panic, and accepted fuzz inputs round-trip through canonical JSON.

use std::path::{Path, PathBuf};

use vpsie_engine::model::ClusterSnapshot;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x != "md" && x != "txt"))
        .collect();
    files.sort();
    files
}

#[test]
#[allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "a wall-clock bound catches a hostile input that stalls the parser; the engine itself never reads the clock"
)]
fn every_bad_snapshot_is_rejected_with_a_located_error() {
    let dir = workspace_root().join("tests/bad-input/snapshots");
    let files = files_in(&dir);
    assert!(
        files.len() >= 20,
        "the corpus went missing: {}",
        dir.display()
    );
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let Ok(text) = String::from_utf8(bytes) else {
            // The CLI reports invalid UTF-8 itself before parsing; nothing to parse here.
            continue;
        };
        let started = std::time::Instant::now();
        let result = std::panic::catch_unwind(|| ClusterSnapshot::from_text(&text, &name));
        assert!(
            started.elapsed().as_secs() < 10,
            "{name}: took {:?}",
            started.elapsed()
        );
        match result {
            Err(_) => panic!("{name}: the loader panicked"),
            Ok(Ok(_)) => panic!("{name}: a bad snapshot was accepted"),
            Ok(Err(e)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&name),
                    "{name}: error does not name the file: {msg}"
                );
                assert!(!msg.trim().is_empty());
            }
        }
    }
}

#[test]
fn snapshot_errors_name_object_and_field() {
    let cases = [
        ("bad-suffix.json", "12Qi"),
        ("pod-on-missing-node.json", "ghost"),
        ("min-above-max.json", "min"),
        ("unknown-version.json", "version"),
        ("unknown-field.json", "nodez"),
        ("duplicate-node.json", "node n"),
    ];
    let dir = workspace_root().join("tests/bad-input/snapshots");
    for (file, needle) in cases {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let msg = ClusterSnapshot::from_text(&text, file)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(needle),
            "{file}: expected `{needle}` in: {msg}"
        );
    }
}

#[test]
fn fuzz_regressions_replay() {
    let dir = workspace_root().join("fuzz/regressions/snapshot_parse");
    for path in files_in(&dir) {
        let bytes = std::fs::read(&path).unwrap();
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        for name in ["fuzz.json", "fuzz.yaml"] {
            if let Ok(snapshot) = ClusterSnapshot::from_text(text, name) {
                let again =
                    ClusterSnapshot::from_text(&snapshot.to_json_pretty(), "canonical.json")
                        .unwrap_or_else(|e| {
                            panic!("{}: canonical JSON does not reload: {e}", path.display())
                        });
                assert_eq!(again, snapshot, "{}", path.display());
            }
        }
    }
}
