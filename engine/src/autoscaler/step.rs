//! `step`: one pure, deterministic iteration of the autoscaling loop.

use crate::model::ClusterSnapshot;

use super::config::AutoscalerConfig;
use super::decision::StepOutput;
use super::io::Observation;
use super::lifecycle::{self, Out};
use super::state::LoopState;
use super::{scale_down, scale_up};

/// One loop iteration: apply the shell's observations, advance lifecycles and timers from the
/// snapshot and `now_ms`, then plan scale-up (in-flight capacity counted) and scale-down.
///
/// Pure: the same state, snapshot, observations, time and configuration always give the same
/// new state and output. In dry-run mode the decision and actions are computed as usual, but
/// the returned state does not record them (no request or removal is believed to be under
/// way), so the next step decides afresh from the unchanged cluster.
pub fn step(
    mut state: LoopState,
    snapshot: &ClusterSnapshot,
    observations: &[Observation],
    now_ms: i64,
    config: &AutoscalerConfig,
) -> (LoopState, StepOutput) {
    let mut out = Out::default();
    out.decision.now_ms = now_ms;
    out.decision.dry_run = config.dry_run;
    lifecycle::apply_observations(&mut state, observations, now_ms, config, &mut out);
    lifecycle::advance(&mut state, snapshot, now_ms, config, &mut out);

    let before_decisions = config.dry_run.then(|| state.clone());
    let scaled_up = scale_up::run(&mut state, snapshot, now_ms, config, &mut out);
    scale_down::run(&mut state, snapshot, now_ms, config, scaled_up, &mut out);

    if let Some(mut kept) = before_decisions {
        // Keep the timers the planners advanced (so explanations show real waiting times), drop
        // everything that assumes the actions were carried out.
        kept.nodes = std::mem::take(&mut state.nodes);
        state = kept;
    }
    state.last_step_ms = Some(now_ms);
    (
        state,
        StepOutput {
            actions: out.actions,
            decision: out.decision,
        },
    )
}
