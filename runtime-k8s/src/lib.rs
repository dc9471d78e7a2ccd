//! vpsie-autoscaler: the live runtime. kube-rs reflectors feed a snapshot builder, the engine's
//! loop decides, an executor carries out its actions against Kubernetes and VPSie.
//!
//! The decision code lives in `vpsie_engine`; this crate only converts, observes and acts.

pub mod cloud;
pub mod config;
pub mod controller;
pub mod crd;
pub mod events;
pub mod executor;
pub mod leader;
pub mod metrics;
pub mod oneshot;
pub mod reflectors;
pub mod runner;
pub mod server;
pub mod snapshot;
pub mod vpsie_http;
