//! The run path's VPSie client (`HttpVpsie::from_settings`, exactly what `vpsie-autoscaler
//! run` builds from its flags, credentials read from a mounted directory) against the
//! simulator's mock over loopback HTTP, driven through the executor: create a group, add a
//! worker, see it appear and run, delete it, see it gone.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use tokio::sync::mpsc;
use vpsie_autoscaler::cloud::Vpsie;
use vpsie_autoscaler::executor::{ActionContext, DrainSettings, Executor};
use vpsie_autoscaler::metrics::Metrics;
use vpsie_autoscaler::snapshot::GroupBinding;
use vpsie_autoscaler::vpsie_http::{HttpVpsie, VpsieSettings};
use vpsie_engine::autoscaler::{Action, CloudErrorKind, Observation};
use vpsie_testkit::{MockCloud, MockCloudOptions, MockConfig};

use crate::apiserver::ApiServer;

const TOKEN: &str = "loopback-token";
const CLUSTER: &str = "5b0e6a52-0b7c-4d7e-9a51-4c00b1100b00";
const DATACENTER: &str = "eb8ac92d-9d4d-11ee-9444-7e0140123655";

/// A credentials directory as the Secret mount would look (`token` file), removed on drop.
pub struct CredentialsDir(pub PathBuf);

