//! Restart safety: a controller is killed after its k-th write (to Kubernetes or to VPSie), for
//! every k of a scale-up and of a scale-down, and a fresh controller (its state rebuilt from the
//! VPSieNodes and the VPSie worker list) must finish the job without buying a second VPS,
//! without leaving a VPS or a Node untracked, and with every drain finished or rolled back.
//!
//! The cluster is the scripted API server plus stand-ins for the kubelet (registers a Node when
//! a worker runs, marks it NotReady when the worker is gone), the scheduler (binds pending pods
//! first-fit by CPU) and the ReplicaSet controller (recreates evicted pods). VPSie is either the
//! in-memory fake or the simulator's VPSie mock over loopback HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use vpsie_autoscaler::cloud::{CloudError, CloudErrorKind, Vpsie, VpsieGroup, Worker};
use vpsie_autoscaler::controller::{Controller, RuntimeSettings};
use vpsie_autoscaler::executor::DrainSettings;
use vpsie_autoscaler::metrics::Metrics;
use vpsie_autoscaler::snapshot::ClusterObjects;
use vpsie_autoscaler::vpsie_http::HttpVpsie;
use vpsie_client::{ClientConfig, CredentialSource, Credentials, Secret, VpsieClient};
use vpsie_engine::autoscaler::{AutoscalerConfig, DurationMs, NodePhase};
use vpsie_engine::model::VpsieSize;
use vpsie_sim::mock::{MockConfig, MockServer, start_ephemeral};

use crate::apiserver::ApiServer;
use crate::fake_vpsie::FakeVpsie;
use crate::fixtures::{node_group_json, pod_json};

const T0: i64 = 1_767_225_600_000;
const PASS_MS: i64 = 15_000;
const MAX_PASSES: usize = 160;
const CLUSTER: &str = "cluster-1";
const DATACENTER: &str = "eb8ac92d-9d4d-11ee-9444-7e0140123655";
const GROUP_ID: i64 = 1187;
const TOKEN: &str = "restart-test-token";
const NS: &str = "vpsie-system";
const NG_PATH: &str = "/apis/autoscaler.vpsie.com/v1alpha1/namespaces/vpsie-system/nodegroups";
const VN_PATH: &str = "/apis/autoscaler.vpsie.com/v1alpha1/namespaces/vpsie-system/vpsienodes";
const POD_PATH: &str = "/api/v1/namespaces/shop/pods";
const NODE_PATH: &str = "/api/v1/nodes";
/// Allocatable CPU of a size-3 node (4 vCPU), in millicores.
const NODE_CPU_MILLI: u32 = 4_000;

/// One controller incarnation's writes, cut off after a budget: once a write is refused the
/// incarnation is dead and every later call of it (read or write) fails too, as if the process
/// had been killed right after its last admitted write.
#[derive(Debug, Default)]
struct Gate {
    budget: Option<usize>,
    writes: Mutex<Vec<String>>,
    dead: AtomicBool,
}

impl Gate {
    fn with_budget(budget: Option<usize>) -> Arc<Self> {
        Arc::new(Gate {
            budget,
            ..Gate::default()
        })
    }

    fn admit(&self, write: Option<String>) -> bool {
        if self.dead.load(Ordering::SeqCst) {
            return false;
        }
        if let Some(w) = write {
            let mut writes = self.writes.lock().unwrap();
            if self.budget.is_some_and(|b| writes.len() >= b) {
                self.dead.store(true, Ordering::SeqCst);
                return false;
            }
            writes.push(w);
        }
        true
    }

    fn dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    fn writes(&self) -> Vec<String> {
        self.writes.lock().unwrap().clone()
    }
}

/// The in-memory fake or the HTTP client talking to the mock, behind one type.
enum AnyVpsie {
    Fake(Arc<FakeVpsie>),
    Http(Box<HttpVpsie>),
}

