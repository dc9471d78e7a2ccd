//! Carrying out the loop's actions against the simulated cloud and cluster, and reporting the
//! outcome back as observations for the next step.

use vpsie_engine::autoscaler::{Action, CloudErrorKind, Observation};
use vpsie_engine::model::NodeGroup;

use super::{CLUSTER_ID, World};
use crate::cloud::CloudError;
use crate::cluster::Controller;
use crate::metrics::ScaleEventKind;

/// How the client would classify a refused call.
pub fn error_kind(e: &CloudError) -> CloudErrorKind {
    match e {
        CloudError::ServerError { .. } | CloudError::ErrorOn200 { .. } => CloudErrorKind::Server,
        CloudError::RateLimited => CloudErrorKind::RateLimited,
        CloudError::WorkerLimit { .. } => CloudErrorKind::WorkerLimit,
        CloudError::StockOut { .. } => CloudErrorKind::OutOfStock,
        CloudError::DuplicateGroupSize { .. } => CloudErrorKind::SizeConflict,
        CloudError::UnknownCluster { .. }
        | CloudError::UnknownGroup { .. }
        | CloudError::UnknownWorker { .. } => CloudErrorKind::NotFound,
        _ => CloudErrorKind::Other,
    }
}

impl World {
    pub(crate) fn execute(&mut self, action: Action) {
        let now = self.queue.now();
        match action {
            Action::CreateGroup { group, size_id } => {
                match self.cloud.create_group(now, CLUSTER_ID, &group, size_id) {
                    Ok(id) => {
                        self.group_ids.insert(group.clone(), id);
                        let size = self
                            .cluster
                            .snapshot
                            .sizes
                            .iter()
                            .find(|z| z.id == size_id)
                            .map(|z| z.name.clone())
                            .unwrap_or_default();
                        if !self
                            .cluster
                            .snapshot
                            .node_groups
                            .iter()
                            .any(|g| g.name == group)
                        {
                            self.cluster.snapshot.node_groups.push(NodeGroup {
                                name: group.clone(),
                                size,
                                min: 0,
                                max: u32::MAX,
                                labels: Default::default(),
                                taints: Vec::new(),
                                zone: None,
                                datacenter: None,
                                priority: 0,
                                system_reserved: None,
                                scale_down_utilization_threshold: None,
                                shared_max: None,
                            });
                        }
                        self.note_scale_event(ScaleEventKind::GroupCreated, group.clone());
                        self.observations.push(Observation::GroupCreated {
                            group,
                            vpsie_group_id: id,
                        });
                    }
                    Err(e) => self.observations.push(Observation::GroupCreateFailed {
                        group,
                        error: error_kind(&e),
                        message: e.to_string(),
                    }),
                }
            }
            Action::AddWorker { group, request } => {
                let Some(&id) = self.group_ids.get(&group) else {
                    self.observations.push(Observation::AddWorkerFailed {
                        request,
                        error: CloudErrorKind::NotFound,
                        message: format!("node group {group} does not exist at VPSie"),
                    });
                    return;
                };
                match self.cloud.add_worker(now, CLUSTER_ID, id) {
                    Ok(_receipt) => {
                        self.metrics.scale_ups += 1;
                        self.note_scale_event(ScaleEventKind::AddWorker, group);
                        self.observations
                            .push(Observation::AddWorkerAccepted { request });
                    }
                    Err(e) => {
                        self.metrics.failed_adds += 1;
                        self.note_scale_event(ScaleEventKind::AddFailed, format!("{group}: {e}"));
                        self.observations.push(Observation::AddWorkerFailed {
                            request,
                            error: error_kind(&e),
                            message: e.to_string(),
                        });
                    }
                }
            }
            Action::LabelNode { node, group } => {
                self.cluster.label_node(&node, &group);
                self.cluster.mark_capacity_changed();
                self.queue_schedule_pass();
            }
            Action::Cordon { node } => self.cluster.set_cordoned(&node, true),
            Action::Uncordon { node } => {
                self.cluster.set_cordoned(&node, false);
                self.queue_schedule_pass();
            }
            Action::Drain { node, .. } => self.drain(&node),
            Action::DeleteNode { node } => {
                if self.cluster.node(&node).is_some() {
                    self.node_deleted(&node);
                }
            }
            Action::DeleteWorker { identifier, node } => {
                match self.cloud.delete_worker(now, CLUSTER_ID, &identifier) {
                    Ok(()) => {
                        self.metrics.scale_downs += 1;
                        let subject = node.clone().unwrap_or_else(|| identifier.clone());
                        self.note_scale_event(ScaleEventKind::DeleteWorker, subject);
                        // A deleting worker's Node goes NotReady at once.
                        if let Some(n) = node {
                            self.cluster.set_not_ready(&n);
                        }
                    }
                    Err(CloudError::UnknownWorker { .. }) => {
                        self.observations
                            .push(Observation::WorkerGone { identifier });
                    }
                    Err(e) => self.observations.push(Observation::DeleteWorkerFailed {
                        identifier,
                        error: error_kind(&e),
                        message: e.to_string(),
                    }),
                }
            }
        }
    }

    /// Evicts every pod of a node through the Eviction API: a PDB refusal stops the drain and
    /// is reported; DaemonSet pods stay (they go with the node).
    fn drain(&mut self, node: &str) {
        let pods = self.cluster.pods_on(node);
        let mut evicting = std::collections::BTreeSet::new();
        for key in pods {
            let Some((pod, meta)) = self.cluster.pod(&key) else {
                continue;
            };
            if meta.controller == Controller::DaemonSet || pod.is_mirror() {
                continue;
            }
            if meta.terminating {
                evicting.insert(key);
                continue;
            }
            if let Err(refused) = self.cluster.eviction_allowed(&key) {
                self.metrics.evictions_refused += 1;
                self.note_scale_event(ScaleEventKind::DrainFailed, node.to_string());
                self.observations.push(Observation::DrainFailed {
                    node: node.to_string(),
                    message: format!(
                        "eviction of {} refused: PodDisruptionBudget {} allows no disruption",
                        refused.pod, refused.pdb
                    ),
                });
                // Pods already evicted keep terminating; the drain itself is over.
                return;
            }
            self.evict(&key);
            evicting.insert(key);
        }
        self.note_scale_event(ScaleEventKind::Drain, node.to_string());
        if evicting.is_empty() {
            self.observations.push(Observation::DrainFinished {
                node: node.to_string(),
            });
        } else {
            self.drains.insert(node.to_string(), evicting);
        }
        self.queue_schedule_pass();
    }
}
