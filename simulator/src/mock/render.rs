//! The cloud's state as the API's JSON objects (specification §5).

use vpsie_api::{Cluster, ClusterNode, Datacenter, K8sOffer, NodeGroup, Project, ProjectList, Vm};

use super::state::Inner;
use crate::cloud::{ClusterState, GroupState, WorkerState};

const USER_ID: i64 = 5213;
const PROJECT_ID: u64 = 71128;
const PROJECT_IDENTIFIER: &str = "0b5e9a10-5d31-11ee-8bba-0050569c68dc";
/// Control-plane nodes: 2 vCPU, 4 GB, 80 GB.
const MASTER_SPEC: (i64, i64, i64) = (2, 4096, 80);

fn datacenter_id(inner: &Inner, identifier: &str) -> i64 {
    inner
        .cloud
        .datacenters()
        .iter()
        .position(|d| d.identifier == identifier)
        .map_or(0, |i| i as i64 + 1)
}

fn cluster_numeric_id(inner: &Inner, identifier: &str) -> i64 {
    inner
        .cloud
        .clusters()
        .position(|c| c.identifier == identifier)
        .map_or(0, |i| i as i64 + 1)
}

pub(crate) fn cluster(inner: &Inner, c: &ClusterState, with_nodes: bool) -> Cluster {
    let workers = c.listed_workers();
    let masters = c.masters.len() as i64;
    Cluster {
        identifier: c.identifier.clone(),
        cluster_name: c.name.clone(),
        user_id: USER_ID,
        count: masters + workers.len() as i64,
        kube_version: c.kube_version.clone(),
        nickname: c.nickname.clone(),
        cpu: MASTER_SPEC.0,
        ram: MASTER_SPEC.1,
        traffic: 2000,
        price: 30.0,
        color: "#2563eb".to_string(),
        lock: 0,
        created_by: "Mock User".to_string(),
        upgrade_version: String::new(),
        lb_id: None,
        manager_count: masters,
        slave_count: workers.len() as i64,
        created_on: inner.timestamp(0),
        updated_on: inner.timestamp(0),
        status: Some("running".to_string()),
        nodes: with_nodes.then(|| {
            c.masters
                .iter()
                .chain(workers.iter().copied())
                .map(|w| node(inner, c, w))
                .collect()
        }),
    }
}

fn node(inner: &Inner, c: &ClusterState, w: &WorkerState) -> ClusterNode {
    let master = w.group_id == 0;
    let (cpu, ram, disk) = match inner.cloud.size(w.size_id) {
        Some(size) if !master => (i64::from(size.cpu), size.ram_mb as i64, size.disk_gb as i64),
        _ => MASTER_SPEC,
    };
    ClusterNode {
        id: w.id,
        identifier: w.identifier.clone(),
        hostname: w.hostname.clone(),
        default_ip: w.public_ip.clone(),
        private_ip: w.private_ip.clone(),
        ip: w.public_ip.clone(),
        node_type: if master { 1 } else { 2 },
        role: if master { "master" } else { "slave" }.to_string(),
        status: w.status.api_status().unwrap_or("provisioning").to_string(),
        node_id: 17,
        user_id: USER_ID,
        datacenter_id: datacenter_id(inner, &c.datacenter),
        cpu,
        ram,
        disk,
        created_on: inner.timestamp(w.created_ms.unwrap_or(w.accepted_ms)),
        group_id: (!master).then_some(w.group_id),
    }
}

pub(crate) fn group(inner: &Inner, c: &ClusterState, g: &GroupState) -> NodeGroup {
    let size = inner.cloud.size(g.size_id);
    NodeGroup {
        id: g.id,
        identifier: g.identifier.clone(),
        group_name: g.name.clone(),
        user_id: USER_ID,
        project_id: PROJECT_ID as i64,
        cluster_id: cluster_numeric_id(inner, &c.identifier),
        datacenter_id: datacenter_id(inner, &c.datacenter),
        dc_identifier: c.datacenter.clone(),
        boxsize_id: i64::from(g.size_id),
        cpu: size.map_or(0, |s| i64::from(s.cpu)),
        ram: size.map_or(0, |s| s.ram_mb as i64),
        ssd: size.map_or(0, |s| s.disk_gb as i64),
        traffic: 0,
        nodes_count: i64::from(c.group_nodes_count(g.id)),
        notes: String::new(),
        is_active: 1,
        is_deleted: 0,
        created_on: inner.timestamp(g.created_ms),
        last_updated: inner.timestamp(g.created_ms),
        dropped_on: None,
    }
}

pub(crate) fn offers(inner: &Inner) -> Vec<K8sOffer> {
    inner
        .cloud
        .sizes()
        .iter()
        .map(|s| K8sOffer {
            id: i64::from(s.id),
            name: s.name.clone(),
            cpu: i64::from(s.cpu),
            ram: s.ram_mb as i64,
            disk: s.disk_gb as i64,
            price: s.price,
            hourly_price: s.hourly_price,
        })
        .collect()
}

pub(crate) fn datacenters(inner: &Inner) -> Vec<Datacenter> {
    inner
        .cloud
        .datacenters()
        .iter()
        .enumerate()
        .map(|(i, d)| Datacenter {
            dc_name: d.name.clone(),
            dc_image: String::new(),
            state: d.state.clone(),
            country: d.country.clone(),
            is_active: 1,
            identifier: d.identifier.clone(),
            default_selected: i64::from(i == 0),
            is_deleted: 0,
            is_fip_available: 1,
            is_bucket_available: 0,
            is_private: 0,
        })
        .collect()
}

pub(crate) fn projects(inner: &Inner) -> ProjectList {
    ProjectList {
        rows: vec![Project {
            id: PROJECT_ID,
            name: "Default".to_string(),
            description: "Default project".to_string(),
            created_on: inner.timestamp(0),
            updated_at: inner.timestamp(0),
            identifier: PROJECT_IDENTIFIER.to_string(),
            created_by: USER_ID as u64,
            is_default: 1,
        }],
        count: 1,
    }
}

/// Every listed cluster node as a VM.
pub(crate) fn vms(inner: &Inner) -> Vec<Vm> {
    let mut vms = Vec::new();
    for c in inner.cloud.clusters() {
        for w in c.masters.iter().chain(c.listed_workers()) {
            let n = node(inner, c, w);
            vms.push(Vm {
                id: n.id,
                identifier: n.identifier,
                hostname: n.hostname.clone(),
                name: n.hostname,
                default_ip: n.default_ip,
                private_ip: n.private_ip,
                cpu: n.cpu,
                ram: n.ram,
                ssd: n.disk,
                traffic: 0,
                boxsize_id: i64::from(w.size_id),
                datacenter_id: n.datacenter_id,
                dc_identifier: c.datacenter.clone(),
                project_id_new: PROJECT_ID.to_string(),
                project_id: PROJECT_ID as i64,
                power: i64::from(n.status == "running"),
                is_active: 1,
                is_deleted: 0,
                created_on: n.created_on,
                status: n.status,
            });
        }
    }
    vms
}
