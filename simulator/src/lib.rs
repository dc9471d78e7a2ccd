//! vpsie-sim: the discrete-event simulator of the VPSie autoscaler (scenarios, simulated
//! cluster and cloud, the engine's loop in virtual time, reports), the simulated VPSie cloud
//! and its HTTP mock.

pub mod binder;
pub mod chaos;
pub mod cloud;
pub mod cluster;
pub mod des;
pub mod import;
pub mod metrics;
pub mod mock;
pub mod quality;
pub mod report;
pub mod run;
pub mod scenario;
pub mod workload;
pub mod world;
