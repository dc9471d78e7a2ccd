//! The autoscaler's configuration: one documented struct, loaded from the same JSON or YAML file
//! by the simulator and the live runtime, so a configuration tuned in simulation deploys as is.
//!
//! Every knob has a default (`AutoscalerConfig::default()`), an entry in
//! `docs/configuration.md`, and a check in [`AutoscalerConfig::validate`]. Durations are strings
//! (`"10m"`), held as integer milliseconds. Unknown fields are rejected, so a typo is an error
//! naming the file, line and field rather than a silently ignored setting.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::duration::DurationMs;
use super::planners;
use crate::model::load::{MAX_NESTING, clip, yaml_flow_nesting_beyond};
use crate::model::quantity::{format_bytes, parse_units};

/// Everything the loop can be told. Field docs state the default and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AutoscalerConfig {
    /// How often the shell runs one loop step (default `10s`, as Cluster Autoscaler).
    pub scan_interval: DurationMs,
    /// Decide and explain, but act on nothing (default `false`). The loop still returns its
    /// actions; shells must not carry them out.
    pub dry_run: bool,
    /// Scale-up knobs.
    pub scale_up: ScaleUpConfig,
    /// Scale-down knobs.
    pub scale_down: ScaleDownConfig,
    /// Consolidation (replacing several nodes by fewer or cheaper ones) and its anti-flap rules.
    pub consolidation: ConsolidationConfig,
    /// Cluster-wide limits; absent means unlimited.
    pub limits: LimitsConfig,
    /// Exponential backoff of a node group whose scale-up failed.
    pub backoff: BackoffConfig,
    /// The cluster-health brake on scale-down.
    pub health: HealthConfig,
    /// VPSieNode lifecycle timers.
    pub lifecycle: LifecycleConfig,
    /// Per-node-group overrides, by group name.
    pub node_groups: BTreeMap<String, GroupOverrides>,
}

/// Scale-up knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ScaleUpConfig {
    /// `least-cost` (default), `least-waste`, `most-pods`, `priority` or `random`.
    pub expander: String,
    /// Seed of the `random` expander (default 0).
    pub expander_seed: u64,
    /// Work steps one scale-up plan may spend (default 2,000,000); counted, never timed.
    pub work_budget: u64,
    /// Pods younger than this are not scaled up for yet (default `0s`): a short delay lets the
    /// scheduler place bursts on existing capacity first.
    pub new_pod_delay: DurationMs,
    /// At most this many workers being provisioned at once (default 20), across all groups.
    pub max_concurrent: u32,
}

/// Scale-down knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ScaleDownConfig {
    /// Scale down at all (default `true`).
    pub enabled: bool,
    /// A node must be unneeded this long before it is removed (default `10m`).
    pub unneeded_time: DurationMs,
    /// No scale-down this long after a scale-up (default `10m`): new nodes need time to fill.
    pub delay_after_add: DurationMs,
    /// No scale-down this long after a node was deleted (default `0s`).
    pub delay_after_delete: DurationMs,
    /// No scale-down this long after a failed scale-down (default `3m`).
    pub delay_after_failure: DurationMs,
    /// Requested cpu and memory below this fraction of allocatable make a node a candidate
    /// (default 0.5). Must be within 0..1.
    pub utilization_threshold: f64,
    /// Empty nodes removed in one step (default 10).
    pub max_empty_bulk_delete: u32,
    /// Nodes being removed at once (default 10), counting removals already in progress.
    pub max_parallelism: u32,
    /// Non-empty nodes being drained at once (default 1).
    pub max_drain_parallelism: u32,
    /// A drain that has not finished after this long is abandoned: the node is uncordoned and
    /// backs off (default `20m`); the shell's own eviction timeout should be shorter.
    pub max_drain_time: DurationMs,
    /// A node whose drain failed is not tried again for this long (default `5m`).
    pub drain_failure_backoff: DurationMs,
    /// A node added for pending pods is not removed or consolidated before it has been Ready
    /// this long (default `10m`): the anti-flap grace period.
    pub new_node_grace_period: DurationMs,
}

