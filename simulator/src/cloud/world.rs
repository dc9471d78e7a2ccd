//! The cloud's state and its operations: clusters, groups, workers, the transition queue.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::billing::{self, BillingRecord, BillingSummary};
use super::config::{CloudConfig, ClusterSpec, DatacenterSpec, SizeSpec};
use super::error::CloudError;
use super::event::{CloudEvent, CloudEventKind, WorkerRef};
use super::faults::{self, ApiOp, FaultBook, FaultKind, FaultRule, FaultStage};
use super::ids;

/// Where a worker is in its life (specification §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WorkerStatus {
    /// The add was accepted; nothing is listed yet.
    Accepted,
    /// Listed as `provisioning`; the VPS exists and is billed.
    Provisioning,
    /// Listed as `running`; the kubelet registered a NotReady Node.
    Running,
    /// Listed as `running`; the Node is Ready.
    Ready,
    /// Listed as `deleting`.
    Deleting,
    /// The VPS died: listed as `stopped`, Node NotReady, still billed.
    Dead,
}

impl WorkerStatus {
    /// The `status` string of the node list, or `None` while not listed.
    pub fn api_status(self) -> Option<&'static str> {
        match self {
            WorkerStatus::Accepted => None,
            WorkerStatus::Provisioning => Some("provisioning"),
            WorkerStatus::Running | WorkerStatus::Ready => Some("running"),
            WorkerStatus::Deleting => Some("deleting"),
            WorkerStatus::Dead => Some("stopped"),
        }
    }
}

/// A worker (or control-plane node) of a cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerState {
    pub id: i64,
    pub identifier: String,
    pub hostname: String,
    /// 0 for control-plane nodes.
    pub group_id: i64,
    pub size_id: u32,
    pub status: WorkerStatus,
    pub private_ip: String,
    pub public_ip: String,
    pub accepted_ms: i64,
    /// When it was first listed (provisioning started).
    pub created_ms: Option<i64>,
    /// Bumped on every status change; queued transitions of an older epoch are stale.
    epoch: u64,
    status_before_delete: Option<WorkerStatus>,
    billing_index: Option<usize>,
}

impl WorkerState {
    pub fn is_listed(&self) -> bool {
        self.status != WorkerStatus::Accepted
    }
}

/// A node group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    pub id: i64,
    pub identifier: String,
    pub name: String,
    pub size_id: u32,
    pub created_ms: i64,
    pub deleted_ms: Option<i64>,
}

/// A managed Kubernetes cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterState {
    pub identifier: String,
    pub name: String,
    pub datacenter: String,
    pub kube_version: String,
    pub nickname: String,
    pub worker_limit: u32,
    pub masters: Vec<WorkerState>,
    /// Every group ever created, deleted ones included (`deleted_ms`), by numeric id.
    pub groups: BTreeMap<i64, GroupState>,
    /// Workers by identifier, accepted-but-unlisted ones included.
    pub workers: BTreeMap<String, WorkerState>,
    next_private_ip: u32,
}

impl ClusterState {
    /// Listed workers (not the control plane), by numeric id.
    pub fn listed_workers(&self) -> Vec<&WorkerState> {
        let mut listed: Vec<&WorkerState> =
            self.workers.values().filter(|w| w.is_listed()).collect();
        listed.sort_by_key(|w| w.id);
        listed
    }

    /// Groups that are not deleted, by numeric id.
    pub fn active_groups(&self) -> impl Iterator<Item = &GroupState> {
        self.groups.values().filter(|g| g.deleted_ms.is_none())
    }

    pub fn group(&self, id: i64) -> Option<&GroupState> {
        self.groups.get(&id).filter(|g| g.deleted_ms.is_none())
    }

    pub fn group_by_name(&self, name: &str) -> Option<&GroupState> {
        self.active_groups().find(|g| g.name == name)
    }

