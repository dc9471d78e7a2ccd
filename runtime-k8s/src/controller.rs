//! The controller: each pass builds a snapshot, compares the VPSie worker list with the loop's
//! records (observations), runs the engine's `step`, persists the records as VPSieNodes, carries
//! out the actions (unless dry-run), and publishes metrics, events and NodeGroup status.
//!
//! State after a restart is rebuilt from the VPSieNodes (each carries the loop's record) and the
//! VPSie worker list (`LoopState::rebuild`), so a restart never double-creates or orphans a VPS.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action as RequeueAction;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Resource, ResourceExt};
use tokio::sync::mpsc;
use vpsie_engine::autoscaler::{
    AutoscalerConfig, ListedWorker, LoopState, NodePhase, Observation, StepOutput, VpsieNodeRecord,
    step,
};
use vpsie_engine::model::{Resources, VpsieSize};

use crate::cloud::{CloudError, Vpsie, Worker};
use crate::crd::{
    LABEL_NODE_GROUP_CR, NodeGroup, NodeGroupStatus, NodeSummary, VPSIE_NODE_FINALIZER, VPSieNode,
    VPSieNodeSpec, VPSieNodeStatus,
};
use crate::events::EventPublisher;
use crate::executor::{ActionContext, Executor};
use crate::metrics::{GroupLabels, GroupOnly, Metrics, PhaseLabels, RatioLabels, TransitionLabels};
use crate::snapshot::{self, BuildOptions, BuiltSnapshot, ClusterObjects, GroupBinding};

/// Annotation holding a VPSieNode's record as it was when the object was created (read on
/// rebuild only when the status was never written).
pub const ANNOTATION_INITIAL_RECORD: &str = "autoscaler.vpsie.com/initial-record";

/// Why a reconcile pass failed (it is retried at the next pass).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("VPSie size catalogue unavailable: {0}")]
    Sizes(CloudError),
    #[error("VPSie worker list of cluster {cluster} unavailable during restart recovery: {source}")]
    Recovery {
        cluster: String,
        #[source]
        source: CloudError,
    },
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

impl ReconcileError {
    /// Stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ReconcileError::Sizes(_) => "vpsie_sizes",
            ReconcileError::Recovery { .. } => "recovery",
            ReconcileError::Kube(_) => "kube_api",
        }
    }
}

/// Error type of the finalizer callback.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CleanupPending(String);

/// Settings that are not part of the engine's configuration.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// Namespace for VPSieNodes whose NodeGroup is gone.
    pub namespace: String,
    /// System reservation assumed for new nodes.
    pub system_reserved: Resources,
}

/// What one pass did (for tests and logs).
#[derive(Debug, Clone)]
pub struct PassReport {
    pub output: StepOutput,
    pub observations: Vec<Observation>,
    pub acted: bool,
    pub warnings: Vec<String>,
}

/// The controller's state between passes.
pub struct Controller<V: Vpsie> {
    client: kube::Client,
    vpsie: Arc<V>,
    executor: Executor<V>,
    observations_rx: mpsc::UnboundedReceiver<Observation>,
    config: AutoscalerConfig,
    settings: RuntimeSettings,
    metrics: Arc<Metrics>,
    events: Option<EventPublisher>,
    state: Option<LoopState>,
    sizes: BTreeMap<String, Vec<VpsieSize>>,
    /// VPSieNodes a user deleted: their records are not written back.
    deleted_by_user: BTreeSet<String>,
}

impl<V: Vpsie> std::fmt::Debug for Controller<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("dry_run", &self.config.dry_run)
            .finish_non_exhaustive()
    }
}

/// Milliseconds since the Unix epoch → Kubernetes time.
pub fn ms_to_time(ms: i64) -> Option<Time> {
    Timestamp::from_millisecond(ms).ok().map(Time)
}

/// The wall clock in milliseconds since the Unix epoch (the runtime's `now`).
pub fn wall_clock_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

