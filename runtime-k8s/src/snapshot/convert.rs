//! Conversions of single Kubernetes objects (k8s-openapi types) into the engine's model types.
//!
//! Each function either returns the model object or a `ConvertError` naming the object and the
//! field that could not be read; the builder turns errors into warnings and skips the object.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet as K8sDaemonSet;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::policy::v1::PodDisruptionBudget as K8sPdb;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use vpsie_engine::model::node::{LABEL_NODE_GROUP, LABEL_ZONE};
use vpsie_engine::model::pod::{
    Affinity, TolerationOperator, TopologySpreadConstraint, WhenUnsatisfiable,
};
use vpsie_engine::model::selector::{
    LabelOperator, LabelSelectorRequirement, NodeSelectorOperator, NodeSelectorRequirement,
};
use vpsie_engine::model::snapshot::IntOrPercent;
use vpsie_engine::model::{
    Container, ContainerPort, DaemonSet, LabelSelector, Node, NodeSelectorTerm, OwnerRef, Pod,
    PodAffinityTerm, PodDisruptionBudget, Resources, Taint, TaintEffect, Toleration, Volume,
};

/// An object that could not be converted: which one, which field, what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {name}: field `{field}`: {message}")]
pub struct ConvertError {
    pub kind: &'static str,
    pub name: String,
    pub field: String,
    pub message: String,
}

struct Ctx<'a> {
    kind: &'static str,
    name: &'a str,
}

