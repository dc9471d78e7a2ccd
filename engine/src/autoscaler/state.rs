//! The loop's explicit state: VPSieNode records, per-group backoff and creation, per-node
//! timers, replacements in progress and recent ones. Serializable and ordered (BTreeMaps), so a
//! shell can persist it, and the same inputs always give the same state.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::scaledown::ScaleDownCache;

use super::config::AutoscalerConfig;
use super::record::{NodePhase, Purpose, VpsieNodeRecord};

/// The loop's whole memory between steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoopState {
    /// VPSieNode records by name.
    pub records: BTreeMap<String, VpsieNodeRecord>,
    /// Per-group state (backoff, creation), by group name.
    pub groups: BTreeMap<String, GroupState>,
    /// Per-node timers, by node name.
    pub nodes: BTreeMap<String, NodeTimers>,
    /// Replacements in progress, by id.
    pub replacements: BTreeMap<String, ReplacementState>,
    /// Replacements started within the consolidation window (oldest first).
    pub recent_replacements: Vec<ReplacementHistory>,
    /// Last time the loop requested a worker or created a group.
    pub last_scale_up_ms: Option<i64>,
    /// Last time the loop deleted a node.
    pub last_scale_down_ms: Option<i64>,
    /// Last time a scale-down failed (drain or delete).
    pub last_scale_down_failure_ms: Option<i64>,
    /// Sequence for request and replacement names (monotonic, never reused).
    pub next_sequence: u64,
    /// `now` of the last step.
    pub last_step_ms: Option<i64>,
    /// Scale-down work kept for the next step. Not part of the state's value: never saved or
    /// compared, and a clone starts without it (the next decision builds it again).
    #[serde(skip)]
    #[schemars(skip)]
    pub scale_down_cache: ScaleDownCache,
}

/// Per-group state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupState {
    /// Failures counted for the backoff (reset after `backoff.resetAfter` without failure).
    pub failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_until_ms: Option<i64>,
    /// The group is being created in VPSie (CreateGroup issued, no answer yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creating: Option<GroupCreation>,
    /// VPSie numeric group id, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpsie_group_id: Option<i64>,
}

/// A group creation in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupCreation {
    pub size: String,
    pub size_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    pub requested_at_ms: i64,
}

/// Per-node timers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeTimers {
    /// Since when the scale-down planner has found the node removable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unneeded_since_ms: Option<i64>,
    /// The node's last drain failed; not tried again before this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_backoff_until_ms: Option<i64>,
}

impl NodeTimers {
    fn is_empty(&self) -> bool {
        self.unneeded_since_ms.is_none() && self.drain_backoff_until_ms.is_none()
    }
}

/// Stage of a replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ReplacementStage {
    /// New nodes requested; waiting for them to be Ready.
    Adding,
    /// New nodes Ready; the replaced nodes are being drained and removed.
    Draining,
}

/// A consolidation replacement in progress: add first, then drain the replaced nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplacementState {
    pub id: String,
    pub started_at_ms: i64,
    pub stage: ReplacementStage,
    /// Nodes to remove once the new ones are Ready.
    pub remove: Vec<String>,
    /// Records of the new workers.
    pub requests: Vec<String>,
}

/// A replacement remembered for the anti-flap window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplacementHistory {
    pub id: String,
    pub at_ms: i64,
    /// Groups nodes were removed from.
    pub removed_groups: BTreeSet<String>,
    /// Groups nodes were added to.
    pub added_groups: BTreeSet<String>,
}

/// A worker in the VPSie node list, as a shell lists it when it rebuilds the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListedWorker {
    /// The autoscaler node group the worker's VPSie group maps to.
    pub group: String,
    pub identifier: String,
    pub hostname: String,
    /// VPSie status (`provisioning`, `running`, `deleting`).
    pub status: String,
    /// `created_on`, in milliseconds of the shell's clock, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<i64>,
}

