//! Running a scenario: seed and configuration resolved, the world built and run, the report
//! labelled. The one entry point the CLI, the tests and the benchmarks share.

use vpsie_engine::autoscaler::AutoscalerConfig;

use crate::des::SimTime;
use crate::metrics::RunResult;
use crate::scenario::{LoadedScenario, ScenarioError};
use crate::world::{RunOptions, World};

/// Overrides of one run.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces the scenario's seed.
    pub seed: Option<u64>,
    /// Replaces the scenario's autoscaler configuration.
    pub config: Option<AutoscalerConfig>,
}

/// Runs a scenario to its end. `progress` receives (now, end) in virtual milliseconds.
pub fn run_scenario(
    l: &LoadedScenario,
    overrides: &Overrides,
    progress: &mut dyn FnMut(SimTime, SimTime),
) -> Result<RunResult, ScenarioError> {
    let seed = overrides.seed.unwrap_or(l.scenario.seed);
    let config = match &overrides.config {
        Some(c) => c.clone(),
        None => crate::world::setup::autoscaler_config(l)?,
    };
    let world = World::new(l, RunOptions { seed, config })?;
    let mut result = world.run(progress);
    result.report.scenario = l.scenario.name.clone();
    result.report.seed = seed;
    Ok(result)
}
