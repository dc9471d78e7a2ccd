//! The loop's decision for one step: what it did, what it did not do and why, in a form shells
//! turn into events, metrics, logs and reports. Every reason renders as a sentence and has a
//! stable `code()`.

use std::fmt;
use std::fmt::Write as _;

use serde::Serialize;

use super::duration::DurationMs;
use super::io::Action;
use super::record::NodePhase;

/// Why the loop did not do something (or did less of it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Reason {
    /// The group's last scale-up failed; it backs off.
    GroupBackoff {
        group: String,
        until_ms: i64,
        failures: u32,
    },
    /// The group is being created in VPSie.
    GroupCreating {
        group: String,
    },
    /// The group would exceed its max size.
    GroupMax {
        group: String,
        max: u32,
    },
    /// Too many workers are being provisioned already.
    MaxConcurrentScaleUps {
        limit: u32,
    },
    MaxNodesTotal {
        limit: u32,
    },
    MaxTotalCores {
        limit: u64,
    },
    MaxTotalMemory {
        limit: i64,
    },
    /// Pending pods younger than the new-pod delay are not scaled up for yet.
    NewPodDelay {
        pods: usize,
    },
    /// The size of a new group is not in the catalogue.
    UnknownSize {
        size: String,
    },
    ScaleDownDisabled,
    /// A scale-up happened recently.
    CooldownAfterAdd {
        until_ms: i64,
    },
    CooldownAfterDelete {
        until_ms: i64,
    },
    CooldownAfterFailure {
        until_ms: i64,
    },
    /// Too many nodes are not ready: scale-down stops.
    HealthBrake {
        unready: usize,
        total: usize,
    },
    /// Unneeded since `since_ms`; removable from `ripe_at_ms`.
    Unneeded {
        since_ms: i64,
        ripe_at_ms: i64,
    },
    /// The node's last drain failed.
    DrainBackoff {
        until_ms: i64,
    },
    /// Added for pending pods; within its grace period.
    NewNodeGrace {
        until_ms: i64,
    },
    /// Added by a recent replacement; not replaced again within the window.
    ReplacementWindow {
        until_ms: i64,
    },
    /// This replacement would re-create nodes of a group a recent replacement removed.
    WouldRevertReplacement {
        group: String,
        until_ms: i64,
    },
    ScaleDownParallelism {
        limit: u32,
    },
    DrainParallelism {
        limit: u32,
    },
    EmptyBulkLimit {
        limit: u32,
    },
    /// The group has fewer live workers than its min: `missing` more are requested.
    BelowGroupMin {
        group: String,
        missing: u32,
    },
    /// Removing it would take its group below min, counting removals in progress.
    GroupMin {
        group: String,
        min: u32,
    },
    /// Earlier nodes in the plan's order could not go this step; only a prefix of the plan is
    /// known to be safe.
    AfterBlockedNode {
        node: String,
    },
    /// Not a VPSie worker the loop tracks (no identifier to delete it by).
    Untracked,
    /// Still being provisioned.
    InFlight {
        phase: NodePhase,
    },
    /// Being removed already.
    Removing,
    /// Part of a replacement in progress.
    InReplacement {
        replacement: String,
    },
    /// A replacement is already in progress.
    ReplacementInProgress,
    /// Removals are in progress; consolidation waits for them.
    RemovalsInProgress,
    ConsolidationDisabled,
    /// The scale-down planner keeps the node (its own code and sentence).
    Planner {
        code: String,
        sentence: String,
    },
}

fn rel(ms: i64, now_ms: i64) -> String {
    DurationMs((ms - now_ms).max(0)).to_string()
}

impl Reason {
    pub fn code(&self) -> &str {
        match self {
            Reason::GroupBackoff { .. } => "group_backoff",
            Reason::GroupCreating { .. } => "group_creating",
            Reason::GroupMax { .. } => "group_max",
            Reason::MaxConcurrentScaleUps { .. } => "max_concurrent_scale_ups",
            Reason::MaxNodesTotal { .. } => "max_nodes_total",
            Reason::MaxTotalCores { .. } => "max_total_cores",
            Reason::MaxTotalMemory { .. } => "max_total_memory",
            Reason::NewPodDelay { .. } => "new_pod_delay",
            Reason::UnknownSize { .. } => "unknown_size",
            Reason::ScaleDownDisabled => "scale_down_disabled",
            Reason::CooldownAfterAdd { .. } => "cooldown_after_add",
            Reason::CooldownAfterDelete { .. } => "cooldown_after_delete",
            Reason::CooldownAfterFailure { .. } => "cooldown_after_failure",
            Reason::HealthBrake { .. } => "health_brake",
            Reason::Unneeded { .. } => "unneeded",
            Reason::DrainBackoff { .. } => "drain_backoff",
            Reason::NewNodeGrace { .. } => "new_node_grace",
            Reason::ReplacementWindow { .. } => "replacement_window",
            Reason::WouldRevertReplacement { .. } => "would_revert_replacement",
            Reason::ScaleDownParallelism { .. } => "scale_down_parallelism",
            Reason::DrainParallelism { .. } => "drain_parallelism",
            Reason::EmptyBulkLimit { .. } => "empty_bulk_limit",
            Reason::BelowGroupMin { .. } => "below_group_min",
            Reason::GroupMin { .. } => "group_min",
            Reason::AfterBlockedNode { .. } => "after_blocked_node",
            Reason::Untracked => "untracked",
            Reason::InFlight { .. } => "in_flight",
            Reason::Removing => "removing",
            Reason::InReplacement { .. } => "in_replacement",
            Reason::ReplacementInProgress => "replacement_in_progress",
            Reason::RemovalsInProgress => "removals_in_progress",
            Reason::ConsolidationDisabled => "consolidation_disabled",
            Reason::Planner { code, .. } => code,
        }
    }

