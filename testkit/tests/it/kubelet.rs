//! The kubelet stand-in against a scripted API server: every request it makes is checked, in
//! order, with its body.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};
use vpsie_engine::model::Resources;
use vpsie_testkit::kubelet::{FIELD_MANAGER, STAND_IN_LABEL, WORKER_ANNOTATION};
use vpsie_testkit::{KubeletStandIn, KubeletState, WorkerView};

use crate::scripted::{Scripted, Step, list, not_found};

const NOW: i64 = 1_780_000_000_000;
const NODE: &str = "e2e-slave-0a1b";
const NODES: &str = "/api/v1/nodes";
const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/e2e-slave-0a1b";

fn time(ms: i64) -> Value {
    serde_json::to_value(Time(Timestamp::from_millisecond(ms).unwrap())).unwrap()
}

fn worker(state: KubeletState) -> WorkerView {
    WorkerView {
        identifier: "6f1c2a4e-0000-4000-8000-000000000001".into(),
        node_name: NODE.into(),
        state,
        internal_ip: "10.10.0.13".into(),
        external_ip: "95.216.7.9".into(),
        size_name: "K8S-4C-8G".into(),
        capacity: Resources {
            cpu_milli: 4000,
            memory: 8192 << 20,
            ephemeral_storage: 160 << 30,
            pods: 110,
            extended: Vec::new(),
        },
        cluster: "e2e".into(),
        group: "GRP-e2e".into(),
    }
}

fn node_object(uid: &str, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": NODE, "uid": uid, "resourceVersion": "5",
                        "labels": {STAND_IN_LABEL: "true", "kubernetes.io/hostname": NODE},
                        "annotations": {WORKER_ANNOTATION: "6f1c2a4e-0000-4000-8000-000000000001"}},
           "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
}

fn pod(name: &str, phase: &str, deleting: bool) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "resourceVersion": "9"},
        "spec": {"nodeName": NODE, "containers": [{"name": "web", "image": "nginx:1.27"}]},
        "status": {"phase": phase}});
    if deleting {
        p["metadata"]["deletionTimestamp"] = json!("2026-05-28T00:00:00Z");
        p["metadata"]["deletionGracePeriodSeconds"] = json!(30);
    }
    p
}

fn list_nodes(items: Vec<Value>) -> Step {
    Step::new("GET", NODES, list(items)).check(|s| {
        assert!(
            s.query
                .contains("labelSelector=testkit.vpsie.com%2Fkubelet-stand-in%3Dtrue"),
            "{}",
            s.query
        );
    })
}

fn status_patch(ready: bool, since: i64, now: i64) -> Step {
    Step::new(
        "PATCH",
        format!("{NODES}/{NODE}/status"),
        node_object("uid-n1", ready),
    )
    .check(move |s| {
        assert_eq!(s.content_type, "application/merge-patch+json");
        let st = &s.body["status"];
        assert_eq!(st["capacity"]["cpu"], "4", "{st}");
        assert_eq!(st["capacity"]["pods"], "110", "{st}");
        assert_eq!(st["allocatable"], st["capacity"]);
        let memory: Resources =
            serde_json::from_value(json!({"memory": st["capacity"]["memory"]})).unwrap();
        assert_eq!(memory.memory, 8192 << 20);
        assert_eq!(
            st["addresses"],
            json!([{"type": "InternalIP", "address": "10.10.0.13"},
                       {"type": "ExternalIP", "address": "95.216.7.9"},
                       {"type": "Hostname", "address": NODE}])
        );
        let conditions = st["conditions"].as_array().unwrap();
        let ready_condition = conditions.iter().find(|c| c["type"] == "Ready").unwrap();
        assert_eq!(
            ready_condition["status"],
            if ready { "True" } else { "False" }
        );
        assert_eq!(ready_condition["lastHeartbeatTime"], time(now));
        assert_eq!(ready_condition["lastTransitionTime"], time(since));
        for c in conditions.iter().filter(|c| c["type"] != "Ready") {
            assert_eq!(c["status"], "False", "{c}");
            assert_eq!(c["lastHeartbeatTime"], time(now));
        }
        assert_eq!(st["nodeInfo"]["operatingSystem"], "linux");
    })
}

fn lease_apply(owner_uid: &'static str, now: i64) -> Step {
    Step::new(
        "PATCH",
        LEASE,
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                      "metadata": {"name": NODE, "namespace": "kube-node-lease"}}),
    )
    .check(move |s| {
        assert_eq!(s.content_type, "application/apply-patch+yaml");
        assert!(
            s.query.contains(&format!("fieldManager={FIELD_MANAGER}")),
            "{}",
            s.query
        );
        assert!(s.query.contains("force=true"), "{}", s.query);
        assert_eq!(s.body["spec"]["holderIdentity"], NODE);
        assert_eq!(s.body["spec"]["leaseDurationSeconds"], 40);
        let renew: Timestamp = s.body["spec"]["renewTime"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(renew.as_millisecond(), now);
        assert_eq!(
            s.body["metadata"]["ownerReferences"],
            json!([{"apiVersion": "v1", "kind": "Node", "name": NODE, "uid": owner_uid}])
        );
    })
}

