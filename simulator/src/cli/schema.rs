//! `vpsie-sim schema KIND`: prints the JSON Schema of one of the project's file formats.

use std::io::Write;

use super::{CliError, Run};

/// Formats whose schema can be printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaKind {
    /// The cluster snapshot read by `plan` (see docs/snapshot-format.md).
    Snapshot,
    /// The scenario read by `run` and `compare` (see docs/scenario-format.md).
    Scenario,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which format.
    #[arg(value_enum)]
    pub kind: SchemaKind,
}

impl Run for SchemaArgs {
    fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let schema = match self.kind {
            SchemaKind::Snapshot => vpsie_engine::model::snapshot_json_schema(),
            SchemaKind::Scenario => vpsie_sim::scenario::scenario_json_schema(),
        };
        out.write_all(schema.as_bytes())?;
        Ok(())
    }
}