impl Vpsie for AnyVpsie {
    async fn list_workers(&self, cluster: &str) -> Result<Vec<Worker>, CloudError> {
        match self {
            AnyVpsie::Fake(f) => f.list_workers(cluster).await,
            AnyVpsie::Http(h) => h.list_workers(cluster).await,
        }
    }
    async fn list_groups(&self, cluster: &str) -> Result<Vec<VpsieGroup>, CloudError> {
        match self {
            AnyVpsie::Fake(f) => f.list_groups(cluster).await,
            AnyVpsie::Http(h) => h.list_groups(cluster).await,
        }
    }
    async fn create_group(&self, cluster: &str, name: &str, size: u32) -> Result<(), CloudError> {
        match self {
            AnyVpsie::Fake(f) => f.create_group(cluster, name, size).await,
            AnyVpsie::Http(h) => h.create_group(cluster, name, size).await,
        }
    }
    async fn add_worker(&self, cluster: &str, group_id: i64) -> Result<(), CloudError> {
        match self {
            AnyVpsie::Fake(f) => f.add_worker(cluster, group_id).await,
            AnyVpsie::Http(h) => h.add_worker(cluster, group_id).await,
        }
    }
    async fn delete_worker(&self, cluster: &str, identifier: &str) -> Result<(), CloudError> {
        match self {
            AnyVpsie::Fake(f) => f.delete_worker(cluster, identifier).await,
            AnyVpsie::Http(h) => h.delete_worker(cluster, identifier).await,
        }
    }
    async fn list_sizes(&self, datacenter: &str) -> Result<Vec<VpsieSize>, CloudError> {
        match self {
            AnyVpsie::Fake(f) => f.list_sizes(datacenter).await,
            AnyVpsie::Http(h) => h.list_sizes(datacenter).await,
        }
    }
}

/// What one controller incarnation sees of VPSie: every call passes its gate.
struct GatedVpsie {
    inner: Arc<AnyVpsie>,
    gate: Arc<Gate>,
}

fn crashed() -> CloudError {
    CloudError::new(CloudErrorKind::Network, "the controller process is dead")
}

impl Vpsie for GatedVpsie {
    async fn list_workers(&self, cluster: &str) -> Result<Vec<Worker>, CloudError> {
        if !self.gate.admit(None) {
            return Err(crashed());
        }
        self.inner.list_workers(cluster).await
    }
    async fn list_groups(&self, cluster: &str) -> Result<Vec<VpsieGroup>, CloudError> {
        if !self.gate.admit(None) {
            return Err(crashed());
        }
        self.inner.list_groups(cluster).await
    }
    async fn create_group(&self, cluster: &str, name: &str, size: u32) -> Result<(), CloudError> {
        if !self.gate.admit(Some(format!("VPSie create group {name}"))) {
            return Err(crashed());
        }
        self.inner.create_group(cluster, name, size).await
    }
    async fn add_worker(&self, cluster: &str, group_id: i64) -> Result<(), CloudError> {
        if !self.gate.admit(Some("VPSie add worker".to_string())) {
            return Err(crashed());
        }
        self.inner.add_worker(cluster, group_id).await
    }
    async fn delete_worker(&self, cluster: &str, identifier: &str) -> Result<(), CloudError> {
        if !self
            .gate
            .admit(Some(format!("VPSie delete worker {identifier}")))
        {
            return Err(crashed());
        }
        self.inner.delete_worker(cluster, identifier).await
    }
    async fn list_sizes(&self, datacenter: &str) -> Result<Vec<VpsieSize>, CloudError> {
        if !self.gate.admit(None) {
            return Err(crashed());
        }
        self.inner.list_sizes(datacenter).await
    }
}

/// The VPSie side of a run.
struct TestCloud {
    vpsie: Arc<AnyVpsie>,
    fake: Option<Arc<FakeVpsie>>,
    mock: Option<MockServer>,
}