impl CredentialsDir {
    pub fn with_token(name: &str, token: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("vpsie-autoscaler-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), format!("{token}\n")).unwrap();
        CredentialsDir(dir)
    }
}

impl Drop for CredentialsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The mock with its clock frozen: a worker is listed 10 s after the add, runs 20 s later, and
/// lists as `deleting` for 20 s.
async fn mock() -> MockCloud {
    let config: MockConfig = serde_json::from_value(json!({
        "speed": 0.0,
        "seed": 11,
        "auth": {"staticTokens": [TOKEN]},
        "cloud": {
            "delays": {
                "create": {"kind": "fixed", "ms": 10_000},
                "boot": {"kind": "fixed", "ms": 20_000},
                "ready": {"kind": "fixed", "ms": 0},
                "delete": {"kind": "fixed", "ms": 20_000}
            },
            "clusters": [{
                "identifier": CLUSTER, "name": "loopback", "datacenter": DATACENTER,
                "groups": [{"id": 1187, "name": "general", "sizeId": 3, "workers": 1}]
            }]
        }
    }))
    .unwrap();
    // The VPSie API only: no kubelets (no Kubernetes cluster here).
    MockCloud::start(MockCloudOptions::new(config, None))
        .await
        .unwrap()
}

fn binding(group: &str, size: u32, vpsie_group_id: Option<i64>) -> GroupBinding {
    GroupBinding {
        engine_group: group.into(),
        namespace: "vpsie-system".into(),
        node_group: group.into(),
        kube_size_id: size,
        cluster_identifier: CLUSTER.into(),
        vpsie_group_id,
        labels: BTreeMap::new(),
        taints: Vec::new(),
        max_nodes: 5,
    }
}

struct Rig {
    mock: MockCloud,
    vpsie: Arc<HttpVpsie>,
    metrics: Arc<Metrics>,
    executor: Executor<HttpVpsie>,
    observations: mpsc::UnboundedReceiver<Observation>,
    _credentials: CredentialsDir,
}

async fn rig(name: &str) -> Rig {
    let mock = mock().await;
    let credentials = CredentialsDir::with_token(name, TOKEN);
    let metrics = Arc::new(Metrics::new());
    let settings = VpsieSettings {
        url: mock.base_url(),
        prefix: "/apps/v2".into(),
        allow_http: true,
        credentials_dir: credentials.0.clone(),
    };
    let vpsie = Arc::new(HttpVpsie::from_settings(&settings, &metrics).unwrap());
    let client = ApiServer::default().client();
    let (tx, observations) = mpsc::unbounded_channel();
    let executor = Executor::new(
        client.clone(),
        client,
        Arc::clone(&vpsie),
        Arc::clone(&metrics),
        DrainSettings::default(),
        tx,
    );
    Rig {
        mock,
        vpsie,
        metrics,
        executor,
        observations,
        _credentials: credentials,
    }
}

fn drain(rx: &mut mpsc::UnboundedReceiver<Observation>) -> Vec<Observation> {
    let mut out = Vec::new();
    while let Ok(o) = rx.try_recv() {
        out.push(o);
    }
    out
}

#[tokio::test]
async fn the_run_path_client_adds_and_deletes_a_worker_on_the_mock_through_the_executor() {
    let mut rig = rig("add-delete").await;
    let mut ctx = ActionContext::default();
    ctx.bindings
        .insert("general".into(), binding("general", 3, Some(1187)));
    let before = rig.vpsie.list_workers(CLUSTER).await.unwrap();
    assert_eq!(before.len(), 1, "{before:?}");

    rig.executor
        .execute(
            &Action::AddWorker {
                group: "general".into(),
                request: "general-r1".into(),
            },
            &ctx,
        )
        .await;
    assert_eq!(
        drain(&mut rig.observations),
        vec![Observation::AddWorkerAccepted {
            request: "general-r1".into()
        }]
    );
    // Asynchronous and anonymous: nothing new is listed until the VPS exists.
    assert_eq!(rig.vpsie.list_workers(CLUSTER).await.unwrap().len(), 1);
    rig.mock.control().advance(10_000);
    let listed = rig.vpsie.list_workers(CLUSTER).await.unwrap();
    let new: Vec<_> = listed
        .iter()
        .filter(|w| !before.iter().any(|b| b.identifier == w.identifier))
        .cloned()
        .collect();
    assert_eq!(new.len(), 1, "{listed:?}");
    let worker = new[0].clone();
    assert_eq!(worker.status, "provisioning");
    assert_eq!(worker.group_id, Some(1187));
    assert!(worker.private_ip.is_some(), "{worker:?}");
    rig.mock.control().advance(20_000);
    let running = rig.vpsie.list_workers(CLUSTER).await.unwrap();
    let w = running
        .iter()
        .find(|w| w.identifier == worker.identifier)
        .unwrap();
    assert_eq!(w.status, "running");

    ctx.worker_clusters
        .insert(worker.identifier.clone(), CLUSTER.into());
    let delete = Action::DeleteWorker {
        identifier: worker.identifier.clone(),
        node: Some(worker.hostname.clone()),
    };
    rig.executor.execute(&delete, &ctx).await;
    // Accepted deletes report nothing: the worker's disappearance is seen by listing.
    assert_eq!(drain(&mut rig.observations), vec![]);
    let deleting = rig.vpsie.list_workers(CLUSTER).await.unwrap();
    let w = deleting
        .iter()
        .find(|w| w.identifier == worker.identifier)
        .unwrap();
    assert_eq!(w.status, "deleting");
    rig.mock.control().advance(20_000);
    let after = rig.vpsie.list_workers(CLUSTER).await.unwrap();
    assert_eq!(after, before, "only the original worker is left");

    // A second delete of the same worker gets a 404, which counts as deleted: no failure.
    rig.executor.execute(&delete, &ctx).await;
    let again = drain(&mut rig.observations);
    assert!(
        !again
            .iter()
            .any(|o| matches!(o, Observation::DeleteWorkerFailed { .. })),
        "{again:?}"
    );

    let requests: Vec<String> = rig
        .mock
        .control()
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let add = format!("POST /k8s/cluster/byId/{CLUSTER}/add/slave/group/1187");
    let del = format!("DELETE /k8s/cluster/byId/{CLUSTER}/delete/slave");
    assert_eq!(
        requests.iter().filter(|r| **r == add).count(),
        1,
        "{requests:?}"
    );
    assert_eq!(
        requests.iter().filter(|r| **r == del).count(),
        2,
        "{requests:?}"
    );
    let metrics = rig.metrics.encode();
    assert!(
        metrics.contains(
            r#"vpsie_autoscaler_vpsie_api_calls_total{operation="add_worker",outcome="ok"} 1"#
        ),
        "{metrics}"
    );
    assert!(!metrics.contains(TOKEN), "credentials leaked into metrics");
    rig.mock.shutdown().await;
}

#[tokio::test]
async fn the_run_path_client_creates_a_group_for_a_new_size_and_learns_its_id() {
    let mut rig = rig("create-group").await;
    let mut ctx = ActionContext::default();
    ctx.bindings.insert("big".into(), binding("big", 4, None));
    rig.executor
        .execute(
            &Action::CreateGroup {
                group: "big".into(),
                size_id: 4,
            },
            &ctx,
        )
        .await;
    let observed = drain(&mut rig.observations);
    let [
        Observation::GroupCreated {
            group,
            vpsie_group_id,
        },
    ] = observed.as_slice()
    else {
        panic!("{observed:?}");
    };
    assert_eq!(group, "big");
    let groups = rig.vpsie.list_groups(CLUSTER).await.unwrap();
    let created = groups.iter().find(|g| g.id == *vpsie_group_id).unwrap();
    assert_eq!((created.name.as_str(), created.kube_size_id), ("big", 4));

    // A second group of an existing size is refused by VPSie and adopted by the executor.
    ctx.bindings
        .insert("general-2".into(), binding("general-2", 3, None));
    rig.executor
        .execute(
            &Action::CreateGroup {
                group: "general-2".into(),
                size_id: 3,
            },
            &ctx,
        )
        .await;
    assert_eq!(
        drain(&mut rig.observations),
        vec![Observation::GroupCreated {
            group: "general-2".into(),
            vpsie_group_id: 1187
        }]
    );
    rig.mock.shutdown().await;
}

#[tokio::test]
async fn the_run_path_client_reports_bad_credentials_as_unauthorized() {
    let mock = mock().await;
    let credentials = CredentialsDir::with_token("bad-token", "not-the-token");
    let metrics = Metrics::new();
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
    let e = vpsie.list_workers(CLUSTER).await.unwrap_err();
    assert_eq!(e.kind, CloudErrorKind::Unauthorized, "{e}");
    assert!(!e.to_string().contains("not-the-token"), "{e}");
    mock.shutdown().await;
}

#[test]
fn the_run_path_client_refuses_plain_http_unless_allowed() {
    let e = HttpVpsie::from_settings(
        &VpsieSettings {
            url: "http://127.0.0.1:9".into(),
            prefix: "/apps/v2".into(),
            allow_http: false,
            credentials_dir: PathBuf::from("/nonexistent"),
        },
        &Metrics::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("plain http"), "{e}");
}
