//! Tidy checks over the whole workspace: every module says what it is in a `//!` line, the
//! engine depends on no IO or async crate, and engine code touches no file, socket, process or
//! environment.
//!
//! The checks are plain functions over text so that the tests below can prove each one fires on
//! a violation, not only that today's tree is clean.

use std::path::{Path, PathBuf};

/// Crates the engine must never depend on, with why. A `*` suffix matches a name prefix.
const ENGINE_DENIED_CRATES: &[(&str, &str)] = &[
    ("tokio", "async runtime: the engine is synchronous and pure"),
    (
        "tokio-*",
        "async runtime: the engine is synchronous and pure",
    ),
    ("async-std", "async runtime"),
    ("smol", "async runtime"),
    ("futures", "async: the engine is synchronous and pure"),
    ("mio", "socket IO"),
    ("socket2", "socket IO"),
    (
        "kube",
        "Kubernetes client: only runtime-k8s talks to the API server",
    ),
    (
        "kube-*",
        "Kubernetes client: only runtime-k8s talks to the API server",
    ),
    (
        "k8s-openapi",
        "Kubernetes API types: the engine has its own snapshot model",
    ),
    ("reqwest", "HTTP client: only vpsie-client talks to VPSie"),
    ("ureq", "HTTP client"),
    ("curl", "HTTP client"),
    ("isahc", "HTTP client"),
    ("surf", "HTTP client"),
    ("hyper", "HTTP"),
    ("hyper-*", "HTTP"),
    ("h2", "HTTP"),
    ("http", "HTTP types belong to the shells"),
    ("axum", "HTTP server"),
    ("actix-*", "HTTP server"),
    ("warp", "HTTP server"),
    ("tonic", "gRPC"),
    ("tower", "service stack of the shells"),
    ("tower-*", "service stack of the shells"),
    ("rustls", "TLS"),
    ("native-tls", "TLS"),
    ("openssl", "TLS"),
    ("notify", "file watching"),
    ("walkdir", "file system traversal"),
    ("tempfile", "file system"),
    (
        "chrono",
        "wall clock: the engine takes `now` as an argument",
    ),
    ("time", "wall clock: the engine takes `now` as an argument"),
    (
        "getrandom",
        "OS randomness: the engine uses a seeded ChaCha8Rng",
    ),
    ("tracing-subscriber", "log output is the shells' business"),
];

/// `std` modules engine code may not use: it reads no file, opens no socket, spawns no process
/// and reads no environment. Callers pass text and data in.
const ENGINE_DENIED_STD: &[&str] = &["fs", "net", "process", "env"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("engine/ sits in the workspace root")
        .to_path_buf()
}

/// Member directories of the root manifest, plus `fuzz` (a workspace of its own).
fn workspace_crates(root: &Path) -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut crates: Vec<PathBuf> = members_of(&manifest)
        .into_iter()
        .map(|m| root.join(m))
        .collect();
    if root.join("fuzz/Cargo.toml").exists() {
        crates.push(root.join("fuzz"));
    }
    crates
}

/// The `members = [...]` list of a workspace manifest.
fn members_of(manifest: &str) -> Vec<String> {
    let Some(start) = manifest.find("members") else {
        return Vec::new();
    };
    let rest = &manifest[start..];
    let (Some(open), Some(close)) = (rest.find('['), rest.find(']')) else {
        return Vec::new();
    };
    rest[open + 1..close]
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split(','))
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn rust_files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            rust_files_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `.rs` file in the crates' source, test, bench and fuzz target folders.
fn workspace_rust_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for krate in workspace_crates(root) {
        for sub in ["src", "tests", "benches", "fuzz_targets"] {
            rust_files_under(&krate.join(sub), &mut files);
        }
    }
    files
}

/// A module must open with a `//!` line saying what it is.
fn lacks_module_doc(source: &str) -> bool {
    !source.starts_with("//!")
}

