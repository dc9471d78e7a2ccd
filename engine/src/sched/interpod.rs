//! Counters behind inter-pod filters: pods matching each (namespaces, selector, topology key)
//! term per topology domain, and pods owning each anti-affinity term per domain.
//!
//! Counting once and updating on bind/unbind keeps pod affinity, anti-affinity and topology
//! spread checks proportional to the number of distinct terms, not to the number of pods.

use std::collections::BTreeMap;

use crate::model::{LabelSelector, Pod, PodAffinityTerm};

/// A term with its namespaces resolved (empty in the pod spec means the pod's own namespace).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TermKey {
    pub namespaces: Vec<String>,
    pub selector: LabelSelector,
    pub topology_key: String,
}

impl TermKey {
    pub fn from_affinity_term(owner: &Pod, term: &PodAffinityTerm) -> Self {
        let mut namespaces = if term.namespaces.is_empty() {
            vec![owner.namespace.clone()]
        } else {
            term.namespaces.clone()
        };
        namespaces.sort();
        namespaces.dedup();
        Self {
            namespaces,
            selector: term.label_selector.clone(),
            topology_key: term.topology_key.clone(),
        }
    }

    pub fn for_spread(owner: &Pod, selector: &LabelSelector, topology_key: &str) -> Self {
        Self {
            namespaces: vec![owner.namespace.clone()],
            selector: selector.clone(),
            topology_key: topology_key.to_string(),
        }
    }

    /// Whether a pod (by namespace and labels) is selected by this term.
    pub fn selects(&self, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
        self.namespaces.iter().any(|n| n == namespace) && self.selector.matches(labels)
    }
}

/// Pods per topology domain for one term.
#[derive(Debug, Clone, Default)]
pub struct DomainCounts {
    pub per_domain: BTreeMap<String, u32>,
    /// Pods counted, including those on nodes without the topology label.
    pub total: u32,
}

impl DomainCounts {
    pub fn in_domain(&self, domain: &str) -> u32 {
        self.per_domain.get(domain).copied().unwrap_or(0)
    }

    pub fn add(&mut self, domain: Option<&str>) {
        self.total += 1;
        if let Some(d) = domain {
            *self.per_domain.entry(d.to_string()).or_insert(0) += 1;
        }
    }

    pub fn remove(&mut self, domain: Option<&str>) {
        self.total = self.total.saturating_sub(1);
        if let Some(d) = domain
            && let Some(c) = self.per_domain.get_mut(d)
        {
            *c = c.saturating_sub(1);
            if *c == 0 {
                self.per_domain.remove(d);
            }
        }
    }
}

/// The anti-affinity terms a pod owns, resolved.
pub fn anti_affinity_keys(pod: &Pod) -> Vec<TermKey> {
    pod.affinity
        .pod_anti_affinity
        .iter()
        .map(|t| TermKey::from_affinity_term(pod, t))
        .collect()
}

/// Every term a pod's filters will look up in the `matching` index.
pub fn lookup_keys(pod: &Pod) -> Vec<TermKey> {
    let mut keys: Vec<TermKey> = pod
        .affinity
        .pod_affinity
        .iter()
        .chain(pod.affinity.pod_anti_affinity.iter())
        .map(|t| TermKey::from_affinity_term(pod, t))
        .collect();
    for c in &pod.topology_spread_constraints {
        if c.when_unsatisfiable == crate::model::pod::WhenUnsatisfiable::DoNotSchedule {
            keys.push(TermKey::for_spread(pod, &c.label_selector, &c.topology_key));
        }
    }
    keys
}