    /// `nodes_count` of a group: its listed workers.
    pub fn group_nodes_count(&self, group_id: i64) -> u32 {
        let n = self
            .workers
            .values()
            .filter(|w| w.group_id == group_id && w.is_listed())
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Workers that count toward the worker limit: listed ones and accepted adds.
    pub fn workers_counted_for_limit(&self) -> u32 {
        u32::try_from(self.workers.len()).unwrap_or(u32::MAX)
    }

    /// A listed worker or master by hostname, compared case-insensitively.
    pub fn find_by_hostname(&self, hostname: &str) -> Option<&WorkerState> {
        self.masters
            .iter()
            .chain(self.workers.values().filter(|w| w.is_listed()))
            .find(|w| w.hostname.eq_ignore_ascii_case(hostname))
    }

    fn worker_ref(&self, worker: &WorkerState) -> WorkerRef {
        WorkerRef {
            cluster: self.identifier.clone(),
            group_id: worker.group_id,
            group: self
                .groups
                .get(&worker.group_id)
                .map(|g| g.name.clone())
                .unwrap_or_default(),
            size_id: worker.size_id,
            identifier: worker.identifier.clone(),
            hostname: worker.hostname.clone(),
            private_ip: worker.private_ip.clone(),
            public_ip: worker.public_ip.clone(),
        }
    }
}

/// What an accepted add created (the API does not tell the caller; the mock can, behind a switch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddReceipt {
    pub id: i64,
    pub identifier: String,
    pub hostname: String,
    /// When the worker will be listed; `None` when the add was lost.
    pub materializes_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    ToProvisioning,
    ToRunning,
    ToReady,
    ToGone,
    RevertDelete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Worker {
        cluster: String,
        identifier: String,
        epoch: u64,
        step: Step,
    },
    NodeDeath {
        rule: usize,
        generation: u64,
    },
}

/// The simulated VPSie cloud.
#[derive(Debug, Clone)]
pub struct Cloud {
    config: CloudConfig,
    rng: ChaCha8Rng,
    clusters: BTreeMap<String, ClusterState>,
    faults: FaultBook,
    /// Bumped when the fault rules are replaced; queued node deaths of older generations are stale.
    fault_generation: u64,
    queue: BTreeMap<(i64, u64), Pending>,
    seq: u64,
    next_group_id: i64,
    next_node_id: i64,
    billing: Vec<BillingRecord>,
    lost_adds: u64,
}

impl Cloud {
    /// Builds the world of `config` at time 0. The config should have passed
    /// [`CloudConfig::validate`]; inconsistencies (a group of an unknown size) degrade to a
    /// zero price rather than a panic.
    pub fn new(config: CloudConfig, seed: u64) -> Self {
        let mut cloud = Cloud {
            rng: ChaCha8Rng::seed_from_u64(seed),
            clusters: BTreeMap::new(),
            faults: FaultBook::default(),
            fault_generation: 0,
            queue: BTreeMap::new(),
            seq: 0,
            next_group_id: 1,
            next_node_id: 482_113,
            billing: Vec::new(),
            lost_adds: 0,
            config,
        };
        cloud.next_group_id = cloud
            .config
            .clusters
            .iter()
            .flat_map(|c| c.groups.iter().filter_map(|g| g.id))
            .max()
            .unwrap_or(1186)
            .max(1186)
            + 1;
        let specs = cloud.config.clusters.clone();
        for spec in &specs {
            cloud.build_cluster(spec);
        }
        let rules = cloud.config.faults.clone();
        cloud.set_faults(0, rules);
        cloud
    }

