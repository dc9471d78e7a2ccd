//! The invariants a chaos run must hold once the system settles, checked over a plain end
//! state (so a test can hand the checker a broken state and see it fail).

use std::collections::{BTreeMap, BTreeSet};

use vpsie_engine::model::PodDisruptionBudget;
use vpsie_engine::model::snapshot::IntOrPercent;

/// A VPS listed by the cloud at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpsEnd {
    pub identifier: String,
    pub hostname: String,
    /// VPSie group name (empty for workers outside any group).
    pub group: String,
    /// Listed status: `provisioning`, `running`, `deleting`, `stopped`.
    pub status: String,
}

/// A Kubernetes Node at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEnd {
    pub name: String,
    pub ready: bool,
}

/// A pod at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodEnd {
    /// `namespace/name`.
    pub key: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub node: Option<String>,
    pub terminating: bool,
    pub daemon_set: bool,
}

/// A node group's bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBounds {
    pub name: String,
    pub min: u32,
    pub max: u32,
}

/// Everything the checker looks at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndState {
    pub vps: Vec<VpsEnd>,
    /// Identifiers of the workers the loop has a record for.
    pub tracked: BTreeSet<String>,
    pub nodes: Vec<NodeEnd>,
    pub pods: Vec<PodEnd>,
    /// Pending pods (keys or names) the loop's decision explains.
    pub explained: BTreeSet<String>,
    pub pdbs: Vec<PodDisruptionBudget>,
    pub groups: Vec<GroupBounds>,
    /// Pods deleted with no controller to replace them.
    pub pods_lost: u64,
    /// Worst excess over a group's max seen during the run: (group, workers, max).
    pub max_exceeded: Option<(String, u32, u32)>,
}

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Violation {
    /// A VPS exists that is not a Ready node the loop tracks (and is not being deleted).
    OrphanVps {
        hostname: String,
        status: String,
        why: &'static str,
    },
    /// A pod is pending and nothing explains why.
    UnexplainedPendingPod { pod: String },
    /// Pods were deleted with no controller to bring them back.
    PodsLost { count: u64 },
    /// A PodDisruptionBudget has fewer healthy pods than it requires.
    PdbViolated { pdb: String, allowed: i64 },
    /// A group holds fewer Ready nodes than its minimum.
    BelowMin { group: String, ready: u32, min: u32 },
    /// A group held more workers than its maximum.
    AboveMax {
        group: String,
        workers: u32,
        max: u32,
    },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::OrphanVps {
                hostname,
                status,
                why,
            } => write!(f, "orphaned VPS {hostname} ({status}): {why}"),
            Violation::UnexplainedPendingPod { pod } => {
                write!(f, "pod {pod} is pending with no explanation")
            }
            Violation::PodsLost { count } => write!(f, "{count} pod(s) lost"),
            Violation::PdbViolated { pdb, allowed } => {
                write!(
                    f,
                    "PodDisruptionBudget {pdb} violated (disruptions allowed {allowed})"
                )
            }
            Violation::BelowMin { group, ready, min } => {
                write!(
                    f,
                    "group {group} has {ready} Ready node(s), below its min {min}"
                )
            }
            Violation::AboveMax {
                group,
                workers,
                max,
            } => write!(
                f,
                "group {group} reached {workers} worker(s), above its max {max}"
            ),
        }
    }
}

/// Checks every invariant; an empty list means the run is sound.
pub fn check(end: &EndState) -> Vec<Violation> {
    let mut out = Vec::new();
    let ready: BTreeSet<&str> = end
        .nodes
        .iter()
        .filter(|n| n.ready)
        .map(|n| n.name.as_str())
        .collect();
    let mut ready_by_group: BTreeMap<&str, u32> = BTreeMap::new();
    for v in &end.vps {
        if v.status == "deleting" {
            continue;
        }
        let why = if !end.tracked.contains(&v.identifier) {
            Some("no record of the loop tracks it")
        } else if v.status != "running" {
            Some("tracked but not running")
        } else if !ready.contains(v.hostname.as_str()) {
            Some("tracked but its node is not Ready")
        } else {
            None
        };
        match why {
            Some(why) => out.push(Violation::OrphanVps {
                hostname: v.hostname.clone(),
                status: v.status.clone(),
                why,
            }),
            None => *ready_by_group.entry(v.group.as_str()).or_default() += 1,
        }
    }
    for p in &end.pods {
        if p.node.is_none()
            && !p.terminating
            && !end.explained.contains(&p.key)
            && !end
                .explained
                .contains(p.key.rsplit('/').next().unwrap_or(&p.key))
        {
            out.push(Violation::UnexplainedPendingPod { pod: p.key.clone() });
        }
    }
    if end.pods_lost > 0 {
        out.push(Violation::PodsLost {
            count: end.pods_lost,
        });
    }
    for pdb in &end.pdbs {
        let allowed = disruptions_allowed(pdb, &end.pods, &ready);
        if allowed < 0 {
            out.push(Violation::PdbViolated {
                pdb: format!("{}/{}", pdb.namespace, pdb.name),
                allowed,
            });
        }
    }
    for g in &end.groups {
        let n = ready_by_group.get(g.name.as_str()).copied().unwrap_or(0);
        if n < g.min {
            out.push(Violation::BelowMin {
                group: g.name.clone(),
                ready: n,
                min: g.min,
            });
        }
    }
    if let Some((group, workers, max)) = &end.max_exceeded {
        out.push(Violation::AboveMax {
            group: group.clone(),
            workers: *workers,
            max: *max,
        });
    }
    out.sort();
    out
}

/// `status.disruptionsAllowed` of a PDB: healthy (bound to a Ready node, not terminating)
/// selected pods minus the required minimum.
fn disruptions_allowed(pdb: &PodDisruptionBudget, pods: &[PodEnd], ready: &BTreeSet<&str>) -> i64 {
    let mut expected = 0i64;
    let mut healthy = 0i64;
    for p in pods {
        if p.terminating || p.namespace != pdb.namespace || !pdb.selector.matches(&p.labels) {
            continue;
        }
        expected += 1;
        if p.node.as_deref().is_some_and(|n| ready.contains(n)) {
            healthy += 1;
        }
    }
    let resolve = |v: &IntOrPercent| -> i64 {
        match v {
            IntOrPercent::Int(n) => i64::from(*n),
            IntOrPercent::Percent(text) => {
                let pct: i64 = text.trim_end_matches('%').trim().parse().unwrap_or(0);
                (expected * pct + 99) / 100
            }
        }
    };
    if let Some(min) = &pdb.min_available {
        healthy - resolve(min)
    } else if let Some(max) = &pdb.max_unavailable {
        resolve(max) - (expected - healthy)
    } else {
        i64::MAX
    }
}
