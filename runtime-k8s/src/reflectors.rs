//! Reflectors: one watcher + store per kind the snapshot needs, a readiness flag, and a signal
//! that wakes the controller when something relevant changed.

use std::fmt::Debug;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::crd::{NodeGroup, VPSieNode};
use crate::snapshot::ClusterObjects;

/// Read handles of every store.
#[derive(Clone)]
pub struct Stores {
    pub pods: Store<Pod>,
    pub nodes: Store<Node>,
    pub pdbs: Store<PodDisruptionBudget>,
    pub daemon_sets: Store<DaemonSet>,
    pub node_groups: Store<NodeGroup>,
    pub vpsie_nodes: Store<VPSieNode>,
}

impl Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("pods", &self.pods.len())
            .field("nodes", &self.nodes.len())
            .finish_non_exhaustive()
    }
}

impl Stores {
    /// The current content of every store.
    pub fn objects(&self) -> ClusterObjects {
        ClusterObjects {
            pods: self.pods.state(),
            nodes: self.nodes.state(),
            pdbs: self.pdbs.state(),
            daemon_sets: self.daemon_sets.state(),
            node_groups: self.node_groups.state(),
            vpsie_nodes: self.vpsie_nodes.state(),
        }
    }

    /// Waits until every store has seen its initial list.
    pub async fn wait_until_ready(&self) -> bool {
        self.pods.wait_until_ready().await.is_ok()
            && self.nodes.wait_until_ready().await.is_ok()
            && self.pdbs.wait_until_ready().await.is_ok()
            && self.daemon_sets.wait_until_ready().await.is_ok()
            && self.node_groups.wait_until_ready().await.is_ok()
            && self.vpsie_nodes.wait_until_ready().await.is_ok()
    }
}

/// Drops what the autoscaler never reads from a pod, to keep the store small (managed fields,
/// last-applied annotations, container status, images, env, commands, probes).
pub fn slim_pod(pod: &mut Pod) {
    pod.metadata.managed_fields = None;
    if let Some(a) = pod.metadata.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    if let Some(status) = pod.status.as_mut() {
        status.container_statuses = None;
        status.init_container_statuses = None;
        status.ephemeral_container_statuses = None;
    }
    if let Some(spec) = pod.spec.as_mut() {
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            c.env = None;
            c.env_from = None;
            c.command = None;
            c.args = None;
            c.liveness_probe = None;
            c.readiness_probe = None;
            c.startup_probe = None;
            c.volume_mounts = None;
            c.image = None;
        }
        spec.ephemeral_containers = None;
    }
}

fn slim_node(node: &mut Node) {
    node.metadata.managed_fields = None;
    if let Some(status) = node.status.as_mut() {
        status.images = None;
        status.volumes_attached = None;
        status.volumes_in_use = None;
    }
}

fn reflect<K>(
    api: Api<K>,
    modify: fn(&mut K),
    wake: Arc<Notify>,
) -> (Store<K>, impl Stream<Item = ()> + Send)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default().any_semantic())
        .default_backoff()
        .modify(modify)
        .reflect(writer)
        .touched_objects()
        .map(move |r| match r {
            Ok(_) => wake.notify_one(),
            Err(e) => tracing::warn!(error = %e, "watch error (retrying with backoff)"),
        });
    (reader, stream)
}

/// Starts watchers for every kind; returns the stores and a future that drives them all (run
/// it in a task). `wake` is notified on every change.
pub fn start(client: kube::Client, wake: Arc<Notify>) -> (Stores, impl Future<Output = ()> + Send) {
    let (pods, s1) = reflect(Api::<Pod>::all(client.clone()), slim_pod, wake.clone());
    let (nodes, s2) = reflect(Api::<Node>::all(client.clone()), slim_node, wake.clone());
    let (pdbs, s3) = reflect(
        Api::<PodDisruptionBudget>::all(client.clone()),
        |p| p.metadata.managed_fields = None,
        wake.clone(),
    );
    let (daemon_sets, s4) = reflect(
        Api::<DaemonSet>::all(client.clone()),
        |d| d.metadata.managed_fields = None,
        wake.clone(),
    );
    let (node_groups, s5) = reflect(
        Api::<NodeGroup>::all(client.clone()),
        |g| g.metadata.managed_fields = None,
        wake.clone(),
    );
    let (vpsie_nodes, s6) = reflect(
        Api::<VPSieNode>::all(client),
        |v| v.metadata.managed_fields = None,
        wake,
    );
    let all = futures::stream::select_all([
        s1.boxed(),
        s2.boxed(),
        s3.boxed(),
        s4.boxed(),
        s5.boxed(),
        s6.boxed(),
    ]);
    let driver = async move {
        all.for_each(|()| async {}).await;
    };
    (
        Stores {
            pods,
            nodes,
            pdbs,
            daemon_sets,
            node_groups,
            vpsie_nodes,
        },
        driver,
    )
}
