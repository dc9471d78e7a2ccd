//! `vpsie-sim compare SCENARIO --config A --config B`: the same scenario and seed under two
//! autoscaler configurations, side by side in the terminal and on one HTML page.

use std::io::Write;
use std::path::PathBuf;

use vpsie_sim::report;
use vpsie_sim::run::{Overrides, run_scenario};
use vpsie_sim::world::setup::load_config_file;

use super::progress::Progress;
use super::run::load_scenario;
use super::{CliError, Run};

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Scenario file (JSON or YAML).
    pub scenario: PathBuf,
    /// Autoscaler configuration files: exactly two.
    #[arg(long = "config", required = true, num_args = 1)]
    pub configs: Vec<PathBuf>,
    /// Seed (overrides the scenario's); both runs use the same one.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Directory for compare.html and the two report JSON files.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

fn label(p: &std::path::Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

impl Run for CompareArgs {
    fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let [a, b] = self.configs.as_slice() else {
            return Err(CliError::Usage(format!(
                "compare needs exactly two --config files, got {}",
                self.configs.len()
            )));
        };
        let loaded = load_scenario(Some(&self.scenario))?;
        let mut results = Vec::new();
        for path in [a, b] {
            let overrides = Overrides {
                seed: self.seed,
                config: Some(load_config_file(path)?),
            };
            let mut progress = Progress::new(self.quiet, &label(path));
            let r = run_scenario(&loaded, &overrides, &mut |now, end| {
                progress.update(now, end)
            })?;
            progress.finish();
            results.push(r);
        }
        let (la, lb) = (label(a), label(b));
        let (la, lb) = if la == lb {
            (format!("A: {la}"), format!("B: {lb}"))
        } else {
            (la, lb)
        };
        std::fs::create_dir_all(&self.out)?;
        std::fs::write(
            self.out.join("compare.html"),
            report::html::compare([&la, &lb], &results[0], &results[1]),
        )?;
        std::fs::write(
            self.out.join("report-a.json"),
            report::report_json(&results[0].report),
        )?;
        std::fs::write(
            self.out.join("report-b.json"),
            report::report_json(&results[1].report),
        )?;
        if !self.quiet {
            writeln!(
                out,
                "{} (seed {})",
                loaded.scenario.name, results[0].report.seed
            )?;
            write!(
                out,
                "{}",
                report::compare_table([&la, &lb], &results[0].report, &results[1].report)
            )?;
            writeln!(
                out,
                "\n(* differs) wrote {}/compare.html",
                self.out.display()
            )?;
        }
        Ok(())
    }
}