fn list_pods(items: Vec<Value>) -> Step {
    Step::new("GET", "/api/v1/pods", list(items)).check(|s| {
        assert!(
            s.query
                .contains("fieldSelector=spec.nodeName%3De2e-slave-0a1b"),
            "{}",
            s.query
        );
    })
}

fn created_node() -> Step {
    Step::new("POST", NODES, node_object("uid-n1", false)).check(|s| {
        let m = &s.body["metadata"];
        assert_eq!(m["name"], NODE);
        assert_eq!(m["labels"]["kubernetes.io/hostname"], NODE);
        assert_eq!(m["labels"]["kubernetes.io/os"], "linux");
        assert_eq!(m["labels"]["node.kubernetes.io/instance-type"], "K8S-4C-8G");
        assert_eq!(m["labels"][STAND_IN_LABEL], "true");
        assert_eq!(
            m["annotations"][WORKER_ANNOTATION],
            "6f1c2a4e-0000-4000-8000-000000000001"
        );
        assert_eq!(
            s.body["spec"]["providerID"],
            "vpsie://6f1c2a4e-0000-4000-8000-000000000001"
        );
    })
}

fn stand_in() -> (Scripted, KubeletStandIn) {
    let server = Scripted::default();
    let stand_in = KubeletStandIn::new(server.client());
    (server, stand_in)
}