/// Consolidation knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ConsolidationConfig {
    /// Replace nodes by fewer or cheaper ones (default `true`).
    pub enabled: bool,
    /// Within this window after a replacement, its new nodes are not replaced and no
    /// replacement adds nodes to a group it removed nodes from (default `1h`).
    pub window: DurationMs,
    /// Savings-versus-disruption rule: a replacement goes ahead when
    /// `savings_fraction >= disruption_fraction / balance` (default 2, Karpenter's "Balanced").
    pub balance: f64,
    /// Minimum hourly saving (USD) of one replacement (default 0.0).
    pub min_hourly_saving: f64,
}

/// Cluster-wide limits. `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Total nodes, counting nodes being provisioned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_nodes_total: Option<u32>,
    /// Total vCPUs of those nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_total_cores: Option<u64>,
    /// Total memory of those nodes, a Kubernetes quantity (`"512Gi"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_total_memory: Option<MemoryBytes>,
}

/// Group backoff after a failed scale-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct BackoffConfig {
    /// First backoff (default `5m`); each further failure doubles it.
    pub initial: DurationMs,
    /// Longest backoff (default `30m`).
    pub max: DurationMs,
    /// The failure count resets after this long without a failure (default `3h`).
    pub reset_after: DurationMs,
}

/// Cluster-health brake: scale-down stops while too many nodes are not ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct HealthConfig {
    /// Brake when more than this percentage of nodes is not ready (default 45).
    pub max_unready_percentage: f64,
    /// Brake when more than this many nodes are not ready (default 3).
    pub max_unready_nodes: u32,
}

/// VPSieNode lifecycle timers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LifecycleConfig {
    /// A requested worker that is not a Ready node after this long is given up (default `15m`).
    pub max_node_provision_time: DurationMs,
    /// Failed VPSieNode records are forgotten this long after they failed (default `1h`), once
    /// their worker is known to be gone.
    pub failed_node_ttl: DurationMs,
    /// Idempotent actions that got no visible effect (label, delete worker) are re-issued after
    /// this long (default `1m`).
    pub action_retry_interval: DurationMs,
    /// A worker whose Node was Ready and has since been NotReady (or missing while VPSie still
    /// lists the worker) this long is treated as dead: its record fails, the worker and its
    /// Node are deleted, and scale-up replaces the capacity (default `15m`, Cluster
    /// Autoscaler's max provision time: longer than a reboot, a kubelet restart and
    /// Kubernetes' 5-minute taint-based eviction, so a node that recovers is kept).
    pub unready_node_timeout: DurationMs,
}

/// Per-group overrides; absent fields take the global value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct GroupOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_down_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unneeded_time: Option<DurationMs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization_threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_node_provision_time: Option<DurationMs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_node_grace_period: Option<DurationMs>,
}

/// A memory amount: a Kubernetes quantity string in files (`"512Gi"`), bytes inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemoryBytes(pub i64);

impl Serialize for MemoryBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_bytes(self.0))
    }
}

impl<'de> Deserialize<'de> for MemoryBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = MemoryBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a memory quantity such as \"512Gi\" or a number of bytes")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MemoryBytes, E> {
                parse_units(v).map(MemoryBytes).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<MemoryBytes, E> {
                i64::try_from(v)
                    .map(MemoryBytes)
                    .map_err(|_| E::custom(format!("memory {v} is too large")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<MemoryBytes, E> {
                if v < 0 {
                    Err(E::custom(format!("memory {v} is negative")))
                } else {
                    Ok(MemoryBytes(v))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for MemoryBytes {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MemoryQuantity".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "integer"],
            "description": "A Kubernetes memory quantity such as \"512Gi\", or bytes."
        })
    }
}

impl Default for AutoscalerConfig {
    fn default() -> Self {
        Self {
            scan_interval: DurationMs::from_secs(10),
            dry_run: false,
            scale_up: ScaleUpConfig::default(),
            scale_down: ScaleDownConfig::default(),
            consolidation: ConsolidationConfig::default(),
            limits: LimitsConfig::default(),
            backoff: BackoffConfig::default(),
            health: HealthConfig::default(),
            lifecycle: LifecycleConfig::default(),
            node_groups: BTreeMap::new(),
        }
    }
}

impl Default for ScaleUpConfig {
    fn default() -> Self {
        Self {
            expander: "least-cost".to_string(),
            expander_seed: 0,
            work_budget: 2_000_000,
            new_pod_delay: DurationMs::ZERO,
            max_concurrent: 20,
        }
    }
}

impl Default for ScaleDownConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            unneeded_time: DurationMs::from_mins(10),
            delay_after_add: DurationMs::from_mins(10),
            delay_after_delete: DurationMs::ZERO,
            delay_after_failure: DurationMs::from_mins(3),
            utilization_threshold: 0.5,
            max_empty_bulk_delete: 10,
            max_parallelism: 10,
            max_drain_parallelism: 1,
            max_drain_time: DurationMs::from_mins(20),
            drain_failure_backoff: DurationMs::from_mins(5),
            new_node_grace_period: DurationMs::from_mins(10),
        }
    }
}

