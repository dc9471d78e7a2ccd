//! Finding the anonymous worker an add created, and sizes from the offers catalogue.

use std::collections::BTreeSet;

use vpsie_api::{ClusterNode, K8sOffer};
use vpsie_engine::model::VpsieSize;

/// Workers listed in `after` that were not in `before` (by identifier, or hostname when a node
/// has no identifier), ordered by numeric id. Add-worker answers without an id, so this diff —
/// never "the newest unlabelled node" — is how a new worker is attributed.
pub fn discover_new_workers(before: &[ClusterNode], after: &[ClusterNode]) -> Vec<ClusterNode> {
    let key = |n: &ClusterNode| {
        if n.identifier.is_empty() {
            format!("host:{}", n.hostname.to_ascii_lowercase())
        } else {
            format!("id:{}", n.identifier)
        }
    };
    let known: BTreeSet<String> = before.iter().map(key).collect();
    let mut new: Vec<ClusterNode> = after
        .iter()
        .filter(|n| n.is_worker() && !known.contains(&key(n)))
        .cloned()
        .collect();
    new.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.hostname.cmp(&b.hostname)));
    new
}

/// The engine's size for an offer (negative or absurd numbers become 0).
pub fn offer_to_size(offer: &K8sOffer) -> VpsieSize {
    VpsieSize {
        id: u32::try_from(offer.id).unwrap_or(0),
        name: offer.name.clone(),
        vcpu: u32::try_from(offer.cpu).unwrap_or(0),
        ram_mb: u64::try_from(offer.ram).unwrap_or(0),
        disk_gb: u64::try_from(offer.disk).unwrap_or(0),
        gpu: 0,
        hourly_price: if offer.hourly_price > 0.0 {
            offer.hourly_price
        } else {
            offer.price / 730.0
        },
        max_pods: vpsie_engine::model::group::DEFAULT_MAX_PODS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: i64, identifier: &str, hostname: &str, role: &str) -> ClusterNode {
        ClusterNode {
            id,
            identifier: identifier.into(),
            hostname: hostname.into(),
            role: role.into(),
            ..ClusterNode::default()
        }
    }

    #[test]
    fn only_workers_absent_before_are_new() {
        let before = vec![node(1, "a", "m", "master"), node(2, "b", "w1", "slave")];
        let after = vec![
            node(4, "d", "w3", "slave"),
            node(1, "a", "m", "master"),
            node(2, "b", "w1", "slave"),
            node(3, "c", "w2", "slave"),
            node(9, "", "W1", "slave"),
        ];
        let new: Vec<_> = discover_new_workers(&before, &after)
            .into_iter()
            .map(|n| n.identifier)
            .collect();
        assert_eq!(new, ["c", "d", ""]);
        assert!(discover_new_workers(&after, &after).is_empty());
    }
}
