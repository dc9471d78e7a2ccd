//! End-to-end against a real API server, when `KUBECONFIG` is set (skipped otherwise).
//!
//! Two tests, both in namespaces of their own, cleaned up afterwards:
//!
//! - `plan`: the CRDs install, a NodeGroup is accepted by the API server's schema, and one
//!   dry-run decision against the live cluster explains a pending pod.
//! - the full run: the controller's real `run` path (reflectors, leader election, finalizers,
//!   the executor) against the cluster, with the VPSie mock and its kubelet stand-in
//!   (`vpsie-testkit`) as the cloud. Pending pods make the NodeGroup scale up, the workers
//!   appear, their Nodes register and get the group's labels, the scheduler binds the pods and
//!   the stand-in runs them; then the load drops, the spare nodes are drained (through the
//!   Eviction API, the PodDisruptionBudget holding) and removed, and at the end every VPS the
//!   controller bought is deleted again.
//!
//! Run it against kind or any disposable cluster with a scheduler (see docs/e2e.md):
//! `KUBECONFIG=~/.kube/config cargo test -p vpsie-autoscaler --test it e2e -- --nocapture --test-threads=1`

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use vpsie_autoscaler::crd::{NodeGroup, VPSieNode};
use vpsie_autoscaler::executor::DrainSettings;
use vpsie_autoscaler::metrics::Metrics;
use vpsie_autoscaler::runner::{RunOptions, run_until};
use vpsie_autoscaler::vpsie_http::{HttpVpsie, VpsieSettings};
use vpsie_engine::model::node::LABEL_NODE_GROUP;
use vpsie_testkit::kubelet::STAND_IN_LABEL;
use vpsie_testkit::{MockCloud, MockCloudOptions, MockConfig};

/// The cluster named by `KUBECONFIG`, or `None` (and a printed note) when it is not set.
async fn cluster(test: &str) -> Option<kube::Client> {
    if std::env::var_os("KUBECONFIG").is_none() {
        println!(
            "skipped {test}: set KUBECONFIG to a disposable cluster with a scheduler (e.g. kind) \
             to run the end-to-end tests (docs/e2e.md)"
        );
        return None;
    }
    let config = kube::Config::infer().await.expect("reading KUBECONFIG");
    Some(kube::Client::try_from(config).unwrap())
}

async fn install_crds(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let ssa = PatchParams::apply("vpsie-autoscaler-e2e").force();
    for crd in [NodeGroup::crd(), VPSieNode::crd()] {
        let name = crd.metadata.name.clone().unwrap();
        crds.patch(&name, &ssa, &Patch::Apply(&crd)).await.unwrap();
        let (crds, name_ref) = (&crds, &name);
        wait_for(&format!("CRD {name} established"), 60, || async move {
            crds.get_opt(name_ref)
                .await
                .ok()
                .flatten()
                .is_some_and(|c| {
                    c.status
                        .and_then(|s| s.conditions)
                        .into_iter()
                        .flatten()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                })
        })
        .await;
    }
}