impl Default for ConsolidationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window: DurationMs::from_hours(1),
            balance: 2.0,
            min_hourly_saving: 0.0,
        }
    }
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial: DurationMs::from_mins(5),
            max: DurationMs::from_mins(30),
            reset_after: DurationMs::from_hours(3),
        }
    }
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            max_unready_percentage: 45.0,
            max_unready_nodes: 3,
        }
    }
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            max_node_provision_time: DurationMs::from_mins(15),
            failed_node_ttl: DurationMs::from_hours(1),
            action_retry_interval: DurationMs::from_mins(1),
            unready_node_timeout: DurationMs::from_mins(15),
        }
    }
}

/// Why a configuration was rejected: where (file, line, field) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not valid JSON/YAML for the configuration (syntax, unknown field, bad value).
    #[error("{source_name}{}: field `{field}`: {message}", at_line(*line, *column))]
    Parse {
        source_name: String,
        line: Option<usize>,
        column: Option<usize>,
        field: String,
        message: String,
    },
    /// The configuration parsed but a value is out of range or inconsistent.
    #[error("{}{}: field `{field}`: {message}", source_name.as_deref().unwrap_or("configuration"), at_line(*line, None))]
    Invalid {
        source_name: Option<String>,
        line: Option<usize>,
        field: String,
        message: String,
    },
}

impl ConfigError {
    /// The dotted camelCase path of the offending field.
    pub fn field(&self) -> &str {
        match self {
            ConfigError::Parse { field, .. } | ConfigError::Invalid { field, .. } => field,
        }
    }

    /// Stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ConfigError::Parse { .. } => "parse",
            ConfigError::Invalid { .. } => "invalid",
        }
    }
}

fn at_line(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        source_name: None,
        line: None,
        field: field.into(),
        message: message.into(),
    }
}

fn check_fraction(field: &str, value: f64) -> Result<(), ConfigError> {
    if !(0.0..=1.0).contains(&value) || value.is_nan() {
        return Err(invalid(
            field,
            format!("{value} is outside 0..1 (a fraction of allocatable, e.g. 0.5)"),
        ));
    }
    Ok(())
}

fn check_non_negative(field: &str, d: DurationMs) -> Result<(), ConfigError> {
    if d.ms() < 0 {
        return Err(invalid(
            field,
            format!("duration {d} is negative; durations must be zero or more"),
        ));
    }
    Ok(())
}

fn check_positive(field: &str, d: DurationMs) -> Result<(), ConfigError> {
    check_non_negative(field, d)?;
    if d.ms() == 0 {
        return Err(invalid(field, "must be longer than 0s"));
    }
    Ok(())
}

