//! Reading a snapshot from JSON or YAML text, with errors that name file, line, object and field.
//!
//! The engine does no IO: callers read the file and pass its text and a name for messages.
//! Loading has two stages. Parsing (serde, strict: unknown fields and bad quantities are
//! errors) stops at the first error and reports its line, column and field path. Validation
//! (see `validate`) then reports every semantic problem at once.

use std::fmt;

use serde_json::Value;

use super::snapshot::{ClusterSnapshot, SNAPSHOT_VERSION};
use super::validate::Problem;

/// The text encoding of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotFormat {
    Json,
    Yaml,
}

impl SnapshotFormat {
    /// `.yaml`/`.yml` sources are YAML, `.json` sources JSON; otherwise JSON when the first
    /// non-blank character opens an object, YAML else.
    pub fn detect(text: &str, source_name: &str) -> Self {
        let lower = source_name.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            SnapshotFormat::Yaml
        } else if lower.ends_with(".json") || text.trim_start().starts_with('{') {
            SnapshotFormat::Json
        } else {
            SnapshotFormat::Yaml
        }
    }
}

/// A document that could not be parsed: where, in which object and field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    /// 1-based line, when the parser knows it.
    pub line: Option<usize>,
    /// 1-based column, when the parser knows it.
    pub column: Option<usize>,
    /// The object the error is in (`pod default/web-1`), when it can be told.
    pub object: Option<String>,
    /// Field path inside the object (or from the document root when there is no object).
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render_parse(
            &self.file,
            self.line,
            self.column,
            self.object.as_deref(),
            self.field.as_deref(),
            &self.message,
        ))
    }
}

/// Why a snapshot was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The text is not a well-formed snapshot document: bad syntax, a wrong type, an unknown
    /// field, a malformed or negative quantity. Parsing stops at the first such error.
    #[error("{0}")]
    Parse(Box<ParseError>),
    /// The document parsed but is inconsistent; every problem is listed, one per line.
    #[error("{}", render_invalid(.file, .problems))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

impl SnapshotError {
    /// The source name the error refers to.
    pub fn file(&self) -> &str {
        match self {
            SnapshotError::Parse(e) => &e.file,
            SnapshotError::Invalid { file, .. } => file,
        }
    }

    /// A stable label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            SnapshotError::Parse(_) => "parse",
            SnapshotError::Invalid { .. } => "invalid",
        }
    }
}

fn render_parse(
    file: &str,
    line: Option<usize>,
    column: Option<usize>,
    object: Option<&str>,
    field: Option<&str>,
    message: &str,
) -> String {
    let mut out = file.to_string();
    if let Some(line) = line {
        out.push_str(&format!(":{line}"));
        if let Some(column) = column {
            out.push_str(&format!(":{column}"));
        }
    }
    if let Some(object) = object {
        out.push_str(&format!(": {object}"));
    }
    if let Some(field) = field {
        out.push_str(&format!(": field {field}"));
    }
    out.push_str(&format!(": {message}"));
    out
}

fn render_invalid(file: &str, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| format!("{file}: {p}")).collect();
    lines.join("\n")
}

impl ClusterSnapshot {
    /// Parses and validates a snapshot. `source_name` (usually the file name) picks the format
    /// by extension and prefixes every error message.
    pub fn from_text(text: &str, source_name: &str) -> Result<ClusterSnapshot, SnapshotError> {
        let format = SnapshotFormat::detect(text, source_name);
        let snapshot = parse(text, source_name, format)?;
        let problems = snapshot.problems();
        if problems.is_empty() {
            Ok(snapshot)
        } else {
            Err(SnapshotError::Invalid {
                file: source_name.to_string(),
                problems,
            })
        }
    }

    /// Pretty JSON with a trailing newline, in the snapshot format.
    pub fn to_json_pretty(&self) -> String {
        match serde_json::to_string_pretty(self) {
            Ok(mut text) => {
                text.push('\n');
                text
            }
            // Serializing plain data to a string cannot fail; keep the error visible anyway.
            Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
        }
    }
}

