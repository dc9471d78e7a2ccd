//! Public types of the scale-up planner: options in, plan out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::expander::ExpanderKind;
use super::reason::NoCapacityReason;

/// Default work budget of one plan, in steps (one step is one placement check or one packing
/// move). Large enough that realistic clusters finish the improvement phase.
pub const DEFAULT_WORK_BUDGET: u64 = 2_000_000;

/// What the caller lets the planner do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaleUpOptions {
    /// How to choose among node options that can help.
    pub expander: ExpanderKind,
    /// Seed of the `random` expander (ChaCha8).
    pub seed: u64,
    /// Steps the planner may spend improving packings and evaluating options.
    pub work_budget: u64,
    /// Cluster-wide limits, counting existing and in-flight nodes.
    pub limits: ClusterLimits,
    /// Groups that may not grow now, with why (backoff, cooldown...).
    pub blocked_groups: BTreeMap<String, GroupBlock>,
    /// Pods (`namespace/name`) the caller wants ignored, e.g. younger than the new-pod delay.
    pub ignored_pods: BTreeSet<String>,
    /// Fill `ScaleUpPlan::placement_order`, for checks that replay a plan. Off in the loop:
    /// it costs two strings per placed pod that nothing there reads. Not serialized.
    #[serde(skip)]
    pub record_placement_order: bool,
}

impl Default for ScaleUpOptions {
    fn default() -> Self {
        Self {
            expander: ExpanderKind::LeastCost,
            seed: 0,
            work_budget: DEFAULT_WORK_BUDGET,
            limits: ClusterLimits::default(),
            blocked_groups: BTreeMap::new(),
            ignored_pods: BTreeSet::new(),
            record_placement_order: false,
        }
    }
}

/// Cluster-wide limits. `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterLimits {
    /// Total nodes (existing, in-flight and planned).
    pub max_nodes: Option<u32>,
    /// Total vCPUs of those nodes (a group's node counts its size's vCPUs, any other node its
    /// allocatable cpu rounded up).
    pub max_cores: Option<u64>,
    /// Total memory of those nodes in bytes (sizes' RAM, or allocatable for unmanaged nodes).
    pub max_memory_bytes: Option<i64>,
}

/// Why a group may not grow right now.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum GroupBlock {
    /// A recent scale-up of the group failed; it is retried after `until_ms`.
    #[serde(rename_all = "camelCase")]
    Backoff { until_ms: i64 },
    /// The group is being created in VPSie and cannot take workers yet.
    Creating,
    /// The group scaled recently and waits out its cooldown until `until_ms`.
    #[serde(rename_all = "camelCase")]
    Cooldown { until_ms: i64 },
    /// Any other reason, rendered verbatim.
    Other { why: String },
}

impl fmt::Display for GroupBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Backoff { .. } => f.write_str("is backing off after a failed scale-up"),
            Self::Creating => f.write_str("is still being created"),
            Self::Cooldown { .. } => f.write_str("is in its scale-up cooldown"),
            Self::Other { why } => write!(f, "is blocked: {why}"),
        }
    }
}

/// The planner's decision for the pending pods.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleUpPlan {
    /// Groups to grow, sorted by group name.
    pub increases: Vec<GroupIncrease>,
    /// Pending pods that get no capacity, with why; sorted by pod key.
    pub unschedulable: Vec<PodVerdict>,
    /// Pending pods that existing or in-flight capacity already takes; sorted.
    pub fit_existing: Vec<String>,
    /// Lower bound on the new capacity the helped pods need, and how far the plan is from it.
    pub bound: LowerBound,
    /// Work steps spent.
    pub work_used: u64,
    /// Every pod the plan places, with its node, in the order the planner placed them: on
    /// existing or in-flight nodes (by name, as in `fit_existing`) or on new ones (by the
    /// planner's working name; `increases` lists them). Constraints checked against the pods
    /// placed so far, such as a spread or the first pod of a self-affine group, hold when the
    /// pods are replayed in this order. Empty unless `ScaleUpOptions::record_placement_order`
    /// asks for it. Not serialized: it serves checks in process.
    #[serde(skip)]
    pub placement_order: Vec<(String, String)>,
}

/// Nodes to add to one group (or to a group of a size not used yet).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupIncrease {
    pub group: String,
    /// Size name in the catalogue.
    pub size: String,
    /// The group does not exist yet: its size is not used by any group and it must be created.
    pub new_group: bool,
    pub zone: Option<String>,
    /// Nodes to add.
    pub count: u32,
    /// Hourly cost of the added nodes (count × size price).
    pub hourly_cost: f64,
    /// Pod keys per new node, the assignment that justifies `count`.
    pub nodes: Vec<Vec<String>>,
}

/// A pending pod the plan cannot help, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodVerdict {
    /// `namespace/name`.
    pub pod: String,
    pub reason: NoCapacityReason,
}

/// Lower bound on what the pods the plan helps need, and the plan/bound ratios.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LowerBound {
    /// No plan helping the same pods uses fewer new nodes.
    pub nodes: u32,
    /// No plan helping the same pods costs less per hour.
    pub cost_per_hour: f64,
    /// Planned nodes / `nodes`; `None` when the bound is zero.
    pub node_ratio: Option<f64>,
    /// Planned hourly cost / `cost_per_hour`; `None` when the bound is zero.
    pub cost_ratio: Option<f64>,
}

impl ScaleUpPlan {
    /// Total nodes the plan adds.
    pub fn node_count(&self) -> u32 {
        self.increases.iter().map(|i| i.count).sum()
    }

    /// Total hourly cost of the added nodes.
    pub fn hourly_cost(&self) -> f64 {
        self.increases.iter().map(|i| i.hourly_cost).sum()
    }
}