impl AutoscalerConfig {
    /// Parses a JSON or YAML configuration (JSON when the text starts with `{`) and validates
    /// it. `source_name` (usually the file path) is quoted in errors with the line and field.
    /// An empty document gives the defaults.
    pub fn from_text(text: &str, source_name: &str) -> Result<Self, ConfigError> {
        let meaningful = text
            .lines()
            .map(str::trim)
            .any(|l| !l.is_empty() && !l.starts_with('#') && l != "---");
        // The same guards as the snapshot and scenario loaders: hostile nesting is refused before
        // the YAML parser (quadratic in flow depth) sees it, and errors quote at most a few
        // hundred characters of the input.
        let is_json = text.trim_start().starts_with('{');
        if !is_json && let Some(line) = yaml_flow_nesting_beyond(text, MAX_NESTING) {
            return Err(ConfigError::Parse {
                source_name: source_name.to_string(),
                line: Some(line),
                column: None,
                field: String::new(),
                message: format!("collections nested deeper than {MAX_NESTING} levels"),
            });
        }
        let config: Self = if !meaningful {
            Self::default()
        } else if is_json {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let inner = e.inner();
                ConfigError::Parse {
                    source_name: source_name.to_string(),
                    line: Some(inner.line()),
                    column: Some(inner.column()),
                    message: clip(&strip_location(&inner.to_string(), &path_text(e.path()))),
                    field: clip(&path_text(e.path())),
                }
            })?
        } else {
            let de = serde_yaml_ng::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let inner = e.inner();
                let location = inner.location();
                ConfigError::Parse {
                    source_name: source_name.to_string(),
                    line: location.as_ref().map(|l| l.line()),
                    column: location.as_ref().map(|l| l.column()),
                    message: clip(&strip_location(&inner.to_string(), &path_text(e.path()))),
                    field: clip(&path_text(e.path())),
                }
            })?
        };
        config.validate().map_err(|e| match e {
            ConfigError::Invalid { field, message, .. } => ConfigError::Invalid {
                source_name: Some(source_name.to_string()),
                line: find_field_line(text, &field),
                field,
                message: clip(&message),
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Checks ranges and consistency; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_positive("scanInterval", self.scan_interval)?;
        let up = &self.scale_up;
        planners::parse_expander(&up.expander).map_err(|m| invalid("scaleUp.expander", m))?;
        if up.work_budget == 0 {
            return Err(invalid("scaleUp.workBudget", "must be at least 1"));
        }
        check_non_negative("scaleUp.newPodDelay", up.new_pod_delay)?;
        if up.max_concurrent == 0 {
            return Err(invalid(
                "scaleUp.maxConcurrent",
                "must be at least 1, or no node could ever be added",
            ));
        }
        let down = &self.scale_down;
        for (field, d) in [
            ("scaleDown.unneededTime", down.unneeded_time),
            ("scaleDown.delayAfterAdd", down.delay_after_add),
            ("scaleDown.delayAfterDelete", down.delay_after_delete),
            ("scaleDown.delayAfterFailure", down.delay_after_failure),
            ("scaleDown.drainFailureBackoff", down.drain_failure_backoff),
            ("scaleDown.newNodeGracePeriod", down.new_node_grace_period),
        ] {
            check_non_negative(field, d)?;
        }
        check_positive("scaleDown.maxDrainTime", down.max_drain_time)?;
        check_fraction("scaleDown.utilizationThreshold", down.utilization_threshold)?;
        if down.max_parallelism == 0 {
            return Err(invalid(
                "scaleDown.maxParallelism",
                "must be at least 1 (set scaleDown.enabled: false to turn scale-down off)",
            ));
        }
        if down.max_drain_parallelism == 0 {
            return Err(invalid(
                "scaleDown.maxDrainParallelism",
                "must be at least 1",
            ));
        }
        if down.max_drain_parallelism > down.max_parallelism {
            return Err(invalid(
                "scaleDown.maxDrainParallelism",
                format!(
                    "{} is more than scaleDown.maxParallelism ({}); drains are part of removals",
                    down.max_drain_parallelism, down.max_parallelism
                ),
            ));
        }
        let cons = &self.consolidation;
        check_non_negative("consolidation.window", cons.window)?;
        if !(cons.balance.is_finite() && cons.balance > 0.0) {
            return Err(invalid(
                "consolidation.balance",
                format!(
                    "{} must be a positive number (2 is Karpenter's balanced rule)",
                    cons.balance
                ),
            ));
        }
        if !(cons.min_hourly_saving.is_finite() && cons.min_hourly_saving >= 0.0) {
            return Err(invalid(
                "consolidation.minHourlySaving",
                format!("{} must be zero or more", cons.min_hourly_saving),
            ));
        }
        if self.limits.max_nodes_total == Some(0) {
            return Err(invalid(
                "limits.maxNodesTotal",
                "0 allows no node at all; omit the field for no limit",
            ));
        }
        if self.limits.max_total_cores == Some(0) {
            return Err(invalid(
                "limits.maxTotalCores",
                "0 allows no node at all; omit the field for no limit",
            ));
        }
        if self.limits.max_total_memory.is_some_and(|m| m.0 <= 0) {
            return Err(invalid(
                "limits.maxTotalMemory",
                "must be more than 0; omit the field for no limit",
            ));
        }
        let b = &self.backoff;
        check_positive("backoff.initial", b.initial)?;
        check_positive("backoff.max", b.max)?;
        check_non_negative("backoff.resetAfter", b.reset_after)?;
        if b.initial > b.max {
            return Err(invalid(
                "backoff.initial",
                format!("{} is longer than backoff.max ({})", b.initial, b.max),
            ));
        }
        let h = &self.health;
        if !(0.0..=100.0).contains(&h.max_unready_percentage) || h.max_unready_percentage.is_nan() {
            return Err(invalid(
                "health.maxUnreadyPercentage",
                format!("{} is outside 0..100", h.max_unready_percentage),
            ));
        }
        let l = &self.lifecycle;
        check_positive("lifecycle.maxNodeProvisionTime", l.max_node_provision_time)?;
        check_non_negative("lifecycle.failedNodeTtl", l.failed_node_ttl)?;
        check_positive("lifecycle.actionRetryInterval", l.action_retry_interval)?;
        check_positive("lifecycle.unreadyNodeTimeout", l.unready_node_timeout)?;
        for (name, o) in &self.node_groups {
            let f = |k: &str| format!("nodeGroups.{name}.{k}");
            if let Some(d) = o.unneeded_time {
                check_non_negative(&f("unneededTime"), d)?;
            }
            if let Some(t) = o.utilization_threshold {
                check_fraction(&f("utilizationThreshold"), t)?;
            }
            if let Some(d) = o.max_node_provision_time {
                check_positive(&f("maxNodeProvisionTime"), d)?;
            }
            if let Some(d) = o.new_node_grace_period {
                check_non_negative(&f("newNodeGracePeriod"), d)?;
            }
        }
        Ok(())
    }

    /// Unneeded time for a group (override or global).
    pub fn unneeded_time(&self, group: &str) -> DurationMs {
        self.node_groups
            .get(group)
            .and_then(|o| o.unneeded_time)
            .unwrap_or(self.scale_down.unneeded_time)
    }

    /// Max provision time for a group (override or global).
    pub fn max_node_provision_time(&self, group: &str) -> DurationMs {
        self.node_groups
            .get(group)
            .and_then(|o| o.max_node_provision_time)
            .unwrap_or(self.lifecycle.max_node_provision_time)
    }

    /// Anti-flap grace period for a group (override or global).
    pub fn new_node_grace_period(&self, group: &str) -> DurationMs {
        self.node_groups
            .get(group)
            .and_then(|o| o.new_node_grace_period)
            .unwrap_or(self.scale_down.new_node_grace_period)
    }

    /// Whether scale-down may remove nodes of `group`.
    pub fn scale_down_enabled(&self, group: &str) -> bool {
        self.scale_down.enabled
            && self
                .node_groups
                .get(group)
                .and_then(|o| o.scale_down_enabled)
                .unwrap_or(true)
    }

    /// Renders the configuration as YAML (canonical durations).
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }
}

