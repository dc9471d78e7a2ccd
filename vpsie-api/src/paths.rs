//! URL paths of the VPSie API, relative to a prefix (`/apps/v2`, `/api/v2` or `/v2`).

/// Every prefix the API (and the mock) serves the routes under.
pub const PREFIXES: [&str; 3] = ["/apps/v2", "/api/v2", "/v2"];

/// `POST`: client-credentials login.
pub const LOGIN: &str = "/auth/from/api";
/// `GET`: list clusters.
pub const CLUSTERS: &str = "/k8s/cluster/all";
/// `POST`: create a node group.
pub const CREATE_GROUP: &str = "/k8s/cluster/add/group";
/// `POST`: Kubernetes sizes of a datacenter.
pub const OFFERS: &str = "/k8s/offers";
/// `GET`: datacenters.
pub const DATACENTERS: &str = "/datacenter";
/// `GET`: projects.
pub const PROJECTS: &str = "/projects";
/// `GET`: VMs.
pub const VMS: &str = "/vm";

/// `GET`: one cluster with its nodes.
pub fn cluster(cluster_identifier: &str) -> String {
    format!("/k8s/cluster/byId/{cluster_identifier}")
}

/// `GET`: node groups of a cluster.
pub fn groups(cluster_identifier: &str) -> String {
    format!("/k8s/node/groups/byClusterId/{cluster_identifier}")
}

/// `DELETE`: a node group by UUID identifier.
pub fn delete_group(group_identifier: &str) -> String {
    format!("/k8s/cluster/delete/group/{group_identifier}")
}

/// `POST`: add one worker to a group (numeric group id).
pub fn add_worker(cluster_identifier: &str, group_id: i64) -> String {
    format!("/k8s/cluster/byId/{cluster_identifier}/add/slave/group/{group_id}")
}

/// `DELETE` with `{"identifier"}`: delete one worker.
pub fn delete_worker(cluster_identifier: &str) -> String {
    format!("/k8s/cluster/byId/{cluster_identifier}/delete/slave")
}

/// `DELETE` with `{"groupId"}`: remove the newest worker of a group.
pub fn reduce_group(cluster_identifier: &str) -> String {
    format!("/k8s/cluster/byId/{cluster_identifier}/reduce/slave")
}

/// `DELETE`: remove the newest worker of the cluster.
pub fn reduce(cluster_identifier: &str) -> String {
    format!("/k8s/cluster/byId/{cluster_identifier}/reduce")
}

/// Whether a value may be put in a path segment as is (identifiers are UUIDs; anything else,
/// such as `/`, `?` or `..`, is refused rather than escaped).
pub fn is_safe_segment(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
