//! `plan_scale_up`: pending pods → equivalence classes → node options → packed plan.

use crate::model::ClusterSnapshot;

use super::plan::{LowerBound, ScaleUpOptions, ScaleUpPlan};

/// Plans new capacity for the snapshot's pending pods. Deterministic: the same snapshot (in any
/// order of nodes and pods) and options give the same plan.
pub fn plan_scale_up(snapshot: &ClusterSnapshot, opts: &ScaleUpOptions) -> ScaleUpPlan {
    let _ = (snapshot, opts);
    ScaleUpPlan {
        increases: Vec::new(),
        unschedulable: Vec::new(),
        fit_existing: Vec::new(),
        bound: LowerBound::default(),
        work_used: 0,
    }
}
