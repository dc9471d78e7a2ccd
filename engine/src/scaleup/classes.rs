//! Equivalence classes of pending pods: pods a scheduler cannot tell apart are planned together.
//!
//! Two pending pods are equivalent when they have the same effective request, nodeSelector,
//! node and pod (anti-)affinity, tolerations, spread constraints, host ports, namespace, labels
//! (inter-pod rules select by them), owner and priority. Only the name differs, so whatever
//! placement one member gets, the next member gets the same answer on the same state: members
//! of a class are always placed as a prefix, which makes 50,000 replicas cost little.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::pod::{Affinity, OwnerRef, WhenUnsatisfiable};
use crate::model::{Pod, Resources, Toleration, TopologySpreadConstraint};
use crate::sched::interpod::{TermKey, anti_affinity_keys};

/// Everything that makes two pods schedule differently.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ClassKey<'a> {
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    request: Resources,
    node_selector: &'a BTreeMap<String, String>,
    affinity: &'a Affinity,
    tolerations: &'a [Toleration],
    spread: &'a [TopologySpreadConstraint],
    host_ports: Vec<(String, String, u16)>,
    owner: Option<&'a OwnerRef>,
    priority: i32,
}

/// Identical pending pods.
#[derive(Debug, Clone)]
pub(crate) struct PodClass<'a> {
    /// Members sorted by key; `members[0]` represents the class.
    pub members: Vec<&'a Pod>,
    /// Effective request of one member.
    pub request: Resources,
    /// No inter-pod rule involves the class: no pod (anti-)affinity or hard spread of its own,
    /// no host ports, and no anti-affinity term of any pod selects it. Such pods only need
    /// resources, so a bin-packing engine can place them.
    pub free: bool,
    /// The class has a hostname anti-affinity term selecting its own members (at most one
    /// member per node); used by the lower bound.
    pub self_anti_hostname: Option<TermKey>,
    /// Members already given a place (a prefix of `members`).
    pub next: usize,
}

impl<'a> PodClass<'a> {
    pub fn rep(&self) -> &'a Pod {
        self.members[0]
    }

    pub fn remaining(&self) -> &[&'a Pod] {
        &self.members[self.next..]
    }

    pub fn remaining_count(&self) -> usize {
        self.members.len() - self.next
    }

    /// Whether the class has inter-pod rules of its own.
    pub fn has_own_interpod_rules(pod: &Pod) -> bool {
        !pod.affinity.pod_affinity.is_empty()
            || !pod.affinity.pod_anti_affinity.is_empty()
            || pod
                .topology_spread_constraints
                .iter()
                .any(|c| c.when_unsatisfiable == WhenUnsatisfiable::DoNotSchedule)
            || !pod.host_ports().is_empty()
    }
}

/// Groups `pending` (sorted by key) into classes, ordered by the key of their first member.
/// `all_pods` are every pod of the snapshot (their anti-affinity terms decide `free`).
pub(crate) fn build_classes<'a>(pending: &[&'a Pod], all_pods: &[Pod]) -> Vec<PodClass<'a>> {
    let mut by_key: BTreeMap<ClassKey<'a>, usize> = BTreeMap::new();
    let mut classes: Vec<PodClass<'a>> = Vec::new();
    for &pod in pending {
        let request = pod.effective_requests();
        let key = ClassKey {
            namespace: &pod.namespace,
            labels: &pod.labels,
            request: request.clone(),
            node_selector: &pod.node_selector,
            affinity: &pod.affinity,
            tolerations: &pod.tolerations,
            spread: &pod.topology_spread_constraints,
            host_ports: pod.host_ports(),
            owner: pod.owner.as_ref(),
            priority: pod.priority,
        };
        match by_key.get(&key) {
            Some(&i) => classes[i].members.push(pod),
            None => {
                by_key.insert(key, classes.len());
                classes.push(PodClass {
                    members: vec![pod],
                    request,
                    free: false,
                    self_anti_hostname: None,
                    next: 0,
                });
            }
        }
    }
    let anti_terms: BTreeSet<TermKey> = all_pods.iter().flat_map(anti_affinity_keys).collect();
    for class in &mut classes {
        let rep = class.rep();
        class.free = !PodClass::has_own_interpod_rules(rep)
            && !anti_terms
                .iter()
                .any(|t| t.selects(&rep.namespace, &rep.labels));
        class.self_anti_hostname = anti_affinity_keys(rep).into_iter().find(|t| {
            t.topology_key == crate::model::node::LABEL_HOSTNAME
                && t.selects(&rep.namespace, &rep.labels)
        });
    }
    // `pending` is sorted by key, so members are sorted and classes come in first-member order.
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, cpu: i64, app: &str) -> Pod {
        let mut p: Pod = serde_json::from_str(&format!(
            r#"{{"name":"{name}","labels":{{"app":"{app}"}},"containers":[{{"requests":{{"cpu":"{cpu}m"}}}}]}}"#
        ))
        .unwrap();
        p.created_at_ms = Some(name.len() as i64);
        p
    }

    #[test]
    fn identical_pods_share_a_class_and_names_do_not_matter() {
        let pods = [
            pod("a-1", 100, "a"),
            pod("a-2", 100, "a"),
            pod("b-1", 100, "b"),
            pod("c-1", 200, "a"),
        ];
        let pending: Vec<&Pod> = pods.iter().collect();
        let classes = build_classes(&pending, &pods);
        let sizes: Vec<usize> = classes.iter().map(|c| c.members.len()).collect();
        assert_eq!(sizes, vec![2, 1, 1]);
        assert!(classes.iter().all(|c| c.free));
    }

    #[test]
    fn a_class_targeted_by_anti_affinity_is_not_free() {
        let mut guard = pod("guard", 100, "guard");
        guard.affinity.pod_anti_affinity = vec![crate::model::PodAffinityTerm {
            label_selector: crate::model::LabelSelector {
                match_labels: [("app".to_string(), "a".to_string())].into(),
                match_expressions: Vec::new(),
            },
            namespaces: Vec::new(),
            topology_key: crate::model::node::LABEL_HOSTNAME.to_string(),
        }];
        let pods = [pod("a-1", 100, "a"), pod("b-1", 100, "b"), guard];
        let pending: Vec<&Pod> = pods[..2].iter().collect();
        let classes = build_classes(&pending, &pods);
        assert!(
            !classes[0].free,
            "app=a is selected by guard's anti-affinity"
        );
        assert!(classes[1].free);
    }
}