impl TestCloud {
    /// The in-memory fake: workers listed at once, running 20 s after the add, deleted at once.
    fn fake(initial_workers: usize) -> Self {
        let fake = Arc::new(FakeVpsie::with_group(GROUP_ID, "general", 3));
        for i in 0..initial_workers {
            fake.workers.lock().unwrap().push(Worker {
                identifier: format!("w-init-{i}"),
                hostname: format!("init-{i}"),
                status: "running".into(),
                group_id: Some(GROUP_ID),
                private_ip: Some(format!("10.0.1.{i}")),
                public_ip: None,
                created_at_ms: Some(T0 - 3_600_000),
            });
        }
        *fake.now_ms.lock().unwrap() = T0;
        TestCloud {
            vpsie: Arc::new(AnyVpsie::Fake(Arc::clone(&fake))),
            fake: Some(fake),
            mock: None,
        }
    }

    /// The simulator's mock over loopback HTTP, its clock frozen and moved by the test: a worker
    /// is listed 10 s after the add, runs 20 s later, and lists as `deleting` for 20 s.
    async fn mock(initial_workers: usize) -> Self {
        let config: MockConfig = serde_json::from_value(json!({
            "speed": 0.0,
            "seed": 7,
            "auth": {"staticTokens": [TOKEN]},
            "cloud": {
                "delays": {
                    "create": {"kind": "fixed", "ms": 10_000},
                    "boot": {"kind": "fixed", "ms": 20_000},
                    "ready": {"kind": "fixed", "ms": 0},
                    "delete": {"kind": "fixed", "ms": 20_000}
                },
                "clusters": [{
                    "identifier": CLUSTER, "name": "restart-test", "datacenter": DATACENTER,
                    "groups": [{"id": GROUP_ID, "name": "general", "sizeId": 3, "workers": initial_workers}]
                }]
            }
        }))
        .unwrap();
        let server = start_ephemeral(config).await.unwrap();
        let client_config = ClientConfig {
            base_url: server.base_url(),
            prefix: "/v2".to_string(),
            allow_http: true,
            request_timeout: Duration::from_secs(5),
            max_attempts: 2,
            max_retry_time: Duration::from_secs(2),
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(5),
            breaker_threshold: 1_000,
            rate_per_second: 100_000.0,
            burst: 100_000,
            ..ClientConfig::default()
        };
        let credentials = CredentialSource::fixed(Credentials::StaticToken(Secret::new(TOKEN)));
        let client =
            VpsieClient::new(client_config, credentials, &mut Registry::default()).unwrap();
        TestCloud {
            vpsie: Arc::new(AnyVpsie::Http(Box::new(HttpVpsie::new(client)))),
            fake: None,
            mock: Some(server),
        }
    }

    fn advance_to(&self, now_ms: i64) {
        if let Some(fake) = &self.fake {
            *fake.now_ms.lock().unwrap() = now_ms;
            for w in fake.workers.lock().unwrap().iter_mut() {
                if w.created_at_ms.is_some_and(|c| now_ms - c >= 20_000) {
                    w.status = "running".into();
                }
            }
        }
        if let Some(mock) = &self.mock {
            let behind = (now_ms - T0) - mock.control().now_ms();
            if behind > 0 {
                mock.control().advance(behind);
            }
        }
    }

    async fn workers(&self) -> Vec<Worker> {
        let mut ws = self.vpsie.list_workers(CLUSTER).await.unwrap();
        ws.sort_by(|a, b| a.hostname.cmp(&b.hostname));
        ws
    }

    async fn shutdown(self) {
        if let Some(m) = self.mock {
            m.shutdown().await;
        }
    }
}