impl std::str::FromStr for AutoscalerConfig {
    type Err = ConfigError;
    fn from_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_text(text, "configuration")
    }
}

fn path_text(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text == "." {
        "(document)".to_string()
    } else {
        text
    }
}

/// serde_yaml_ng and serde_json append " at line X column Y"; the error carries them separately.
fn strip_location(message: &str, field: &str) -> String {
    let message = match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    // serde_yaml_ng prefixes the path itself ("scaleDown.unneededTime: ..."); the error
    // already names the field.
    match message
        .strip_prefix(field)
        .and_then(|m| m.strip_prefix(": "))
    {
        Some(rest) => rest.to_string(),
        None => message.to_string(),
    }
}

/// The 1-based line where the dotted `field` is written, found by looking for each path segment
/// as a key after the previous one's line. `None` when the field was left at its default.
fn find_field_line(text: &str, field: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0usize;
    let mut found = None;
    for segment in field.split('.') {
        let yaml_key = format!("{segment}:");
        let json_key = format!("\"{segment}\"");
        let hit = lines.iter().enumerate().skip(from).find(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with(&yaml_key) || t.contains(&json_key)
        });
        match hit {
            Some((i, _)) => {
                from = i;
                found = Some(i + 1);
            }
            None => return None,
        }
    }
    found
}