impl Ctx<'_> {
    fn err(&self, field: impl Into<String>, message: impl Into<String>) -> ConvertError {
        ConvertError {
            kind: self.kind,
            name: self.name.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Milliseconds since the Unix epoch of a Kubernetes timestamp.
pub fn time_ms(t: &meta::Time) -> i64 {
    t.0.as_millisecond()
}

fn key_of(meta: &meta::ObjectMeta) -> String {
    match &meta.namespace {
        Some(ns) => format!("{ns}/{}", meta.name.as_deref().unwrap_or("")),
        None => meta.name.clone().unwrap_or_default(),
    }
}

fn resources(
    ctx: &Ctx<'_>,
    field: &str,
    list: Option<&BTreeMap<String, Quantity>>,
) -> Result<Resources, ConvertError> {
    let Some(list) = list else {
        return Ok(Resources::default());
    };
    Resources::from_quantity_map(list.iter().map(|(k, v)| (k.as_str(), v.0.as_str())))
        .map_err(|e| ctx.err(field, e.to_string()))
}

fn taint_effect(ctx: &Ctx<'_>, field: &str, effect: &str) -> Result<TaintEffect, ConvertError> {
    match effect {
        "NoSchedule" => Ok(TaintEffect::NoSchedule),
        "PreferNoSchedule" => Ok(TaintEffect::PreferNoSchedule),
        "NoExecute" => Ok(TaintEffect::NoExecute),
        other => Err(ctx.err(field, format!("unknown taint effect `{other}`"))),
    }
}

/// Converts a node taint.
pub fn taint(t: &core::Taint, node: &str, index: usize) -> Result<Taint, ConvertError> {
    let ctx = Ctx {
        kind: "Node",
        name: node,
    };
    Ok(Taint {
        key: t.key.clone(),
        value: t.value.clone().unwrap_or_default(),
        effect: taint_effect(&ctx, &format!("spec.taints[{index}].effect"), &t.effect)?,
    })
}

/// Converts a Node. `group_of_node` names the node group from outside the labels (a VPSieNode
/// that recorded this node), used when the node lacks the group label.
pub fn node(n: &core::Node, group_of_node: Option<&str>) -> Result<Node, ConvertError> {
    let name = n.metadata.name.clone().unwrap_or_default();
    let ctx = Ctx {
        kind: "Node",
        name: &name,
    };
    let labels = n.metadata.labels.clone().unwrap_or_default();
    let spec = n.spec.as_ref();
    let status = n.status.as_ref();
    let taints = spec
        .and_then(|s| s.taints.as_ref())
        .map(|ts| {
            ts.iter()
                .enumerate()
                .map(|(i, t)| taint(t, &name, i))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let allocatable = resources(
        &ctx,
        "status.allocatable",
        status.and_then(|s| s.allocatable.as_ref()),
    )?;
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    let node_group = labels
        .get(LABEL_NODE_GROUP)
        .cloned()
        .or_else(|| group_of_node.map(str::to_string));
    Ok(Node {
        zone: labels.get(LABEL_ZONE).cloned(),
        name,
        annotations: n.metadata.annotations.clone().unwrap_or_default(),
        taints,
        allocatable,
        unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
        ready,
        node_group,
        created_at_ms: n.metadata.creation_timestamp.as_ref().map(time_ms),
        labels,
    })
}

/// Converts a label selector.
pub fn label_selector(
    ctx_kind: &'static str,
    name: &str,
    field: &str,
    s: &meta::LabelSelector,
) -> Result<LabelSelector, ConvertError> {
    let ctx = Ctx {
        kind: ctx_kind,
        name,
    };
    let mut match_expressions = Vec::new();
    for (i, e) in s.match_expressions.iter().flatten().enumerate() {
        let operator = match e.operator.as_str() {
            "In" => LabelOperator::In,
            "NotIn" => LabelOperator::NotIn,
            "Exists" => LabelOperator::Exists,
            "DoesNotExist" => LabelOperator::DoesNotExist,
            other => {
                return Err(ctx.err(
                    format!("{field}.matchExpressions[{i}].operator"),
                    format!("unknown label selector operator `{other}`"),
                ));
            }
        };
        match_expressions.push(LabelSelectorRequirement {
            key: e.key.clone(),
            operator,
            values: e.values.clone().unwrap_or_default(),
        });
    }
    Ok(LabelSelector {
        match_labels: s.match_labels.clone().unwrap_or_default(),
        match_expressions,
    })
}

fn node_selector_term(
    ctx: &Ctx<'_>,
    field: &str,
    t: &core::NodeSelectorTerm,
) -> Result<NodeSelectorTerm, ConvertError> {
    let mut out = Vec::new();
    let requirement = |i: usize, r: &core::NodeSelectorRequirement, key: String, which: &str| {
        let operator = match r.operator.as_str() {
            "In" => NodeSelectorOperator::In,
            "NotIn" => NodeSelectorOperator::NotIn,
            "Exists" => NodeSelectorOperator::Exists,
            "DoesNotExist" => NodeSelectorOperator::DoesNotExist,
            "Gt" => NodeSelectorOperator::Gt,
            "Lt" => NodeSelectorOperator::Lt,
            other => {
                return Err(ctx.err(
                    format!("{field}.{which}[{i}].operator"),
                    format!("unknown node selector operator `{other}`"),
                ));
            }
        };
        Ok(NodeSelectorRequirement {
            key,
            operator,
            values: r.values.clone().unwrap_or_default(),
        })
    };
    for (i, r) in t.match_expressions.iter().flatten().enumerate() {
        out.push(requirement(i, r, r.key.clone(), "matchExpressions")?);
    }
    // matchFields supports only `metadata.name`; the node's hostname label carries its name.
    for (i, r) in t.match_fields.iter().flatten().enumerate() {
        if r.key != "metadata.name" {
            return Err(ctx.err(
                format!("{field}.matchFields[{i}].key"),
                format!("unsupported field `{}` (only metadata.name)", r.key),
            ));
        }
        out.push(requirement(
            i,
            r,
            vpsie_engine::model::node::LABEL_HOSTNAME.to_string(),
            "matchFields",
        )?);
    }
    Ok(NodeSelectorTerm {
        match_expressions: out,
    })
}

fn affinity_terms(
    ctx: &Ctx<'_>,
    field: &str,
    terms: Option<&Vec<core::PodAffinityTerm>>,
) -> Result<Vec<PodAffinityTerm>, ConvertError> {
    let mut out = Vec::new();
    for (i, t) in terms.into_iter().flatten().enumerate() {
        let label_selector = match &t.label_selector {
            Some(s) => label_selector(
                ctx.kind,
                ctx.name,
                &format!("{field}[{i}].labelSelector"),
                s,
            )?,
            // A term without a selector matches no pods (Kubernetes semantics).
            None => LabelSelector {
                match_expressions: vec![LabelSelectorRequirement {
                    key: "autoscaler.vpsie.com/matches-nothing".into(),
                    operator: LabelOperator::Exists,
                    values: Vec::new(),
                }],
                ..LabelSelector::default()
            },
        };
        out.push(PodAffinityTerm {
            label_selector,
            namespaces: t.namespaces.clone().unwrap_or_default(),
            topology_key: t.topology_key.clone(),
        });
    }
    Ok(out)
}

fn affinity(ctx: &Ctx<'_>, a: Option<&core::Affinity>) -> Result<Affinity, ConvertError> {
    let Some(a) = a else {
        return Ok(Affinity::default());
    };
    let mut out = Affinity::default();
    if let Some(sel) = a.node_affinity.as_ref().and_then(|n| {
        n.required_during_scheduling_ignored_during_execution
            .as_ref()
    }) {
        for (i, t) in sel.node_selector_terms.iter().enumerate() {
            out.node_affinity.push(node_selector_term(
                ctx,
                &format!("spec.affinity.nodeAffinity.required.nodeSelectorTerms[{i}]"),
                t,
            )?);
        }
    }
    out.pod_affinity = affinity_terms(
        ctx,
        "spec.affinity.podAffinity.required",
        a.pod_affinity.as_ref().and_then(|p| {
            p.required_during_scheduling_ignored_during_execution
                .as_ref()
        }),
    )?;
    out.pod_anti_affinity = affinity_terms(
        ctx,
        "spec.affinity.podAntiAffinity.required",
        a.pod_anti_affinity.as_ref().and_then(|p| {
            p.required_during_scheduling_ignored_during_execution
                .as_ref()
        }),
    )?;
    Ok(out)
}

fn tolerations(
    ctx: &Ctx<'_>,
    ts: Option<&Vec<core::Toleration>>,
) -> Result<Vec<Toleration>, ConvertError> {
    let mut out = Vec::new();
    for (i, t) in ts.into_iter().flatten().enumerate() {
        let operator = match t.operator.as_deref() {
            None => None,
            Some("Equal") => Some(TolerationOperator::Equal),
            Some("Exists") => Some(TolerationOperator::Exists),
            Some(other) => {
                return Err(ctx.err(
                    format!("spec.tolerations[{i}].operator"),
                    format!("unknown toleration operator `{other}`"),
                ));
            }
        };
        let effect = match t.effect.as_deref() {
            None | Some("") => None,
            Some(e) => Some(taint_effect(
                ctx,
                &format!("spec.tolerations[{i}].effect"),
                e,
            )?),
        };
        out.push(Toleration {
            key: t.key.clone().unwrap_or_default(),
            operator,
            value: t.value.clone().unwrap_or_default(),
            effect,
        });
    }
    Ok(out)
}

fn container(ctx: &Ctx<'_>, field: &str, c: &core::Container) -> Result<Container, ConvertError> {
    let reqs = c.resources.as_ref();
    let mut requests = resources(
        ctx,
        &format!("{field}.resources.requests"),
        reqs.and_then(|r| r.requests.as_ref()),
    )?;
    // The API server defaults a missing request to its limit; do the same for objects that
    // did not pass admission (recorded files, tests).
    let limits = resources(
        ctx,
        &format!("{field}.resources.limits"),
        reqs.and_then(|r| r.limits.as_ref()),
    )?;
    for (name, _) in reqs.and_then(|r| r.limits.as_ref()).into_iter().flatten() {
        let present = reqs
            .and_then(|r| r.requests.as_ref())
            .is_some_and(|m| m.contains_key(name));
        if !present {
            requests.set(name, limits.get(name));
        }
    }
    let mut ports = Vec::new();
    for (i, p) in c.ports.iter().flatten().enumerate() {
        let host_port = match p.host_port {
            None | Some(0) => None,
            Some(hp) => Some(u16::try_from(hp).map_err(|_| {
                ctx.err(
                    format!("{field}.ports[{i}].hostPort"),
                    format!("{hp} is not a port number"),
                )
            })?),
        };
        ports.push(ContainerPort {
            container_port: u16::try_from(p.container_port).ok(),
            host_port,
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_string()),
            host_ip: p.host_ip.clone().unwrap_or_default(),
        });
    }
    Ok(Container {
        name: c.name.clone(),
        requests,
        ports,
        restart_policy: c.restart_policy.clone(),
    })
}

fn containers(
    ctx: &Ctx<'_>,
    field: &str,
    cs: Option<&Vec<core::Container>>,
) -> Result<Vec<Container>, ConvertError> {
    cs.into_iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| container(ctx, &format!("{field}[{i}]"), c))
        .collect()
}

fn spread(
    ctx: &Ctx<'_>,
    cs: Option<&Vec<core::TopologySpreadConstraint>>,
) -> Result<Vec<TopologySpreadConstraint>, ConvertError> {
    let mut out = Vec::new();
    for (i, c) in cs.into_iter().flatten().enumerate() {
        let field = format!("spec.topologySpreadConstraints[{i}]");
        let when_unsatisfiable = match c.when_unsatisfiable.as_str() {
            "DoNotSchedule" => WhenUnsatisfiable::DoNotSchedule,
            "ScheduleAnyway" => WhenUnsatisfiable::ScheduleAnyway,
            other => {
                return Err(ctx.err(
                    format!("{field}.whenUnsatisfiable"),
                    format!("unknown value `{other}`"),
                ));
            }
        };
        let label_selector = match &c.label_selector {
            Some(s) => label_selector(ctx.kind, ctx.name, &format!("{field}.labelSelector"), s)?,
            None => LabelSelector::default(),
        };
        out.push(TopologySpreadConstraint {
            max_skew: c.max_skew,
            topology_key: c.topology_key.clone(),
            when_unsatisfiable,
            label_selector,
            min_domains: c.min_domains,
        });
    }
    Ok(out)
}

fn volumes(vs: Option<&Vec<core::Volume>>) -> Vec<Volume> {
    vs.into_iter()
        .flatten()
        .map(|v| {
            let name = v.name.clone();
            if let Some(e) = &v.empty_dir {
                Volume::EmptyDir {
                    name,
                    medium: e.medium.clone().filter(|m| !m.is_empty()),
                }
            } else if v.host_path.is_some() {
                Volume::HostPath { name }
            } else {
                Volume::Other { name }
            }
        })
        .collect()
}

fn owner(refs: Option<&Vec<meta::OwnerReference>>) -> Option<OwnerRef> {
    let refs = refs?;
    refs.iter()
        .find(|r| r.controller == Some(true))
        .or_else(|| refs.first())
        .map(|r| OwnerRef {
            kind: r.kind.clone(),
            name: r.name.clone(),
        })
}

/// Whether a pod still occupies or wants capacity (not Succeeded/Failed).
pub fn pod_is_active(p: &core::Pod) -> bool {
    !matches!(
        p.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// Whether a pod is Ready (its Ready condition is True).
pub fn pod_is_ready(p: &core::Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

/// Converts a Pod.
pub fn pod(p: &core::Pod) -> Result<Pod, ConvertError> {
    let key = key_of(&p.metadata);
    let ctx = Ctx {
        kind: "Pod",
        name: &key,
    };
    let default_spec = core::PodSpec::default();
    let spec = p.spec.as_ref().unwrap_or(&default_spec);
    Ok(Pod {
        name: p.metadata.name.clone().unwrap_or_default(),
        namespace: p
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string()),
        labels: p.metadata.labels.clone().unwrap_or_default(),
        annotations: p.metadata.annotations.clone().unwrap_or_default(),
        containers: containers(&ctx, "spec.containers", Some(&spec.containers))?,
        init_containers: containers(&ctx, "spec.initContainers", spec.init_containers.as_ref())?,
        overhead: resources(&ctx, "spec.overhead", spec.overhead.as_ref())?,
        node_name: spec.node_name.clone().filter(|n| !n.is_empty()),
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        affinity: affinity(&ctx, spec.affinity.as_ref())?,
        tolerations: tolerations(&ctx, spec.tolerations.as_ref())?,
        topology_spread_constraints: spread(&ctx, spec.topology_spread_constraints.as_ref())?,
        owner: owner(p.metadata.owner_references.as_ref()),
        priority: spec.priority.unwrap_or(0),
        volumes: volumes(spec.volumes.as_ref()),
        created_at_ms: p.metadata.creation_timestamp.as_ref().map(time_ms),
        termination_grace_period_seconds: spec.termination_grace_period_seconds,
    })
}

fn int_or_percent(v: &IntOrString) -> IntOrPercent {
    match v {
        IntOrString::Int(i) => IntOrPercent::Int(*i),
        IntOrString::String(s) => IntOrPercent::Percent(s.clone()),
    }
}

/// Converts a PodDisruptionBudget.
pub fn pdb(p: &K8sPdb) -> Result<PodDisruptionBudget, ConvertError> {
    let key = key_of(&p.metadata);
    let spec = p.spec.clone().unwrap_or_default();
    let selector = match &spec.selector {
        Some(s) => label_selector("PodDisruptionBudget", &key, "spec.selector", s)?,
        None => LabelSelector::default(),
    };
    Ok(PodDisruptionBudget {
        name: p.metadata.name.clone().unwrap_or_default(),
        namespace: p
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string()),
        selector,
        min_available: spec.min_available.as_ref().map(int_or_percent),
        max_unavailable: spec.max_unavailable.as_ref().map(int_or_percent),
        disruptions_allowed: p.status.as_ref().map(|s| s.disruptions_allowed),
    })
}

/// Converts a DaemonSet (its pod template).
pub fn daemon_set(d: &K8sDaemonSet) -> Result<DaemonSet, ConvertError> {
    let key = key_of(&d.metadata);
    let ctx = Ctx {
        kind: "DaemonSet",
        name: &key,
    };
    let default_spec = core::PodSpec::default();
    let spec = d
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .unwrap_or(&default_spec);
    Ok(DaemonSet {
        name: d.metadata.name.clone().unwrap_or_default(),
        namespace: d
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string()),
        containers: containers(
            &ctx,
            "spec.template.spec.containers",
            Some(&spec.containers),
        )?,
        init_containers: containers(
            &ctx,
            "spec.template.spec.initContainers",
            spec.init_containers.as_ref(),
        )?,
        overhead: resources(&ctx, "spec.template.spec.overhead", spec.overhead.as_ref())?,
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        affinity: affinity(&ctx, spec.affinity.as_ref())?,
        tolerations: tolerations(&ctx, spec.tolerations.as_ref())?,
    })
}
