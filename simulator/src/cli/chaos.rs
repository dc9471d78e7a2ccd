//! `vpsie-sim chaos --runs N --seed S [--scenario FILE] [--replay RUN_SEED] [--quiet]`:
//! seeded simulations under random fault schedules, checked for orphaned VPS, lost pods, PDB
//! and group-bound violations; a failing run prints the command that replays it.

use std::io::Write;
use std::path::PathBuf;

use vpsie_sim::chaos::{self, ChaosKind, RunOutcome};

use super::run::load_scenario;
use super::{CliError, Run};

#[derive(Debug, clap::Args)]
pub struct ChaosArgs {
    /// Number of simulations.
    #[arg(long, default_value_t = 100)]
    pub runs: u64,
    /// Campaign seed; run i uses a seed derived from (seed, i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Base scenario (JSON or YAML). Without it, the built-in quickstart.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Run exactly one simulation with this run seed (as printed for a failing run).
    #[arg(long, conflicts_with_all = ["runs", "seed"])]
    pub replay: Option<u64>,
    /// Never inject this kind of trouble (repeatable): api-5xx, api-429, lost-adds,
    /// late-adds, failed-deletes, stock-out, node-death, restart.
    #[arg(long, value_parser = parse_kind)]
    pub without: Vec<ChaosKind>,
    /// Print only failures and the summary.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_kind(s: &str) -> Result<ChaosKind, String> {
    ChaosKind::from_label(s).ok_or_else(|| format!("unknown kind of fault {s:?}"))
}

fn replay_command(args: &ChaosArgs, run_seed: u64) -> String {
    let mut cmd = format!("vpsie-sim chaos --replay {run_seed}");
    for k in &args.without {
        cmd.push_str(&format!(" --without {}", k.label()));
    }
    if let Some(s) = &args.scenario {
        cmd.push_str(&format!(" --scenario {}", s.display()));
    }
    cmd
}

fn describe(out: &mut dyn Write, o: &RunOutcome, replay: &str) -> std::io::Result<()> {
    writeln!(out, "FAIL run seed {}: {}", o.run_seed, replay)?;
    for f in &o.plan.faults {
        let until = f.until.map_or(0, |u| u.ms()) / 1000;
        writeln!(
            out,
            "  fault {:?} {}s..{}s p={}{}",
            f.kind,
            f.at.ms() / 1000,
            until,
            f.probability,
            f.size
                .as_ref()
                .map(|s| format!(" size={s}"))
                .unwrap_or_default()
        )?;
    }
    for r in &o.plan.restarts {
        writeln!(out, "  restart at {}s", r / 1000)?;
    }
    for v in &o.violations {
        writeln!(out, "  violation: {v}")?;
    }
    Ok(())
}

impl Run for ChaosArgs {
    fn run(self, out: &mut dyn Write) -> Result<(), CliError> {
        let base = load_scenario(self.scenario.as_ref())?;
        let summary = match self.replay {
            Some(run_seed) => {
                let outcome = chaos::run_one(&base, run_seed, &self.without)?;
                let mut s = chaos::Summary::default();
                if outcome.violations.is_empty() && !self.quiet {
                    writeln!(out, "ok run seed {run_seed}")?;
                }
                s.add(outcome);
                s
            }
            None => {
                let mut io_error = None;
                let quiet = self.quiet;
                let runs = self.runs;
                let summary =
                    chaos::campaign(&base, self.seed, runs, &self.without, &mut |i, o| {
                        let r = if o.violations.is_empty() {
                            if quiet {
                                Ok(())
                            } else {
                                writeln!(out, "ok run {i} seed {}", o.run_seed)
                            }
                        } else {
                            describe(out, o, &replay_command(&self, o.run_seed))
                        };
                        if let Err(e) = r {
                            io_error.get_or_insert(e);
                        }
                    })?;
                if let Some(e) = io_error {
                    return Err(e.into());
                }
                summary
            }
        };
        if self.replay.is_some() {
            for o in &summary.failures {
                describe(out, o, &replay_command(&self, o.run_seed))?;
            }
        }
        write!(out, "{}", summary.render())?;
        if summary.failures.is_empty() {
            Ok(())
        } else {
            Err(CliError::Failed(format!(
                "{} of {} chaos run(s) broke an invariant",
                summary.failures.len(),
                summary.runs
            )))
        }
    }
}
