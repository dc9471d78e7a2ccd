//! The simulation: a discrete-event world where the workload arrives, the binder schedules,
//! the simulated VPSie cloud provisions and bills, and the engine's own autoscaling loop
//! (`vpsie_engine::autoscaler::step`) ticks at its scan interval and acts through the cloud.
//!
//! One event queue, one seeded RNG (the cloud gets its seed from it), integer milliseconds.

mod actions;
mod events;
mod probe;
pub mod setup;

use std::collections::{BTreeMap, BTreeSet};

use vpsie_engine::autoscaler::{AutoscalerConfig, ListedWorker, LoopState, Observation};
use vpsie_engine::model::{Node, OwnerRef, Resources};

use crate::cloud::{Cloud, WorkerStatus};
use crate::cluster::{Controller, NodeMeta, PodMeta, SimCluster};
use crate::des::{EventQueue, SimRng, SimTime};
use crate::metrics::{Metrics, ScaleEventKind};
use crate::scenario::{DelaySpec, LoadedScenario, PodTemplate, ScenarioError};
use crate::workload::{arrival_times, make_pod, resolve_template};

pub use setup::CLUSTER_ID;

/// Something due at a point of virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A pod of `arrivals[i]` is created.
    Arrival(usize),
    /// A deployment's desired replicas change.
    Replicas { deployment: usize, replicas: u32 },
    /// A job starts.
    JobStart(usize),
    /// A pod finished its work.
    PodDone(String),
    /// An evicted or deleted pod finished terminating.
    Terminated(String),
    /// The autoscaler loop runs one step.
    Tick,
    /// The cloud has state changes due.
    CloudWake,
    /// The binder runs a pass.
    Schedule,
    /// A timeline sample is taken.
    Sample,
}

/// A pod that will arrive: which template, how long it runs, who owns it.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    name: String,
    template: usize,
    run_for: Option<DelaySpec>,
    owner_kind: Option<String>,
}

#[derive(Debug, Clone)]
struct DeploymentRt {
    name: String,
    template: usize,
    desired: u32,
    /// Live (not terminating) pods by creation order.
    pods: BTreeSet<(SimTime, String)>,
    next: u64,
}

#[derive(Debug, Clone)]
struct JobRt {
    name: String,
    template: usize,
    duration: DelaySpec,
    parallelism: u32,
    to_start: u32,
    next: u64,
}

/// Options of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub seed: u64,
    pub config: AutoscalerConfig,
}

/// The whole simulated world.
#[derive(Debug)]
pub struct World {
    queue: EventQueue<Event>,
    rng: SimRng,
    end: SimTime,
    sample_every: SimTime,
    cluster: SimCluster,
    cloud: Cloud,
    config: AutoscalerConfig,
    loop_state: LoopState,
    observations: Vec<Observation>,
    /// Workers seen in the VPSie node list at the last tick, with whether they were running.
    known_workers: BTreeMap<String, bool>,
    /// Autoscaler group name → VPSie numeric group id.
    group_ids: BTreeMap<String, i64>,
    templates: Vec<PodTemplate>,
    arrivals: Vec<Arrival>,
    deployments: Vec<DeploymentRt>,
    jobs: Vec<JobRt>,
    /// Drains in progress: node → pods still terminating.
    drains: BTreeMap<String, BTreeSet<String>>,
    schedule_queued: bool,
    cloud_wake_at: Option<SimTime>,
    pod_seq: u64,
    last_event_at: SimTime,
    pub(crate) metrics: Metrics,
    steps: u64,
    steps_skipped: u64,
}

