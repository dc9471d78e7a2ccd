//! The executor: carries out the engine's actions against Kubernetes and VPSie, and reports
//! what happened as observations for the next step.
//!
//! Every action is idempotent (labels are set, not added; a missing Node or worker counts as
//! deleted), so repeating one after a crash or a re-issue is harmless. Drains run in tasks of
//! their own with a bounded duration and report `DrainFinished`/`DrainFailed` when done.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, EvictParams, ListParams, Patch, PatchParams};
use tokio::sync::mpsc;
use vpsie_engine::autoscaler::{Action, CloudErrorKind, Observation};
use vpsie_engine::model::node::LABEL_NODE_GROUP;
use vpsie_engine::model::{Taint, TaintEffect};

use crate::cloud::{CloudError, Vpsie};
use crate::metrics::Metrics;
use crate::snapshot::GroupBinding;

/// Annotation put on a node the autoscaler cordoned, so an operator sees why.
pub const CORDONED_BY: &str = "autoscaler.vpsie.com/cordoned";

/// Drain limits.
#[derive(Debug, Clone, Copy)]
pub struct DrainSettings {
    /// Longest a drain may take (evictions refused by PDBs are retried within it).
    pub timeout: Duration,
    /// Wait between eviction attempts of a pod a PDB protects.
    pub retry_interval: Duration,
    /// Wait between checks that evicted pods are gone.
    pub poll_interval: Duration,
}

impl Default for DrainSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            retry_interval: Duration::from_secs(5),
            poll_interval: Duration::from_secs(2),
        }
    }
}

/// What the executor needs to know about groups when it acts.
#[derive(Debug, Clone, Default)]
pub struct ActionContext {
    /// Engine group → binding (NodeGroup resource, cluster, labels, taints).
    pub bindings: BTreeMap<String, GroupBinding>,
    /// Engine group → numeric VPSie group id, as the loop knows it.
    pub group_ids: BTreeMap<String, i64>,
    /// Worker identifier → VPSie cluster identifier (from the records).
    pub worker_clusters: BTreeMap<String, String>,
}

impl ActionContext {
    fn cluster_of_group(&self, group: &str) -> Option<&str> {
        self.bindings
            .get(group)
            .map(|b| b.cluster_identifier.as_str())
    }
}

/// Carries out actions; results arrive on the observation channel.
pub struct Executor<V: Vpsie> {
    client: kube::Client,
    /// A client without the retry layer: a PDB refusal (HTTP 429) must come back at once.
    eviction_client: kube::Client,
    vpsie: Arc<V>,
    metrics: Arc<Metrics>,
    drain: DrainSettings,
    observations: mpsc::UnboundedSender<Observation>,
    /// Nodes with a drain task running (a re-issued Drain does not start a second one).
    draining: Arc<Mutex<BTreeSet<String>>>,
}

impl<V: Vpsie> std::fmt::Debug for Executor<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("drain", &self.drain)
            .finish_non_exhaustive()
    }
}

