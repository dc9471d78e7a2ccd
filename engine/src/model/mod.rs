//! The cluster snapshot model: nodes, pods, PDBs, node groups, VPSie sizes, DaemonSets.
//!
//! One layer serves as both the file format (serde, camelCase like Kubernetes) and the engine's
//! working model; resource quantities are parsed once at load time into integers.

pub mod group;
pub mod load;
pub mod node;
pub mod pod;
pub mod quantity;
pub mod resources;
pub mod selector;
pub mod snapshot;
pub mod validate;

pub use group::{DaemonSet, InFlightNode, NodeGroup, SharedMax, VpsieSize};
pub use load::{ParseError, SnapshotError, SnapshotFormat, snapshot_json_schema};
pub use node::{Node, Taint, TaintEffect};
pub use pod::{
    Container, ContainerPort, OwnerRef, Pod, PodAffinityTerm, Toleration, TopologySpreadConstraint,
    Volume,
};
pub use resources::Resources;
pub use selector::{LabelSelector, NodeSelectorTerm};
pub use snapshot::{ClusterSnapshot, PodDisruptionBudget, SNAPSHOT_VERSION};
pub use validate::Problem;
