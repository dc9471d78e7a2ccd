//! Converters from real traces to scenarios: the Alibaba `openb` pod and node lists and the
//! Azure VM trace (as prepared by Huawei's trace generator). Each converter reads text, never
//! panics on bad rows, and reports the file, line and column of what it cannot read.

pub mod azure;
pub mod openb;

use crate::scenario::{Scenario, SimDuration};

/// Why a trace could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: cannot read the file: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: column `{column}`: {message}")]
    Row {
        file: String,
        line: usize,
        column: String,
        message: String,
    },
    #[error("{file}: {message}")]
    Empty { file: String, message: String },
}

/// Reads a whole file, naming it in the error.
pub fn read(path: &std::path::Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        file: path.display().to_string(),
        source,
    })
}

/// Renders a scenario as YAML (or JSON when `json`), with a header comment saying where it
/// came from.
pub fn render(scenario: &Scenario, header: &str, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(scenario).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&serde_yaml_ng::to_string(scenario).unwrap_or_default());
    out
}

/// Time from seconds of a trace, compressed by `time_scale` (2.0 = twice as fast).
pub(crate) fn scaled(seconds: f64, time_scale: f64) -> SimDuration {
    SimDuration(((seconds / time_scale.max(1e-9)) * 1000.0).round().max(0.0) as i64)
}
