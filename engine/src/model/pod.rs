//! Pods: requests by Kubernetes rules, placement constraints, ownership and disruption metadata.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::node::{Taint, TaintEffect};
use super::resources::Resources;
use super::selector::{LabelSelector, NodeSelectorTerm};

/// Annotation that marks a pod as evictable (`"true"`) or never evictable (`"false"`).
pub const SAFE_TO_EVICT: &str = "cluster-autoscaler.kubernetes.io/safe-to-evict";
/// Annotation of mirror (static) pods.
pub const MIRROR_POD: &str = "kubernetes.io/config.mirror";

/// A container port; only `hostPort` matters for placement.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerPort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(default = "default_protocol")]
    pub protocol: String,
    /// Host IP the port binds to; empty or `0.0.0.0` means every address.
    #[serde(default, rename = "hostIP", skip_serializing_if = "String::is_empty")]
    pub host_ip: String,
}

fn default_protocol() -> String {
    "TCP".to_string()
}

/// A container (regular or init) with its resource requests.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Container {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Resources::is_zero")]
    pub requests: Resources,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
    /// `Always` on an init container makes it a sidecar (Kubernetes 1.28+): it keeps running
    /// beside the regular containers and its requests add to theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
}

impl Container {
    fn is_sidecar(&self) -> bool {
        self.restart_policy.as_deref() == Some("Always")
    }
}

/// A toleration.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Toleration {
    /// Empty key with operator `Exists` tolerates everything.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// `Equal` (default) or `Exists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<TolerationOperator>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Empty means every effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<TaintEffect>,
}

/// Operator of a toleration.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

impl Toleration {
    /// Kubernetes' `ToleratesTaint`.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if let Some(effect) = self.effect
            && effect != taint.effect
        {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.operator.unwrap_or(TolerationOperator::Equal) {
            TolerationOperator::Exists => true,
            TolerationOperator::Equal => self.value == taint.value,
        }
    }
}

/// A required pod (anti-)affinity term.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodAffinityTerm {
    #[serde(default)]
    pub label_selector: LabelSelector,
    /// Namespaces the selector applies to; empty means the pod's own namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// `kubernetes.io/hostname` or `topology.kubernetes.io/zone` (any node label works).
    pub topology_key: String,
}

/// What to do when a spread constraint cannot be met.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum WhenUnsatisfiable {
    /// Hard: the autoscaler honours it.
    DoNotSchedule,
    /// Soft: ignored for feasibility.
    ScheduleAnyway,
}

/// A topology spread constraint.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopologySpreadConstraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub when_unsatisfiable: WhenUnsatisfiable,
    #[serde(default)]
    pub label_selector: LabelSelector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_domains: Option<i32>,
}

/// Required (hard) affinity of a pod. Preferred terms are soft and not modelled.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Affinity {
    /// `requiredDuringSchedulingIgnoredDuringExecution` node selector terms (OR-ed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_affinity: Vec<NodeSelectorTerm>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pod_affinity: Vec<PodAffinityTerm>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pod_anti_affinity: Vec<PodAffinityTerm>,
}

impl Affinity {
    pub fn is_empty(&self) -> bool {
        self.node_affinity.is_empty()
            && self.pod_affinity.is_empty()
            && self.pod_anti_affinity.is_empty()
    }
}

/// The controller that owns a pod.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnerRef {
    /// `ReplicaSet`, `StatefulSet`, `Job`, `DaemonSet`, `Node` (mirror pods), ...
    pub kind: String,
    pub name: String,
}

/// A pod volume; only the kinds that matter for scale-down are distinguished.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", tag = "type", deny_unknown_fields)]
pub enum Volume {
    /// `emptyDir`; `medium: Memory` is not local storage.
    EmptyDir {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        medium: Option<String>,
    },
    HostPath {
        name: String,
    },
    /// Any other volume type (configMap, secret, persistentVolumeClaim, ...).
    Other {
        name: String,
    },
}

/// A pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pod {
    pub name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    /// Pod overhead (RuntimeClass), added to the effective request.
    #[serde(default, skip_serializing_if = "Resources::is_zero")]
    pub overhead: Resources,
    /// The node the pod is bound to; `None` for a pending pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Affinity::is_empty")]
    pub affinity: Affinity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwnerRef>,
    #[serde(default)]
    pub priority: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// When the pod was created (milliseconds of the snapshot's clock), for the new-pod delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<i64>,
    /// Seconds the pod gets between SIGTERM and SIGKILL when evicted (Kubernetes default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
}

fn default_namespace() -> String {
    "default".to_string()
}

impl Pod {
    /// `namespace/name`, the pod's unique key.
    pub fn key(&self) -> String {
        // Hot in placement (every bind and unbind): no formatting machinery.
        let mut key = String::with_capacity(self.namespace.len() + 1 + self.name.len());
        key.push_str(&self.namespace);
        key.push('/');
        key.push_str(&self.name);
        key
    }

