//! `vpsie-sim plan SNAPSHOT`: plans a scale-up for a cluster snapshot and explains every pending
//! pod it cannot help.

use std::io::Write;
use std::path::PathBuf;

use vpsie_engine::model::ClusterSnapshot;
use vpsie_engine::scaleup::{ScaleUpOptions, plan_scale_up};

use super::{CliError, Format, Run, read_text};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Cluster snapshot, JSON or YAML (see docs/snapshot-format.md).
    pub snapshot: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

impl Run for PlanArgs {
    fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let text = read_text(&self.snapshot)?;
        let name = self.snapshot.display().to_string();
        let snapshot = ClusterSnapshot::from_text(&text, &name)?;
        let options = ScaleUpOptions::default();
        let plan = plan_scale_up(&snapshot, &options);
        match self.format {
            Format::Text => out.write_all(plan.render_text().as_bytes())?,
            Format::Json => {
                let json = serde_json::to_string_pretty(&plan)
                    .map_err(|e| CliError::Failed(format!("cannot serialize the plan: {e}")))?;
                writeln!(out, "{json}")?;
            }
        }
        Ok(())
    }
}
