//! Carrying out removals on a snapshot: what the cluster looks like once they are done.
//!
//! Used by tests and benchmarks to iterate decisions, and by simulations that apply a plan
//! instantly.

use std::collections::BTreeMap;

use crate::model::ClusterSnapshot;

use super::types::NodeRemoval;

/// The snapshot after `removals` are carried out: the nodes are gone with their DaemonSet and
/// mirror pods, and every evicted pod is bound to its stated destination.
pub fn apply_removals(snapshot: &ClusterSnapshot, removals: &[NodeRemoval]) -> ClusterSnapshot {
    let mut moved: BTreeMap<String, &str> = BTreeMap::new();
    for r in removals {
        for e in &r.evictions {
            moved.insert(e.pod.clone(), e.destination.as_str());
        }
    }
    let removed: std::collections::BTreeSet<&str> =
        removals.iter().map(|r| r.node.as_str()).collect();
    let mut out = snapshot.clone();
    out.nodes.retain(|n| !removed.contains(n.name.as_str()));
    out.pods.retain_mut(|p| {
        if let Some(dest) = moved.get(&p.key()) {
            p.node_name = Some((*dest).to_string());
            return true;
        }
        !p.node_name.as_deref().is_some_and(|n| removed.contains(n))
    });
    out
}
