//! Scale-up planning: which node groups to grow, by how many nodes, for which pending pods.

pub mod expander;
pub mod plan;
mod planner;
pub mod reason;

pub use expander::{Candidate, ExpanderKind, UnknownExpander};
pub use plan::{
    ClusterLimits, DEFAULT_WORK_BUDGET, GroupBlock, GroupIncrease, LowerBound, PodVerdict,
    ScaleUpOptions, ScaleUpPlan,
};
pub use planner::plan_scale_up;
pub use reason::NoCapacityReason;
