//! The scenario document: cluster, cloud, faults, workload, autoscaler configuration, seed.
//!
//! One set of serde types is both the file format (JSON or YAML, camelCase) and what the
//! simulator reads. `deny_unknown_fields` everywhere so a misspelt key is an error, not a
//! silently ignored setting.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vpsie_engine::model::pod::Affinity;
use vpsie_engine::model::{
    DaemonSet, Node, NodeGroup, PodDisruptionBudget, Resources, Toleration,
    TopologySpreadConstraint, Volume, VpsieSize,
};

use super::duration::SimDuration;

/// The only scenario format version this build reads.
pub const SCENARIO_VERSION: u32 = 1;

/// A complete, reproducible simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Format version; must be 1.
    pub version: u32,
    /// Short identifier used in reports.
    pub name: String,
    /// What the scenario exercises and what a good outcome looks like.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Seed of the simulation's random number generator (ChaCha8). `--seed` overrides it.
    #[serde(default)]
    pub seed: u64,
    /// Simulated time to run.
    pub duration: SimDuration,
    /// Interval between timeline samples (default 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_interval: Option<SimDuration>,
    pub cluster: ClusterSpec,
    #[serde(default)]
    pub cloud: CloudSpec,
    /// Faults injected into the simulated cloud at given times.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    #[serde(default)]
    pub workload: Workload,
    /// The autoscaler configuration: the same file format the live runtime reads.
    #[serde(default)]
    pub autoscaler: AutoscalerSource,
}

/// The cluster at time zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    /// Cluster name at VPSie (worker hostnames derive from it).
    #[serde(default = "default_cluster_name")]
    pub name: String,
    /// The VPSie size catalogue; empty means the built-in example catalogue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sizes: Vec<VpsieSize>,
    pub node_groups: Vec<NodeGroup>,
    /// Ready workers per group at time zero (they are billed from time zero).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub initial_nodes: BTreeMap<String, u32>,
    /// Nodes the autoscaler does not manage (control plane, pre-existing machines).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_nodes: Vec<Node>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub daemon_sets: Vec<DaemonSet>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pdbs: Vec<PodDisruptionBudget>,
    /// Reservation subtracted from every worker's capacity (kubelet, system daemons).
    #[serde(default, skip_serializing_if = "Resources::is_zero")]
    pub system_reserved: Resources,
    /// Zones new groups may be created in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
}

fn default_cluster_name() -> String {
    "SIM-Kubernetes-0001".to_string()
}

/// A random delay: a fixed value, a uniform range, or an exponential with a mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DelaySpec {
    /// Always this long.
    Fixed(SimDuration),
    /// Normal with this mean and standard deviation, clamped to `[min, max]`.
    #[serde(rename_all = "camelCase")]
    Normal {
        mean: SimDuration,
        std_dev: SimDuration,
        min: SimDuration,
        max: SimDuration,
    },
    /// Uniform between `min` and `max`.
    Uniform { min: SimDuration, max: SimDuration },
    /// Exponential with this mean.
    Exponential { mean: SimDuration },
}

impl DelaySpec {
    pub fn uniform_secs(min: i64, max: i64) -> Self {
        DelaySpec::Uniform {
            min: SimDuration::from_secs(min),
            max: SimDuration::from_secs(max),
        }
    }
}

/// Behaviour of the simulated VPSie cloud (`vpsie-api.md` §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloudSpec {
    /// Maximum workers in the cluster; an add beyond it fails at once.
    #[serde(default = "default_worker_limit")]
    pub worker_limit: u32,
    /// Accepted add → the worker is listed as provisioning.
    #[serde(default = "default_create_delay")]
    pub create_delay: DelaySpec,
    /// Provisioning → running (the kubelet registers a NotReady Node).
    #[serde(default = "default_boot_delay")]
    pub boot_delay: DelaySpec,
    /// Running → the Node is Ready.
    #[serde(default = "default_ready_delay")]
    pub ready_delay: DelaySpec,
    /// Delete accepted → the worker is gone.
    #[serde(default = "default_delete_delay")]
    pub delete_delay: DelaySpec,
    /// Billing granularity: `perHour` (default: every started hour is billed, as VPSie
    /// does), `perMinute` or `perSecond`.
    #[serde(default)]
    pub billing: crate::cloud::BillingGranularity,
}

fn default_worker_limit() -> u32 {
    100
}
fn default_create_delay() -> DelaySpec {
    DelaySpec::uniform_secs(60, 120)
}
fn default_boot_delay() -> DelaySpec {
    DelaySpec::uniform_secs(30, 90)
}
fn default_ready_delay() -> DelaySpec {
    DelaySpec::uniform_secs(10, 60)
}
fn default_delete_delay() -> DelaySpec {
    DelaySpec::uniform_secs(20, 60)
}

impl Default for CloudSpec {
    fn default() -> Self {
        Self {
            worker_limit: default_worker_limit(),
            create_delay: default_create_delay(),
            boot_delay: default_boot_delay(),
            ready_delay: default_ready_delay(),
            delete_delay: default_delete_delay(),
            billing: crate::cloud::BillingGranularity::default(),
        }
    }
}

/// A fault active from `at` until `until` (or a one-off event at `at`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    pub at: SimDuration,
    /// End of a window fault; absent means until the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<SimDuration>,
    pub kind: FaultKind,
    /// Probability that one API call or add is affected (window faults).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub probability: f64,
    /// Size name (stock-out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// How many workers die, one every `delay` (node death; default one).
    #[serde(default = "one_u32", skip_serializing_if = "is_one_u32")]
    pub count: u32,
    /// Extra delay of a late materialisation (default 20m, past the provision timeout), or the
    /// interval between node deaths (default 10m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<SimDuration>,
}

