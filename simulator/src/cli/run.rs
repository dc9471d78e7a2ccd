//! `vpsie-sim run [SCENARIO] [--seed N] [--out DIR] [--quiet]`: simulate a scenario (the
//! built-in quickstart when none is given), print the summary, write the report files.

use std::io::Write;
use std::path::PathBuf;

use vpsie_sim::report;
use vpsie_sim::run::{Overrides, run_scenario};
use vpsie_sim::scenario::{self, LoadedScenario};
use vpsie_sim::world::setup::load_config_file;

use super::progress::Progress;
use super::{CliError, Run};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (JSON or YAML). Without it, the built-in quickstart runs.
    pub scenario: Option<PathBuf>,
    /// Seed of the simulation's random number generator (overrides the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Autoscaler configuration file (overrides the scenario's).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Directory for report.json, timeline.csv and report.html.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Print nothing but errors (no progress bar, no summary).
    #[arg(long)]
    pub quiet: bool,
}

/// Loads the scenario argument, or the built-in quickstart.
pub fn load_scenario(path: Option<&PathBuf>) -> Result<LoadedScenario, CliError> {
    Ok(match path {
        Some(p) => scenario::load_file(p)?,
        None => scenario::quickstart()?,
    })
}

impl Run for RunArgs {
    fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let loaded = load_scenario(self.scenario.as_ref())?;
        let config = match &self.config {
            Some(p) => Some(load_config_file(p)?),
            None => None,
        };
        let overrides = Overrides {
            seed: self.seed,
            config,
        };
        let mut progress = Progress::new(self.quiet, &loaded.scenario.name);
        let result = run_scenario(&loaded, &overrides, &mut |now, end| {
            progress.update(now, end)
        })?;
        progress.finish();
        report::write_outputs(&self.out, &result)?;
        if !self.quiet {
            writeln!(out, "{}", result.report.scenario)?;
            write!(out, "{}", report::summary_table(&result.report))?;
            writeln!(
                out,
                "\nwrote {0}/report.json, {0}/timeline.csv, {0}/report.html",
                self.out.display()
            )?;
        }
        Ok(())
    }
}