    fn build_cluster(&mut self, spec: &ClusterSpec) {
        let identifier = spec
            .identifier
            .clone()
            .unwrap_or_else(|| ids::uuid(&mut self.rng));
        let mut cluster = ClusterState {
            identifier: identifier.clone(),
            name: spec.name.clone(),
            datacenter: spec.datacenter.clone(),
            kube_version: spec.kube_version.clone(),
            nickname: spec.nickname.clone(),
            worker_limit: spec.worker_limit,
            masters: Vec::new(),
            groups: BTreeMap::new(),
            workers: BTreeMap::new(),
            next_private_ip: 0,
        };
        for m in 0..spec.masters {
            let hostname = if m == 0 {
                format!("{}-master-main", spec.name)
            } else {
                format!("{}-master-{m}", spec.name)
            };
            let master = self.new_worker_state(&mut cluster, 0, 0, hostname, None, None, 0);
            cluster.masters.push(WorkerState {
                status: WorkerStatus::Ready,
                created_ms: Some(0),
                ..master
            });
        }
        for group_spec in &spec.groups {
            let id = group_spec.id.unwrap_or_else(|| {
                let id = self.next_group_id;
                self.next_group_id += 1;
                id
            });
            let group_identifier = group_spec
                .identifier
                .clone()
                .unwrap_or_else(|| ids::uuid(&mut self.rng));
            cluster.groups.insert(
                id,
                GroupState {
                    id,
                    identifier: group_identifier,
                    name: group_spec.name.clone(),
                    size_id: group_spec.size_id,
                    created_ms: 0,
                    deleted_ms: None,
                },
            );
            for n in 0..group_spec.workers {
                let fixed = group_spec.worker_specs.get(n as usize);
                let hostname = match fixed {
                    Some(f) => f.hostname.clone(),
                    None => self.fresh_hostname(&cluster),
                };
                let worker = self.new_worker_state(
                    &mut cluster,
                    id,
                    group_spec.size_id,
                    hostname,
                    fixed.and_then(|f| f.private_ip.clone()),
                    fixed.and_then(|f| f.public_ip.clone()),
                    0,
                );
                let billing_index = self.open_billing(&group_spec.name, group_spec.size_id, 0);
                cluster.workers.insert(
                    worker.identifier.clone(),
                    WorkerState {
                        status: WorkerStatus::Ready,
                        created_ms: Some(0),
                        billing_index: Some(billing_index),
                        ..worker
                    },
                );
            }
        }
        self.clusters.insert(identifier, cluster);
    }

    #[allow(clippy::too_many_arguments)]
    fn new_worker_state(
        &mut self,
        cluster: &mut ClusterState,
        group_id: i64,
        size_id: u32,
        hostname: String,
        private_ip: Option<String>,
        public_ip: Option<String>,
        now_ms: i64,
    ) -> WorkerState {
        let id = self.next_node_id;
        self.next_node_id += 1;
        let identifier = ids::uuid(&mut self.rng);
        let private_ip = private_ip.unwrap_or_else(|| ids::private_ip(cluster.next_private_ip));
        cluster.next_private_ip += 1;
        let public_ip = public_ip.unwrap_or_else(|| ids::public_ip(&mut self.rng));
        WorkerState {
            id,
            identifier,
            hostname,
            group_id,
            size_id,
            status: WorkerStatus::Accepted,
            private_ip,
            public_ip,
            accepted_ms: now_ms,
            created_ms: None,
            epoch: 0,
            status_before_delete: None,
            billing_index: None,
        }
    }

    /// `<lower(cluster_name)>-slave-<hex4>`, unique within the cluster.
    fn fresh_hostname(&mut self, cluster: &ClusterState) -> String {
        let base = cluster.name.to_ascii_lowercase();
        for _ in 0..64 {
            let candidate = format!("{base}-slave-{}", ids::hex4(&mut self.rng));
            if cluster.masters.iter().all(|m| m.hostname != candidate)
                && cluster.workers.values().all(|w| w.hostname != candidate)
            {
                return candidate;
            }
        }
        // A crowded cluster: fall back to the next node id, which is unique.
        format!("{base}-slave-{:x}", self.next_node_id)
    }

    fn open_billing(&mut self, group: &str, size_id: u32, start_ms: i64) -> usize {
        let hourly_price = self.size(size_id).map_or(0.0, |s| s.hourly_price);
        self.billing.push(BillingRecord {
            group: group.to_string(),
            hourly_price,
            start_ms,
            end_ms: None,
        });
        self.billing.len() - 1
    }

    fn schedule(&mut self, at_ms: i64, pending: Pending) {
        self.seq += 1;
        self.queue.insert((at_ms, self.seq), pending);
    }

