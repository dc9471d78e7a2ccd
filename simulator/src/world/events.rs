//! What each event does: arrivals, controllers, pod ends, cloud changes, binder passes and
//! the autoscaler's tick.

use vpsie_engine::autoscaler::{Observation, step};
use vpsie_engine::model::OwnerRef;

use super::{CLUSTER_ID, Event, World};
use crate::cloud::{CloudEventKind, WorkerStatus};
use crate::cluster::Controller;
use crate::des::SimTime;
use crate::metrics::ScaleEventKind;
use crate::workload::draw_delay;

/// Grace period of a pod that does not say (Kubernetes' default).
const DEFAULT_GRACE_MS: SimTime = 30_000;

impl World {
    pub(crate) fn handle(&mut self, event: Event) {
        match event {
            Event::Arrival(i) => self.arrive(i),
            Event::Replicas {
                deployment,
                replicas,
            } => {
                self.deployments[deployment].desired = replicas;
                self.reconcile_deployment(deployment);
            }
            Event::JobStart(j) => self.start_job_pods(j),
            Event::PodDone(key) => self.pod_done(&key),
            Event::Terminated(key) => self.terminated(&key),
            Event::Tick => self.tick(),
            Event::CloudWake => {
                self.cloud_wake_at = None;
                self.advance_cloud();
            }
            Event::Schedule => {
                self.schedule_queued = false;
                self.schedule_pass();
            }
            Event::Sample => self.sample(),
        }
    }

    fn arrive(&mut self, i: usize) {
        let a = self.arrivals[i].clone();
        let run_for = a.run_for.as_ref().map(|d| draw_delay(d, &mut self.rng));
        let (owner, controller) = match &a.owner_kind {
            Some(kind) => (
                Some(OwnerRef {
                    kind: kind.clone(),
                    name: a.name.clone(),
                }),
                Controller::Recreated,
            ),
            None => (None, Controller::Bare),
        };
        self.create_pod(a.template, a.name, owner, controller, run_for);
    }

    /// Brings a deployment's live pods to its desired count: new pods, or deletion of the
    /// newest (pending ones first, as the ReplicaSet controller prefers).
    pub(crate) fn reconcile_deployment(&mut self, d: usize) {
        let live = self.deployments[d].pods.len() as u32;
        let desired = self.deployments[d].desired;
        if live < desired {
            for _ in live..desired {
                let dep = &mut self.deployments[d];
                dep.next += 1;
                let name = format!("{}-{:05}", dep.name, dep.next);
                let owner = OwnerRef {
                    kind: "ReplicaSet".to_string(),
                    name: dep.name.clone(),
                };
                let template = dep.template;
                let key =
                    self.create_pod(template, name, Some(owner), Controller::Deployment(d), None);
                let now = self.queue.now();
                self.deployments[d].pods.insert((now, key));
            }
        } else if live > desired {
            let mut victims: Vec<(bool, SimTime, String)> = self.deployments[d]
                .pods
                .iter()
                .map(|(t, k)| {
                    let pending = self
                        .cluster
                        .pod(k)
                        .is_some_and(|(p, _)| p.node_name.is_none());
                    (!pending, std::cmp::Reverse(*t).0, k.clone())
                })
                .collect();
            // Pending first, then newest first.
            victims.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
            for (_, t, key) in victims.into_iter().take((live - desired) as usize) {
                self.deployments[d].pods.remove(&(t, key.clone()));
                self.terminate_pod(&key);
            }
        }
    }

    fn start_job_pods(&mut self, j: usize) {
        let mut running = self
            .cluster
            .pods()
            .filter(|(_, m)| m.controller == Controller::Job(j) && !m.terminating)
            .count() as u32;
        while running < self.jobs[j].parallelism && self.jobs[j].to_start > 0 {
            self.start_one_job_pod(j);
            running += 1;
        }
    }

    fn start_one_job_pod(&mut self, j: usize) {
        let job = &mut self.jobs[j];
        job.to_start -= 1;
        job.next += 1;
        let name = format!("{}-{:04}", job.name, job.next);
        let owner = OwnerRef {
            kind: "Job".to_string(),
            name: job.name.clone(),
        };
        let template = job.template;
        let duration = job.duration.clone();
        let run_for = draw_delay(&duration, &mut self.rng);
        self.create_pod(
            template,
            name,
            Some(owner),
            Controller::Job(j),
            Some(run_for),
        );
    }