/// The JSON Schema of the snapshot format, pretty-printed, deterministic.
pub fn snapshot_json_schema() -> String {
    let schema = schemars::schema_for!(ClusterSnapshot);
    match serde_json::to_string_pretty(&schema) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

fn parse(text: &str, file: &str, format: SnapshotFormat) -> Result<ClusterSnapshot, SnapshotError> {
    // serde would read a struct from a sequence positionally: insist on a mapping first.
    let not_a_mapping = |what: &str| {
        SnapshotError::Parse(Box::new(ParseError {
            file: file.to_string(),
            line: None,
            column: None,
            object: None,
            field: None,
            message: format!(
                "{what}; a snapshot is a mapping with at least `version: {SNAPSHOT_VERSION}`"
            ),
        }))
    };
    if text.trim().is_empty() {
        return Err(not_a_mapping("the document is empty"));
    }
    // Before any YAML parse, the generic one below included: deep flow nesting makes the YAML
    // parser quadratic (100,000 levels took minutes).
    if format == SnapshotFormat::Yaml
        && let Some(line) = yaml_flow_nesting_beyond(text, MAX_NESTING)
    {
        return Err(SnapshotError::Parse(Box::new(ParseError {
            file: file.to_string(),
            line: Some(line),
            column: None,
            object: None,
            field: None,
            message: format!("collections nested deeper than {MAX_NESTING} levels"),
        })));
    }
    match format {
        SnapshotFormat::Json => {
            if !text.trim_start().starts_with('{') {
                return Err(not_a_mapping("the document is not a JSON object"));
            }
        }
        SnapshotFormat::Yaml => {
            // Syntax errors are left to the typed parse below, which locates them better.
            if let Ok(value) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text)
                && !value.is_mapping()
            {
                return Err(not_a_mapping("the document is not a YAML mapping"));
            }
        }
    }
    let typed = match format {
        SnapshotFormat::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            let json_error = |segments: Vec<Segment>, inner: &serde_json::Error| RawError {
                segments,
                at: (inner.line() > 0).then(|| (inner.line(), inner.column())),
                message: strip_location(&inner.to_string()),
            };
            serde_path_to_error::deserialize::<_, ClusterSnapshot>(&mut de)
                .map_err(|e| json_error(segments(e.path()), e.inner()))
                .and_then(|s| {
                    // Trailing garbage after the document.
                    de.end().map_err(|e| json_error(Vec::new(), &e))?;
                    Ok(s)
                })
        }
        SnapshotFormat::Yaml => {
            let de = serde_yaml_ng::Deserializer::from_str(text);
            serde_path_to_error::deserialize::<_, ClusterSnapshot>(de).map_err(|e| {
                let inner = e.inner();
                let at = inner.location().map(|l| (l.line(), l.column()));
                let path = e.path().to_string();
                let mut message = strip_location(&inner.to_string());
                // serde_yaml_ng prefixes messages with its own copy of (part of) the path.
                if let Some((head, rest)) = message.split_once(": ")
                    && path.starts_with(head)
                {
                    message = rest.to_string();
                }
                RawError {
                    segments: segments(e.path()),
                    at,
                    message,
                }
            })
        }
    };
    typed.map_err(|raw| {
        // A generic parse tells which object the error is in, and whether the real problem is
        // a version this build does not read (then the type error is only a consequence).
        let generic: Option<Value> = match format {
            SnapshotFormat::Json => serde_json::from_str(text).ok(),
            SnapshotFormat::Yaml => serde_yaml_ng::from_str(text).ok(),
        };
        if let Some(version) = generic.as_ref().and_then(|v| v.get("version"))
            && version.as_u64() != Some(u64::from(SNAPSHOT_VERSION))
        {
            return SnapshotError::Parse(Box::new(ParseError {
                file: file.to_string(),
                line: None,
                column: None,
                object: Some("snapshot".to_string()),
                field: Some("version".to_string()),
                message: format!(
                    "unknown snapshot version {} (this build reads version {SNAPSHOT_VERSION})",
                    clip(&version.to_string())
                ),
            }));
        }
        let mut segments = raw.segments;
        // serde reports a missing field at its parent; point at the field itself.
        if let Some(missing) = raw
            .message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.to_string())
        {
            segments.push(Segment::Key(missing));
        }
        let (object, field) = locate(generic.as_ref(), &segments);
        // Parsers quote the offending text; a 50 MB value must not become a 50 MB message.
        SnapshotError::Parse(Box::new(ParseError {
            file: file.to_string(),
            line: raw.at.map(|(l, _)| l),
            column: raw.at.map(|(_, c)| c),
            object: object.map(|o| clip(&o)),
            field: field.map(|f| clip(&f)),
            message: clip(&raw.message),
        }))
    })
}