    fn schedule_worker(&mut self, at_ms: i64, cluster: &str, worker: &WorkerState, step: Step) {
        self.schedule(
            at_ms,
            Pending::Worker {
                cluster: cluster.to_string(),
                identifier: worker.identifier.clone(),
                epoch: worker.epoch,
                step,
            },
        );
    }

    // ----- catalogue and views -----

    pub fn sizes(&self) -> &[SizeSpec] {
        &self.config.sizes
    }

    pub fn size(&self, id: u32) -> Option<&SizeSpec> {
        self.config.sizes.iter().find(|s| s.id == id)
    }

    pub fn datacenters(&self) -> &[DatacenterSpec] {
        &self.config.datacenters
    }

    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    /// Clusters by identifier.
    pub fn clusters(&self) -> impl Iterator<Item = &ClusterState> {
        self.clusters.values()
    }

    pub fn cluster(&self, identifier: &str) -> Option<&ClusterState> {
        self.clusters.get(identifier)
    }

    /// Adds accepted and silently dropped by a `lostAdd` fault so far.
    pub fn lost_adds(&self) -> u64 {
        self.lost_adds
    }

    /// Cost so far at `now_ms`.
    pub fn billing(&self, now_ms: i64) -> BillingSummary {
        billing::summarize(&self.billing, self.config.billing, now_ms)
    }

    // ----- faults -----

    pub fn faults(&self) -> &[FaultRule] {
        &self.faults.rules
    }

    /// Replaces the fault rules (counters restart) and schedules their node deaths.
    pub fn set_faults(&mut self, now_ms: i64, rules: Vec<FaultRule>) {
        self.fault_generation += 1;
        self.queue
            .retain(|_, pending| !matches!(pending, Pending::NodeDeath { .. }));
        self.faults = FaultBook::new(rules);
        for index in 0..self.faults.rules.len() {
            let rule = &self.faults.rules[index];
            if matches!(rule.fault, FaultKind::NodeDeath { .. }) {
                let at = rule.from_ms.unwrap_or(0).max(now_ms);
                let generation = self.fault_generation;
                self.schedule(
                    at,
                    Pending::NodeDeath {
                        rule: index,
                        generation,
                    },
                );
            }
        }
    }

    /// Adds one rule after the existing ones.
    pub fn add_fault(&mut self, now_ms: i64, rule: FaultRule) {
        let mut rules = self.faults.rules.clone();
        let fired = self.faults.fired.clone();
        rules.push(rule);
        self.set_faults(now_ms, rules);
        for (slot, count) in self.faults.fired.iter_mut().zip(fired) {
            *slot = count;
        }
    }

    /// Transport-level faults (5xx, 429, 200-with-error) for a call; the mutating operations
    /// below apply this themselves, read-only callers (the mock's list/get routes, login) call it.
    pub fn api_call(
        &mut self,
        now_ms: i64,
        op: ApiOp,
        cluster: Option<&str>,
    ) -> Result<(), CloudError> {
        match self
            .faults
            .pick(&mut self.rng, now_ms, op, cluster, FaultStage::Call, |_| {
                true
            }) {
            None => Ok(()),
            Some(FaultKind::ServerError { status }) => Err(CloudError::ServerError { status }),
            Some(FaultKind::RateLimited) => Err(CloudError::RateLimited),
            Some(FaultKind::ErrorOn200 { message }) => Err(CloudError::ErrorOn200 { message }),
            Some(_) => Ok(()),
        }
    }

    // ----- operations -----

