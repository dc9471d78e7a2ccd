//! `vpsie-sim plan SNAPSHOT`: plans a scale-up for a cluster snapshot and explains every pending
//! pod it cannot help.

use std::io::Write;
use std::path::{Path, PathBuf};

use vpsie_engine::autoscaler::AutoscalerConfig;
use vpsie_engine::autoscaler::planners::parse_expander;
use vpsie_engine::model::ClusterSnapshot;
use vpsie_engine::scaleup::{ClusterLimits, ScaleUpOptions, plan_scale_up};

use super::{CliError, Format, Run, read_text};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Cluster snapshot, JSON or YAML (see docs/snapshot-format.md).
    pub snapshot: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Autoscaler configuration, JSON or YAML (see docs/configuration.md): its expander,
    /// expander seed, work budget and cluster limits apply. Defaults when absent.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl Run for PlanArgs {
    fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let text = read_text(&self.snapshot)?;
        let name = self.snapshot.display().to_string();
        let snapshot = ClusterSnapshot::from_text(&text, &name)?;
        let options = match &self.config {
            Some(path) => options_from_config(path)?,
            None => ScaleUpOptions::default(),
        };
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

/// The scale-up options the autoscaler's loop would use with this configuration, for a snapshot
/// taken outside the loop (no group blocked, no pod ignored).
fn options_from_config(path: &Path) -> Result<ScaleUpOptions, CliError> {
    let text = read_text(path)?;
    let config = AutoscalerConfig::from_text(&text, &path.display().to_string())?;
    let up = &config.scale_up;
    // `from_text` validates the expander name; this only guards against that changing.
    let expander = parse_expander(&up.expander).map_err(|e| {
        CliError::Failed(format!("{}: field `scaleUp.expander`: {e}", path.display()))
    })?;
    Ok(ScaleUpOptions {
        expander,
        seed: up.expander_seed,
        work_budget: up.work_budget,
        limits: ClusterLimits {
            max_nodes: config.limits.max_nodes_total,
            max_cores: config.limits.max_total_cores,
            max_memory_bytes: config.limits.max_total_memory.map(|m| m.0),
        },
        ..ScaleUpOptions::default()
    })
}