/// Dependency names (after `package = ` renames) of every dependency table of a manifest.
fn dependencies_of(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut in_table = false;
    for raw in manifest.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            let header = line.trim_matches(|c| c == '[' || c == ']').trim();
            // `[dependencies.tokio]` names the dependency in the header itself.
            let parts: Vec<&str> = header.split('.').collect();
            if let Some(pos) = parts.iter().position(|p| p.ends_with("dependencies")) {
                in_table = pos + 1 == parts.len();
                if let Some(name) = parts.get(pos + 1) {
                    deps.push(name.trim_matches('"').to_string());
                }
            } else {
                in_table = false;
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if let Some(pkg) = package_rename(line) {
            deps.push(pkg);
        }
        if in_table {
            let key = line.split(['=', '.']).next().unwrap_or("").trim();
            if !key.is_empty() {
                deps.push(key.trim_matches('"').to_string());
            }
        }
    }
    deps.sort();
    deps.dedup();
    deps
}

/// `package = "real-name"` inside a dependency entry.
fn package_rename(line: &str) -> Option<String> {
    let at = line.find("package")?;
    let rest = line[at + "package".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

fn denied_reason(dep: &str) -> Option<&'static str> {
    ENGINE_DENIED_CRATES.iter().find_map(|(pattern, why)| {
        let hit = match pattern.strip_suffix('*') {
            Some(prefix) => dep.starts_with(prefix),
            None => dep == *pattern,
        };
        hit.then_some(*why)
    })
}

/// Denied dependencies of a manifest, as `name: why`.
fn denied_dependencies(manifest: &str) -> Vec<String> {
    dependencies_of(manifest)
        .into_iter()
        .filter_map(|d| denied_reason(&d).map(|why| format!("{d}: {why}")))
        .collect()
}

/// Lines of Rust source that use a denied `std` module, as `line: text`. Comments are skipped.
fn denied_std_uses(source: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for (i, raw) in source.lines().enumerate() {
        let code = raw.split("//").next().unwrap_or("");
        if code.trim().is_empty() {
            continue;
        }
        let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let mut denied = false;
        for module in ENGINE_DENIED_STD {
            let path = format!("std::{module}");
            // `std::fs` but not `std::fsx`: the next character must end the path segment.
            for (at, _) in compact.match_indices(&path) {
                let next = compact[at + path.len()..].chars().next();
                if !next.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    denied = true;
                }
            }
        }
        // `use std::{fs, io};`
        if let Some(at) = compact.find("std::{") {
            let group = &compact[at + "std::{".len()..];
            let group = &group[..group.find('}').unwrap_or(group.len())];
            if group.split(',').any(|item| {
                let head = item.split("::").next().unwrap_or("");
                ENGINE_DENIED_STD.contains(&head)
            }) {
                denied = true;
            }
        }
        if denied {
            hits.push(format!("{}: {}", i + 1, raw.trim()));
        }
    }
    hits
}

#[test]
fn every_rust_file_starts_with_a_module_doc_line() {
    let root = workspace_root();
    let files = workspace_rust_files(&root);
    assert!(
        files.iter().any(|f| f.ends_with("engine/src/lib.rs")),
        "the walk found no engine sources under {}",
        root.display()
    );
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| lacks_module_doc(&std::fs::read_to_string(f).unwrap()))
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "these files do not start with a `//!` line saying what the module is:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn engine_depends_on_no_io_or_async_crate() {
    let manifest = std::fs::read_to_string(workspace_root().join("engine/Cargo.toml")).unwrap();
    assert!(
        dependencies_of(&manifest).contains(&"serde".to_string()),
        "the manifest parser found no dependencies"
    );
    let denied = denied_dependencies(&manifest);
    assert!(
        denied.is_empty(),
        "engine/Cargo.toml depends on crates the pure engine must not use:\n{}",
        denied.join("\n")
    );
}