impl LoopState {
    /// An empty state (no records, no timers).
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the state after a restart from the persisted VPSieNode records and the current
    /// VPSie worker list, so that no restart double-creates or orphans a VPS:
    ///
    /// 1. A record whose identifier is listed keeps its phase (a `deleting` worker moves it to
    ///    Deleting). A record whose identifier is no longer listed is gone: removed if it was
    ///    being deleted or had failed, otherwise marked Failed (the worker vanished).
    /// 2. Records without identifier (Pending, Provisioning) are matched to listed workers of
    ///    their group that no record claims, oldest request to oldest worker, but only to a
    ///    worker created at or after the request. Requests are never re-issued: a request whose
    ///    worker never shows up is given up by the provision timeout, and a worker that shows up
    ///    later is deleted as unrequested.
    /// 3. Listed workers that no record claims are adopted as records (Purpose::Adopted) in the
    ///    phase their status says; they are never deleted by a rebuild, since a worker the loop
    ///    did not ask for may belong to someone. The loop removes adopted nodes only through
    ///    ordinary scale-down.
    ///
    /// Timers (unneeded-since, cooldowns, backoff) restart from zero: after a restart the loop
    /// waits a full unneeded time before removing anything, which errs on the safe side.
    pub fn rebuild(records: Vec<VpsieNodeRecord>, workers: &[ListedWorker], now_ms: i64) -> Self {
        let mut state = LoopState::new();
        let by_identifier: BTreeMap<&str, &ListedWorker> =
            workers.iter().map(|w| (w.identifier.as_str(), w)).collect();
        let mut claimed: BTreeSet<String> = BTreeSet::new();
        let mut max_seq = 0u64;
        let mut unmatched: Vec<VpsieNodeRecord> = Vec::new();
        for mut record in records {
            max_seq = max_seq.max(sequence_of(&record.name));
            match record.identifier.clone() {
                Some(id) => match by_identifier.get(id.as_str()) {
                    Some(w) => {
                        claimed.insert(id);
                        if w.status == "deleting" && record.phase != NodePhase::Failed {
                            record.phase = NodePhase::Deleting;
                            record.delete_requested_ms.get_or_insert(now_ms);
                        }
                        if w.status == "running" {
                            record.running = true;
                        }
                        state.records.insert(record.name.clone(), record);
                    }
                    None => {
                        if record.phase.is_removing()
                            || record.phase == NodePhase::Failed
                            || record.purpose == Purpose::Unrequested
                        {
                            continue;
                        }
                        record.phase = NodePhase::Failed;
                        record.phase_since_ms = now_ms;
                        record.worker_gone = true;
                        record.failure = Some(super::record::FailureCause::WorkerVanished);
                        state.records.insert(record.name.clone(), record);
                    }
                },
                None => unmatched.push(record),
            }
        }
        unmatched.sort_by(|a, b| {
            (a.requested_at_ms, a.name.as_str()).cmp(&(b.requested_at_ms, b.name.as_str()))
        });
        let mut free: Vec<&ListedWorker> = workers
            .iter()
            .filter(|w| !claimed.contains(&w.identifier))
            .collect();
        free.sort_by(|a, b| {
            (a.created_at_ms.unwrap_or(i64::MIN), a.identifier.as_str())
                .cmp(&(b.created_at_ms.unwrap_or(i64::MIN), b.identifier.as_str()))
        });
        for mut record in unmatched {
            if record.is_unmatched_request() || record.awaiting_group {
                let pick = free.iter().position(|w| {
                    w.group == record.group
                        && w.created_at_ms.is_some_and(|c| c >= record.requested_at_ms)
                });
                if let Some(i) = pick {
                    let w = free.remove(i);
                    record.identifier = Some(w.identifier.clone());
                    record.hostname = Some(w.hostname.clone());
                    record.accepted = true;
                    record.awaiting_group = false;
                    record.running = w.status == "running";
                    record.phase = if record.running {
                        NodePhase::Provisioned
                    } else {
                        NodePhase::Provisioning
                    };
                    record.phase_since_ms = now_ms;
                }
            }
            state.records.insert(record.name.clone(), record);
        }
        for w in free {
            let name = format!("adopted-{}", w.hostname.to_lowercase());
            let mut record =
                VpsieNodeRecord::requested(name.clone(), w.group.clone(), Purpose::Adopted, now_ms);
            record.accepted = true;
            record.identifier = Some(w.identifier.clone());
            record.hostname = Some(w.hostname.clone());
            record.running = w.status == "running";
            record.phase = match w.status.as_str() {
                "deleting" => NodePhase::Deleting,
                "running" => NodePhase::Provisioned,
                _ => NodePhase::Provisioning,
            };
            if record.phase == NodePhase::Deleting {
                record.delete_requested_ms = Some(now_ms);
            }
            state.records.insert(name, record);
        }
        state.next_sequence = max_seq + 1;
        state
    }

    /// Records of `group` in an in-flight phase.
    pub fn in_flight(&self) -> impl Iterator<Item = &VpsieNodeRecord> {
        self.records.values().filter(|r| r.phase.is_in_flight())
    }

    /// The record whose worker has `identifier`.
    pub fn record_by_identifier(&self, identifier: &str) -> Option<&VpsieNodeRecord> {
        self.records
            .values()
            .find(|r| r.identifier.as_deref() == Some(identifier))
    }

    /// The record whose Node is `node`.
    pub fn record_by_node(&self, node: &str) -> Option<&VpsieNodeRecord> {
        self.records.values().find(|r| {
            r.hostname
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(node))
        })
    }

    pub(crate) fn next_name(&mut self, prefix: &str) -> String {
        let seq = self.next_sequence;
        self.next_sequence += 1;
        format!("{prefix}-{seq:06}")
    }

    /// Records a failed scale-up of `group` and extends its backoff.
    pub(crate) fn group_failed(&mut self, group: &str, now_ms: i64, config: &AutoscalerConfig) {
        let b = &config.backoff;
        let g = self.groups.entry(group.to_string()).or_default();
        if g.last_failure_ms
            .is_some_and(|t| now_ms - t >= b.reset_after.ms())
        {
            g.failures = 0;
        }
        g.failures = g.failures.saturating_add(1);
        g.last_failure_ms = Some(now_ms);
        let backoff = backoff_ms(g.failures, config);
        g.backoff_until_ms = Some(now_ms.saturating_add(backoff));
    }

    /// The group is backing off at `now_ms`: (until, failures).
    pub fn group_backoff(&self, group: &str, now_ms: i64) -> Option<(i64, u32)> {
        let g = self.groups.get(group)?;
        let until = g.backoff_until_ms?;
        (until > now_ms).then_some((until, g.failures))
    }

    pub(crate) fn prune_node_timers(&mut self) {
        self.nodes.retain(|_, t| !t.is_empty());
    }
}

/// Backoff after the `failures`-th consecutive failure: initial × 2^(failures−1), capped.
pub fn backoff_ms(failures: u32, config: &AutoscalerConfig) -> i64 {
    let b = &config.backoff;
    let shift = failures.saturating_sub(1).min(40);
    b.initial.ms().saturating_mul(1i64 << shift).min(b.max.ms())
}

/// Trailing `-NNNNNN` sequence of a record name (0 when none).
fn sequence_of(name: &str) -> u64 {
    name.rsplit('-')
        .next()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0)
}
