//! Chaos campaigns: many seeded simulations of a base scenario under random fault schedules
//! (API 5xx and 429, lost and late adds, failed deletes, stock-outs, dying nodes, controller
//! restarts), each run to its end plus a fault-free settle period, then checked for orphaned
//! VPS, lost pods, PDB and group-bound violations.

pub mod check;
pub mod schedule;

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::des::{MINUTE, SimTime};
use crate::scenario::{LoadedScenario, ScenarioError, SimDuration};
use crate::world::{RunOptions, World};

pub use check::{EndState, Violation, check};
pub use schedule::{ChaosKind, FaultPlan};

/// Fault-free time after the base scenario's end, for the system to settle (longer than a
/// provision timeout plus an unneeded time plus a late worker's materialisation).
pub const SETTLE_MS: SimTime = 90 * MINUTE;

/// The seed of run `index` of a campaign seeded with `seed` (its own ChaCha8 stream).
pub fn run_seed(seed: u64, index: u64) -> u64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng.next_u64()
}

/// What one run did and what broke.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run_seed: u64,
    pub plan: FaultPlan,
    pub violations: Vec<Violation>,
    /// Faults that actually hit: failed adds, dead nodes.
    pub failed_adds: u64,
    pub nodes_died: u64,
}

/// Runs one chaos simulation of `base` from its run seed.
/// `without` lists kinds of trouble never drawn (the draws stay the same for the others).
pub fn run_one(
    base: &LoadedScenario,
    run_seed: u64,
    without: &[ChaosKind],
) -> Result<RunOutcome, ScenarioError> {
    let mut rng = ChaCha8Rng::seed_from_u64(run_seed);
    let world_seed = rng.next_u64();
    let window_end = base.scenario.duration.ms();
    let plan = schedule::generate(&mut rng, &base.scenario, window_end, without);
    let (result, end) = run_plan(base, world_seed, &plan)?;
    Ok(RunOutcome {
        run_seed,
        violations: check(&end),
        plan,
        failed_adds: result.report.failed_adds,
        nodes_died: result.report.nodes_died,
    })
}

/// Runs `base` under an explicit trouble plan (its fault windows and restart times should lie
/// inside the base scenario's duration, to which the base's own windows are clipped), then the
/// fault-free settle period, and returns the report and the settled end state for [`check`].
/// Campaigns draw their plans at random; the `simulator_ops` fuzz target builds them from
/// arbitrary operation sequences.
pub fn run_plan(
    base: &LoadedScenario,
    world_seed: u64,
    plan: &FaultPlan,
) -> Result<(crate::metrics::RunResult, EndState), ScenarioError> {
    let window_end = base.scenario.duration.ms();
    let mut l = base.clone();
    for f in &mut l.scenario.faults {
        let until = f.until.map_or(window_end, |u| u.ms()).min(window_end);
        f.until = Some(SimDuration(until));
    }
    l.scenario.faults.extend(plan.faults.iter().cloned());
    l.scenario.duration = SimDuration(window_end + SETTLE_MS);
    let config = crate::world::setup::autoscaler_config(&l)?;
    let world = World::new(
        &l,
        RunOptions {
            seed: world_seed,
            config,
        },
    )?;
    Ok(world.run_chaos(&plan.restarts))
}

/// Totals of a campaign.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub runs: u64,
    /// Scheduled faults by kind.
    pub scheduled: BTreeMap<ChaosKind, u64>,
    pub failed_adds: u64,
    pub nodes_died: u64,
    pub failures: Vec<RunOutcome>,
}

impl Summary {
    pub fn add(&mut self, outcome: RunOutcome) {
        self.runs += 1;
        for k in outcome.plan.kinds() {
            *self.scheduled.entry(k).or_default() += 1;
        }
        self.failed_adds += outcome.failed_adds;
        self.nodes_died += outcome.nodes_died;
        if !outcome.violations.is_empty() {
            self.failures.push(outcome);
        }
    }

    /// Compact, line-oriented rendering.
    pub fn render(&self) -> String {
        let mut out = format!(
            "runs {}  failures {}\nfaults scheduled:",
            self.runs,
            self.failures.len()
        );
        for (k, n) in &self.scheduled {
            out.push_str(&format!(" {}={n}", k.label()));
        }
        out.push_str(&format!(
            "\nfaults that hit: failed-adds={} nodes-died={}\n",
            self.failed_adds, self.nodes_died
        ));
        out
    }
}

/// Runs `runs` simulations from `seed`; `each` sees every outcome as it finishes.
pub fn campaign(
    base: &LoadedScenario,
    seed: u64,
    runs: u64,
    without: &[ChaosKind],
    each: &mut dyn FnMut(u64, &RunOutcome),
) -> Result<Summary, ScenarioError> {
    let mut summary = Summary::default();
    for i in 0..runs {
        let outcome = run_one(base, run_seed(seed, i), without)?;
        each(i, &outcome);
        summary.add(outcome);
    }
    Ok(summary)
}
