//! Semantic validation of a parsed snapshot: every inconsistency, named by object and field.
//!
//! Parsing (see `load`) already rejects unknown fields, wrong types and malformed or negative
//! quantities. What remains are rules that span fields or objects: references to things that do
//! not exist, duplicates, impossible bounds, operator/value mismatches. Validation never stops at
//! the first problem: a user fixing a snapshot wants the whole list at once.

use std::collections::BTreeMap;
use std::fmt;

use super::group::{DaemonSet, InFlightNode, NodeGroup, VpsieSize};
use super::node::{Node, Taint};
use super::pod::{
    Affinity, Container, Pod, PodAffinityTerm, Toleration, TolerationOperator,
    TopologySpreadConstraint,
};
use super::selector::{
    LabelOperator, LabelSelector, NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm,
};
use super::snapshot::{ClusterSnapshot, IntOrPercent, PodDisruptionBudget, SNAPSHOT_VERSION};

/// One semantic problem: which object, which field (relative to the object), what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The object, as a user would name it: `pod default/web-1`, `node worker-3`,
    /// `nodeGroup gpu`, `size K8S-4C-8G`, or `snapshot` for top-level fields.
    pub object: String,
    /// Field path inside the object in the file's spelling, e.g. `affinity.nodeAffinity[0]`.
    pub field: String,
    /// What is wrong, as a sentence fragment.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: field {}: {}", self.object, self.field, self.message)
    }
}

impl ClusterSnapshot {
    /// Every semantic problem of the snapshot, in document order. Empty means valid.
    pub fn problems(&self) -> Vec<Problem> {
        validate(self)
    }
}

/// Checks every cross-field and cross-object rule of the snapshot format.
pub fn validate(s: &ClusterSnapshot) -> Vec<Problem> {
    let mut v = Validator::default();
    if s.version != SNAPSHOT_VERSION {
        v.push(
            "snapshot".to_string(),
            "version",
            format!(
                "unknown snapshot version {} (this build reads version {SNAPSHOT_VERSION})",
                s.version
            ),
        );
    }
    let size_names: BTreeMap<&str, usize> = first_index(s.sizes.iter().map(|z| z.name.as_str()));
    let group_names: BTreeMap<&str, usize> =
        first_index(s.node_groups.iter().map(|g| g.name.as_str()));
    let node_names: BTreeMap<&str, usize> = first_index(s.nodes.iter().map(|n| n.name.as_str()));
    let in_flight_names: BTreeMap<&str, usize> =
        first_index(s.in_flight.iter().map(|n| n.name.as_str()));
    let mut size_ids: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, size) in s.sizes.iter().enumerate() {
        size_ids.entry(size.id).or_insert(i);
    }

    for (i, size) in s.sizes.iter().enumerate() {
        v.size(i, size, &s.sizes, &size_names, &size_ids);
    }
    for (i, group) in s.node_groups.iter().enumerate() {
        v.group(i, group, &group_names, &size_names);
    }
    // Groups sharing a maximum must agree on it.
    let mut shared: BTreeMap<&str, (usize, u32)> = BTreeMap::new();
    for (i, group) in s.node_groups.iter().enumerate() {
        let Some(sm) = &group.shared_max else {
            continue;
        };
        match shared.get(sm.name.as_str()) {
            Some(&(first, max)) if max != sm.max => v.push(
                named("nodeGroup", "nodeGroups", i, &group.name),
                "sharedMax.max",
                format!(
                    "{} differs from the max {max} nodeGroups[{first}] gives the shared maximum {:?}",
                    sm.max, sm.name
                ),
            ),
            Some(_) => {}
            None => {
                shared.insert(&sm.name, (i, sm.max));
            }
        }
    }
    for (i, node) in s.nodes.iter().enumerate() {
        v.node(i, node, &node_names, &group_names);
    }
    let mut pod_keys: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, pod) in s.pods.iter().enumerate() {
        let object = named("pod", "pods", i, &pod_display(&pod.namespace, &pod.name));
        if let Some(first) = pod_keys.get(&(pod.namespace.as_str(), pod.name.as_str())) {
            v.push(
                object.clone(),
                "name",
                format!("duplicate pod {} (first at pods[{first}])", pod.key()),
            );
        } else {
            pod_keys.insert((pod.namespace.as_str(), pod.name.as_str()), i);
        }
        v.pod(&object, pod, &node_names);
    }
    let mut pdb_keys: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, pdb) in s.pdbs.iter().enumerate() {
        let object = named("pdb", "pdbs", i, &pod_display(&pdb.namespace, &pdb.name));
        if let Some(first) = pdb_keys.get(&(pdb.namespace.as_str(), pdb.name.as_str())) {
            v.push(
                object.clone(),
                "name",
                format!(
                    "duplicate PodDisruptionBudget {}/{} (first at pdbs[{first}])",
                    pdb.namespace, pdb.name
                ),
            );
        } else {
            pdb_keys.insert((pdb.namespace.as_str(), pdb.name.as_str()), i);
        }
        v.pdb(&object, pdb);
    }
    let mut ds_keys: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, ds) in s.daemon_sets.iter().enumerate() {
        let object = named(
            "daemonSet",
            "daemonSets",
            i,
            &pod_display(&ds.namespace, &ds.name),
        );
        if let Some(first) = ds_keys.get(&(ds.namespace.as_str(), ds.name.as_str())) {
            v.push(
                object.clone(),
                "name",
                format!(
                    "duplicate DaemonSet {}/{} (first at daemonSets[{first}])",
                    ds.namespace, ds.name
                ),
            );
        } else {
            ds_keys.insert((ds.namespace.as_str(), ds.name.as_str()), i);
        }
        v.daemon_set(&object, ds);
    }
    for (i, node) in s.in_flight.iter().enumerate() {
        v.in_flight(i, node, &in_flight_names, &group_names);
    }
    v.resources_names("snapshot", "systemReserved", &s.system_reserved);
    for (i, zone) in s.zones.iter().enumerate() {
        if zone.is_empty() {
            v.push(
                "snapshot".to_string(),
                &format!("zones[{i}]"),
                "empty zone name",
            );
        } else if s.zones[..i].contains(zone) {
            v.push(
                "snapshot".to_string(),
                &format!("zones[{i}]"),
                format!("duplicate zone {zone:?}"),
            );
        }
    }
    v.problems
}

