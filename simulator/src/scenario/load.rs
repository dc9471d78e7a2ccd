//! Reading scenario files (JSON or YAML) with errors that name the file, the line and the field.

use std::path::{Path, PathBuf};

use vpsie_engine::model::load::{MAX_NESTING, clip, yaml_flow_nesting_beyond};

use super::format::{SCENARIO_VERSION, Scenario};

/// Why a scenario could not be used. Every variant says where.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: cannot read the file: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: field `{field}`: {message}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        field: String,
        message: String,
    },
    #[error("{message}")]
    Config { file: String, message: String },
    #[error("{file}:{line}: field `{field}`: {message}")]
    Invalid {
        file: String,
        line: usize,
        field: String,
        message: String,
    },
}

impl ScenarioError {
    /// A stable label for metrics and tests.
    pub fn code(&self) -> &'static str {
        match self {
            ScenarioError::Read { .. } => "read",
            ScenarioError::Parse { .. } => "parse",
            ScenarioError::Invalid { .. } => "invalid",
            ScenarioError::Config { .. } => "config",
        }
    }
}

/// A parsed scenario together with where it came from (relative paths resolve against `dir`).
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    /// Display name of the source (file path or `<built-in quickstart>`).
    pub source_name: String,
    /// The source text, kept to locate fields for later errors.
    pub text: String,
    /// Directory that relative paths in the scenario are resolved against.
    pub dir: PathBuf,
}

/// Reads and parses a scenario file; format chosen by extension (`.json`, `.yaml`, `.yml`) or,
/// failing that, by its first character.
pub fn load_file(path: &Path) -> Result<LoadedScenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        file: file.clone(),
        source,
    })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse_str(&text, &file, dir)
}

fn looks_like_json(text: &str, name: &str) -> bool {
    if name.ends_with(".json") {
        return true;
    }
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        return false;
    }
    text.trim_start().starts_with('{')
}

/// Parses scenario text. `name` is used in errors and to pick the format.
pub fn parse_str(text: &str, name: &str, dir: PathBuf) -> Result<LoadedScenario, ScenarioError> {
    let json = looks_like_json(text, name);
    // Deep flow nesting makes the YAML parser quadratic (100,000 levels took minutes).
    if !json && let Some(line) = yaml_flow_nesting_beyond(text, MAX_NESTING) {
        return Err(ScenarioError::Parse {
            file: name.to_string(),
            line,
            column: 1,
            field: String::new(),
            message: format!("collections nested deeper than {MAX_NESTING} levels"),
        });
    }
    let scenario: Scenario = if json {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            // Parsers quote the offending text; a 50 MB value must not become a 50 MB message.
            ScenarioError::Parse {
                file: name.to_string(),
                line: inner.line(),
                column: inner.column(),
                field: clip(&field),
                message: clip(&strip_location(&inner.to_string())),
            }
        })?
    } else {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            // Errors raised by custom deserializers carry no useful location (1:1): find the
            // field in the text instead.
            let (line, column) = match inner.location().map(|l| (l.line(), l.column())) {
                Some((1, 1)) | None => (locate(text, &field), 1),
                Some(at) => at,
            };
            let message = strip_location(&inner.to_string());
            ScenarioError::Parse {
                file: name.to_string(),
                line,
                column,
                message: clip(strip_path(&message, &field)),
                field: clip(&field),
            }
        })?
    };
    let loaded = LoadedScenario {
        scenario,
        source_name: name.to_string(),
        text: text.to_string(),
        dir,
    };
    if loaded.scenario.version != SCENARIO_VERSION {
        return Err(loaded.invalid(
            "version",
            format!(
                "unsupported scenario version {} (this build reads version {SCENARIO_VERSION})",
                loaded.scenario.version
            ),
        ));
    }
    super::validate::validate(&loaded)?;
    Ok(loaded)
}

impl LoadedScenario {
    /// An `Invalid` error for `field` (a dotted path such as `workload.jobs[2].completions`),
    /// with the line found by searching the source text.
    pub fn invalid(&self, field: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.source_name.clone(),
            line: locate(&self.text, field),
            field: field.to_string(),
            message: clip(&Into::<String>::into(message)),
        }
    }

    /// Resolves a path written in the scenario relative to the scenario's directory.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        let p = Path::new(relative);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }
}