    /// A sentence; times are rendered relative to `now_ms` ("for 4m more").
    pub fn sentence(&self, now_ms: i64) -> String {
        match self {
            Reason::GroupBackoff {
                group,
                until_ms,
                failures,
            } => format!(
                "group {group} backs off for {} more after {failures} failed scale-up(s)",
                rel(*until_ms, now_ms)
            ),
            Reason::GroupCreating { group } => {
                format!("group {group} is being created in VPSie")
            }
            Reason::GroupMax { group, max } => {
                format!("group {group} would exceed its max size of {max}")
            }
            Reason::MaxConcurrentScaleUps { limit } => {
                format!("at most {limit} worker(s) may be provisioned at once")
            }
            Reason::MaxNodesTotal { limit } => {
                format!("the cluster would exceed its limit of {limit} node(s)")
            }
            Reason::MaxTotalCores { limit } => {
                format!("the cluster would exceed its limit of {limit} core(s)")
            }
            Reason::MaxTotalMemory { limit } => format!(
                "the cluster would exceed its memory limit of {}",
                crate::model::quantity::format_bytes(*limit)
            ),
            Reason::NewPodDelay { pods } => {
                format!("{pods} pending pod(s) are younger than the new-pod delay")
            }
            Reason::UnknownSize { size } => format!("size {size} is not in the catalogue"),
            Reason::ScaleDownDisabled => "scale-down is disabled".to_string(),
            Reason::CooldownAfterAdd { until_ms } => format!(
                "scale-down waits {} more after the last scale-up",
                rel(*until_ms, now_ms)
            ),
            Reason::CooldownAfterDelete { until_ms } => format!(
                "scale-down waits {} more after the last deletion",
                rel(*until_ms, now_ms)
            ),
            Reason::CooldownAfterFailure { until_ms } => format!(
                "scale-down waits {} more after the last failed scale-down",
                rel(*until_ms, now_ms)
            ),
            Reason::HealthBrake { unready, total } => {
                format!("{unready} of {total} node(s) are not ready: scale-down is braked")
            }
            Reason::Unneeded {
                since_ms,
                ripe_at_ms,
            } => {
                let for_ = DurationMs((now_ms - since_ms).max(0));
                if *ripe_at_ms <= now_ms {
                    format!("unneeded for {for_}, long enough to be removed")
                } else {
                    format!(
                        "unneeded for {for_}, removable in {} more",
                        rel(*ripe_at_ms, now_ms)
                    )
                }
            }
            Reason::DrainBackoff { until_ms } => format!(
                "its last drain failed; retried in {} more",
                rel(*until_ms, now_ms)
            ),
            Reason::NewNodeGrace { until_ms } => format!(
                "added for pending pods; grace period ends in {}",
                rel(*until_ms, now_ms)
            ),
            Reason::ReplacementWindow { until_ms } => format!(
                "added by a recent replacement; not replaced for {} more",
                rel(*until_ms, now_ms)
            ),
            Reason::WouldRevertReplacement { group, until_ms } => format!(
                "it would add nodes to group {group}, which a replacement shrank {} before the window ends",
                rel(*until_ms, now_ms)
            ),
            Reason::ScaleDownParallelism { limit } => {
                format!("{limit} node(s) are being removed already, the limit")
            }
            Reason::BelowGroupMin { group, missing } => {
                format!("group {group} is {missing} worker(s) short of its min")
            }
            Reason::DrainParallelism { limit } => {
                format!("{limit} node(s) are being drained already, the limit")
            }
            Reason::EmptyBulkLimit { limit } => {
                format!("{limit} empty node(s) are removed this step, the limit")
            }
            Reason::GroupMin { group, min } => format!(
                "removing it would take group {group} below its min of {min}, counting removals in progress"
            ),
            Reason::AfterBlockedNode { node } => format!(
                "node {node} comes first in the plan and cannot go yet; only a prefix of the plan is safe"
            ),
            Reason::Untracked => "it is not a VPSie worker the autoscaler tracks".to_string(),
            Reason::InFlight { phase } => format!("it is still being provisioned ({phase})"),
            Reason::Removing => "it is being removed".to_string(),
            Reason::InReplacement { replacement } => {
                format!("it is part of replacement {replacement}")
            }
            Reason::ReplacementInProgress => "another replacement is in progress".to_string(),
            Reason::RemovalsInProgress => {
                "removals are in progress; consolidation waits for them".to_string()
            }
            Reason::ConsolidationDisabled => "consolidation is disabled".to_string(),
            Reason::Planner { sentence, .. } => sentence.clone(),
        }
    }
}