    /// §4.7: ask for one more worker in a group. Accepted asynchronously: the worker is listed
    /// only after the create delay (or never, if the add is lost).
    pub fn add_worker(
        &mut self,
        now_ms: i64,
        cluster: &str,
        group_id: i64,
    ) -> Result<AddReceipt, CloudError> {
        self.api_call(now_ms, ApiOp::AddWorker, Some(cluster))?;
        let state = self
            .clusters
            .get(cluster)
            .ok_or_else(|| CloudError::UnknownCluster {
                cluster: cluster.to_string(),
            })?;
        let group = state
            .group(group_id)
            .ok_or_else(|| CloudError::UnknownGroup {
                group: group_id.to_string(),
            })?
            .clone();
        if state.workers_counted_for_limit() >= state.worker_limit {
            return Err(CloudError::WorkerLimit {
                limit: state.worker_limit,
            });
        }
        let effect = self.faults.pick(
            &mut self.rng,
            now_ms,
            ApiOp::AddWorker,
            Some(cluster),
            FaultStage::Effect,
            |fault| match fault {
                FaultKind::StockOut { size_id } => *size_id == group.size_id,
                _ => true,
            },
        );
        let create_delay = match &effect {
            Some(FaultKind::StockOut { .. }) => {
                return Err(CloudError::StockOut {
                    size: self
                        .size(group.size_id)
                        .map_or_else(|| group.size_id.to_string(), |s| s.name.clone()),
                });
            }
            Some(FaultKind::LateMaterialization { delay_ms }) => *delay_ms,
            _ => self.config.delays.create.sample(&mut self.rng),
        };
        let Some(mut state) = self.clusters.remove(cluster) else {
            return Err(CloudError::UnknownCluster {
                cluster: cluster.to_string(),
            });
        };
        let hostname = self.fresh_hostname(&state);
        let worker = self.new_worker_state(
            &mut state,
            group.id,
            group.size_id,
            hostname,
            None,
            None,
            now_ms,
        );
        let mut receipt = AddReceipt {
            id: worker.id,
            identifier: worker.identifier.clone(),
            hostname: worker.hostname.clone(),
            materializes_at_ms: None,
        };
        if effect == Some(FaultKind::LostAdd) {
            self.lost_adds += 1;
        } else {
            let at = now_ms + create_delay;
            receipt.materializes_at_ms = Some(at);
            self.schedule_worker(at, cluster, &worker, Step::ToProvisioning);
            state.workers.insert(worker.identifier.clone(), worker);
        }
        self.clusters.insert(cluster.to_string(), state);
        Ok(receipt)
    }

    /// §4.8: delete one listed worker by identifier. Unknown → `UnknownWorker` (404, which
    /// clients treat as done); already deleting → accepted again, nothing changes.
    pub fn delete_worker(
        &mut self,
        now_ms: i64,
        cluster: &str,
        identifier: &str,
    ) -> Result<(), CloudError> {
        self.api_call(now_ms, ApiOp::DeleteWorker, Some(cluster))?;
        self.delete_listed_worker(now_ms, cluster, identifier, ApiOp::DeleteWorker)
            .map(|_| ())
    }

    fn delete_listed_worker(
        &mut self,
        now_ms: i64,
        cluster: &str,
        identifier: &str,
        op: ApiOp,
    ) -> Result<WorkerRef, CloudError> {
        let state = self
            .clusters
            .get(cluster)
            .ok_or_else(|| CloudError::UnknownCluster {
                cluster: cluster.to_string(),
            })?;
        let worker = state
            .workers
            .get(identifier)
            .filter(|w| w.is_listed())
            .ok_or_else(|| CloudError::UnknownWorker {
                identifier: identifier.to_string(),
            })?;
        let worker_ref = state.worker_ref(worker);
        if worker.status == WorkerStatus::Deleting {
            return Ok(worker_ref);
        }
        let effect = self.faults.pick(
            &mut self.rng,
            now_ms,
            op,
            Some(cluster),
            FaultStage::Effect,
            |_| true,
        );
        let delay = self.config.delays.delete.sample(&mut self.rng);
        let step = if effect == Some(FaultKind::FailedDelete) {
            Step::RevertDelete
        } else {
            Step::ToGone
        };
        let Some(worker) = self
            .clusters
            .get_mut(cluster)
            .and_then(|c| c.workers.get_mut(identifier))
        else {
            return Ok(worker_ref);
        };
        worker.status_before_delete = Some(worker.status);
        worker.status = WorkerStatus::Deleting;
        worker.epoch += 1;
        let worker = worker.clone();
        self.schedule_worker(now_ms + delay, cluster, &worker, step);
        Ok(worker_ref)
    }