/// The kube client configuration for evictions: the same as `config` but without the default
/// retry layer, which would otherwise retry a PDB refusal (429) for minutes.
pub fn eviction_config(mut config: kube::Config) -> kube::Config {
    config.default_retry = false;
    config
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

fn cloud_outcome<T>(r: &Result<T, CloudError>) -> String {
    match r {
        Ok(_) => "ok".to_string(),
        Err(e) => e.kind.code().to_string(),
    }
}

impl<V: Vpsie> Executor<V> {
    pub fn new(
        client: kube::Client,
        eviction_client: kube::Client,
        vpsie: Arc<V>,
        metrics: Arc<Metrics>,
        drain: DrainSettings,
        observations: mpsc::UnboundedSender<Observation>,
    ) -> Self {
        Self {
            client,
            eviction_client,
            vpsie,
            metrics,
            drain,
            observations,
            draining: Arc::default(),
        }
    }

    /// Drain tasks still running (each reports `DrainFinished` or `DrainFailed` when done).
    pub fn drains_in_progress(&self) -> usize {
        self.draining
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    fn report(&self, obs: Observation) {
        // The receiver lives as long as the controller; a closed channel means shutdown.
        let _ = self.observations.send(obs);
    }

    /// Carries out one action. Errors of Kubernetes calls are logged and counted; the loop
    /// re-issues actions whose effect it does not see.
    pub async fn execute(&self, action: &Action, ctx: &ActionContext) {
        let kind = action.kind();
        let outcome = match action {
            Action::CreateGroup { group, size_id } => {
                self.create_group(group, *size_id, ctx).await;
                Ok(())
            }
            Action::AddWorker { group, request } => {
                self.add_worker(group, request, ctx).await;
                Ok(())
            }
            Action::LabelNode { node, group } => self.label_node(node, group, ctx).await,
            Action::Cordon { node } => self.set_unschedulable(node, true).await,
            Action::Uncordon { node } => self.set_unschedulable(node, false).await,
            Action::Drain { node, .. } => {
                self.start_drain(node);
                Ok(())
            }
            Action::DeleteNode { node } => self.delete_node(node).await,
            Action::DeleteWorker { identifier, node } => {
                self.delete_worker(identifier, node.as_deref(), ctx).await;
                Ok(())
            }
        };
        match outcome {
            Ok(()) => self.metrics.action(kind, "ok"),
            Err(e) => {
                tracing::warn!(action = %action, error = %e, "action failed");
                self.metrics.action(kind, "error");
                self.metrics.error("kube_api");
            }
        }
    }

    async fn create_group(&self, group: &str, size_id: u32, ctx: &ActionContext) {
        let Some(cluster) = ctx.cluster_of_group(group) else {
            self.report(Observation::GroupCreateFailed {
                group: group.to_string(),
                error: CloudErrorKind::Other,
                message: format!("no NodeGroup resource defines group {group}"),
            });
            return;
        };
        let created = self.vpsie.create_group(cluster, group, size_id).await;
        self.metrics
            .vpsie_call("create_group", &cloud_outcome(&created));
        // A group of that size may exist already (created before a restart): adopt it.
        if let Err(e) = &created
            && e.kind != CloudErrorKind::SizeConflict
        {
            self.report(Observation::GroupCreateFailed {
                group: group.to_string(),
                error: e.kind,
                message: e.message.clone(),
            });
            return;
        }
        let listed = self.vpsie.list_groups(cluster).await;
        self.metrics
            .vpsie_call("list_groups", &cloud_outcome(&listed));
        let found = match &listed {
            Ok(groups) => groups
                .iter()
                .find(|g| g.name == group)
                .or_else(|| groups.iter().find(|g| g.kube_size_id == size_id))
                .map(|g| g.id),
            Err(_) => None,
        };
        match (found, listed) {
            (Some(id), _) => self.report(Observation::GroupCreated {
                group: group.to_string(),
                vpsie_group_id: id,
            }),
            (None, Err(e)) => self.report(Observation::GroupCreateFailed {
                group: group.to_string(),
                error: e.kind,
                message: format!("created, but listing groups failed: {}", e.message),
            }),
            (None, Ok(_)) => self.report(Observation::GroupCreateFailed {
                group: group.to_string(),
                error: created.err().map_or(CloudErrorKind::Other, |e| e.kind),
                message: format!("group {group} of size {size_id} is not in the group list"),
            }),
        }
    }

    async fn add_worker(&self, group: &str, request: &str, ctx: &ActionContext) {
        let group_id = ctx
            .group_ids
            .get(group)
            .copied()
            .or_else(|| ctx.bindings.get(group).and_then(|b| b.vpsie_group_id));
        let (Some(cluster), Some(group_id)) = (ctx.cluster_of_group(group), group_id) else {
            self.report(Observation::AddWorkerFailed {
                request: request.to_string(),
                error: CloudErrorKind::Other,
                message: format!("the VPSie group of {group} is not known"),
            });
            return;
        };
        let result = self.vpsie.add_worker(cluster, group_id).await;
        self.metrics
            .vpsie_call("add_worker", &cloud_outcome(&result));
        match result {
            Ok(()) => self.report(Observation::AddWorkerAccepted {
                request: request.to_string(),
            }),
            Err(e) => self.report(Observation::AddWorkerFailed {
                request: request.to_string(),
                error: e.kind,
                message: e.message,
            }),
        }
    }

    async fn delete_worker(&self, identifier: &str, node: Option<&str>, ctx: &ActionContext) {
        let Some(cluster) = ctx.worker_clusters.get(identifier) else {
            self.report(Observation::DeleteWorkerFailed {
                identifier: identifier.to_string(),
                error: CloudErrorKind::Other,
                message: "the VPSie cluster of the worker is not known".to_string(),
            });
            return;
        };
        let result = self.vpsie.delete_worker(cluster, identifier).await;
        self.metrics
            .vpsie_call("delete_worker", &cloud_outcome(&result));
        match result {
            Ok(()) => {
                tracing::info!(
                    identifier,
                    node = node.unwrap_or("-"),
                    "VPSie worker deleted"
                );
            }
            Err(e) if e.kind == CloudErrorKind::NotFound => self.report(Observation::WorkerGone {
                identifier: identifier.to_string(),
            }),
            Err(e) => self.report(Observation::DeleteWorkerFailed {
                identifier: identifier.to_string(),
                error: e.kind,
                message: e.message,
            }),
        }
    }

    async fn label_node(
        &self,
        node: &str,
        group: &str,
        ctx: &ActionContext,
    ) -> Result<(), kube::Error> {
        let api: Api<Node> = Api::all(self.client.clone());
        let current = match api.get_opt(node).await? {
            Some(n) => n,
            None => return Ok(()),
        };
        let binding = ctx.bindings.get(group);
        let mut labels: BTreeMap<String, String> =
            binding.map(|b| b.labels.clone()).unwrap_or_default();
        labels.insert(LABEL_NODE_GROUP.to_string(), group.to_string());
        let existing: Vec<k8s_openapi::api::core::v1::Taint> = current
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default();
        let mut taints = existing.clone();
        for t in binding.map(|b| b.taints.as_slice()).unwrap_or_default() {
            let k = to_k8s_taint(t);
            if !taints
                .iter()
                .any(|e| e.key == k.key && e.effect == k.effect)
            {
                taints.push(k);
            }
        }
        let mut patch = serde_json::json!({
            "metadata": {
                "labels": labels,
                "resourceVersion": current.metadata.resource_version,
            }
        });
        if taints.len() != existing.len() {
            patch["spec"] = serde_json::json!({ "taints": taints });
        }
        api.patch(node, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        tracing::info!(node, group, "node labelled");
        Ok(())
    }

    async fn set_unschedulable(&self, node: &str, cordon: bool) -> Result<(), kube::Error> {
        let api: Api<Node> = Api::all(self.client.clone());
        let annotation = if cordon {
            serde_json::Value::String("true".into())
        } else {
            serde_json::Value::Null
        };
        let patch = serde_json::json!({
            "metadata": { "annotations": { CORDONED_BY: annotation } },
            "spec": { "unschedulable": cordon },
        });
        match api
            .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn delete_node(&self, node: &str) -> Result<(), kube::Error> {
        let api: Api<Node> = Api::all(self.client.clone());
        match api.delete(node, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn start_drain(&self, node: &str) {
        {
            let mut draining = self.draining.lock().unwrap_or_else(|p| p.into_inner());
            if !draining.insert(node.to_string()) {
                return;
            }
        }
        let client = self.client.clone();
        let eviction_client = self.eviction_client.clone();
        let settings = self.drain;
        let tx = self.observations.clone();
        let draining = Arc::clone(&self.draining);
        let node = node.to_string();
        tokio::spawn(async move {
            let obs = drain_node(client, eviction_client, &node, settings).await;
            draining
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&node);
            let _ = tx.send(obs);
        });
    }
}

fn to_k8s_taint(t: &Taint) -> k8s_openapi::api::core::v1::Taint {
    k8s_openapi::api::core::v1::Taint {
        key: t.key.clone(),
        value: (!t.value.is_empty()).then(|| t.value.clone()),
        effect: match t.effect {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
        .to_string(),
        time_added: None,
    }
}

/// Pods a drain must evict: everything on the node except mirror pods, DaemonSet pods and
/// pods that already finished.
fn pods_to_evict(pods: Vec<Pod>) -> Vec<Pod> {
    pods.into_iter()
        .filter(crate::snapshot::convert::pod_is_active)
        .filter(|p| {
            let mirror = p
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(vpsie_engine::model::pod::MIRROR_POD));
            let daemon = p
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.kind == "DaemonSet" && o.controller == Some(true));
            !mirror && !daemon
        })
        .collect()
}

/// Outcome of one eviction attempt.
enum Evicted {
    /// Accepted (or the pod is already gone).
    Done,
    /// A PodDisruptionBudget refused it (HTTP 429): try again later.
    Refused(String),
}

async fn evict(api: &Api<Pod>, name: &str) -> Result<Evicted, kube::Error> {
    match api.evict(name, &EvictParams::default()).await {
        Ok(_) => Ok(Evicted::Done),
        Err(e) if is_not_found(&e) => Ok(Evicted::Done),
        Err(kube::Error::Api(s)) if s.code == 429 => Ok(Evicted::Refused(s.message.clone())),
        Err(e) => Err(e),
    }
}

/// Evicts every pod of `node` through the Eviction API, retrying PDB refusals until the drain
/// timeout, then waits for the pods to be gone. Never takes longer than the timeout.
pub async fn drain_node(
    client: kube::Client,
    eviction_client: kube::Client,
    node: &str,
    settings: DrainSettings,
) -> Observation {
    match tokio::time::timeout(
        settings.timeout,
        drain_inner(client, eviction_client, node, settings),
    )
    .await
    {
        Ok(Ok(())) => Observation::DrainFinished {
            node: node.to_string(),
        },
        Ok(Err(message)) => Observation::DrainFailed {
            node: node.to_string(),
            message,
        },
        Err(_) => Observation::DrainFailed {
            node: node.to_string(),
            message: format!(
                "drain did not finish within {}s",
                settings.timeout.as_secs()
            ),
        },
    }
}

/// Drains until done; returns the failure message of the last refusal when the caller's
/// timeout cuts it short (reported through `DrainFailed`).
async fn drain_inner(
    client: kube::Client,
    eviction_client: kube::Client,
    node: &str,
    settings: DrainSettings,
) -> Result<(), String> {
    let all: Api<Pod> = Api::all(client.clone());
    let selector = format!("spec.nodeName={node}");
    let list = all
        .list(&ListParams::default().fields(&selector))
        .await
        .map_err(|e| format!("listing pods of {node}: {e}"))?;
    let mut pending: Vec<(String, String)> = pods_to_evict(list.items)
        .into_iter()
        .map(|p| {
            (
                p.metadata.namespace.unwrap_or_default(),
                p.metadata.name.unwrap_or_default(),
            )
        })
        .collect();
    pending.sort();
    let deadline = tokio::time::Instant::now() + settings.timeout;
    let mut evicted: Vec<(String, String)> = Vec::new();
    while !pending.is_empty() {
        let mut refused = Vec::new();
        let mut last_refusal = String::new();
        for (ns, name) in pending {
            let api: Api<Pod> = Api::namespaced(eviction_client.clone(), &ns);
            match evict(&api, &name).await {
                Ok(Evicted::Done) => evicted.push((ns, name)),
                Ok(Evicted::Refused(message)) => {
                    tracing::info!(node, pod = %format!("{ns}/{name}"), %message, "eviction refused by a PodDisruptionBudget");
                    last_refusal = format!("eviction of {ns}/{name} refused: {message}");
                    refused.push((ns, name));
                }
                Err(e) => return Err(format!("evicting {ns}/{name}: {e}")),
            }
        }
        pending = refused;
        if !pending.is_empty() {
            if tokio::time::Instant::now() + settings.retry_interval >= deadline {
                return Err(last_refusal);
            }
            tokio::time::sleep(settings.retry_interval).await;
        }
    }
    // Wait for the evicted pods to terminate (their grace periods run in the kubelet).
    loop {
        let mut remaining = 0;
        for (ns, name) in &evicted {
            let api: Api<Pod> = Api::namespaced(client.clone(), ns);
            let still = api
                .get_opt(name)
                .await
                .map_err(|e| format!("checking {ns}/{name}: {e}"))?;
            if still.is_some_and(|p| p.spec.and_then(|s| s.node_name).as_deref() == Some(node)) {
                remaining += 1;
            }
        }
        if remaining == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() + settings.poll_interval >= deadline {
            return Err(format!("{remaining} evicted pods still running on {node}"));
        }
        tokio::time::sleep(settings.poll_interval).await;
    }
}
