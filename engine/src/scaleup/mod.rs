//! Scale-up planning: which node groups to grow, by how many nodes, for which pending pods.

pub mod bound;
mod classes;
pub mod expander;
pub mod options;
pub mod packing;
pub mod plan;
mod planner;
pub mod reason;
mod render;

pub use expander::{Candidate, ExpanderKind, UnknownExpander};
pub use options::{CandidateGroup, candidate_groups, new_group_name};
pub use plan::{
    ClusterLimits, DEFAULT_WORK_BUDGET, GroupBlock, GroupIncrease, LowerBound, PodVerdict,
    ScaleUpOptions, ScaleUpPlan,
};
pub use planner::plan_scale_up;
pub use reason::NoCapacityReason;