    /// §4.9: delete "some" worker: the newest listed, not yet deleting one of the group (or of
    /// the cluster). `Ok(None)` when there is none.
    pub fn reduce(
        &mut self,
        now_ms: i64,
        cluster: &str,
        group_id: Option<i64>,
    ) -> Result<Option<WorkerRef>, CloudError> {
        self.api_call(now_ms, ApiOp::Reduce, Some(cluster))?;
        let state = self
            .clusters
            .get(cluster)
            .ok_or_else(|| CloudError::UnknownCluster {
                cluster: cluster.to_string(),
            })?;
        if let Some(gid) = group_id
            && state.group(gid).is_none()
        {
            return Err(CloudError::UnknownGroup {
                group: gid.to_string(),
            });
        }
        let newest = state
            .workers
            .values()
            .filter(|w| w.is_listed() && w.status != WorkerStatus::Deleting)
            .filter(|w| group_id.is_none_or(|g| w.group_id == g))
            .max_by_key(|w| (w.created_ms, w.id))
            .map(|w| w.identifier.clone());
        match newest {
            None => Ok(None),
            Some(identifier) => self
                .delete_listed_worker(now_ms, cluster, &identifier, ApiOp::Reduce)
                .map(Some),
        }
    }

    /// §4.5: create a node group of a size; returns its numeric id. One group per size per
    /// cluster, unique names.
    pub fn create_group(
        &mut self,
        now_ms: i64,
        cluster: &str,
        name: &str,
        kube_size_id: u32,
    ) -> Result<i64, CloudError> {
        self.api_call(now_ms, ApiOp::CreateGroup, Some(cluster))?;
        if self.size(kube_size_id).is_none() {
            return Err(CloudError::UnknownSize {
                size_id: kube_size_id,
            });
        }
        let state = self
            .clusters
            .get(cluster)
            .ok_or_else(|| CloudError::UnknownCluster {
                cluster: cluster.to_string(),
            })?;
        if let Some(same_size) = state.active_groups().find(|g| g.size_id == kube_size_id) {
            return Err(CloudError::DuplicateGroupSize {
                group: same_size.name.clone(),
            });
        }
        if state.group_by_name(name).is_some() {
            return Err(CloudError::DuplicateGroupName {
                name: name.to_string(),
            });
        }
        let id = self.next_group_id;
        self.next_group_id += 1;
        let identifier = ids::uuid(&mut self.rng);
        if let Some(state) = self.clusters.get_mut(cluster) {
            state.groups.insert(
                id,
                GroupState {
                    id,
                    identifier,
                    name: name.to_string(),
                    size_id: kube_size_id,
                    created_ms: now_ms,
                    deleted_ms: None,
                },
            );
        }
        Ok(id)
    }

    /// §4.6: delete an empty group, named by UUID identifier or numeric id.
    pub fn delete_group(
        &mut self,
        now_ms: i64,
        cluster: &str,
        group: &str,
    ) -> Result<(), CloudError> {
        self.api_call(now_ms, ApiOp::DeleteGroup, Some(cluster))?;
        let state = self
            .clusters
            .get_mut(cluster)
            .ok_or_else(|| CloudError::UnknownCluster {
                cluster: cluster.to_string(),
            })?;
        let found = state
            .groups
            .values()
            .find(|g| {
                g.deleted_ms.is_none() && (g.identifier == group || g.id.to_string() == group)
            })
            .map(|g| (g.id, g.name.clone()))
            .ok_or_else(|| CloudError::UnknownGroup {
                group: group.to_string(),
            })?;
        if state.workers.values().any(|w| w.group_id == found.0) {
            return Err(CloudError::GroupNotEmpty { group: found.1 });
        }
        if let Some(g) = state.groups.get_mut(&found.0) {
            g.deleted_ms = Some(now_ms);
        }
        Ok(())
    }

    // ----- time -----

