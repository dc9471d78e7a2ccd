//! Per-node filters that depend only on the pod and the node's shape: selectors, node affinity,
//! taints and resources. Inter-pod filters (affinity, anti-affinity, spread) live in `interpod`.

use std::collections::BTreeMap;

use crate::model::node::TaintEffect;
use crate::model::pod::Affinity;
use crate::model::{Pod, Resources, Taint, Toleration};

use super::Unfit;

/// `key=value:Effect`, the way kubectl prints a taint.
pub fn taint_text(t: &Taint) -> String {
    let effect = match t.effect {
        TaintEffect::NoSchedule => "NoSchedule",
        TaintEffect::PreferNoSchedule => "PreferNoSchedule",
        TaintEffect::NoExecute => "NoExecute",
    };
    if t.value.is_empty() {
        format!("{}:{effect}", t.key)
    } else {
        format!("{}={}:{effect}", t.key, t.value)
    }
}

/// nodeSelector: every entry must be a node label.
pub fn node_selector_fit(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> Result<(), Unfit> {
    for (key, value) in selector {
        if labels.get(key) != Some(value) {
            return Err(Unfit::NodeSelectorMismatch {
                key: key.clone(),
                value: value.clone(),
            });
        }
    }
    Ok(())
}

/// Required node affinity: at least one term must match (no terms: anything matches).
pub fn node_affinity_fit(
    affinity: &Affinity,
    labels: &BTreeMap<String, String>,
) -> Result<(), Unfit> {
    if affinity.node_affinity.is_empty() || affinity.node_affinity.iter().any(|t| t.matches(labels))
    {
        Ok(())
    } else {
        Err(Unfit::NodeAffinityMismatch)
    }
}

/// Whether `labels` pass a pod's nodeSelector and required node affinity.
pub fn node_matches(pod: &Pod, labels: &BTreeMap<String, String>) -> bool {
    node_selector_fit(&pod.node_selector, labels).is_ok()
        && node_affinity_fit(&pod.affinity, labels).is_ok()
}

/// Taints: every NoSchedule/NoExecute taint must be tolerated (PreferNoSchedule is soft).
pub fn taints_fit(tolerations: &[Toleration], taints: &[Taint]) -> Result<(), Unfit> {
    for taint in taints {
        if taint.effect == TaintEffect::PreferNoSchedule {
            continue;
        }
        if !tolerations.iter().any(|tol| tol.tolerates(taint)) {
            return Err(Unfit::TaintNotTolerated {
                taint: taint_text(taint),
            });
        }
    }
    Ok(())
}

/// Resources: the request must fit the node's allocatable at all (static), then its free part.
pub fn resources_fit(
    request: &Resources,
    free: &Resources,
    allocatable: &Resources,
) -> Result<(), Unfit> {
    if request.fits_in(free) {
        return Ok(());
    }
    let mut too_big = request.exceeding(allocatable);
    too_big.retain(|r| r != crate::model::resources::PODS);
    if !too_big.is_empty() {
        return Err(Unfit::ExceedsNodeSize { resources: too_big });
    }
    let short = request.exceeding(free);
    if short.len() == 1 && short[0] == crate::model::resources::PODS {
        return Err(Unfit::TooManyPods);
    }
    Err(Unfit::InsufficientResources { resources: short })
}

/// Every static filter at once (selector, affinity, taints, resources against an empty node).
pub fn static_fit_parts(
    pod: &Pod,
    request: &Resources,
    labels: &BTreeMap<String, String>,
    taints: &[Taint],
    empty_capacity: &Resources,
) -> Result<(), Unfit> {
    node_selector_fit(&pod.node_selector, labels)?;
    node_affinity_fit(&pod.affinity, labels)?;
    taints_fit(&pod.tolerations, taints)?;
    if !request.fits_in(empty_capacity) {
        let mut too_big = request.exceeding(empty_capacity);
        if too_big.is_empty() {
            too_big.push(crate::model::resources::PODS.to_string());
        }
        return Err(Unfit::ExceedsNodeSize { resources: too_big });
    }
    Ok(())
}