/// Something (a group, node, pod or replacement) and why it was not acted on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// `group/<name>`, `node/<name>`, `pod/<ns>/<name>`, `replacement/<id>` or `scale-down`.
    pub subject: String,
    pub reason: Reason,
}

/// A VPSieNode phase change (`from: None` is a new record, `to: None` a forgotten one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub record: String,
    pub group: String,
    pub from: Option<NodePhase>,
    pub to: Option<NodePhase>,
    pub why: String,
}

/// A pending pod that gets no capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodExplanation {
    pub pod: String,
    pub code: String,
    pub sentence: String,
}

/// Scale-up side of the decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleUpDecision {
    /// The planner ran (there were pending pods).
    pub planned: bool,
    /// Nodes requested this step per group.
    pub requested: Vec<(String, u32)>,
    /// Groups created this step.
    pub created_groups: Vec<String>,
    pub unschedulable: Vec<PodExplanation>,
    /// Pending pods that existing or in-flight capacity takes.
    pub fit_existing: usize,
    pub node_ratio: Option<f64>,
    pub cost_ratio: Option<f64>,
    pub work_used: u64,
    /// The planner's own line-oriented rendering.
    pub plan_text: String,
}

/// Scale-down side of the decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleDownDecision {
    pub planned: bool,
    /// Why no removal could start this step at all.
    pub blocked: Option<Reason>,
    /// Nodes whose removal started this step.
    pub started: Vec<String>,
    /// Replacements started this step (ids).
    pub replacements_started: Vec<String>,
    /// Nodes unneeded now (timers running).
    pub unneeded: Vec<String>,
    pub plan_text: String,
}

/// What one step decided, with explanations.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub now_ms: i64,
    pub dry_run: bool,
    pub scale_up: ScaleUpDecision,
    pub scale_down: ScaleDownDecision,
    pub transitions: Vec<Transition>,
    pub notes: Vec<Note>,
}

/// The result of one step.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepOutput {
    /// What the shell should do, in order (nothing in dry-run mode must be carried out).
    pub actions: Vec<Action>,
    pub decision: Decision,
}

impl Decision {
    pub(crate) fn note(&mut self, subject: impl Into<String>, reason: Reason) {
        self.notes.push(Note {
            subject: subject.into(),
            reason,
        });
    }

    /// Compact, line-oriented, deterministic rendering (reports, snapshots, logs).
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let now = self.now_ms;
        let _ = writeln!(
            out,
            "decision at {}{}",
            DurationMs(now),
            if self.dry_run { " (dry run)" } else { "" }
        );
        let up = &self.scale_up;
        if up.planned {
            let _ = writeln!(
                out,
                "scale-up: fit-existing={} unschedulable={}",
                up.fit_existing,
                up.unschedulable.len()
            );
        }
        for (g, n) in &up.requested {
            let _ = writeln!(out, "  add {n} to {g}");
        }
        for g in &up.created_groups {
            let _ = writeln!(out, "  create group {g}");
        }
        for p in &up.unschedulable {
            let _ = writeln!(out, "  pod {} [{}]: {}", p.pod, p.code, p.sentence);
        }
        let down = &self.scale_down;
        if let Some(b) = &down.blocked {
            let _ = writeln!(
                out,
                "scale-down blocked [{}]: {}",
                b.code(),
                b.sentence(now)
            );
        }
        for n in &down.started {
            let _ = writeln!(out, "  remove {n}");
        }
        for r in &down.replacements_started {
            let _ = writeln!(out, "  replacement {r}");
        }
        for t in &self.transitions {
            let from = t.from.map_or("-", NodePhase::as_str);
            let to = t.to.map_or("gone", NodePhase::as_str);
            let _ = writeln!(
                out,
                "record {} ({}): {from} -> {to}: {}",
                t.record, t.group, t.why
            );
        }
        for n in &self.notes {
            let _ = writeln!(
                out,
                "{} [{}]: {}",
                n.subject,
                n.reason.code(),
                n.reason.sentence(now)
            );
        }
        out
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_text())
    }
}