#[test]
fn engine_code_does_no_io() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files_under(&root.join("engine/src"), &mut files);
    assert!(!files.is_empty());
    let mut offenders = Vec::new();
    for file in files {
        for hit in denied_std_uses(&std::fs::read_to_string(&file).unwrap()) {
            let rel = file.strip_prefix(&root).unwrap_or(&file);
            offenders.push(format!("{}:{hit}", rel.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "engine code uses std::fs/net/process/env (the engine does no IO; callers pass data in):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_module_doc_check_fires() {
    assert!(!lacks_module_doc("//! A module.\nfn f() {}\n"));
    assert!(lacks_module_doc("/// An item doc.\nfn f() {}\n"));
    assert!(lacks_module_doc("\n//! Too late.\n"));
    assert!(lacks_module_doc("use std::fmt;\n"));
    assert!(lacks_module_doc(""));
}

#[test]
fn the_dependency_check_fires_on_every_spelling() {
    let cases: &[(&str, &[&str])] = &[
        ("[dependencies]\nserde.workspace = true\n", &[]),
        ("[dependencies]\ntokio = \"1\"\n", &["tokio"]),
        ("[dependencies]\ntokio.workspace = true\n", &["tokio"]),
        (
            "[dependencies]\nkube = { workspace = true, features = [\"client\"] }\n",
            &["kube"],
        ),
        ("[dependencies.reqwest]\nversion = \"0.13\"\n", &["reqwest"]),
        (
            "[target.'cfg(unix)'.dependencies]\nhyper-util = \"0.1\"\n",
            &["hyper-util"],
        ),
        (
            "[dependencies]\nnet = { package = \"k8s-openapi\", version = \"0.29\" }\n",
            &["k8s-openapi"],
        ),
        ("[dev-dependencies]\naxum = \"0.8\"\n", &["axum"]),
        ("[build-dependencies]\nmio = \"1\"\n", &["mio"]),
        ("[dependencies]\ntower-test = \"0.4\"\n", &["tower-test"]),
        // Not a dependency table: a feature named tokio is fine.
        ("[features]\ntokio = []\n", &[]),
        ("[package]\nname = \"tokio\"\n", &[]),
    ];
    for (manifest, expected) in cases {
        let denied: Vec<String> = denied_dependencies(manifest)
            .into_iter()
            .map(|d| d.split(':').next().unwrap().to_string())
            .collect();
        assert_eq!(&denied, expected, "manifest:\n{manifest}");
    }
}

#[test]
fn the_std_io_check_fires_on_every_spelling() {
    let cases: &[(&str, usize)] = &[
        ("use std::fs;\n", 1),
        ("let t = std::fs::read_to_string(p);\n", 1),
        ("use std::net::TcpStream;\n", 1),
        ("std::process::exit(1);\n", 1),
        ("let v = std::env::var(\"X\");\n", 1),
        ("use std::{collections::BTreeMap, fs};\n", 1),
        ("use std::{env, fmt};\nuse std :: process;\n", 2),
        // Allowed: other std modules, comments, look-alike names.
        ("use std::fmt;\nuse std::collections::BTreeMap;\n", 0),
        ("// std::fs is not used here\n", 0),
        ("//! We never call std::process::exit.\n", 0),
        ("use std::fmt; // not std::env\n", 0),
        ("use crate::model::envelope;\nlet fsx = 1;\n", 0),
    ];
    for (source, expected) in cases {
        assert_eq!(
            denied_std_uses(source).len(),
            *expected,
            "source:\n{source}"
        );
    }
}

#[test]
fn the_workspace_member_list_is_read() {
    let manifest = "[workspace]\nmembers = [\n    \"engine\",\n    \"simulator\", # the sim\n]\n";
    assert_eq!(members_of(manifest), vec!["engine", "simulator"]);
    let real = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let members = members_of(&real);
    assert!(members.contains(&"engine".to_string()), "{members:?}");
    assert!(members.contains(&"simulator".to_string()), "{members:?}");
}
