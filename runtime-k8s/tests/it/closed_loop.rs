//! The end-to-end loop without a cluster: the controller's passes with the run path's VPSie
//! client against the simulator's mock over loopback HTTP, the kubelet stand-in registering
//! the mock's workers as Nodes in the scripted API server, and a first-fit "scheduler" and
//! "ReplicaSet" played by the test. Pending pods → add-worker → workers appear and boot →
//! Nodes register, turn Ready and get labelled → pods bind and run; then load drops → a node
//! is cordoned, drained through the Eviction API and deleted, its worker deleted from VPSie.
//! (The same story as the `KUBECONFIG` end-to-end test, which needs a real API server.)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use vpsie_autoscaler::controller::{Controller, PassReport, RuntimeSettings};
use vpsie_autoscaler::crd::VPSieNode;
use vpsie_autoscaler::executor::DrainSettings;
use vpsie_autoscaler::metrics::Metrics;
use vpsie_autoscaler::snapshot::ClusterObjects;
use vpsie_autoscaler::vpsie_http::{HttpVpsie, VpsieSettings};
use vpsie_engine::autoscaler::{Action, NodePhase};
use vpsie_testkit::{KubeletStandIn, MockCloud, MockCloudOptions, MockConfig, workers_of};

use crate::apiserver::ApiServer;

const TOKEN: &str = "closed-loop-token";
const CLUSTER: &str = "c1c1c1c1-0000-4000-8000-00000000c100";
const DATACENTER: &str = "eb8ac92d-9d4d-11ee-9444-7e0140123655";
/// Virtual time 0 of the mock (its `epoch`), in Unix milliseconds.
const T0: i64 = 1_767_225_600_000;
const NG_PATH: &str = "/apis/autoscaler.vpsie.com/v1alpha1/namespaces/vpsie-system/nodegroups";
const VN_PATH: &str = "/apis/autoscaler.vpsie.com/v1alpha1/namespaces/vpsie-system/vpsienodes";
const POD_PATH: &str = "/api/v1/namespaces/shop/pods";
const NODE_PATH: &str = "/api/v1/nodes";

fn mock_config() -> MockConfig {
    serde_json::from_value(json!({
        "speed": 0.0,
        "seed": 3,
        "epoch": "2026-01-01T00:00:00Z",
        "auth": {"staticTokens": [TOKEN]},
        "cloud": {
            "delays": {
                "create": {"kind": "fixed", "ms": 3_000},
                "boot": {"kind": "fixed", "ms": 2_000},
                "ready": {"kind": "fixed", "ms": 2_000},
                "delete": {"kind": "fixed", "ms": 3_000}
            },
            "clusters": [{
                "identifier": CLUSTER, "name": "closed-loop", "datacenter": DATACENTER,
                "groups": [{"id": 4242, "name": "grp-loop", "sizeId": 2, "workers": 0}]
            }]
        }
    }))
    .unwrap()
}

fn web_pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
                     "creationTimestamp": "2026-01-01T00:00:00Z", "labels": {"app": "web"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                          "uid": "rs-web", "controller": true}]},
        "spec": {"nodeSelector": {"loop": "yes"},
                 "containers": [{"name": "web", "image": "registry.k8s.io/pause:3.9",
                                 "resources": {"requests": {"cpu": "700m", "memory": "256Mi"}}}]},
        "status": {"phase": "Pending"}
    })
}

fn milli(cpu: &str) -> i64 {
    cpu.strip_suffix('m').map_or_else(
        || cpu.parse::<i64>().unwrap() * 1000,
        |m| m.parse().unwrap(),
    )
}

struct Loop {
    server: ApiServer,
    mock: MockCloud,
    stand_in: KubeletStandIn,
    controller: Controller<HttpVpsie>,
    metrics: Arc<Metrics>,
    _credentials: crate::loopback::CredentialsDir,
}

