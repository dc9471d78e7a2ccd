//! Controller passes against the scripted API server and the in-memory VPSie, under paused
//! time: scale-up creates the right objects, discovery and labelling of the new node, a restart
//! in the middle of a scale-up (no double create), and dry-run acting on nothing.

use std::sync::Arc;

use vpsie_autoscaler::controller::{Controller, PassReport, RuntimeSettings};
use vpsie_autoscaler::crd::VPSieNode;
use vpsie_autoscaler::executor::DrainSettings;
use vpsie_autoscaler::metrics::Metrics;
use vpsie_autoscaler::snapshot::ClusterObjects;
use vpsie_engine::autoscaler::{Action, AutoscalerConfig, NodePhase};

use crate::apiserver::ApiServer;
use crate::fake_vpsie::FakeVpsie;
use crate::fixtures::*;

const T0: i64 = 1_767_225_600_000;
const VN_PATH: &str = "/apis/autoscaler.vpsie.com/v1alpha1/namespaces/vpsie-system/vpsienodes";

struct World {
    server: ApiServer,
    vpsie: Arc<FakeVpsie>,
    metrics: Arc<Metrics>,
    nodes: Vec<serde_json::Value>,
}

impl World {
    fn new() -> Self {
        let server = ApiServer::default();
        server.put(
            "/apis/autoscaler.vpsie.com/v1alpha1/namespaces/vpsie-system/nodegroups/general",
            node_group_json("general", 0, 5, 3, Some(1187)),
        );
        World {
            server,
            vpsie: Arc::new(FakeVpsie::with_group(1187, "general", 3)),
            metrics: Arc::new(Metrics::new()),
            nodes: vec![node_json("n1", Some("general"), "4", "8Gi", true)],
        }
    }

    fn controller(&self, config: AutoscalerConfig) -> Controller<FakeVpsie> {
        let client = self.server.client();
        Controller::new(
            client.clone(),
            client,
            Arc::clone(&self.vpsie),
            config,
            RuntimeSettings {
                namespace: "vpsie-system".into(),
                system_reserved: Default::default(),
            },
            Arc::clone(&self.metrics),
            None,
            DrainSettings::default(),
        )
    }

    /// What the reflectors would hold: fixed pods and nodes, NodeGroups and VPSieNodes as the
    /// API server has them now.
    fn objects(&self) -> ClusterObjects {
        let vpsie_nodes: Vec<Arc<VPSieNode>> = self
            .server
            .paths_under(VN_PATH)
            .iter()
            .map(|p| vpsie_node(self.server.get(p).unwrap()))
            .collect();
        let node_groups = self
            .server
            .paths_under("/apis/autoscaler.vpsie.com/v1alpha1/namespaces/vpsie-system/nodegroups/")
            .iter()
            .map(|p| Arc::new(serde_json::from_value(self.server.get(p).unwrap()).unwrap()))
            .collect();
        ClusterObjects {
            pods: vec![
                pod("shop", "busy", Some("n1"), "3500m", "6Gi"),
                pod("shop", "pending", None, "3", "2Gi"),
            ],
            nodes: self
                .nodes
                .iter()
                .map(|n| Arc::new(serde_json::from_value(n.clone()).unwrap()))
                .collect(),
            node_groups,
            vpsie_nodes,
            ..Default::default()
        }
    }

    async fn pass(&self, c: &mut Controller<FakeVpsie>, now: i64) -> PassReport {
        *self.vpsie.now_ms.lock().unwrap() = now;
        c.reconcile_once(now, self.objects()).await.unwrap()
    }
}