    fn pod_done(&mut self, key: &str) {
        let Some((_, meta)) = self.cluster.pod(key) else {
            return;
        };
        if meta.terminating {
            return;
        }
        let controller = meta.controller;
        self.cluster.remove_pod(key);
        self.metrics.pods_completed += 1;
        self.queue_schedule_pass();
        if let Controller::Job(j) = controller
            && self.jobs[j].to_start > 0
        {
            self.start_one_job_pod(j);
        }
    }

    /// Starts a pod's termination: it keeps its resources for its grace period.
    pub(crate) fn terminate_pod(&mut self, key: &str) {
        let Some((pod, meta)) = self.cluster.pod(key) else {
            return;
        };
        if meta.terminating {
            return;
        }
        if pod.node_name.is_none() {
            self.cluster.remove_pod(key);
            return;
        }
        let grace = pod
            .termination_grace_period_seconds
            .map_or(DEFAULT_GRACE_MS, |s| s.max(0) * 1000);
        self.cluster.set_terminating(key);
        self.queue
            .schedule_in(grace, Event::Terminated(key.to_string()));
    }

    fn terminated(&mut self, key: &str) {
        let node = self.cluster.pod(key).and_then(|(p, _)| p.node_name.clone());
        self.cluster.remove_pod(key);
        self.queue_schedule_pass();
        if let Some(node) = node {
            let finished = match self.drains.get_mut(&node) {
                Some(set) => {
                    set.remove(key);
                    set.is_empty()
                }
                None => false,
            };
            if finished {
                self.drains.remove(&node);
                self.observations.push(Observation::DrainFinished { node });
            }
        }
    }

    /// Evicts a pod (the caller checked its PDBs): its controller makes a replacement at once,
    /// the pod itself terminates over its grace period.
    pub(crate) fn evict(&mut self, key: &str) {
        let Some((pod, meta)) = self.cluster.pod(key) else {
            return;
        };
        if meta.terminating {
            return;
        }
        let meta = meta.clone();
        let owner = pod.owner.clone();
        let base = pod.name.clone();
        self.metrics.evictions += 1;
        self.terminate_pod(key);
        self.replace(key, &base, owner, &meta);
    }

    /// A controller's replacement of a pod that is going away (eviction, node deletion).
    fn replace(
        &mut self,
        key: &str,
        base: &str,
        owner: Option<OwnerRef>,
        meta: &crate::cluster::PodMeta,
    ) {
        match meta.controller {
            Controller::Deployment(d) => {
                let dep = &mut self.deployments[d];
                dep.pods.retain(|(_, k)| k != key);
                self.reconcile_deployment(d);
            }
            Controller::Job(j) => {
                self.jobs[j].to_start += 1;
                self.start_job_pods(j);
            }
            Controller::Recreated => {
                let seq = self.next_pod_seq();
                let root = base.split("-r").next().unwrap_or(base).to_string();
                let name = format!("{root}-r{seq}");
                let template = (meta.shape as usize).saturating_sub(1);
                self.create_pod(template, name, owner, Controller::Recreated, meta.run_for);
            }
            Controller::Bare => self.metrics.pods_lost += 1,
            Controller::DaemonSet => {}
        }
    }

    /// The Node object is gone: its pods are deleted; controllers replace theirs.
    pub(crate) fn node_deleted(&mut self, name: &str) {
        let pods = self.cluster.remove_node(name);
        for key in pods {
            let Some((pod, meta)) = self.cluster.pod(&key) else {
                continue;
            };
            let (owner, base, meta) = (pod.owner.clone(), pod.name.clone(), meta.clone());
            self.cluster.remove_pod(&key);
            if !meta.terminating {
                self.replace(&key, &base, owner, &meta);
            }
        }
        if let Some(set) = self.drains.remove(name)
            && !set.is_empty()
        {
            self.observations.push(Observation::DrainFinished {
                node: name.to_string(),
            });
        }
        self.queue_schedule_pass();
    }

    fn schedule_pass(&mut self) {
        if !self.cluster.wants_pass() {
            return;
        }
        let now = self.queue.now();
        let bound = self.cluster.schedule_pending(now);
        for (key, _) in bound {
            let Some((_, meta)) = self.cluster.pod(&key) else {
                continue;
            };
            if meta.controller != Controller::DaemonSet {
                // From this pod's creation: a pod recreated after an eviction waits from then,
                // not from when its work first arrived (which would count the time it ran).
                self.metrics.waits.push(now - meta.arrived_at);
            }
            if let Some(run) = meta.run_for {
                self.queue.schedule(now + run, Event::PodDone(key));
            }
        }
    }