impl Loop {
    async fn new() -> Self {
        let server = ApiServer::default();
        // The node Leases are applied server-side; the scripted server has no apply semantics.
        server.on(|r| {
            (r.method == "PATCH" && r.path.contains("/namespaces/kube-node-lease/leases/"))
                .then(|| (200, r.body.clone()))
        });
        server.put(
            &format!("{NG_PATH}/loop"),
            json!({
                "apiVersion": "autoscaler.vpsie.com/v1alpha1", "kind": "NodeGroup",
                "metadata": {"name": "loop", "namespace": "vpsie-system", "uid": "uid-loop", "generation": 1},
                "spec": {"minNodes": 0, "maxNodes": 3, "datacenter": DATACENTER,
                         "clusterIdentifier": CLUSTER, "kubeSizeId": 2, "vpsieGroupId": 4242,
                         "labels": {"loop": "yes"}}
            }),
        );
        for i in 0..4 {
            server.put(&format!("{POD_PATH}/web-{i}"), web_pod(&format!("web-{i}")));
        }
        let options = MockCloudOptions {
            epoch_now: false,
            ..MockCloudOptions::new(mock_config(), None)
        };
        let mock = MockCloud::start(options).await.unwrap();
        let credentials = crate::loopback::CredentialsDir::with_token("closed-loop", TOKEN);
        let metrics = Arc::new(Metrics::new());
        let vpsie = HttpVpsie::from_settings(
            &VpsieSettings {
                url: mock.base_url(),
                prefix: "/apps/v2".into(),
                allow_http: true,
                credentials_dir: credentials.0.clone(),
            },
            &metrics,
        )
        .unwrap();
        let config = vpsie_autoscaler::config::parse_config(
            "scaleDown:\n  unneededTime: 10s\n  delayAfterAdd: 0s\n  newNodeGracePeriod: 0s\n\
             consolidation:\n  enabled: false\n",
            "closed-loop config",
            false,
        )
        .unwrap();
        let client = server.client();
        let controller = Controller::new(
            client.clone(),
            client.clone(),
            Arc::new(vpsie),
            config,
            RuntimeSettings {
                namespace: "vpsie-system".into(),
                system_reserved: Default::default(),
            },
            Arc::clone(&metrics),
            None,
            DrainSettings {
                timeout: Duration::from_secs(10),
                retry_interval: Duration::from_millis(50),
                poll_interval: Duration::from_millis(10),
            },
        );
        Loop {
            stand_in: KubeletStandIn::new(client),
            server,
            mock,
            controller,
            metrics,
            _credentials: credentials,
        }
    }

    fn now(&self) -> i64 {
        T0 + self.mock.control().now_ms()
    }

    fn objects_under(&self, prefix: &str) -> Vec<Value> {
        self.server
            .paths_under(&format!("{prefix}/"))
            .iter()
            .filter_map(|p| self.server.get(p))
            .collect()
    }

    /// What the reflectors would hold now.
    fn objects(&self) -> ClusterObjects {
        let typed = |prefix: &str| -> Vec<Value> { self.objects_under(prefix) };
        ClusterObjects {
            pods: typed(POD_PATH)
                .into_iter()
                .map(|v| Arc::new(serde_json::from_value(v).unwrap()))
                .collect(),
            nodes: typed(NODE_PATH)
                .into_iter()
                .map(|v| Arc::new(serde_json::from_value(v).unwrap()))
                .collect(),
            node_groups: typed(NG_PATH)
                .into_iter()
                .map(|v| Arc::new(serde_json::from_value(v).unwrap()))
                .collect(),
            vpsie_nodes: typed(VN_PATH)
                .into_iter()
                .map(|v| Arc::new(serde_json::from_value::<VPSieNode>(v).unwrap()))
                .collect(),
            ..Default::default()
        }
    }

    /// Moves the cloud's clock, lets the kubelets and the scheduler act, then runs one pass.
    async fn tick(&mut self, ms: i64) -> PassReport {
        self.mock.control().advance(ms);
        self.kubelets().await;
        self.schedule();
        self.kubelets().await;
        // Drain tasks report through the controller's channel: give them a moment.
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let now = self.now();
        self.controller
            .reconcile_once(now, self.objects())
            .await
            .unwrap()
    }

    async fn kubelets(&mut self) {
        let workers = self.mock.control().with_cloud(|cloud, _| workers_of(cloud));
        let report = self.stand_in.sync(&workers, self.now()).await.unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }

    /// A first-fit scheduler: binds pending pods to Ready, schedulable nodes carrying the
    /// label they select, within 2000m of CPU per node.
    fn schedule(&self) {
        let nodes = self.objects_under(NODE_PATH);
        let mut used: BTreeMap<String, i64> = BTreeMap::new();
        let pods = self.objects_under(POD_PATH);
        for p in &pods {
            if let Some(n) = p["spec"]["nodeName"].as_str() {
                let cpu = p["spec"]["containers"][0]["resources"]["requests"]["cpu"]
                    .as_str()
                    .unwrap();
                *used.entry(n.to_string()).or_default() += milli(cpu);
            }
        }
        for p in pods {
            if p["spec"]["nodeName"].is_string() {
                continue;
            }
            let name = p["metadata"]["name"].as_str().unwrap().to_string();
            let fits = nodes.iter().find(|n| {
                let node = n["metadata"]["name"].as_str().unwrap();
                n["metadata"]["labels"]["loop"] == "yes"
                    && n["spec"]["unschedulable"] != true
                    && n["status"]["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    && used.get(node).copied().unwrap_or(0) + 700 <= 2000
            });
            if let Some(n) = fits {
                let node = n["metadata"]["name"].as_str().unwrap().to_string();
                *used.entry(node.clone()).or_default() += 700;
                let mut bound = p.clone();
                bound["spec"]["nodeName"] = json!(node);
                self.server.put(&format!("{POD_PATH}/{name}"), bound);
            }
        }
    }

    fn pods(&self) -> Vec<(String, Option<String>, String)> {
        self.objects_under(POD_PATH)
            .iter()
            .map(|p| {
                (
                    p["metadata"]["name"].as_str().unwrap().to_string(),
                    p["spec"]["nodeName"].as_str().map(str::to_string),
                    p["status"]["phase"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    fn node_names(&self) -> Vec<String> {
        self.objects_under(NODE_PATH)
            .iter()
            .map(|n| n["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn vpsie_workers(&self) -> usize {
        self.mock
            .control()
            .with_cloud(|cloud, _| cloud.cluster(CLUSTER).map_or(0, |c| c.workers.len()))
    }

    fn phases(&self) -> Vec<Option<NodePhase>> {
        self.objects_under(VN_PATH)
            .into_iter()
            .map(|v| {
                serde_json::from_value::<VPSieNode>(v)
                    .unwrap()
                    .status
                    .and_then(|s| s.phase)
            })
            .collect()
    }
}

fn count(report: &PassReport, f: impl Fn(&Action) -> bool) -> usize {
    report.output.actions.iter().filter(|a| f(a)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_pods_buy_workers_that_become_nodes_and_run_them_then_a_spare_node_goes() {
    let mut l = Loop::new().await;

    // Four pending pods of 700m: two fit a 2-vCPU worker, so two workers are bought.
    let first = l.tick(0).await;
    assert_eq!(
        count(&first, |a| matches!(a, Action::AddWorker { .. })),
        2,
        "{}",
        first.output.decision.render_text()
    );
    assert_eq!(l.vpsie_workers(), 2, "both adds reached the mock");
    assert!(l.node_names().is_empty());

    // Listed after 3 s, booted (NotReady Node) after 2 more, Ready after 2 more.
    let mut labelled = 0;
    for (ms, nodes) in [(3_000, 0), (2_000, 2), (2_000, 2)] {
        let report = l.tick(ms).await;
        labelled += count(&report, |a| matches!(a, Action::LabelNode { .. }));
        assert_eq!(
            l.node_names().len(),
            nodes,
            "Nodes registered by the kubelets"
        );
    }
    assert!(labelled >= 2, "both new Nodes labelled");
    for n in l.objects_under(NODE_PATH) {
        assert_eq!(
            n["metadata"]["labels"]["autoscaler.vpsie.com/node-group"], "loop",
            "{n}"
        );
        assert_eq!(n["metadata"]["labels"]["loop"], "yes", "{n}");
    }
    l.tick(1_000).await;
    let pods = l.pods();
    assert!(
        pods.iter()
            .all(|(_, node, phase)| node.is_some() && phase == "Running"),
        "{pods:?}"
    );
    assert_eq!(l.phases(), vec![Some(NodePhase::Ready); 2]);
    let nodes_before = l.node_names();

    // Load drops: one pod per node is left, 700m of 2000m each. After the unneeded time one
    // node is drained (its pod evicted; the "ReplicaSet" recreates it, the scheduler binds it
    // to the other node) and deleted, and its worker deleted from VPSie.
    let by_node: BTreeMap<String, Vec<String>> =
        pods.iter().fold(BTreeMap::new(), |mut m, (name, node, _)| {
            m.entry(node.clone().unwrap())
                .or_default()
                .push(name.clone());
            m
        });
    let pods_api: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(l.server.client(), "shop");
    for names in by_node.values() {
        let victim = names.iter().max().unwrap();
        pods_api
            .delete(victim, &kube::api::DeleteParams::default())
            .await
            .unwrap();
    }
    assert_eq!(l.pods().len(), 2);
    let mut replacements = 0;
    let mut evicted_total = 0;
    for _ in 0..30 {
        l.tick(2_000).await;
        // The ReplicaSet: keep two replicas.
        let pods = l.pods();
        if pods.len() < 2 {
            evicted_total += 2 - pods.len();
            replacements += 1;
            l.server.put(
                &format!("{POD_PATH}/web-r{replacements}"),
                web_pod(&format!("web-r{replacements}")),
            );
        }
        if l.node_names().len() == 1 && l.vpsie_workers() == 1 {
            break;
        }
    }
    let nodes_after = l.node_names();
    assert_eq!(nodes_after.len(), 1, "{nodes_after:?}");
    assert!(nodes_before.contains(&nodes_after[0]));
    assert_eq!(l.vpsie_workers(), 1, "the removed node's VPS is deleted");
    assert_eq!(evicted_total, 1, "exactly one pod was evicted");
    l.tick(1_000).await;
    let pods = l.pods();
    assert!(
        pods.iter().all(|(_, node, phase)| {
            node.as_deref() == Some(nodes_after[0].as_str()) && phase == "Running"
        }),
        "{pods:?}"
    );
    let evictions = l
        .server
        .request_lines()
        .iter()
        .filter(|r| r.ends_with("/eviction"))
        .count();
    assert_eq!(evictions, 1);
    let metrics = l.metrics.encode();
    assert!(
        metrics.contains(
            r#"vpsie_autoscaler_vpsie_api_calls_total{operation="delete_worker",outcome="ok"} 1"#
        ),
        "{metrics}"
    );
    l.mock.shutdown().await;
}
