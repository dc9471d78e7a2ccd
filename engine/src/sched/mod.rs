//! Scheduling semantics: the kube-scheduler filters an autoscaler needs, and a mutable placement
//! state (`ClusterState`) shared by the scale-up planner, the scale-down planner and the
//! simulator's binder.
//!
//! Modelled filters: NodeResourcesFit (cpu, memory, ephemeral-storage, pod slots, extended
//! resources), NodeUnschedulable and readiness, nodeSelector and required node affinity
//! (In/NotIn/Exists/DoesNotExist/Gt/Lt), TaintToleration (NoSchedule, NoExecute), required
//! InterPodAffinity and anti-affinity (both directions), PodTopologySpread with DoNotSchedule
//! (maxSkew, minDomains), and NodePorts.

pub mod filters;
pub mod interpod;
mod state;
mod template;
mod unfit;

pub use state::{
    ClusterState, NameIndex, NodeIdx, NodeKind, existing_node_names, existing_node_positions,
};
pub use template::{
    NodeTemplate, daemonset_lands, daemonset_pod_request, static_fit, static_fit_request,
    template_for,
};
pub use unfit::Unfit;

#[cfg(test)]
mod tests;
