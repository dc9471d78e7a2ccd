//! Public types of the scale-down planner: options, the plan, and the reasons a node stays.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::consolidation::ConsolidationPolicy;

/// Default scale-down utilization threshold (requested / allocatable, cpu and memory).
pub const DEFAULT_UTILIZATION_THRESHOLD: f64 = 0.5;
/// Default number of empty nodes removed in one decision.
pub const DEFAULT_MAX_EMPTY_BULK: u32 = 10;
/// Default number of nodes removed in one decision (Cluster Autoscaler's
/// `--max-scale-down-parallelism`).
pub const DEFAULT_MAX_NODES: u32 = 10;

/// Knobs of one scale-down decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleDownOptions {
    /// A node is a candidate when both its requested cpu and memory, relative to allocatable,
    /// are below this fraction (0..1). A group's `scale_down_utilization_threshold` overrides it.
    pub utilization_threshold: f64,
    /// At most this many empty nodes (only DaemonSet and mirror pods) go in one decision.
    pub max_empty_bulk: u32,
    /// At most this many nodes (empty or not) go in one decision; the loop may take a prefix.
    pub max_nodes: u32,
    /// Replacing several under-used nodes by fewer or cheaper ones.
    pub consolidation: ConsolidationPolicy,
    /// Nodes that must stay now, with why (grace period after scale-up, being provisioned...).
    pub protected_nodes: BTreeMap<String, String>,
}

impl Default for ScaleDownOptions {
    fn default() -> Self {
        Self {
            utilization_threshold: DEFAULT_UTILIZATION_THRESHOLD,
            max_empty_bulk: DEFAULT_MAX_EMPTY_BULK,
            max_nodes: DEFAULT_MAX_NODES,
            consolidation: ConsolidationPolicy::default(),
            protected_nodes: BTreeMap::new(),
        }
    }
}

/// What one decision removes, replaces, and keeps (with why).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScaleDownPlan {
    /// Ordered; every prefix is itself safe: the pods of `removals[..=i]` all fit, at their
    /// stated destinations, on nodes that no prefix removes, within every PDB's budget.
    pub removals: Vec<NodeRemoval>,
    /// N-to-M consolidation, planned on top of every removal above.
    pub replacements: Vec<Replacement>,
    /// Every node that stays, with the reason (sorted by node name).
    pub kept: Vec<NodeVerdict>,
    /// Budget of every PDB that this decision touches (sorted by namespace/name).
    pub pdb_budgets: Vec<PdbBudget>,
}

/// Why a node is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalKind {
    /// Only DaemonSet and mirror pods run there.
    Empty,
    /// Requests below the utilization threshold and every pod fits elsewhere.
    Underutilized,
    /// Above the threshold, but its pods fit elsewhere and the saving is worth the disruption.
    Consolidated,
}

impl RemovalKind {
    pub fn code(&self) -> &'static str {
        match self {
            RemovalKind::Empty => "empty",
            RemovalKind::Underutilized => "underutilized",
            RemovalKind::Consolidated => "consolidated",
        }
    }
}

/// One node the decision removes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeRemoval {
    pub node: String,
    pub group: String,
    /// No pod to evict (only DaemonSet and mirror pods).
    pub empty: bool,
    pub kind: RemovalKind,
    /// Every pod evicted from the node and where it goes, in the order the planner placed them
    /// (largest request first, ties by pod key); binding them in this order reproduces the plan.
    pub evictions: Vec<Eviction>,
    /// Price of the node per hour.
    pub hourly_saving: f64,
    /// Requested cpu and memory fractions of allocatable before the decision.
    pub cpu_utilization: f64,
    pub memory_utilization: f64,
}

/// A pod evicted from a removed node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Eviction {
    /// `namespace/name`.
    pub pod: String,
    /// The node the pod is re-placed on (a node that stays, or `new:<group>#<n>` for a node a
    /// replacement adds).
    pub destination: String,
    /// PDBs (`namespace/name`) whose budget this eviction consumes, one disruption each.
    pub pdbs: Vec<String>,
}

/// New nodes a replacement adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewNodes {
    pub group: String,
    pub size: String,
    /// The size is not used by any group yet: the group must be created first.
    pub new_group: bool,
    pub count: u32,
    pub hourly_price: f64,
}

/// N-to-M consolidation: add `add`, then drain and remove `remove`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replacement {
    /// Nodes removed (sorted by name).
    pub remove: Vec<String>,
    pub add: Vec<NewNodes>,
    /// Every pod evicted from the removed nodes and where it goes, in placement order.
    pub evictions: Vec<Eviction>,
    /// Price per hour of the removed nodes minus that of the added ones.
    pub hourly_saving: f64,
    /// Saving as a fraction of the cluster's hourly cost.
    pub savings_fraction: f64,
    /// Priority-weighted evicted pods as a fraction of all pods.
    pub disruption_fraction: f64,
}

/// How much of a PDB's budget the decision consumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PdbBudget {
    /// `namespace/name`.
    pub pdb: String,
    /// Disruptions allowed now (observed status, or computed from the spec).
    pub allowed: i32,
    /// Disruptions this decision's removals consume (never above `allowed`).
    pub consumed: i32,
}

/// A node that stays, with why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeVerdict {
    pub node: String,
    pub reason: KeepReason,
}

