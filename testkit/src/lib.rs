//! vpsie-testkit: what an end-to-end run of the live autoscaler needs besides a Kubernetes API
//! server and a scheduler. It runs the simulator's VPSie HTTP mock and stands in for the
//! kubelets of the mock's workers, so workers the autoscaler buys become Ready Nodes that take
//! pods, and workers it deletes take their Nodes with them.
//!
//! A crate of its own because it joins the two halves the design keeps apart: the simulated
//! cloud (`vpsie-sim`, which must not depend on kube) and the Kubernetes API (kube-rs).
//! Only tests and the `vpsie-mock-cloud` binary use it; no library depends on it.

pub mod kubelet;
pub mod mock_cloud;
pub mod workers;

pub use kubelet::{KubeletStandIn, StandInError, SyncReport};
pub use mock_cloud::{MockCloud, MockCloudError, MockCloudOptions};
/// The mock's configuration and in-process control, so users of the kit need no direct
/// dependency on the simulator.
pub use vpsie_sim::mock::{MockConfig, MockControl};
pub use workers::{KubeletState, WorkerView, workers_of};