impl World {
    /// Builds the world at time zero: initial workers Ready, the workload's events queued.
    pub fn new(l: &LoadedScenario, options: RunOptions) -> Result<Self, ScenarioError> {
        let s = &l.scenario;
        let mut rng = SimRng::new(options.seed);
        let cloud_config = setup::cloud_config(l)?;
        let cloud = Cloud::new(cloud_config, rng.next_u64());
        let cluster = SimCluster::new(setup::base_snapshot(l));
        let mut world = World {
            queue: EventQueue::new(),
            rng,
            end: s.duration.ms(),
            sample_every: s.sample_interval.map_or(60_000, |d| d.ms()),
            cluster,
            cloud,
            config: options.config,
            loop_state: LoopState::new(),
            observations: Vec::new(),
            known_workers: BTreeMap::new(),
            group_ids: BTreeMap::new(),
            templates: Vec::new(),
            arrivals: Vec::new(),
            deployments: Vec::new(),
            jobs: Vec::new(),
            drains: BTreeMap::new(),
            schedule_queued: false,
            cloud_wake_at: None,
            pod_seq: 0,
            last_event_at: 0,
            metrics: Metrics::default(),
            steps: 0,
            steps_skipped: 0,
        };
        for node in &s.cluster.static_nodes {
            let mut node = node.clone();
            node.ready = true;
            node.created_at_ms.get_or_insert(0);
            let name = node.name.clone();
            world.cluster.add_node(
                node,
                NodeMeta {
                    identifier: None,
                    registered_at: 0,
                    ready_at: None,
                    binder: None,
                },
            );
            world.cluster.set_ready(&name, 0);
        }
        world.start_cluster();
        world.queue_workload(l);
        world.queue.schedule(0, Event::Sample);
        world.queue.schedule(0, Event::Tick);
        world.queue_schedule_pass();
        Ok(world)
    }

    /// The initial workers exist, are Ready and labelled; the loop adopts them as a restarted
    /// runtime would (`LoopState::rebuild` from the VPSie node list).
    fn start_cluster(&mut self) {
        let Some(view) = self.cloud.cluster(CLUSTER_ID) else {
            return;
        };
        let groups: BTreeMap<i64, String> = view
            .active_groups()
            .map(|g| (g.id, g.name.clone()))
            .collect();
        for (id, name) in &groups {
            self.group_ids.insert(name.clone(), *id);
        }
        let workers: Vec<(String, String, String, u32)> = view
            .listed_workers()
            .iter()
            .map(|w| {
                (
                    w.identifier.clone(),
                    w.hostname.clone(),
                    groups.get(&w.group_id).cloned().unwrap_or_default(),
                    w.size_id,
                )
            })
            .collect();
        let mut listed = Vec::new();
        for (identifier, hostname, group, size_id) in workers {
            self.register_node(&hostname, &identifier, size_id, Some(&group), 0);
            self.cluster.set_ready(&hostname, 0);
            self.known_workers.insert(identifier.clone(), true);
            listed.push(ListedWorker {
                group,
                identifier,
                hostname,
                status: "running".to_string(),
                created_at_ms: Some(0),
            });
        }
        self.loop_state = LoopState::rebuild(Vec::new(), &listed, 0);
        for (vpsie_id, name) in groups {
            self.loop_state
                .groups
                .entry(name)
                .or_default()
                .vpsie_group_id = Some(vpsie_id);
        }
    }