    /// When the next queued state change is due, if any.
    pub fn next_event_at(&self) -> Option<i64> {
        self.queue.keys().next().map(|&(at, _)| at)
    }

    /// Applies every state change due at or before `now_ms`, in `(time, sequence)` order.
    pub fn advance(&mut self, now_ms: i64) -> Vec<CloudEvent> {
        let mut events = Vec::new();
        while let Some(entry) = self.queue.first_entry() {
            let (at, _) = *entry.key();
            if at > now_ms {
                break;
            }
            let pending = entry.remove();
            match pending {
                Pending::Worker {
                    cluster,
                    identifier,
                    epoch,
                    step,
                } => {
                    if let Some(event) = self.apply_step(at, &cluster, &identifier, epoch, step) {
                        events.push(event);
                    }
                }
                Pending::NodeDeath { rule, generation } => {
                    if generation == self.fault_generation
                        && let Some(event) = self.node_death(at, rule)
                    {
                        events.push(event);
                    }
                }
            }
        }
        events
    }

    fn apply_step(
        &mut self,
        at: i64,
        cluster: &str,
        identifier: &str,
        epoch: u64,
        step: Step,
    ) -> Option<CloudEvent> {
        let (group_name, size_id, current_epoch) = {
            let state = self.clusters.get(cluster)?;
            let worker = state.workers.get(identifier)?;
            let group = state
                .groups
                .get(&worker.group_id)
                .map(|g| g.name.clone())
                .unwrap_or_default();
            (group, worker.size_id, worker.epoch)
        };
        if current_epoch != epoch {
            return None;
        }
        let billing_index = match step {
            Step::ToProvisioning => Some(self.open_billing(&group_name, size_id, at)),
            _ => None,
        };
        let delays = self.config.delays.clone();
        let state = self.clusters.get_mut(cluster)?;
        let mut worker = state.workers.get(identifier)?.clone();
        let (kind, next) = match step {
            Step::ToProvisioning => {
                worker.status = WorkerStatus::Provisioning;
                worker.created_ms = Some(at);
                worker.billing_index = billing_index;
                (
                    CloudEventKind::Provisioning,
                    Some((at + delays.boot.sample(&mut self.rng), Step::ToRunning)),
                )
            }
            Step::ToRunning => {
                worker.status = WorkerStatus::Running;
                (
                    CloudEventKind::Running,
                    Some((at + delays.ready.sample(&mut self.rng), Step::ToReady)),
                )
            }
            Step::ToReady => {
                worker.status = WorkerStatus::Ready;
                (CloudEventKind::NodeReady, None)
            }
            Step::ToGone => {
                if let Some(record) = worker.billing_index.and_then(|i| self.billing.get_mut(i)) {
                    record.end_ms = Some(at);
                }
                let worker_ref = state.worker_ref(&worker);
                state.workers.remove(identifier);
                return Some(CloudEvent {
                    at_ms: at,
                    kind: CloudEventKind::Gone,
                    worker: worker_ref,
                });
            }
            Step::RevertDelete => {
                let before = worker
                    .status_before_delete
                    .take()
                    .unwrap_or(WorkerStatus::Ready);
                worker.status = before;
                // Resume the interrupted lifecycle from where it was.
                let next = match before {
                    WorkerStatus::Provisioning => {
                        Some((at + delays.boot.sample(&mut self.rng), Step::ToRunning))
                    }
                    WorkerStatus::Running => {
                        Some((at + delays.ready.sample(&mut self.rng), Step::ToReady))
                    }
                    _ => None,
                };
                (CloudEventKind::DeleteFailed, next)
            }
        };
        worker.epoch += 1;
        let worker_ref = state.worker_ref(&worker);
        state.workers.insert(identifier.to_string(), worker.clone());
        if let Some((next_at, next_step)) = next {
            self.schedule_worker(next_at, cluster, &worker, next_step);
        }
        Some(CloudEvent {
            at_ms: at,
            kind,
            worker: worker_ref,
        })
    }

