//! End-to-end against a real API server, when `KUBECONFIG` is set (skipped otherwise).
//!
//! What it checks: the CRDs install, a NodeGroup is accepted by the API server's schema, and
//! `plan` (one dry-run decision against the live cluster) explains a pending pod. It creates
//! its objects in a namespace of its own and deletes them afterwards. Run it with
//! `KUBECONFIG=~/.kube/config cargo test -p vpsie-autoscaler --test it e2e -- --nocapture`
//! against kind or any disposable cluster (see docs/operations.md).

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use vpsie_autoscaler::crd::{NodeGroup, VPSieNode};

#[tokio::test]
async fn against_a_real_cluster_when_kubeconfig_is_set() {
    let Ok(path) = std::env::var("KUBECONFIG") else {
        println!(
            "skipped: set KUBECONFIG to a disposable cluster (e.g. kind) to run the end-to-end test"
        );
        return;
    };
    let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let ssa = PatchParams::apply("vpsie-autoscaler-e2e").force();
    for crd in [NodeGroup::crd(), VPSieNode::crd()] {
        let name = crd.metadata.name.clone().unwrap();
        crds.patch(&name, &ssa, &Patch::Apply(&crd)).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let ns = "vpsie-autoscaler-e2e";
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns_obj: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).unwrap();
    let _ = namespaces.create(&PostParams::default(), &ns_obj).await;
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

    let _ = namespaces.delete(ns, &DeleteParams::default()).await;
}