    /// Applies the cloud's due state changes to the Kubernetes side (the kubelet registers,
    /// Nodes become Ready, die, or disappear with their VPS).
    pub(crate) fn advance_cloud(&mut self) {
        let now = self.queue.now();
        let events = self.cloud.advance(now);
        for e in events {
            let w = &e.worker;
            match e.kind {
                CloudEventKind::Provisioning => {}
                CloudEventKind::Running => {
                    self.register_node(&w.hostname, &w.identifier, w.size_id, None, now);
                }
                CloudEventKind::NodeReady => {
                    self.cluster.set_ready(&w.hostname, now);
                    self.queue_schedule_pass();
                }
                CloudEventKind::Died => {
                    self.cluster.set_not_ready(&w.hostname);
                    self.metrics.nodes_died += 1;
                    self.note_scale_event(ScaleEventKind::NodeDied, w.hostname.clone());
                }
                CloudEventKind::Gone => {
                    self.node_deleted(&w.hostname);
                }
                CloudEventKind::DeleteFailed => {
                    self.note_scale_event(ScaleEventKind::DeleteFailed, w.hostname.clone());
                }
            }
        }
        self.queue_cloud_wake();
    }

    /// Lists the VPSie workers and reports what changed since the last listing. Most listings
    /// change nothing, so known workers are updated in place and the departed are looked for
    /// only when fewer known workers were listed than are known.
    fn diff_workers(&mut self) {
        let Some(view) = self.cloud.cluster(CLUSTER_ID) else {
            return;
        };
        let listed = view.listed_workers();
        let mut appeared = Vec::new();
        let mut running = Vec::new();
        let mut new_workers = Vec::new();
        // Identifiers are unique in a listing (the cloud keeps workers by id).
        let mut known_listed = 0usize;
        for w in &listed {
            let is_running = matches!(w.status, WorkerStatus::Running | WorkerStatus::Ready);
            match self.known_workers.get_mut(&w.identifier) {
                None => {
                    let group = view
                        .groups
                        .get(&w.group_id)
                        .map(|g| g.name.clone())
                        .unwrap_or_default();
                    appeared.push(Observation::WorkerAppeared {
                        group,
                        identifier: w.identifier.clone(),
                        hostname: w.hostname.clone(),
                    });
                    if is_running {
                        running.push(w.identifier.clone());
                    }
                    new_workers.push((w.identifier.clone(), is_running));
                }
                Some(was_running) => {
                    known_listed += 1;
                    if !*was_running && is_running {
                        running.push(w.identifier.clone());
                    }
                    *was_running = is_running;
                }
            }
        }
        let gone: Vec<String> = if known_listed == self.known_workers.len() {
            Vec::new()
        } else {
            let ids: std::collections::BTreeSet<&str> =
                listed.iter().map(|w| w.identifier.as_str()).collect();
            self.known_workers
                .keys()
                .filter(|k| !ids.contains(k.as_str()))
                .cloned()
                .collect()
        };
        for id in &gone {
            self.known_workers.remove(id);
        }
        self.known_workers.extend(new_workers);
        self.observations.extend(appeared);
        self.observations.extend(
            running
                .into_iter()
                .map(|identifier| Observation::WorkerRunning { identifier }),
        );
        self.observations.extend(
            gone.into_iter()
                .map(|identifier| Observation::WorkerGone { identifier }),
        );
    }

    /// One autoscaler step: observe, decide, act.
    fn tick(&mut self) {
        let now = self.queue.now();
        self.advance_cloud();
        // Bindings due at this instant happen before the loop looks (the scheduler is faster
        // than a scan interval).
        if self.schedule_queued {
            self.schedule_queued = false;
            self.schedule_pass();
        }
        self.diff_workers();
        let observations = std::mem::take(&mut self.observations);
        self.cluster.snapshot.now_ms = now;
        let state = std::mem::take(&mut self.loop_state);
        let (state, output) = step(
            state,
            &self.cluster.snapshot,
            &observations,
            now,
            &self.config,
        );
        self.loop_state = state;
        self.steps += 1;
        self.metrics.record_decision(&output.decision);
        if !self.config.dry_run {
            for action in output.actions {
                self.execute(action);
            }
        }
        self.queue_cloud_wake();
        let next = now + self.config.scan_interval.ms().max(1);
        if next <= self.end {
            self.queue.schedule(next, Event::Tick);
        }
    }
}