/// Index of the first occurrence of every name.
fn first_index<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut m = BTreeMap::new();
    for (i, name) in names.enumerate() {
        m.entry(name).or_insert(i);
    }
    m
}

/// `kind name`, or `kind list[i]` when the name is empty.
fn named(kind: &str, list: &str, index: usize, name: &str) -> String {
    if name.is_empty() {
        format!("{kind} {list}[{index}]")
    } else {
        format!("{kind} {name}")
    }
}

/// `namespace/name`, or empty when the name is empty (so `named` falls back to the index).
fn pod_display(namespace: &str, name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!("{namespace}/{name}")
    }
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    fn push(&mut self, object: String, field: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            object,
            field: field.to_string(),
            message: message.into(),
        });
    }

    fn size(
        &mut self,
        i: usize,
        size: &VpsieSize,
        all: &[VpsieSize],
        names: &BTreeMap<&str, usize>,
        ids: &BTreeMap<u32, usize>,
    ) {
        let object = named("size", "sizes", i, &size.name);
        if size.name.is_empty() {
            self.push(object.clone(), "name", "empty name");
        } else if let Some(&first) = names.get(size.name.as_str())
            && first != i
        {
            self.push(
                object.clone(),
                "name",
                format!("duplicate size name (first at sizes[{first}])"),
            );
        }
        if let Some(&first) = ids.get(&size.id)
            && first != i
        {
            self.push(
                object.clone(),
                "id",
                format!(
                    "duplicate size id {} (also size {:?} at sizes[{first}])",
                    size.id, all[first].name
                ),
            );
        }
        if size.vcpu == 0 {
            self.push(object.clone(), "vcpu", "must be at least 1");
        }
        if size.ram_mb == 0 {
            self.push(object.clone(), "ramMb", "must be at least 1");
        }
        if !size.hourly_price.is_finite() || size.hourly_price < 0.0 {
            self.push(
                object.clone(),
                "hourlyPrice",
                format!(
                    "price {} is not a non-negative number of USD per hour",
                    size.hourly_price
                ),
            );
        }
        if size.max_pods < 1 {
            self.push(
                object,
                "maxPods",
                format!("must be at least 1, got {}", size.max_pods),
            );
        }
    }

    fn group(
        &mut self,
        i: usize,
        group: &NodeGroup,
        all: &BTreeMap<&str, usize>,
        sizes: &BTreeMap<&str, usize>,
    ) {
        let object = named("nodeGroup", "nodeGroups", i, &group.name);
        if group.name.is_empty() {
            self.push(object.clone(), "name", "empty name");
        } else if let Some(&first) = all.get(group.name.as_str())
            && first != i
        {
            self.push(
                object.clone(),
                "name",
                format!("duplicate node group name (first at nodeGroups[{first}])"),
            );
        }
        if !sizes.contains_key(group.size.as_str()) {
            self.push(
                object.clone(),
                "size",
                format!("size {:?} is not in the size catalogue (sizes)", group.size),
            );
        }
        if group.min > group.max {
            self.push(
                object.clone(),
                "min",
                format!("min {} is greater than max {}", group.min, group.max),
            );
        }
        self.labels(&object, "labels", &group.labels);
        for (t, taint) in group.taints.iter().enumerate() {
            self.taint(&object, &format!("taints[{t}]"), taint);
        }
        if let Some(reserved) = &group.system_reserved {
            self.resources_names(&object, "systemReserved", reserved);
        }
        if let Some(threshold) = group.scale_down_utilization_threshold
            && !(0.0..=1.0).contains(&threshold)
        {
            self.push(
                object,
                "scaleDownUtilizationThreshold",
                format!("{threshold} is not a fraction between 0 and 1"),
            );
        }
    }

    fn node(
        &mut self,
        i: usize,
        node: &Node,
        all: &BTreeMap<&str, usize>,
        groups: &BTreeMap<&str, usize>,
    ) {
        let object = named("node", "nodes", i, &node.name);
        if node.name.is_empty() {
            self.push(object.clone(), "name", "empty name");
        } else if let Some(&first) = all.get(node.name.as_str())
            && first != i
        {
            self.push(
                object.clone(),
                "name",
                format!("duplicate node name (first at nodes[{first}])"),
            );
        }
        if let Some(group) = &node.node_group
            && !groups.contains_key(group.as_str())
        {
            self.push(
                object.clone(),
                "nodeGroup",
                format!("node group {group:?} is not in nodeGroups"),
            );
        }
        if node.zone.as_deref() == Some("") {
            self.push(
                object.clone(),
                "zone",
                "empty zone (omit the field instead)",
            );
        }
        self.labels(&object, "labels", &node.labels);
        for (t, taint) in node.taints.iter().enumerate() {
            self.taint(&object, &format!("taints[{t}]"), taint);
        }
        self.resources_names(&object, "allocatable", &node.allocatable);
    }

    fn pod(&mut self, object: &str, pod: &Pod, nodes: &BTreeMap<&str, usize>) {
        let object = object.to_string();
        if pod.name.is_empty() {
            self.push(object.clone(), "name", "empty name");
        }
        if pod.namespace.is_empty() {
            self.push(object.clone(), "namespace", "empty namespace");
        }
        if let Some(node) = &pod.node_name
            && !nodes.contains_key(node.as_str())
        {
            self.push(
                object.clone(),
                "nodeName",
                format!("bound to node {node:?} which is not in the snapshot"),
            );
        }
        self.labels(&object, "labels", &pod.labels);
        self.containers(&object, "containers", &pod.containers);
        self.containers(&object, "initContainers", &pod.init_containers);
        self.resources_names(&object, "overhead", &pod.overhead);
        self.labels(&object, "nodeSelector", &pod.node_selector);
        self.affinity(&object, &pod.affinity);
        self.tolerations(&object, &pod.tolerations);
        for (c, constraint) in pod.topology_spread_constraints.iter().enumerate() {
            self.spread(
                &object,
                &format!("topologySpreadConstraints[{c}]"),
                constraint,
            );
        }
        if let Some(owner) = &pod.owner {
            if owner.kind.is_empty() {
                self.push(object.clone(), "owner.kind", "empty owner kind");
            }
            if owner.name.is_empty() {
                self.push(object.clone(), "owner.name", "empty owner name");
            }
        }
        if let Some(grace) = pod.termination_grace_period_seconds
            && grace < 0
        {
            self.push(
                object,
                "terminationGracePeriodSeconds",
                format!("must be zero or more, got {grace}"),
            );
        }
    }

    fn pdb(&mut self, object: &str, pdb: &PodDisruptionBudget) {
        let object = object.to_string();
        if pdb.name.is_empty() {
            self.push(object.clone(), "name", "empty name");
        }
        if pdb.namespace.is_empty() {
            self.push(object.clone(), "namespace", "empty namespace");
        }
        self.label_selector(&object, "selector", &pdb.selector);
        if pdb.min_available.is_some() && pdb.max_unavailable.is_some() {
            self.push(
                object.clone(),
                "maxUnavailable",
                "minAvailable and maxUnavailable are mutually exclusive",
            );
        }
        for (field, value) in [
            ("minAvailable", &pdb.min_available),
            ("maxUnavailable", &pdb.max_unavailable),
        ] {
            if let Some(value) = value
                && let Err(message) = check_int_or_percent(value)
            {
                self.push(object.clone(), field, message);
            }
        }
        if let Some(allowed) = pdb.disruptions_allowed
            && allowed < 0
        {
            self.push(
                object,
                "disruptionsAllowed",
                format!("must be zero or more, got {allowed}"),
            );
        }
    }

    fn daemon_set(&mut self, object: &str, ds: &DaemonSet) {
        let object = object.to_string();
        if ds.name.is_empty() {
            self.push(object.clone(), "name", "empty name");
        }
        if ds.namespace.is_empty() {
            self.push(object.clone(), "namespace", "empty namespace");
        }
        self.containers(&object, "containers", &ds.containers);
        self.containers(&object, "initContainers", &ds.init_containers);
        self.resources_names(&object, "overhead", &ds.overhead);
        self.labels(&object, "nodeSelector", &ds.node_selector);
        self.affinity(&object, &ds.affinity);
        self.tolerations(&object, &ds.tolerations);
    }

    fn in_flight(
        &mut self,
        i: usize,
        node: &InFlightNode,
        all: &BTreeMap<&str, usize>,
        groups: &BTreeMap<&str, usize>,
    ) {
        let object = named("inFlight", "inFlight", i, &node.name);
        if node.name.is_empty() {
            self.push(object.clone(), "name", "empty name");
        } else if let Some(&first) = all.get(node.name.as_str())
            && first != i
        {
            self.push(
                object.clone(),
                "name",
                format!("duplicate in-flight node name (first at inFlight[{first}])"),
            );
        }
        if !groups.contains_key(node.node_group.as_str()) {
            self.push(
                object,
                "nodeGroup",
                format!("node group {:?} is not in nodeGroups", node.node_group),
            );
        }
    }

    fn labels(&mut self, object: &str, field: &str, labels: &BTreeMap<String, String>) {
        if labels.contains_key("") {
            self.push(object.to_string(), field, "empty label key");
        }
    }

    fn taint(&mut self, object: &str, field: &str, taint: &Taint) {
        if taint.key.is_empty() {
            self.push(
                object.to_string(),
                &format!("{field}.key"),
                "empty taint key",
            );
        }
    }

    fn containers(&mut self, object: &str, field: &str, containers: &[Container]) {
        for (c, container) in containers.iter().enumerate() {
            let at = format!("{field}[{c}]");
            self.resources_names(object, &format!("{at}.requests"), &container.requests);
            for (p, port) in container.ports.iter().enumerate() {
                if !matches!(port.protocol.as_str(), "TCP" | "UDP" | "SCTP") {
                    self.push(
                        object.to_string(),
                        &format!("{at}.ports[{p}].protocol"),
                        format!(
                            "unknown protocol {:?} (expected TCP, UDP or SCTP)",
                            port.protocol
                        ),
                    );
                }
            }
            if let Some(policy) = &container.restart_policy
                && policy != "Always"
            {
                self.push(
                    object.to_string(),
                    &format!("{at}.restartPolicy"),
                    format!("unknown restart policy {policy:?} (only Always is allowed)"),
                );
            }
        }
    }

    /// Quantities were parsed already; only the names remain to be checked.
    fn resources_names(&mut self, object: &str, field: &str, r: &super::Resources) {
        if r.extended.iter().any(|(name, _)| name.is_empty()) {
            self.push(object.to_string(), field, "empty resource name");
        }
    }

    fn affinity(&mut self, object: &str, affinity: &Affinity) {
        for (t, term) in affinity.node_affinity.iter().enumerate() {
            self.node_selector_term(object, &format!("affinity.nodeAffinity[{t}]"), term);
        }
        for (t, term) in affinity.pod_affinity.iter().enumerate() {
            self.pod_affinity_term(object, &format!("affinity.podAffinity[{t}]"), term);
        }
        for (t, term) in affinity.pod_anti_affinity.iter().enumerate() {
            self.pod_affinity_term(object, &format!("affinity.podAntiAffinity[{t}]"), term);
        }
    }

    fn node_selector_term(&mut self, object: &str, field: &str, term: &NodeSelectorTerm) {
        for (r, req) in term.match_expressions.iter().enumerate() {
            self.node_selector_requirement(object, &format!("{field}.matchExpressions[{r}]"), req);
        }
    }

    fn node_selector_requirement(
        &mut self,
        object: &str,
        field: &str,
        req: &NodeSelectorRequirement,
    ) {
        if req.key.is_empty() {
            self.push(object.to_string(), &format!("{field}.key"), "empty key");
        }
        let values = format!("{field}.values");
        match req.operator {
            NodeSelectorOperator::In | NodeSelectorOperator::NotIn => {
                if req.values.is_empty() {
                    self.push(
                        object.to_string(),
                        &values,
                        format!("operator {:?} needs at least one value", req.operator),
                    );
                }
            }
            NodeSelectorOperator::Exists | NodeSelectorOperator::DoesNotExist => {
                if !req.values.is_empty() {
                    self.push(
                        object.to_string(),
                        &values,
                        format!("operator {:?} takes no values", req.operator),
                    );
                }
            }
            NodeSelectorOperator::Gt | NodeSelectorOperator::Lt => {
                if req.values.len() != 1 {
                    self.push(
                        object.to_string(),
                        &values,
                        format!(
                            "operator {:?} needs exactly one integer value, got {}",
                            req.operator,
                            req.values.len()
                        ),
                    );
                } else if req.values[0].parse::<i64>().is_err() {
                    self.push(
                        object.to_string(),
                        &values,
                        format!(
                            "operator {:?} needs an integer value, got {:?}",
                            req.operator, req.values[0]
                        ),
                    );
                }
            }
        }
    }

    fn pod_affinity_term(&mut self, object: &str, field: &str, term: &PodAffinityTerm) {
        if term.topology_key.is_empty() {
            self.push(
                object.to_string(),
                &format!("{field}.topologyKey"),
                "empty topology key",
            );
        }
        self.label_selector(
            object,
            &format!("{field}.labelSelector"),
            &term.label_selector,
        );
    }

    fn label_selector(&mut self, object: &str, field: &str, selector: &LabelSelector) {
        self.labels(
            object,
            &format!("{field}.matchLabels"),
            &selector.match_labels,
        );
        for (r, req) in selector.match_expressions.iter().enumerate() {
            let at = format!("{field}.matchExpressions[{r}]");
            if req.key.is_empty() {
                self.push(object.to_string(), &format!("{at}.key"), "empty key");
            }
            let needs_values = matches!(req.operator, LabelOperator::In | LabelOperator::NotIn);
            if needs_values && req.values.is_empty() {
                self.push(
                    object.to_string(),
                    &format!("{at}.values"),
                    format!("operator {:?} needs at least one value", req.operator),
                );
            } else if !needs_values && !req.values.is_empty() {
                self.push(
                    object.to_string(),
                    &format!("{at}.values"),
                    format!("operator {:?} takes no values", req.operator),
                );
            }
        }
    }

    fn tolerations(&mut self, object: &str, tolerations: &[Toleration]) {
        for (t, tol) in tolerations.iter().enumerate() {
            let exists = tol.operator == Some(TolerationOperator::Exists);
            if exists && !tol.value.is_empty() {
                self.push(
                    object.to_string(),
                    &format!("tolerations[{t}].value"),
                    "operator Exists takes no value",
                );
            }
            if tol.key.is_empty() && !exists {
                self.push(
                    object.to_string(),
                    &format!("tolerations[{t}].operator"),
                    "an empty key needs operator Exists",
                );
            }
        }
    }

    fn spread(&mut self, object: &str, field: &str, c: &TopologySpreadConstraint) {
        if c.max_skew < 1 {
            self.push(
                object.to_string(),
                &format!("{field}.maxSkew"),
                format!("must be at least 1, got {}", c.max_skew),
            );
        }
        if c.topology_key.is_empty() {
            self.push(
                object.to_string(),
                &format!("{field}.topologyKey"),
                "empty topology key",
            );
        }
        if let Some(min) = c.min_domains
            && min < 1
        {
            self.push(
                object.to_string(),
                &format!("{field}.minDomains"),
                format!("must be at least 1, got {min}"),
            );
        }
        self.label_selector(object, &format!("{field}.labelSelector"), &c.label_selector);
    }
}

/// A PDB's `minAvailable`/`maxUnavailable`: a non-negative integer or `"N%"` with N in 0..=100.
fn check_int_or_percent(value: &IntOrPercent) -> Result<(), String> {
    match value {
        IntOrPercent::Int(n) if *n < 0 => Err(format!("must be zero or more, got {n}")),
        IntOrPercent::Int(_) => Ok(()),
        IntOrPercent::Percent(text) => {
            match text.strip_suffix('%').and_then(|n| n.parse::<u32>().ok()) {
                Some(n) if n <= 100 => Ok(()),
                _ => Err(format!(
                    "{text:?} is neither an integer nor a percentage between 0% and 100%"
                )),
            }
        }
    }
}