    fn node_death(&mut self, at: i64, rule_index: usize) -> Option<CloudEvent> {
        let rule = self.faults.rules.get(rule_index)?.clone();
        let FaultKind::NodeDeath {
            hostname,
            interval_ms,
        } = &rule.fault
        else {
            return None;
        };
        // Queue the next tick first so an exhausted or unlucky tick still repeats.
        if let Some(interval) = interval_ms
            && rule.until_ms.is_none_or(|until| at + interval < until)
        {
            let generation = self.fault_generation;
            self.schedule(
                at + interval,
                Pending::NodeDeath {
                    rule: rule_index,
                    generation,
                },
            );
        }
        if !rule.active_at(at)
            || rule
                .max_count
                .is_some_and(|max| self.faults.fired[rule_index] >= max)
            || !faults::draw(&mut self.rng, rule.probability)
        {
            return None;
        }
        let candidates: Vec<(String, String)> = self
            .clusters
            .values()
            .filter(|c| rule.cluster.as_ref().is_none_or(|k| *k == c.identifier))
            .flat_map(|c| {
                c.listed_workers()
                    .into_iter()
                    .filter(|w| matches!(w.status, WorkerStatus::Running | WorkerStatus::Ready))
                    .filter(|w| {
                        hostname
                            .as_ref()
                            .is_none_or(|h| w.hostname.eq_ignore_ascii_case(h))
                    })
                    .map(|w| (c.identifier.clone(), w.identifier.clone()))
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let pick = if candidates.len() == 1 {
            0
        } else {
            rand::RngExt::random_range(&mut self.rng, 0..candidates.len())
        };
        let (cluster, identifier) = candidates.get(pick)?.clone();
        self.faults.fired[rule_index] += 1;
        let state = self.clusters.get_mut(&cluster)?;
        let worker = state.workers.get_mut(&identifier)?;
        worker.status = WorkerStatus::Dead;
        worker.epoch += 1;
        let worker = worker.clone();
        Some(CloudEvent {
            at_ms: at,
            kind: CloudEventKind::Died,
            worker: state.worker_ref(&worker),
        })
    }
}

impl CloudConfig {
    /// Checks the configuration is consistent; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let mut size_ids = std::collections::BTreeSet::new();
        for (i, size) in self.sizes.iter().enumerate() {
            if !size_ids.insert(size.id) {
                return Err(format!("sizes[{i}].id: duplicate KubeSizeID {}", size.id));
            }
            if !(size.hourly_price.is_finite() && size.hourly_price >= 0.0) {
                return Err(format!(
                    "sizes[{i}].hourlyPrice: must be a non-negative number"
                ));
            }
        }
        for (c, cluster) in self.clusters.iter().enumerate() {
            let mut sizes_used = std::collections::BTreeSet::new();
            let mut names = std::collections::BTreeSet::new();
            let mut workers = 0u32;
            for (g, group) in cluster.groups.iter().enumerate() {
                let at = format!("clusters[{c}].groups[{g}]");
                if !size_ids.contains(&group.size_id) {
                    return Err(format!("{at}.sizeId: unknown KubeSizeID {}", group.size_id));
                }
                if !sizes_used.insert(group.size_id) {
                    return Err(format!(
                        "{at}.sizeId: size {} is already used by another group of this cluster",
                        group.size_id
                    ));
                }
                if !names.insert(group.name.as_str()) {
                    return Err(format!("{at}.name: duplicate group name {}", group.name));
                }
                workers = workers.saturating_add(group.workers);
            }
            if workers > cluster.worker_limit {
                return Err(format!(
                    "clusters[{c}].workerLimit: {} is below the {workers} initial workers",
                    cluster.worker_limit
                ));
            }
        }
        let delays = [
            (&self.delays.create, "delays.create"),
            (&self.delays.boot, "delays.boot"),
            (&self.delays.ready, "delays.ready"),
            (&self.delays.delete, "delays.delete"),
        ];
        for (delay, field) in delays {
            delay.validate(field)?;
        }
        for (i, rule) in self.faults.iter().enumerate() {
            rule.validate(i)?;
        }
        Ok(())
    }
}