/// A scenario: the starting cluster and what the settled end state must look like.
#[derive(Debug, Clone)]
struct Scenario {
    name: &'static str,
    initial_workers: usize,
    /// Pod name, CPU millicores, and the initial worker (by hostname order) it runs on.
    pods: Vec<(&'static str, u32, Option<usize>)>,
    expected_workers: usize,
    /// add-worker calls the whole run may make (a second one would be a double create).
    max_adds: usize,
    config: AutoscalerConfig,
}

fn test_config() -> AutoscalerConfig {
    let mut c = AutoscalerConfig::default();
    c.scale_down.unneeded_time = DurationMs::from_secs(30);
    c.scale_down.delay_after_add = DurationMs::ZERO;
    c.scale_down.delay_after_failure = DurationMs::from_secs(30);
    c.scale_down.max_drain_time = DurationMs::from_mins(3);
    c.scale_down.drain_failure_backoff = DurationMs::from_mins(1);
    c.lifecycle.max_node_provision_time = DurationMs::from_mins(4);
    c.lifecycle.failed_node_ttl = DurationMs::from_mins(2);
    c.lifecycle.action_retry_interval = DurationMs::from_secs(30);
    c.backoff.initial = DurationMs::from_mins(1);
    c
}

/// One pending pod that no existing node can take: one worker must be bought, exactly one.
fn scale_up() -> Scenario {
    Scenario {
        name: "scale-up",
        initial_workers: 1,
        pods: vec![("busy", 3_500, Some(0)), ("pending", 3_000, None)],
        expected_workers: 2,
        max_adds: 1,
        config: test_config(),
    }
}

/// Three nodes, one of them little used: it is drained (three evictions) and removed.
fn scale_down() -> Scenario {
    Scenario {
        name: "scale-down",
        initial_workers: 3,
        pods: vec![
            ("a1", 500, Some(0)),
            ("a2", 500, Some(0)),
            ("a3", 500, Some(0)),
            ("b1", 2_500, Some(1)),
            ("c1", 2_500, Some(2)),
        ],
        expected_workers: 2,
        max_adds: 0,
        config: test_config(),
    }
}

fn milli(cpu: &str) -> u32 {
    cpu.strip_suffix('m').map_or_else(
        || cpu.parse::<u32>().unwrap() * 1_000,
        |m| m.parse().unwrap(),
    )
}

/// The cluster around the controller: API server, cloud, and the stand-ins' memory.
struct World {
    server: ApiServer,
    cloud: TestCloud,
    scenario: Scenario,
    metrics: Arc<Metrics>,
    /// Workers whose kubelet registered a Node (it registers once).
    registered: BTreeSet<String>,
    /// Every gate handed out, in order (one per incarnation).
    gates: Vec<Arc<Gate>>,
    pass: i64,
}

fn is_ready(node: &Value) -> bool {
    node["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn is_cordoned(node: &Value) -> bool {
    node["spec"]["unschedulable"] == json!(true)
}

fn kubelet_node(hostname: &str, ip: Option<&str>) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": hostname, "uid": format!("uid-{hostname}"),
                     "labels": {"kubernetes.io/hostname": hostname},
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                   "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                   "addresses": [{"type": "InternalIP", "address": ip.unwrap_or("10.9.9.9")}],
                   "conditions": [{"type": "Ready", "status": "True"}]}
    })
}

impl World {
    async fn new(scenario: Scenario, mock: bool) -> Self {
        let cloud = if mock {
            TestCloud::mock(scenario.initial_workers).await
        } else {
            TestCloud::fake(scenario.initial_workers)
        };
        let server = ApiServer::default();
        let mut ng = node_group_json("general", 1, 5, 3, Some(GROUP_ID));
        ng["spec"]["datacenter"] = json!(DATACENTER);
        server.put(&format!("{NG_PATH}/general"), ng);
        let mut w = World {
            server,
            cloud,
            scenario,
            metrics: Arc::new(Metrics::new()),
            registered: BTreeSet::new(),
            gates: Vec::new(),
            pass: 0,
        };
        w.cloud.advance_to(T0);
        w.kubelets().await;
        let hosts: Vec<String> = w
            .cloud
            .workers()
            .await
            .into_iter()
            .map(|w| w.hostname)
            .collect();
        for (name, cpu, on) in w.scenario.pods.clone() {
            let node = on.map(|i| hosts[i].clone());
            w.server.put(
                &format!("{POD_PATH}/{name}"),
                pod_json("shop", name, node.as_deref(), &format!("{cpu}m"), "128Mi"),
            );
        }
        w
    }