fn add_workers(report: &PassReport) -> Vec<String> {
    report
        .output
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::AddWorker { request, .. } => Some(request.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn scale_up_persists_a_vpsienode_before_adding_the_worker() {
    let w = World::new();
    let mut c = w.controller(AutoscalerConfig::default());
    let report = w.pass(&mut c, T0).await;
    let requests = add_workers(&report);
    assert_eq!(
        requests.len(),
        1,
        "{}",
        report.output.decision.render_text()
    );
    assert_eq!(w.vpsie.count("add_worker cluster-1 1187"), 1);

    let lines = w.server.request_lines();
    let create = lines
        .iter()
        .position(|l| l == &format!("POST {VN_PATH}"))
        .expect("VPSieNode created");
    assert!(create < lines.len());
    let vn = w.server.get(&format!("{VN_PATH}/{}", requests[0])).unwrap();
    assert_eq!(vn["spec"]["nodeGroup"], "general");
    assert_eq!(vn["spec"]["kubeSizeId"], 3);
    assert_eq!(
        vn["metadata"]["finalizers"][0],
        "autoscaler.vpsie.com/delete-worker"
    );
    assert_eq!(vn["metadata"]["ownerReferences"][0]["kind"], "NodeGroup");
    assert_eq!(vn["metadata"]["ownerReferences"][0]["uid"], "uid-general");
    assert_eq!(vn["status"]["phase"], "Pending");
    assert_eq!(vn["status"]["record"]["group"], "general");
    // The NodeGroup's status shows the scale-up.
    let ng = w
        .server
        .get("/apis/autoscaler.vpsie.com/v1alpha1/namespaces/vpsie-system/nodegroups/general")
        .unwrap();
    assert_eq!(ng["status"]["desiredNodes"], 2, "{ng}");
    assert_eq!(ng["status"]["currentNodes"], 1);
    assert_eq!(ng["status"]["observedGeneration"], 1);
    let metrics = w.metrics.encode();
    assert!(
        metrics.contains("vpsie_autoscaler_scale_up_nodes_total{group=\"general\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_new_worker_is_discovered_then_its_node_labelled() {
    let mut w = World::new();
    let mut c = w.controller(AutoscalerConfig::default());
    let first = w.pass(&mut c, T0).await;
    let request = add_workers(&first).remove(0);

    // Next pass: the accepted add and the worker in VPSie's list (discovered by diffing).
    let second = w.pass(&mut c, T0 + 10_000).await;
    assert!(
        add_workers(&second).is_empty(),
        "in-flight capacity stops a second purchase"
    );
    let record = &c.state().unwrap().records[&request];
    assert_eq!(record.identifier.as_deref(), Some("w-0001"));
    assert_eq!(record.phase, NodePhase::Provisioning);

    // The worker runs and its kubelet registers a Ready Node named like the hostname.
    w.vpsie.run_all();
    let hostname = "test-slave-0001";
    w.nodes.push(node_json(hostname, None, "4", "8Gi", true));
    w.server.put(
        &format!("/api/v1/nodes/{hostname}"),
        node_json(hostname, None, "4", "8Gi", true),
    );
    let mut labelled = false;
    for i in 2..6 {
        let report = w.pass(&mut c, T0 + i * 10_000).await;
        labelled |= report
            .output
            .actions
            .iter()
            .any(|a| matches!(a, Action::LabelNode { node, .. } if node == hostname));
    }
    assert!(labelled, "LabelNode issued for the new node");
    let node = w.server.get(&format!("/api/v1/nodes/{hostname}")).unwrap();
    assert_eq!(
        node["metadata"]["labels"]["autoscaler.vpsie.com/node-group"],
        "general"
    );
    assert_eq!(node["metadata"]["labels"]["workload"], "general");
    let vn = w.server.get(&format!("{VN_PATH}/{request}")).unwrap();
    assert_eq!(vn["status"]["vpsieIdentifier"], "w-0001");
    assert_eq!(vn["status"]["nodeName"], hostname);
    assert_eq!(vn["status"]["internalIp"], "10.0.0.1");
}

#[tokio::test(start_paused = true)]
async fn a_restart_in_the_middle_of_a_scale_up_neither_double_creates_nor_orphans() {
    let w = World::new();
    let mut c = w.controller(AutoscalerConfig::default());
    let request = add_workers(&w.pass(&mut c, T0).await).remove(0);
    assert_eq!(w.vpsie.count("add_worker"), 1);
    // Crash: the accepted add was never reported, only the Pending VPSieNode survives.
    drop(c);
    let mut restarted = w.controller(AutoscalerConfig::default());
    let report = w.pass(&mut restarted, T0 + 10_000).await;
    assert!(
        add_workers(&report).is_empty(),
        "{}",
        report.output.decision.render_text()
    );
    assert_eq!(w.vpsie.count("add_worker"), 1, "no double create");
    let record = &restarted.state().unwrap().records[&request];
    assert_eq!(
        record.identifier.as_deref(),
        Some("w-0001"),
        "the worker is claimed, not orphaned"
    );
    let vn = w.server.get(&format!("{VN_PATH}/{request}")).unwrap();
    assert_eq!(vn["status"]["vpsieIdentifier"], "w-0001");
    // And a further pass still buys nothing.
    let again = w.pass(&mut restarted, T0 + 20_000).await;
    assert!(add_workers(&again).is_empty());
    assert_eq!(w.vpsie.count("add_worker"), 1);
}

#[tokio::test(start_paused = true)]
async fn dry_run_decides_and_explains_but_acts_on_nothing() {
    let w = World::new();
    let config = AutoscalerConfig {
        dry_run: true,
        ..AutoscalerConfig::default()
    };
    let mut c = w.controller(config);
    for i in 0..3 {
        let report = w.pass(&mut c, T0 + i * 10_000).await;
        assert!(!report.acted);
        assert_eq!(
            add_workers(&report).len(),
            1,
            "the decision is made every pass"
        );
    }
    assert!(
        w.server.requests().is_empty(),
        "{:?}",
        w.server.request_lines()
    );
    assert_eq!(w.vpsie.count("add_worker"), 0);
    assert_eq!(w.vpsie.count("create_group"), 0);
    assert_eq!(w.vpsie.count("delete_worker"), 0);
}

#[tokio::test(start_paused = true)]
async fn deleting_a_vpsienode_deletes_its_worker_before_the_finalizer_goes() {
    let w = World::new();
    let mut c = w.controller(AutoscalerConfig::default());
    let request = add_workers(&w.pass(&mut c, T0).await).remove(0);
    w.pass(&mut c, T0 + 10_000).await;
    // A user deletes the VPSieNode: the finalizer keeps it until the VPS is gone.
    let path = format!("{VN_PATH}/{request}");
    let mut vn = w.server.get(&path).unwrap();
    vn["metadata"]["deletionTimestamp"] = serde_json::json!("2026-01-01T00:00:30Z");
    w.server.put(&path, vn);
    w.pass(&mut c, T0 + 20_000).await;
    assert_eq!(w.vpsie.count("delete_worker cluster-1 w-0001"), 1);
    assert!(
        w.server.get(&path).is_some(),
        "kept while the worker may exist"
    );
    w.pass(&mut c, T0 + 30_000).await;
    assert!(
        w.server.get(&path).is_none(),
        "finalizer removed once the worker is gone"
    );
    w.pass(&mut c, T0 + 40_000).await;
    assert!(
        w.server.get(&path).is_none(),
        "not re-created from the loop's record"
    );
}