/// Why a pod prevents its node's removal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum PodBlock {
    /// The pod has no controller: nothing would re-create it.
    BarePod,
    /// The pod uses node-local storage that eviction would lose.
    LocalStorage { volume: String },
    /// A kube-system pod that no PDB covers.
    KubeSystemWithoutPdb,
    /// Annotated `cluster-autoscaler.kubernetes.io/safe-to-evict: "false"`.
    NotSafeToEvict,
    /// A PDB covering the pod has no disruption left (`used` already by this decision).
    PdbExhausted {
        pdb: String,
        allowed: i32,
        used: i32,
    },
    /// No node that stays can take the pod under its constraints.
    NoPlace { unfit: String, detail: String },
}

impl PodBlock {
    pub fn code(&self) -> &'static str {
        match self {
            PodBlock::BarePod => "bare_pod",
            PodBlock::LocalStorage { .. } => "local_storage",
            PodBlock::KubeSystemWithoutPdb => "kube_system_without_pdb",
            PodBlock::NotSafeToEvict => "not_safe_to_evict",
            PodBlock::PdbExhausted { .. } => "pdb_exhausted",
            PodBlock::NoPlace { .. } => "no_place_for_pod",
        }
    }
}

impl fmt::Display for PodBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PodBlock::BarePod => f.write_str("it has no controller, so nothing would re-create it"),
            PodBlock::LocalStorage { volume } => write!(
                f,
                "it uses local storage (volume {volume}) and is not annotated safe-to-evict"
            ),
            PodBlock::KubeSystemWithoutPdb => {
                f.write_str("it runs in kube-system and no PodDisruptionBudget covers it")
            }
            PodBlock::NotSafeToEvict => f.write_str("it is annotated safe-to-evict=false"),
            PodBlock::PdbExhausted { pdb, allowed, used } if *used == 0 => write!(
                f,
                "PodDisruptionBudget {pdb} allows {allowed} disruption(s) now"
            ),
            PodBlock::PdbExhausted { pdb, allowed, used } => write!(
                f,
                "PodDisruptionBudget {pdb} allows {allowed} disruption(s) and this decision already uses {used}"
            ),
            PodBlock::NoPlace { detail, .. } => {
                write!(f, "no node that stays can take it ({detail})")
            }
        }
    }
}

/// Why a node stays.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum KeepReason {
    /// The node belongs to no node group the autoscaler manages.
    NotManaged,
    /// Opted out by the `scale-down-disabled` label or annotation.
    ScaleDownDisabled,
    /// The loop protects the node (grace period after scale-up, in progress...).
    Protected { why: String },
    /// Cordoned by someone else: the autoscaler leaves it alone.
    Cordoned,
    /// Requested cpu or memory is at or above the threshold.
    NotUnderutilized {
        cpu: f64,
        memory: f64,
        threshold: f64,
    },
    /// Removing it would take its group below its minimum size.
    GroupAtMin { group: String, min: u32 },
    /// A pod on it blocks removal.
    PodBlocks { pod: String, block: PodBlock },
    /// Pods of nodes removed in this decision were placed on it.
    Destination,
    /// Removable, but the decision already removes as many nodes as allowed.
    ParallelismLimit { limit: u32 },
    /// Empty, but the decision already removes as many empty nodes as allowed.
    EmptyBulkLimit { limit: u32 },
    /// Its pods fit elsewhere, but the saving is not worth the disruption.
    NotWorthDisruption {
        savings_fraction: f64,
        disruption_fraction: f64,
    },
}

impl KeepReason {
    /// Stable snake_case code (metrics labels, events). A blocking pod gives its rule's code.
    pub fn code(&self) -> &'static str {
        match self {
            KeepReason::NotManaged => "not_managed",
            KeepReason::ScaleDownDisabled => "scale_down_disabled",
            KeepReason::Protected { .. } => "protected",
            KeepReason::Cordoned => "cordoned",
            KeepReason::NotUnderutilized { .. } => "not_underutilized",
            KeepReason::GroupAtMin { .. } => "group_at_min",
            KeepReason::PodBlocks { block, .. } => block.code(),
            KeepReason::Destination => "destination",
            KeepReason::ParallelismLimit { .. } => "parallelism_limit",
            KeepReason::EmptyBulkLimit { .. } => "empty_bulk_limit",
            KeepReason::NotWorthDisruption { .. } => "not_worth_disruption",
        }
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeepReason::NotManaged => f.write_str("the node belongs to no managed node group"),
            KeepReason::ScaleDownDisabled => {
                f.write_str("the node opts out of scale-down (scale-down-disabled)")
            }
            KeepReason::Protected { why } => write!(f, "the node is protected: {why}"),
            KeepReason::Cordoned => {
                f.write_str("the node is cordoned by someone else and is left alone")
            }
            KeepReason::NotUnderutilized {
                cpu,
                memory,
                threshold,
            } => write!(
                f,
                "requests are cpu {} and memory {} of allocatable, not both below {}",
                pct(*cpu),
                pct(*memory),
                pct(*threshold)
            ),
            KeepReason::GroupAtMin { group, min } => write!(
                f,
                "removing it would take group {group} below its minimum of {min}"
            ),
            KeepReason::PodBlocks { pod, block } => write!(f, "pod {pod} blocks removal: {block}"),
            KeepReason::Destination => {
                f.write_str("pods of nodes removed in this decision go there")
            }
            KeepReason::ParallelismLimit { limit } => write!(
                f,
                "removable, but this decision already removes {limit} node(s), the limit"
            ),
            KeepReason::EmptyBulkLimit { limit } => write!(
                f,
                "empty, but this decision already removes {limit} empty node(s), the limit"
            ),
            KeepReason::NotWorthDisruption {
                savings_fraction,
                disruption_fraction,
            } => write!(
                f,
                "its pods fit elsewhere, but saving {} of the cost is not worth disrupting {} of the pods",
                pct(*savings_fraction),
                pct(*disruption_fraction)
            ),
        }
    }
}