    fn now(&self) -> i64 {
        T0 + self.pass * PASS_MS
    }

    /// A new controller process whose calls pass `gate`.
    fn controller(&mut self, budget: Option<usize>) -> Controller<GatedVpsie> {
        let gate = Gate::with_budget(budget);
        self.gates.push(Arc::clone(&gate));
        let admit_gate = Arc::clone(&gate);
        let client = self.server.client_gated(Arc::new(move |method, path| {
            let write = (method != "GET").then(|| format!("{method} {path}"));
            admit_gate.admit(write)
        }));
        Controller::new(
            client.clone(),
            client,
            Arc::new(GatedVpsie {
                inner: Arc::clone(&self.cloud.vpsie),
                gate,
            }),
            self.scenario.config.clone(),
            RuntimeSettings {
                namespace: NS.into(),
                system_reserved: Default::default(),
            },
            Arc::clone(&self.metrics),
            None,
            DrainSettings {
                timeout: Duration::from_secs(20),
                retry_interval: Duration::from_millis(20),
                poll_interval: Duration::from_millis(20),
            },
        )
    }

    fn values_under(&self, prefix: &str) -> Vec<Value> {
        self.server
            .paths_under(&format!("{prefix}/"))
            .iter()
            .filter_map(|p| self.server.get(p))
            .collect()
    }

    fn objects(&self) -> ClusterObjects {
        fn parse<T: serde::de::DeserializeOwned>(values: Vec<Value>) -> Vec<Arc<T>> {
            values
                .into_iter()
                .map(|v| Arc::new(serde_json::from_value(v).unwrap()))
                .collect()
        }
        ClusterObjects {
            pods: parse(self.values_under(POD_PATH)),
            nodes: parse(self.values_under(NODE_PATH)),
            node_groups: parse(self.values_under(NG_PATH)),
            vpsie_nodes: parse(self.values_under(VN_PATH)),
            ..Default::default()
        }
    }