#[tokio::test]
async fn a_ready_worker_registers_a_ready_node_heartbeats_and_runs_its_pods() {
    let (server, mut stand_in) = stand_in();
    server.expect([
        list_nodes(vec![]),
        created_node(),
        status_patch(true, NOW, NOW),
        lease_apply("uid-n1", NOW),
        list_pods(vec![
            pod("web-0", "Running", true),
            pod("web-1", "Pending", false),
            pod("web-2", "Running", false),
        ]),
        Step::new(
            "DELETE",
            "/api/v1/namespaces/shop/pods/web-0",
            pod("web-0", "Running", true),
        )
        .check(|s| {
            assert_eq!(s.body["gracePeriodSeconds"], 0, "{}", s.body);
            assert_eq!(s.body["preconditions"]["uid"], "uid-web-0", "{}", s.body);
        }),
        Step::new(
            "PATCH",
            "/api/v1/namespaces/shop/pods/web-1/status",
            pod("web-1", "Running", false),
        )
        .check(|s| {
            assert_eq!(s.content_type, "application/merge-patch+json");
            let st = &s.body["status"];
            assert_eq!(st["phase"], "Running");
            assert_eq!(st["hostIP"], "10.10.0.13");
            assert_eq!(st["startTime"], time(NOW));
            let ready = st["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["type"] == "Ready")
                .unwrap();
            assert_eq!(ready["status"], "True");
            assert_eq!(st["containerStatuses"][0]["name"], "web");
            assert_eq!(st["containerStatuses"][0]["image"], "nginx:1.27");
            assert!(st["containerStatuses"][0]["state"]["running"].is_object());
        }),
    ]);
    let report = stand_in
        .sync(&[worker(KubeletState::Ready)], NOW)
        .await
        .unwrap();
    server.verify();
    assert_eq!(report.registered, vec![NODE]);
    assert_eq!(report.heartbeats, vec![NODE]);
    assert_eq!(report.started, vec!["shop/web-1"]);
    assert_eq!(report.finished, vec!["shop/web-0"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(stand_in.nodes(), vec![NODE]);
}

#[tokio::test]
async fn a_booting_worker_registers_a_not_ready_node_and_runs_pods_only_once_ready() {
    let (server, mut stand_in) = stand_in();
    server.expect([
        list_nodes(vec![]),
        created_node(),
        status_patch(false, NOW, NOW),
        lease_apply("uid-n1", NOW),
    ]);
    let report = stand_in
        .sync(&[worker(KubeletState::NotReady)], NOW)
        .await
        .unwrap();
    server.verify();
    assert_eq!(report.heartbeats, vec![NODE]);
    assert!(report.started.is_empty());

    // Ten seconds later the cloud says Ready: the Ready condition flips (transition time
    // now), the heartbeat is fresh, and the pods bound meanwhile start.
    let later = NOW + 10_000;
    server.expect([
        list_nodes(vec![node_object("uid-n1", false)]),
        status_patch(true, later, later),
        lease_apply("uid-n1", later),
        list_pods(vec![pod("web-1", "Pending", false)]),
        Step::new(
            "PATCH",
            "/api/v1/namespaces/shop/pods/web-1/status",
            pod("web-1", "Running", false),
        ),
    ]);
    let report = stand_in
        .sync(&[worker(KubeletState::Ready)], later)
        .await
        .unwrap();
    server.verify();
    assert!(report.registered.is_empty());
    assert_eq!(report.started, vec!["shop/web-1"]);

    // A further heartbeat keeps the transition time.
    let again = later + 10_000;
    server.expect([
        list_nodes(vec![node_object("uid-n1", true)]),
        status_patch(true, later, again),
        lease_apply("uid-n1", again),
        list_pods(vec![pod("web-1", "Running", false)]),
    ]);
    let report = stand_in
        .sync(&[worker(KubeletState::Ready)], again)
        .await
        .unwrap();
    server.verify();
    assert!(report.is_quiet(), "{report:?}");
}

#[tokio::test]
async fn a_gone_worker_takes_its_node_and_lease_with_it() {
    let (server, mut stand_in) = stand_in();
    server.expect([
        list_nodes(vec![node_object("uid-n1", true)]),
        Step::new(
            "DELETE",
            format!("{NODES}/{NODE}"),
            node_object("uid-n1", true),
        ),
        Step::new("DELETE", LEASE, not_found()).status(404),
    ]);
    let report = stand_in.sync(&[], NOW).await.unwrap();
    server.verify();
    assert_eq!(report.deleted, vec![NODE]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(stand_in.nodes().is_empty());
}

#[tokio::test]
async fn a_node_deleted_by_the_autoscaler_is_not_registered_again_while_its_worker_runs() {
    let (server, mut stand_in) = stand_in();
    server.expect([
        list_nodes(vec![]),
        created_node(),
        status_patch(true, NOW, NOW),
        lease_apply("uid-n1", NOW),
        list_pods(vec![]),
    ]);
    stand_in
        .sync(&[worker(KubeletState::Ready)], NOW)
        .await
        .unwrap();
    server.verify();
    // The autoscaler drained and deleted the Node; the worker is still listed as running.
    server.expect([list_nodes(vec![])]);
    let report = stand_in
        .sync(&[worker(KubeletState::Ready)], NOW + 2_000)
        .await
        .unwrap();
    server.verify();
    assert!(
        report.is_quiet() && report.heartbeats.is_empty(),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_restarted_stand_in_adopts_its_nodes_instead_of_creating_them() {
    let (server, mut stand_in) = stand_in();
    server.expect([
        list_nodes(vec![node_object("uid-n1", true)]),
        status_patch(true, NOW, NOW),
        lease_apply("uid-n1", NOW),
        list_pods(vec![]),
    ]);
    let report = stand_in
        .sync(&[worker(KubeletState::Ready)], NOW)
        .await
        .unwrap();
    server.verify();
    assert!(report.registered.is_empty());
    assert_eq!(stand_in.nodes(), vec![NODE]);
}

#[tokio::test]
async fn a_silent_worker_gets_no_heartbeat_and_its_node_stays() {
    let (server, mut stand_in) = stand_in();
    server.expect([list_nodes(vec![node_object("uid-n1", true)])]);
    let report = stand_in
        .sync(&[worker(KubeletState::Silent)], NOW)
        .await
        .unwrap();
    server.verify();
    assert!(
        report.is_quiet() && report.heartbeats.is_empty(),
        "{report:?}"
    );
}

#[tokio::test]
async fn failed_calls_are_reported_and_the_pass_goes_on() {
    let (server, mut stand_in) = stand_in();
    let mut other = worker(KubeletState::Ready);
    other.identifier = "6f1c2a4e-0000-4000-8000-000000000002".into();
    other.node_name = "e2e-slave-ffff".into();
    server.expect([
        list_nodes(vec![]),
        Step::new(
            "POST",
            NODES,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500,
                   "message": "etcd is down"}),
        )
        .status(500),
        Step::new("POST", NODES, node_object("uid-n2", false)),
        Step::new(
            "PATCH",
            format!("{NODES}/e2e-slave-ffff/status"),
            node_object("uid-n2", true),
        ),
        Step::new(
            "PATCH",
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/e2e-slave-ffff",
            json!({}),
        ),
        Step::new("GET", "/api/v1/pods", list(vec![])),
    ]);
    let report = stand_in
        .sync(&[worker(KubeletState::Ready), other], NOW)
        .await
        .unwrap();
    server.verify();
    assert_eq!(report.registered, vec!["e2e-slave-ffff"]);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.errors[0].contains("registering Node e2e-slave-0a1b"),
        "{:?}",
        report.errors
    );
}

#[tokio::test]
#[should_panic(expected = "requests never sent: [\"POST /api/v1/nodes\"]")]
async fn the_scripted_server_catches_a_request_the_script_did_not_expect() {
    // The script wants a registration; a silent worker makes the stand-in skip it.
    let (server, mut stand_in) = stand_in();
    server.expect([list_nodes(vec![]), created_node()]);
    stand_in
        .sync(&[worker(KubeletState::Silent)], NOW)
        .await
        .unwrap();
    let _ = server.verify();
}

#[tokio::test]
#[should_panic(expected = "(PATCH /api/v1/nodes/e2e-slave-0a1b/status): assertion")]
async fn the_scripted_server_catches_a_wrong_body() {
    let (server, mut stand_in) = stand_in();
    // The script expects the heartbeat of NOW; the pass runs a second later.
    server.expect([
        list_nodes(vec![]),
        created_node(),
        status_patch(false, NOW, NOW),
        lease_apply("uid-n1", NOW),
    ]);
    stand_in
        .sync(&[worker(KubeletState::NotReady)], NOW + 1_000)
        .await
        .unwrap();
    let _ = server.verify();
}
