//! A stand-in for the kubelets of the mock's workers. Each [`KubeletStandIn::sync`] pass does
//! what the kubelets of the booted workers would have done since the last one:
//!
//! - register a Node for a worker that booted (name = hostname, capacity = allocatable = the
//!   size's capacity, InternalIP/ExternalIP/Hostname addresses, the labels a kubelet sets);
//! - heartbeat: the Node's conditions with a fresh `lastHeartbeatTime` (Ready once the cloud
//!   says the Node is Ready) and the node Lease in `kube-node-lease`;
//! - run the pods bound to a Ready Node: their status becomes Running (no container runs);
//! - finish the termination of pods deleted or evicted from it (delete with grace 0, as a
//!   kubelet does once the containers stopped);
//! - delete the Node once its worker is gone from the cloud.
//!
//! A Node deleted by someone else while its worker still runs is not registered again (a
//! kubelet does not re-register until restarted), so a drain-and-delete by the autoscaler is
//! not undone. Nodes it manages carry the label [`STAND_IN_LABEL`], so a restarted stand-in
//! adopts them.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::workers::{KubeletState, WorkerView};

/// Label on every Node the stand-in registered (value `true`).
pub const STAND_IN_LABEL: &str = "testkit.vpsie.com/kubelet-stand-in";
/// Annotation carrying the VPSie identifier of the Node's worker.
pub const WORKER_ANNOTATION: &str = "testkit.vpsie.com/worker-identifier";
/// Namespace of the node heartbeat Leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
/// Field manager of the stand-in's writes.
pub const FIELD_MANAGER: &str = "vpsie-kubelet-stand-in";
/// `leaseDurationSeconds` of the node Leases (the kubelet's default).
const LEASE_DURATION_SECONDS: i32 = 40;
/// What the Nodes report as kubelet version (the scheduler does not look at it).
const KUBELET_VERSION: &str = "v1.30.0-vpsie-mock";

/// Why a pass could not start (failures on single objects are in [`SyncReport::errors`]).
#[derive(Debug, thiserror::Error)]
pub enum StandInError {
    #[error("listing the stand-in's Nodes (label {STAND_IN_LABEL}): {0}")]
    ListNodes(#[source] kube::Error),
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Nodes registered in this pass.
    pub registered: Vec<String>,
    /// Nodes whose status and Lease were renewed.
    pub heartbeats: Vec<String>,
    /// Nodes deleted because their worker is gone.
    pub deleted: Vec<String>,
    /// Pods (`namespace/name`) marked Running.
    pub started: Vec<String>,
    /// Terminating pods (`namespace/name`) whose deletion was finished.
    pub finished: Vec<String>,
    /// Calls that failed; retried at the next pass.
    pub errors: Vec<String>,
}

impl SyncReport {
    /// True when the pass changed nothing but heartbeats.
    pub fn is_quiet(&self) -> bool {
        self.registered.is_empty()
            && self.deleted.is_empty()
            && self.started.is_empty()
            && self.finished.is_empty()
            && self.errors.is_empty()
    }
}

/// What the stand-in remembers about a Node it registered or adopted.
#[derive(Debug, Clone)]
struct Registered {
    node_name: String,
    uid: Option<String>,
    ready: bool,
    /// When readiness last changed (the Ready condition's `lastTransitionTime`).
    since_ms: i64,
}

/// The kubelets of the mock's workers.
pub struct KubeletStandIn {
    client: Client,
    /// Worker identifier → its Node.
    registered: BTreeMap<String, Registered>,
}

impl std::fmt::Debug for KubeletStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeletStandIn")
            .field("nodes", &self.nodes())
            .finish_non_exhaustive()
    }
}

fn time(ms: i64) -> Value {
    let ts = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
    serde_json::to_value(Time(ts)).unwrap_or(Value::Null)
}

fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// The Node a kubelet registers for `w` (status comes with the first heartbeat).
pub fn node_for(w: &WorkerView) -> Node {
    let mut labels = BTreeMap::new();
    for (k, v) in [
        ("kubernetes.io/hostname", w.node_name.as_str()),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", "amd64"),
        (STAND_IN_LABEL, "true"),
    ] {
        labels.insert(k.to_string(), v.to_string());
    }
    if !w.size_name.is_empty() {
        labels.insert(
            "node.kubernetes.io/instance-type".to_string(),
            w.size_name.clone(),
        );
    }
    let mut annotations = BTreeMap::new();
    annotations.insert(WORKER_ANNOTATION.to_string(), w.identifier.clone());
    annotations.insert(
        "testkit.vpsie.com/vpsie-group".to_string(),
        format!("{}/{}", w.cluster, w.group),
    );
    Node {
        metadata: ObjectMeta {
            name: Some(w.node_name.clone()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(k8s_openapi::api::core::v1::NodeSpec {
            provider_id: Some(format!("vpsie://{}", w.identifier)),
            ..Default::default()
        }),
        status: None,
    }
}

/// The status a kubelet reports for `w` at `now_ms` (a merge patch of the status subresource).
pub fn node_status_patch(w: &WorkerView, ready: bool, since_ms: i64, now_ms: i64) -> Value {
    let capacity = serde_json::to_value(&w.capacity).unwrap_or_else(|_| json!({}));
    let mut addresses = vec![json!({"type": "InternalIP", "address": w.internal_ip})];
    if !w.external_ip.is_empty() {
        addresses.push(json!({"type": "ExternalIP", "address": w.external_ip}));
    }
    addresses.push(json!({"type": "Hostname", "address": w.node_name}));
    let pressure = |kind: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": "False", "reason": reason, "message": message,
               "lastHeartbeatTime": time(now_ms), "lastTransitionTime": time(since_ms)})
    };
    let ready_condition = if ready {
        json!({"type": "Ready", "status": "True", "reason": "KubeletReady",
               "message": "kubelet is posting ready status (VPSie mock stand-in)",
               "lastHeartbeatTime": time(now_ms), "lastTransitionTime": time(since_ms)})
    } else {
        json!({"type": "Ready", "status": "False", "reason": "KubeletNotReady",
               "message": "container runtime network not ready (VPSie mock stand-in)",
               "lastHeartbeatTime": time(now_ms), "lastTransitionTime": time(since_ms)})
    };
    json!({"status": {
        "capacity": capacity,
        "allocatable": capacity,
        "addresses": addresses,
        "conditions": [
            pressure("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            pressure("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            pressure("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ready_condition,
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": w.identifier, "systemUUID": w.identifier, "bootID": w.identifier,
            "kernelVersion": "6.1.0", "osImage": "VPSie mock (no containers run)",
            "containerRuntimeVersion": "mock://1.0", "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux", "architecture": "amd64",
        },
    }})
}

/// The node Lease the kubelet renews (server-side apply body).
pub fn lease_for(node_name: &str, uid: Option<&str>, now_ms: i64) -> Lease {
    let ts = Timestamp::from_millisecond(now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    Lease {
        metadata: ObjectMeta {
            name: Some(node_name.to_string()),
            namespace: Some(NODE_LEASE_NAMESPACE.to_string()),
            owner_references: uid.map(|uid| {
                vec![OwnerReference {
                    api_version: "v1".to_string(),
                    kind: "Node".to_string(),
                    name: node_name.to_string(),
                    uid: uid.to_string(),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node_name.to_string()),
            lease_duration_seconds: Some(LEASE_DURATION_SECONDS),
            renew_time: Some(MicroTime(ts)),
            ..LeaseSpec::default()
        }),
    }
}

/// The status of a pod whose containers "started" on `w` at `now_ms` (merge patch).
pub fn pod_running_patch(pod: &Pod, w: &WorkerView, now_ms: i64) -> Value {
    let containers: Vec<Value> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| {
            json!({"name": c.name, "image": c.image.clone().unwrap_or_default(), "imageID": "",
                   "ready": true, "started": true, "restartCount": 0,
                   "state": {"running": {"startedAt": time(now_ms)}}})
        })
        .collect();
    let condition =
        |kind: &str| json!({"type": kind, "status": "True", "lastTransitionTime": time(now_ms)});
    let ip = &w.internal_ip;
    json!({"status": {
        "phase": "Running",
        "hostIP": ip, "hostIPs": [{"ip": ip}],
        // No network runs: every pod reports its node's address.
        "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": time(now_ms),
        "conditions": [condition("PodScheduled"), condition("Initialized"),
                       condition("ContainersReady"), condition("Ready")],
        "containerStatuses": containers,
    }})
}

fn pod_key(p: &Pod) -> String {
    format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any())
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl KubeletStandIn {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            registered: BTreeMap::new(),
        }
    }

    /// Names of the Nodes the stand-in currently manages.
    pub fn nodes(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .registered
            .values()
            .map(|r| r.node_name.clone())
            .collect();
        names.sort();
        names
    }

    /// One pass over the booted workers (from [`crate::workers_of`]) at wall-clock `now_ms`.
    pub async fn sync(
        &mut self,
        workers: &[WorkerView],
        now_ms: i64,
    ) -> Result<SyncReport, StandInError> {
        let mut report = SyncReport::default();
        let nodes: Api<Node> = Api::all(self.client.clone());
        let listed = nodes
            .list(&ListParams::default().labels(&format!("{STAND_IN_LABEL}=true")))
            .await
            .map_err(StandInError::ListNodes)?;
        let existing: BTreeMap<String, Node> = listed
            .items
            .into_iter()
            .map(|n| (n.name_any(), n))
            .collect();

        // Adopt Nodes registered before a restart of the stand-in.
        for w in workers {
            if let Some(n) = existing.get(&w.node_name)
                && !self.registered.contains_key(&w.identifier)
            {
                self.registered.insert(
                    w.identifier.clone(),
                    Registered {
                        node_name: w.node_name.clone(),
                        uid: n.metadata.uid.clone(),
                        ready: is_ready(n),
                        since_ms: now_ms,
                    },
                );
            }
        }

        let mut running_nodes: Vec<&WorkerView> = Vec::new();
        for w in workers {
            if w.state == KubeletState::Silent {
                continue;
            }
            if !existing.contains_key(&w.node_name) {
                if self.registered.contains_key(&w.identifier) {
                    // Deleted by someone else while the worker runs: stays deleted.
                    continue;
                }
                match nodes.create(&PostParams::default(), &node_for(w)).await {
                    Ok(created) => {
                        self.registered.insert(
                            w.identifier.clone(),
                            Registered {
                                node_name: w.node_name.clone(),
                                uid: created.metadata.uid.clone(),
                                ready: false,
                                since_ms: now_ms,
                            },
                        );
                        report.registered.push(w.node_name.clone());
                    }
                    Err(e) => {
                        report
                            .errors
                            .push(format!("registering Node {}: {e}", w.node_name));
                        continue;
                    }
                }
            }
            let Some(reg) = self.registered.get_mut(&w.identifier) else {
                continue;
            };
            let ready = w.state == KubeletState::Ready;
            if reg.ready != ready {
                reg.ready = ready;
                reg.since_ms = now_ms;
            }
            let patch = node_status_patch(w, ready, reg.since_ms, now_ms);
            if let Err(e) = nodes
                .patch_status(&w.node_name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                report
                    .errors
                    .push(format!("heartbeat of Node {}: {e}", w.node_name));
                continue;
            }
            let leases: Api<Lease> = Api::namespaced(self.client.clone(), NODE_LEASE_NAMESPACE);
            let lease = lease_for(&w.node_name, reg.uid.as_deref(), now_ms);
            if let Err(e) = leases
                .patch(
                    &w.node_name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&lease),
                )
                .await
            {
                report
                    .errors
                    .push(format!("renewing the Lease of {}: {e}", w.node_name));
            }
            report.heartbeats.push(w.node_name.clone());
            if ready {
                running_nodes.push(w);
            }
        }

        // Workers gone from the cloud take their Nodes (and Leases) with them.
        let live: BTreeSet<&str> = workers.iter().map(|w| w.node_name.as_str()).collect();
        for name in existing.keys() {
            if live.contains(name.as_str()) {
                continue;
            }
            match nodes.delete(name, &DeleteParams::default()).await {
                Ok(_) => report.deleted.push(name.clone()),
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    report.errors.push(format!("deleting Node {name}: {e}"));
                    continue;
                }
            }
            let leases: Api<Lease> = Api::namespaced(self.client.clone(), NODE_LEASE_NAMESPACE);
            if let Err(e) = leases.delete(name, &DeleteParams::default()).await
                && !is_not_found(&e)
            {
                report
                    .errors
                    .push(format!("deleting the Lease of {name}: {e}"));
            }
        }
        let identifiers: BTreeSet<&str> = workers.iter().map(|w| w.identifier.as_str()).collect();
        self.registered
            .retain(|id, _| identifiers.contains(id.as_str()));

        for w in running_nodes {
            self.run_pods(w, now_ms, &mut report).await;
        }
        Ok(report)
    }

    /// Starts the pods bound to a Ready Node and finishes the termination of deleted ones.
    async fn run_pods(&self, w: &WorkerView, now_ms: i64, report: &mut SyncReport) {
        let all: Api<Pod> = Api::all(self.client.clone());
        let selector = format!("spec.nodeName={}", w.node_name);
        let pods = match all.list(&ListParams::default().fields(&selector)).await {
            Ok(list) => list.items,
            Err(e) => {
                report
                    .errors
                    .push(format!("listing the pods of {}: {e}", w.node_name));
                return;
            }
        };
        for pod in pods {
            let key = pod_key(&pod);
            let api: Api<Pod> =
                Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
            if pod.metadata.deletion_timestamp.is_some() {
                let params = DeleteParams {
                    grace_period_seconds: Some(0),
                    preconditions: Some(Preconditions {
                        uid: pod.metadata.uid.clone(),
                        resource_version: None,
                    }),
                    ..DeleteParams::default()
                };
                match api.delete(&pod.name_any(), &params).await {
                    Ok(_) => report.finished.push(key),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => report.errors.push(format!("finishing {key}: {e}")),
                }
                continue;
            }
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            if !matches!(phase, None | Some("Pending")) {
                continue;
            }
            let patch = pod_running_patch(&pod, w, now_ms);
            match api
                .patch_status(
                    &pod.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                Ok(_) => report.started.push(key),
                Err(e) => report.errors.push(format!("starting {key}: {e}")),
            }
        }
    }
}