fn one() -> f64 {
    1.0
}
fn is_one(p: &f64) -> bool {
    *p == 1.0
}
fn one_u32() -> u32 {
    1
}
fn is_one_u32(n: &u32) -> bool {
    *n == 1
}

/// What goes wrong.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// API calls (add, delete, create group) fail with HTTP 500.
    ServerErrors,
    /// API calls fail with HTTP 429.
    RateLimited,
    /// Adds are accepted but the worker never materialises.
    LostAdds,
    /// Adds materialise only after `delay` on top of the normal delays.
    LateAdds,
    /// Deletes fail with HTTP 500.
    FailedDeletes,
    /// Adds to groups of `size` fail (no stock) while the window lasts.
    StockOut,
    /// `count` running workers, drawn at random, die from `at` on (their Nodes go NotReady).
    NodeDeath,
}

/// A pod specification for arrivals (named templates, inline templates of controllers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodTemplate {
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Effective requests of the pod (one container).
    #[serde(default, skip_serializing_if = "Resources::is_zero")]
    pub requests: Resources,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Affinity::is_empty")]
    pub affinity: Affinity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    #[serde(default)]
    pub priority: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// Time an evicted pod takes to exit (default 30s, Kubernetes' default grace period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period: Option<SimDuration>,
    /// Host ports the pod binds (TCP).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_ports: Vec<u16>,
}

fn default_namespace() -> String {
    "default".to_string()
}

/// Everything that arrives, changes and leaves during the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workload {
    /// Named pod templates the entries below refer to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, PodTemplate>,
    /// Individual pods (bare pods, or `owner` set to a Job-like controller).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<PodArrival>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<DeploymentSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generators: Vec<GeneratorSpec>,
}

/// One or more identical pods arriving at `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodArrival {
    pub name: String,
    pub at: SimDuration,
    /// Run time once bound; absent means it runs until the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<SimDuration>,
    /// Copies (named `<name>-<i>` when more than one).
    #[serde(default = "one_u32", skip_serializing_if = "is_one_u32")]
    pub count: u32,
    /// Controller kind that owns the pod (`Job` makes it evictable); absent means a bare pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_kind: Option<String>,
    /// Name of an entry of `workload.templates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Requests overriding the template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Resources>,
}

/// Replicas from a point in time on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplicaStep {
    pub at: SimDuration,
    pub replicas: u32,
}

/// A Deployment: long-running replicas whose count follows a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentSpec {
    pub name: String,
    /// Replica count over time (steps, sorted by `at`; the count before the first step is 0).
    pub replicas: Vec<ReplicaStep>,
    /// Name of an entry of `workload.templates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Requests overriding the template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Resources>,
    /// A PDB over the deployment's pods (label `app=<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdb: Option<PdbSpec>,
}

/// minAvailable or maxUnavailable of a generated PDB (an integer or "50%").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PdbSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<vpsie_engine::model::snapshot::IntOrPercent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<vpsie_engine::model::snapshot::IntOrPercent>,
}

/// A Job: `completions` pods of `duration`, at most `parallelism` at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobSpec {
    pub name: String,
    pub at: SimDuration,
    pub completions: u32,
    #[serde(default = "one_u32")]
    pub parallelism: u32,
    /// Run time of each pod.
    pub duration: DelaySpec,
    /// Name of an entry of `workload.templates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Requests overriding the template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Resources>,
}

/// Random arrivals of pods that run for a random time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GeneratorSpec {
    /// Prefix of generated pod names.
    pub name: String,
    pub shape: ArrivalShape,
    /// Lifetime of each pod once bound.
    pub lifetime: DelaySpec,
    /// First arrival time (default 0).
    #[serde(default)]
    pub from: SimDuration,
    /// No arrival after this (default: end of run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<SimDuration>,
    /// Owner kind of generated pods (default `Job`, evictable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_kind: Option<String>,
    /// Name of an entry of `workload.templates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Requests overriding the template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Resources>,
}

/// How arrivals are spread over time (Poisson process with a rate that may vary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "type", deny_unknown_fields)]
pub enum ArrivalShape {
    /// A constant rate.
    Constant { per_hour: f64 },
    /// A daily sine wave: `mean × (1 + amplitude × cos(2π (t − peakAt) / period))`.
    #[serde(rename_all = "camelCase")]
    Diurnal {
        mean_per_hour: f64,
        /// 0..1.
        amplitude: f64,
        /// Time of day of the peak (default 14h).
        #[serde(default = "default_peak")]
        peak_at: SimDuration,
        /// Period of the wave (default 24h).
        #[serde(default = "default_period")]
        period: SimDuration,
    },
    /// `count` pods arriving uniformly within `spread` after `from`.
    Burst {
        count: u32,
        #[serde(default)]
        spread: SimDuration,
    },
    /// A rate moving linearly from `startPerHour` at `from` to `endPerHour` at `until`.
    #[serde(rename_all = "camelCase")]
    Ramp {
        start_per_hour: f64,
        end_per_hour: f64,
    },
}

fn default_peak() -> SimDuration {
    SimDuration::from_secs(14 * 3600)
}
fn default_period() -> SimDuration {
    SimDuration::from_secs(24 * 3600)
}

/// The autoscaler configuration, inline or in a file of the runtime's format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoscalerSource {
    /// Path of a configuration file (JSON or YAML), relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The configuration inline (the same fields as the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
}