/// Polls `check` every second until it holds; fails the test after `seconds`.
async fn wait_for<F, Fut>(what: &str, seconds: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if check().await {
            println!("e2e: {what}");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "e2e: timed out after {seconds}s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Creates a fresh namespace (deleting what a previous run left).
async fn fresh_namespace(client: &kube::Client, ns: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces.get_opt(ns).await.unwrap().is_some() {
        let _ = namespaces.delete(ns, &DeleteParams::default()).await;
        let namespaces = &namespaces;
        wait_for(
            &format!("namespace {ns} from a previous run gone"),
            180,
            || async move { namespaces.get_opt(ns).await.unwrap().is_none() },
        )
        .await;
    }
    let ns_obj: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns_obj)
        .await
        .unwrap();
}

#[tokio::test]
async fn against_a_real_cluster_when_kubeconfig_is_set() {
    let Some(client) = cluster("the what-if end-to-end test").await else {
        return;
    };
    install_crds(&client).await;
    let ns = "vpsie-autoscaler-e2e-plan";
    fresh_namespace(&client, ns).await;
    let ssa = PatchParams::apply("vpsie-autoscaler-e2e").force();
    let groups: Api<NodeGroup> = Api::namespaced(client.clone(), ns);
    let group: NodeGroup =
        serde_json::from_value(crate::fixtures::node_group_json("e2e", 0, 3, 3, Some(1187)))
            .unwrap();
    let mut group = group;
    group.metadata.namespace = Some(ns.into());
    group.metadata.uid = None;
    groups
        .patch("e2e", &ssa, &Patch::Apply(&group))
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let mut pending: Pod =
        serde_json::from_value(crate::fixtures::pod_json(ns, "too-big", None, "3", "2Gi")).unwrap();
    pending.metadata.owner_references = None;
    pending.metadata.uid = None;
    pending.metadata.creation_timestamp = None;
    pending.status = None;
    pending.spec.as_mut().unwrap().node_selector = Some(
        [(
            "autoscaler.vpsie.com/node-group".to_string(),
            "e2e".to_string(),
        )]
        .into(),
    );
    pending.spec.as_mut().unwrap().containers[0].image = Some("registry.k8s.io/pause:3.9".into());
    let _ = pods.create(&PostParams::default(), &pending).await;

    let objects = vpsie_autoscaler::oneshot::list_objects(&client)
        .await
        .unwrap();
    let built = vpsie_autoscaler::oneshot::snapshot_of(
        &objects,
        vpsie_autoscaler::oneshot::example_sizes(),
        Default::default(),
        vpsie_autoscaler::controller::wall_clock_ms(),
    );
    assert!(built.snapshot.node_groups.iter().any(|g| g.name == "e2e"));
    let output = vpsie_autoscaler::oneshot::what_if(
        &objects,
        &built,
        &Default::default(),
        built.snapshot.now_ms,
    );
    let text = vpsie_autoscaler::oneshot::render_plan(&built, &output);
    println!("{text}");
    assert!(
        text.contains("add-worker e2e") || text.contains(&format!("pod {ns}/too-big")),
        "{text}"
    );

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let _ = namespaces.delete(ns, &DeleteParams::default()).await;
}

// ---------------------------------------------------------------------------------------------
// The full run.

const NS: &str = "vpsie-autoscaler-e2e";
const TOKEN: &str = "e2e-token";
const CLUSTER: &str = "0e2e0000-5c1a-4e2e-9a1e-00000000e2e0";
const DATACENTER: &str = "eb8ac92d-9d4d-11ee-9444-7e0140123655";
const VPSIE_GROUP: i64 = 4242;
/// Label the NodeGroup puts on its nodes and the workload selects.
const WORKLOAD_LABEL: &str = "vpsie-e2e";
const APP: &str = "vpsie-e2e-web";

/// The simulated cloud: one Kubernetes cluster with an empty group of 2-vCPU/4 GiB workers
/// that are listed 3 s after an add, boot 2 s later and are Ready 2 s after that.
pub fn e2e_mock_config() -> MockConfig {
    serde_json::from_value(json!({
        "speed": 1.0,
        "seed": 5,
        "auth": {"staticTokens": [TOKEN]},
        "cloud": {
            "delays": {
                "create": {"kind": "fixed", "ms": 3_000},
                "boot": {"kind": "fixed", "ms": 2_000},
                "ready": {"kind": "fixed", "ms": 2_000},
                "delete": {"kind": "fixed", "ms": 3_000}
            },
            "clusters": [{
                "identifier": CLUSTER, "name": "e2e-cluster", "datacenter": DATACENTER,
                "workerLimit": 10,
                "groups": [{"id": VPSIE_GROUP, "name": "grp-e2e", "sizeId": 2, "workers": 0}]
            }]
        }
    }))
    .unwrap()
}

/// The autoscaler's configuration: fast scans and short scale-down timers so the run takes
/// minutes, not hours.
pub fn e2e_autoscaler_config() -> vpsie_engine::autoscaler::AutoscalerConfig {
    vpsie_autoscaler::config::parse_config(
        "scanInterval: 2s\n\
         scaleUp:\n  newPodDelay: 0s\n\
         scaleDown:\n  unneededTime: 10s\n  delayAfterAdd: 0s\n  newNodeGracePeriod: 0s\n  \
         drainFailureBackoff: 10s\n  delayAfterFailure: 10s\n\
         consolidation:\n  enabled: false\n\
         lifecycle:\n  maxNodeProvisionTime: 3m\n  actionRetryInterval: 10s\n",
        "e2e config",
        false,
    )
    .unwrap()
}

pub fn e2e_node_group() -> NodeGroup {
    serde_json::from_value(json!({
        "apiVersion": "autoscaler.vpsie.com/v1alpha1", "kind": "NodeGroup",
        "metadata": {"name": "e2e", "namespace": NS},
        "spec": {"minNodes": 0, "maxNodes": 3, "datacenter": DATACENTER,
                 "clusterIdentifier": CLUSTER, "kubeSizeId": 2, "vpsieGroupId": VPSIE_GROUP,
                 "labels": {WORKLOAD_LABEL: "yes"}}
    }))
    .unwrap()
}

/// `replicas` pods of 700m CPU that only the NodeGroup's nodes take: two fit on a 2-vCPU node.
pub fn e2e_deployment(replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": APP, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": APP}},
            "template": {
                "metadata": {"labels": {"app": APP}},
                "spec": {
                    "nodeSelector": {WORKLOAD_LABEL: "yes"},
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.9",
                                    "resources": {"requests": {"cpu": "700m", "memory": "256Mi"}}}]
                }
            }
        }
    }))
    .unwrap()
}

