//! Subcommands of `vpsie-sim`, one module each, and what they share: errors and input reading.

pub mod plan;
pub mod schema;

pub mod chaos;
pub mod compare;
pub mod import;
pub mod mock_vpsie;
pub mod progress;
pub mod quality;
pub mod run;

use std::io::Write;
use std::path::Path;

use vpsie_engine::model::SnapshotError;

/// A subcommand: parsed arguments that know how to run, writing their result to `out`.
pub trait Run {
    fn run(self, out: &mut dyn Write) -> Result<(), CliError>;
}

/// Why a command failed. Bad input (exit code 2) is told apart from failures (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Snapshot(#[from] SnapshotError),
    #[error("{0}")]
    Config(#[from] vpsie_engine::autoscaler::ConfigError),
    #[error("{0}")]
    Scenario(#[from] vpsie_sim::scenario::ScenarioError),
    /// Flags that do not make sense together.
    #[error("{0}")]
    Usage(String),
    #[error("cannot write output: {0}")]
    Write(#[from] std::io::Error),
    /// A failure that is not the input's fault.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// 2 for bad input (the user can fix the file or the flags), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Read { .. }
            | CliError::Snapshot(_)
            | CliError::Config(_)
            | CliError::Scenario(_)
            | CliError::Usage(_) => 2,
            CliError::Write(_) | CliError::Failed(_) => 1,
        }
    }
}

/// Reads a whole text file, naming the file in the error.
pub fn read_text(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Output format of commands that print a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Compact, line-oriented, deterministic text.
    Text,
    /// The result serialized as pretty JSON.
    Json,
}