impl<V: Vpsie> Controller<V> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: kube::Client,
        eviction_client: kube::Client,
        vpsie: Arc<V>,
        config: AutoscalerConfig,
        settings: RuntimeSettings,
        metrics: Arc<Metrics>,
        events: Option<EventPublisher>,
        drain: crate::executor::DrainSettings,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let executor = Executor::new(
            client.clone(),
            eviction_client,
            Arc::clone(&vpsie),
            Arc::clone(&metrics),
            drain,
            tx,
        );
        Self {
            client,
            vpsie,
            executor,
            observations_rx: rx,
            config,
            settings,
            metrics,
            events,
            state: None,
            sizes: BTreeMap::new(),
            deleted_by_user: BTreeSet::new(),
        }
    }

    /// The loop's state (None before the first pass rebuilt it).
    pub fn state(&self) -> Option<&LoopState> {
        self.state.as_ref()
    }

    /// Drains this controller started that have not reported back yet.
    pub fn drains_in_progress(&self) -> usize {
        self.executor.drains_in_progress()
    }

    /// Forgets the loop's state, as a restart would (the next pass rebuilds it).
    pub fn forget_state(&mut self) {
        self.state = None;
    }

    async fn sizes_for(
        &mut self,
        objects: &ClusterObjects,
    ) -> Result<Vec<VpsieSize>, ReconcileError> {
        let datacenters: BTreeSet<String> = objects
            .node_groups
            .iter()
            .map(|g| g.spec.datacenter.clone())
            .collect();
        let mut all: BTreeMap<u32, VpsieSize> = BTreeMap::new();
        for dc in datacenters {
            if !self.sizes.contains_key(&dc) {
                let r = self.vpsie.list_sizes(&dc).await;
                self.metrics.vpsie_call("list_sizes", &outcome(&r));
                self.sizes
                    .insert(dc.clone(), r.map_err(ReconcileError::Sizes)?);
            }
            for s in self.sizes.get(&dc).into_iter().flatten() {
                all.entry(s.id).or_insert_with(|| s.clone());
            }
        }
        Ok(all.into_values().collect())
    }

    /// Lists the workers of every cluster the NodeGroups and records use.
    async fn list_workers(
        &self,
        built: &BuiltSnapshot,
        objects: &ClusterObjects,
    ) -> BTreeMap<String, Result<Vec<Worker>, CloudError>> {
        let mut clusters: BTreeSet<String> = built
            .groups
            .iter()
            .map(|b| b.cluster_identifier.clone())
            .collect();
        clusters.extend(
            objects
                .vpsie_nodes
                .iter()
                .map(|v| v.spec.cluster_identifier.clone()),
        );
        let mut out = BTreeMap::new();
        for c in clusters {
            let r = self.vpsie.list_workers(&c).await;
            self.metrics.vpsie_call("list_workers", &outcome(&r));
            out.insert(c, r);
        }
        out
    }

    /// One pass. `now_ms` is the wall clock (milliseconds since the epoch).
    pub async fn reconcile_once(
        &mut self,
        now_ms: i64,
        objects: ClusterObjects,
    ) -> Result<PassReport, ReconcileError> {
        let started = tokio::time::Instant::now();
        let sizes = self.sizes_for(&objects).await?;
        let built = snapshot::build(
            &objects,
            &BuildOptions {
                now_ms,
                sizes,
                system_reserved: self.settings.system_reserved.clone(),
            },
        );
        self.metrics
            .snapshot_warnings
            .set(built.warnings.len() as i64);
        for w in &built.warnings {
            tracing::warn!(warning = %w, "object skipped by the snapshot");
        }
        let workers = self.list_workers(&built, &objects).await;
        let group_of_vpsie_id = group_of_vpsie_id(&built, self.state.as_ref());

        let rebuilt = self.state.is_none();
        let mut state = match self.state.take() {
            Some(s) => s,
            None => rebuild_state(&objects, &built, &workers, &group_of_vpsie_id, now_ms)?,
        };
        for b in &built.groups {
            if let Some(id) = b.vpsie_group_id {
                let g = state.groups.entry(b.engine_group.clone()).or_default();
                g.vpsie_group_id.get_or_insert(id);
            }
        }

        let mut observations = Vec::new();
        while let Ok(o) = self.observations_rx.try_recv() {
            observations.push(o);
        }
        observations.extend(diff_workers(&state, &workers, &group_of_vpsie_id));

        let step_started = tokio::time::Instant::now();
        let (new_state, mut output) =
            step(state, &built.snapshot, &observations, now_ms, &self.config);
        let follow_ups = follow_up_actions(&new_state, &built.snapshot, rebuilt, &output.actions);
        output.actions.extend(follow_ups);
        self.metrics
            .decision_duration
            .observe(step_started.elapsed().as_secs_f64());
        self.state = Some(new_state);
        self.publish_decision(&output, &built);
        if let Some(events) = &self.events {
            events.publish(&output.decision, &objects).await;
        }

        let acted = !self.config.dry_run;
        if acted {
            self.persist_records(&objects, &built, &workers).await?;
            let ctx = self.action_context(&built, &objects);
            for action in &output.actions {
                tracing::info!(action = %action, "carrying out");
                self.executor.execute(action, &ctx).await;
            }
            self.run_finalizers(&objects, &workers).await;
            self.update_group_status(&objects, &built).await;
        } else {
            for action in &output.actions {
                tracing::info!(action = %action, "dry run: would carry out");
            }
        }
        self.metrics
            .reconcile_duration
            .observe(started.elapsed().as_secs_f64());
        Ok(PassReport {
            output,
            observations,
            acted,
            warnings: built.warnings,
        })
    }

    fn action_context(&self, built: &BuiltSnapshot, objects: &ClusterObjects) -> ActionContext {
        let mut ctx = ActionContext {
            bindings: built
                .groups
                .iter()
                .map(|b| (b.engine_group.clone(), b.clone()))
                .collect(),
            ..ActionContext::default()
        };
        let Some(state) = &self.state else {
            return ctx;
        };
        for (g, gs) in &state.groups {
            if let Some(id) = gs.vpsie_group_id {
                ctx.group_ids.insert(g.clone(), id);
            }
        }
        let cluster_of_record: BTreeMap<String, String> = objects
            .vpsie_nodes
            .iter()
            .map(|v| (v.name_any(), v.spec.cluster_identifier.clone()))
            .collect();
        for r in state.records.values() {
            let Some(id) = &r.identifier else { continue };
            let cluster = cluster_of_record.get(&r.name).cloned().or_else(|| {
                ctx.bindings
                    .get(&r.group)
                    .map(|b| b.cluster_identifier.clone())
            });
            if let Some(c) = cluster {
                ctx.worker_clusters.insert(id.clone(), c);
            }
        }
        ctx
    }

    fn publish_decision(&self, output: &StepOutput, built: &BuiltSnapshot) {
        let d = &output.decision;
        self.metrics
            .unschedulable_pods
            .set(d.scale_up.unschedulable.len() as i64);
        if let Some(r) = d.scale_up.node_ratio {
            self.metrics
                .plan_bound_ratio
                .get_or_create(&RatioLabels {
                    kind: "nodes".into(),
                })
                .set(r);
        }
        if let Some(r) = d.scale_up.cost_ratio {
            self.metrics
                .plan_bound_ratio
                .get_or_create(&RatioLabels {
                    kind: "cost".into(),
                })
                .set(r);
        }
        for (g, n) in &d.scale_up.requested {
            self.metrics
                .scale_up_nodes
                .get_or_create(&GroupOnly { group: g.clone() })
                .inc_by(u64::from(*n));
        }
        for node in &d.scale_down.started {
            let group = built
                .snapshot
                .nodes
                .iter()
                .find(|n| &n.name == node)
                .and_then(|n| n.node_group.clone())
                .unwrap_or_default();
            self.metrics
                .scale_down_nodes
                .get_or_create(&GroupOnly { group })
                .inc();
        }
        for t in &d.transitions {
            self.metrics
                .vpsie_node_transitions
                .get_or_create(&TransitionLabels {
                    from: t.from.map_or("none", NodePhase::as_str).to_string(),
                    to: t.to.map_or("gone", NodePhase::as_str).to_string(),
                })
                .inc();
            tracing::info!(record = %t.record, group = %t.group, from = ?t.from, to = ?t.to, why = %t.why, "VPSieNode transition");
        }
        if let Some(state) = &self.state {
            let mut counts: BTreeMap<&str, i64> = [
                NodePhase::Pending,
                NodePhase::Provisioning,
                NodePhase::Provisioned,
                NodePhase::Joining,
                NodePhase::Ready,
                NodePhase::Terminating,
                NodePhase::Deleting,
                NodePhase::Failed,
            ]
            .iter()
            .map(|p| (p.as_str(), 0))
            .collect();
            for r in state.records.values() {
                *counts.entry(r.phase.as_str()).or_default() += 1;
            }
            for (phase, n) in counts {
                self.metrics
                    .vpsie_node_phases
                    .get_or_create(&PhaseLabels {
                        phase: phase.into(),
                    })
                    .set(n);
            }
        }
        for g in &built.snapshot.node_groups {
            let current = built
                .snapshot
                .nodes
                .iter()
                .filter(|n| n.node_group.as_deref() == Some(&g.name))
                .count() as i64;
            let ready = built
                .snapshot
                .nodes
                .iter()
                .filter(|n| n.node_group.as_deref() == Some(&g.name) && n.ready)
                .count() as i64;
            for (kind, v) in [
                ("min", i64::from(g.min)),
                ("max", i64::from(g.max)),
                ("current", current),
                ("ready", ready),
            ] {
                self.metrics
                    .node_group_nodes
                    .get_or_create(&GroupLabels {
                        group: g.name.clone(),
                        kind: kind.into(),
                    })
                    .set(v);
            }
        }
        if !output.actions.is_empty() || !d.scale_up.unschedulable.is_empty() {
            tracing::info!(decision = %d.render_text(), actions = output.actions.len(), "decision");
        }
    }

    /// Writes every record as a VPSieNode (created first, so an `AddWorker` always has its
    /// object), and deletes VPSieNodes whose record the loop forgot.
    async fn persist_records(
        &mut self,
        objects: &ClusterObjects,
        built: &BuiltSnapshot,
        workers: &BTreeMap<String, Result<Vec<Worker>, CloudError>>,
    ) -> Result<(), ReconcileError> {
        let Some(state) = &self.state else {
            return Ok(());
        };
        let existing: BTreeMap<String, &Arc<VPSieNode>> = objects
            .vpsie_nodes
            .iter()
            .map(|v| (v.name_any(), v))
            .collect();
        let by_identifier: BTreeMap<&str, &Worker> = workers
            .values()
            .filter_map(|r| r.as_ref().ok())
            .flatten()
            .map(|w| (w.identifier.as_str(), w))
            .collect();
        for record in state.records.values() {
            if self.deleted_by_user.contains(&record.name) {
                continue;
            }
            let binding = built.group(&record.group);
            let current = existing.get(&record.name);
            let namespace = current
                .and_then(|v| v.namespace())
                .or_else(|| binding.map(|b| b.namespace.clone()))
                .unwrap_or_else(|| self.settings.namespace.clone());
            let api: Api<VPSieNode> = Api::namespaced(self.client.clone(), &namespace);
            if current.is_none() {
                let Some(binding) = binding else {
                    tracing::warn!(record = %record.name, group = %record.group, "no NodeGroup for record; VPSieNode not created");
                    continue;
                };
                let owner = objects
                    .node_groups
                    .iter()
                    .find(|g| {
                        g.name_any() == binding.node_group
                            && g.namespace().as_deref() == Some(&binding.namespace)
                    })
                    .and_then(|g| g.controller_owner_ref(&()));
                let obj = new_vpsie_node(record, binding, owner);
                match api.create(&PostParams::default(), &obj).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let worker = record
                .identifier
                .as_deref()
                .and_then(|id| by_identifier.get(id).copied());
            let status = status_of(record, worker, current.and_then(|v| v.status.as_ref()));
            if current.and_then(|v| v.status.as_ref()) != Some(&status) {
                let patch = serde_json::json!({ "status": status });
                api.patch_status(&record.name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
            }
        }
        for (name, v) in &existing {
            if !state.records.contains_key(name) && v.metadata.deletion_timestamp.is_none() {
                let ns = v
                    .namespace()
                    .unwrap_or_else(|| self.settings.namespace.clone());
                let api: Api<VPSieNode> = Api::namespaced(self.client.clone(), &ns);
                match api.delete(name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Adds the finalizer to new VPSieNodes; for deleted ones, deletes the VPS first and lets the
    /// object go only once the worker is gone from VPSie (or never existed).
    async fn run_finalizers(
        &mut self,
        objects: &ClusterObjects,
        workers: &BTreeMap<String, Result<Vec<Worker>, CloudError>>,
    ) {
        for v in &objects.vpsie_nodes {
            let name = v.name_any();
            let ns = v
                .namespace()
                .unwrap_or_else(|| self.settings.namespace.clone());
            let api: Api<VPSieNode> = Api::namespaced(self.client.clone(), &ns);
            if v.metadata.deletion_timestamp.is_some() {
                self.deleted_by_user.insert(name.clone());
            }
            let record = self
                .state
                .as_ref()
                .and_then(|s| s.records.get(&name))
                .cloned()
                .or_else(|| v.status.as_ref().and_then(|s| s.record.clone()));
            let cluster = v.spec.cluster_identifier.clone();
            let listed = workers.get(&cluster);
            let vpsie = Arc::clone(&self.vpsie);
            let metrics = Arc::clone(&self.metrics);
            let result = finalizer(
                &api,
                VPSIE_NODE_FINALIZER,
                Arc::clone(v),
                |event| async move {
                    match event {
                        FinalizerEvent::Apply(_) => Ok(RequeueAction::await_change()),
                        FinalizerEvent::Cleanup(_) => {
                            let identifier = record.as_ref().and_then(|r| r.identifier.clone());
                            let Some(identifier) = identifier else {
                                // No worker was ever matched to this request: nothing to delete.
                                return Ok(RequeueAction::await_change());
                            };
                            let still_listed = match listed {
                                Some(Ok(ws)) => ws.iter().any(|w| w.identifier == identifier),
                                _ => true,
                            };
                            if !still_listed {
                                return Ok(RequeueAction::await_change());
                            }
                            let r = vpsie.delete_worker(&cluster, &identifier).await;
                            metrics.vpsie_call("delete_worker", &outcome(&r));
                            Err(CleanupPending(format!(
                                "waiting for worker {identifier} to be deleted"
                            )))
                        }
                    }
                },
            )
            .await;
            if let Err(e) = result {
                tracing::debug!(vpsienode = %name, error = %e, "finalizer pending");
            }
        }
    }

    async fn update_group_status(&self, objects: &ClusterObjects, built: &BuiltSnapshot) {
        let Some(state) = &self.state else { return };
        for ng in &objects.node_groups {
            let name = ng.name_any();
            let ns = ng.namespace().unwrap_or_default();
            let bindings: Vec<&GroupBinding> = built
                .groups
                .iter()
                .filter(|b| b.node_group == name && b.namespace == ns)
                .collect();
            let status = group_status(ng, &bindings, state, built);
            if ng.status.as_ref().map(without_times) == Some(without_times(&status)) {
                continue;
            }
            let api: Api<NodeGroup> = Api::namespaced(self.client.clone(), &ns);
            let patch = serde_json::json!({ "status": status });
            if let Err(e) = api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::warn!(nodegroup = %name, error = %e, "status update failed");
                self.metrics.error("status_update");
            }
        }
    }
}

fn outcome<T>(r: &Result<T, CloudError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.kind.code().into(),
    }
}

/// VPSie numeric group id → engine group, from the loop's state and the NodeGroup bindings.
fn group_of_vpsie_id(built: &BuiltSnapshot, state: Option<&LoopState>) -> BTreeMap<i64, String> {
    let mut map = BTreeMap::new();
    for b in &built.groups {
        if let Some(id) = b.vpsie_group_id {
            map.insert(id, b.engine_group.clone());
        }
    }
    if let Some(state) = state {
        for (g, gs) in &state.groups {
            if let Some(id) = gs.vpsie_group_id {
                map.insert(id, g.clone());
            }
        }
    }
    map
}

/// Rebuilds the loop's state from VPSieNode records and the VPSie worker lists. Refuses to
/// guess when a worker list is unavailable (a wrong guess could orphan or double-create).
fn rebuild_state(
    objects: &ClusterObjects,
    built: &BuiltSnapshot,
    workers: &BTreeMap<String, Result<Vec<Worker>, CloudError>>,
    group_of_vpsie_id: &BTreeMap<i64, String>,
    now_ms: i64,
) -> Result<LoopState, ReconcileError> {
    let mut records: Vec<VpsieNodeRecord> = objects
        .vpsie_nodes
        .iter()
        .filter_map(|v| v.status.as_ref().and_then(|s| s.record.clone()))
        .collect();
    // A VPSieNode created right before a crash may have no status yet: its record is the one
    // annotated at creation, or (objects created by older versions) a Pending request.
    for v in &objects.vpsie_nodes {
        if v.status.as_ref().and_then(|s| s.record.as_ref()).is_none() {
            let annotated = v
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(ANNOTATION_INITIAL_RECORD))
                .and_then(|text| serde_json::from_str::<VpsieNodeRecord>(text).ok())
                .filter(|r| r.name == v.name_any());
            if let Some(record) = annotated {
                records.push(record);
                continue;
            }
            let requested = v
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(now_ms, |t| t.0.as_millisecond());
            records.push(VpsieNodeRecord::requested(
                v.name_any(),
                v.spec.engine_group.clone(),
                vpsie_engine::autoscaler::Purpose::PendingPods,
                requested,
            ));
        }
    }
    records.sort_by(|a, b| a.name.cmp(&b.name));
    let mut listed = Vec::new();
    for (cluster, r) in workers {
        let ws = r.as_ref().map_err(|e| ReconcileError::Recovery {
            cluster: cluster.clone(),
            source: e.clone(),
        })?;
        for w in ws {
            let Some(group) = w.group_id.and_then(|id| group_of_vpsie_id.get(&id)) else {
                continue;
            };
            listed.push(ListedWorker {
                group: group.clone(),
                identifier: w.identifier.clone(),
                hostname: w.hostname.clone(),
                status: w.status.clone(),
                created_at_ms: w.created_at_ms,
            });
        }
    }
    listed.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let mut state = LoopState::rebuild(records, &listed, now_ms);
    for b in &built.groups {
        if let Some(id) = b.vpsie_group_id {
            state
                .groups
                .entry(b.engine_group.clone())
                .or_default()
                .vpsie_group_id = Some(id);
        }
    }
    tracing::info!(
        records = state.records.len(),
        workers = listed.len(),
        "state rebuilt"
    );
    Ok(state)
}

/// Actions the loop issues once and a crash can lose, re-derived from the records and the
/// cluster (both idempotent):
/// - the Node of a record being deleted, or of a failed record whose worker is gone, is deleted
///   while it exists (the loop re-issues the worker's deletion, never the Node's);
/// - after a restart (`resumed`), the node of a Terminating record is cordoned and drained again:
///   the drain task died with the previous process, and without it the node would stay
///   cordoned until the loop's drain timeout rolled the removal back.
pub fn follow_up_actions(
    state: &LoopState,
    snapshot: &vpsie_engine::model::ClusterSnapshot,
    resumed: bool,
    issued: &[vpsie_engine::autoscaler::Action],
) -> Vec<vpsie_engine::autoscaler::Action> {
    use vpsie_engine::autoscaler::Action;
    let present: BTreeMap<String, &str> = snapshot
        .nodes
        .iter()
        .map(|n| (n.name.to_ascii_lowercase(), n.name.as_str()))
        .collect();
    let issued_for = |node: &str, kind: &str| {
        issued.iter().any(|a| {
            a.kind() == kind
                && match a {
                    Action::DeleteNode { node: n }
                    | Action::Drain { node: n, .. }
                    | Action::Cordon { node: n } => n.eq_ignore_ascii_case(node),
                    _ => false,
                }
        })
    };
    let mut out = Vec::new();
    for r in state.records.values() {
        let Some(node) = r
            .hostname
            .as_ref()
            .and_then(|h| present.get(&h.to_ascii_lowercase()))
        else {
            continue;
        };
        let node = (*node).to_string();
        let delete_node =
            r.phase == NodePhase::Deleting || (r.phase == NodePhase::Failed && r.worker_gone);
        if delete_node && !issued_for(&node, "delete_node") {
            out.push(Action::DeleteNode { node });
        } else if resumed
            && r.phase == NodePhase::Terminating
            && !r.empty_removal
            && !issued_for(&node, "drain")
        {
            out.push(Action::Cordon { node: node.clone() });
            out.push(Action::Drain {
                node,
                evictions: Vec::new(),
            });
        }
    }
    out
}

/// Observations from comparing the VPSie worker lists with the loop's records.
pub fn diff_workers(
    state: &LoopState,
    workers: &BTreeMap<String, Result<Vec<Worker>, CloudError>>,
    group_of_vpsie_id: &BTreeMap<i64, String>,
) -> Vec<Observation> {
    let mut out = Vec::new();
    let mut listed_ids: BTreeSet<&str> = BTreeSet::new();
    for ws in workers.values() {
        let Ok(ws) = ws else { continue };
        for w in ws {
            listed_ids.insert(w.identifier.as_str());
            let Some(group) = w.group_id.and_then(|id| group_of_vpsie_id.get(&id)) else {
                continue;
            };
            match state.record_by_identifier(&w.identifier) {
                None => out.push(Observation::WorkerAppeared {
                    group: group.clone(),
                    identifier: w.identifier.clone(),
                    hostname: w.hostname.clone(),
                }),
                Some(r) => {
                    if w.status == "running" && !r.running {
                        out.push(Observation::WorkerRunning {
                            identifier: w.identifier.clone(),
                        });
                    }
                }
            }
        }
    }
    // "Gone" only when every list succeeded: a failed list says nothing about a worker.
    let all_listed = workers.values().all(Result::is_ok);
    for r in state.records.values() {
        let Some(id) = &r.identifier else { continue };
        if r.worker_gone || listed_ids.contains(id.as_str()) {
            continue;
        }
        if all_listed {
            out.push(Observation::WorkerGone {
                identifier: id.clone(),
            });
        }
    }
    out
}

fn new_vpsie_node(
    record: &VpsieNodeRecord,
    binding: &GroupBinding,
    owner: Option<OwnerReference>,
) -> VPSieNode {
    let mut labels = BTreeMap::new();
    labels.insert(LABEL_NODE_GROUP_CR.to_string(), binding.node_group.clone());
    // The status (with the record) can only be written after the create; a crash in between
    // must not turn an adopted worker's record into an anonymous request that could claim
    // another worker on rebuild, so the record at creation also goes into an annotation.
    let annotations = serde_json::to_string(record)
        .ok()
        .map(|r| BTreeMap::from([(ANNOTATION_INITIAL_RECORD.to_string(), r)]));
    VPSieNode {
        metadata: ObjectMeta {
            name: Some(record.name.clone()),
            namespace: Some(binding.namespace.clone()),
            labels: Some(labels),
            annotations,
            owner_references: owner.map(|o| vec![o]),
            finalizers: Some(vec![VPSIE_NODE_FINALIZER.to_string()]),
            ..ObjectMeta::default()
        },
        spec: VPSieNodeSpec {
            node_group: binding.node_group.clone(),
            engine_group: binding.engine_group.clone(),
            cluster_identifier: binding.cluster_identifier.clone(),
            kube_size_id: binding.kube_size_id,
        },
        status: None,
    }
}

fn status_of(
    record: &VpsieNodeRecord,
    worker: Option<&Worker>,
    previous: Option<&VPSieNodeStatus>,
) -> VPSieNodeStatus {
    let prev = previous.cloned().unwrap_or_default();
    VPSieNodeStatus {
        phase: Some(record.phase),
        vpsie_group_id: prev.vpsie_group_id.or(worker.and_then(|w| w.group_id)),
        vpsie_identifier: record.identifier.clone(),
        hostname: record.hostname.clone(),
        node_name: record.node_name().map(str::to_string),
        internal_ip: worker
            .and_then(|w| w.private_ip.clone())
            .or(prev.internal_ip),
        external_ip: worker
            .and_then(|w| w.public_ip.clone())
            .or(prev.external_ip),
        requested_at: ms_to_time(record.requested_at_ms),
        provisioned_at: prev.provisioned_at.or_else(|| {
            (record.identifier.is_some() && record.running)
                .then(|| ms_to_time(record.phase_since_ms))
                .flatten()
        }),
        ready_at: record.ready_at_ms.and_then(ms_to_time),
        terminating_at: record.drain_started_ms.and_then(ms_to_time),
        conditions: prev.conditions,
        last_error: record
            .last_error
            .clone()
            .or_else(|| record.failure.as_ref().map(ToString::to_string)),
        record: Some(record.clone()),
    }
}

fn without_times(s: &NodeGroupStatus) -> NodeGroupStatus {
    let mut s = s.clone();
    for c in &mut s.conditions {
        c.last_transition_time = Time(Timestamp::UNIX_EPOCH);
    }
    s
}

fn condition(
    type_: &str,
    on: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    previous: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    let status = if on { "True" } else { "False" }.to_string();
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| Time(Timestamp::now()));
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
        type_: type_.to_string(),
        status,
        reason: reason.to_string(),
        message,
        observed_generation: generation,
        last_transition_time,
    }
}