/// At most one pod of the workload may be disrupted at a time.
pub fn e2e_pdb() -> PodDisruptionBudget {
    serde_json::from_value(json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": APP, "namespace": NS},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": APP}}}
    }))
    .unwrap()
}

pub fn e2e_run_options() -> RunOptions {
    RunOptions {
        config: e2e_autoscaler_config(),
        settings: vpsie_autoscaler::controller::RuntimeSettings {
            namespace: NS.into(),
            system_reserved: Default::default(),
        },
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        lease_name: "vpsie-autoscaler-e2e".into(),
        lease_namespace: NS.into(),
        identity: format!("e2e-{}", std::process::id()),
        lease_duration: Duration::from_secs(15),
        drain: DrainSettings {
            timeout: Duration::from_secs(90),
            retry_interval: Duration::from_secs(2),
            poll_interval: Duration::from_secs(1),
        },
        min_pass_gap: Duration::from_secs(1),
    }
}

/// A credentials directory as the Secret mount would look.
struct CredentialsDir(PathBuf);

impl CredentialsDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("vpsie-e2e-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), TOKEN).unwrap();
        CredentialsDir(dir)
    }
}

impl Drop for CredentialsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The stand-in's Nodes: name → (ready, labelled by the controller).
async fn stand_in_nodes(client: &kube::Client) -> BTreeMap<String, (bool, bool)> {
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes
        .list(&ListParams::default().labels(&format!("{STAND_IN_LABEL}=true")))
        .await
        .unwrap();
    list.items
        .iter()
        .map(|n| {
            let ready = n
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            let labelled = n.labels().get(LABEL_NODE_GROUP).map(String::as_str) == Some("e2e")
                && n.labels().get(WORKLOAD_LABEL).map(String::as_str) == Some("yes");
            (n.name_any(), (ready, labelled))
        })
        .collect()
}

/// The workload's pods: (name, node, running and not terminating).
async fn workload(client: &kube::Client) -> Vec<(String, Option<String>, bool)> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let list = pods
        .list(&ListParams::default().labels(&format!("app={APP}")))
        .await
        .unwrap();
    list.items
        .iter()
        .map(|p| {
            let running = p.metadata.deletion_timestamp.is_none()
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
            (
                p.name_any(),
                p.spec.as_ref().and_then(|s| s.node_name.clone()),
                running,
            )
        })
        .collect()
}

