//! Hooks for chaos campaigns: running with controller restarts that lose the loop's
//! in-memory state, watching group maxima, and the settled end state the invariants check.

use std::collections::{BTreeMap, BTreeSet};

use vpsie_engine::autoscaler::{ListedWorker, LoopState, step};

use super::{CLUSTER_ID, World};
use crate::chaos::check::{EndState, GroupBounds, NodeEnd, PodEnd, VpsEnd};
use crate::cloud::WorkerStatus;
use crate::cluster::Controller;
use crate::des::SimTime;
use crate::metrics::RunResult;

fn status_text(s: WorkerStatus) -> &'static str {
    match s {
        WorkerStatus::Accepted | WorkerStatus::Provisioning => "provisioning",
        WorkerStatus::Running | WorkerStatus::Ready => "running",
        WorkerStatus::Deleting => "deleting",
        WorkerStatus::Dead => "stopped",
    }
}

/// How far past its end a chaos run goes on while workers are still in flight or leaving.
const SETTLE_EXTENSION_MAX_MS: SimTime = 2 * 3_600_000;
const SETTLE_EXTENSION_STEP_MS: SimTime = 5 * 60_000;

impl World {
    /// The VPSie worker list as a shell sees it, with autoscaler group names.
    fn listed_for_shell(&self) -> Vec<ListedWorker> {
        let Some(view) = self.cloud.cluster(CLUSTER_ID) else {
            return Vec::new();
        };
        view.listed_workers()
            .iter()
            .map(|w| ListedWorker {
                group: view
                    .groups
                    .get(&w.group_id)
                    .map(|g| g.name.clone())
                    .unwrap_or_default(),
                identifier: w.identifier.clone(),
                hostname: w.hostname.clone(),
                status: status_text(w.status).to_string(),
                created_at_ms: w.created_ms,
            })
            .collect()
    }

    /// The controller restarts: everything in memory is lost (timers, backoff, replacements,
    /// answers not yet observed); the state is rebuilt from the persisted records and the
    /// VPSie worker list, as the live runtime does.
    pub fn restart_controller(&mut self) {
        let now = self.queue.now();
        let records = self.loop_state.records.values().cloned().collect();
        let listed = self.listed_for_shell();
        self.loop_state = LoopState::rebuild(records, &listed, now);
        for (name, id) in &self.group_ids {
            self.loop_state
                .groups
                .entry(name.clone())
                .or_default()
                .vpsie_group_id = Some(*id);
        }
        self.observations.clear();
        self.known_workers = listed
            .iter()
            .map(|w| (w.identifier.clone(), w.status == "running"))
            .collect();
    }

    /// No worker of the loop is being provisioned, joining, drained or deleted.
    fn workers_quiet(&self) -> bool {
        self.loop_state
            .records
            .values()
            .all(|r| !r.phase.is_in_flight() && !r.phase.is_removing())
    }

    /// Workers per VPSie group that count against the group's size (listed, not deleting).
    fn workers_by_group(&self) -> BTreeMap<String, u32> {
        let mut out = BTreeMap::new();
        for w in self.listed_for_shell() {
            if w.status != "deleting" {
                *out.entry(w.group).or_default() += 1;
            }
        }
        out
    }

    /// Runs to the end, restarting the controller at each of `restarts` (sorted), watching
    /// every group's maximum after each event. Returns the report and the settled end state.
    pub fn run_chaos(mut self, restarts: &[SimTime]) -> (RunResult, EndState) {
        let mut restarts = restarts.iter().copied().peekable();
        let mut max_exceeded: Option<(String, u32, u32)> = None;
        let bounds: Vec<(String, u32)> = self
            .cluster
            .snapshot
            .node_groups
            .iter()
            .map(|g| (g.name.clone(), g.max))
            .collect();
        loop {
            let stop = restarts.peek().copied().unwrap_or(self.end).min(self.end);
            while let Some(ev) = self.queue.pop_until(stop) {
                self.account_time(ev.at);
                let tick = ev.event == super::Event::Tick;
                self.handle(ev.event);
                if tick {
                    let counts = self.workers_by_group();
                    for (g, max) in &bounds {
                        let n = counts.get(g).copied().unwrap_or(0);
                        if n > *max && max_exceeded.as_ref().is_none_or(|m| n - max > m.1 - m.2) {
                            max_exceeded = Some((g.clone(), n, *max));
                        }
                    }
                }
            }
            match restarts.next() {
                Some(at) if at <= self.end => {
                    self.account_time(at);
                    self.queue.advance_to(at);
                    self.restart_controller();
                }
                _ => break,
            }
        }
        // A loop action late in the settle period (a consolidation, say) can leave a worker
        // booting or leaving at the end. Run on, 5 minutes at a time and at most 2 hours more,
        // until none is, so the invariants are checked on a quiet system. A worker stuck in
        // flight still shows: the provision timeout fails it well within that time.
        let cap = self.end + SETTLE_EXTENSION_MAX_MS;
        while !self.workers_quiet() && self.end < cap {
            self.end += SETTLE_EXTENSION_STEP_MS;
            while let Some(ev) = self.queue.pop_until(self.end) {
                self.account_time(ev.at);
                self.handle(ev.event);
            }
        }
        self.account_time(self.end);
        self.queue.advance_to(self.end);
        let mut end = self.end_state();
        end.max_exceeded = max_exceeded;
        (self.finish(), end)
    }

    /// The settled state the invariants are checked on. Pending pods are explained by one
    /// more (side-effect free) step of the loop on a copy of its state.
    pub fn end_state(&self) -> EndState {
        let now = self.queue.now();
        let vps = self
            .listed_for_shell()
            .into_iter()
            .map(|w| VpsEnd {
                identifier: w.identifier,
                hostname: w.hostname,
                group: w.group,
                status: w.status,
            })
            .collect();
        let tracked: BTreeSet<String> = self
            .loop_state
            .records
            .values()
            .filter_map(|r| r.identifier.clone())
            .collect();
        let nodes = self
            .cluster
            .nodes()
            .map(|(n, _)| NodeEnd {
                name: n.name.clone(),
                ready: n.ready,
            })
            .collect();
        let pods = self
            .cluster
            .pods()
            .map(|(p, m)| PodEnd {
                key: p.key(),
                namespace: p.namespace.clone(),
                labels: p.labels.clone(),
                node: p.node_name.clone(),
                terminating: m.terminating,
                daemon_set: m.controller == Controller::DaemonSet,
            })
            .collect();
        let mut snapshot = self.cluster.snapshot.clone();
        snapshot.now_ms = now;
        let (_, output) = step(self.loop_state.clone(), &snapshot, &[], now, &self.config);
        let explained = output
            .decision
            .scale_up
            .unschedulable
            .iter()
            .map(|e| e.pod.clone())
            .collect();
        let groups = self
            .cluster
            .snapshot
            .node_groups
            .iter()
            .map(|g| GroupBounds {
                name: g.name.clone(),
                min: g.min,
                max: g.max,
            })
            .collect();
        EndState {
            vps,
            tracked,
            nodes,
            pods,
            explained,
            pdbs: self.cluster.snapshot.pdbs.clone(),
            groups,
            pods_lost: self.metrics.pods_lost,
            max_exceeded: None,
        }
    }
}