/// Deepest collection nesting a document may have (serde_json's own recursion limit).
pub const MAX_NESTING: usize = 128;

/// Longest piece of input text an error message quotes.
pub const MAX_QUOTED_CHARS: usize = 300;

/// `text` cut to [`MAX_QUOTED_CHARS`] characters, saying how long it was.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        None => text.to_string(),
        Some((end, _)) => format!("{}... ({} bytes in all)", &text[..end], text.len()),
    }
}

/// The YAML parser's time grows quadratically with the depth of flow collections (`[[[...]]]`),
/// so a hostile document could stall the loader for seconds before its own recursion limit
/// trips. This scan finds the line where flow nesting exceeds `limit`, skipping quoted
/// scalars and comments; it is linear in the text.
pub fn yaml_flow_nesting_beyond(text: &str, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut quote: Option<char> = None;
    let mut in_comment = false;
    let mut prev = ' ';
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            in_comment = false;
        } else if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else if !in_comment {
            match c {
                // A quote opens a quoted scalar only where a scalar can start.
                '"' | '\''
                    if prev.is_whitespace() || matches!(prev, '[' | '{' | ',' | ':' | '-') =>
                {
                    quote = Some(c)
                }
                '#' if prev.is_whitespace() => in_comment = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > limit {
                        return Some(line);
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        prev = c;
    }
    None
}

/// A parse error before it is tied to an object.
struct RawError {
    segments: Vec<Segment>,
    at: Option<(usize, usize)>,
    message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn segments(path: &serde_path_to_error::Path) -> Vec<Segment> {
    path.iter()
        .filter_map(|s| match s {
            serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => Some(Segment::Key(variant.clone())),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect()
}

fn render_path(segments: &[Segment]) -> String {
    let mut out = String::new();
    for s in segments {
        match s {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// serde_json and serde_yaml_ng append ` at line L column C`; the error carries them apart.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => message[..i].to_string(),
        _ => message.to_string(),
    }
}

/// The object kind of each top-level list, as error messages name it.
fn kind_of(list: &str) -> Option<&'static str> {
    Some(match list {
        "nodes" => "node",
        "pods" => "pod",
        "pdbs" => "pdb",
        "nodeGroups" => "nodeGroup",
        "sizes" => "size",
        "daemonSets" => "daemonSet",
        "inFlight" => "inFlight",
        _ => return None,
    })
}

/// Splits a path into the object it points into and the field inside that object.
fn locate(generic: Option<&Value>, segments: &[Segment]) -> (Option<String>, Option<String>) {
    match segments {
        [] => (None, None),
        [Segment::Key(list), Segment::Index(i), rest @ ..] if kind_of(list).is_some() => {
            let kind = kind_of(list).unwrap_or("object");
            let item = generic
                .and_then(|v| v.get(list.as_str()))
                .and_then(|v| v.get(*i));
            let name = item.and_then(|v| v.get("name")).and_then(Value::as_str);
            let namespaced = matches!(list.as_str(), "pods" | "pdbs" | "daemonSets");
            let object = match name {
                Some(name) if !name.is_empty() && namespaced => {
                    let ns = item
                        .and_then(|v| v.get("namespace"))
                        .and_then(Value::as_str)
                        .unwrap_or("default");
                    format!("{kind} {ns}/{name}")
                }
                Some(name) if !name.is_empty() => format!("{kind} {name}"),
                _ => format!("{kind} {list}[{i}]"),
            };
            let field = (!rest.is_empty()).then(|| render_path(rest));
            (Some(object), field)
        }
        _ => (Some("snapshot".to_string()), Some(render_path(segments))),
    }
}

impl fmt::Display for SnapshotFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SnapshotFormat::Json => "json",
            SnapshotFormat::Yaml => "yaml",
        })
    }
}
