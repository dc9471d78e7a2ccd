//! Pod rules that decide whether a pod may be evicted, and which pods a removal moves at all.

use crate::model::pod::SAFE_TO_EVICT;
use crate::model::{Pod, Volume};

use super::types::PodBlock;

/// What removing a node means for one of its pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodDisposition {
    /// DaemonSet and mirror pods go with the node: they neither block nor get re-placed.
    GoesWithNode,
    /// The pod must be evicted and re-placed on a node that stays.
    Evict,
    /// The pod prevents the node's removal.
    Blocks(PodBlock),
}

/// The namespace whose pods need a PDB to be evicted (Cluster Autoscaler's rule: system pods
/// without a budget are assumed critical).
pub const KUBE_SYSTEM: &str = "kube-system";

/// Applies the static eviction rules (everything except PDB budgets and re-placement).
/// `covered_by_pdb` says whether any PDB selects the pod.
///
/// Order of the checks: DaemonSet and mirror pods first (they never block), then an explicit
/// `safe-to-evict: "false"`, then `safe-to-evict: "true"` (which lifts the bare-pod, local-storage and
/// kube-system rules, as in Cluster Autoscaler), then those three rules.
pub fn disposition(pod: &Pod, covered_by_pdb: bool) -> PodDisposition {
    if pod.is_mirror() || pod.is_daemonset_pod() {
        return PodDisposition::GoesWithNode;
    }
    let safe_to_evict = pod.annotations.get(SAFE_TO_EVICT).map(String::as_str);
    if safe_to_evict == Some("false") {
        return PodDisposition::Blocks(PodBlock::NotSafeToEvict);
    }
    if safe_to_evict == Some("true") {
        return PodDisposition::Evict;
    }
    if pod.owner.is_none() {
        return PodDisposition::Blocks(PodBlock::BarePod);
    }
    if let Some(volume) = local_storage_volume(pod) {
        return PodDisposition::Blocks(PodBlock::LocalStorage {
            volume: volume.to_string(),
        });
    }
    if pod.namespace == KUBE_SYSTEM && !covered_by_pdb {
        return PodDisposition::Blocks(PodBlock::KubeSystemWithoutPdb);
    }
    PodDisposition::Evict
}

/// The first volume that keeps data on the node: `hostPath`, or `emptyDir` not backed by memory.
pub fn local_storage_volume(pod: &Pod) -> Option<&str> {
    pod.volumes.iter().find_map(|v| match v {
        Volume::HostPath { name } => Some(name.as_str()),
        Volume::EmptyDir { name, medium } if medium.as_deref() != Some("Memory") => {
            Some(name.as_str())
        }
        _ => None,
    })
}
