//! `vpsie-sim quality DIR...`: packing quality of the scale-up planner on bin-packing benchmarks
//! with known optima, beside first-fit-decreasing.

use std::io::Write;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use vpsie_engine::scaleup::DEFAULT_WORK_BUDGET;
use vpsie_sim::quality::{self, InstanceResult, SetDetail, SetSummary};

use super::{CliError, Format, Run};

#[derive(Debug, clap::Args)]
pub struct QualityArgs {
    /// Folders of instances: OR-Library 1-D files (binpack*.txt) and/or Vectorpack `.vbp` sets
    /// (a <Set>_summary_known.csv beside a <Set>_instances folder).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Work budget of the planner per instance, in steps.
    #[arg(long, default_value_t = DEFAULT_WORK_BUDGET)]
    pub budget: u64,
    /// Also print one line per instance (text format).
    #[arg(long)]
    pub instances: bool,
    /// No progress on stderr.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    sets: Vec<SetSummary>,
}

impl Run for QualityArgs {
    fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let mut details: Vec<(SetDetail, Vec<InstanceResult>)> = Vec::new();
        for dir in &self.dirs {
            let sets = quality::load_dir(dir).map_err(input_error)?;
            for set in &sets {
                let bar = self.progress_bar(set);
                let mut results = Vec::with_capacity(set.instances.len());
                for inst in &set.instances {
                    results.push(quality::evaluate(inst, self.budget).map_err(input_error)?);
                    bar.inc(1);
                }
                bar.finish_and_clear();
                let detail = quality::summarize(set, &results);
                if !self.quiet {
                    // One line per set on stderr, so long runs show where they are even when
                    // stderr is not a terminal (no bar is drawn then).
                    eprintln!(
                        "quality: {} done: {} instances, mean {:.4}",
                        set.name, detail.summary.instances, detail.summary.mean_ratio
                    );
                }
                details.push((detail, results));
            }
        }
        match self.format {
            Format::Json => {
                let report = Report {
                    sets: details.iter().map(|(d, _)| d.summary.clone()).collect(),
                };
                let json = serde_json::to_string_pretty(&report)
                    .map_err(|e| CliError::Failed(e.to_string()))?;
                writeln!(out, "{json}")?;
            }
            Format::Text => out.write_all(render_text(&details, self.instances).as_bytes())?,
        }
        Ok(())
    }
}

impl QualityArgs {
    /// A bar over the set's instances on stderr (drawn only when stderr is a terminal).
    fn progress_bar(&self, set: &quality::InstanceSet) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(
            Some(set.instances.len() as u64),
            ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} instances") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(set.name.clone());
        bar
    }
}

fn input_error(e: quality::QualityError) -> CliError {
    match e {
        quality::QualityError::Io { path, source } => CliError::Read { path, source },
        other => CliError::Usage(other.to_string()),
    }
}

fn render_text(details: &[(SetDetail, Vec<InstanceResult>)], per_instance: bool) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{:<10} {:>5} {:>8} {:>8} {:>5} {:>9} {:>9} {:>9} {:>5} {:>12}\n",
        "set", "inst", "mean", "max", "+max", "optimal", "ffd_mean", "ffd_max", "ffd+", "work"
    ));
    for (d, results) in details {
        let m = &d.summary;
        s.push_str(&format!(
            "{:<10} {:>5} {:>8.4} {:>8.4} {:>5} {:>9} {:>9.4} {:>9.4} {:>5} {:>12}\n",
            m.name,
            m.instances,
            m.mean_ratio,
            m.max_ratio,
            m.max_excess,
            format!("{}/{}", d.at_optimum, m.instances),
            m.ffd_mean_ratio,
            d.ffd_max_ratio,
            d.ffd_max_excess,
            d.work_used,
        ));
        if d.unplaced > 0 {
            s.push_str(&format!("  {} pods got no node\n", d.unplaced));
        }
        if d.skipped_unknown_optimum > 0 {
            s.push_str(&format!(
                "  {} instances skipped: optimum unknown\n",
                d.skipped_unknown_optimum
            ));
        }
        if per_instance {
            for r in results {
                s.push_str(&format!(
                    "  {:<24} opt {:>4} plan {:>4} ffd {:>4} work {:>9}\n",
                    r.name, r.optimum, r.nodes, r.ffd_nodes, r.work_used
                ));
            }
        }
    }
    s
}