    /// Kubelet stand-in: a running worker registers its Node once; a Node whose worker is gone
    /// turns NotReady (nobody deletes it but the autoscaler).
    async fn kubelets(&mut self) {
        let workers = self.cloud.workers().await;
        for w in &workers {
            if w.status == "running" && self.registered.insert(w.identifier.clone()) {
                self.server.put(
                    &format!("{NODE_PATH}/{}", w.hostname),
                    kubelet_node(&w.hostname, w.private_ip.as_deref()),
                );
            }
        }
        let listed: BTreeSet<&str> = workers.iter().map(|w| w.hostname.as_str()).collect();
        for mut node in self.values_under(NODE_PATH) {
            let name = node["metadata"]["name"].as_str().unwrap().to_string();
            if !listed.contains(name.as_str()) && is_ready(&node) {
                node["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
                self.server.put(&format!("{NODE_PATH}/{name}"), node);
            }
        }
    }

    /// ReplicaSet, pod garbage collector and scheduler stand-ins.
    fn workloads(&self) {
        let nodes: BTreeMap<String, Value> = self
            .values_under(NODE_PATH)
            .into_iter()
            .map(|n| (n["metadata"]["name"].as_str().unwrap().to_string(), n))
            .collect();
        // Pods on a missing or NotReady Node are gone (GC, taint eviction); evicted ones too.
        for p in self.values_under(POD_PATH) {
            if let Some(node) = p["spec"]["nodeName"].as_str()
                && nodes.get(node).is_none_or(|n| !is_ready(n))
            {
                let name = p["metadata"]["name"].as_str().unwrap();
                self.server.remove(&format!("{POD_PATH}/{name}"));
            }
        }
        let mut used: BTreeMap<String, u32> = BTreeMap::new();
        for p in self.values_under(POD_PATH) {
            if let Some(node) = p["spec"]["nodeName"].as_str() {
                *used.entry(node.to_string()).or_default() += pod_cpu(&p);
            }
        }
        for (name, cpu, _) in &self.scenario.pods {
            let path = format!("{POD_PATH}/{name}");
            let pod = self
                .server
                .get(&path)
                .unwrap_or_else(|| pod_json("shop", name, None, &format!("{cpu}m"), "128Mi"));
            if pod["spec"]["nodeName"].is_string() {
                self.server.put(&path, pod);
                continue;
            }
            let target = nodes.iter().find(|(n, v)| {
                is_ready(v)
                    && !is_cordoned(v)
                    && used.get(*n).copied().unwrap_or(0) + cpu <= NODE_CPU_MILLI
            });
            let mut pod = pod;
            if let Some((n, _)) = target {
                *used.entry(n.clone()).or_default() += cpu;
                pod["spec"]["nodeName"] = json!(n);
                pod["status"]["phase"] = json!("Running");
            }
            self.server.put(&path, pod);
        }
    }

    /// One pass at the next tick: the world moves, then the controller runs and its drains
    /// report back.
    async fn pass(&mut self, c: &mut Controller<GatedVpsie>) {
        self.pass += 1;
        self.cloud.advance_to(self.now());
        self.kubelets().await;
        self.workloads();
        let _ = c.reconcile_once(self.now(), self.objects()).await;
        for _ in 0..500 {
            if c.drains_in_progress() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn adds_sent(&self) -> usize {
        self.gates
            .iter()
            .flat_map(|g| g.writes())
            .filter(|w| w == "VPSie add worker")
            .count()
    }

    /// What is wrong with the cluster now, as sentences (empty once settled and sound).
    async fn violations(&self, c: &Controller<GatedVpsie>) -> Vec<String> {
        let mut out = Vec::new();
        let Some(state) = c.state() else {
            return vec!["the controller has no state yet".into()];
        };
        let workers = self.cloud.workers().await;
        let live: Vec<&Worker> = workers.iter().filter(|w| w.status != "deleting").collect();
        for w in &live {
            match state.record_by_identifier(&w.identifier) {
                None => out.push(format!(
                    "orphan: worker {} ({}) is tracked by no record",
                    w.identifier, w.hostname
                )),
                Some(r) if r.phase != NodePhase::Ready => out.push(format!(
                    "record {} of worker {} is {}, not Ready",
                    r.name, w.identifier, r.phase
                )),
                Some(_) => {}
            }
        }
        if live.len() != self.scenario.expected_workers || live.len() != workers.len() {
            out.push(format!(
                "{} workers listed ({} live), expected {}",
                workers.len(),
                live.len(),
                self.scenario.expected_workers
            ));
        }
        let adds = self.adds_sent();
        if adds > self.scenario.max_adds {
            out.push(format!(
                "double create: {adds} add-worker calls, at most {} needed",
                self.scenario.max_adds
            ));
        }
        let objects: BTreeSet<String> = self
            .values_under(VN_PATH)
            .iter()
            .map(|v| v["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        let records: BTreeSet<String> = state.records.keys().cloned().collect();
        if objects != records {
            out.push(format!(
                "VPSieNode objects {objects:?} differ from the records {records:?}"
            ));
        }
        for r in state.records.values() {
            if r.phase != NodePhase::Ready {
                out.push(format!("record {} is still {}", r.name, r.phase));
            }
        }
        let hosts: BTreeSet<&str> = live.iter().map(|w| w.hostname.as_str()).collect();
        let nodes = self.values_under(NODE_PATH);
        for n in &nodes {
            let name = n["metadata"]["name"].as_str().unwrap();
            if !hosts.contains(name) {
                out.push(format!("stale Node {name}: its worker is gone"));
            }
            if is_cordoned(n) {
                out.push(format!("Node {name} is left cordoned"));
            }
        }
        for (name, _, _) in &self.scenario.pods {
            let bound = self
                .server
                .get(&format!("{POD_PATH}/{name}"))
                .and_then(|p| p["spec"]["nodeName"].as_str().map(str::to_string));
            if bound.is_none_or(|n| !nodes.iter().any(|v| v["metadata"]["name"] == n)) {
                out.push(format!("pod {name} is not running on a node"));
            }
        }
        if c.drains_in_progress() > 0 {
            out.push("a drain is still running".into());
        }
        out
    }

    /// Runs passes until three in a row find nothing wrong; returns what is still wrong.
    async fn settle(&mut self, c: &mut Controller<GatedVpsie>) -> Vec<String> {
        let mut clean = 0;
        let mut last = Vec::new();
        for _ in 0..MAX_PASSES {
            self.pass(c).await;
            last = self.violations(c).await;
            clean = if last.is_empty() { clean + 1 } else { 0 };
            if clean >= 3 {
                return Vec::new();
            }
        }
        last
    }
}

fn pod_cpu(p: &Value) -> u32 {
    p["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["resources"]["requests"]["cpu"].as_str())
        .map(milli)
        .sum()
}

/// The writes of an uninterrupted run: the kill points.
async fn reference_writes(scenario: &Scenario, mock: bool) -> Vec<String> {
    let mut w = World::new(scenario.clone(), mock).await;
    let mut c = w.controller(None);
    let left = w.settle(&mut c).await;
    assert!(
        left.is_empty(),
        "{} without a crash does not settle: {left:#?}",
        scenario.name
    );
    let writes = w.gates[0].writes();
    w.cloud.shutdown().await;
    writes
}

/// Kills the controller after `k` writes, restarts it, and returns what is wrong at the end.
async fn crash_after(scenario: &Scenario, mock: bool, k: usize) -> Vec<String> {
    let mut w = World::new(scenario.clone(), mock).await;
    let mut first = w.controller(Some(k));
    for _ in 0..MAX_PASSES {
        w.pass(&mut first).await;
        if w.gates[0].dead() {
            break;
        }
    }
    assert!(
        w.gates[0].dead(),
        "the controller was not killed after {k} writes"
    );
    drop(first);
    let mut restarted = w.controller(None);
    let left = w.settle(&mut restarted).await;
    w.cloud.shutdown().await;
    left
}

/// Every kill point of `scenario`: a restart after each write of an uninterrupted run.
async fn sweep(scenario: Scenario, mock: bool) {
    let writes = reference_writes(&scenario, mock).await;
    assert!(writes.len() >= 5, "{writes:#?}");
    println!(
        "{} ({}): {} kill points",
        scenario.name,
        if mock { "VPSie mock" } else { "fake VPSie" },
        writes.len()
    );
    for (k, w) in writes.iter().enumerate() {
        println!("  kill after write {}: {w}", k + 1);
    }
    let mut failures = Vec::new();
    for k in 0..writes.len() {
        let left = crash_after(&scenario, mock, k).await;
        let point = if k == 0 {
            "before the first write".to_string()
        } else {
            format!("after write {k} ({})", writes[k - 1])
        };
        if !left.is_empty() {
            failures.push(format!("killed {point}: {left:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} ({}), {} kill points, {} failed:\n{}",
        scenario.name,
        if mock { "VPSie mock" } else { "fake VPSie" },
        writes.len(),
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(start_paused = true)]
async fn scale_up_survives_a_kill_after_every_write_fake_vpsie() {
    sweep(scale_up(), false).await;
}

#[tokio::test(start_paused = true)]
async fn scale_down_survives_a_kill_after_every_write_fake_vpsie() {
    sweep(scale_down(), false).await;
}

#[tokio::test]
async fn scale_up_survives_a_kill_after_every_write_vpsie_mock() {
    sweep(scale_up(), true).await;
}

#[tokio::test]
async fn scale_down_survives_a_kill_after_every_write_vpsie_mock() {
    sweep(scale_down(), true).await;
}
