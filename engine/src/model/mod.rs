//! The cluster snapshot model: nodes, pods, PDBs, node groups, VPSie sizes, DaemonSets.
//!
//! One layer serves as both the file format (serde, camelCase like Kubernetes) and the engine's
//! working model; resource quantities are parsed once at load time into integers.

pub mod group;
pub mod node;
pub mod pod;
pub mod quantity;
pub mod resources;
pub mod selector;
pub mod snapshot;

pub use group::{DaemonSet, InFlightNode, NodeGroup, VpsieSize};
pub use node::{Node, Taint, TaintEffect};
pub use pod::{
    Container, ContainerPort, OwnerRef, Pod, PodAffinityTerm, Toleration, TopologySpreadConstraint,
    Volume,
};
pub use resources::Resources;
pub use selector::{LabelSelector, NodeSelectorTerm};
pub use snapshot::{ClusterSnapshot, PodDisruptionBudget, SNAPSHOT_VERSION};