    /// Adds a Kubernetes Node for a worker (NotReady; `set_ready` follows).
    fn register_node(
        &mut self,
        hostname: &str,
        identifier: &str,
        size_id: u32,
        group: Option<&str>,
        now: SimTime,
    ) {
        let snapshot = &self.cluster.snapshot;
        let size = snapshot.sizes.iter().find(|z| z.id == size_id);
        let group_spec = group.and_then(|g| snapshot.node_groups.iter().find(|x| x.name == g));
        let reserved = group_spec
            .and_then(|g| g.system_reserved.clone())
            .unwrap_or_else(|| snapshot.system_reserved.clone());
        let mut allocatable = size.map(|z| z.capacity()).unwrap_or_default();
        allocatable = allocatable.sub(&reserved);
        for v in [
            &mut allocatable.cpu_milli,
            &mut allocatable.memory,
            &mut allocatable.ephemeral_storage,
        ] {
            *v = (*v).max(0);
        }
        let node = Node {
            name: hostname.to_string(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            taints: Vec::new(),
            allocatable,
            unschedulable: false,
            ready: false,
            node_group: None,
            zone: None,
            created_at_ms: Some(now),
        };
        self.cluster.add_node(
            node,
            NodeMeta {
                identifier: Some(identifier.to_string()),
                registered_at: now,
                ready_at: None,
                binder: None,
            },
        );
        if let Some(g) = group {
            self.cluster.label_node(hostname, g);
        }
    }

    /// Expands the workload into templates and queued events.
    fn queue_workload(&mut self, l: &LoadedScenario) {
        let w = &l.scenario.workload;
        for p in &w.pods {
            let t = self.add_template(resolve_template(w, &p.template, &p.requests));
            for i in 0..p.count {
                let name = if p.count == 1 {
                    p.name.clone()
                } else {
                    format!("{}-{i}", p.name)
                };
                let idx = self.arrivals.len();
                self.arrivals.push(Arrival {
                    name,
                    template: t,
                    run_for: p.duration.map(DelaySpec::Fixed),
                    owner_kind: p.owner_kind.clone(),
                });
                self.queue.schedule(p.at.ms(), Event::Arrival(idx));
            }
        }
        for (i, d) in w.deployments.iter().enumerate() {
            let t = self.add_template(resolve_template(w, &d.template, &d.requests));
            self.templates[t]
                .labels
                .insert("app".to_string(), d.name.clone());
            self.deployments.push(DeploymentRt {
                name: d.name.clone(),
                template: t,
                desired: 0,
                pods: BTreeSet::new(),
                next: 0,
            });
            for step in &d.replicas {
                self.queue.schedule(
                    step.at.ms(),
                    Event::Replicas {
                        deployment: i,
                        replicas: step.replicas,
                    },
                );
            }
        }
        for (i, j) in w.jobs.iter().enumerate() {
            let t = self.add_template(resolve_template(w, &j.template, &j.requests));
            self.templates[t]
                .labels
                .insert("job-name".to_string(), j.name.clone());
            self.jobs.push(JobRt {
                name: j.name.clone(),
                template: t,
                duration: j.duration.clone(),
                parallelism: j.parallelism,
                to_start: j.completions,
                next: 0,
            });
            self.queue.schedule(j.at.ms(), Event::JobStart(i));
        }
        for g in &w.generators {
            let t = self.add_template(resolve_template(w, &g.template, &g.requests));
            let until = g.until.map_or(self.end, |u| u.ms()).min(self.end);
            let times = arrival_times(&g.shape, g.from.ms(), until, &mut self.rng);
            for (k, at) in times.into_iter().enumerate() {
                let idx = self.arrivals.len();
                self.arrivals.push(Arrival {
                    name: format!("{}-{k}", g.name),
                    template: t,
                    run_for: Some(g.lifetime.clone()),
                    owner_kind: Some(g.owner_kind.clone().unwrap_or_else(|| "Job".to_string())),
                });
                self.queue.schedule(at, Event::Arrival(idx));
            }
        }
    }

    fn add_template(&mut self, t: PodTemplate) -> usize {
        self.templates.push(t);
        self.templates.len() - 1
    }

    /// Creates a pending pod from a template.
    fn create_pod(
        &mut self,
        template: usize,
        name: String,
        owner: Option<OwnerRef>,
        controller: Controller,
        run_for: Option<SimTime>,
    ) -> String {
        let now = self.queue.now();
        let pod = make_pod(&self.templates[template], name, owner, now);
        let key = pod.key();
        self.cluster.add_pod(
            pod,
            PodMeta {
                arrived_at: now,
                bound_at: None,
                run_for,
                controller,
                terminating: false,
                shape: template as u64 + 1,
            },
        );
        self.metrics.pods_created += 1;
        self.queue_schedule_pass();
        key
    }

    fn next_pod_seq(&mut self) -> u64 {
        self.pod_seq += 1;
        self.pod_seq
    }

    pub(crate) fn queue_schedule_pass(&mut self) {
        if !self.schedule_queued {
            self.schedule_queued = true;
            self.queue.schedule(self.queue.now(), Event::Schedule);
        }
    }

    fn queue_cloud_wake(&mut self) {
        if let Some(at) = self.cloud.next_event_at()
            && self
                .cloud_wake_at
                .is_none_or(|w| at < w || w < self.queue.now())
        {
            self.cloud_wake_at = Some(at);
            self.queue.schedule(at, Event::CloudWake);
        }
    }

    /// Runs to the end. `progress` is called now and then with (now, end).
    pub fn run(mut self, progress: &mut dyn FnMut(SimTime, SimTime)) -> crate::metrics::RunResult {
        let mut since_progress = 0u32;
        while let Some(ev) = self.queue.pop_until(self.end) {
            self.account_time(ev.at);
            self.handle(ev.event);
            since_progress += 1;
            if since_progress >= 4096 {
                since_progress = 0;
                progress(self.queue.now(), self.end);
            }
        }
        self.account_time(self.end);
        self.queue.advance_to(self.end);
        progress(self.end, self.end);
        self.finish()
    }

    fn account_time(&mut self, at: SimTime) {
        let dt = at - self.last_event_at;
        if dt > 0 {
            self.metrics.pending_pod_ms += dt as i128 * self.cluster.pending_count() as i128;
            self.last_event_at = at;
        }
    }

    /// Final accounting.
    fn finish(mut self) -> crate::metrics::RunResult {
        let end = self.end;
        let billing = self.cloud.billing(end);
        let mut orphaned = Vec::new();
        let mut settled_workers = 0;
        if let Some(view) = self.cloud.cluster(CLUSTER_ID) {
            for w in view.listed_workers() {
                if w.status == WorkerStatus::Deleting {
                    continue;
                }
                settled_workers += 1;
                if self
                    .loop_state
                    .record_by_identifier(&w.identifier)
                    .is_none()
                {
                    orphaned.push(w.hostname.clone());
                }
            }
        }
        for (key, arrived) in self.cluster.pending_pods() {
            let _ = key;
            self.metrics.unbound_waits.push(end - arrived);
        }
        let (used, alloc) = self.cluster.usage();
        crate::metrics::RunResult::build(
            self.metrics,
            crate::metrics::Finals {
                end_ms: end,
                billing,
                orphaned,
                workers_at_end: settled_workers,
                steps: self.steps,
                steps_skipped: self.steps_skipped,
                events: self.queue.processed(),
                rng_draws: self.rng.draws(),
                final_usage: (used, alloc),
            },
        )
    }

    pub(crate) fn note_scale_event(&mut self, kind: ScaleEventKind, subject: String) {
        let at = self.queue.now();
        self.metrics.push_event(at, kind, subject);
    }

    fn sample(&mut self) {
        let now = self.queue.now();
        let mut by_group: BTreeMap<String, u32> = BTreeMap::new();
        let mut ready = 0u32;
        for (n, _) in self.cluster.nodes() {
            *by_group
                .entry(
                    n.node_group
                        .clone()
                        .unwrap_or_else(|| "(unlabelled)".to_string()),
                )
                .or_default() += 1;
            if n.ready {
                ready += 1;
            }
        }
        let (used, alloc): (Resources, Resources) = self.cluster.usage();
        let util = |u: i64, a: i64| if a > 0 { u as f64 / a as f64 } else { 0.0 };
        let running = self
            .cluster
            .pods()
            .filter(|(p, m)| p.node_name.is_some() && m.controller != Controller::DaemonSet)
            .count();
        let billing = self.cloud.billing(now);
        self.metrics.samples.push(crate::metrics::Sample {
            at: now,
            nodes_by_group: by_group,
            ready_nodes: ready,
            in_flight: self.loop_state.in_flight().count() as u32,
            pending_pods: self.cluster.pending_count() as u32,
            running_pods: running as u32,
            cpu_utilization: util(used.cpu_milli, alloc.cpu_milli),
            memory_utilization: util(used.memory, alloc.memory),
            cost_usd: billing.total_usd,
        });
        if now + self.sample_every <= self.end {
            self.queue.schedule(now + self.sample_every, Event::Sample);
        }
    }
}