fn group_status(
    ng: &NodeGroup,
    bindings: &[&GroupBinding],
    state: &LoopState,
    built: &BuiltSnapshot,
) -> NodeGroupStatus {
    let groups: BTreeSet<&str> = bindings.iter().map(|b| b.engine_group.as_str()).collect();
    let records: Vec<&VpsieNodeRecord> = state
        .records
        .values()
        .filter(|r| groups.contains(r.group.as_str()))
        .collect();
    let nodes: Vec<&vpsie_engine::model::Node> = built
        .snapshot
        .nodes
        .iter()
        .filter(|n| n.node_group.as_deref().is_some_and(|g| groups.contains(g)))
        .collect();
    let current = nodes.len() as u32;
    let ready = nodes.iter().filter(|n| n.ready).count() as u32;
    let adding = records.iter().filter(|r| r.phase.is_in_flight()).count() as u32;
    let removing = records.iter().filter(|r| r.phase.is_removing()).count() as u32;
    let desired = (current + adding).saturating_sub(removing);
    let prev = ng.status.clone().unwrap_or_default();
    let generation = ng.metadata.generation;
    let failed: Vec<&&VpsieNodeRecord> = records
        .iter()
        .filter(|r| r.phase == NodePhase::Failed)
        .collect();
    let mut vpsie_group_ids = BTreeMap::new();
    for b in bindings {
        if let Some(id) = state
            .groups
            .get(&b.engine_group)
            .and_then(|g| g.vpsie_group_id)
            .or(b.vpsie_group_id)
        {
            vpsie_group_ids.insert(b.kube_size_id.to_string(), id);
        }
    }
    let conditions = vec![
        condition(
            "Ready",
            !bindings.is_empty() && ready == current,
            if bindings.is_empty() {
                "InvalidSpec"
            } else {
                "NodesReady"
            },
            format!("{ready} of {current} nodes Ready"),
            generation,
            &prev.conditions,
        ),
        condition(
            "Scaling",
            adding + removing > 0,
            "InFlight",
            format!("{adding} being added, {removing} being removed"),
            generation,
            &prev.conditions,
        ),
        condition(
            "Error",
            !failed.is_empty() || bindings.is_empty(),
            if bindings.is_empty() {
                "InvalidSpec"
            } else {
                "Failed"
            },
            failed
                .first()
                .and_then(|r| {
                    r.last_error
                        .clone()
                        .or(r.failure.as_ref().map(ToString::to_string))
                })
                .unwrap_or_else(|| {
                    if bindings.is_empty() {
                        "the group's size is not in the VPSie catalogue or its spec is invalid"
                            .into()
                    } else {
                        "no failure".into()
                    }
                }),
            generation,
            &prev.conditions,
        ),
        condition(
            "AtMinCapacity",
            desired <= ng.spec.min_nodes,
            "Bounds",
            format!("desired {desired}, min {}", ng.spec.min_nodes),
            generation,
            &prev.conditions,
        ),
        condition(
            "AtMaxCapacity",
            desired >= ng.spec.max_nodes,
            "Bounds",
            format!("desired {desired}, max {}", ng.spec.max_nodes),
            generation,
            &prev.conditions,
        ),
    ];
    let mut summaries: Vec<NodeSummary> = records
        .iter()
        .map(|r| NodeSummary {
            name: r.name.clone(),
            node_name: r.node_name().map(str::to_string),
            phase: r.phase,
        })
        .collect();
    summaries.sort_by(|a, b| a.name.cmp(&b.name));
    let last_up = state.last_scale_up_ms.and_then(ms_to_time);
    let last_down = state.last_scale_down_ms.and_then(ms_to_time);
    NodeGroupStatus {
        desired_nodes: desired,
        current_nodes: current,
        ready_nodes: ready,
        nodes: summaries,
        vpsie_group_ids,
        conditions,
        last_scale_up_time: if adding > 0 {
            last_up.or(prev.last_scale_up_time)
        } else {
            prev.last_scale_up_time
        },
        last_scale_down_time: if removing > 0 {
            last_down.or(prev.last_scale_down_time)
        } else {
            prev.last_scale_down_time
        },
        observed_generation: generation,
    }
}