/// Workers the mock lists (every status).
fn vpsie_workers(mock: &MockCloud) -> usize {
    mock.control()
        .with_cloud(|cloud, _| cloud.cluster(CLUSTER).map_or(0, |c| c.workers.len()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_controller_scales_a_real_cluster_up_and_down_with_the_mock_cloud() {
    let Some(client) = cluster("the full end-to-end run").await else {
        return;
    };
    // Leftovers of an interrupted run: its namespace and the stand-in's Nodes.
    let nodes: Api<Node> = Api::all(client.clone());
    for name in stand_in_nodes(&client).await.keys() {
        let _ = nodes.delete(name, &DeleteParams::default()).await;
    }
    install_crds(&client).await;
    fresh_namespace(&client, NS).await;

    let mock = MockCloud::start(MockCloudOptions::new(
        e2e_mock_config(),
        Some(client.clone()),
    ))
    .await
    .unwrap();
    println!("e2e: VPSie mock with kubelets at {}", mock.base_url());
    let credentials = CredentialsDir::new();
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
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let kube_config = kube::Config::infer().await.unwrap();
    let controller = tokio::spawn(run_until(
        e2e_run_options(),
        kube_config,
        Arc::new(vpsie),
        Arc::clone(&metrics),
        async {
            let _ = stopped.await;
        },
    ));

    let ssa = PatchParams::apply("vpsie-autoscaler-e2e").force();
    let groups: Api<NodeGroup> = Api::namespaced(client.clone(), NS);
    groups
        .patch("e2e", &ssa, &Patch::Apply(&e2e_node_group()))
        .await
        .unwrap();
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), NS);
    pdbs.patch(APP, &ssa, &Patch::Apply(&e2e_pdb()))
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    deployments
        .patch(APP, &ssa, &Patch::Apply(&e2e_deployment(4)))
        .await
        .unwrap();

    // Scale-up: four pending pods → workers → Ready, labelled Nodes → pods bound and Running.
    let kube = &client;
    wait_for(
        "4 pods Running on the NodeGroup's nodes",
        240,
        || async move {
            let nodes = stand_in_nodes(kube).await;
            let pods = workload(kube).await;
            pods.len() == 4
                && pods.iter().all(|(_, node, running)| {
                    *running && node.as_ref().is_some_and(|n| nodes.contains_key(n))
                })
        },
    )
    .await;
    let up = stand_in_nodes(&client).await;
    println!("e2e: nodes after scale-up: {up:?}");
    assert!(
        (1..=3).contains(&up.len()),
        "the NodeGroup's bounds (max 3) hold: {up:?}"
    );
    assert!(
        up.values().all(|(ready, labelled)| *ready && *labelled),
        "{up:?}"
    );
    assert_eq!(vpsie_workers(&mock), up.len(), "no VPS without a Node");

    // The load drops: two replicas fit one node; the others are drained (evictions under the
    // PDB: never more than one pod of the workload down) and removed.
    deployments
        .patch(APP, &ssa, &Patch::Apply(&e2e_deployment(2)))
        .await
        .unwrap();
    let fewest_running = std::cell::Cell::new(usize::MAX);
    let fewest = &fewest_running;
    wait_for(
        "scale-down to one node with both pods Running",
        300,
        || async move {
            let nodes = stand_in_nodes(kube).await;
            let pods = workload(kube).await;
            let running = pods.iter().filter(|(_, _, r)| *r).count();
            // Once the ReplicaSet has settled at two pods, the PDB keeps at least one Running.
            if pods.len() <= 2 {
                fewest.set(fewest.get().min(running));
            }
            nodes.len() == 1 && running == 2 && pods.len() == 2
        },
    )
    .await;
    assert!(fewest_running.get() >= 1, "the PDB (maxUnavailable 1) held");
    let metrics_text = metrics.encode();
    let evictions_started = metrics_text
        .lines()
        .any(|l| l.contains("actions_total{operation=\"drain\",outcome=\"ok\"}"));
    println!("e2e: a drain ran during scale-down: {evictions_started}");
    let cloud = &mock;
    wait_for(
        "the removed workers deleted from VPSie",
        60,
        || async move { vpsie_workers(cloud) == 1 },
    )
    .await;

    // No load at all: the last node goes too, and no VPS is left behind.
    deployments
        .delete(APP, &DeleteParams::default())
        .await
        .unwrap();
    wait_for("no node and no VPS left", 180, || async move {
        stand_in_nodes(kube).await.is_empty() && vpsie_workers(cloud) == 0
    })
    .await;
    let vpsie_nodes: Api<VPSieNode> = Api::namespaced(client.clone(), NS);
    for v in vpsie_nodes
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
    {
        let phase = v.status.as_ref().and_then(|s| s.phase);
        println!("e2e: VPSieNode {} phase {phase:?}", v.name_any());
    }

    let _ = stop.send(());
    controller.await.unwrap().unwrap();
    mock.shutdown().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let _ = namespaces.delete(NS, &DeleteParams::default()).await;
}