fn strip_location(message: &str) -> String {
    let message = match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    message.to_string()
}

/// serde_yaml_ng prefixes some messages with the path; the error shows the field already.
fn strip_path<'a>(message: &'a str, field: &str) -> &'a str {
    message
        .strip_prefix(field)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
}

/// Best-effort line (1-based) of a field path in JSON or YAML text: each key of the path is
/// searched for after the previous one, list indices count the list's items. Returns the line
/// of the deepest segment found (1 when nothing is found).
pub fn locate(text: &str, path: &str) -> usize {
    let mut pos = 0usize;
    for segment in split_path(path) {
        match segment {
            Segment::Key(key) => {
                let candidates = [format!("\"{key}\""), format!("{key}:")];
                // Continue after the whole match: `i + key.len()` fell inside a quoted key
                // ending in a multi-byte character, and slicing there panicked (fuzzing).
                let found = candidates
                    .iter()
                    .filter_map(|c| find_key(&text[pos..], c).map(|i| (pos + i, c.len())))
                    .min();
                match found {
                    Some((i, len)) => pos = i + len,
                    None => break,
                }
            }
            Segment::Index(n) => {
                // Skip to the n-th item: YAML `- ` items or JSON objects `{` at this level.
                let mut remaining = n;
                let rest = &text[pos..];
                let mut offset = None;
                let mut depth = 0i32;
                for (i, c) in rest.char_indices() {
                    match c {
                        '[' | '{' => {
                            if c == '{' && depth == 1 {
                                if remaining == 0 {
                                    offset = Some(i);
                                    break;
                                }
                                remaining -= 1;
                            }
                            depth += 1;
                        }
                        ']' | '}' => {
                            depth -= 1;
                            if depth < 0 {
                                break;
                            }
                        }
                        '-' if depth == 0
                            && rest[i + 1..].starts_with(' ')
                            && line_prefix_blank(rest, i) =>
                        {
                            if remaining == 0 {
                                offset = Some(i);
                                break;
                            }
                            remaining -= 1;
                        }
                        _ => {}
                    }
                }
                match offset {
                    Some(i) => pos += i,
                    None => break,
                }
            }
        }
    }
    text[..pos.min(text.len())].matches('\n').count() + 1
}

fn line_prefix_blank(text: &str, i: usize) -> bool {
    let start = text[..i].rfind('\n').map_or(0, |n| n + 1);
    text[start..i].chars().all(|c| c == ' ')
}

fn find_key(text: &str, needle: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(needle) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        // A key starts a line (YAML), follows `{`/`,`/whitespace (JSON) or a YAML `- `.
        if before.is_none_or(|c| c.is_whitespace() || c == '{' || c == ',' || c == '-') {
            return Some(at);
        }
        // Past the first character of the match, which may be several bytes long (found by
        // fuzzing: a key starting with a multi-byte character).
        from = at + needle.chars().next().map_or(1, char::len_utf8);
    }
    None
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_path(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some(close) = rest.find(']') {
            // `get` and not indexing: a key may itself contain `]` (found by fuzzing).
            if let Some(n) = rest.get(1..close).and_then(|s| s.parse().ok()) {
                out.push(Segment::Index(n));
            }
            rest = &rest[close + 1..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_regressions_are_rejected_without_panic() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/scenario_parse");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}", dir.display());
        for path in files {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).to_string();
            for name in ["fuzz.json", "fuzz.yaml"] {
                let _ = parse_str(&text, name, PathBuf::from("."));
            }
        }
    }

    #[test]
    fn locate_finds_nested_yaml_and_json_fields() {
        let yaml = "version: 1\nworkload:\n  jobs:\n    - name: a\n      completions: 1\n    - name: b\n      completions: 0\n";
        assert_eq!(locate(yaml, "workload.jobs[1].completions"), 7);
        assert_eq!(locate(yaml, "workload.jobs[0].name"), 4);
        let json = "{\n \"workload\": {\n  \"jobs\": [\n   {\"name\": \"a\"},\n   {\"name\": \"b\",\n    \"completions\": 0}\n  ]\n }\n}";
        assert_eq!(locate(json, "workload.jobs[1].completions"), 6);
        assert_eq!(locate(json, "nothing.here"), 1);
    }
}