    /// The pod's effective request by Kubernetes rules (KEP-753 sidecars included):
    /// `max(sum(containers) + sum(sidecars), max_i(init_i + sidecars started before i)) + overhead`,
    /// plus one pod slot.
    pub fn effective_requests(&self) -> Resources {
        let mut regular = Resources::default();
        for c in &self.containers {
            regular.add_assign(&c.requests);
        }
        let mut sidecars = Resources::default();
        let mut init_peak = Resources::default();
        for c in &self.init_containers {
            if c.is_sidecar() {
                sidecars.add_assign(&c.requests);
                init_peak = init_peak.elementwise_max(&sidecars);
            } else {
                init_peak = init_peak.elementwise_max(&c.requests.add(&sidecars));
            }
        }
        let mut total = regular.add(&sidecars).elementwise_max(&init_peak);
        total.add_assign(&self.overhead);
        total.pods = 1;
        total
    }

    /// Host ports the pod binds, as (protocol, host IP, port), sorted and deduplicated.
    pub fn host_ports(&self) -> Vec<(String, String, u16)> {
        let mut ports: Vec<(String, String, u16)> = self
            .containers
            .iter()
            .chain(self.init_containers.iter().filter(|c| c.is_sidecar()))
            .flat_map(|c| c.ports.iter())
            .filter_map(|p| {
                p.host_port.filter(|hp| *hp != 0).map(|hp| {
                    let ip = if p.host_ip.is_empty() {
                        "0.0.0.0".to_string()
                    } else {
                        p.host_ip.clone()
                    };
                    (p.protocol.clone(), ip, hp)
                })
            })
            .collect();
        ports.sort();
        ports.dedup();
        ports
    }

    /// Whether the pod tolerates every NoSchedule/NoExecute taint in `taints`.
    pub fn tolerates_all(&self, taints: &[Taint]) -> bool {
        taints
            .iter()
            .filter(|t| t.effect != TaintEffect::PreferNoSchedule)
            .all(|t| self.tolerations.iter().any(|tol| tol.tolerates(t)))
    }

    /// A mirror (static) pod, managed by the kubelet.
    pub fn is_mirror(&self) -> bool {
        self.annotations.contains_key(MIRROR_POD)
            || self.owner.as_ref().is_some_and(|o| o.kind == "Node")
    }

    /// A pod owned by a DaemonSet.
    pub fn is_daemonset_pod(&self) -> bool {
        self.owner.as_ref().is_some_and(|o| o.kind == "DaemonSet")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(cpu: i64, mem: i64) -> Container {
        Container {
            requests: Resources::new(cpu, mem),
            ..Container::default()
        }
    }

    #[test]
    fn effective_requests_follow_kubernetes_rules() {
        let mut pod: Pod = serde_json::from_str(r#"{"name":"p"}"#).unwrap();
        pod.containers = vec![c(100, 10), c(200, 20)];
        pod.init_containers = vec![c(500, 5)];
        pod.overhead = Resources::new(10, 1);
        let r = pod.effective_requests();
        // cpu: max(300, 500) + 10; memory: max(30, 5) + 1.
        assert_eq!((r.cpu_milli, r.memory, r.pods), (510, 31, 1));
    }

    #[test]
    fn sidecars_add_to_regular_containers_and_later_inits() {
        let mut pod: Pod = serde_json::from_str(r#"{"name":"p"}"#).unwrap();
        let mut sidecar = c(100, 100);
        sidecar.restart_policy = Some("Always".into());
        pod.init_containers = vec![sidecar, c(250, 0)];
        pod.containers = vec![c(100, 50)];
        let r = pod.effective_requests();
        // regular + sidecar = 200 cpu, 150 mem; init after sidecar = 350 cpu, 100 mem.
        assert_eq!((r.cpu_milli, r.memory), (350, 150));
    }

    #[test]
    fn toleration_semantics() {
        let taint = Taint {
            key: "gpu".into(),
            value: "true".into(),
            effect: TaintEffect::NoSchedule,
        };
        let exists_all = Toleration {
            operator: Some(TolerationOperator::Exists),
            ..Toleration::default()
        };
        let equal = Toleration {
            key: "gpu".into(),
            value: "true".into(),
            ..Toleration::default()
        };
        let wrong_effect = Toleration {
            key: "gpu".into(),
            value: "true".into(),
            effect: Some(TaintEffect::NoExecute),
            ..Toleration::default()
        };
        assert!(exists_all.tolerates(&taint));
        assert!(equal.tolerates(&taint));
        assert!(!wrong_effect.tolerates(&taint));
    }
}
